/**
 * A PCI function's configuration space (PCI Local Bus 3.0 chapter 6; PCIe 4.0
 * section 7.5): 256 bytes for a conventional function, 4 KiB for a PCI
 * Express one, with a type 0 header.  Writes go through per-byte masks as in
 * QEMU's hw/pci/pci.c: `wmask` bits are writable, `w1cmask` bits clear when 1
 * is written, every other bit is read-only.  The same defaults as QEMU's:
 * subsystem 1af4:1100, the command bits IO, MEMORY, MASTER, SERR and
 * INTX_DISABLE writable, cache line size and interrupt line writable, and
 * everything after the 64-byte header writable until a capability claims it.
 *
 * BARs (base address registers) are declared by the device with their kind
 * and size; the guest sizes them by writing all ones and reading back
 * ~(size - 1) | type bits.  A BAR decodes (`barAddress`) only while its
 * command bit (IO or MEMORY) is set.  The host bridge listens for writes to
 * re-map BARs into its windows, and the device may listen too (MSI-X enable
 * and the like).
 */
import type { MmioOps } from "../core/memory.js";

/** Offsets in the type 0 header. */
export const enum PciReg {
  VENDOR_ID = 0x00,
  DEVICE_ID = 0x02,
  COMMAND = 0x04,
  STATUS = 0x06,
  REVISION_ID = 0x08,
  CLASS_PROG = 0x09,
  CLASS_DEVICE = 0x0a,
  CACHE_LINE_SIZE = 0x0c,
  LATENCY_TIMER = 0x0d,
  HEADER_TYPE = 0x0e,
  BIST = 0x0f,
  BAR0 = 0x10,
  SUBSYSTEM_VENDOR_ID = 0x2c,
  SUBSYSTEM_ID = 0x2e,
  ROM_ADDRESS = 0x30,
  CAPABILITY_LIST = 0x34,
  INTERRUPT_LINE = 0x3c,
  INTERRUPT_PIN = 0x3d,
}

export const enum PciCommand {
  IO = 0x1,
  MEMORY = 0x2,
  MASTER = 0x4,
  SERR = 0x100,
  INTX_DISABLE = 0x400,
}

export const enum PciStatus {
  INTERRUPT = 0x08,
  CAP_LIST = 0x10,
}

/** Size of the type 0 header; capabilities go after it. */
export const PCI_HEADER_SIZE = 0x40;
export const PCI_CONFIG_SIZE = 0x100;
export const PCIE_CONFIG_SIZE = 0x1000;
export const PCI_NUM_BARS = 6;
/** QEMU's default subsystem IDs for a function that names none (Red Hat / Qumranet, QEMU). */
export const PCI_SUBVENDOR_ID_REDHAT_QUMRANET = 0x1af4;
export const PCI_SUBDEVICE_ID_QEMU = 0x1100;

/** Status bits that the guest clears by writing 1 (parity and abort errors). */
const STATUS_W1C = 0xf900;
const COMMAND_WRITABLE = PciCommand.IO | PciCommand.MEMORY | PciCommand.MASTER | PciCommand.SERR
  | PciCommand.INTX_DISABLE;

export const enum BarKind {
  /** I/O space: bit 0 reads 1. */
  IO,
  /** 32-bit memory space. */
  MEM32,
  /** 64-bit memory space: takes two BAR registers, the second holding the upper half. */
  MEM64,
}

export interface PciBarSpec {
  kind: BarKind;
  /** A power of two: at least 4 for I/O, 16 for memory. */
  size: number;
  /** Memory BARs only: reads may be prefetched (bit 3). */
  prefetchable?: boolean;
  /** The registers the BAR exposes, at offsets from the BAR's base. */
  ops: MmioOps;
}

