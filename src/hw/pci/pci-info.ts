/**
 * A PCI function described as QEMU's monitor describes it (qapi PciDeviceInfo:
 * `query-pci`, HMP `info pci`): identity, class, interrupt pin and line, and
 * each BAR with the address it decodes at (-1 when it does not).
 */
import { BarKind, PCI_NUM_BARS, PciReg, type PciConfigSpace } from "./config-space.js";

export interface PciRegionInfo {
  bar: number;
  type: "io" | "memory";
  /** -1 while the BAR does not decode. */
  address: number;
  size: number;
  prefetch?: boolean;
  mem64?: boolean;
}

export interface PciFunctionInfo {
  bus: number;
  slot: number;
  function: number;
  /** Base class << 8 | subclass. */
  classCode: number;
  vendor: number;
  device: number;
  subsystemVendor: number;
  subsystem: number;
  /** 1 (INTA#) to 4, 0 for none. */
  irqPin: number;
  /** The interrupt line register, when the function has a pin. */
  irq?: number;
  qdevId: string;
  regions: PciRegionInfo[];
}

/** QEMU's names for the classes (hw/pci/pci.c pci_class_descriptions), for those tsemu's functions and common ones use. */
const CLASS_NAMES: Readonly<Record<number, string>> = {
  0x0100: "SCSI controller", 0x0101: "IDE controller", 0x0106: "SATA controller", 0x0108: "NVMe controller",
  0x0180: "Storage controller", 0x0200: "Ethernet controller", 0x0280: "Network controller",
  0x0300: "VGA controller", 0x0380: "Display controller", 0x0401: "Audio controller",
  0x0600: "Host bridge", 0x0601: "ISA bridge", 0x0604: "PCI bridge", 0x0680: "Bridge",
  0x0700: "Serial port", 0x0c03: "USB controller",
};

export function pciClassName(classCode: number): string | undefined {
  return CLASS_NAMES[classCode];
}

export function pciFunctionInfo(bus: number, devfn: number, cfg: PciConfigSpace, qdevId: string): PciFunctionInfo {
  const regions: PciRegionInfo[] = [];
  for (let i = 0; i < PCI_NUM_BARS; i++) {
    const bar = cfg.bar(i);
    if (bar === undefined) continue;
    const address = cfg.barAddress(i);
    regions.push(bar.kind === BarKind.IO
      ? { bar: i, type: "io", address, size: bar.size }
      : { bar: i, type: "memory", address, size: bar.size, prefetch: bar.prefetchable === true, mem64: bar.kind === BarKind.MEM64 });
  }
  const pin = cfg.interruptPin;
  return {
    bus, slot: devfn >> 3, function: devfn & 7, classCode: cfg.get16(PciReg.CLASS_DEVICE),
    vendor: cfg.vendorId, device: cfg.deviceId,
    subsystemVendor: cfg.get16(PciReg.SUBSYSTEM_VENDOR_ID), subsystem: cfg.get16(PciReg.SUBSYSTEM_ID),
    irqPin: pin, ...(pin !== 0 ? { irq: cfg.config[PciReg.INTERRUPT_LINE] } : {}), qdevId, regions,
  };
}
