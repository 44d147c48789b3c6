/**
 * The translator against the interpreter on the same programs, over a flat
 * memory: every block is compiled before its first run (threshold=1,
 * batch=1), and the final registers, pc, instret and trap must be the
 * interpreter's, including for traps in the middle of a block, budgets that
 * end inside one, and code that rewrites itself.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Cause, Exit, RiscvCpu, type CpuMemory } from "../../../src/target/riscv/cpu.js";
import { GuestRam } from "../../../src/target/riscv/ram.js";
import { Access } from "../../../src/target/riscv/tlb.js";
import { Op } from "../../../src/target/riscv/insn-table.js";
import { run } from "../../../src/accel/interp.js";
import { runTranslated } from "../../../src/accel/tcg/dispatch.js";
import { codeCacheFor, tcgSettings, type CompileMode } from "../../../src/accel/tcg/code-cache.js";
import { chainBucket } from "../../../src/accel/tcg/chain-table.js";
import { registersInLocals, type BlockCode } from "../../../src/accel/tcg/emit.js";
import { scanBlock } from "../../../src/accel/tcg/scan.js";
import { encodeOp, type Fields } from "../../target/riscv/random-insn/encode.js";

const SIZE = 1 << 20;
const CODE = 0x1000;
const DATA = 0x20000;

/** Identity-mapped memory of SIZE bytes; pages in `faults` give page faults. */
class FlatMemory implements CpuMemory {
  readonly ram = new GuestRam(SIZE);
  readonly faults = new Set<number>();

  translate(cpu: RiscvCpu, hi: number, lo: number, access: Access): number {
    const addr = hi * 4294967296 + (lo >>> 0);
    if (addr < 0 || addr >= SIZE || this.faults.has(Math.floor(addr / 4096))) {
      cpu.raise(access === Access.READ ? Cause.LOAD_PAGE_FAULT : access === Access.WRITE ? Cause.STORE_PAGE_FAULT
        : Cause.INSN_PAGE_FAULT, hi, lo);
      return -1;
    }
    cpu.fillTlb(access, hi, lo, addr - (addr % 4096));
    return addr;
  }
}

type Insn = [Op, Fields];

function machine(program: readonly Insn[], setup?: (cpu: RiscvCpu, mem: FlatMemory) => void): RiscvCpu {
  const mem = new FlatMemory();
  const cpu = new RiscvCpu(mem);
  const dv = new DataView(mem.ram.buffer);
  program.forEach(([op, f], i) => dv.setUint32(CODE + 4 * i, encodeOp(op, f), true));
  // Registers with values that exercise 64-bit edge cases.
  const values = [0n, 1n, -1n, 0x7fffffffffffffffn, -0x8000000000000000n, 0x123456789abcdefn, -7n, 3n,
    0xffffffffn, 0x80000000n, -0x80000000n, 12345678901234n];
  for (let r = 1; r < 32; r++) cpu.setX(r, values[r % values.length] * BigInt(r % 5 === 0 ? 3 : 1));
  cpu.setX(10, BigInt(DATA));
  for (let i = 0; i < 512; i++) dv.setUint32(DATA + 4 * i, Math.imul(i + 1, 0x9e3779b9), true);
  cpu.pc = CODE;
  setup?.(cpu, mem);
  return cpu;
}

interface Final { exit: Exit; pc: number; instret: number; regs: bigint[]; cause: number; tval: number; data: string }

function finish(cpu: RiscvCpu, exit: Exit): Final {
  const regs: bigint[] = [];
  for (let r = 0; r < 32; r++) regs.push(cpu.getX(r));
  const data = Buffer.from(cpu.mem.ram.u8.subarray(DATA, DATA + 2048)).toString("hex");
  return {
    exit, pc: cpu.pc, instret: cpu.instret, regs, data,
    cause: exit === Exit.TRAP ? cpu.trapCause : -1,
    tval: exit === Exit.TRAP ? cpu.trapTvalHi * 4294967296 + (cpu.trapTvalLo >>> 0) : 0,
  };
}

/** Run the program on both engines (in steps of `step` instructions) until it traps or `budget` runs out. */
function both(program: readonly Insn[], budget: number, step = budget,
  setup?: (cpu: RiscvCpu, mem: FlatMemory) => void, batch = 1, threshold = 1): [Final, Final, RiscvCpu] {
  tcgSettings.threshold = threshold;
  tcgSettings.batch = batch;
  const go = (engine: (cpu: RiscvCpu, n: number) => Exit): [Final, RiscvCpu] => {
    const cpu = machine(program, setup);
    let exit = Exit.BUDGET;
    while (cpu.instret < budget) {
      exit = engine(cpu, Math.min(step, budget - cpu.instret));
      if (exit === Exit.TRAP || exit === Exit.ECALL) break;
    }
    return [finish(cpu, exit), cpu];
  };
  const [a] = go(run);
  const [b, cpu] = go(runTranslated);
  return [a, b, cpu];
}

const I = (op: Op, f: Fields): Insn => [op, f];

