/**
 * The virtio PCI transport (virtio 1.2 section 4.1), laid out as QEMU 7.2's
 * hw/virtio/virtio-pci.c lays out a device on the root bus:
 *
 * - Transitional (QEMU's disable-legacy=auto there): vendor 1af4, the
 *   transitional device ID (0x1001 for a block device), revision 0, the
 *   subsystem 1af4:<virtio device ID>, and the legacy interface in I/O BAR 0
 *   (virtio-pci-legacy.ts).  Modern only (disable-legacy=on): device
 *   0x1040 + the virtio device ID, revision 1, subsystem 1af4:1100, no BAR 0.
 *   Conventional PCI either way.
 * - BAR 1: MSI-X, one vector per queue and one for configuration changes
 *   (by default), in its own 4 KiB BAR.  BAR 4: 64-bit prefetchable memory,
 *   16 KiB: the common configuration at 0, the ISR at 0x1000, the device
 *   configuration at 0x2000 and the notifications at 0x3000 (a queue's
 *   notify address is 4 * its index).
 * - Vendor-specific capabilities from 0x40 (common, ISR, device, notify,
 *   the PCI configuration access window) and MSI-X at 0x98, in QEMU's order.
 * - Behind a PCI Express port (`express`), as QEMU makes it there: a PCI
 *   Express endpoint with 4 KiB of configuration space, the PCI Express
 *   capability at 0x40 and power management at 0x7c, so the virtio
 *   capabilities start at 0x84 and MSI-X is at 0xdc; AER at 0x100 with
 *   QEMU's aer=on.  Function level reset (Device Control bit 15) resets the
 *   device.
 *
 * Interrupts: with MSI-X enabled, a queue's or the configuration's vector
 * (none when the driver wrote VIRTIO_MSI_NO_VECTOR) through the function's
 * fast routes (msix-routing.ts); without MSI-X, INTA# follows ISR bit 0,
 * and reading the ISR clears it and lowers the line.
 */
import type { AccessSize, DmaMemory, MmioOps } from "../core/memory.js";
import { BarKind, PciConfigSpace } from "../pci/config-space.js";
import { Msix } from "../pci/msix.js";
import { MsixRouting } from "../pci/msix-routing.js";
import { MsiRouteTable } from "../pci/msi-route.js";
import { addEndpointCap, addPowerManagementCap, DevCtl, PciExp } from "../pci/pcie-cap.js";
import { PcieErrorReporter } from "../pci/pcie-aer.js";
import type { MsiSend } from "../pci/msi.js";
import { VIRTQUEUE_MAX_SIZE, type Virtqueue } from "./virtqueue.js";
import type { SharedRoutes } from "./dataplane.js";
import { VirtioTransport, setHigh32, setLow32, type VirtioDevice } from "./virtio-transport.js";
import { TRANSITIONAL_DEVICE_ID, legacyBarSize, legacyRegisters } from "./virtio-pci-legacy.js";

export const PCI_VENDOR_ID_REDHAT_QUMRANET = 0x1af4;
/** Modern device IDs: 0x1040 + the virtio device ID. */
export const VIRTIO_PCI_MODERN_DEVICE_BASE = 0x1040;
export const VIRTIO_MSI_NO_VECTOR = 0xffff;
const PCI_CAP_ID_VNDR = 0x09;

/** virtio_pci_cap.cfg_type */
export const enum VirtioPciCap { COMMON_CFG = 1, NOTIFY_CFG = 2, ISR_CFG = 3, DEVICE_CFG = 4, PCI_CFG = 5 }

/** The common configuration structure (virtio 1.2 section 4.1.4.3). */
export const enum VirtioPciCommon {
  DEVICE_FEATURE_SELECT = 0x00, DEVICE_FEATURE = 0x04, DRIVER_FEATURE_SELECT = 0x08, DRIVER_FEATURE = 0x0c,
  MSIX_CONFIG = 0x10, NUM_QUEUES = 0x12, DEVICE_STATUS = 0x14, CONFIG_GENERATION = 0x15,
  QUEUE_SELECT = 0x16, QUEUE_SIZE = 0x18, QUEUE_MSIX_VECTOR = 0x1a, QUEUE_ENABLE = 0x1c, QUEUE_NOTIFY_OFF = 0x1e,
  QUEUE_DESC_LO = 0x20, QUEUE_DESC_HI = 0x24, QUEUE_DRIVER_LO = 0x28, QUEUE_DRIVER_HI = 0x2c,
  QUEUE_DEVICE_LO = 0x30, QUEUE_DEVICE_HI = 0x34,
}

