/**
 * Host sockets for a user-mode guest, and poll(2) over host descriptors,
 * from tsemu's native module native/guest-sockets.c (Node has neither a
 * synchronous socket API nor poll).  Every call returns at once: a negative
 * errno where the host's call failed or would have waited.  Where the
 * module is missing (no C compiler when tsemu was built), hostSockets() is
 * null: the guest's socket calls then fail with EAFNOSUPPORT, and readiness
 * falls back to what the emulator can find out without poll.
 */
import { nativeModule } from "./native.js";

export interface HostSockets {
  socket(domain: number, type: number, protocol: number): number;
  socketpair(domain: number, type: number, protocol: number, fds: Int32Array): number;
  bind(fd: number, addr: Uint8Array): number;
  /** Never waits: -EINPROGRESS (or -EAGAIN for a Unix socket whose listener's queue is full) when it would. */
  connect(fd: number, addr: Uint8Array): number;
  listen(fd: number, backlog: number): number;
  shutdown(fd: number, how: number): number;
  /** The new descriptor; addr gets the peer's address and lens[0] its full length. */
  accept(fd: number, addr: Uint8Array, lens: Int32Array): number;
  /** getsockname (peer false) or getpeername, filled as accept fills. */
  name(fd: number, peer: boolean, addr: Uint8Array, lens: Int32Array): number;
  setsockopt(fd: number, level: number, name: number, value: Uint8Array): number;
  getsockopt(fd: number, level: number, name: number, out: Uint8Array, lens: Int32Array): number;
  sendmsg(fd: number, addr: Uint8Array | null, data: Uint8Array, control: Uint8Array | null, flags: number): number;
  /** out: [address length, control length, msg_flags]. */
  recvmsg(fd: number, data: Uint8Array, addr: Uint8Array, control: Uint8Array, flags: number, out: Int32Array): number;
  poll(fds: Int32Array, events: Int32Array, revents: Int32Array, timeoutMs: number): number;
}

/** The host's socket calls, or null without the native module. */
export function hostSockets(): HostSockets | null {
  return nativeModule<HostSockets>("guest-sockets");
}

const one = { fds: new Int32Array(1), events: new Int32Array(1), revents: new Int32Array(1) };

/**
 * The poll(2) events (POLLIN, POLLOUT, POLLHUP, POLLERR...) of one host
 * descriptor now, of those asked for (POLLHUP and POLLERR always); undefined
 * without the native module.
 */
export function hostReadiness(fd: number, events: number): number | undefined {
  const m = hostSockets();
  if (m === null) return undefined;
  one.fds[0] = fd;
  one.events[0] = events;
  return m.poll(one.fds, one.events, one.revents, 0) > 0 ? one.revents[0] : 0;
}

/**
 * Wait up to timeoutMs for any of the descriptors to become ready for its
 * events; the indices of the ready ones (none after the timeout or a signal).
 * Without the native module, sleeps are the caller's business: [] at once.
 */
export function hostWaitAny(fds: readonly number[], events: readonly number[], timeoutMs: number): number[] {
  const m = hostSockets();
  if (m === null || fds.length === 0) return [];
  const f = Int32Array.from(fds), e = Int32Array.from(events), r = new Int32Array(fds.length);
  if (m.poll(f, e, r, Math.max(0, Math.min(0x7fffffff, Math.ceil(timeoutMs)))) <= 0) return [];
  const ready: number[] = [];
  for (let i = 0; i < r.length; i++) if (r[i] !== 0) ready.push(i);
  return ready;
}
