/**
 * A disk served by an iothread (`-object iothread,id=io0` and
 * `-device virtio-blk-pci,...,iothread=io0`), end to end with Linux 6.12 on
 * `-M virt,aia=aplic-imsic`: the guest writes a 64 MiB pattern (an 8 MiB
 * random block eight times), drops its caches and reads it back; the
 * checksum equals the host's of the disk file, whose 8 MiB blocks all equal
 * the guest's pattern.  Then `system_reset` from the monitor: the machine
 * reset waits for the worker, the second boot finds the device afresh and
 * reads the same 64 MiB.  The queue vectors count up in /proc/interrupts
 * (the worker delivers them straight into the IMSIC through their fast
 * routes), and qemu-system-riscv64 7.2, run the same way in the same test,
 * lists the same MSI-X lines and `info iothreads` entry.
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Console, describeStatus, shell } from "../util/console.js";
import { envInt, repoRoot, which } from "../util/env.js";
import { linux612Guest } from "../util/guest-images.js";
import { msixLines, type MsixLine } from "../util/proc-interrupts.js";

const ROOT = repoRoot(import.meta.url);
const TSEMU = path.join(ROOT, "bin/tsemu-system-riscv64");
const QEMU = which("qemu-system-riscv64");
const STEP_MS = envInt("TSEMU_SYSTEM_TIMEOUT_S", 300) * 1000;
const LOG = process.env.TSEMU_SYSTEM_LOG === "1";
const PROMPT = "tsemu# ";
const MiB = 1 << 20;
const BLOCK_MIB = 8;
const TOTAL_MIB = 64;

const sh = (con: Console, command: string): Promise<string> => shell(con, command, PROMPT, STEP_MS);
const md5sums = (text: string): string[] => [...text.matchAll(/^([0-9a-f]{32})\s/gm)].map((m) => m[1]);
const md5 = (b: Uint8Array): string => createHash("md5").update(b).digest("hex");

function boot(emu: string, disk: string, guest: { kernel: string; initrd: string }): Console {
  return new Console([emu, "-M", "virt,aia=aplic-imsic", "-smp", "2", "-m", "256M", "-nographic",
    "-kernel", guest.kernel, "-initrd", guest.initrd, "-append", "console=hvc0",
    "-object", "iothread,id=io0", "-drive", `file=${disk},format=raw,if=none,id=d0`,
    "-device", "virtio-blk-pci,drive=d0,iothread=io0"],
  { onOutput: LOG ? (s) => process.stderr.write(s) : undefined });
}

/** The PCI-MSIX lines of /proc/interrupts. */
async function interrupts(con: Console): Promise<MsixLine[]> {
  return msixLines(await sh(con, "grep PCI-MSIX /proc/interrupts"));
}

const queueCount = (lines: MsixLine[]): number =>
  lines.filter((l) => l.text.includes("req.")).reduce((n, l) => n + l.count, 0);

/** A monitor command through the console's mux (Ctrl-A c); returns what the monitor printed. */
async function monitor(con: Console, command: string): Promise<string> {
  con.send("\x01c");
  await con.expect("(qemu) ", STEP_MS);
  con.send(`${command}\n`);
  const text = await con.expect("(qemu) ", STEP_MS);
  con.send("\x01c");
  return text;
}

interface Run {
  lines: string[];
  iothreads: string;
  pattern: string;
  readBack: string;
  afterReset: string;
}

