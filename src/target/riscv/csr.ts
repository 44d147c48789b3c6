/**
 * Control and status registers, as a table of {number, name, read, write}.
 * The unprivileged ones live here; the privileged set joins the same table
 * when the system emulator needs it.
 */
import type { RiscvCpu } from "./cpu.js";
import { Counter, counterValue } from "./counters.js";
import { Mstatus } from "./hart-state.js";


export interface CsrDef {
  readonly num: number;
  readonly name: string;
  /** Read into cpu.tmpLo / cpu.tmpHi; returning false makes the access illegal (an indirect register that names nothing). */
  read(cpu: RiscvCpu): boolean | void;
  /**
   * Write a 64-bit value; absent for read-only registers.  Returns false when
   * the write changed nothing the run loop of a system hart watches (see
   * RiscvCpu.csrSync); anything else (no value) makes the loop look.
   */
  write?(cpu: RiscvCpu, lo: number, hi: number): boolean | void;
  /** Whether the register exists on this hart (an extension the board may leave out); absent: always. */
  present?(cpu: RiscvCpu): boolean;
}

/** Host ticks for cycle/time/instret in user mode, like QEMU's linux-user. */
export type TickSource = () => number;
let ticks: TickSource = () => 0;
export function setTickSource(source: TickSource): void {
  ticks = source;
}

function readNumber(cpu: RiscvCpu, v: number): void {
  cpu.tmpLo = v | 0;
  cpu.tmpHi = Math.floor(v / 4294967296) | 0;
}

const defs: CsrDef[] = [
  {
    num: 0x001, name: "fflags",
    read(cpu) { cpu.tmpLo = cpu.fflags; cpu.tmpHi = 0; },
    write(cpu, lo) { cpu.fflags = lo & 0x1f; cpu.state.mstatus |= Mstatus.FS; },
  },
  {
    num: 0x002, name: "frm",
    read(cpu) { cpu.tmpLo = cpu.frm; cpu.tmpHi = 0; },
    write(cpu, lo) { cpu.frm = lo & 7; cpu.state.mstatus |= Mstatus.FS; },
  },
  {
    num: 0x003, name: "fcsr",
    read(cpu) { cpu.tmpLo = (cpu.frm << 5) | cpu.fflags; cpu.tmpHi = 0; },
    write(cpu, lo) { cpu.fflags = lo & 0x1f; cpu.frm = (lo >>> 5) & 7; cpu.state.mstatus |= Mstatus.FS; },
  },
  // User mode counts host ticks, as QEMU's linux-user; a system hart counts retired instructions.
  { num: 0xc00, name: "cycle", read(cpu) { readNumber(cpu, cpu.system ? counterValue(cpu, Counter.CYCLE) : ticks()); } },
  { num: 0xc01, name: "time", read(cpu) { readNumber(cpu, ticks()); } },
  { num: 0xc02, name: "instret", read(cpu) { readNumber(cpu, cpu.system ? counterValue(cpu, Counter.INSTRET) : ticks()); } },
];

const byNumber: (CsrDef | undefined)[] = new Array<CsrDef | undefined>(4096).fill(undefined);

/**
 * The table holds every register in one shape (the same fields in the same
 * order, absent ones undefined): the interpreter's CSR instructions read
 * them, and a register of a shape V8 had not seen there made it throw its
 * optimised loop away in the middle of a boot.
 */
function enter(d: CsrDef): void {
  byNumber[d.num] = { num: d.num, name: d.name, read: d.read, write: d.write, present: d.present };
}
defs.forEach(enter);

/** Add CSRs to the table (the system emulator's privileged set). */
export function registerCsrs(more: readonly CsrDef[]): void {
  more.forEach(enter);
}

/** Counter enables (mcounteren/scounteren) and the floating-point off state of a system hart. */
function systemAllows(cpu: RiscvCpu, num: number): boolean {
  if (num <= 3) return !cpu.fpOff;
  // satp from S-mode traps when mstatus.TVM is set.
  if (num === 0x180 && cpu.priv === 1 && (cpu.state.mstatus & Mstatus.TVM) !== 0) return false;
  if (num >= 0xc00 && num <= 0xc1f && cpu.priv < 3) {
    const bit = 1 << (num - 0xc00);
    if ((cpu.state.mcounteren & bit) === 0) return false;
    if (cpu.priv === 0 && (cpu.state.scounteren & bit) === 0) return false;
  }
  return true;
}

export function csrName(num: number): string | undefined {
  return byNumber[num & 0xfff]?.name;
}

/**
 * Execute the CSR part of a csrrw/csrrs/csrrc (and immediate forms):
 * `write` says whether the instruction writes at all (csrrs/csrrc with
 * rs1 = x0 do not).  The old value is left in cpu.tmpLo/tmpHi.  Returns false
 * for an illegal access (unknown register, write to a read-only one).
 */
export function csrAccess(cpu: RiscvCpu, num: number, kind: 0 | 1 | 2, write: boolean, lo: number,
  hi: number): boolean {
  const d = byNumber[num];
  if (d === undefined || (d.present !== undefined && !d.present(cpu))) return false;
  if (write && ((num >>> 10) === 3 || d.write === undefined)) return false;
  // The CSR number's bits 9:8 give the lowest privilege that may access it.
  if (((num >>> 8) & 3) > cpu.priv) return false;
  if (cpu.system && !systemAllows(cpu, num)) return false;
  if (d.read(cpu) === false) return false;
  if (!write) return true;
  const oldLo = cpu.tmpLo;
  const oldHi = cpu.tmpHi;
  let nlo = lo;
  let nhi = hi;
  if (kind === 1) { nlo = oldLo | lo; nhi = oldHi | hi; }
  else if (kind === 2) { nlo = oldLo & ~lo; nhi = oldHi & ~hi; }
  cpu.csrSync = (d.write as NonNullable<CsrDef["write"]>)(cpu, nlo, nhi) !== false;
  cpu.tmpLo = oldLo;
  cpu.tmpHi = oldHi;
  return true;
}
