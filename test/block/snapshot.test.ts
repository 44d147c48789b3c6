/** The -snapshot overlay: writes stay in memory, reads merge them, the image is never written. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SnapshotOverlay } from "../../src/block/snapshot.js";
import { MemoryDisk } from "../util/virtio-driver.js";

function image(size: number): MemoryDisk {
  const d = new MemoryDisk(size);
  for (let i = 0; i < size; i++) d.data[i] = i & 0xff;
  return d;
}

test("reads pass through until written", () => {
  const base = image(3 * 4096);
  const s = new SnapshotOverlay(base);
  assert.equal(s.size, base.size);
  assert.equal(s.readOnly, false);
  const b = new Uint8Array(100);
  s.read(5000, b);
  assert.deepEqual(b, base.data.subarray(5000, 5100));
});

test("writes are read back, merged with the image, and never reach it", () => {
  const base = image(4 * 4096);
  const before = base.data.slice();
  const s = new SnapshotOverlay(base);
  // Unaligned, across a cluster boundary.
  s.write(4000, new Uint8Array(200).fill(0xaa));
  assert.deepEqual(base.data, before);
  assert.equal(s.allocated, 2 * 4096);
  const b = new Uint8Array(4 * 4096);
  s.read(0, b);
  const want = before.slice();
  want.fill(0xaa, 4000, 4200);
  assert.deepEqual(b, want);
  // A second write over the first, and a read of a piece in the middle.
  s.write(4100, Uint8Array.of(1, 2, 3));
  const piece = new Uint8Array(6);
  s.read(4099, piece);
  assert.deepEqual([...piece], [0xaa, 1, 2, 3, 0xaa, 0xaa]);
  s.flush();
  assert.equal(base.flushes, 0);
});

test("an image whose size is not a multiple of the cluster", () => {
  const base = image(4096 + 1000);
  const s = new SnapshotOverlay(base);
  s.write(4096 + 990, new Uint8Array(10).fill(7));
  const b = new Uint8Array(20);
  s.read(4096 + 980, b);
  assert.deepEqual(b.subarray(0, 10), base.data.subarray(4096 + 980, 4096 + 990));
  assert.ok(b.subarray(10).every((x) => x === 7));
  assert.throws(() => s.write(4096 + 995, new Uint8Array(10)), RangeError);
  assert.throws(() => s.read(-1, new Uint8Array(1)), RangeError);
});

test("the data given to write is copied, not kept", () => {
  const s = new SnapshotOverlay(image(8192));
  const data = new Uint8Array(4096).fill(5);
  s.write(0, data);
  data.fill(6);
  const b = new Uint8Array(4096);
  s.read(0, b);
  assert.ok(b.every((x) => x === 5));
});
