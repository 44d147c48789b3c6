/**
 * Conversions between the two formats and to/from 32- and 64-bit integers.
 *
 * Float to integer follows the RISC-V rules: NaN gives the largest positive
 * value, out-of-range values saturate, invalid raises NV alone (it replaces
 * the inexact flag), an in-range inexact conversion raises NX.  For the
 * unsigned conversions a negative value that rounds to 0 is not invalid
 * (-0.3 -> 0 with NX only), while one that rounds to -1 or below is.
 * 32-bit results are written sign-extended to 64 bits in fpr[0..1], as
 * RV64 writes rd.
 */
import { fpr, FFlag, RM, NAN32, NAN64_HI, F32_MIN_NORMAL, TWO32, F32, F64, I32 } from "./state.js";
import { roundF32, Exact } from "./f32-round.js";
import { finish64 } from "./f64-round.js";
import { isNaN32, isSNaN32 } from "./f32.js";
import { isSNaN64 } from "./f64.js";

const TWO52 = 4503599627370496;
const TWO63 = 9223372036854775808;
const TWO64 = 18446744073709551616;

// ------------------------------------------------------------ float <-> float

export function f32ToF64(a: number): void {
  if (isNaN32(a)) {
    fpr[0] = 0;
    fpr[1] = NAN64_HI;
    fpr[2] = isSNaN32(a) ? FFlag.NV : 0;
    return;
  }
  I32[0] = a;
  F64[0] = F32[0]; // exact widening
  fpr[0] = I32[0];
  fpr[1] = I32[1];
  fpr[2] = 0;
}

export function f64ToF32(lo: number, hi: number, rm: number): void {
  if ((hi & 0x7ff00000) === 0x7ff00000) {
    if ((hi & 0xfffff) !== 0 || lo !== 0) {
      fpr[0] = NAN32;
      fpr[2] = isSNaN64(lo, hi) ? FFlag.NV : 0;
    } else {
      fpr[0] = (hi & 0x80000000) | 0x7f800000;
      fpr[2] = 0;
    }
    return;
  }
  I32[0] = lo;
  I32[1] = hi;
  const x = F64[0];
  const r = Math.fround(x);
  if (r === x) { F32[0] = r; fpr[0] = I32[0]; fpr[2] = 0; return; }
  if (rm === RM.RNE) {
    const ar = r < 0 ? -r : r;
    if (ar > F32_MIN_NORMAL && ar !== Infinity) { F32[0] = r; fpr[0] = I32[0]; fpr[2] = FFlag.NX; return; }
  }
  roundF32(Exact.PAIR, x, 0, x, rm);
}

// ---------------------------------------------------------- float -> integer

let inexact = false;

/**
 * x (finite) rounded to an integral double under rm; sets `inexact`.
 * Below 2^52 in magnitude, trunc and the fraction x - trunc(x) are exact;
 * from 2^52 up every double is already an integer.
 */
function roundIntegral(x: number, rm: number): number {
  inexact = false;
  if (!(x < TWO52 && x > -TWO52)) return x;
  const t = Math.trunc(x);
  const f = x - t;
  if (f === 0) return x;
  inexact = true;
  switch (rm) {
    case RM.RNE: {
      const af = f < 0 ? -f : f;
      if (af > 0.5 || (af === 0.5 && t % 2 !== 0)) return f < 0 ? t - 1 : t + 1;
      return t;
    }
    case RM.RMM:
      return f >= 0.5 ? t + 1 : f <= -0.5 ? t - 1 : t;
    case RM.RTZ:
      return t;
    case RM.RDN:
      return f < 0 ? t - 1 : t;
    default:
      return f > 0 ? t + 1 : t;
  }
}

function put32(v: number, flags: number): void {
  const r = v | 0;
  fpr[0] = r;
  fpr[1] = r >> 31;
  fpr[2] = flags;
}

/** v is an integral double in [-2^63, 2^64). */
function put64(v: number, flags: number): void {
  const h = Math.floor(v / TWO32);
  fpr[0] = (v - h * TWO32) | 0;
  fpr[1] = h | 0;
  fpr[2] = flags;
}

/** x is the operand's value; NaN handled by the callers (nan = true). */
function toI32(x: number, nan: boolean, rm: number): void {
  if (nan) { put32(0x7fffffff, FFlag.NV); return; }
  const r = roundIntegral(x, rm);
  if (r > 2147483647) { put32(0x7fffffff, FFlag.NV); return; }
  if (r < -2147483648) { put32(-2147483648, FFlag.NV); return; }
  put32(r, inexact ? FFlag.NX : 0);
}

function toU32(x: number, nan: boolean, rm: number): void {
  if (nan) { put32(-1, FFlag.NV); return; }
  const r = roundIntegral(x, rm);
  if (r > 4294967295) { put32(-1, FFlag.NV); return; }
  if (r < 0) { put32(0, FFlag.NV); return; } // -0 is not below 0: rounds to 0, NX only
  put32(r, inexact ? FFlag.NX : 0);
}

