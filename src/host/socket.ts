/**
 * Listening sockets for character devices (QEMU's `-chardev socket,server=on`
 * and the tcp:/unix: forms of -qmp and -monitor): TCP or a UNIX-domain path.
 * One client is served at a time, as QEMU does: a second client's connection
 * is accepted but left unread, with no greeting, until the first one leaves.
 * A client that reads nothing cannot make us buffer without end: past a
 * megabyte of unsent output we stop reading its input until it catches up.
 */
import type * as net from "node:net";
import { net as loadNet } from "./builtin.js";
import * as fs from "node:fs";
import * as path from "node:path";

export type ListenAddress = { kind: "tcp"; host: string; port: number } | { kind: "unix"; path: string };

export interface Connection {
  /** The client's address ("127.0.0.1:51234"), or "" for a UNIX socket. */
  readonly peer: string;
  write(data: string | Uint8Array): void;
  close(): void;
}

export interface ListenHandler {
  connect(conn: Connection): void;
  data(conn: Connection, bytes: Uint8Array): void;
  disconnect(conn: Connection): void;
}

/** Output held for a client beyond which its input is no longer read. */
const HIGH_WATER = 1024 * 1024;

const ERRNO_TEXT: Record<string, string> = {
  EADDRINUSE: "Address already in use",
  EACCES: "Permission denied",
  EADDRNOTAVAIL: "Cannot assign requested address",
  ENOENT: "No such file or directory",
  ENOTDIR: "Not a directory",
  ENAMETOOLONG: "File name too long",
  EINVAL: "Invalid argument",
  EPERM: "Operation not permitted",
  ECONNREFUSED: "Connection refused",
  ECONNRESET: "Connection reset by peer",
  ETIMEDOUT: "Connection timed out",
  EHOSTUNREACH: "No route to host",
  ENETUNREACH: "Network is unreachable",
  ENOTFOUND: "Name or service not known",
};

/** The C library's text for a Node error (as QEMU's messages show it). */
export function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return (err.code !== undefined ? ERRNO_TEXT[err.code] : undefined) ?? err.message;
}

class SocketConnection implements Connection {
  private outputPaused = false;

  constructor(readonly socket: net.Socket, readonly peer: string) {
    socket.on("drain", () => {
      if (this.outputPaused) {
        this.outputPaused = false;
        socket.resume();
      }
    });
  }

  write(data: string | Uint8Array): void {
    const s = this.socket;
    if (s.destroyed || !s.writable) return;
    s.write(data);
    if (s.writableLength > HIGH_WATER && !this.outputPaused) {
      this.outputPaused = true;
      s.pause();
    }
  }

  close(): void {
    this.socket.end();
    this.socket.destroySoon();
  }

  /** Resolves once everything written has left (or the client is gone). */
  flushed(): Promise<void> {
    const s = this.socket;
    if (s.destroyed || s.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        s.off("drain", done);
        s.off("close", done);
        resolve();
      };
      s.on("drain", done);
      s.on("close", done);
    });
  }
}

export class SocketListener {
  private current: SocketConnection | undefined;
  private readonly waiting: net.Socket[] = [];

  private constructor(private readonly server: net.Server, readonly address: ListenAddress, private readonly handler: ListenHandler) {}

  /** Bind and listen; rejects with QEMU's "Failed to bind socket: ..." text. */
  static listen(address: ListenAddress, handler: ListenHandler): Promise<SocketListener> {
    if (address.kind === "unix") {
      // A socket file left by an earlier run would make bind fail, as QEMU's unlink before bind avoids.
      try {
        if (fs.statSync(address.path).isSocket()) fs.unlinkSync(address.path);
      } catch {
        // nothing there
      }
      // Node reports a missing directory as EACCES; say what QEMU says.
      if (!fs.existsSync(path.dirname(path.resolve(address.path)))) {
        return Promise.reject(new Error("Failed to bind socket: No such file or directory"));
      }
    }
    const server = loadNet().createServer({ pauseOnConnect: true });
    const listener = new SocketListener(server, address, handler);
    server.on("connection", (socket) => listener.accept(socket));
    return new Promise((resolve, reject) => {
      server.once("error", (e) => reject(new Error(`Failed to bind socket: ${errnoText(e)}`)));
      const ready = (): void => {
        server.on("error", () => { /* after listening: per-connection errors are handled there */ });
        resolve(listener);
      };
      if (address.kind === "tcp") server.listen({ host: address.host, port: address.port, exclusive: true }, ready);
      else server.listen(address.path, ready);
    });
  }

  /** The client being served, if any. */
  get client(): Connection | undefined {
    return this.current;
  }

  /** The TCP port (useful when 0 asked for any). */
  get port(): number {
    const a = this.server.address();
    return typeof a === "object" && a !== null ? a.port : 0;
  }

  private accept(socket: net.Socket): void {
    socket.on("error", () => { /* a reset connection ends in 'close' */ });
    if (this.current !== undefined) {
      this.waiting.push(socket);
      socket.once("close", () => {
        const i = this.waiting.indexOf(socket);
        if (i >= 0) this.waiting.splice(i, 1);
      });
      return;
    }
    this.serve(socket);
  }

  private serve(socket: net.Socket): void {
    if (socket.destroyed) {
      this.next();
      return;
    }
    if (this.address.kind === "tcp") socket.setNoDelay(true);
    const peer = this.address.kind === "tcp" ? `${socket.remoteAddress ?? ""}:${socket.remotePort ?? 0}` : "";
    const conn = new SocketConnection(socket, peer);
    this.current = conn;
    socket.on("data", (d: Buffer) => {
      if (this.current === conn) this.handler.data(conn, new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    });
    socket.on("end", () => socket.end());
    socket.once("close", () => {
      if (this.current !== conn) return;
      this.current = undefined;
      this.handler.disconnect(conn);
      this.next();
    });
    this.handler.connect(conn);
    socket.resume();
  }

  private next(): void {
    const socket = this.waiting.shift();
    if (socket !== undefined) this.serve(socket);
  }

  /** Resolves when the current client has been sent everything written to it. */
  flushed(): Promise<void> {
    return this.current?.flushed() ?? Promise.resolve();
  }

  close(): void {
    this.server.close();
    this.current?.close();
    for (const s of this.waiting) s.destroy();
    if (this.address.kind === "unix") {
      try {
        fs.unlinkSync(this.address.path);
      } catch {
        // already gone
      }
    }
  }
}
