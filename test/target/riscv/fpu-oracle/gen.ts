/**
 * Operand generators for the FPU oracle test: a seeded PRNG and builders for
 * binary32/binary64 bit patterns (as BigInt) that favour the hard cases:
 * specials, subnormals, results near overflow/underflow, exact rounding ties
 * for sums, products and fused multiply-adds, values near integer
 * boundaries for conversions.
 */

/** xoshiro128** with a splitmix32 seeding; 32-bit outputs. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let x = seed | 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) | 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }

  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  bool(): boolean {
    return (this.u32() & 1) === 1;
  }

  /** n random bits (n may exceed 32). */
  bits(n: number): bigint {
    let v = 0n;
    let left = n;
    while (left > 0) {
      const k = left > 32 ? 32 : left;
      v = (v << BigInt(k)) | BigInt(this.u32() >>> (32 - k));
      left -= k;
    }
    return v;
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)];
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export interface Fmt {
  readonly p: number; // precision with hidden bit
  readonly ebits: number;
  readonly bias: number;
  readonly emin: number;
  readonly emax: number;
  readonly width: number;
}

export const S: Fmt = { p: 24, ebits: 8, bias: 127, emin: -126, emax: 127, width: 32 };
export const D: Fmt = { p: 53, ebits: 11, bias: 1023, emin: -1022, emax: 1023, width: 64 };

export function signBit(f: Fmt): bigint {
  return 1n << BigInt(f.width - 1);
}

export function pack(f: Fmt, neg: boolean, expField: number, frac: bigint): bigint {
  return (neg ? signBit(f) : 0n) | (BigInt(expField) << BigInt(f.p - 1)) | frac;
}

function bitLength(m: bigint): number {
  return m === 0n ? 0 : m.toString(2).length;
}

/** (-1)^neg * m * 2^e as bits if exactly representable, else null. */
export function encode(f: Fmt, neg: boolean, m: bigint, e: number): bigint | null {
  if (m < 0n) { neg = !neg; m = -m; }
  if (m === 0n) return neg ? signBit(f) : 0n;
  while ((m & 1n) === 0n) { m >>= 1n; e += 1; }
  const n = bitLength(m);
  if (n > f.p) return null;
  const top = e + n - 1;
  if (top > f.emax) return null;
  if (top < f.emin) {
    const lsb = f.emin - f.p + 1;
    if (e < lsb) return null;
    return pack(f, neg, 0, m << BigInt(e - lsb));
  }
  const mant = m << BigInt(f.p - n);
  return pack(f, neg, top + f.bias, mant - (1n << BigInt(f.p - 1)));
}

/** Decode finite bits: value = (-1)^neg * m * 2^e. */
export function decode(f: Fmt, bits: bigint): { neg: boolean; m: bigint; e: number } {
  const fracBits = BigInt(f.p - 1);
  const expField = Number((bits >> fracBits) & ((1n << BigInt(f.ebits)) - 1n));
  const frac = bits & ((1n << fracBits) - 1n);
  const neg = (bits & signBit(f)) !== 0n;
  if (expField === 0) return { neg, m: frac, e: f.emin - f.p + 1 };
  return { neg, m: frac | (1n << fracBits), e: expField - f.bias - f.p + 1 };
}

export function isFinite(f: Fmt, bits: bigint): boolean {
  const expField = Number((bits >> BigInt(f.p - 1)) & ((1n << BigInt(f.ebits)) - 1n));
  return expField !== (1 << f.ebits) - 1;
}

export function specials(f: Fmt): bigint[] {
  const e = (1 << f.ebits) - 1;
  const fb = BigInt(f.p - 1);
  const quiet = 1n << (fb - 1n);
  const one = (v: number): bigint => encode(f, v < 0, BigInt(Math.abs(v) * 4), -2) as bigint;
  const list: bigint[] = [
    0n, signBit(f),
    pack(f, false, e, 0n), pack(f, true, e, 0n), // ±inf
    pack(f, false, e, quiet), pack(f, true, e, quiet), // qNaN
    pack(f, false, e, quiet | 1n), pack(f, false, e, 1n), pack(f, true, e, 1n), // payload qNaN, sNaN
    pack(f, false, e, quiet >> 1n), // sNaN
    pack(f, false, 0, 1n), pack(f, true, 0, 1n), // min subnormal
    pack(f, false, 0, (1n << fb) - 1n), pack(f, true, 0, (1n << fb) - 1n), // max subnormal
    pack(f, false, 1, 0n), pack(f, true, 1, 0n), // min normal
    pack(f, false, e - 1, (1n << fb) - 1n), pack(f, true, e - 1, (1n << fb) - 1n), // max
  ];
  for (const v of [1, -1, 0.5, -0.5, 1.5, -1.5, 2, 3, 0.25, 0.75, -0.75, 2.5, -2.5, 3.5]) {
    list.push(one(v));
  }
  for (const k of [24, 31, 32, 52, 53, 63, 64]) {
    const t = encode(f, false, 1n, k);
    if (t !== null) { list.push(t); list.push(t | signBit(f)); }
  }
  return list;
}

/** Random finite-or-not value, biased towards the interesting regions. */
export function randValue(f: Fmt, r: Rng, sp: readonly bigint[]): bigint {
  const emaxField = (1 << f.ebits) - 2;
  const frac = (): bigint => {
    // Sometimes sparse mantissas (few bits set, or all ones).
    switch (r.int(6)) {
      case 0: return 0n;
      case 1: return (1n << BigInt(f.p - 1)) - 1n;
      case 2: return 1n << BigInt(r.int(f.p - 1));
      case 3: return r.bits(f.p - 1) & ~((1n << BigInt(r.int(f.p - 1))) - 1n);
      default: return r.bits(f.p - 1);
    }
  };
  switch (r.int(10)) {
    case 0: return r.pick(sp);
    case 1: return r.bits(f.width); // anything, NaNs included
    case 2: return pack(f, r.bool(), r.range(0, 3), frac()); // subnormal / tiny
    case 3: return pack(f, r.bool(), r.range(emaxField - 3, emaxField), frac()); // huge
    default: return pack(f, r.bool(), f.bias + r.range(-12, 12), frac()); // ordinary
  }
}

/** A value with a random exponent in [emin..emax] (biased field 1..max). */
export function randAnyExp(f: Fmt, r: Rng): bigint {
  return pack(f, r.bool(), r.range(1, (1 << f.ebits) - 2), r.bits(f.p - 1));
}

export function randExpField(f: Fmt, r: Rng, field: number): bigint {
  const e = Math.max(0, Math.min((1 << f.ebits) - 2, field));
  return pack(f, r.bool(), e, r.bits(f.p - 1));
}

/** Random odd integer with exactly n bits (n >= 1). */
export function oddBits(r: Rng, n: number): bigint {
  if (n <= 1) return 1n;
  return (1n << BigInt(n - 1)) | r.bits(n - 1) | 1n;
}
