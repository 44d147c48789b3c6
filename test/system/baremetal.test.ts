/**
 * Differential tests of the privileged architecture: the bare-metal programs
 * of test/guest-system (built by guest/build-system-tests.sh) run in M-mode
 * on the virt board under qemu-system-riscv64 and under tsemu-system-riscv64
 * with the same arguments,
 *
 *   -M virt -m 128M -nographic -bios none -kernel PROGRAM.elf [-smp N]
 *
 * and must print the same serial output, byte for byte, and end with the same
 * exit status (each program powers off through sifive_test).  QEMU's run must
 * also reach the program's last line: a program that hangs or traps without
 * end under QEMU is a broken test, not a tsemu bug.
 *
 * Settings: TSEMU_SYSTEM_EMU, the emulator under test (default
 * <repo>/bin/tsemu-system-riscv64); QEMU_SYSTEM_EMU, the reference (default
 * qemu-system-riscv64 on PATH); TSEMU_BAREMETAL_TIMEOUT_S, the longest a run
 * of tsemu may take (default 300 s; a run takes a second or two) — QEMU gets
 * a third of it.
 */
import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { envInt, repoRoot, TCG_EAGER, testAccel, which } from "../util/env.js";

const ROOT = repoRoot(import.meta.url);
const TSEMU = process.env.TSEMU_SYSTEM_EMU ?? path.join(ROOT, "bin/tsemu-system-riscv64");
const QEMU = process.env.QEMU_SYSTEM_EMU ?? "qemu-system-riscv64";
const TSEMU_TIMEOUT_MS = envInt("TSEMU_BAREMETAL_TIMEOUT_S", 300) * 1000;
const QEMU_TIMEOUT_MS = Math.max(30_000, TSEMU_TIMEOUT_MS / 3);
/** A run printing more than this is stopped (the programs print a few KiB). */
const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

interface Case {
  /** test/guest-system/<program>.c */
  program: string;
  /** -smp; one hart when absent. */
  smp?: number;
  /** What the case checks, for the test's name. */
  what: string;
}

const CASES: Case[] = [
  { program: "traps", what: "exceptions, delegation, xRET, TSR/TVM/TW, WARL CSRs, counter enables" },
  // With two harts QEMU runs AMOs as real atomics (see traps.c on misaligned AMOs).
  { program: "traps", smp: 2, what: "the same with a second hart parked" },
  { program: "mmu", what: "Sv39/Sv48 walks, A/D, page faults, superpages, SUM/MXR, sfence.vma, MPRV" },
  { program: "pmp", what: "TOR/NA4/NAPOT, priority, locks, MPRV, the walk under PMP" },
  { program: "interrupts", what: "CLINT msip/mtimecmp, STIP/SSIP delegation, PLIC MEI/SEI, priority, masking" },
  { program: "interrupts", smp: 2, what: "the same plus IPIs and per-hart timers between two harts" },
  { program: "triggers", what: "Sdtrig: tselect, tdata1-3 and tinfo read back, execute, load and store triggers firing" },
];

interface RunResult {
  stdout: Buffer;
  stderr: string;
  status: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  overflowed: boolean;
  ms: number;
  error?: string;
}

/**
 * Runs argv with no input (stdin at end of file) and its output going to
 * files, in a process group of its own so that a timeout stops all of it.
 * Files, not pipes: QEMU's stdio backend drops what it cannot write at once
 * to a pipe the reader has not drained when the guest powers off.
 */
function run(argv: string[], outFile: string, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const start = performance.now();
    const errFile = `${outFile}.err`;
    const out = fs.openSync(outFile, "w");
    const err = fs.openSync(errFile, "w");
    // spawn reports a failure to start through the "error" event, not by throwing.
    const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", out, err], detached: true });
    fs.closeSync(out);
    fs.closeSync(err);
    let timedOut = false;
    let overflowed = false;
    let spawnError: string | undefined;
    const kill = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => { timedOut = true; kill(); }, timeoutMs);
    // A run that prints without end is stopped.
    const watch = setInterval(() => {
      if (fs.statSync(outFile).size > MAX_OUTPUT_BYTES) { overflowed = true; kill(); }
    }, 500);
    child.on("error", (e) => { spawnError = e.message; });
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      clearInterval(watch);
      resolve({
        stdout: fs.readFileSync(outFile), stderr: fs.readFileSync(errFile, "utf8"), status, signal, timedOut, overflowed,
        ms: performance.now() - start, error: spawnError,
      });
    });
  });
}

