/**
 * The socket calls: socket, socketpair, bind, listen, accept, accept4,
 * connect, getsockname, getpeername, sendto, recvfrom, setsockopt,
 * getsockopt, shutdown, sendmsg, recvmsg, sendmmsg, recvmmsg.  Each guest
 * socket is a host socket (see socket.ts); calls that would wait park the
 * thread instead.
 */
import { define, NO_RESULT, type SyscallArgs, type SyscallResult } from "../syscall.js";
import { Errno } from "../errno.js";
import { Prot } from "../address-space.js";
import type { OpenFile } from "../fd-table.js";
import type { Process } from "../process.js";
import type { Thread } from "../thread.js";
import { readIov } from "./io.js";
import { readTimespec, writeTimespec } from "./time.js";
import { deliverablePending } from "../signal.js";
import {
  done, host, installSocket, O_CLOEXEC, O_NONBLOCK, POLLIN, POLLOUT, putAddress, readAddress, socketOf, socketRecv,
  socketSend, SOCKADDR_MAX, SOL_SOCKET, waitFor, type Iov,
} from "../socket.js";
import type { HostSockets } from "../../../host/host-sockets.js";
import { fs } from "../../../host/fs.js";
import { accepted, connected, listening, pairMade, peerCred, SO_PEERCRED } from "../socket-cred.js";
import { nowMs } from "../../../host/time.js";

const MSG_DONTWAIT = 0x40, MSG_WAITFORONE = 0x10000;
/** The most bytes of a socket option passed either way. */
const MAX_OPTION = 4096;
/** struct msghdr and struct mmsghdr on riscv64. */
const MSGHDR_SIZE = 56, MMSGHDR_SIZE = 64;

/** Sockets whose blocking connect is in progress (EINPROGRESS), for the call made again. */
const connecting = new WeakSet<OpenFile>();

/** The guest socket fd with the host's calls; a negative errno for a descriptor not open (EBADF) or no socket (ENOTSOCK). */
function sock(p: Process, fd: number): [OpenFile, HostSockets] | number {
  const f = p.fds.get(fd);
  if (f === undefined) return -Errno.EBADF;
  const h = host();
  return h === null || socketOf(f) === undefined ? -Errno.ENOTSOCK : [f, h];
}

define(198, "socket", (p, _t, a) => {
  const h = host();
  if (h === null) return -Errno.EAFNOSUPPORT;
  const type = a.i32(1);
  const base = type & ~(O_NONBLOCK | O_CLOEXEC);
  const r = h.socket(a.i32(0), base, a.i32(2));
  return r < 0 ? r : installSocket(p, r, base, (type & O_NONBLOCK) !== 0, (type & O_CLOEXEC) !== 0);
});

define(199, "socketpair", (p, _t, a) => {
  const h = host();
  if (h === null) return -Errno.EAFNOSUPPORT;
  const type = a.i32(1), sv = a.n(3);
  if (!p.as.check(sv, 8, Prot.WRITE)) return -Errno.EFAULT;
  const base = type & ~(O_NONBLOCK | O_CLOEXEC);
  const fds = new Int32Array(2);
  const r = h.socketpair(a.i32(0), base, a.i32(2), fds);
  if (r < 0) return r;
  const nonblock = (type & O_NONBLOCK) !== 0, cloexec = (type & O_CLOEXEC) !== 0;
  const first = installSocket(p, fds[0], base, nonblock, cloexec);
  if (first < 0) {
    installSocket(p, fds[1], base, nonblock, cloexec); // closes it: the table is full
    return first;
  }
  const second = installSocket(p, fds[1], base, nonblock, cloexec);
  if (second < 0) {
    const f = p.fds.remove(first);
    if (f !== undefined) fs.closeSync(f.hostFd);
    return second;
  }
  pairMade(p, p.fds.get(first) as OpenFile, p.fds.get(second) as OpenFile);
  p.as.writeU32(sv, first);
  p.as.writeU32(sv + 4, second);
  return 0;
});

define(200, "bind", (p, _t, a) => {
  const s = sock(p, a.i32(0));
  if (typeof s === "number") return s;
  const addr = readAddress(p, a.n(1), a.i32(2));
  if (addr === null) return -Errno.EFAULT;
  return typeof addr === "number" ? addr : s[1].bind(s[0].hostFd, addr);
});

