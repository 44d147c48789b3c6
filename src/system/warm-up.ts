/**
 * The interpreter warmed up before a machine starts.
 *
 * V8 compiles the interpreter's loop (accel/interp.ts run(), one large
 * function) with its optimising compiler once it is hot, from the type
 * feedback its earlier executions left.  A part that had not run yet (an
 * instruction the guest had not used, a branch not taken) has none, and the
 * first time the guest reaches it V8 throws the optimised function away
 * ("insufficient type feedback"), goes on in its bytecode interpreter and
 * compiles the function again later.  A boot of the default guest did that
 * about 20 times in its first two seconds, as OpenSBI and then Linux reached
 * instructions they had not used before, and ran its first 11 million
 * instructions (OpenSBI) at about 17 MIPS.
 *
 * So before the machine starts, a scratch hart of the same classes (same
 * hidden classes for V8) on a small bus of its own runs a generated program
 * that uses every instruction of the table: each branch both ways, loads and
 * stores on and off alignment, atomics, CSRs (some of them illegal), traps
 * and their handler, mret, sret, wfi, a page crossing and a jump back, first
 * in M mode without translation, then in S mode under Sv39 (the page walk).
 * Nothing of it reaches the machine: its own memory, its own hart, its own
 * block counters; the guest sees no difference (-icount runs repeat exactly).
 */
import { run } from "../accel/interp.js";
import { HOT_BITS } from "../accel/hot.js";
import { SystemBus } from "../hw/core/bus.js";
import { Cause, Exit, Priv, RiscvCpu } from "../target/riscv/cpu.js";
import { registerPrivilegedCsrs } from "../target/riscv/csr-priv.js";
import { decodeAt, decoded } from "../target/riscv/decode.js";
import { encodeOp, encodeRow, wordsToBytes, type Fields } from "../target/riscv/encode.js";
import { INSNS, Imm, Op, type InsnRow } from "../target/riscv/insn-table.js";
import { SystemMemory } from "../target/riscv/mmu.js";
import { takeTrap } from "../target/riscv/priv.js";
import { PAGE_SIZE } from "../target/riscv/tlb.js";

/** The scratch machine's RAM: the trap handler at its start, the program from START, data at DATA, the page table at ROOT. */
const RAM_BASE = 0x80000000;
const RAM_SIZE = 0x40000;
/** Near the end of the first page, so that the program runs across a page boundary. */
const START = 0xf00;
const DATA = 0x20000;
const ROOT = 0x30000;
/** Instructions to run in each mode. */
const INSNS_PER_MODE = 10_000;
const SLICE = 20_000;
/**
 * In a warm-up for the translator: entries of a block before the interpreter stops for it, and stops
 * between two refills of the counters (a block's counter stays run out until then, so each branch
 * and jump stops there as well as goes on).
 */
const HOT_ENTRIES = 2;
const HOT_REFILL = 32;
/** Rounds of the instructions that do not end a run, after each round of all. */
const PLAIN_ROUNDS = 6;

/**
 * Registers the program keeps for itself: x27 the device's address, x28 satp (then scratch), x29 the home
 * privilege, x30 scratch, x31 the data address.
 */
const X_DEV = 27, X_SATP = 28, X_HOME = 29, X_TMP = 30, X_DATA = 31;
/** A scratch device: 64 bytes of registers, where the virt board has its UART. */
const DEV_BASE = 0x10000000;
const DEV_SIZE = 64;
/** CSRs the program reads and writes (a write to a read-only one traps, which is wanted too). */
const CSRS = [0x001, 0x002, 0x003, 0x140, 0x141, 0x340, 0xc00, 0xc02, 0xf14];
const ROUNDING = [0, 1, 2, 3, 4, 7];
/**
 * CSRs the program only reads (csrrs rd, csr, x0: no write), as a kernel and
 * its firmware reach many: their descriptors differ in shape, which V8's code
 * for the CSR access has then seen.  M-mode ones trap in S mode (skipped).
 */
