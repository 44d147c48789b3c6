/**
 * Seeded generator of random RV64GC user-mode instruction streams, packed as
 * many independent cases into one static ELF per batch.
 *
 * Every case:
 *   1. points x31 at its input block, loads frm, f0-f31 and x1-x30 from it,
 *      clears fflags, and points x31 at its scratch buffer;
 *   2. runs a random body (x31 is never written; memory accesses are all
 *      x31-relative, directly or through a base register set just before);
 *   3. stores x1-x31, f0-f31 and fcsr in front of the scratch buffer and
 *      writes that record (registers + scratch) to stdout.
 * The program exits 0 after the last case, or 3 if a write fell short.
 */
import { decode16, decode32, decoded } from "../../../../src/target/riscv/decode.js";
import { Imm, INSNS, Op, type InsnRow } from "../../../../src/target/riscv/insn-table.js";
import { buildElf } from "../../../util/elf-writer.js";
import * as C from "./encode.js";
import { encodeOp, encodeRow, type Fields } from "./encode.js";
import type { Rng } from "./rng.js";
import { fValue, xValue } from "./values.js";

export const CODE_ADDR = 0x10000;
export const DATA_ADDR = 0x10000000;
export const SCRATCH_SIZE = 256;
/** Input block: x1-x30, f0-f31, frm, scratch address. */
export const IN_X = 0;
export const IN_F = 240;
export const IN_FRM = 496;
export const IN_SCRATCH = 504;
export const IN_SIZE = 512;
/** Output record: x1-x31, f0-f31, fcsr, then the scratch buffer. */
export const OUT_X = 0;
export const OUT_F = 248;
export const OUT_FCSR = 504;
export const OUT_SIZE = 512;
export const RECORD_SIZE = OUT_SIZE + SCRATCH_SIZE;

/** The scratch base register: never written by a case body. */
const BASE = 31;
const CSR_FFLAGS = 1;
const CSR_FRM = 2;
const CSR_FCSR = 3;
const RMS: readonly number[] = [0, 1, 2, 3, 4, 7];

export interface CaseInit {
  /** x[1..30] are loaded; x[0] and x[31] are unused here. */
  readonly x: readonly bigint[];
  readonly f: readonly bigint[];
  readonly frm: number;
  readonly scratch: Uint8Array;
}

export interface GeneratedCase {
  readonly index: number;
  readonly init: CaseInit;
  /** Address range of the random body. */
  readonly bodyStart: number;
  readonly bodyEnd: number;
  readonly scratchAddr: number;
  /** Names of the forms the body uses, in order. */
  readonly forms: readonly string[];
}

export interface Batch {
  readonly elf: Uint8Array;
  readonly code: Uint8Array;
  readonly cases: readonly GeneratedCase[];
  /** How many times each form was generated. */
  readonly formCounts: ReadonlyMap<string, number>;
}

// ---- code assembly ----------------------------------------------------------

interface Item {
  readonly len: 2 | 4;
  /** The encoding; `target` is the absolute address of the unit's target (0 when none). */
  readonly enc: (pc: number, target: number) => number;
}

/** A group of instructions placed together; branches target unit boundaries. */
interface Unit {
  readonly form: string;
  readonly items: Item[];
  /** For control transfers: how many units forward the target is (1 = the next unit). */
  skip?: number;
}

const fixed32 = (w: number): Item => ({ len: 4, enc: () => w });
const fixed16 = (h: number): Item => ({ len: 2, enc: () => h });

