/**
 * Decoding, built from the instruction table.
 *
 * A decoded instruction is three numbers, so that the decode cache can hold
 * it in typed arrays:
 *   op    the Op id
 *   regs  rd | rs1 << 5 | rs2 << 10 | rs3 << 15 | rm << 20 | (compressed ? 1 << 23 : 0)
 *   imm   the sign-extended immediate (or CSR number, or shift amount)
 * Compressed instructions decode to the row of the 32-bit instruction they
 * expand to, with the compressed bit set.
 */
import { Imm, INSNS, Op, type InsnRow } from "./insn-table.js";

export const REGS_COMPRESSED = 1 << 23;

/** Result of the last decode (no allocation per instruction). */
export const decoded = { op: Op.ILLEGAL as Op, regs: 0, imm: 0 };

/** Candidate rows per major opcode (bits 6:0), most specific mask first. */
const byOpcode: InsnRow[][] = [];
for (let i = 0; i < 128; i++) byOpcode.push([]);
for (const r of INSNS) {
  if (r.op === Op.UNDECODED || r.op === Op.ILLEGAL) continue;
  byOpcode[r.match & 0x7f].push(r);
}
/** Check that the table is indexed by Op: a mistake here would misroute every instruction. */
INSNS.forEach((r, i) => {
  if (r.op !== i) throw new Error(`instruction table out of order at ${r.name}`);
});

