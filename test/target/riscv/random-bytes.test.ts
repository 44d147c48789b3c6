/**
 * Random bytes as code must never crash tsemu itself: only the guest may die,
 * and exactly the way it dies under qemu-riscv64 (same exit status or killing
 * signal, same stderr with "qemu" read as "tsemu").
 *
 * Each program is one instruction that points sp at a zero-filled data area
 * (so that nothing depends on where an emulator put its stack), the random
 * bytes, and an all-zero word (illegal) to stop execution falling through.
 * Streams that could reach a system call or read a clock are regenerated, so
 * the guest's fate depends on its code alone.
 *
 * Environment: TSEMU_SEED (default 0xb17e5), TSEMU_RANDOM_PROGRAMS (200).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { disassemble } from "../../../src/target/riscv/disas.js";
import { buildElf } from "../../util/elf-writer.js";
import { TCG_EAGER, testAccel } from "../../util/env.js";
import { Rng, seedFromEnv } from "./random-insn/rng.js";
import {
  describeEnd, mapLimit, QEMU_RV64GC, requireTool, requireTsemuCli, run, type RunResult,
} from "./random-insn/tools.js";

const SEED = seedFromEnv(0xb17e5);
const PROGRAMS = (() => {
  const text = process.env.TSEMU_RANDOM_PROGRAMS;
  const v = text === undefined || text === "" ? 200 : Number(text);
  if (!Number.isInteger(v) || v < 1) throw new Error(`TSEMU_RANDOM_PROGRAMS must be a positive integer, got '${text}'`);
  return v;
})();
const TIME_LIMIT_MS = 5000;
/**
 * tsemu's limit: longer than qemu's, so that a loaded machine (the suite runs
 * two test files at once, each of these four programs at a time) does not
 * turn a program that ends into a "timeout"; one that loops under qemu loops
 * here too and times out all the same.
 */
const TSEMU_TIME_LIMIT_MS = 30_000;
const CODE_ADDR = 0x10000;
const DATA_ADDR = 0x200000;
const DATA_SIZE = 0x2000;
/** lui sp, (DATA_ADDR + DATA_SIZE / 2) >> 12 */
const PREAMBLE = (((DATA_ADDR + DATA_SIZE / 2) >>> 12) << 12) | (2 << 7) | 0x37;

interface Program {
  readonly index: number;
  readonly random: Uint8Array;
  readonly code: Uint8Array;
  readonly path: string;
}

/**
 * Could the bytes, entered at any halfword, hold an instruction whose effect
 * depends on more than the code: ecall (a system call) or a read of the
 * cycle/time/instret counters?
 */
function touchesOutside(code: Uint8Array): boolean {
  for (let off = 0; off + 4 <= code.length; off += 2) {
    const w = (code[off] | (code[off + 1] << 8) | (code[off + 2] << 16) | (code[off + 3] << 24)) >>> 0;
    if (w === 0x00000073) return true;
    const csr = w >>> 20;
    if ((w & 0x7f) === 0x73 && ((w >>> 12) & 3) !== 0 && (csr & 0xf7f) <= 0xc02 && (csr & 0xf7f) >= 0xc00) return true;
  }
  return false;
}

function makeProgram(rng: Rng, index: number, dir: string): Program {
  for (;;) {
    const random = rng.bytes(2 * rng.range(2, 48));
    const code = new Uint8Array(4 + random.length + 4);
    new DataView(code.buffer).setUint32(0, PREAMBLE, true);
    code.set(random, 4);
    if (touchesOutside(code)) continue;
    const path = join(dir, `random-${index}.elf`);
    writeFileSync(path, buildElf({ code, codeAddr: CODE_ADDR, dataAddr: DATA_ADDR, dataMemSize: DATA_SIZE }), { mode: 0o755 });
    return { index, random, code, path };
  }
}

function sameEnd(q: RunResult, t: RunResult): boolean {
  if (q.timedOut || t.timedOut) return q.timedOut && t.timedOut;
  return q.status === t.status && q.signal === t.signal && q.stderr.replaceAll("qemu", "tsemu") === t.stderr &&
    q.stdout.equals(t.stdout);
}

function describe(p: Program, q: RunResult, t: RunResult): string {
  const lines = [
    `program ${p.index} (${p.path}; reproduce: TSEMU_SEED=${SEED}): qemu ${describeEnd(q)}, tsemu ${describeEnd(t)}`,
  ];
  if (q.stderr !== "") lines.push(`qemu stderr: ${q.stderr.trim()}`);
  if (t.stderr !== "") lines.push(`tsemu stderr: ${t.stderr.trim().slice(0, 3000)}`);
  if (q.stdout.length + t.stdout.length > 0) lines.push(`stdout: qemu ${q.stdout.length} bytes, tsemu ${t.stdout.length} bytes`);
  lines.push(`code bytes: ${Buffer.from(p.random).toString("hex")}`, "linear disassembly:");
  for (let off = 0; off + 2 <= p.code.length;) {
    const lo = p.code[off] | (p.code[off + 1] << 8);
    const hi = off + 4 <= p.code.length ? p.code[off + 2] | (p.code[off + 3] << 8) : 0;
    const { text, length } = disassemble(lo, hi, CODE_ADDR + off);
    lines.push(`  ${(CODE_ADDR + off).toString(16)}:  ${text}`);
    off += length;
  }
  return lines.join("\n");
}

test("random bytes as code: tsemu ends the guest exactly as qemu-riscv64 does", async (t) => {
  const qemu = requireTool("qemu-riscv64");
  const dir = mkdtempSync(join(tmpdir(), "tsemu-random-bytes-"));
  t.diagnostic(`seed ${SEED} (0x${SEED.toString(16)}), ${PROGRAMS} programs in ${dir}`);
  const rng = new Rng(SEED);
  const programs: Program[] = [];
  for (let i = 0; i < PROGRAMS; i++) programs.push(makeProgram(rng, i, dir));

  const expected = await mapLimit(programs, 4, (p) => run([qemu, ...QEMU_RV64GC, p.path], TIME_LIMIT_MS, dir));
  const ends = new Map<string, number>();
  for (const r of expected) ends.set(describeEnd(r), (ends.get(describeEnd(r)) ?? 0) + 1);
  t.diagnostic(`qemu outcomes: ${[...ends].map(([k, n]) => `${k} x${n}`).join(", ")}`);

  const cli = requireTsemuCli();
  // Half the programs under each engine (the translator compiling every block before it runs).
  const accelOf = (i: number): string => i % 2 === 0 ? testAccel("interp") : testAccel(TCG_EAGER);
  const actual = await mapLimit(programs, 4, (p) => run([process.execPath, cli, "-accel", accelOf(p.index), p.path],
    TSEMU_TIME_LIMIT_MS, dir));
  const failures: string[] = [];
  programs.forEach((p, i) => {
    if (!sameEnd(expected[i], actual[i])) failures.push(`-accel ${accelOf(i)}: ${describe(p, expected[i], actual[i])}`);
  });
  if (failures.length === 0) rmSync(dir, { recursive: true, force: true });
  assert.equal(failures.length, 0,
    `${failures.length} of ${programs.length} programs ended differently; first ones:\n\n${failures.slice(0, 5).join("\n\n")}`);
});
