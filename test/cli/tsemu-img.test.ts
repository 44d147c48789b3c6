/**
 * tsemu-img against qemu-img: the same info (human and JSON), check
 * results and exit statuses, convert/compare/snapshot/commit/rebase results
 * that qemu-img accepts; bad images give one line, status 1, and are left
 * untouched.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../util/env.js";
import { SKIP_QEMU_IMG, qemuImg, qemuIo, scratch } from "../block/qemu-img.js";

const IMG = path.join(repoRoot(import.meta.url), "bin/tsemu-img");
const dir = scratch("img-cli");
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
const at = (name: string): string => path.join(dir, name);

function tsemuImg(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(IMG, args, { encoding: "utf8", cwd: dir });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const qemu = (...args: string[]): ReturnType<typeof qemuImg> => {
  const r = spawnSync("qemu-img", args, { encoding: "utf8", cwd: dir });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
};

test("info (human, JSON, --backing-chain) matches qemu-img's", { skip: SKIP_QEMU_IMG }, () => {
  assert.equal(qemu("create", "-q", "-f", "raw", "base.raw", "3M").status, 0);
  assert.equal(tsemuImg("create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "mid.qcow2").status, 0);
  assert.equal(qemu("create", "-q", "-f", "qcow2", "-o", "compat=0.10,cluster_size=4096", "-b", "mid.qcow2", "-F", "qcow2", "top.qcow2").status, 0);
  qemuIo(at("top.qcow2"), "write -P 1 0 100k");
  assert.equal(qemu("snapshot", "-c", "s1", "top.qcow2").status, 0);
  assert.equal(tsemuImg("create", "-q", "-f", "qcow2", "-o", "lazy_refcounts=on,refcount_bits=8,cluster_size=512", "lazy.qcow2", "1G").status, 0);
  for (const f of ["base.raw", "mid.qcow2", "top.qcow2", "lazy.qcow2"]) {
    for (const args of [["info", f], ["info", "--output=json", f], ["info", "--backing-chain", "--output=json", f], ["info", "--backing-chain", f]]) {
      const a = tsemuImg(...args);
      const b = qemu(...args);
      assert.equal(a.status, 0, a.stderr);
      assert.equal(a.stdout, b.stdout, `tsemu-img ${args.join(" ")}`);
    }
  }
});

test("create writes what qemu-img would: same options line, clean image", { skip: SKIP_QEMU_IMG }, () => {
  for (const o of ["cluster_size=65536", "compat=0.10,cluster_size=4096,preallocation=metadata", "cluster_size=512", "cluster_size=2M,lazy_refcounts=on", "refcount_bits=1"]) {
    const a = tsemuImg("create", "-f", "qcow2", "-o", o, "c1.qcow2", "100M");
    const b = qemu("create", "-f", "qcow2", "-o", o, "c2.qcow2", "100M");
    assert.equal(a.status, 0, a.stderr);
    assert.equal(a.stdout.replace("c1", "c2"), b.stdout);
    const chk = qemu("check", "c1.qcow2");
    assert.equal(chk.status, 0, `${o}: ${chk.stdout}${chk.stderr}`);
    assert.equal(tsemuImg("check", "c1.qcow2").stdout, chk.stdout, o);
    assert.equal(tsemuImg("map", "--output=json", "c1.qcow2").stdout.length > 0, true);
  }
});

test("check: the same report and exit status as qemu-img for leaks and for errors; -r leaks repairs", { skip: SKIP_QEMU_IMG }, () => {
  assert.equal(qemu("create", "-q", "-f", "qcow2", "leaky.qcow2", "10M").status, 0);
  qemuIo(at("leaky.qcow2"), "write -P 1 0 1M");
  const b = fs.readFileSync(at("leaky.qcow2"));
  b[0x20000 + 2 * 3 + 1] = 2; // L1's cluster (3) counted twice: one leaked reference
  fs.writeFileSync(at("leaky.qcow2"), b);
  const t = tsemuImg("check", "leaky.qcow2");
  const q = qemu("check", "leaky.qcow2");
  assert.equal(q.status, 3);
  assert.equal(t.status, 3);
  assert.equal(t.stdout, q.stdout);
  assert.equal(t.stderr, q.stderr);
  assert.equal(tsemuImg("check", "--output=json", "leaky.qcow2").stdout, qemu("check", "--output=json", "leaky.qcow2").stdout);
  const fixed = tsemuImg("check", "-r", "leaks", "leaky.qcow2");
  assert.equal(fixed.status, 0, fixed.stdout);
  assert.match(fixed.stdout, /1 leaked clusters\n {4}0 corruptions/);
  assert.equal(qemu("check", "leaky.qcow2").status, 0);

  const c = fs.readFileSync(at("leaky.qcow2"));
  c[0x20000 + 2 * 3 + 1] = 0; // the L1 table's cluster not counted at all
  fs.writeFileSync(at("corrupt.qcow2"), c);
  const tc = tsemuImg("check", "corrupt.qcow2");
  const qc = qemu("check", "corrupt.qcow2");
  assert.equal(qc.status, 2);
  assert.equal(tc.status, 2);
  assert.equal(tc.stdout, qc.stdout);
  assert.equal(tsemuImg("check", "base.raw").status, 63);

  // Allocation, fragmentation and compression figures, on images qemu-img wrote.
  assert.equal(qemu("create", "-q", "-f", "qcow2", "-o", "cluster_size=512", "small.qcow2", "4M").status, 0);
  qemuIo(at("small.qcow2"), "write -P 1 0 300k", "write -P 2 1M 100k", "write -P 3 100k 50k");
  const text = new TextEncoder().encode("some text to compress ".repeat(100000));
  fs.writeFileSync(at("text.raw"), text);
  assert.equal(qemu("convert", "-c", "-f", "raw", "-O", "qcow2", "-o", "cluster_size=4096", "text.raw", "text.qcow2").status, 0);
  for (const f of ["small.qcow2", "text.qcow2"]) {
    assert.equal(tsemuImg("check", f).stdout, qemu("check", f).stdout, f);
    assert.equal(tsemuImg("check", "--output=json", f).stdout, qemu("check", "--output=json", f).stdout, f);
  }
});

/** A copy of `from` with its refcount structure broken one way (the first refcount table entry, its block). */
function breakRefcounts(from: string, to: string, how: "no block" | "block zeroed" | "block on an L2 table" | "block past the end"): void {
  const b = Buffer.from(fs.readFileSync(at(from)));
  const table = Number(b.readBigUInt64BE(48));
  const block = Number(b.readBigUInt64BE(table));
  const l2 = Number(b.readBigUInt64BE(Number(b.readBigUInt64BE(40))) & 0x00fffffffffffe00n);
  if (how === "no block") b.writeBigUInt64BE(0n, table);
  if (how === "block zeroed") b.fill(0, block, block + 65536);
  if (how === "block on an L2 table") b.writeBigUInt64BE(BigInt(l2), table);
  if (how === "block past the end") b.writeBigUInt64BE(1n << 30n, table);
  fs.writeFileSync(at(to), b);
}