/** Where the structures sit in the modern BAR, as QEMU's. */
export const VIRTIO_PCI_REGIONS = {
  common: { offset: 0x0000, size: 0x1000, type: VirtioPciCap.COMMON_CFG },
  isr: { offset: 0x1000, size: 0x1000, type: VirtioPciCap.ISR_CFG },
  device: { offset: 0x2000, size: 0x1000, type: VirtioPciCap.DEVICE_CFG },
  notify: { offset: 0x3000, size: 0x1000, type: VirtioPciCap.NOTIFY_CFG },
} as const;
export const VIRTIO_PCI_MODERN_BAR = 4;
export const VIRTIO_PCI_MSIX_BAR = 1;
const MODERN_BAR_SIZE = 0x4000;
export const VIRTIO_PCI_NOTIFY_MULTIPLIER = 4;
/** Capability offsets, as QEMU allocates them. */
const CAP_COMMON = 0x40;
const CAP_LEN = 16;
const CAP_NOTIFY_LEN = 20;
const CAP_PCI_CFG_LEN = 20;
export const VIRTIO_PCI_MSIX_CAP = 0x98;
/** On a PCI Express port: the PCI Express capability, power management, then the virtio ones and MSI-X. */
export const VIRTIO_PCIE_EXP_CAP = 0x40;
const VIRTIO_PCIE_PM_CAP = 0x7c;
const VIRTIO_PCIE_CAP_COMMON = 0x84;
export const VIRTIO_PCIE_MSIX_CAP = 0xdc;
export const VIRTIO_PCIE_AER_CAP = 0x100;

/** ISR bits. */
const ISR_QUEUE = 1;
const ISR_CONFIG = 2;

export interface VirtioPciOptions {
  device: VirtioDevice;
  dma: DmaMemory;
  /** Memory writes of messages (the slow path). */
  send: MsiSend;
  /** The board's MSI route table (a private one that routes through memory when absent). */
  routes?: MsiRouteTable;
  /** MSI-X vectors; 0 for none (QEMU's vectors=0). Default: one per queue plus one for configuration. */
  vectors?: number;
  /** Base class << 16 | subclass << 8 | interface. */
  classCode: number;
  /** A transitional device, with the legacy interface (QEMU's default on the root bus). */
  legacy?: boolean;
  /** For guest errors: the device's name (virtio-blk-pci). */
  name: string;
  /** A PCI Express endpoint (behind a PCIe port), with an AER capability when `aer`. */
  express?: boolean;
  aer?: boolean;
  log?: (message: string) => void;
  /**
   * A data plane on another thread serves the queues: the queue vectors live
   * in its shared array, and every route change is mirrored to it.
   */
  dataplane?: { queueVectors: Uint16Array; routes: SharedRoutes };
}

export class VirtioPci {
  readonly config: PciConfigSpace;
  readonly msix: Msix | undefined;
  readonly queues: readonly Virtqueue[];
  /** A PCI Express function's error reporting (undefined on conventional PCI). */
  readonly errors: PcieErrorReporter | undefined;
  private readonly routing: MsixRouting | undefined;
  private readonly core: VirtioTransport;
  private readonly device: VirtioDevice;
  private isr = 0;
  private queueSel = 0;
  private configVector = VIRTIO_MSI_NO_VECTOR;
  private readonly queueVectors: Uint16Array;
  private readonly vectors: number;
  /** The PCI configuration access capability (VIRTIO_PCI_CAP_PCI_CFG). */
  private readonly pciCfgCap: number;
  /** The modern BAR's registers. */
  private readonly modern: MmioOps = this.modernOps();

