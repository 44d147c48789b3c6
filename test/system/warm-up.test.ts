/**
 * The interpreter's warm-up (src/system/warm-up.ts): its generated program
 * decodes every instruction of the table (and RVC's, and 4-byte ones across a
 * page's end), runs in M mode and in S mode at the
 * top of the address space under Sv39, takes the traps it is meant to and
 * retires what it should (a program that trapped forever would stop at the
 * call bound, far short), the same every time; for the translator it also
 * stops before hot blocks, as the interpreter does under tcg.  It runs on a bus and a hart
 * of its own; the boot and -icount tests run with it, as every machine does.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runWarmUp } from "../../src/system/warm-up.js";
import { INSNS, Op } from "../../src/target/riscv/insn-table.js";
import { Cause, Priv } from "../../src/target/riscv/cpu.js";

test("the warm-up program uses every instruction, both modes, and its traps", () => {
  for (const translator of [false, true]) {
    const r = runWarmUp(false, translator, true);
    const missing = INSNS.filter((row) => row.op !== Op.UNDECODED && !r.ops.has(row.op)).map((row) => row.name);
    assert.deepEqual(missing, [], "ops never decoded");
    assert.ok(r.retired[0] >= 10_000 && r.retired[1] >= 10_000, `retired ${r.retired.join(", ")}`);
    for (const t of [`${Cause.ECALL_M}@${Priv.M}`, `${Cause.ECALL_S}@${Priv.S}`, `${Cause.ILLEGAL_INSN}@${Priv.M}`,
      `${Cause.ILLEGAL_INSN}@${Priv.S}`, `${Cause.BREAKPOINT}@${Priv.S}`]) {
      assert.ok(r.traps.has(t), `trap ${t} not taken (took ${[...r.traps].join(" ")})`);
    }
    assert.ok(r.lowestSPc >= 2 ** 63, `S mode ran at 0x${r.lowestSPc.toString(16)}, not at the top alias`);
    // RVC code: its instructions (all but c.ebreak), and 4-byte instructions across a page's end.
    const rvc = [Op.ADDI, Op.ADDIW, Op.LUI, Op.SRLI, Op.SRAI, Op.ANDI, Op.SUB, Op.XOR, Op.OR, Op.AND, Op.SUBW, Op.ADDW,
      Op.SLLI, Op.ADD, Op.LW, Op.LD, Op.SW, Op.SD, Op.FLD, Op.FSD, Op.JAL, Op.BEQ, Op.BNE, Op.JALR];
    assert.deepEqual(rvc.filter((op) => !r.compressed.has(op)).map((op) => INSNS[op].name), [], "RVC forms never decoded");
    assert.ok(r.acrossPage >= 2, `${r.acrossPage} instructions decoded across a page's end`);
    // For the translator, the interpreter also stops before hot blocks, as it does under tcg (many times: at
    // branches, jumps and page entries alike); for the interpreter alone, never.
    if (translator) assert.ok(r.hotStops >= 100, `${r.hotStops} stops before a hot block`);
    else assert.equal(r.hotStops, 0);
  }
});

test("the warm-up is the same program every time", () => {
  const a = runWarmUp(true, false, true);
  const b = runWarmUp(true, false, true);
  assert.deepEqual(a.retired, b.retired);
  assert.deepEqual([...a.traps].sort(), [...b.traps].sort());
});
