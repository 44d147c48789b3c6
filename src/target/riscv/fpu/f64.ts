/**
 * binary64 arithmetic: add, sub, mul, div, sqrt, fused multiply-add.
 *
 * Fast paths use the host's doubles, which round to nearest-even, plus
 * error-free transformations that give the exact rounding error:
 *
 * - TwoSum (Knuth): s = RN(x + y), err = (x + y) - s exactly, for any finite
 *   x, y as long as none of its steps overflows (subnormals included).
 * - TwoProduct (Dekker, with Veltkamp splitting by 2^27 + 1): p = RN(x * y),
 *   err = x * y - p exactly, provided the splits cannot overflow
 *   (|x|, |y| < 2^995) and the error term cannot underflow (the product's
 *   exponent stays above about -969).  The fast paths check exponent ranges
 *   that keep a wide margin from both limits.
 *
 * With the exact error in hand, the nearest-even result is the host result
 * and the inexact flag is "error != 0"; other modes move one ulp in the
 * direction of the error where needed (finish64).  Everything outside the
 * checked ranges (subnormal operands, results near overflow or underflow)
 * goes to the exact BigInt path.
 */
import { fpr, FFlag, RM, NAN64_HI, SPLIT, F64_TINY, F64, I32 } from "./state.js";
import { finish64 } from "./f64-round.js";
import { BINARY64, bits64, exactAdd, exactDiv, exactFma, exactMul, exactSqrt } from "./exact.js";

const TWO_M900 = 2 ** -900;
const TWO_1000 = 2 ** 1000;

function nan(flags: number): void {
  fpr[0] = 0;
  fpr[1] = NAN64_HI;
  fpr[2] = flags;
}

/** NaN test on the high word and low word of a double. */
function isNaN64(lo: number, hi: number): boolean {
  const h = hi & 0x7fffffff;
  return h > 0x7ff00000 || (h === 0x7ff00000 && lo !== 0);
}

/** Signaling NaN: NaN with the quiet bit (bit 51) clear. */
export function isSNaN64(lo: number, hi: number): boolean {
  return (hi & 0x7ff80000) === 0x7ff00000 && ((hi & 0x0007ffff) !== 0 || lo !== 0);
}

function isZero64(lo: number, hi: number): boolean {
  return lo === 0 && (hi & 0x7fffffff) === 0;
}

function put(v: number, flags: number): void {
  F64[0] = v;
  fpr[0] = I32[0];
  fpr[1] = I32[1];
  fpr[2] = flags;
}

// ---------------------------------------------------------------- add / sub

export function f64Add(aLo: number, aHi: number, bLo: number, bHi: number, rm: number): void {
  if ((aHi & 0x7ff00000) === 0x7ff00000 || (bHi & 0x7ff00000) === 0x7ff00000) {
    addSpecial(aLo, aHi, bLo, bHi);
    return;
  }
  I32[0] = aLo; I32[1] = aHi;
  const x = F64[0];
  I32[0] = bLo; I32[1] = bHi;
  const y = F64[0];
  const s = x + y;
  // TwoSum: exact error of the rounded sum.
  const bv = s - x;
  const err = (x - (s - bv)) + (y - bv);
  if (err === 0) {
    // Exact (every sum that lands in the subnormal range is exact, so no
    // underflow here).  An exact zero from opposite signs is -0 in RDN;
    // computing -((-x) + (-y)) in round-to-nearest gives exactly that and
    // leaves -0 + -0 and +0 + +0 alone.
    put(s === 0 && rm === RM.RDN ? -((-x) + (-y)) : s, 0);
    return;
  }
  if (err - err !== 0) {
    // TwoSum is exact unless one of its steps overflows; that happens only
    // when the sum or an operand is near the top of the range, and always
    // shows as an infinite or NaN err.
    exactAdd(bits64(aLo, aHi), bits64(bLo, bHi), rm, BINARY64);
    return;
  }
  if (rm === RM.RNE) { put(s, FFlag.NX); return; }
  finish64(s, err, 0, rm);
}

export function f64Sub(aLo: number, aHi: number, bLo: number, bHi: number, rm: number): void {
  f64Add(aLo, aHi, bLo, bHi ^ 0x80000000, rm);
}

