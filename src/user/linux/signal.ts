/**
 * Signal delivery for riscv64 Linux: dispositions, the rt_sigframe the
 * kernel builds on the guest stack (siginfo then ucontext, laid out as in
 * the kernel's uapi headers, since programs such as Go read and write the
 * saved registers in it), and rt_sigreturn.
 */
import { ticks, type CpuTimes } from "./cpu-time.js";
import type { AddressSpace } from "./address-space.js";
import type { Thread, Wait } from "./thread.js";
import { Prot } from "./address-space.js";
import { Errno } from "./errno.js";
import { nowMs } from "../../host/time.js";

export const SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7,
  SIGFPE = 8, SIGKILL = 9, SIGUSR1 = 10, SIGSEGV = 11, SIGUSR2 = 12, SIGPIPE = 13, SIGALRM = 14,
  SIGTERM = 15, SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19, SIGTSTP = 20, SIGTTIN = 21, SIGTTOU = 22,
  SIGURG = 23, SIGWINCH = 28;
export const NSIG = 64;
/** The first real-time signal (the kernel's; glibc keeps the first two for itself). */
export const SIGRTMIN = 32;

export const SIG_DFL = 0, SIG_IGN = 1;
export const SA_NOCLDSTOP = 1, SA_NOCLDWAIT = 2, SA_SIGINFO = 4, SA_ONSTACK = 0x08000000, SA_RESTART = 0x10000000,
  SA_NODEFER = 0x40000000, SA_RESETHAND = 0x80000000;
export const SS_ONSTACK = 1, SS_DISABLE = 2, SS_AUTODISARM = 0x80000000;

/** si_code values. */
export const SI_USER = 0, SI_KERNEL = 0x80, SI_TKILL = -6, SEGV_MAPERR = 1,
  SEGV_ACCERR = 2, BUS_ADRALN = 1, ILL_ILLOPC = 1, TRAP_BRKPT = 1, CLD_EXITED = 1, CLD_KILLED = 2, CLD_DUMPED = 3,
  CLD_STOPPED = 5, CLD_CONTINUED = 6;

export interface SigAction {
  handler: number;
  flags: number;
  mask: bigint;
}

/** What a signal does when its disposition is SIG_DFL. */
export const enum Default { TERM, CORE, IGNORE, STOP, CONT }

export function defaultAction(sig: number): Default {
  switch (sig) {
    case SIGCHLD: case SIGURG: case SIGWINCH: return Default.IGNORE;
    case SIGCONT: return Default.CONT;
    case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU: return Default.STOP;
    case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE: case SIGSEGV:
    case 24: case 25: case 31:
      return Default.CORE;
    default: return Default.TERM;
  }
}

/** Whether a signal with this disposition would be thrown away on arrival. */
export function ignores(act: SigAction, sig: number): boolean {
  if (sig === SIGKILL || sig === SIGSTOP) return false;
  return act.handler === SIG_IGN || (act.handler === SIG_DFL && defaultAction(sig) === Default.IGNORE);
}

/** Whether the default action of sig ends the process. */
export function killsByDefault(sig: number): boolean {
  const d = defaultAction(sig);
  return d === Default.TERM || d === Default.CORE;
}

/** A signal waiting for delivery, with the siginfo fields that matter. */
export interface PendingSignal {
  signo: number;
  code: number;
  /** si_pid/si_uid for sent signals, si_addr for faults, si_status for SIGCHLD. */
  pid: number;
  uid: number;
  addr: number;
  status: number;
  /** For SIGCHLD of a child that ended, stopped or continued: the CPU time it used itself (si_utime, si_stime). */
  times?: CpuTimes;
  /**
   * The whole siginfo as the sender gave it (rt_sigqueueinfo, rt_tgsigqueueinfo):
   * the kernel passes it on unchanged but for si_signo, si_value included.
   */
  raw?: Uint8Array;
}

export const sigbit = (sig: number): bigint => 1n << BigInt(sig - 1);
/** Signals that can be neither caught nor blocked. */
export const UNBLOCKABLE = sigbit(SIGKILL) | sigbit(SIGSTOP);
/**
 * Signals the CPU raises for the instruction being run.  Linux takes these
 * before any other pending signal, so that a handler sees the fault of the
 * instruction it interrupted.
 */
const SYNCHRONOUS = sigbit(SIGSEGV) | sigbit(SIGBUS) | sigbit(SIGILL) | sigbit(SIGTRAP) | sigbit(SIGFPE) |
  sigbit(31 /* SIGSYS */);

