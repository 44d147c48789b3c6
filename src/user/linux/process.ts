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
import { Cause, Exit, type RiscvCpu } from "../../target/riscv/cpu.js";
import { formatSyscall } from "./strace.js";
import { dumpRegisters } from "../../target/riscv/cpu-dump.js";
import { fs, path as hostPath } from "../../host/fs.js";
import { Prot } from "./address-space.js";
import { PAGE_SIZE } from "../../target/riscv/tlb.js";
import { inheritedHostFds, snapshot, waitStatus } from "./fork.js";
import {
  BUS_ADRALN, CLD_DUMPED, CLD_EXITED, CLD_KILLED, SIGCHLD, Default, defaultAction, ILL_ILLOPC, NSIG, type PendingSignal, SA_RESETHAND, SEGV_ACCERR,
  SEGV_MAPERR, setupFrame, SIG_DFL, SIG_IGN, SIGALRM, SIGBUS, SIGILL, SIGKILL, SIGSEGV, SIGTRAP, sigbit,
  type SigAction, TRAP_BRKPT,
} from "./signal.js";
import "./syscalls/index.js";

/** How the process ended. */
export type Outcome = { kind: "exit"; status: number } | { kind: "signal"; signo: number; core: boolean };

export interface ProcessOptions {
  /** -L: guest absolute paths are looked up under this prefix first. */
  sysroot: string | undefined;
  strace: boolean;
  /** -d cpu: log the registers at each system call and fault. */
  traceCpu: boolean;
  /** Where diagnostics (strace, -d) go. */
  log(line: string): void;
  /** Instructions a thread runs before the loop looks around. */
  slice: number;
  /** A private folder for fork snapshots and child status files (made on first use). */
  tempDir(): string;
  /** Called for each new hart, to attach tracing (-d in_asm). */
  onNewCpu?(cpu: RiscvCpu): void;
  /**
   * execve of a program that is not riscv64 (a host binary found on the PATH):
   * run it on the host with the guest's descriptors (guest fd i -> host fd
   * map[i]) and say how it ended, as qemu-riscv64's pass-through execve does.
   */
  runHostProgram(path: string, argv: string[], envp: string[], fdMap: number[]): Outcome;
  /** Start a forked child from a snapshot file, passing it these host descriptors; returns its pid. */
  spawnChild(snapshotFile: string, statusFile: string, hostFds: number[]): number;
}

export interface Child {
  statusFile: string;
  /** The wait status once the child has ended. */
  status: number | undefined;
  reaped: boolean;
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
  /** Signal dispositions, indexed by signal number. */
  readonly actions: SigAction[] = [];
  /** Signals sent to the process as a whole. */
  readonly pending: PendingSignal[] = [];
  /** Where signal handlers return to: a page holding `li a7, rt_sigreturn; ecall`. */
  trampoline = 0;
  /** ITIMER_REAL: next expiry and period, in ms on the monotonic clock (0 = off). */
  alarmAt = 0;
  alarmPeriod = 0;
  /** The program's path as started or last exec'd (/proc/self/exe). */
  exePath = "";
  stackSize = 0;
  uid = 0;
  gid = 0;
  readonly children = new Map<number, Child>();
  private nextTid: number;
  private forks = 0;
  private current = 0;

  constructor(readonly opts: ProcessOptions, pid: number) {
    this.pid = pid;
    this.nextTid = pid + 1;
    for (let i = 0; i <= NSIG; i++) this.actions.push({ handler: SIG_DFL, flags: 0, mask: 0n });
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
    this.stackSize = load.stackSize;
    this.uid = load.uid;
    this.gid = load.gid;
    this.exePath = load.execfn;
    const loaded = loadProgram(this.as, exe, {
      ...load,
      readInterpreter: (p) => fs.readFileSync(this.hostPath(p)),
    });
    this.mapTrampoline();
    const t = this.newThread(this.pid);
    t.cpu.pc = loaded.entry;
    t.cpu.setXNumber(2, loaded.sp);
    this.threads.push(t);
  }

  mapTrampoline(): void {
    const at = this.as.findFree(PAGE_SIZE);
    this.as.map(at, at + PAGE_SIZE, Prot.READ | Prot.EXEC, "[vdso]");
    const code = new Uint8Array(8);
    const dv = new DataView(code.buffer);
    dv.setUint32(0, 0x08b00893, true); // addi a7, zero, 139 (rt_sigreturn)
    dv.setUint32(4, 0x00000073, true); // ecall
    this.as.write(at, code);
    this.trampoline = at;
  }

  newTid(): number {
    return this.nextTid++;
  }

  /** A thread on this process's address space (not yet scheduled). */
  newThread(tid: number): Thread {
    const t = new Thread(tid, this.as);
    this.opts.onNewCpu?.(t.cpu);
    return t;
  }

