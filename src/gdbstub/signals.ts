/**
 * Linux signal numbers and GDB's own numbering (gdb/signals.def), which the
 * remote protocol uses in stop replies and in C/S/vCont packets.  They agree
 * for the classic signals and differ for the rest (SIGBUS is 7 on Linux and
 * 10 for GDB).
 */

export const GDB_SIGINT = 2;
export const GDB_SIGTRAP = 5;
const GDB_UNKNOWN = 143;

/** Index: Linux signal 1-31; value: GDB's number. */
const CLASSIC = [
  0, 1, 2, 3, 4, 5, 6, 10, 8, 9, 30, 11, 31, 13, 14, 15,
  GDB_UNKNOWN /* SIGSTKFLT */, 20, 19, 17, 18, 21, 22, 16, 24, 25, 26, 27, 28, 23, 32, 12,
];

/** GDB's number for Linux signal `signo`. */
export function gdbSignal(signo: number): number {
  if (signo >= 0 && signo < CLASSIC.length) return CLASSIC[signo];
  // Real-time signals: GDB has 32 at 77, 33-63 at 45-75, 64 at 78.
  if (signo === 32) return 77;
  if (signo >= 33 && signo <= 63) return signo + 12;
  if (signo === 64) return 78;
  return GDB_UNKNOWN;
}

/** The Linux signal for GDB's number, or 0 when Linux has none. */
export function linuxSignal(gdb: number): number {
  for (let s = 1; s <= 64; s++) if (gdbSignal(s) === gdb && gdb !== GDB_UNKNOWN) return s;
  return 0;
}