/**
 * Take the signal Linux would dequeue next from `lists` (the thread's own
 * queue, then the process's), considering only signals in `allowed`: the
 * synchronous ones first, then the lowest number; instances of one
 * real-time signal leave in the order they were sent.
 */
export function takeSignal(lists: PendingSignal[][], allowed: bigint): PendingSignal | undefined {
  for (const list of lists) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i < list.length; i++) {
      const bit = sigbit(list[i].signo);
      if ((bit & allowed) === 0n) continue;
      const rank = list[i].signo + ((bit & SYNCHRONOUS) !== 0n ? 0 : 100);
      if (rank < bestRank) {
        best = i;
        bestRank = rank;
      }
    }
    if (best >= 0) return list.splice(best, 1)[0];
  }
  return undefined;
}

/**
 * Whether t has a pending signal (its own, or the process's `shared` ones)
 * that its mask lets through: a call about to sleep until a signal comes
 * (sigsuspend, ppoll and pselect6 with a mask) must not sleep then.
 */
export function deliverablePending(t: Thread, shared: PendingSignal[]): boolean {
  const open = (s: PendingSignal): boolean => (sigbit(s.signo) & t.sigmask) === 0n;
  return t.pending.some(open) || shared.some(open);
}

/** How a blocking call ends when a signal interrupts it (the kernel's -ERESTART* codes). */
export type RestartMode =
  /** -ERESTARTSYS: restarted after a handler with SA_RESTART, or when no handler runs; else EINTR. */
  | "sys"
  /** -ERESTARTNOHAND: EINTR when a handler runs, restarted when none does. */
  | "nohand"
  /** -EINTR: never restarted. */
  | "never";

/** A blocking call that a signal has cut short, as remembered until the signal is delivered. */
export interface Interrupted {
  mode: RestartMode;
  /** a0 on entry (the call's first argument), put back if the call is restarted. */
  a0lo: number;
  a0hi: number;
}

export const SIGINFO_SIZE = 128;

/** The siginfo_t the guest sees for a signal (128 bytes, riscv64/asm-generic layout). */
export function encodeSiginfo(info: PendingSignal): Uint8Array {
  const buf = new Uint8Array(SIGINFO_SIZE);
  const dv = new DataView(buf.buffer);
  if (info.raw !== undefined) {
    buf.set(info.raw.subarray(0, SIGINFO_SIZE));
    dv.setInt32(0, info.signo, true);
    return buf;
  }
  dv.setInt32(0, info.signo, true);
  dv.setInt32(8, info.code, true);
  if (info.signo === SIGSEGV || info.signo === SIGBUS || info.signo === SIGILL || info.signo === SIGTRAP ||
    info.signo === SIGFPE) {
    dv.setBigUint64(16, BigInt(info.addr), true);
  } else {
    dv.setInt32(16, info.pid, true);
    dv.setInt32(20, info.uid, true);
    if (info.signo === SIGCHLD) {
      dv.setInt32(24, info.status, true);
      if (info.times !== undefined) {
        dv.setBigInt64(32, BigInt(ticks(info.times.user)), true);
        dv.setBigInt64(40, BigInt(ticks(info.times.system)), true);
      }
    }
  }
  return buf;
}

// Layout of struct rt_sigframe on riscv64.
const UC = SIGINFO_SIZE;             // struct ucontext
const UC_FLAGS = UC + 0;
const UC_LINK = UC + 8;
const UC_STACK = UC + 16;            // stack_t: ss_sp, ss_flags (int), ss_size
const UC_SIGMASK = UC + 40;
const UC_MCONTEXT = UC + 176;        // 16-aligned after the 1024-bit sigmask area
const SC_REGS = UC_MCONTEXT;         // pc, then x1..x31
const SC_FPREGS = UC_MCONTEXT + 256; // f0..f31, then fcsr
const FRAME_SIZE = UC_MCONTEXT + 256 + 528;

/**
 * Build the signal frame for `sig` on the thread's stack and redirect it to
 * the handler.  `trampoline` is the address of the rt_sigreturn code the
 * handler returns to.  Returns false when the frame cannot be written (the
 * caller then kills the process with SIGSEGV, as Linux does).
 */
