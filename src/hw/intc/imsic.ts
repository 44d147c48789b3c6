/**
 * The RISC-V IMSIC (AIA 1.0 chapter 3) as QEMU 7.2's virt board lays it out
 * with aia=aplic-imsic: one IMSIC per privilege level, M at 0x24000000 and S
 * at 0x28000000, each a 4 KiB page per hart holding one interrupt file
 * (seteipnum_le at +0, seteipnum_be at +4), 255 identities (1-255).
 *
 * A file's state is eidelivery, eithreshold and the eip/eie bit arrays, kept
 * as words of one Uint32Array for the whole IMSIC (FileWord).  That array
 * may be given over a SharedArrayBuffer: a device model on a worker thread
 * then signals an MSI the way an irqfd does, by `Atomics.or` of the id's bit
 * into the target file's eip words (setPending does exactly that) and then
 * `Atomics.store(doorbell, 0, 1)` plus `Atomics.notify` on a shared word the
 * main loop watches; the main loop, at its next turn, clears the doorbell
 * and calls `Imsic.sync()` to re-evaluate the harts' lines, since only the
 * main thread may touch the harts' mip.  The CSR side (eie, threshold,
 * claims) runs on the main thread and uses Atomics too, so a bit set by a
 * worker between a read and a write of eip is never lost.
 */
import type { AccessSize, MmioRegion } from "../core/memory.js";
import { MipBit, type HartIrqs } from "../core/irq.js";
import type { FdtNode } from "../core/fdt.js";
import { Iselect, type ImsicInterruptFile } from "../../target/riscv/aia.js";
import type { SharedMsiTarget } from "../core/shared-machine.js";

/** Bytes of one interrupt file's page, and the registers in it. */
export const IMSIC_PAGE = 0x1000;
export const ImsicReg = { SETEIPNUM_LE: 0x0, SETEIPNUM_BE: 0x4 } as const;
/** Identities 1 to IMSIC_IDS (QEMU 7.2's virt: VIRT_IRQCHIP_NUM_MSIS). */
export const IMSIC_IDS = 255;
/** The id Linux and OpenSBI use for IPIs (the device tree's riscv,ipi-id). */
export const IMSIC_IPI_ID = 1;

/** Words of bit arrays: ids 0-255 (id 0 does not exist). */
const ID_WORDS = 8;
/** The layout of one file in the state array. */
export const enum FileWord { EIDELIVERY = 0, EITHRESHOLD = 1, EIP = 2, EIE = 2 + ID_WORDS, SIZE = 2 + 2 * ID_WORDS }
/** eithreshold holds an 11-bit id, as QEMU 7.2 masks it (IMSIC_MAX_ID). */
const THRESHOLD_MASK = 0x7ff;

/** One interrupt file: the registers the AIA CSRs reach, and the MSI write port. */
export class ImsicFile implements ImsicInterruptFile {
  constructor(
    private readonly s: Uint32Array,
    /** Index of this file's first word in `s`. */
    private readonly at: number,
    private readonly raise: (level: boolean) => void,
  ) {}

  /** What a 32-bit MSI write of `id` to seteipnum_le does: id 0 and ids above 255 are ignored. */
  setPending(id: number): void {
    if (!Number.isInteger(id) || id < 1 || id > IMSIC_IDS) return;
    Atomics.or(this.s, this.at + FileWord.EIP + (id >>> 5), 1 << (id & 31));
    this.update();
  }

  /**
   * Where setPending(id) sets its bit, as data for a worker (`imsic`: the
   * index of this IMSIC's state among those the worker holds); undefined for
   * an id setPending ignores.
   */
  target(id: number, imsic: number): SharedMsiTarget | undefined {
    if (!Number.isInteger(id) || id < 1 || id > IMSIC_IDS) return undefined;
    return { imsic, word: this.at + FileWord.EIP + (id >>> 5), mask: 1 << (id & 31) };
  }