  constructor(opts: VirtioPciOptions) {
    const dev = opts.device;
    this.device = dev;
    const log = opts.log ?? ((): void => {});
    const legacyId = TRANSITIONAL_DEVICE_ID[dev.deviceId];
    const legacy = opts.legacy === true;
    if (legacy && legacyId === undefined) throw new Error(`${opts.name}: virtio device ${dev.deviceId} has no transitional ID`);
    const express = opts.express === true;
    this.config = new PciConfigSpace({
      vendorId: PCI_VENDOR_ID_REDHAT_QUMRANET, classCode: opts.classCode, interruptPin: 1, express,
      ...(legacy ? { deviceId: legacyId, revision: 0, subsystemId: dev.deviceId }
        : { deviceId: VIRTIO_PCI_MODERN_DEVICE_BASE + dev.deviceId, revision: 1 }),
    });
    this.core = new VirtioTransport(dev, opts.dma, {
      queueInterrupt: (vq) => this.interrupt(this.queueVectors[vq.index], ISR_QUEUE),
      configInterrupt: () => this.interrupt(this.configVector, ISR_QUEUE | ISR_CONFIG),
      log: (why) => log(`${opts.name}: ${why}`),
    });
    this.queues = this.core.queues;
    this.queueVectors = opts.dataplane?.queueVectors ?? new Uint16Array(dev.queueCount).fill(VIRTIO_MSI_NO_VECTOR);
    if (legacy) {
      this.config.registerBar(0, {
        kind: BarKind.IO, size: legacyBarSize(dev.config.length),
        ops: legacyRegisters({
          core: this.core,
          queueSel: () => this.queueSel,
          selectQueue: (i) => { this.queueSel = i; },
          msixEnabled: () => this.msix?.enabled === true,
          configVector: () => this.configVector,
          setConfigVector: (v) => { this.configVector = this.vectorOrNone(v); },
          queueVector: (i) => this.queueVectors[i],
          setQueueVector: (i, v) => { this.queueVectors[i] = this.vectorOrNone(v); },
          readIsr: () => this.readIsr(),
          resetTransport: () => this.resetTransport(),
        }),
      });
    }
    this.config.registerBar(VIRTIO_PCI_MODERN_BAR, {
      kind: BarKind.MEM64, size: MODERN_BAR_SIZE, prefetchable: true, ops: this.modern,
    });
    if (express) {
      addEndpointCap(this.config, VIRTIO_PCIE_EXP_CAP);
      addPowerManagementCap(this.config, VIRTIO_PCIE_PM_CAP);
      // An endpoint's AER has no header queue on QEMU 7.2 (its aer_log_max is 0): no multiple header recording.
      if (opts.aer === true) PcieErrorReporter.addCapability(this.config, VIRTIO_PCIE_EXP_CAP, VIRTIO_PCIE_AER_CAP, 0);
      this.errors = new PcieErrorReporter(this.config, VIRTIO_PCIE_EXP_CAP, opts.aer === true ? VIRTIO_PCIE_AER_CAP : undefined, 0);
    }
    let at = express ? VIRTIO_PCIE_CAP_COMMON : CAP_COMMON;
    for (const r of [VIRTIO_PCI_REGIONS.common, VIRTIO_PCI_REGIONS.isr, VIRTIO_PCI_REGIONS.device]) {
      this.addVirtioCap(at, CAP_LEN, r.type, r.offset, r.size);
      at += CAP_LEN;
    }
    const n = VIRTIO_PCI_REGIONS.notify;
    this.addVirtioCap(at, CAP_NOTIFY_LEN, n.type, n.offset, n.size);
    this.config.set32(at + 16, VIRTIO_PCI_NOTIFY_MULTIPLIER);
    at += CAP_NOTIFY_LEN;
    this.pciCfgCap = at;
    this.addVirtioCap(at, CAP_PCI_CFG_LEN, VirtioPciCap.PCI_CFG, 0, 0);
    // The window's bar, offset, length and data are the driver's to write.
    this.config.wmask[at + 4] = 0xff;
    this.config.wmask.fill(0xff, at + 8, at + 20);
    this.vectors = opts.vectors ?? dev.queueCount + 1;
    if (this.vectors > 0) {
      const routes = opts.routes ?? new MsiRouteTable(() => undefined, opts.send);
      const msixCap = express ? VIRTIO_PCIE_MSIX_CAP : VIRTIO_PCI_MSIX_CAP;
      this.msix = Msix.exclusiveBar(this.config, VIRTIO_PCI_MSIX_BAR, this.vectors, msixCap, opts.send);
      const mirror = opts.dataplane?.routes;
      this.routing = new MsixRouting(this.msix, routes, this.config, msixCap,
        mirror === undefined ? {} : { mirror: (vector, target) => mirror.set(vector, target) });
    }
    this.config.listen((offset, size) => this.configWritten(offset, size));
    this.config.onRead((offset, size) => this.configRead(offset, size));
    this.resetTransport();
  }

  /** Device reset by the machine (power-on, system_reset, a bus reset): the function and the transport. */
  reset(): void {
    this.config.reset();
    this.errors?.reset();
    this.msix?.reset();
    this.resetTransport();
    this.routing?.resync();
  }

