/**
 * The RISC-V APLIC (AIA 1.0 chapter 4) as QEMU 7.2's virt board builds it
 * with aia=aplic or aia=aplic-imsic: two interrupt domains, the root at
 * M level (0xc000000) and its one child at S level (0xd000000), 0x8000
 * bytes each, 96 sources (1-95 wired; QEMU's num-sources counts source 0
 * too, the device tree says 0x60).
 *
 * Without IMSICs both domains deliver directly (domaincfg.DM read-only 0):
 * each hart's interrupt delivery control (IDC) drives its MEIP (root) or
 * SEIP (child).  With IMSICs both forward MSIs (DM read-only 1) to the
 * addresses the root's mmsiaddrcfg/smsiaddrcfg describe, as OpenSBI
 * programs them.
 *
 * Level-triggered sources follow the spec's pending-bit rules (section
 * 4.7): in MSI mode a level source is forwarded once per rising edge, and
 * asks again only when the driver writes setipnum while the line is still
 * high (Linux's APLIC-MSI driver does so at end of interrupt).  QEMU 7.2
 * storms on such lines (Linux 6.12's ttyS0 reaches 100000 interrupts in a
 * 30-second boot there); tsemu does not.
 */
import type { AccessSize, MmioRegion } from "../core/memory.js";
import { MipBit, type HartIrqs, type IrqLine } from "../core/irq.js";
import type { FdtNode } from "../core/fdt.js";

/** Register offsets within a domain's control region (AIA 1.0 table 4.2 and section 4.8). */
export const AplicReg = {
  DOMAINCFG: 0x0000,
  SOURCECFG: 0x0004, // sourcecfg[i] at 0x0004 + 4*(i-1)
  MMSIADDRCFG: 0x1bc0,
  MMSIADDRCFGH: 0x1bc4,
  SMSIADDRCFG: 0x1bc8,
  SMSIADDRCFGH: 0x1bcc,
  SETIP: 0x1c00,
  SETIPNUM: 0x1cdc,
  IN_CLRIP: 0x1d00,
  CLRIPNUM: 0x1ddc,
  SETIE: 0x1e00,
  SETIENUM: 0x1edc,
  CLRIE: 0x1f00,
  CLRIENUM: 0x1fdc,
  SETIPNUM_LE: 0x2000,
  SETIPNUM_BE: 0x2004,
  GENMSI: 0x3000,
  TARGET: 0x3004, // target[i] at 0x3004 + 4*(i-1)
  IDC: 0x4000, // IDC_SIZE bytes per hart index
  IDC_SIZE: 32,
  // within an IDC
  IDELIVERY: 0x00,
  IFORCE: 0x04,
  ITHRESHOLD: 0x08,
  TOPI: 0x18,
  CLAIMI: 0x1c,
} as const;

export const APLIC_SIZE = 0x8000;
/** Sources counting the nonexistent source 0, as QEMU's num-sources (and riscv,num-sources in the tree). */
export const APLIC_SOURCES = 96;

/** sourcecfg.SM values (AIA 1.0 table 4.3). */
export const enum SourceMode { INACTIVE = 0, DETACHED = 1, EDGE1 = 4, EDGE0 = 5, LEVEL1 = 6, LEVEL0 = 7 }

const DOMAINCFG_FIXED = 0x80000000;
const DOMAINCFG_IE = 1 << 8;
const DOMAINCFG_DM = 1 << 2;
const SOURCECFG_D = 1 << 10;
const SOURCECFG_CHILD = 0x3ff;
const SOURCECFG_SM = 7;
const MSIADDRCFGH_L = 0x80000000;
/** mmsiaddrcfgh: L, HHXS 28:24, LHXS 22:20, HHXW 18:16, LHXW 15:12, high PPN 11:0. */
const MMSIADDRCFGH_MASK = 0x9f77ffff;
/** smsiaddrcfgh: LHXS 22:20, high PPN 11:0. */
const SMSIADDRCFGH_MASK = 0x00700fff;
const TARGET_HART_SHIFT = 18;
const TARGET_HART_MASK = 0x3fff;
const TARGET_EIID = 0x7ff;
/** IPRIOLEN 8, as QEMU's. */
const TARGET_IPRIO = 0xff;
const TOPI_ID_SHIFT = 16;

