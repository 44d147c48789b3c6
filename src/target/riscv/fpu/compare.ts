/**
 * Comparisons, minimum/maximum and classification.  None of these round.
 *
 * fmin/fmax follow IEEE 754-2019 minimumNumber/maximumNumber (F extension
 * 2.2): a NaN operand is ignored in favour of the other one, two NaNs give
 * the canonical NaN, a signaling NaN raises NV, and -0 is below +0.  The
 * selected operand is returned bit for bit.
 */
import { fpr, FFlag, NAN32, NAN64_HI, F32, F64, I32 } from "./state.js";
import { isNaN32, isSNaN32 } from "./f32.js";
import { isSNaN64 } from "./f64.js";

function isNaN64(lo: number, hi: number): boolean {
  const h = hi & 0x7fffffff;
  return h > 0x7ff00000 || (h === 0x7ff00000 && lo !== 0);
}

function f32Value(a: number): number {
  I32[0] = a;
  return F32[0];
}

function f64Value(lo: number, hi: number): number {
  I32[0] = lo;
  I32[1] = hi;
  return F64[0];
}

// ------------------------------------------------------------------ binary32

function minMax32(a: number, b: number, max: boolean): void {
  const an = isNaN32(a);
  const bn = isNaN32(b);
  if (an || bn) {
    fpr[2] = isSNaN32(a) || isSNaN32(b) ? FFlag.NV : 0;
    fpr[0] = an && bn ? NAN32 : an ? b : a;
    return;
  }
  const x = f32Value(a);
  const y = f32Value(b);
  let pickA: boolean;
  if (x !== y) pickA = (x < y) !== max;
  else pickA = (a < 0) !== max; // equal: only ±0 differ; min takes the negative one
  fpr[0] = pickA ? a : b;
  fpr[2] = 0;
}

export function f32Min(a: number, b: number): void { minMax32(a, b, false); }
export function f32Max(a: number, b: number): void { minMax32(a, b, true); }

/** feq: quiet, NV only for a signaling NaN. */
export function f32Eq(a: number, b: number): void {
  fpr[1] = 0;
  if (isNaN32(a) || isNaN32(b)) {
    fpr[0] = 0;
    fpr[2] = isSNaN32(a) || isSNaN32(b) ? FFlag.NV : 0;
    return;
  }
  fpr[0] = f32Value(a) === f32Value(b) ? 1 : 0;
  fpr[2] = 0;
}

/** flt: signaling, NV for any NaN. */
export function f32Lt(a: number, b: number): void {
  fpr[1] = 0;
  if (isNaN32(a) || isNaN32(b)) { fpr[0] = 0; fpr[2] = FFlag.NV; return; }
  fpr[0] = f32Value(a) < f32Value(b) ? 1 : 0;
  fpr[2] = 0;
}

/** fle: signaling, NV for any NaN. */
export function f32Le(a: number, b: number): void {
  fpr[1] = 0;
  if (isNaN32(a) || isNaN32(b)) { fpr[0] = 0; fpr[2] = FFlag.NV; return; }
  fpr[0] = f32Value(a) <= f32Value(b) ? 1 : 0;
  fpr[2] = 0;
}

/**
 * fclass bits: 0 -inf, 1 -normal, 2 -subnormal, 3 -0, 4 +0, 5 +subnormal,
 * 6 +normal, 7 +inf, 8 signaling NaN, 9 quiet NaN.
 */
export function f32Class(a: number): void {
  fpr[1] = 0;
  fpr[2] = 0;
  const exp = (a >>> 23) & 0xff;
  const frac = a & 0x7fffff;
  fpr[0] = classBits(a < 0, exp === 0xff, exp === 0, frac === 0, (frac & 0x400000) !== 0);
}

function classBits(neg: boolean, maxExp: boolean, zeroExp: boolean, zeroFrac: boolean,
  quietBit: boolean): number {
  if (maxExp) {
    if (!zeroFrac) return quietBit ? 1 << 9 : 1 << 8;
    return neg ? 1 << 0 : 1 << 7;
  }
  if (zeroExp) {
    if (zeroFrac) return neg ? 1 << 3 : 1 << 4;
    return neg ? 1 << 2 : 1 << 5;
  }
  return neg ? 1 << 1 : 1 << 6;
}

// ------------------------------------------------------------------ binary64

function minMax64(aLo: number, aHi: number, bLo: number, bHi: number, max: boolean): void {
  const an = isNaN64(aLo, aHi);
  const bn = isNaN64(bLo, bHi);
  fpr[2] = 0;
  if (an || bn) {
    if (isSNaN64(aLo, aHi) || isSNaN64(bLo, bHi)) fpr[2] = FFlag.NV;
    if (an && bn) { fpr[0] = 0; fpr[1] = NAN64_HI; }
    else if (an) { fpr[0] = bLo; fpr[1] = bHi; }
    else { fpr[0] = aLo; fpr[1] = aHi; }
    return;
  }
  const x = f64Value(aLo, aHi);
  const y = f64Value(bLo, bHi);
  let pickA: boolean;
  if (x !== y) pickA = (x < y) !== max;
  else pickA = (aHi < 0) !== max;
  if (pickA) { fpr[0] = aLo; fpr[1] = aHi; } else { fpr[0] = bLo; fpr[1] = bHi; }
}

export function f64Min(aLo: number, aHi: number, bLo: number, bHi: number): void {
  minMax64(aLo, aHi, bLo, bHi, false);
}

export function f64Max(aLo: number, aHi: number, bLo: number, bHi: number): void {
  minMax64(aLo, aHi, bLo, bHi, true);
}

export function f64Eq(aLo: number, aHi: number, bLo: number, bHi: number): void {
  fpr[1] = 0;
  if (isNaN64(aLo, aHi) || isNaN64(bLo, bHi)) {
    fpr[0] = 0;
    fpr[2] = isSNaN64(aLo, aHi) || isSNaN64(bLo, bHi) ? FFlag.NV : 0;
    return;
  }
  fpr[0] = f64Value(aLo, aHi) === f64Value(bLo, bHi) ? 1 : 0;
  fpr[2] = 0;
}

export function f64Lt(aLo: number, aHi: number, bLo: number, bHi: number): void {
  fpr[1] = 0;
  if (isNaN64(aLo, aHi) || isNaN64(bLo, bHi)) { fpr[0] = 0; fpr[2] = FFlag.NV; return; }
  fpr[0] = f64Value(aLo, aHi) < f64Value(bLo, bHi) ? 1 : 0;
  fpr[2] = 0;
}

export function f64Le(aLo: number, aHi: number, bLo: number, bHi: number): void {
  fpr[1] = 0;
  if (isNaN64(aLo, aHi) || isNaN64(bLo, bHi)) { fpr[0] = 0; fpr[2] = FFlag.NV; return; }
  fpr[0] = f64Value(aLo, aHi) <= f64Value(bLo, bHi) ? 1 : 0;
  fpr[2] = 0;
}

export function f64Class(lo: number, hi: number): void {
  fpr[1] = 0;
  fpr[2] = 0;
  const exp = (hi >>> 20) & 0x7ff;
  const zeroFrac = lo === 0 && (hi & 0xfffff) === 0;
  fpr[0] = classBits(hi < 0, exp === 0x7ff, exp === 0, zeroFrac, (hi & 0x80000) !== 0);
}
