/**
 * The generic PCI Express host bridge of the virt board, as QEMU's gpex
 * (qemu:hw/pci-host/gpex.c, hw/pci/pcie_host.c) with the windows of
 * hw/riscv/virt.c:
 *
 * - ECAM (PCIe 4.0 section 7.2.2): function configuration spaces at
 *   bus << 20 | device << 15 | function << 12 | register.  Bus 0 is the
 *   root bus; a bridge on it (a root port) has a bus below it, which answers
 *   to the bus number the guest wrote in the bridge's secondary bus
 *   register.  A function that is absent reads all ones and ignores
 *   writes, as a master abort does.
 * - A BAR behind a bridge decodes only while the bridge forwards it: its
 *   I/O or memory space enabled in the bridge's Command register and the
 *   BAR inside one of the bridge's windows.
 * - Function 00:00.0 is the host bridge itself, QEMU's gpex-root: Red Hat
 *   1b36:0008 "QEMU PCIe Host bridge", class 0x0600, conventional (256 bytes
 *   of configuration space), no BARs, no interrupt.
 * - The PIO window (bus I/O addresses from 0), the 32-bit MMIO window and the
 *   64-bit one (bus address = CPU address).  An access that hits no decoding
 *   BAR reads all ones and drops writes, as on QEMU (a master abort).
 * - Legacy INTx: the four lines go to consecutive PLIC sources; a function in
 *   slot `s` with pin `p` (INTA# = 0) drives line (p + s) % 4, the standard
 *   swizzle that the device tree's interrupt-map describes; behind a
 *   bridge the pin is swizzled by the slot below, then by the bridge's slot
 *   (pci_swizzle_map_irq_fn at each level).  Lines are shared (level = OR of
 *   the functions on it).
 */
import type { AccessSize, MmioOps, MmioRegion } from "../core/memory.js";
import type { IrqLine } from "../core/irq.js";
import { interruptSpecifier, type FdtNode } from "../core/fdt.js";
import { BarKind, PCI_NUM_BARS, PciConfigSpace, PciReg } from "./config-space.js";
import { forwards, secondaryBus } from "./pci-bridge.js";

/** ECAM: one MiB of configuration space per bus. */
export const ECAM_BUS_SHIFT = 20;
export const PCI_NUM_PINS = 4;
export const PCI_VENDOR_ID_REDHAT = 0x1b36;
export const PCI_DEVICE_ID_REDHAT_PCIE_HOST = 0x0008;
export const PCI_CLASS_BRIDGE_HOST = 0x060000;

/** The ECAM offset of a configuration register. */
export function ecamOffset(bus: number, device: number, fn: number, reg: number): number {
  return bus * 2 ** ECAM_BUS_SHIFT + ((device << 15) | (fn << 12) | reg);
}

/** The INTx line (0..3) that pin `pin` (0 = INTA#) of a function in `slot` drives. */
export function intxSwizzle(slot: number, pin: number): number {
  return (pin + slot) % PCI_NUM_PINS;
}

export interface Window {
  base: number;
  size: number;
}

export interface PcieHostOptions {
  ecam: Window;
  /** I/O space: bus addresses 0 .. size-1 at CPU addresses base .. base+size-1. */
  pio: Window;
  /** The 32-bit memory window, identity-mapped. */
  mmio: Window;
  /** The 64-bit memory window, identity-mapped. */
  highMmio: Window;
  /** The four INTx lines, INTA# first. */
  irqs: readonly IrqLine[];
  /** The interrupt controller's source number of irqs[0] (for the device tree). */
  irqBase: number;
}

/** The bus below a bridge on bus 0. */
interface SecondaryBus {
  bridge: PciConfigSpace;
  functions: Map<number, PciConfigSpace>;
  resets: Map<number, () => void>;
}

/** A BAR that decodes: [start, end) in bus addresses of its space. */
interface Mapping {
  io: boolean;
  start: number;
  end: number;
  ops: MmioOps;
}

const ONES = [0, 0xff, 0xffff, 0, 0xffffffff] as const;