test("integer arithmetic, M extension edge cases and loads/stores match the interpreter", () => {
  const alu: Insn[] = [];
  const rOps = [Op.ADD, Op.SUB, Op.SLL, Op.SLT, Op.SLTU, Op.XOR, Op.SRL, Op.SRA, Op.OR, Op.AND,
    Op.ADDW, Op.SUBW, Op.SLLW, Op.SRLW, Op.SRAW, Op.MUL, Op.MULH, Op.MULHSU, Op.MULHU, Op.DIV, Op.DIVU,
    Op.REM, Op.REMU, Op.MULW, Op.DIVW, Op.DIVUW, Op.REMW, Op.REMUW];
  // Each op over several register pairs, including x0 and the division edge cases (x/0, MIN/-1).
  const pairs = [[1, 2], [4, 3], [3, 0], [4, 2], [2, 4], [11, 7], [9, 10], [0, 5], [5, 6]];
  let rd = 12;
  for (const op of rOps) {
    for (const [a, b] of pairs) {
      alu.push(I(op, { rd, rs1: a, rs2: b }));
      rd = rd === 31 ? 12 : rd + 1;
    }
  }
  const iOps: [Op, number][] = [[Op.ADDI, -5], [Op.SLTI, -1], [Op.SLTIU, 7], [Op.XORI, -1], [Op.ORI, 0x555],
    [Op.ANDI, -16], [Op.SLLI, 63], [Op.SRLI, 33], [Op.SRAI, 1], [Op.ADDIW, 2047], [Op.SLLIW, 31],
    [Op.SRLIW, 5], [Op.SRAIW, 31]];
  for (const [op, imm] of iOps) for (const a of [1, 3, 4, 8, 9]) alu.push(I(op, { rd: 20, rs1: a, imm }), I(Op.ADD, { rd: 21, rs1: 21, rs2: 20 }));
  alu.push(I(Op.LUI, { rd: 22, imm: 0x80000000 | 0 }), I(Op.AUIPC, { rd: 23, imm: 0x7ffff000 }));
  for (const [op, off] of [[Op.LB, 3], [Op.LBU, 5], [Op.LH, 6], [Op.LHU, 10], [Op.LW, 12], [Op.LWU, 20], [Op.LD, 24],
    [Op.LD, 3], [Op.LW, 2046], [Op.LH, 1]] as [Op, number][]) {
    alu.push(I(op, { rd: 24, rs1: 10, imm: off }), I(Op.XOR, { rd: 25, rs1: 25, rs2: 24 }));
  }
  for (const [op, off] of [[Op.SB, 1], [Op.SH, 2], [Op.SW, 8], [Op.SD, 16], [Op.SD, 5], [Op.SW, 2045]] as [Op, number][]) {
    alu.push(I(op, { rs1: 10, rs2: 25, imm: off }));
  }
  alu.push(I(Op.ECALL, {}));
  const [a, b] = both(alu, 100000);
  assert.equal(a.exit, Exit.ECALL);
  assert.deepEqual(b, a);
});

test("a loop with branches and calls: chained blocks, and budgets that end inside a block", () => {
  // x5 = 100; loop: x6 += x5 * 3; call f (x7 ^= x6); x5--; bnez x5, loop; ecall
  const prog: Insn[] = [
    I(Op.ADDI, { rd: 5, rs1: 0, imm: 100 }),
    I(Op.ADDI, { rd: 6, rs1: 0, imm: 0 }),
    I(Op.SLLI, { rd: 8, rs1: 5, imm: 1 }),           // loop (CODE + 8)
    I(Op.ADD, { rd: 8, rs1: 8, rs2: 5 }),
    I(Op.ADD, { rd: 6, rs1: 6, rs2: 8 }),
    I(Op.JAL, { rd: 1, imm: 4 * 5 }),                // call f
    I(Op.ADDI, { rd: 5, rs1: 5, imm: -1 }),
    I(Op.BNE, { rs1: 5, rs2: 0, imm: -4 * 5 }),
    I(Op.ECALL, {}),
    I(Op.EBREAK, {}),
    I(Op.XOR, { rd: 7, rs1: 7, rs2: 6 }),            // f (CODE + 40)
    I(Op.SD, { rs1: 10, rs2: 7, imm: 64 }),
    I(Op.JALR, { rd: 0, rs1: 1, imm: 0 }),
  ];
  for (const step of [1000000, 7, 3, 1]) {
    const [a, b] = both(prog, 5000, step);
    assert.equal(a.exit, Exit.ECALL, `step ${step}`);
    assert.deepEqual(b, a, `step ${step}`);
  }
  // Stopping after every possible count gives the same state too.
  for (let n = 1; n < 60; n++) {
    const [a, b] = both(prog, n);
    assert.deepEqual(b, a, `budget ${n}`);
  }
});

test("cold code runs in the interpreter in long stretches until a block is hot, then compiled", () => {
  // x5 = 5000; loop: x6 += x5; call f (x7 ^= x6; read fflags); x9 += x7; x5--; bnez x5, loop; ecall.  At a
  // threshold of 1000 the interpreter runs the first ~1000 iterations in one go (not one block per trip), then
  // the loop's three blocks are compiled, the CSR read inside one of them.
  const prog: Insn[] = [
    I(Op.ADDI, { rd: 5, rs1: 0, imm: 2000 }),
    I(Op.SLLI, { rd: 5, rs1: 5, imm: 1 }),
    I(Op.ADDI, { rd: 5, rs1: 5, imm: 1000 }),
    I(Op.ADD, { rd: 6, rs1: 6, rs2: 5 }),              // loop (CODE + 12)
    I(Op.JAL, { rd: 1, imm: 20 }),                     // call f
    I(Op.ADD, { rd: 9, rs1: 9, rs2: 7 }),
    I(Op.ADDI, { rd: 5, rs1: 5, imm: -1 }),
    I(Op.BNE, { rs1: 5, rs2: 0, imm: -16 }),
    I(Op.ECALL, {}),
    I(Op.XOR, { rd: 7, rs1: 7, rs2: 6 }),              // f (CODE + 36)
    I(Op.CSRRS, { rd: 8, rs1: 0, imm: 0x001 }),
    I(Op.ADD, { rd: 7, rs1: 7, rs2: 8 }),
    I(Op.JALR, { rd: 0, rs1: 1, imm: 0 }),
  ];
  for (const step of [1000000, 17, 3]) {
    const [a, b, cpu] = both(prog, 100000, step, undefined, 1, 1000);
    assert.equal(a.exit, Exit.ECALL, `step ${step}`);
    assert.deepEqual(b, a, `step ${step}`);
    if (step !== 1000000) continue;
    const s = codeCacheFor(cpu.mem.ram).stats;
    assert.ok(s.blocks >= 3, `the loop's blocks were compiled (${s.blocks})`);
    assert.ok(s.interpreted < 20, `cold code ran in stretches: ${s.interpreted} interpreter runs`);
    assert.ok(s.interpretedInsns < a.instret / 3, `hot code ran compiled: ${s.interpretedInsns} of ${a.instret} interpreted`);
  }
});

