/**
 * RV64GC disassembler, driven by the operand letters of the instruction table
 * and the decoder's output.  Output follows GNU objdump with `-M no-aliases`
 * (ABI register names, decimal immediates, hex shift amounts and U-immediates,
 * absolute branch targets in hex, ".aq"/".rl" on atomics, "fence.tso"), except
 * that compressed instructions are printed as the 32-bit instructions they
 * expand to.  Encodings the decoder rejects print as ".2byte 0x..." or
 * ".4byte 0x...".
 */
import { decodeAt, decoded, REGS_COMPRESSED } from "./decode.js";
import { INSNS, Op } from "./insn-table.js";

export const XREG_NAMES: readonly string[] = [
  "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2",
  "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
  "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7",
  "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
];

export const FREG_NAMES: readonly string[] = [
  "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7",
  "fs0", "fs1", "fa0", "fa1", "fa2", "fa3", "fa4", "fa5",
  "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7",
  "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
];

/** Rounding-mode names by rm field; 5 and 6 are reserved. */
const RM_NAMES: readonly string[] = ["rne", "rtz", "rdn", "rup", "rmm", "unknown", "unknown", "dyn"];

const CSR_NAMES = new Map<number, string>([
  [0x001, "fflags"], [0x002, "frm"], [0x003, "fcsr"],
  [0xc00, "cycle"], [0xc01, "time"], [0xc02, "instret"],
  [0x100, "sstatus"], [0x104, "sie"], [0x105, "stvec"], [0x106, "scounteren"], [0x10a, "senvcfg"],
  [0x140, "sscratch"], [0x141, "sepc"], [0x142, "scause"], [0x143, "stval"], [0x144, "sip"],
  [0x180, "satp"],
  [0x300, "mstatus"], [0x301, "misa"], [0x302, "medeleg"], [0x303, "mideleg"], [0x304, "mie"],
  [0x305, "mtvec"], [0x306, "mcounteren"],
  [0x340, "mscratch"], [0x341, "mepc"], [0x342, "mcause"], [0x343, "mtval"], [0x344, "mip"],
  [0xf11, "mvendorid"], [0xf12, "marchid"], [0xf13, "mimpid"], [0xf14, "mhartid"],
]);
for (let i = 0; i < 16; i++) CSR_NAMES.set(0x3a0 + i, `pmpcfg${i}`);
for (let i = 0; i < 64; i++) CSR_NAMES.set(0x3b0 + i, `pmpaddr${i}`);

/** The name of a CSR, or its number in hex. */
export function csrName(csr: number): string {
  return CSR_NAMES.get(csr) ?? `0x${csr.toString(16)}`;
}

const MASK64 = (1n << 64n) - 1n;

/** Conversions that are always exact: their rm is printed only when neither rne (what assemblers emit) nor dyn. */
const EXACT_CONVERSIONS = new Set<Op>([Op.FCVT_D_W, Op.FCVT_D_WU, Op.FCVT_D_S]);

function target(pc: number, offset: number): string {
  return `0x${((BigInt(pc) + BigInt(offset)) & MASK64).toString(16)}`;
}

function fenceSet(bits: number): string {
  if (bits === 0) return "unknown";
  let s = "";
  if (bits & 8) s += "i";
  if (bits & 4) s += "o";
  if (bits & 2) s += "r";
  if (bits & 1) s += "w";
  return s;
}

function amoSuffix(word: number): string {
  const aq = (word >>> 26) & 1;
  const rl = (word >>> 25) & 1;
  return aq ? (rl ? ".aqrl" : ".aq") : (rl ? ".rl" : "");
}

/**
 * Disassemble the instruction whose low halfword is `lo16` (and high halfword
 * `hi16` when it is a 32-bit instruction), located at address `pc`.
 */
export function disassemble(lo16: number, hi16: number, pc: number): { text: string; length: 2 | 4 } {
  const lo = lo16 & 0xffff;
  const hi = hi16 & 0xffff;
  const length: 2 | 4 = (lo & 3) === 3 ? 4 : 2;
  const word = length === 4 ? ((hi << 16) | lo) >>> 0 : lo;
  // decodeAt reports through the shared `decoded`; leave it as the caller had it.
  const savedOp = decoded.op;
  const savedRegs = decoded.regs;
  const savedImm = decoded.imm;
  decodeAt(lo, hi);
  const op = decoded.op;
  const regs = decoded.regs;
  const imm = decoded.imm;
  decoded.op = savedOp;
  decoded.regs = savedRegs;
  decoded.imm = savedImm;
  if (op === Op.ILLEGAL || op === Op.UNDECODED) {
    return { text: `.${length}byte 0x${word.toString(16)}`, length };
  }
  const row = INSNS[op];
  const rd = regs & 31;
  const rs1 = (regs >>> 5) & 31;
  const rs2 = (regs >>> 10) & 31;
  const rs3 = (regs >>> 15) & 31;
  const rm = (regs & REGS_COMPRESSED) !== 0 ? 7 : (regs >>> 20) & 7;

  let name = row.name;
  if (row.ext === "A") name += amoSuffix(word);
  if (op === Op.FENCE && ((imm >>> 8) & 15) === 8 && (imm & 0xff) === 0x33) {
    return { text: "fence.tso", length };
  }

  const parts: string[] = [];
  for (const letter of row.operands) {
    switch (letter) {
      case "d": parts.push(XREG_NAMES[rd]); break;
      case "s": parts.push(XREG_NAMES[rs1]); break;
      case "t": parts.push(XREG_NAMES[rs2]); break;
      case "D": parts.push(FREG_NAMES[rd]); break;
      case "S": parts.push(FREG_NAMES[rs1]); break;
      case "T": parts.push(FREG_NAMES[rs2]); break;
      case "R": parts.push(FREG_NAMES[rs3]); break;
      case "i": parts.push(String(imm)); break;
      case "u": parts.push(`0x${((imm >>> 12) & 0xfffff).toString(16)}`); break;
      case ">": parts.push(`0x${imm.toString(16)}`); break;
      case "o": parts.push(`${imm}(${XREG_NAMES[rs1]})`); break;
      case "b": case "j": parts.push(target(pc, imm)); break;
      case "c": parts.push(csrName(imm)); break;
      case "z": parts.push(String(rs1)); break;
      case "A": parts.push(`(${XREG_NAMES[rs1]})`); break;
      case "m":
        if (rm !== 7 && !(rm === 0 && EXACT_CONVERSIONS.has(op))) parts.push(RM_NAMES[rm]);
        break;
      case "f": parts.push(fenceSet((imm >>> 4) & 15), fenceSet(imm & 15)); break;
      default: throw new Error(`disassemble: unknown operand letter '${letter}' in row ${row.name}`);
    }
  }
  return { text: parts.length > 0 ? `${name} ${parts.join(",")}` : name, length };
}
