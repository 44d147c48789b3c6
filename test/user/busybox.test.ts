/**
 * BusyBox (built static from Debian's source package by guest/build-busybox.sh):
 * applets and a shell script run under tsemu-riscv64 and qemu-riscv64 on the
 * same files must print the same bytes and end the same way, under each
 * engine: the interpreter and the translator compiling every block before
 * its first run.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { TCG_EAGER, testAccel } from "../util/env.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const TSEMU = path.join(ROOT, "dist/src/cli/tsemu-riscv64.js");
const ENGINES = [testAccel("interp"), testAccel(TCG_EAGER)];
let busybox = "";
let work = "";

before(() => {
  const r = spawnSync("bash", [path.join(ROOT, "guest/build-busybox.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  assert.equal(r.status, 0, "guest/build-busybox.sh failed");
  busybox = r.stdout.trim().split("\n").pop() as string;
  work = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-busybox-"));
  fs.mkdirSync(path.join(work, "tree/sub/deep"), { recursive: true });
  const lines: string[] = [];
  for (let i = 0; i < 500; i++) lines.push(`${(i * 7919) % 1000} line-${i} ${i % 3 === 0 ? "fizz" : "buzz"}`);
  fs.writeFileSync(path.join(work, "tree/data.txt"), lines.join("\n") + "\n");
  fs.writeFileSync(path.join(work, "tree/sub/a.c"), "int main(void) { return 0; }\n");
  fs.writeFileSync(path.join(work, "tree/sub/deep/b.txt"), "deep file\n".repeat(100));
  const big = Buffer.alloc(256 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 8)) & 0xff;
  fs.writeFileSync(path.join(work, "tree/blob.bin"), big);
});

function both(args: string[], input?: string): void {
  const opts = { cwd: work, encoding: "utf8" as const, input, timeout: 120_000, env: { PATH: "/usr/bin:/bin", LC_ALL: "C" } };
  const q = spawnSync("qemu-riscv64", [busybox, ...args], opts);
  for (const accel of ENGINES) {
    const t = spawnSync(process.execPath, [TSEMU, "-accel", accel, busybox, ...args], opts);
    const what = `busybox ${args.join(" ")} (-accel ${accel})`;
    assert.equal(t.stdout, q.stdout, `${what}: stdout differs`);
    assert.equal(t.stderr, q.stderr, `${what}: stderr differs`);
    assert.equal(t.status, q.status, `${what}: exit status differs`);
    assert.equal(t.signal, q.signal, `${what}: signal differs`);
  }
}

const APPLETS: [string, string[], string?][] = [
  ["ls", ["ls", "-laR", "--color=never", "tree/sub"]],
  ["cat", ["cat", "tree/data.txt", "tree/sub/a.c"]],
  ["sort", ["sort", "-n", "-k1,1", "-k2", "tree/data.txt"]],
  ["sed", ["sed", "-n", "s/line-\\([0-9]*5\\) fizz/L\\1/p", "tree/data.txt"]],
  ["awk", ["awk", "{ s[$3] += $1 } END { for (k in s) print k, s[k] }", "tree/data.txt"]],
  ["find", ["find", "tree", "-name", "*.txt", "-type", "f"]],
  ["tar", ["sh", "-c", "tar cf - tree/sub | tar tvf - | awk '{print $1, $3, $6}'"]],
  ["gzip/gunzip", ["sh", "-c", "gzip -9 -c tree/blob.bin > blob.gz && gunzip -c blob.gz | sha256sum && wc -c < blob.gz"]],
  ["sha256sum", ["sha256sum", "tree/data.txt", "tree/blob.bin"]],
  ["wc", ["wc", "tree/data.txt", "tree/sub/deep/b.txt"]],
  ["xargs", ["sh", "-c", "echo 3 1 2 | xargs -n 1 echo item"]],
  ["od", ["od", "-A", "x", "-t", "x1z", "-N", "64", "tree/blob.bin"]],
  ["stdin", ["sha256sum"], "piped into the guest\n"],
];

for (const [name, args, input] of APPLETS) {
  test(`busybox ${name} matches qemu-riscv64`, () => both(args, input));
}

test("busybox sh: pipelines, subshells, redirections, $(...) and background jobs match qemu-riscv64", () => {
  const script = [
    "set -e",
    "count=$(grep -c fizz tree/data.txt)",
    "echo \"fizz lines: $count\"",
    "(cd tree/sub && echo \"in $(basename $(pwd))\" && ls)",
    "grep buzz tree/data.txt | sort -n | head -3 | cut -d' ' -f2 > out.txt",
    "cat < out.txt; wc -l < out.txt",
    "echo err 1>&2; echo appended >> out.txt; tail -1 out.txt",
    "sleep 0.1 & bg=$!; (exit 7) & other=$!",
    "wait $bg; echo \"bg status $?\"; set +e; wait $other; echo \"other status $?\"; set -e",
    "for i in 1 2 3; do echo \"n$i\"; done | tr n N | paste -s -d,",
    "f() { local x=$1; echo $((x * x)); }; echo \"square $(f 12)\"",
    "case $count in 1*) echo starts-with-one;; *) echo other;; esac",
    "exit 3",
  ].join("\n");
  both(["sh", "-c", script]);
});

/** Wait (polling, up to `ms`) until `ok` holds. */
function waitFor(ok: () => boolean, ms: number): boolean {
  const end = Date.now() + ms;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  while (!ok()) {
    if (Date.now() > end) return false;
    Atomics.wait(nap, 0, 0, 50);
  }
  return true;
}

