/**
 * An emulated Linux process: its address space, threads, descriptors and
 * signal dispositions, and the turns of its threads that the kernel's
 * scheduler (kernel.ts) runs, serving their system calls.
 */
import { AddressSpace } from "./address-space.js";
import { FdTable } from "./fd-table.js";
import { Thread } from "./thread.js";
import { NO_RESULT, SyscallArgs, syscalls } from "./syscall.js";
import { Errno } from "./errno.js";
import { loadProgram, type LoadOptions } from "./loader.js";
import { parseElf } from "./elf.js";
import { currentAccel, execute } from "../../accel/engine.js";
import { warmUpInterpreter } from "../../system/warm-up.js";
import { Cause, Exit, type RiscvCpu } from "../../target/riscv/cpu.js";
import { SyscallTrace } from "./strace-trace.js";
import { dumpRegisters } from "../../target/riscv/cpu-dump.js";
import { fs, path as hostPath } from "../../host/fs.js";
import { cwd, initialUmask } from "../../host/cwd.js";
import { OutOfMemory, Prot } from "./address-space.js";
import { addSwitches, addTimes, addUsage, noSwitches, noTimes, noUsage, type CpuTimes, type Switches, type Usage } from "./cpu-time.js";
import { PAGE_SIZE } from "../../target/riscv/tlb.js";
import type { FutexKey, Kernel } from "./kernel.js";
import {
  BUS_ADRALN, CLD_CONTINUED, CLD_DUMPED, CLD_EXITED, CLD_KILLED, CLD_STOPPED, Default, defaultAction, SA_NOCLDSTOP,
  SIGCHLD, SIGCONT, encodeSiginfo, ignores, ILL_ILLOPC, interruptCall, moving,
  killsByDefault, NSIG, type PendingSignal, restartCall, SA_NOCLDWAIT, SA_RESETHAND, SA_RESTART, SEGV_ACCERR,
  SEGV_MAPERR, setupFrame, SI_KERNEL, SIG_DFL, SIG_IGN, SIGALRM, SIGBUS, SIGILL, SIGINFO_SIZE, SIGKILL, SIGRTMIN,
  SIGPIPE, SIGSEGV, SIGTRAP, SI_USER, settleRetry, sigbit, type SigAction, takeSignal, TRAP_BRKPT,
} from "./signal.js";
import "./syscalls/index.js";
import { nowMs } from "../../host/time.js";

/** How the process ended. */
export type Outcome = { kind: "exit"; status: number } | { kind: "signal"; signo: number; core: boolean };

export interface ProcessOptions {
  /** -L: guest absolute paths are looked up under this prefix first. */
  sysroot: string | undefined;
  strace: boolean;
  /** -d cpu: log the registers at each system call and fault. */
  traceCpu: boolean;
  /**
   * The first process stopped (signal signo): stop tsemu on the host, as the
   * host kernel would stop qemu-riscv64, until the host continues it.
   */
  stopHost?(signo: number): void;
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
  /** Called for each new hart, to attach tracing (-d in_asm) and the debugger. */
  onNewCpu?(cpu: RiscvCpu, p: Process): void;
  /**
   * execve of a program that is not riscv64 (a host binary found on the PATH):
   * start it on the host with the guest's descriptors (guest fd i -> host fd
   * map[i]), as qemu-riscv64's pass-through execve does; the process then
   * waits for it in the scheduler.  `ignored`: the signals the guest process
   * ignores, which stay ignored in the program (every other has its default action).
   */
  startHostProgram(path: string, argv: string[], envp: string[], fdMap: number[], cwd: string, ignored: number[]): HostRun;
}

/** A host program a guest process has become by execve. */
export interface HostRun {
  /** How it ended, or undefined while it runs. */
  outcome(): Outcome | undefined;
  /** Send it a signal (by number). */
  signal(signo: number): void;
  /** Told, when outcome() looks, that it has stopped (the signal) or continued (0). */
  onStop: ((signo: number) => void) | undefined;
  /** What it used, once it has ended; undefined where the host does not tell. */
  usage(): Usage | undefined;
}

