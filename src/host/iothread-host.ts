/**
 * An iothread's worker on Node (worker_threads).  Messages from the worker
 * come on a MessagePort of their own: this thread takes them with
 * receiveMessageOnPort between slices of guest code and while it waits for
 * a reply, and through the port's events while its event loop runs.  Each
 * message bumps a shared counter (ChannelWord.POSTED) and wakes a waiter.
 */
import { MessageChannel, Worker, receiveMessageOnPort } from "node:worker_threads";
import { ChannelWord, type FromDataplane, type ToDataplane } from "../hw/virtio/dataplane.js";
import type { DataplaneChannel } from "../system/iothread.js";

export function startIothreadWorker(): DataplaneChannel {
  const words = new Int32Array(new SharedArrayBuffer(4 * ChannelWord.SIZE));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL("./iothread-worker.js", import.meta.url), {
    workerData: { channel: words.buffer, out: port2 },
    transferList: [port2],
  });
  // Neither the worker nor its port may keep tsemu alive on their own.
  worker.unref();
  worker.on("error", (e) => {
    process.stderr.write(`tsemu-system-riscv64: iothread worker failed: ${e.message}\n`);
  });
  return {
    words,
    threadId: worker.threadId,
    post: (m: ToDataplane) => worker.postMessage(m),
    receive: () => receiveMessageOnPort(port1)?.message as FromDataplane | undefined,
    onMessage: (handler) => {
      port1.on("message", (m: FromDataplane) => handler(m));
      port1.unref();
    },
    terminate: () => {
      port1.close();
      void worker.terminate();
    },
  };
}
