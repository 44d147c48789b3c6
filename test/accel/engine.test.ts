/** Choosing the engine: -accel values for both emulators, and what a bad one says. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { parseAccel } from "../../src/accel/engine.js";
import { CodeCache, SYSTEM_REGROUP, tcgSettings, USER_REGROUP } from "../../src/accel/tcg/code-cache.js";
import type { RiscvCpu } from "../../src/target/riscv/cpu.js";
import { GuestRam } from "../../src/target/riscv/ram.js";
import { repoRoot } from "../util/env.js";

test("parseAccel: names, the translator's properties, and errors as sentences", () => {
  const saved = { ...tcgSettings };
  try {
    assert.equal(parseAccel("interp"), "interp");
    assert.equal(parseAccel("tcg,tb-size=8,threshold=3,batch=5"), "tcg");
    assert.equal(tcgSettings.cacheLimit, 8 << 20);
    assert.equal(tcgSettings.threshold, 3);
    assert.equal(tcgSettings.batch, 5);
    assert.equal(parseAccel("tcg,regroup=0"), "tcg");
    assert.equal(tcgSettings.regroupAfter, 0);
    assert.match(parseAccel("tcg,regroup=99999999"), /regroup must be at most/);
    assert.equal(parseAccel("tcg,compile=sync"), "tcg");
    assert.equal(tcgSettings.compile, "sync");
    assert.equal(parseAccel("tcg,compile=async"), "tcg");
    assert.equal(tcgSettings.compile, "async");
    assert.equal(parseAccel("tcg,compile=mixed,patience=4096"), "tcg");
    assert.equal(tcgSettings.compile, "mixed");
    assert.equal(tcgSettings.patience, 4096);
    assert.match(parseAccel("tcg,patience=0"), /patience must be at least 1/);
    assert.match(parseAccel("tcg,compile=later"), /unknown or malformed property 'compile=later'/);
    assert.match(parseAccel("interp,compile=sync"), /it takes none/);
    assert.match(parseAccel("kvm"), /unknown accelerator 'kvm'/);
    assert.match(parseAccel("tcg,frob=1"), /unknown or malformed property 'frob=1'/);
    assert.match(parseAccel("interp,threshold=1"), /it takes none/);
    assert.match(parseAccel("tcg,batch=0"), /batch must be at least 1/);
  } finally {
    Object.assign(tcgSettings, saved);
  }
});

test("regroup: by default per hart kind; regroup=N for both", () => {
  const saved = { ...tcgSettings };
  try {
    const cache = new CodeCache(new GuestRam(1 << 20));
    const system = { system: true } as RiscvCpu, user = { system: false } as RiscvCpu;
    tcgSettings.regroupAfter = undefined;
    assert.equal(cache.regroupAfter(system), SYSTEM_REGROUP);
    assert.equal(cache.regroupAfter(user), USER_REGROUP);
    assert.notEqual(SYSTEM_REGROUP, USER_REGROUP);
    assert.equal(parseAccel("tcg,regroup=64"), "tcg");
    assert.equal(cache.regroupAfter(system), 64);
    assert.equal(cache.regroupAfter(user), 64);
  } finally {
    Object.assign(tcgSettings, saved);
  }
});

test("tsemu-riscv64 -accel / TSEMU_ACCEL: a bad engine gets one line and status 1", () => {
  const cli = path.join(repoRoot(import.meta.url), "dist", "src", "cli", "tsemu-riscv64.js");
  for (const [args, env] of [[["-accel", "kvm", "/bin/true"], {}], [["/bin/true"], { TSEMU_ACCEL: "tcg,threshold=x" }],
    [["-accel", "tcg,compile=async", "/bin/true"], {}], [["-accel", "tcg,compile=mixed", "/bin/true"], {}]] as const) {
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { PATH: process.env.PATH, ...env } });
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^tsemu-riscv64: (unknown accelerator 'kvm'|unknown or malformed property 'threshold=x'|-accel tcg,compile=(async|mixed) is for the system emulator)/);
  }
});
