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
import { VIRTQUEUE_MAX_SIZE, type Virtqueue } from "./virtqueue.js";
import { VirtioTransport, setHigh32 as setHi, setLow32 as setLo, type VirtioDevice } from "./virtio-transport.js";

export {
  type VirtioDevice, VirtioStatus, VIRTIO_F_RING_EVENT_IDX, VIRTIO_F_RING_INDIRECT_DESC, VIRTIO_F_VERSION_1,
} from "./virtio-transport.js";

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


export class VirtioMmio implements MmioRegion, MmioOps {
  readonly name = "virtio-mmio";
  readonly base: number;
  readonly size = VIRTIO_MMIO_SLOT_SIZE;
  readonly ops: MmioOps = this;
  readonly device: VirtioDevice | undefined;
  readonly queues: readonly Virtqueue[];

  private readonly irq: IrqLine;
  private readonly core: VirtioTransport;
  private isr = 0;
  private queueSel = 0;

  constructor(opts: VirtioMmioOptions) {
    this.base = opts.base;
    this.irq = opts.irq;
    this.device = opts.device;
    const log = opts.log ?? ((): void => {});
    this.core = new VirtioTransport(opts.device, opts.dma, {
      queueInterrupt: () => this.raise(INT_VRING),
      configInterrupt: () => this.raise(INT_CONFIG),
      log: (why) => log(`virtio-mmio@${this.base.toString(16)}: ${why}`),
    });
    this.queues = this.core.queues;
  }

  /** Features the driver accepted at FEATURES_OK (0 before). */
  get features(): bigint {
    return this.core.features;
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
      case VirtioMmioReg.DeviceFeatures: return this.core.deviceFeatures;
      case VirtioMmioReg.QueueNumMax: return q === undefined ? 0 : VIRTQUEUE_MAX_SIZE;
      case VirtioMmioReg.QueueReady: return q?.ready ? 1 : 0;
      case VirtioMmioReg.InterruptStatus: return this.isr;
      case VirtioMmioReg.Status: return this.core.status;
      case VirtioMmioReg.ConfigGeneration: return this.core.generation;
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
      case VirtioMmioReg.DeviceFeaturesSel: this.core.deviceFeaturesSel = value; break;
      case VirtioMmioReg.DriverFeaturesSel: this.core.driverFeaturesSel = value; break;
      case VirtioMmioReg.DriverFeatures: this.core.driverFeatureWord = value; break;
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
      case VirtioMmioReg.QueueNotify: this.core.notify(value & 0xffff); break;
      case VirtioMmioReg.InterruptACK:
        this.isr &= ~value;
        this.updateIrq();
        break;
      case VirtioMmioReg.Status:
        if ((value & 0xff) === 0) this.reset();
        else this.core.writeStatus(value & 0xff);
        break;
    }
  }

  /** Machine reset. */
  reset(): void {
    this.core.reset();
    this.isr = 0;
    this.queueSel = 0;
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
    return this.core.readConfig(offset, size);
  }

  private raise(bit: number): void {
    this.isr |= bit;
    this.updateIrq();
  }

  private updateIrq(): void {
    this.irq.set(this.isr !== 0);
  }
}
