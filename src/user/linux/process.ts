/**
 * An emulated Linux process: its address space, threads, descriptors and
 * signal dispositions, and the loop that runs its threads and serves their
 * system calls.
 */
import { AddressSpace } from "./address-space.js";
import { FdTable } from "./fd-table.js";
import { Thread } from "./thread.js";
import { NO_RESULT, SyscallArgs, syscalls } from "./syscall.js";
import { Errno } from "./errno.js";
import { loadProgram, type LoadOptions } from "./loader.js";
import { parseElf } from "./elf.js";
import { run } from "../../accel/interp.js";
import { Cause, Exit } from "../../target/riscv/cpu.js";
import { formatSyscall } from "./strace.js";
import { fs, path as hostPath } from "../../host/fs.js";
import "./syscalls/index.js";

/** How the process ended. */
export type Outcome = { kind: "exit"; status: number } | { kind: "signal"; signo: number; core: boolean };

export interface ProcessOptions {
  /** -L: guest absolute paths are looked up under this prefix first. */
  sysroot: string | undefined;
  strace: boolean;
  /** Where diagnostics (strace, -d) go. */
  log(line: string): void;
  /** Instructions a thread runs before the loop looks around. */
  slice: number;
}

export const SIGNAL_NAMES: Record<number, string> = {
  1: "Hangup", 2: "Interrupt", 3: "Quit", 4: "Illegal instruction", 5: "Trace/breakpoint trap",
  6: "Aborted", 7: "Bus error", 8: "Floating point exception", 9: "Killed", 10: "User defined signal 1",
  11: "Segmentation fault", 12: "User defined signal 2", 13: "Broken pipe", 14: "Alarm clock",
  15: "Terminated", 16: "Stack fault", 17: "Child exited", 18: "Continued", 19: "Stopped (signal)",
  20: "Stopped", 21: "Stopped (tty input)", 22: "Stopped (tty output)", 23: "Urgent I/O condition",
  24: "CPU time limit exceeded", 25: "File size limit exceeded", 26: "Virtual timer expired",
  27: "Profiling timer expired", 28: "Window changed", 29: "I/O possible", 30: "Power failure",
  31: "Bad system call",
};

/** Signals whose default action dumps core. */
export const CORE_SIGNALS = new Set([3, 4, 5, 6, 7, 8, 11, 24, 25, 31]);

export class Process {
  as = new AddressSpace();
  readonly threads: Thread[] = [];
  fds = FdTable.withStdio();
  readonly pid: number;
  ppid = 0;
  outcome: Outcome | undefined;
  umask = 0o022;
  instructions = 0;

  constructor(readonly opts: ProcessOptions, pid: number) {
    this.pid = pid;
  }

  /** Translate a guest path to the host path to use (the -L prefix first, as QEMU does). */
  hostPath(guest: string): string {
    const root = this.opts.sysroot;
    if (root !== undefined && guest.startsWith("/")) {
      const candidate = hostPath.join(root, guest);
      if (fs.existsSync(candidate)) return candidate;
    }
    return guest;
  }

  /** Load the program and create the main thread. */
  start(file: Uint8Array, load: Omit<LoadOptions, "readInterpreter">): void {
    const exe = parseElf(file);
    const loaded = loadProgram(this.as, exe, {
      ...load,
      readInterpreter: (p) => fs.readFileSync(this.hostPath(p)),
    });
    const t = new Thread(this.pid, this.as);
    t.cpu.pc = loaded.entry;
    t.cpu.setXNumber(2, loaded.sp);
    this.threads.push(t);
  }

  /** Run until the process ends. */
  run(): Outcome {
    const slice = this.opts.slice;
    while (this.outcome === undefined) {
      const t = this.threads[0];
      const exit = run(t.cpu, slice);
      if (exit === Exit.ECALL) this.syscall(t);
      else if (exit === Exit.TRAP) this.trap(t);
    }
    for (const t of this.threads) this.instructions += t.cpu.instret;
    return this.outcome;
  }

  private syscall(t: Thread): void {
    const cpu = t.cpu;
    const nr = cpu.xl[17];
    const def = cpu.xh[17] === 0 ? syscalls.get(nr) : undefined;
    const args = new SyscallArgs(cpu.xl, cpu.xh);
    cpu.pc += 4;
    let result: number | bigint | typeof NO_RESULT;
    if (def === undefined) {
      result = -Errno.ENOSYS;
    } else {
      result = def.handler(this, t, args);
    }
    if (this.opts.strace) this.opts.log(formatSyscall(this.pid, nr, def?.name, args, result));
    if (result === NO_RESULT) return;
    if (typeof result === "bigint") {
      cpu.xl[10] = Number(BigInt.asIntN(32, result));
      cpu.xh[10] = Number(BigInt.asIntN(32, result >> 32n));
    } else {
      cpu.setXNumber(10, result);
    }
  }

  /** A CPU exception: turn it into the signal Linux would send. */
  private trap(t: Thread): void {
    const signo = signalForCause(t.cpu.trapCause);
    this.die(signo);
  }

  /** End the process by a signal's default action. */
  die(signo: number): void {
    this.outcome = { kind: "signal", signo, core: CORE_SIGNALS.has(signo) };
  }

  exit(status: number): void {
    this.outcome = { kind: "exit", status: status & 0xff };
  }
}

export function signalForCause(cause: number): number {
  switch (cause) {
    case Cause.ILLEGAL_INSN: return 4; // SIGILL
    case Cause.BREAKPOINT: return 5; // SIGTRAP
    case Cause.LOAD_MISALIGNED: case Cause.STORE_MISALIGNED: case Cause.INSN_MISALIGNED: return 7; // SIGBUS
    default: return 11; // SIGSEGV
  }
}
