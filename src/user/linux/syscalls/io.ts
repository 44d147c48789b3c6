/** Reading and writing descriptors: read, write, readv, writev, pread64, pwrite64, close. */
import { define, NO_RESULT, type SyscallResult } from "../syscall.js";
import { deliverablePending, parkOnHost, retryLater, SIGTTIN, SIGTTOU } from "../signal.js";
import { ttyCheck } from "../job-control.js";
import { FDFLAG_APPEND, FDFLAG_NONBLOCK } from "../../../host/fdctl.js";
import type { OpenFile } from "../fd-table.js";
import { specialOf } from "../special-file.js";
import { chardevControl, pipeControl, pipeInode, takeReadAhead, writePipeNow } from "../readiness.js";
import type { Thread } from "../thread.js";
import { Errno, errnoFromHost } from "../errno.js";
import { Prot } from "../address-space.js";
import { sleepMs, type Process } from "../process.js";
import { fs } from "../../../host/fs.js";
import { hostReadiness } from "../../../host/host-sockets.js";
import { POLLIN, POLLOUT, socketOf, socketRead, socketWrite } from "../socket.js";
import { readWithoutWaiting } from "../background-io.js";
import { hostIo } from "../../../host/host-io.js";

/** Read up to len bytes from a descriptor into guest memory at buf. */
export function readInto(p: Process, fd: number, buf: number, len: number, pos: number | null, nowait = false): number {
  const f = p.fds.get(fd);
  if (f === undefined) return -Errno.EBADF;
  if (len < 0) return -Errno.EINVAL;
  if (!p.as.check(buf, len, Prot.WRITE)) return -Errno.EFAULT;
  const special = specialOf(f);
  if (special !== undefined) {
    if (pos !== null) return -Errno.ESPIPE;
    const r = special.read(len, (f.flags & O_NONBLOCK) !== 0);
    if (typeof r === "number") return r;
    p.as.write(buf, r);
    return r.length;
  }
  const ahead = pos === null ? takeReadAhead(f, len) : undefined;
  if (ahead !== undefined) {
    p.as.write(buf, ahead);
    return ahead.length;
  }
  const tmp = new Uint8Array(Math.min(len, 1 << 20));
  try {
    const n = nowait ? readNowait(f.hostFd, tmp, pos) : readRetrying(f.hostFd, tmp, pos, (f.flags & O_NONBLOCK) !== 0);
    if (n < 0) return n;
    p.as.write(buf, tmp.subarray(0, n));
    return n;
  } catch (e) {
    return -errnoFromHost(e);
  }
}

/** RWF_NOWAIT: what the host's page cache holds, else -EAGAIN (-EOPNOTSUPP without the native module). */
function readNowait(hostFd: number, tmp: Uint8Array, pos: number | null): number {
  const io = hostIo();
  return io === null ? -Errno.EOPNOTSUPP : io.readNowait(hostFd, tmp, pos ?? -1);
}

/**
 * A read.  For a guest descriptor in blocking mode whose host descriptor was
 * left non-blocking by someone else, EAGAIN is waited out; a guest that asked
 * for O_NONBLOCK gets it.
 */
function readRetrying(hostFd: number, tmp: Uint8Array, pos: number | null, nonblock: boolean): number {
  for (;;) {
    try {
      return fs.readSync(hostFd, tmp, 0, tmp.length, pos);
    } catch (e) {
      if ((e as { code?: string }).code !== "EAGAIN" || nonblock) throw e;
      sleepMs(5);
    }
  }
}

/**
 * Write len bytes from guest memory at buf.  Given the thread, a blocking
 * write to a pipe does not block the host (see writePipe): NO_RESULT while
 * the thread waits for the pipe to drain.
 */
