/**
 * Translated code's TLB miss path (accel/tcg/tlb-miss.ts) on its own: a hit
 * in way 1 makes the access in WebAssembly and swaps the ways as Tlb.victim
 * does; anything else reaches the TypeScript helpers with their arguments.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { tlbMissPath } from "../../../src/accel/tcg/tlb-miss.js";
import { StoreResult } from "../../../src/accel/tcg/emit.js";
import { HartLayout } from "../../../src/target/riscv/hart-layout.js";
import { Access, ENTRY_BYTES, Tlb, TLB_SIZE } from "../../../src/target/riscv/tlb.js";

const STATE = 0x10000, TLB_AT = 0x20000;
/** Two pages at TLB index 3, 4 MiB apart, and their host pages. */
const A = 3 * 4096, B = A + TLB_SIZE * 4096;
const HOST_A = 0x1000, HOST_B = 0x5000;

function machine() {
  const memory = new WebAssembly.Memory({ initial: 8 });
  const tlb = new Tlb(memory.buffer, TLB_AT);
  const calls: (string | number)[][] = [];
  const miss = tlbMissPath(memory, false,
    (...args) => { calls.push(["load", ...args]); return 7; },
    (...args) => { calls.push(["store", ...args]); return StoreResult.SYNC; });
  const view = new DataView(memory.buffer);
  const entry = (lo: number): number => TLB_AT + ENTRY_BYTES * ((lo >>> 12) & (TLB_SIZE - 1));
  const tmp = (): bigint => view.getBigUint64(STATE + HartLayout.TMP, true);
  return { tlb, calls, miss, view, entry, tmp };
}

test("a load that hits way 1 reads the page and swaps the ways", () => {
  const { tlb, calls, miss, view, entry, tmp } = machine();
  tlb.fill(Access.READ, 0, A, HOST_A);
  tlb.fill(Access.READ, 0, B, HOST_B);
  view.setBigUint64(HOST_A + 0x18, 0xfedcba9876543210n, true);
  assert.equal(miss.load(STATE, entry(A), A + 0x18, 0, 8, 5), 1);
  assert.equal(tmp(), 0xfedcba9876543210n);
  assert.equal(tlb.read[4 * 3], A, "way 1's page is in way 0 now");
  assert.equal(tlb.read[4 * 3 + 2], HOST_A);
  assert.equal(tlb.victim(Access.READ, 0, B), HOST_B, "and way 0's in way 1");
  for (const [size, want] of [[4, 0x76543210n], [2, 0x3210n], [1, 0x10n]] as const) {
    tlb.victim(Access.READ, 0, B);
    assert.equal(miss.load(STATE, entry(A), A + 0x18, 0, size, 5), 1);
    assert.equal(tmp(), want, `a ${size}-byte load is zero-extended`);
  }
  assert.deepEqual(calls, [], "no helper was called");
});

test("a load that misses both ways, is misaligned or has another high word calls the helper", () => {
  const { tlb, calls, miss, entry } = machine();
  tlb.fill(Access.READ, 0, A, HOST_A);
  tlb.fill(Access.READ, 0, B, HOST_B);
  assert.equal(miss.load(STATE, entry(A), A + 0x1c, 0, 8, 9), 7, "misaligned");
  assert.equal(miss.load(STATE, entry(A), A, 1, 4, 10), 7, "another high word");
  assert.equal(miss.load(STATE, entry(A), A + 2 * TLB_SIZE * 4096, 0, 1, 11), 7, "in neither way");
  assert.equal(miss.load(STATE, entry(A), A, 0, 1, 12), 1, "way 1 still answers");
  assert.deepEqual(calls, [["load", A + 0x1c, 0, 8, 9], ["load", A, 1, 4, 10], ["load", A + 2 * TLB_SIZE * 4096, 0, 1, 11]]);
});

test("a store that hits way 1 writes the page; a write entry is needed, not a read one", () => {
  const { tlb, calls, miss, view, entry } = machine();
  tlb.fill(Access.READ, 0, A, HOST_A);
  tlb.fill(Access.READ, 0, B, HOST_B);
  assert.equal(miss.store(STATE, entry(A), A + 8, 0, 8, 0x11223344, 0x55667788, 3), StoreResult.SYNC,
    "a read entry does not let a store through");
  assert.deepEqual(calls, [["store", A + 8, 0, 8, 0x11223344, 0x55667788, 3]]);
  tlb.fill(Access.WRITE, 0, A, HOST_A);
  tlb.fill(Access.WRITE, 0, B, HOST_B);
  assert.equal(miss.store(STATE, entry(A), A + 8, 0, 8, 0x11223344, 0x55667788, 3), StoreResult.OK);
  assert.equal(view.getBigUint64(HOST_A + 8, true), 0x5566778811223344n);
  assert.equal(tlb.write[4 * 3], A, "way 1's page is in way 0 now");
  tlb.victim(Access.WRITE, 0, B);
  assert.equal(miss.store(STATE, entry(A), A + 8, 0, 2, 0xabcd, 0, 3), StoreResult.OK);
  assert.equal(view.getBigUint64(HOST_A + 8, true), 0x556677881122abcdn, "a 2-byte store writes two bytes");
  tlb.victim(Access.WRITE, 0, B);
  assert.equal(miss.store(STATE, entry(A), A + 12, 0, 1, 0x99, 0, 3), StoreResult.OK);
  tlb.victim(Access.WRITE, 0, B);
  assert.equal(miss.store(STATE, entry(A), A + 16, 0, 4, 0xcafef00d | 0, 0, 3), StoreResult.OK);
  assert.equal(view.getBigUint64(HOST_A + 8, true), 0x556677991122abcdn);
  assert.equal(view.getUint32(HOST_A + 16, true), 0xcafef00d);
  assert.equal(view.getUint32(HOST_A + 20, true), 0, "a 4-byte store writes four bytes");
  assert.equal(calls.length, 1, "no more helper calls");
});
