/**
 * Where a hart's state lives in its machine's WebAssembly.Memory, so that
 * translated code (accel/tcg) reaches it with plain loads and stores while
 * the interpreter reads the same bytes through typed-array views.
 *
 * A hart's slot, byte offsets from its base:
 *   XL   x0..x31 and the x0 write sink, low int32 halves (33 words)
 *   XH   the high halves
 *   FL, FH  f0..f31 raw bits, low and high halves
 *   PC   the pc as an int64, written by translated code when it leaves
 *   TMP  the value of the last slow-path load (lo, hi), for translated code
 *   TLB  byte offset of the current privilege level's TLB (see tlb.ts)
 *   COUNT  instructions translated code retired before it returned
 *   FP_OFF 1 while mstatus.FS is Off (FP instructions are illegal), else 0
 *   XQ   x0..x31 as int64s, for translated code passing registers from one
 *        module to the next (chain-table.ts); valid only while a chain of
 *        modules runs: XL and XH are the registers whenever none does
 * A TLB is a slot of its own, TLB_BYTES long: two ways of three tables
 * (read, write, fetch) of TLB_SIZE entries of four int32s each (tlb.ts).
 */

export const enum HartLayout {
  XL = 0,
  XH = 136,
  FL = 272,
  FH = 400,
  PC = 528,
  TMP = 536,
  TLB = 544,
  COUNT = 548,
  FP_OFF = 552,
  XQ = 560,
  SIZE = 1024,
}
