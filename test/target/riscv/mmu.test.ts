/**
 * The system MMU and PMP on their own: Sv39/Sv48 walks over page tables built
 * in a RAM buffer, A/D updates, permission faults, and PMP region matching.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Cause, Priv, RiscvCpu } from "../../../src/target/riscv/cpu.js";
import { SystemMemory } from "../../../src/target/riscv/mmu.js";
import { SystemBus } from "../../../src/hw/core/bus.js";
import { Access } from "../../../src/target/riscv/tlb.js";
import { Mstatus, SatpMode } from "../../../src/target/riscv/hart-state.js";
import { PmpResult, pmpCheck, pmpUpdate } from "../../../src/target/riscv/pmp.js";
import { csrAccess } from "../../../src/target/riscv/csr.js";
import { registerPrivilegedCsrs } from "../../../src/target/riscv/csr-priv.js";
import { PrivResult, execSfenceVma } from "../../../src/target/riscv/priv.js";

const RAM = 0x80000000;
const V = 1, R = 2, W = 4, X = 8, U = 16, A = 0x40, D = 0x80;
/** pmpcfg permission bits. */
const PMP_R = 1, PMP_W = 2;

function machine(): { cpu: RiscvCpu; bus: SystemBus; mem: SystemMemory } {
  const bus = new SystemBus({ romBase: 0x1000, romSize: 0xf000, ramBase: RAM, ramSize: 16 << 20 });
  const mem = new SystemMemory(bus);
  const cpu = new RiscvCpu(mem);
  cpu.system = true;
  cpu.usePrivilegeTlbs();
  cpu.priv = Priv.S;
  cpu.selectTlb();
  return { cpu, bus, mem };
}

function pte(bus: SystemBus, addr: number, ppn: number, flags: number): void {
  const v = new DataView(bus.u8.buffer);
  v.setBigUint64(bus.hostOffset(addr, 8), (BigInt(ppn) << 10n) | BigInt(flags), true);
}

function readPte(bus: SystemBus, addr: number): number {
  return Number(new DataView(bus.u8.buffer).getBigUint64(bus.hostOffset(addr, 8), true) & 0x3ffn);
}

/** Sv39 tables: root at RAM+0x1000, level-1 at +0x2000, level-0 at +0x3000; VA 0x40000000 + n*4K. */
function sv39(bus: SystemBus, cpu: RiscvCpu, leafFlags: number): void {
  const root = RAM + 0x1000, l1 = RAM + 0x2000, l0 = RAM + 0x3000;
  pte(bus, root + 1 * 8, l1 / 4096, V);       // VPN[2] = 1 (0x40000000)
  pte(bus, l1 + 0 * 8, l0 / 4096, V);
  pte(bus, l0 + 0 * 8, (RAM + 0x10000) / 4096, leafFlags);
  cpu.state.satpMode = SatpMode.SV39;
  cpu.state.satpPpn = root / 4096;
}

test("Sv39: a 4K leaf maps, and A then D are set by the walk", () => {
  const { cpu, bus, mem } = machine();
  sv39(bus, cpu, V | R | W);
  const host = mem.translate(cpu, 0, 0x40000123, Access.READ);
  assert.equal(host, bus.hostOffset(RAM + 0x10123, 1));
  assert.equal(readPte(bus, RAM + 0x3000) & (A | D), A);
  mem.translate(cpu, 0, 0x40000123, Access.WRITE);
  assert.equal(readPte(bus, RAM + 0x3000) & (A | D), A | D);
});

