/**
 * qcow2 both ways against Debian's qemu-img: images qemu-img makes read in
 * tsemu byte for byte as `qemu-img convert -O raw` gives them; images tsemu
 * writes pass `qemu-img check` and equal their expected contents under
 * `qemu-img compare`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { openImage } from "../../src/block/open.js";
import { createQcow2 } from "../../src/block/qcow2/create.js";
import { Qcow2Image } from "../../src/block/qcow2/qcow2.js";
import { nodeBlockHost as host } from "../../src/host/image-file.js";
import { QEMU_IMG, SKIP_QEMU_IMG, qemuImg, qemuIo, rng, scratch } from "./qemu-img.js";

const dir = QEMU_IMG === undefined ? "" : scratch("qcow2");
test.after(() => { if (dir !== "") fs.rmSync(dir, { recursive: true, force: true }); });
const at = (name: string): string => path.join(dir, name);

function readAll(file: string): Uint8Array {
  const img = openImage(host, file, { readOnly: true });
  try {
    const b = new Uint8Array(img.size);
    img.read(0, b);
    return b;
  } finally {
    img.close();
  }
}

function qemuRaw(file: string, snapshot?: string): Uint8Array {
  const out = at("expect.raw");
  const r = qemuImg("convert", ...(snapshot !== undefined ? ["-l", `snapshot.name=${snapshot}`] : []), "-O", "raw", file, out);
  assert.equal(r.status, 0, r.stderr);
  return new Uint8Array(fs.readFileSync(out));
}

function sameBytes(got: Uint8Array, want: Uint8Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: size`);
  const i = got.findIndex((v, k) => v !== want[k]);
  assert.equal(i, -1, `${what}: first difference at byte ${i}`);
}

test("images qemu-img writes (every cluster size, compat 0.10 and 1.1, snapshots) read byte for byte", { skip: SKIP_QEMU_IMG }, () => {
  for (const cs of [512, 4096, 65536, 2097152]) {
    for (const compat of ["0.10", "1.1"]) {
      const f = at(`q-${cs}-${compat}.qcow2`);
      assert.equal(qemuImg("create", "-q", "-f", "qcow2", "-o", `cluster_size=${cs},compat=${compat}`, f, "12M").status, 0);
      qemuIo(f, "write -P 0x11 0 300k", "write -P 0x22 1000k 7k", "write -z 2M 1M", "write -P 5 5M 3M", "discard 6M 1M");
      assert.equal(qemuImg("snapshot", "-c", "first", f).status, 0);
      qemuIo(f, "write -P 0x33 100k 200k", "write -P 0x44 11M 1M", "write -z 5M 64k");
      sameBytes(readAll(f), qemuRaw(f), f);
      // The snapshot's contents, seen by applying it to a copy.
      const copy = at(`q-${cs}-${compat}-copy.qcow2`);
      fs.copyFileSync(f, copy);
      const img = openImage(host, copy, { readOnly: false }) as Qcow2Image;
      img.applySnapshot("first");
      img.close();
      sameBytes(readAll(copy), qemuRaw(f, "first"), `${f} snapshot`);
      assert.equal(qemuImg("check", copy).status, 0, `check after apply: ${qemuImg("check", copy).stderr}`);
    }
  }
});

test("compressed images, extended L2 entries and backing chains of qcow2 and raw read byte for byte", { skip: SKIP_QEMU_IMG }, () => {
  const raw = at("base.raw");
  const text = Array.from({ length: 60000 }, (_, i) => `line ${i} of a compressible file ${i * 7919 % 1000}\n`).join("");
  const bytes = new Uint8Array(6 * 1024 * 1024);
  bytes.set(new TextEncoder().encode(text).subarray(0, 3 * 1024 * 1024));
  const next = rng(7);
  for (let i = 4 * 1024 * 1024; i < 5 * 1024 * 1024; i++) bytes[i] = next(256);
  fs.writeFileSync(raw, bytes);
  for (const o of ["compat=1.1", "compat=0.10,cluster_size=4096", "cluster_size=512", "cluster_size=2M"]) {
    const c = at(`comp-${o}.qcow2`);
    assert.equal(qemuImg("convert", "-c", "-f", "raw", "-O", "qcow2", "-o", o, raw, c).status, 0);
    sameBytes(readAll(c), bytes, `compressed ${o}`);
  }
  const ext = at("ext.qcow2");
  assert.equal(qemuImg("create", "-q", "-f", "qcow2", "-o", "extended_l2=on", "-b", raw, "-F", "raw", ext).status, 0);
  qemuIo(ext, "write -P 3 4k 8k", "write -z 64k 4k", "write -P 9 1M 3k");
  sameBytes(readAll(ext), qemuRaw(ext), "extended L2 over raw");
  // raw <- qcow2 (compressed) <- qcow2 <- qcow2, names relative to each image's folder.
  fs.mkdirSync(at("sub"));
  const mid = at("sub/mid.qcow2");
  assert.equal(qemuImg("create", "-q", "-f", "qcow2", "-b", "../comp-compat=1.1.qcow2", "-F", "qcow2", mid).status, 0);
  qemuIo(mid, "write -P 0x77 2M 100k", "write -z 0 64k");
  const top = at("top.qcow2");
  assert.equal(qemuImg("create", "-q", "-f", "qcow2", "-b", "sub/mid.qcow2", "-F", "qcow2", top).status, 0);
  qemuIo(top, "write -P 0x88 2050k 10k");
  sameBytes(readAll(top), qemuRaw(top), "three-level chain");
});

test("images tsemu writes pass qemu-img check and equal their expected bytes", { skip: SKIP_QEMU_IMG }, () => {
  const cases: [number, number, number, boolean][] = [
    [65536, 3, 16, false], [512, 3, 16, false], [4096, 2, 16, false], [65536, 3, 1, false], [65536, 3, 64, false],
    [2097152, 3, 8, false], [4096, 3, 16, true], [512, 2, 16, true],
  ];
  for (const [cs, version, refcountBits, withBacking] of cases) {
    const size = 6 * 1024 * 1024 + 1536;
    const f = at(`w-${cs}-${version}-${refcountBits}-${withBacking}.qcow2`);
    const model = new Uint8Array(size);
    const below = new Uint8Array(size);
    if (withBacking) {
      const b = new Uint8Array(size - 4096).map((_, i) => (i * 7) & 255);
      fs.writeFileSync(at("wb.raw"), b);
      model.set(b);
      below.set(b);
    }
    createQcow2(host, f, {
      size, clusterSize: cs, version, backingFile: withBacking ? "wb.raw" : "", backingFormat: withBacking ? "raw" : "",
      lazyRefcounts: false, refcountBits, extendedL2: false, preallocation: "off",
    });
    const img = openImage(host, f, { readOnly: false }) as Qcow2Image;
    const next = rng(cs + version + refcountBits);
    for (let i = 0; i < 200; i++) {
      const off = next(size);
      const len = Math.min(size - off, 1 + next(150000));
      const op = next(10);
      if (op < 6) {
        const d = new Uint8Array(len).fill(1 + next(255));
        img.write(off, d);
        model.set(d, off);
      } else if (op < 8) {
        img.writeZeroes(off, len, next(2) === 1);
        model.fill(0, off, off + len);
      } else {
        img.discard(off, len);
        const back = new Uint8Array(len);
        img.read(off, back);
        // Discard drops whole clusters only; they read as zeros (v3) or the backing file (v2).
        for (let k = 0; k < len; k++) assert.ok(back[k] === model[off + k] || back[k] === 0 || back[k] === below[off + k]);
        model.set(back, off);
      }
      if (refcountBits > 1 && i === 60) img.createSnapshot("a", { sec: 1, nsec: 0 });
      if (refcountBits > 1 && i === 120) img.createSnapshot("b", { sec: 2, nsec: 0 });
      if (refcountBits > 1 && i === 160) img.deleteSnapshot("a");
    }
    img.close();
    fs.writeFileSync(at("model.raw"), model);
    const check = qemuImg("check", f);
    assert.equal(check.status, 0, `${f}: qemu-img check: ${check.stdout}${check.stderr}`);
    const cmp = qemuImg("compare", "-f", "qcow2", "-F", "raw", f, at("model.raw"));
    assert.equal(cmp.status, 0, `${f}: ${cmp.stdout}`);
    if (refcountBits > 1) {
      assert.match(qemuImg("snapshot", "-l", f).stdout, /\bb\b/);
    }
  }
});

test("tsemu's snapshots read in qemu-img as the bytes they froze; applying one in qemu-img leaves a clean image", { skip: SKIP_QEMU_IMG }, () => {
  const f = at("snaps.qcow2");
  createQcow2(host, f, {
    size: 4 * 1024 * 1024, clusterSize: 4096, version: 3, backingFile: "", backingFormat: "", lazyRefcounts: false,
    refcountBits: 16, extendedL2: false, preallocation: "off",
  });
  const img = openImage(host, f, { readOnly: false }) as Qcow2Image;
  img.write(0, new Uint8Array(100000).fill(1));
  img.createSnapshot("one", { sec: 1, nsec: 0 });
  const frozen = new Uint8Array(img.size);
  img.read(0, frozen);
  img.write(50000, new Uint8Array(200000).fill(2));
  img.writeZeroes(0, 8192, true);
  img.createSnapshot("two", { sec: 2, nsec: 0 });
  img.close();
  sameBytes(qemuRaw(f, "one"), frozen, "snapshot one");
  assert.equal(qemuImg("snapshot", "-a", "one", f).status, 0);
  assert.equal(qemuImg("check", f).status, 0);
  sameBytes(readAll(f), frozen, "after qemu-img applied one");
});
