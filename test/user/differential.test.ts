/**
 * Differential tests: every guest program of test/guest runs under
 * qemu-riscv64 and under tsemu-riscv64 with the same arguments, environment,
 * standard input and a fresh working directory of its own; stdout, stderr
 * and the exit status (or terminating signal) must be identical.
 *
 * Each case runs twice: the static build, and the dynamic build with
 * `-L /usr/riscv64-linux-gnu`.
 *
 * Environment:
 *   TSEMU_CMD  command line used in place of tsemu-riscv64 (split on
 *              spaces), e.g. TSEMU_CMD=qemu-riscv64 checks that the guest
 *              programs are deterministic by comparing qemu with itself.
 *   QEMU_CMD   command line of the reference emulator (default qemu-riscv64).
 *
 * Missing tools (qemu-riscv64, the cross compiler, the sysroot, the built
 * tsemu CLI) make the tests fail with a message saying what to do.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { repoRoot, TCG_EAGER, testAccel, which } from "../util/env.js";

interface Case {
  /** Program name: test/guest/<program>.c */
  program: string;
  args?: string[];
  /** Bytes given on standard input (default: none, stdin is at EOF). */
  stdin?: string;
}

/** One line per case; each runs static and dynamic. */
const CASES: Case[] = [
  { program: "hello" },
  { program: "hello", args: ["stdin"], stdin: "first line\nsecond line\n\nno newline at the end" },
  { program: "exit", args: ["0"] },
  { program: "exit", args: ["1"] },
  { program: "exit", args: ["42"] },
  { program: "exit", args: ["255"] },
  { program: "exit", args: ["256"] },
  { program: "exit", args: ["-1"] },
  { program: "exit", args: ["7", "_exit"] },
  { program: "exit", args: ["9", "exit_group"] },
  { program: "exit", args: ["3", "sys_exit"] },
  { program: "exit", args: ["15", "raise"] },
  { program: "exit", args: ["9", "raise"] },
  { program: "exit", args: ["10", "raise"] },
  { program: "fault" },
  { program: "abort" },
  { program: "int" },
  { program: "fp" },
  { program: "atomics" },
  { program: "files" },
  { program: "files", args: ["dir with spaces"] },
  { program: "mm" },
  { program: "time" },
  { program: "proc", args: ["first arg", "", "ünïcödé ✓", "--flag=value"] },
  { program: "threads" },
  { program: "poll" },
  { program: "killchild" },
  { program: "procshare" },
  { program: "sockets" },
  { program: "signals" },
  { program: "cpubench", args: ["3"] },
  { program: "smc" },
  { program: "tlbways" },
];

const SYSROOT = "/usr/riscv64-linux-gnu";
/** Generous: the suite runs two test files at once, and procshare alone takes 12 s on an idle machine. */
const RUN_TIMEOUT_MS = 180_000;
/** A run writing more than this to stdout plus stderr is stopped. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/** The fixed environment every guest sees. */
const GUEST_ENV: Record<string, string> = {
  PATH: "/usr/local/bin:/usr/bin:/bin",
  HOME: "/nonexistent-home",
  LANG: "C",
  LC_ALL: "C",
  TZ: "UTC",
  USER: "guest",
  GUEST_TEST_VAR: "differential test value",
};

type Linkage = "static" | "dynamic";

interface RunResult {
  stdout: Buffer;
  stderr: Buffer;
  status: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Processes left behind kept stdout/stderr open after the emulator exited. */
  lingered: boolean;
  /** Stopped for writing more than MAX_OUTPUT_BYTES. */
  overflowed: boolean;
  error?: string;
}

/** Splits a command override and resolves its program to an absolute path. */
function commandFromEnv(value: string, what: string): string[] {
  const words = value.trim().split(/\s+/).filter((w) => w.length > 0);
  if (words.length === 0) throw new Error(`${what} is empty`);
  const exe = which(words[0]);
  if (!exe) throw new Error(`${what}: '${words[0]}' not found on PATH`);
  return [exe, ...words.slice(1)];
}

interface Setup {
  root: string;
  binDir: string;
  qemu: string[];
  tsemu: string[];
  /** True when the emulator under test is itself QEMU (self-check mode). */
  tsemuIsQemu: boolean;
}

let setupResult: { ok: true; value: Setup } | { ok: false; message: string } | undefined;

function setup(): Setup {
  if (!setupResult) {
    try {
      setupResult = { ok: true, value: doSetup() };
    } catch (e) {
      setupResult = { ok: false, message: e instanceof Error ? e.message : String(e) };
    }
  }
  if (!setupResult.ok) throw new Error(setupResult.message);
  return setupResult.value;
}

