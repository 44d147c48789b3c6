/**
 * A real Go program: esbuild's riscv64 binary from the npm package
 * @esbuild/linux-riscv64 (threads, futexes, signals, epoll, mmap).  Its
 * output under tsemu-riscv64 must match qemu-riscv64's, under each engine
 * (the translator with its user-mode defaults): the version, and a bundle
 * of a few TypeScript files.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { testAccel } from "../util/env.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const TSEMU = path.join(ROOT, "dist/src/cli/tsemu-riscv64.js");
const ENGINES = [testAccel("interp"), testAccel("tcg")];
const VERSION = "0.28.2";
const CACHE = path.join(ROOT, ".cache/esbuild", VERSION);

/** The esbuild binary, fetched from the npm registry once and cached. */
function esbuild(): string {
  const bin = path.join(CACHE, "package/bin/esbuild");
  if (fs.existsSync(bin)) return bin;
  fs.mkdirSync(CACHE, { recursive: true });
  const pack = spawnSync("npm", ["pack", `@esbuild/linux-riscv64@${VERSION}`, "--silent"], { cwd: CACHE, encoding: "utf8" });
  assert.equal(pack.status, 0, `npm pack @esbuild/linux-riscv64@${VERSION} failed: ${pack.stderr}`);
  const tgz = pack.stdout.trim().split("\n").pop() as string;
  const tar = spawnSync("tar", ["xzf", tgz], { cwd: CACHE, encoding: "utf8" });
  assert.equal(tar.status, 0, `could not unpack ${tgz}: ${tar.stderr}`);
  return bin;
}

function run(cmd: string, args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("esbuild --version matches qemu-riscv64", () => {
  const bin = esbuild();
  const q = run("qemu-riscv64", [bin, "--version"], ROOT);
  assert.equal(q.status, 0, `qemu-riscv64 failed: ${q.stderr}`);
  for (const accel of ENGINES) {
    const t = run(process.execPath, [TSEMU, "-accel", accel, bin, "--version"], ROOT);
    assert.equal(t.stdout, q.stdout, `-accel ${accel}`);
    assert.equal(t.status, 0, `-accel ${accel}`);
  }
});

test("esbuild bundles TypeScript files exactly as under qemu-riscv64", () => {
  const bin = esbuild();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-esbuild-"));
  try {
    fs.writeFileSync(path.join(dir, "main.ts"),
      'import { greet } from "./greet";\nimport { total, type Item } from "./cart";\n' +
      'const items: Item[] = [{ name: "a", price: 2 }, { name: "b", price: 3 }];\n' +
      "console.log(greet(\"tsemu\"), total(items));\n");
    fs.writeFileSync(path.join(dir, "greet.ts"),
      "export function greet(name: string): string {\n  return `hello ${name.toUpperCase()}`;\n}\n");
    fs.writeFileSync(path.join(dir, "cart.ts"),
      "export interface Item { name: string; price: number }\n" +
      "export const total = (items: Item[]): number => items.reduce((s, i) => s + i.price, 0);\n" +
      "export class Unused { private x = 1; get y(): number { return this.x; } }\n");
    const args = (out: string): string[] => [bin, "--bundle", "main.ts", "--minify", "--format=esm", `--outfile=${out}`];
    const q = run("qemu-riscv64", args("q.js"), dir);
    assert.equal(q.status, 0, `qemu-riscv64 failed: ${q.stderr}`);
    for (const accel of ENGINES) {
      const out = `t-${accel.replace(/\W/g, "_")}.js`;
      const t = run(process.execPath, [TSEMU, "-accel", accel, ...args(out)], dir);
      assert.equal(t.status, 0, `tsemu -accel ${accel} failed: ${t.stderr}`);
      assert.equal(fs.readFileSync(path.join(dir, out), "utf8"), fs.readFileSync(path.join(dir, "q.js"), "utf8"), `-accel ${accel}`);
      const node = spawnSync(process.execPath, [path.join(dir, out)], { encoding: "utf8" });
      assert.equal(node.stdout, "hello TSEMU 5\n", `-accel ${accel}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