export interface PciConfigOptions {
  vendorId: number;
  deviceId: number;
  /** Base class << 16 | subclass << 8 | programming interface (for example 0x060000: host bridge). */
  classCode: number;
  revision?: number;
  subsystemVendorId?: number;
  subsystemId?: number;
  /** A PCI Express function: 4 KiB of configuration space instead of 256 bytes. */
  express?: boolean;
  /** Header type bit 7: the slot has more functions than this one. */
  multifunction?: boolean;
  /** The INTx pin the function uses: 1 (INTA#) to 4 (INTD#), 0 for none. */
  interruptPin?: number;
  /**
   * Header type 1, a PCI-to-PCI bridge (pci-bridge.ts lays out its
   * registers): no subsystem IDs in the header, two BARs.
   */
  bridge?: boolean;
}

/** Called after every configuration write with the bytes it touched. */
export type ConfigWriteListener = (offset: number, size: number) => void;
/** Called before a configuration read, so that a device can refresh registers it computes. */
export type ConfigReadHook = (offset: number, size: number) => void;

export class PciConfigSpace {
  readonly size: number;
  /** Header type 1 (a PCI-to-PCI bridge). */
  readonly bridge: boolean;
  /** The register contents, little-endian. */
  readonly config: Uint8Array;
  /** Bits the guest may write. */
  readonly wmask: Uint8Array;
  /** Bits the guest clears by writing 1. */
  readonly w1cmask: Uint8Array;
  private readonly bars: (PciBarSpec | undefined)[] = new Array<PciBarSpec | undefined>(PCI_NUM_BARS).fill(undefined);
  private readonly listeners: ConfigWriteListener[] = [];
  private readHook: ConfigReadHook | undefined;
  /** Reset values of config and the masks, captured by `reset` on first use. */
  private initial: Uint8Array | undefined;
  /** Where the function's INTx goes (the host bridge sets it when the function is plugged). */
  private intxSink: ((level: boolean) => void) | undefined;
  private intxLevel = false;
  private intxDelivered = false;

  constructor(opts: PciConfigOptions) {
    this.size = opts.express === true ? PCIE_CONFIG_SIZE : PCI_CONFIG_SIZE;
    this.config = new Uint8Array(this.size);
    this.wmask = new Uint8Array(this.size);
    this.w1cmask = new Uint8Array(this.size);
    this.set16(PciReg.VENDOR_ID, opts.vendorId);
    this.set16(PciReg.DEVICE_ID, opts.deviceId);
    this.config[PciReg.REVISION_ID] = opts.revision ?? 0;
    this.config[PciReg.CLASS_PROG] = opts.classCode & 0xff;
    this.set16(PciReg.CLASS_DEVICE, opts.classCode >>> 8);
    this.bridge = opts.bridge === true;
    this.config[PciReg.HEADER_TYPE] = (opts.multifunction === true ? 0x80 : 0) | (this.bridge ? 1 : 0);
    if (!this.bridge) {
      this.set16(PciReg.SUBSYSTEM_VENDOR_ID, opts.subsystemVendorId ?? PCI_SUBVENDOR_ID_REDHAT_QUMRANET);
      this.set16(PciReg.SUBSYSTEM_ID, opts.subsystemId ?? PCI_SUBDEVICE_ID_QEMU);
    }
    this.config[PciReg.INTERRUPT_PIN] = opts.interruptPin ?? 0;
    this.setMask16(this.wmask, PciReg.COMMAND, COMMAND_WRITABLE);
    this.setMask16(this.w1cmask, PciReg.STATUS, STATUS_W1C);
    this.wmask[PciReg.CACHE_LINE_SIZE] = 0xff;
    this.wmask[PciReg.INTERRUPT_LINE] = 0xff;
    this.wmask.fill(0xff, PCI_HEADER_SIZE);
  }

  get vendorId(): number {
    return this.get16(PciReg.VENDOR_ID);
  }

  get deviceId(): number {
    return this.get16(PciReg.DEVICE_ID);
  }

  get command(): number {
    return this.get16(PciReg.COMMAND);
  }

  get interruptPin(): number {
    return this.config[PciReg.INTERRUPT_PIN];
  }

