/**
 * The SiFive PLIC as QEMU 7.2's virt board configures it
 * (qemu:hw/intc/sifive_plic.c): 96 level-triggered sources (source 0 does
 * not exist), 3 priority bits, and two contexts per hart, M then S
 * (context 2h drives MEIP of hart h, context 2h+1 its SEIP).
 */
import type { AccessSize, MmioRegion } from "../core/memory.js";
import { MipBit, type HartIrqs, type IrqLine } from "../core/irq.js";
import type { FdtNode } from "../core/fdt.js";

/** Register map. */
export const PlicReg = {
  PRIORITY: 0x0, // 4 bytes per source
  PENDING: 0x1000, // one bit per source, read-only
  ENABLE: 0x2000, // one bit per source, ENABLE_STRIDE bytes per context
  ENABLE_STRIDE: 0x80,
  CONTEXT: 0x200000, // CONTEXT_STRIDE bytes per context
  CONTEXT_STRIDE: 0x1000,
  THRESHOLD: 0x0, // within a context
  CLAIM: 0x4, // within a context: read claims, write completes
} as const;

const PLIC_SIZE = 0x600000;
const DEFAULT_SOURCES = 96;
/** 3 priority bits; QEMU makes priority and threshold WARL by dropping the bits above. */
const PRIORITY_MASK = 7;

export interface PlicOptions {
  base: number;
  harts: number;
  irqs: HartIrqs;
  /** Sources including the nonexistent source 0 (QEMU's num-sources); 96 on virt. */
  sources?: number;
}

export class Plic {
  readonly region: MmioRegion;
  private readonly irqs: HartIrqs;
  private readonly sources: number;
  private readonly words: number;
  private readonly contexts: number;
  private readonly lines: IrqLine[];
  private readonly priority: Uint32Array;
  private readonly threshold: Uint32Array;
  /** Bit sets over sources; `enable` holds `words` words per context. */
  private readonly level: Uint32Array;
  private readonly pending: Uint32Array;
  private readonly claimed: Uint32Array;
  private readonly enable: Uint32Array;

  constructor(opts: PlicOptions) {
    this.irqs = opts.irqs;
    this.sources = opts.sources ?? DEFAULT_SOURCES;
    if (!Number.isInteger(this.sources) || this.sources < 2 || this.sources > 1024) {
      throw new RangeError(`plic: ${this.sources} sources; a PLIC has 2 to 1024 (counting source 0)`);
    }
    this.words = Math.ceil(this.sources / 32);
    this.contexts = 2 * opts.harts;
    this.lines = Array.from({ length: this.sources }, (_, n) => ({ set: (level: boolean) => this.setLevel(n, level) }));
    this.priority = new Uint32Array(this.sources);
    this.threshold = new Uint32Array(this.contexts);
    this.level = new Uint32Array(this.words);
    this.pending = new Uint32Array(this.words);
    this.claimed = new Uint32Array(this.words);
    this.enable = new Uint32Array(this.contexts * this.words);
    this.region = {
      name: "riscv.sifive.plic",
      base: opts.base,
      size: PLIC_SIZE,
      ops: { read: (offset, size) => this.read(offset, size), write: (offset, size, value) => this.write(offset, size, value) },
    };
    this.reset();
  }

  /** The input line of source `n` (1 to sources-1). */
  irq(n: number): IrqLine {
    if (!Number.isInteger(n) || n < 1 || n >= this.sources) {
      throw new RangeError(`plic: no interrupt source ${n}; sources are 1 to ${this.sources - 1}`);
    }
    return this.lines[n];
  }

  reset(): void {
    this.priority.fill(0);
    this.threshold.fill(0);
    this.claimed.fill(0);
    this.enable.fill(0);
    // QEMU clears pending; a line still held high would then never interrupt again, so keep what the lines say.
    this.pending.set(this.level);
    this.update();
  }

  /**
   * `/soc/plic@base`, with properties in the order of QEMU's blob (libfdt
   * puts each new property first).  The board takes the phandle for the
   * devices' interrupt-parent.
   */
  fdtNode(soc: FdtNode, cpuIntcs: FdtNode[]): FdtNode {
    if (2 * cpuIntcs.length !== this.contexts) {
      throw new Error(`plic: ${cpuIntcs.length} cpu interrupt controllers given for ${this.contexts / 2} harts`);
    }
    const node = soc.child(`plic@${this.region.base.toString(16)}`);
    node.phandle();
    return node
      // QEMU 7.2 writes VIRTIO_NDEV (96), one more than the last source; later QEMU writes 95.
      .u32("riscv,ndev", this.sources)
      .u64("reg", this.region.base, this.region.size)
      .u32("interrupts-extended", ...cpuIntcs.flatMap((intc) => [intc.phandle(), MipBit.MEIP, intc.phandle(), MipBit.SEIP]))
      .empty("interrupt-controller")
      .strs("compatible", "sifive,plic-1.0.0", "riscv,plic0")
      .u32("#address-cells", 0)
      .u32("#interrupt-cells", 1);
  }