test("a module that calls and returns often keeps most registers in the slot, and matches the interpreter", () => {
  // x5 = 300; loop: call f1, f2, f3; x5--; bnez x5, loop; then a load that faults in the middle of a
  // block.  The functions name 20 registers between them, through every way a register is read or
  // written in compiled code: ALU ops, a load, a store, mulh (a helper's result), fmv.d.x, fmv.x.d, a CSR
  // read and amoadd.d (instructions the interpreter runs for the block, reading and writing integer
  // registers), div and rem.
  const F1 = 9, F2 = 22, F3 = 30;
  const prog: Insn[] = [
    I(Op.ADDI, { rd: 5, rs1: 0, imm: 300 }),
    I(Op.JAL, { rd: 1, imm: 4 * (F1 - 1) }),          // loop (CODE + 4)
    I(Op.JAL, { rd: 1, imm: 4 * (F2 - 2) }),
    I(Op.JAL, { rd: 1, imm: 4 * (F3 - 3) }),
    I(Op.ADDI, { rd: 5, rs1: 5, imm: -1 }),
    I(Op.BNE, { rs1: 5, rs2: 0, imm: -16 }),
    I(Op.ADD, { rd: 21, rs1: 21, rs2: 22 }),
    I(Op.LD, { rd: 20, rs1: 13, imm: 8 }),           // faults
    I(Op.ECALL, {}),
    I(Op.ADD, { rd: 12, rs1: 12, rs2: 14 }),         // f1 (CODE + 36)
    I(Op.XOR, { rd: 15, rs1: 15, rs2: 12 }),
    I(Op.SUB, { rd: 16, rs1: 16, rs2: 15 }),
    I(Op.MULH, { rd: 17, rs1: 16, rs2: 12 }),
    I(Op.ADD, { rd: 18, rs1: 18, rs2: 17 }),
    I(Op.SLLI, { rd: 19, rs1: 18, imm: 3 }),
    I(Op.LD, { rd: 24, rs1: 10, imm: 8 }),
    I(Op.ADD, { rd: 24, rs1: 24, rs2: 19 }),
    I(Op.SD, { rs1: 10, rs2: 24, imm: 8 }),
    I(Op.ADDW, { rd: 23, rs1: 23, rs2: 24 }),
    I(Op.OR, { rd: 25, rs1: 25, rs2: 23 }),
    I(Op.ADD, { rd: 14, rs1: 14, rs2: 25 }),
    I(Op.JALR, { rd: 0, rs1: 1, imm: 0 }),
    I(Op.FMV_D_X, { rd: 2, rs1: 28 }),               // f2 (CODE + 88)
    I(Op.FMV_X_D, { rd: 27, rs1: 2 }),
    I(Op.ADD, { rd: 26, rs1: 26, rs2: 27 }),
    I(Op.CSRRS, { rd: 23, rs1: 0, imm: 0xc02 }),      // instret
    I(Op.AMOADD_D, { rd: 28, rs1: 10, rs2: 30 }),
    I(Op.ADD, { rd: 30, rs1: 30, rs2: 28 }),
    I(Op.XOR, { rd: 30, rs1: 30, rs2: 26 }),
    I(Op.JALR, { rd: 0, rs1: 1, imm: 0 }),
    I(Op.DIV, { rd: 29, rs1: 31, rs2: 7 }),          // f3 (CODE + 120)
    I(Op.REM, { rd: 31, rs1: 31, rs2: 9 }),
    I(Op.ADD, { rd: 31, rs1: 31, rs2: 29 }),
    I(Op.ADD, { rd: 31, rs1: 31, rs2: 30 }),
    I(Op.SLT, { rd: 22, rs1: 31, rs2: 21 }),
    I(Op.JALR, { rd: 0, rs1: 1, imm: 0 }),
  ];
  const setup = (cpu: RiscvCpu, mem: FlatMemory): void => {
    cpu.setX(13, BigInt(DATA + 0x8000));
    mem.faults.add((DATA + 0x8000) / 4096);
  };
  for (const [batch, threshold] of [[1, 1], [7, 40]]) {
    for (const step of [1000000, 13, 3]) {
      const [a, b, cpu] = both(prog, 100000, step, setup, batch, threshold);
      assert.equal(a.exit, Exit.TRAP, `batch ${batch}, step ${step}`);
      assert.equal(a.cause, Cause.LOAD_PAGE_FAULT);
      assert.deepEqual(b, a, `batch ${batch}, step ${step}`);
      if (step !== 1000000) continue;
      const s = codeCacheFor(cpu.mem.ram).stats;
      assert.ok(s.compiledInsns > a.instret / 2, `batch ${batch}: the calls ran compiled: ${s.compiledInsns} of ${a.instret}`);
      if (batch === 7) assert.ok(s.modules <= 2, `batch ${batch}: the loop and the functions in one module (${s.modules} modules)`);
    }
  }
  // What the test is for: modules of these blocks keep registers in the slot.
  const ram = machine(prog, setup).mem.ram;
  const scanned = (pc: number): BlockCode => ({ pc, host: pc, block: scanBlock(ram, pc) });
  const f1 = registersInLocals([scanned(CODE + 4 * F1)]);
  assert.ok(f1.filter((l) => l).length <= 8 && [12, 14, 15, 16, 17, 18, 19, 23, 24, 25].some((r) => !f1[r]), "f1 alone");
  const all = registersInLocals([CODE + 4, CODE + 8, CODE + 12, CODE + 16, CODE + 4 * F1, CODE + 4 * F2, CODE + 4 * F3].map(scanned));
  assert.ok(all.filter((l) => l).length <= 8, "the loop and the functions in one module");
  // A block without a call or a return (the loop's decrement and branch back) keeps every register in a local.
  assert.equal(registersInLocals([scanned(CODE + 16)]).filter((l) => l).length, 31);
});

test("a long straight line is hot after fewer entries, and its pieces cut at 64 instructions are compiled together", () => {
  // x5 = 600; loop: 150 adds and xors; x5--; bnez x5, loop; ecall.  Entered 600 times, below the threshold
  // of 1000, the loop's body still counts as hot (it is charged for its length), and the blocks it is cut
  // into (64 + 64 + 24 instructions) go into one module, so that each iteration falls through them inside it.
  const BODY = 150;
  const prog: Insn[] = [I(Op.ADDI, { rd: 5, rs1: 0, imm: 600 })];
  for (let i = 0; i < BODY; i++) {
    prog.push(i % 2 === 0 ? I(Op.ADD, { rd: 6, rs1: 6, rs2: 5 }) : I(Op.XOR, { rd: 7, rs1: 7, rs2: 6 }));
  }
  prog.push(I(Op.ADDI, { rd: 5, rs1: 5, imm: -1 }), I(Op.BNE, { rs1: 5, rs2: 0, imm: -4 * (BODY + 1) }), I(Op.ECALL, {}));
  for (const step of [1000000, 1000, 37]) {
    const [a, b, cpu] = both(prog, 200000, step, undefined, 1, 1000);
    assert.equal(a.exit, Exit.ECALL, `step ${step}`);
    assert.deepEqual(b, a, `step ${step}`);
    if (step !== 1000000) continue;
    const s = codeCacheFor(cpu.mem.ram).stats;
    assert.ok(s.blocks >= 3, `the body's blocks were compiled (${s.blocks})`);
    assert.ok(s.interpretedInsns < a.instret / 3, `the body ran compiled: ${s.interpretedInsns} of ${a.instret} interpreted`);
    assert.ok(s.exitsJump < 50, `the body's pieces fall through inside their module: ${s.exitsJump} returns`);
  }
});