export class PcieHost {
  readonly ecam: MmioRegion;
  readonly pio: MmioRegion;
  readonly mmio: MmioRegion;
  readonly highMmio: MmioRegion;
  /** 00:00.0, the host bridge. */
  readonly root: PciConfigSpace;
  /** Functions on bus 0 by devfn (device << 3 | function). */
  private readonly functions = new Map<number, PciConfigSpace>();
  /** Device resets of functions whose device has more state than configuration space. */
  private readonly resets = new Map<number, () => void>();
  /** How many functions hold each INTx line high. */
  private readonly intxCount = [0, 0, 0, 0];
  /** The buses below the bridges of bus 0, by the bridge's devfn. */
  private readonly secondaries = new Map<number, SecondaryBus>();
  private mappings: Mapping[] = [];
  private mappingsStale = true;

  constructor(readonly opts: PcieHostOptions) {
    if (opts.irqs.length !== PCI_NUM_PINS) throw new Error(`the PCIe host needs ${PCI_NUM_PINS} INTx lines`);
    const buses = opts.ecam.size / 2 ** ECAM_BUS_SHIFT;
    if (!Number.isInteger(buses) || buses < 1 || buses > 256) throw new Error("ECAM size must be 1 to 256 MiB, whole MiB");
    this.ecam = {
      name: "pcie-ecam", base: opts.ecam.base, size: opts.ecam.size,
      ops: {
        read: (offset, size) => this.configRead(offset, size),
        write: (offset, size, value) => this.configWrite(offset, size, value),
      },
    };
    this.pio = this.window("gpex_ioport", opts.pio, true, 0);
    this.mmio = this.window("pcie-mmio", opts.mmio, false, opts.mmio.base);
    this.highMmio = this.window("pcie-mmio-high", opts.highMmio, false, opts.highMmio.base);
    this.root = new PciConfigSpace({
      vendorId: PCI_VENDOR_ID_REDHAT, deviceId: PCI_DEVICE_ID_REDHAT_PCIE_HOST, classCode: PCI_CLASS_BRIDGE_HOST,
    });
    this.plug(0, this.root);
  }

  /** The regions to map on the system bus. */
  get regions(): MmioRegion[] {
    return [this.pio, this.ecam, this.mmio, this.highMmio];
  }

  /** How many buses the ECAM window covers. */
  get buses(): number {
    return this.opts.ecam.size / 2 ** ECAM_BUS_SHIFT;
  }

  /**
   * Put a function on bus 0 at devfn (device << 3 | function), its BARs and
   * capabilities declared; `reset` resets the whole device (its
   * configuration space included) where a reset of the configuration space
   * alone would not do.
   */
  plug(devfn: number, fn: PciConfigSpace, reset?: () => void): void {
    if (!Number.isInteger(devfn) || devfn < 0 || devfn > 0xff) throw new Error(`devfn ${devfn}: out of range`);
    if (this.functions.has(devfn)) throw new Error(`PCI slot ${devfn >> 3} function ${devfn & 7} is in use`);
    fn.snapshot();
    this.functions.set(devfn, fn);
    if (reset !== undefined) this.resets.set(devfn, reset);
    this.watch(fn);
    const pin = fn.interruptPin;
    if (pin >= 1 && pin <= PCI_NUM_PINS) {
      const line = intxSwizzle(devfn >> 3, pin - 1);
      fn.connectIntx((level) => this.setLine(line, level));
    }
    if (fn.bridge) this.secondaries.set(devfn, { bridge: fn, functions: new Map(), resets: new Map() });
    this.mappingsStale = true;
  }

  /**
   * Put a function on the bus below the bridge at `bridgeDevfn` of bus 0, at
   * devfn there; `reset` as for `plug`.
   */
  plugBehind(bridgeDevfn: number, devfn: number, fn: PciConfigSpace, reset?: () => void): void {
    const sec = this.secondaries.get(bridgeDevfn);
    if (sec === undefined) throw new Error(`devfn ${bridgeDevfn}: not a bridge on bus 0`);
    if (!Number.isInteger(devfn) || devfn < 0 || devfn > 0xff) throw new Error(`devfn ${devfn}: out of range`);
    if (sec.functions.has(devfn)) throw new Error(`PCI slot ${devfn >> 3} function ${devfn & 7} is in use`);
    fn.snapshot();
    sec.functions.set(devfn, fn);
    if (reset !== undefined) sec.resets.set(devfn, reset);
    this.watch(fn);
    const pin = fn.interruptPin;
    if (pin >= 1 && pin <= PCI_NUM_PINS) {
      const line = intxSwizzle(bridgeDevfn >> 3, intxSwizzle(devfn >> 3, pin - 1));
      fn.connectIntx((level) => this.setLine(line, level));
    }
    this.mappingsStale = true;
  }