/** Where MSIs go: a 32-bit little-endian write of `data` at physical address `addr`. */
export type MsiSink = (addr: number, data: number) => void;

/**
 * One interrupt domain.  Its state is typed arrays and numbers; bit sets
 * over sources are words of 32.
 */
export class AplicDomain {
  readonly region: MmioRegion;
  /** domaincfg's IE bit (DM is fixed by the board, BE is read-only 0: little-endian only). */
  private ie = false;
  readonly sourcecfg: Uint32Array;
  readonly target: Uint32Array;
  private readonly pending: Uint32Array;
  private readonly enabled: Uint32Array;
  private readonly idelivery: Uint8Array;
  private readonly iforce: Uint8Array;
  private readonly ithreshold: Uint8Array;
  /** The root domain's MSI address configuration (zeros elsewhere). */
  private mmsiaddrcfg = 0;
  private mmsiaddrcfgh = 0;
  private smsiaddrcfg = 0;
  private smsiaddrcfgh = 0;
  private genmsi = 0;
  /** Child domains (the root's one child); set by Aplic. */
  children: AplicDomain[] = [];

  constructor(
    readonly base: number,
    readonly machineLevel: boolean,
    readonly msiMode: boolean,
    private readonly harts: number,
    private readonly aplic: Aplic,
    readonly parent: AplicDomain | undefined,
  ) {
    const words = Math.ceil(APLIC_SOURCES / 32);
    this.sourcecfg = new Uint32Array(APLIC_SOURCES);
    this.target = new Uint32Array(APLIC_SOURCES);
    this.pending = new Uint32Array(words);
    this.enabled = new Uint32Array(words);
    this.idelivery = new Uint8Array(harts);
    this.iforce = new Uint8Array(harts);
    this.ithreshold = new Uint8Array(harts);
    this.region = {
      name: "riscv.aplic",
      base,
      size: APLIC_SIZE,
      ops: { read: (offset, size) => this.read(offset, size), write: (offset, size, value) => this.write(offset, size, value) },
    };
  }

  reset(): void {
    this.ie = false;
    this.sourcecfg.fill(0);
    this.target.fill(0);
    this.pending.fill(0);
    this.enabled.fill(0);
    this.idelivery.fill(0);
    this.iforce.fill(0);
    this.ithreshold.fill(0);
    this.mmsiaddrcfg = this.mmsiaddrcfgh = this.smsiaddrcfg = this.smsiaddrcfgh = 0;
    this.genmsi = 0;
    this.update();
  }

  /** Whether source `i` is delegated to this domain (every source reaches the root). */
  reaches(i: number): boolean {
    return this.parent === undefined || (this.parent.reaches(i) && (this.parent.sourcecfg[i] & SOURCECFG_D) !== 0);
  }

  /** Source `i`'s mode here; INACTIVE when it does not reach this domain or is delegated onward. */
  mode(i: number): number {
    const cfg = this.sourcecfg[i];
    return (cfg & SOURCECFG_D) !== 0 ? SourceMode.INACTIVE : cfg & SOURCECFG_SM;
  }

  private active(i: number): boolean {
    return i >= 1 && i < APLIC_SOURCES && this.mode(i) !== SourceMode.INACTIVE;
  }

  /** The rectified input value of source `i` in this domain. */
  private rectified(i: number): boolean {
    const m = this.mode(i);
    if (m < SourceMode.EDGE1) return false;
    const wire = this.aplic.wire(i);
    return m === SourceMode.EDGE0 || m === SourceMode.LEVEL0 ? !wire : wire;
  }

  /** The wire of source `i` (active here) went from `before` to its present level. */
  inputChanged(i: number, before: boolean): void {
    const m = this.mode(i);
    if (m < SourceMode.EDGE1) return;
    const inverted = m === SourceMode.EDGE0 || m === SourceMode.LEVEL0;
    const was = before !== inverted;
    const now = this.rectified(i);
    if (was === now) return;
    if (m === SourceMode.LEVEL1 || m === SourceMode.LEVEL0) {
      // Direct mode: pending follows the input.  MSI mode: set on the rising edge, cleared when low.
      setBit(this.pending, i, now);
    } else if (now) {
      setBit(this.pending, i, true);
    }
    this.update();
  }

