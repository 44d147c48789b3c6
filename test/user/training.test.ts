/**
 * The program tsemu-riscv64's start-up bundle is trained on
 * (src/user/linux/training.ts, run by scripts/build-bundle.mjs before it
 * makes the code cache): it runs to its end under qemu-riscv64 and under
 * tsemu-riscv64 alike, with the same system calls, and it uses every
 * unprivileged instruction, in both sizes.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { trainingProgram } from "../../src/user/linux/training.js";
import { decodeAt, decoded } from "../../src/target/riscv/decode.js";
import { INSNS } from "../../src/target/riscv/insn-table.js";
import { repoRoot } from "../util/env.js";

const cli = path.join(repoRoot(import.meta.url), "dist", "src", "cli", "tsemu-riscv64.js");

test("the training program runs as under qemu-riscv64: the same output, system calls and exit status", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-training-test-"));
  try {
    const elf = path.join(dir, "training");
    fs.writeFileSync(elf, trainingProgram(), { mode: 0o755 });
    const opts = { encoding: "utf8" as const, timeout: 60_000 };
    const q = spawnSync("qemu-riscv64", ["-strace", elf], opts);
    const t = spawnSync(process.execPath, [cli, "-strace", elf], opts);
    assert.equal(q.status, 0, q.stderr);
    assert.equal(t.status, 0, t.stderr);
    assert.equal(t.stdout, q.stdout);
    assert.match(t.stdout, /^tsemu start-up training\n/);
    // The calls by name, in order (arguments hold addresses and times that differ).
    const names = (s: string): string[] => [...s.matchAll(/^\d+ ([a-z_0-9]+)\(/gm)].map((m) => m[1]);
    assert.ok(names(q.stderr).length >= 25, q.stderr);
    assert.deepEqual(names(t.stderr), names(q.stderr));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the training program uses every unprivileged instruction, 4-byte and compressed", () => {
  const elf = trainingProgram();
  const view = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  // The code segment: the first program header's offset and size.
  const phoff = Number(view.getBigUint64(32, true));
  const off = Number(view.getBigUint64(phoff + 8, true));
  const size = Number(view.getBigUint64(phoff + 32, true));
  const ops = new Set<number>();
  const compressed = new Set<number>();
  for (let at = off; at + 2 <= off + size;) {
    const lo = view.getUint16(at, true);
    const hi = at + 4 <= off + size ? view.getUint16(at + 2, true) : 0;
    decodeAt(lo, hi);
    ops.add(decoded.op);
    if ((lo & 3) !== 3) compressed.add(decoded.op);
    at += (lo & 3) === 3 ? 4 : 2;
  }
  const missing = INSNS.filter((row) => row.ext !== "Priv" && row.name !== "ebreak" && row.name !== "illegal" &&
    row.name !== "(undecoded)" && !ops.has(row.op)).map((row) => row.name);
  assert.deepEqual(missing, []);
  // RVC: loads and stores, integer and FP, by x8 and by sp; jumps; arithmetic.
  for (const name of ["lw", "ld", "sw", "sd", "fld", "fsd", "jal", "jalr", "beq", "bne", "addi", "addiw", "lui", "add", "sub", "slli"]) {
    const row = INSNS.find((r) => r.name === name);
    assert.ok(row !== undefined && compressed.has(row.op), `no compressed ${name}`);
  }
});
