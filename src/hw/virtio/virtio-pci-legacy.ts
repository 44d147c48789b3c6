/**
 * The legacy virtio PCI interface (virtio 1.2 section 4.1.4.8), in the I/O
 * BAR of a transitional device, as QEMU 7.2 gives a virtio-pci device on the
 * root bus (disable-legacy=auto): a legacy driver finds its registers here,
 * a modern one (Linux's) uses the capabilities and leaves them alone.
 *
 * Registers: host features (the low 32 bits), guest features (taken as
 * written: legacy has no FEATURES_OK), the selected queue's page frame
 * number (the ring laid out with 4096-byte alignment), its size, the queue
 * selector, the notify register, status, the ISR, then with MSI-X enabled
 * the configuration and queue vectors, then the device configuration.
 */
import type { AccessSize, MmioOps } from "../core/memory.js";
import type { Virtqueue } from "./virtqueue.js";
import type { VirtioTransport } from "./virtio-transport.js";

export const enum VirtioPciLegacy {
  HOST_FEATURES = 0x00, GUEST_FEATURES = 0x04, QUEUE_PFN = 0x08, QUEUE_NUM = 0x0c, QUEUE_SEL = 0x0e,
  QUEUE_NOTIFY = 0x10, STATUS = 0x12, ISR = 0x13, MSI_CONFIG_VECTOR = 0x14, MSI_QUEUE_VECTOR = 0x16,
}

/** The device configuration's offset: after the vectors when MSI-X is enabled. */
const CONFIG_OFFSET = 0x14;
const CONFIG_OFFSET_MSIX = 0x18;
const VRING_ALIGN = 4096;
const PFN_SHIFT = 12;

/** Transitional device IDs by virtio device ID (virtio 1.2 section 4.1.2.1). */
export const TRANSITIONAL_DEVICE_ID: Readonly<Record<number, number>> = {
  1: 0x1000, 2: 0x1001, 5: 0x1002, 3: 0x1003, 8: 0x1004, 4: 0x1005, 9: 0x1009,
};

/** What the legacy registers reach in the transport. */
export interface LegacyHost {
  readonly core: VirtioTransport;
  /** The selected queue (the common configuration's queue_select is the same register). */
  queueSel(): number;
  selectQueue(index: number): void;
  msixEnabled(): boolean;
  configVector(): number;
  /** Writing a vector the function lacks stores "no vector", as the modern registers do. */
  setConfigVector(value: number): void;
  queueVector(index: number): number;
  setQueueVector(index: number, value: number): void;
  /** Read and clear the ISR. */
  readIsr(): number;
  /** Status 0 or a PFN of 0: reset the device. */
  resetTransport(): void;
}

/** The I/O BAR's size for a device with `configLength` bytes of configuration: a power of two. */
export function legacyBarSize(configLength: number): number {
  return 2 ** Math.ceil(Math.log2(CONFIG_OFFSET_MSIX + configLength));
}

export function legacyRegisters(host: LegacyHost): MmioOps {
  const queue = (): Virtqueue | undefined => host.core.queues[host.queueSel()];
  const configStart = (): number => host.msixEnabled() ? CONFIG_OFFSET_MSIX : CONFIG_OFFSET;
  return {
    read(offset: number, size: AccessSize): number {
      if (offset >= configStart()) return host.core.readConfig(offset - configStart(), size);
      const q = queue();
      switch (offset) {
        case VirtioPciLegacy.HOST_FEATURES: return host.core.offered32;
        case VirtioPciLegacy.GUEST_FEATURES: return Number(host.core.features & 0xffffffffn);
        case VirtioPciLegacy.QUEUE_PFN: return q === undefined ? 0 : Math.floor(q.descAddr / 2 ** PFN_SHIFT);
        case VirtioPciLegacy.QUEUE_NUM: return q?.num ?? 0;
        case VirtioPciLegacy.QUEUE_SEL: return host.queueSel();
        case VirtioPciLegacy.STATUS: return host.core.status;
        case VirtioPciLegacy.ISR: return host.readIsr();
        case VirtioPciLegacy.MSI_CONFIG_VECTOR: return host.configVector();
        case VirtioPciLegacy.MSI_QUEUE_VECTOR: return q === undefined ? 0xffff : host.queueVector(q.index);
        default: return 0;
      }
    },
    write(offset: number, _size: AccessSize, value: number): void {
      if (offset >= configStart()) return; // the device configuration of tsemu's devices is read-only
      const q = queue();
      switch (offset) {
        case VirtioPciLegacy.GUEST_FEATURES: host.core.acceptLegacyFeatures(value >>> 0); break;
        case VirtioPciLegacy.QUEUE_PFN:
          if (value === 0) host.resetTransport();
          else if (q !== undefined) placeRing(q, (value >>> 0) * 2 ** PFN_SHIFT);
          break;
        case VirtioPciLegacy.QUEUE_SEL: host.selectQueue(value & 0xffff); break;
        case VirtioPciLegacy.QUEUE_NOTIFY: host.core.notify(value & 0xffff); break;
        case VirtioPciLegacy.STATUS:
          if ((value & 0xff) === 0) host.resetTransport();
          else host.core.writeLegacyStatus(value & 0xff);
          break;
        case VirtioPciLegacy.MSI_CONFIG_VECTOR: host.setConfigVector(value); break;
        case VirtioPciLegacy.MSI_QUEUE_VECTOR: if (q !== undefined) host.setQueueVector(q.index, value); break;
      }
    },
  };
}

/** The legacy ring layout: descriptors at the page, the available ring after them, the used ring on the next 4 KiB boundary. */
function placeRing(q: Virtqueue, addr: number): void {
  q.descAddr = addr;
  q.driverAddr = addr + 16 * q.num;
  // The available ring ends with used_event (2 bytes), as Linux's vring_init counts it.
  q.deviceAddr = Math.ceil((q.driverAddr + 4 + 2 * q.num + 2) / VRING_ALIGN) * VRING_ALIGN;
  q.enable();
}