test("a page fault on the nth load of a long block leaves pc, registers, instret and tval exact", () => {
  for (const nth of [0, 1, 4, 9]) {
    const prog: Insn[] = [];
    for (let k = 0; k < 12; k++) {
      prog.push(I(Op.LD, { rd: 12 + k, rs1: 11, imm: 8 * k }), I(Op.ADDI, { rd: 24 + (k % 8), rs1: 12 + k, imm: k }));
    }
    prog.push(I(Op.ECALL, {}));
    const [a, b] = both(prog, 1000, 1000, (cpu, mem) => {
      // The nth load is the first to reach the faulting page.
      const at = DATA + 0x4000 - 8 * nth;
      cpu.setX(11, BigInt(at));
      mem.faults.add((DATA + 0x4000) / 4096);
    });
    assert.equal(a.exit, Exit.TRAP);
    assert.equal(a.cause, Cause.LOAD_PAGE_FAULT);
    assert.equal(a.tval, DATA + 0x4000);
    assert.deepEqual(b, a, `fault at load ${nth}`);
  }
});

test("a store fault, a misaligned atomic and an illegal instruction in the middle of a block", () => {
  const lead: Insn[] = [I(Op.ADDI, { rd: 5, rs1: 5, imm: 1 }), I(Op.SD, { rs1: 10, rs2: 5, imm: 0 }), I(Op.MUL, { rd: 6, rs1: 5, rs2: 5 })];
  const cases: [string, Insn, number][] = [
    ["store page fault", I(Op.SW, { rs1: 12, rs2: 6, imm: 0 }), Cause.STORE_PAGE_FAULT],
    ["misaligned amoadd.d", I(Op.AMOADD_D, { rd: 7, rs1: 13, rs2: 6 }), Cause.STORE_MISALIGNED],
    ["illegal", [Op.ILLEGAL, {}], Cause.ILLEGAL_INSN],
  ];
  for (const [name, insn, cause] of cases) {
    const prog: Insn[] = [...lead, ...lead, insn, ...lead, I(Op.ECALL, {})];
    const [a, b] = both(prog, 1000, 1000, (cpu, mem) => {
      cpu.setX(12, BigInt(DATA + 0x8000));
      cpu.setX(13, BigInt(DATA + 4));
      mem.faults.add((DATA + 0x8000) / 4096);
      if (insn[0] === Op.ILLEGAL) new DataView(mem.ram.buffer).setUint32(CODE + 4 * 6, 0, true);
    });
    assert.equal(a.exit, Exit.TRAP, name);
    assert.equal(a.cause, cause, name);
    assert.deepEqual(b, a, name);
  }
});

test("fsw and fsd store the raw bits; with mstatus.FS Off one traps as illegal in the middle of a block", () => {
  const prog: Insn[] = [];
  for (let r = 0; r < 8; r++) {
    prog.push(I(Op.ADDI, { rd: 5, rs1: 5, imm: r }), I(Op.FSD, { rs1: 10, rs2: r * 4, imm: 8 * r }),
      I(Op.FSW, { rs1: 10, rs2: r * 4 + 1, imm: 100 + 4 * r }));
  }
  prog.push(I(Op.FSD, { rs1: 10, rs2: 31, imm: 2045 }), I(Op.ECALL, {})); // misaligned: the slow path
  const fp = (cpu: RiscvCpu): void => {
    for (let r = 0; r < 32; r++) { cpu.fl[r] = Math.imul(r + 3, 0x9e3779b9); cpu.fh[r] = r % 3 === 0 ? -1 : Math.imul(r, 0x85ebca6b); }
  };
  const [a, b, cpu] = both(prog, 1000, 1000, fp);
  assert.equal(a.exit, Exit.ECALL);
  assert.deepEqual(b, a);
  assert.ok(codeCacheFor(cpu.mem.ram).stats.blocks > 0);
  const dv = new DataView(cpu.mem.ram.buffer);
  assert.equal(dv.getInt32(DATA + 8 * 3, true), cpu.fl[12]);
  assert.equal(dv.getInt32(DATA + 8 * 3 + 4, true), cpu.fh[12]);
  for (const step of [1000, 4]) {
    const [c, d] = both(prog, 1000, step, (h) => { fp(h); h.fpOff = true; });
    assert.equal(c.exit, Exit.TRAP);
    assert.equal(c.cause, Cause.ILLEGAL_INSN);
    assert.equal(c.pc, CODE + 4);
    assert.deepEqual(d, c, `step ${step}`);
  }
});