  private setLevel(n: number, level: boolean): void {
    setBit(this.level, n, level);
    setBit(this.pending, n, level);
    this.update();
  }

  /** The highest-priority source that is pending, enabled and not claimed, above the threshold (ties: lowest id); else 0. */
  private best(context: number): number {
    let best = 0;
    let bestPriority = this.threshold[context];
    const enable = context * this.words;
    for (let w = 0; w < this.words; w++) {
      let bits = this.pending[w] & ~this.claimed[w] & this.enable[enable + w];
      while (bits !== 0) {
        const low = bits & -bits;
        bits ^= low;
        const n = w * 32 + 31 - Math.clz32(low);
        if (this.priority[n] > bestPriority) {
          best = n;
          bestPriority = this.priority[n];
        }
      }
    }
    return best;
  }

  private update(): void {
    for (let c = 0; c < this.contexts; c++) {
      this.irqs.setMip(c >> 1, c & 1 ? MipBit.SEIP : MipBit.MEIP, this.best(c) !== 0);
    }
  }

  private claim(context: number): number {
    const n = this.best(context);
    if (n !== 0) {
      setBit(this.pending, n, false);
      setBit(this.claimed, n, true);
    }
    this.update();
    return n;
  }

  /** As QEMU, whichever context completes and whether or not the source is enabled there. */
  private complete(n: number): void {
    if (n >= this.sources) return;
    setBit(this.claimed, n, false);
    // The level-triggered gateway: a line still high asks again.
    if (getBit(this.level, n)) setBit(this.pending, n, true);
    this.update();
  }

  // QEMU takes 4-byte accesses only: others read 0 and write nothing.
  private read(offset: number, size: AccessSize): number {
    if (size !== 4) return 0;
    if (offset < PlicReg.PENDING) {
      const n = offset >> 2;
      return n < this.sources ? this.priority[n] : 0;
    }
    if (offset < PlicReg.ENABLE) {
      const w = (offset - PlicReg.PENDING) >> 2;
      return w < this.words ? this.pending[w] : 0;
    }
    if (offset < PlicReg.CONTEXT) {
      const c = Math.floor((offset - PlicReg.ENABLE) / PlicReg.ENABLE_STRIDE);
      const w = (offset & (PlicReg.ENABLE_STRIDE - 1)) >> 2;
      return c < this.contexts && w < this.words ? this.enable[c * this.words + w] : 0;
    }
    const c = Math.floor((offset - PlicReg.CONTEXT) / PlicReg.CONTEXT_STRIDE);
    if (c >= this.contexts) return 0;
    switch (offset & (PlicReg.CONTEXT_STRIDE - 1)) {
      case PlicReg.THRESHOLD:
        return this.threshold[c];
      case PlicReg.CLAIM:
        return this.claim(c);
      default:
        return 0;
    }
  }

  private write(offset: number, size: AccessSize, value: number): void {
    if (size !== 4) return;
    value >>>= 0;
    if (offset < PlicReg.PENDING) {
      const n = offset >> 2;
      if (n < this.sources) {
        this.priority[n] = value & PRIORITY_MASK;
        this.update();
      }
    } else if (offset < PlicReg.ENABLE) {
      // pending bits are read-only
    } else if (offset < PlicReg.CONTEXT) {
      const c = Math.floor((offset - PlicReg.ENABLE) / PlicReg.ENABLE_STRIDE);
      const w = (offset & (PlicReg.ENABLE_STRIDE - 1)) >> 2;
      if (c < this.contexts && w < this.words) {
        this.enable[c * this.words + w] = value;
        // QEMU waits for the next event to re-evaluate; an interrupt already pending should not wait.
        this.update();
      }
    } else {
      const c = Math.floor((offset - PlicReg.CONTEXT) / PlicReg.CONTEXT_STRIDE);
      if (c >= this.contexts) return;
      switch (offset & (PlicReg.CONTEXT_STRIDE - 1)) {
        case PlicReg.THRESHOLD:
          this.threshold[c] = value & PRIORITY_MASK;
          this.update();
          break;
        case PlicReg.CLAIM:
          this.complete(value);
          break;
      }
    }
  }
}

function getBit(set: Uint32Array, n: number): boolean {
  return ((set[n >> 5] >>> (n & 31)) & 1) !== 0;
}

function setBit(set: Uint32Array, n: number, on: boolean): void {
  if (on) set[n >> 5] |= 1 << (n & 31);
  else set[n >> 5] &= ~(1 << (n & 31));
}
