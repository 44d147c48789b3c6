/**
 * The riscv64 register map gdb sees, numbered as QEMU 7.2 numbers it
 * (target/riscv/gdbstub.c): x0-x31 are 0-31 and pc 32
 * (org.gnu.gdb.riscv.cpu); f0-f31 are 33-64 (org.gnu.gdb.riscv.fpu); priv
 * is 65 (org.gnu.gdb.riscv.virtual); CSR n is 66 + n
 * (org.gnu.gdb.riscv.csr), so fflags, frm and fcsr are 67, 68 and 69.
 * Every register is 64 bits, little-endian.
 */
import { Priv, type RiscvCpu } from "../target/riscv/cpu.js";
import { csrAccess, csrName } from "../target/riscv/csr.js";
import { Mstatus } from "../target/riscv/hart-state.js";
import type { TargetDescription } from "./target.js";

export const REG_PC = 32;
export const REG_F0 = 33;
export const REG_PRIV = 65;
export const REG_CSR0 = 66;
/** The g packet holds x0-x31 and pc, as QEMU's. */
export const G_REGISTERS = 33;

const X_NAMES = [
  "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "fp", "s1", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7",
  "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
];
const F_NAMES = [
  "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2", "fa3", "fa4", "fa5",
  "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
];
/** GDB's types for the integer registers: return addresses and the pc are code, the stack and frame pointers data. */
const X_TYPES: Record<string, string> = { ra: "code_ptr", sp: "data_ptr", gp: "data_ptr", tp: "data_ptr", fp: "data_ptr" };

const HEADER = '<?xml version="1.0"?><!DOCTYPE feature SYSTEM "gdb-target.dtd">';

function reg(name: string, type?: string, regnum?: number): string {
  return `<reg name="${name}" bitsize="64"${type !== undefined ? ` type="${type}"` : ""}` +
    `${regnum !== undefined ? ` regnum="${regnum}"` : ""}/>`;
}

/** Every CSR of the CSR table in use (the unprivileged ones; the system emulator adds the privileged set). */
export function knownCsrs(): number[] {
  const out: number[] = [];
  for (let n = 0; n < 4096; n++) if (csrName(n) !== undefined) out.push(n);
  return out;
}

/** The target description: the features QEMU 7.2 gives a riscv64 CPU, in its order. */
export function riscvDescription(csrs: readonly number[]): TargetDescription {
  const cpu = HEADER + '<feature name="org.gnu.gdb.riscv.cpu">' +
    X_NAMES.map((n) => reg(n, X_TYPES[n] ?? "int")).join("") + reg("pc", "code_ptr") + "</feature>";
  const fpu = HEADER + '<feature name="org.gnu.gdb.riscv.fpu">' +
    '<union id="riscv_double"><field name="float" type="ieee_single"/><field name="double" type="ieee_double"/></union>' +
    F_NAMES.map((n) => reg(n, "riscv_double")).join("") + "</feature>";
  const virt = HEADER + '<feature name="org.gnu.gdb.riscv.virtual">' + reg("priv") + "</feature>";
  const csr = HEADER + '<feature name="org.gnu.gdb.riscv.csr">' +
    csrs.map((n) => reg(csrName(n) ?? `csr${n.toString(16).padStart(3, "0")}`, undefined, REG_CSR0 + n)).join("") +
    "</feature>";
  const parts: [string, string][] = [
    ["riscv-64bit-cpu.xml", cpu], ["riscv-64bit-fpu.xml", fpu], ["riscv-64bit-virtual.xml", virt], ["riscv-csr.xml", csr],
  ];
  const target = '<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd"><target>' +
    "<architecture>riscv:rv64</architecture>" + parts.map(([name]) => `<xi:include href="${name}"/>`).join("") + "</target>";
  return { files: new Map([["target.xml", target], ...parts]), gRegisters: G_REGISTERS };
}

function le64(lo: number, hi: number): Uint8Array {
  const out = new Uint8Array(8);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, lo, true);
  dv.setInt32(4, hi, true);
  return out;
}

/** The low and high halves of 8 little-endian bytes (fewer are zero-extended). */
function halves(bytes: Uint8Array): [number, number] {
  const b = new Uint8Array(8);
  b.set(bytes.subarray(0, 8));
  const dv = new DataView(b.buffer);
  return [dv.getInt32(0, true), dv.getInt32(4, true)];
}

/**
 * Run a CSR access with the checks a debugger is exempt from lifted
 * (privilege, counter enables, FS off), as QEMU's riscv_csrrw_debug does.
 */
function debugCsr(cpu: RiscvCpu, num: number, write: boolean, lo: number, hi: number): boolean {
  const priv = cpu.priv, fpOff = cpu.fpOff, tmpLo = cpu.tmpLo, tmpHi = cpu.tmpHi;
  cpu.priv = Priv.M;
  cpu.fpOff = false;
  try {
    const ok = csrAccess(cpu, num, 0, write, lo, hi);
    debugValue[0] = cpu.tmpLo;
    debugValue[1] = cpu.tmpHi;
    return ok;
  } finally {
    cpu.priv = priv;
    // A write may have changed mstatus.FS (mstatus itself, or an FP CSR marking it dirty).
    cpu.fpOff = cpu.system ? (cpu.state.mstatus & Mstatus.FS) === 0 : fpOff;
    cpu.tmpLo = tmpLo;
    cpu.tmpHi = tmpHi;
  }
}
const debugValue = new Int32Array(2);

/** Register `n` of `cpu`; undefined when it has no such register. */
export function readRegister(cpu: RiscvCpu, n: number, csrs: ReadonlySet<number>): Uint8Array | undefined {
  if (n >= 0 && n < 32) return le64(cpu.xl[n], cpu.xh[n]);
  if (n === REG_PC) return le64(cpu.pc | 0, Math.floor(cpu.pc / 4294967296) | 0);
  if (n >= REG_F0 && n < REG_F0 + 32) return le64(cpu.fl[n - REG_F0], cpu.fh[n - REG_F0]);
  if (n === REG_PRIV) return le64(cpu.system ? cpu.priv : 0, 0);
  const num = n - REG_CSR0;
  if (csrs.has(num) && debugCsr(cpu, num, false, 0, 0)) return le64(debugValue[0], debugValue[1]);
  return undefined;
}

/** Set register `n` of `cpu`; false when it has none or refuses the value. */
export function writeRegister(cpu: RiscvCpu, n: number, value: Uint8Array, csrs: ReadonlySet<number>): boolean {
  const [lo, hi] = halves(value);
  if (n >= 0 && n < 32) {
    if (n !== 0) { cpu.xl[n] = lo; cpu.xh[n] = hi; }
    return true;
  }
  if (n === REG_PC) {
    cpu.pc = hi * 4294967296 + (lo >>> 0);
    return true;
  }
  if (n >= REG_F0 && n < REG_F0 + 32) {
    cpu.fl[n - REG_F0] = lo; cpu.fh[n - REG_F0] = hi;
    return true;
  }
  if (n === REG_PRIV) {
    if (!cpu.system) return true; // user mode: always U, writes ignored as QEMU's
    // 2 is reserved: QEMU makes it S.
    const p = lo & 3;
    cpu.priv = p === 2 ? Priv.S : p;
    cpu.selectTlb();
    return true;
  }
  const num = n - REG_CSR0;
  return csrs.has(num) && debugCsr(cpu, num, true, lo, hi);
}
