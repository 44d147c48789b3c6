/**
 * Guest sockets.  As under qemu-riscv64, a guest socket is a host socket
 * (src/host/host-sockets.ts): Unix-domain sockets and socket pairs between
 * the guest processes of a run, and the host's network, behave as the host
 * kernel makes them, and a host program the guest runs gets them like any
 * descriptor.  What the emulated kernel adds is waiting: no host call ever
 * blocks, a guest thread whose call would wait is parked in the scheduler
 * on its host descriptor (Kernel.idle polls them), so the other threads and
 * processes run meanwhile.  SCM_RIGHTS control messages carry guest
 * descriptors, translated to host ones on the way out and back on the way in.
 */
import { Errno } from "./errno.js";
import type { OpenFile } from "./fd-table.js";
import { NO_RESULT, type SyscallResult } from "./syscall.js";
import { Prot } from "./address-space.js";
import type { Process } from "./process.js";
import type { Thread } from "./thread.js";
import { deliverablePending, parkOnHost } from "./signal.js";
import { hostSockets, type HostSockets } from "../../host/host-sockets.js";
import { fs } from "../../host/fs.js";
import { nowMs } from "../../host/time.js";

export const O_NONBLOCK = 0o4000, O_CLOEXEC = 0o2000000, O_RDWR = 2;
export const POLLIN = 0x001, POLLOUT = 0x004;
const MSG_TRUNC = 0x20, MSG_DONTWAIT = 0x40, MSG_NOSIGNAL = 0x4000, MSG_CMSG_CLOEXEC = 0x40000000;
export const SOCK_STREAM = 1;
export const SOL_SOCKET = 1;
const SCM_RIGHTS = 1, SO_TYPE = 3, SO_RCVTIMEO = 20, SO_SNDTIMEO = 21;
/** The largest socket address (struct sockaddr_storage). */
export const SOCKADDR_MAX = 128;
/** How long a parked socket call waits before it looks again while other guest code runs, in ms. */
const SOCKET_WAIT_MS = 5;
/** At most this much of a stream write is taken from guest memory per call (the host takes less at a time). */
const STREAM_CHUNK = 1 << 20;
/** The largest datagram or stream read one call moves. */
const MAX_MESSAGE = 16 << 20;

/** What the emulated kernel keeps of each guest socket: its type (SOCK_STREAM, SOCK_DGRAM...). */
interface SocketInfo { type: number }
const sockets = new WeakMap<OpenFile, SocketInfo>();

/** The host's socket calls; null when tsemu was built without its native modules. */
export function host(): HostSockets | null {
  return hostSockets();
}

/** Descriptors found not to be sockets. */
const notSockets = new WeakSet<OpenFile>();

/**
 * The socket f is, or undefined for any other descriptor.  A host socket
 * the run was given (a descriptor tsemu inherited, one received from a host
 * program) is taken as a guest socket when first asked about.
 */
export function socketOf(f: OpenFile | undefined): SocketInfo | undefined {
  if (f === undefined) return undefined;
  const known = sockets.get(f);
  if (known !== undefined || notSockets.has(f)) return known;
  let socket = false;
  try { socket = fs.fstatSync(f.hostFd).isSocket(); } catch { /* a closed descriptor is no socket */ }
  // The native module only for a socket: a program's first write to a file or a pipe does not load it.
  const h = socket ? host() : null;
  const v = new Uint8Array(4), lens = new Int32Array(1);
  if (h === null || h.getsockopt(f.hostFd, SOL_SOCKET, SO_TYPE, v, lens) !== 0) {
    notSockets.add(f);
    return undefined;
  }
  adoptSocket(f, v[0]);
  return sockets.get(f);
}

/** Take f, a host socket of the given type, as a guest socket. */
export function adoptSocket(f: OpenFile, type: number): void {
  sockets.set(f, { type });
}

/** A guest descriptor for host descriptor hostFd, which it owns; -EMFILE (hostFd closed) when the table is full. */
function install(p: Process, hostFd: number, flags: number, cloexec: boolean, socket?: SocketInfo): number {
  const f: OpenFile = { hostFd, path: undefined, flags, dirPos: 0, dirEntries: undefined, ownsHostFd: true, refs: 0 };
  if (socket !== undefined) sockets.set(f, socket);
  const fd = p.fds.add(f, cloexec);
  if (fd < 0) {
    try { fs.closeSync(hostFd); } catch { /* never the guest's */ }
    return -Errno.EMFILE;
  }
  return fd;
}

