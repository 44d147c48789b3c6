/**
 * The SiFive CLINT of the virt board.  QEMU 7.2 builds it from two ACLINT
 * devices (qemu:hw/intc/riscv_aclint.c): an MSWI at +0 (one msip word per
 * hart) and an MTIMER at +0x4000 (mtimecmp per hart, mtime at +0xbff8).
 * MTIP of hart h is level `mtime >= mtimecmp[h]`.
 */
import type { AccessSize, MmioRegion } from "../core/memory.js";
import { MipBit, type HartIrqs } from "../core/irq.js";
import type { TimeSource, TimerHandle, TimerList } from "../core/clock.js";
import type { FdtNode } from "../core/fdt.js";

/** Register offsets. */
export const ClintReg = {
  MSIP: 0x0, // 4 bytes per hart
  MTIMECMP: 0x4000, // 8 bytes per hart
  MTIME: 0xbff8,
} as const;

const CLINT_SIZE = 0x10000;
const TWO_32 = 2 ** 32;

export interface ClintOptions {
  base: number;
  harts: number;
  irqs: HartIrqs;
  timers: TimerList;
}

export class Clint {
  readonly region: MmioRegion;
  private readonly harts: number;
  private readonly irqs: HartIrqs;
  private readonly clock: TimeSource;
  private readonly timers: TimerHandle[];
  private readonly msip: Uint8Array;
  private readonly mtimecmpLo: Uint32Array;
  private readonly mtimecmpHi: Uint32Array;
  /** mtime = ticks + offset (mod 2^64), in 32-bit halves so that any value the guest writes reads back exactly. */
  private offsetLo = 0;
  private offsetHi = 0;
  /** mtime at the last `sample`. */
  private nowLo = 0;
  private nowHi = 0;

  constructor(opts: ClintOptions) {
    this.harts = opts.harts;
    this.irqs = opts.irqs;
    this.clock = opts.timers.clock;
    this.msip = new Uint8Array(opts.harts);
    this.mtimecmpLo = new Uint32Array(opts.harts);
    this.mtimecmpHi = new Uint32Array(opts.harts);
    this.timers = Array.from({ length: opts.harts }, (_, h) => opts.timers.create(() => this.updateMtip(h)));
    this.region = {
      name: "riscv.sifive.clint",
      base: opts.base,
      size: CLINT_SIZE,
      ops: { read: (offset, size) => this.read(offset, size), write: (offset, size, value) => this.write(offset, size, value) },
    };
    this.reset();
  }

  /** The guest's mtime (also the `time` CSR); exact below 2^53. */
  mtime(): number {
    this.sample(this.clock.ticks());
    return this.nowHi * TWO_32 + this.nowLo;
  }

  /**
   * As QEMU's ACLINT reset: msip cleared, mtime back to 0, mtimecmp kept (the
   * ACLINT spec leaves it unknown; it starts at 0, so MTIP is high until the
   * firmware writes a deadline).
   */
  reset(): void {
    this.msip.fill(0);
    this.setMtime(0, 0);
    for (let h = 0; h < this.harts; h++) {
      this.irqs.setMip(h, MipBit.MSIP, false);
      this.updateMtip(h);
    }
  }

  /** `/soc/clint@base`, with properties in the order of QEMU's blob (libfdt puts each new property first). */
  fdtNode(soc: FdtNode, cpuIntcs: FdtNode[]): void {
    if (cpuIntcs.length !== this.harts) {
      throw new Error(`clint: ${cpuIntcs.length} cpu interrupt controllers given for ${this.harts} harts`);
    }
    soc.child(`clint@${this.region.base.toString(16)}`)
      .u32("interrupts-extended", ...cpuIntcs.flatMap((intc) => [intc.phandle(), MipBit.MSIP, intc.phandle(), MipBit.MTIP]))
      .u64("reg", this.region.base, this.region.size)
      .strs("compatible", "sifive,clint0", "riscv,clint0");
  }

