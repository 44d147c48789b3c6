/**
 * The system run loop's turns: a hart that polls a flag around a wfi which
 * cannot sleep (an interrupt pending and enabled in mie, masked by mstatus, as
 * OpenSBI's secondary harts wait until Linux starts them) gives its turn to
 * the others, and runs normally once released.  A wfi that falls through once
 * before a trap (an idle loop racing an interrupt) keeps the turn.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Priv, RiscvCpu } from "../../src/target/riscv/cpu.js";
import { SystemMemory } from "../../src/target/riscv/mmu.js";
import { SystemBus } from "../../src/hw/core/bus.js";
import { registerPrivilegedCsrs } from "../../src/target/riscv/csr-priv.js";
import { Op } from "../../src/target/riscv/insn-table.js";
import { SystemLoop, SLICE } from "../../src/accel/system-loop.js";
import { execWfi, PrivResult, takeTrap } from "../../src/target/riscv/priv.js";
import { encodeOp, type Fields } from "../target/riscv/random-insn/encode.js";

const RAM = 0x80000000;
const FLAG = RAM + 0x1000;
const MIP_MSIP = 8;

/** t0 = FLAG (set by the test); hart 0 counts in a0; hart 1 polls the flag around wfi, then counts in a1. */
const program: [Op, Fields][] = [
  [Op.CSRRS, { rd: 10, rs1: 0, imm: 0xf14 }], // 0: a0 = mhartid
  [Op.BNE, { rs1: 10, rs2: 0, imm: 12 }],     // 1: other harts to 4
  [Op.ADDI, { rd: 10, rs1: 10, imm: 1 }],     // 2: hart 0: count
  [Op.JAL, { rd: 0, imm: -4 }],               // 3
  [Op.WFI, {}],                               // 4: park: wfi
  [Op.LD, { rd: 7, rs1: 5, imm: 0 }],         // 5: flag
  [Op.BEQ, { rs1: 7, rs2: 0, imm: -8 }],      // 6: not yet: to 4
  [Op.ADDI, { rd: 11, rs1: 11, imm: 1 }],     // 7: released: count
  [Op.JAL, { rd: 0, imm: -4 }],               // 8
];

function machine(): { bus: SystemBus; harts: RiscvCpu[] } {
  registerPrivilegedCsrs();
  const bus = new SystemBus({ romBase: 0x1000, romSize: 0xf000, ramBase: RAM, ramSize: 1 << 20 });
  const dv = new DataView(bus.u8.buffer);
  program.forEach(([op, f], i) => dv.setUint32(bus.hostOffset(RAM + 4 * i, 4), encodeOp(op, f), true));
  const harts = [0, 1].map((id) => {
    const cpu = new RiscvCpu(new SystemMemory(bus));
    cpu.system = true;
    cpu.usePrivilegeTlbs();
    cpu.priv = Priv.M;
    cpu.selectTlb();
    cpu.state.reset(id);
    cpu.pc = RAM;
    cpu.setX(5, BigInt(FLAG));
    // A software interrupt pending and enabled in mie, with mstatus.MIE clear: wfi cannot sleep.
    cpu.state.mie = MIP_MSIP;
    cpu.state.mip = MIP_MSIP;
    return cpu;
  });
  return { bus, harts };
}

/** Run `turns` rounds of the loop (its clock is the number of rounds). */
function runTurns(loop: SystemLoop, turns: number): void {
  let t = 0;
  loop.runUntil(() => t++, turns);
}

test("a hart polling around a wfi that cannot sleep gives its turn to the working hart", () => {
  const { bus, harts } = machine();
  const loop = new SystemLoop(harts, { runDue: () => undefined });
  runTurns(loop, 50);
  const [worker, poller] = harts;
  assert.ok(worker.instret >= 49 * SLICE, `hart 0 ran ${worker.instret} instructions in 50 turns`);
  assert.ok(poller.instret > 0 && poller.instret < 50 * 20, `hart 1 polled with ${poller.instret} instructions`);
  assert.equal(poller.getX(11), 0n);

  // Released, the hart runs whole turns again.
  bus.u8[bus.hostOffset(FLAG, 1)] = 1;
  const before = poller.instret;
  runTurns(loop, 10);
  assert.ok(poller.instret - before >= 9 * SLICE, `hart 1 ran ${poller.instret - before} instructions once released`);
  assert.ok(poller.getX(11) > 0n);
});

test("only a wfi that falls through again with no trap in between yields", () => {
  const { harts } = machine();
  const cpu = harts[1];
  assert.equal(execWfi(cpu), PrivResult.NEXT);
  assert.equal(cpu.state.wfiYield, false, "the first fall-through keeps the turn");
  takeTrap(cpu, 3, true, 0, 0);
  assert.equal(execWfi(cpu), PrivResult.NEXT);
  assert.equal(cpu.state.wfiYield, false, "a trap in between starts the count again");
  assert.equal(execWfi(cpu), PrivResult.NEXT);
  assert.equal(cpu.state.wfiYield, true, "the second in a row yields");

  // A wfi that sleeps starts the count again too.
  cpu.state.wfiYield = false;
  cpu.state.mip = 0;
  assert.equal(execWfi(cpu), PrivResult.WAIT);
  cpu.state.mip = MIP_MSIP;
  cpu.state.waiting = false;
  assert.equal(execWfi(cpu), PrivResult.NEXT);
  assert.equal(cpu.state.wfiYield, false);
});
