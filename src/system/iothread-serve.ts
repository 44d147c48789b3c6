/**
 * What an iothread does with the machine's requests (its worker runs this;
 * tests run it inline): it opens the drives of the devices it serves, as
 * -drive opens them on `host`, and serves their queues against the
 * machine's shared memory (DataplaneServer).  Nothing the guest sends may
 * end it: a request that throws becomes an error reply, or the device's
 * error.  `post` must bump the channel's POSTED word and wake a waiter.
 */
import type { DriveFacts, FromDataplane, ToDataplane } from "../hw/virtio/dataplane.js";
import { DataplaneServer } from "../hw/virtio/dataplane-server.js";
import { VirtioBlk } from "../hw/virtio/virtio-blk.js";
import type { BlockBackend } from "../block/block.js";
import { imageFormat, openDrives, type LoadedDrive } from "./drives.js";
import type { MachineHost } from "./machine-host.js";

export function iothreadServe(host: MachineHost, channel: SharedArrayBuffer, post: (m: FromDataplane) => void): (m: ToDataplane) => void {
  const drives = new Map<number, BlockBackend>();
  let server: DataplaneServer | undefined;
  const reply = (seq: number, result?: unknown): void => post({ t: "reply", seq, result });
  const drive = (n: number): BlockBackend => {
    const d = drives.get(n);
    if (d === undefined) throw new Error(`no drive ${n}`);
    return d;
  };

  const handle = (m: ToDataplane): void => {
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
        server = new DataplaneServer(m.machine, channel, post);
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
    }
  };

  return (m) => {
    try {
      handle(m);
    } catch (e) {
      // A request the main thread waits for gets the error as its reply; kicks report the guest's errors themselves.
      if ("seq" in m) post({ t: "reply", seq: m.seq, error: (e as Error).message });
    }
  };
}
