/** Threads: clone with CLONE_VM (new threads share everything), futex, exit of a thread. */
import { define, NO_RESULT } from "../syscall.js";
import { Errno } from "../errno.js";
import { Prot } from "../address-space.js";
import type { Thread } from "../thread.js";
import type { Process } from "../process.js";
import { monotonicToDeadline } from "../../../host/time.js";

const CLONE_VM = 0x100, CLONE_FS = 0x200, CLONE_FILES = 0x400, CLONE_SIGHAND = 0x800, CLONE_THREAD = 0x10000,
  CLONE_SYSVSEM = 0x40000, CLONE_SETTLS = 0x80000, CLONE_PARENT_SETTID = 0x100000,
  CLONE_CHILD_CLEARTID = 0x200000, CLONE_DETACHED = 0x400000, CLONE_CHILD_SETTID = 0x01000000;
const CLONE_VFORK = 0x4000;
const THREAD_FLAGS = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
  CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_DETACHED | CLONE_CHILD_SETTID;

define(220, "clone", (p, t, a) => {
  const flags = a.u32(0);
  const stack = a.n(1);
  const ptid = a.n(2);
  const tls = a.n(3);
  const ctid = a.n(4);
  if ((flags & CLONE_VM) === 0 || (flags & CLONE_VFORK) !== 0) return forkChild(p, t, flags, ptid, ctid, tls, stack);
  if ((flags & ~(THREAD_FLAGS | 0xff)) !== 0 || (flags & CLONE_THREAD) === 0) return -Errno.EINVAL;
  const child = p.newThread(p.newTid());
  const c = child.cpu;
  c.xl.set(t.cpu.xl);
  c.xh.set(t.cpu.xh);
  c.fl.set(t.cpu.fl);
  c.fh.set(t.cpu.fh);
  c.fflags = t.cpu.fflags;
  c.frm = t.cpu.frm;
  c.pc = t.cpu.pc; // already past the ecall
  c.setXNumber(10, 0);
  if (stack !== 0) c.setXNumber(2, stack);
  if ((flags & CLONE_SETTLS) !== 0) c.setXNumber(4, tls);
  child.sigmask = t.sigmask;
  if ((flags & CLONE_PARENT_SETTID) !== 0 && p.as.check(ptid, 4, Prot.WRITE)) p.as.writeU32(ptid, child.tid);
  if ((flags & CLONE_CHILD_SETTID) !== 0 && p.as.check(ctid, 4, Prot.WRITE)) p.as.writeU32(ctid, child.tid);
  if ((flags & CLONE_CHILD_CLEARTID) !== 0) child.clearChildTid = ctid;
  p.threads.push(child);
  return child.tid;
});

/**
 * fork and vfork.  A vfork child runs as a forked one: it gets its own copy
 * of memory, which programs that only exec or _exit in the child can't tell
 * apart.
 */
function forkChild(p: Process, t: Thread, flags: number, ptid: number, ctid: number, tls: number,
  stack: number): number {
  if ((flags & CLONE_THREAD) !== 0) return -Errno.EINVAL;
  // The child's own view is set up before the snapshot: its a0 = 0 is set on restore.
  const cpu = t.cpu;
  const saved = { sp: cpu.getXNumber(2), tp: cpu.getXNumber(4) };
  if (stack !== 0) cpu.setXNumber(2, stack);
  if ((flags & CLONE_SETTLS) !== 0) cpu.setXNumber(4, tls);
  const clear = t.clearChildTid;
  if ((flags & CLONE_CHILD_CLEARTID) !== 0) t.clearChildTid = ctid;
  let pid: number;
  try {
    pid = p.fork(t, (flags & CLONE_CHILD_SETTID) !== 0 ? ctid : 0);
  } finally {
    cpu.setXNumber(2, saved.sp);
    cpu.setXNumber(4, saved.tp);
    t.clearChildTid = clear;
  }
  if ((flags & CLONE_PARENT_SETTID) !== 0 && p.as.check(ptid, 4, Prot.WRITE)) p.as.writeU32(ptid, pid);
  return pid;
}

define(435, "clone3", () => -Errno.ENOSYS); // glibc falls back to clone