  /** Run until the process ends. */
  run(): Outcome {
    const slice = this.opts.slice;
    while (this.outcome === undefined) {
      const t = this.pickThread();
      if (t === undefined) {
        this.idle();
        continue;
      }
      this.deliverSignals(t);
      if (t.savedMask !== undefined) {
        // sigsuspend ended without running a handler: its mask goes back now.
        t.sigmask = t.savedMask;
        t.savedMask = undefined;
      }
      if (this.outcome !== undefined || t.wait !== undefined || t.exited) continue;
      if (t.budget <= 0) t.budget = slice;
      const before = t.cpu.instret;
      const exit = run(t.cpu, t.budget);
      t.budget -= t.cpu.instret - before;
      if (exit === Exit.ECALL) this.syscall(t);
      else if (exit === Exit.TRAP) this.fault(t);
      if (this.alarmAt !== 0) this.checkAlarm();
      if (this.children.size > 0 && t.budget <= 0) this.pollChildren();
    }
    for (const t of this.threads) this.instructions += t.cpu.instret;
    return this.outcome;
  }

  /** The thread to run next: the current one while its turn lasts, then the next runnable one. */
  private pickThread(): Thread | undefined {
    const ts = this.threads;
    const cur = ts[this.current];
    if (cur !== undefined && !cur.exited && cur.wait === undefined && cur.budget > 0) return cur;
    for (let k = 1; k <= ts.length; k++) {
      const i = (this.current + k) % ts.length;
      const t = ts[i];
      if (!t.exited && t.wait === undefined) {
        this.current = i;
        t.budget = this.opts.slice;
        return t;
      }
    }
    return undefined;
  }

  /** Nothing can run: sleep until the earliest deadline, then time it out. */
  private idle(): void {
    this.reapThreads();
    if (this.threads.length === 0) {
      this.exit(0);
      return;
    }
    let deadline = Infinity;
    for (const t of this.threads) if (t.wait !== undefined) deadline = Math.min(deadline, t.wait.deadline);
    // A child's end shows up as its status file: look again every few milliseconds.
    if (this.children.size > 0) deadline = Math.min(deadline, performance.now() + 5);
    if (this.alarmAt !== 0) deadline = Math.min(deadline, this.alarmAt);
    const now = performance.now();
    const ms = deadline === Infinity ? 1000 : Math.max(0, deadline - now);
    if (ms > 0) sleepMs(ms);
    const later = performance.now();
    for (const t of this.threads) {
      if (t.wait !== undefined && t.wait.deadline <= later) {
        this.wake(t, t.onTimeout ?? -Errno.ETIMEDOUT);
        t.onTimeout = undefined;
      }
    }
    if (this.alarmAt !== 0) this.checkAlarm();
    if (this.children.size > 0) this.pollChildren();
  }

  /** Fork: start the child as a new host process; returns its pid. */
  fork(t: Thread, childSetTid = 0): number {
    const n = this.forks++;
    const snap = hostPath.join(this.opts.tempDir(), `fork-${this.pid}-${n}`);
    const statusFile = hostPath.join(this.opts.tempDir(), `status-${this.pid}-${n}`);
    fs.writeFileSync(snap, snapshot(this, t, childSetTid));
    const pid = this.opts.spawnChild(snap, statusFile, inheritedHostFds(this));
    this.children.set(pid, { statusFile, status: undefined, reaped: false });
    return pid;
  }

  /** Notice children that have ended: record their status, send SIGCHLD, restart wait4 calls. */
  pollChildren(): void {
    let ended = false;
    for (const [pid, c] of this.children) {
      if (c.status !== undefined) continue;
      let text: string;
      try {
        text = fs.readFileSync(c.statusFile, "utf8");
      } catch {
        continue;
      }
      const status = waitStatus(text);
      if (status === undefined) continue;
      c.status = status;
      try { fs.unlinkSync(c.statusFile); } catch { /* the next poll sees the status already recorded */ }
      ended = true;
      const killed = (status & 0x7f) !== 0;
      this.sendSignal({
        signo: SIGCHLD, code: killed ? ((status & 0x80) !== 0 ? CLD_DUMPED : CLD_KILLED) : CLD_EXITED,
        pid, uid: this.uid, addr: 0, status: killed ? status & 0x7f : (status >> 8) & 0xff,
      });
    }
    if (!ended) return;
    for (const t of this.threads) {
      if (t.wait?.kind === "child") {
        t.wait = undefined;
        t.cpu.setXNumber(10, t.retryA0);
        t.cpu.pc -= 4;
      }
    }
  }

  private reapThreads(): void {
    for (let i = this.threads.length - 1; i >= 0; i--) {
      if (this.threads[i].exited) {
        this.threads.splice(i, 1);
        if (this.current >= i && this.current > 0) this.current--;
      }
    }
  }

  /** Make a blocked thread runnable with `result` in a0. */
  wake(t: Thread, result: number): void {
    if (t.wait === undefined) return;
    t.wait = undefined;
    t.onTimeout = undefined;
    t.cpu.setXNumber(10, result);
  }

