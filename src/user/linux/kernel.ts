/**
 * The emulated kernel's process table and scheduler: every guest process of
 * a tsemu-riscv64 run lives here, in one host process, and one loop runs the
 * threads of them all.  fork makes a Process object with a copy-on-write copy
 * of its parent's memory; a child's end reaches its parent's wait4 and
 * SIGCHLD at once; signals, process groups and futexes on shared memory reach
 * across processes.
 *
 * The run ends when no guest process is left: a program that leaves a
 * background process running keeps the run going until that one ends too.
 */
import { HostPages, type AddressSpace } from "./address-space.js";
import { GuestRam } from "../../target/riscv/ram.js";
import { PAGE_SIZE } from "../../target/riscv/tlb.js";
import { sleepMs, type Outcome, type Process } from "./process.js";
import { useCwd } from "../../host/cwd.js";
import type { HostSignal, HostSignals } from "../../host/host-signals.js";
import { SI_KERNEL, SI_USER } from "./signal.js";
import type { Thread } from "./thread.js";
import { hostSockets, hostWaitAny } from "../../host/host-sockets.js";
import { nowMs } from "../../host/time.js";

/** Host memory reserved for the guest pages of every process: the OS commits only what is touched. */
const DEFAULT_POOL = 2 ** 31 - PAGE_SIZE;

/**
 * The most processes (zombies included) a run may hold, whatever
 * RLIMIT_NPROC says: Linux's threads-max plays this part; here it keeps a
 * fork bomb from exhausting host memory rather than the guest's.
 */
export const MAX_PROCESSES = 1024;

/** While guest code runs, how often the host descriptors of parked threads are looked at, in ms (Kernel.pollParked). */
const BUSY_POLL_MS = 1;
/** How often an idle run looks for host signals, in ms. */
const HOST_SIGNAL_POLL_MS = 20;

/** What identifies a futex word: shared memory by its host byte offset, private memory by address space and address. */
export interface FutexKey {
  space: AddressSpace | undefined;
  addr: number;
}

export class Kernel {
  readonly hostPages: HostPages;
  /** Live processes by pid, in creation order (the scheduler's round). */
  readonly processes = new Map<number, Process>();
  /** Instructions retired by processes that have ended. */
  private retired = 0;
  private nextId: number;
  /** The first process: its end is the run's exit status. */
  private first: Process | undefined;
  private firstOutcome: Outcome | undefined;
  forks = 0;
  /** The host process group tsemu started in (the first process's until it moves). */
  hostGroup = 0;
  /** The session of the terminal tsemu was started on (the first process's); undefined: no job control checks. */
  ttySession: number | undefined;
  /** The terminal's foreground process group as the guest set it (TIOCSPGRP); undefined: the host group. */
  ttyForeground: number | undefined;
  /** Signals sent to tsemu on the host, for the guest (undefined: tsemu dies of them as a host process). */
  hostSignals: HostSignals | undefined;
  /** When pollParked looks next (nowMs() ms). */
  private nextBusyPoll = 0;

  constructor(readonly firstPid: number, poolBytes = DEFAULT_POOL) {
    // Shared, so reserved at its fixed size: a plain WebAssembly.Memory of this
    // size took 5-47 ms to make and set off a full GC ("external memory
    // pressure") in every start (docs/performance.md, start-up).
    this.hostPages = new HostPages(new GuestRam(poolBytes, true));
    this.nextId = firstPid + 1;
  }

  /** A fresh pid or tid (Linux draws both from one space). */
  allocId(): number {
    let id = this.nextId++;
    while (this.processes.has(id)) id = this.nextId++;
    return id;
  }

  /** Whether id is a pid or tid this run gave out (the first process's is tsemu's own). */
  issued(id: number): boolean {
    return id > this.firstPid && id < this.nextId;
  }

  /** Schedule a new process (the first one added is the run's own). */
  add(p: Process): void {
    this.first ??= p;
    this.processes.set(p.pid, p);
  }

  /** Processes alive and not yet reaped (zombies: ended children of a live parent), as RLIMIT_NPROC and MAX_PROCESSES count them. */
  count(): number {
    let n = this.processes.size;
    for (const p of this.processes.values()) for (const c of p.children.values()) if (c.status !== undefined) n++;
    return n;
  }

  /** Every guest instruction retired so far, by all processes. */
  instructions(): number {
    let n = this.retired;
    for (const p of this.processes.values()) for (const t of p.threads) n += t.cpu.instret;
    return n;
  }

  /** Whether a guest thread other than `t` could run now (not blocked, not exited, its process not stopped). */
  othersRunnable(t: Thread): boolean {
    for (const p of this.processes.values()) {
      if (p.stopped || p.outcome !== undefined) continue;
      for (const o of p.threads) if (o !== t && !o.exited && o.wait === undefined) return true;
    }
    return false;
  }

  /** Run every process until none is left; the first one's outcome. */
  run(): Outcome {
    while (this.processes.size > 0) {
      if (this.hostSignals !== undefined) this.passHostSignals();
      let ran = false;
      for (const p of this.processes.values()) {
        useCwd(p.cwd);
        if (p.runSlice()) ran = true;
        if (p.outcome !== undefined) this.end(p);
      }
      if (!ran && this.processes.size > 0) this.idle();
      else this.pollParked();
    }
    return this.firstOutcome ?? { kind: "exit", status: 0 };
  }

