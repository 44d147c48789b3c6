/**
 * Block-entry counters the interpreter keeps for the translator, so that it
 * can run cold code in long stretches instead of one block per trip through
 * the dispatcher (accel/tcg/dispatch.ts).
 *
 * One Int32Array slot per hash of a block's host address.  A slot counts
 * down the entries left before its block is hot; a slot of a compiled block
 * holds a large negative mark.  When the interpreter is about to enter a
 * block (a branch's target or fall-through, a jump's target, the first
 * instruction on a new page) whose slot reaches zero or below, it stops
 * there and returns, so that the dispatcher can compile the block or run it
 * compiled.  Blocks that share a slot share its count: a collision only
 * compiles a block early or costs a return.
 */
export const HOT_BITS = 16;
const HOT_MUL = 0x9e3779b1 | 0;

/** What a compiled block's slot holds (so far below zero that counting cannot bring it back up). */
export const HOT_COMPILED = -(1 << 30);

/** The slot of the block at host byte offset `host`. */
export function hotSlot(host: number): number {
  return Math.imul(host >>> 1, HOT_MUL) >>> (32 - HOT_BITS);
}

/** Count an entry into the block at `host`; true when the interpreter must hand it to the dispatcher. */
export function entering(hot: Int32Array, host: number): boolean {
  return --hot[hotSlot(host)] <= 0;
}
