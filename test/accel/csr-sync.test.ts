/**
 * Which CSR writes end a system hart's run (Exit.SYNC, so that the run loop
 * looks at the hart again) and which the run goes on past: scratch, epc,
 * cause and tval registers, and mstatus/sstatus writes that only change the
 * interrupt-enable and previous-privilege bits, go on, unless an interrupt
 * became takeable; anything else ends the run after the instruction.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Exit, Priv, RiscvCpu } from "../../src/target/riscv/cpu.js";
import { SystemMemory } from "../../src/target/riscv/mmu.js";
import { SystemBus } from "../../src/hw/core/bus.js";
import { registerPrivilegedCsrs } from "../../src/target/riscv/csr-priv.js";
import { Irq, Mstatus } from "../../src/target/riscv/hart-state.js";
import { Op } from "../../src/target/riscv/insn-table.js";
import { run } from "../../src/accel/interp.js";
import { encodeOp, type Fields } from "../target/riscv/random-insn/encode.js";

const RAM = 0x80000000;
const MSCRATCH = 0x340, MSTATUS = 0x300, MIE = 0x304, MEPC = 0x341, SSTATUS = 0x100;

function hart(program: [Op, Fields][]): RiscvCpu {
  registerPrivilegedCsrs();
  const bus = new SystemBus({ romBase: 0x1000, romSize: 0xf000, ramBase: RAM, ramSize: 1 << 20 });
  const dv = new DataView(bus.u8.buffer);
  program.forEach(([op, f], i) => dv.setUint32(bus.hostOffset(RAM + 4 * i, 4), encodeOp(op, f), true));
  const cpu = new RiscvCpu(new SystemMemory(bus));
  cpu.system = true;
  cpu.usePrivilegeTlbs();
  cpu.state.reset(0);
  cpu.priv = Priv.M;
  cpu.selectTlb();
  cpu.pc = RAM;
  return cpu;
}

/** Run until the run stops; the exit and the instructions it retired. */
function once(cpu: RiscvCpu, budget = 100): [Exit, number] {
  const before = cpu.instret;
  const x = run(cpu, budget);
  return [x, cpu.instret - before];
}

test("writes that change nothing the run loop watches do not end the run", () => {
  const cpu = hart([
    [Op.CSRRW, { rd: 0, rs1: 10, imm: MSCRATCH }], // 0: mscratch = a0
    [Op.CSRRW, { rd: 0, rs1: 10, imm: MEPC }],     // 1: mepc = a0
    [Op.CSRRCI, { rd: 0, rs1: 8, imm: MSTATUS }],  // 2: clear MIE
    [Op.ADDI, { rd: 11, rs1: 11, imm: 1 }],        // 3
    [Op.CSRRSI, { rd: 0, rs1: 8, imm: MSTATUS }],  // 4: set MIE, nothing pending
    [Op.CSRRSI, { rd: 0, rs1: 2, imm: SSTATUS }],  // 5: set SIE
    [Op.CSRRS, { rd: 0, rs1: 12, imm: MSTATUS }],  // 6: csrs with a zero value (a2 = 0)
    [Op.ADDI, { rd: 11, rs1: 11, imm: 1 }],        // 7
    [Op.CSRRW, { rd: 0, rs1: 13, imm: MIE }],      // 8: mie = a3: ends the run
    [Op.ADDI, { rd: 11, rs1: 11, imm: 1 }],        // 9
    [Op.JAL, { rd: 0, imm: 0 }],                   // 10: spin
  ]);
  cpu.setX(10, 0x80000100n);
  cpu.setX(13, BigInt(Irq.MSI));
  assert.deepEqual(once(cpu), [Exit.SYNC, 9]);
  assert.equal(cpu.getX(11), 2n);
  assert.equal(cpu.state.mepc, 0x80000100);
  assert.equal(cpu.state.mstatus & (Mstatus.MIE | Mstatus.SIE), Mstatus.MIE | Mstatus.SIE);
  assert.equal(cpu.pc, RAM + 4 * 9);
});

test("enabling an interrupt that is pending ends the run at once", () => {
  const cpu = hart([
    [Op.CSRRSI, { rd: 0, rs1: 8, imm: MSTATUS }], // 0: set MIE: the pending MSI is takeable
    [Op.ADDI, { rd: 11, rs1: 11, imm: 1 }],       // 1
    [Op.JAL, { rd: 0, imm: 0 }],                  // 2
  ]);
  cpu.state.mie = Irq.MSI;
  cpu.state.mip = Irq.MSI;
  assert.deepEqual(once(cpu), [Exit.SYNC, 1]);
  assert.equal(cpu.getX(11), 0n);
});

test("mstatus writes that change translation or FP state end the run", () => {
  for (const bits of [Mstatus.FS, Mstatus.MXR, Mstatus.MPRV, Mstatus.SUM, Mstatus.TVM]) {
    const cpu = hart([
      [Op.CSRRS, { rd: 0, rs1: 10, imm: MSTATUS }], // 0
      [Op.ADDI, { rd: 11, rs1: 11, imm: 1 }],       // 1
      [Op.JAL, { rd: 0, imm: 0 }],                  // 2
    ]);
    cpu.state.mstatus &= ~bits;
    cpu.setX(10, BigInt(bits));
    assert.deepEqual(once(cpu), [Exit.SYNC, 1], `mstatus bits ${bits.toString(16)}`);
  }
});