  /** The driver's Status write of 0, or a machine reset: everything the driver set up is forgotten. */
  private resetTransport(): void {
    this.core.reset();
    for (const q of this.queues) q.num = this.device.queueSizes?.[q.index] ?? this.device.queueSize ?? VIRTQUEUE_MAX_SIZE;
    this.queueSel = 0;
    this.configVector = VIRTIO_MSI_NO_VECTOR;
    this.queueVectors.fill(VIRTIO_MSI_NO_VECTOR);
    this.isr = 0;
    this.config.setIntx(false);
  }

  private addVirtioCap(at: number, len: number, type: VirtioPciCap, offset: number, length: number): void {
    this.config.addCapability(PCI_CAP_ID_VNDR, at, len);
    this.config.config[at + 2] = len;
    this.config.config[at + 3] = type;
    this.config.config[at + 4] = type === VirtioPciCap.PCI_CFG ? 0 : VIRTIO_PCI_MODERN_BAR;
    this.config.set32(at + 8, offset);
    this.config.set32(at + 12, length);
  }

  private interrupt(vector: number, isrBits: number): void {
    this.isr |= isrBits;
    if (this.msix?.enabled === true) {
      if (vector !== VIRTIO_MSI_NO_VECTOR) this.routing?.signal(vector);
    } else {
      this.config.setIntx((this.isr & ISR_QUEUE) !== 0);
    }
  }

  private modernOps(): MmioOps {
    const { common, isr, device, notify } = VIRTIO_PCI_REGIONS;
    return {
      read: (offset, size) => {
        if (offset < common.offset + common.size) return this.readCommon(offset - common.offset, size);
        if (offset < isr.offset + isr.size) return offset === isr.offset ? this.readIsr() : 0;
        if (offset < device.offset + device.size) return this.core.readConfig(offset - device.offset, size);
        return 0;
      },
      write: (offset, size, value) => {
        if (offset < common.offset + common.size) this.writeCommon(offset - common.offset, size, value);
        else if (offset >= notify.offset && offset < notify.offset + notify.size) {
          this.core.notify(Math.floor((offset - notify.offset) / VIRTIO_PCI_NOTIFY_MULTIPLIER));
        }
        // The ISR is read-only, and so is the device configuration of the devices tsemu has.
      },
    };
  }

  private readIsr(): number {
    const v = this.isr;
    this.isr = 0;
    if (this.msix?.enabled !== true) this.config.setIntx(false);
    return v;
  }

  private readCommon(offset: number, _size: AccessSize): number {
    const c = this.core;
    const q = this.queues[this.queueSel];
    switch (offset) {
      case VirtioPciCommon.DEVICE_FEATURE_SELECT: return c.deviceFeaturesSel;
      case VirtioPciCommon.DEVICE_FEATURE: return c.deviceFeatures;
      case VirtioPciCommon.DRIVER_FEATURE_SELECT: return c.driverFeaturesSel;
      case VirtioPciCommon.DRIVER_FEATURE: return c.driverFeatureWord;
      case VirtioPciCommon.MSIX_CONFIG: return this.configVector;
      case VirtioPciCommon.NUM_QUEUES: return this.queues.length;
      case VirtioPciCommon.DEVICE_STATUS: return c.status;
      case VirtioPciCommon.CONFIG_GENERATION: return c.generation & 0xff;
      case VirtioPciCommon.QUEUE_SELECT: return this.queueSel;
    }
    // The queue registers read 0 for a queue that does not exist (QEMU: a size of 0 says so).
    if (q === undefined) return 0;
    switch (offset) {
      case VirtioPciCommon.QUEUE_SIZE: return q.num;
      case VirtioPciCommon.QUEUE_MSIX_VECTOR: return this.queueVectors[q.index];
      case VirtioPciCommon.QUEUE_ENABLE: return q.ready ? 1 : 0;
      case VirtioPciCommon.QUEUE_NOTIFY_OFF: return q.index;
      case VirtioPciCommon.QUEUE_DESC_LO: return q.descAddr >>> 0;
      case VirtioPciCommon.QUEUE_DESC_HI: return Math.floor(q.descAddr / 2 ** 32);
      case VirtioPciCommon.QUEUE_DRIVER_LO: return q.driverAddr >>> 0;
      case VirtioPciCommon.QUEUE_DRIVER_HI: return Math.floor(q.driverAddr / 2 ** 32);
      case VirtioPciCommon.QUEUE_DEVICE_LO: return q.deviceAddr >>> 0;
      case VirtioPciCommon.QUEUE_DEVICE_HI: return Math.floor(q.deviceAddr / 2 ** 32);
      default: return 0;
    }
  }

