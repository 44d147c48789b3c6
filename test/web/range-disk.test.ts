/**
 * The disk-from-a-URL backend without a browser: a source in memory stands
 * for the HTTP server.  Random reads and writes agree with a plain copy of
 * the image; the source is never written; the cache stays bounded and
 * adjacent missing chunks come in one request.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { RangeDisk, type RangeSource } from "../../web/src/range-disk.js";

const CHUNK = 4096;

/** A deterministic pseudo-random generator (xorshift32), so a failure repeats. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 2 ** 32;
  };
}

class MemorySource implements RangeSource {
  readonly requests: { start: number; length: number }[] = [];
  constructor(readonly bytes: Uint8Array) {}
  get size(): number { return this.bytes.length; }
  readRange(start: number, length: number): Uint8Array {
    this.requests.push({ start, length });
    return this.bytes.slice(start, start + length);
  }
}

function image(size: number, seed: number): Uint8Array {
  const next = random(seed);
  return Uint8Array.from({ length: size }, () => Math.floor(next() * 256));
}

test("random reads, writes and write-zeroes agree with a copy of the image; the source is untouched", () => {
  const size = CHUNK * 37 + 1234; // a short last chunk
  const original = image(size, 7);
  const source = new MemorySource(original.slice());
  const disk = new RangeDisk(source, { chunkSize: CHUNK, cacheChunks: 5, readAhead: 3 });
  const model = original.slice();
  const next = random(99);
  for (let i = 0; i < 3000; i++) {
    const offset = Math.floor(next() * size);
    const length = Math.min(size - offset, 1 + Math.floor(next() * 3 * CHUNK));
    const op = next();
    if (op < 0.5) {
      const got = new Uint8Array(length);
      disk.read(offset, got);
      assert.deepEqual(got, model.subarray(offset, offset + length), `read ${offset}+${length} (step ${i})`);
    } else if (op < 0.9) {
      const data = image(length, i + 1);
      disk.write(offset, data);
      model.set(data, offset);
    } else {
      disk.writeZeroes(offset, length, next() < 0.5);
      model.fill(0, offset, offset + length);
    }
  }
  const all = new Uint8Array(size);
  disk.read(0, all);
  assert.deepEqual(all, model);
  assert.deepEqual(source.bytes, original, "the source was never written");
  for (const r of source.requests) {
    assert.equal(r.start % CHUNK, 0);
    assert.ok(r.length <= 3 * CHUNK && r.start + r.length <= size);
  }
});

test("adjacent missing chunks come in one request, up to the read-ahead; the cache is bounded", () => {
  const size = CHUNK * 64;
  const source = new MemorySource(image(size, 3));
  const disk = new RangeDisk(source, { chunkSize: CHUNK, cacheChunks: 8, readAhead: 4 });
  disk.read(0, new Uint8Array(8 * CHUNK));
  assert.deepEqual(source.requests, [{ start: 0, length: 4 * CHUNK }, { start: 4 * CHUNK, length: 4 * CHUNK }]);
  disk.read(CHUNK, new Uint8Array(10));
  assert.equal(source.requests.length, 2, "a cached chunk costs no request");
  // Reading 8 other chunks pushes the first ones out of an 8-chunk cache.
  disk.read(32 * CHUNK, new Uint8Array(8 * CHUNK));
  const before = source.requests.length;
  disk.read(0, new Uint8Array(1));
  assert.equal(source.requests.length, before + 1, "an evicted chunk is fetched again");
  assert.ok(disk.bytesFetched <= 21 * CHUNK);
});

test("a whole-chunk write reads nothing from the source; written chunks are never fetched again", () => {
  const source = new MemorySource(image(CHUNK * 8, 5));
  const disk = new RangeDisk(source, { chunkSize: CHUNK, cacheChunks: 2 });
  disk.write(2 * CHUNK, new Uint8Array(CHUNK).fill(0xaa));
  assert.equal(source.requests.length, 0);
  disk.write(4 * CHUNK + 100, Uint8Array.of(1, 2, 3));
  assert.equal(source.requests.length, 1, "a partial write fetches its chunk once");
  for (let i = 0; i < 4; i++) disk.read(6 * CHUNK + i * 1024, new Uint8Array(1024));
  const got = new Uint8Array(CHUNK);
  disk.read(4 * CHUNK, got);
  assert.deepEqual(got.subarray(100, 103), Uint8Array.of(1, 2, 3));
  disk.read(2 * CHUNK, got);
  assert.ok(got.every((b) => b === 0xaa));
  assert.deepEqual(source.requests.map((r) => r.start / CHUNK), [4, 6]);
});

test("out-of-range accesses and writes to a read-only disk throw; discard keeps the bytes", () => {
  const source = new MemorySource(image(CHUNK * 2 + 10, 9));
  const disk = new RangeDisk(source, { chunkSize: CHUNK });
  assert.throws(() => disk.read(CHUNK * 2, new Uint8Array(11)), RangeError);
  assert.throws(() => disk.write(-1, new Uint8Array(1)), RangeError);
  assert.throws(() => disk.writeZeroes(0, CHUNK * 3, false), RangeError);
  disk.write(0, Uint8Array.of(9));
  disk.discard(0, CHUNK);
  const b = new Uint8Array(1);
  disk.read(0, b);
  assert.equal(b[0], 9);
  const ro = new RangeDisk(source, { chunkSize: CHUNK, readOnly: true });
  assert.throws(() => ro.write(0, Uint8Array.of(1)), /read-only/);
  assert.throws(() => new RangeDisk(source, { chunkSize: 3000 }), /power of two/);
});

test("a source that returns short data is an error, not a silent hole", () => {
  const disk = new RangeDisk({ size: CHUNK, readRange: () => new Uint8Array(5) }, { chunkSize: CHUNK });
  assert.throws(() => disk.read(0, new Uint8Array(10)), /returned 5 bytes/);
});