  /** Wake up to `count` threads waiting on the futex at addr whose bitset matches; returns how many. */
  futexWake(addr: number, count: number, bitset = 0xffffffff): number {
    let n = 0;
    for (const t of this.threads) {
      if (n >= count) break;
      const w = t.wait;
      if (w !== undefined && w.kind === "futex" && w.addr === addr && (w.bitset & bitset) !== 0) {
        this.wake(t, 0);
        n++;
      }
    }
    return n;
  }

  private syscall(t: Thread): void {
    const cpu = t.cpu;
    if (this.opts.traceCpu) this.opts.log(dumpRegisters(cpu));
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

  /** A CPU exception: queue the signal Linux would send for it. */
  private fault(t: Thread): void {
    const cpu = t.cpu;
    if (this.opts.traceCpu) this.opts.log(dumpRegisters(cpu));
    const signo = signalForCause(cpu.trapCause);
    const addr = cpu.trapTvalHi * 4294967296 + (cpu.trapTvalLo >>> 0);
    let code = ILL_ILLOPC;
    if (signo === SIGSEGV) code = this.as.find(addr) === undefined ? SEGV_MAPERR : SEGV_ACCERR;
    else if (signo === SIGBUS) code = BUS_ADRALN;
    else if (signo === SIGTRAP) code = TRAP_BRKPT;
    const faultAddr = signo === SIGILL || signo === SIGTRAP ? cpu.pc : addr;
    // A fault that is blocked or ignored cannot be deferred: Linux kills the process.
    const act = this.actions[signo];
    if ((t.sigmask & sigbit(signo)) !== 0n || act.handler === SIG_IGN) {
      this.die(signo);
      return;
    }
    t.pending.unshift({ signo, code, pid: 0, uid: 0, addr: faultAddr, status: 0 });
  }

  /** Send a signal to the process (kill) or to one thread (tgkill). */
  sendSignal(info: PendingSignal, target?: Thread): void {
    const act = this.actions[info.signo];
    if (info.signo !== SIGKILL && (act.handler === SIG_IGN ||
      (act.handler === SIG_DFL && defaultAction(info.signo) === Default.IGNORE))) return;
    const list = target !== undefined ? target.pending : this.pending;
    if (info.signo < 32 && list.some((s) => s.signo === info.signo)) return; // standard signals don't queue
    list.push(info);
    // Interrupt a thread blocked in a wait that the signal can reach.
    const ready = target ?? this.threads.find((x) => !x.exited && (x.sigmask & sigbit(info.signo)) === 0n);
    if (ready !== undefined && ready.wait !== undefined && (ready.sigmask & sigbit(info.signo)) === 0n) {
      this.wake(ready, -Errno.EINTR);
    }
  }

  /** Deliver the first deliverable pending signal of t, if any. */
  private deliverSignals(t: Thread): void {
    for (const list of [t.pending, this.pending]) {
      for (let i = 0; i < list.length; i++) {
        const info = list[i];
        if (info.signo !== SIGKILL && (t.sigmask & sigbit(info.signo)) !== 0n) continue;
        list.splice(i, 1);
        this.deliver(t, info);
        return;
      }
    }
  }

  private deliver(t: Thread, info: PendingSignal): void {
    const act = this.actions[info.signo];
    if (act.handler === SIG_IGN) return;
    if (act.handler === SIG_DFL) {
      const d = defaultAction(info.signo);
      if (d === Default.TERM || d === Default.CORE) this.die(info.signo);
      return;
    }
    if (!setupFrame(this.as, t, info, act, this.trampoline)) {
      this.die(SIGSEGV);
      return;
    }
    if ((act.flags & SA_RESETHAND) !== 0) this.actions[info.signo] = { handler: SIG_DFL, flags: 0, mask: 0n };
  }

  private checkAlarm(): void {
    const now = performance.now();
    if (now < this.alarmAt) return;
    this.alarmAt = this.alarmPeriod > 0 ? now + this.alarmPeriod : 0;
    this.sendSignal({ signo: SIGALRM, code: 0x80 /* SI_KERNEL */, pid: 0, uid: 0, addr: 0, status: 0 });
  }

  /** End the process by a signal's default action. */
  die(signo: number): void {
    this.outcome = { kind: "signal", signo, core: CORE_SIGNALS.has(signo) };
  }

  exit(status: number): void {
    this.outcome = { kind: "exit", status: status & 0xff };
  }
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Block the host thread for ms milliseconds without spinning. */
export function sleepMs(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

export function signalForCause(cause: number): number {
  switch (cause) {
    case Cause.ILLEGAL_INSN: return 4; // SIGILL
    case Cause.BREAKPOINT: return 5; // SIGTRAP
    case Cause.LOAD_MISALIGNED: case Cause.STORE_MISALIGNED: case Cause.INSN_MISALIGNED: return 7; // SIGBUS
    default: return 11; // SIGSEGV
  }
}
