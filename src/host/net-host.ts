/**
 * The user-mode network stack's host on Node: TCP with node:net (half-open
 * allowed, so each direction closes on its own; resetAndDestroy for RST),
 * UDP with node:dgram, names with dns.lookup (getaddrinfo: the hosts file
 * and the host's resolvers), timers that do not keep the process alive.
 */
import * as net from "node:net";
import * as dgram from "node:dgram";
import * as dns from "node:dns";
import type {
  HostAddress,
  HostListener,
  HostTcpAccepted,
  HostTcpError,
  HostTcpEvents,
  HostTcpSocket,
  HostUdpSocket,
  LookupResult,
  NetHost,
} from "../net/user/net-host.js";

function errorKind(err: NodeJS.ErrnoException): HostTcpError {
  switch (err.code) {
    case "ECONNREFUSED":
      return "refused";
    case "ECONNRESET":
    case "EPIPE":
      return "reset";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "unreachable";
    case "ETIMEDOUT":
      return "timeout";
    default:
      return "other";
  }
}

/** Runs a stack callback; an exception in it is reported, not thrown into Node's event loop. */
type Guard = (fn: () => void) => void;

/** Wire a node socket to the stack's events; the returned handle is the stack's view of it. */
function wrap(sock: net.Socket, events: HostTcpEvents, outbound: boolean, guard: Guard): HostTcpSocket {
  let done = false;
  sock.setNoDelay(true);
  if (outbound) sock.once("connect", () => !done && guard(() => events.connected()));
  sock.on("data", (b: Buffer) => !done && guard(() => events.data(new Uint8Array(b.buffer, b.byteOffset, b.length))));
  sock.on("end", () => !done && guard(() => events.end()));
  sock.on("drain", () => !done && guard(() => events.drain()));
  sock.on("error", (err: NodeJS.ErrnoException) => {
    if (done) return;
    done = true;
    guard(() => events.error(errorKind(err)));
  });
  sock.on("close", () => {
    if (done) return;
    done = true;
    guard(() => events.closed());
  });
  return {
    write: (bytes) => (done || sock.destroyed ? true : sock.write(bytes)),
    end: () => {
      if (!done && !sock.destroyed) sock.end();
    },
    reset: () => {
      done = true;
      if (sock.destroyed) return;
      // resetAndDestroy sends RST; before the connection exists there is nothing to reset.
      if (sock.connecting) sock.destroy();
      else sock.resetAndDestroy();
    },
    pause: () => {
      sock.pause();
    },
    resume: () => {
      sock.resume();
    },
  };
}

export function createNodeNetHost(warn: (message: string) => void = (m) => process.stderr.write(`${m}\n`)): NetHost {
  const start = process.hrtime.bigint();
  // The stack is written not to throw; should a bug make it, the emulator must go on (one warning).
  let warned = false;
  const guard: Guard = (fn) => {
    try {
      fn();
    } catch (e) {
      if (!warned) warn(`user-mode network error: ${e instanceof Error ? e.message : String(e)}`);
      warned = true;
    }
  };
  return {
    now: () => Number((process.hrtime.bigint() - start) / 1_000_000n),
    setTimer(ms, fn) {
      const t = setTimeout(() => guard(fn), ms);
      t.unref();
      return () => clearTimeout(t);
    },
    tcpConnect(address, port, events) {
      const sock = net.connect({ host: address, port, allowHalfOpen: true });
      return wrap(sock, events, true, guard);
    },
    tcpListen(address, port, accepted, failed, bound): HostListener {
      const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (sock) => {
        const conn: HostTcpAccepted = {
          remoteAddress: net.isIPv4(sock.remoteAddress ?? "") ? (sock.remoteAddress ?? "") : (sock.remoteAddress ?? "").replace(/^::ffff:/, ""),
          remotePort: sock.remotePort ?? 0,
          open: (events) => wrap(sock, events, false, guard),
        };
        guard(() => accepted(conn));
      });
      server.on("error", (err: NodeJS.ErrnoException) => guard(() => failed(err.message)));
      if (bound !== undefined) server.once("listening", () => guard(bound));
      server.listen({ host: address === "" ? "0.0.0.0" : address, port });
      server.unref();
      return { close: () => server.close() };
    },
    udpBind(address, port, events, failed, bound): HostUdpSocket {
      const sock = dgram.createSocket("udp4");
      let closed = false;
      sock.on("message", (msg, rinfo) => !closed && guard(() => events.message(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), rinfo.address, rinfo.port)));
      sock.on("error", (err) => {
        if (closed) return;
        closed = true;
        sock.close();
        guard(() => failed(err.message));
      });
      if (bound !== undefined) sock.once("listening", () => !closed && guard(bound));
      sock.bind({ address: address === "" ? undefined : address, port });
      sock.unref();
      return {
        send: (bytes, addr, p) => {
          if (!closed) sock.send(bytes, p, addr, () => {});
        },
        close: () => {
          if (closed) return;
          closed = true;
          sock.close();
        },
      };
    },
    lookup(name, done) {
      const answer = (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]): void => {
        let result: LookupResult;
        if (err) result = { ok: false, why: err.code === "ENOTFOUND" || err.code === "ENODATA" ? "notfound" : "error" };
        else result = { ok: true, addresses: addresses.map((a): HostAddress => ({ address: a.address, family: a.family === 6 ? 6 : 4 })) };
        guard(() => done(result));
      };
      try {
        dns.lookup(name, { all: true, family: 0 }, answer);
      } catch {
        // A name Node refuses outright (e.g. one with a NUL byte) fails like a lookup would, later.
        queueMicrotask(() => guard(() => done({ ok: false, why: "error" })));
      }
    },
    warn,
  };
}
