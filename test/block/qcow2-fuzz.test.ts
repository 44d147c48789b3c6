/**
 * A seeded fuzz test: valid qcow2 images with every kind of cluster and a
 * snapshot, mutated at random (header, tables, entries), thousands of times
 * in memory.  Opening, reading, writing and snapshotting either work or fail
 * with an Error naming the problem; never anything else.  An image tsemu
 * refuses as corrupt is not written, and one found corrupt while writing is
 * not written again.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { BlockHost } from "../../src/block/image-file.js";
import { MemoryImageFile } from "../../src/block/memory-file.js";
import { openImage } from "../../src/block/open.js";
import { createQcow2 } from "../../src/block/qcow2/create.js";
import { ImageError } from "../../src/block/qcow2/header.js";
import { Qcow2Image } from "../../src/block/qcow2/qcow2.js";
import { nodeBlockHost } from "../../src/host/image-file.js";
import { rng } from "./qemu-img.js";

const CASES = 3000;
/** TSEMU_FUZZ_SEED replays or varies the run. */
const SEED = Number(process.env.TSEMU_FUZZ_SEED ?? "20261202");

/** Files in memory, by name. */
function memoryHost(files: Map<string, MemoryImageFile>): BlockHost {
  return {
    open(path) {
      const f = files.get(path);
      if (f === undefined) throw new Error(`Could not open '${path}': No such file or directory`);
      return f;
    },
    create(path) {
      const f = new MemoryImageFile(path);
      files.set(path, f);
      return f;
    },
    identity: (f) => f.path,
    dirname: () => "",
    isAbsolute: (p) => p.startsWith("/"),
    inflateRaw: nodeBlockHost.inflateRaw,
    deflateRaw: nodeBlockHost.deflateRaw,
  };
}

function validImage(): Uint8Array {
  const files = new Map<string, MemoryImageFile>();
  const host = memoryHost(files);
  createQcow2(host, "base.raw", { size: 0, clusterSize: 512, version: 2, backingFile: "", backingFormat: "", lazyRefcounts: false, refcountBits: 16, extendedL2: false, preallocation: "off" });
  files.set("base.raw", new MemoryImageFile("base.raw", new Uint8Array(256 * 1024).fill(7)));
  createQcow2(host, "v.qcow2", {
    size: 256 * 1024, clusterSize: 4096, version: 3, backingFile: "base.raw", backingFormat: "raw", lazyRefcounts: false,
    refcountBits: 16, extendedL2: false, preallocation: "off",
  });
  const img = openImage(host, "v.qcow2", { readOnly: false, format: "qcow2" }) as Qcow2Image;
  img.write(0, new Uint8Array(20000).fill(1));
  img.writeCompressed(8, new Uint8Array(4096).fill(3));
  img.writeCompressed(9, new TextEncoder().encode("compressible ".repeat(400)).subarray(0, 4096));
  img.writeZeroes(40960, 8192, true);
  img.createSnapshot("s", { sec: 1, nsec: 0 });
  img.write(10000, new Uint8Array(9000).fill(2));
  img.close();
  return (files.get("v.qcow2") as MemoryImageFile).contents();
}

/** An error a user may see: an Error of ours or a host error, never a TypeError or the like from a bug. */
function assertClean(e: unknown, what: string): void {
  assert.ok(e instanceof Error, `${what}: threw a non-Error ${String(e)}`);
  assert.ok(!(e instanceof TypeError) && !(e instanceof ReferenceError) && !(e instanceof SyntaxError),
    `${what}: ${e.name}: ${e.message}\n${e.stack ?? ""}`);
  assert.ok(!e.message.includes("\n"), `${what}: message of more than one line: ${e.message}`);
}

test(`${CASES} mutated qcow2 images: clean errors only, no writes to an image called corrupt`, (t) => {
  const valid = validImage();
  const next = rng(SEED);
  let opened = 0;
  let refused = 0;
  let failedLater = 0;
  for (let n = 0; n < CASES; n++) {
    const bytes = valid.slice();
    const edits = 1 + next(4);
    for (let k = 0; k < edits; k++) {
      // Half the edits land in the header cluster, the rest anywhere in the metadata-rich file.
      const pos = next(2) === 0 ? next(128) : next(bytes.length);
      bytes[pos] = next(3) === 0 ? bytes[pos] ^ (1 << next(8)) : next(256);
    }
    const files = new Map<string, MemoryImageFile>([["base.raw", new MemoryImageFile("base.raw", new Uint8Array(256 * 1024).fill(7), true)]]);
    const file = new MemoryImageFile("v.qcow2", bytes);
    files.set("v.qcow2", file);
    const host = memoryHost(files);
    const what = `case ${n}`;

    // Read-only: open and read everything.
    try {
      const ro = openImage(host, "v.qcow2", { readOnly: true, format: "qcow2" });
      try {
        const all = new Uint8Array(Math.min(ro.size, 1 << 20));
        ro.read(0, all);
      } finally {
        ro.close();
      }
    } catch (e) {
      assertClean(e, `${what} (read-only)`);
    }

    let img: Qcow2Image;
    try {
      img = openImage(host, "v.qcow2", { readOnly: false, format: "qcow2" }) as Qcow2Image;
    } catch (e) {
      assertClean(e, `${what} (open)`);
      assert.equal(file.writes, 0, `${what}: refused as "${(e as Error).message}" but written`);
      refused++;
      continue;
    }
    opened++;
    const size = img.size;
    const ops: (() => void)[] = [
      () => img.write(Math.min(5000, Math.max(size - 3000, 0)), new Uint8Array(Math.min(3000, size)).fill(9)),
      () => img.writeZeroes(0, Math.min(size, 8192), true),
      () => img.discard(0, Math.min(size, 16384)),
      () => img.write(Math.max(0, size - 4096), new Uint8Array(Math.min(4096, size)).fill(4)),
      () => { img.createSnapshot("t", { sec: 2, nsec: 0 }); },
      () => { img.applySnapshot("s"); },
      () => img.read(0, new Uint8Array(Math.min(size, 1 << 20))),
    ];
    let writesWhenCorrupt = -1;
    for (const op of ops) {
      try {
        op();
      } catch (e) {
        assertClean(e, `${what} (operation)`);
        if (e instanceof ImageError && writesWhenCorrupt < 0) { writesWhenCorrupt = file.writes; failedLater++; }
      }
    }
    if (writesWhenCorrupt >= 0) {
      try { img.write(0, new Uint8Array(512)); } catch (e) { assertClean(e, `${what} (after corrupt)`); }
      try { img.createSnapshot("u", { sec: 3, nsec: 0 }); } catch (e) { assertClean(e, `${what} (after corrupt)`); }
      assert.equal(file.writes, writesWhenCorrupt, `${what}: written after being found corrupt`);
    }
    try { img.close(); } catch (e) { assertClean(e, `${what} (close)`); }
  }
  assert.ok(opened > CASES / 20 && refused > CASES / 20, `opened ${opened}, refused ${refused}: the mutations should do both`);
  t.diagnostic(`seed ${SEED}: ${opened} opened for writing (${failedLater} found corrupt on the way), ${refused} refused`);
});