/** Set bits of a 32-bit mask, by halves (a loop over the bits, run by the sort's comparisons, was 3 ms of every start). */
const popcount = (v: number): number => {
  const pairs = v - ((v >>> 1) & 0x55555555);
  const nibbles = (pairs & 0x33333333) + ((pairs >>> 2) & 0x33333333);
  return Math.imul((nibbles + (nibbles >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
};
/** Each row's mask bits, by Op. */
const maskBits = INSNS.map((r) => popcount(r.mask));
for (const list of byOpcode) list.sort((a, b) => maskBits[b.op] - maskBits[a.op]);

/** Decode a 32-bit instruction word into `decoded`. */
export function decode32(w: number): void {
  const list = byOpcode[w & 0x7f];
  for (let i = 0; i < list.length; i++) {
    const r = list[i];
    if (((w & r.mask) >>> 0) === r.match) {
      decoded.op = r.op;
      decoded.regs = ((w >>> 7) & 31) | (((w >>> 15) & 31) << 5) | (((w >>> 20) & 31) << 10) |
        (((w >>> 27) & 31) << 15) | (((w >>> 12) & 7) << 20);
      decoded.imm = immediate(r.imm, w);
      return;
    }
  }
  decoded.op = Op.ILLEGAL;
  decoded.regs = 0;
  decoded.imm = 0;
}

function immediate(kind: Imm, w: number): number {
  switch (kind) {
    case Imm.NONE: return 0;
    case Imm.I: return w >> 20;
    case Imm.S: return ((w >> 25) << 5) | ((w >>> 7) & 31);
    case Imm.B:
      return ((w >> 31) << 12) | (((w >>> 7) & 1) << 11) | (((w >>> 25) & 0x3f) << 5) | (((w >>> 8) & 0xf) << 1);
    case Imm.U: return w & 0xfffff000;
    case Imm.J:
      return ((w >> 31) << 20) | (w & 0xff000) | (((w >>> 20) & 1) << 11) | (((w >>> 21) & 0x3ff) << 1);
    case Imm.SHAMT6: return (w >>> 20) & 63;
    case Imm.SHAMT5: return (w >>> 20) & 31;
    case Imm.CSR: return (w >>> 20) & 0xfff;
  }
}

function set(op: Op, rd: number, rs1: number, rs2: number, imm: number): void {
  decoded.op = op;
  decoded.regs = rd | (rs1 << 5) | (rs2 << 10) | REGS_COMPRESSED;
  decoded.imm = imm;
}

function illegal(): void {
  decoded.op = Op.ILLEGAL;
  decoded.regs = REGS_COMPRESSED;
  decoded.imm = 0;
}

const sext = (v: number, bits: number): number => (v << (32 - bits)) >> (32 - bits);

/** Decode a 16-bit compressed instruction (RV64C) into `decoded`. */
export function decode16(h: number): void {
  const f3 = (h >>> 13) & 7;
  const rdp = 8 + ((h >>> 2) & 7);   // rd' / rs2'
  const rs1p = 8 + ((h >>> 7) & 7);  // rs1' / rd'
  const rd = (h >>> 7) & 31;
  const rs2 = (h >>> 2) & 31;
  switch (h & 3) {
    case 0:
      switch (f3) {
        case 0: { // c.addi4spn
          const imm = ((h >>> 7) & 0x30) | ((h >>> 1) & 0x3c0) | ((h >>> 4) & 4) | ((h >>> 2) & 8);
          if (imm === 0) return illegal();
          return set(Op.ADDI, rdp, 2, 0, imm);
        }
        case 1: return set(Op.FLD, rdp, rs1p, 0, ((h >>> 7) & 0x38) | ((h << 1) & 0xc0));
        case 2: return set(Op.LW, rdp, rs1p, 0, ((h >>> 7) & 0x38) | ((h << 1) & 0x40) | ((h >>> 4) & 4));
        case 3: return set(Op.LD, rdp, rs1p, 0, ((h >>> 7) & 0x38) | ((h << 1) & 0xc0));
        case 4: return illegal();
        case 5: return set(Op.FSD, 0, rs1p, rdp, ((h >>> 7) & 0x38) | ((h << 1) & 0xc0));
        case 6: return set(Op.SW, 0, rs1p, rdp, ((h >>> 7) & 0x38) | ((h << 1) & 0x40) | ((h >>> 4) & 4));
        default: return set(Op.SD, 0, rs1p, rdp, ((h >>> 7) & 0x38) | ((h << 1) & 0xc0));
      }
    case 1: {
      const imm6 = sext(((h >>> 7) & 0x20) | ((h >>> 2) & 0x1f), 6);
      switch (f3) {
        case 0: return set(Op.ADDI, rd, rd, 0, imm6); // c.addi, c.nop
        case 1: // c.addiw
          if (rd === 0) return illegal();
          return set(Op.ADDIW, rd, rd, 0, imm6);
        case 2: return set(Op.ADDI, rd, 0, 0, imm6); // c.li
        case 3:
          if (imm6 === 0) return illegal();
          if (rd === 2) { // c.addi16sp
            const imm = ((h >>> 3) & 0x200) | ((h >>> 2) & 0x10) | ((h << 1) & 0x40) | ((h << 4) & 0x180) |
              ((h << 3) & 0x20);
            return set(Op.ADDI, 2, 2, 0, sext(imm, 10));
          }
          return set(Op.LUI, rd, 0, 0, imm6 << 12); // c.lui
        case 4: {
          const shamt = ((h >>> 7) & 0x20) | ((h >>> 2) & 0x1f);
          switch ((h >>> 10) & 3) {
            case 0: return set(Op.SRLI, rs1p, rs1p, 0, shamt);
            case 1: return set(Op.SRAI, rs1p, rs1p, 0, shamt);
            case 2: return set(Op.ANDI, rs1p, rs1p, 0, imm6);
            default:
              switch (((h >>> 10) & 4) | ((h >>> 5) & 3)) {
                case 0: return set(Op.SUB, rs1p, rs1p, rdp, 0);
                case 1: return set(Op.XOR, rs1p, rs1p, rdp, 0);
                case 2: return set(Op.OR, rs1p, rs1p, rdp, 0);
                case 3: return set(Op.AND, rs1p, rs1p, rdp, 0);
                case 4: return set(Op.SUBW, rs1p, rs1p, rdp, 0);
                case 5: return set(Op.ADDW, rs1p, rs1p, rdp, 0);
                default: return illegal();
              }
          }
        }
        case 5: { // c.j
          const imm = ((h >>> 1) & 0x800) | ((h >>> 7) & 0x10) | ((h >>> 1) & 0x300) | ((h << 2) & 0x400) |
            ((h >>> 1) & 0x40) | ((h << 1) & 0x80) | ((h >>> 2) & 0xe) | ((h << 3) & 0x20);
          return set(Op.JAL, 0, 0, 0, sext(imm, 12));
        }
        default: { // c.beqz, c.bnez
          const imm = ((h >>> 4) & 0x100) | ((h >>> 7) & 0x18) | ((h << 1) & 0xc0) | ((h >>> 2) & 6) |
            ((h << 3) & 0x20);
          return set(f3 === 6 ? Op.BEQ : Op.BNE, 0, rs1p, 0, sext(imm, 9));
        }
      }
    }
    case 2:
      switch (f3) {
        case 0: return set(Op.SLLI, rd, rd, 0, ((h >>> 7) & 0x20) | rs2); // c.slli
        case 1: return set(Op.FLD, rd, 2, 0, ((h >>> 7) & 0x20) | ((h >>> 2) & 0x18) | ((h << 4) & 0x1c0));
        case 2:
          if (rd === 0) return illegal();
          return set(Op.LW, rd, 2, 0, ((h >>> 7) & 0x20) | ((h >>> 2) & 0x1c) | ((h << 4) & 0xc0));
        case 3:
          if (rd === 0) return illegal();
          return set(Op.LD, rd, 2, 0, ((h >>> 7) & 0x20) | ((h >>> 2) & 0x18) | ((h << 4) & 0x1c0));
        case 4:
          if ((h & 0x1000) === 0) {
            if (rs2 === 0) {
              if (rd === 0) return illegal();
              return set(Op.JALR, 0, rd, 0, 0); // c.jr
            }
            return set(Op.ADD, rd, 0, rs2, 0); // c.mv
          }
          if (rs2 === 0) {
            if (rd === 0) return set(Op.EBREAK, 0, 0, 0, 0);
            return set(Op.JALR, 1, rd, 0, 0); // c.jalr
          }
          return set(Op.ADD, rd, rd, rs2, 0); // c.add
        case 5: return set(Op.FSD, 0, 2, rs2, ((h >>> 7) & 0x38) | ((h >>> 1) & 0x1c0));
        case 6: return set(Op.SW, 0, 2, rs2, ((h >>> 7) & 0x3c) | ((h >>> 1) & 0xc0));
        default: return set(Op.SD, 0, 2, rs2, ((h >>> 7) & 0x38) | ((h >>> 1) & 0x1c0));
      }
    default:
      return illegal(); // not compressed: the caller handles 32-bit words
  }
}

/** Decode the instruction whose low halfword is `lo` (and high halfword `hi` when 32-bit). */
export function decodeAt(lo: number, hi: number): void {
  if ((lo & 3) !== 3) decode16(lo & 0xffff);
  else decode32(((hi & 0xffff) << 16) | (lo & 0xffff));
}
