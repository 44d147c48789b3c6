/**
 * The Smaia/Ssaia CSRs through the CSR table, as csrrw/csrrs reach them:
 * present only on a hart with AIA, the indirect windows onto the hart's
 * IMSIC files and the iprio array, topei claims, mtopi/stopi.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Priv, RiscvCpu } from "../../../src/target/riscv/cpu.js";
import { SystemMemory } from "../../../src/target/riscv/mmu.js";
import { SystemBus } from "../../../src/hw/core/bus.js";
import { csrAccess } from "../../../src/target/riscv/csr.js";
import { registerPrivilegedCsrs } from "../../../src/target/riscv/csr-priv.js";
import { HartAia, Iselect, registerAiaCsrs, topInterrupt } from "../../../src/target/riscv/aia.js";
import { Irq, Mstatus } from "../../../src/target/riscv/hart-state.js";
import { pendingInterrupt } from "../../../src/target/riscv/priv.js";
import { Imsic } from "../../../src/hw/intc/imsic.js";
import { MipBit, type HartIrqs } from "../../../src/hw/core/irq.js";

const MISELECT = 0x350, MIREG = 0x351, MTOPEI = 0x35c, MTOPI = 0xfb0;
const SISELECT = 0x150, SIREG = 0x151, STOPEI = 0x15c, STOPI = 0xdb0;

function hart(withAia: boolean) {
  registerPrivilegedCsrs();
  registerAiaCsrs();
  const bus = new SystemBus({ romBase: 0x1000, romSize: 0xf000, ramBase: 0x80000000, ramSize: 1 << 20 });
  const cpu = new RiscvCpu(new SystemMemory(bus));
  cpu.system = true;
  cpu.usePrivilegeTlbs();
  cpu.priv = Priv.M;
  const irqs: HartIrqs = {
    setMip(_h: number, bit: MipBit, level: boolean): void {
      cpu.state.mip = level ? cpu.state.mip | (1 << bit) : cpu.state.mip & ~(1 << bit);
    },
  };
  const m = new Imsic({ base: 0x24000000, harts: 1, machineLevel: true, irqs });
  const s = new Imsic({ base: 0x28000000, harts: 1, machineLevel: false, irqs });
  if (withAia) cpu.aia = new HartAia(m.files[0], s.files[0]);
  const csr = {
    cpu, m, s,
    read(num: number): bigint | undefined {
      if (!csrAccess(cpu, num, 1, false, 0, 0)) return undefined;
      return (BigInt(cpu.tmpHi >>> 0) << 32n) | BigInt(cpu.tmpLo >>> 0);
    },
    /** csrrw: the old value, or undefined when illegal. */
    write(num: number, v: bigint): bigint | undefined {
      if (!csrAccess(cpu, num, 0, true, Number(BigInt.asIntN(32, v)), Number(BigInt.asIntN(32, v >> 32n)))) return undefined;
      return (BigInt(cpu.tmpHi >>> 0) << 32n) | BigInt(cpu.tmpLo >>> 0);
    },
    set(num: number, v: bigint): boolean {
      return csrAccess(cpu, num, 1, true, Number(BigInt.asIntN(32, v)), Number(BigInt.asIntN(32, v >> 32n)));
    },
  };
  return csr;
}

test("without AIA the CSRs do not exist: illegal, as before", () => {
  const c = hart(false);
  for (const n of [MISELECT, MIREG, MTOPEI, MTOPI, SISELECT, SIREG, STOPEI, STOPI]) {
    assert.equal(c.read(n), undefined, n.toString(16));
  }
});

test("miselect holds 9 bits; mireg reaches the M file's eidelivery, eithreshold, eip and eie", () => {
  const c = hart(true);
  c.write(MISELECT, 0xfffn);
  assert.equal(c.read(MISELECT), 0x1ffn);
  c.write(MISELECT, BigInt(Iselect.EIDELIVERY));
  c.write(MIREG, 0xffn);
  assert.equal(c.read(MIREG), 1n);
  assert.equal(c.m.files[0].eidelivery, 1);
  assert.equal(c.s.files[0].eidelivery, 0, "the S file is separate");
  c.write(MISELECT, BigInt(Iselect.EIE0));
  c.set(MIREG, 1n << 40n);
  assert.equal(c.read(MIREG), 1n << 40n);
  c.m.files[0].setPending(40);
  assert.ok((c.cpu.state.mip & Irq.MEI) !== 0);
  c.write(MISELECT, BigInt(Iselect.EIP0));
  assert.equal(c.read(MIREG), 1n << 40n);
  c.write(MISELECT, BigInt(Iselect.EIP0 + 1));
  assert.equal(c.read(MIREG), undefined, "eip1 on RV64: illegal");
  c.write(MISELECT, 0x71n);
  assert.equal(c.read(MIREG), undefined, "nothing at 0x71: illegal");
});