define(201, "listen", (p, _t, a) => {
  const s = sock(p, a.i32(0));
  if (typeof s === "number") return s;
  const r = s[1].listen(s[0].hostFd, a.i32(1));
  if (r === 0) listening(p, s[1], s[0]);
  return r;
});

define(210, "shutdown", (p, _t, a) => {
  const s = sock(p, a.i32(0));
  return typeof s === "number" ? s : s[1].shutdown(s[0].hostFd, a.i32(1));
});

function accept(p: Process, t: Thread, a: SyscallArgs, flags: number): SyscallResult {
  if ((flags & ~(O_NONBLOCK | O_CLOEXEC)) !== 0) return -Errno.EINVAL;
  const s = sock(p, a.i32(0));
  if (typeof s === "number") return s;
  const [f, h] = s;
  const addr = new Uint8Array(SOCKADDR_MAX), lens = new Int32Array(1);
  const r = h.accept(f.hostFd, addr, lens);
  if (r === -Errno.EAGAIN) return waitFor(t, f, POLLIN, false);
  if (r < 0) return done(t, r);
  const fd = installSocket(p, r, (socketOf(f) as { type: number }).type, (flags & O_NONBLOCK) !== 0,
    (flags & O_CLOEXEC) !== 0);
  if (fd < 0) return done(t, fd);
  accepted(p, h, f, p.fds.get(fd) as OpenFile);
  const e = putAddress(p, a.n(1), a.n(2), addr, lens[0]);
  return done(t, e < 0 ? e : fd);
}

define(202, "accept", (p, t, a) => accept(p, t, a, 0));
define(242, "accept4", (p, t, a) => accept(p, t, a, a.i32(3)));

define(203, "connect", (p, t, a) => {
  const s = sock(p, a.i32(0));
  if (typeof s === "number") return s;
  const [f, h] = s;
  const addr = readAddress(p, a.n(1), a.i32(2));
  if (addr === null) return -Errno.EFAULT;
  if (typeof addr === "number") return addr;
  const r = h.connect(f.hostFd, addr);
  const mine = connecting.has(f);
  // A blocking connect in progress: wait until the socket is writable, then the call made again says how it ended.
  if (r === -Errno.EINPROGRESS || (r === -Errno.EALREADY && mine)) {
    const w = waitFor(t, f, POLLOUT, false, r);
    if (w === NO_RESULT) connecting.add(f);
    else connecting.delete(f);
    return w;
  }
  connecting.delete(f);
  if (r === 0 || (r === -Errno.EISCONN && mine)) connected(p, h, f);
  if (r === -Errno.EISCONN && mine) return done(t, 0);
  // A Unix socket whose listener's queue is full: a blocking connect waits for room.
  if (r === -Errno.EAGAIN) return waitFor(t, f, POLLOUT, false);
  return done(t, r);
});

function name(p: Process, a: SyscallArgs, peer: boolean): number {
  const s = sock(p, a.i32(0));
  if (typeof s === "number") return s;
  const addr = new Uint8Array(SOCKADDR_MAX), lens = new Int32Array(1);
  const r = s[1].name(s[0].hostFd, peer, addr, lens);
  if (r < 0) return r;
  if (a.n(2) === 0 || !p.as.check(a.n(2), 4, Prot.READ)) return -Errno.EFAULT;
  return putAddress(p, a.n(1), a.n(2), addr, lens[0]);
}

define(204, "getsockname", (p, _t, a) => name(p, a, false));
define(205, "getpeername", (p, _t, a) => name(p, a, true));

define(206, "sendto", (p, t, a) => {
  const s = sock(p, a.i32(0));
  if (typeof s === "number") return s;
  const to = a.n(4) === 0 ? null : readAddress(p, a.n(4), a.i32(5));
  if (typeof to === "number") return to;
  return socketSend(p, t, s[0], { iov: [[a.n(1), a.n(2)]], flags: a.i32(3), to, control: null });
});

