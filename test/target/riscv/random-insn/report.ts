/** Parsing the output records of a generated batch, and describing differences. */
import { decodeAt, decoded } from "../../../../src/target/riscv/decode.js";
import { disassemble, FREG_NAMES, XREG_NAMES } from "../../../../src/target/riscv/disas.js";
import { INSNS } from "../../../../src/target/riscv/insn-table.js";
import {
  CODE_ADDR, OUT_F, OUT_FCSR, OUT_SIZE, OUT_X, RECORD_SIZE, SCRATCH_SIZE,
  type GeneratedCase,
} from "./generator.js";

export interface CaseState {
  /** x[1..31]; x[0] is 0. */
  readonly x: readonly bigint[];
  readonly f: readonly bigint[];
  readonly fcsr: number;
  readonly scratch: Uint8Array;
}

export function parseRecord(out: Buffer, index: number): CaseState {
  const base = index * RECORD_SIZE;
  const x: bigint[] = [0n];
  for (let i = 1; i <= 31; i++) x.push(out.readBigUInt64LE(base + OUT_X + (i - 1) * 8));
  const f: bigint[] = [];
  for (let i = 0; i < 32; i++) f.push(out.readBigUInt64LE(base + OUT_F + i * 8));
  const fcsr = Number(out.readBigUInt64LE(base + OUT_FCSR));
  const scratch = Uint8Array.from(out.subarray(base + OUT_SIZE, base + OUT_SIZE + SCRATCH_SIZE));
  return { x, f, fcsr, scratch };
}

export const hex64 = (v: bigint): string => `0x${v.toString(16).padStart(16, "0")}`;

function fcsrText(v: number): string {
  const flags = ["NX", "UF", "OF", "DZ", "NV"].filter((_, i) => (v >> i) & 1).reverse().join("|") || "-";
  return `0x${v.toString(16)} (frm=${(v >> 5) & 7} fflags=${flags})`;
}

export interface StateDiff {
  /** One line per difference; empty when the states are equal. */
  readonly lines: string[];
  /** Integer and floating-point registers that differ. */
  readonly x: Set<number>;
  readonly f: Set<number>;
}

/** How `actual` differs from `expected`. */
export function diffStates(expected: CaseState, actual: CaseState, actualName: string): StateDiff {
  const lines: string[] = [];
  const x = new Set<number>();
  const f = new Set<number>();
  for (let i = 1; i <= 31; i++) {
    if (expected.x[i] !== actual.x[i]) {
      x.add(i);
      lines.push(`  x${i} ${XREG_NAMES[i]}: qemu ${hex64(expected.x[i])}  ${actualName} ${hex64(actual.x[i])}`);
    }
  }
  for (let i = 0; i < 32; i++) {
    if (expected.f[i] !== actual.f[i]) {
      f.add(i);
      lines.push(`  f${i} ${FREG_NAMES[i]}: qemu ${hex64(expected.f[i])}  ${actualName} ${hex64(actual.f[i])}`);
    }
  }
  if (expected.fcsr !== actual.fcsr) {
    lines.push(`  fcsr: qemu ${fcsrText(expected.fcsr)}  ${actualName} ${fcsrText(actual.fcsr)}`);
  }
  for (let off = 0; off < SCRATCH_SIZE; off += 8) {
    const e = Buffer.from(expected.scratch.subarray(off, off + 8)).readBigUInt64LE(0);
    const a = Buffer.from(actual.scratch.subarray(off, off + 8)).readBigUInt64LE(0);
    if (e !== a) lines.push(`  scratch+${off} (8 bytes, little-endian): qemu ${hex64(e)}  ${actualName} ${hex64(a)}`);
  }
  return { lines, x, f };
}

/** The register an instruction writes, as "x5"/"f5", or undefined. */
function destination(lo: number, hi: number): { file: "x" | "f"; reg: number } | undefined {
  decodeAt(lo, hi);
  const first = INSNS[decoded.op].operands[0];
  if (first === "d") return { file: "x", reg: decoded.regs & 31 };
  if (first === "D") return { file: "f", reg: decoded.regs & 31 };
  return undefined;
}

/**
 * Disassembly of [start, end) of the generated code, one instruction per line;
 * instructions writing a register of `mark` are flagged.
 */
export function listing(code: Uint8Array, start: number, end: number, mark?: StateDiff): string[] {
  const lines: string[] = [];
  for (let pc = start; pc < end;) {
    const off = pc - CODE_ADDR;
    const lo = code[off] | (code[off + 1] << 8);
    const hi = off + 3 < code.length ? code[off + 2] | (code[off + 3] << 8) : 0;
    const { text, length } = disassemble(lo, hi, pc);
    const raw = length === 4 ? (((hi << 16) | lo) >>> 0).toString(16).padStart(8, "0") : lo.toString(16).padStart(4, "0").padEnd(8);
    let note = "";
    const dest = mark === undefined ? undefined : destination(lo, hi);
    if (dest !== undefined && mark !== undefined && mark[dest.file].has(dest.reg)) {
      note = `    <-- writes ${(dest.file === "x" ? XREG_NAMES : FREG_NAMES)[dest.reg]}`;
    }
    lines.push(`  ${pc.toString(16)}:  ${raw}  ${text}${note}`);
    pc += length;
  }
  return lines;
}

/** The initial state of a case, as loaded by its prologue. */
export function describeInit(c: GeneratedCase): string[] {
  const lines = [`  frm=${c.init.frm}  x31 t6 = ${hex64(BigInt(c.scratchAddr))} (scratch base)`];
  for (let i = 1; i <= 30; i += 3) {
    lines.push("  " + [i, i + 1, i + 2].filter((r) => r <= 30)
      .map((r) => `x${r} ${XREG_NAMES[r]}=${hex64(c.init.x[r])}`.padEnd(32)).join(" "));
  }
  for (let i = 0; i < 32; i += 3) {
    lines.push("  " + [i, i + 1, i + 2].filter((r) => r < 32)
      .map((r) => `f${r} ${FREG_NAMES[r]}=${hex64(c.init.f[r])}`.padEnd(32)).join(" "));
  }
  const s = Buffer.from(c.init.scratch);
  for (let off = 0; off < SCRATCH_SIZE; off += 32) {
    const words: string[] = [];
    for (let k = off; k < off + 32; k += 8) words.push(hex64(s.readBigUInt64LE(k)));
    lines.push(`  scratch+${off}: ${words.join(" ")}`);
  }
  return lines;
}

/** A full, actionable description of one failing case. */
export function describeCase(c: GeneratedCase, code: Uint8Array, header: string, diff: StateDiff | readonly string[]): string {
  const lines = "lines" in diff ? diff.lines : diff;
  return [
    header,
    ...lines,
    `body (${c.bodyEnd - c.bodyStart} bytes at 0x${c.bodyStart.toString(16)}):`,
    ...listing(code, c.bodyStart, c.bodyEnd, "lines" in diff ? diff : undefined),
    "initial state:",
    ...describeInit(c),
  ].join("\n");
}
