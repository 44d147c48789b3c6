/**
 * The riscv side of the gdbstub without gdb: the register map and target
 * description (QEMU 7.2's numbering), the side-effect-free debug page walk,
 * and breakpoints, watchpoints and single steps as the interpreter sees them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Exit, Priv, RiscvCpu, type CpuDebug } from "../../src/target/riscv/cpu.js";
import { SystemMemory } from "../../src/target/riscv/mmu.js";
import { SystemBus } from "../../src/hw/core/bus.js";
import { Mstatus, SatpMode } from "../../src/target/riscv/hart-state.js";
import { Access } from "../../src/target/riscv/tlb.js";
import { registerPrivilegedCsrs } from "../../src/target/riscv/csr-priv.js";
import { wordsToBytes } from "../../src/target/riscv/encode.js";
import { AddressSpace, Prot } from "../../src/user/linux/address-space.js";
import { run } from "../../src/accel/interp.js";
import { debugAccess, debugTranslate } from "../../src/gdbstub/debug-mmu.js";
import { DebugPoints } from "../../src/gdbstub/debug-points.js";
import { knownCsrs, readRegister, riscvDescription, writeRegister } from "../../src/gdbstub/riscv-registers.js";
import { PointType } from "../../src/gdbstub/target.js";

const le = (v: bigint): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  return b;
};
const val = (b: Uint8Array | undefined): bigint => {
  assert.ok(b !== undefined);
  return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
};

test("target description: QEMU 7.2's features, order and register numbers", () => {
  const d = riscvDescription(knownCsrs());
  assert.deepEqual([...d.files.keys()], ["target.xml", "riscv-64bit-cpu.xml", "riscv-64bit-fpu.xml", "riscv-64bit-virtual.xml", "riscv-csr.xml"]);
  const target = d.files.get("target.xml") ?? "";
  assert.match(target, /<architecture>riscv:rv64<\/architecture><xi:include href="riscv-64bit-cpu.xml"\/><xi:include href="riscv-64bit-fpu.xml"\/><xi:include href="riscv-64bit-virtual.xml"\/><xi:include href="riscv-csr.xml"\/>/);
  const cpu = d.files.get("riscv-64bit-cpu.xml") ?? "";
  const names = [...cpu.matchAll(/name="([a-z0-9]+)" bitsize="64"/g)].map((m) => m[1]);
  assert.deepEqual(names.slice(0, 9), ["zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "fp"]);
  assert.deepEqual(names.slice(-5), ["t3", "t4", "t5", "t6", "pc"]);
  assert.equal(names.length, 33);
  assert.match(cpu, /<feature name="org.gnu.gdb.riscv.cpu">/);
  assert.match(d.files.get("riscv-64bit-fpu.xml") ?? "", /<feature name="org.gnu.gdb.riscv.fpu">.*name="ft0" bitsize="64" type="riscv_double".*name="ft11"/);
  assert.match(d.files.get("riscv-64bit-virtual.xml") ?? "", /org.gnu.gdb.riscv.virtual.*<reg name="priv" bitsize="64"\/>/);
  // As qemu-riscv64 7.2: fflags, frm, fcsr at 66 + CSR number.
  const csr = d.files.get("riscv-csr.xml") ?? "";
  assert.match(csr, /<reg name="fflags" bitsize="64" regnum="67"\/><reg name="frm" bitsize="64" regnum="68"\/><reg name="fcsr" bitsize="64" regnum="69"\/>/);
  assert.match(csr, /<reg name="cycle" bitsize="64" regnum="3138"\/>/);
  assert.equal(d.gRegisters, 33);
});

test("registers: x, pc, f, priv and CSRs by gdb number", () => {
  const as = new AddressSpace();
  const cpu = new RiscvCpu(as);
  const csrs = new Set(knownCsrs());
  cpu.setX(5, -2n);
  cpu.pc = 0x10554;
  cpu.fl[1] = 0x3ff00000; cpu.fh[1] = 0x12345678;
  cpu.fflags = 0x11; cpu.frm = 2;
  assert.equal(val(readRegister(cpu, 5, csrs)), 0xfffffffffffffffen);
  assert.equal(val(readRegister(cpu, 0, csrs)), 0n);
  assert.equal(val(readRegister(cpu, 32, csrs)), 0x10554n);
  assert.equal(val(readRegister(cpu, 34, csrs)), 0x123456783ff00000n);
  assert.equal(val(readRegister(cpu, 65, csrs)), 0n, "user mode: priv reads 0");
  assert.equal(val(readRegister(cpu, 67, csrs)), 0x11n);
  assert.equal(val(readRegister(cpu, 68, csrs)), 2n);
  assert.equal(val(readRegister(cpu, 69, csrs)), 0x51n);
  assert.equal(readRegister(cpu, 66, csrs), undefined, "CSR 0 does not exist");
  assert.equal(readRegister(cpu, 66 + 0x300, csrs), undefined);
  assert.ok(writeRegister(cpu, 10, le(0x123456789abcdefn), csrs));
  assert.equal(cpu.getX(10), 0x123456789abcdefn);
  assert.ok(writeRegister(cpu, 0, le(5n), csrs));
  assert.equal(cpu.getX(0), 0n, "x0 stays zero");
  assert.ok(writeRegister(cpu, 32, le(0xffffffff80000000n), csrs));
  assert.equal(cpu.pc, -0x80000000, "the pc is kept signed");
  assert.equal(val(readRegister(cpu, 32, csrs)), 0xffffffff80000000n);
  assert.ok(writeRegister(cpu, 69, le(0xe3n), csrs));
  assert.equal(cpu.frm, 7);
  assert.equal(cpu.fflags, 3);
  assert.ok(writeRegister(cpu, 33, le(0x7ff8000000000001n), csrs));
  assert.equal(cpu.fh[0], 0x7ff80000);
  assert.equal(cpu.fl[0], 1);
});

function systemHart(): { cpu: RiscvCpu; bus: SystemBus } {
  registerPrivilegedCsrs();
  const bus = new SystemBus({ romBase: 0x1000, romSize: 0xf000, ramBase: 0x80000000, ramSize: 16 << 20 });
  const cpu = new RiscvCpu(new SystemMemory(bus));
  cpu.system = true;
  cpu.usePrivilegeTlbs();
  return { cpu, bus };
}

test("registers of a system hart: priv and privileged CSRs, whatever the privilege", () => {
  const { cpu } = systemHart();
  const csrs = new Set(knownCsrs());
  assert.ok(csrs.has(0x300) && csrs.has(0x180) && csrs.has(0xf14));
  cpu.priv = Priv.U;
  cpu.fpOff = true;
  cpu.state.mhartid = 3;
  assert.equal(val(readRegister(cpu, 66 + 0xf14, csrs)), 3n, "mhartid, read from U-mode by the debugger");
  assert.equal(val(readRegister(cpu, 65, csrs)), 0n);
  assert.ok(writeRegister(cpu, 65, le(2n), csrs));
  assert.equal(cpu.priv, Priv.S, "priv 2 is reserved: S, as QEMU");
  assert.equal(cpu.fpOff, true, "reading CSRs leaves FS alone");
  // mstatus.FS = Initial through the debugger turns the FPU on.
  assert.ok(writeRegister(cpu, 66 + 0x300, le(1n << 13n), csrs));
  assert.equal(cpu.fpOff, false);
  assert.equal(cpu.priv, Priv.S);
});

test("debug translation: Sv39 walks with no A/D updates and no permission checks", () => {
  const { cpu, bus } = systemHart();
  const dv = new DataView(bus.u8.buffer);
  const pte = (addr: number, ppn: number, flags: number): void =>
    dv.setBigUint64(bus.hostOffset(addr, 8), (BigInt(ppn) << 10n) | BigInt(flags), true);
  const RAM = 0x80000000;
  const root = RAM + 0x1000, l1 = RAM + 0x2000, l0 = RAM + 0x3000;
  pte(root + 1 * 8, l1 / 4096, 1);                       // VA 0x40000000...
  pte(l1 + 0, l0 / 4096, 1);
  pte(l0 + 0, (RAM + 0x10000) / 4096, 1 | 2 | 16);       // a 4K user page, R, no A/D
  pte(root + 510 * 8, RAM / 4096, 1 | 2 | 4 | 8);        // VA 0xffffffff80000000: a 1G page, RWX
  cpu.state.satpMode = SatpMode.SV39;
  cpu.state.satpPpn = root / 4096;
  cpu.priv = Priv.S;
  assert.equal(debugTranslate(cpu, bus, 0x40000123), RAM + 0x10123);
  assert.equal(debugTranslate(cpu, bus, -0x80000000 + 0x1234), RAM + 0x1234);
  assert.equal(debugTranslate(cpu, bus, 0x40001000), -1, "unmapped");
  assert.equal(debugTranslate(cpu, bus, 0x4000000000), -1, "not canonical for Sv39");
  assert.equal(dv.getBigUint64(bus.hostOffset(l0, 8), true) & 0xc0n, 0n, "A and D untouched");
  bus.u8[bus.hostOffset(RAM + 0x10ffe, 1)] = 0xab;
  const out = new Uint8Array(4);
  assert.equal(debugAccess(cpu, bus, 0x40000ffe, out, false), false, "the second page is not mapped");
  assert.ok(debugAccess(cpu, bus, 0x40000ffe, out.subarray(0, 2), false));
  assert.equal(out[0], 0xab);
  assert.ok(debugAccess(cpu, bus, 0x40000ff0, Uint8Array.of(1, 2, 3), true));
  assert.equal(bus.u8[bus.hostOffset(RAM + 0x10ff1, 1)], 2);
  // The TLB saw nothing: a real access still walks (and sets A); it needs SUM for a user page.
  cpu.tlb.flushAll();
  cpu.state.mstatus |= Mstatus.SUM;
  assert.ok(cpu.mem.translate(cpu, 0, 0x40000000, Access.READ) >= 0);
  assert.equal(dv.getBigUint64(bus.hostOffset(l0, 8), true) & 0x40n, 0x40n);
  // M-mode: physical.
  cpu.priv = Priv.M;
  assert.equal(debugTranslate(cpu, bus, 0x40000123), 0x40000123);
  // Device memory is not read by the debugger.
  assert.equal(debugAccess(cpu, bus, 0x10000000, new Uint8Array(1), false), false);
});

/** A user-mode hart over code at 0x10000 and data at 0x20000, with a debug hook recording what it saw. */
function userHart(code: number[]): { cpu: RiscvCpu; points: DebugPoints; exits: Exit[]; as: AddressSpace } {
  const as = new AddressSpace();
  as.map(0x10000, 0x11000, Prot.READ | Prot.EXEC, "code");
  as.map(0x20000, 0x21000, Prot.READ | Prot.WRITE, "data");
  as.write(0x10000, wordsToBytes(code));
  const cpu = new RiscvCpu(as);
  cpu.pc = 0x10000;
  const points = new DebugPoints(as.ram);
  const exits: Exit[] = [];
  const hook: CpuDebug = {
    breakpointAt: (pc) => points.breakpointAt(pc),
    watchesPage: (hi, lo) => points.watchesPage(hi, lo),
    watchHit: (c, hi, lo, size, write) => points.watchHit(c, hi, lo, size, write),
    enter: (_c, budget) => { points.running(); return budget; },
    leave: (_c, exit) => { exits.push(exit); return exit; },
  };
  cpu.debug = hook;
  return { cpu, points, exits, as };
}

