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

/**
 * A block the interpreter ran straight through for at least LONG_BLOCK
 * instructions (an unrolled loop's body, hundreds of instructions an entry)
 * is charged one more entry per 2^LONG_SHIFT of them when it is left, so that
 * its count runs out after fewer entries, as many fewer as it is long.  (A
 * slot already run out, or holding a compiled block's mark, is left as it is.)
 */
export const LONG_BLOCK = 32;
export const LONG_SHIFT = 4;
