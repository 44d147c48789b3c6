/**
 * The virtio-mmio transport, version 2 (virtio 1.2 section 4.2.2), one slot
 * of the board.  A slot with no device answers MagicValue, Version and
 * VendorID and reads 0 elsewhere (DeviceID 0: "no device"), as QEMU's empty
 * transports do, so that Linux probes all eight and claims none.
 *
 * The interrupt line is high while InterruptStatus is not 0.
 */
import type { AccessSize, DmaMemory, MmioOps, MmioRegion } from "../core/memory.js";
import type { IrqLine } from "../core/irq.js";
import { interruptSpecifier, type FdtNode } from "../core/fdt.js";
import { Virtqueue, VIRTQUEUE_MAX_SIZE } from "./virtqueue.js";

/** What a virtio device (blk, rng, ...) gives the transport. */
export interface VirtioDevice {
  /** Device ID (virtio 1.2 section 5): 2 block, 4 entropy. */
  readonly deviceId: number;
  /** Device-type feature bits offered; the transport adds VERSION_1 and the ring features. */
  readonly features: bigint;
  readonly queueCount: number;
  /** Device configuration space, little-endian, read by the driver at 0x100 (writes are ignored). */
  readonly config: Uint8Array;
  /** The driver notified `vq`: take every available chain and push it back, synchronously. */
  notify(vq: Virtqueue): void;
  /** Device reset (the driver wrote 0 to Status, or the machine reset). */
  reset?(): void;
}

export const enum VirtioStatus {
  ACKNOWLEDGE = 1, DRIVER = 2, DRIVER_OK = 4, FEATURES_OK = 8, DEVICE_NEEDS_RESET = 0x40, FAILED = 0x80,
}

export const VIRTIO_F_RING_INDIRECT_DESC = 1n << 28n;
export const VIRTIO_F_RING_EVENT_IDX = 1n << 29n;
export const VIRTIO_F_VERSION_1 = 1n << 32n;
/** Offered for every device: what virtqueue.ts implements. */
const TRANSPORT_FEATURES = VIRTIO_F_VERSION_1 | VIRTIO_F_RING_INDIRECT_DESC | VIRTIO_F_RING_EVENT_IDX;

export const VIRTIO_MMIO_MAGIC = 0x74726976; // "virt"
export const VIRTIO_MMIO_VENDOR = 0x554d4551; // "QEMU"
export const VIRTIO_MMIO_SLOT_SIZE = 0x1000;

/** InterruptStatus bits. */
const INT_VRING = 1;
const INT_CONFIG = 2;

export const enum VirtioMmioReg {
  MagicValue = 0x000, Version = 0x004, DeviceID = 0x008, VendorID = 0x00c,
  DeviceFeatures = 0x010, DeviceFeaturesSel = 0x014, DriverFeatures = 0x020, DriverFeaturesSel = 0x024,
  QueueSel = 0x030, QueueNumMax = 0x034, QueueNum = 0x038, QueueReady = 0x044, QueueNotify = 0x050,
  InterruptStatus = 0x060, InterruptACK = 0x064, Status = 0x070,
  QueueDescLow = 0x080, QueueDescHigh = 0x084, QueueDriverLow = 0x090, QueueDriverHigh = 0x094,
  QueueDeviceLow = 0x0a0, QueueDeviceHigh = 0x0a4,
  SHMLenLow = 0x0b0, SHMLenHigh = 0x0b4, ConfigGeneration = 0x0fc, Config = 0x100,
}

export interface VirtioMmioOptions {
  /** Guest-physical base of the slot (0x10001000 + 0x1000*i on virt). */
  base: number;
  dma: DmaMemory;
  irq: IrqLine;
  /** The device behind the slot; none for an empty slot. */
  device?: VirtioDevice;
  /** Where guest errors go (QEMU prints virtio_error's message to stderr). */
  log?: (message: string) => void;
}

const lo32 = (v: bigint): number => Number(v & 0xffffffffn);
const setLo = (addr: number, v: number): number => Math.floor(addr / 2 ** 32) * 2 ** 32 + v;
const setHi = (addr: number, v: number): number => v * 2 ** 32 + (addr % 2 ** 32);