export function writeFrom(p: Process, fd: number, buf: number, len: number, pos: number | null,
  t?: Thread): number | typeof NO_RESULT {
  const f = p.fds.get(fd);
  if (f === undefined) return -Errno.EBADF;
  if (len < 0) return -Errno.EINVAL;
  if (!p.as.check(buf, len, Prot.READ)) return -Errno.EFAULT;
  const special = specialOf(f);
  const nonblock = (f.flags & O_NONBLOCK) !== 0;
  const pipe = special === undefined ? pipeInode(f) : undefined;
  if (pipe !== undefined && t !== undefined && !nonblock && pos === null) return writePipe(p, t, f, buf, len, pipe);
  const data = p.as.read(buf, len);
  if (special !== undefined) return pos !== null ? -Errno.ESPIPE : special.write(data, nonblock);
  let done = 0;
  try {
    while (done < data.length) {
      try {
        done += fs.writeSync(f.hostFd, data, done, data.length - done, pos === null ? null : pos + done);
      } catch (e) {
        // A guest that asked for O_NONBLOCK sees EAGAIN (or a short count); a
        // blocking one waits for room, as the host's write would have.
        if ((e as { code?: string }).code !== "EAGAIN" || nonblock) throw e;
        sleepMs(5);
      }
    }
    if (pipe !== undefined) p.kernel.wakeRetries(pipe);
    else if (done > 0) p.as.fileWritten(f.hostFd);
    return done;
  } catch (e) {
    return done > 0 ? done : -errnoFromHost(e);
  }
}

/**
 * A blocking write to a pipe: all of it before the call returns, as Linux's
 * does, without blocking the host (the reader may be another guest process
 * of this run): what fits is written, and the thread waits in the scheduler
 * for the pipe to drain and goes on from there (the bytes written so far
 * are kept in callWait across the call's retries).
 */
function writePipe(p: Process, t: Thread, f: OpenFile, buf: number, len: number, pipe: number): number | typeof NO_RESULT {
  const call = t.cpu.pc - 4;
  const sent = t.callWait?.pc === call ? t.callWait.sent ?? 0 : 0;
  const [done, error] = writePipeNow(f, p.as.read(buf + sent, Math.min(len - sent, PIPE_CHUNK)));
  if (done > 0) p.kernel.wakeRetries(pipe);
  const total = sent + done;
  // Done, failed, or a signal to take with part written: the count so far (Linux's pipe_write).
  if (total >= len || error !== 0 || (total > 0 && deliverablePending(t, p.pending))) {
    t.callWait = undefined;
    return total > 0 ? total : error;
  }
  t.callWait = { pc: call, deadline: Infinity, sent: total };
  parkOnHost(t, PIPE_WAIT_MS, [f.hostFd], [POLLOUT], pipe);
  return NO_RESULT;
}

/** At most this much of a blocking pipe write is taken from guest memory at a time. */
const PIPE_CHUNK = 1 << 20;
const O_APPEND = 0o2000, O_NONBLOCK = 0o4000;
/** How often a read waiting for an eventfd or a terminal looks again, in ms. */
const PIPE_POLL_MS = 2;
/**
 * How often a terminal read looks again by itself: the scheduler's poll(2)
 * wakes it sooner when input comes (at once in an idle run, at the end of
 * the running slice while other guest code runs: Kernel.pollParked).
 */
const TTY_WAIT_MS = 50;
/**
 * How long a read or write waiting on a pipe waits before it looks again: a
 * guest process at the other end wakes it sooner (Kernel.wakeRetries); a host
 * process there cannot, so it is looked at this often.
 */
const PIPE_WAIT_MS = 5;

/**
 * read(2).  A blocking read of an empty pipe would block the host thread, and
 * with it every guest thread and process, timers and signals: the pipe is read
 * non-blocking instead and, when empty, the thread waits in the scheduler and
 * tries again (a signal ends the wait with EINTR, or restarts the read after an
 * SA_RESTART handler).  So does a read of a terminal while other guest
 * processes or threads could run, or host signals are passed to the guest.
 */