  /** A write to setip/setipnum: sets the pending bit when the source mode allows it (section 4.7). */
  private setPendingByWrite(i: number): void {
    if (!this.active(i)) return;
    const m = this.mode(i);
    if (m === SourceMode.LEVEL1 || m === SourceMode.LEVEL0) {
      // Direct mode: pending is a copy of the input.  MSI mode: only while the input is asserted.
      if (!this.msiMode || !this.rectified(i)) return;
    }
    setBit(this.pending, i, true);
  }

  /** A write to in_clrip/clripnum. */
  private clearPendingByWrite(i: number): void {
    if (!this.active(i)) return;
    const m = this.mode(i);
    if (!this.msiMode && (m === SourceMode.LEVEL1 || m === SourceMode.LEVEL0)) return;
    setBit(this.pending, i, false);
  }

  /** Forward pending-and-enabled sources (MSI mode) or drive the harts' lines (direct mode). */
  update(): void {
    if (this.msiMode) {
      if (!this.ie) return;
      for (let w = 0; w < this.pending.length; w++) {
        let bits = this.pending[w] & this.enabled[w];
        while (bits !== 0) {
          const low = bits & -bits;
          bits ^= low;
          const i = w * 32 + 31 - Math.clz32(low);
          this.pending[w] &= ~low;
          const t = this.target[i];
          this.sendMsi((t >>> TARGET_HART_SHIFT) & TARGET_HART_MASK, (t >>> 12) & 0x3f, t & TARGET_EIID);
        }
      }
      return;
    }
    const bit = this.machineLevel ? MipBit.MEIP : MipBit.SEIP;
    for (let h = 0; h < this.harts; h++) {
      const level = this.ie && this.idelivery[h] !== 0 && (this.iforce[h] !== 0 || this.topi(h) !== 0);
      this.aplic.irqs.setMip(h, bit, level);
    }
  }

  /** topi of hart index `h`: (source << 16) | priority of the best pending-and-enabled source below the threshold. */
  topi(h: number): number {
    const threshold = this.ithreshold[h];
    let best = 0;
    let bestPrio = 256;
    for (let w = 0; w < this.pending.length; w++) {
      let bits = this.pending[w] & this.enabled[w];
      while (bits !== 0) {
        const low = bits & -bits;
        bits ^= low;
        const i = w * 32 + 31 - Math.clz32(low);
        const t = this.target[i];
        if (((t >>> TARGET_HART_SHIFT) & TARGET_HART_MASK) !== h) continue;
        const prio = t & TARGET_IPRIO;
        if (threshold !== 0 && prio >= threshold) continue;
        // Ties go to the lowest source number, which is met first.
        if (prio < bestPrio) {
          best = i;
          bestPrio = prio;
        }
      }
    }
    return best === 0 ? 0 : (best << TOPI_ID_SHIFT) | bestPrio;
  }

  private claim(h: number): number {
    const top = this.topi(h);
    if (top === 0) {
      this.iforce[h] = 0;
    } else {
      const i = top >>> TOPI_ID_SHIFT;
      const m = this.mode(i);
      // A level source's pending bit follows its input in direct mode; a claim leaves it.
      if (m !== SourceMode.LEVEL1 && m !== SourceMode.LEVEL0) setBit(this.pending, i, false);
    }
    this.update();
    return top;
  }

