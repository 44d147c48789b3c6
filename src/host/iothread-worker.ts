/**
 * The body of an iothread (iothread-host.ts starts it): it opens the drives
 * of the devices it serves, as -drive opens them, and serves their queues
 * against the machine's shared memory (DataplaneServer).  Nothing the guest
 * sends may end it: a request that throws becomes the device's error.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { ChannelWord, type DriveFacts, type FromDataplane, type ToDataplane } from "../hw/virtio/dataplane.js";
import { DataplaneServer } from "../hw/virtio/dataplane-server.js";
import { VirtioBlk } from "../hw/virtio/virtio-blk.js";
import type { BlockBackend } from "../block/block.js";
import { imageFormat, openDrives, type LoadedDrive } from "../system/drives.js";
import { nodeMachineHost } from "./machine-host.js";

interface Setup { channel: SharedArrayBuffer; out: MessagePort }

const setup = workerData as Setup;
const words = new Int32Array(setup.channel);
const host = nodeMachineHost();
const drives = new Map<number, BlockBackend>();
let server: DataplaneServer | undefined;

function post(m: FromDataplane): void {
  setup.out.postMessage(m);
  Atomics.add(words, ChannelWord.POSTED, 1);
  Atomics.notify(words, ChannelWord.POSTED);
}

function reply(seq: number, result?: unknown): void {
  post({ t: "reply", seq, result });
}

function drive(n: number): BlockBackend {
  const d = drives.get(n);
  if (d === undefined) throw new Error(`no drive ${n}`);
  return d;
}

function handle(m: ToDataplane): void {
  switch (m.t) {
    case "open": {
      const warnings: string[] = [];
      const opened = openDrives([m.spec as LoadedDrive], m.snapshot, host, (line) => warnings.push(line));
      const info = opened.info[0];
      drives.set(m.drive, info.backend);
      const facts: DriveFacts = { size: info.backend.size, readOnly: info.backend.readOnly, format: imageFormat(info), warnings };
      reply(m.seq, facts);
      return;
    }
    case "drive": {
      const d = drive(m.drive);
      if (m.op === "flush") d.flush();
      else {
        drives.delete(m.drive);
        try { d.flush(); } finally { d.close(); }
      }
      reply(m.seq);
      return;
    }
    case "machine":
      server = new DataplaneServer(m.machine, setup.channel, post);
      reply(m.seq);
      return;
    case "attach": {
      if (server === undefined) throw new Error("no machine yet");
      const b = m.blk;
      server.add({
        dev: b.dev, device: new VirtioBlk(drive(b.drive), { serial: b.serial, numQueues: b.numQueues }),
        queueVectors: b.queueVectors, routes: b.routes, vectors: b.vectors,
      });
      reply(m.seq);
      return;
    }
    case "setup": server?.setup(m.dev, m.setup); return;
    case "kick": server?.kick(m.dev, m.queue); return;
    case "reset":
      server?.reset(m.dev, m.epoch);
      reply(m.seq);
      return;
    case "stats":
      reply(m.seq, { direct: server?.direct ?? 0, relayed: server?.relayed ?? 0 });
      return;
  }
}

parentPort?.on("message", (m: ToDataplane) => {
  try {
    handle(m);
  } catch (e) {
    const why = (e as Error).message;
    if ("seq" in m) post({ t: "reply", seq: m.seq, error: why });
    else if ("dev" in m) post({ t: "error", dev: m.dev, why, epoch: -1 });
  }
});