function addSpecial(aLo: number, aHi: number, bLo: number, bHi: number): void {
  const aNaN = isNaN64(aLo, aHi);
  const bNaN = isNaN64(bLo, bHi);
  if (aNaN || bNaN) {
    nan(isSNaN64(aLo, aHi) || isSNaN64(bLo, bHi) ? FFlag.NV : 0);
    return;
  }
  const aInf = (aHi & 0x7ff00000) === 0x7ff00000;
  const bInf = (bHi & 0x7ff00000) === 0x7ff00000;
  if (aInf && bInf && (aHi ^ bHi) < 0) { nan(FFlag.NV); return; } // inf - inf
  fpr[0] = 0;
  fpr[1] = aInf ? aHi : bHi;
  fpr[2] = 0;
}

// ---------------------------------------------------------------------- mul

export function f64Mul(aLo: number, aHi: number, bLo: number, bHi: number, rm: number): void {
  const ea = (aHi >>> 20) & 0x7ff;
  const eb = (bHi >>> 20) & 0x7ff;
  // Fast range: both normal with unbiased exponents in [-899, 977] and the
  // product's in [-900, 1000]: splits cannot overflow, the product error
  // cannot underflow, and the result is normal and far from overflow.
  if ((ea - 124) >>> 0 <= 1876 && (eb - 124) >>> 0 <= 1876 && (ea + eb - 1146) >>> 0 <= 1900) {
    I32[0] = aLo; I32[1] = aHi;
    const x = F64[0];
    I32[0] = bLo; I32[1] = bHi;
    const y = F64[0];
    const p = x * y;
    // TwoProduct: x = xh + xl, y = yh + yl with 26-bit halves, so every
    // partial product is exact and the sum below is exactly x*y - p.
    const cx = SPLIT * x;
    const xh = cx - (cx - x);
    const xl = x - xh;
    const cy = SPLIT * y;
    const yh = cy - (cy - y);
    const yl = y - yh;
    const err = ((xh * yh - p) + xh * yl + xl * yh) + xl * yl;
    if (err === 0) { put(p, 0); return; }
    if (rm === RM.RNE) { put(p, FFlag.NX); return; }
    finish64(p, err, 0, rm);
    return;
  }
  if (ea === 0x7ff || eb === 0x7ff) {
    if (isNaN64(aLo, aHi) || isNaN64(bLo, bHi)) {
      nan(isSNaN64(aLo, aHi) || isSNaN64(bLo, bHi) ? FFlag.NV : 0);
      return;
    }
    if (isZero64(aLo, aHi) || isZero64(bLo, bHi)) { nan(FFlag.NV); return; } // inf * 0
    fpr[0] = 0;
    fpr[1] = ((aHi ^ bHi) & 0x80000000) | 0x7ff00000;
    fpr[2] = 0;
    return;
  }
  if (isZero64(aLo, aHi) || isZero64(bLo, bHi)) {
    fpr[0] = 0; fpr[1] = (aHi ^ bHi) & 0x80000000; fpr[2] = 0;
    return;
  }
  exactMul(bits64(aLo, aHi), bits64(bLo, bHi), rm, BINARY64);
}

// ---------------------------------------------------------------------- div

export function f64Div(aLo: number, aHi: number, bLo: number, bHi: number, rm: number): void {
  const ea = (aHi >>> 20) & 0x7ff;
  const eb = (bHi >>> 20) & 0x7ff;
  // Fast range: unbiased exponents in [-900, 900] and differing by at most
  // 900, so the quotient is normal and q * y (about x) can be split exactly.
  if ((ea - 123) >>> 0 <= 1800 && (eb - 123) >>> 0 <= 1800 && (ea - eb + 900) >>> 0 <= 1800) {
    I32[0] = aLo; I32[1] = aHi;
    const x = F64[0];
    I32[0] = bLo; I32[1] = bHi;
    const y = F64[0];
    const q = x / y;
    // Remainder x - q*y: TwoProduct gives q*y = ph + pl exactly; ph is within
    // a factor 2 of x, so x - ph is exact (Sterbenz), and the final rounded
    // subtraction has the sign of the exact remainder.
    const cq = SPLIT * q;
    const qh = cq - (cq - q);
    const ql = q - qh;
    const cy = SPLIT * y;
    const yh = cy - (cy - y);
    const yl = y - yh;
    const ph = q * y;
    const pl = ((qh * yh - ph) + qh * yl + ql * yh) + ql * yl;
    const rem = (x - ph) - pl;
    if (rem === 0) { put(q, 0); return; }
    if (rm === RM.RNE) { put(q, FFlag.NX); return; }
    // A normal quotient of two doubles is never a midpoint, so only the side
    // matters: sign(x/y - q) = sign(rem) * sign(y).
    finish64(q, (rem > 0) === (y > 0) ? F64_TINY : -F64_TINY, 0, rm);
    return;
  }
  divSlow(aLo, aHi, bLo, bHi, rm);
}