test("check -r all rebuilds a broken refcount structure as qemu-img does; -r leaks refuses and leaves it", { skip: SKIP_QEMU_IMG }, () => {
  assert.equal(qemu("create", "-q", "-f", "qcow2", "whole.qcow2", "64M").status, 0);
  qemuIo(at("whole.qcow2"), "write -P 0x5a 0 3M", "write -P 0x33 40M 1M");
  assert.equal(qemu("snapshot", "-c", "s1", "whole.qcow2").status, 0);
  qemuIo(at("whole.qcow2"), "write -P 0x77 1M 1M"); // shared clusters (refcount 2) and copied ones
  for (const how of ["no block", "block zeroed", "block on an L2 table", "block past the end"] as const) {
    breakRefcounts("whole.qcow2", "q.qcow2", how);
    breakRefcounts("whole.qcow2", "t.qcow2", how);
    const before = createHash("sha256").update(fs.readFileSync(at("t.qcow2"))).digest("hex");
    const tc = tsemuImg("check", "t.qcow2");
    const qc = qemu("check", "q.qcow2");
    assert.equal(tc.status, qc.status, how);
    assert.equal(tc.stdout, qc.stdout, how);
    assert.equal(tc.stderr, qc.stderr, how);
    // -r leaks cannot mend it: QEMU stops with an I/O error, and nothing is written.
    const tl = tsemuImg("check", "-r", "leaks", "t.qcow2");
    const ql = qemu("check", "-r", "leaks", "q.qcow2");
    assert.equal(tl.status, 1, how);
    assert.equal(tl.status, ql.status, how);
    assert.equal(tl.stderr.trim().split("\n").slice(-2).join("\n"), ql.stderr.trim().split("\n").slice(-2).join("\n").replaceAll("qemu-img", "tsemu-img"), how);
    assert.equal(createHash("sha256").update(fs.readFileSync(at("t.qcow2"))).digest("hex"), before, `${how}: -r leaks wrote to the image`);
    const t = tsemuImg("check", "-r", "all", "t.qcow2");
    assert.equal(t.status, 0, `${how}: ${t.stdout}${t.stderr}`);
    assert.match(t.stderr, /^Rebuilding refcount structure$/m, how);
    if (how !== "block past the end") {
      // QEMU grows the file to cover a block past its end before rebuilding; tsemu rebuilds without growing it.
      const q = qemu("check", "-r", "all", "q.qcow2");
      assert.equal(t.stdout, q.stdout, how);
      assert.equal(t.stderr, q.stderr, how);
    }
    const after = qemu("check", "t.qcow2");
    assert.equal(after.status, 0, `${how}: qemu-img check after the rebuild: ${after.stdout}${after.stderr}`);
    assert.equal(qemu("compare", "whole.qcow2", "t.qcow2").status, 0, `${how}: the data changed`);
    assert.equal(qemu("snapshot", "-l", "t.qcow2").stdout, qemu("snapshot", "-l", "whole.qcow2").stdout, `${how}: the snapshots changed`);
  }
});