  /**
   * The MSI address for a hart index at this domain's level, from the root
   * domain's configuration (AIA 1.0 section 4.9.1).  Hart indexes are the
   * same at both levels on virt.
   */
  msiAddress(hart: number, guest: number): number {
    const root = this.aplic.root;
    const cfgh = root.mmsiaddrcfgh;
    const lhxw = (cfgh >>> 12) & 0xf;
    const hhxw = (cfgh >>> 16) & 0x7;
    const hhxs = (cfgh >>> 24) & 0x1f;
    const lhxs = this.machineLevel ? (cfgh >>> 20) & 0x7 : (root.smsiaddrcfgh >>> 20) & 0x7;
    const ppnLo = this.machineLevel ? root.mmsiaddrcfg : root.smsiaddrcfg;
    const ppnHi = (this.machineLevel ? cfgh : root.smsiaddrcfgh) & 0xfff;
    const group = (hart >>> lhxw) & ((1 << hhxw) - 1);
    const index = hart & ((1 << lhxw) - 1);
    // Page numbers reach 44 bits: add instead of OR above bit 31.
    const ppn = ppnHi * 2 ** 32 + (ppnLo >>> 0) + group * 2 ** (hhxs + 12) + index * 2 ** lhxs + (this.machineLevel ? 0 : guest);
    return ppn * 4096;
  }

  private sendMsi(hart: number, guest: number, eiid: number): void {
    this.aplic.msi(this.msiAddress(hart, guest), eiid);
  }

  /** A sourcecfg write (section 4.5.2): delegation at a domain with children, a mode otherwise. */
  private writeSourcecfg(i: number, value: number): void {
    if (!this.reaches(i)) return;
    const before = this.sourcecfg[i];
    let cfg: number;
    if ((value & SOURCECFG_D) !== 0) {
      // A leaf domain cannot delegate: the register becomes zero.  Child index 0 is the only child.
      cfg = this.children.length > 0 && (value & SOURCECFG_CHILD) < this.children.length ? SOURCECFG_D | (value & SOURCECFG_CHILD) : 0;
    } else {
      cfg = value & SOURCECFG_SM;
      // Reserved modes 2 and 3 are not supported: the source stays inactive.
      if (cfg === 2 || cfg === 3) cfg = SourceMode.INACTIVE;
    }
    this.sourcecfg[i] = cfg;
    if (this.mode(i) === SourceMode.INACTIVE) {
      setBit(this.pending, i, false);
      setBit(this.enabled, i, false);
      this.target[i] = 0;
    } else if (this.target[i] === 0 && !this.msiMode) {
      this.target[i] = 1; // IPRIO 0 is not allowed; a freshly active source starts at priority 1
    }
    if (((before ^ cfg) & SOURCECFG_D) !== 0) {
      // Delegation changed: the child's view of the source starts over.
      for (const c of this.children) c.forget(i);
    }
    const m = this.mode(i);
    if ((m === SourceMode.LEVEL1 || m === SourceMode.LEVEL0) && this.rectified(i)) setBit(this.pending, i, true);
    else if (m === SourceMode.LEVEL1 || m === SourceMode.LEVEL0) setBit(this.pending, i, false);
    this.update();
  }

  /** Source `i` was (un)delegated to this domain: its sourcecfg reads zero until written, here and below. */
  private forget(i: number): void {
    this.sourcecfg[i] = 0;
    this.target[i] = 0;
    setBit(this.pending, i, false);
    setBit(this.enabled, i, false);
    for (const c of this.children) c.forget(i);
    this.update();
  }

  private writeTarget(i: number, value: number): void {
    if (!this.active(i)) return;
    if (this.msiMode) {
      // Guest index is read-only zero: the harts have no H extension.
      this.target[i] = value & ((TARGET_HART_MASK << TARGET_HART_SHIFT) | TARGET_EIID);
    } else {
      const prio = value & TARGET_IPRIO;
      this.target[i] = (value & (TARGET_HART_MASK << TARGET_HART_SHIFT)) | (prio === 0 ? 1 : prio);
    }
    this.update();
  }

  private readDomaincfg(): number {
    return DOMAINCFG_FIXED | (this.ie ? DOMAINCFG_IE : 0) | (this.msiMode ? DOMAINCFG_DM : 0);
  }

  /** Bits of word `w` over sources that are active here (the others read zero and ignore writes). */
  private activeMask(w: number): number {
    let mask = 0;
    for (let b = 0; b < 32; b++) {
      const i = w * 32 + b;
      if (this.active(i)) mask |= 1 << b;
    }
    return mask;
  }

