/**
 * A minimal remote-protocol client for tests that need what batch-mode gdb
 * cannot do (Ctrl-C at a chosen moment, raw packets): it frames packets,
 * acks replies until no-ack mode, and hands back reply payloads in order.
 */
import * as net from "node:net";
import { frame } from "../../src/gdbstub/packet.js";
import { bytesOf, latin1 } from "../../src/gdbstub/hex.js";

export class RspClient {
  private buffer = "";
  private readonly replies: string[] = [];
  private waiters: ((reply: string) => void)[] = [];
  private ack = true;
  /** Resolves when the stub closes the connection. */
  readonly closed: Promise<void>;

  private constructor(private readonly socket: net.Socket) {
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("data", (d: Buffer) => {
      this.buffer += latin1(new Uint8Array(d));
      this.parse();
    });
  }

  /** Connect, retrying while the port is not yet open (up to `ms`). */
  static async connect(port: number, ms = 30_000): Promise<RspClient> {
    const deadline = Date.now() + ms;
    for (;;) {
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(port, "127.0.0.1", () => resolve(s));
          s.once("error", reject);
        });
        socket.setNoDelay(true);
        return new RspClient(socket);
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  private parse(): void {
    for (;;) {
      while (this.buffer.startsWith("+") || this.buffer.startsWith("-")) this.buffer = this.buffer.slice(1);
      const start = this.buffer.indexOf("$");
      const end = this.buffer.indexOf("#", start);
      if (start < 0 || end < 0 || this.buffer.length < end + 3) return;
      const payload = this.buffer.slice(start + 1, end);
      this.buffer = this.buffer.slice(end + 3);
      if (this.ack) this.socket.write("+");
      const w = this.waiters.shift();
      if (w !== undefined) w(payload);
      else this.replies.push(payload);
    }
  }

  send(payload: string): void {
    this.socket.write(frame(bytesOf(payload)));
  }

  /** The next reply (waiting up to `ms`). */
  reply(ms = 30_000): Promise<string> {
    const r = this.replies.shift();
    if (r !== undefined) return Promise.resolve(r);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no reply from the stub")), ms);
      this.waiters.push((p) => { clearTimeout(timer); resolve(p); });
    });
  }

  async request(payload: string): Promise<string> {
    this.send(payload);
    const r = await this.reply();
    if (payload === "QStartNoAckMode" && r === "OK") this.ack = false;
    return r;
  }

  interrupt(): void {
    this.socket.write(Uint8Array.of(3));
  }

  close(): Promise<void> {
    this.socket.end();
    return this.closed;
  }
}
