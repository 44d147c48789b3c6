/** Image files on the host (src/host/image-file.ts): what a user meets when a file cannot be used. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { nodeBlockHost } from "../../src/host/image-file.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-block-"));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

function makeImage(name: string, size: number): string {
  const p = path.join(dir, name);
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = i & 0xff;
  fs.writeFileSync(p, data);
  return p;
}

test("reads at positions; a flushed write is in the file", () => {
  const p = makeImage("rw.img", 64 * 1024);
  const f = nodeBlockHost.open(p, false);
  assert.equal(f.length(), 64 * 1024);
  const b = new Uint8Array(16);
  f.read(1000, b);
  assert.deepEqual([...b], Array.from({ length: 16 }, (_, i) => (1000 + i) & 0xff));
  f.write(4096, new Uint8Array(512).fill(0x5a));
  f.flush();
  const onDisk = fs.readFileSync(p);
  assert.ok(onDisk.subarray(4096, 4608).every((x) => x === 0x5a));
  assert.equal(onDisk[4608], 4608 & 0xff);
  f.close();
});

test("a read-only image refuses writes and is never changed", () => {
  const p = makeImage("ro.img", 8192);
  const before = fs.readFileSync(p);
  const f = nodeBlockHost.open(p, true);
  assert.equal(f.readOnly, true);
  assert.throws(() => f.write(0, new Uint8Array(512)), /read-only/);
  f.close();
  assert.deepEqual(fs.readFileSync(p), before);
});

test("a missing file: one line naming it", () => {
  const p = path.join(dir, "missing.img");
  assert.throws(() => nodeBlockHost.open(p, false), { message: `Could not open '${p}': No such file or directory` });
});

test("a directory is refused", () => {
  assert.throws(() => nodeBlockHost.open(dir, true), { message: `Could not open '${dir}': Is a directory` });
});

test("a file without write permission, opened read-write", { skip: process.getuid?.() === 0 }, () => {
  const p = makeImage("noperm.img", 4096);
  fs.chmodSync(p, 0o444);
  assert.throws(() => nodeBlockHost.open(p, false), {
    message: `Could not open '${p}': Permission denied (add readonly=on to use it read-only)`,
  });
  assert.equal(nodeBlockHost.open(p, true).length(), 4096);
});