export function setupFrame(as: AddressSpace, t: Thread, info: PendingSignal, act: SigAction,
  trampoline: number): boolean {
  const cpu = t.cpu;
  let sp = cpu.getXNumber(2);
  const alt = t.altStack;
  const onAlt = alt.size > 0 && sp > alt.sp && sp <= alt.sp + alt.size;
  if ((act.flags & SA_ONSTACK) !== 0 && (alt.flags & SS_DISABLE) === 0 && !onAlt) sp = alt.sp + alt.size;
  const frame = Math.floor((sp - FRAME_SIZE) / 16) * 16;
  if (!as.check(frame, FRAME_SIZE, Prot.WRITE)) return false;

  const buf = new Uint8Array(FRAME_SIZE);
  const dv = new DataView(buf.buffer);
  buf.set(encodeSiginfo(info), 0);
  dv.setBigUint64(UC_FLAGS, 0n, true);
  dv.setBigUint64(UC_LINK, 0n, true);
  dv.setBigUint64(UC_STACK, BigInt(alt.sp), true);
  dv.setInt32(UC_STACK + 8,
    ((alt.flags & SS_DISABLE) !== 0 ? SS_DISABLE : onAlt ? SS_ONSTACK : 0) | (alt.flags & SS_AUTODISARM), true);
  dv.setBigUint64(UC_STACK + 16, BigInt(alt.size), true);
  // SS_AUTODISARM: the alternate stack is off while a handler may be using it;
  // rt_sigreturn brings it back from uc_stack.
  if ((alt.flags & SS_AUTODISARM) !== 0) t.altStack = { sp: 0, size: 0, flags: SS_DISABLE };
  dv.setBigUint64(UC_SIGMASK, t.savedMask ?? t.sigmask, true);
  t.savedMask = undefined;
  dv.setBigInt64(SC_REGS, BigInt(cpu.pc), true);
  for (let r = 1; r < 32; r++) {
    dv.setInt32(SC_REGS + r * 8, cpu.xl[r], true);
    dv.setInt32(SC_REGS + r * 8 + 4, cpu.xh[r], true);
  }
  for (let r = 0; r < 32; r++) {
    dv.setInt32(SC_FPREGS + r * 8, cpu.fl[r], true);
    dv.setInt32(SC_FPREGS + r * 8 + 4, cpu.fh[r], true);
  }
  dv.setUint32(SC_FPREGS + 256, (cpu.frm << 5) | cpu.fflags, true);
  as.write(frame, buf);

  t.sigmask |= act.mask & ~UNBLOCKABLE;
  if ((act.flags & SA_NODEFER) === 0) t.sigmask |= sigbit(info.signo) & ~UNBLOCKABLE;
  cpu.pc = act.handler;
  cpu.setXNumber(10, info.signo);
  cpu.setXNumber(11, frame);
  cpu.setXNumber(12, frame + UC);
  cpu.setXNumber(1, trampoline);
  cpu.setXNumber(2, frame);
  return true;
}

/** rt_sigreturn: restore what setupFrame saved (as the handler may have changed it). */
export function restoreFrame(as: AddressSpace, t: Thread): boolean {
  const cpu = t.cpu;
  const frame = cpu.getXNumber(2);
  if (!as.check(frame, FRAME_SIZE, Prot.READ)) return false;
  const buf = as.read(frame, FRAME_SIZE);
  const dv = new DataView(buf.buffer);
  t.sigmask = dv.getBigUint64(UC_SIGMASK, true) & ~UNBLOCKABLE;
  cpu.pc = Number(dv.getBigInt64(SC_REGS, true));
  for (let r = 1; r < 32; r++) {
    cpu.xl[r] = dv.getInt32(SC_REGS + r * 8, true);
    cpu.xh[r] = dv.getInt32(SC_REGS + r * 8 + 4, true);
  }
  for (let r = 0; r < 32; r++) {
    cpu.fl[r] = dv.getInt32(SC_FPREGS + r * 8, true);
    cpu.fh[r] = dv.getInt32(SC_FPREGS + r * 8 + 4, true);
  }
  const fcsr = dv.getUint32(SC_FPREGS + 256, true);
  cpu.fflags = fcsr & 0x1f;
  cpu.frm = (fcsr >>> 5) & 7;
  // The saved alternate stack comes back too, as a sigaltstack call would set
  // it: not while still running on the current one (Linux drops that EPERM).
  const ssFlags = dv.getInt32(UC_STACK + 8, true);
  const sp = cpu.getXNumber(2);
  const cur = t.altStack;
  const onCurrent = cur.size > 0 && sp > cur.sp && sp <= cur.sp + cur.size;
  if (!onCurrent) {
    t.altStack = (ssFlags & SS_DISABLE) !== 0 ? { sp: 0, size: 0, flags: SS_DISABLE } : {
      sp: Number(dv.getBigUint64(UC_STACK, true)), size: Number(dv.getBigUint64(UC_STACK + 16, true)),
      flags: ssFlags & SS_AUTODISARM,
    };
  }
  return true;
}