test("FP arithmetic and loads, LR/SC and AMOs run inside a block: integer operands and results pass exactly", () => {
  // A loop whose one block mixes compiled instructions with ones the interpreter runs for it, each feeding the next.
  const prog: Insn[] = [
    I(Op.ADDI, { rd: 5, rs1: 0, imm: 40 }),
    I(Op.ADDI, { rd: 12, rs1: 10, imm: 256 }),          // loop (CODE + 4): x12 = DATA + 256
    I(Op.FCVT_D_L, { rd: 1, rs1: 5, rs2: 0, imm: 7 }),   // f1 = x5 (rm in imm: dynamic)
    I(Op.FADD_D, { rd: 2, rs1: 2, rs2: 1, imm: 7 }),
    I(Op.FMV_X_D, { rd: 6, rs1: 2 }),                     // x6 = bits of f2
    I(Op.XOR, { rd: 7, rs1: 7, rs2: 6 }),
    I(Op.FLD, { rd: 3, rs1: 10, imm: 16 }),
    I(Op.FEQ_D, { rd: 8, rs1: 3, rs2: 3 }),
    I(Op.ADD, { rd: 9, rs1: 9, rs2: 8 }),
    I(Op.AMOADD_D, { rd: 11, rs1: 12, rs2: 5 }),         // x11 = old [x12]; [x12] += x5
    I(Op.ADD, { rd: 13, rs1: 13, rs2: 11 }),
    I(Op.LR_W, { rd: 14, rs1: 12 }),
    I(Op.ADDI, { rd: 14, rs1: 14, imm: 3 }),
    I(Op.SC_W, { rd: 15, rs1: 12, rs2: 14 }),            // x15 = 0 (success)
    I(Op.ADD, { rd: 16, rs1: 16, rs2: 15 }),
    I(Op.FSD, { rs1: 10, rs2: 2, imm: 512 }),
    I(Op.ADDI, { rd: 5, rs1: 5, imm: -1 }),
    I(Op.BNE, { rs1: 5, rs2: 0, imm: -4 * 16 }),
    I(Op.ECALL, {}),
  ];
  for (const step of [100000, 11, 2]) {
    const [a, b, cpu] = both(prog, 100000, step);
    assert.equal(a.exit, Exit.ECALL, `step ${step}`);
    assert.deepEqual(b, a, `step ${step}`);
    assert.equal(a.regs[16], machine(prog).getX(16), "every sc.w succeeded (x16 += 0 each pass)");
    if (step === 100000) {
      const s = codeCacheFor(cpu.mem.ram).stats;
      assert.ok(s.interpreted < 10, `the loop ran in its module: ${s.interpreted} blocks interpreted`);
    }
  }
  // With mstatus.FS Off the first FP instruction traps, in the middle of the block, as in the interpreter.
  const [c, d] = both(prog, 100000, 100000, (h) => { h.fpOff = true; });
  assert.equal(c.exit, Exit.TRAP);
  assert.equal(c.cause, Cause.ILLEGAL_INSN);
  assert.equal(c.pc, CODE + 8);
  assert.deepEqual(d, c);
});

test("self-modifying code: a store to a translated block drops it, and the new instruction runs", () => {
  // The block at CODE+12 adds x6 to x7; the loop rewrites its addi immediate each time round.
  const addi = (imm: number): number => encodeOp(Op.ADDI, { rd: 7, rs1: 7, imm });
  const prog: Insn[] = [
    I(Op.ADDI, { rd: 5, rs1: 0, imm: 20 }),                 // 0: x5 = 20
    I(Op.AUIPC, { rd: 9, imm: 0 }),                          // 4: x9 = CODE + 4
    I(Op.JAL, { rd: 0, imm: 4 }),                            // 8
    I(Op.ADDI, { rd: 7, rs1: 7, imm: 1 }),                   // 12: rewritten
    I(Op.ADDI, { rd: 5, rs1: 5, imm: -1 }),                  // 16
    // new immediate = x5 * 2 (in the I-immediate field: bits 31:20)
    I(Op.SLLI, { rd: 8, rs1: 5, imm: 21 }),                  // 20
    I(Op.LUI, { rd: 14, imm: 0 }),                           // 24
    I(Op.ADDI, { rd: 14, rs1: 0, imm: 0x393 }),              // 28: addi x7, x7 low bits (0x00038393)
    I(Op.LUI, { rd: 15, imm: 0x38000 }),                     // 32
    I(Op.OR, { rd: 14, rs1: 14, rs2: 15 }),                  // 36
    I(Op.OR, { rd: 14, rs1: 14, rs2: 8 }),                   // 40
    I(Op.SW, { rs1: 9, rs2: 14, imm: 8 }),                   // 44: store over CODE + 12
    I(Op.FENCE_I, {}),                                       // 48
    I(Op.BNE, { rs1: 5, rs2: 0, imm: -40 }),                 // 52: back to CODE + 12
    I(Op.ECALL, {}),
  ];
  assert.equal((addi(0) & 0xfffff) >>> 0, 0x38393);
  const [a, b, cpu] = both(prog, 100000);
  assert.equal(a.exit, Exit.ECALL);
  // 1 + sum over the rewritten immediates 2*19 .. 2*1 = 1 + 380.
  assert.equal(a.regs[7] - (machine(prog).getX(7)), 381n);
  assert.deepEqual(b, a);
  assert.ok(codeCacheFor(cpu.mem.ram).stats.blocks > 0, "the translator compiled blocks");
});

test("a code cache smaller than one module is flushed at every compile, and results stay exact", () => {
  const saved = tcgSettings.cacheLimit;
  tcgSettings.cacheLimit = 1;
  try {
    const prog: Insn[] = [
      I(Op.ADDI, { rd: 5, rs1: 0, imm: 50 }),
      I(Op.ADD, { rd: 6, rs1: 6, rs2: 5 }),      // loop
      I(Op.JAL, { rd: 0, imm: 8 }),
      I(Op.EBREAK, {}),
      I(Op.ADDI, { rd: 5, rs1: 5, imm: -1 }),
      I(Op.BNE, { rs1: 5, rs2: 0, imm: -16 }),
      I(Op.ECALL, {}),
    ];
    const [a, b, cpu] = both(prog, 10000);
    assert.equal(a.exit, Exit.ECALL);
    assert.deepEqual(b, a);
    assert.ok(codeCacheFor(cpu.mem.ram).stats.flushes > 0, "the cache was flushed");
  } finally {
    tcgSettings.cacheLimit = saved;
  }
});

