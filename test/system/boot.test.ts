/**
 * End to end: boot the default guest (Linux from guest/build-linux.sh, BusyBox
 * initramfs from guest/build-initramfs.sh) on the virt board and use its serial
 * console as a person would; boot U-Boot to its prompt. The emulator is a
 * parameter, so the same steps validate qemu-system-riscv64 and tsemu:
 *
 *   TSEMU_SYSTEM_EMU=qemu-system-riscv64 node --test dist/test/system/
 *
 * Settings: TSEMU_SYSTEM_EMU (default <repo>/bin/tsemu-system-riscv64);
 * TSEMU_SYSTEM_TIMEOUT_S, the longest wait for one step, in seconds (default 180:
 * booting to the shell prompt is the longest step); TSEMU_SYSTEM_LOG=1 copies the
 * guest console to stderr as it runs.
 */
import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Console, describeStatus } from "../util/console.js";
import { envInt, repoRoot, which } from "../util/env.js";
import { defaultGuest } from "../util/guest-images.js";

const ROOT = repoRoot(import.meta.url);
const EMU = process.env.TSEMU_SYSTEM_EMU ?? path.join(ROOT, "bin/tsemu-system-riscv64");
const STEP_MS = envInt("TSEMU_SYSTEM_TIMEOUT_S", 180) * 1000;
const LOG = process.env.TSEMU_SYSTEM_LOG === "1";
/** The guest shell's prompt (guest/initramfs/etc/profile). */
const PROMPT = "tsemu# ";
const UBOOT = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin";
/** On the disk made by the host; the guest reads it. */
const HOST_FILE = { name: "hello.txt", text: "hello from the host, on an ext2 disk" };
/** Written by the guest; the host reads it back from the image. */
const GUEST_FILE = { name: "newfile", text: "written by the guest through virtio-blk" };

const emulator = which(EMU);
let kernel: string | undefined;
let initrd: string | undefined;
let imagesMissing = "";
let work = "";


before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-boot-"));
  if (emulator === undefined) return;
  try {
    ({ kernel, initrd } = defaultGuest(ROOT));
  } catch (err) {
    imagesMissing = `the guest images are not built: ${(err as Error).message}`;
    kernel = initrd = undefined;
  }
});

after(() => {
  if (work !== "") fs.rmSync(work, { recursive: true, force: true });
});

/** Why this test cannot run here, or undefined. */
function missing(...tools: string[]): string | undefined {
  if (emulator === undefined) return `no emulator at ${EMU} (set TSEMU_SYSTEM_EMU)`;
  for (const t of tools) if (which(t) === undefined) return `${t} is not installed`;
  return undefined;
}

function startConsole(argv: string[]): Console {
  return new Console(argv, { cwd: work, onOutput: LOG ? (s) => process.stderr.write(s) : undefined });
}

/** Types a shell command and waits for the next prompt; returns what it printed (LF line ends). */
async function sh(con: Console, command: string): Promise<string> {
  con.send(command + "\n");
  const out = (await con.expect(PROMPT, STEP_MS)).replace(/\r/g, "");
  // The line editor echoes the command first (a kernel message may come before the
  // echo: look for it rather than take the first line); the prompt ends the output.
  const body = out.slice(0, out.length - PROMPT.length);
  const echo = body.indexOf(command + "\n");
  return echo < 0 ? body : body.slice(echo + command.length + 1);
}

/** Seconds since `start`, for the log. */
function since(start: number): string {
  return ((performance.now() - start) / 1000).toFixed(1);
}

/**
 * The engines the boot runs under: QEMU takes only tcg; tsemu also its interpreter, which the other Linux tests,
 * running the default engine (tcg), leave out.
 */
const ENGINES = path.basename(EMU).startsWith("qemu") ? ["tcg"] : ["tcg", "interp"];

for (const accel of ENGINES) {
  test(`Linux boots to a shell (-accel ${accel}); cpuinfo, interrupts, RTC, virtio-blk ext2 read/write; poweroff exits 0`,
    (t: TestContext) => bootLinux(t, accel));
}