  /**
   * Declare BAR `index` (a MEM64 BAR also takes index + 1).  Call before the
   * function is plugged: the declaration becomes part of the reset state.
   */
  registerBar(index: number, bar: PciBarSpec): void {
    const last = bar.kind === BarKind.MEM64 ? index + 1 : index;
    // A bridge's header has room for two BARs only.
    if (!Number.isInteger(index) || index < 0 || last >= (this.bridge ? 2 : PCI_NUM_BARS)) throw new Error(`BAR ${index}: no such BAR`);
    const min = bar.kind === BarKind.IO ? 4 : 16;
    if (bar.size < min || !Number.isInteger(Math.log2(bar.size))) {
      throw new Error(`BAR ${index}: size ${bar.size} is not a power of two of at least ${min}`);
    }
    if (bar.kind !== BarKind.MEM64 && bar.size > 2 ** 31) throw new Error(`BAR ${index}: too large for 32 bits`);
    const taken = (i: number): boolean => this.bars[i] !== undefined || this.bars[i - 1]?.kind === BarKind.MEM64;
    if (taken(index) || taken(last)) throw new Error(`BAR ${index}: already in use`);
    this.bars[index] = bar;
    const reg = PciReg.BAR0 + 4 * index;
    const typeBits = bar.kind === BarKind.IO ? 0x1
      : (bar.kind === BarKind.MEM64 ? 0x4 : 0) | (bar.prefetchable === true ? 0x8 : 0);
    this.set32(reg, typeBits);
    // Address bits below the size read 0; the type bits are read-only.
    const low = bar.size >= 2 ** 32 ? 0 : (~(bar.size - 1) >>> 0) & (bar.kind === BarKind.IO ? ~0x3 : ~0xf);
    this.setMask32(this.wmask, reg, low);
    if (bar.kind === BarKind.MEM64) {
      this.set32(reg + 4, 0);
      this.setMask32(this.wmask, reg + 4, bar.size > 2 ** 32 ? (~(bar.size / 2 ** 32 - 1) >>> 0) : 0xffffffff);
    }
  }

  /** The BAR declared at `index`, if any. */
  bar(index: number): PciBarSpec | undefined {
    return this.bars[index];
  }

  /**
   * The bus address BAR `index` decodes at, or -1 when it does not decode:
   * no such BAR, or its space (IO or MEMORY) is disabled in the command
   * register.  (Address 0 is valid, as on QEMU's virt: pci_allow_0_address.)
   */
  barAddress(index: number): number {
    const bar = this.bars[index];
    if (bar === undefined) return -1;
    const reg = PciReg.BAR0 + 4 * index;
    if (bar.kind === BarKind.IO) {
      return (this.command & PciCommand.IO) === 0 ? -1 : (this.get32(reg) & ~0x3) >>> 0;
    }
    if ((this.command & PciCommand.MEMORY) === 0) return -1;
    // The bits below the size are read-only zeros (wmask), so the register is the address.
    const low = (this.get32(reg) & ~0xf) >>> 0;
    const high = bar.kind === BarKind.MEM64 ? this.get32(reg + 4) : 0;
    // Beyond 2^53 no window of ours can hold it.
    return high >= 2 ** 21 ? -1 : high * 2 ** 32 + low;
  }

  /**
   * Add a capability of `size` bytes at `offset` (in the first 256 bytes,
   * after the header, dword aligned) to the head of the capability list, as
   * QEMU's pci_add_capability: its bytes become read-only (the device then
   * opens the bits it wants writable in `wmask`).  Returns `offset`.
   */
  addCapability(id: number, offset: number, size: number): number {
    if (offset < PCI_HEADER_SIZE || offset % 4 !== 0 || offset + size > PCI_CONFIG_SIZE || size < 2) {
      throw new Error(`capability 0x${id.toString(16)} at 0x${offset.toString(16)}: outside the capability area`);
    }
    this.config[offset] = id;
    this.config[offset + 1] = this.config[PciReg.CAPABILITY_LIST];
    this.config[PciReg.CAPABILITY_LIST] = offset;
    this.set16(PciReg.STATUS, this.get16(PciReg.STATUS) | PciStatus.CAP_LIST);
    this.wmask.fill(0, offset, offset + size);
    this.w1cmask.fill(0, offset, offset + size);
    return offset;
  }

  /** Be told of every configuration write (after it took effect). */
  listen(listener: ConfigWriteListener): void {
    this.listeners.push(listener);
  }

