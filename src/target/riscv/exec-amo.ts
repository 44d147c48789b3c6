/**
 * Semantics of the A extension.  Harts run in turns on one host thread, so
 * every AMO is naturally atomic.  LR/SC follow QEMU: LR records the address
 * and the value it loaded; SC succeeds when the address matches and memory
 * still holds that value, and any SC ends the reservation.
 */
import { Op } from "./insn-table.js";
import { Cause, type RiscvCpu } from "./cpu.js";
import { Access, entryWord, PAGE_MASK, PAGE_SHIFT } from "./tlb.js";

/** Host offset of (hi, lo) for a read-modify-write, or -1 after raising the trap. */
function hostForWrite(cpu: RiscvCpu, hi: number, lo: number): number {
  const w = cpu.tlb.write;
  const e = entryWord(lo);
  if (w[e] === (lo & PAGE_MASK) && w[e + 1] === hi) return w[e + 2] + (lo & ~PAGE_MASK);
  const host = cpu.translateRam(hi, lo, Access.WRITE);
  if (host >= 0) cpu.mem.ram.dropCode(host >>> PAGE_SHIFT);
  return host;
}

function hostForRead(cpu: RiscvCpu, hi: number, lo: number): number {
  const r = cpu.tlb.read;
  const e = entryWord(lo);
  if (r[e] === (lo & PAGE_MASK) && r[e + 1] === hi) return r[e + 2] + (lo & ~PAGE_MASK);
  return cpu.translateRam(hi, lo, Access.READ);
}

/** Unsigned 32-bit compare of int32 values. */
const ult = (a: number, b: number): boolean => (a >>> 0) < (b >>> 0);
/** Signed / unsigned 64-bit compares of (hi, lo) pairs. */
const lt64 = (ah: number, al: number, bh: number, bl: number): boolean => ah < bh || (ah === bh && ult(al, bl));
const ult64 = (ah: number, al: number, bh: number, bl: number): boolean =>
  ult(ah, bh) || (ah === bh && ult(al, bl));

/** Execute one A-extension instruction; false when it trapped. */
export function execAmo(cpu: RiscvCpu, op: Op, rd: number, rs1: number, rs2: number): boolean {
  const lo = cpu.xl[rs1];
  const hi = cpu.xh[rs1];
  const word = op <= Op.AMOMAXU_W;
  const size = word ? 4 : 8;
  const i32 = cpu.mem.ram.i32;
  if ((lo & (size - 1)) !== 0) {
    cpu.raise(op === Op.LR_W || op === Op.LR_D ? Cause.LOAD_MISALIGNED : Cause.STORE_MISALIGNED, hi, lo);
    return false;
  }
  if (op === Op.LR_W || op === Op.LR_D) {
    const host = hostForRead(cpu, hi, lo);
    if (host < 0) return false;
    const vl = i32[host >> 2];
    const vh = word ? vl >> 31 : i32[(host >> 2) + 1];
    cpu.resValid = true;
    cpu.resLo = lo; cpu.resHi = hi;
    cpu.resValLo = vl; cpu.resValHi = vh;
    cpu.xl[rd] = vl; cpu.xh[rd] = vh;
    return true;
  }
  if (op === Op.SC_W || op === Op.SC_D) {
    if (!cpu.resValid || cpu.resLo !== lo || cpu.resHi !== hi) {
      cpu.resValid = false;
      cpu.xl[rd] = 1; cpu.xh[rd] = 0;
      return true;
    }
    const host = hostForWrite(cpu, hi, lo);
    if (host < 0) return false;
    cpu.resValid = false;
    const w = host >> 2;
    const same = word ? i32[w] === cpu.resValLo : i32[w] === cpu.resValLo && i32[w + 1] === cpu.resValHi;
    if (same) {
      i32[w] = cpu.xl[rs2];
      if (!word) i32[w + 1] = cpu.xh[rs2];
    }
    cpu.xl[rd] = same ? 0 : 1; cpu.xh[rd] = 0;
    return true;
  }
  const host = hostForWrite(cpu, hi, lo);
  if (host < 0) return false;
  const w = host >> 2;
  const bl = cpu.xl[rs2];
  const bh = cpu.xh[rs2];
  if (word) {
    const a = i32[w];
    let v: number;
    switch (op) {
      case Op.AMOSWAP_W: v = bl; break;
      case Op.AMOADD_W: v = (a + bl) | 0; break;
      case Op.AMOXOR_W: v = a ^ bl; break;
      case Op.AMOAND_W: v = a & bl; break;
      case Op.AMOOR_W: v = a | bl; break;
      case Op.AMOMIN_W: v = a < bl ? a : bl; break;
      case Op.AMOMAX_W: v = a > bl ? a : bl; break;
      case Op.AMOMINU_W: v = ult(a, bl) ? a : bl; break;
      default: v = ult(a, bl) ? bl : a; break; // AMOMAXU_W
    }
    i32[w] = v;
    cpu.xl[rd] = a; cpu.xh[rd] = a >> 31;
    return true;
  }
  const al = i32[w];
  const ah = i32[w + 1];
  let vl: number;
  let vh: number;
  switch (op) {
    case Op.AMOSWAP_D: vl = bl; vh = bh; break;
    case Op.AMOADD_D: {
      const sum = (al >>> 0) + (bl >>> 0);
      vl = sum | 0;
      vh = (ah + bh + (sum > 0xffffffff ? 1 : 0)) | 0;
      break;
    }
    case Op.AMOXOR_D: vl = al ^ bl; vh = ah ^ bh; break;
    case Op.AMOAND_D: vl = al & bl; vh = ah & bh; break;
    case Op.AMOOR_D: vl = al | bl; vh = ah | bh; break;
    case Op.AMOMIN_D: [vl, vh] = lt64(ah, al, bh, bl) ? [al, ah] : [bl, bh]; break;
    case Op.AMOMAX_D: [vl, vh] = lt64(ah, al, bh, bl) ? [bl, bh] : [al, ah]; break;
    case Op.AMOMINU_D: [vl, vh] = ult64(ah, al, bh, bl) ? [al, ah] : [bl, bh]; break;
    default: [vl, vh] = ult64(ah, al, bh, bl) ? [bl, bh] : [al, ah]; break; // AMOMAXU_D
  }
  i32[w] = vl; i32[w + 1] = vh;
  cpu.xl[rd] = al; cpu.xh[rd] = ah;
  return true;
}