test("convert (plain and -c), compare, snapshot, resize, commit and rebase give images qemu-img agrees with", { skip: SKIP_QEMU_IMG }, () => {
  const text = Array.from({ length: 50000 }, (_, i) => `row ${i}: ${i * 31 % 977}\n`).join("");
  const raw = new Uint8Array(4 * 1024 * 1024);
  raw.set(new TextEncoder().encode(text).subarray(0, 2 * 1024 * 1024), 512 * 1024);
  fs.writeFileSync(at("src.raw"), raw);
  for (const args of [["-O", "qcow2"], ["-c", "-O", "qcow2"], ["-c", "-O", "qcow2", "-o", "cluster_size=4096,compat=0.10"], ["-O", "raw"]]) {
    const r = tsemuImg("convert", "-f", "raw", ...args, "src.raw", "out.img");
    assert.equal(r.status, 0, r.stderr);
    if (args.includes("qcow2")) assert.equal(qemu("check", "out.img").status, 0, args.join(" "));
    assert.equal(qemu("compare", "-F", "raw", "out.img", "src.raw").status, 0, args.join(" "));
    assert.equal(tsemuImg("compare", "-F", "raw", "out.img", "src.raw").stdout, "Images are identical.\n");
  }
  const comp = qemu("info", "--output=json", "out.img");
  assert.equal(comp.status, 0);
  const p = tsemuImg("convert", "-p", "-O", "qcow2", "src.raw", "p.qcow2");
  assert.match(p.stdout, /\(100\.00\/100%\)\r\n$/);
  // Compressed clusters: qemu-img counts them.
  assert.equal(tsemuImg("convert", "-c", "-f", "raw", "-O", "qcow2", "src.raw", "c.qcow2").status, 0);
  assert.match(qemu("check", "c.qcow2").stdout, /[1-9][\d.]*% compressed clusters/);

  // Snapshots made by tsemu-img, listed and applied by qemu-img, and the other way round.
  assert.equal(tsemuImg("snapshot", "-c", "before", "c.qcow2").status, 0);
  qemuIo(at("c.qcow2"), "write -P 0x5a 1M 300k");
  assert.equal(qemu("snapshot", "-c", "after", "c.qcow2").status, 0);
  assert.equal(tsemuImg("snapshot", "-l", "c.qcow2").stdout, qemu("snapshot", "-l", "c.qcow2").stdout);
  assert.equal(tsemuImg("snapshot", "-a", "before", "c.qcow2").status, 0);
  assert.equal(qemu("compare", "-F", "raw", "c.qcow2", "src.raw").status, 0);
  assert.equal(tsemuImg("snapshot", "-d", "after", "c.qcow2").status, 0);
  assert.equal(qemu("check", "c.qcow2").status, 0);
  assert.doesNotMatch(qemu("snapshot", "-l", "c.qcow2").stdout, /after/);

  // resize
  assert.equal(tsemuImg("resize", "out.img", "+1M").stdout, "Image resized.\n");
  assert.equal(tsemuImg("resize", "p.qcow2", "+3M").status, 0);
  assert.equal(JSON.parse(qemu("info", "--output=json", "p.qcow2").stdout)["virtual-size"], 7 * 1024 * 1024);
  assert.equal(qemu("check", "p.qcow2").status, 0);
  assert.equal(tsemuImg("resize", "p.qcow2", "1M").status, 1);

  // commit: the overlay's writes land in the base.
  fs.copyFileSync(at("src.raw"), at("commit-base.raw"));
  assert.equal(tsemuImg("create", "-q", "-f", "qcow2", "-b", "commit-base.raw", "-F", "raw", "ov.qcow2").status, 0);
  qemuIo(at("ov.qcow2"), "write -P 0x66 64k 128k", "write -z 1M 64k");
  fs.copyFileSync(at("ov.qcow2"), at("ov-copy.qcow2"));
  qemu("convert", "-O", "raw", "ov.qcow2", "ov-expect.raw");
  assert.equal(tsemuImg("commit", "ov.qcow2").stdout, "Image committed.\n");
  assert.equal(qemu("compare", "-f", "raw", "-F", "raw", "commit-base.raw", "ov-expect.raw").status, 0);
  assert.equal(qemu("check", "ov.qcow2").status, 0);

  // rebase, safe: the image keeps its contents over a new (empty) backing file.
  fs.copyFileSync(at("src.raw"), at("commit-base.raw"));
  assert.equal(qemu("create", "-q", "-f", "raw", "empty.raw", "4M").status, 0);
  assert.equal(tsemuImg("rebase", "-b", "empty.raw", "-F", "raw", "ov-copy.qcow2").status, 0);
  assert.equal(qemu("compare", "-F", "raw", "ov-copy.qcow2", "ov-expect.raw").status, 0);
  assert.equal(qemu("check", "ov-copy.qcow2").status, 0);
  assert.equal(JSON.parse(qemu("info", "--output=json", "ov-copy.qcow2").stdout)["backing-filename"], "empty.raw");
  // -u only rewrites the name.
  assert.equal(tsemuImg("rebase", "-u", "-b", "commit-base.raw", "-F", "raw", "ov-copy.qcow2").status, 0);
  assert.equal(JSON.parse(qemu("info", "--output=json", "ov-copy.qcow2").stdout)["backing-filename"], "commit-base.raw");
});