test("Sv39: permission faults carry the address in tval", () => {
  const { cpu, bus, mem } = machine();
  sv39(bus, cpu, V | R);
  assert.equal(mem.translate(cpu, 0, 0x40000010, Access.WRITE), -1);
  assert.equal(cpu.trapCause, Cause.STORE_PAGE_FAULT);
  assert.equal(cpu.trapTvalLo, 0x40000010);
  assert.equal(mem.translate(cpu, 0, 0x40000010, Access.FETCH), -1);
  assert.equal(cpu.trapCause, Cause.INSN_PAGE_FAULT);
  // A user page from S-mode: only with SUM, and never for fetch.
  sv39(bus, cpu, V | R | X | U);
  cpu.flushTlbs();
  assert.equal(mem.translate(cpu, 0, 0x40000000, Access.READ), -1);
  cpu.state.mstatus |= Mstatus.SUM;
  assert.ok(mem.translate(cpu, 0, 0x40000000, Access.READ) >= 0);
  assert.equal(mem.translate(cpu, 0, 0x40000000, Access.FETCH), -1);
  // An S page from U-mode.
  sv39(bus, cpu, V | R);
  cpu.priv = Priv.U;
  cpu.selectTlb();
  assert.equal(mem.translate(cpu, 0, 0x40000000, Access.READ), -1);
  assert.equal(cpu.trapCause, Cause.LOAD_PAGE_FAULT);
});

test("Sv39: MXR makes execute-only pages readable; W without R is reserved", () => {
  const { cpu, bus, mem } = machine();
  sv39(bus, cpu, V | X);
  assert.equal(mem.translate(cpu, 0, 0x40000000, Access.READ), -1);
  cpu.state.mstatus |= Mstatus.MXR;
  assert.ok(mem.translate(cpu, 0, 0x40000000, Access.READ) >= 0);
  sv39(bus, cpu, V | W);
  cpu.flushTlbs();
  assert.equal(mem.translate(cpu, 0, 0x40000000, Access.READ), -1);
});

test("Sv39: non-canonical addresses and misaligned superpages fault", () => {
  const { cpu, bus, mem } = machine();
  sv39(bus, cpu, V | R);
  assert.equal(mem.translate(cpu, 0x100, 0x40000000, Access.READ), -1);
  assert.equal(cpu.trapCause, Cause.LOAD_PAGE_FAULT);
  // A 2 MiB leaf at level 1 whose PPN is not 2 MiB aligned.
  pte(bus, RAM + 0x2000, (RAM + 0x1000) / 4096, V | R);
  cpu.flushTlbs();
  assert.equal(mem.translate(cpu, 0, 0x40000000, Access.READ), -1);
  // An aligned one maps the whole 2 MiB.
  pte(bus, RAM + 0x2000, (RAM + 0x200000) / 4096, V | R);
  assert.equal(mem.translate(cpu, 0, 0x40123456, Access.READ), bus.hostOffset(RAM + 0x323456, 1));
});

/** Whether the hart's current TLB holds a read translation of the page at `lo` (high word 0). */
function cached(cpu: RiscvCpu, lo: number): boolean {
  const r = cpu.tlb.read;
  const e = 4 * ((lo >>> 12) & (r.length / 4 - 1));
  return r[e] === (lo & ~0xfff) && r[e + 1] === 0;
}

test("sfence.vma with an address drops that page's translations, and all of a cached superpage's", () => {
  const { cpu, bus, mem } = machine();
  sv39(bus, cpu, V | R | W | A | D);
  pte(bus, RAM + 0x3000 + 8, (RAM + 0x11000) / 4096, V | R | W | A | D); // VA 0x40001000
  const read = (lo: number): number => mem.translate(cpu, 0, lo, Access.READ);
  assert.equal(read(0x40000000), bus.hostOffset(RAM + 0x10000, 1));
  assert.equal(read(0x40001000), bus.hostOffset(RAM + 0x11000, 1));
  assert.ok(cached(cpu, 0x40000000) && cached(cpu, 0x40001000));
  assert.equal(execSfenceVma(cpu, false, 0, 0x40000abc), PrivResult.NEXT);
  assert.ok(!cached(cpu, 0x40000000), "the page named goes");
  assert.ok(cached(cpu, 0x40001000), "the other page stays");
  assert.equal(execSfenceVma(cpu, true, 0, 0), PrivResult.NEXT);
  assert.ok(!cached(cpu, 0x40001000));

  // A 2 MiB leaf: its pages are cached one by one, and a fence of any address
  // inside it must drop them all.
  pte(bus, RAM + 0x2000, (RAM + 0x200000) / 4096, V | R | A);
  assert.equal(read(0x40005000), bus.hostOffset(RAM + 0x205000, 1));
  assert.ok(cached(cpu, 0x40005000));
  assert.equal(execSfenceVma(cpu, false, 0, 0x50000000), PrivResult.NEXT);
  assert.ok(cached(cpu, 0x40005000), "a fence outside the superpage leaves it");
  assert.equal(execSfenceVma(cpu, false, 0, 0x40100000), PrivResult.NEXT);
  assert.ok(!cached(cpu, 0x40005000), "a fence inside the superpage drops its pages");
  // Not from U mode.
  cpu.priv = Priv.U;
  assert.equal(execSfenceVma(cpu, false, 0, 0x40000000), PrivResult.ILLEGAL);
});

