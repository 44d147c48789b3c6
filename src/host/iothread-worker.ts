/**
 * The body of an iothread's worker (iothread-host.ts starts it): the
 * machine's requests arrive as messages and are served by iothreadServe
 * with Node's host (image files by path); the replies go out on the port
 * the main thread reads, each bumping the shared counter it waits on.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { ChannelWord, type FromDataplane, type ToDataplane } from "../hw/virtio/dataplane.js";
import { iothreadServe } from "../system/iothread-serve.js";
import { nodeMachineHost } from "./machine-host.js";

interface Setup { channel: SharedArrayBuffer; out: MessagePort }

const setup = workerData as Setup;
const words = new Int32Array(setup.channel);

const serve = iothreadServe(nodeMachineHost(), setup.channel, (m: FromDataplane) => {
  setup.out.postMessage(m);
  Atomics.add(words, ChannelWord.POSTED, 1);
  Atomics.notify(words, ChannelWord.POSTED);
});
parentPort?.on("message", (m: ToDataplane) => serve(m));