function read(p: Process, t: Thread, fd: number, buf: number, len: number): SyscallResult {
  const f = p.fds.get(fd);
  if (socketOf(f) !== undefined) return socketRead(p, t, f as OpenFile, [[buf, len]]);
  if (specialOf(f) !== undefined) {
    // A blocking read of an empty eventfd waits in the scheduler for a writer.
    const r = readInto(p, fd, buf, len, null);
    if (r !== -Errno.EAGAIN || ((f as OpenFile).flags & O_NONBLOCK) !== 0) return r;
    retryLater(t, PIPE_POLL_MS);
    return NO_RESULT;
  }
  if (f === undefined) return -Errno.EBADF;
  const pipe = pipeInode(f);
  const terminal = pipe === undefined && chardevControl(f) !== null;
  // A background process reading its terminal: SIGTTIN.
  const background = terminal ? ttyCheck(p, t, f, SIGTTIN) : undefined;
  if (background !== undefined) return background;
  if (len <= 0 || (f.flags & O_NONBLOCK) !== 0) return readInto(p, fd, buf, len, null);
  // With the host's poll(2), a terminal read waits in the scheduler whatever
  // else runs (an alarm still comes): it reads only once the host says it will not wait.
  const ready = terminal ? hostReadiness(f.hostFd, POLLIN) : undefined;
  if (ready !== undefined) {
    if (ready !== 0) return readInto(p, fd, buf, len, null);
    parkOnHost(t, TTY_WAIT_MS, [f.hostFd], [POLLIN]);
    return NO_RESULT;
  }
  // Without it a terminal read blocks the host only when nothing else could
  // run meanwhile and no host signal (a Ctrl-C) has to reach the guest.
  const others = p.kernel.processes.size > 1 || p.threads.length > 1 || p.kernel.hostSignals !== undefined;
  const c = pipe !== undefined ? pipeControl(f) : others ? chardevControl(f) : null;
  if (c === null) return (others ? readWithoutWaiting(p, t, f, buf, len, null) : undefined) ?? readInto(p, fd, buf, len, null);
  if (!p.as.check(buf, len, Prot.WRITE)) return -Errno.EFAULT;
  const ahead = takeReadAhead(f, len);
  if (ahead !== undefined) {
    p.as.write(buf, ahead);
    return ahead.length;
  }
  const keep = (f.flags & O_APPEND) !== 0 ? FDFLAG_APPEND : 0;
  c.setFlags(keep | FDFLAG_NONBLOCK);
  const tmp = new Uint8Array(Math.min(len, 1 << 20));
  try {
    const n = fs.readSync(f.hostFd, tmp, 0, tmp.length, null);
    p.as.write(buf, tmp.subarray(0, n));
    if (pipe !== undefined && n > 0) p.kernel.wakeRetries(pipe);
    return n;
  } catch (e) {
    if ((e as { code?: string }).code !== "EAGAIN") return -errnoFromHost(e);
    if (pipe !== undefined) parkOnHost(t, PIPE_WAIT_MS, [f.hostFd], [POLLIN], pipe);
    else parkOnHost(t, PIPE_POLL_MS, [f.hostFd], [POLLIN]);
    return NO_RESULT;
  } finally {
    c.setFlags(keep);
  }
}

/** write(2) and friends: a write to a pipe whose reader has gone also raises SIGPIPE, as in Linux. */
function withSigpipe(p: Process, r: SyscallResult): SyscallResult {
  if (r === -Errno.EPIPE) {
    p.sigpipe();
  }
  return r;
}

define(63, "read", (p, t, a) => read(p, t, a.i32(0), a.n(1), a.n(2)));
define(64, "write", (p, t, a) => {
  const f = p.fds.get(a.i32(0));
  if (socketOf(f) !== undefined) return socketWrite(p, t, f as OpenFile, [[a.n(1), a.n(2)]]);
  const background = f === undefined ? undefined : ttyCheck(p, t, f, SIGTTOU, true);
  if (background !== undefined) return background;
  return withSigpipe(p, writeFrom(p, a.i32(0), a.n(1), a.n(2), null, t));
});
define(67, "pread64", (p, t, a) => {
  const f = p.fds.get(a.i32(0));
  const pos = a.n(3);
  return (f !== undefined && pos >= 0 ? readWithoutWaiting(p, t, f, a.n(1), a.n(2), pos) : undefined) ??
    readInto(p, a.i32(0), a.n(1), a.n(2), pos);
});
define(68, "pwrite64", (p, _t, a) => withSigpipe(p, writeFrom(p, a.i32(0), a.n(1), a.n(2), a.n(3))));

/** The guest's struct iovec array of count entries at addr, as (base, length) pairs; a negative errno. */
export function readIov(p: Process, addr: number, count: number): [number, number][] | number {
  if (count < 0 || count > 1024) return -Errno.EINVAL;
  if (!p.as.check(addr, count * 16, Prot.READ)) return -Errno.EFAULT;
  const out: [number, number][] = [];
  for (let i = 0; i < count; i++) {
    out.push([Number(p.as.readU64(addr + i * 16)), Number(p.as.readU64(addr + i * 16 + 8))]);
  }
  return out;
}

