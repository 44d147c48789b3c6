/**
 * Instruction encoders for generated test code: 32-bit instructions from a
 * row of the instruction table (src/target/riscv/encode.ts), and every RVC
 * form from its spec layout.
 */
import { checkRange } from "../../../../src/target/riscv/encode.js";

export { encodeOp, encodeRow, type Fields } from "../../../../src/target/riscv/encode.js";

// ---- RVC ------------------------------------------------------------------

const isCreg = (r: number): boolean => r >= 8 && r <= 15;

function creg(r: number, what: string): number {
  if (!isCreg(r)) throw new Error(`${what} x${r} is not one of x8-x15`);
  return r - 8;
}

function bits(v: number, hi: number, lo: number): number {
  return (v >>> lo) & ((1 << (hi - lo + 1)) - 1);
}

/** CIW: c.addi4spn rd', sp, nzuimm (multiple of 4, 4..1020). */
export function cAddi4spn(rd: number, imm: number): number {
  checkRange(imm, 4, 1020, "c.addi4spn immediate", 4);
  return (bits(imm, 5, 4) << 11) | (bits(imm, 9, 6) << 7) | (bits(imm, 2, 2) << 6) | (bits(imm, 3, 3) << 5) |
    (creg(rd, "rd'") << 2);
}

/** CL/CS with a word offset (c.lw, c.sw): funct3, rs1', rd'/rs2', uimm 0..124. */
function clsWord(funct3: number, quad: number, base: number, r: number, imm: number): number {
  checkRange(imm, 0, 124, "word offset", 4);
  return (funct3 << 13) | (bits(imm, 5, 3) << 10) | (creg(base, "rs1'") << 7) | (bits(imm, 2, 2) << 6) |
    (bits(imm, 6, 6) << 5) | (creg(r, "rd'/rs2'") << 2) | quad;
}

/** CL/CS with a doubleword offset (c.ld, c.sd, c.fld, c.fsd): uimm 0..248. */
function clsDouble(funct3: number, quad: number, base: number, r: number, imm: number): number {
  checkRange(imm, 0, 248, "doubleword offset", 8);
  return (funct3 << 13) | (bits(imm, 5, 3) << 10) | (creg(base, "rs1'") << 7) | (bits(imm, 7, 6) << 5) |
    (creg(r, "rd'/rs2'") << 2) | quad;
}

export const cFld = (fd: number, base: number, imm: number): number => clsDouble(1, 0, base, fd, imm);
export const cLw = (rd: number, base: number, imm: number): number => clsWord(2, 0, base, rd, imm);
export const cLd = (rd: number, base: number, imm: number): number => clsDouble(3, 0, base, rd, imm);
export const cFsd = (fs: number, base: number, imm: number): number => clsDouble(5, 0, base, fs, imm);
export const cSw = (rs2: number, base: number, imm: number): number => clsWord(6, 0, base, rs2, imm);
export const cSd = (rs2: number, base: number, imm: number): number => clsDouble(7, 0, base, rs2, imm);

/** CI with a 6-bit signed immediate: c.addi (c.nop), c.addiw, c.li. */
function ciSigned(funct3: number, rd: number, imm: number): number {
  checkRange(imm, -32, 31, "6-bit immediate");
  return (funct3 << 13) | (bits(imm, 5, 5) << 12) | (rd << 7) | (bits(imm, 4, 0) << 2) | 1;
}

export const cAddi = (rd: number, imm: number): number => ciSigned(0, rd, imm);
export const cAddiw = (rd: number, imm: number): number => ciSigned(1, rd, imm);
export const cLi = (rd: number, imm: number): number => ciSigned(2, rd, imm);

/** c.addi16sp: nzimm multiple of 16 in [-512, 496], not 0. */
export function cAddi16sp(imm: number): number {
  checkRange(imm, -512, 496, "c.addi16sp immediate", 16);
  if (imm === 0) throw new Error("c.addi16sp immediate must not be 0");
  return (3 << 13) | (bits(imm, 9, 9) << 12) | (2 << 7) | (bits(imm, 4, 4) << 6) | (bits(imm, 6, 6) << 5) |
    (bits(imm, 8, 7) << 3) | (bits(imm, 5, 5) << 2) | 1;
}

/** c.lui rd, nzimm: imm6 in [-32, 31], not 0 (the value loaded is imm6 << 12); rd not 2. */
export function cLui(rd: number, imm6: number): number {
  checkRange(imm6, -32, 31, "c.lui immediate");
  if (imm6 === 0 || rd === 2) throw new Error("c.lui needs a non-zero immediate and rd != sp");
  return (3 << 13) | (bits(imm6, 5, 5) << 12) | (rd << 7) | (bits(imm6, 4, 0) << 2) | 1;
}

function cShiftArith(funct2: number, rd: number, shamt: number): number {
  checkRange(shamt, 0, 63, "shift amount");
  return (4 << 13) | (bits(shamt, 5, 5) << 12) | (funct2 << 10) | (creg(rd, "rd'") << 7) |
    (bits(shamt, 4, 0) << 2) | 1;
}

