/**
 * The 32-bit instruction encoder: an instruction from a row of the
 * instruction table and its fields (generated code: the interpreter's
 * warm-up, the tests' random instruction streams).
 */
import { Imm, INSNS, Op, type InsnRow } from "./insn-table.js";

export interface Fields {
  rd?: number;
  rs1?: number;
  rs2?: number;
  rs3?: number;
  rm?: number;
  /** The immediate as the instruction means it (offset, CSR number, shift amount, full U value). */
  imm?: number;
  /** aq and rl bits of an atomic (2 bits: aq << 1 | rl). */
  aqrl?: number;
}

function reg(v: number | undefined, what: string): number {
  const r = v ?? 0;
  if (!Number.isInteger(r) || r < 0 || r > 31) throw new Error(`bad ${what} ${r}`);
  return r;
}

export function checkRange(v: number, lo: number, hi: number, what: string, align = 1): void {
  if (!Number.isInteger(v) || v < lo || v > hi || v % align !== 0) {
    throw new Error(`${what} ${v} outside [${lo}, ${hi}] or not a multiple of ${align}`);
  }
}

function immBits(kind: Imm, imm: number): number {
  switch (kind) {
    case Imm.NONE: return 0;
    case Imm.I:
      checkRange(imm, -2048, 2047, "I-immediate");
      return (imm & 0xfff) << 20;
    case Imm.S:
      checkRange(imm, -2048, 2047, "S-immediate");
      return (((imm >> 5) & 0x7f) << 25) | ((imm & 31) << 7);
    case Imm.B:
      checkRange(imm, -4096, 4094, "branch offset", 2);
      return (((imm >> 12) & 1) << 31) | (((imm >> 5) & 0x3f) << 25) | (((imm >> 1) & 0xf) << 8) |
        (((imm >> 11) & 1) << 7);
    case Imm.U:
      if ((imm & 0xfff) !== 0) throw new Error(`U-immediate ${imm} has low bits set`);
      return imm & 0xfffff000;
    case Imm.J:
      checkRange(imm, -(1 << 20), (1 << 20) - 2, "jump offset", 2);
      return (((imm >> 20) & 1) << 31) | (((imm >> 1) & 0x3ff) << 21) | (((imm >> 11) & 1) << 20) |
        (((imm >> 12) & 0xff) << 12);
    case Imm.SHAMT6:
      checkRange(imm, 0, 63, "shift amount");
      return imm << 20;
    case Imm.SHAMT5:
      checkRange(imm, 0, 31, "shift amount");
      return imm << 20;
    case Imm.CSR:
      checkRange(imm, 0, 0xfff, "CSR number");
      return imm << 20;
  }
}

/**
 * Encode a 32-bit instruction of a table row.  Fields the row fixes (in its
 * mask) are taken from the row; only free bits come from `f`.
 */
export function encodeRow(row: InsnRow, f: Fields): number {
  const fields = (reg(f.rd, "rd") << 7) | (reg(f.rs1, "rs1") << 15) | (reg(f.rs2, "rs2") << 20) |
    (reg(f.rs3, "rs3") << 27) | (((f.rm ?? 0) & 7) << 12) | (((f.aqrl ?? 0) & 3) << 25) |
    immBits(row.imm, f.imm ?? 0);
  return ((row.match | (fields & ~row.mask)) >>> 0);
}

export function encodeOp(op: Op, f: Fields): number {
  return encodeRow(INSNS[op], f);
}

/** Instruction words (32 bits each, or two compressed halves) as a program's bytes in memory: little-endian. */
export function wordsToBytes(words: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  words.forEach((w, i) => view.setUint32(i * 4, w >>> 0, true));
  return bytes;
}