/** readv/preadv: fill the buffers in turn; a short read ends the call. pos null = the file position. */
function readVector(p: Process, fd: number, addr: number, count: number, pos: number | null, nowait = false): number {
  const v = readIov(p, addr, count);
  if (typeof v === "number") return v;
  if (pos !== null && pos < 0) return -Errno.EINVAL;
  let total = 0;
  for (const [base, len] of v) {
    if (len === 0) continue;
    const n = readInto(p, fd, base, len, pos === null ? null : pos + total, nowait);
    if (n < 0) return total > 0 ? total : n;
    total += n;
    if (n < len) break;
  }
  return total;
}

function writeVector(p: Process, fd: number, addr: number, count: number, pos: number | null,
  t?: Thread): SyscallResult {
  const v = readIov(p, addr, count);
  if (typeof v === "number") return v;
  if (pos !== null && pos < 0) return -Errno.EINVAL;
  let total = 0;
  for (const [base, len] of v) {
    if (len === 0) continue;
    // Only the first buffer may wait for a full pipe: after it, the call returns what it wrote.
    const n = writeFrom(p, fd, base, len, pos === null ? null : pos + total, total === 0 ? t : undefined);
    if (n === NO_RESULT) return n;
    if (n < 0) return total > 0 ? total : withSigpipe(p, n);
    total += n;
    if (n < len) break;
  }
  return withSigpipe(p, total);
}

/** readv/writev of a socket: one recvmsg or sendmsg with the whole vector. */
function socketVector(p: Process, t: Thread, fd: number, addr: number, count: number, out: boolean): SyscallResult | undefined {
  const f = p.fds.get(fd);
  if (socketOf(f) === undefined) return undefined;
  const v = readIov(p, addr, count);
  if (typeof v === "number") return v;
  return out ? socketWrite(p, t, f as OpenFile, v) : socketRead(p, t, f as OpenFile, v);
}

define(65, "readv", (p, t, a) =>
  socketVector(p, t, a.i32(0), a.n(1), a.i32(2), false) ?? readVector(p, a.i32(0), a.n(1), a.i32(2), null));
define(66, "writev", (p, t, a) =>
  socketVector(p, t, a.i32(0), a.n(1), a.i32(2), true) ?? writeVector(p, a.i32(0), a.n(1), a.i32(2), null, t));
define(69, "preadv", (p, _t, a) => readVector(p, a.i32(0), a.n(1), a.i32(2), a.n(3)));
define(70, "pwritev", (p, _t, a) => writeVector(p, a.i32(0), a.n(1), a.i32(2), a.n(3)));
/**
 * preadv2/pwritev2: offset -1 means the file position.  Of the RWF_* flags,
 * preadv2 takes RWF_NOWAIT (only what the host's page cache holds, else
 * EAGAIN); any other gets EOPNOTSUPP, as a kernel that does not know it.
 */
const RWF_NOWAIT = 8;
define(286, "preadv2", (p, _t, a) => {
  const flags = a.i32(5);
  if (flags !== 0 && flags !== RWF_NOWAIT) return -Errno.EOPNOTSUPP;
  return readVector(p, a.i32(0), a.n(1), a.i32(2), a.n(3) === -1 ? null : a.n(3), flags === RWF_NOWAIT);
});
define(287, "pwritev2", (p, _t, a) =>
  a.i32(5) !== 0 ? -Errno.EOPNOTSUPP : writeVector(p, a.i32(0), a.n(1), a.i32(2), a.n(3) === -1 ? null : a.n(3)));

define(57, "close", (p, _t, a) => {
  const fd = a.i32(0);
  if (p.fds.get(fd) === undefined) return -Errno.EBADF;
  const last = p.fds.remove(fd);
  if (last !== undefined && last.ownsHostFd) {
    const pipe = pipeInode(last);
    try { fs.closeSync(last.hostFd); } catch { /* the guest's close succeeds regardless, as Linux's does */ }
    // The pipe's other end may now see EOF or EPIPE.
    if (pipe !== undefined) p.kernel.wakeRetries(pipe);
  }
  return 0;
});