function divSlow(aLo: number, aHi: number, bLo: number, bHi: number, rm: number): void {
  if (isNaN64(aLo, aHi) || isNaN64(bLo, bHi)) {
    nan(isSNaN64(aLo, aHi) || isSNaN64(bLo, bHi) ? FFlag.NV : 0);
    return;
  }
  const sign = (aHi ^ bHi) & 0x80000000;
  const aInf = (aHi & 0x7ff00000) === 0x7ff00000;
  const bInf = (bHi & 0x7ff00000) === 0x7ff00000;
  if (aInf) {
    if (bInf) { nan(FFlag.NV); return; }
    fpr[0] = 0; fpr[1] = sign | 0x7ff00000; fpr[2] = 0;
    return;
  }
  if (bInf) { fpr[0] = 0; fpr[1] = sign; fpr[2] = 0; return; }
  if (isZero64(bLo, bHi)) {
    if (isZero64(aLo, aHi)) { nan(FFlag.NV); return; }
    fpr[0] = 0; fpr[1] = sign | 0x7ff00000; fpr[2] = FFlag.DZ;
    return;
  }
  if (isZero64(aLo, aHi)) { fpr[0] = 0; fpr[1] = sign; fpr[2] = 0; return; }
  exactDiv(bits64(aLo, aHi), bits64(bLo, bHi), rm, BINARY64);
}

// --------------------------------------------------------------------- sqrt

export function f64Sqrt(aLo: number, aHi: number, rm: number): void {
  const ea = aHi >>> 20; // sign and exponent: positive only in the fast range
  // Fast range: positive, unbiased exponent in [-850, 1017]: the root is in
  // [2^-425, 2^509], safe to split, and its square's error is representable.
  if ((ea - 173) >>> 0 <= 1867) {
    I32[0] = aLo; I32[1] = aHi;
    const x = F64[0];
    const r = Math.sqrt(x);
    // x - r*r exactly as in division: TwoProduct of r with itself (the two
    // cross products are equal, and 2 * (rh * rl) is exact: 26 x 27 bits,
    // then a doubling).
    const cr = SPLIT * r;
    const rh = cr - (cr - r);
    const rl = r - rh;
    const ph = r * r;
    const pl = ((rh * rh - ph) + 2 * (rh * rl)) + rl * rl;
    const rem = (x - ph) - pl;
    if (rem === 0) { put(r, 0); return; }
    if (rm === RM.RNE) { put(r, FFlag.NX); return; }
    // A square root is never exactly a midpoint; only the side matters.
    finish64(r, rem > 0 ? F64_TINY : -F64_TINY, 0, rm);
    return;
  }
  if (isNaN64(aLo, aHi)) { nan(isSNaN64(aLo, aHi) ? FFlag.NV : 0); return; }
  if (isZero64(aLo, aHi)) { fpr[0] = aLo; fpr[1] = aHi; fpr[2] = 0; return; } // ±0
  if (aHi < 0) { nan(FFlag.NV); return; }
  if ((aHi & 0x7ff00000) === 0x7ff00000) { fpr[0] = 0; fpr[1] = aHi; fpr[2] = 0; return; } // +inf
  exactSqrt(bits64(aLo, aHi), rm, BINARY64);
}

// ---------------------------------------------------------------------- fma

/**
 * a * b + c with one rounding.  negP negates the product and negA the
 * addend (fnmsub: negP; fmsub: negA; fnmadd: both), as sign flips applied
 * before the operation, which is also how zero signs come out.
 */