export const cSrli = (rd: number, shamt: number): number => cShiftArith(0, rd, shamt);
export const cSrai = (rd: number, shamt: number): number => cShiftArith(1, rd, shamt);

export function cAndi(rd: number, imm: number): number {
  checkRange(imm, -32, 31, "c.andi immediate");
  return (4 << 13) | (bits(imm, 5, 5) << 12) | (2 << 10) | (creg(rd, "rd'") << 7) | (bits(imm, 4, 0) << 2) | 1;
}

/** CA: c.sub c.xor c.or c.and (w=0) and c.subw c.addw (w=1, funct2 0/1). */
function cArith(w: number, funct2: number, rd: number, rs2: number): number {
  return (4 << 13) | (w << 12) | (3 << 10) | (creg(rd, "rd'") << 7) | (funct2 << 5) | (creg(rs2, "rs2'") << 2) | 1;
}

export const cSub = (rd: number, rs2: number): number => cArith(0, 0, rd, rs2);
export const cXor = (rd: number, rs2: number): number => cArith(0, 1, rd, rs2);
export const cOr = (rd: number, rs2: number): number => cArith(0, 2, rd, rs2);
export const cAnd = (rd: number, rs2: number): number => cArith(0, 3, rd, rs2);
export const cSubw = (rd: number, rs2: number): number => cArith(1, 0, rd, rs2);
export const cAddw = (rd: number, rs2: number): number => cArith(1, 1, rd, rs2);

/** c.j: offset even, [-2048, 2046]. */
export function cJ(offset: number): number {
  checkRange(offset, -2048, 2046, "c.j offset", 2);
  return (5 << 13) | (bits(offset, 11, 11) << 12) | (bits(offset, 4, 4) << 11) | (bits(offset, 9, 8) << 9) |
    (bits(offset, 10, 10) << 8) | (bits(offset, 6, 6) << 7) | (bits(offset, 7, 7) << 6) |
    (bits(offset, 3, 1) << 3) | (bits(offset, 5, 5) << 2) | 1;
}

/** c.beqz (ne=false) / c.bnez (ne=true): offset even, [-256, 254]. */
export function cBranch(ne: boolean, rs1: number, offset: number): number {
  checkRange(offset, -256, 254, "c.beqz/c.bnez offset", 2);
  return ((ne ? 7 : 6) << 13) | (bits(offset, 8, 8) << 12) | (bits(offset, 4, 3) << 10) |
    (creg(rs1, "rs1'") << 7) | (bits(offset, 7, 6) << 5) | (bits(offset, 2, 1) << 3) |
    (bits(offset, 5, 5) << 2) | 1;
}

export function cSlli(rd: number, shamt: number): number {
  checkRange(shamt, 0, 63, "shift amount");
  return (bits(shamt, 5, 5) << 12) | (rd << 7) | (bits(shamt, 4, 0) << 2) | 2;
}

/** c.lwsp (uimm 0..252, x4) */
export function cLwsp(rd: number, imm: number): number {
  checkRange(imm, 0, 252, "c.lwsp offset", 4);
  return (2 << 13) | (bits(imm, 5, 5) << 12) | (rd << 7) | (bits(imm, 4, 2) << 4) | (bits(imm, 7, 6) << 2) | 2;
}

function ldspLike(funct3: number, rd: number, imm: number): number {
  checkRange(imm, 0, 504, "doubleword sp offset", 8);
  return (funct3 << 13) | (bits(imm, 5, 5) << 12) | (rd << 7) | (bits(imm, 4, 3) << 5) | (bits(imm, 8, 6) << 2) | 2;
}

export const cFldsp = (fd: number, imm: number): number => ldspLike(1, fd, imm);
export const cLdsp = (rd: number, imm: number): number => ldspLike(3, rd, imm);

export function cSwsp(rs2: number, imm: number): number {
  checkRange(imm, 0, 252, "c.swsp offset", 4);
  return (6 << 13) | (bits(imm, 5, 2) << 9) | (bits(imm, 7, 6) << 7) | (rs2 << 2) | 2;
}

function sdspLike(funct3: number, rs2: number, imm: number): number {
  checkRange(imm, 0, 504, "doubleword sp offset", 8);
  return (funct3 << 13) | (bits(imm, 5, 3) << 10) | (bits(imm, 8, 6) << 7) | (rs2 << 2) | 2;
}

export const cFsdsp = (fs: number, imm: number): number => sdspLike(5, fs, imm);
export const cSdsp = (rs2: number, imm: number): number => sdspLike(7, rs2, imm);

export const cJr = (rs1: number): number => (4 << 13) | (rs1 << 7) | 2;
export const cMv = (rd: number, rs2: number): number => (4 << 13) | (rd << 7) | (rs2 << 2) | 2;
export const cJalr = (rs1: number): number => (4 << 13) | (1 << 12) | (rs1 << 7) | 2;
export const cAdd = (rd: number, rs2: number): number => (4 << 13) | (1 << 12) | (rd << 7) | (rs2 << 2) | 2;