test("blocks of one loop compiled into different modules are regrouped into one, and the loop stops leaving it", () => {
  // x5 = 1000; loop: x6 += x5; if x5 == x7 skip; x8 ^= 1; skip: x5--; bnez x5, loop; ecall
  const prog: Insn[] = [
    I(Op.ADDI, { rd: 5, rs1: 0, imm: 1000 }),
    I(Op.ADD, { rd: 6, rs1: 6, rs2: 5 }),            // loop (CODE + 4)
    I(Op.BEQ, { rs1: 5, rs2: 7, imm: 8 }),
    I(Op.XORI, { rd: 8, rs1: 8, imm: 1 }),
    I(Op.ADDI, { rd: 5, rs1: 5, imm: -1 }),          // skip (CODE + 16)
    I(Op.BNE, { rs1: 5, rs2: 0, imm: -16 }),
    I(Op.ECALL, {}),
  ];
  const saved = tcgSettings.regroupAfter;
  try {
    const exits = (regroupAfter: number): { regroups: number; jumps: number; chained: number } => {
      tcgSettings.regroupAfter = regroupAfter;
      const [a, b, cpu] = both(prog, 100000, 100000, (c) => c.setX(7, 500n));
      assert.equal(a.exit, Exit.ECALL);
      assert.deepEqual(b, a, `regroupAfter ${regroupAfter}`);
      const cache = codeCacheFor(cpu.mem.ram);
      return { regroups: cache.stats.regroups, jumps: cache.stats.exitsJump, chained: cache.chained };
    };
    // batch=1: every block is a module of its own, so without regrouping each branch leaves its module
    // (through the chain table: a jump within the page is chained while the page's countdown lasts).
    const apart = exits(1 << 30);
    assert.equal(apart.regroups, 0);
    assert.ok(apart.jumps + apart.chained > 1000, `without regrouping: ${apart.jumps} exits, ${apart.chained} chained`);
    assert.ok(apart.jumps < 100, `jumps within the page were chained: ${apart.jumps} exits`);
    const together = exits(8);
    assert.ok(together.regroups >= 1, "the page was regrouped");
    assert.ok(together.jumps + together.chained < 100, `after regrouping: ${together.jumps} exits, ${together.chained} chained`);
  } finally {
    tcgSettings.regroupAfter = saved;
  }
});

test("indirect jumps chain to blocks of their own page: calls, returns and a jump into a block's middle", () => {
  // x5 = 300; loop: call f; x9 = (x5 & 1) ? mid : top; jalr x9 (top: x6 += 1; mid: x6 += 2); x5--; bnez loop; ecall
  const prog: Insn[] = [
    I(Op.ADDI, { rd: 5, rs1: 0, imm: 300 }),
    I(Op.JAL, { rd: 1, imm: 4 * 12 }),               // loop (CODE + 4): call f (CODE + 52)
    I(Op.AUIPC, { rd: 9, imm: 0 }),                  // x9 = CODE + 8
    I(Op.ANDI, { rd: 8, rs1: 5, imm: 1 }),
    I(Op.SLLI, { rd: 8, rs1: 8, imm: 2 }),           // 0 or 4
    I(Op.ADD, { rd: 9, rs1: 9, rs2: 8 }),
    I(Op.JALR, { rd: 0, rs1: 9, imm: 20 }),          // to top (CODE + 28) or mid (CODE + 32)
    I(Op.ADDI, { rd: 6, rs1: 6, imm: 1 }),           // top
    I(Op.ADDI, { rd: 6, rs1: 6, imm: 2 }),           // mid
    I(Op.ADDI, { rd: 5, rs1: 5, imm: -1 }),
    I(Op.BNE, { rs1: 5, rs2: 0, imm: -4 * 9 }),
    I(Op.ECALL, {}),
    I(Op.EBREAK, {}),
    I(Op.XOR, { rd: 7, rs1: 7, rs2: 6 }),            // f (CODE + 52)
    I(Op.JALR, { rd: 0, rs1: 1, imm: 0 }),
  ];
  const saved = tcgSettings.regroupAfter;
  try {
    tcgSettings.regroupAfter = 8;
    for (const step of [100000, 13, 5]) {
      const [a, b, cpu] = both(prog, 100000, step);
      assert.equal(a.exit, Exit.ECALL, `step ${step}`);
      assert.deepEqual(b, a, `step ${step}`);
      if (step === 100000) {
        const s = codeCacheFor(cpu.mem.ram).stats;
        assert.ok(s.regroups >= 1, "the page was regrouped");
        assert.ok(s.exitsJump < 100, `returns and the computed jump chain: ${s.exitsJump} exits`);
      }
    }
  } finally {
    tcgSettings.regroupAfter = saved;
  }
});

/** Page B (CODE + 4096) of the two-page loops below: addi x7, x7, 1; jal CODE + 4.  x5 = 300 passes, x7 = 0. */
function loopOnPageB(cpu: RiscvCpu, mem: FlatMemory): void {
  const B = CODE + 4096;
  const dv = new DataView(mem.ram.buffer);
  dv.setUint32(B, encodeOp(Op.ADDI, { rd: 7, rs1: 7, imm: 1 }), true);
  dv.setUint32(B + 4, encodeOp(Op.JAL, { rd: 0, imm: CODE + 4 - (B + 4) }), true);
  cpu.setX(5, 300n);
  cpu.setX(7, 0n);
}

test("branches between two pages of one module chain, and stop chaining into a page whose code was rewritten", () => {
  // Page A (CODE), x5 = 300: loop: jal B; back: if x5 == 100 rewrite B's addi; x5--; bnez loop; ecall.
  // Page B (CODE + 4096): addi x7, x7, 1 (then 5); jal back.
  const B = CODE + 4096;
  const prog: Insn[] = [
    I(Op.JAL, { rd: 0, imm: B - CODE }),             // loop (CODE)
    I(Op.BNE, { rs1: 5, rs2: 13, imm: 8 }),          // back (CODE + 4)
    I(Op.SW, { rs1: 12, rs2: 14, imm: 0 }),          // rewrite B's first instruction
    I(Op.ADDI, { rd: 5, rs1: 5, imm: -1 }),          // CODE + 12
    I(Op.BNE, { rs1: 5, rs2: 0, imm: -16 }),
    I(Op.ECALL, {}),
  ];
  const setup = (cpu: RiscvCpu, mem: FlatMemory): void => {
    loopOnPageB(cpu, mem);
    cpu.setX(12, BigInt(B));
    cpu.setX(13, 100n);
    cpu.setX(14, BigInt(encodeOp(Op.ADDI, { rd: 7, rs1: 7, imm: 5 })));
  };
  {
    // Five blocks a module, so that the loop's blocks of both pages share one: CODE, CODE + 4, CODE + 12, B and
    // B + 4 (the first pass runs B's first instruction alone, to fill the fetch TLB).
    for (const step of [100000, 17]) {
      const [a, b, cpu] = both(prog, 100000, step, setup, 5);
      assert.equal(a.exit, Exit.ECALL, `step ${step}`);
      // 201 passes (x5 = 300 down to 100) add 1, then 99 add 5.
      assert.equal(a.regs[7], 201n + 495n);
      assert.deepEqual(b, a, `step ${step}`);
      if (step === 100000) {
        const s = codeCacheFor(cpu.mem.ram).stats;
        assert.ok(s.exitsJump < 150, `the loop across two pages: ${s.exitsJump} exits`);
      }
    }
  }
});