export class VirtioMmio implements MmioRegion, MmioOps {
  readonly name = "virtio-mmio";
  readonly base: number;
  readonly size = VIRTIO_MMIO_SLOT_SIZE;
  readonly ops: MmioOps = this;
  readonly device: VirtioDevice | undefined;
  readonly queues: readonly Virtqueue[];

  private readonly irq: IrqLine;
  private readonly log: (message: string) => void;
  private readonly offered: bigint;
  private status = 0;
  private isr = 0;
  private generation = 0;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private readonly driverFeatures = [0, 0];
  private negotiated = 0n;
  private queueSel = 0;

  constructor(opts: VirtioMmioOptions) {
    this.base = opts.base;
    this.irq = opts.irq;
    this.device = opts.device;
    this.log = opts.log ?? ((): void => {});
    this.offered = this.device === undefined ? 0n : this.device.features | TRANSPORT_FEATURES;
    const n = this.device?.queueCount ?? 0;
    this.queues = Array.from({ length: n }, (_, i) => new Virtqueue(i, opts.dma, (why) => this.needsReset(why)));
  }

  /** Features the driver accepted at FEATURES_OK (0 before). */
  get features(): bigint {
    return this.negotiated;
  }

  read(offset: number, size: AccessSize): number {
    if (offset >= VirtioMmioReg.Config) return this.readConfig(offset - VirtioMmioReg.Config, size);
    // Control registers are 32-bit only (spec 4.2.2.2); QEMU reads other sizes as 0.
    if (size !== 4) return 0;
    switch (offset) {
      case VirtioMmioReg.MagicValue: return VIRTIO_MMIO_MAGIC;
      case VirtioMmioReg.Version: return 2;
      case VirtioMmioReg.VendorID: return VIRTIO_MMIO_VENDOR;
    }
    const dev = this.device;
    if (dev === undefined) return 0;
    const q = this.queues[this.queueSel];
    switch (offset) {
      case VirtioMmioReg.DeviceID: return dev.deviceId;
      case VirtioMmioReg.DeviceFeatures:
        return this.deviceFeaturesSel > 1 ? 0 : lo32(this.offered >> BigInt(32 * this.deviceFeaturesSel));
      case VirtioMmioReg.QueueNumMax: return q === undefined ? 0 : VIRTQUEUE_MAX_SIZE;
      case VirtioMmioReg.QueueReady: return q?.ready ? 1 : 0;
      case VirtioMmioReg.InterruptStatus: return this.isr;
      case VirtioMmioReg.Status: return this.status;
      case VirtioMmioReg.ConfigGeneration: return this.generation;
      // No shared memory regions: a length of all ones says so to Linux (as QEMU).
      case VirtioMmioReg.SHMLenLow:
      case VirtioMmioReg.SHMLenHigh: return 0xffffffff;
      default: return 0;
    }
  }

  write(offset: number, size: AccessSize, value: number): void {
    const dev = this.device;
    if (dev === undefined || offset >= VirtioMmioReg.Config || size !== 4) return;
    value >>>= 0;
    const q = this.queues[this.queueSel];
    switch (offset) {
      case VirtioMmioReg.DeviceFeaturesSel: this.deviceFeaturesSel = value; break;
      case VirtioMmioReg.DriverFeaturesSel: this.driverFeaturesSel = value; break;
      case VirtioMmioReg.DriverFeatures:
        if (this.driverFeaturesSel < 2 && !(this.status & VirtioStatus.FEATURES_OK)) {
          this.driverFeatures[this.driverFeaturesSel] = value;
        }
        break;
      case VirtioMmioReg.QueueSel: this.queueSel = value; break;
      case VirtioMmioReg.QueueNum:
        if (q !== undefined && value >= 1 && value <= VIRTQUEUE_MAX_SIZE) q.num = value;
        break;
      case VirtioMmioReg.QueueReady:
        if (q === undefined) break;
        if (value & 1) q.enable();
        else q.ready = false;
        break;
      case VirtioMmioReg.QueueDescLow: if (q) q.descAddr = setLo(q.descAddr, value); break;
      case VirtioMmioReg.QueueDescHigh: if (q) q.descAddr = setHi(q.descAddr, value); break;
      case VirtioMmioReg.QueueDriverLow: if (q) q.driverAddr = setLo(q.driverAddr, value); break;
      case VirtioMmioReg.QueueDriverHigh: if (q) q.driverAddr = setHi(q.driverAddr, value); break;
      case VirtioMmioReg.QueueDeviceLow: if (q) q.deviceAddr = setLo(q.deviceAddr, value); break;
      case VirtioMmioReg.QueueDeviceHigh: if (q) q.deviceAddr = setHi(q.deviceAddr, value); break;
      case VirtioMmioReg.QueueNotify: this.queueNotify(value & 0xffff); break;
      case VirtioMmioReg.InterruptACK:
        this.isr &= ~value;
        this.updateIrq();
        break;
      case VirtioMmioReg.Status: this.writeStatus(value & 0xff); break;
    }
  }