async function scenario(emu: string, disk: string, guest: { kernel: string; initrd: string }): Promise<Run> {
  const con = boot(emu, disk, guest);
  try {
    await con.expect(PROMPT, STEP_MS);
    // What follows the command's echo (QEMU's readline redraws the line as it is typed).
    const reply = await monitor(con, "info iothreads");
    const iothreads = reply.slice(reply.indexOf("\n") + 1).replace(/thread_id=\d+/, "thread_id=N").replace(/\r/g, "");
    await sh(con, "");
    const before = await interrupts(con);
    const writes = Array.from({ length: TOTAL_MIB / BLOCK_MIB },
      (_, i) => `dd if=/tmp/p of=/dev/vda bs=1M seek=${i * BLOCK_MIB} conv=fsync 2>/dev/null`).join("; ");
    const out = await sh(con, `dd if=/dev/urandom of=/tmp/p bs=1M count=${BLOCK_MIB} 2>/dev/null; md5sum /tmp/p; ${writes}; `
      + `sync; echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda bs=1M count=${TOTAL_MIB} 2>/dev/null | md5sum; rm /tmp/p`);
    const [pattern, readBack] = md5sums(out);
    assert.ok(pattern !== undefined && readBack !== undefined, `${emu}: the checksums were printed:\n${out}`);
    const after = await interrupts(con);
    assert.ok(queueCount(after) > queueCount(before), `${emu}: the queue vectors count up:\n${JSON.stringify(after)}`);

    await monitor(con, "system_reset");
    await con.expect(/Linux version 6\.12/, STEP_MS);
    await con.expect(PROMPT, STEP_MS);
    const again = md5sums(await sh(con, `dd if=/dev/vda bs=1M count=${TOTAL_MIB} 2>/dev/null | md5sum`));
    assert.ok(queueCount(await interrupts(con)) > 0, `${emu}: the queue vectors arrive after the reset`);
    con.send("poweroff\n");
    const status = await con.waitExit(STEP_MS);
    assert.deepEqual(status, { code: 0, signal: null }, `${emu} ended with ${describeStatus(status)}\n${con.tail()}`);
    return { lines: after.map((l) => l.text), iothreads, pattern, readBack, afterReset: again[0] ?? "" };
  } finally {
    con.kill();
  }
}

/** The disk file's first TOTAL_MIB: eight copies of one block whose checksum the guest printed. */
function checkDisk(disk: string, r: Run, who: string): void {
  const bytes = new Uint8Array(fs.readFileSync(disk)).subarray(0, TOTAL_MIB * MiB);
  assert.equal(md5(bytes), r.readBack, `${who}: what the guest read back is what the disk file holds`);
  for (let i = 0; i < TOTAL_MIB / BLOCK_MIB; i++) {
    assert.equal(md5(bytes.subarray(i * BLOCK_MIB * MiB, (i + 1) * BLOCK_MIB * MiB)), r.pattern, `${who}: block ${i} holds the pattern`);
  }
  assert.equal(r.afterReset, r.readBack, `${who}: after system_reset the guest reads the same 64 MiB`);
}

test("virtio-blk-pci on an iothread: a 64 MiB pattern written and read back, across system_reset, as on QEMU", async (t: TestContext) => {
  let guest: { kernel: string; initrd: string };
  try {
    guest = linux612Guest(ROOT);
  } catch (err) {
    return t.skip(`the Linux 6.12 guest is not built: ${(err as Error).message}`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-iothread-"));
  try {
    let oracle: Run | undefined;
    if (QEMU !== undefined) {
      const disk = path.join(dir, "qemu.img");
      fs.writeFileSync(disk, new Uint8Array(80 * MiB));
      oracle = await scenario(QEMU, disk, guest);
      checkDisk(disk, oracle, "qemu");
    } else {
      t.diagnostic("qemu-system-riscv64 is not installed: tsemu is checked alone");
    }
    const disk = path.join(dir, "tsemu.img");
    fs.writeFileSync(disk, new Uint8Array(80 * MiB));
    const run = await scenario(TSEMU, disk, guest);
    checkDisk(disk, run, "tsemu");
    assert.deepEqual(run.lines, ["PCI-MSIX-0000:00:01.0 0 Edge virtio0-config", "PCI-MSIX-0000:00:01.0 1 Edge virtio0-req.0",
      "PCI-MSIX-0000:00:01.0 2 Edge virtio0-req.1"]);
    assert.match(run.iothreads, /^io0:\n {2}thread_id=N\n {2}poll-max-ns=32768\n {2}poll-grow=0\n {2}poll-shrink=0\n {2}aio-max-batch=0\n/);
    if (oracle !== undefined) {
      assert.deepEqual(run.lines, oracle.lines);
      assert.equal(run.iothreads, oracle.iothreads);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
