/**
 * `-object iothread,id=ID`: a worker thread that serves the queues of the
 * virtio-blk-pci devices given `iothread=ID`, as QEMU's iothreads run a
 * dataplane.  The worker opens the devices' drives itself and owns them
 * (their images, caches and locks); this thread keeps a stand-in for each
 * drive (IothreadDrive: size, format, flush and close by request) and, for
 * each device, a stand-in virtio device (DataplaneBlk) that the transport
 * drives: it forwards the driver's notifications and resets, and raises the
 * interrupts the worker could not deliver itself.
 *
 * Requests the main thread waits for (open, flush, reset) are synchronous:
 * it blocks on the channel until the reply, serving whatever else the
 * worker sends meanwhile (a worker waiting for decoded code to be dropped
 * must never wait on a main thread that waits for it).
 */
import type { BlockBackend } from "../block/block.js";
import type { SharedMachine } from "../hw/core/shared-machine.js";
import type { DriveFacts, FromDataplane, QueueSetup, ToDataplane } from "../hw/virtio/dataplane.js";
import { ChannelWord, NO_VECTOR, SharedRoutes } from "../hw/virtio/dataplane.js";
import type { VirtioDevice, VirtioDeviceHost } from "../hw/virtio/virtio-transport.js";
import type { Virtqueue } from "../hw/virtio/virtqueue.js";
import { ConfigError } from "./machine-config.js";

/** The host's side of a worker (Node: worker_threads). */
export interface DataplaneChannel {
  /** Int32 words shared with the worker (ChannelWord). */
  readonly words: Int32Array;
  /** The worker's thread id, as the host numbers its threads. */
  readonly threadId: number;
  post(m: ToDataplane): void;
  /** The worker's next message, if one is there (never waits). */
  receive(): FromDataplane | undefined;
  /** Messages that arrive while this thread's event loop runs (it was idle). */
  onMessage(handler: (m: FromDataplane) => void): void;
  terminate(): void;
}

/** How long a request may take before the machine gives up on its worker. */
const REQUEST_MS = 60_000;

/** What the iothreads need of the machine around them. */
export interface IothreadMachine {
  /** Drop decoded code of host pages [first, first+count). */
  dropCode(first: number, count: number): void;
  /** The doorbell rang: re-evaluate interrupt lines, and run the loop if it sleeps. */
  rang(): void;
}

export class Iothread {
  private channel: DataplaneChannel | undefined;
  private seq = 0;
  private readonly replies = new Map<number, FromDataplane & { t: "reply" }>();
  private drives = 0;
  private devices = 0;
  private readonly served = new Map<number, DataplaneBlk>();
  private machine: IothreadMachine | undefined;
  private sharedSent = false;
  private seen = 0;

  /** `settings`: QEMU's tuning properties as given (reported, not acted on: the worker waits, it does not poll). */
  constructor(readonly id: string, readonly settings: ReadonlyMap<string, number>, private readonly start: () => DataplaneChannel) {}

  /** The worker's thread id (query-iothreads' thread-id). */
  get threadId(): number {
    return this.channel?.threadId ?? 0;
  }

  get started(): boolean {
    return this.channel !== undefined;
  }

  /** Open a drive in the worker (as -drive would here); throws ConfigError with the open's line. */
  openDrive(spec: unknown, snapshot: boolean, warn: (line: string) => void): IothreadDrive {
    const drive = this.drives++;
    const r = this.request({ t: "open", seq: 0, drive, spec, snapshot });
    if (r.error !== undefined) throw new ConfigError(r.error);
    const facts = r.result as DriveFacts;
    for (const w of facts.warnings) warn(w);
    return new IothreadDrive(this, drive, facts);
  }

  /** Hand the machine's shared memory to the worker (once, before the first device). */
  bindMachine(shared: SharedMachine, machine: IothreadMachine): void {
    this.machine = machine;
    if (this.sharedSent) return;
    this.sharedSent = true;
    this.request({ t: "machine", seq: 0, machine: shared });
  }

  /** A virtio-blk device on `drive`, served by the worker; `device` is a model made here for its configuration and features. */
  attachBlk(drive: IothreadDrive, device: VirtioDevice, serial: string | undefined, vectors: number): DataplaneBlk {
    const dev = this.devices++;
    const blk = new DataplaneBlk(this, dev, device, vectors);
    this.served.set(dev, blk);
    this.request({
      t: "attach", seq: 0,
      blk: {
        dev, drive: drive.index, serial, numQueues: device.queueCount, vectors,
        queueVectors: blk.queueVectors.buffer as SharedArrayBuffer, routes: blk.routes.buffer,
      },
    });
    return blk;
  }

  post(m: ToDataplane): void {
    this.channel?.post(m);
  }

