/**
 * Correct rounding of an exactly known value to binary32, in any rounding
 * mode, with IEEE flags (tininess detected after rounding).
 *
 * The exact value is never materialised.  Instead it is described by a kind
 * and two doubles, and the only question ever asked about it is "is it
 * above, below or equal to v?" for some v that is an f32 value or the
 * midpoint of two neighbouring f32 values.  Such a v has at most 25
 * significant bits, so each comparison can be answered exactly with double
 * arithmetic:
 *
 * - PAIR: exact = x + y with x = RN53(x + y) (a TwoSum result, an exact
 *   double, or x with a nonzero y that only carries the sign of a tiny
 *   remainder).  x - v is exact by Sterbenz whenever v is within a factor 2
 *   of x, which holds for every v asked about (v brackets x within one f32
 *   ulp); when x and v are far apart the rounded difference still has the
 *   right sign.  If x == v, y decides.
 * - QUOT: exact = x / y with x, y binary32 values.  sign(x/y - v) =
 *   sign(x - v*y) * sign(y), and v*y has at most 25 + 24 bits, so it is an
 *   exact double; the rounded subtraction keeps the sign.
 * - SQRT: exact = sqrt(x) with x a binary32 value.  sign(sqrt(x) - v) =
 *   sign(x - v*v) for v >= 0, and v*v has at most 50 bits.
 *
 * The starting point is r = RN24(guess) where guess is within a few double
 * ulps of the exact value, so the exact value lies between r and its
 * neighbour in the direction of the exact value; one comparison with r, one
 * with the midpoint, then settle the rounding.
 */
import { fpr, FFlag, RM, F32, I32 } from "./state.js";

export const enum Exact { PAIR = 0, QUOT = 1, SQRT = 2 }

const TWO128 = 2 ** 128; // stands for the value just above the largest f32
const TWO129 = 2 ** 129;
const MIN_NORMAL = 2 ** -126;
const BELOW_MIN_NORMAL = MIN_NORMAL - 2 ** -150; // largest 24-bit value below 2^-126
const MID_MIN_NORMAL = MIN_NORMAL - 2 ** -151; // midpoint between the two

let kind = Exact.PAIR;
let ex = 0;
let ey = 0;

/** sign(exact - v): -1, 0 or 1. */
function cmp(v: number): number {
  let t: number;
  if (kind === Exact.PAIR) {
    t = ex - v;
    if (t === 0) t = ey;
  } else if (kind === Exact.QUOT) {
    t = ex - v * ey;
    if (ey < 0) t = -t;
  } else {
    t = ex - v * v;
  }
  return t > 0 ? 1 : t < 0 ? -1 : 0;
}

/** Value of f32 bits as a double, reading the infinity pattern as 2^128. */
function value(b: number): number {
  if ((b & 0x7fffffff) === 0x7f800000) return b < 0 ? -TWO128 : TWO128;
  I32[0] = b;
  return F32[0];
}

/** Overflowed result for the given sign and mode; flags OF|NX. */
export function f32Overflow(neg: boolean, rm: number): void {
  let big: boolean; // infinity rather than the largest finite value
  switch (rm) {
    case RM.RTZ: big = false; break;
    case RM.RDN: big = neg; break;
    case RM.RUP: big = !neg; break;
    default: big = true; break;
  }
  fpr[0] = (big ? 0x7f800000 : 0x7f7fffff) | (neg ? 0x80000000 : 0);
  fpr[2] = FFlag.OF | FFlag.NX;
}

/**
 * Round the exact value described by (k, x, y) to binary32 under rm and
 * write the result bits to fpr[0] and the flags to fpr[2].  `guess` is the
 * exact value correctly rounded to double (or within a few double ulps).
 * A zero exact value must come in as PAIR with y = 0 and the right sign on x.
 */
export function roundF32(k: Exact, x: number, y: number, guess: number, rm: number): void {
  if (guess >= TWO129 || guess <= -TWO129) {
    f32Overflow(guess < 0, rm);
    return;
  }
  kind = k;
  ex = x;
  ey = y;
  F32[0] = guess; // round to nearest f32; overflow gives the infinity pattern, read as 2^128
  const rb = I32[0];
  const neg = rb < 0;
  const r = value(rb);
  const c = cmp(r);
  const rmag = rb & 0x7fffffff;
  if (c === 0) {
    if (rmag === 0x7f800000) f32Overflow(neg, rm); // exactly 2^128
    else { fpr[0] = rb; fpr[2] = 0; }
    return;
  }
  const away = (c > 0) !== neg; // exact value is farther from zero than r
  if (away && rmag === 0x7f800000) { f32Overflow(neg, rm); return; }
  const nb = away ? rb + 1 : rb - 1; // neighbour of r towards the exact value
  let move: boolean;
  switch (rm) {
    case RM.RNE: case RM.RMM: {
      // Both neighbours are f32 values (or 2^128): their sum has at most 25
      // significant bits and halving it is exact.
      const cm = cmp((r + value(nb)) * 0.5) * c; // >0: past the midpoint, 0: on it
      move = cm > 0 || (cm === 0 && (rm === RM.RMM ? away : (rb & 1) !== 0));
      break;
    }
    case RM.RTZ: move = !away; break;
    case RM.RDN: move = c < 0; break;
    default: move = c > 0; break;
  }
  const fb = move ? nb : rb;
  const fmag = fb & 0x7fffffff;
  if (fmag >= 0x7f800000) { f32Overflow(neg, rm); return; }
  let flags = FFlag.NX;
  if (fmag < 0x00800000) {
    flags |= FFlag.UF;
  } else if (fmag === 0x00800000 && tinyAtMinNormal(neg, rm)) {
    flags |= FFlag.UF;
  }
  fpr[0] = fb;
  fpr[2] = flags;
}

/**
 * The result rounded to ±2^-126: was the exact value tiny, i.e. would
 * rounding it to 24 bits with an unbounded exponent give less than 2^-126?
 * Below 2^-126 that grid has spacing 2^-150, so this comes down to comparing
 * the exact value with 2^-126 - 2^-150 and the midpoint 2^-126 - 2^-151.
 */
function tinyAtMinNormal(neg: boolean, rm: number): boolean {
  const s = neg ? -1 : 1;
  switch (rm) {
    case RM.RNE: case RM.RMM:
      // A tie at the midpoint goes up in both modes (2^-126 is the even one).
      return cmp(s * MID_MIN_NORMAL) * s < 0;
    case RM.RTZ:
      return cmp(s * MIN_NORMAL) * s < 0;
    case RM.RUP:
      return neg ? cmp(-MIN_NORMAL) > 0 : cmp(BELOW_MIN_NORMAL) <= 0;
    default: // RDN
      return neg ? cmp(-BELOW_MIN_NORMAL) >= 0 : cmp(MIN_NORMAL) < 0;
  }
}