function describe(r: RunResult): string {
  if (r.error !== undefined) return `could not start: ${r.error}`;
  if (r.timedOut) return "timed out";
  if (r.overflowed) return `printed more than ${MAX_OUTPUT_BYTES} bytes`;
  return r.signal !== null ? `killed by ${r.signal}` : `exit status ${String(r.status)}`;
}

/** The first line where two outputs differ, with a few lines around it from each. */
function firstDifference(expected: string, actual: string): string {
  const a = expected.split("\n");
  const b = actual.split("\n");
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const from = Math.max(0, i - 3);
  const show = (lines: string[]): string =>
    lines.slice(from, i + 4).map((l, k) => `${from + k === i ? ">" : " "} ${from + k + 1}: ${l}`).join("\n");
  return `first difference at line ${i + 1}\n--- qemu\n${show(a)}\n--- tsemu\n${show(b)}`;
}

let programs = "";
let unavailable: string | undefined;
let work = "";

before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-baremetal-"));
  if (which(QEMU) === undefined) {
    unavailable = `${QEMU} is not installed (scripts/deps.sh system installs qemu-system-misc)`;
    return;
  }
  if (which(TSEMU) === undefined) {
    unavailable = `no emulator at ${TSEMU} (set TSEMU_SYSTEM_EMU)`;
    return;
  }
  const r = spawnSync("bash", [path.join(ROOT, "guest/build-system-tests.sh")], { encoding: "utf8" });
  if (r.status !== 0) {
    unavailable = `guest/build-system-tests.sh failed (it needs riscv64-linux-gnu-gcc; scripts/deps.sh user ` +
      `installs it): ${(r.error?.message ?? r.stderr).trim()}`;
    return;
  }
  programs = r.stdout.trim().split("\n").pop() ?? "";
});

after(() => {
  if (work !== "") fs.rmSync(work, { recursive: true, force: true });
});

for (const c of CASES) {
  const smp = c.smp ?? 1;
  test(`${c.program}${smp > 1 ? ` -smp ${smp}` : ""}: ${c.what}`, async (t: TestContext) => {
    if (unavailable !== undefined) return t.skip(unavailable);
    const elf = path.join(programs, `${c.program}.elf`);
    assert.ok(fs.existsSync(elf), `${elf} was not built`);
    const args = ["-M", "virt", "-m", "128M", "-nographic", "-bios", "none", "-kernel", elf];
    if (smp > 1) args.push("-smp", String(smp));

    // The emulators run side by side: QEMU needs well under a second.  tsemu runs under
    // each engine (the translator compiling every block before it first runs).
    const name = `${c.program}-smp${smp}`;
    const accels = [testAccel("interp"), testAccel(TCG_EAGER)];
    const [q, ...runs] = await Promise.all([
      run([QEMU, ...args], path.join(work, `${name}.qemu`), QEMU_TIMEOUT_MS),
      ...accels.map((a, i) => run([TSEMU, "-accel", a, ...args], path.join(work, `${name}.tsemu${i}`), TSEMU_TIMEOUT_MS)),
    ]);
    t.diagnostic(`qemu ${(q.ms / 1000).toFixed(2)} s, ` +
      runs.map((ts, i) => `tsemu -accel ${accels[i]} ${(ts.ms / 1000).toFixed(2)} s`).join(", "));

    const qOut = q.stdout.toString("latin1");
    const done = `${c.program}: done\n`;
    assert.ok(q.status === 0 && qOut.endsWith(done),
      `the test program itself is broken: under QEMU it ended with ${describe(q)} and ` +
      `${qOut.endsWith(done) ? "" : "did not "}print "${done.trim()}"\n${qOut.slice(-2000)}${q.stderr}`);
    runs.forEach((ts, i) => {
      const tOut = ts.stdout.toString("latin1");
      const who = `tsemu -accel ${accels[i]}`;
      assert.ok(ts.status !== null && !ts.timedOut && !ts.overflowed,
        `${who} ${describe(ts)}\n${ts.stderr}\n${firstDifference(qOut, tOut)}`);
      if (!q.stdout.equals(ts.stdout)) assert.fail(`${who}: serial output differs\n${firstDifference(qOut, tOut)}\n${ts.stderr}`);
      assert.equal(ts.status, q.status, `exit status: qemu ${describe(q)}, ${who} ${describe(ts)}`);
    });
  });
}