const sha = (f: string): string => createHash("sha256").update(fs.readFileSync(f)).digest("hex");

function expectBad(name: string, args: string[], file: string, message: RegExp): void {
  const before = sha(file);
  const r = tsemuImg(...args);
  assert.equal(r.status, 1, `${name}: status ${r.status}: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `${name}: one line expected:\n${r.stderr}`);
  assert.match(lines[0], /^tsemu-img: /);
  assert.match(lines[0], message, name);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, `${name}: stack trace`);
  assert.equal(sha(file), before, `${name}: the image was changed`);
}

test("bad images: one line, status 1, the file untouched", { skip: SKIP_QEMU_IMG }, () => {
  assert.equal(qemu("create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", "good.qcow2", "8M").status, 0);
  qemuIo(at("good.qcow2"), "write -P 1 0 100k");
  const good = fs.readFileSync(at("good.qcow2"));
  const variant = (name: string, edit: (b: Buffer) => Buffer): string => {
    const b = edit(Buffer.from(good));
    fs.writeFileSync(at(name), b);
    return name;
  };
  const set64 = (b: Buffer, at: number, v: bigint): Buffer => { b.writeBigUInt64BE(v, at); return b; };
  const cases: [string, string, RegExp][] = [
    [variant("short.qcow2", (b) => b.subarray(0, 40)), "info", /not in qcow2 format/],
    [variant("trunc.qcow2", (b) => b.subarray(0, 3 * 4096)), "info", /past the end of the file/],
    [variant("l1-past.qcow2", (b) => set64(b, 40, 1n << 40n)), "info", /L1 table.*past the end/],
    [variant("rt-past.qcow2", (b) => set64(b, 48, 1n << 44n)), "info", /Reference count table.*past the end/],
    [variant("huge.qcow2", (b) => set64(b, 24, 1n << 62n)), "info", /Image is too big/],
    [variant("big.qcow2", (b) => set64(b, 24, 1n << 50n)), "info", /L1 table is too small/],
    [variant("overlap.qcow2", (b) => set64(b, 40, b.readBigUInt64BE(48))), "resize", /corrupt/],
    [variant("cluster-bits.qcow2", (b) => { b.writeUInt32BE(30, 20); return b; }), "info", /cluster size/],
  ];
  for (const [file, cmd, message] of cases) {
    expectBad(file, cmd === "resize" ? ["resize", file, "+1M"] : [cmd, file], at(file), message);
  }
  // A refcount that would overflow its bits.
  assert.equal(tsemuImg("create", "-q", "-f", "qcow2", "-o", "refcount_bits=1", "narrow.qcow2", "1M").status, 0);
  qemuIo(at("narrow.qcow2"), "write -P 1 0 64k");
  expectBad("refcount overflow", ["snapshot", "-c", "s", "narrow.qcow2"], at("narrow.qcow2"), /overflow/);
  // Backing files in a loop.
  assert.equal(tsemuImg("create", "-q", "-f", "qcow2", "loop-a.qcow2", "1M").status, 0);
  assert.equal(tsemuImg("create", "-q", "-f", "qcow2", "-b", "loop-a.qcow2", "-F", "qcow2", "loop-b.qcow2").status, 0);
  assert.equal(tsemuImg("rebase", "-u", "-b", "loop-b.qcow2", "-F", "qcow2", "loop-a.qcow2").status, 0);
  expectBad("backing loop", ["convert", "-O", "raw", "loop-a.qcow2", "loop.raw"], at("loop-a.qcow2"), /loop/);
  expectBad("backing loop (info)", ["info", "--backing-chain", "loop-b.qcow2"], at("loop-b.qcow2"), /loop/);
  // Sizes qcow2 cannot hold.
  const r = tsemuImg("create", "-f", "qcow2", "-o", "cluster_size=512", "toobig.qcow2", "1P");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /too large/);
});