  private writeCommon(offset: number, _size: AccessSize, value: number): void {
    const c = this.core;
    const q = this.queues[this.queueSel];
    switch (offset) {
      case VirtioPciCommon.DEVICE_FEATURE_SELECT: c.deviceFeaturesSel = value >>> 0; return;
      case VirtioPciCommon.DRIVER_FEATURE_SELECT: c.driverFeaturesSel = value >>> 0; return;
      case VirtioPciCommon.DRIVER_FEATURE: c.driverFeatureWord = value; return;
      case VirtioPciCommon.MSIX_CONFIG: this.configVector = this.vectorOrNone(value); return;
      case VirtioPciCommon.DEVICE_STATUS:
        if ((value & 0xff) === 0) this.resetTransport();
        else c.writeStatus(value & 0xff);
        return;
      case VirtioPciCommon.QUEUE_SELECT: this.queueSel = value & 0xffff; return;
    }
    // Queue registers of a queue that does not exist, or of one that is running, take no writes.
    if (q === undefined) return;
    if (offset === VirtioPciCommon.QUEUE_MSIX_VECTOR) {
      this.queueVectors[q.index] = this.vectorOrNone(value);
      return;
    }
    if (q.ready) return;
    switch (offset) {
      case VirtioPciCommon.QUEUE_SIZE:
        if (value >= 1 && value <= VIRTQUEUE_MAX_SIZE) q.num = value & 0xffff;
        break;
      case VirtioPciCommon.QUEUE_ENABLE: if ((value & 1) === 1) q.enable(); break;
      case VirtioPciCommon.QUEUE_DESC_LO: q.descAddr = setLow32(q.descAddr, value); break;
      case VirtioPciCommon.QUEUE_DESC_HI: q.descAddr = setHigh32(q.descAddr, value); break;
      case VirtioPciCommon.QUEUE_DRIVER_LO: q.driverAddr = setLow32(q.driverAddr, value); break;
      case VirtioPciCommon.QUEUE_DRIVER_HI: q.driverAddr = setHigh32(q.driverAddr, value); break;
      case VirtioPciCommon.QUEUE_DEVICE_LO: q.deviceAddr = setLow32(q.deviceAddr, value); break;
      case VirtioPciCommon.QUEUE_DEVICE_HI: q.deviceAddr = setHigh32(q.deviceAddr, value); break;
    }
  }

  /** A vector the function has, else "no vector" (what the driver reads back to learn it failed). */
  private vectorOrNone(value: number): number {
    const v = value & 0xffff;
    return v < this.vectors ? v : VIRTIO_MSI_NO_VECTOR;
  }

  /** MSI-X enabled: INTx goes quiet (as QEMU's msix_write_config).  The access window's data: a write goes to the BAR. */
  private configWritten(offset: number, size: number): void {
    const devctl = VIRTIO_PCIE_EXP_CAP + PciExp.DEVCTL + 1;
    if (this.errors !== undefined && offset <= devctl && offset + size > devctl
      && (this.config.get16(devctl - 1) & DevCtl.BCR_FLR) !== 0) {
      // Function level reset; Initiate FLR reads 0 again afterwards (the reset restores it).
      this.reset();
      return;
    }
    if (this.msix?.enabled === true) this.config.setIntx(false);
    const data = this.pciCfgCap + 16;
    if (offset <= data && offset + size > data) {
      const w = this.window();
      if (w !== undefined) this.modern.write(w.offset, w.length, this.config.get32(data));
    }
  }

  /** The access window's data: a read fetches it from the BAR first. */
  private configRead(offset: number, size: number): void {
    const data = this.pciCfgCap + 16;
    if (offset + size <= data || offset >= data + 4) return;
    const w = this.window();
    if (w !== undefined) this.config.set32(data, this.modern.read(w.offset, w.length));
  }

  /** The PCI configuration access window, when it names the modern BAR with a 1, 2 or 4-byte access inside it. */
  private window(): { offset: number; length: AccessSize } | undefined {
    const at = this.pciCfgCap;
    const bar = this.config.config[at + 4];
    const offset = this.config.get32(at + 8);
    const length = this.config.get32(at + 12);
    if (bar !== VIRTIO_PCI_MODERN_BAR || (length !== 1 && length !== 2 && length !== 4)) return undefined;
    if (offset % length !== 0 || offset + length > MODERN_BAR_SIZE) return undefined;
    return { offset, length };
  }
}
