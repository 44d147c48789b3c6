/**
 * bin/tsemu-riscv64 and its start-up bundle (scripts/build-bundle.mjs): the
 * launcher runs the bundle only while the compiled modules it was made from
 * are unchanged, falls back to the modules otherwise, and a program (one
 * that forks too) gives the same output, status and children either way.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const BIN = path.join(ROOT, "bin/tsemu-riscv64");
const CLI = path.join(ROOT, "dist/src/cli/tsemu-riscv64.js");
const BUNDLE = path.join(ROOT, "dist/src/cli/tsemu-riscv64.bundle");

interface Manifest { inputs: [string, number][] }

function manifest(): Manifest | undefined {
  try {
    return JSON.parse(fs.readFileSync(`${BUNDLE}.json`, "utf8")) as Manifest;
  } catch {
    return undefined;
  }
}

/** Whether the bundle in dist/ is there and matches the compiled modules (scripts/test.sh builds it after tsc). */
function bundleFresh(): boolean {
  const m = manifest();
  const made = fs.statSync(`${BUNDLE}.json`, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  return m !== undefined && m.inputs.every(([file, size]) => {
    const st = fs.statSync(path.join(ROOT, "dist", file), { throwIfNoEntry: false });
    return st !== undefined && st.size === size && st.mtimeMs <= made;
  });
}

function guestDir(): string {
  const r = spawnSync("bash", [path.join(ROOT, "guest/build-tests.sh")], { encoding: "utf8" });
  assert.equal(r.status, 0, `guest/build-tests.sh failed: ${r.stderr}`);
  return r.stdout.trim().split("\n").pop() as string;
}

test("the launcher runs the bundle while its inputs are unchanged, and the modules once one changes", (t) => {
  const m = manifest();
  if (m === undefined || !bundleFresh()) {
    t.skip("no fresh start-up bundle in dist/ (node scripts/build-bundle.mjs makes it)");
    return;
  }
  // A copy of the launcher, the bundle and its inputs (times kept), the bundle's version marked.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-launcher-"));
  try {
    fs.mkdirSync(path.join(dir, "bin"));
    fs.copyFileSync(BIN, path.join(dir, "bin/tsemu-riscv64"));
    for (const [file] of m.inputs) {
      fs.mkdirSync(path.dirname(path.join(dir, "dist", file)), { recursive: true });
      fs.cpSync(path.join(ROOT, "dist", file), path.join(dir, "dist", file), { preserveTimestamps: true });
    }
    const copy = path.join(dir, "dist/src/cli/tsemu-riscv64.bundle");
    const source = fs.readFileSync(`${BUNDLE}.cjs`, "utf8");
    assert.match(source, /var VERSION = "[^"]*";/);
    fs.writeFileSync(`${copy}.cjs`, source.replace(/var VERSION = "([^"]*)";/, 'var VERSION = "$1-bundle";'));
    fs.copyFileSync(`${BUNDLE}.cache`, `${copy}.cache`);
    fs.cpSync(`${BUNDLE}.json`, `${copy}.json`, { preserveTimestamps: true });
    const version = (): string => spawnSync(process.execPath, [path.join(dir, "bin/tsemu-riscv64"), "-version"], { encoding: "utf8" }).stdout;

    assert.match(version(), /^tsemu-riscv64 version \S+-bundle\n$/);
    // Rebuilt since (tsc rewrites its outputs): the modules run.
    const entry = path.join(dir, "dist/src/cli/tsemu-riscv64.js");
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(entry, later, later);
    assert.match(version(), /^tsemu-riscv64 version [^-\s]+\n$/);
    // No bundle at all: the modules run.
    fs.rmSync(`${copy}.json`);
    assert.match(version(), /^tsemu-riscv64 version [^-\s]+\n$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("bin/tsemu-riscv64 runs programs, forking ones too, exactly as the modules do", () => {
  const g = guestDir();
  const cases: [string, string[]][] = [["hello", []], ["exit", ["7"]], ["exit", ["9", "raise"]], ["proc", []], ["killchild", []]];
  for (const [name, args] of cases) {
    const opts = { encoding: "utf8" as const, timeout: 120_000, env: { ...process.env, _: "tsemu" } };
    const viaBin = spawnSync(BIN, [path.join(g, name), ...args], opts);
    const viaCli = spawnSync(process.execPath, [CLI, path.join(g, name), ...args], opts);
    const what = `${name} ${args.join(" ")}`;
    assert.equal(viaBin.stdout, viaCli.stdout, `${what}: stdout`);
    assert.equal(viaBin.stderr, viaCli.stderr, `${what}: stderr`);
    assert.equal(viaBin.status, viaCli.status, `${what}: status`);
    assert.equal(viaBin.signal, viaCli.signal, `${what}: signal`);
  }
});