  /** Machine reset. */
  reset(): void {
    this.status = 0;
    this.isr = 0;
    this.deviceFeaturesSel = this.driverFeaturesSel = 0;
    this.driverFeatures[0] = this.driverFeatures[1] = 0;
    this.negotiated = 0n;
    this.queueSel = 0;
    for (const q of this.queues) q.reset();
    this.device?.reset?.();
    this.updateIrq();
  }

  /**
   * This slot's node under /soc, with the properties in QEMU 7.2's order.
   * QEMU's libfdt puts each new node first among its siblings, so its blob
   * lists the slots from the highest address down: call this for slot 7 first.
   */
  fdtNode(soc: FdtNode, intc: FdtNode, irq: number): FdtNode {
    return soc.child(`virtio_mmio@${this.base.toString(16)}`)
      .str("compatible", "virtio,mmio")
      .u64("reg", this.base, this.size)
      .u32("interrupt-parent", intc.phandle())
      .u32("interrupts", ...interruptSpecifier(intc, irq));
  }

  private readConfig(offset: number, size: AccessSize): number {
    const cfg = this.device?.config;
    if (cfg === undefined) return 0;
    // Beyond the config space QEMU's modern accessors read all ones.
    if (offset + size > cfg.length) return size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + cfg[offset + i];
    return v;
  }

  private writeStatus(value: number): void {
    if (value === 0) {
      this.reset();
      return;
    }
    if ((value & VirtioStatus.FEATURES_OK) && !(this.status & VirtioStatus.FEATURES_OK)) {
      const wanted = (BigInt(this.driverFeatures[1]) << 32n) | BigInt(this.driverFeatures[0]);
      // Spec 3.1.1: the device leaves FEATURES_OK clear when it cannot take the features;
      // this transport is modern only, so a legacy driver (no VERSION_1) is refused too.
      if ((wanted & ~this.offered) !== 0n || (wanted & VIRTIO_F_VERSION_1) === 0n) {
        value &= ~VirtioStatus.FEATURES_OK;
      } else {
        this.negotiated = wanted;
        const eventIdx = (wanted & VIRTIO_F_RING_EVENT_IDX) !== 0n;
        for (const q of this.queues) q.eventIdx = eventIdx;
      }
    }
    // DEVICE_NEEDS_RESET is the device's to set; only a reset clears it.
    this.status = (value & ~VirtioStatus.DEVICE_NEEDS_RESET) | (this.status & VirtioStatus.DEVICE_NEEDS_RESET);
  }

  private queueNotify(index: number): void {
    const q = this.queues[index];
    if (q === undefined || !q.ready || this.device === undefined) return;
    if (this.status & VirtioStatus.DEVICE_NEEDS_RESET) return;
    this.device.notify(q);
    if (q.shouldInterrupt()) {
      this.isr |= INT_VRING;
      this.updateIrq();
    }
  }

  /** A malformed request: stop the device and tell the driver (spec 2.1.2, as QEMU's virtio_error). */
  private needsReset(why: string): void {
    this.log(`virtio-mmio@${this.base.toString(16)}: ${why}`);
    if (this.status & VirtioStatus.DEVICE_NEEDS_RESET) return;
    this.status |= VirtioStatus.DEVICE_NEEDS_RESET;
    if (this.status & VirtioStatus.DRIVER_OK) {
      this.generation = (this.generation + 1) >>> 0;
      this.isr |= INT_CONFIG;
      this.updateIrq();
    }
  }

  private updateIrq(): void {
    this.irq.set(this.isr !== 0);
  }
}