  private rectifiedWord(w: number): number {
    let v = 0;
    for (let b = 0; b < 32; b++) {
      const i = w * 32 + b;
      if (i < APLIC_SOURCES && this.active(i) && this.rectified(i)) v |= 1 << b;
    }
    return v;
  }

  // Only aligned 32-bit accesses (section 4.5): others read 0 and write nothing.
  private read(offset: number, size: AccessSize): number {
    if (size !== 4 || (offset & 3) !== 0) return 0;
    const words = this.pending.length;
    if (offset === AplicReg.DOMAINCFG) return this.readDomaincfg();
    if (offset >= AplicReg.SOURCECFG && offset < AplicReg.SOURCECFG + 4 * (APLIC_SOURCES - 1)) {
      const i = ((offset - AplicReg.SOURCECFG) >> 2) + 1;
      return this.reaches(i) ? this.sourcecfg[i] : 0;
    }
    if (offset >= AplicReg.MMSIADDRCFG && offset <= AplicReg.SMSIADDRCFGH) return this.readMsiCfg(offset);
    if (offset >= AplicReg.SETIP && offset < AplicReg.SETIP + 4 * words) return this.pending[(offset - AplicReg.SETIP) >> 2] >>> 0;
    if (offset >= AplicReg.IN_CLRIP && offset < AplicReg.IN_CLRIP + 4 * words) return this.rectifiedWord((offset - AplicReg.IN_CLRIP) >> 2) >>> 0;
    if (offset >= AplicReg.SETIE && offset < AplicReg.SETIE + 4 * words) return this.enabled[(offset - AplicReg.SETIE) >> 2] >>> 0;
    if (offset === AplicReg.GENMSI) return this.msiMode ? this.genmsi : 0;
    if (offset >= AplicReg.TARGET && offset < AplicReg.TARGET + 4 * (APLIC_SOURCES - 1)) {
      return this.target[((offset - AplicReg.TARGET) >> 2) + 1] >>> 0;
    }
    if (offset >= AplicReg.IDC && !this.msiMode) {
      const h = (offset - AplicReg.IDC) >> 5;
      if (h >= this.harts) return 0;
      switch ((offset - AplicReg.IDC) & (AplicReg.IDC_SIZE - 1)) {
        case AplicReg.IDELIVERY: return this.idelivery[h];
        case AplicReg.IFORCE: return this.iforce[h];
        case AplicReg.ITHRESHOLD: return this.ithreshold[h];
        case AplicReg.TOPI: return this.topi(h);
        case AplicReg.CLAIMI: return this.claim(h);
      }
    }
    return 0;
  }

