/**
 * Signal system calls: dispositions, masks, sending (to a process, a thread,
 * a process group or every process), synchronous waits, alternate stacks,
 * sigreturn, interval timers.
 */
import { define, NO_RESULT } from "../syscall.js";
import { Errno } from "../errno.js";
import { Prot } from "../address-space.js";
import {
  deliverablePending, encodeSiginfo, ignores, interruptCall, NSIG, type PendingSignal,
  restoreFrame, SI_TKILL, SI_USER, SIGINFO_SIZE, SIGKILL, SIGSEGV, SIGSTOP, sigbit, SS_AUTODISARM, SS_DISABLE,
  SS_ONSTACK, takeSignal, UNBLOCKABLE,
} from "../signal.js";
import type { Process } from "../process.js";
import type { Wait } from "../thread.js";
import { nowMs } from "../../../host/time.js";

const SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2;
const SIGSET_SIZE = 8;
const MINSIGSTKSZ = 2048;

define(134, "rt_sigaction", (p, _t, a) => {
  const sig = a.i32(0);
  const act = a.n(1);
  const oact = a.n(2);
  if (a.n(3) !== SIGSET_SIZE || sig < 1 || sig > NSIG) return -Errno.EINVAL;
  if (act !== 0 && (sig === SIGKILL || sig === SIGSTOP)) return -Errno.EINVAL;
  if (act !== 0 && !p.as.check(act, 24, Prot.READ)) return -Errno.EFAULT;
  if (oact !== 0 && !p.as.check(oact, 24, Prot.WRITE)) return -Errno.EFAULT;
  const old = p.actions[sig];
  if (oact !== 0) {
    p.as.writeU64(oact, BigInt(old.handler));
    p.as.writeU64(oact + 8, BigInt(old.flags >>> 0));
    p.as.writeU64(oact + 16, old.mask);
  }
  if (act !== 0) {
    const next = {
      handler: Number(p.as.readU64(act)),
      flags: Number(p.as.readU64(act + 8) & 0xffffffffn),
      mask: p.as.readU64(act + 16) & ~UNBLOCKABLE,
    };
    p.actions[sig] = next;
    // POSIX: setting a pending signal to be ignored discards it, blocked or not.
    if (ignores(next, sig)) {
      for (const list of [p.pending, ...p.threads.map((x) => x.pending)]) {
        for (let i = list.length - 1; i >= 0; i--) if (list[i].signo === sig) list.splice(i, 1);
      }
    }
  }
  return 0;
});

define(135, "rt_sigprocmask", (p, t, a) => {
  const how = a.i32(0);
  const set = a.n(1);
  const oset = a.n(2);
  if (a.n(3) !== SIGSET_SIZE) return -Errno.EINVAL;
  if (set !== 0 && !p.as.check(set, 8, Prot.READ)) return -Errno.EFAULT;
  if (oset !== 0 && !p.as.check(oset, 8, Prot.WRITE)) return -Errno.EFAULT;
  const old = t.sigmask;
  if (set !== 0) {
    const v = p.as.readU64(set) & ~UNBLOCKABLE;
    if (how === SIG_BLOCK) t.sigmask |= v;
    else if (how === SIG_UNBLOCK) t.sigmask &= ~v;
    else if (how === SIG_SETMASK) t.sigmask = v;
    else return -Errno.EINVAL;
  }
  if (oset !== 0) p.as.writeU64(oset, old);
  return 0;
});

define(139, "rt_sigreturn", (p, t) => {
  if (!restoreFrame(p.as, t)) p.die(SIGSEGV);
  return NO_RESULT;
});

define(136, "rt_sigpending", (p, t, a) => {
  const addr = a.n(0);
  if (!p.as.check(addr, 8, Prot.WRITE)) return -Errno.EFAULT;
  let set = 0n;
  for (const s of [...t.pending, ...p.pending]) set |= sigbit(s.signo);
  p.as.writeU64(addr, set & t.sigmask);
  return 0;
});

define(133, "rt_sigsuspend", (p, t, a) => {
  if (a.n(1) !== SIGSET_SIZE) return -Errno.EINVAL;
  if (!p.as.check(a.n(0), 8, Prot.READ)) return -Errno.EFAULT;
  t.savedMask = t.sigmask;
  t.sigmask = p.as.readU64(a.n(0)) & ~UNBLOCKABLE;
  const wait: Wait = { kind: "sigsuspend", addr: 0, bitset: 0, deadline: Infinity };
  // A signal the new mask lets through is already pending: no need to sleep.
  if (deliverablePending(t, p.pending)) {
    interruptCall(t, wait);
    return -Errno.EINTR;
  }
  t.wait = wait;
  return NO_RESULT;
});

/**
 * Send sig from process `from` to process p (tid undefined) or one of its
 * threads.  `raw` is a siginfo the sender supplied (rt_sigqueueinfo);
 * otherwise the kernel's own for kill/tkill: si_code `code`, the sender's pid
 * and uid.
 */