// lui t0, 0x20 (t0 = 0x20000); addi t1, zero, 7; loop: sd t1, 8(t0); ld t2, 8(t0); addi t1, t1, 1; j loop
const LOOP = [0x000202b7, 0x00700313, 0x0062b423, 0x0082b383, 0x00130313, 0xff5ff06f];

test("interpreter: a breakpoint stops before its instruction, every time, until removed", () => {
  const { cpu, points } = userHart(LOOP);
  assert.equal(run(cpu, 100), Exit.BUDGET, "decoded before any breakpoint");
  points.insert(PointType.SW_BREAK, 0x1000cn, 4);
  assert.equal(run(cpu, 100), Exit.DEBUG);
  assert.equal(cpu.pc, 0x1000c, "stopped at the ld, not run");
  const before = cpu.instret;
  assert.equal(run(cpu, 100), Exit.DEBUG, "resuming on a breakpoint hits it again, as QEMU");
  assert.equal(cpu.instret, before);
  points.remove(PointType.SW_BREAK, 0x1000cn, 4);
  assert.equal(run(cpu, 1), Exit.BUDGET, "a single step");
  assert.equal(cpu.pc, 0x10010);
  assert.equal(run(cpu, 100), Exit.BUDGET);
  // Code decoded since: the next breakpoint must still be seen (gdb re-inserts them all at each resume).
  points.insert(PointType.SW_BREAK, 0x10010n, 4);
  points.insert(PointType.SW_BREAK, 0x10014n, 4);
  assert.equal(run(cpu, 100), Exit.DEBUG);
  assert.ok(cpu.pc === 0x10010 || cpu.pc === 0x10014);
});

test("interpreter: watchpoints stop before the access, for their kind of access only", () => {
  const { cpu, points, exits } = userHart(LOOP);
  points.insert(PointType.WRITE_WATCH, 0x20008n, 8);
  assert.equal(run(cpu, 100), Exit.TRAP, "the hook turns this into a stop");
  assert.equal(cpu.pc, 0x10008, "before the sd");
  assert.equal(points.takeHit(cpu)?.addr, 0x20008);
  assert.equal(exits.pop(), Exit.TRAP);
  assert.equal(cpu.getX(6), 7n);
  points.remove(PointType.WRITE_WATCH, 0x20008n, 8);
  points.insert(PointType.READ_WATCH, 0x2000cn, 4);
  assert.equal(run(cpu, 100), Exit.TRAP);
  assert.equal(cpu.pc, 0x1000c, "the store went by; the load overlapping the watched word stops");
  assert.equal(points.takeHit(cpu)?.type, PointType.READ_WATCH);
  points.clear();
  assert.equal(run(cpu, 100), Exit.BUDGET);
  // The page is back in the TLB once nothing watches it.
  assert.equal(points.watchesPage(0, 0x20000), false);
});