const READ_CSRS = [0x100, 0x104, 0x105, 0x106, 0x10a, 0x142, 0x143, 0x144, 0x180, 0x300, 0x301, 0x302, 0x303,
  0x304, 0x305, 0x306, 0x30a, 0x341, 0x342, 0x343, 0x344, 0x3a0, 0x3b0, 0x7a0, 0x7a1, 0xb00, 0xb02, 0xc01,
  0xf11, 0xf12, 0xf13];

/** A small xorshift generator: the program is the same at every start. */
export class Rng {
  private s = 0x2545f491;
  next(): number {
    let x = this.s;
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    this.s = x;
    return x >>> 0;
  }
  below(n: number): number {
    return this.next() % n;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }
  /** A register the program may write: x0 (the sink) or x1-x26. */
  rd(): number {
    return this.below(X_DEV);
  }
  /** A register to read: any but the data address. */
  rs(): number {
    return this.below(31);
  }
}

const I = encodeOp;
/** li rd, value for a value below 2^31 whose low 12 bits need not be zero (lui, then addi). */
export const li = (rd: number, value: number): number[] =>
  [I(Op.LUI, { rd, imm: (value + 0x800) & ~0xfff }), I(Op.ADDI, { rd, rs1: rd, imm: (value << 20) >> 20 })];
const csrw = (csr: number, rs1: number): number => I(Op.CSRRW, { rd: 0, rs1, imm: csr });
const csrs = (csr: number, rs1: number): number => I(Op.CSRRS, { rd: 0, rs1, imm: csr });
const csrc = (csr: number, rs1: number): number => I(Op.CSRRC, { rd: 0, rs1, imm: csr });
const csrr = (rd: number, csr: number): number => I(Op.CSRRS, { rd, rs1: 0, imm: csr });
const MSTATUS = 0x300, MEPC = 0x341, MCAUSE = 0x342, MTVEC = 0x305, SEPC = 0x141, SSTATUS = 0x100, SATP = 0x180,
  STVEC = 0x105;
const PMPCFG0 = 0x3a0, PMPADDR0 = 0x3b0;

/**
 * The trap handler: skip the instruction that trapped (the program has only
 * 4-byte ones); after an ecall, return to the home privilege (x29).
 */
function handler(): number[] {
  const words = [
    csrr(X_TMP, MEPC), I(Op.ADDI, { rd: X_TMP, rs1: X_TMP, imm: 4 }), csrw(MEPC, X_TMP),
    csrr(X_TMP, MCAUSE), I(Op.ADDI, { rd: X_TMP, rs1: X_TMP, imm: -Cause.ECALL_U }),
  ];
  const tail = [...li(X_TMP, 0x1800), csrc(MSTATUS, X_TMP),
    I(Op.SLLI, { rd: X_TMP, rs1: X_HOME, imm: 11 }), csrs(MSTATUS, X_TMP)];
  words.push(I(Op.BLT, { rs1: X_TMP, rs2: 0, imm: 4 * (tail.length + 1) }), ...tail, INSNS[Op.MRET].match);
  return words;
}

/**
 * The instructions that use `row` once (with what it needs around it): the
 * registers at random (x27-x31 are the program's: x27 the device, x30 scratch,
 * x31 the data), a CSR instruction on one of `csrList`.
 */
