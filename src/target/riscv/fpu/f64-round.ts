/**
 * Final rounding of a binary64 result whose exact value is known as an
 * unevaluated sum z + zl + yl, where
 *
 * - z = RN53(z + zl) (z is what the double hardware computed; zl is the exact
 *   error of that rounding, or, when the caller only knows the sign of the
 *   error, a stand-in of ±2^-1074 with that sign);
 * - yl is smaller than the granule of z and zl (every multiple of the ulps
 *   involved), so it can only decide the sign when zl is 0 and break a tie
 *   when zl is exactly half the gap to the neighbour; it never moves the value
 *   across a representable number or a midpoint by itself.
 *
 * Callers keep z normal and well inside the finite range (the fast paths
 * check exponents), so the only edge left here is stepping past the largest
 * finite value in a directed mode, which is an overflow to infinity.
 */
import { fpr, FFlag, RM, F64, I32 } from "./state.js";

/** Round z + zl + yl (not both zl and yl zero) under rm into fpr; flags NX (and OF). */
export function finish64(z: number, zl: number, yl: number, rm: number): void {
  F64[0] = z;
  let lo = I32[0];
  let hi = I32[1];
  const e = zl !== 0 ? zl : yl; // carries sign(exact - z)
  const neg = hi < 0;
  const away = (e > 0) !== neg; // exact value lies farther from zero than z
  let move = false;
  switch (rm) {
    case RM.RNE: case RM.RMM:
      // z is already the nearest; only an exact half-gap remainder needs care.
      // z + 2*zl is representable (and so computed exactly) iff 2*zl is the
      // full gap to the neighbour, i.e. zl is exactly half of it; otherwise
      // |2*zl| is less than one gap and the sum rounds to something else.
      if (zl !== 0 && (z + 2 * zl) - z === 2 * zl) {
        // On the midpoint of z + zl: yl (if any) says which side, else a tie.
        // For a tie RNE keeps z, which RN53 already chose as the even one.
        move = yl !== 0 ? (yl > 0) === (zl > 0) : (rm === RM.RMM && away);
      }
      break;
    case RM.RTZ: move = !away; break;
    case RM.RDN: move = e < 0; break;
    default: move = e > 0; break; // RUP
  }
  if (move) {
    // One ulp along the magnitude of the 64-bit pattern, with carry/borrow.
    if (away) {
      lo = (lo + 1) | 0;
      if (lo === 0) hi = (hi + 1) | 0;
    } else {
      if (lo === 0) hi = (hi - 1) | 0;
      lo = (lo - 1) | 0;
    }
  }
  fpr[0] = lo;
  fpr[1] = hi;
  // Only a move in the direction of the exact value, in a mode that rounds
  // that way, can reach the infinity pattern: that is an overflow.
  fpr[2] = (hi & 0x7ff00000) === 0x7ff00000 ? FFlag.OF | FFlag.NX : FFlag.NX;
}