/** How a wait of this kind ends when a signal handler interrupts it (what the Linux call returns). */
export function restartModeOf(w: Wait): RestartMode {
  if (w.restart !== undefined) return w.restart;
  switch (w.kind) {
    // pause, ppoll, pselect6 and sigsuspend return -ERESTARTNOHAND.
    case "pause": case "sigsuspend": return "nohand";
    // A futex wait with a timeout goes through restart_syscall: EINTR after a handler.
    case "futex": return w.deadline === Infinity ? "sys" : "nohand";
    case "sigwait": return "never";
    default: return "sys";
  }
}

/**
 * Remember that a signal cut t's blocking call short; the call returns EINTR
 * unless the delivery of the signal decides to restart it (restartCall).
 * The call's a0 is still its first argument: a blocked call leaves it alone.
 */
export function interruptCall(t: Thread, w: Wait): void {
  if (w.kind === "retry") {
    t.cpu.pc += 4; // back after the ecall, where the EINTR is returned
    t.retry = undefined;
  }
  // The call is over: its progress and deadline are not the next call's (the same ecall of a libc wrapper).
  t.callWait = undefined;
  t.interrupted = { mode: restartModeOf(w), a0lo: t.cpu.xl[10], a0hi: t.cpu.xh[10] };
}

/**
 * Park t in a call that cannot complete yet and can only be tried again (a
 * read of an empty pipe: the host's only way to wait for one blocks every
 * guest thread, and signals with them).  The scheduler runs other threads
 * and, ms later, t makes the call again (sooner when something wakes the
 * retries under `key`: a pipe's inode).  A signal handler meanwhile ends it
 * with EINTR or restarts it, as `mode` says (read, write: "sys").  The call's
 * first argument must fit a double exactly (descriptors, addresses).
 */
export function retryLater(t: Thread, ms: number, mode: RestartMode = "sys", key = 0): void {
  t.retry = { mode, a0lo: t.cpu.xl[10], a0hi: t.cpu.xh[10] };
  t.cpu.pc -= 4;
  t.wait = { kind: "retry", addr: key, bitset: 0, deadline: nowMs() + ms, restart: mode };
  // When the wait times out, a0 gets this "result": the first argument, for the call made again.
  t.onTimeout = t.cpu.getXNumber(10);
  t.hostWait = undefined;
}

/**
 * retryLater for a call waiting on host descriptors: besides the timeout,
 * the scheduler wakes the thread as soon as one of `fds` is ready for its
 * `events` (poll(2) bits) when nothing else runs.
 */
export function parkOnHost(t: Thread, ms: number, fds: number[], events: number[], key = 0): void {
  retryLater(t, ms, "sys", key);
  t.hostWait = { fds, events };
}

/**
 * t is parked in a call that has already moved part of its data (a blocking
 * write to a pipe or a stream socket, a sendfile: callWait.sent; messages of
 * a sendmmsg or recvmmsg: callWait.moved), or whose read or fsync a host
 * thread makes (background-io.ts: callWait.moved).  A signal does not make such a
 * call fail: as in Linux (pipe_write, unix_stream_sendmsg, sendfile), it
 * returns the count moved so far, and the signal is taken after that.  Such
 * a call, before it would wait for the rest, asks deliverablePending and
 * returns the count when a signal is there; EINTR or a restart only when
 * nothing was moved.
 */
export function moving(t: Thread): boolean {
  const w = t.callWait;
  return w !== undefined && ((w.sent ?? 0) > 0 || (w.moved ?? 0) > 0) && w.pc === t.cpu.pc;
}

/**
 * Called as t is about to run: a call parked by retryLater whose wait has
 * timed out is still in progress until it is made again, so a signal that
 * is deliverable now interrupts it just as it would have interrupted the wait.
 * Returns true when the call must run once more before the signal is taken
 * (it has moved data: it then returns the count, see moving()).
 */
export function settleRetry(t: Thread, shared: PendingSignal[]): boolean {
  const r = t.retry;
  if (r === undefined) return false;
  t.retry = undefined;
  if (!deliverablePending(t, shared)) return false;
  if (moving(t)) return true;
  t.callWait = undefined;
  t.cpu.pc += 4;
  t.interrupted = r;
  t.cpu.setXNumber(10, -Errno.EINTR);
  return false;
}

/** Make t run its interrupted call again: back to the ecall, with its first argument. */
export function restartCall(t: Thread, i: Interrupted): void {
  t.cpu.pc -= 4;
  t.cpu.xl[10] = i.a0lo;
  t.cpu.xh[10] = i.a0hi;
}