/** The two-page loop of the test above, each block a module of its own: every jump between the pages leaves a module. */
function twoPageLoop(chain: boolean, step: number): [Final, Final, RiscvCpu] {
  const B = CODE + 4096;
  const prog: Insn[] = [
    I(Op.JAL, { rd: 0, imm: B - CODE }),             // loop (CODE)
    I(Op.BNE, { rs1: 5, rs2: 13, imm: 8 }),          // back (CODE + 4)
    I(Op.SW, { rs1: 12, rs2: 14, imm: 0 }),          // rewrite B's first instruction
    I(Op.ADDI, { rd: 5, rs1: 5, imm: -1 }),          // CODE + 12
    I(Op.BNE, { rs1: 5, rs2: 0, imm: -16 }),
    I(Op.ECALL, {}),
  ];
  const setup = (cpu: RiscvCpu, mem: FlatMemory): void => {
    loopOnPageB(cpu, mem);
    cpu.setX(12, BigInt(B));
    cpu.setX(13, 100n);
    cpu.setX(14, BigInt(encodeOp(Op.ADDI, { rd: 7, rs1: 7, imm: 5 })));
  };
  const saved = tcgSettings.chain;
  tcgSettings.chain = chain;
  try {
    return both(prog, 100000, step, setup, 1);
  } finally {
    tcgSettings.chain = saved;
  }
}

test("jumps to another page's block in another module go straight there through the chain table", () => {
  // Without the chain table, each of the 600 jumps between the pages returns to the dispatcher (as do jumps
  // within page A until its blocks are regrouped into one module).
  const [a0, b0, cpu0] = twoPageLoop(false, 100000);
  assert.deepEqual(b0, a0);
  const apart = codeCacheFor(cpu0.mem.ram).stats.exitsJump;
  assert.equal(codeCacheFor(cpu0.mem.ram).chained, 0);
  for (const step of [100000, 17, 3]) {
    const [a, b, cpu] = twoPageLoop(true, step);
    assert.equal(a.exit, Exit.ECALL, `step ${step}`);
    assert.deepEqual(b, a, `step ${step}`);
    if (step === 100000) {
      const chained = codeCacheFor(cpu.mem.ram).chained;
      const jumps = codeCacheFor(cpu.mem.ram).stats.exitsJump;
      assert.ok(chained >= 550, `${chained} jumps chained`);
      assert.ok(jumps <= apart - 550, `returns to the dispatcher: ${jumps} chained, ${apart} not`);
    }
  }
});

/** Start addresses of `n` two-instruction functions, one per page from CODE + 4096 on, whose blocks share a chain-table bucket. */
function sameBucket(n: number): number[] {
  const byBucket = new Map<number, number[]>();
  for (let page = CODE + 4096; page < SIZE / 2; page += 4096) {
    for (let at = page; at < page + 4088; at += 4) {
      const list = byBucket.get(chainBucket(at)) ?? [];
      if (list.length > 0 && Math.floor(list[list.length - 1] / 4096) === Math.floor(at / 4096)) continue;
      list.push(at);
      if (list.length === n) return list;
      byBucket.set(chainBucket(at), list);
    }
  }
  throw new Error("no bucket with enough blocks");
}

test("blocks at one chain-table bucket chain in turns: two share it, a third pushes one out", () => {
  // Page A (CODE), x5 = 300: loop: call each function in turn; x5--; bnez loop; ecall.  Each function,
  // on a page of its own: addi x7, x7, 1; ret.  The functions' blocks share one bucket of the chain table.
  for (const n of [2, 3]) {
    const fns = sameBucket(n);
    const prog: Insn[] = fns.map((at, i) => I(Op.JAL, { rd: 1, imm: at - (CODE + 4 * i) }));
    prog.push(I(Op.ADDI, { rd: 5, rs1: 5, imm: -1 }), I(Op.BNE, { rs1: 5, rs2: 0, imm: -4 * (n + 1) }), I(Op.ECALL, {}));
    const setup = (cpu: RiscvCpu, mem: FlatMemory): void => {
      const dv = new DataView(mem.ram.buffer);
      for (const at of fns) {
        dv.setUint32(at, encodeOp(Op.ADDI, { rd: 7, rs1: 7, imm: 1 }), true);
        dv.setUint32(at + 4, encodeOp(Op.JALR, { rd: 0, rs1: 1, imm: 0 }), true);
      }
      cpu.setX(5, 300n);
      cpu.setX(7, 0n);
    };
    const [a, b, cpu] = both(prog, 100000, 100000, setup);
    assert.equal(a.exit, Exit.ECALL);
    assert.equal(a.regs[7], BigInt(300 * n));
    assert.deepEqual(b, a);
    const jumps = codeCacheFor(cpu.mem.ram).stats.exitsJump;
    // Two fit the bucket's two ways: the calls chain.  With three, every call returns to the dispatcher.
    if (n === 2) assert.ok(jumps < 60, `${n} functions at one bucket: ${jumps} exits`);
    else assert.ok(jumps >= 300 * (n - 2), `${n} functions at one bucket: ${jumps} exits`);
  }
});

test("a page whose code is rewritten leaves the chain table: the next jump to it runs the new code", () => {
  // B's first block adds 1 for 201 passes; the rewrite at x5 = 100 makes it add 5 for the 99 left.  A chained
  // jump into B's old module would keep adding 1.
  for (const step of [100000, 7]) {
    const [a, b] = twoPageLoop(true, step);
    assert.equal(a.regs[7], 201n + 495n);
    assert.deepEqual(b, a, `step ${step}`);
  }
});

/**
 * As the system emulator runs it: compile off the main thread, run in steps
 * of `step` instructions and yield to the event loop between them (where the
 * finished modules are installed; here each step waits for them, so that the
 * test does not depend on the host's speed); `between` runs after each step.
 */
