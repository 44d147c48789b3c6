/**
 * mcycle, minstret and mcountinhibit on a system hart, as the privileged spec
 * keeps them: a written value is what the next instruction reads, the user
 * views (cycle, instret) read the same counters, and an inhibited counter
 * stands still.  Run on both engines: the translator leaves CSR instructions
 * to the interpreter, around compiled code.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Priv, RiscvCpu } from "../../../src/target/riscv/cpu.js";
import { SystemMemory } from "../../../src/target/riscv/mmu.js";
import { SystemBus } from "../../../src/hw/core/bus.js";
import { registerPrivilegedCsrs } from "../../../src/target/riscv/csr-priv.js";
import { csrAccess } from "../../../src/target/riscv/csr.js";
import { Op } from "../../../src/target/riscv/insn-table.js";
import { run } from "../../../src/accel/interp.js";
import { runTranslated } from "../../../src/accel/tcg/dispatch.js";
import { encodeOp, type Fields } from "./random-insn/encode.js";
import { TCG_EAGER } from "../../util/env.js";
import { parseAccel } from "../../../src/accel/engine.js";

const RAM = 0x80000000;
const MCYCLE = 0xb00, MINSTRET = 0xb02, MCOUNTINHIBIT = 0x320, CYCLE = 0xc00, INSTRET = 0xc02;

const program: [Op, Fields][] = [
  [Op.CSRRW, { rd: 0, rs1: 5, imm: MINSTRET }],       // 0: minstret = 1000
  [Op.CSRRS, { rd: 10, rs1: 0, imm: MINSTRET }],      // 1: 1000, the value written
  [Op.CSRRS, { rd: 11, rs1: 0, imm: MINSTRET }],      // 2: 1001
  [Op.CSRRS, { rd: 12, rs1: 0, imm: INSTRET }],       // 3: 1002, the user view of the same counter
  [Op.CSRRW, { rd: 0, rs1: 6, imm: MCYCLE }],         // 4: mcycle = all ones
  [Op.CSRRS, { rd: 13, rs1: 0, imm: MCYCLE }],        // 5: all ones
  [Op.CSRRS, { rd: 14, rs1: 0, imm: CYCLE }],         // 6: wrapped to 0
  [Op.CSRRWI, { rd: 0, rs1: 5, imm: MCOUNTINHIBIT }], // 7: inhibit CY and IR (5 = 0b101)
  [Op.CSRRS, { rd: 15, rs1: 0, imm: MINSTRET }],      // 8: 1007 (1006 at 7, counted, then frozen)
  [Op.ADDI, { rd: 7, rs1: 7, imm: 1 }],               // 9
  [Op.CSRRS, { rd: 16, rs1: 0, imm: MINSTRET }],      // 10: still 1007
  [Op.CSRRS, { rd: 17, rs1: 0, imm: MCYCLE }],        // 11: 2, frozen too
  [Op.CSRRWI, { rd: 0, rs1: 0, imm: MCOUNTINHIBIT }], // 12: counting again from the next instruction
  [Op.CSRRS, { rd: 18, rs1: 0, imm: MINSTRET }],      // 13: 1007
  [Op.CSRRS, { rd: 19, rs1: 0, imm: MINSTRET }],      // 14: 1008
  [Op.CSRRS, { rd: 20, rs1: 0, imm: MCOUNTINHIBIT }], // 15: 0
];

function runOn(engine: (cpu: RiscvCpu, budget: number) => unknown): bigint[] {
  registerPrivilegedCsrs();
  const bus = new SystemBus({ romBase: 0x1000, romSize: 0xf000, ramBase: RAM, ramSize: 1 << 20 });
  const cpu = new RiscvCpu(new SystemMemory(bus));
  cpu.system = true;
  cpu.usePrivilegeTlbs();
  cpu.priv = Priv.M;
  cpu.selectTlb();
  const dv = new DataView(bus.u8.buffer);
  program.forEach(([op, f], i) => dv.setUint32(bus.hostOffset(RAM + 4 * i, 4), encodeOp(op, f), true));
  cpu.pc = RAM;
  cpu.setX(5, 1000n);
  cpu.setX(6, -1n);
  // Several runs, as the system loop makes them: budgets end between CSR accesses.
  while (cpu.instret < program.length) engine(cpu, Math.min(3, program.length - cpu.instret));
  assert.equal(cpu.pc, RAM + 4 * program.length);
  return [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20].map((r) => cpu.getX(r));
}

test("minstret and mcycle writes are what the next instruction reads; mcountinhibit freezes them", () => {
  const expected = [1000n, 1001n, 1002n, -1n, 0n, 1007n, 1007n, 2n, 1007n, 1008n, 0n];
  assert.deepEqual(runOn(run), expected, "interpreter");
  assert.equal(parseAccel(TCG_EAGER), "tcg");
  assert.deepEqual(runOn(runTranslated), expected, "translator");
});

test("hpmcounter3..31 read zero on a system hart and do not exist for user mode, with the privileged CSRs registered", () => {
  // A user-mode run registers them when it warms the interpreter up (system/warm-up.ts).
  registerPrivilegedCsrs();
  const bus = new SystemBus({ romBase: 0x1000, romSize: 0xf000, ramBase: RAM, ramSize: 1 << 20 });
  const cpu = new RiscvCpu(new SystemMemory(bus));
  for (const num of [0xc03, 0xc10, 0xc1f]) {
    cpu.system = true;
    cpu.priv = Priv.M;
    cpu.tmpLo = cpu.tmpHi = -1;
    assert.equal(csrAccess(cpu, num, 1, false, 0, 0), true, `0x${num.toString(16)} on a system hart`);
    assert.deepEqual([cpu.tmpLo, cpu.tmpHi], [0, 0]);
    cpu.system = false;
    cpu.priv = Priv.U;
    assert.equal(csrAccess(cpu, num, 1, false, 0, 0), false, `0x${num.toString(16)} in user mode`);
  }
  // The base counters stay user mode's.
  assert.equal(csrAccess(cpu, INSTRET, 1, false, 0, 0), true);
});