export function use(row: InsnRow, rng: Rng, csrList: readonly number[] = CSRS): number[] {
  const r = row.operands;
  const freg = (): number => rng.below(32);
  switch (row.op) {
    case Op.UNDECODED: return [];
    case Op.ILLEGAL: return [0];
    case Op.JAL: return [I(Op.JAL, { rd: rng.pick([0, 1, rng.rd()]), imm: 4 })];
    case Op.JALR:
      // To the next instruction, by a positive offset and by a negative one (a function's return to its caller's
      // code is either).
      return [I(Op.AUIPC, { rd: X_TMP, imm: 0 }), I(Op.JALR, { rd: rng.rd(), rs1: X_TMP, imm: 8 }),
        I(Op.AUIPC, { rd: X_TMP, imm: 0 }), I(Op.ADDI, { rd: X_TMP, rs1: X_TMP, imm: 20 }),
        I(Op.JALR, { rd: rng.rd(), rs1: X_TMP, imm: -8 })];
    case Op.MRET:
      // mepc = the next instruction, MPP = M: stays in M.  (Illegal in S mode: the handler skips each.)
      return [I(Op.AUIPC, { rd: X_TMP, imm: 0 }), I(Op.ADDI, { rd: X_TMP, rs1: X_TMP, imm: 28 }), csrw(MEPC, X_TMP),
        ...li(X_TMP, 0x1800), csrs(MSTATUS, X_TMP), row.match];
    case Op.SRET:
      // sepc = the next instruction, SPP = S; the ecall there goes home.
      return [I(Op.AUIPC, { rd: X_TMP, imm: 0 }), I(Op.ADDI, { rd: X_TMP, rs1: X_TMP, imm: 24 }), csrw(SEPC, X_TMP),
        I(Op.ADDI, { rd: X_TMP, rs1: 0, imm: 0x100 }), csrs(SSTATUS, X_TMP), row.match, INSNS[Op.ECALL].match];
    case Op.FENCE: return [encodeRow(row, { imm: 0xff })];
    default: break;
  }
  if (row.operands === "") return [row.match];
  if (row.imm === Imm.B) {
    // Taken or not by the registers' values; either way the next instruction but one follows.
    return [encodeRow(row, { rs1: rng.rs(), rs2: rng.rs(), imm: 8 }),
      I(Op.ADDI, { rd: rng.rd(), rs1: rng.rs(), imm: rng.below(4096) - 2048 })];
  }
  if (r.includes("o")) {
    // Loads and stores at the data area, most aligned, some not (the slow path).
    const size = /^(lb|lbu|sb)$/.test(row.name) ? 1 : /^(lh|lhu|sh)$/.test(row.name) ? 2 :
      /^(lw|lwu|sw|flw|fsw)$/.test(row.name) ? 4 : 8;
    const off = rng.below(511) * 8 - 2048 + (rng.below(8) === 0 ? rng.below(8) : rng.below(8 / size) * size);
    const data = r[0] === "d" ? rng.rd() : r[0] === "t" ? rng.rs() : freg();
    const load = r[0] === "d" || r[0] === "D";
    const words = [encodeRow(row, load ? { rd: data, rs1: X_DATA, imm: off } : { rs2: data, rs1: X_DATA, imm: off })];
    // Integer accesses also reach the device (the slow path through the bus).
    const reg = rng.below(DEV_SIZE / size) * size;
    if (r[0] === "d") words.push(encodeRow(row, { rd: rng.rd(), rs1: X_DEV, imm: reg }));
    if (r[0] === "t") words.push(encodeRow(row, { rs2: rng.rs(), rs1: X_DEV, imm: reg }));
    return words;
  }
  if (r.includes("A")) return [encodeRow(row, { rd: rng.rd(), rs1: X_DATA, rs2: rng.rs(), aqrl: rng.below(4) })];
  if (row.imm === Imm.CSR) {
    const csr = rng.pick(csrList);
    return [encodeRow(row, { rd: rng.rd(), rs1: rng.below(4) === 0 ? 0 : r.includes("z") ? rng.below(32) : rng.rs(), imm: csr })];
  }
  const f: Fields = {};
  for (const c of r) {
    switch (c) {
      case "d": f.rd = rng.rd(); break;
      case "s": f.rs1 = rng.rs(); break;
      case "t": f.rs2 = rng.rs(); break;
      case "D": f.rd = freg(); break;
      case "S": f.rs1 = freg(); break;
      case "T": f.rs2 = freg(); break;
      case "R": f.rs3 = freg(); break;
      case "m": f.rm = rng.pick(ROUNDING); break;
      case "i": f.imm = rng.below(4096) - 2048; break;
      case "u": f.imm = (rng.next() & ~0xfff) | 0; break;
      case ">": f.imm = rng.below(row.imm === Imm.SHAMT5 ? 32 : 64); break;
      default: break;
    }
  }
  return [encodeRow(row, f)];
}