test("two pages sharing a TLB slot: the one pushed out is served by the victim TLB without a walk, until a fence", () => {
  const { cpu, bus, mem } = machine();
  sv39(bus, cpu, V | R | W | A | D);
  // VA 0x40400000 (4 MiB on: the same slot of the 1024-entry TLB) through a second level-0 table.
  pte(bus, RAM + 0x2000 + 2 * 8, (RAM + 0x4000) / 4096, V);
  pte(bus, RAM + 0x4000, (RAM + 0x20000) / 4096, V | R | W | A | D);
  const a = 0x40000000, b = 0x40400000;
  const read = (lo: number): number => mem.translate(cpu, 0, lo, Access.READ);
  const host = (pa: number): number => bus.hostOffset(pa, 1);
  assert.equal(read(a), host(RAM + 0x10000));
  assert.equal(read(b), host(RAM + 0x20000));
  assert.ok(cached(cpu, b) && !cached(cpu, a), "one slot holds one page");
  // New leaves without a fence: a translation served from a TLB keeps the old page, a walk finds the new one.
  pte(bus, RAM + 0x3000, (RAM + 0x30000) / 4096, V | R | W | A | D);
  pte(bus, RAM + 0x4000, (RAM + 0x40000) / 4096, V | R | W | A | D);
  assert.equal(read(a + 8), host(RAM + 0x10008), "a came back from the victim TLB, not from a walk");
  assert.ok(cached(cpu, a), "and took its slot back");
  assert.equal(read(b + 8), host(RAM + 0x20008), "b went to the victim TLB in its place");
  // A fence of one page drops it wherever it is; the other stays.
  assert.equal(execSfenceVma(cpu, false, 0, a), PrivResult.NEXT);
  assert.equal(read(a), host(RAM + 0x30000));
  assert.equal(read(b), host(RAM + 0x20000), "b is still served from the victim TLB");
  assert.equal(execSfenceVma(cpu, true, 0, 0), PrivResult.NEXT);
  assert.equal(read(b), host(RAM + 0x40000), "a whole fence empties the victim TLB too");
});

