/**
 * Calls on a regular host file that would wait for the disk, while other
 * guest threads could run: Linux parks only the thread that waits.  A read
 * is first tried for what the host's page cache holds (RWF_NOWAIT, the
 * common case: as fast as a plain read); when the data is not there, a host
 * thread reads it (native/host-io.c) and the guest thread is parked until
 * that ends, the scheduler running the others meanwhile.  fsync and
 * fdatasync, which wait for the disk whenever the file has dirty pages, go
 * to a host thread so.  As for these calls in Linux, a signal does not cut
 * one short: it is taken when the call has ended (nothing the host read is
 * lost).
 *
 * With nothing else to run, or without the native module, the call is made
 * at once, as before.
 */
import { NO_RESULT, type SyscallResult } from "./syscall.js";
import { parkOnHost } from "./signal.js";
import type { OpenFile } from "./fd-table.js";
import type { Thread } from "./thread.js";
import type { Process } from "./process.js";
import { Errno } from "./errno.js";
import { Prot } from "./address-space.js";
import { fs } from "../../host/fs.js";
import { hostIo, readNotifier, type HostIo } from "../../host/host-io.js";
import { POLLIN } from "./socket.js";

/** How often a parked thread looks at its read in any case (the eventfd normally wakes it first), in ms. */
const BACKGROUND_POLL_MS = 5;
/** The most one read moves. */
const MAX_READ = 1 << 20;

/**
 * read(2) (pos null) or pread64(2) of f into guest memory at buf; undefined
 * when the caller should read at once as before (f is no regular file,
 * nothing else could run, or the host cannot say whether the read would wait).
 */
export function readWithoutWaiting(p: Process, t: Thread, f: OpenFile, buf: number, len: number,
  pos: number | null): SyscallResult | undefined {
  if (resumed(t, f, buf, len)) return finish(p, t);
  const io = len > 0 ? hostFor(p, t, f) : undefined;
  if (io === undefined) return undefined;
  if (!p.as.check(buf, len, Prot.WRITE)) return -Errno.EFAULT;
  const tmp = new Uint8Array(Math.min(len, MAX_READ));
  const n = io.readNowait(f.hostFd, tmp, pos ?? -1);
  if (n >= 0) {
    p.as.write(buf, tmp.subarray(0, n));
    return n;
  }
  const notify = readNotifier(io);
  if (n !== -Errno.EAGAIN || notify < 0) return undefined;
  return park(t, { handle: io.startRead(f.hostFd, tmp.length, pos ?? -1, notify), pc: t.cpu.pc - 4, file: f, buf, len }, notify);
}

/**
 * fsync(2) (fdatasync(2) when datasync) of f; undefined when the caller
 * should make it at once (as readWithoutWaiting).
 */
export function syncWithoutWaiting(p: Process, t: Thread, f: OpenFile, datasync: boolean): SyscallResult | undefined {
  if (resumed(t, f, 0, 0)) return finish(p, t);
  const io = hostFor(p, t, f);
  const notify = io !== undefined ? readNotifier(io) : -1;
  if (io === undefined || notify < 0) return undefined;
  return park(t, { handle: io.startSync(f.hostFd, datasync, notify), pc: t.cpu.pc - 4, file: f, buf: 0, len: 0 }, notify);
}

/** Whether t makes again the call its host thread serves (its ecall, file, buffer and length); forgets any other. */
function resumed(t: Thread, f: OpenFile, buf: number, len: number): boolean {
  const job = t.backgroundCall;
  if (job !== undefined && job.pc === t.cpu.pc - 4 && job.file === f && job.buf === buf && job.len === len) return true;
  t.backgroundCall = undefined;
  return false;
}

/** The native module, when a call on f could wait while another guest thread could run; else undefined. */
function hostFor(p: Process, t: Thread, f: OpenFile): HostIo | undefined {
  if (!p.kernel.othersRunnable(t)) return undefined;
  const io = hostIo();
  return io !== null && isRegular(f) ? io : undefined;
}

/** Park t until its host thread is done (the call runs again then: finish). */
function park(t: Thread, job: NonNullable<Thread["backgroundCall"]>, notify: number): SyscallResult {
  t.backgroundCall = job;
  // A call that has moved data (moving() in signal.ts): a signal waits for its end.
  t.callWait = { pc: job.pc, deadline: Infinity, moved: 1 };
  parkOnHost(t, BACKGROUND_POLL_MS, [notify], [POLLIN]);
  return NO_RESULT;
}

/** The call made again after its thread was parked: its result once the host thread is done. */
function finish(p: Process, t: Thread): SyscallResult {
  const job = t.backgroundCall as NonNullable<Thread["backgroundCall"]>;
  const io = hostIo() as HostIo;
  const notify = readNotifier(io);
  const tmp = new Uint8Array(Math.min(job.len, MAX_READ));
  const n = io.readResult(job.handle, tmp);
  if (n === null) {
    parkOnHost(t, BACKGROUND_POLL_MS, [notify], [POLLIN]);
    return NO_RESULT;
  }
  io.drain(notify);
  t.backgroundCall = undefined;
  t.callWait = undefined;
  if (n <= 0) return n;
  // Checked when the read began; the guest's memory map may have changed since (another thread).
  if (!p.as.check(job.buf, n, Prot.WRITE)) return -Errno.EFAULT;
  p.as.write(job.buf, tmp.subarray(0, n));
  return n;
}

function isRegular(f: OpenFile): boolean {
  try {
    return fs.fstatSync(f.hostFd).isFile();
  } catch {
    return false;
  }
}