  /** Whether a function is plugged at devfn below the bridge at `bridgeDevfn`. */
  hasBehind(bridgeDevfn: number, devfn: number): boolean {
    return this.secondaries.get(bridgeDevfn)?.functions.has(devfn) === true;
  }

  /** Reset every device below the bridge at `bridgeDevfn` (a secondary bus reset). */
  resetBehind(bridgeDevfn: number): void {
    const sec = this.secondaries.get(bridgeDevfn);
    if (sec === undefined) return;
    for (const [devfn, fn] of sec.functions) (sec.resets.get(devfn) ?? (() => fn.reset()))();
    this.mappingsStale = true;
  }

  /** The functions the guest sees below the bridge at `bridgeDevfn`, by devfn. */
  visibleBehind(bridgeDevfn: number): [number, PciConfigSpace][] {
    const sec = this.secondaries.get(bridgeDevfn);
    if (sec === undefined) return [];
    return [...sec.functions].filter(([devfn]) => (devfn & 7) === 0 || sec.functions.has(devfn & ~7))
      .sort((a, b) => a[0] - b[0]);
  }

  /** Mappings move with the command register, the BARs and, on a bridge, its bus numbers and windows. */
  private watch(fn: PciConfigSpace): void {
    fn.listen((offset, size) => {
      if ((fn.bridge && offset < 0x40)
        || (offset <= PciReg.COMMAND + 1 && offset + size > PciReg.COMMAND)
        || (offset < PciReg.BAR0 + 4 * PCI_NUM_BARS && offset + size > PciReg.BAR0)) {
        this.mappingsStale = true;
      }
    });
  }

  /** Whether a function is plugged at devfn on bus 0 (seen by the guest or not). */
  has(devfn: number): boolean {
    return this.functions.has(devfn);
  }

  /**
   * The function at bus:devfn as the guest sees it: a function other than 0
   * shows only when function 0 of its slot is there (as QEMU).
   */
  lookup(bus: number, devfn: number): PciConfigSpace | undefined {
    const fns = bus === 0 ? this.functions : this.busBelow(bus)?.functions;
    if (fns === undefined) return undefined;
    if ((devfn & 7) !== 0 && !fns.has(devfn & ~7)) return undefined;
    return fns.get(devfn);
  }

  /** The bus the guest numbered `bus` (not 0): below a visible bridge whose secondary bus it is. */
  private busBelow(bus: number): SecondaryBus | undefined {
    for (const [devfn, sec] of this.secondaries) {
      if (secondaryBus(sec.bridge) === bus && this.lookup(0, devfn) !== undefined) return sec;
    }
    return undefined;
  }

  /** The functions the guest sees on bus 0, by devfn. */
  visible(): [number, PciConfigSpace][] {
    return [...this.functions].filter(([devfn]) => this.lookup(0, devfn) !== undefined).sort((a, b) => a[0] - b[0]);
  }

  reset(): void {
    for (const [devfn, fn] of this.functions) (this.resets.get(devfn) ?? (() => fn.reset()))();
    for (const devfn of this.secondaries.keys()) this.resetBehind(devfn);
    this.mappingsStale = true;
  }

