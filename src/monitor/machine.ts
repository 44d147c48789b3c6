/**
 * What the monitor needs of the machine and of the host, and nothing more:
 * the command-line wiring (cli/) implements these over the board, the run
 * loop and the host, so the monitor itself knows no board, device or socket.
 */

import type { PciFunctionInfo } from "../hw/pci/pci-info.js";
import type { PcieErrorReporter } from "../hw/pci/pcie-aer.js";

/** A PCI function found by its -device id: where it is, and its error reporting when it is PCI Express. */
export interface PciTarget {
  /** The number of its bus (a bridge's secondary bus register; 0 on the root bus). */
  bus: number;
  devfn: number;
  errors: PcieErrorReporter | undefined;
}

/** QEMU's RunState names (qapi/run-state.json) that tsemu can be in. */
export type RunState = "running" | "paused" | "prelaunch" | "shutdown";

/** One hart, as the debugger side of the monitor sees it. */
export interface CpuView {
  /** The hart's register dump, in the layout of QEMU's `info registers` (lines end in \n). */
  dumpState(): string;
  /** A register by name ($pc, $a0, $x5, $mstatus ...), or undefined when there is none of that name. */
  register(name: string): bigint | undefined;
  /** The guest-physical address that virtual `addr` maps to for a data read now, or undefined. */
  translate(addr: bigint): bigint | undefined;
}

export interface BlockDeviceInfo {
  /** The drive's name: its id=, or QEMU's "virtio0" for an if=virtio drive. */
  device: string;
  nodeName: string;
  file: string;
  format: string;
  readOnly: boolean;
  /** Bytes the guest sees. */
  virtualSize: number;
  /** Bytes the image takes on the host. */
  actualSize: number;
  /** The device it is attached to (QOM path), if any. */
  qdev?: string;
  /** -snapshot or snapshot=on: writes stay in memory. */
  snapshot: boolean;
}

export interface ChardevInfo {
  label: string;
  /** QEMU's description, e.g. "tcp:127.0.0.1:4444,server=on <-> 127.0.0.1:51234". */
  filename: string;
  frontendOpen: boolean;
}

export interface MemoryRegionInfo {
  name: string;
  base: number;
  size: number;
  kind: "ram" | "rom" | "i/o";
}

/** A device in the `info qtree` listing. */
export interface QtreeDevice {
  type: string;
  id: string;
  props: [string, string][];
  mmio: { base: number; size: number }[];
  bus?: { name: string; type: string; devices: QtreeDevice[] };
}

import type { NetworkControl } from "../system/network.js";

export interface MachineControl {
  /** "riscv64" */
  readonly arch: string;
  /** -name, if given. */
  readonly name: string | undefined;

  status(): RunState;
  /** stop: pause the harts (emits STOP when they were running). */
  stop(): void;
  /** cont: an error text when the machine cannot run (after a shutdown with -no-shutdown). */
  cont(): string | undefined;
  /** system_reset. */
  reset(): void;
  /** system_powerdown. */
  powerdown(): void;
  /** quit: exits once the replies in flight are written. */
  quit(): void;

  cpuCount(): number;
  cpu(index: number): CpuView;
  /** The host thread that runs hart `index` (QEMU's thread-id). */
  threadId(index: number): number;
  qomPath(index: number): string;

  /** Guest-physical bytes (RAM, ROM, device registers); undefined when nothing answers somewhere in the range. */
  readPhysical(addr: bigint, length: number): Uint8Array | undefined;
  /** One instruction at `addr` from its first bytes (4 given, or fewer at the end of memory). */
  disassemble(bytes: Uint8Array, addr: bigint): { text: string; length: number };

  blockDevices(): BlockDeviceInfo[];
  chardevs(): ChardevInfo[];
  memoryMap(): MemoryRegionInfo[];
  qtree(): QtreeDevice[];
  /** The PCI functions of bus 0, in slot order (query-pci, info pci). */
  pciDevices(): PciFunctionInfo[];
  /** NICs and netdevs (info network, set_link, hostfwd_add/remove); none: no network commands work. */
  network?: NetworkControl;
  /** The PCI function with -device id=`id`, if any (pcie_aer_inject_error). */
  pciFunctionById(id: string): PciTarget | undefined;
  /** The -object iothread objects, in the order QEMU lists them (query-iothreads, info iothreads). */
  iothreads?(): IothreadInfo[];
}

/** An iothread as query-iothreads reports it: its id, its thread and QEMU's tuning properties. */
export interface IothreadInfo {
  id: string;
  threadId: number;
  pollMaxNs: number;
  pollGrow: number;
  pollShrink: number;
  aioMaxBatch: number;
}

/** Host services the monitor's commands use (files for memsave/pmemsave). */
export interface MonitorHost {
  /** Write a whole file; throws an Error whose message is the C library's text (e.g. "No such file or directory"). */
  writeFile(path: string, data: Uint8Array): void;
  /** Wall-clock time in microseconds since the epoch, for event timestamps. */
  nowMicros(): number;
}