/** RVC's c.nop; the compressed instructions go in pairs, one word each, so that the program stays in words. */
const C_NOP = 0x0001;
const pair = (a: number, b: number): number => (a | (b << 16)) | 0;
/** x8-x15, the registers a 3-bit RVC field names. */
const creg = (rng: Rng): number => rng.below(8);

/**
 * One use of each kind of compressed (RVC) instruction, as RV64GC code is
 * mostly made of them (a guest's first one would otherwise meet code V8
 * compiled without feedback for them): the arithmetic with random registers
 * (the program's own x27-x31 left alone), loads and stores at the data area
 * (x8 and sp set to it first), a jump, both branches, c.jr and c.jalr to the
 * next pair.  Nothing here traps (the handler skips 4-byte instructions).
 */
export function compressed(rng: Rng): number[] {
  const rd = (): number => 1 + rng.below(X_DEV - 1);
  // c.lui's rd: not x0 nor sp (x2), whose encodings are others.
  const luiRds = [1, ...Array.from({ length: X_DEV - 3 }, (_, i) => i + 3)];
  const luiRd = (): number => rng.pick(luiRds);
  const imm6 = (): number => 1 + rng.below(31);
  // What sp loads into: not sp nor x8, the bases of the loads that follow.
  const loadRd = (): number => 9 + rng.below(X_DEV - 9);
  const ci = (funct3: number, r: number, imm: number, op: number): number =>
    (funct3 << 13) | (((imm >> 5) & 1) << 12) | (r << 7) | ((imm & 31) << 2) | op;
  const arith = (bit12: number, f: number): number =>
    (4 << 13) | (bit12 << 12) | (3 << 10) | (creg(rng) << 7) | (f << 5) | (creg(rng) << 2) | 1;
  const shift = (f2: number): number => (4 << 13) | (f2 << 10) | (creg(rng) << 7) | (rng.below(32) << 2) | 1;
  const words = [
    // x8 and sp (x2) at the data area: the memory forms' bases.
    I(Op.ADDI, { rd: 8, rs1: X_DATA, imm: 0 }), I(Op.ADDI, { rd: 2, rs1: X_DATA, imm: 0 }),
    pair(ci(0, rd(), imm6(), 1), ci(1, rd(), imm6(), 1)), // c.addi, c.addiw
    pair(ci(2, rd(), rng.below(64), 1), ci(3, luiRd(), imm6(), 1)), // c.li, c.lui
    pair((0 << 13) | (1 << 5) | (creg(rng) << 2), C_NOP), // c.addi4spn rd', sp, 8
    pair(shift(0), shift(1)), // c.srli, c.srai
    pair((4 << 13) | (2 << 10) | (creg(rng) << 7) | (rng.below(32) << 2) | 1, arith(0, 0)), // c.andi, c.sub
    pair(arith(0, 1), arith(0, 2)), pair(arith(0, 3), arith(1, 0)), // c.xor, c.or, c.and, c.subw
    pair(arith(1, 1), (0 << 13) | (rd() << 7) | (rng.below(32) << 2) | 2), // c.addw, c.slli
    pair((4 << 13) | (rd() << 7) | (rd() << 2) | 2, (4 << 13) | (1 << 12) | (rd() << 7) | (rd() << 2) | 2), // c.mv, c.add
    // Loads and stores at offset 0 from x8 (rd'/rs2' x9-x15) and from sp, integer and FP: both set again, as the
    // arithmetic above may have written them (a user-mode program has no handler to skip a fault).
    I(Op.ADDI, { rd: 8, rs1: X_DATA, imm: 0 }), I(Op.ADDI, { rd: 2, rs1: X_DATA, imm: 0 }),
    pair((2 << 13) | (0 << 7) | ((1 + rng.below(7)) << 2), (3 << 13) | ((1 + rng.below(7)) << 2)), // c.lw, c.ld
    pair((6 << 13) | (creg(rng) << 2), (7 << 13) | (creg(rng) << 2)), // c.sw, c.sd
    pair((1 << 13) | (creg(rng) << 2), (5 << 13) | (creg(rng) << 2)), // c.fld, c.fsd
    pair((2 << 13) | (loadRd() << 7) | 2, (3 << 13) | (loadRd() << 7) | 2), // c.lwsp, c.ldsp
    pair((6 << 13) | (rng.below(32) << 2) | 2, (7 << 13) | (rng.below(32) << 2) | 2), // c.swsp, c.sdsp
    pair((1 << 13) | (rng.below(32) << 7) | 2, (5 << 13) | (rng.below(32) << 2) | 2), // c.fldsp, c.fsdsp
    // c.j, c.beqz and c.bnez over the c.nop that follows each (+4), taken or not by x8-x15.
    pair((5 << 13) | (1 << 4) | 1, C_NOP),
    pair((6 << 13) | (creg(rng) << 7) | (1 << 4) | 1, C_NOP), pair((7 << 13) | (creg(rng) << 7) | (1 << 4) | 1, C_NOP),
  ];
  // c.jr and c.jalr x30 to the c.nop after each: auipc, addi (+10), then the pair.
  for (const link of [0, 1]) {
    words.push(I(Op.AUIPC, { rd: X_TMP, imm: 0 }), I(Op.ADDI, { rd: X_TMP, rs1: X_TMP, imm: 10 }),
      pair((4 << 13) | (link << 12) | (X_TMP << 7) | 2, C_NOP));
  }
  return words;
}

