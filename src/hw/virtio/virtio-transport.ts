/**
 * What every virtio transport (virtio-mmio, virtio-pci) shares (virtio 1.2
 * sections 2 and 3): the device status and its reset, feature negotiation,
 * the virtqueues, the configuration generation, and DEVICE_NEEDS_RESET when
 * the driver sends something malformed.  The transports decode their own
 * registers and raise their own interrupts through the two callbacks.
 */
import type { DmaMemory } from "../core/memory.js";
import { Virtqueue } from "./virtqueue.js";

/** What a virtio device (blk, rng, ...) gives the transport. */
export interface VirtioDevice {
  /** Device ID (virtio 1.2 section 5): 2 block, 4 entropy. */
  readonly deviceId: number;
  /** Device-type feature bits offered; the transport adds VERSION_1 and the ring features. */
  readonly features: bigint;
  readonly queueCount: number;
  /** The queues' size until the driver picks one (virtio-pci's queue_size; QEMU's virtio_add_queue size). */
  readonly queueSize?: number;
  /** Per-queue sizes where they differ (virtio-net's control queue is smaller); else queueSize. */
  readonly queueSizes?: readonly number[];
  /** Device configuration space, little-endian, read by the driver (writes are ignored). */
  readonly config: Uint8Array;
  /** The driver notified `vq`: take every available chain and push it back, synchronously. */
  notify(vq: Virtqueue): void;
  /** Device reset (the driver wrote 0 to Status, or the machine reset). */
  reset?(): void;
  /**
   * The transport hands the device its way back (once, when the transport is
   * made): a device that uses buffers outside `notify` (a NIC receiving a
   * frame) or changes its configuration on its own (link status) needs it.
   */
  bind?(host: VirtioDeviceHost): void;
}

/** What a device reaches in its transport outside `notify`. */
export interface VirtioDeviceHost {
  /** The features negotiated (for a legacy driver, those it wrote; 0 before). */
  features(): bigint;
  /** The device's queues, by index. */
  readonly queues: readonly Virtqueue[];
  /** The driver set DRIVER_OK and the device does not need a reset: the queues may be used. */
  running(): boolean;
  /** The device pushed buffers of `vq` on its own: interrupt if the driver wants that. */
  queueUsed(vq: Virtqueue): void;
  /** The device configuration changed: a new generation and a configuration interrupt. */
  configChanged(): void;
  /** Raise `vq`'s interrupt now (a data plane elsewhere already decided the driver wants it). */
  queueInterrupt(vq: Virtqueue): void;
  /** The device found the driver's requests malformed (elsewhere): DEVICE_NEEDS_RESET, as a broken queue does. */
  deviceError(why: string): void;
}

export const enum VirtioStatus {
  ACKNOWLEDGE = 1, DRIVER = 2, DRIVER_OK = 4, FEATURES_OK = 8, DEVICE_NEEDS_RESET = 0x40, FAILED = 0x80,
}

export const VIRTIO_F_RING_INDIRECT_DESC = 1n << 28n;
export const VIRTIO_F_RING_EVENT_IDX = 1n << 29n;
export const VIRTIO_F_VERSION_1 = 1n << 32n;
/** Offered for every device: what virtqueue.ts implements. */
const TRANSPORT_FEATURES = VIRTIO_F_VERSION_1 | VIRTIO_F_RING_INDIRECT_DESC | VIRTIO_F_RING_EVENT_IDX;

const lo32 = (v: bigint): number => Number(v & 0xffffffffn);
/** A 64-bit ring address written as two 32-bit registers. */
export const setLow32 = (addr: number, v: number): number => Math.floor(addr / 2 ** 32) * 2 ** 32 + (v >>> 0);
export const setHigh32 = (addr: number, v: number): number => (v >>> 0) * 2 ** 32 + (addr % 2 ** 32);

export interface VirtioTransportHooks {
  /** The device used buffers of `vq` and the driver wants to hear of it. */
  queueInterrupt(vq: Virtqueue): void;
  /** The configuration changed (or the device needs a reset). */
  configInterrupt(): void;
  /** A guest error, with the transport's name in front (QEMU prints virtio_error's message). */
  log(message: string): void;
}

export class VirtioTransport {
  readonly queues: readonly Virtqueue[];
  readonly offered: bigint;
  status = 0;
  generation = 0;
  deviceFeaturesSel = 0;
  driverFeaturesSel = 0;
  private readonly driverFeatures = [0, 0];
  private negotiated = 0n;

