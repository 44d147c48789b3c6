/**
 * binary32 arithmetic on the host's doubles.
 *
 * Why doubles are enough:
 * - a product of two binary32 values has at most 48 significant bits and an
 *   exponent in [-298, 256], so x * y is exact in double;
 * - a sum is not always exact (the exponents may be far apart) but TwoSum
 *   gives the exact error;
 * - for +, -, *, / and sqrt of binary32 operands, rounding the exact result
 *   first to double (53 bits >= 2*24 + 2) and then to binary32 gives the
 *   correctly rounded nearest-even result (no double-rounding error), so
 *   Math.fround of the double result is the RNE answer;
 * - the inexact flag needs exactness tests that are themselves exact: a
 *   quotient q is exact iff q * y == x, a root r iff r * r == x, and those
 *   products of two 24-bit values are exact doubles.
 *
 * Directed modes, results that are tiny (underflow flag, tininess after
 * rounding) or overflow go through roundF32, which settles the rounding with
 * exact comparisons.
 */
import { fpr, FFlag, RM, NAN32, F32_MIN_NORMAL, F32, I32 } from "./state.js";
import { roundF32, Exact } from "./f32-round.js";

function nan(flags: number): void {
  fpr[0] = NAN32;
  fpr[2] = flags;
}

export function isNaN32(a: number): boolean {
  return (a & 0x7fffffff) > 0x7f800000;
}

/** Signaling NaN: NaN with the quiet bit (bit 22) clear. */
export function isSNaN32(a: number): boolean {
  return (a & 0x7fc00000) === 0x7f800000 && (a & 0x003fffff) !== 0;
}

/** Write a binary32 result that is correctly rounded (the double holds an f32 value). */
function put(r: number, flags: number): void {
  F32[0] = r;
  fpr[0] = I32[0];
  fpr[2] = flags;
}

// ---------------------------------------------------------------- add / sub

export function f32Add(a: number, b: number, rm: number): void {
  if ((a & 0x7f800000) === 0x7f800000 || (b & 0x7f800000) === 0x7f800000) {
    addSpecial(a, b);
    return;
  }
  I32[0] = a;
  const x = F32[0];
  I32[0] = b;
  const y = F32[0];
  const s = x + y;
  // TwoSum: exact error of the double sum (no overflow possible for f32 inputs).
  const bv = s - x;
  const err = (x - (s - bv)) + (y - bv);
  if (rm === RM.RNE) {
    // No underflow: a sum below 2^-126 is a multiple of 2^-149 that fits
    // in 24 bits, hence exact.  Overflow shows as an infinite fround.
    const r = Math.fround(s);
    if (r === s && err === 0) { put(r, 0); return; }
    if (r !== Infinity && r !== -Infinity) { put(r, FFlag.NX); return; }
    put(r, FFlag.OF | FFlag.NX);
    return;
  }
  // Exact zero from opposite signs is -0 when rounding down; computing
  // -((-x) + (-y)) in round-to-nearest gives exactly that (and keeps the
  // sign of -0 + -0 and +0 + +0).
  const v = s === 0 && rm === RM.RDN ? -((-x) + (-y)) : s;
  roundF32(Exact.PAIR, v, err, v, rm);
}

export function f32Sub(a: number, b: number, rm: number): void {
  f32Add(a, b ^ 0x80000000, rm);
}

function addSpecial(a: number, b: number): void {
  if (isNaN32(a) || isNaN32(b)) { nan(isSNaN32(a) || isSNaN32(b) ? FFlag.NV : 0); return; }
  const aInf = (a & 0x7fffffff) === 0x7f800000;
  const bInf = (b & 0x7fffffff) === 0x7f800000;
  if (aInf && bInf && (a ^ b) < 0) { nan(FFlag.NV); return; }
  fpr[0] = aInf ? a : b;
  fpr[2] = 0;
}

// ---------------------------------------------------------------------- mul

export function f32Mul(a: number, b: number, rm: number): void {
  if ((a & 0x7f800000) === 0x7f800000 || (b & 0x7f800000) === 0x7f800000) {
    mulSpecial(a, b);
    return;
  }
  I32[0] = a;
  const x = F32[0];
  I32[0] = b;
  const p = x * F32[0]; // exact
  if (rm === RM.RNE) {
    const r = Math.fround(p);
    if (r === p) { put(r, 0); return; }
    const ar = r < 0 ? -r : r;
    if (ar > F32_MIN_NORMAL && ar !== Infinity) { put(r, FFlag.NX); return; }
  }
  roundF32(Exact.PAIR, p, 0, p, rm);
}

function mulSpecial(a: number, b: number): void {
  if (isNaN32(a) || isNaN32(b)) { nan(isSNaN32(a) || isSNaN32(b) ? FFlag.NV : 0); return; }
  if ((a & 0x7fffffff) === 0 || (b & 0x7fffffff) === 0) { nan(FFlag.NV); return; } // inf * 0
  fpr[0] = ((a ^ b) & 0x80000000) | 0x7f800000;
  fpr[2] = 0;
}

// ---------------------------------------------------------------------- div