function doSetup(): Setup {
  const root = repoRoot(import.meta.url);
  let tsemu: string[];
  if (process.env.TSEMU_CMD) {
    tsemu = commandFromEnv(process.env.TSEMU_CMD, "TSEMU_CMD");
  } else {
    const cli = path.join(root, "dist", "src", "cli", "tsemu-riscv64.js");
    if (!fs.existsSync(cli)) throw new Error(`${cli} does not exist: run npm run build first`);
    tsemu = [process.execPath, cli];
  }
  const tsemuIsQemu = path.basename(tsemu[0]).startsWith("qemu");

  // The build script first runs scripts/deps.sh user, which installs
  // qemu-user, the cross compiler and the sysroot where they are missing.
  const build = spawnSync("bash", [path.join(root, "guest", "build-tests.sh")], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (build.error) throw new Error(`cannot run guest/build-tests.sh: ${build.error.message}`);
  if (build.status !== 0) {
    throw new Error(
      `guest/build-tests.sh failed (status ${String(build.status)}); it needs riscv64-linux-gnu-gcc ` +
        `(scripts/deps.sh user installs it):\n${build.stderr}${build.stdout}`,
    );
  }
  const lines = build.stdout.trim().split("\n");
  const binDir = lines[lines.length - 1] ?? "";
  if (!binDir || !fs.existsSync(binDir)) {
    throw new Error(`guest/build-tests.sh did not print an output folder:\n${build.stdout}`);
  }
  if (!process.env.QEMU_CMD && !which("qemu-riscv64")) {
    throw new Error("qemu-riscv64 not found on PATH: run scripts/deps.sh user (installs qemu-user)");
  }
  const qemu = commandFromEnv(process.env.QEMU_CMD ?? "qemu-riscv64", "QEMU_CMD");
  if (!fs.existsSync(SYSROOT)) {
    throw new Error(`${SYSROOT} is missing: run scripts/deps.sh user (installs libc6-dev-riscv64-cross)`);
  }
  return { root, binDir, qemu, tsemu, tsemuIsQemu };
}

/** How long stdout/stderr may stay open after the emulator has exited. */
const LINGER_MS = 5_000;

/**
 * Runs argv with the guest environment in cwd, core dumps disabled, in a
 * process group of its own so that a timeout also kills every process the
 * guest started.
 */
function run(argv: string[], cwd: string, stdin: string): Promise<RunResult> {
  return new Promise((resolve) => {
    // The shell only disables core dumps and execs env, which execs the
    // emulator with exactly GUEST_ENV (a shell may add variables such as
    // PWD): the exit status and terminating signal are the emulator's own.
    const assignments = Object.entries(GUEST_ENV).map(([k, v]) => `${k}=${v}`);
    const script = 'ulimit -c 0 && exec /usr/bin/env -i "$@"';
    const child = spawn("/bin/sh", ["-c", script, "sh", ...assignments, ...argv], {
      cwd,
      env: GUEST_ENV,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let lingered = false;
    let overflowed = false;
    let outputBytes = 0;
    let spawnError: string | undefined;
    let exited: { status: number | null; signal: NodeJS.Signals | null } | undefined;
    let lingerTimer: NodeJS.Timeout | undefined;
    let done = false;

    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // the group is already gone
      }
    };
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (lingerTimer) clearTimeout(lingerTimer);
      killGroup();
      resolve({
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err),
        status: exited?.status ?? null,
        signal: exited?.signal ?? null,
        timedOut,
        lingered,
        overflowed,
        error: spawnError,
      });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, RUN_TIMEOUT_MS);

    const collect = (into: Buffer[]) => (b: Buffer) => {
      if (overflowed) return;
      outputBytes += b.length;
      if (outputBytes > MAX_OUTPUT_BYTES) {
        overflowed = true;
        killGroup();
        return;
      }
      into.push(b);
    };
    child.stdout.on("data", collect(out));
    child.stderr.on("data", collect(err));
    child.stdin.on("error", () => {
      // the guest may exit without reading its input
    });
    child.on("error", (e) => {
      spawnError = e.message;
      finish();
    });
    child.on("exit", (status, signal) => {
      exited = { status, signal };
      lingerTimer = setTimeout(() => {
        lingered = true;
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, LINGER_MS);
    });
    child.on("close", (status, signal) => {
      exited ??= { status, signal };
      finish();
    });
    child.stdin.end(stdin);
  });
}

/** QEMU names itself in its own messages; tsemu must say "tsemu" there. */
function renameEmulator(text: string): string {
  return text.replace(/^qemu-riscv64:/gm, "tsemu-riscv64:").replace(/^qemu:/gm, "tsemu:");
}

