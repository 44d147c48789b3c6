/**
 * bin/tsemu-riscv64, bin/tsemu-system-riscv64 and their start-up bundles
 * (scripts/build-bundle.mjs, bin/launch.cjs): a launcher runs the bundle only
 * while the compiled modules it was made from are unchanged, falls back to
 * the modules otherwise, and a program (one that forks too) gives the same
 * output, status and children either way.
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
const PROGRAMS = ["tsemu-riscv64", "tsemu-system-riscv64"];
const bundleOf = (program: string): string => path.join(ROOT, `dist/src/cli/${program}.bundle`);

interface Manifest { inputs: [string, number][] }

function manifest(program: string): Manifest | undefined {
  try {
    return JSON.parse(fs.readFileSync(`${bundleOf(program)}.json`, "utf8")) as Manifest;
  } catch {
    return undefined;
  }
}

/** Whether the bundle in dist/ is there and matches the compiled modules (scripts/test.sh builds it after tsc). */
function bundleFresh(program: string): boolean {
  const m = manifest(program);
  const made = fs.statSync(`${bundleOf(program)}.json`, { throwIfNoEntry: false })?.mtimeMs ?? 0;
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

for (const program of PROGRAMS) {
  test(`${program}: the launcher runs the bundle while its inputs are unchanged, and the modules once one changes`, (t) => {
    const m = manifest(program);
    if (m === undefined || !bundleFresh(program)) {
      t.skip("no fresh start-up bundle in dist/ (node scripts/build-bundle.mjs makes it)");
      return;
    }
    const bundle = bundleOf(program);
    // A copy of the launchers, the bundle and its inputs (times kept), the bundle's version marked.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-launcher-"));
    try {
      fs.mkdirSync(path.join(dir, "bin"));
      for (const f of [program, "launch.cjs", "package.json"]) fs.copyFileSync(path.join(ROOT, "bin", f), path.join(dir, "bin", f));
      for (const [file] of m.inputs) {
        fs.mkdirSync(path.dirname(path.join(dir, "dist", file)), { recursive: true });
        fs.cpSync(path.join(ROOT, "dist", file), path.join(dir, "dist", file), { preserveTimestamps: true });
      }
      const copy = path.join(dir, `dist/src/cli/${program}.bundle`);
      const source = fs.readFileSync(`${bundle}.cjs`, "utf8");
      assert.match(source, /var VERSION ?= ?"[^"]*";/);
      fs.writeFileSync(`${copy}.cjs`, source.replace(/var VERSION ?= ?"([^"]*)";/, 'var VERSION = "$1-bundle";'));
      fs.copyFileSync(`${bundle}.cache`, `${copy}.cache`);
      fs.cpSync(`${bundle}.json`, `${copy}.json`, { preserveTimestamps: true });
      const version = (): string => spawnSync(process.execPath, [path.join(dir, "bin", program), "-version"], { encoding: "utf8" }).stdout;

      assert.match(version(), new RegExp(`^${program} version \\S+-bundle[ \\n]`));
      // Rebuilt since (tsc rewrites its outputs): the modules run.
      const entry = path.join(dir, `dist/src/cli/${program}.js`);
      const later = new Date(Date.now() + 5000);
      fs.utimesSync(entry, later, later);
      assert.match(version(), new RegExp(`^${program} version [^-\\s]+[ \\n]`));
      // No bundle at all: the modules run.
      fs.rmSync(`${copy}.json`);
      assert.match(version(), new RegExp(`^${program} version [^-\\s]+[ \\n]`));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** The options bin/PROGRAM's `#!` line starts Node with (the words after `node`). */
function launcherNodeOptions(program: string): string[] {
  const words = fs.readFileSync(path.join(ROOT, "bin", program), "utf8").split("\n", 1)[0].trim().split(/\s+/);
  assert.ok(words.includes("node"), `bin/${program}: the first line does not start node`);
  return words.slice(words.indexOf("node") + 1);
}

test("V8 takes each bundle's code cache under its launcher's Node options (the file is ASCII, as the cache was made from it)", (t) => {
  // Compiled by a Node started as the launcher starts it: V8 takes a cache only under the flags it was made with.
  const check = 'const fs = require("node:fs"); const [file, cache] = process.argv.slice(1); ' +
    'const s = new (require("node:vm").Script)(fs.readFileSync(file, "latin1"), { filename: file, cachedData: fs.readFileSync(cache) }); ' +
    'process.stdout.write(s.cachedDataRejected ? "rejected" : "taken");';
  for (const program of PROGRAMS) {
    if (!bundleFresh(program)) {
      t.skip("no fresh start-up bundle in dist/");
      return;
    }
    const bundle = bundleOf(program);
    const source = fs.readFileSync(`${bundle}.cjs`, "latin1");
    assert.doesNotMatch(source, /[\u0080-\u00ff]/, `${program}: the bundle has bytes beyond ASCII`);
    const r = spawnSync(process.execPath, [...launcherNodeOptions(program), "-e", check, `${bundle}.cjs`, `${bundle}.cache`], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "taken", `${program}: V8 rejected the code cache under ${launcherNodeOptions(program).join(" ") || "no options"}`);
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

test("both launchers start Node without reading NODE_EXTRA_CA_CERTS and put it back in its place", () => {
  // Node warns at start-up when the file the variable names cannot be read: the launchers' Node never reads it.
  const missing = path.join(os.tmpdir(), `tsemu-no-such-certs-${process.pid}.pem`);
  for (const program of PROGRAMS) {
    const r = spawnSync(path.join(ROOT, "bin", program), ["--version"], { encoding: "utf8", env: { ...process.env, NODE_EXTRA_CA_CERTS: missing } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${program} version `));
    assert.doesNotMatch(r.stderr, /extra certs/, program);
  }
  // A guest's environment is the host's, in qemu-riscv64's order: set in the middle, set empty, or not set.
  const r = spawnSync("bash", [path.join(ROOT, "guest/build-busybox.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  assert.equal(r.status, 0, "guest/build-busybox.sh failed");
  const busybox = r.stdout.trim().split("\n").pop() as string;
  const base = { PATH: "/usr/bin:/bin", A: "1" };
  const cases: NodeJS.ProcessEnv[] = [
    { ...base, NODE_EXTRA_CA_CERTS: "/a path/certs.pem", B: "2" },
    { ...base, NODE_EXTRA_CA_CERTS: "", B: "2" },
    { ...base, B: "2", NODE_EXTRA_CA_CERTS: "" },
    { ...base, B: "2" },
  ];
  for (const env of cases) {
    const opts = { encoding: "utf8" as const, timeout: 60_000, env };
    const q = spawnSync("qemu-riscv64", [busybox, "env"], opts);
    const t = spawnSync(BIN, [busybox, "env"], opts);
    assert.equal(q.status, 0, q.stderr);
    assert.equal(t.stderr, "");
    assert.equal(t.stdout, q.stdout, JSON.stringify(env));
  }
});

test("a guest dying of SIGSEGV has the core limit tsemu was started with, and tsemu leaves no core of itself", (t) => {
  const fault = path.join(guestDir(), "fault");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-core-"));
  try {
    // perl (Debian's perl-base) reports the core-dumped flag of the wait status, which Node does not.
    const script = 'ulimit -c unlimited 2>/dev/null || exit 77; exec perl -e \'system(@ARGV); printf "signal %d core %d\\n", $? & 127, ($? & 128) ? 1 : 0\' "$@"';
    const run = (cmd: string[]): string => {
      const r = spawnSync("bash", ["-c", script, "bash", ...cmd], { cwd: dir, encoding: "utf8", timeout: 60_000 });
      if (r.status === 77) return "unlimited refused";
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    const ref = run(["qemu-riscv64", fault]);
    if (ref === "unlimited refused") {
      t.skip("the hard core file size limit is below unlimited here");
      return;
    }
    assert.match(ref, /^core file size limit: -1, hard -1\nabout to write through NULL\nsignal 11 /);
    const before = new Set(fs.readdirSync(dir));
    const got = run([BIN, fault]);
    assert.equal(got, "core file size limit: -1, hard -1\nabout to write through NULL\nsignal 11 core 0\n");
    // The kernel's core_pattern may name a file in the working folder: none of tsemu's appeared.
    assert.deepEqual(fs.readdirSync(dir).filter((f) => !before.has(f)), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