/** A guest descriptor for host socket hostFd; -EMFILE (the host socket closed) when the table is full. */
export function installSocket(p: Process, hostFd: number, type: number, nonblock: boolean, cloexec: boolean): number {
  return install(p, hostFd, O_RDWR | (nonblock ? O_NONBLOCK : 0), cloexec, { type });
}

/**
 * A call found the host socket not ready.  A guest descriptor in
 * non-blocking mode (or a call with MSG_DONTWAIT) gets EAGAIN; otherwise the
 * thread is parked until the descriptor is ready for `events`, and makes the
 * call again, until the socket's SO_RCVTIMEO or SO_SNDTIMEO (then EAGAIN).
 */
export function waitFor(t: Thread, f: OpenFile, events: number, dontwait: boolean, again = -Errno.EAGAIN): SyscallResult {
  if (dontwait || (f.flags & O_NONBLOCK) !== 0) return again;
  const now = nowMs();
  const call = t.cpu.pc - 4;
  if (t.callWait === undefined || t.callWait.pc !== call) {
    t.callWait = { pc: call, deadline: now + timeoutOf(f, events === POLLIN ? SO_RCVTIMEO : SO_SNDTIMEO) };
  }
  if (now >= t.callWait.deadline) {
    t.callWait = undefined;
    return -Errno.EAGAIN;
  }
  parkOnHost(t, Math.min(SOCKET_WAIT_MS, t.callWait.deadline - now), [f.hostFd], [events]);
  return NO_RESULT;
}

/** The call is over (not parked): forget its timeout. */
export function done(t: Thread, r: SyscallResult): SyscallResult {
  if (r !== NO_RESULT) t.callWait = undefined;
  return r;
}

/** The socket's receive or send timeout in ms (Infinity: none). */
function timeoutOf(f: OpenFile, opt: number): number {
  const v = new Uint8Array(16), lens = new Int32Array(1);
  if ((host() as HostSockets).getsockopt(f.hostFd, SOL_SOCKET, opt, v, lens) !== 0 || lens[0] < 16) return Infinity;
  const d = new DataView(v.buffer);
  const ms = Number(d.getBigInt64(0, true)) * 1000 + Number(d.getBigInt64(8, true)) / 1000;
  return ms > 0 ? ms : Infinity;
}

/** An I/O vector: (base, length) pairs in guest memory. */
export type Iov = [number, number][];

/** A guest socket address of len bytes at addr (0: none): its bytes, or a negative errno. */
export function readAddress(p: Process, addr: number, len: number): Uint8Array | null | number {
  if (addr === 0) return null;
  if (len < 0 || len > SOCKADDR_MAX) return -Errno.EINVAL;
  if (!p.as.check(addr, len, Prot.READ)) return -Errno.EFAULT;
  return p.as.read(addr, len);
}

/**
 * Give the guest a socket address the host filled (`full` bytes long) at
 * addr, with its length at lenAddr: as much as the guest's buffer holds,
 * and the full length, as Linux does.  0, or -EFAULT.
 */
export function putAddress(p: Process, addr: number, lenAddr: number, bytes: Uint8Array, full: number): number {
  if (addr === 0 || lenAddr === 0) return 0;
  if (!p.as.check(lenAddr, 4, Prot.READ | Prot.WRITE)) return -Errno.EFAULT;
  const room = p.as.readU32(lenAddr) | 0;
  if (room < 0) return -Errno.EINVAL;
  const n = Math.min(room, full, bytes.length);
  if (!p.as.check(addr, n, Prot.WRITE)) return -Errno.EFAULT;
  p.as.write(addr, bytes.subarray(0, n));
  p.as.writeU32(lenAddr, full);
  return 0;
}

/**
 * What a send moves: the iov's bytes after the first `skip` (a stream
 * socket's at most STREAM_CHUNK of them), or a negative errno; and the
 * iov's whole length.
 */