/** End one thread: clear and wake its tid word (pthread_join waits on it). */
export function exitThread(p: Process, t: Thread): void {
  t.exited = true;
  if (t.clearChildTid !== 0 && p.as.check(t.clearChildTid, 4, Prot.WRITE)) {
    p.as.writeU32(t.clearChildTid, 0);
    p.futexWake(t.clearChildTid, 1);
  }
}

const FUTEX_WAIT = 0, FUTEX_WAKE = 1, FUTEX_REQUEUE = 3, FUTEX_CMP_REQUEUE = 4, FUTEX_WAKE_OP = 5,
  FUTEX_WAIT_BITSET = 9, FUTEX_WAKE_BITSET = 10;
const FUTEX_PRIVATE = 128, FUTEX_CLOCK_REALTIME = 256;

function timespecMs(p: Process, addr: number): number {
  return Number(p.as.readU64(addr)) * 1000 + Number(p.as.readU64(addr + 8)) / 1e6;
}

define(98, "futex", (p, t, a) => {
  const addr = a.n(0);
  const op = a.i32(1) & ~(FUTEX_PRIVATE | FUTEX_CLOCK_REALTIME);
  const realtime = (a.i32(1) & FUTEX_CLOCK_REALTIME) !== 0;
  const val = a.u32(2);
  if (addr % 4 !== 0) return -Errno.EINVAL;
  if (!p.as.check(addr, 4, Prot.READ)) return -Errno.EFAULT;
  switch (op) {
    case FUTEX_WAIT: case FUTEX_WAIT_BITSET: {
      const bitset = op === FUTEX_WAIT ? 0xffffffff : a.u32(5);
      if (bitset === 0) return -Errno.EINVAL;
      if (p.as.readU32(addr) !== val) return -Errno.EAGAIN;
      const ts = a.n(3);
      let deadline = Infinity;
      if (ts !== 0) {
        if (!p.as.check(ts, 16, Prot.READ)) return -Errno.EFAULT;
        const ms = timespecMs(p, ts);
        // FUTEX_WAIT takes a relative timeout; FUTEX_WAIT_BITSET an absolute one.
        deadline = op === FUTEX_WAIT ? performance.now() + ms
          : realtime ? performance.now() + (ms - Date.now()) : monotonicToDeadline(ms);
      }
      t.wait = { kind: "futex", addr, bitset, deadline };
      return NO_RESULT;
    }
    case FUTEX_WAKE: return p.futexWake(addr, val);
    case FUTEX_WAKE_BITSET: return p.futexWake(addr, val, a.u32(5));
    case FUTEX_REQUEUE: case FUTEX_CMP_REQUEUE: {
      if (op === FUTEX_CMP_REQUEUE && p.as.readU32(addr) !== a.u32(5)) return -Errno.EAGAIN;
      const woken = p.futexWake(addr, val);
      const limit = a.n(3) & 0x7fffffff;
      const target = a.n(4);
      let moved = 0;
      for (const x of p.threads) {
        if (moved >= limit) break;
        if (x.wait?.kind === "futex" && x.wait.addr === addr) { x.wait.addr = target; moved++; }
      }
      return woken + moved;
    }
    case FUTEX_WAKE_OP: {
      const addr2 = a.n(4);
      const encoded = a.u32(5);
      if (!p.as.check(addr2, 4, Prot.WRITE)) return -Errno.EFAULT;
      const opcode = (encoded >>> 28) & 7;
      const cmp = (encoded >>> 24) & 15;
      let oparg = (encoded >>> 12) & 0xfff;
      const cmparg = encoded & 0xfff;
      if ((encoded >>> 31) !== 0) oparg = 1 << oparg;
      const old = p.as.readU32(addr2);
      const nv = [oparg, old + oparg, old | oparg, old & ~oparg, old ^ oparg][opcode] ?? old;
      p.as.writeU32(addr2, nv >>> 0);
      let n = p.futexWake(addr, val);
      const o = old | 0;
      const hit = [o === cmparg, o !== cmparg, o < cmparg, o <= cmparg, o > cmparg, o >= cmparg][cmp] ?? false;
      if (hit) n += p.futexWake(addr2, a.n(3));
      return n;
    }
    default:
      return -Errno.ENOSYS;
  }
});