  constructor(readonly device: VirtioDevice | undefined, dma: DmaMemory, private readonly hooks: VirtioTransportHooks) {
    this.offered = device === undefined ? 0n : device.features | TRANSPORT_FEATURES;
    const n = device?.queueCount ?? 0;
    this.queues = Array.from({ length: n }, (_, i) => new Virtqueue(i, dma, (why) => this.needsReset(why)));
    device?.bind?.({
      queues: this.queues,
      features: () => this.negotiated,
      running: () => (this.status & (VirtioStatus.DRIVER_OK | VirtioStatus.DEVICE_NEEDS_RESET)) === VirtioStatus.DRIVER_OK,
      queueUsed: (vq) => {
        if (vq.shouldInterrupt()) this.hooks.queueInterrupt(vq);
      },
      configChanged: () => {
        this.generation = (this.generation + 1) >>> 0;
        if (this.status & VirtioStatus.DRIVER_OK) this.hooks.configInterrupt();
      },
      queueInterrupt: (vq) => this.hooks.queueInterrupt(vq),
      deviceError: (why) => this.needsReset(why),
    });
  }

  /** Features the driver accepted at FEATURES_OK (0 before). */
  get features(): bigint {
    return this.negotiated;
  }

  /** The 32 offered feature bits the driver selected. */
  get deviceFeatures(): number {
    return this.deviceFeaturesSel > 1 ? 0 : lo32(this.offered >> BigInt(32 * this.deviceFeaturesSel));
  }

  /** The low 32 offered bits: all a legacy driver sees. */
  get offered32(): number {
    return lo32(this.offered);
  }

  /** A legacy driver's feature write takes effect at once (there is no FEATURES_OK), within what is offered. */
  acceptLegacyFeatures(value: number): void {
    if (this.status & VirtioStatus.DRIVER_OK) return;
    this.negotiated = BigInt(value >>> 0) & this.offered;
    const eventIdx = (this.negotiated & VIRTIO_F_RING_EVENT_IDX) !== 0n;
    for (const q of this.queues) q.eventIdx = eventIdx;
  }

  /** A legacy driver's Status write: no feature check (its features were taken when written). */
  writeLegacyStatus(value: number): void {
    // DEVICE_NEEDS_RESET is the device's to set; only a reset clears it.
    this.status = (value & ~VirtioStatus.DEVICE_NEEDS_RESET) | (this.status & VirtioStatus.DEVICE_NEEDS_RESET);
  }

  get driverFeatureWord(): number {
    return this.driverFeaturesSel > 1 ? 0 : this.driverFeatures[this.driverFeaturesSel];
  }

  set driverFeatureWord(value: number) {
    if (this.driverFeaturesSel < 2 && !(this.status & VirtioStatus.FEATURES_OK)) {
      this.driverFeatures[this.driverFeaturesSel] = value >>> 0;
    }
  }

  /** Device reset: status, features and queues as at power-on. */
  reset(): void {
    this.status = 0;
    this.deviceFeaturesSel = this.driverFeaturesSel = 0;
    this.driverFeatures[0] = this.driverFeatures[1] = 0;
    this.negotiated = 0n;
    for (const q of this.queues) q.reset();
    this.device?.reset?.();
  }

  /** The driver wrote Status; 0 resets the device (the caller resets its own registers too). */
  writeStatus(value: number): void {
    if (value === 0) {
      this.reset();
      return;
    }
    if ((value & VirtioStatus.FEATURES_OK) && !(this.status & VirtioStatus.FEATURES_OK)) {
      const wanted = (BigInt(this.driverFeatures[1]) << 32n) | BigInt(this.driverFeatures[0]);
      // Spec 3.1.1: the device leaves FEATURES_OK clear when it cannot take the features;
      // the modern interface needs VERSION_1, so a driver without it is refused.
      if ((wanted & ~this.offered) !== 0n || (wanted & VIRTIO_F_VERSION_1) === 0n) {
        value &= ~VirtioStatus.FEATURES_OK;
      } else {
        this.negotiated = wanted;
        const eventIdx = (wanted & VIRTIO_F_RING_EVENT_IDX) !== 0n;
        for (const q of this.queues) q.eventIdx = eventIdx;
      }
    }
    this.writeLegacyStatus(value);
  }

  /** The driver notified queue `index`: serve it, and interrupt if the driver wants that. */
  notify(index: number): void {
    const q = this.queues[index];
    if (q === undefined || !q.ready || this.device === undefined) return;
    if (this.status & VirtioStatus.DEVICE_NEEDS_RESET) return;
    this.device.notify(q);
    if (q.shouldInterrupt()) this.hooks.queueInterrupt(q);
  }

  /** A byte-wise read of the device configuration; past its end reads all ones, as QEMU's modern accessors. */
  readConfig(offset: number, size: number): number {
    const cfg = this.device?.config;
    if (cfg === undefined) return 0;
    if (offset + size > cfg.length) return size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + cfg[offset + i];
    return v;
  }

  /** A malformed request: stop the device and tell the driver (spec 2.1.2, as QEMU's virtio_error). */
  private needsReset(why: string): void {
    this.hooks.log(why);
    if (this.status & VirtioStatus.DEVICE_NEEDS_RESET) return;
    this.status |= VirtioStatus.DEVICE_NEEDS_RESET;
    if (this.status & VirtioStatus.DRIVER_OK) {
      this.generation = (this.generation + 1) >>> 0;
      this.hooks.configInterrupt();
    }
  }
}