  /**
   * `/soc/pci@base`, as QEMU 7.2's create_fdt_pcie, properties in the order
   * of QEMU's blob; `msiParent` (the S-level IMSIC, when the board has one)
   * becomes msi-parent.
   */
  fdtNode(soc: FdtNode, intc: FdtNode, msiParent?: FdtNode): FdtNode {
    const o = this.opts;
    const irqMap: number[] = [];
    // One entry per (slot, pin) for slots 0..3: the mask makes the map repeat for higher slots.
    for (let slot = 0; slot < PCI_NUM_PINS; slot++) {
      for (let pin = 0; pin < PCI_NUM_PINS; pin++) {
        irqMap.push(slot << 11, 0, 0, pin + 1, intc.phandle(), ...interruptSpecifier(intc, o.irqBase + intxSwizzle(slot, pin)));
      }
    }
    const hi = (x: number): number => Math.floor(x / 2 ** 32);
    const lo = (x: number): number => x >>> 0;
    const range = (space: number, pci: number, w: Window): number[] =>
      [space, hi(pci), lo(pci), hi(w.base), lo(w.base), hi(w.size), lo(w.size)];
    const node = soc.child(`pci@${o.ecam.base.toString(16)}`)
      .u32("interrupt-map-mask", 0x1800, 0, 0, 7)
      .u32("interrupt-map", ...irqMap)
      .u32("ranges", ...range(0x01000000, 0, o.pio), ...range(0x02000000, o.mmio.base, o.mmio),
        ...range(0x03000000, o.highMmio.base, o.highMmio))
      .u64("reg", o.ecam.base, o.ecam.size);
    if (msiParent !== undefined) node.u32("msi-parent", msiParent.phandle());
    return node
      .empty("dma-coherent")
      .u32("bus-range", 0, this.buses - 1)
      .u32("linux,pci-domain", 0)
      .str("device_type", "pci")
      .str("compatible", "pci-host-ecam-generic")
      .u32("#size-cells", 2)
      .u32("#interrupt-cells", 1)
      .u32("#address-cells", 3);
  }

  private configRead(offset: number, size: AccessSize): number {
    const fn = this.lookup(Math.floor(offset / 2 ** ECAM_BUS_SHIFT), (offset >>> 12) & 0xff);
    return fn === undefined ? ONES[size] : fn.read(offset & 0xfff, size);
  }

  private configWrite(offset: number, size: AccessSize, value: number): void {
    this.lookup(Math.floor(offset / 2 ** ECAM_BUS_SHIFT), (offset >>> 12) & 0xff)?.write(offset & 0xfff, size, value);
  }

  private setLine(line: number, level: boolean): void {
    const before = this.intxCount[line] > 0;
    this.intxCount[line] += level ? 1 : -1;
    const after = this.intxCount[line] > 0;
    if (before !== after) this.opts.irqs[line].set(after);
  }

  /** A window onto I/O (io) or memory space; `busBase` is the bus address at the window's offset 0. */
  private window(name: string, w: Window, io: boolean, busBase: number): MmioRegion {
    return {
      name, base: w.base, size: w.size,
      ops: {
        read: (offset, size) => {
          const m = this.decode(io, busBase + offset, size);
          return m === undefined ? ONES[size] : m.ops.read(busBase + offset - m.start, size);
        },
        write: (offset, size, value) => {
          const m = this.decode(io, busBase + offset, size);
          m?.ops.write(busBase + offset - m.start, size, value);
        },
      },
    };
  }

  /** The decoding BAR that holds [addr, addr + size) of the space, if any. */
  private decode(io: boolean, addr: number, size: number): Mapping | undefined {
    if (this.mappingsStale) this.remap();
    for (const m of this.mappings) {
      if (m.io === io && addr >= m.start && addr + size <= m.end) return m;
    }
    return undefined;
  }

  private remap(): void {
    this.mappings = [];
    for (const [devfn, fn] of this.functions) {
      if (this.lookup(0, devfn) === undefined) continue;
      for (let i = 0; i < PCI_NUM_BARS; i++) {
        const bar = fn.bar(i);
        const start = fn.barAddress(i);
        if (bar === undefined || start < 0) continue;
        this.mappings.push({ io: bar.kind === BarKind.IO, start, end: start + bar.size, ops: bar.ops });
      }
    }
    for (const [bridgeDevfn, sec] of this.secondaries) {
      if (this.lookup(0, bridgeDevfn) === undefined) continue;
      for (const [devfn, fn] of sec.functions) {
        if ((devfn & 7) !== 0 && !sec.functions.has(devfn & ~7)) continue;
        for (let i = 0; i < PCI_NUM_BARS; i++) {
          const bar = fn.bar(i);
          const start = fn.barAddress(i);
          const io = bar?.kind === BarKind.IO;
          if (bar === undefined || start < 0 || !forwards(sec.bridge, io, start, bar.size)) continue;
          this.mappings.push({ io, start, end: start + bar.size, ops: bar.ops });
        }
      }
    }
    this.mappingsStale = false;
  }
}
