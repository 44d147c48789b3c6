/**
 * Exact slow path: finite operands are decoded into integer significands and
 * exponents (BigInt), the operation is carried out exactly (division and
 * square root to enough quotient/root bits plus a sticky bit), and the result
 * is rounded once by roundPack.  This is the reference the fast paths fall
 * back to for the rare hard cases (subnormal or extreme operands, results
 * near overflow or underflow), and it works for both formats.
 *
 * NaN and infinity handling stays with the callers; every function here takes
 * finite operands only.
 */
import { fpr, FFlag, RM } from "./state.js";

export interface FloatFormat {
  /** Significand precision, including the hidden bit. */
  readonly p: number;
  /** Exponent of the smallest normal number; the bias is emax. */
  readonly emin: number;
  readonly emax: number;
  /** Width of the exponent field. */
  readonly expBits: number;
  /** Result bits go to fpr[0] only (binary32) or fpr[0..1] (binary64). */
  readonly wide: boolean;
}

export const BINARY32: FloatFormat = { p: 24, emin: -126, emax: 127, expBits: 8, wide: false };
export const BINARY64: FloatFormat = { p: 53, emin: -1022, emax: 1023, expBits: 11, wide: true };

export function bits64(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

export function bits32(a: number): bigint {
  return BigInt(a >>> 0);
}

// Decoded operand (finite): value = (-1)^neg * m * 2^e.
let dNeg = false;
let dM = 0n;
let dE = 0;

function decode(bits: bigint, f: FloatFormat): void {
  const fracBits = BigInt(f.p - 1);
  const expField = Number((bits >> fracBits) & ((1n << BigInt(f.expBits)) - 1n));
  const frac = bits & ((1n << fracBits) - 1n);
  dNeg = ((bits >> (fracBits + BigInt(f.expBits))) & 1n) === 1n;
  if (expField === 0) {
    dM = frac;
    dE = f.emin - (f.p - 1);
  } else {
    dM = frac | (1n << fracBits);
    dE = expField - f.emax - (f.p - 1);
  }
}

function bitLength(m: bigint): number {
  return m === 0n ? 0 : m.toString(2).length;
}

function writeBits(bits: bigint, f: FloatFormat): void {
  if (f.wide) {
    fpr[0] = Number(bits & 0xffffffffn) | 0;
    fpr[1] = Number(bits >> 32n) | 0;
  } else {
    fpr[0] = Number(bits) | 0;
  }
}

function signBit(f: FloatFormat): bigint {
  return 1n << BigInt(f.p - 1 + f.expBits);
}

function writeZero(neg: boolean, f: FloatFormat): void {
  writeBits(neg ? signBit(f) : 0n, f);
  fpr[2] = 0;
}

let lastInexact = false;

/**
 * m * 2^-shift rounded to an integer under rm (shift may be <= 0: exact);
 * `sticky` says there are nonzero bits below m's last bit (only allowed when
 * shift > 0).  Sets lastInexact.
 */
function roundInt(m: bigint, shift: number, sticky: boolean, neg: boolean, rm: number): bigint {
  if (shift <= 0) {
    lastInexact = false;
    return m << BigInt(-shift);
  }
  const sh = BigInt(shift);
  let q = m >> sh;
  const rem = m & ((1n << sh) - 1n);
  const half = 1n << (sh - 1n);
  const inexact = rem !== 0n || sticky;
  const vsHalf = rem > half ? 1 : rem < half ? -1 : sticky ? 1 : 0;
  let inc: boolean;
  switch (rm) {
    case RM.RNE: inc = vsHalf > 0 || (vsHalf === 0 && (q & 1n) === 1n); break;
    case RM.RMM: inc = vsHalf >= 0; break;
    case RM.RTZ: inc = false; break;
    case RM.RDN: inc = inexact && neg; break;
    default: inc = inexact && !neg; break;
  }
  if (inc) q += 1n;
  lastInexact = inexact;
  return q;
}

function overflow(neg: boolean, rm: number, f: FloatFormat): void {
  let big: boolean;
  switch (rm) {
    case RM.RTZ: big = false; break;
    case RM.RDN: big = neg; break;
    case RM.RUP: big = !neg; break;
    default: big = true; break;
  }
  const inf = ((1n << BigInt(f.expBits)) - 1n) << BigInt(f.p - 1);
  writeBits((big ? inf : inf - 1n) | (neg ? signBit(f) : 0n), f);
  fpr[2] = FFlag.OF | FFlag.NX;
}

/**
 * Round (-1)^neg * (m + sticky*epsilon) * 2^e to the format, m > 0.  With
 * sticky set, m must carry at least p + 2 significant bits so that the sticky
 * part lies below the rounding position.
 */
export function roundPack(neg: boolean, m: bigint, e: number, sticky: boolean, rm: number,
  f: FloatFormat): void {
  const p = f.p;
  const top = e + bitLength(m) - 1; // exponent of the leading bit
  let lsb = (top < f.emin ? f.emin : top) - (p - 1);
  let q = roundInt(m, lsb - e, sticky, neg, rm);
  const inexact = lastInexact;
  if (q >> BigInt(p) !== 0n) { // rounding carried into a new leading bit
    q >>= 1n;
    lsb += 1;
  }
  // Tininess after rounding: the value rounded to p bits with an unbounded
  // exponent is below 2^emin.  Only a value just under 2^emin can round up
  // to it.
  let tiny = top < f.emin - 1;
  if (top === f.emin - 1) {
    const q2 = roundInt(m, top - (p - 1) - e, sticky, neg, rm);
    tiny = q2 >> BigInt(p) === 0n;
  }
  const hidden = 1n << BigInt(p - 1);
  let bits: bigint;
  if (q < hidden) {
    bits = q; // subnormal (or zero)
  } else {
    const exp = lsb + p - 1;
    if (exp > f.emax) { overflow(neg, rm, f); return; }
    bits = (BigInt(exp + f.emax) << BigInt(p - 1)) | (q - hidden);
  }
  if (neg) bits |= signBit(f);
  writeBits(bits, f);
  fpr[2] = inexact ? (tiny ? FFlag.NX | FFlag.UF : FFlag.NX) : 0;
}

/** Sign of an exactly-zero sum of two terms with signs sa, sb. */
function zeroSumNeg(sa: boolean, sb: boolean, rm: number): boolean {
  return sa === sb ? sa : rm === RM.RDN;
}

export function exactAdd(a: bigint, b: bigint, rm: number, f: FloatFormat): void {
  decode(a, f);
  const na = dNeg, ma = dM, ea = dE;
  decode(b, f);
  const nb = dNeg, mb = dM, eb = dE;
  const e = ea < eb ? ea : eb;
  const A = ma << BigInt(ea - e);
  const B = mb << BigInt(eb - e);
  const s = (na ? -A : A) + (nb ? -B : B);
  if (s === 0n) { writeZero(zeroSumNeg(na, nb, rm), f); return; }
  roundPack(s < 0n, s < 0n ? -s : s, e, false, rm, f);
}

export function exactMul(a: bigint, b: bigint, rm: number, f: FloatFormat): void {
  decode(a, f);
  const na = dNeg, ma = dM, ea = dE;
  decode(b, f);
  const m = ma * dM;
  if (m === 0n) { writeZero(na !== dNeg, f); return; }
  roundPack(na !== dNeg, m, ea + dE, false, rm, f);
}

/** a / b with b nonzero. */
export function exactDiv(a: bigint, b: bigint, rm: number, f: FloatFormat): void {
  decode(a, f);
  const na = dNeg, ma = dM, ea = dE;
  decode(b, f);
  const nb = dNeg, mb = dM, eb = dE;
  if (ma === 0n) { writeZero(na !== nb, f); return; }
  let k = f.p + 3 + bitLength(mb) - bitLength(ma);
  if (k < 0) k = 0;
  const num = ma << BigInt(k);
  const q = num / mb;
  roundPack(na !== nb, q, ea - eb - k, q * mb !== num, rm, f);
}

function isqrt(n: bigint): bigint {
  // Newton iteration from above, starting at a power of two >= sqrt(n).
  let x = 1n << BigInt((bitLength(n) + 1) >> 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** sqrt(a) with a positive (nonzero, finite). */
export function exactSqrt(a: bigint, rm: number, f: FloatFormat): void {
  decode(a, f);
  const m = dM, e = dE;
  let k = 2 * f.p + 6 - bitLength(m);
  if (k < 0) k = 0;
  if (((e - k) & 1) !== 0) k += 1;
  const n = m << BigInt(k);
  const r = isqrt(n);
  roundPack(false, r, (e - k) / 2, r * r !== n, rm, f);
}

/** a * b + c (negations already applied to the operands' signs). */
export function exactFma(a: bigint, b: bigint, c: bigint, rm: number, f: FloatFormat): void {
  decode(a, f);
  const na = dNeg, ma = dM, ea = dE;
  decode(b, f);
  const np = na !== dNeg;
  const mp = ma * dM;
  const ep = ea + dE;
  decode(c, f);
  const nc = dNeg, mc = dM, ec = dE;
  const e = ep < ec ? ep : ec;
  const P = mp << BigInt(ep - e);
  const C = mc << BigInt(ec - e);
  const s = (np ? -P : P) + (nc ? -C : C);
  if (s === 0n) { writeZero(zeroSumNeg(np, nc, rm), f); return; }
  roundPack(s < 0n, s < 0n ? -s : s, e, false, rm, f);
}
