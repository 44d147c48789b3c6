/**
 * eventfd2 and epoll (create1, ctl, pwait).  Readiness is exact for the
 * emulated kernel's own objects (eventfds, epoll sets) and for reading pipes
 * (see readiness.ts).  Regular files and directories cannot be added (EPERM,
 * as Linux says); terminals are taken as readable, and everything as writable.
 */
import { define, NO_RESULT } from "../syscall.js";
import { Errno } from "../errno.js";
import { Prot } from "../address-space.js";
import type { OpenFile } from "../fd-table.js";
import type { Process } from "../process.js";
import { attachSpecial, EPOLLIN, EPOLLOUT, specialOf, type SpecialFile } from "../special-file.js";
import { HostWaits, readiness } from "../readiness.js";
import { fs } from "../../../host/fs.js";
import { parkOnHost } from "../signal.js";
import { nowMs } from "../../../host/time.js";

const O_NONBLOCK = 0o4000, O_CLOEXEC = 0o2000000;
const EFD_SEMAPHORE = 1;
const MAX_COUNT = 0xfffffffffffffffen;

/** A new guest descriptor for an emulated-kernel object. */
function install(p: Process, s: SpecialFile, flags: number): number {
  const hostFd = fs.openSync("/dev/null", "r+");
  const f: OpenFile = {
    hostFd, path: undefined, flags: flags & O_NONBLOCK, dirPos: 0, dirEntries: undefined, ownsHostFd: true, refs: 0,
  };
  attachSpecial(f, s);
  const fd = p.fds.add(f, (flags & O_CLOEXEC) !== 0);
  if (fd < 0) {
    fs.closeSync(hostFd);
    return -Errno.EMFILE;
  }
  return fd;
}

class EventFd implements SpecialFile {
  constructor(private count: bigint, private readonly semaphore: boolean) {}

  read(len: number): Uint8Array | number {
    if (len < 8) return -Errno.EINVAL;
    if (this.count === 0n) return -Errno.EAGAIN;
    const v = this.semaphore ? 1n : this.count;
    this.count -= v;
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, v, true);
    return out;
  }

  write(data: Uint8Array): number {
    if (data.length < 8) return -Errno.EINVAL;
    const v = new DataView(data.buffer, data.byteOffset).getBigUint64(0, true);
    if (v === 0xffffffffffffffffn) return -Errno.EINVAL;
    if (this.count + v > MAX_COUNT) return -Errno.EAGAIN;
    this.count += v;
    return 8;
  }

  poll(): number {
    return (this.count > 0n ? EPOLLIN : 0) | (this.count < MAX_COUNT ? EPOLLOUT : 0);
  }
}

define(19, "eventfd2", (p, _t, a) => {
  const flags = a.i32(1);
  if ((flags & ~(O_NONBLOCK | O_CLOEXEC | EFD_SEMAPHORE)) !== 0) return -Errno.EINVAL;
  return install(p, new EventFd(BigInt(a.u32(0)), (flags & EFD_SEMAPHORE) !== 0), flags);
});

interface Interest { events: number; data: bigint; file: OpenFile }

class Epoll implements SpecialFile {
  readonly interests = new Map<number, Interest>();
  read(): number { return -Errno.EINVAL; }
  write(): number { return -Errno.EINVAL; }
  poll(): number { return 0; }
}

const EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;
const EPOLLET = 1 << 31, EPOLLONESHOT = 1 << 30;
const ALWAYS = 0x008 | 0x010; // EPOLLERR | EPOLLHUP are reported whether asked for or not

define(20, "epoll_create1", (p, _t, a) => {
  const flags = a.i32(0);
  if ((flags & ~O_CLOEXEC) !== 0) return -Errno.EINVAL;
  return install(p, new Epoll(), flags);
});