define(207, "recvfrom", (p, t, a) => {
  const s = sock(p, a.i32(0));
  if (typeof s === "number") return s;
  const r = socketRecv(p, t, s[0], {
    iov: [[a.n(1), a.n(2)]], flags: a.i32(3), nameAddr: a.n(4), nameLenAddr: a.n(5), controlAddr: 0, controlLen: 0,
  });
  return typeof r === "object" ? r.n : r;
});

define(208, "setsockopt", (p, _t, a) => {
  const s = sock(p, a.i32(0));
  if (typeof s === "number") return s;
  const len = a.i32(4);
  if (len < 0 || len > MAX_OPTION) return -Errno.EINVAL;
  if (!p.as.check(a.n(3), len, Prot.READ)) return -Errno.EFAULT;
  return s[1].setsockopt(s[0].hostFd, a.i32(1), a.i32(2), p.as.read(a.n(3), len));
});

define(209, "getsockopt", (p, _t, a) => {
  const s = sock(p, a.i32(0));
  if (typeof s === "number") return s;
  const lenAddr = a.n(4);
  if (!p.as.check(lenAddr, 4, Prot.READ | Prot.WRITE)) return -Errno.EFAULT;
  const room = p.as.readU32(lenAddr) | 0;
  if (room < 0) return -Errno.EINVAL;
  const out = new Uint8Array(Math.min(room, MAX_OPTION)), lens = new Int32Array(1);
  // The peer's credentials as the guest's kernel recorded them, when it did (socket-cred.ts).
  const cred = a.i32(1) === SOL_SOCKET && a.i32(2) === SO_PEERCRED ? peerCred(s[0]) : undefined;
  const r = cred !== undefined ? 0 : s[1].getsockopt(s[0].hostFd, a.i32(1), a.i32(2), out, lens);
  if (r < 0) return r;
  if (cred !== undefined) {
    lens[0] = Math.min(cred.length, out.length);
    out.set(cred.subarray(0, lens[0]));
  }
  const n = Math.min(lens[0], out.length);
  if (!p.as.check(a.n(3), n, Prot.WRITE)) return -Errno.EFAULT;
  p.as.write(a.n(3), out.subarray(0, n));
  p.as.writeU32(lenAddr, lens[0]);
  return 0;
});

/** A struct msghdr at addr: its parts, or a negative errno. */
interface MsgHdr { name: number; nameLen: number; iov: Iov; control: number; controlLen: number }
function readMsgHdr(p: Process, addr: number): MsgHdr | number {
  if (!p.as.check(addr, MSGHDR_SIZE, Prot.READ)) return -Errno.EFAULT;
  const iov = readIov(p, Number(p.as.readU64(addr + 16)), Number(p.as.readU64(addr + 24)));
  if (typeof iov === "number") return iov;
  return {
    name: Number(p.as.readU64(addr)), nameLen: p.as.readU32(addr + 8) | 0, iov,
    control: Number(p.as.readU64(addr + 32)), controlLen: Number(p.as.readU64(addr + 40)),
  };
}

function sendMsg(p: Process, t: Thread, f: OpenFile, msg: number, flags: number): SyscallResult {
  const m = readMsgHdr(p, msg);
  if (typeof m === "number") return m;
  const to = m.name === 0 ? null : readAddress(p, m.name, m.nameLen);
  if (typeof to === "number") return to;
  if (m.controlLen > 1 << 16) return -Errno.ENOBUFS;
  if (m.controlLen > 0 && !p.as.check(m.control, m.controlLen, Prot.READ)) return -Errno.EFAULT;
  const control = m.controlLen > 0 ? p.as.read(m.control, m.controlLen) : null;
  return socketSend(p, t, f, { iov: m.iov, flags, to, control });
}

function recvMsg(p: Process, t: Thread, f: OpenFile, msg: number, flags: number): SyscallResult {
  const m = readMsgHdr(p, msg);
  if (typeof m === "number") return m;
  if (!p.as.check(msg, MSGHDR_SIZE, Prot.WRITE)) return -Errno.EFAULT;
  // The guest's msg_namelen is both the room for the address and where its length goes.
  const r = socketRecv(p, t, f, {
    iov: m.iov, flags, nameAddr: m.name, nameLenAddr: m.name === 0 ? 0 : msg + 8,
    controlAddr: m.control, controlLen: m.controlLen,
  });
  if (typeof r !== "object") return r;
  if (m.name === 0) p.as.writeU32(msg + 8, 0);
  p.as.writeU64(msg + 40, BigInt(r.controlLen));
  p.as.writeU32(msg + 48, r.msgFlags);
  return r.n;
}

