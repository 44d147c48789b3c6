/**
 * What a PCI device model gives the host bridge, and what the board gives a
 * device model when it plugs it: guest memory for DMA, the memory write that
 * carries its messages, and the board's MSI route table.
 */
import type { DmaMemory } from "../core/memory.js";
import type { PciConfigSpace } from "./config-space.js";
import type { MsiRouteTable } from "./msi-route.js";
import type { MsiSend } from "./msi.js";
import type { PcieErrorReporter } from "./pcie-aer.js";
import type { SharedMachine } from "../core/shared-machine.js";

export interface PciFunctionModel {
  readonly config: PciConfigSpace;
  /** Device reset (power-on, system_reset, a bus reset): the configuration space and the device's own state. */
  reset(): void;
  /** A PCI Express function's error reporting (what pcie_aer_inject_error acts on). */
  readonly errors?: PcieErrorReporter;
  /** A bridge: the bus below it takes devices (QEMU's bus=ID). */
  readonly bridge?: PciBridgeModel;
}

/** What the board needs of a bridge function (a PCIe root port). */
export interface PciBridgeModel {
  /** Set when a device is plugged at slot 0 below. */
  populated: boolean;
  /** Called on the guest's secondary bus reset. */
  onSecondaryReset: (() => void) | undefined;
  /** Its error reporting, the way up for errors of the devices below. */
  readonly errors: PcieErrorReporter;
  /** QEMU's chassis and slot properties: no two root ports may share both. */
  readonly chassisSlot: string;
}

export interface PciBusContext {
  dma: DmaMemory;
  send: MsiSend;
  routes: MsiRouteTable;
  /** Guest errors (QEMU prints them to stderr). */
  log: (message: string) => void;
  /** The function sits behind a PCI Express port (QEMU makes virtio devices PCI Express endpoints there). */
  express: boolean;
  /** The machine's shared memory, when it was made with it (device models on worker threads). */
  shared?: SharedMachine;
}

/** A device waiting to be plugged: where (devfn, or the first free slot) and how to make it. */
export interface PciPlug {
  /** The device type's name, for messages ("virtio-blk-pci"). */
  readonly name: string;
  /** The -device option's id= ("" when none), as the monitor shows it. */
  readonly id?: string;
  /** The -device option as given, for messages. */
  readonly spec?: string;
  /** devfn (slot << 3 | function), or undefined for the first free slot. */
  readonly addr?: number;
  /** The -device option's bus= ("pcie.0", or a root port's id), undefined for the root bus. */
  readonly bus?: string;
  /** Only on the root bus (a root port). */
  readonly rootBusOnly?: boolean;
  create(ctx: PciBusContext): PciFunctionModel;
}
