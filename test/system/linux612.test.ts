/**
 * The Linux 6.12 guest (guest/build-linux.sh 6.12, BusyBox initramfs) boots to
 * its shell on each interrupt-controller setup of the virt board: the PLIC
 * (plain `-M virt`), the APLIC delivering directly (`aia=aplic`) and the APLIC
 * forwarding to IMSICs as MSIs (`aia=aplic-imsic`), with one and two harts, on
 * qemu-system-riscv64; and on tsemu-system-riscv64 with the boards it has.
 *
 * With aia=aplic-imsic the console is hvc0: QEMU 7.2 storms on the UART's
 * level-triggered line once ttyS0 is opened (until the kernel disables the line,
 * "irq N: nobody cared"); with console=hvc0 nothing opens it. TSEMU_SYSTEM_LOG=1 copies the consoles to stderr;
 * TSEMU_SYSTEM_TIMEOUT_S is the longest wait for one step (default 180 s).
 */
import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Console, describeStatus } from "../util/console.js";
import { envInt, repoRoot, which } from "../util/env.js";
import { linux612Guest } from "../util/guest-images.js";
import { parseInterrupts } from "../util/proc-interrupts.js";

const ROOT = repoRoot(import.meta.url);
const STEP_MS = envInt("TSEMU_SYSTEM_TIMEOUT_S", 180) * 1000;
const LOG = process.env.TSEMU_SYSTEM_LOG === "1";
const PROMPT = "tsemu# ";
const QEMU = "qemu-system-riscv64";
const TSEMU = path.join(ROOT, "bin/tsemu-system-riscv64");

interface Board {
  machine: string;
  append: string;
  /** The interrupt chip that the UART's line (or, without a UART driver, the kernel log) names. */
  controller: RegExp;
}

const PLIC: Board = { machine: "virt", append: "console=ttyS0", controller: /PLIC/ };
const APLIC: Board = { machine: "virt,aia=aplic", append: "console=ttyS0", controller: /APLIC/ };
const APLIC_IMSIC: Board = { machine: "virt,aia=aplic-imsic", append: "console=hvc0", controller: /IMSIC/ };

const RUNS: { emulator: string; board: Board; smp: number }[] = [
  ...[PLIC, APLIC, APLIC_IMSIC].flatMap((board) => [1, 2].map((smp) => ({ emulator: QEMU, board, smp }))),
  { emulator: TSEMU, board: PLIC, smp: 1 },
  { emulator: TSEMU, board: PLIC, smp: 2 },
];

let work = "";
let images: { kernel: string; initrd: string } | undefined;
let imagesMissing = "";

before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-linux612-"));
  try {
    images = linux612Guest(ROOT);
  } catch (err) {
    imagesMissing = `the Linux 6.12 guest is not built: ${(err as Error).message}`;
  }
});

after(() => {
  if (work !== "") fs.rmSync(work, { recursive: true, force: true });
});

/** Types a shell command and waits for the next prompt; returns what it printed. */
async function sh(con: Console, command: string): Promise<string> {
  con.send(command + "\n");
  const out = (await con.expect(PROMPT, STEP_MS)).replace(/\r/g, "");
  const body = out.slice(0, out.length - PROMPT.length);
  const echo = body.indexOf(command + "\n");
  return echo < 0 ? body : body.slice(echo + command.length + 1);
}

/**
 * How many harts the guest brought online: all `smp` of them, except that a
 * reference run on a loaded host may lose a secondary hart to the kernel's
 * bring-up timeout (QEMU runs each vCPU in its own host thread, and Linux waits
 * one second of host time for it); the kernel says so in its log, and only then
 * is a smaller count accepted, and only from QEMU.
 */
async function onlineHarts(con: Console, t: TestContext, emulator: string, smp: number): Promise<number> {
  const online = Number((await sh(con, "grep -c ^processor /proc/cpuinfo")).trim());
  if (online !== smp && emulator === QEMU) {
    const gaveUp = await sh(con, "dmesg | grep -c 'failed to come online'");
    if (online >= 1 && online + Number(gaveUp.trim()) === smp) {
      t.diagnostic(`${QEMU}: ${smp - online} of ${smp} harts missed the kernel's bring-up timeout on this host`);
      return online;
    }
  }
  assert.equal(online, smp, "harts online in /proc/cpuinfo");
  return online;
}

for (const { emulator, board, smp } of RUNS) {
  test(`Linux 6.12 boots to a shell: ${path.basename(emulator)} -M ${board.machine} -smp ${smp}`, async (t: TestContext) => {
    if (which(emulator) === undefined) return t.skip(`${emulator} is not installed`);
    if (images === undefined) return t.skip(imagesMissing);
    const start = performance.now();
    const con = new Console([emulator, "-M", board.machine, "-m", "256M", "-smp", String(smp), "-nographic",
      "-kernel", images.kernel, "-initrd", images.initrd, "-append", board.append],
    { cwd: work, onOutput: LOG ? (s) => process.stderr.write(s) : undefined });
    try {
      await con.expect(PROMPT, STEP_MS);
      t.diagnostic(`boot to prompt: ${((performance.now() - start) / 1000).toFixed(1)} s`);
      assert.match(await sh(con, "uname -r"), /^6\.12\.\d+/m);
      const online = await onlineHarts(con, t, emulator, smp);

      const lines = parseInterrupts(await sh(con, "cat /proc/interrupts"));
      const timer = lines.find((l) => l.actions === "riscv-timer");
      assert.ok(timer !== undefined && timer.counts.length === online, `no per-hart timer line: ${JSON.stringify(lines)}`);
      const uart = lines.find((l) => l.actions === "ttyS0");
      if (board.append.includes("console=ttyS0")) {
        assert.ok(uart !== undefined, `no ttyS0 line in /proc/interrupts: ${JSON.stringify(lines)}`);
        assert.match(uart.chip, board.controller);
      } else {
        // No UART driver: the MSI controller shows in the kernel log instead.
        assert.equal(uart, undefined);
        assert.match(await sh(con, "dmesg | grep -i imsic"), /riscv-imsic: .*providing IPIs/);
      }

      con.send("poweroff\n");
      const status = await con.waitExit(STEP_MS);
      assert.deepEqual(status, { code: 0, signal: null }, `the emulator ended with ${describeStatus(status)}\n${con.tail()}`);
    } finally {
      con.kill();
    }
  });
}