/**
 * A 4-byte instruction across the end of a page, as RVC code places them: the
 * words from here are padded with c.nop pairs up to the page's last word,
 * which holds a c.nop and the instruction's low half (its high half and a
 * c.nop on the next page).  Nothing when the next page is still far.
 */
export function acrossPage(words: number[], at: number, rng: Rng): void {
  if (at % PAGE_SIZE < PAGE_SIZE - 64) return;
  for (let a = at; a % PAGE_SIZE !== PAGE_SIZE - 4; a += 4) words.push(pair(C_NOP, C_NOP));
  const w = I(Op.ADDI, { rd: 1 + rng.below(X_DEV - 1), rs1: rng.rs(), imm: rng.below(4096) - 2048 });
  words.push(pair(C_NOP, w & 0xffff), pair(w >>> 16, C_NOP));
}

/**
 * The program from START: set mtvec and FP on; in S mode turn Sv39 on and
 * mret into the body; the body uses every row of the table in turn, three
 * times with other registers, and jumps back.
 */
function program(rng: Rng): number[] {
  const at = (words: number[]): number => RAM_BASE + START + 4 * words.length;
  // mtvec = the handler (START - 0x1000 + 0x100 from here); FP on; PMP entry 0 lets S mode reach everything.
  // stvec too (no trap is delegated, so S mode's traps still go to mtvec): an address above 2^31, as a kernel's,
  // is a number V8 keeps otherwise than the 0 stvec starts at, and the machine's harts then have the hart state's
  // hidden class the interpreter was compiled for (one deopt of it per boot otherwise).
  const words = [I(Op.AUIPC, { rd: X_TMP, imm: -0x1000 }), I(Op.ADDI, { rd: X_TMP, rs1: X_TMP, imm: 0x1000 - START }),
    csrw(MTVEC, X_TMP), csrw(STVEC, X_TMP), I(Op.LUI, { rd: X_TMP, imm: 0x6000 }), csrs(MSTATUS, X_TMP),
    I(Op.ADDI, { rd: X_TMP, rs1: 0, imm: -1 }), csrw(PMPADDR0, X_TMP),
    I(Op.ADDI, { rd: X_TMP, rs1: 0, imm: 0x1f }), csrw(PMPCFG0, X_TMP),
    I(Op.ADDI, { rd: X_TMP, rs1: X_HOME, imm: -Priv.M })];
  // Home S: Sv39 on, then mret (MPP = S) to the body at its alias in the top 2 GiB, where a kernel runs.
  const toS = [csrw(SATP, X_SATP), encodeOp(Op.SFENCE_VMA, { rs1: 0, rs2: 0 }),
    ...li(X_TMP, 0x1800), csrc(MSTATUS, X_TMP), ...li(X_TMP, 0x800), csrs(MSTATUS, X_TMP),
    I(Op.ADDI, { rd: X_SATP, rs1: 0, imm: -1 }), I(Op.SLLI, { rd: X_SATP, rs1: X_SATP, imm: 32 }),
    I(Op.AUIPC, { rd: X_TMP, imm: 0 }), I(Op.ADDI, { rd: X_TMP, rs1: X_TMP, imm: 20 }),
    I(Op.ADD, { rd: X_TMP, rs1: X_TMP, rs2: X_SATP }), csrw(MEPC, X_TMP), INSNS[Op.MRET].match];
  words.push(I(Op.BEQ, { rs1: X_TMP, rs2: 0, imm: 4 * (toS.length + 1) }), ...toS);
  const body = at(words);
  // Every row once; then the rows that do not end a run of the interpreter (no CSR, trap, xRET or fence)
  // a number of times, so that most of the run is long stretches, as a guest's is.
  for (const row of INSNS) words.push(...use(row, rng));
  for (const csr of READ_CSRS) words.push(csrr(rng.rd(), csr));
  const plain = INSNS.filter((row) => row.imm !== Imm.CSR && row.ext !== "Priv" && row.ext !== "Zifencei" &&
    row.operands !== "" && row.op !== Op.UNDECODED);
  // (A store to the device ends a run too, as it may raise an interrupt; it stays, being common in a guest.)
  for (let round = 0; round < PLAIN_ROUNDS; round++) {
    for (const row of plain) {
      acrossPage(words, at(words), rng);
      words.push(...use(row, rng));
    }
    words.push(...compressed(rng));
  }
  words.push(I(Op.JAL, { rd: 0, imm: body - at(words) }));
  return words;
}

