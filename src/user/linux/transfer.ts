/**
 * sendfile(2) where either end can wait: a pipe, a socket or a terminal.
 * The host's sendfile would block the host thread, and with it every guest
 * process, however near the process at the other end of the pipe is to
 * reading it (`cat big | wc -c`, BusyBox's cat being a sendfile user): here
 * nothing waits on the host.  Input is read only when the host says it is
 * there, output written only without waiting; when the output is full, a
 * blocking call waits in the scheduler and goes on from where it stopped
 * (the bytes sent so far and any read but not yet written kept in
 * callWait), as Linux's sendfile does with a blocking output; when the input
 * (a terminal) has nothing yet, a call that has sent something returns
 * that, one that has not waits for input.
 */
import { Errno, errnoFromHost } from "./errno.js";
import type { OpenFile } from "./fd-table.js";
import type { Process } from "./process.js";
import type { Thread } from "./thread.js";
import { NO_RESULT, type SyscallResult } from "./syscall.js";
import { chardevControl, pipeInode, writePipeNow } from "./readiness.js";
import { host, POLLIN, POLLOUT, socketOf } from "./socket.js";
import { ttyCheck } from "./job-control.js";
import { deliverablePending, parkOnHost, SIGTTIN } from "./signal.js";
import { hostReadiness } from "../../host/host-sockets.js";
import { fs } from "../../host/fs.js";

const O_NONBLOCK = 0o4000;
/** Bytes read from a regular file per step (what the output does not take is read again). */
const FILE_CHUNK = 1 << 16;
/** Bytes read from a pipe or terminal per step: what a writable pipe or socket surely takes at once. */
const STREAM_CHUNK = 4096;
/** How long a waiting transfer waits before it looks again while other guest code runs, in ms. */
const WAIT_MS = 5;

/** Whether sendfile between these two descriptors must not use the host's blocking calls. */
export function transferWaits(inp: OpenFile, out: OpenFile): boolean {
  const waits = (f: OpenFile): boolean => pipeInode(f) !== undefined || socketOf(f) !== undefined || chardevControl(f) !== null;
  return waits(inp) || waits(out);
}

/**
 * Move up to count bytes from inp to out.  inPos: where a regular file
 * input is read (the caller moves the offset by the result), or null for a
 * pipe, socket or terminal.  Bytes moved, a negative errno, or NO_RESULT
 * while the thread waits.
 */
export function transfer(p: Process, t: Thread, inp: OpenFile, out: OpenFile, count: number,
  inPos: number | null): SyscallResult {
  // Linux reads a sendfile's input with splice_read, which sockets and pipes lack.
  if (socketOf(inp) !== undefined || pipeInode(inp) !== undefined) return -Errno.EINVAL;
  if (inPos === null && chardevControl(inp) !== null) {
    const background = ttyCheck(p, t, inp, SIGTTIN);
    if (background !== undefined) return background;
  }
  const call = t.cpu.pc - 4;
  const state = t.callWait?.pc === call ? t.callWait : undefined;
  let sent = state?.sent ?? 0;
  let pending = state?.pending;
  const outWaits = pipeInode(out) !== undefined || socketOf(out) !== undefined;
  const stop = (fd: number, events: number): SyscallResult => {
    const nonblock = ((events === POLLIN ? inp : out).flags & O_NONBLOCK) !== 0;
    // Input not there after some was sent, or a signal to take: return what was (Linux does); a non-blocking end: EAGAIN.
    if ((events === POLLIN && sent > 0) || nonblock || (sent > 0 && deliverablePending(t, p.pending))) {
      t.callWait = undefined;
      return sent > 0 ? sent : -Errno.EAGAIN;
    }
    t.callWait = { pc: call, deadline: Infinity, sent, pending };
    parkOnHost(t, WAIT_MS, [fd], [events]);
    return NO_RESULT;
  };
  while (sent < count) {
    if (pending === undefined) {
      if (outWaits && (hostReadiness(out.hostFd, POLLOUT) ?? POLLOUT) === 0) return stop(out.hostFd, POLLOUT);
      if (inPos === null && (hostReadiness(inp.hostFd, POLLIN) ?? POLLIN) === 0) return stop(inp.hostFd, POLLIN);
      const buf = new Uint8Array(Math.min(inPos === null ? STREAM_CHUNK : FILE_CHUNK, count - sent));
      let n: number;
      try {
        n = fs.readSync(inp.hostFd, buf, 0, buf.length, inPos === null ? null : inPos + sent);
      } catch (e) {
        t.callWait = undefined;
        return sent > 0 ? sent : -errnoFromHost(e);
      }
      if (n === 0) break;
      pending = buf.subarray(0, n);
    }
    const w = writeWithoutWaiting(p, out, pending);
    if (w < 0) {
      t.callWait = undefined;
      return sent > 0 ? sent : w;
    }
    sent += w;
    // What a regular file's output did not take is read again next time.
    pending = w < pending.length && inPos === null ? pending.subarray(w) : undefined;
    if (w === 0 || pending !== undefined) return stop(out.hostFd, POLLOUT);
  }
  t.callWait = undefined;
  return sent;
}

/**
 * Write data to out without the host waiting: a pipe or a socket takes what
 * fits now (0 when nothing does); anything else (a regular file, a
 * terminal) takes it all.  A negative errno on failure (EPIPE raises SIGPIPE).
 */
function writeWithoutWaiting(p: Process, out: OpenFile, data: Uint8Array): number {
  const h = host();
  const pipe = pipeInode(out);
  let r: number;
  if (socketOf(out) !== undefined && h !== null) {
    r = h.sendmsg(out.hostFd, null, data, null, 0);
    if (r === -Errno.EAGAIN) r = 0;
  } else if (pipe !== undefined) {
    const [done, error] = writePipeNow(out, data);
    if (done > 0) p.kernel.wakeRetries(pipe);
    r = done > 0 ? done : error;
  } else {
    r = 0;
    try {
      while (r < data.length) r += fs.writeSync(out.hostFd, data, r, data.length - r, null);
    } catch (e) {
      if (r === 0) r = -errnoFromHost(e);
    }
  }
  if (r === -Errno.EPIPE) p.sigpipe();
  return r;
}
