/**
 * The protocol between a virtio device's transport on the main thread and
 * its data plane on a worker thread (QEMU's iothread: `-object iothread`
 * and `-device virtio-blk-pci,iothread=`).  The main thread keeps the
 * transport (registers, feature negotiation, MSI-X); the worker keeps the
 * queues' used-ring state and the device's backend (the disk), and serves
 * the queues when the driver notifies them (QEMU's ioeventfd).
 *
 * Interrupts from the worker: for each queue whose vector has a fast route
 * (the guest unmasked it, with a real message; never a placeholder) the
 * worker delivers straight into the IMSIC interrupt file in shared memory,
 * as an irqfd does.  Every other interrupt goes to the main thread as a
 * message and takes the transport's slow path (MSI-X pending bits while
 * masked, INTx without MSI-X).  Messages carry the device's reset epoch: an
 * interrupt for work done before a reset is dropped, as a reset device has
 * no pending work.
 */
import type { SharedMachine, SharedMsiTarget } from "../core/shared-machine.js";

/** What a worker's data plane needs to know about a queue (from the transport's registers). */
export interface QueueSetup {
  queue: number;
  num: number;
  desc: number;
  driver: number;
  device: number;
  eventIdx: boolean;
}

/** A virtio-blk device for the worker to serve, on a drive it opened. */
export interface BlkAttach {
  dev: number;
  drive: number;
  serial?: string;
  numQueues: number;
  queueVectors: SharedArrayBuffer;
  routes: SharedArrayBuffer;
  vectors: number;
}

/** What the main thread learns of a drive the worker opened. */
export interface DriveFacts {
  size: number;
  readOnly: boolean;
  /** The image format (of the image under the overlay with snapshot). */
  format: string;
  /** Warnings the open printed (QEMU's raw-probe warning). */
  warnings: string[];
}

/**
 * Main thread to worker.  `seq` marks a request the main thread waits for
 * (a reply with the same seq).  `open.drive` is the drive as -drive gave it
 * (structured-cloneable: an image by path).
 */
export type ToDataplane =
  | { t: "open"; seq: number; drive: number; spec: unknown; snapshot: boolean }
  | { t: "drive"; seq: number; drive: number; op: "flush" | "close" }
  | { t: "machine"; seq: number; machine: SharedMachine }
  | { t: "attach"; seq: number; blk: BlkAttach }
  | { t: "setup"; dev: number; setup: QueueSetup }
  | { t: "kick"; dev: number; queue: number }
  | { t: "reset"; seq: number; dev: number; epoch: number };

/** Worker to main thread. */
export type FromDataplane =
  | { t: "irq"; dev: number; queue: number; epoch: number }
  | { t: "error"; dev: number; why: string; epoch: number }
  /** Decoded code on host pages [first, first+count) must go before the worker goes on (it waits for `drop-done`). */
  | { t: "drop"; first: number; count: number }
  /** The doorbell rang: ids were set pending in an IMSIC. */
  | { t: "ring" }
  | { t: "reply"; seq: number; error?: string; result?: unknown };

/** Int32 words every data-plane channel shares with its worker. */
export const enum ChannelWord {
  /** Bumped by the worker for every message it posts (the main thread waits on it). */
  POSTED = 0,
  /** Set by the main thread when it has dropped the code a `drop` asked for (the worker waits on it). */
  DROP_DONE = 1,
  SIZE = 2,
}

/** The no-vector value of virtio's MSI-X vector registers. */
export const NO_VECTOR = 0xffff;

/**
 * The fast routes of one device's vectors, as the worker reads them: for
 * each vector the IMSIC, word and mask of its delivery, or none.  Written by
 * the main thread only, read by the worker; a sequence count (odd while
 * writing) lets the reader take a consistent entry without a lock.
 */
export class SharedRoutes {
  /** [seq, then per vector: imsic (-1: no route), word, mask]. */
  readonly words: Int32Array;

  constructor(readonly vectors: number, buffer?: SharedArrayBuffer) {
    this.words = new Int32Array(buffer ?? new SharedArrayBuffer(4 * (1 + 3 * vectors)));
    if (buffer === undefined) for (let v = 0; v < vectors; v++) this.words[1 + 3 * v] = -1;
  }

  get buffer(): SharedArrayBuffer {
    return this.words.buffer as SharedArrayBuffer;
  }

  /** Main thread: the vector's route changed. */
  set(vector: number, t: SharedMsiTarget | undefined): void {
    if (vector < 0 || vector >= this.vectors) return;
    const w = this.words;
    const at = 1 + 3 * vector;
    Atomics.add(w, 0, 1);
    Atomics.store(w, at, t === undefined ? -1 : t.imsic);
    Atomics.store(w, at + 1, t?.word ?? 0);
    Atomics.store(w, at + 2, t?.mask ?? 0);
    Atomics.add(w, 0, 1);
  }

  /** Main thread: every route gone (a reset; the routing's resync sets them again). */
  clear(): void {
    for (let v = 0; v < this.vectors; v++) this.set(v, undefined);
  }

  /** Worker: the vector's route now, or undefined. */
  get(vector: number): SharedMsiTarget | undefined {
    if (vector < 0 || vector >= this.vectors) return undefined;
    const w = this.words;
    const at = 1 + 3 * vector;
    for (;;) {
      const seq = Atomics.load(w, 0);
      if ((seq & 1) !== 0) continue;
      const imsic = Atomics.load(w, at);
      const word = Atomics.load(w, at + 1);
      const mask = Atomics.load(w, at + 2);
      if (Atomics.load(w, 0) !== seq) continue;
      return imsic < 0 ? undefined : { imsic, word, mask };
    }
  }
}