  /** Whether `id` is pending (tests and the monitor). */
  pending(id: number): boolean {
    return ((Atomics.load(this.s, this.at + FileWord.EIP + (id >>> 5)) >>> (id & 31)) & 1) !== 0;
  }

  get eidelivery(): number {
    return this.s[this.at + FileWord.EIDELIVERY];
  }

  get eithreshold(): number {
    return this.s[this.at + FileWord.EITHRESHOLD];
  }

  /** Drive the hart's external-interrupt line from the state (after any change, or a worker's setPending). */
  update(): void {
    this.raise(this.s[this.at + FileWord.EIDELIVERY] === 1 && this.topei() !== 0);
  }

  reset(): void {
    this.s.fill(0, this.at, this.at + FileWord.SIZE);
    this.update();
  }

  topei(): number {
    const s = this.s;
    const threshold = s[this.at + FileWord.EITHRESHOLD];
    // Ids at or above a nonzero threshold do not count (a threshold above every id counts them all).
    const limit = threshold !== 0 && threshold <= IMSIC_IDS ? threshold : IMSIC_IDS + 1;
    for (let w = 0; w < ID_WORDS && w * 32 < limit; w++) {
      const bits = Atomics.load(s, this.at + FileWord.EIP + w) & s[this.at + FileWord.EIE + w];
      if (bits === 0) continue;
      const id = w * 32 + 31 - Math.clz32(bits & -bits);
      return id < limit ? (id << 16) | id : 0;
    }
    return 0;
  }

  claimTopei(): void {
    const id = this.topei() & 0x7ff;
    if (id !== 0) Atomics.and(this.s, this.at + FileWord.EIP + (id >>> 5), ~(1 << (id & 31)));
    this.update();
  }

  readIndirect(iselect: number, out: Int32Array): boolean {
    const s = this.s;
    if (iselect === Iselect.EIDELIVERY || iselect === Iselect.EITHRESHOLD) {
      out[0] = s[this.at + (iselect === Iselect.EIDELIVERY ? FileWord.EIDELIVERY : FileWord.EITHRESHOLD)];
      out[1] = 0;
      return true;
    }
    const word = this.arrayWord(iselect);
    if (word < 0) return false;
    out[0] = Atomics.load(s, word);
    out[1] = Atomics.load(s, word + 1);
    return true;
  }

  writeIndirect(iselect: number, lo: number, hi: number): boolean {
    const s = this.s;
    if (iselect === Iselect.EIDELIVERY) {
      s[this.at + FileWord.EIDELIVERY] = lo & 1;
    } else if (iselect === Iselect.EITHRESHOLD) {
      s[this.at + FileWord.EITHRESHOLD] = lo & THRESHOLD_MASK;
    } else {
      const word = this.arrayWord(iselect);
      if (word < 0) return false;
      // Bit 0 of eip0 and eie0 (id 0) is read-only zero.
      const first = word === this.at + FileWord.EIP || word === this.at + FileWord.EIE ? ~1 : -1;
      Atomics.store(s, word, lo & first);
      Atomics.store(s, word + 1, hi);
    }
    this.update();
    return true;
  }

  /**
   * The state word an eipN/eieN select value reaches, or -1.  On RV64 only
   * even N exist (each 64 bits wide), and, as QEMU 7.2, only those that
   * cover implemented ids (eip0-eip6, eie0-eie6 for 255 ids).
   */
  private arrayWord(iselect: number): number {
    let base: number;
    if (iselect >= Iselect.EIP0 && iselect <= Iselect.EIP63) base = FileWord.EIP;
    else if (iselect >= Iselect.EIE0 && iselect <= Iselect.EIE63) base = FileWord.EIE;
    else return -1;
    const n = iselect & 0x3f;
    if ((n & 1) !== 0 || n >= ID_WORDS) return -1;
    return this.at + base + n;
  }
}

