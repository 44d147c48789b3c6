/**
 * Differential test: seeded random RV64GC user-mode instruction streams, run
 * under qemu-riscv64 (the oracle) and tsemu; final register, fcsr and memory
 * state must match case by case.
 *
 * Environment: TSEMU_SEED (default 0x5eed0001), TSEMU_RANDOM_BATCHES (12),
 * TSEMU_RANDOM_CASES (cases per batch, 1000).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { allFormNames, generateBatch, RECORD_SIZE, type Batch } from "./random-insn/generator.js";
import { describeCase, diffStates, parseRecord } from "./random-insn/report.js";
import { Rng, seedFromEnv } from "./random-insn/rng.js";
import {
  describeEnd, mapLimit, QEMU_RV64GC, requireTool, requireTsemuCli, run, type RunResult,
} from "./random-insn/tools.js";
import { envInt, TCG_EAGER, testAccel } from "../../util/env.js";

const SEED = seedFromEnv(0x5eed0001);
const BATCHES = envInt("TSEMU_RANDOM_BATCHES", 12);
const CASES = envInt("TSEMU_RANDOM_CASES", 1000);
const RUN_LIMIT_MS = 40_000;
const MAX_REPORTED = 3;

const batchSeed = (b: number): number => (SEED + Math.imul(b + 1, 0x9e3779b9)) >>> 0;

interface Prepared {
  readonly batch: Batch;
  readonly path: string;
}

function reproduce(b: number): string {
  return `reproduce: TSEMU_SEED=${SEED} (batch ${b}, batch seed 0x${batchSeed(b).toString(16)})`;
}

/** Compare one emulator's run of a batch with qemu's; returns failure descriptions. */
function compare(p: Prepared, b: number, expected: RunResult, actual: RunResult, name: string): string[] {
  const failures: string[] = [];
  const { batch } = p;
  const complete = Math.floor(actual.stdout.length / RECORD_SIZE);
  for (let c = 0; c < Math.min(complete, batch.cases.length) && failures.length < MAX_REPORTED; c++) {
    const diff = diffStates(parseRecord(expected.stdout, c), parseRecord(actual.stdout, c), name);
    if (diff.lines.length > 0) {
      failures.push(describeCase(batch.cases[c], batch.code, `batch ${b} case ${c}: final state differs (${p.path}; ${reproduce(b)})`, diff));
    }
  }
  const ended = actual.timedOut || actual.status !== 0 || actual.signal !== null;
  if (failures.length < MAX_REPORTED && (ended || actual.stdout.length !== expected.stdout.length)) {
    const c = Math.min(complete, batch.cases.length - 1);
    const how = `${name} ended with ${describeEnd(actual)} after ${complete} of ${batch.cases.length} cases` +
      ` (${actual.stdout.length} bytes of output, expected ${expected.stdout.length})`;
    const stderr = actual.stderr.trim() === "" ? [] : [`stderr: ${actual.stderr.trim().slice(0, 2000)}`];
    failures.push(describeCase(batch.cases[c], batch.code, `batch ${b} case ${c}: ${how} (${p.path}; ${reproduce(b)})`, stderr));
  }
  return failures;
}

test("random RV64GC instruction streams: tsemu matches qemu-riscv64", async (t) => {
  const qemu = requireTool("qemu-riscv64");
  const dir = mkdtempSync(join(tmpdir(), "tsemu-random-insn-"));
  t.diagnostic(`seed ${SEED} (0x${SEED.toString(16)}), ${BATCHES} batches x ${CASES} cases, programs in ${dir}`);
  let keep = false; // the programs stay on disk for reproduction when something fails
  const check = (ok: boolean, message: () => string): void => {
    if (!ok) keep = true;
    assert.ok(ok, ok ? "" : message());
  };

  const prepared: Prepared[] = [];
  const totals = new Map<string, number>();
  let units = 0;
  for (let b = 0; b < BATCHES; b++) {
    const batch = generateBatch(new Rng(batchSeed(b)), { cases: CASES });
    const path = join(dir, `batch-${b}.elf`);
    writeFileSync(path, batch.elf, { mode: 0o755 });
    prepared.push({ batch, path });
    for (const [form, n] of batch.formCounts) totals.set(form, (totals.get(form) ?? 0) + n);
    for (const c of batch.cases) units += c.forms.length;
  }
  t.diagnostic(`${BATCHES * CASES} cases, ${units} random units over ${totals.size} forms`);

  await t.test("every user-mode table row and RVC form is generated", () => {
    const missing = allFormNames().filter((f) => (totals.get(f) ?? 0) === 0);
    check(missing.length === 0, () => `forms never generated with this seed and size: ${missing.join(" ")}`);
  });

  const expected = await mapLimit(prepared, 4, (p) => run([qemu, ...QEMU_RV64GC, p.path], RUN_LIMIT_MS, dir));

  await t.test("qemu-riscv64 runs every generated batch to completion", () => {
    const problems: string[] = [];
    expected.forEach((r, b) => {
      const want = prepared[b].batch.cases.length * RECORD_SIZE;
      if (r.timedOut || r.status !== 0 || r.stdout.length !== want) {
        const complete = Math.floor(r.stdout.length / RECORD_SIZE);
        const c = Math.min(complete, prepared[b].batch.cases.length - 1);
        problems.push(describeCase(prepared[b].batch.cases[c], prepared[b].batch.code,
          `batch ${b}: qemu-riscv64 ended with ${describeEnd(r)} after ${complete} cases: the generator produced` +
          ` something qemu rejects (${prepared[b].path}; ${reproduce(b)})`, r.stderr.trim() === "" ? [] : [r.stderr.trim()]));
      }
    });
    check(problems.length === 0, () => problems.join("\n\n"));
  });

  // Each engine: the interpreter, and the translator compiling every block before it runs.
  for (const accel of [testAccel("interp"), testAccel(TCG_EAGER)]) {
    await t.test(`tsemu -accel ${accel}: final states equal qemu's`, async () => {
      let cli: string;
      try {
        cli = requireTsemuCli();
      } catch (e) {
        keep = true;
        throw e;
      }
      // Compiling every block on its own module is slow on a busy host: the limit only guards against a hang.
      const limit = accel.startsWith("tcg") ? 4 * RUN_LIMIT_MS : RUN_LIMIT_MS;
      const actual = await mapLimit(prepared, 4, (p) => run([process.execPath, cli, "-accel", accel, p.path], limit, dir));
      const failures: string[] = [];
      actual.forEach((r, b) => {
        if (failures.length < MAX_REPORTED) failures.push(...compare(prepared[b], b, expected[b], r, `tsemu -accel ${accel}`));
      });
      check(failures.length === 0, () => failures.slice(0, MAX_REPORTED).join("\n\n"));
    });
  }

  if (!keep) rmSync(dir, { recursive: true, force: true });
});
