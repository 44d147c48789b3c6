/**
 * A small QMP client for tests: connects to a UNIX or TCP socket (retrying
 * while the emulator starts), splits the server's CRLF-ended messages, and
 * runs commands, keeping the events that arrive before each reply.
 */
import * as net from "node:net";

export type Address = { path: string } | { host: string; port: number };

/** One message from the server: its text (without CRLF) and its value. */
export interface Message {
  raw: string;
  value: Record<string, unknown>;
}

export class QmpClient {
  private buffer = "";
  private readonly queue: Message[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  readonly socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (text: string) => {
      this.buffer += text;
      let at: number;
      while ((at = this.buffer.indexOf("\r\n")) >= 0) {
        const raw = this.buffer.slice(0, at);
        this.buffer = this.buffer.slice(at + 2);
        if (raw === "") continue;
        this.queue.push({ raw, value: JSON.parse(raw) as Record<string, unknown> });
      }
      this.waiter?.();
    });
    const end = (): void => {
      this.ended = true;
      this.waiter?.();
    };
    socket.on("close", end);
    socket.on("error", end);
  }

  /** Connect, retrying for up to `timeoutMs` while nothing listens yet. */
  static async connect(address: Address, timeoutMs = 20_000): Promise<QmpClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = "path" in address ? net.createConnection(address.path) : net.createConnection(address.port, address.host);
          s.once("connect", () => resolve(s));
          s.once("error", reject);
        });
        return new QmpClient(socket);
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** The server has closed the connection. */
  get closed(): boolean {
    return this.ended;
  }

  /** The next message; rejects after `timeoutMs`, or when the connection ends first. */
  async next(timeoutMs = 10_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      if (this.ended) throw new Error("QMP connection closed");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no QMP message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => { clearTimeout(t); resolve(); };
      });
      this.waiter = undefined;
    }
    return this.queue.shift() as Message;
  }

  /** Resolves when the server closes the connection (rejects after `timeoutMs`). */
  async waitClosed(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("the QMP connection stayed open");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => { clearTimeout(t); resolve(); };
      });
      this.waiter = undefined;
    }
  }

  send(text: string | Uint8Array): void {
    this.socket.write(text);
  }

  /** Messages until one that is not an event (the reply), and that reply. */
  async untilReply(timeoutMs = 10_000): Promise<{ events: Message[]; reply: Message }> {
    const events: Message[] = [];
    for (;;) {
      const m = await this.next(timeoutMs);
      if ("event" in m.value) events.push(m);
      else return { events, reply: m };
    }
  }

  /** Run a command; the events before its reply, and the reply. */
  async execute(name: string, args?: Record<string, unknown>, id?: unknown): Promise<{ events: Message[]; reply: Message }> {
    const request: Record<string, unknown> = { execute: name };
    if (args !== undefined) request.arguments = args;
    if (id !== undefined) request.id = id;
    this.send(JSON.stringify(request));
    return this.untilReply();
  }

  /** Greeting, qmp_capabilities: a session ready for commands. */
  async negotiate(): Promise<Message> {
    const greeting = await this.next();
    const r = await this.execute("qmp_capabilities");
    if (!("return" in r.reply.value)) throw new Error(`qmp_capabilities failed: ${r.reply.raw}`);
    return greeting;
  }

  close(): void {
    this.socket.destroy();
  }
}