  // QEMU takes only 4- and 8-byte accesses; narrower ones work on the containing word.
  private read(offset: number, size: AccessSize): number {
    const word = this.readWord(offset & ~3);
    return size === 4 ? word : (word >>> ((offset & 3) * 8)) & (size === 1 ? 0xff : 0xffff);
  }

  private write(offset: number, size: AccessSize, value: number): void {
    const at = offset & ~3;
    if (size !== 4) {
      const shift = (offset & 3) * 8;
      const mask = (size === 1 ? 0xff : 0xffff) << shift;
      value = (this.readWord(at) & ~mask) | ((value << shift) & mask);
    }
    this.writeWord(at, value >>> 0);
  }

  private readWord(at: number): number {
    if (at < ClintReg.MTIMECMP) {
      const h = at >> 2;
      return h < this.harts ? this.msip[h] : 0;
    }
    if (at < ClintReg.MTIMECMP + 8 * this.harts) {
      const h = (at - ClintReg.MTIMECMP) >> 3;
      return at & 4 ? this.mtimecmpHi[h] : this.mtimecmpLo[h];
    }
    if (at === ClintReg.MTIME || at === ClintReg.MTIME + 4) {
      this.sample(this.clock.ticks());
      return at === ClintReg.MTIME ? this.nowLo : this.nowHi;
    }
    return 0;
  }

  private writeWord(at: number, value: number): void {
    if (at < ClintReg.MTIMECMP) {
      const h = at >> 2;
      if (h >= this.harts) return;
      this.msip[h] = value & 1;
      this.irqs.setMip(h, MipBit.MSIP, (value & 1) !== 0);
    } else if (at < ClintReg.MTIMECMP + 8 * this.harts) {
      const h = (at - ClintReg.MTIMECMP) >> 3;
      if (at & 4) this.mtimecmpHi[h] = value;
      else this.mtimecmpLo[h] = value;
      this.updateMtip(h);
    } else if (at === ClintReg.MTIME || at === ClintReg.MTIME + 4) {
      this.sample(this.clock.ticks());
      if (at === ClintReg.MTIME) this.setMtime(this.nowHi, value);
      else this.setMtime(value, this.nowLo);
      for (let h = 0; h < this.harts; h++) this.updateMtip(h);
    }
  }

  /** Set nowHi:nowLo to mtime at `ticks`. */
  private sample(ticks: number): void {
    const lo = (ticks >>> 0) + this.offsetLo;
    const carry = lo >= TWO_32 ? 1 : 0;
    this.nowLo = lo - carry * TWO_32;
    this.nowHi = (Math.floor(ticks / TWO_32) + this.offsetHi + carry) >>> 0;
  }

  /** Make mtime read hi:lo now. */
  private setMtime(hi: number, lo: number): void {
    const ticks = this.clock.ticks();
    const diffLo = lo - (ticks >>> 0);
    const borrow = diffLo < 0 ? 1 : 0;
    this.offsetLo = diffLo + borrow * TWO_32;
    this.offsetHi = (hi - Math.floor(ticks / TWO_32) - borrow) >>> 0;
  }

  /** Drive MTIP of hart `h` from mtime and mtimecmp, and arm its timer for the deadline when it lies ahead. */
  private updateMtip(h: number): void {
    const ticks = this.clock.ticks();
    this.sample(ticks);
    const cmpHi = this.mtimecmpHi[h];
    const cmpLo = this.mtimecmpLo[h];
    const due = cmpHi < this.nowHi || (cmpHi === this.nowHi && cmpLo <= this.nowLo);
    this.irqs.setMip(h, MipBit.MTIP, due);
    // Exact whenever the result is a safe integer; past 2^53 ticks (28 years at 10 MHz) means never.
    const deadline = ticks + ((cmpHi - this.nowHi) * TWO_32 + (cmpLo - this.nowLo));
    if (!due && Number.isSafeInteger(deadline)) this.timers[h].arm(deadline);
    else this.timers[h].cancel();
  }
}
