/**
 * The software TLB's second way and victim entries on their own: what a fill
 * pushes out, how long it is kept, and which flushes drop it
 * (target/riscv/tlb.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Access, Tlb, TLB_SIZE, VICTIMS } from "../../../src/target/riscv/tlb.js";

/** The page `n` slots' worth of TLB on from page 0: every such page shares slot 0. */
const page = (n: number): number => n * TLB_SIZE * 4096;

test("a fill pushes way 0's page into way 1 and way 1's into the victim TLB, which keeps the last VICTIMS", () => {
  const t = new Tlb();
  for (let n = 0; n <= VICTIMS + 2; n++) t.fill(Access.READ, 0, page(n), 0x1000 * (n + 1));
  assert.equal(t.read[0], page(VICTIMS + 2), "way 0 holds the last page filled");
  assert.equal(t.victim(Access.READ, 0, page(0)), -1, "the oldest of VICTIMS + 1 pushed out of way 1 is gone");
  assert.equal(t.victim(Access.WRITE, 0, page(1)), -1, "entries are kept per access kind");
  assert.equal(t.victim(Access.READ, 0, page(1)), 0x2000);
  assert.equal(t.read[0], page(1), "a victim's hit goes into way 0");
  assert.equal(t.victim(Access.READ, 0, page(VICTIMS + 2)), 0x1000 * (VICTIMS + 3), "and way 0's page became a victim");
  assert.equal(t.read[0], page(VICTIMS + 2));
  assert.equal(t.victim(Access.READ, 0, page(VICTIMS + 1)), 0x1000 * (VICTIMS + 2), "way 1 still holds the one before");
  assert.equal(t.read[0], page(VICTIMS + 1), "a hit in way 1 is swapped into way 0");
  assert.equal(t.victim(Access.READ, 0, page(VICTIMS + 2)), 0x1000 * (VICTIMS + 3), "and way 0's entry into way 1");
  assert.equal(t.victim(Access.READ, 1, page(2)), -1, "the high word is part of the tag");
  // Filling a slot with the page it holds pushes nothing out.
  const u = new Tlb();
  u.fill(Access.FETCH, 0, page(3), 0x5000);
  u.fill(Access.FETCH, 0, page(3) + 0x10, 0x5000);
  u.fill(Access.FETCH, 0, page(4), 0x6000);
  assert.equal(u.victim(Access.FETCH, 0, page(3)), 0x5000);
  u.fill(Access.FETCH, 0, page(5), 0x7000);
  u.fill(Access.FETCH, 0, page(6), 0x8000);
  assert.equal(u.victim(Access.FETCH, 0, page(4)), 0x6000);
  assert.equal(u.victim(Access.FETCH, 0, page(3)), 0x5000, "way 1's page went to the victim TLB");
});

test("two ways at one index: pages 4 MiB apart stay mapped together", () => {
  const t = new Tlb();
  t.fill(Access.WRITE, 0, page(0), 0x1000);
  t.fill(Access.WRITE, 0, page(1), 0x2000);
  for (let round = 0; round < 4; round++) {
    const n = round % 2;
    if (t.write[0] !== page(n)) assert.equal(t.victim(Access.WRITE, 0, page(n)), 0x1000 * (n + 1));
    assert.equal(t.write[0], page(n));
  }
  t.fill(Access.WRITE, 0, page(2), 0x3000);
  assert.equal(t.victim(Access.WRITE, 0, page(0)), 0x1000, "a third page pushes the older of the two out of way 1");
});

test("flushes drop way 1's and the victim entries as they drop way 0's", () => {
  const t = new Tlb();
  for (const access of [Access.READ, Access.WRITE, Access.FETCH]) {
    t.fill(access, 0, page(0), 0x1000);
    t.fill(access, 0, page(1), 0x2000);
    t.fill(access, 0, page(2), 0x3000);
    t.fill(access, 0, page(5), 0x6000);
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

test("each flush reaches an entry in way 1", () => {
  const t = new Tlb();
  const kinds = [Access.READ, Access.WRITE, Access.FETCH];
  for (const access of kinds) { t.fill(access, 0, page(0), 0x1000); t.fill(access, 0, page(1), 0x2000); }
  t.flushPage(0, page(0));
  for (const access of kinds) assert.equal(t.victim(access, 0, page(0)), -1, "flushPage");
  for (const access of kinds) t.fill(access, 0, page(2), 0x3000);
  t.flushHostPageWrites(0x2000);
  assert.equal(t.victim(Access.WRITE, 0, page(1)), -1, "flushHostPageWrites");
  assert.equal(t.victim(Access.READ, 0, page(1)), 0x2000, "flushHostPageWrites keeps the read entry");
  t.fill(Access.WRITE, 0, page(3), 0x4000);
  t.flushWrites();
  assert.equal(t.victim(Access.WRITE, 0, page(2)), -1, "flushWrites");
  t.flushAll();
  assert.equal(t.victim(Access.READ, 0, page(2)), -1, "flushAll");
  assert.equal(t.victim(Access.FETCH, 0, page(1)), -1, "flushAll");
});