function sendTo(from: Process, p: Process, sig: number, tid: number | undefined, code: number, raw?: Uint8Array): number {
  if (sig < 0 || sig > NSIG) return -Errno.EINVAL;
  const target = tid === undefined ? undefined : p.threads.find((x) => x.tid === tid && !x.exited);
  if (tid !== undefined && target === undefined) return -Errno.ESRCH;
  if (sig === 0) return 0;
  const info: PendingSignal = { signo: sig, code, pid: from.pid, uid: from.uid, addr: 0, status: 0 };
  if (raw !== undefined) {
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    info.code = dv.getInt32(8, true);
    info.pid = dv.getInt32(16, true);
    info.uid = dv.getInt32(20, true);
    info.raw = raw;
  }
  p.sendSignal(info, target);
  return 0;
}

/** Whether pid is a child of p that has ended and not been reaped (a zombie takes signals and ignores them). */
function isZombie(p: Process, pid: number): boolean {
  for (const q of [p, ...p.kernel.processes.values()]) {
    const c = q.children.get(pid);
    if (c !== undefined) return c.status !== undefined && !c.reaped;
  }
  return false;
}

/** Send sig to each of the processes; ESRCH when there are none. */
function sendToAll(from: Process, targets: Process[], sig: number): number {
  if (sig < 0 || sig > NSIG) return -Errno.EINVAL;
  if (targets.length === 0) return -Errno.ESRCH;
  for (const q of targets) sendTo(from, q, sig, undefined, SI_USER);
  return 0;
}

/**
 * kill: a guest process by pid, a process group (0: the caller's, -pgid), or
 * every guest process but the caller (-1).  Processes on the host outside
 * this run are not the guest's to signal.
 */
define(129, "kill", (p, _t, a) => {
  const pid = a.i32(0);
  const sig = a.i32(1);
  const k = p.kernel;
  if (pid > 0) {
    const q = k.processes.get(pid);
    if (q !== undefined) return sendTo(p, q, sig, undefined, SI_USER);
    if (sig < 0 || sig > NSIG) return -Errno.EINVAL;
    return isZombie(p, pid) ? 0 : -Errno.ESRCH;
  }
  if (pid === -1) return sendToAll(p, [...k.processes.values()].filter((q) => q !== p), sig);
  if (pid === -2147483648) return -Errno.ESRCH;
  return sendToAll(p, k.group(pid === 0 ? p.pgid : -pid), sig);
});
define(130, "tkill", (p, _t, a) => {
  const tid = a.i32(0);
  const q = [...p.kernel.processes.values()].find((x) => x.threads.some((t) => t.tid === tid && !t.exited));
  return q === undefined ? -Errno.ESRCH : sendTo(p, q, a.i32(1), tid, SI_TKILL);
});
define(131, "tgkill", (p, _t, a) => {
  const q = p.kernel.processes.get(a.i32(0));
  if (q === undefined) return -Errno.ESRCH;
  return sendTo(p, q, a.i32(2), a.i32(1), SI_TKILL);
});

/**
 * rt_sigqueueinfo and rt_tgsigqueueinfo: send with the caller's siginfo
 * (sigqueue: SI_QUEUE and si_value).  As in Linux, only the process itself may
 * claim the codes the kernel uses for kill and tkill.
 */
function queueInfo(p: Process, tgid: number, tid: number | undefined, sig: number, uinfo: number): number {
  if (!p.as.check(uinfo, SIGINFO_SIZE, Prot.READ)) return -Errno.EFAULT;
  const raw = p.as.read(uinfo, SIGINFO_SIZE).slice();
  const code = new DataView(raw.buffer).getInt32(8, true);
  if ((code >= 0 || code === SI_TKILL) && tgid !== p.pid) return -Errno.EPERM;
  const q = p.kernel.processes.get(tgid);
  return q === undefined ? -Errno.ESRCH : sendTo(p, q, sig, tid, code, raw);
}

define(138, "rt_sigqueueinfo", (p, _t, a) => queueInfo(p, a.i32(0), undefined, a.i32(1), a.n(2)));
define(240, "rt_tgsigqueueinfo", (p, _t, a) => {
  if (a.i32(0) <= 0 || a.i32(1) <= 0) return -Errno.EINVAL;
  return queueInfo(p, a.i32(0), a.i32(1), a.i32(2), a.n(3));
});

/**
 * rt_sigtimedwait (sigwaitinfo, sigtimedwait, sigwait): take a pending signal
 * of the set at once, or block the thread in the scheduler until one is sent
 * (Process.sendSignal hands it over) or the timeout passes (EAGAIN).  A signal
 * outside the set that runs a handler ends the wait with EINTR.
 */