async function bootLinux(t: TestContext, accel: string): Promise<void> {
  const skip = missing("mke2fs", "debugfs", "e2fsck");
  if (skip !== undefined) return t.skip(skip);
  if (kernel === undefined || initrd === undefined) return t.skip(imagesMissing);

  const src = path.join(work, `disk-${accel}`);
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, HOST_FILE.name), HOST_FILE.text + "\n");
  const disk = path.join(work, `disk-${accel}.img`);
  const mk = spawnSync("mke2fs", ["-q", "-F", "-t", "ext2", "-d", src, disk, "8M"], { encoding: "utf8" });
  assert.equal(mk.status, 0, `mke2fs failed: ${mk.stderr}`);

  const start = performance.now();
  // Guest time by the instruction count: a loaded host slows the run but cannot make Linux give up on a
  // hart it starts (it waits one second of guest time for each), as the AIA tests keep theirs.
  const con = startConsole([EMU, "-M", "virt", "-accel", accel, "-m", "256M", "-smp", "4", "-nographic", "-icount", "shift=2",
    "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0",
    "-drive", `file=${disk},format=raw,if=virtio`]);
  try {
    await con.expect(PROMPT, STEP_MS);
    t.diagnostic(`boot to prompt: ${since(start)} s`);

    const uname = await sh(con, "uname -a");
    assert.match(uname, /^Linux tsemu \S+ .*riscv64/m);

    const cpuinfo = await sh(con, "cat /proc/cpuinfo");
    const harts = [...cpuinfo.matchAll(/^processor\s*:\s*(\d+)/gm)].map((m) => Number(m[1]));
    if (harts.join() !== "0,1,2,3") {
      // What the kernel said of its harts comes first: a long message is cut short in the report.
      const kernel = await sh(con, "dmesg | grep -i -e cpu -e hart -e smp | tail -n 12");
      assert.fail(`expected harts 0..3 in /proc/cpuinfo, found [${harts.join(", ")}]; the kernel said:\n${kernel}\n/proc/cpuinfo:\n${cpuinfo}`);
    }

    const interrupts = await sh(con, "cat /proc/interrupts");
    assert.match(interrupts, /^\s*\d+:.*\bttyS0\b/m, "/proc/interrupts has no line for the UART (ttyS0)");

    // Wall-clock time comes from the host through the goldfish RTC (read at boot).
    const date = await sh(con, "date");
    const year = Number(/\b(\d{4})\s*$/m.exec(date.trim())?.[1]);
    assert.ok(year >= 2026, `date printed no plausible year: ${date}`);
    const epoch = Number((await sh(con, "date +%s")).trim());
    const drift = Math.abs(epoch - Date.now() / 1000);
    assert.ok(drift < 600, `guest clock ${epoch} is ${drift.toFixed(0)} s away from the host's`);

    const read = await sh(con, `mount -t ext2 /dev/vda /mnt && cat /mnt/${HOST_FILE.name}`);
    assert.ok(read.includes(HOST_FILE.text), `the host's file was not read back:\n${read}`);
    await sh(con, `echo '${GUEST_FILE.text}' > /mnt/${GUEST_FILE.name}`);
    assert.equal((await sh(con, `cat /mnt/${GUEST_FILE.name}`)).trim(), GUEST_FILE.text);
    await sh(con, "umount /mnt");
    assert.doesNotMatch(await sh(con, "grep /mnt /proc/mounts; echo done"), /vda/, "/mnt is still mounted");
    await sh(con, "sync");

    con.send("poweroff\n");
    const status = await con.waitExit(STEP_MS);
    t.diagnostic(`total until exit: ${since(start)} s`);
    assert.deepEqual(status, { code: 0, signal: null }, `the emulator ended with ${describeStatus(status)}\n${con.tail()}`);
  } finally {
    con.kill();
  }

  // The guest's write reached the image, and the file system is clean.
  const cat = spawnSync("debugfs", ["-R", `cat /${GUEST_FILE.name}`, disk], { encoding: "utf8" });
  assert.equal(cat.status, 0, `debugfs failed: ${cat.stderr}`);
  assert.equal(cat.stdout, GUEST_FILE.text + "\n");
  const fsck = spawnSync("e2fsck", ["-f", "-n", disk], { encoding: "utf8" });
  assert.equal(fsck.status, 0, `e2fsck found problems in the image:\n${fsck.stdout}${fsck.stderr}`);
}

test("U-Boot (S-mode, after OpenSBI) reaches its prompt and answers version; Ctrl-A x quits", async (t: TestContext) => {
  const skip = missing();
  if (skip !== undefined) return t.skip(skip);
  if (!fs.existsSync(UBOOT)) return t.skip(`${UBOOT} is missing (Debian package u-boot-qemu)`);

  const start = performance.now();
  const con = startConsole([EMU, "-M", "virt", "-m", "256M", "-nographic", "-kernel", UBOOT]);
  try {
    // Stop the autoboot countdown as a person would, so U-Boot does not go looking
    // for boot devices and the network.
    await con.expect("Hit any key to stop autoboot", STEP_MS);
    con.send(" ");
    await con.expect("=> ", STEP_MS);
    t.diagnostic(`boot to U-Boot prompt: ${since(start)} s`);
    con.send("version\n");
    const version = await con.expect("=> ", STEP_MS);
    assert.match(version, /U-Boot 2023\.01/);
    con.send("\x01x");
    const status = await con.waitExit(STEP_MS);
    assert.deepEqual(status, { code: 0, signal: null }, `the emulator ended with ${describeStatus(status)}\n${con.tail()}`);
  } finally {
    con.kill();
  }
});