/** How often a process that became a host program looks whether it has ended, in ms. */
const HOST_RUN_POLL_MS = 2;

/**
 * Instructions a thread retires before the interpreter is warmed up (system/warm-up.ts; once per run, the
 * emulator's own, a scratch hart's: the guest sees nothing of it).  V8 optimises the interpreter's loop from the
 * instructions it has run so far and throws the loop away at the first one it has not; a large program (Python
 * printing one line: 51 M instructions) made it do so about ten times.  A short program never pays the warm-up's
 * tens of milliseconds.
 */
const WARM_UP_AFTER = 2_000_000;

export interface Child {
  /** The wait status once the child has ended (a zombie until reaped). */
  status: number | undefined;
  reaped: boolean;
  /** The child's process group when it ended (wait4 by group finds zombies too). */
  pgid: number;
  /** The signal that stopped the child, until wait4 with WUNTRACED reports it (0: nothing to report). */
  stopped: number;
  /** The child was continued, until wait4 with WCONTINUED reports it. */
  continued: boolean;
  /** Once it has ended: what it used, with what the children it reaped used (usageWithChildren). */
  usage?: Usage;
}

/** Signals whose default action dumps core. */
export const CORE_SIGNALS = new Set([3, 4, 5, 6, 7, 8, 11, 24, 25, 31]);

export class Process {
  as: AddressSpace;
  readonly threads: Thread[] = [];
  fds = FdTable.withStdio();
  readonly pid: number;
  ppid = 0;
  /** Process group and session (the first process takes its host process's). */
  pgid: number;
  sid: number;
  outcome: Outcome | undefined;
  /** The guest's file-creation mask; starts as the host's, as the program would inherit it. */
  umask = initialUmask();
  /** The working directory (the host's is moved to it before the process runs). */
  cwd = cwd();
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
  /** CPU time of its threads that are gone. */
  private readonly goneTimes = noTimes();
  /** Context switches of its threads that are gone. */
  private readonly goneSwitches = noSwitches();
  /** What the children it reaped used, with what theirs used (RUSAGE_CHILDREN; times' cutime and cstime). */
  readonly childUsage = noUsage();
  /** The high-water RSS (KiB) of the address spaces it left (exec). */
  private leftMaxRssKiB = 0;
  /** Its minor faults on the address spaces it left, and the count of the current one when it began using it. */
  private leftFaults = 0;
  private faultsBase = 0;
  /** A vfork child: its parent's thread, waiting until the child execs or ends. */
  vforkParent: Thread | undefined;
  /** A forked child whose side of fork has yet to show in -strace (it does when it first runs). */
  forkPending = false;
  /** The host program this process exec'd, while it runs. */
  private hostRun: HostRun | undefined;
  /** Stopped by a stop signal (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU) until SIGCONT or SIGKILL. */
  stopped = false;
  /** Threads whose wait4 a child's end made runnable: they make it again first thing (see turn). */
  private readonly waitAgain = new Set<Thread>();
  private current = 0;

  /** -strace: undefined when off, so that the system-call path pays one test. */
  readonly trace: SyscallTrace | undefined;

  constructor(readonly kernel: Kernel, readonly opts: ProcessOptions, pid: number, as?: AddressSpace) {
    this.pid = pid;
    this.pgid = pid;
    this.sid = pid;
    this.as = as ?? new AddressSpace(kernel.hostPages);
    this.faultsBase = this.as.faults;
    this.trace = opts.strace ? new SyscallTrace(this) : undefined;
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
    return this.kernel.allocId();
  }

  /** A thread on this process's address space (not yet scheduled). */
  newThread(tid: number): Thread {
    const t = new Thread(tid, this.as);
    this.opts.onNewCpu?.(t.cpu, this);
    return t;
  }