class CodeBuffer {
  private bytes: number[] = [];
  get pc(): number {
    return CODE_ADDR + this.bytes.length;
  }
  emit(item: Item, target = 0): void {
    const w = item.enc(this.pc, target) >>> 0;
    this.check(item.len, w);
    this.bytes.push(w & 0xff, (w >>> 8) & 0xff);
    if (item.len === 4) this.bytes.push((w >>> 16) & 0xff, (w >>> 24) & 0xff);
  }
  emit32(w: number): void {
    this.emit(fixed32(w));
  }
  /** Every generated instruction must decode as legal (a generator or decoder bug otherwise). */
  private check(len: 2 | 4, w: number): void {
    if (len === 4) {
      if ((w & 3) !== 3) throw new Error(`generator: 32-bit item 0x${w.toString(16)} has compressed low bits`);
      decode32(w);
    } else {
      if ((w & 3) === 3 || w > 0xffff) throw new Error(`generator: 16-bit item 0x${w.toString(16)} is not compressed`);
      decode16(w);
    }
    if (decoded.op === Op.ILLEGAL) {
      throw new Error(`generator: produced an encoding the decoder rejects: 0x${w.toString(16)} at 0x${this.pc.toString(16)}`);
    }
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

const I = (op: Op, rd: number, rs1: number, imm: number): number => encodeOp(op, { rd, rs1, imm });
const hiLo = (addr: number): [number, number] => {
  const hi = (addr + 0x800) >> 12;
  return [hi << 12, addr - (hi << 12)];
};

// ---- random operand choices ---------------------------------------------------

function imm12(rng: Rng): number {
  const k = rng.int(6);
  if (k === 0) return rng.pick([0, 1, -1, 2047, -2048, 2046, -2047, 31, 32, 63, 64]);
  if (k <= 2) return rng.range(-16, 16);
  return rng.range(-2048, 2047);
}

const anyReg = (rng: Rng): number => rng.int(32);
/** An integer destination: anything but the base register. */
const destReg = (rng: Rng): number => rng.int(31);
/** A scratch register for addresses: not x0, not the base. */
const tempReg = (rng: Rng): number => rng.range(1, 30);
const cReg = (rng: Rng): number => rng.range(8, 15);

function memSize(row: InsnRow): number {
  return 1 << (((row.match >>> 12) & 7) & 3);
}

function randomFields(rng: Rng, row: InsnRow): Fields {
  const f: Fields = {};
  for (const letter of row.operands) {
    switch (letter) {
      case "d": f.rd = destReg(rng); break;
      case "D": f.rd = anyReg(rng); break;
      case "s": case "S": f.rs1 = anyReg(rng); break;
      case "t": case "T": f.rs2 = anyReg(rng); break;
      case "R": f.rs3 = anyReg(rng); break;
      case "m": f.rm = rng.pick(RMS); break;
      case "i": f.imm = imm12(rng); break;
      case ">": f.imm = rng.int(row.imm === Imm.SHAMT6 ? 64 : 32); break;
      case "u": f.imm = (rng.chance(0.3) ? rng.range(-8, 8) : rng.u32() >> 12) << 12; break;
      default: throw new Error(`generator: operand '${letter}' of ${row.name} needs a dedicated form`);
    }
  }
  // Same-register operands reach special cases (x - x, x / x, fmin(x, x), ...).
  if (f.rs1 !== undefined && f.rs2 !== undefined && rng.chance(0.15)) f.rs2 = f.rs1;
  if (f.rs3 !== undefined && rng.chance(0.1)) f.rs3 = rng.chance(0.5) ? f.rs1 : f.rs2;
  return f;
}

/** Split an address offset within the scratch buffer into a base offset and an immediate. */
function splitOffset(rng: Rng, addr: number, lo: number, hi: number, align = 1): [number, number] {
  // imm in [lo, hi], multiple of align, with k = addr - imm in [-2048, 2047]
  const min = Math.max(lo, addr - 2047);
  const max = Math.min(hi, addr + 2048);
  const imm = rng.range(Math.ceil(min / align), Math.floor(max / align)) * align;
  return [addr - imm, imm];
}

// ---- forms ----------------------------------------------------------------------

type FormGen = (rng: Rng) => Unit;

function rowUnit(row: InsnRow, items: Item[], skip?: number): Unit {
  return { form: row.name, items, skip };
}

function aluForm(row: InsnRow): FormGen {
  return (rng) => rowUnit(row, [fixed32(encodeRow(row, randomFields(rng, row)))]);
}

function loadStoreForm(row: InsnRow): FormGen {
  const size = memSize(row);
  const isStore = row.operands.startsWith("t") || row.operands.startsWith("T");
  const isFp = row.operands.startsWith("D") || row.operands.startsWith("T");
  return (rng) => {
    const addr = rng.int(SCRATCH_SIZE - size + 1);
    const data = isFp ? anyReg(rng) : isStore ? anyReg(rng) : destReg(rng);
    const f = (base: number, imm: number): Fields => (isStore ? { rs1: base, rs2: data, imm } : { rd: data, rs1: base, imm });
    if (rng.chance(0.4)) return rowUnit(row, [fixed32(encodeRow(row, f(BASE, addr)))]);
    const base = tempReg(rng);
    const [k, imm] = splitOffset(rng, addr, -2048, 2047);
    return rowUnit(row, [fixed32(I(Op.ADDI, base, BASE, k)), fixed32(encodeRow(row, f(base, imm)))]);
  };
}

function amoForm(row: InsnRow): FormGen {
  const size = memSize(row);
  return (rng) => {
    const addr = rng.int(SCRATCH_SIZE / size) * size;
    const aqrl = rng.int(4);
    const rd = destReg(rng);
    if (addr === 0 && rng.chance(0.5)) {
      return rowUnit(row, [fixed32(encodeRow(row, { rd, rs1: BASE, rs2: anyReg(rng), aqrl }))]);
    }
    const base = tempReg(rng);
    return rowUnit(row, [fixed32(I(Op.ADDI, base, BASE, addr)), fixed32(encodeRow(row, { rd, rs1: base, rs2: anyReg(rng), aqrl }))]);
  };
}

/** lr, up to two register-only instructions, then sc on the same address: a pair that must succeed. */
function lrScForm(lr: InsnRow, sc: InsnRow, alu: readonly InsnRow[]): FormGen {
  const size = memSize(lr);
  return (rng) => {
    const addr = rng.int(SCRATCH_SIZE / size) * size;
    const base = tempReg(rng);
    let rd1 = destReg(rng);
    while (rd1 === base) rd1 = destReg(rng);
    const items: Item[] = [
      fixed32(I(Op.ADDI, base, BASE, addr)),
      fixed32(encodeRow(lr, { rd: rd1, rs1: base, aqrl: rng.int(4) })),
    ];
    for (let n = rng.int(3); n > 0; n--) {
      const row = rng.pick(alu);
      const f = randomFields(rng, row);
      if (row.operands[0] === "d") while (f.rd === base) f.rd = destReg(rng);
      items.push(fixed32(encodeRow(row, f)));
    }
    items.push(fixed32(encodeRow(sc, { rd: destReg(rng), rs1: base, rs2: anyReg(rng), aqrl: rng.int(4) })));
    return { form: `${lr.name}+${sc.name}`, items };
  };
}

/** sc with no reservation held: must fail. */
function scAloneForm(sc: InsnRow): FormGen {
  const size = memSize(sc);
  return (rng) => {
    const base = tempReg(rng);
    return rowUnit(sc, [
      fixed32(I(Op.ADDI, base, BASE, rng.int(SCRATCH_SIZE / size) * size)),
      fixed32(encodeRow(sc, { rd: destReg(rng), rs1: base, rs2: anyReg(rng), aqrl: rng.int(4) })),
    ]);
  };
}

function branchForm(row: InsnRow): FormGen {
  return (rng) => {
    const rs1 = anyReg(rng);
    const rs2 = rng.chance(0.3) ? rs1 : anyReg(rng);
    return rowUnit(row, [{ len: 4, enc: (pc, t) => encodeRow(row, { rs1, rs2, imm: t - pc }) }], rng.range(1, 4));
  };
}

function jalForm(row: InsnRow): FormGen {
  return (rng) => {
    const rd = destReg(rng);
    return rowUnit(row, [{ len: 4, enc: (pc, t) => encodeRow(row, { rd, imm: t - pc }) }], rng.range(1, 4));
  };
}

/** auipc t, 0; addi t, t, delta; jalr rd, imm(t) (or c.jr/c.jalr t) with a possibly odd sum. */
function computedJumpForm(form: string, last: (rng: Rng, t: number) => { item: Item; imm: number }): FormGen {
  return (rng) => {
    const t = tempReg(rng);
    const odd = rng.int(2);
    const { item, imm } = last(rng, t);
    const auipc = fixed32(encodeOp(Op.AUIPC, { rd: t, imm: 0 }));
    const addi: Item = { len: 4, enc: (pc, target) => I(Op.ADDI, t, t, target - (pc - 4) - imm + odd) };
    return { form, items: [auipc, addi, item], skip: rng.range(1, 4) };
  };
}

function csrForm(row: InsnRow): FormGen {
  return (rng) => {
    const csr = rng.pick([CSR_FFLAGS, CSR_FRM, CSR_FCSR]);
    const rd = destReg(rng);
    const frmBits = (v: number): number => (csr === CSR_FRM ? v & 7 : csr === CSR_FCSR ? (v >> 5) & 7 : 0);
    switch (row.op) {
      case Op.CSRRW: case Op.CSRRS: {
        if (rng.chance(0.2)) return rowUnit(row, [fixed32(encodeRow(row, { rd, rs1: 0, imm: csr }))]);
        // The new frm must be valid (0-4) whatever frm was before: csrrw writes a valid
        // value, csrrs sets no frm bit.
        let v = imm12(rng);
        if (row.op === Op.CSRRW) {
          const frm = rng.int(5);
          v = csr === CSR_FRM ? (v & ~7) | frm : csr === CSR_FCSR ? (v & ~0xe0) | (frm << 5) : v;
        } else {
          v = csr === CSR_FRM ? v & ~7 : csr === CSR_FCSR ? v & ~0xe0 : v;
        }
        if (frmBits(v) > 4 || (row.op === Op.CSRRS && frmBits(v) !== 0)) throw new Error("generator: bad frm value");
        const t = tempReg(rng);
        return rowUnit(row, [fixed32(I(Op.ADDI, t, 0, v)), fixed32(encodeRow(row, { rd, rs1: t, imm: csr }))]);
      }
      case Op.CSRRC: case Op.CSRRCI:
        // Clearing bits of a valid frm (0-4) leaves a valid frm.
        return rowUnit(row, [fixed32(encodeRow(row, { rd, rs1: rng.int(32), imm: csr }))]);
      case Op.CSRRWI: {
        let z = rng.int(32);
        if (csr === CSR_FRM) z = (z & ~7) | rng.int(5);
        return rowUnit(row, [fixed32(encodeRow(row, { rd, rs1: z, imm: csr }))]);
      }
      case Op.CSRRSI: {
        let z = rng.int(32);
        if (csr === CSR_FRM) z &= ~7;
        return rowUnit(row, [fixed32(encodeRow(row, { rd, rs1: z, imm: csr }))]);
      }
      default: throw new Error(`generator: ${row.name} is not a CSR instruction`);
    }
  };
}

function fenceForm(row: InsnRow): FormGen {
  return (rng) => {
    if (row.op === Op.FENCE_I) {
      const f: Fields = rng.chance(0.8) ? {} : { rd: rng.int(32), rs1: rng.int(32), imm: imm12(rng) };
      return rowUnit(row, [fixed32(encodeRow(row, f))]);
    }
    const tso = rng.chance(0.15);
    const imm = tso ? -0x800 + 0x33 : rng.int(256);
    const f: Fields = rng.chance(0.8) ? { imm } : { imm, rd: rng.int(32), rs1: rng.int(32) };
    return rowUnit(row, [fixed32(encodeRow(row, f))]);
  };
}

// ---- compressed forms -----------------------------------------------------------------

function cUnit(form: string, items: Item[], skip?: number): Unit {
  return { form, items, skip };
}

function cMemForm(form: string, size: number, maxImm: number, enc: (r: number, base: number, imm: number) => number,
  dataReg: (rng: Rng) => number): FormGen {
  return (rng) => {
    const base = cReg(rng);
    const imm = rng.int(Math.min(maxImm, SCRATCH_SIZE - size) / size + 1) * size;
    const k = rng.range(-imm, SCRATCH_SIZE - size - imm);
    return cUnit(form, [fixed32(I(Op.ADDI, base, BASE, k)), fixed16(enc(dataReg(rng), base, imm))]);
  };
}

function cSpMemForm(form: string, size: number, maxImm: number, enc: (r: number, imm: number) => number,
  dataReg: (rng: Rng) => number): FormGen {
  return (rng) => {
    const imm = rng.int(Math.min(maxImm, SCRATCH_SIZE - size) / size + 1) * size;
    const k = rng.range(-imm, SCRATCH_SIZE - size - imm);
    return cUnit(form, [fixed32(I(Op.ADDI, 2, BASE, k)), fixed16(enc(dataReg(rng), imm))]);
  };
}

const imm6 = (rng: Rng): number => rng.range(-32, 31);
const nz = (gen: () => number): number => {
  for (;;) {
    const v = gen();
    if (v !== 0) return v;
  }
};
/** A compressed full-register destination: not the base; x0 (a HINT) when allowed. */
const cDest = (rng: Rng, allowZero: boolean): number => (allowZero ? rng.int(31) : rng.range(1, 30));

function compressedForms(): Map<string, FormGen> {
  const m = new Map<string, FormGen>();
  const one = (form: string, gen: (rng: Rng) => number): void => {
    m.set(form, (rng) => cUnit(form, [fixed16(gen(rng))]));
  };
  one("c.addi4spn", (rng) => C.cAddi4spn(cReg(rng), rng.range(1, 255) * 4));
  m.set("c.fld", cMemForm("c.fld", 8, 248, C.cFld, cReg));
  m.set("c.lw", cMemForm("c.lw", 4, 124, C.cLw, cReg));
  m.set("c.ld", cMemForm("c.ld", 8, 248, C.cLd, cReg));
  m.set("c.fsd", cMemForm("c.fsd", 8, 248, C.cFsd, cReg));
  m.set("c.sw", cMemForm("c.sw", 4, 124, C.cSw, cReg));
  m.set("c.sd", cMemForm("c.sd", 8, 248, C.cSd, cReg));
  one("c.nop", (rng) => C.cAddi(0, rng.chance(0.5) ? 0 : imm6(rng)));
  one("c.addi", (rng) => C.cAddi(cDest(rng, false), imm6(rng)));
  one("c.addiw", (rng) => C.cAddiw(cDest(rng, false), imm6(rng)));
  one("c.li", (rng) => C.cLi(cDest(rng, true), imm6(rng)));
  one("c.addi16sp", (rng) => C.cAddi16sp(nz(() => rng.range(-32, 31)) * 16));
  one("c.lui", (rng) => {
    let rd = cDest(rng, true);
    while (rd === 2) rd = cDest(rng, true);
    return C.cLui(rd, nz(() => imm6(rng)));
  });
  one("c.srli", (rng) => C.cSrli(cReg(rng), rng.int(64)));
  one("c.srai", (rng) => C.cSrai(cReg(rng), rng.int(64)));
  one("c.andi", (rng) => C.cAndi(cReg(rng), imm6(rng)));
  one("c.sub", (rng) => C.cSub(cReg(rng), cReg(rng)));
  one("c.xor", (rng) => C.cXor(cReg(rng), cReg(rng)));
  one("c.or", (rng) => C.cOr(cReg(rng), cReg(rng)));
  one("c.and", (rng) => C.cAnd(cReg(rng), cReg(rng)));
  one("c.subw", (rng) => C.cSubw(cReg(rng), cReg(rng)));
  one("c.addw", (rng) => C.cAddw(cReg(rng), cReg(rng)));
  m.set("c.j", (rng) => cUnit("c.j", [{ len: 2, enc: (pc, t) => C.cJ(t - pc) }], rng.range(1, 4)));
  for (const ne of [false, true]) {
    const form = ne ? "c.bnez" : "c.beqz";
    m.set(form, (rng) => {
      const rs1 = cReg(rng);
      return cUnit(form, [{ len: 2, enc: (pc, t) => C.cBranch(ne, rs1, t - pc) }], rng.range(1, 4));
    });
  }
  one("c.slli", (rng) => C.cSlli(cDest(rng, true), rng.int(64)));
  m.set("c.fldsp", cSpMemForm("c.fldsp", 8, 504, C.cFldsp, anyReg));
  m.set("c.lwsp", cSpMemForm("c.lwsp", 4, 252, C.cLwsp, (rng) => cDest(rng, false)));
  m.set("c.ldsp", cSpMemForm("c.ldsp", 8, 504, C.cLdsp, (rng) => cDest(rng, false)));
  m.set("c.fsdsp", cSpMemForm("c.fsdsp", 8, 504, C.cFsdsp, anyReg));
  m.set("c.swsp", cSpMemForm("c.swsp", 4, 252, C.cSwsp, anyReg));
  m.set("c.sdsp", cSpMemForm("c.sdsp", 8, 504, C.cSdsp, anyReg));
  m.set("c.jr", computedJumpForm("c.jr", (_rng, t) => ({ item: fixed16(C.cJr(t)), imm: 0 })));
  m.set("c.jalr", computedJumpForm("c.jalr", (_rng, t) => ({ item: fixed16(C.cJalr(t)), imm: 0 })));
  one("c.mv", (rng) => C.cMv(cDest(rng, true), rng.range(1, 31)));
  one("c.add", (rng) => C.cAdd(cDest(rng, true), rng.range(1, 31)));
  return m;
}

// ---- the form table -----------------------------------------------------------------------

/** Rows not generated: they trap, stop the program, or need privilege. */
const EXCLUDED = new Set<Op>([Op.UNDECODED, Op.ILLEGAL, Op.ECALL, Op.EBREAK]);

function buildForms(): Map<string, FormGen> {
  const forms = new Map<string, FormGen>();
  const alu: InsnRow[] = [];
  for (const row of INSNS) {
    if (EXCLUDED.has(row.op) || row.ext === "Priv") continue;
    const ops = row.operands;
    if (row.op === Op.JAL) forms.set(row.name, jalForm(row));
    else if (row.op === Op.JALR) {
      forms.set(row.name, computedJumpForm(row.name, (rng, t) => {
        const imm = rng.range(-64, 64);
        const rd = destReg(rng);
        return { item: fixed32(encodeRow(row, { rd, rs1: t, imm })), imm };
      }));
    } else if (ops.includes("b")) forms.set(row.name, branchForm(row));
    else if (ops.includes("o")) forms.set(row.name, loadStoreForm(row));
    else if (row.ext === "Zicsr") forms.set(row.name, csrForm(row));
    else if (row.op === Op.FENCE || row.op === Op.FENCE_I) forms.set(row.name, fenceForm(row));
    else if (row.ext === "A") {
      if (!row.name.startsWith("lr.") && !row.name.startsWith("sc.")) forms.set(row.name, amoForm(row));
    } else {
      forms.set(row.name, aluForm(row));
      alu.push(row);
    }
  }
  for (const [lr, sc] of [[Op.LR_W, Op.SC_W], [Op.LR_D, Op.SC_D]] as const) {
    forms.set(INSNS[lr].name, lrScForm(INSNS[lr], INSNS[sc], alu));
    forms.set(INSNS[sc].name, scAloneForm(INSNS[sc]));
  }
  for (const [name, gen] of compressedForms()) forms.set(name, gen);
  return forms;
}

const FORMS = buildForms();
const FORM_NAMES = [...FORMS.keys()];

/** Every form the generator knows: one per user-mode table row, plus every RVC form. */
export function allFormNames(): readonly string[] {
  return FORM_NAMES;
}

// ---- batches -------------------------------------------------------------------------------

function randomInit(rng: Rng, index: number): CaseInit {
  const x: bigint[] = [0n];
  for (let i = 1; i <= 30; i++) x.push(xValue(rng));
  x.push(0n);
  const f: bigint[] = [];
  for (let i = 0; i < 32; i++) f.push(fValue(rng));
  const scratch = new Uint8Array(SCRATCH_SIZE);
  const sv = new DataView(scratch.buffer);
  for (let off = 0; off < SCRATCH_SIZE; off += 8) {
    sv.setBigUint64(off, rng.chance(0.5) ? fValue(rng) : xValue(rng), true);
  }
  return { x, f, frm: index % 5, scratch };
}

export interface BatchOptions {
  readonly cases: number;
  /** Range of body units per case (each unit is one to five instructions). */
  readonly minUnits?: number;
  readonly maxUnits?: number;
}

/** Generate one batch program. */
export function generateBatch(rng: Rng, opts: BatchOptions): Batch {
  const n = opts.cases;
  const minUnits = opts.minUnits ?? 15;
  const maxUnits = opts.maxUnits ?? 32;
  const inBase = DATA_ADDR;
  const outBase = DATA_ADDR + n * IN_SIZE;
  const data = new Uint8Array(n * (IN_SIZE + RECORD_SIZE));
  const dv = new DataView(data.buffer);
  const code = new CodeBuffer();
  const cases: GeneratedCase[] = [];
  const formCounts = new Map<string, number>();

  for (let c = 0; c < n; c++) {
    const init = randomInit(rng, c);
    const inAddr = inBase + c * IN_SIZE;
    const recAddr = outBase + c * RECORD_SIZE;
    const scratchAddr = recAddr + OUT_SIZE;
    const inOff = inAddr - DATA_ADDR;
    for (let i = 1; i <= 30; i++) dv.setBigUint64(inOff + IN_X + (i - 1) * 8, init.x[i], true);
    for (let i = 0; i < 32; i++) dv.setBigUint64(inOff + IN_F + i * 8, init.f[i], true);
    dv.setBigUint64(inOff + IN_FRM, BigInt(init.frm), true);
    dv.setBigUint64(inOff + IN_SCRATCH, BigInt(scratchAddr), true);
    data.set(init.scratch, scratchAddr - DATA_ADDR);

    // 1. load the initial state
    const [hi, lo] = hiLo(inAddr);
    code.emit32(encodeOp(Op.LUI, { rd: BASE, imm: hi }));
    code.emit32(I(Op.ADDI, BASE, BASE, lo));
    code.emit32(I(Op.LD, 5, BASE, IN_FRM));
    code.emit32(encodeOp(Op.CSRRW, { rd: 0, rs1: 5, imm: CSR_FRM }));
    for (let i = 0; i < 32; i++) code.emit32(I(Op.FLD, i, BASE, IN_F + i * 8));
    for (let i = 1; i <= 30; i++) code.emit32(I(Op.LD, i, BASE, IN_X + (i - 1) * 8));
    code.emit32(encodeOp(Op.CSRRWI, { rd: 0, rs1: 0, imm: CSR_FFLAGS }));
    code.emit32(I(Op.LD, BASE, BASE, IN_SCRATCH));

    // 2. the random body
    const units: Unit[] = [];
    const nUnits = rng.range(minUnits, maxUnits);
    for (let u = 0; u < nUnits; u++) {
      const form = rng.pick(FORM_NAMES);
      const gen = FORMS.get(form);
      if (gen === undefined) throw new Error(`generator: no form ${form}`);
      const unit = gen(rng);
      units.push(unit);
      formCounts.set(form, (formCounts.get(form) ?? 0) + 1);
    }
    const bodyStart = code.pc;
    const starts: number[] = [];
    let at = bodyStart;
    for (const unit of units) {
      starts.push(at);
      for (const item of unit.items) at += item.len;
    }
    starts.push(at);
    for (let u = 0; u < units.length; u++) {
      const unit = units[u];
      const target = unit.skip === undefined ? 0 : starts[Math.min(u + unit.skip, units.length)];
      for (const item of unit.items) code.emit(item, target);
    }
    const bodyEnd = code.pc;

    // 3. store the final state and write the record
    for (let i = 1; i <= 31; i++) code.emit32(encodeOp(Op.SD, { rs1: BASE, rs2: i, imm: OUT_X + (i - 1) * 8 - OUT_SIZE }));
    for (let i = 0; i < 32; i++) code.emit32(encodeOp(Op.FSD, { rs1: BASE, rs2: i, imm: OUT_F + i * 8 - OUT_SIZE }));
    code.emit32(encodeOp(Op.CSRRS, { rd: 1, rs1: 0, imm: CSR_FCSR }));
    code.emit32(encodeOp(Op.SD, { rs1: BASE, rs2: 1, imm: OUT_FCSR - OUT_SIZE }));
    code.emit32(I(Op.ADDI, 11, BASE, -OUT_SIZE));     // a1 = record
    code.emit32(I(Op.ADDI, 12, 0, RECORD_SIZE));      // a2 = length
    code.emit32(I(Op.ADDI, 10, 0, 1));                // a0 = stdout
    code.emit32(I(Op.ADDI, 17, 0, 64));               // a7 = write
    code.emit32(encodeOp(Op.ECALL, {}));
    code.emit32(encodeOp(Op.BEQ, { rs1: 10, rs2: 12, imm: 16 }));
    code.emit32(I(Op.ADDI, 10, 0, 3));
    code.emit32(I(Op.ADDI, 17, 0, 94));               // exit_group(3)
    code.emit32(encodeOp(Op.ECALL, {}));

    cases.push({ index: c, init, bodyStart, bodyEnd, scratchAddr, forms: units.map((u) => u.form) });
  }
  code.emit32(I(Op.ADDI, 10, 0, 0));
  code.emit32(I(Op.ADDI, 17, 0, 94));                 // exit_group(0)
  code.emit32(encodeOp(Op.ECALL, {}));

  const bytes = code.finish();
  const elf = buildElf({ code: bytes, codeAddr: CODE_ADDR, data, dataAddr: DATA_ADDR });
  return { elf, code: bytes, cases, formCounts };
}