function describeExit(r: RunResult): string {
  if (r.timedOut) return `timed out after ${RUN_TIMEOUT_MS / 1000} s`;
  if (r.error) return `could not start: ${r.error}`;
  if (r.overflowed) return `stopped after writing more than ${MAX_OUTPUT_BYTES >> 20} MiB`;
  if (r.lingered) {
    return `processes left behind kept stdout/stderr open ${LINGER_MS / 1000} s after exit`;
  }
  if (r.signal) return `killed by ${r.signal}`;
  return `exit status ${String(r.status)}`;
}

/** A short report of where two texts first differ. */
function firstDifference(expected: string, actual: string): string {
  const e = expected.split("\n");
  const a = actual.split("\n");
  let i = 0;
  while (i < e.length && i < a.length && e[i] === a[i]) i++;
  const clip = (s: string | undefined): string =>
    s === undefined ? "<end of output>" : JSON.stringify(s.length > 300 ? `${s.slice(0, 300)}...` : s);
  const context: string[] = [];
  for (let k = Math.max(0, i - 3); k < i; k++) context.push(`    ${clip(e[k])}`);
  return [
    `first difference at line ${i + 1} (qemu ${e.length} lines / ${expected.length} chars, ` +
      `tsemu ${a.length} lines / ${actual.length} chars)`,
    ...(context.length ? ["  preceding lines:", ...context] : []),
    `  qemu:  ${clip(e[i])}`,
    `  tsemu: ${clip(a[i])}`,
  ].join("\n");
}

/**
 * The engine a case runs under: static builds under the interpreter, dynamic
 * ones (which also run the dynamic linker) under the translator compiling
 * every block at once, so both engines are covered without running every case twice.
 */
function accelFor(linkage: Linkage): string {
  return linkage === "static" ? testAccel("interp") : testAccel(TCG_EAGER);
}

function caseTitle(c: Case, linkage: Linkage): string {
  const args = (c.args ?? []).map((a) => (a === "" || /\s/.test(a) ? JSON.stringify(a) : a));
  return [c.program, ...args, `[${linkage}, ${accelFor(linkage)}]`].join(" ");
}

async function runCase(c: Case, linkage: Linkage): Promise<void> {
  const s = setup();
  const program = path.join(s.binDir, linkage === "static" ? c.program : `${c.program}.dyn`);
  assert.ok(fs.existsSync(program), `${program} was not built (is test/guest/${c.program}.c there?)`);
  const emuArgs = [...(linkage === "dynamic" ? ["-L", SYSROOT] : []), program, ...(c.args ?? [])];
  const accelArgs = s.tsemuIsQemu ? [] : ["-accel", accelFor(linkage)];
  const stdin = c.stdin ?? "";
  const qemuDir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-diff-qemu-"));
  const tsemuDir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-diff-tsemu-"));
  try {
    const [ref, got] = await Promise.all([
      run([...s.qemu, ...emuArgs], qemuDir, stdin),
      run([...s.tsemu, ...accelArgs, ...emuArgs], tsemuDir, stdin),
    ]);
    if (ref.timedOut || ref.error || ref.lingered || ref.overflowed) {
      assert.fail(`reference run under ${s.qemu.join(" ")} failed: ${describeExit(ref)}`);
    }
    const problems: string[] = [];
    if (got.timedOut || got.error || got.lingered || got.overflowed) problems.push(`tsemu run: ${describeExit(got)}`);
    if (ref.status !== got.status || ref.signal !== got.signal) {
      problems.push(`exit: qemu ${describeExit(ref)}, tsemu ${describeExit(got)}`);
    }
    const refOut = ref.stdout.toString("latin1");
    const gotOut = got.stdout.toString("latin1");
    if (refOut !== gotOut) problems.push(`stdout differs: ${firstDifference(refOut, gotOut)}`);
    const refErr = renameEmulator(ref.stderr.toString("latin1"));
    const gotErrRaw = got.stderr.toString("latin1");
    const gotErr = s.tsemuIsQemu ? renameEmulator(gotErrRaw) : gotErrRaw;
    if (refErr !== gotErr) problems.push(`stderr differs: ${firstDifference(refErr, gotErr)}`);
    if (problems.length > 0) {
      assert.fail(
        `${caseTitle(c, linkage)}\n  command: ${[...s.tsemu, ...accelArgs, ...emuArgs].join(" ")}\n` +
          problems.join("\n"),
      );
    }
  } finally {
    fs.rmSync(qemuDir, { recursive: true, force: true });
    fs.rmSync(tsemuDir, { recursive: true, force: true });
  }
}

describe("differential: tsemu-riscv64 vs qemu-riscv64", () => {
  test("prerequisites: qemu-riscv64, cross compiler, sysroot, tsemu CLI, guest build", () => {
    setup();
  });
  for (const c of CASES) {
    for (const linkage of ["static", "dynamic"] as const) {
      test(caseTitle(c, linkage), { timeout: 3 * RUN_TIMEOUT_MS }, async () => {
        await runCase(c, linkage);
      });
    }
  }
});