export function f64MulAdd(aLo: number, aHi: number, bLo: number, bHi: number, cLo: number,
  cHi: number, rm: number, negP: boolean, negA: boolean): void {
  if (negP) aHi ^= 0x80000000;
  if (negA) cHi ^= 0x80000000;
  const ea = (aHi >>> 20) & 0x7ff;
  const eb = (bHi >>> 20) & 0x7ff;
  const ec = (cHi >>> 20) & 0x7ff;
  // Fast range: a, b as in multiplication, c anything up to 2^977 (zero and
  // subnormal included: TwoSum stays exact).
  if ((ea - 124) >>> 0 <= 1876 && (eb - 124) >>> 0 <= 1876 && (ea + eb - 1146) >>> 0 <= 1900 &&
    ec <= 2000) {
    I32[0] = aLo; I32[1] = aHi;
    const x = F64[0];
    I32[0] = bLo; I32[1] = bHi;
    const y = F64[0];
    I32[0] = cLo; I32[1] = cHi;
    const z = F64[0];
    // a*b = p + pe exactly (TwoProduct).
    const p = x * y;
    const cx = SPLIT * x;
    const xh = cx - (cx - x);
    const xl = x - xh;
    const cy = SPLIT * y;
    const yh = cy - (cy - y);
    const yl = y - yh;
    const pe = ((xh * yh - p) + xh * yl + xl * yh) + xl * yl;
    // p + z = s + se exactly (TwoSum).
    const s = p + z;
    let t = s - p;
    const se = (p - (s - t)) + (z - t);
    // se + pe = w + we exactly (TwoSum).
    const w = se + pe;
    t = w - se;
    const we = (se - (w - t)) + (pe - t);
    // s + w = u + ue exactly (TwoSum); now a*b + c = u + ue + we.
    const u = s + w;
    t = u - s;
    const ue = (s - (u - t)) + (w - t);
    // Why we is below the granule that finish64 needs: we != 0 needs both
    // se and pe nonzero.  se != 0 means p + z was inexact, which rules out
    // heavy cancellation there (|s| >= about |p|/4, or |z| dominates), so
    // |w| is at most a few ulps of s and we is below 2^-50 ulp(s); u is then
    // within a factor 2 of s, and every term is a multiple of ulp(w).
    const au = u < 0 ? -u : u;
    if (au >= TWO_M900 && au <= TWO_1000) {
      if (ue === 0 && we === 0) { put(u, 0); return; }
      if (rm === RM.RNE && we === 0) { put(u, FFlag.NX); return; }
      finish64(u, ue, we, rm);
      return;
    }
    if (u === 0 && we === 0) {
      // ue is 0 too (u = RN(s + w) = 0 means s + w = 0).  a, b nonzero, so
      // this is an exact cancellation: +0, or -0 when rounding down.
      put(rm === RM.RDN ? -0 : 0, 0);
      return;
    }
    fmaSlow(aLo, aHi, bLo, bHi, cLo, cHi, rm);
    return;
  }
  if (ea === 0x7ff || eb === 0x7ff || ec === 0x7ff) {
    fmaSpecial(aLo, aHi, bLo, bHi, cLo, cHi);
    return;
  }
  if (isZero64(aLo, aHi) || isZero64(bLo, bHi)) {
    // Product is an exact signed zero; the sum is c unless c is zero too.
    if (isZero64(cLo, cHi)) {
      const pNeg = (aHi ^ bHi) < 0;
      const neg = pNeg === (cHi < 0) ? pNeg : rm === RM.RDN;
      fpr[0] = 0; fpr[1] = neg ? 0x80000000 : 0; fpr[2] = 0;
    } else {
      fpr[0] = cLo; fpr[1] = cHi; fpr[2] = 0;
    }
    return;
  }
  fmaSlow(aLo, aHi, bLo, bHi, cLo, cHi, rm);
}

function fmaSlow(aLo: number, aHi: number, bLo: number, bHi: number, cLo: number, cHi: number,
  rm: number): void {
  exactFma(bits64(aLo, aHi), bits64(bLo, bHi), bits64(cLo, cHi), rm, BINARY64);
}

function fmaSpecial(aLo: number, aHi: number, bLo: number, bHi: number, cLo: number,
  cHi: number): void {
  const aInf = (aHi & 0x7fffffff) === 0x7ff00000 && aLo === 0;
  const bInf = (bHi & 0x7fffffff) === 0x7ff00000 && bLo === 0;
  const infZero = (aInf && isZero64(bLo, bHi)) || (bInf && isZero64(aLo, aHi));
  if (isNaN64(aLo, aHi) || isNaN64(bLo, bHi) || isNaN64(cLo, cHi)) {
    // inf * 0 raises invalid even when the addend is a quiet NaN.
    const sn = isSNaN64(aLo, aHi) || isSNaN64(bLo, bHi) || isSNaN64(cLo, cHi);
    nan(sn || infZero ? FFlag.NV : 0);
    return;
  }
  if (infZero) { nan(FFlag.NV); return; }
  const cInf = (cHi & 0x7ff00000) === 0x7ff00000;
  if (aInf || bInf) {
    const pSign = (aHi ^ bHi) & 0x80000000;
    if (cInf && (pSign ^ (cHi & 0x80000000)) !== 0) { nan(FFlag.NV); return; }
    fpr[0] = 0; fpr[1] = pSign | 0x7ff00000; fpr[2] = 0;
    return;
  }
  fpr[0] = 0; fpr[1] = cHi; fpr[2] = 0; // c is the infinity
}