test("S mode keeps a TLB for each value of mstatus.SUM", () => {
  registerPrivilegedCsrs();
  const { cpu, bus, mem } = machine();
  sv39(bus, cpu, V | R | W | U | A | D);
  pte(bus, RAM + 0x3000 + 8, (RAM + 0x11000) / 4096, V | R | W | A | D); // an S page at 0x40001000
  const sum = (on: boolean): void => {
    assert.ok(csrAccess(cpu, 0x100, on ? 1 : 2, true, Mstatus.SUM, 0)); // csrrs / csrrc sstatus
  };
  assert.equal(mem.translate(cpu, 0, 0x40001000, Access.READ), bus.hostOffset(RAM + 0x11000, 1));
  assert.equal(mem.translate(cpu, 0, 0x40000000, Access.READ), -1);
  sum(true);
  assert.ok(!cached(cpu, 0x40001000), "SUM set: the other TLB");
  assert.equal(mem.translate(cpu, 0, 0x40000000, Access.READ), bus.hostOffset(RAM + 0x10000, 1));
  assert.ok(cached(cpu, 0x40000000));
  sum(false);
  assert.ok(!cached(cpu, 0x40000000), "what SUM allowed is not kept past it");
  assert.ok(cached(cpu, 0x40001000), "SUM clear again: the first TLB, as it was");
  assert.equal(mem.translate(cpu, 0, 0x40000000, Access.READ), -1);
  assert.equal(cpu.trapCause, Cause.LOAD_PAGE_FAULT);
  sum(true);
  assert.ok(cached(cpu, 0x40000000), "SUM set again: its TLB, as it was");
  // Under MPRV, M mode's accesses use its own TLB, which a change of SUM empties.
  cpu.priv = Priv.M;
  cpu.state.mstatus |= Mstatus.MPRV | (1 << 11); // MPP = S
  cpu.selectTlb();
  mem.translate(cpu, 0, 0x40000000, Access.READ);
  assert.ok(cached(cpu, 0x40000000));
  assert.ok(csrAccess(cpu, 0x300, 2, true, Mstatus.SUM, 0)); // csrrc mstatus
  assert.ok(!cached(cpu, 0x40000000));
});

test("M-mode and bare satp use physical addresses; nothing mapped is an access fault", () => {
  const { cpu, mem, bus } = machine();
  cpu.priv = Priv.M;
  cpu.selectTlb();
  assert.equal(mem.translate(cpu, 0, RAM + 5, Access.READ), bus.hostOffset(RAM + 5, 1));
  assert.equal(mem.translate(cpu, 0, 0x50000000, Access.WRITE), -1);
  assert.equal(cpu.trapCause, Cause.STORE_ACCESS);
  assert.equal(mem.translate(cpu, 0, 0x1000, Access.FETCH), 0x1000); // the boot ROM
});

test("PMP: TOR, NA4 and NAPOT ranges, first match wins, S/U denied when nothing matches", () => {
  const { cpu } = machine();
  const st = cpu.state;
  const set = (i: number, cfg: number, addr: number): void => {
    st.pmpcfg[i] = cfg;
    st.pmpaddr[i] = addr;
    st.pmpaddrLo[i] = addr | 0;
    st.pmpaddrHi[i] = Math.floor(addr / 2 ** 32);
  };
  // Entry 0: NAPOT 64 KiB at RAM, no permissions (like OpenSBI protecting itself).
  set(0, 3 << 3, (RAM >>> 2) | ((0x10000 >>> 3) - 1));
  // Entry 1: TOR from entry 0's raw address (RAM + 0x7fffc) up to RAM + 16 MiB, read only.
  set(1, (1 << 3) | PMP_R, (RAM + (16 << 20)) / 4);
  pmpUpdate(st);
  assert.equal(pmpCheck(st, RAM + 0x100, Access.READ, Priv.S), PmpResult.DENY);
  assert.equal(pmpCheck(st, RAM + 0x100, Access.READ, Priv.M), PmpResult.ALLOW_PAGE);
  assert.equal(pmpCheck(st, RAM + 0x100000, Access.READ, Priv.S), PmpResult.ALLOW_PAGE);
  assert.equal(pmpCheck(st, RAM + 0x100000, Access.WRITE, Priv.U), PmpResult.DENY);
  assert.equal(pmpCheck(st, RAM + (32 << 20), Access.READ, Priv.S), PmpResult.DENY);
  // NA4: four bytes; the page around it may not be cached whole.
  set(2, (2 << 3) | PMP_R | PMP_W, (RAM + (20 << 20)) / 4);
  pmpUpdate(st);
  assert.equal(pmpCheck(st, RAM + (20 << 20), Access.WRITE, Priv.S), PmpResult.ALLOW_ADDRESS);
  // A locked entry binds M-mode too.
  st.pmpcfg[0] |= 0x80;
  pmpUpdate(st);
  assert.equal(pmpCheck(st, RAM + 0x100, Access.READ, Priv.M), PmpResult.DENY);
});