define(211, "sendmsg", (p, t, a) => {
  const s = sock(p, a.i32(0));
  return typeof s === "number" ? s : sendMsg(p, t, s[0], a.n(1), a.i32(2));
});

define(212, "recvmsg", (p, t, a) => {
  const s = sock(p, a.i32(0));
  return typeof s === "number" ? s : recvMsg(p, t, s[0], a.n(1), a.i32(2));
});

/**
 * sendmmsg and recvmmsg, as Linux's do_sendmmsg and do_recvmmsg: one message
 * after another into the vector's msg_len fields, each call of them blocking
 * as sendmsg/recvmsg would (a blocking recvmmsg waits for all vlen messages)
 * unless MSG_WAITFORONE makes the ones after the first MSG_DONTWAIT.  The
 * messages moved so far are kept in callWait.moved while the thread waits for
 * the next.  recvmmsg's timeout is looked at after each message (so, as in
 * Linux, it does not end a wait for one) and what is left of it is written
 * back.  A failure after some messages returns their count; so does a
 * signal that comes while the call waits for the next message.
 */
function multiple(p: Process, t: Thread, a: SyscallArgs, receiving: boolean): SyscallResult {
  const s = sock(p, a.i32(0));
  if (typeof s === "number") return s;
  const vec = a.n(1), vlen = Math.min(a.u32(2), 1024);
  const waitForOne = receiving && (a.i32(3) & MSG_WAITFORONE) !== 0;
  let flags = a.i32(3) & ~MSG_WAITFORONE;
  if (!p.as.check(vec, vlen * MMSGHDR_SIZE, Prot.READ | Prot.WRITE)) return -Errno.EFAULT;
  const call = t.cpu.pc - 4;
  const before = t.callWait?.pc === call ? t.callWait : undefined;
  let n = before?.moved ?? 0;
  // The end of recvmmsg's timeout (nowMs() ms), from its first try.
  let until = before?.until;
  const timeoutAddr = receiving ? a.n(4) : 0;
  if (timeoutAddr !== 0 && until === undefined) {
    const ns = readTimespec(p, timeoutAddr);
    if (typeof ns === "number") return ns;
    until = nowMs() + Number(ns) / 1e6;
  }
  const one = receiving ? recvMsg : sendMsg;
  for (; n < vlen; n++) {
    if (n > 0 && waitForOne) flags |= MSG_DONTWAIT;
    const r = one(p, t, s[0], vec + n * MMSGHDR_SIZE, flags);
    if (r === NO_RESULT) {
      if (n > 0 && deliverablePending(t, p.pending)) return finish(p, t, n, timeoutAddr, until);
      // Parked for the next message (waitFor made callWait): what was moved stays with it.
      const w = t.callWait;
      if (w !== undefined) {
        w.moved = n;
        w.until = until;
      }
      return r;
    }
    if (typeof r === "number" && r < 0) return n > 0 ? finish(p, t, n, timeoutAddr, until) : done(t, r);
    p.as.writeU32(vec + n * MMSGHDR_SIZE + 56, Number(r));
    if (until !== undefined && nowMs() >= until) {
      n++;
      break;
    }
  }
  return finish(p, t, n, timeoutAddr, until);
}

/** End a sendmmsg/recvmmsg that moved n messages: recvmmsg's timeout gets what is left of it. */
function finish(p: Process, t: Thread, n: number, timeoutAddr: number, until: number | undefined): SyscallResult {
  if (n > 0 && timeoutAddr !== 0 && until !== undefined) {
    const left = Math.max(0, until - nowMs());
    if (writeTimespec(p, timeoutAddr, BigInt(Math.round(left * 1e6))) < 0) return done(t, -Errno.EFAULT);
  }
  return done(t, n);
}

define(269, "sendmmsg", (p, t, a) => multiple(p, t, a, false));
define(243, "recvmmsg", (p, t, a) => multiple(p, t, a, true));
