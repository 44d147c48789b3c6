/** A loaded program's pages, filled from its file when first touched (src/user/linux/address-space.ts). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AddressSpace, HostPages, Prot } from "../../src/user/linux/address-space.js";
import { GuestRam } from "../../src/target/riscv/ram.js";

const PAGE = 4096;
const BASE = 0x10000;

/** A "file" of 2.5 pages whose every byte tells its offset, mapped from offset 4096 over 4 pages (the last 1.5 past its end). */
function setUp(): { as: AddressSpace; file: Uint8Array } {
  const file = new Uint8Array(PAGE * 3 + PAGE / 2);
  for (let i = 0; i < file.length; i++) file[i] = (i * 7 + (i >>> 12)) & 0xff;
  const as = new AddressSpace(new HostPages(new GuestRam(64 * PAGE)));
  as.map(BASE, BASE + 4 * PAGE, Prot.READ | Prot.WRITE, "exe", { image: file, offset: PAGE });
  return { as, file };
}

test("no page is filled until it is touched, then each holds its bytes of the file, zeros past the end", () => {
  const { as, file } = setUp();
  assert.equal(as.faults, 0);
  assert.deepEqual(as.read(BASE + PAGE + 100, 16), file.subarray(2 * PAGE + 100, 2 * PAGE + 116));
  assert.equal(as.faults, 1);
  assert.deepEqual(as.read(BASE, PAGE), file.subarray(PAGE, 2 * PAGE));
  const tail = as.read(BASE + 2 * PAGE, 2 * PAGE);
  assert.deepEqual(tail.subarray(0, PAGE / 2), file.subarray(3 * PAGE, file.length));
  assert.ok(tail.subarray(PAGE / 2).every((b) => b === 0));
  assert.equal(as.faults, 4);
  // In the file: resident as mincore sees it; the zeros after it only once touched.
  const fresh = setUp().as;
  assert.equal(fresh.resident(BASE + 2 * PAGE), true);
  assert.equal(fresh.resident(BASE + 3 * PAGE), false);
});

test("a write stays private to the page; mprotect, fork and MADV_DONTNEED keep the file's bytes where they belong", () => {
  const { as, file } = setUp();
  as.write(BASE + 8, Uint8Array.of(0xaa, 0xbb));
  assert.equal(as.protect(BASE + PAGE, BASE + 2 * PAGE, Prot.READ), true);
  assert.deepEqual(as.read(BASE + PAGE, 4), file.subarray(2 * PAGE, 2 * PAGE + 4));
  assert.deepEqual(as.read(BASE + 2 * PAGE, 4), file.subarray(3 * PAGE, 3 * PAGE + 4));
  const child = as.fork();
  assert.deepEqual(child.read(BASE + 8, 2), Uint8Array.of(0xaa, 0xbb));
  child.write(BASE + 2 * PAGE + 100, Uint8Array.of(1, 2, 3, 4));
  assert.deepEqual(child.read(BASE + 2 * PAGE + 100, 4), Uint8Array.of(1, 2, 3, 4));
  assert.deepEqual(as.read(BASE + 2 * PAGE + 100, 4), file.subarray(3 * PAGE + 100, 3 * PAGE + 104));
  // The parent's own write goes away with its page; the page reads as the file again.
  as.discard(BASE, BASE + PAGE);
  assert.deepEqual(as.read(BASE + 8, 2), file.subarray(PAGE + 8, PAGE + 10));
  assert.deepEqual(child.read(BASE + 8, 2), Uint8Array.of(0xaa, 0xbb));
});
