/** Signal system calls: dispositions, masks, sending, alternate stacks, sigreturn, interval timers. */
import { define, NO_RESULT } from "../syscall.js";
import { Errno } from "../errno.js";
import { Prot } from "../address-space.js";
import {
  NSIG, restoreFrame, SI_TKILL, SI_USER, SIGKILL, SIGSEGV, SIGSTOP, sigbit, SS_DISABLE, SS_ONSTACK, UNBLOCKABLE,
} from "../signal.js";
import type { Process } from "../process.js";

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
    p.actions[sig] = {
      handler: Number(p.as.readU64(act)),
      flags: Number(p.as.readU64(act + 8) & 0xffffffffn),
      mask: p.as.readU64(act + 16) & ~UNBLOCKABLE,
    };
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
  t.wait = { kind: "sigsuspend", addr: 0, bitset: 0, deadline: Infinity };
  return NO_RESULT;
});

function sendTo(p: Process, sig: number, tid: number | undefined, code: number): number {
  if (sig < 0 || sig > NSIG) return -Errno.EINVAL;
  const target = tid === undefined ? undefined : p.threads.find((x) => x.tid === tid && !x.exited);
  if (tid !== undefined && target === undefined) return -Errno.ESRCH;
  if (sig === 0) return 0;
  p.sendSignal({ signo: sig, code, pid: p.pid, uid: 0, addr: 0, status: 0 }, target);
  return 0;
}

define(129, "kill", (p, _t, a) => {
  const pid = a.i32(0);
  if (pid === p.pid || pid === 0 || pid === -1 || pid === -p.pid) return sendTo(p, a.i32(1), undefined, SI_USER);
  return -Errno.ESRCH;
});
define(130, "tkill", (p, _t, a) => sendTo(p, a.i32(1), a.i32(0), SI_TKILL));
define(131, "tgkill", (p, _t, a) => {
  if (a.i32(0) !== p.pid) return -Errno.ESRCH;
  return sendTo(p, a.i32(2), a.i32(1), SI_TKILL);
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
    const flags = p.as.readU32(ss + 8);
    const size = Number(p.as.readU64(ss + 16));
    if ((flags & ~SS_DISABLE) !== 0 && flags !== 0x80000000 /* SS_AUTODISARM */) return -Errno.EINVAL;
    if ((flags & SS_DISABLE) !== 0) next = { sp: 0, size: 0, flags: SS_DISABLE };
    else if (size < MINSIGSTKSZ) return -Errno.ENOMEM;
    else next = { sp: Number(p.as.readU64(ss)), size, flags: 0 };
  }
  if (oss !== 0) {
    p.as.writeU64(oss, BigInt(alt.sp));
    p.as.writeU32(oss + 8, (alt.flags & SS_DISABLE) !== 0 ? SS_DISABLE : onStack ? SS_ONSTACK : 0);
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
  writeTimeval(p, addr + 16, p.alarmAt === 0 ? 0 : Math.max(0.001, p.alarmAt - performance.now()));
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
    p.alarmAt = value > 0 ? performance.now() + value : 0;
  }
  return 0;
});