export interface ImsicOptions {
  base: number;
  harts: number;
  /** The M-level IMSIC (files drive MEIP) or the S-level one (SEIP). */
  machineLevel: boolean;
  irqs: HartIrqs;
  /** Where the files' state lives (harts * FileWord.SIZE words); a SharedArrayBuffer-backed array works too. */
  state?: Uint32Array;
}

export class Imsic {
  readonly region: MmioRegion;
  readonly files: ImsicFile[];
  readonly state: Uint32Array;
  readonly machineLevel: boolean;

  constructor(opts: ImsicOptions) {
    this.machineLevel = opts.machineLevel;
    this.state = opts.state ?? new Uint32Array(opts.harts * FileWord.SIZE);
    if (this.state.length < opts.harts * FileWord.SIZE) {
      throw new RangeError(`imsic: state of ${this.state.length} words; ${opts.harts} harts need ${opts.harts * FileWord.SIZE}`);
    }
    const bit = opts.machineLevel ? MipBit.MEIP : MipBit.SEIP;
    this.files = Array.from({ length: opts.harts }, (_, h) =>
      new ImsicFile(this.state, h * FileWord.SIZE, (level) => opts.irqs.setMip(h, bit, level)));
    this.region = {
      name: "riscv.imsic",
      base: opts.base,
      size: opts.harts * IMSIC_PAGE,
      ops: { read: () => 0, write: (offset, size, value) => this.write(offset, size, value) },
    };
  }

  /** The file whose seteipnum_le register is at physical address `addr` (an MSI's target), if any. */
  fileAt(addr: number): ImsicFile | undefined {
    const offset = addr - this.region.base;
    if (offset < 0 || offset >= this.region.size || offset % IMSIC_PAGE !== ImsicReg.SETEIPNUM_LE) return undefined;
    return this.files[offset / IMSIC_PAGE];
  }

  /** Re-evaluate every file's line (after ids were set from another thread). */
  sync(): void {
    for (const f of this.files) f.update();
  }

  reset(): void {
    for (const f of this.files) f.reset();
  }

  /**
   * `/soc/imsics@base`, properties in QEMU 7.2's order (create_fdt_imsic).
   * The phandle is taken first, as QEMU numbers the M file before the S one.
   */
  fdtNode(soc: FdtNode, cpuIntcs: FdtNode[]): FdtNode {
    if (cpuIntcs.length !== this.files.length) {
      throw new Error(`imsic: ${cpuIntcs.length} cpu interrupt controllers given for ${this.files.length} harts`);
    }
    const node = soc.child(`imsics@${this.region.base.toString(16)}`);
    node.phandle();
    const bit = this.machineLevel ? MipBit.MEIP : MipBit.SEIP;
    return node
      .u32("riscv,ipi-id", IMSIC_IPI_ID)
      .u32("riscv,num-ids", IMSIC_IDS)
      .u64("reg", this.region.base, this.region.size)
      .u32("interrupts-extended", ...cpuIntcs.flatMap((intc) => [intc.phandle(), bit]))
      .empty("msi-controller")
      .empty("interrupt-controller")
      .u32("#interrupt-cells", 0)
      .str("compatible", "riscv,imsics");
  }

  /**
   * Only aligned 32-bit writes do anything (QEMU takes 4-byte accesses only).
   * seteipnum_be takes the id in big-endian byte order (QEMU 7.2 ignores it).
   */
  private write(offset: number, size: AccessSize, value: number): void {
    if (size !== 4) return;
    const file = this.files[Math.floor(offset / IMSIC_PAGE)];
    if (file === undefined) return;
    switch (offset % IMSIC_PAGE) {
      case ImsicReg.SETEIPNUM_LE:
        file.setPending(value >>> 0);
        break;
      case ImsicReg.SETEIPNUM_BE:
        file.setPending(bswap32(value));
        break;
    }
  }
}

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}
