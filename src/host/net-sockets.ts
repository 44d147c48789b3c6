/**
 * The host side of the socket backends (src/net/net-host.ts) with Node's
 * net and dgram modules.  Errors reach the caller as Error objects whose
 * message is the C library's text ("Connection refused"), as QEMU prints.
 */
import * as net from "node:net";
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import type { DatagramSocket, NetAddress, NetHost, StreamEvents, StreamListener, StreamPeer } from "../net/net-host.js";
import { errnoText } from "./socket.js";
import { unixDatagram } from "./unix-dgram.js";

/** Bytes queued to a slow peer before frames are dropped (the guest must not grow our memory without bound). */
const MAX_PENDING_WRITE = 8 * 1024 * 1024;

function asError(e: unknown): Error {
  return new Error(errnoText(e));
}

class NodeStreamPeer implements StreamPeer {
  constructor(private readonly socket: net.Socket, readonly remote: string) {}

  write(bytes: Uint8Array): void {
    if (this.socket.destroyed || this.socket.writableLength > MAX_PENDING_WRITE) return;
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }
}

function remoteOf(s: net.Socket, addr: NetAddress): string {
  if (addr.kind === "unix") return addr.path;
  return `${s.remoteAddress ?? "?"}:${s.remotePort ?? 0}`;
}

/** Wire a connected socket to its handlers. */
function wire(s: net.Socket, events: StreamEvents): void {
  s.setNoDelay(true);
  s.on("data", (d: Buffer) => events.data(new Uint8Array(d.buffer, d.byteOffset, d.length)));
  let gone = false;
  const closed = (): void => {
    if (gone) return;
    gone = true;
    events.closed();
  };
  s.on("error", closed);
  s.on("close", closed);
}

const listenOptions = (addr: NetAddress): net.ListenOptions =>
  addr.kind === "inet" ? { host: addr.host, port: addr.port, exclusive: true } : { path: addr.path };

export function nodeNetHost(log: (message: string) => void): NetHost {
  return {
    log,
    listen: (addr, accept) => new Promise<StreamListener>((resolve, reject) => {
      // A socket file left by an earlier run is replaced, as QEMU does (anything else at the path is an error).
      if (addr.kind === "unix") {
        try {
          if (fs.lstatSync(addr.path).isSocket()) fs.unlinkSync(addr.path);
        } catch { /* nothing there */ }
      }
      const server = net.createServer((s) => {
        const peer = new NodeStreamPeer(s, remoteOf(s, addr));
        wire(s, accept(peer));
      });
      server.once("error", (e) => reject(asError(e)));
      server.listen(listenOptions(addr), () => {
        server.removeAllListeners("error");
        server.on("error", (e) => log(`listening socket: ${errnoText(e)}`));
        resolve({ close: () => server.close() });
      });
    }),
    connect: (addr, events) => new Promise<StreamPeer>((resolve, reject) => {
      const s = addr.kind === "inet" ? net.connect({ host: addr.host, port: addr.port }) : net.connect({ path: addr.path });
      s.once("error", (e) => reject(asError(e)));
      s.once("connect", () => {
        s.removeAllListeners("error");
        const peer = new NodeStreamPeer(s, remoteOf(s, addr));
        wire(s, events(peer));
        resolve(peer);
      });
    }),
    datagram: (local, remote, receive) => new Promise<DatagramSocket>((resolve, reject) => {
      const s = dgram.createSocket({ type: net.isIPv6(local.host) ? "udp6" : "udp4" });
      s.once("error", (e) => reject(asError(e)));
      s.on("message", (d: Buffer) => receive(new Uint8Array(d.buffer, d.byteOffset, d.length)));
      s.bind(local.port, local.host, () => {
        s.removeAllListeners("error");
        s.on("error", (e) => log(`udp socket: ${errnoText(e)}`));
        resolve({
          send: (bytes) => s.send(bytes, remote.port, remote.host),
          close: () => s.close(),
        });
      });
    }),
    unixDatagram: (localPath, remotePath, receive) => new Promise<DatagramSocket>((resolve) => {
      resolve(unixDatagram(localPath, remotePath, receive, log));
    }),
    // As QEMU's net_socket_mcast_create: SO_REUSEADDR, bound to the group and its port, joined, looped back.
    multicast: (group, localAddr, receive) => new Promise<DatagramSocket>((resolve, reject) => {
      const s = dgram.createSocket({ type: "udp4", reuseAddr: true });
      s.once("error", (e) => reject(asError(e)));
      s.on("message", (d: Buffer) => receive(new Uint8Array(d.buffer, d.byteOffset, d.length)));
      s.bind(group.port, group.host, () => {
        try {
          s.addMembership(group.host, localAddr);
          s.setMulticastLoopback(true);
          if (localAddr !== undefined) s.setMulticastInterface(localAddr);
        } catch (e) {
          s.close();
          reject(asError(e));
          return;
        }
        s.removeAllListeners("error");
        s.on("error", (e) => log(`udp socket: ${errnoText(e)}`));
        resolve({
          send: (bytes) => s.send(bytes, group.port, group.host),
          close: () => s.close(),
        });
      });
    }),
  };
}
