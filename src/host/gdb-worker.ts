/**
 * The socket side of gdb-blocking.ts, in a worker thread: it listens, takes
 * one gdb connection (as qemu-riscv64 does) and passes bytes both ways,
 * while the emulator's thread may be blocked waiting for them.  Each message
 * to the emulator bumps a shared counter and wakes it (Atomics.notify); the
 * emulator takes the messages with receiveMessageOnPort.
 */
import * as net from "node:net";
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import type { FromWorker, ToWorker } from "./gdb-blocking.js";

interface Setup { port: number; host: string; counter: SharedArrayBuffer; out: MessagePort }

const setup = workerData as Setup;
const counter = new Int32Array(setup.counter);

function post(msg: FromWorker): void {
  setup.out.postMessage(msg);
  Atomics.add(counter, 0, 1);
  Atomics.notify(counter, 0);
}

let socket: net.Socket | undefined;
const server = net.createServer((s) => {
  if (socket !== undefined) {
    s.destroy();
    return;
  }
  socket = s;
  s.setNoDelay(true);
  server.close();
  post({ type: "connected" });
  s.on("data", (d: Buffer) => post({ type: "data", data: new Uint8Array(d) }));
  s.on("error", () => s.destroy());
  s.on("close", () => {
    post({ type: "closed" });
    process.exit(0);
  });
});
server.on("error", (e) => post({ type: "error", message: e.message }));
server.listen(setup.port, setup.host, () => {
  const a = server.address();
  post({ type: "listening", port: typeof a === "object" && a !== null ? a.port : setup.port });
});

parentPort?.on("message", (m: ToWorker) => {
  switch (m.type) {
    case "write":
      socket?.write(m.data);
      break;
    case "close":
      if (socket === undefined || socket.destroyed) process.exit(0);
      // end() sends what is queued first; the "close" event then ends the worker.
      socket.end();
      break;
  }
});