function store(bus: SystemBus, addr: number, words: number[]): void {
  bus.load(addr, wordsToBytes(words));
}

/** What a warm-up ran (for the tests: that it reaches what it is meant to). */
export interface WarmUpReport {
  /** Instructions retired in M mode and in S mode. */
  retired: [number, number];
  /** Trap causes taken, as "cause@privilege" (e.g. "9@1": an ecall from S mode). */
  traps: Set<string>;
  /** The ops decoded, when asked for. */
  ops: Set<Op>;
  /** The lowest pc seen at a trap in S mode (the top alias: above 2^63). */
  lowestSPc: number;
  /** The ops compressed instructions decoded to, and how many 4-byte ones were decoded across the end of a page (when asked for). */
  compressed: Set<Op>;
  acrossPage: number;
  /** Runs that stopped before a hot block (a warm-up for the translator). */
  hotStops: number;
}

/**
 * Run the program on a scratch hart.  `shared`: the machine's RAM is shared
 * memory (the scratch RAM then is too, so that V8 sees the same kinds of
 * arrays); `translator`: the machine runs under tcg, which calls the
 * interpreter with block counters; `collectOps`: note each op decoded.
 */
export function runWarmUp(shared: boolean, translator: boolean, collectOps = false): WarmUpReport {
  registerPrivilegedCsrs();
  const bus = new SystemBus({ romBase: 0x1000, romSize: 0x1000, ramBase: RAM_BASE, ramSize: RAM_SIZE }, shared);
  const regs = new Uint32Array(DEV_SIZE / 4);
  bus.map({
    name: "warm-up", base: DEV_BASE, size: DEV_SIZE, ops: {
      read: (offset) => regs[offset >>> 2],
      write: (offset, _size, value) => { regs[offset >>> 2] = value; },
    },
  });
  const cpu = new RiscvCpu(new SystemMemory(bus));
  cpu.system = true;
  cpu.usePrivilegeTlbs();
  const report: WarmUpReport = { retired: [0, 0], traps: new Set(), ops: new Set(), lowestSPc: Infinity, compressed: new Set(), acrossPage: 0, hotStops: 0 };
  if (collectOps) {
    cpu.onDecode = (pc, lo16, hi16) => {
      decodeAt(lo16, hi16);
      report.ops.add(decoded.op);
      if ((lo16 & 3) !== 3) report.compressed.add(decoded.op);
      else if ((pc % PAGE_SIZE + PAGE_SIZE) % PAGE_SIZE === PAGE_SIZE - 2) report.acrossPage++;
    };
  }
  const rng = new Rng();
  store(bus, RAM_BASE, handler());
  store(bus, RAM_BASE + START, program(rng));
  // Sv39: the scratch RAM's gigabyte mapped to itself and at the top of the address space, as a kernel maps
  // itself (gigapages: readable, writable, executable, accessed, dirty), and the device's gigabyte.
  const pte = [((RAM_BASE / 4096) << 10 | 0xcf) >>> 0, 0];
  store(bus, RAM_BASE + ROOT, [0xc7, 0]);
  store(bus, RAM_BASE + ROOT + 2 * 8, pte);
  store(bus, RAM_BASE + ROOT + 510 * 8, pte);
  // Counters that run out: the interpreter counts blocks and stops before a hot one each way it can (a
  // branch, a jump, a new page), as it does for the translator.
  const hot = translator ? new Int32Array(1 << HOT_BITS).fill(HOT_ENTRIES) : undefined;
  [Priv.M, Priv.S].forEach((home, mode) => {
    cpu.state.reset(0);
    cpu.priv = Priv.M;
    cpu.fpOff = true;
    cpu.selectTlb();
    cpu.flushTlbs();
    for (let r = 1; r < 32; r++) {
      cpu.xl[r] = rng.next() | 0;
      cpu.xh[r] = rng.below(3) === 0 ? -(rng.below(2)) : rng.next() | 0;
    }
    for (let r = 0; r < 32; r++) {
      cpu.fl[r] = rng.next() | 0;
      cpu.fh[r] = rng.below(2) === 0 ? -1 : rng.next() | 0;
    }
    cpu.xl[X_DEV] = DEV_BASE; cpu.xh[X_DEV] = 0;
    cpu.xl[X_SATP] = (RAM_BASE + ROOT) / 4096; cpu.xh[X_SATP] = 8 << 28;
    cpu.xl[X_HOME] = home; cpu.xh[X_HOME] = 0;
    // The data address, with room for offsets both ways: at its top alias in S mode.
    cpu.xl[X_DATA] = (RAM_BASE + DATA + 2048) | 0; cpu.xh[X_DATA] = home === Priv.S ? -1 : 0;
    cpu.pc = RAM_BASE + START;
    const start = cpu.instret;
    // Bounded by calls too: a program that stopped retiring (it should not) cannot hold the start up.
    for (let calls = 0; cpu.instret - start < INSNS_PER_MODE && calls < INSNS_PER_MODE; calls++) {
      const before = cpu.instret;
      const exit = run(cpu, SLICE, hot);
      if (hot !== undefined && exit === Exit.BUDGET && cpu.instret - before < SLICE && ++report.hotStops % HOT_REFILL === 0) {
        hot.fill(HOT_ENTRIES);
      }
      if (exit === Exit.TRAP || exit === Exit.ECALL) {
        report.traps.add(`${cpu.trapCause}@${cpu.priv}`);
        if (home === Priv.S && cpu.priv === Priv.S) report.lowestSPc = Math.min(report.lowestSPc, cpu.pc < 0 ? cpu.pc + 2 ** 64 : cpu.pc);
        takeTrap(cpu, cpu.trapCause, false, exit === Exit.TRAP ? cpu.trapTvalHi : 0, exit === Exit.TRAP ? cpu.trapTvalLo : 0);
      }
      cpu.state.waiting = false;
    }
    report.retired[mode] = cpu.instret - start;
  });
  cpu.releaseState();
  return report;
}

const warmed = new Set<boolean>();

/**
 * Warm the interpreter up for a machine about to start (once per process and
 * engine: the feedback stays).
 */
export function warmUpInterpreter(shared: boolean, translator: boolean): void {
  if (warmed.has(translator)) return;
  warmed.add(translator);
  runWarmUp(shared, translator);
}