  private write(offset: number, size: AccessSize, value: number): void {
    if (size !== 4 || (offset & 3) !== 0) return;
    value >>>= 0;
    const words = this.pending.length;
    if (offset === AplicReg.DOMAINCFG) {
      this.ie = (value & DOMAINCFG_IE) !== 0;
      this.update();
    } else if (offset >= AplicReg.SOURCECFG && offset < AplicReg.SOURCECFG + 4 * (APLIC_SOURCES - 1)) {
      this.writeSourcecfg(((offset - AplicReg.SOURCECFG) >> 2) + 1, value);
    } else if (offset >= AplicReg.MMSIADDRCFG && offset <= AplicReg.SMSIADDRCFGH) {
      this.writeMsiCfg(offset, value);
    } else if (offset >= AplicReg.SETIP && offset < AplicReg.SETIP + 4 * words) {
      const w = (offset - AplicReg.SETIP) >> 2;
      forBits(value, w, (i) => this.setPendingByWrite(i));
      this.update();
    } else if (offset === AplicReg.SETIPNUM || offset === AplicReg.SETIPNUM_LE) {
      this.setPendingByWrite(value);
      this.update();
    } else if (offset === AplicReg.SETIPNUM_BE) {
      this.setPendingByWrite(bswap32(value));
      this.update();
    } else if (offset >= AplicReg.IN_CLRIP && offset < AplicReg.IN_CLRIP + 4 * words) {
      forBits(value, (offset - AplicReg.IN_CLRIP) >> 2, (i) => this.clearPendingByWrite(i));
      this.update();
    } else if (offset === AplicReg.CLRIPNUM) {
      this.clearPendingByWrite(value);
      this.update();
    } else if (offset >= AplicReg.SETIE && offset < AplicReg.SETIE + 4 * words) {
      const w = (offset - AplicReg.SETIE) >> 2;
      this.enabled[w] |= value & this.activeMask(w);
      this.update();
    } else if (offset === AplicReg.SETIENUM) {
      if (this.active(value)) setBit(this.enabled, value, true);
      this.update();
    } else if (offset >= AplicReg.CLRIE && offset < AplicReg.CLRIE + 4 * words) {
      this.enabled[(offset - AplicReg.CLRIE) >> 2] &= ~value;
      this.update();
    } else if (offset === AplicReg.CLRIENUM) {
      if (value < APLIC_SOURCES) setBit(this.enabled, value, false);
      this.update();
    } else if (offset === AplicReg.GENMSI) {
      if (!this.msiMode) return;
      // The extempore MSI leaves at once, so Busy never reads 1; IE does not gate it.
      this.genmsi = value & ((TARGET_HART_MASK << TARGET_HART_SHIFT) | TARGET_EIID);
      this.sendMsi((this.genmsi >>> TARGET_HART_SHIFT) & TARGET_HART_MASK, 0, this.genmsi & TARGET_EIID);
    } else if (offset >= AplicReg.TARGET && offset < AplicReg.TARGET + 4 * (APLIC_SOURCES - 1)) {
      this.writeTarget(((offset - AplicReg.TARGET) >> 2) + 1, value);
    } else if (offset >= AplicReg.IDC && !this.msiMode) {
      const h = (offset - AplicReg.IDC) >> 5;
      if (h >= this.harts) return;
      switch ((offset - AplicReg.IDC) & (AplicReg.IDC_SIZE - 1)) {
        case AplicReg.IDELIVERY: this.idelivery[h] = value & 1; break;
        case AplicReg.IFORCE: this.iforce[h] = value & 1; break;
        case AplicReg.ITHRESHOLD: this.ithreshold[h] = value & TARGET_IPRIO; break;
        default: return;
      }
      this.update();
    }
  }

  /** mmsiaddrcfg..smsiaddrcfgh: implemented by the root domain of an APLIC that forwards MSIs. */
  private readMsiCfg(offset: number): number {
    if (this.parent !== undefined || !this.msiMode) return 0;
    switch (offset) {
      case AplicReg.MMSIADDRCFG: return this.mmsiaddrcfg >>> 0;
      case AplicReg.MMSIADDRCFGH: return this.mmsiaddrcfgh >>> 0;
      case AplicReg.SMSIADDRCFG: return this.smsiaddrcfg >>> 0;
      case AplicReg.SMSIADDRCFGH: return this.smsiaddrcfgh >>> 0;
      default: return 0;
    }
  }

  private writeMsiCfg(offset: number, value: number): void {
    if (this.parent !== undefined || !this.msiMode) return;
    // L locks all four until reset.
    if ((this.mmsiaddrcfgh & MSIADDRCFGH_L) !== 0) return;
    switch (offset) {
      case AplicReg.MMSIADDRCFG: this.mmsiaddrcfg = value; break;
      case AplicReg.MMSIADDRCFGH: this.mmsiaddrcfgh = value & MMSIADDRCFGH_MASK; break;
      case AplicReg.SMSIADDRCFG: this.smsiaddrcfg = value; break;
      case AplicReg.SMSIADDRCFGH: this.smsiaddrcfgh = value & SMSIADDRCFGH_MASK; break;
    }
  }
}

export interface AplicOptions {
  /** The root (M) domain's base; the child (S) domain follows at `sBase`. */
  mBase: number;
  sBase: number;
  harts: number;
  /** MSI delivery mode (with IMSICs) rather than direct delivery. */
  msiMode: boolean;
  irqs: HartIrqs;
  /** Where MSIs are written (MSI mode). */
  msi?: MsiSink;
}

