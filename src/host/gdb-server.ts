/**
 * The TCP listener of the system emulator's gdbstub (-s, -gdb tcp::PORT):
 * one gdb at a time, as QEMU; further connections are refused while one is
 * open.  Bytes go both ways unchanged; Nagle is off, since the protocol is
 * one small packet at a time.
 */
import * as net from "node:net";

export interface GdbConnection {
  write(bytes: Uint8Array): void;
  close(): void;
}

/** What to do with one connection's bytes. */
export interface GdbSession {
  data(bytes: Uint8Array): void;
  closed(): void;
}

export interface GdbListener {
  /** The port listened on, once listening (useful with port 0). */
  readonly listening: Promise<number>;
  close(): Promise<void>;
}

export interface GdbListenOptions {
  port: number;
  /** Default: loopback only. */
  host?: string;
  connected(conn: GdbConnection): GdbSession;
  /** The port could not be opened. */
  error(err: Error): void;
}

export function listenGdb(opts: GdbListenOptions): GdbListener {
  let active: net.Socket | undefined;
  const server = net.createServer((socket) => {
    if (active !== undefined) {
      socket.destroy();
      return;
    }
    active = socket;
    socket.setNoDelay(true);
    const session = opts.connected({
      write: (bytes) => { if (!socket.destroyed) socket.write(bytes); },
      close: () => socket.end(),
    });
    socket.on("data", (d: Buffer) => session.data(new Uint8Array(d.buffer, d.byteOffset, d.length)));
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      active = undefined;
      session.closed();
    });
  });
  const listening = new Promise<number>((resolve) => {
    server.once("error", (e) => opts.error(e));
    server.listen(opts.port, opts.host ?? "127.0.0.1", () => {
      const a = server.address();
      resolve(typeof a === "object" && a !== null ? a.port : opts.port);
    });
  });
  return {
    listening,
    close: () => new Promise<void>((resolve) => {
      active?.destroy();
      server.close(() => resolve());
    }),
  };
}
