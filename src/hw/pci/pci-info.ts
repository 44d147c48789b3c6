/**
 * A PCI function described as QEMU's monitor describes it (qapi PciDeviceInfo:
 * `query-pci`, HMP `info pci`): identity, class, interrupt pin and line, and
 * each BAR with the address it decodes at (-1 when it does not).
 */
import { BarKind, PCI_NUM_BARS, PciReg, type PciConfigSpace } from "./config-space.js";
import { BridgeReg, ioWindow, memoryWindow, prefetchWindow, secondaryBus, subordinateBus, type BridgeRange } from "./pci-bridge.js";
import type { PcieHost } from "./pcie-host.js";

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
  /** Absent on a bridge (its header has no subsystem IDs). */
  subsystemVendor?: number;
  subsystem?: number;
  /** 1 (INTA#) to 4, 0 for none. */
  irqPin: number;
  /** The interrupt line register, when the function has a pin. */
  irq?: number;
  qdevId: string;
  regions: PciRegionInfo[];
  /** A PCI-to-PCI bridge: its bus numbers, windows and the functions on its secondary bus. */
  bridge?: PciBridgeInfo;
}

export interface PciBridgeInfo {
  number: number;
  secondary: number;
  subordinate: number;
  io: BridgeRange;
  memory: BridgeRange;
  prefetch: BridgeRange;
  /** Listed once the guest numbered the secondary bus (QEMU lists none while it is 0). */
  devices?: PciFunctionInfo[];
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
  for (let i = 0; i < (cfg.bridge ? 2 : PCI_NUM_BARS); i++) {
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
    ...(cfg.bridge ? {} : { subsystemVendor: cfg.get16(PciReg.SUBSYSTEM_VENDOR_ID), subsystem: cfg.get16(PciReg.SUBSYSTEM_ID) }),
    irqPin: pin, ...(pin !== 0 ? { irq: cfg.config[PciReg.INTERRUPT_LINE] } : {}), qdevId, regions,
  };
}

/**
 * Every function the guest sees, as QEMU's query-pci nests them: bus 0,
 * and below each bridge whose secondary bus is numbered, the functions
 * there.  `qdevId` names a function by its bridge's devfn (undefined on bus
 * 0) and its devfn.
 */
export function pciBusInfo(host: PcieHost, qdevId: (bridgeDevfn: number | undefined, devfn: number) => string): PciFunctionInfo[] {
  return host.visible().map(([devfn, cfg]) => {
    const info = pciFunctionInfo(0, devfn, cfg, qdevId(undefined, devfn));
    if (!cfg.bridge) return info;
    const sec = secondaryBus(cfg);
    info.bridge = {
      number: cfg.config[BridgeReg.PRIMARY_BUS], secondary: sec, subordinate: subordinateBus(cfg),
      io: ioWindow(cfg), memory: memoryWindow(cfg), prefetch: prefetchWindow(cfg),
      ...(sec !== 0 ? { devices: host.visibleBehind(devfn).map(([d, c]) => pciFunctionInfo(sec, d, c, qdevId(devfn, d))) } : {}),
    };
    return info;
  });
}