  /** Be asked before every configuration read (one hook per function). */
  onRead(hook: ConfigReadHook): void {
    this.readHook = hook;
  }

  /**
   * A configuration read of `size` bytes (1, 2 or 4) at `offset`,
   * little-endian; bytes past the end of the space read as ones.
   */
  read(offset: number, size: number): number {
    this.readHook?.(offset, size);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) {
      const at = offset + i;
      v = v * 256 + (at < this.size ? this.config[at] : 0xff);
    }
    return v;
  }

  /** A configuration write through the masks; bytes past the end of the space are dropped. */
  write(offset: number, size: number, value: number): void {
    if (offset >= this.size) return;
    const n = Math.min(size, this.size - offset);
    for (let i = 0; i < n; i++) {
      const at = offset + i;
      const b = Math.floor(value / 2 ** (8 * i)) & 0xff;
      const w = this.wmask[at];
      this.config[at] = ((this.config[at] & ~w) | (b & w)) & ~(b & this.w1cmask[at]);
    }
    if (offset <= PciReg.COMMAND + 1 && offset + n > PciReg.COMMAND) this.updateIntx();
    for (const l of this.listeners) l(offset, n);
  }

  /** Where INTx goes: called with the level the line should have (the host bridge ORs the shared lines). */
  connectIntx(sink: (level: boolean) => void): void {
    this.intxSink = sink;
    this.intxDelivered = false;
    this.updateIntx();
  }

  /** The function raises (true) or lowers its INTx pin; Status.INTERRUPT follows, Command.INTX_DISABLE masks. */
  setIntx(level: boolean): void {
    if (this.interruptPin === 0) throw new Error("setIntx on a function without an interrupt pin");
    this.intxLevel = level;
    const status = this.get16(PciReg.STATUS);
    this.set16(PciReg.STATUS, level ? status | PciStatus.INTERRUPT : status & ~PciStatus.INTERRUPT);
    this.updateIntx();
  }

  /** Power-on state: the registers and masks as declared (capabilities and BARs included), INTx low. */
  reset(): void {
    if (this.initial === undefined) {
      this.initial = new Uint8Array(this.size * 3);
      this.snapshot();
    }
    const s = this.size;
    this.config.set(this.initial.subarray(0, s));
    this.wmask.set(this.initial.subarray(s, 2 * s));
    this.w1cmask.set(this.initial.subarray(2 * s, 3 * s));
    this.intxLevel = false;
    this.updateIntx();
    for (const l of this.listeners) l(0, this.size);
  }

  /** Take the current registers and masks as the reset state (after declaring BARs and capabilities). */
  snapshot(): void {
    if (this.initial === undefined) this.initial = new Uint8Array(this.size * 3);
    this.initial.set(this.config, 0);
    this.initial.set(this.wmask, this.size);
    this.initial.set(this.w1cmask, 2 * this.size);
  }

  get16(offset: number): number {
    return this.config[offset] | (this.config[offset + 1] << 8);
  }

  get32(offset: number): number {
    return (this.get16(offset) | (this.get16(offset + 2) << 16)) >>> 0;
  }

  set16(offset: number, v: number): void {
    this.config[offset] = v & 0xff;
    this.config[offset + 1] = (v >>> 8) & 0xff;
  }

  set32(offset: number, v: number): void {
    this.set16(offset, v & 0xffff);
    this.set16(offset + 2, v >>> 16);
  }

  private setMask16(mask: Uint8Array, offset: number, v: number): void {
    mask[offset] = v & 0xff;
    mask[offset + 1] = (v >>> 8) & 0xff;
  }

  private setMask32(mask: Uint8Array, offset: number, v: number): void {
    this.setMask16(mask, offset, v & 0xffff);
    this.setMask16(mask, offset + 2, v >>> 16);
  }

  private updateIntx(): void {
    const level = this.intxLevel && (this.command & PciCommand.INTX_DISABLE) === 0;
    if (this.intxSink === undefined || level === this.intxDelivered) return;
    this.intxDelivered = level;
    this.intxSink(level);
  }
}
