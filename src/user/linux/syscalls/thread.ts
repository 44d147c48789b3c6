/** Threads and processes: clone (threads share everything; see fork.ts for processes), futex, exit of a thread. */
import { define, NO_RESULT } from "../syscall.js";
import { Errno } from "../errno.js";
import { Prot } from "../address-space.js";
import type { Thread } from "../thread.js";
import type { Process } from "../process.js";
import { nowMs } from "../../../host/time.js";
import {
  CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID, CLONE_PARENT_SETTID, CLONE_SETTLS, CLONE_VM, copyRegisters, forkProcess,
} from "../fork.js";

const CLONE_FS = 0x200, CLONE_FILES = 0x400, CLONE_SIGHAND = 0x800, CLONE_THREAD = 0x10000,
  CLONE_SYSVSEM = 0x40000, CLONE_DETACHED = 0x400000;
const THREAD_FLAGS = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
  CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_DETACHED | CLONE_CHILD_SETTID;

define(220, "clone", (p, t, a) => {
  const flags = a.u32(0);
  const stack = a.n(1);
  const ptid = a.n(2);
  const tls = a.n(3);
  const ctid = a.n(4);
  if ((flags & CLONE_THREAD) === 0) {
    // A new process: CLONE_SIGHAND without CLONE_VM is invalid, as in Linux.
    if ((flags & CLONE_SIGHAND) !== 0 && (flags & CLONE_VM) === 0) return -Errno.EINVAL;
    return forkProcess(p, t, { flags, stack, tls, ptid, ctid });
  }
  if ((flags & ~(THREAD_FLAGS | 0xff)) !== 0 || (flags & CLONE_VM) === 0) return -Errno.EINVAL;
  const child = p.newThread(p.newTid());
  copyRegisters(t, child);
  const c = child.cpu;
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
  const isPrivate = (a.i32(1) & FUTEX_PRIVATE) !== 0;
  const k = p.kernel;
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
        deadline = op === FUTEX_WAIT ? nowMs() + ms
          : realtime ? nowMs() + (ms - Date.now()) : ms;
      }
      const key = p.futexKey(addr, isPrivate);
      t.wait = { kind: "futex", addr: key.addr, space: key.space, bitset, deadline };
      return NO_RESULT;
    }
    case FUTEX_WAKE: return k.futexWake(p.futexKey(addr, isPrivate), val);
    case FUTEX_WAKE_BITSET: return k.futexWake(p.futexKey(addr, isPrivate), val, a.u32(5));
    case FUTEX_REQUEUE: case FUTEX_CMP_REQUEUE: {
      if (op === FUTEX_CMP_REQUEUE && p.as.readU32(addr) !== a.u32(5)) return -Errno.EAGAIN;
      const from = p.futexKey(addr, isPrivate);
      const woken = k.futexWake(from, val);
      const target = a.n(4);
      if (!p.as.check(target, 4, Prot.READ)) return woken;
      return woken + k.futexRequeue(from, p.futexKey(target, isPrivate), a.n(3) & 0x7fffffff);
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
      let n = k.futexWake(p.futexKey(addr, isPrivate), val);
      const o = old | 0;
      const hit = [o === cmparg, o !== cmparg, o < cmparg, o <= cmparg, o > cmparg, o >= cmparg][cmp] ?? false;
      if (hit) n += k.futexWake(p.futexKey(addr2, isPrivate), a.n(3));
      return n;
    }
    default:
      return -Errno.ENOSYS;
  }
});

