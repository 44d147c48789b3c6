/**
 * Signal delivery for riscv64 Linux: dispositions, the rt_sigframe the
 * kernel builds on the guest stack (siginfo then ucontext, laid out as in
 * the kernel's uapi headers, since programs such as Go read and write the
 * saved registers in it), and rt_sigreturn.
 */
import type { AddressSpace } from "./address-space.js";
import type { Thread } from "./thread.js";
import { Prot } from "./address-space.js";

export const SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7,
  SIGFPE = 8, SIGKILL = 9, SIGUSR1 = 10, SIGSEGV = 11, SIGUSR2 = 12, SIGPIPE = 13, SIGALRM = 14,
  SIGTERM = 15, SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19, SIGTSTP = 20, SIGTTIN = 21, SIGTTOU = 22,
  SIGURG = 23, SIGWINCH = 28;
export const NSIG = 64;

export const SIG_DFL = 0, SIG_IGN = 1;
export const SA_SIGINFO = 4, SA_ONSTACK = 0x08000000, SA_RESTART = 0x10000000, SA_NODEFER = 0x40000000,
  SA_RESETHAND = 0x80000000;
export const SS_ONSTACK = 1, SS_DISABLE = 2;

/** si_code values. */
export const SI_USER = 0, SI_TKILL = -6, SEGV_MAPERR = 1, SEGV_ACCERR = 2, BUS_ADRALN = 1, ILL_ILLOPC = 1,
  TRAP_BRKPT = 1, CLD_EXITED = 1, CLD_KILLED = 2, CLD_DUMPED = 3;

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

/** A signal waiting for delivery, with the siginfo fields that matter. */
export interface PendingSignal {
  signo: number;
  code: number;
  /** si_pid/si_uid for sent signals, si_addr for faults, si_status for SIGCHLD. */
  pid: number;
  uid: number;
  addr: number;
  status: number;
}

export const sigbit = (sig: number): bigint => 1n << BigInt(sig - 1);
/** Signals that can be neither caught nor blocked. */
export const UNBLOCKABLE = sigbit(SIGKILL) | sigbit(SIGSTOP);

// Layout of struct rt_sigframe on riscv64.
const SIGINFO_SIZE = 128;
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
  dv.setInt32(0, info.signo, true);
  dv.setInt32(8, info.code, true);
  if (info.signo === SIGSEGV || info.signo === SIGBUS || info.signo === SIGILL || info.signo === SIGTRAP ||
    info.signo === SIGFPE) {
    dv.setBigUint64(16, BigInt(info.addr), true);
  } else {
    dv.setInt32(16, info.pid, true);
    dv.setInt32(20, info.uid, true);
    if (info.signo === SIGCHLD) dv.setInt32(24, info.status, true);
  }
  dv.setBigUint64(UC_FLAGS, 0n, true);
  dv.setBigUint64(UC_LINK, 0n, true);
  dv.setBigUint64(UC_STACK, BigInt(alt.sp), true);
  dv.setInt32(UC_STACK + 8, (alt.flags & SS_DISABLE) !== 0 ? SS_DISABLE : onAlt ? SS_ONSTACK : 0, true);
  dv.setBigUint64(UC_STACK + 16, BigInt(alt.size), true);
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
  // The saved alternate stack comes back too (sigaltstack semantics of rt_sigreturn).
  const ssFlags = dv.getInt32(UC_STACK + 8, true);
  if ((ssFlags & SS_DISABLE) === 0) {
    t.altStack = {
      sp: Number(dv.getBigUint64(UC_STACK, true)), size: Number(dv.getBigUint64(UC_STACK + 16, true)), flags: 0,
    };
  }
  return true;
}
