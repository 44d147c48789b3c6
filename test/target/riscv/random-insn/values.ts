/** Interesting register values for generated test cases. */
import type { Rng } from "./rng.js";

const M64 = (1n << 64n) - 1n;
const u64 = (v: bigint): bigint => v & M64;

const X_SPECIAL: readonly bigint[] = [
  0n, 1n, 2n, 3n, 31n, 32n, 63n, 64n, u64(-1n), u64(-2n),
  0x7fffffffffffffffn, 0x8000000000000000n, 0x8000000000000001n,
  0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n,
  0xffffffff80000000n, 0xffffffff7fffffffn, 0x00000000ffff8000n, 0xffffffffffff8000n, 0x7ff, 0x800,
].map((v) => BigInt(v));

const S_SPECIAL: readonly number[] = [
  0x00000000, 0x80000000, 0x7f800000, 0xff800000,             // ±0, ±inf
  0x7fc00000, 0xffc00000, 0x7fc00001, 0x7fffffff,             // quiet NaNs
  0x7f800001, 0xff800001, 0x7fbfffff, 0x7fa00000,             // signalling NaNs
  0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x00400000, // subnormals
  0x00800000, 0x80800000, 0x7f7fffff, 0xff7fffff,             // min/max normal
  0x3f800000, 0xbf800000, 0x3f000000, 0xbf000000, 0x3fc00000, 0xbfc00000,
  0x40200000, 0xc0200000, 0x3effffff, 0x3f7fffff,             // ±1, ±0.5, ±1.5, ±2.5, ...
  0x4effffff, 0x4f000000, 0xcf000000, 0xcf000001, 0x4f800000, // around 2^31, 2^32
  0x5effffff, 0x5f000000, 0xdf000000, 0xdf000001, 0x5f800000, // around 2^63, 2^64
  0x34000000, 0x33800000,
];

const D_SPECIAL: readonly bigint[] = [
  0x0000000000000000n, 0x8000000000000000n, 0x7ff0000000000000n, 0xfff0000000000000n,
  0x7ff8000000000000n, 0xfff8000000000000n, 0x7ff8000000000001n, 0x7fffffffffffffffn,
  0x7ff0000000000001n, 0xfff0000000000001n, 0x7ff4000000000000n, 0x7ff7ffffffffffffn,
  0x0000000000000001n, 0x8000000000000001n, 0x000fffffffffffffn, 0x800fffffffffffffn,
  0x0010000000000000n, 0x8010000000000000n, 0x7fefffffffffffffn, 0xffefffffffffffffn,
  0x3ff0000000000000n, 0xbff0000000000000n, 0x3fe0000000000000n, 0xbfe0000000000000n,
  0x3ff8000000000000n, 0xbff8000000000000n, 0x4004000000000000n, 0xc004000000000000n,
  0x41dfffffffc00000n, 0x41dfffffffe00000n, 0x41e0000000000000n, 0xc1e0000000000000n, 0xc1e0000000100000n,
  0x41efffffffe00000n, 0x41f0000000000000n, 0x43dfffffffffffffn, 0x43e0000000000000n,
  0xc3e0000000000000n, 0xc3e0000000000001n, 0x43efffffffffffffn, 0x43f0000000000000n,
  0x47efffffe0000000n, 0x47efffffffffffffn, 0x47f0000000000000n, 0x3810000000000000n,
  0x380fffffffffffffn, 0x36a0000000000000n, 0x3690000000000000n, 0x3ca0000000000000n,
];

const f64 = new Float64Array(1);
const f64bits = new BigUint64Array(f64.buffer);
const f32 = new Float32Array(1);
const f32bits = new Uint32Array(f32.buffer);

function niceDouble(rng: Rng): bigint {
  f64[0] = (rng.range(-4000, 4000) / rng.pick([1, 2, 4, 8, 3, 10])) * rng.pick([1, 1, 1, 1e-30, 1e30, 2 ** 60]);
  return f64bits[0];
}

function niceSingle(rng: Rng): number {
  f32[0] = (rng.range(-4000, 4000) / rng.pick([1, 2, 4, 8, 3, 10])) * rng.pick([1, 1, 1, 1e-20, 1e20, 2 ** 30]);
  return f32bits[0];
}

/** A single-precision bit pattern. */
export function singleBits(rng: Rng): number {
  const k = rng.int(10);
  if (k < 5) return rng.pick(S_SPECIAL);
  if (k < 8) return niceSingle(rng);
  return rng.u32();
}

/** A double-precision bit pattern. */
export function doubleBits(rng: Rng): bigint {
  const k = rng.int(10);
  if (k < 5) return rng.pick(D_SPECIAL);
  if (k < 8) return niceDouble(rng);
  return rng.u64();
}

/** A value for an integer register. */
export function xValue(rng: Rng): bigint {
  const k = rng.int(20);
  if (k < 6) return rng.u64();
  if (k < 10) return u64(BigInt(rng.range(-16, 16)));
  if (k < 14) return rng.pick(X_SPECIAL);
  if (k < 17) return u64(BigInt(rng.u32() | 0));
  if (k < 18) return BigInt(rng.u32());
  return fValue(rng);
}

/** A value for a floating-point register: NaN-boxed singles, doubles, and improperly boxed patterns. */
export function fValue(rng: Rng): bigint {
  const k = rng.int(20);
  if (k < 8) return 0xffffffff00000000n | BigInt(singleBits(rng));
  if (k < 16) return doubleBits(rng);
  if (k < 17) return BigInt(singleBits(rng));                               // upper half zero
  if (k < 18) return 0xfffffffe00000000n | BigInt(singleBits(rng));         // one bit short of boxed
  if (k < 19) return (BigInt(rng.u32() & 0x7fffffff) << 32n) | BigInt(singleBits(rng));
  return rng.u64();
}