  /**
   * Run this process's threads for up to one slice: turns of the current
   * thread until its budget is spent, another one's when it blocks.  False
   * when no thread could run at all.
   */
  runSlice(): boolean {
    let ran = false;
    let now = nowMs();
    // Waits another process ended (a futex wake makes threads runnable at once; a pipe's retries by deadline 0).
    this.timeouts(now);
    if (this.stopped) return false;
    while (this.outcome === undefined) {
      const t = this.pickThread();
      if (t === undefined) {
        this.reapThreads();
        if (this.threads.length === 0) this.exit(0);
        break;
      }
      ran = true;
      try {
        now = this.turn(t, now);
      } catch (e) {
        // The pool has no page left for this process: the kernel's OOM killer ends it, not the run.
        if (!(e instanceof OutOfMemory)) throw e;
        this.die(SIGKILL);
        now = nowMs();
      }
      // Its turn is over: the next one is another thread's, if one can run.
      if (t.budget <= 0 && this.kernel.othersRunnable(t)) t.switches.involuntary++;
      if (t.budget <= 0 || this.stopped) break;
    }
    if (this.outcome !== undefined) {
      // Stores to shared memory since the last system call reach the files (a fatal signal makes no call).
      this.as.syncShared();
    }
    return ran;
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

  /**
   * One turn of thread t, begun at `start` (nowMs()): signals
   * first, then guest code up to its next system call, fault or the end of
   * its budget.  Returns when it ended, having counted the guest code's time
   * as t's user time and the rest as its system time.
   */
  private turn(t: Thread, start: number): number {
    if (this.forkPending) {
      this.forkPending = false;
      this.trace?.forkReturned();
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
    if (this.outcome !== undefined || t.wait !== undefined || t.exited || this.stopped) return start;
    if (t.budget <= 0) t.budget = this.opts.slice;
    const before = t.cpu.instret;
    const exit = execute(t.cpu, t.budget);
    const ran = nowMs();
    t.times.user += ran - start;
    t.budget -= t.cpu.instret - before;
    if (exit === Exit.ECALL) this.syscall(t);
    else if (exit === Exit.TRAP) this.fault(t);
    // Once per run and engine: warmUpInterpreter keeps which it has warmed.
    if (t.cpu.instret >= WARM_UP_AFTER) warmUpInterpreter(true, currentAccel() === "tcg");
    if (this.alarmAt !== 0) this.checkAlarm();
    const end = nowMs();
    t.times.system += end - ran;
    if (t.budget <= 0 || exit === Exit.ECALL) this.expireWaits(end);
    return end;
  }

  /** The CPU time its threads have used (getrusage's RUSAGE_SELF). */
  cpuTimes(): CpuTimes {
    const sum = { ...this.goneTimes };
    for (const t of this.threads) addTimes(sum, t.times);
    return sum;
  }

  /** Its high-water RSS in KiB, over every program it ran (ru_maxrss, as Linux keeps it across exec). */
  maxRssKiB(): number {
    return Math.max(this.leftMaxRssKiB, this.as.peakPages * (PAGE_SIZE / 1024));
  }

  /** Its minor faults (pages touched for the first time or copied on a write), over every program it ran. */
  minorFaults(): number {
    return this.leftFaults + this.as.faults - this.faultsBase;
  }

  /** Begin using `as` (execve: the old one was left). */
  useAddressSpace(as: AddressSpace): void {
    this.as = as;
    this.faultsBase = as.faults;
  }

  /** The context switches of its threads (getrusage's RUSAGE_SELF). */
  switches(): Switches {
    const sum = { ...this.goneSwitches };
    for (const t of this.threads) addSwitches(sum, t.switches);
    return sum;
  }

  /** What it used (getrusage's RUSAGE_SELF). */
  usage(): Usage {
    return { times: this.cpuTimes(), maxRssKiB: this.maxRssKiB(), minorFaults: this.minorFaults(), switches: this.switches() };
  }

  /** What it used with what the children it reaped used (what wait4 reports of it). */
  usageWithChildren(): Usage {
    const u = this.usage();
    addUsage(u, this.childUsage);
    return u;
  }

  /** Thread t leaves the process: its CPU time and context switches stay the process's. */
  threadGone(t: Thread): void {
    addTimes(this.goneTimes, t.times);
    addSwitches(this.goneSwitches, t.switches);
  }

  /** The earliest moment something of this process is due (a wait's deadline, the alarm); Infinity for none. */
  nextDeadline(): number {
    let deadline = this.alarmAt !== 0 ? this.alarmAt : Infinity;
    for (const t of this.threads) if (t.wait !== undefined) deadline = Math.min(deadline, t.wait.deadline);
    return deadline;
  }

  /** Time out what is due at `now`: waits and the alarm. */
  timeouts(now: number): void {
    this.expireWaits(now);
    if (this.alarmAt !== 0) this.checkAlarm();
  }

  /** End the waits whose deadline has passed (with their timeout result). */
  private expireWaits(now: number): void {
    if (this.hostRun !== undefined) {
      this.checkHostRun(now);
      return;
    }
    for (const t of this.threads) {
      if (t.wait !== undefined && t.wait.deadline <= now) this.wake(t, t.onTimeout ?? -Errno.ETIMEDOUT);
    }
  }

  /**
   * execve of a host program: the process is that program from now on (its
   * thread waits in the scheduler until the program ends, and ends the
   * process the same way).
   */
  becomeHostProgram(t: Thread, run: HostRun): void {
    this.hostRun = run;
    // Its stops and continues are this process's, for the parent's wait4 (a shell's job control).
    run.onStop = (signo) => {
      if (signo === 0) this.resume();
      else this.enterStop(signo);
    };
    t.wait = { kind: "host", addr: 0, bitset: 0, deadline: nowMs() + HOST_RUN_POLL_MS };
  }

  private checkHostRun(now: number): void {
    const t = this.threads.find((x) => x.wait?.kind === "host");
    if (t?.wait === undefined || t.wait.deadline > now) return;
    const o = (this.hostRun as HostRun).outcome();
    if (o === undefined) {
      t.wait.deadline = now + HOST_RUN_POLL_MS;
      return;
    }
    const used = (this.hostRun as HostRun).usage();
    this.hostRun = undefined;
    if (used !== undefined) this.addHostProgramUsage(used);
    if (o.kind === "exit") this.exit(o.status);
    else this.die(o.signo);
  }

  /**
   * The host program this process became has ended: what it used is the
   * process's too, as Linux's rusage of a process goes on across its execve
   * (its CPU time and switches added, its peak RSS the process's if higher).
   */
  private addHostProgramUsage(u: Usage): void {
    addTimes(this.goneTimes, u.times);
    addSwitches(this.goneSwitches, u.switches);
    this.leftMaxRssKiB = Math.max(this.leftMaxRssKiB, u.maxRssKiB);
    this.leftFaults += u.minorFaults;
  }

  /**
   * A child has ended: keep its status for wait4, send SIGCHLD and make
   * waiting wait4 calls again (a child reaped at once, SIGCHLD ignored or
   * SA_NOCLDWAIT, leaves no zombie).
   */
  childEnded(child: Process, outcome: Outcome): void {
    const pid = child.pid;
    const c = this.children.get(pid);
    if (c === undefined) return;
    c.pgid = child.pgid;
    c.usage = child.usageWithChildren();
    const status = outcome.kind === "exit" ? (outcome.status & 0xff) << 8 : outcome.signo | (outcome.core ? 0x80 : 0);
    c.status = status;
    const killed = outcome.kind === "signal";
    this.sendSignal({
      signo: SIGCHLD, code: killed ? (outcome.core ? CLD_DUMPED : CLD_KILLED) : CLD_EXITED,
      pid, uid: child.uid, addr: 0, status: killed ? outcome.signo : outcome.status & 0xff, times: child.cpuTimes(),
    });
    this.waitsAgain();
  }

  /**
   * A child has stopped (signal signo) or continued (signo 0): what wait4 reports, and SIGCHLD unless
   * SA_NOCLDSTOP, with the child's CPU time (Linux's do_notify_parent_cldstop gives the stopping
   * thread's; the process's here, the same for a process of one thread).
   */
  childStoppedOrContinued(child: Process, signo: number): void {
    const pid = child.pid;
    const c = this.children.get(pid);
    if (c === undefined) return;
    c.stopped = signo;
    c.continued = signo === 0;
    if ((this.actions[SIGCHLD].flags & SA_NOCLDSTOP) === 0) {
      this.sendSignal({
        signo: SIGCHLD, code: signo !== 0 ? CLD_STOPPED : CLD_CONTINUED, pid, uid: child.uid, addr: 0,
        status: signo !== 0 ? signo : SIGCONT, times: child.cpuTimes(),
      });
    }
    this.waitsAgain();
  }

  /** Make the wait4 calls waiting for a child again (something about a child changed). */
  private waitsAgain(): void {
    for (const t of this.threads) {
      if (t.wait?.kind === "child") {
        t.wait = undefined;
        t.cpu.setXNumber(10, t.retryA0);
        t.cpu.pc -= 4;
        this.waitAgain.add(t);
      }
    }
  }

  /** SIGPIPE for a write whose reader has gone (EPIPE), as Linux raises it. */
  sigpipe(): void {
    this.sendSignal({ signo: SIGPIPE, code: SI_USER, pid: this.pid, uid: this.uid, addr: 0, status: 0 });
  }

  /**
   * A stop signal's default action: every thread stops until SIGCONT.  The
   * first process is tsemu's own to its parent on the host, which then sees
   * tsemu stop (a shell's job control).
   */
  stop(signo: number): void {
    if (!this.enterStop(signo)) return;
    if (this.pid === this.kernel.firstPid && this.opts.stopHost !== undefined) {
      this.opts.stopHost(signo);
      this.resume();
    }
  }

  /** Mark the process stopped by signo and tell its parent; false when it already was. */
  private enterStop(signo: number): boolean {
    if (this.stopped) return false;
    this.stopped = true;
    this.kernel.processes.get(this.ppid)?.childStoppedOrContinued(this, signo);
    return true;
  }

  /** SIGCONT: a stopped process goes on. */
  resume(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.kernel.processes.get(this.ppid)?.childStoppedOrContinued(this, 0);
  }

  /**
   * The process has ended: close its descriptors, give back its memory
   * (unless a vfork parent still uses it) and wake that parent.  Returns the
   * instructions its threads retired.
   */
  release(): number {
    let n = 0;
    for (const t of this.threads) {
      n += t.cpu.instret;
      t.cpu.releaseState();
      this.threadGone(t);
    }
    this.threads.length = 0;
    for (const fd of this.fds.open()) {
      const last = this.fds.remove(fd);
      if (last !== undefined && last.ownsHostFd) {
        try { fs.closeSync(last.hostFd); } catch { /* already gone */ }
      }
    }
    this.leaveAddressSpace();
    this.vforkDone();
    return n;
  }

  /** This process stops using its address space (exit, or exec into a new one). */
  leaveAddressSpace(): void {
    this.leftMaxRssKiB = this.maxRssKiB();
    const mine = this.as.faults - this.faultsBase;
    this.leftFaults += mine;
    this.faultsBase = this.as.faults;
    // A vfork child faulted on its parent's address space: its faults, not its parent's too (Linux counts per task).
    const parent = this.vforkParent !== undefined ? this.kernel.processes.get(this.ppid) : undefined;
    if (parent?.as === this.as) parent.faultsBase += mine;
    if (--this.as.users === 0) this.as.release();
  }

  /** A vfork child has exec'd or ended: its parent's thread goes on with the child's pid. */
  vforkDone(): void {
    const t = this.vforkParent;
    if (t === undefined) return;
    this.vforkParent = undefined;
    const parent = this.kernel.processes.get(this.ppid);
    if (t.wait?.kind === "vfork") (parent ?? this).wake(t, this.pid);
  }

  private reapThreads(): void {
    for (let i = this.threads.length - 1; i >= 0; i--) {
      if (this.threads[i].exited) {
        this.threads[i].cpu.releaseState();
        this.threadGone(this.threads[i]);
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

  /** Wake up to `count` threads waiting on the futex at addr (as this process sees it); returns how many. */
  futexWake(addr: number, count: number, bitset = 0xffffffff): number {
    return this.kernel.futexWake(this.futexKey(addr, false), count, bitset);
  }

  /**
   * The futex at addr: a word of MAP_SHARED memory is the same futex in
   * every process mapping it (unless the call says FUTEX_PRIVATE_FLAG);
   * any other is one of this address space.
   */
  futexKey(addr: number, isPrivate: boolean): FutexKey {
    if (!isPrivate) {
      this.as.hostOffset(addr); // a shared page gets its host page now
      const host = this.as.sharedHostPage(addr);
      if (host !== undefined) return { space: undefined, addr: host * PAGE_SIZE + (addr % PAGE_SIZE) };
    }
    return { space: this.as, addr };
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
    if (result === NO_RESULT) {
      // It blocks: the scheduler runs something else (a voluntary switch).
      if (t.wait !== undefined) t.switches.voluntary++;
      return;
    }
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
    // The process is a host program now: the signal is that program's.
    if (this.hostRun !== undefined) {
      if (sig !== SIGCHLD) this.hostRun.signal(sig);
      return;
    }
    // SIGCONT continues a stopped process whatever its disposition, and a stop
    // signal and SIGCONT each discard the other's pending instances.
    const stopSignal = defaultAction(sig) === Default.STOP;
    if (sig === SIGCONT || stopSignal) {
      const other = (s: PendingSignal): boolean => (sig === SIGCONT ? defaultAction(s.signo) === Default.STOP : s.signo === SIGCONT);
      for (const list of [this.pending, ...this.threads.map((x) => x.pending)]) {
        for (let i = list.length - 1; i >= 0; i--) if (other(list[i])) list.splice(i, 1);
      }
      if (sig === SIGCONT) this.resume();
    }
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
      // A fatal default action ends the whole process now, blocked threads and all
      // (a stopped one only for SIGKILL: the others wait for SIGCONT, as in Linux).
      if (sig === SIGKILL || (killsByDefault(sig) && !this.stopped)) {
        this.trace?.signal(info, taker);
        this.die(sig);
      } else if (stopSignal) {
        // So does a stop: the process stops now, its waits left as they are.
        list.splice(list.indexOf(info), 1);
        this.trace?.signal(info, taker);
        this.stop(sig);
      }
      return; // ignored, or SIGCONT (done above): no wait is disturbed
    }
    if (act.handler === SIG_IGN) return;
    const w = taker.wait;
    if (w === undefined) return;
    // wait4 finds the child that ended: childEnded restarts it (the handler runs first).
    if (childEnded && w.kind === "child") return;
    // vfork's wait is not interrupted: the signal waits until the child has exec'd or ended.
    if (w.kind === "vfork") return;
    if (w.kind === "retry" && moving(taker)) {
      // Part of its data is moved: the call runs again now and returns that count (see moving()), then the handler runs.
      this.wake(taker, taker.onTimeout as number);
      return;
    }
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
    // A call that has moved part of its data finishes first, returning that count.
    if (settleRetry(t, this.pending)) return;
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
      } else if (defaultAction(info.signo) === Default.STOP) {
        this.trace?.signal(info, t);
        this.stop(info.signo);
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
    const now = nowMs();
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
