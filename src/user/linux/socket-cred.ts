/**
 * Peer credentials of guest sockets (SO_PEERCRED).  A guest socket is a host
 * socket (socket.ts), so the host kernel's answer names the host process
 * that made the peer: for two guest processes of one run, tsemu itself.
 * Linux records the peer's credentials when the connection is made, and the
 * emulated kernel records the guest's the same way:
 *   - socketpair: each end's peer is the process that made the pair;
 *   - connect to a Unix-domain stream listener of this run: the connecting
 *     socket's peer is the process that called listen(), and the socket that
 *     accept() returns for it has the connecting process as its peer.  The
 *     listener's queue is first in, first out, and every connect of this run
 *     is made from its one thread, so the connections from guest processes
 *     are accepted in the order they were recorded.
 * The host's answer stands for every other socket (a peer that is a host
 * program names that program, as it does under qemu-riscv64).
 */
import type { OpenFile } from "./fd-table.js";
import type { Kernel } from "./kernel.js";
import type { Process } from "./process.js";
import type { HostSockets } from "../../host/host-sockets.js";
import { SOCKADDR_MAX, SOL_SOCKET } from "./socket.js";
import { hostPid } from "../../host/proc.js";

export const SO_PEERCRED = 17;
const AF_UNIX = 1;
/** struct ucred: pid, uid, gid (int32 each). */
const UCRED_SIZE = 12;

export interface Ucred { pid: number; uid: number; gid: number }

/** A Unix-domain listener of this run: who listened, and who connected and was not accepted yet. */
interface Listener { cred: Ucred; waiting: Ucred[] }

const peers = new WeakMap<OpenFile, Ucred>();
/** Per kernel: listeners by their host address (getsockname's bytes). */
const listeners = new WeakMap<Kernel, Map<string, Listener>>();
/** A listening socket's key in its kernel's map. */
const listenKeys = new WeakMap<OpenFile, string>();

function credOf(p: Process): Ucred {
  return { pid: p.pid, uid: p.uid, gid: p.gid };
}

function listenersOf(k: Kernel): Map<string, Listener> {
  let m = listeners.get(k);
  if (m === undefined) listeners.set(k, (m = new Map()));
  return m;
}

/** The host's name of fd (its peer's with `peer`), as a key: undefined unless a named Unix-domain address. */
function unixKey(h: HostSockets, fd: number, peer: boolean): string | undefined {
  const addr = new Uint8Array(SOCKADDR_MAX), lens = new Int32Array(1);
  if (h.name(fd, peer, addr, lens) < 0 || lens[0] <= 2) return undefined;
  if ((addr[0] | (addr[1] << 8)) !== AF_UNIX) return undefined;
  return String.fromCharCode(...addr.subarray(0, Math.min(lens[0], SOCKADDR_MAX)));
}

/** Whether the host says the peer of fd was made by this process (so by a guest process of this run). */
function peerIsThisRun(h: HostSockets, fd: number): boolean {
  const out = new Uint8Array(UCRED_SIZE), lens = new Int32Array(1);
  if (h.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, out, lens) < 0 || lens[0] < 4) return false;
  return new DataView(out.buffer).getInt32(0, true) === hostPid();
}

/** `p` made the pair a, b. */
export function pairMade(p: Process, a: OpenFile, b: OpenFile): void {
  const cred = credOf(p);
  peers.set(a, cred);
  peers.set(b, cred);
}

/** `p` made `f` listen. */
export function listening(p: Process, h: HostSockets, f: OpenFile): void {
  const key = unixKey(h, f.hostFd, false);
  if (key === undefined) return;
  listenKeys.set(f, key);
  listenersOf(p.kernel).set(key, { cred: credOf(p), waiting: [] });
}

/** `p` connected `f`. */
export function connected(p: Process, h: HostSockets, f: OpenFile): void {
  const key = unixKey(h, f.hostFd, true);
  if (key === undefined || !peerIsThisRun(h, f.hostFd)) return;
  const l = listenersOf(p.kernel).get(key);
  if (l === undefined) return;
  peers.set(f, l.cred);
  l.waiting.push(credOf(p));
}

/** The listener `f` of `p` accepted `c`. */
export function accepted(p: Process, h: HostSockets, f: OpenFile, c: OpenFile): void {
  const key = listenKeys.get(f);
  if (key === undefined || !peerIsThisRun(h, c.hostFd)) return;
  const l = listenersOf(p.kernel).get(key);
  const cred = l?.waiting.shift();
  if (cred !== undefined) peers.set(c, cred);
}

/** SO_PEERCRED of `f` as the guest's kernel knows it (struct ucred), or undefined: ask the host. */
export function peerCred(f: OpenFile): Uint8Array | undefined {
  const cred = peers.get(f);
  if (cred === undefined) return undefined;
  const out = new Uint8Array(UCRED_SIZE);
  const v = new DataView(out.buffer);
  v.setInt32(0, cred.pid, true);
  v.setUint32(4, cred.uid, true);
  v.setUint32(8, cred.gid, true);
  return out;
}
