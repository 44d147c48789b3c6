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
import { execute } from "../../accel/engine.js";
import { Cause, Exit, type RiscvCpu } from "../../target/riscv/cpu.js";
import { SyscallTrace } from "./strace-trace.js";
import { dumpRegisters } from "../../target/riscv/cpu-dump.js";
import { fs, path as hostPath } from "../../host/fs.js";
import { initialUmask } from "../../host/cwd.js";
import { hostProcessEnded } from "../../host/proc.js";
import { Prot } from "./address-space.js";
import { PAGE_SIZE } from "../../target/riscv/tlb.js";
import { inheritedHostFds, snapshot, waitStatus } from "./fork.js";
import { SNAPSHOT_PREFIX } from "../../host/temp-dirs.js";
import {
  BUS_ADRALN, CLD_DUMPED, CLD_EXITED, CLD_KILLED, SIGCHLD, encodeSiginfo, ignores, ILL_ILLOPC, interruptCall,
  killsByDefault, NSIG, type PendingSignal, restartCall, SA_NOCLDWAIT, SA_RESETHAND, SA_RESTART, SEGV_ACCERR,
  SEGV_MAPERR, setupFrame, SI_KERNEL, SIG_DFL, SIG_IGN, SIGALRM, SIGBUS, SIGILL, SIGINFO_SIZE, SIGKILL, SIGRTMIN,
  SIGSEGV, SIGTRAP, settleRetry, sigbit, type SigAction, takeSignal, TRAP_BRKPT,
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
  /**
   * The same, without the newline: -strace writes a call before it runs and
   * its result after (what the call itself writes comes in between), as
   * qemu-riscv64 does.  Without it, those pieces are joined into lines for log.
   */
  logText?(text: string): void;
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
  spawnChild(snapshotFile: string, statusFile: string, inboxFile: string, hostFds: number[]): number;
}

export interface Child {
  statusFile: string;
  /** Where this process leaves signals for the child (see readInbox). */
  inbox: string;
  /** The wait status once the child has ended. */
  status: number | undefined;
  reaped: boolean;
}

/** Signals whose default action dumps core. */
export const CORE_SIGNALS = new Set([3, 4, 5, 6, 7, 8, 11, 24, 25, 31]);

export class Process {
  as = new AddressSpace();
  readonly threads: Thread[] = [];
  fds = FdTable.withStdio();
  readonly pid: number;
  ppid = 0;
  outcome: Outcome | undefined;
  /** The guest's file-creation mask; starts as the host's, as the program would inherit it. */
  umask = initialUmask();
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
  /** For a forked child: the file its parent leaves signals in. */
  inbox: string | undefined;
  private nextTid: number;
  private forks = 0;
  /** Threads whose wait4 a child's end made runnable: they make it again first thing (see run). */
  private readonly waitAgain = new Set<Thread>();
  private current = 0;

  /** -strace: undefined when off, so that the system-call path pays one test. */
  readonly trace: SyscallTrace | undefined;

