/**
 * A gdb connection the user-mode emulator can block on.  tsemu-riscv64 runs
 * the guest in a synchronous loop, so while gdb holds the program stopped
 * the emulator's thread waits for gdb's next packet without returning to the
 * event loop.  The socket therefore lives in a worker thread
 * (gdb-worker.ts); this side waits with Atomics.wait and takes the worker's
 * messages with receiveMessageOnPort, which need no event loop.
 */
import type { MessagePort, Worker } from "node:worker_threads";
import { workerThreads } from "./builtin.js";
import type { BlockingChannel } from "../gdbstub/user.js";

export type FromWorker =
  | { type: "listening"; port: number }
  | { type: "error"; message: string }
  | { type: "connected" }
  | { type: "data"; data: Uint8Array }
  | { type: "closed" };

export type ToWorker = { type: "write"; data: Uint8Array } | { type: "close" };

export class GdbListenError extends Error {}

export class BlockingGdbSocket implements BlockingChannel {
  private readonly counter = new Int32Array(new SharedArrayBuffer(4));
  private readonly inbox: MessagePort;
  private readonly worker: Worker;
  /** The counter's value when the inbox was last found empty. */
  private quietAt = -1;
  private closed = false;
  /** The port listened on. */
  readonly port: number;

  /** Listen on host:port (waiting until listening); throws GdbListenError when the port cannot be had. */
  constructor(port: number, host = "127.0.0.1") {
    const { port1, port2 } = new (workerThreads().MessageChannel)();
    this.inbox = port1;
    this.worker = new (workerThreads().Worker)(new URL("./gdb-worker.js", import.meta.url), {
      workerData: { port, host, counter: this.counter.buffer, out: port2 },
      transferList: [port2],
    });
    // The worker must never keep tsemu alive on its own.
    this.worker.unref();
    const first = this.next(Infinity);
    if (first?.type === "error") {
      void this.worker.terminate();
      throw new GdbListenError(first.message);
    }
    if (first?.type !== "listening") throw new GdbListenError("the gdb listener did not start");
    this.port = first.port;
  }

  /** Block until gdb connects. */
  waitForClient(): void {
    for (;;) {
      const m = this.next(Infinity);
      if (m === undefined || m.type === "connected") return;
    }
  }

  read(): Uint8Array | null {
    if (this.closed) return null;
    const chunks: Uint8Array[] = [];
    for (;;) {
      // Wait for the first message, then take whatever else is already there.
      const m = this.next(chunks.length === 0 ? Infinity : 0);
      if (m === undefined) break;
      if (m.type === "closed") { this.closed = true; break; }
      if (m.type === "data") chunks.push(m.data);
    }
    return chunks.length === 0 ? null : concat(chunks);
  }

  poll(): Uint8Array | null | undefined {
    if (this.closed) return null;
    // The cheap test first: this runs once per slice of guest instructions.
    if (Atomics.load(this.counter, 0) === this.quietAt) return undefined;
    const chunks: Uint8Array[] = [];
    for (;;) {
      const m = this.next(0);
      if (m === undefined) break;
      if (m.type === "closed") { this.closed = true; break; }
      if (m.type === "data") chunks.push(m.data);
    }
    if (chunks.length > 0) return concat(chunks);
    return this.closed ? null : undefined;
  }

  write(bytes: Uint8Array): void {
    if (!this.closed) this.post({ type: "write", data: bytes });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.post({ type: "close" });
    // Give the worker a moment to send what is queued before tsemu may exit.
    const deadline = performance.now() + 2000;
    for (;;) {
      const m = this.next(Math.max(0, deadline - performance.now()));
      if (m === undefined || m.type === "closed") break;
    }
  }

  private post(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  /** The worker's next message, waiting up to `ms` milliseconds. */
  private next(ms: number): FromWorker | undefined {
    const deadline = performance.now() + ms;
    for (;;) {
      const seen = Atomics.load(this.counter, 0);
      const m = workerThreads().receiveMessageOnPort(this.inbox);
      if (m !== undefined) return m.message as FromWorker;
      this.quietAt = seen;
      const left = deadline - performance.now();
      if (left <= 0) return undefined;
      Atomics.wait(this.counter, 0, seen, left === Infinity ? undefined : left);
    }
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}