  /** Nothing can run: sleep until the earliest deadline of any process, then time out what is due. */
  private idle(): void {
    let deadline = Infinity;
    for (const p of this.processes.values()) deadline = Math.min(deadline, p.nextDeadline());
    // Host signals are looked for between sleeps.
    const cap = this.hostSignals !== undefined ? HOST_SIGNAL_POLL_MS : 1000;
    const ms = Math.min(cap, deadline === Infinity ? cap : Math.max(0, deadline - nowMs()));
    if (ms > 0) this.sleepOrPoll(ms);
    const now = nowMs();
    for (const p of this.processes.values()) {
      p.timeouts(now);
      if (p.outcome !== undefined) this.end(p);
    }
  }

  /**
   * While guest code runs: at most every BUSY_POLL_MS, a poll(2) that does
   * not wait over the host descriptors parked threads wait on, so that a
   * thread whose descriptor is ready (a terminal with input, a socket a host
   * process wrote to) runs in the next round rather than at its next retry.
   */
  private pollParked(): void {
    const now = nowMs();
    if (now < this.nextBusyPoll) return;
    this.nextBusyPoll = now + BUSY_POLL_MS;
    this.wakeReady(0);
  }

  /** Sleep ms, or less: until a host descriptor a parked thread waits on is ready. */
  private sleepOrPoll(ms: number): void {
    if (!this.wakeReady(ms)) sleepMs(ms);
  }

  /**
   * Wait up to ms (0: not at all) for the host descriptors parked threads
   * wait on (parkOnHost), and end the waits of those whose descriptor is
   * ready.  False when there was none to wait on (nothing waited).
   */
  private wakeReady(ms: number): boolean {
    const fds: number[] = [], events: number[] = [], waiters: Thread[] = [];
    for (const p of this.processes.values()) {
      for (const t of p.threads) {
        const h = t.hostWait;
        if (h === undefined || t.wait?.kind !== "retry") continue;
        for (let i = 0; i < h.fds.length; i++) {
          fds.push(h.fds[i]);
          events.push(h.events[i]);
          waiters.push(t);
        }
      }
    }
    if (fds.length === 0 || hostSockets() === null) return false;
    for (const i of hostWaitAny(fds, events, ms)) {
      const w = waiters[i].wait;
      if (w?.kind === "retry") w.deadline = 0;
    }
    return true;
  }

  /**
   * Pass the signals tsemu received on the host to the guest, as
   * qemu-riscv64 passes its own to its guest: one a process sent (kill) to
   * the first process, one the kernel sent (a terminal's Ctrl-C, Ctrl-Z,
   * resize) to the terminal's foreground process group.
   */
  private passHostSignals(): void {
    for (const s of (this.hostSignals as HostSignals).take()) this.passHostSignal(s);
  }

  private passHostSignal(s: HostSignal): void {
    const first = this.first !== undefined && this.processes.has(this.first.pid) ? [this.first] : [];
    let targets = first;
    if (s.fromKernel) {
      const group = this.group(this.ttyForeground ?? this.hostGroup);
      if (group.length > 0) targets = group;
    }
    for (const p of targets) {
      p.sendSignal({ signo: s.signo, code: s.fromKernel ? SI_KERNEL : SI_USER, pid: 0, uid: 0, addr: 0, status: 0 });
    }
  }

  /** A process has ended: release what it held and tell its parent. */
  private end(p: Process): void {
    if (!this.processes.delete(p.pid)) return;
    const outcome = p.outcome as Outcome;
    if (p === this.first) this.firstOutcome = outcome;
    this.retired += p.release();
    // Descriptors it closed may be a pipe's last end: whoever waits on one looks again now.
    this.wakeRetries();
    for (const c of this.processes.values()) if (c.ppid === p.pid) c.ppid = 1; // orphans go to init
    const parent = this.processes.get(p.ppid);
    if (parent === undefined) return;
    parent.childEnded(p, outcome);
  }

  /** The live processes of process group pgid. */
  group(pgid: number): Process[] {
    return [...this.processes.values()].filter((p) => p.pgid === pgid);
  }

  /**
   * Make the threads parked by retryLater under `key` (a pipe's inode) try
   * again now: data moved through the pipe, or an end of it closed.  Without
   * a key, every parked thread.
   */
  wakeRetries(key?: number): void {
    for (const p of this.processes.values()) {
      for (const t of p.threads) {
        const w = t.wait;
        if (w?.kind === "retry" && (key === undefined || w.addr === key)) w.deadline = 0;
      }
    }
  }

  /** Wake up to count threads of any process waiting on the futex key with a matching bitset. */
  futexWake(key: FutexKey, count: number, bitset = 0xffffffff): number {
    let n = 0;
    for (const p of this.processes.values()) {
      for (const t of p.threads) {
        if (n >= count) return n;
        const w = t.wait;
        if (w !== undefined && w.kind === "futex" && w.addr === key.addr && w.space === key.space &&
          (w.bitset & bitset) !== 0) {
          p.wake(t, 0);
          n++;
        }
      }
    }
    return n;
  }

  /** Move up to limit futex waiters from one key to another (FUTEX_CMP_REQUEUE). */
  futexRequeue(from: FutexKey, to: FutexKey, limit: number): number {
    let moved = 0;
    for (const p of this.processes.values()) {
      for (const t of p.threads) {
        if (moved >= limit) return moved;
        const w = t.wait;
        if (w?.kind === "futex" && w.addr === from.addr && w.space === from.space) {
          w.addr = to.addr;
          w.space = to.space;
          moved++;
        }
      }
    }
    return moved;
  }
}
