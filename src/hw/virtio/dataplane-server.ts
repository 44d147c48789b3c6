/**
 * The worker's side of a virtio data plane (dataplane.ts): the queues of
 * the devices an iothread serves, processed against guest RAM in shared
 * memory, and their interrupts delivered through the fast routes the main
 * thread publishes, or sent back to it.
 */
import { SharedDma, deliverShared, type SharedMachine } from "../core/shared-machine.js";
import { ChannelWord, NO_VECTOR, SharedRoutes, type FromDataplane, type QueueSetup } from "./dataplane.js";
import type { VirtioDevice } from "./virtio-transport.js";
import { Virtqueue } from "./virtqueue.js";

/** One device the worker serves. */
export interface DataplaneDeviceSetup {
  dev: number;
  device: VirtioDevice;
  /** The transport's queue vectors (Uint16, one per queue), written by the main thread. */
  queueVectors: SharedArrayBuffer;
  /** The device's SharedRoutes buffer and vector count. */
  routes: SharedArrayBuffer;
  vectors: number;
}

interface Served {
  device: VirtioDevice;
  queues: Virtqueue[];
  queueVectors: Uint16Array;
  routes: SharedRoutes;
  epoch: number;
}

export class DataplaneServer {
  private readonly dma: SharedDma;
  private readonly imsics: Uint32Array[];
  private readonly doorbell: Int32Array;
  private readonly channel: Int32Array;
  private readonly devices = new Map<number, Served>();

  constructor(machine: SharedMachine, channel: SharedArrayBuffer, private readonly post: (m: FromDataplane) => void) {
    this.channel = new Int32Array(channel);
    this.imsics = machine.imsics.map((b) => new Uint32Array(b));
    this.doorbell = new Int32Array(machine.doorbell);
    this.dma = new SharedDma(machine, (first, count) => this.dropCode(first, count));
  }

  add(s: DataplaneDeviceSetup): void {
    const served: Served = {
      device: s.device, queueVectors: new Uint16Array(s.queueVectors), routes: new SharedRoutes(s.vectors, s.routes), epoch: 0,
      queues: [],
    };
    served.queues = Array.from({ length: s.device.queueCount },
      (_, i) => new Virtqueue(i, this.dma, (why) => this.post({ t: "error", dev: s.dev, why, epoch: served.epoch })));
    this.devices.set(s.dev, served);
  }

  setup(dev: number, q: QueueSetup): void {
    const vq = this.devices.get(dev)?.queues[q.queue];
    if (vq === undefined) return;
    vq.reset();
    vq.num = q.num;
    vq.descAddr = q.desc;
    vq.driverAddr = q.driver;
    vq.deviceAddr = q.device;
    vq.eventIdx = q.eventIdx;
    vq.enable();
  }

  /** The driver notified `queue`: serve it, then interrupt if the driver wants that. */
  kick(dev: number, queue: number): void {
    const d = this.devices.get(dev);
    const vq = d?.queues[queue];
    if (d === undefined || vq === undefined || !vq.ready) return;
    try {
      d.device.notify(vq);
    } catch (e) {
      // Nothing a guest sends may end the worker: the device needs a reset instead.
      vq.fail(`request failed: ${(e as Error).message}`);
      return;
    }
    if (vq.shouldInterrupt()) this.signal(dev, d, queue);
  }

  /** Device reset: the queues forget everything; later interrupts carry the new epoch. */
  reset(dev: number, epoch: number): void {
    const d = this.devices.get(dev);
    if (d === undefined) return;
    d.epoch = epoch;
    for (const q of d.queues) q.reset();
    d.device.reset?.();
  }

  private signal(dev: number, d: Served, queue: number): void {
    const vector = Atomics.load(d.queueVectors, queue);
    const route = vector === NO_VECTOR ? undefined : d.routes.get(vector);
    if (route !== undefined) {
      if (deliverShared(this.imsics, this.doorbell, route)) this.post({ t: "ring" });
      return;
    }
    this.post({ t: "irq", dev, queue, epoch: d.epoch });
  }

  /** Ask the main thread to drop decoded code on pages about to become visible as data, and wait until it has. */
  private dropCode(first: number, count: number): void {
    Atomics.store(this.channel, ChannelWord.DROP_DONE, 0);
    this.post({ t: "drop", first, count });
    while (Atomics.load(this.channel, ChannelWord.DROP_DONE) === 0) {
      Atomics.wait(this.channel, ChannelWord.DROP_DONE, 0, 1000);
    }
  }
}