function gather(p: Process, iov: Iov, skip: number, stream: boolean): [Uint8Array, number] | number {
  let total = 0;
  for (const [base, len] of iov) {
    if (!p.as.check(base, len, Prot.READ)) return -Errno.EFAULT;
    total += len;
  }
  let size = Math.max(0, total - skip);
  if (stream) size = Math.min(size, STREAM_CHUNK);
  const out = new Uint8Array(size);
  let at = 0, pos = 0;
  for (const [base, len] of iov) {
    if (at >= size) break;
    const from = Math.max(0, skip - pos);
    pos += len;
    if (from >= len) continue;
    const n = Math.min(len - from, size - at);
    out.set(p.as.read(base + from, n), at);
    at += n;
  }
  return [out, total];
}

/** Walk the control messages of a buffer: (offset of the data, its length, level, type). */
function* controlMessages(c: Uint8Array): Generator<[number, number, number, number]> {
  const v = new DataView(c.buffer, c.byteOffset, c.byteLength);
  for (let off = 0; off + 16 <= c.length;) {
    const len = Number(v.getBigUint64(off, true));
    if (len < 16 || off + len > c.length) return;
    yield [off + 16, len - 16, v.getInt32(off + 8, true), v.getInt32(off + 12, true)];
    off += (len + 7) & ~7;
  }
}

/** The guest's control messages with SCM_RIGHTS descriptors made host ones; -EBADF for a descriptor not open. */
function outgoingControl(p: Process, c: Uint8Array): Uint8Array | number {
  const out = c.slice();
  const v = new DataView(out.buffer);
  for (const [data, len, level, type] of controlMessages(out)) {
    if (level !== SOL_SOCKET || type !== SCM_RIGHTS) continue;
    for (let i = 0; i + 4 <= len; i += 4) {
      const f = p.fds.get(v.getInt32(data + i, true));
      if (f === undefined) return -Errno.EBADF;
      v.setInt32(data + i, f.hostFd, true);
    }
  }
  return out;
}

/** Host control messages received, with SCM_RIGHTS descriptors installed as guest ones. */
function incomingControl(p: Process, c: Uint8Array, cloexec: boolean): Uint8Array {
  const v = new DataView(c.buffer, c.byteOffset, c.byteLength);
  for (const [data, len, level, type] of controlMessages(c)) {
    if (level !== SOL_SOCKET || type !== SCM_RIGHTS) continue;
    // A received socket is known as one when first used (socketOf asks the host).
    for (let i = 0; i + 4 <= len; i += 4) v.setInt32(data + i, install(p, v.getInt32(data + i, true), O_RDWR, cloexec), true);
  }
  return c;
}

export interface SendRequest {
  iov: Iov;
  flags: number;
  /** The destination (sendto, sendmsg's msg_name), or null. */
  to: Uint8Array | null;
  /** Control messages as the guest laid them out, or null. */
  control: Uint8Array | null;
}

/**
 * send/sendto/sendmsg/write on a socket: bytes sent, a negative errno, or
 * NO_RESULT (parked until there is room).  A blocking send on a stream
 * socket sends everything before it returns, as Linux's does: the host
 * takes what fits, and the thread waits for room and goes on from there
 * (the bytes sent so far are kept in callWait across the call's retries).
 */
export function socketSend(p: Process, t: Thread, f: OpenFile, req: SendRequest): SyscallResult {
  const h = host();
  const info = socketOf(f);
  if (h === null || info === undefined) return -Errno.ENOTSOCK;
  const call = t.cpu.pc - 4;
  const sent = t.callWait?.pc === call ? t.callWait.sent ?? 0 : 0;
  const g = gather(p, req.iov, sent, info.type === SOCK_STREAM);
  if (typeof g === "number") return done(t, g);
  const [data, total] = g;
  // Control messages go with the first piece only.
  const control = req.control === null || sent > 0 ? null : outgoingControl(p, req.control);
  if (typeof control === "number") return done(t, control);
  const r = h.sendmsg(f.hostFd, req.to, data, control, req.flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL));
  const dontwait = (req.flags & MSG_DONTWAIT) !== 0;
  if (r === -Errno.EAGAIN) return sent > 0 ? more(p, t, f, sent, dontwait) : waitFor(t, f, POLLOUT, dontwait);
  if (r === -Errno.EPIPE && (req.flags & MSG_NOSIGNAL) === 0) {
    p.sigpipe();
  }
  if (r < 0) return done(t, sent > 0 ? sent : r);
  if (info.type === SOCK_STREAM && sent + r < total) return more(p, t, f, sent + r, dontwait);
  return done(t, sent + r);
}