define(21, "epoll_ctl", (p, _t, a) => {
  const ep = specialOf(p.fds.get(a.i32(0)));
  const fd = a.i32(2);
  const target = p.fds.get(fd);
  if (ep === undefined && p.fds.get(a.i32(0)) === undefined) return -Errno.EBADF;
  if (!(ep instanceof Epoll)) return -Errno.EINVAL;
  if (target === undefined) return -Errno.EBADF;
  if (specialOf(target) === ep) return -Errno.EINVAL;
  const op = a.i32(1);
  if (specialOf(target) === undefined) {
    try {
      const st = fs.fstatSync(target.hostFd);
      if (st.isFile() || st.isDirectory()) return -Errno.EPERM;
    } catch {
      return -Errno.EBADF;
    }
  }
  let events = 0;
  let data = 0n;
  if (op !== EPOLL_CTL_DEL) {
    const at = a.n(3);
    if (!p.as.check(at, 16, Prot.READ)) return -Errno.EFAULT;
    events = p.as.readU32(at);
    data = p.as.readU64(at + 8);
  }
  const has = ep.interests.has(fd);
  switch (op) {
    case EPOLL_CTL_ADD:
      if (has) return -Errno.EEXIST;
      ep.interests.set(fd, { events, data, file: target });
      return 0;
    case EPOLL_CTL_MOD:
      if (!has) return -Errno.ENOENT;
      ep.interests.set(fd, { events, data, file: target });
      return 0;
    case EPOLL_CTL_DEL:
      if (!has) return -Errno.ENOENT;
      ep.interests.delete(fd);
      return 0;
    default:
      return -Errno.EINVAL;
  }
});

/** Collect up to max ready events into guest memory; returns how many. */
function collect(p: Process, ep: Epoll, out: number, max: number): number {
  let n = 0;
  for (const [fd, it] of ep.interests) {
    if (n >= max) break;
    if (p.fds.get(fd) !== it.file) { ep.interests.delete(fd); continue; } // closed since: Linux drops it too
    const ready = readiness(it.file, it.events | ALWAYS) & (it.events | ALWAYS);
    if (ready === 0 || (it.events & ~(EPOLLET | EPOLLONESHOT)) === 0) continue;
    p.as.writeU32(out + n * 16, ready);
    p.as.writeU32(out + n * 16 + 4, 0);
    p.as.writeU64(out + n * 16 + 8, it.data);
    if ((it.events & EPOLLONESHOT) !== 0) it.events = 0;
    n++;
  }
  return n;
}

define(22, "epoll_pwait", (p, t, a) => {
  const ep = specialOf(p.fds.get(a.i32(0)));
  if (!(ep instanceof Epoll)) return p.fds.get(a.i32(0)) === undefined ? -Errno.EBADF : -Errno.EINVAL;
  const out = a.n(1);
  const max = a.i32(2);
  const timeout = a.i32(3);
  if (max <= 0) return -Errno.EINVAL;
  if (!p.as.check(out, max * 16, Prot.WRITE)) return -Errno.EFAULT;
  const n = collect(p, ep, out, max);
  if (n > 0 || timeout === 0) {
    t.callWait = undefined;
    return n;
  }
  // Nothing ready: the thread waits in the scheduler and makes the call again
  // every few milliseconds (another thread may write an eventfd meanwhile),
  // until the timeout, which is remembered across the retries of this call.
  const now = nowMs();
  const call = t.cpu.pc - 4;
  if (t.callWait === undefined || t.callWait.pc !== call) {
    t.callWait = { pc: call, deadline: timeout < 0 ? Infinity : now + timeout };
  }
  if (now >= t.callWait.deadline) {
    t.callWait = undefined;
    return 0;
  }
  const waits = new HostWaits();
  // An interest with no events (a EPOLLONESHOT one that fired) is not waited on: its hang-up would wake the run for nothing.
  for (const it of ep.interests.values()) {
    if ((it.events & ~(EPOLLET | EPOLLONESHOT)) !== 0) waits.add(it.file, it.events & (EPOLLIN | EPOLLOUT));
  }
  parkOnHost(t, Math.min(2, t.callWait.deadline - now), waits.fds, waits.events);
  return NO_RESULT;
});