async function translatedAsync(program: readonly Insn[], budget: number, step: number,
  setup?: (cpu: RiscvCpu, mem: FlatMemory) => void, between?: (cpu: RiscvCpu, mem: FlatMemory) => void, batch = 1,
  mode: CompileMode = "async",
): Promise<[Final, RiscvCpu]> {
  tcgSettings.threshold = 1;
  tcgSettings.batch = batch;
  const mem = { current: undefined as FlatMemory | undefined };
  const cpu = machine(program, (c, m) => { mem.current = m; setup?.(c, m); });
  const cache = codeCacheFor(cpu.mem.ram);
  cache.compileMode = mode;
  let exit = Exit.BUDGET;
  while (cpu.instret < budget) {
    exit = runTranslated(cpu, Math.min(step, budget - cpu.instret));
    if (exit === Exit.TRAP || exit === Exit.ECALL) break;
    between?.(cpu, mem.current as FlatMemory);
    // The compiles started in this step finish (how long they take depends on the host's load).
    await cache.settled();
  }
  return [finish(cpu, exit), cpu];
}

test("modules compiled off the main thread are installed between turns, and results stay exact", async () => {
  const prog: Insn[] = [
    I(Op.ADDI, { rd: 5, rs1: 0, imm: 2000 }),
    I(Op.ADD, { rd: 6, rs1: 6, rs2: 5 }),      // loop
    I(Op.XOR, { rd: 7, rs1: 7, rs2: 6 }),
    I(Op.ADDI, { rd: 5, rs1: 5, imm: -1 }),
    I(Op.BNE, { rs1: 5, rs2: 0, imm: -12 }),
    I(Op.ECALL, {}),
  ];
  const [a] = both(prog, 100000);
  let first = -1;
  const [b, cpu] = await translatedAsync(prog, 100000, 500, undefined, (c) => {
    if (first < 0) first = codeCacheFor(c.mem.ram).stats.blocks;
  });
  assert.equal(a.exit, Exit.ECALL);
  assert.deepEqual(b, a);
  const s = codeCacheFor(cpu.mem.ram).stats;
  assert.equal(first, 0, "nothing is installed before the event loop runs");
  assert.ok(s.blocks > 0, "modules were installed later");
  assert.ok(s.interpreted < 1000, `the loop ran compiled (${s.interpreted} blocks interpreted)`);
});

test("compile=mixed: newly hot blocks are compiled at once, a regrouped page off the thread, and results stay exact", async () => {
  // The loop of the regrouping test above: with batch=1 each block is a module of its own, compiled at once;
  // crossings between them regroup the page, whose module is installed only when the event loop runs.
  const prog: Insn[] = [
    I(Op.ADDI, { rd: 5, rs1: 0, imm: 1000 }),
    I(Op.ADD, { rd: 6, rs1: 6, rs2: 5 }),
    I(Op.BEQ, { rs1: 5, rs2: 7, imm: 8 }),
    I(Op.XORI, { rd: 8, rs1: 8, imm: 1 }),
    I(Op.ADDI, { rd: 5, rs1: 5, imm: -1 }),
    I(Op.BNE, { rs1: 5, rs2: 0, imm: -16 }),
    I(Op.ECALL, {}),
  ];
  const setup = (c: RiscvCpu): void => c.setX(7, 500n);
  const [a] = both(prog, 100000, 100000, setup);
  const saved = tcgSettings.regroupAfter;
  try {
    tcgSettings.regroupAfter = 8;
    const steps: { modules: number; regroups: number }[] = [];
    const [b, cpu] = await translatedAsync(prog, 100000, 10, setup, (c) => {
      const s = codeCacheFor(c.mem.ram).stats;
      steps.push({ modules: s.modules, regroups: s.regroups });
    }, 1, "mixed");
    assert.equal(a.exit, Exit.ECALL);
    assert.deepEqual(b, a);
    assert.ok(steps[0].modules > 0, "the first step's hot blocks were installed without the event loop");
    const k = steps.findIndex((x) => x.regroups > 0);
    assert.ok(k > 0, "the page was regrouped after the first step");
    assert.equal(steps[k].modules, steps[k - 1].modules, "the regrouped module was not installed within its step");
    assert.ok(codeCacheFor(cpu.mem.ram).stats.modules > steps[k].modules, "it was installed later");
  } finally {
    tcgSettings.regroupAfter = saved;
  }
});

test("a page that loses its code while its module compiles is not entered, and its module does not chain into it", async () => {
  // The two-page loop of the test above; after the first step (its modules then compiling), page B's code
  // is rewritten by the host: the stale blocks of B must not run, nor be reached by a chained branch.
  const B = CODE + 4096;
  const prog: Insn[] = [
    I(Op.JAL, { rd: 0, imm: B - CODE }),             // loop (CODE)
    I(Op.ADDI, { rd: 5, rs1: 5, imm: -1 }),          // back (CODE + 4)
    I(Op.BNE, { rs1: 5, rs2: 0, imm: -8 }),
    I(Op.ECALL, {}),
  ];
  const setup = (cpu: RiscvCpu, mem: FlatMemory): void => {
    loopOnPageB(cpu, mem);
  };
  let rewritten = false;
  const rewrite = (cpu: RiscvCpu, mem: FlatMemory): void => {
    if (rewritten) return;
    rewritten = true;
    // As a DMA or another hart would: new bytes, then the page's code dropped.
    new DataView(mem.ram.buffer).setUint32(B, encodeOp(Op.ADDI, { rd: 7, rs1: 7, imm: 5 }), true);
    mem.ram.dropCode(B >>> 12);
    assert.ok(cpu.instret < 300, "rewritten within the first pass");
  };
  // Four blocks a module: CODE, B + 4 (the first pass runs B's first instruction alone, to fill the fetch TLB),
  // CODE + 4 and B share one, whose jump from CODE to B would chain.
  const [b, cpu] = await translatedAsync(prog, 100000, 30, setup, rewrite, 4);
  assert.equal(b.exit, Exit.ECALL);
  // Passes before the rewrite add 1, the others 5.
  const passes = 300;
  const before = Number((BigInt(passes) * 5n - b.regs[7]) / 4n);
  assert.ok(before >= 1 && before <= 10, `x7 = ${b.regs[7]}: ${before} passes ran the old code`);
  assert.ok(codeCacheFor(cpu.mem.ram).stats.blocks > 0);
});