/**
 * A stream send has moved `sent` bytes and has more: wait for room, unless
 * the call may not wait or a signal is there to be taken (the count so far
 * then, as Linux's unix_stream_sendmsg and tcp_sendmsg return).
 */
function more(p: Process, t: Thread, f: OpenFile, sent: number, dontwait: boolean): SyscallResult {
  if (deliverablePending(t, p.pending)) return done(t, sent);
  const w = waitFor(t, f, POLLOUT, dontwait);
  if (w !== NO_RESULT) return done(t, sent);
  (t.callWait as { sent?: number }).sent = sent;
  return w;
}

export interface RecvRequest {
  iov: Iov;
  flags: number;
  /** Where the sender's address goes (0: nowhere) and where its length is read and written. */
  nameAddr: number;
  nameLenAddr: number;
  /** Room for control messages (msg_control, msg_controllen), or length 0. */
  controlAddr: number;
  controlLen: number;
}

/** What recvmsg reports besides the byte count: the control length and msg_flags. */
export interface Received { n: number; controlLen: number; msgFlags: number }

/** recv/recvfrom/recvmsg/read on a socket: what was received, a negative errno, or NO_RESULT (parked). */
export function socketRecv(p: Process, t: Thread, f: OpenFile, req: RecvRequest): Received | number | typeof NO_RESULT {
  const h = host();
  if (h === null || socketOf(f) === undefined) return -Errno.ENOTSOCK;
  let total = 0;
  for (const [base, len] of req.iov) {
    if (!p.as.check(base, len, Prot.WRITE)) return -Errno.EFAULT;
    total += len;
  }
  const data = new Uint8Array(Math.min(total, MAX_MESSAGE));
  const name = new Uint8Array(req.nameAddr !== 0 ? SOCKADDR_MAX : 0);
  if (req.controlLen > 0 && !p.as.check(req.controlAddr, req.controlLen, Prot.WRITE)) return -Errno.EFAULT;
  const control = new Uint8Array(Math.max(0, Math.min(req.controlLen, 1 << 16)));
  const out = new Int32Array(3);
  const r = h.recvmsg(f.hostFd, data, name, control, req.flags & ~(MSG_DONTWAIT | MSG_CMSG_CLOEXEC), out);
  if (r === -Errno.EAGAIN) {
    const w = waitFor(t, f, POLLIN, (req.flags & MSG_DONTWAIT) !== 0);
    return w === NO_RESULT ? w : w as number;
  }
  t.callWait = undefined;
  if (r < 0) return r;
  // MSG_TRUNC may report a datagram longer than the buffer: only what fits is copied.
  let left = Math.min(r, data.length), at = 0;
  for (const [base, len] of req.iov) {
    if (left === 0) break;
    const n = Math.min(len, left);
    p.as.write(base, data.subarray(at, at + n));
    at += n;
    left -= n;
  }
  if (req.nameAddr !== 0) {
    const e = putAddress(p, req.nameAddr, req.nameLenAddr, name, out[0]);
    if (e < 0) return e;
  }
  const controlLen = Math.min(out[1], control.length);
  if (controlLen > 0) {
    const c = incomingControl(p, control.subarray(0, controlLen), (req.flags & MSG_CMSG_CLOEXEC) !== 0);
    p.as.write(req.controlAddr, c);
  }
  return { n: (req.flags & MSG_TRUNC) !== 0 ? r : Math.min(r, data.length), controlLen, msgFlags: out[2] };
}

/** read(2)/readv on a socket: recv with no flags. */
export function socketRead(p: Process, t: Thread, f: OpenFile, iov: Iov): SyscallResult {
  const r = socketRecv(p, t, f, { iov, flags: 0, nameAddr: 0, nameLenAddr: 0, controlAddr: 0, controlLen: 0 });
  return typeof r === "object" ? r.n : r;
}

/** write(2)/writev on a socket: send with no flags (SIGPIPE when the peer has gone). */
export function socketWrite(p: Process, t: Thread, f: OpenFile, iov: Iov): SyscallResult {
  return socketSend(p, t, f, { iov, flags: 0, to: null, control: null });
}
