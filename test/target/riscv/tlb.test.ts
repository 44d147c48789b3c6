/**
 * The software TLB's victim entries on their own: what a fill pushes out,
 * how long it is kept, and which flushes drop it (target/riscv/tlb.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Access, Tlb, TLB_SIZE, VICTIMS } from "../../../src/target/riscv/tlb.js";

/** The page `n` slots' worth of TLB on from page 0: every such page shares slot 0. */
const page = (n: number): number => n * TLB_SIZE * 4096;

test("a fill pushes the slot's page into the victim TLB, which keeps the last VICTIMS of them", () => {
  const t = new Tlb();
  for (let n = 0; n <= VICTIMS + 1; n++) t.fill(Access.READ, 0, page(n), 0x1000 * (n + 1));
  assert.equal(t.readLo[0], page(VICTIMS + 1), "the slot holds the last page filled");
  assert.equal(t.victim(Access.READ, 0, page(0)), -1, "the oldest of VICTIMS + 1 pushed out is gone");
  assert.equal(t.victim(Access.WRITE, 0, page(1)), -1, "victims are kept per access kind");
  assert.equal(t.victim(Access.READ, 0, page(1)), 0x2000);
  assert.equal(t.readLo[0], page(1), "a hit goes back into its slot");
  assert.equal(t.victim(Access.READ, 0, page(VICTIMS + 1)), 0x1000 * (VICTIMS + 2), "and the slot's page became a victim");
  assert.equal(t.victim(Access.READ, 1, page(2)), -1, "the high word is part of the tag");
  // Filling a slot with the page it holds pushes nothing out.
  const u = new Tlb();
  u.fill(Access.FETCH, 0, page(3), 0x5000);
  u.fill(Access.FETCH, 0, page(3) + 0x10, 0x5000);
  u.fill(Access.FETCH, 0, page(4), 0x6000);
  assert.equal(u.victim(Access.FETCH, 0, page(3)), 0x5000);
  u.fill(Access.FETCH, 0, page(5), 0x7000);
  assert.equal(u.victim(Access.FETCH, 0, page(4)), 0x6000);
});

test("flushes drop victim entries as they drop the slots' own", () => {
  const t = new Tlb();
  for (const access of [Access.READ, Access.WRITE, Access.FETCH]) {
    t.fill(access, 0, page(0), 0x1000);
    t.fill(access, 0, page(1), 0x2000);
    t.fill(access, 0, page(2), 0x3000);
  }
  t.flushPage(0, page(0));
  for (const access of [Access.READ, Access.WRITE, Access.FETCH]) assert.equal(t.victim(access, 0, page(0)), -1);
  t.flushHostPageWrites(0x2000);
  assert.equal(t.victim(Access.WRITE, 0, page(1)), -1, "a page that gets code loses its write entries");
  assert.equal(t.victim(Access.READ, 0, page(1)), 0x2000, "but not its read entries");
  t.fill(Access.WRITE, 0, page(3), 0x4000);
  t.flushWrites();
  assert.equal(t.victim(Access.WRITE, 0, page(2)), -1);
  assert.equal(t.victim(Access.FETCH, 0, page(1)), 0x2000);
  t.flushAll();
  assert.equal(t.victim(Access.READ, 0, page(2)), -1);
  assert.equal(t.victim(Access.FETCH, 0, page(2)), -1);
});