export function f32Div(a: number, b: number, rm: number): void {
  const am = a & 0x7fffffff;
  const bm = b & 0x7fffffff;
  if (am >= 0x7f800000 || bm >= 0x7f800000 || am === 0 || bm === 0) {
    divSpecial(a, b);
    return;
  }
  I32[0] = a;
  const x = F32[0];
  I32[0] = b;
  const y = F32[0];
  const q = x / y;
  if (rm === RM.RNE) {
    const r = Math.fround(q);
    const ar = r < 0 ? -r : r;
    // r * y is exact (24 x 24 bits), so this tests exactness of the quotient.
    if (ar > F32_MIN_NORMAL && ar !== Infinity) { put(r, r * y === x ? 0 : FFlag.NX); return; }
  }
  roundF32(Exact.QUOT, x, y, q, rm);
}

function divSpecial(a: number, b: number): void {
  if (isNaN32(a) || isNaN32(b)) { nan(isSNaN32(a) || isSNaN32(b) ? FFlag.NV : 0); return; }
  const sign = (a ^ b) & 0x80000000;
  const am = a & 0x7fffffff;
  const bm = b & 0x7fffffff;
  if (am === 0x7f800000) {
    if (bm === 0x7f800000) { nan(FFlag.NV); return; }
    fpr[0] = sign | 0x7f800000; fpr[2] = 0;
    return;
  }
  if (bm === 0x7f800000) { fpr[0] = sign; fpr[2] = 0; return; }
  if (bm === 0) {
    if (am === 0) { nan(FFlag.NV); return; }
    fpr[0] = sign | 0x7f800000; fpr[2] = FFlag.DZ;
    return;
  }
  fpr[0] = sign; fpr[2] = 0; // 0 / finite
}

// --------------------------------------------------------------------- sqrt

export function f32Sqrt(a: number, rm: number): void {
  if ((a - 1) >>> 0 >= 0x7f7fffff) { // not in (+0, +inf): zero, negative, inf or NaN
    sqrtSpecial(a);
    return;
  }
  I32[0] = a;
  const x = F32[0];
  const s = Math.sqrt(x);
  // The root of a positive f32 is in [2^-75, 2^64]: never tiny, never huge.
  if (rm === RM.RNE) {
    const r = Math.fround(s);
    put(r, r * r === x ? 0 : FFlag.NX);
    return;
  }
  roundF32(Exact.SQRT, x, 0, s, rm);
}

function sqrtSpecial(a: number): void {
  if (isNaN32(a)) { nan(isSNaN32(a) ? FFlag.NV : 0); return; }
  if ((a & 0x7fffffff) === 0 || a === 0x7f800000) { fpr[0] = a; fpr[2] = 0; return; } // ±0, +inf
  nan(FFlag.NV); // negative
}

// ---------------------------------------------------------------------- fma

/**
 * a * b + c with one rounding; negP negates the product and negA the addend
 * (sign flips applied before the operation).
 */
export function f32MulAdd(a: number, b: number, c: number, rm: number, negP: boolean,
  negA: boolean): void {
  if (negP) a ^= 0x80000000;
  if (negA) c ^= 0x80000000;
  if ((a & 0x7f800000) === 0x7f800000 || (b & 0x7f800000) === 0x7f800000 ||
    (c & 0x7f800000) === 0x7f800000) {
    fmaSpecial(a, b, c);
    return;
  }
  I32[0] = a;
  const x = F32[0];
  I32[0] = b;
  const p = x * F32[0]; // exact
  I32[0] = c;
  const z = F32[0];
  const s = p + z;
  // TwoSum: a*b + c = s + err exactly.
  const bv = s - p;
  const err = (p - (s - bv)) + (z - bv);
  if (rm === RM.RNE && err === 0) {
    // s is exact, so fround(s) is a single rounding.
    const r = Math.fround(s);
    if (r === s) { put(r, 0); return; }
    const ar = r < 0 ? -r : r;
    if (ar > F32_MIN_NORMAL && ar !== Infinity) { put(r, FFlag.NX); return; }
  }
  // With err != 0, s may sit exactly on an f32 midpoint while the exact sum
  // does not; roundF32 looks at err for that.
  const v = s === 0 && err === 0 && rm === RM.RDN ? -((-p) + (-z)) : s;
  roundF32(Exact.PAIR, v, err, v, rm);
}

function fmaSpecial(a: number, b: number, c: number): void {
  const am = a & 0x7fffffff;
  const bm = b & 0x7fffffff;
  const infZero = (am === 0x7f800000 && bm === 0) || (bm === 0x7f800000 && am === 0);
  if (isNaN32(a) || isNaN32(b) || isNaN32(c)) {
    // inf * 0 raises invalid even when the addend is a quiet NaN.
    nan(isSNaN32(a) || isSNaN32(b) || isSNaN32(c) || infZero ? FFlag.NV : 0);
    return;
  }
  if (infZero) { nan(FFlag.NV); return; }
  if (am === 0x7f800000 || bm === 0x7f800000) {
    const pSign = (a ^ b) & 0x80000000;
    if ((c & 0x7fffffff) === 0x7f800000 && (pSign ^ (c & 0x80000000)) !== 0) {
      nan(FFlag.NV);
      return;
    }
    fpr[0] = pSign | 0x7f800000;
    fpr[2] = 0;
    return;
  }
  fpr[0] = c; // c is the infinity
  fpr[2] = 0;
}
