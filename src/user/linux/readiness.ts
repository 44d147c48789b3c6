/**
 * Whether a descriptor can be read without blocking, for poll, select and
 * epoll.  The host's poll(2), from tsemu's native module, answers for every
 * host descriptor.  Node gives no poll of its own, so without the module the
 * answer for a pipe is found by reading: a non-blocking read of what is
 * there, kept aside and handed to the next read of the descriptor.  That is
 * exact for pipes (data, or EOF); other host descriptors (terminals) are then
 * taken as readable, and everything as writable.
 */
import type { OpenFile } from "./fd-table.js";
import { specialOf, EPOLLHUP, EPOLLIN, EPOLLOUT } from "./special-file.js";
import { FDFLAG_APPEND, FDFLAG_NONBLOCK, HostFdControl } from "../../host/fdctl.js";
import { fs } from "../../host/fs.js";
import { errnoFromHost } from "./errno.js";
import { hostReadiness } from "../../host/host-sockets.js";

const O_APPEND = 0o2000;

/** Bytes read ahead of the guest while answering a readiness question; an empty array means EOF. */
const readAhead = new WeakMap<OpenFile, Uint8Array>();

/** What a descriptor is, for waiting on it: its controller and, for a pipe, its inode. */
interface Waitable {
  /**
   * A pipe's or a character device's controller, made when first asked for
   * (a write to a pipe, a wait on one or on a terminal): the first one
   * compiles a WebAssembly module and loads node:wasi, 5-8 ms that a program
   * writing to /dev/null, or looked at only for its pipe's inode, does not
   * need.  null: none can be had; undefined: not asked for yet.
   */
  control: HostFdControl | null | undefined;
  /** The pipe's inode (threads waiting on the pipe are woken by it), or undefined. */
  pipe: number | undefined;
  /** A character device (a terminal): its reads can wait in the scheduler too. */
  chardev: boolean;
}
const waitables = new WeakMap<OpenFile, Waitable>();

function waitable(f: OpenFile): Waitable {
  let w = waitables.get(f);
  if (w === undefined) {
    let st: ReturnType<typeof fs.fstatSync> | undefined;
    try { st = fs.fstatSync(f.hostFd); } catch { /* neither then */ }
    const fifo = st?.isFIFO() === true;
    const chardev = st?.isCharacterDevice() === true;
    w = {
      control: fifo || chardev ? undefined : null,
      pipe: fifo ? Number(st?.ino) : undefined,
      chardev,
    };
    waitables.set(f, w);
  }
  return w;
}

function controlOf(f: OpenFile, w: Waitable): HostFdControl | null {
  if (w.control === undefined) w.control = HostFdControl.open(f.hostFd) ?? null;
  return w.control;
}

/** The controller that can make a pipe's host descriptor non-blocking; null for other files. */
export function pipeControl(f: OpenFile): HostFdControl | null {
  const w = waitable(f);
  return w.pipe !== undefined ? controlOf(f, w) : null;
}

/**
 * Write to a pipe what fits now, without the host waiting: [bytes written,
 * and a negative errno when the write failed for another reason than a
 * full pipe (0 otherwise)].
 */
export function writePipeNow(f: OpenFile, data: Uint8Array): [number, number] {
  const c = pipeControl(f);
  const keep = (f.flags & O_APPEND) !== 0 ? FDFLAG_APPEND : 0;
  c?.setFlags(keep | FDFLAG_NONBLOCK);
  let done = 0;
  try {
    while (done < data.length) done += fs.writeSync(f.hostFd, data, done, data.length - done, null);
  } catch (e) {
    if ((e as { code?: string }).code !== "EAGAIN") return [done, -errnoFromHost(e)];
  } finally {
    c?.setFlags(keep);
  }
  return [done, 0];
}

/** The same for a character device (a terminal), whose reads wait in the scheduler while other processes run. */
export function chardevControl(f: OpenFile): HostFdControl | null {
  const w = waitable(f);
  return w.chardev ? controlOf(f, w) : null;
}

/** The inode of the pipe f is an end of (the key threads waiting on it wait under), or undefined. */
export function pipeInode(f: OpenFile): number | undefined {
  return waitable(f).pipe;
}

/**
 * Take up to len bytes read ahead for f, if any: the bytes (empty at EOF),
 * or undefined when nothing was read ahead.
 */
export function takeReadAhead(f: OpenFile, len: number): Uint8Array | undefined {
  const buf = readAhead.get(f);
  if (buf === undefined) return undefined;
  if (buf.length <= len) {
    readAhead.delete(f);
    return buf;
  }
  readAhead.set(f, buf.subarray(len));
  return buf.subarray(0, len);
}

/** EPOLLIN/EPOLLOUT/EPOLLHUP readiness of f for the events asked (as epoll bits). */
export function readiness(f: OpenFile, want: number): number {
  const special = specialOf(f);
  if (special !== undefined) return special.poll() & want;
  let ready = want & EPOLLOUT;
  const ahead = readAhead.get(f);
  // A pipe at EOF (no writer, no data) is hung up, not readable, as Linux reports it.
  if (ahead !== undefined && (want & EPOLLIN) !== 0) return ready | (ahead.length === 0 ? EPOLLHUP : EPOLLIN);
  // With poll(2) from the native module the host answers for any descriptor, exactly.
  const polled = hostReadiness(f.hostFd, want);
  if (polled !== undefined) return polled;
  if ((want & EPOLLIN) === 0) return ready;
  const c = pipeControl(f);
  if (c === null) return ready | EPOLLIN;
  const keep = (f.flags & O_APPEND) !== 0 ? FDFLAG_APPEND : 0;
  c.setFlags(keep | FDFLAG_NONBLOCK);
  try {
    const tmp = new Uint8Array(65536);
    const n = fs.readSync(f.hostFd, tmp, 0, tmp.length, null);
    readAhead.set(f, tmp.slice(0, n));
    ready |= n === 0 ? EPOLLHUP : EPOLLIN;
  } catch (e) {
    if ((e as { code?: string }).code !== "EAGAIN") ready |= EPOLLIN; // the read will report the error
  } finally {
    c.setFlags(keep);
  }
  return ready;
}

/** Host descriptors and poll events a waiting poll, select or epoll call parks on (parkOnHost). */
export class HostWaits {
  readonly fds: number[] = [];
  readonly events: number[] = [];

  /** Wait on f for want too, unless it is one of the emulated kernel's own objects (an eventfd). */
  add(f: OpenFile, want: number): void {
    if (specialOf(f) !== undefined) return;
    this.fds.push(f.hostFd);
    this.events.push(want);
  }
}