  constructor(readonly opts: ProcessOptions, pid: number) {
    this.pid = pid;
    this.trace = opts.strace ? new SyscallTrace(this) : undefined;
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
    this.exePath = absolutePath(load.execfn);
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
      // A wait4 that a child's end made runnable completes before the SIGCHLD it
      // raised is delivered, as in Linux: the handler then sees the child reaped.
      if (this.waitAgain.size > 0 && this.waitAgain.delete(t)) this.syscall(t);
      this.deliverSignals(t);
      if (t.savedMask !== undefined) {
        // sigsuspend ended without running a handler: its mask goes back now.
        t.sigmask = t.savedMask;
        t.savedMask = undefined;
      }
      if (this.outcome !== undefined || t.wait !== undefined || t.exited) continue;
      if (t.budget <= 0) t.budget = slice;
      const before = t.cpu.instret;
      const exit = execute(t.cpu, t.budget);
      t.budget -= t.cpu.instret - before;
      if (exit === Exit.ECALL) this.syscall(t);
      else if (exit === Exit.TRAP) this.fault(t);
      if (this.alarmAt !== 0) this.checkAlarm();
      if (this.children.size > 0 && t.budget <= 0) this.pollChildren();
      if (this.inbox !== undefined && t.budget <= 0) this.readInbox();
      if (t.budget <= 0 || exit === Exit.ECALL) this.expireWaits(performance.now());
    }
    for (const t of this.threads) this.instructions += t.cpu.instret;
    // Stores to shared memory since the last system call reach the files (a fatal signal makes no call).
    this.as.syncShared();
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
    // So do signals from the parent (a forked child's inbox).
    if (this.inbox !== undefined) deadline = Math.min(deadline, performance.now() + 10);
    if (this.alarmAt !== 0) deadline = Math.min(deadline, this.alarmAt);
    const now = performance.now();
    const ms = deadline === Infinity ? 1000 : Math.max(0, deadline - now);
    if (ms > 0) sleepMs(ms);
    this.expireWaits(performance.now());
    if (this.alarmAt !== 0) this.checkAlarm();
    if (this.children.size > 0) this.pollChildren();
    if (this.inbox !== undefined) this.readInbox();
  }

  /**
   * A forked child is a separate host process, and a host signal could not
   * reach its guest handlers while it runs: so the parent's kill leaves the
   * signal in this file ("signo pid uid" lines), which the child takes at
   * each turn of its loop.  Renaming first makes taking it atomic against the
   * parent's appends.
   */
  private readInbox(): void {
    const inbox = this.inbox as string;
    const taken = `${inbox}.taken`;
    try {
      fs.renameSync(inbox, taken);
    } catch {
      return; // nothing sent
    }
    let text = "";
    try {
      text = fs.readFileSync(taken, "utf8");
      fs.unlinkSync(taken);
    } catch { /* lost with the file: nothing to deliver */ }
    for (const line of text.split("\n")) {
      const m = /^(\d+) (\d+) (\d+)$/.exec(line);
      if (m === null) continue;
      this.sendSignal({ signo: Number(m[1]), code: 0 /* SI_USER */, pid: Number(m[2]), uid: Number(m[3]), addr: 0, status: 0 });
    }
  }

  /** End the waits whose deadline has passed (with their timeout result). */
  private expireWaits(now: number): void {
    for (const t of this.threads) {
      if (t.wait !== undefined && t.wait.deadline <= now) this.wake(t, t.onTimeout ?? -Errno.ETIMEDOUT);
    }
  }

  /** Fork: start the child as a new host process; returns its pid. */
  fork(t: Thread, childSetTid = 0): number {
    const n = this.forks++;
    const snap = hostPath.join(this.opts.tempDir(), `${SNAPSHOT_PREFIX}${this.pid}-${n}`);
    const statusFile = hostPath.join(this.opts.tempDir(), `status-${this.pid}-${n}`);
    fs.writeFileSync(snap, snapshot(this, t, childSetTid));
    const inbox = hostPath.join(this.opts.tempDir(), `signals-${this.pid}-${n}`);
    const pid = this.opts.spawnChild(snap, statusFile, inbox, inheritedHostFds(this));
    this.children.set(pid, { statusFile, inbox, status: undefined, reaped: false });
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
      // The child's host process must be gone too before the parent hears of it:
      // Node puts the terminal back as it found it on the way out, and a shell
      // that has meanwhile set up its line editor would lose those settings.
      if (status === undefined || !hostProcessEnded(pid)) continue;
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
        this.waitAgain.add(t);
      }
    }
  }

  private reapThreads(): void {
    for (let i = this.threads.length - 1; i >= 0; i--) {
      if (this.threads[i].exited) {
        this.threads[i].cpu.releaseState();
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
    this.trace?.woken(t, result);
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
    // Tracing costs one test of a field when it is off: everything else is in the trace.
    const trace = this.trace;
    if (trace !== undefined) trace.enter(t, nr);
    cpu.pc += 4;
    let result: number | bigint | typeof NO_RESULT;
    if (def === undefined) {
      result = -Errno.ENOSYS;
    } else {
      // Shared mappings keep their bytes in host files: the call must see the
      // guest's stores there, and the guest what the call (or another process) did.
      this.as.syncShared();
      result = def.handler(this, t, args);
      this.as.syncShared();
    }
    if (trace !== undefined) trace.leave(t, nr, result);
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
    const sig = info.signo;
    const bit = sigbit(sig);
    const act = this.actions[sig];
    const live = this.threads.filter((x) => !x.exited);
    if (live.length === 0 || (target !== undefined && target.exited)) return;
    const childEnded = sig === SIGCHLD && info.raw === undefined && info.code >= CLD_EXITED &&
      info.code <= CLD_DUMPED;
    // SIGCHLD set to SIG_IGN (or SA_NOCLDWAIT) reaps a child as it ends: wait4 then finds no such child.
    if (childEnded && (act.handler === SIG_IGN || (act.flags & SA_NOCLDWAIT) !== 0)) this.children.delete(info.pid);
    const waitsFor = (x: Thread): boolean => x.wait?.kind === "sigwait" && ((x.wait.sigset ?? 0n) & bit) !== 0n;
    // Linux throws an ignored signal away unless the receiver (the main thread for
    // kill) blocks it: the disposition may change before it is unblocked.
    const receiver = target ?? live.find((x) => x.tid === this.pid) ?? live[0];
    if (ignores(act, sig) && (receiver.sigmask & bit) === 0n && !waitsFor(receiver)) return;
    // A thread in sigwaitinfo/sigtimedwait for the signal takes it at once.
    const waiter = (target !== undefined ? [target] : live).find(waitsFor);
    if (waiter?.wait !== undefined) {
      const at = waiter.wait.addr;
      if (at !== 0 && this.as.check(at, SIGINFO_SIZE, Prot.WRITE)) this.as.write(at, encodeSiginfo(info));
      this.wake(waiter, sig);
      return;
    }
    const list = target !== undefined ? target.pending : this.pending;
    if (sig < SIGRTMIN && list.some((s) => s.signo === sig)) return; // standard signals don't queue
    list.push(info);
    // The thread that will take it: the target, or the main thread first, then any, that does not block it.
    const taker = (target !== undefined ? [target] : [receiver, ...live]).find((x) => (x.sigmask & bit) === 0n);
    if (taker === undefined) return; // blocked everywhere: it stays pending
    if (act.handler === SIG_DFL) {
      // A fatal default action ends the whole process now, blocked threads and all.
      if (sig === SIGKILL || killsByDefault(sig)) {
        this.trace?.signal(info, taker);
        this.die(sig);
      }
      return; // ignored, or a stop/continue signal (not emulated): no wait is disturbed
    }
    if (act.handler === SIG_IGN) return;
    const w = taker.wait;
    if (w === undefined) return;
    // wait4 finds the child that ended: pollChildren restarts it (the handler runs first).
    if (childEnded && w.kind === "child") return;
    interruptCall(taker, w);
    this.wake(taker, -Errno.EINTR);
  }

  /** Deliver t's pending signals that it does not block, each in its own frame, as Linux does. */
  private deliverSignals(t: Thread): void {
    // The common case, checked before any bigint work: this runs before every turn and system call.
    if (t.pending.length === 0 && this.pending.length === 0 && t.interrupted === undefined) {
      t.retry = undefined;
      return;
    }
    settleRetry(t, this.pending);
    // Each frame blocks its own signal (without SA_NODEFER) and every list entry is
    // taken once, so this ends; the last frame built is the first handler to run.
    for (;;) {
      const info = takeSignal([t.pending, this.pending], ~t.sigmask | sigbit(SIGKILL));
      if (info === undefined) break;
      this.deliver(t, info);
      if (this.outcome !== undefined) return;
    }
    // No handler ran for the signal that cut t's wait short: the call restarts as if nothing happened.
    const i = t.interrupted;
    if (i !== undefined) {
      t.interrupted = undefined;
      if (i.mode !== "never") restartCall(t, i);
      this.trace?.interrupted(t, i.mode !== "never");
    }
  }

  private deliver(t: Thread, info: PendingSignal): void {
    const act = this.actions[info.signo];
    if (act.handler === SIG_IGN) return;
    if (act.handler === SIG_DFL) {
      if (info.signo === SIGKILL || killsByDefault(info.signo)) {
        if (this.trace !== undefined) {
          if (t.interrupted !== undefined) this.trace.interrupted(t, false);
          this.trace.signal(info, t);
        }
        this.die(info.signo);
      }
      return;
    }
    // The first handler decides what becomes of a call the signal interrupted
    // (the frame saves the pc and a0 the call returns to).
    const i = t.interrupted;
    if (i !== undefined) {
      t.interrupted = undefined;
      const restart = i.mode === "sys" && (act.flags & SA_RESTART) !== 0;
      if (restart) restartCall(t, i);
      this.trace?.interrupted(t, restart);
    }
    this.trace?.signal(info, t);
    // The handler may read shared memory that the sender stored into before signalling.
    this.as.syncShared();
    if (!setupFrame(this.as, t, info, act, this.trampoline)) {
      this.die(SIGSEGV);
      return;
    }
    // SA_RESETHAND resets only the handler; flags and mask stay, as in Linux.
    if ((act.flags & SA_RESETHAND) !== 0) this.actions[info.signo] = { ...act, handler: SIG_DFL };
  }

  private checkAlarm(): void {
    const now = performance.now();
    if (now < this.alarmAt) return;
    // A periodic timer keeps its phase; expirations missed meanwhile fold into this one signal.
    const period = this.alarmPeriod;
    this.alarmAt = period > 0 ? this.alarmAt + period * (Math.floor((now - this.alarmAt) / period) + 1) : 0;
    this.sendSignal({ signo: SIGALRM, code: SI_KERNEL, pid: 0, uid: 0, addr: 0, status: 0 });
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

/** A path made absolute with links resolved, as /proc/self/exe shows it (the path itself if that fails). */
export function absolutePath(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return hostPath.resolve(file);
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
