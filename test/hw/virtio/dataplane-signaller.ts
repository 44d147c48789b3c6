/**
 * The worker of dataplane-threads.test.ts: it signals MSI-X vectors as an
 * iothread does (through its copy of the routes when the vector has one,
 * else as a message to the main thread), one at a time, and waits for the
 * main thread to acknowledge each before the next.  Loaded as a worker
 * only; as a module of the main thread it does nothing.
 */
import { isMainThread, workerData, type MessagePort } from "node:worker_threads";
import { SharedRoutes } from "../../../src/hw/virtio/dataplane.js";
import { deliverShared } from "../../../src/hw/core/shared-machine.js";

export interface SignallerData {
  routes: SharedArrayBuffer;
  vectors: number;
  files: SharedArrayBuffer;
  doorbell: SharedArrayBuffer;
  /** [0]: deliveries the main thread has acknowledged; [1]: signals sent; [2]: of them direct. */
  words: SharedArrayBuffer;
  rounds: number;
  /** Where the messages go (the main thread takes them with receiveMessageOnPort). */
  out: MessagePort;
}

if (!isMainThread) {
  const d = workerData as SignallerData;
  const routes = new SharedRoutes(d.vectors, d.routes);
  const files = [new Uint32Array(d.files)];
  const doorbell = new Int32Array(d.doorbell);
  const w = new Int32Array(d.words);
  for (let k = 0; k < d.rounds; k++) {
    const v = k % d.vectors;
    const t = routes.get(v);
    if (t !== undefined) {
      Atomics.add(w, 2, 1);
      deliverShared(files, doorbell, t);
    } else {
      d.out.postMessage(v);
    }
    Atomics.add(w, 1, 1);
    Atomics.notify(w, 1);
    for (let acked = Atomics.load(w, 0); acked <= k; acked = Atomics.load(w, 0)) Atomics.wait(w, 0, acked, 1000);
  }
}