function toI64(x: number, nan: boolean, rm: number): void {
  if (nan) { fpr[0] = -1; fpr[1] = 0x7fffffff; fpr[2] = FFlag.NV; return; }
  const r = roundIntegral(x, rm);
  if (r >= TWO63) { fpr[0] = -1; fpr[1] = 0x7fffffff; fpr[2] = FFlag.NV; return; }
  if (r < -TWO63) { fpr[0] = 0; fpr[1] = -2147483648; fpr[2] = FFlag.NV; return; }
  put64(r, inexact ? FFlag.NX : 0);
}

function toU64(x: number, nan: boolean, rm: number): void {
  if (nan) { fpr[0] = -1; fpr[1] = -1; fpr[2] = FFlag.NV; return; }
  const r = roundIntegral(x, rm);
  if (r >= TWO64) { fpr[0] = -1; fpr[1] = -1; fpr[2] = FFlag.NV; return; }
  if (r < 0) { fpr[0] = 0; fpr[1] = 0; fpr[2] = FFlag.NV; return; }
  put64(r, inexact ? FFlag.NX : 0);
}

function f32Val(a: number): number {
  I32[0] = a;
  return F32[0];
}

function f64Val(lo: number, hi: number): number {
  I32[0] = lo;
  I32[1] = hi;
  return F64[0];
}

function nan64(lo: number, hi: number): boolean {
  const h = hi & 0x7fffffff;
  return h > 0x7ff00000 || (h === 0x7ff00000 && lo !== 0);
}

export function f32ToI32(a: number, rm: number): void { toI32(f32Val(a), isNaN32(a), rm); }
export function f32ToU32(a: number, rm: number): void { toU32(f32Val(a), isNaN32(a), rm); }
export function f32ToI64(a: number, rm: number): void { toI64(f32Val(a), isNaN32(a), rm); }
export function f32ToU64(a: number, rm: number): void { toU64(f32Val(a), isNaN32(a), rm); }

export function f64ToI32(lo: number, hi: number, rm: number): void {
  toI32(f64Val(lo, hi), nan64(lo, hi), rm);
}
export function f64ToU32(lo: number, hi: number, rm: number): void {
  toU32(f64Val(lo, hi), nan64(lo, hi), rm);
}
export function f64ToI64(lo: number, hi: number, rm: number): void {
  toI64(f64Val(lo, hi), nan64(lo, hi), rm);
}
export function f64ToU64(lo: number, hi: number, rm: number): void {
  toU64(f64Val(lo, hi), nan64(lo, hi), rm);
}

// ---------------------------------------------------------- integer -> float

/** An exactly known double value to binary32 (no overflow or underflow possible). */
function intToF32(x: number, rm: number): void {
  const r = Math.fround(x);
  if (r === x || rm === RM.RNE) {
    F32[0] = r;
    fpr[0] = I32[0];
    fpr[2] = r === x ? 0 : FFlag.NX;
    return;
  }
  roundF32(Exact.PAIR, x, 0, x, rm);
}

export function i32ToF32(v: number, rm: number): void { intToF32(v | 0, rm); }
export function u32ToF32(v: number, rm: number): void { intToF32(v >>> 0, rm); }

/**
 * A 64-bit integer hiPart * 2^32 + lo (both exact doubles) to binary32.
 * TwoSum gives the sum as s + err exactly; s alone could sit on a binary32
 * midpoint that the exact value is not on, so a nonzero err goes to roundF32.
 */
function int64ToF32(hiPart: number, lo: number, rm: number): void {
  const s = hiPart + lo;
  const bv = s - hiPart;
  const err = (hiPart - (s - bv)) + (lo - bv);
  if (err === 0) { intToF32(s, rm); return; }
  roundF32(Exact.PAIR, s, err, s, rm);
}

export function i64ToF32(lo: number, hi: number, rm: number): void {
  int64ToF32((hi | 0) * TWO32, lo >>> 0, rm);
}
export function u64ToF32(lo: number, hi: number, rm: number): void {
  int64ToF32((hi >>> 0) * TWO32, lo >>> 0, rm);
}

function putF64(x: number): void {
  F64[0] = x;
  fpr[0] = I32[0];
  fpr[1] = I32[1];
  fpr[2] = 0;
}

export function i32ToF64(v: number, _rm: number): void { putF64(v | 0); }
export function u32ToF64(v: number, _rm: number): void { putF64(v >>> 0); }

/** hiPart * 2^32 + lo to binary64: TwoSum gives the exact error of the sum. */
function int64ToF64(hiPart: number, lo: number, rm: number): void {
  const s = hiPart + lo;
  const bv = s - hiPart;
  const err = (hiPart - (s - bv)) + (lo - bv);
  if (err === 0) { putF64(s); return; }
  if (rm === RM.RNE) { putF64(s); fpr[2] = FFlag.NX; return; }
  finish64(s, err, 0, rm);
}

export function i64ToF64(lo: number, hi: number, rm: number): void {
  int64ToF64((hi | 0) * TWO32, lo >>> 0, rm);
}
export function u64ToF64(lo: number, hi: number, rm: number): void {
  int64ToF64((hi >>> 0) * TWO32, lo >>> 0, rm);
}
