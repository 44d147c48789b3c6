/**
 * What a PCI device model gives the host bridge, and what the board gives a
 * device model when it plugs it: guest memory for DMA, the memory write that
 * carries its messages, and the board's MSI route table.
 */
import type { DmaMemory } from "../core/memory.js";
import type { PciConfigSpace } from "./config-space.js";
import type { MsiRouteTable } from "./msi-route.js";
import type { MsiSend } from "./msi.js";

export interface PciFunctionModel {
  readonly config: PciConfigSpace;
  /** Device reset (power-on, system_reset, a bus reset): the configuration space and the device's own state. */
  reset(): void;
}

export interface PciBusContext {
  dma: DmaMemory;
  send: MsiSend;
  routes: MsiRouteTable;
  /** Guest errors (QEMU prints them to stderr). */
  log: (message: string) => void;
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
  create(ctx: PciBusContext): PciFunctionModel;
}
