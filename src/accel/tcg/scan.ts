/**
 * Finding a block: the straight run of instructions from a pc up to the
 * first one that can change the pc other than by falling through (a branch,
 * a jump, anything the translator leaves to the interpreter), the end of the
 * host page, or MAX_INSNS.  Decoded with the one decoder of target/riscv.
 */
import { decodeAt, decoded, REGS_COMPRESSED } from "../../target/riscv/decode.js";
import { Op } from "../../target/riscv/insn-table.js";
import type { GuestRam } from "../../target/riscv/ram.js";
import { translatable } from "./ops.js";

export const MAX_INSNS = 64;

export interface ScannedInsn {
  op: Op;
  rd: number;
  rs1: number;
  rs2: number;
  imm: number;
  /** FP arithmetic: rs3 | rm << 5 (as the interpreter's decode cache holds them). */
  rs3rm: number;
  /** 2 or 4 bytes. */
  size: number;
}

export interface ScannedBlock {
  /** The instructions, in order (the last may be one the translator leaves to the interpreter). */
  insns: ScannedInsn[];
  /** How many of them, from the first, the translator compiles. */
  compiled: number;
  /**
   * Where the straight line goes on when the block was cut at MAX_INSNS
   * inside its page (the host byte offset of the next instruction); -1 when
   * the block ends with a branch, a jump, the interpreter or the page.
   */
  cut: number;
}

/** Whether `op` ends a block (it may leave the straight line). */
export function endsBlock(op: Op): boolean {
  return (op >= Op.JAL && op <= Op.BGEU) || !translatable(op);
}

/** Scan from byte offset `host` of `ram` (a page offset of `host & 0xfff`). */
export function scanBlock(ram: GuestRam, host: number): ScannedBlock {
  const u16 = ram.u16;
  const insns: ScannedInsn[] = [];
  let compiled = -1;
  let cut = -1;
  let at = host;
  const pageEnd = (host | 0xfff) + 1;
  while (insns.length < MAX_INSNS && at < pageEnd) {
    const lo16 = u16[at >>> 1];
    const long = (lo16 & 3) === 3;
    // A 4-byte instruction across the page end is the interpreter's (it fetches the next page).
    if (long && at + 4 > pageEnd) {
      if (compiled < 0) compiled = insns.length;
      insns.push({ op: Op.ILLEGAL, rd: 0, rs1: 0, rs2: 0, imm: 0, rs3rm: 0, size: 2 });
      break;
    }
    decodeAt(lo16, long ? u16[(at + 2) >>> 1] : 0);
    const r = decoded.regs;
    const insn: ScannedInsn = {
      op: decoded.op, rd: r & 31, rs1: (r >>> 5) & 31, rs2: (r >>> 10) & 31, imm: decoded.imm,
      rs3rm: ((r >>> 15) & 31) | (((r >>> 20) & 7) << 5),
      size: (r & REGS_COMPRESSED) !== 0 ? 2 : 4,
    };
    insns.push(insn);
    if (compiled < 0 && !translatable(insn.op)) compiled = insns.length - 1;
    at += insn.size;
    if (endsBlock(insn.op)) break;
    if (insns.length === MAX_INSNS && at < pageEnd) cut = at;
  }
  return { insns, compiled: compiled < 0 ? insns.length : compiled, cut };
}