  /** Send a request and wait for its reply, serving the worker's other messages meanwhile. */
  request(m: Extract<ToDataplane, { seq: number }>): FromDataplane & { t: "reply" } {
    const ch = this.open();
    const seq = ++this.seq;
    m.seq = seq;
    ch.post(m);
    const deadline = performance.now() + REQUEST_MS;
    for (;;) {
      const seen = Atomics.load(ch.words, ChannelWord.POSTED);
      this.drain();
      const r = this.replies.get(seq);
      if (r !== undefined) {
        this.replies.delete(seq);
        return r;
      }
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`iothread ${this.id}: the worker did not answer`);
      Atomics.wait(ch.words, ChannelWord.POSTED, seen, Math.min(left, 1000));
    }
  }

  /** Between slices: serve what the worker sent (cheap when it sent nothing). */
  poll(): void {
    const ch = this.channel;
    if (ch === undefined || Atomics.load(ch.words, ChannelWord.POSTED) === this.seen) return;
    this.drain();
  }

  /** Before a machine reset clears RAM: every device served here stops and forgets its queues. */
  quiesce(): void {
    for (const blk of this.served.values()) blk.reset();
  }

  /** Stop the worker (after the drives were closed). */
  close(): void {
    this.channel?.terminate();
    this.channel = undefined;
  }

  /** Start the worker now (as QEMU starts an iothread with its object). */
  open(): DataplaneChannel {
    if (this.channel === undefined) {
      const ch = this.start();
      this.channel = ch;
      ch.onMessage((m) => this.handle(m));
    }
    return this.channel;
  }

  private drain(): void {
    const ch = this.channel;
    if (ch === undefined) return;
    this.seen = Atomics.load(ch.words, ChannelWord.POSTED);
    for (let m = ch.receive(); m !== undefined; m = ch.receive()) this.handle(m);
  }

  private handle(m: FromDataplane): void {
    switch (m.t) {
      case "reply": this.replies.set(m.seq, m); break;
      case "drop": {
        this.machine?.dropCode(m.first, m.count);
        const w = this.channel?.words;
        if (w !== undefined) {
          Atomics.store(w, ChannelWord.DROP_DONE, 1);
          Atomics.notify(w, ChannelWord.DROP_DONE);
        }
        break;
      }
      case "ring": this.machine?.rang(); break;
      case "irq": this.served.get(m.dev)?.interrupt(m.queue, m.epoch); break;
      case "error": this.served.get(m.dev)?.error(m.why, m.epoch); break;
    }
  }
}

/** A drive the worker owns, as this thread sees it. */
export class IothreadDrive implements BlockBackend {
  readonly size: number;
  readonly readOnly: boolean;
  readonly format: string;
  private closed = false;

  constructor(readonly thread: Iothread, readonly index: number, facts: DriveFacts) {
    this.size = facts.size;
    this.readOnly = facts.readOnly;
    this.format = facts.format;
  }

  read(): void {
    throw new Error(`the drive is served by iothread ${this.thread.id}`);
  }

  write(): void {
    throw new Error(`the drive is served by iothread ${this.thread.id}`);
  }

  discard(): void {
    throw new Error(`the drive is served by iothread ${this.thread.id}`);
  }

  writeZeroes(): void {
    throw new Error(`the drive is served by iothread ${this.thread.id}`);
  }

  flush(): void {
    if (this.closed) return;
    const r = this.thread.request({ t: "drive", seq: 0, drive: this.index, op: "flush" });
    if (r.error !== undefined) throw new Error(r.error);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const r = this.thread.request({ t: "drive", seq: 0, drive: this.index, op: "close" });
    if (r.error !== undefined) throw new Error(r.error);
  }
}

/**
 * The transport's virtio device for a device the worker serves: its
 * identity, features and configuration come from a model made here; its
 * queues are served there.
 */
export class DataplaneBlk implements VirtioDevice {
  readonly deviceId: number;
  readonly features: bigint;
  readonly queueCount: number;
  readonly queueSize: number | undefined;
  readonly config: Uint8Array;
  /** The transport's queue vectors, in shared memory (the worker reads them when it signals). */
  readonly queueVectors: Uint16Array;
  /** The vectors' fast routes as the worker sees them (the transport's MSI-X routing mirrors into it). */
  readonly routes: SharedRoutes;
  private host: VirtioDeviceHost | undefined;
  private epoch = 0;
  /** The queue setups the worker has, by queue ("" when it has none). */
  private readonly sent: string[];

  constructor(private readonly thread: Iothread, readonly dev: number, model: VirtioDevice, vectors: number) {
    this.deviceId = model.deviceId;
    this.features = model.features;
    this.queueCount = model.queueCount;
    this.queueSize = model.queueSize;
    this.config = model.config;
    this.queueVectors = new Uint16Array(new SharedArrayBuffer(2 * Math.max(1, model.queueCount))).fill(NO_VECTOR);
    this.routes = new SharedRoutes(vectors);
    this.sent = new Array<string>(model.queueCount).fill("");
  }

  bind(host: VirtioDeviceHost): void {
    this.host = host;
  }

  /** The driver notified `vq` (the transport checked it may): hand the worker the queue's setup if it changed, then the kick. */
  notify(vq: Virtqueue): void {
    const setup: QueueSetup = {
      queue: vq.index, num: vq.num, desc: vq.descAddr, driver: vq.driverAddr, device: vq.deviceAddr, eventIdx: vq.eventIdx,
    };
    const key = `${setup.num}:${setup.desc}:${setup.driver}:${setup.device}:${setup.eventIdx}`;
    if (this.sent[vq.index] !== key) {
      this.sent[vq.index] = key;
      this.thread.post({ t: "setup", dev: this.dev, setup });
    }
    this.thread.post({ t: "kick", dev: this.dev, queue: vq.index });
  }

  /** Device reset: the worker finishes what it is doing and forgets the queues before this returns. */
  reset(): void {
    this.epoch++;
    this.sent.fill("");
    if (!this.thread.started) return;
    this.thread.request({ t: "reset", seq: 0, dev: this.dev, epoch: this.epoch });
  }

  /** The worker could not deliver queue `queue`'s interrupt itself: the transport's slow path. */
  interrupt(queue: number, epoch: number): void {
    if (epoch !== this.epoch) return;
    const vq = this.host?.queues[queue];
    if (vq !== undefined) this.host?.queueInterrupt(vq);
  }

  error(why: string, epoch: number): void {
    if (epoch === this.epoch) this.host?.deviceError(why);
  }
}