test("busybox sh: a background job outlives the shell that started it, and no temporary folder outlives either", () => {
  // The shell forks the job and exits at once, before the child can have started.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-orphan-"));
  const out = path.join(work, "orphan.out");
  fs.rmSync(out, { force: true });
  const r = spawnSync(process.execPath, [TSEMU, busybox, "sh", "-c", `(sleep 0.3; echo job ran > ${out}) & exit 0`], {
    cwd: work, encoding: "utf8", timeout: 60_000, env: { PATH: "/usr/bin:/bin", TMPDIR: tmp },
  });
  assert.equal(r.stderr, "");
  assert.equal(r.status, 0);
  assert.ok(waitFor(() => fs.existsSync(out) && fs.readFileSync(out, "utf8") === "job ran\n", 30_000), "the background job never ran");
  // The job's own process removes the parent's folder once it ends.
  assert.ok(waitFor(() => fs.readdirSync(tmp).length === 0, 30_000), `left behind: ${fs.readdirSync(tmp).join(", ")}`);
  fs.rmdirSync(tmp);
});

test("bin/tsemu-riscv64 gives the guest exactly the environment it was given, as qemu-riscv64 does", () => {
  const opts = { cwd: work, encoding: "utf8" as const, timeout: 60_000, env: { PATH: "/usr/bin:/bin", ONLY: "this" } };
  const q = spawnSync("qemu-riscv64", [busybox, "env"], opts);
  const t = spawnSync(path.join(ROOT, "bin/tsemu-riscv64"), [busybox, "env"], opts);
  assert.equal(t.stderr, "");
  assert.equal(t.stdout, q.stdout);
  assert.deepEqual(q.stdout.split("\n").sort(), ["", "ONLY=this", "PATH=/usr/bin:/bin"]);
  // -E and -U edit it in the order given, and the order of the variables is QEMU's too.
  const edits = ["-E", "D=4", "-E", "PATH=/bin", "-U", "ONLY", "-E", "ONLY=again", "-U", "D"];
  const qe = spawnSync("qemu-riscv64", [...edits, busybox, "env"], opts);
  const te = spawnSync(path.join(ROOT, "bin/tsemu-riscv64"), [...edits, busybox, "env"], opts);
  assert.equal(te.stdout, qe.stdout);
  assert.equal(qe.stdout.split("\n").length, 3);
});