/** The APLIC: the source wires and the two domains they are routed through. */
export class Aplic {
  readonly root: AplicDomain;
  readonly child: AplicDomain;
  readonly irqs: HartIrqs;
  private readonly lines: IrqLine[];
  private readonly levels: Uint8Array;
  private readonly msiSink: MsiSink;

  constructor(opts: AplicOptions) {
    this.irqs = opts.irqs;
    this.msiSink = opts.msi ?? (() => undefined);
    this.levels = new Uint8Array(APLIC_SOURCES);
    this.root = new AplicDomain(opts.mBase, true, opts.msiMode, opts.harts, this, undefined);
    this.child = new AplicDomain(opts.sBase, false, opts.msiMode, opts.harts, this, this.root);
    this.root.children = [this.child];
    this.lines = Array.from({ length: APLIC_SOURCES }, (_, n) => ({ set: (level: boolean) => this.setWire(n, level) }));
    this.reset();
  }

  get regions(): MmioRegion[] {
    return [this.root.region, this.child.region];
  }

  /** The input wire of source `n` (1 to 95). */
  irq(n: number): IrqLine {
    if (!Number.isInteger(n) || n < 1 || n >= APLIC_SOURCES) {
      throw new RangeError(`aplic: no interrupt source ${n}; sources are 1 to ${APLIC_SOURCES - 1}`);
    }
    return this.lines[n];
  }

  wire(n: number): boolean {
    return this.levels[n] !== 0;
  }

  msi(addr: number, data: number): void {
    this.msiSink(addr, data);
  }

  reset(): void {
    // The wires keep their levels: devices reset on their own.
    this.root.reset();
    this.child.reset();
  }

  /** The domain where source `n` is active (the deepest one it is delegated to). */
  private domainOf(n: number): AplicDomain {
    let d = this.root;
    while ((d.sourcecfg[n] & SOURCECFG_D) !== 0 && d.children.length > 0) d = d.children[d.sourcecfg[n] & SOURCECFG_CHILD];
    return d;
  }

  private setWire(n: number, level: boolean): void {
    const before = this.levels[n] !== 0;
    if (before === level) return;
    this.levels[n] = level ? 1 : 0;
    this.domainOf(n).inputChanged(n, before);
  }

  /**
   * `/soc/aplic@...` for both domains, properties in QEMU 7.2's order
   * (create_fdt_one_aplic).  The root's phandle is taken before the
   * child's, as QEMU does; with IMSICs each domain names its level's IMSIC
   * as msi-parent, without them the harts' external-interrupt lines.
   * Returns the child (the devices' interrupt parent).
   */
  fdtNodes(soc: FdtNode, cpuIntcs: FdtNode[], imsics?: { m: FdtNode; s: FdtNode }): FdtNode {
    const m = soc.child(`aplic@${this.root.base.toString(16)}`);
    const s = soc.child(`aplic@${this.child.base.toString(16)}`);
    m.phandle();
    s.phandle();
    const describe = (node: FdtNode, level: MipBit, imsic: FdtNode | undefined): void => {
      node.u32("riscv,num-sources", APLIC_SOURCES).u64("reg", node === m ? this.root.base : this.child.base, APLIC_SIZE);
      if (imsic !== undefined) node.u32("msi-parent", imsic.phandle());
      else node.u32("interrupts-extended", ...cpuIntcs.flatMap((intc) => [intc.phandle(), level]));
      node.empty("interrupt-controller").u32("#interrupt-cells", 2).str("compatible", "riscv,aplic");
    };
    m.u32("riscv,delegate", s.phandle(), 1, APLIC_SOURCES).u32("riscv,children", s.phandle());
    describe(m, MipBit.MEIP, imsics?.m);
    describe(s, MipBit.SEIP, imsics?.s);
    return s;
  }
}

function setBit(set: Uint32Array, n: number, on: boolean): void {
  if (on) set[n >> 5] |= 1 << (n & 31);
  else set[n >> 5] &= ~(1 << (n & 31));
}

function forBits(value: number, word: number, f: (i: number) => void): void {
  for (let bits = value | 0; bits !== 0; bits &= bits - 1) f(word * 32 + 31 - Math.clz32(bits & -bits));
}

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}
