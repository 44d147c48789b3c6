/**
 * The monitor's view of a RISC-V hart (QEMU's target/riscv/cpu.c
 * riscv_cpu_dump_state, monitor.c and get_physical_address for debug
 * accesses): the register dump of `info registers`, registers by name for
 * $reg in expressions, and the page walk a debugger does (no A/D bit
 * updates, no traps, no TLB fills).
 */
import { Priv, type RiscvCpu } from "../target/riscv/cpu.js";
import { Mstatus, SatpMode } from "../target/riscv/hart-state.js";
import type { PhysBus } from "../target/riscv/mmu.js";
import { debugTranslate } from "../target/riscv/mmu-debug.js";
import { FREG_NAMES, XREG_NAMES, disassemble } from "../target/riscv/disas.js";
import type { CpuView } from "./machine.js";

const MASK64 = (1n << 64n) - 1n;

const pair = (lo: number, hi: number): bigint => (BigInt(hi | 0) << 32n) | BigInt(lo >>> 0);
/** An address or pc kept as an exact signed Number, as 64 bits. */
const addr = (v: number): bigint => BigInt.asUintN(64, BigInt(v));
const hex = (v: bigint): string => (v & MASK64).toString(16).padStart(16, "0");

/** The CSR values that `info registers` shows and $name reads, as 64-bit numbers. */
function csrs(cpu: RiscvCpu): [string, bigint][] {
  const st = cpu.state;
  const sd = (st.mstatus & Mstatus.FS) === Mstatus.FS ? 0x80000000 : 0;
  return [
    ["mhartid", BigInt(st.mhartid)],
    // UXL = SXL = 2 (64-bit); SD when FS is Dirty.
    ["mstatus", pair(st.mstatus, 0xa | sd)],
    ["mip", BigInt(st.mip >>> 0)],
    ["mie", BigInt(st.mie >>> 0)],
    ["mideleg", BigInt(st.mideleg >>> 0)],
    ["medeleg", BigInt(st.medeleg >>> 0)],
    ["mtvec", addr(st.mtvec)],
    ["stvec", addr(st.stvec)],
    ["mepc", addr(st.mepc)],
    ["sepc", addr(st.sepc)],
    ["mcause", pair(st.mcauseLo, st.mcauseHi)],
    ["scause", pair(st.scauseLo, st.scauseHi)],
    ["mtval", pair(st.mtvalLo, st.mtvalHi)],
    ["stval", pair(st.stvalLo, st.stvalHi)],
    ["mscratch", pair(st.mscratchLo, st.mscratchHi)],
    ["sscratch", pair(st.sscratchLo, st.sscratchHi)],
    ["satp", (BigInt(st.satpMode) << 60n) | (BigInt(st.satpAsid) << 44n) | BigInt(st.satpPpn)],
  ];
}

/** QEMU 7.2's layout for a hart without the H and V extensions. */
export function dumpState(cpu: RiscvCpu): string {
  let out = ` ${"pc".padEnd(8)} ${hex(addr(cpu.pc))}\n`;
  for (const [name, value] of csrs(cpu)) out += ` ${name.padEnd(8)} ${hex(value)}\n`;
  for (let r = 0; r < 32; r++) {
    out += ` ${`x${r}/${XREG_NAMES[r]}`.padEnd(8)} ${hex(pair(cpu.xl[r], cpu.xh[r]))}`;
    if ((r & 3) === 3) out += "\n";
  }
  for (let r = 0; r < 32; r++) {
    out += ` ${`f${r}/${FREG_NAMES[r]}`.padEnd(8)} ${hex(pair(cpu.fl[r], cpu.fh[r]))}`;
    if ((r & 3) === 3) out += "\n";
  }
  return out;
}

/** $name: pc, priv, x0-x31, f0-f31 (raw bits), ABI names (fp = s0), the CSRs of the dump, fflags/frm/fcsr. */
export function readRegister(cpu: RiscvCpu, name: string): bigint | undefined {
  if (name === "pc") return addr(cpu.pc);
  if (name === "priv") return BigInt(cpu.priv);
  if (name === "fflags") return BigInt(cpu.fflags);
  if (name === "frm") return BigInt(cpu.frm);
  if (name === "fcsr") return BigInt((cpu.frm << 5) | cpu.fflags);
  let m = /^x(\d+)$/.exec(name);
  let r = m !== null ? Number(m[1]) : name === "fp" ? 8 : XREG_NAMES.indexOf(name);
  if (r >= 0 && r < 32) return pair(cpu.xl[r], cpu.xh[r]);
  m = /^f(\d+)$/.exec(name);
  r = m !== null ? Number(m[1]) : FREG_NAMES.indexOf(name);
  if (r >= 0 && r < 32) return pair(cpu.fl[r], cpu.fh[r]);
  return csrs(cpu).find(([n]) => n === name)?.[1];
}

/**
 * The physical address of virtual `va` for a data load at the hart's current
 * privilege (MPRV applied), or undefined when the walk finds no valid leaf.
 * Permission bits are not checked: a debugger may look at any mapped page.
 * Without translation the address is used as it is, as QEMU's monitor does.
 */
export function translateDebug(cpu: RiscvCpu, va: bigint, bus: PhysBus): bigint | undefined {
  const st = cpu.state;
  let priv = cpu.priv;
  if (priv === Priv.M && (st.mstatus & Mstatus.MPRV) !== 0) priv = (st.mstatus & Mstatus.MPP) >>> Mstatus.MPP_SHIFT;
  if (priv === Priv.M || (st.satpMode !== SatpMode.SV39 && st.satpMode !== SatpMode.SV48)) return va & MASK64;
  const pa = debugTranslate(cpu, bus, Number(BigInt.asIntN(64, va)));
  return pa < 0 ? undefined : BigInt(pa);
}

/** A CpuView over one hart. */
export function riscvCpuView(cpu: RiscvCpu, bus: PhysBus): CpuView {
  return {
    dumpState: () => dumpState(cpu),
    register: (name) => readRegister(cpu, name),
    translate: (va) => translateDebug(cpu, va, bus),
  };
}

/** One instruction from its first bytes (2 or 4), in the disassembler's syntax. */
export function disassembleBytes(bytes: Uint8Array, at: bigint): { text: string; length: number } {
  const lo = bytes.length >= 2 ? bytes[0] | (bytes[1] << 8) : 0;
  const hi = bytes.length >= 4 ? bytes[2] | (bytes[3] << 8) : 0;
  if ((lo & 3) === 3 && bytes.length < 4) return { text: `.2byte 0x${lo.toString(16)}`, length: 2 };
  return disassemble(lo, hi, Number(BigInt.asIntN(64, at)));
}

