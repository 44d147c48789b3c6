/**
 * The user-mode emulator from the library (Node only): run a riscv64 Linux
 * program as tsemu-riscv64 runs it, with the options meaning what its
 * command line's mean.
 *
 * Each run is a process of its own, as a qemu-riscv64 run is: the guest's
 * system calls use the host's descriptors, the processes it forks live in the run,
 * and a guest that dies of a signal ends its process with that signal.
 * Running it inside the caller's process would stall the caller's event loop
 * for the whole run and tie the guest's stdin/stdout to the caller's.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";

/** A riscv64 Linux program to run, with tsemu-riscv64's options. */
export interface ProgramOptions {
  /** The program's file (a riscv64 ELF executable, static or dynamic). */
  program: string;
  /** Its arguments (argv[1] on). */
  args?: readonly string[];
  /** -0: the program's argv[0]; default: `program`. */
  argv0?: string;
  /** -L: look up the guest's absolute paths (the dynamic linker, libraries, files) under this folder first. */
  sysroot?: string;
  /** The program's environment; default: this process's.  (QEMU_* variables in it set options, as for qemu-riscv64.) */
  env?: Readonly<Record<string, string>>;
  /** The working directory; default: this process's. */
  cwd?: string;
  /** -s: the stack size in bytes. */
  stackSize?: number;
  /** -strace: log the system calls to stderr in qemu-riscv64's format. */
  strace?: boolean;
  /** -accel: "tcg" (the default), with its properties ("tcg,threshold=50"), or "interp". */
  accel?: string;
  /** -d: log items (in_asm, cpu, strace, stats, tcg). */
  debug?: readonly string[];
  /** -D: where the -d log goes; default: stderr. */
  logFile?: string;
  /**
   * The guest's stdin, stdout and stderr: "pipe" (default; streams on the
   * RunningProgram) or "inherit" (this process's own descriptors).
   */
  stdio?: "pipe" | "inherit";
}

/** How a program ended: an exit status, or the signal that killed it (then status is null). */
export interface ProgramExit {
  /** The exit status, or null when a signal ended the program. */
  status: number | null;
  /** The signal that ended the program ("SIGSEGV"), or null when it exited. */
  signal: NodeJS.Signals | null;
}

/** A program started by spawnProgram. */
export interface RunningProgram {
  /** The guest's stdin (null with stdio "inherit"). */
  readonly stdin: Writable | null;
  /** The guest's stdout (null with stdio "inherit"). */
  readonly stdout: Readable | null;
  /** The guest's stderr, where tsemu's own one-line errors go too (null with stdio "inherit"). */
  readonly stderr: Readable | null;
  /** The host process id of the emulator running it. */
  readonly pid: number | undefined;
  /** Resolves when the program has ended. */
  readonly exited: Promise<ProgramExit>;
  /** Send the program a signal (default SIGTERM). */
  kill(signal?: NodeJS.Signals): void;
}

/** What runProgram gives back: the exit and everything the program wrote. */
export interface ProgramResult extends ProgramExit {
  /** Everything the program wrote to its stdout. */
  stdout: Uint8Array;
  /** Everything it (and tsemu, for its own errors) wrote to stderr. */
  stderr: Uint8Array;
}

/** A ProgramOptions value that cannot be turned into a command line. */
export class ProgramOptionError extends Error {
  /** "ProgramOptionError" */
  override name = "ProgramOptionError";
}

/** The compiled tsemu-riscv64 next to this file (dist/src/host -> dist/src/cli). */
const CLI = fileURLToPath(new URL("../cli/tsemu-riscv64.js", import.meta.url));

/** The command line tsemu-riscv64 gets for `o` (without the program's own path and arguments). */
export function programArguments(o: ProgramOptions): string[] {
  const a: string[] = [];
  if (typeof o.program !== "string" || o.program === "") throw new ProgramOptionError("program: the path of a riscv64 program is needed");
  if (o.argv0 !== undefined) a.push("-0", o.argv0);
  if (o.sysroot !== undefined) a.push("-L", o.sysroot);
  if (o.stackSize !== undefined) {
    if (!Number.isSafeInteger(o.stackSize) || o.stackSize <= 0) throw new ProgramOptionError(`stackSize ${o.stackSize}: a positive number of bytes is needed`);
    a.push("-s", String(o.stackSize));
  }
  if (o.strace === true) a.push("-strace");
  if (o.accel !== undefined) a.push("-accel", o.accel);
  if (o.debug !== undefined && o.debug.length > 0) a.push("-d", o.debug.join(","));
  if (o.logFile !== undefined) a.push("-D", o.logFile);
  return a;
}

/**
 * Start a riscv64 Linux program under the user-mode emulator.  Bad options
 * throw ProgramOptionError; a program tsemu-riscv64 refuses (missing, not an
 * ELF for riscv64) ends with status 1 and one line on its stderr, as on the
 * command line.
 */
export function spawnProgram(o: ProgramOptions): RunningProgram {
  const argv = [CLI, ...programArguments(o), "--", o.program, ...(o.args ?? [])];
  // A guest's fatal signal leaves no core file of the emulator (tsemu-riscv64 lowers its limit first).
  const child: ChildProcess = spawn(process.execPath, argv, {
    cwd: o.cwd, env: o.env ?? process.env, stdio: o.stdio === "inherit" ? "inherit" : "pipe",
  });
  const exited = new Promise<ProgramExit>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (status, signal) => resolve({ status, signal }));
  });
  return {
    stdin: child.stdin, stdout: child.stdout, stderr: child.stderr, pid: child.pid, exited,
    kill: (signal = "SIGTERM") => { child.kill(signal); },
  };
}

/** Run a program to its end with `input` as its stdin; resolves with how it ended and what it wrote. */
export async function runProgram(o: Omit<ProgramOptions, "stdio"> & { input?: string | Uint8Array }): Promise<ProgramResult> {
  const p = spawnProgram({ ...o, stdio: "pipe" });
  const collect = (s: Readable | null): Promise<Uint8Array> => new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    if (s === null) { resolve(new Uint8Array()); return; }
    s.on("data", (b: Buffer) => parts.push(b));
    s.once("error", reject);
    s.once("end", () => resolve(new Uint8Array(Buffer.concat(parts))));
  });
  const out = collect(p.stdout);
  const err = collect(p.stderr);
  // A program that does not read its stdin closes the pipe: that is not an error of ours.
  p.stdin?.on("error", () => undefined);
  p.stdin?.end(o.input ?? "");
  const [exit, stdout, stderr] = await Promise.all([p.exited, out, err]);
  return { ...exit, stdout, stderr };
}