test("mtopei shows the top id; csrrw claims it (OpenSBI's csr_swap(CSR_MTOPEI, 0))", () => {
  const c = hart(true);
  c.write(MISELECT, BigInt(Iselect.EIDELIVERY));
  c.write(MIREG, 1n);
  c.write(MISELECT, BigInt(Iselect.EIE0));
  c.write(MIREG, 0b110n);
  c.m.files[0].setPending(2);
  c.m.files[0].setPending(1);
  assert.equal(c.read(MTOPEI), (1n << 16n) | 1n);
  assert.equal(c.read(MTOPEI), (1n << 16n) | 1n, "a read alone claims nothing");
  assert.equal(c.write(MTOPEI, 0n), (1n << 16n) | 1n);
  assert.equal(c.write(MTOPEI, 0n), (2n << 16n) | 2n);
  assert.equal(c.write(MTOPEI, 0n), 0n);
  assert.equal(c.cpu.state.mip & Irq.MEI, 0);
});

test("from S-mode: siselect/sireg/stopei reach the S file; the M registers are out of reach", () => {
  const c = hart(true);
  c.cpu.priv = Priv.S;
  assert.equal(c.read(MISELECT), undefined);
  assert.equal(c.read(MTOPEI), undefined);
  c.write(SISELECT, BigInt(Iselect.EIDELIVERY));
  c.write(SIREG, 1n);
  c.write(SISELECT, BigInt(Iselect.EITHRESHOLD));
  c.write(SIREG, 0n);
  c.write(SISELECT, BigInt(Iselect.EIE0 + 2));
  c.write(SIREG, 1n);
  c.s.files[0].setPending(64);
  assert.ok((c.cpu.state.mip & Irq.SEI) !== 0);
  assert.equal(c.write(STOPEI, 0n), (64n << 16n) | 64n);
  assert.equal(c.cpu.state.mip & Irq.SEI, 0);
});

test("iprio0-15 through mireg/siselect: even ones only, 8 priorities each, the external interrupt's read-only zero", () => {
  const c = hart(true);
  c.write(MISELECT, BigInt(Iselect.IPRIO0 + 2));
  c.write(MIREG, 0x0807060504030201n);
  assert.equal(c.read(MIREG), 0x0807060500030201n, "iprio for interrupt 11 (MEI, bits 31:24 of iprio2) stays zero");
  c.write(MISELECT, BigInt(Iselect.IPRIO0 + 3));
  assert.equal(c.read(MIREG), undefined);
  c.write(SISELECT, BigInt(Iselect.IPRIO0 + 2));
  c.write(SIREG, -1n);
  assert.equal(c.read(SIREG), 0xffffffffffff00ffn, "iprio for interrupt 9 (SEI) stays zero");
});

test("mtopi and stopi: the top pending-and-enabled interrupt of each level, default order SEI, SSI, STI", () => {
  const c = hart(true);
  const st = c.cpu.state;
  st.mideleg = Irq.SSI | Irq.STI | Irq.SEI;
  st.mie = Irq.SSI | Irq.STI | Irq.MTI;
  st.mip = Irq.SSI | Irq.STI | Irq.MTI;
  assert.equal(c.read(MTOPI), (7n << 16n) | 255n, "MTI, below MEI by default");
  assert.equal(c.read(STOPI), (1n << 16n) | 255n, "SSI before STI; a zero-numbered interrupt below SEI reports 255");
  st.mie |= Irq.SEI;
  st.mip |= Irq.SEI;
  assert.equal(c.read(STOPI), 9n << 16n);
  st.mie = 0;
  assert.equal(c.read(STOPI), 0n);
  assert.equal(c.read(MTOPI), 0n);
  assert.equal(c.write(MTOPI, 1n), undefined, "mtopi is read-only");
});

test("topInterrupt: a nonzero priority number ranks with the external interrupt; default order breaks ties", () => {
  const iprio = new Uint8Array(64);
  const bits = (...irqs: number[]): number => irqs.reduce((a, i) => a | (1 << i), 0);
  assert.equal(topInterrupt(bits(5, 1), iprio, 9) >>> 16, 1);
  iprio[5] = 3;
  assert.equal(topInterrupt(bits(5, 1), iprio, 9), (5 << 16) | 3, "STI numbered 3 now beats SSI (zero: below SEI)");
  assert.equal(topInterrupt(bits(5, 9), iprio, 9) >>> 16, 9, "SEI first in its group");
  iprio[1] = 2;
  assert.equal(topInterrupt(bits(5, 1), iprio, 9), (1 << 16) | 2);
  assert.equal(topInterrupt(0, iprio, 9), 0);
});

test("the hart takes interrupts in the order the iprio arrays give (default order while they are zero)", () => {
  const c = hart(true);
  const st = c.cpu.state;
  c.cpu.priv = Priv.U;
  st.mstatus |= Mstatus.SIE;
  st.mideleg = Irq.SSI | Irq.STI | Irq.SEI;
  st.mie = st.mip = Irq.SSI | Irq.STI | Irq.MTI;
  assert.equal(pendingInterrupt(c.cpu), 7, "M level first");
  st.mip &= ~Irq.MTI;
  assert.equal(pendingInterrupt(c.cpu), 1, "SSI before STI by default");
  c.cpu.priv = Priv.S;
  c.write(SISELECT, BigInt(Iselect.IPRIO0));
  c.write(SIREG, 5n << 40n);
  c.cpu.priv = Priv.U;
  assert.equal(pendingInterrupt(c.cpu), 5, "STI numbered 5 now comes first");
});