define(137, "rt_sigtimedwait", (p, t, a) => {
  const setAddr = a.n(0);
  const infoAddr = a.n(1);
  const ts = a.n(2);
  if (a.n(3) !== SIGSET_SIZE) return -Errno.EINVAL;
  if (!p.as.check(setAddr, 8, Prot.READ)) return -Errno.EFAULT;
  const set = p.as.readU64(setAddr) & ~UNBLOCKABLE;
  let ms = Infinity;
  if (ts !== 0) {
    if (!p.as.check(ts, 16, Prot.READ)) return -Errno.EFAULT;
    const sec = p.as.readU64(ts);
    const nsec = p.as.readU64(ts + 8);
    if (BigInt.asIntN(64, sec) < 0n || nsec >= 1000000000n) return -Errno.EINVAL;
    ms = Number(sec) * 1000 + Number(nsec) / 1e6;
  }
  if (infoAddr !== 0 && !p.as.check(infoAddr, SIGINFO_SIZE, Prot.WRITE)) return -Errno.EFAULT;
  const info = takeSignal([t.pending, p.pending], set);
  if (info !== undefined) {
    if (infoAddr !== 0) p.as.write(infoAddr, encodeSiginfo(info));
    return info.signo;
  }
  if (ms === 0) return -Errno.EAGAIN;
  t.wait = { kind: "sigwait", addr: infoAddr, bitset: 0, deadline: nowMs() + ms, sigset: set };
  t.onTimeout = -Errno.EAGAIN;
  return NO_RESULT;
});

define(132, "sigaltstack", (p, t, a) => {
  const ss = a.n(0);
  const oss = a.n(1);
  const sp = t.cpu.getXNumber(2);
  const alt = t.altStack;
  const onStack = alt.size > 0 && sp > alt.sp && sp <= alt.sp + alt.size;
  if (ss !== 0 && !p.as.check(ss, 24, Prot.READ)) return -Errno.EFAULT;
  if (oss !== 0 && !p.as.check(oss, 24, Prot.WRITE)) return -Errno.EFAULT;
  let next = alt;
  if (ss !== 0) {
    if (onStack) return -Errno.EPERM;
    const flags = p.as.readU32(ss + 8) | 0;
    const size = Number(p.as.readU64(ss + 16));
    // SS_ONSTACK is accepted as 0, as Linux does for old programs.
    const mode = flags & ~SS_AUTODISARM;
    if (mode !== 0 && mode !== SS_ONSTACK && mode !== SS_DISABLE) return -Errno.EINVAL;
    if (mode === SS_DISABLE) next = { sp: 0, size: 0, flags: SS_DISABLE };
    else if (size < MINSIGSTKSZ) return -Errno.ENOMEM;
    else next = { sp: Number(p.as.readU64(ss)), size, flags: flags & SS_AUTODISARM };
  }
  if (oss !== 0) {
    p.as.writeU64(oss, BigInt(alt.sp));
    const state = (alt.flags & SS_DISABLE) !== 0 ? SS_DISABLE : onStack ? SS_ONSTACK : 0;
    p.as.writeU32(oss + 8, (state | (alt.flags & SS_AUTODISARM)) >>> 0);
    p.as.writeU32(oss + 12, 0);
    p.as.writeU64(oss + 16, BigInt(alt.size));
  }
  t.altStack = next;
  return 0;
});

const ITIMER_REAL = 0;

function readTimeval(p: Process, addr: number): number {
  return Number(p.as.readU64(addr)) * 1000 + Number(p.as.readU64(addr + 8)) / 1000;
}

function writeTimeval(p: Process, addr: number, ms: number): void {
  const us = Math.max(0, Math.round(ms * 1000));
  p.as.writeU64(addr, BigInt(Math.floor(us / 1e6)));
  p.as.writeU64(addr + 8, BigInt(us % 1e6));
}

function itimerGet(p: Process, addr: number): void {
  writeTimeval(p, addr, p.alarmPeriod);
  writeTimeval(p, addr + 16, p.alarmAt === 0 ? 0 : Math.max(0.001, p.alarmAt - nowMs()));
}

define(102, "getitimer", (p, _t, a) => {
  if (a.i32(0) !== ITIMER_REAL) return -Errno.EINVAL;
  if (!p.as.check(a.n(1), 32, Prot.WRITE)) return -Errno.EFAULT;
  itimerGet(p, a.n(1));
  return 0;
});

define(103, "setitimer", (p, _t, a) => {
  if (a.i32(0) !== ITIMER_REAL) return -Errno.EINVAL;
  const nv = a.n(1);
  const ov = a.n(2);
  if (nv !== 0 && !p.as.check(nv, 32, Prot.READ)) return -Errno.EFAULT;
  if (ov !== 0 && !p.as.check(ov, 32, Prot.WRITE)) return -Errno.EFAULT;
  if (ov !== 0) itimerGet(p, ov);
  if (nv !== 0) {
    const interval = readTimeval(p, nv);
    const value = readTimeval(p, nv + 16);
    p.alarmPeriod = interval;
    p.alarmAt = value > 0 ? nowMs() + value : 0;
  }
  return 0;
});
