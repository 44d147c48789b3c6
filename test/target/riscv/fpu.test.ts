/**
 * Unit tests of the soft-float unit: hand-checked edge cases per operation,
 * then randomized agreement of the fast paths with the exact BigInt
 * reference (exact.ts) in every rounding mode.
 *
 * Environment: TSEMU_FPU_SEED and TSEMU_FPU_REF_CASES (default 30000) for the
 * randomized part.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as fpu from "../../../src/target/riscv/fpu/index.js";
import {
  BINARY32, BINARY64, bits32, exactAdd, exactDiv, exactFma, exactMul, exactSqrt, roundPack,
} from "../../../src/target/riscv/fpu/exact.js";
import { D, decode, encode, isFinite, oddBits, randAnyExp, randValue, Rng, S, signBit, specials } from "./fpu-oracle/gen.js";

const r = fpu.fpr;

// Flags.
const NX = 1, UF = 2, OF = 4, DZ = 8, NV = 16;
// Rounding modes.
const RNE = 0, RTZ = 1, RDN = 2, RUP = 3, RMM = 4;

const FLAG_NAMES = ["NX", "UF", "OF", "DZ", "NV"];
const flagText = (f: number): string => FLAG_NAMES.filter((_, i) => (f >> i) & 1).join("|") || "-";
const h32 = (v: number): string => "0x" + (v >>> 0).toString(16).padStart(8, "0");
const h64 = (lo: number, hi: number): string =>
  "0x" + (hi >>> 0).toString(16).padStart(8, "0") + (lo >>> 0).toString(16).padStart(8, "0");

// binary32 constants
const S_ONE = 0x3f800000;
const S_TWO = 0x40000000;
const S_THREE = 0x40400000;
const S_HALF = 0x3f000000;
const S_INF = 0x7f800000;
const S_NINF = 0xff800000 | 0;
const S_QNAN = 0x7fc00000;
const S_SNAN = 0x7f800001;
const S_MAX = 0x7f7fffff;
const S_NMAX = 0xff7fffff | 0;
const S_MIN_NORMAL = 0x00800000;
const S_NZERO = 0x80000000 | 0;

// binary64 constants as [lo, hi]
type P = readonly [number, number];
const D_ONE: P = [0, 0x3ff00000];
const D_TWO: P = [0, 0x40000000];
const D_THREE: P = [0, 0x40080000];
const D_INF: P = [0, 0x7ff00000];
const D_NINF: P = [0, 0xfff00000 | 0];
const D_QNAN: P = [0, 0x7ff80000];
const D_SNAN: P = [1, 0x7ff00000];
const D_MAX: P = [-1, 0x7fefffff];
const D_ZERO: P = [0, 0];
const D_NZERO: P = [0, 0x80000000 | 0];
const D_ULP1: P = [0, 0x3cb00000]; // 2^-52, one ulp of 1.0
const D_HALF_ULP1: P = [0, 0x3ca00000]; // 2^-53

function s32(expect: number, flags: number, what: string): void {
  assert.equal(h32(r[0]) + " " + flagText(r[2]), h32(expect) + " " + flagText(flags), what);
}

function s64(expect: P, flags: number, what: string): void {
  assert.equal(h64(r[0], r[1]) + " " + flagText(r[2]), h64(expect[0], expect[1]) + " " + flagText(flags), what);
}

function int64(lo: number, hi: number, flags: number, what: string): void {
  assert.equal(h64(r[0], r[1]) + " " + flagText(r[2]), h64(lo, hi) + " " + flagText(flags), what);
}

test("f32 add/sub: rounding modes, ties, overflow, zero signs, NaNs", () => {
  fpu.f32Add(S_ONE, S_TWO, RNE); s32(S_THREE, 0, "1 + 2");
  // 1 + 2^-24 is the midpoint between 1 and 1 + 2^-23.
  const tiny = 0x33800000; // 2^-24
  fpu.f32Add(S_ONE, tiny, RNE); s32(S_ONE, NX, "tie to even");
  fpu.f32Add(S_ONE, tiny, RMM); s32(0x3f800001, NX, "tie away");
  fpu.f32Add(S_ONE, tiny, RUP); s32(0x3f800001, NX, "up");
  fpu.f32Add(S_ONE, tiny, RTZ); s32(S_ONE, NX, "toward zero");
  // 1 + 2^-100: far below half an ulp, only sticky.
  fpu.f32Add(S_ONE, 0x0d800000, RUP); s32(0x3f800001, NX, "sticky up");
  fpu.f32Add(S_ONE, 0x0d800000, RNE); s32(S_ONE, NX, "sticky nearest");
  fpu.f32Sub(S_ONE, 0x0d800000, RDN); s32(0x3f7fffff, NX, "sticky down below 1");
  // Overflow.
  fpu.f32Add(S_MAX, S_MAX, RNE); s32(S_INF, OF | NX, "max + max RNE");
  fpu.f32Add(S_MAX, S_MAX, RTZ); s32(S_MAX, OF | NX, "max + max RTZ");
  fpu.f32Add(S_MAX, S_MAX, RDN); s32(S_MAX, OF | NX, "max + max RDN");
  fpu.f32Add(S_NMAX, S_NMAX, RDN); s32(S_NINF, OF | NX, "-max - max RDN");
  fpu.f32Add(S_NMAX, S_NMAX, RUP); s32(S_NMAX, OF | NX, "-max - max RUP");
  // max + half an ulp of max (2^103) is the midpoint to 2^128: RNE overflows.
  fpu.f32Add(S_MAX, 0x73000000, RNE); s32(S_INF, OF | NX, "max + half ulp");
  fpu.f32Add(S_MAX, 0x73000000, RTZ); s32(S_MAX, NX, "max + half ulp, RTZ: no overflow");
  // Exact cancellation.
  fpu.f32Sub(S_THREE, S_THREE, RNE); s32(0, 0, "x - x = +0");
  fpu.f32Sub(S_THREE, S_THREE, RDN); s32(S_NZERO, 0, "x - x = -0 in RDN");
  fpu.f32Add(S_NZERO, S_NZERO, RNE); s32(S_NZERO, 0, "-0 + -0");
  fpu.f32Add(S_NZERO, 0, RNE); s32(0, 0, "-0 + +0");
  fpu.f32Add(0, 0, RDN); s32(0, 0, "+0 + +0 in RDN");
  // Subnormal sums are exact.
  fpu.f32Add(1, 1, RNE); s32(2, 0, "min subnormal doubled");
  // NaNs and infinities.
  fpu.f32Add(S_QNAN, S_ONE, RNE); s32(S_QNAN, 0, "qNaN");
  fpu.f32Add(0x7fc12345, S_ONE, RNE); s32(S_QNAN, 0, "payload not propagated");
  fpu.f32Add(S_SNAN, S_ONE, RNE); s32(S_QNAN, NV, "sNaN");
  fpu.f32Add(S_INF, S_NINF, RNE); s32(S_QNAN, NV, "inf - inf");
  fpu.f32Sub(S_INF, S_INF, RNE); s32(S_QNAN, NV, "inf - inf (sub)");
  fpu.f32Add(S_INF, S_MAX, RNE); s32(S_INF, 0, "inf + max");
});

test("f32 mul/div/sqrt: underflow after rounding, exactness, specials", () => {
  // (2 - 2^-23) * 2^-126 * 0.5 = 2^-126 - 2^-150: on the subnormal midpoint
  // below 2^-126, rounds up to 2^-126; with 24 bits it is representable, so
  // it is tiny after rounding: UF.
  fpu.f32Mul(0x00ffffff, S_HALF, RNE); s32(S_MIN_NORMAL, UF | NX, "tiny although rounded to min normal");
  fpu.f32Mul(0x00ffffff, S_HALF, RTZ); s32(0x007fffff, UF | NX, "same, RTZ");
  // 2^-126 * (1 - 2^-24) * ... : min normal times 0.5 is an exact subnormal.
  fpu.f32Mul(S_MIN_NORMAL, S_HALF, RNE); s32(0x00400000, 0, "exact subnormal: no UF");
  // min subnormal * 0.5: halfway to zero, ties to even (zero).
  fpu.f32Mul(1, S_HALF, RNE); s32(0, UF | NX, "underflow to zero");
  fpu.f32Mul(1, S_HALF, RMM); s32(1, UF | NX, "tie away from zero");
  fpu.f32Mul(1, S_HALF, RUP); s32(1, UF | NX, "round up");
  fpu.f32Mul(0x80000001 | 0, S_HALF, RDN); s32(0x80000001 | 0, UF | NX, "negative, round down");
  fpu.f32Mul(S_MAX, S_TWO, RUP); s32(S_INF, OF | NX, "overflow");
  fpu.f32Mul(S_INF, 0, RNE); s32(S_QNAN, NV, "inf * 0");
  fpu.f32Mul(S_NINF, S_TWO, RNE); s32(S_NINF, 0, "-inf * 2");
  fpu.f32Div(S_ONE, S_THREE, RNE); s32(0x3eaaaaab, NX, "1/3 RNE");
  fpu.f32Div(S_ONE, S_THREE, RTZ); s32(0x3eaaaaaa, NX, "1/3 RTZ");
  fpu.f32Div(S_THREE, S_TWO, RNE); s32(0x3fc00000, 0, "3/2 exact");
  fpu.f32Div(S_ONE, 0, RNE); s32(S_INF, DZ, "1/0");
  fpu.f32Div(S_ONE, S_NZERO, RNE); s32(S_NINF, DZ, "1/-0");
  fpu.f32Div(0, 0, RNE); s32(S_QNAN, NV, "0/0");
  fpu.f32Div(S_INF, S_INF, RNE); s32(S_QNAN, NV, "inf/inf");
  fpu.f32Div(S_ONE, S_INF, RNE); s32(0, 0, "1/inf");
  fpu.f32Sqrt(0x40800000, RNE); s32(S_TWO, 0, "sqrt 4");
  fpu.f32Sqrt(S_TWO, RNE); s32(0x3fb504f3, NX, "sqrt 2");
  fpu.f32Sqrt(S_TWO, RTZ); s32(0x3fb504f3, NX, "sqrt 2 RTZ");
  fpu.f32Sqrt(S_TWO, RUP); s32(0x3fb504f4, NX, "sqrt 2 RUP");
  fpu.f32Sqrt(0xbf800000 | 0, RNE); s32(S_QNAN, NV, "sqrt -1");
  fpu.f32Sqrt(S_NZERO, RNE); s32(S_NZERO, 0, "sqrt -0");
  fpu.f32Sqrt(S_INF, RNE); s32(S_INF, 0, "sqrt inf");
  fpu.f32Sqrt(S_NINF, RNE); s32(S_QNAN, NV, "sqrt -inf");
  fpu.f32Sqrt(0x7fc00001, RNE); s32(S_QNAN, 0, "sqrt qNaN");
});

test("f32 fused multiply-add: single rounding, sign rules, inf*0+NaN", () => {
  // (1 + 2^-12)^2 - 1 = 2^-11 + 2^-24: needs the unrounded product.
  const a = 0x3f800800; // 1 + 2^-12
  fpu.f32MulAdd(a, a, 0xbf800000 | 0, RNE, false, false); s32(0x3a000400, 0, "fma keeps product bits");
  fpu.f32MulAdd(S_TWO, S_THREE, S_ONE, RNE, false, false); s32(0x40e00000, 0, "2*3+1");
  fpu.f32MulAdd(S_TWO, S_THREE, S_ONE, RNE, false, true); s32(0x40a00000, 0, "fmsub 2*3-1");
  fpu.f32MulAdd(S_TWO, S_THREE, S_ONE, RNE, true, false); s32(0xc0a00000 | 0, 0, "fnmsub -(2*3)+1");
  fpu.f32MulAdd(S_TWO, S_THREE, S_ONE, RNE, true, true); s32(0xc0e00000 | 0, 0, "fnmadd -(2*3)-1");
  // Exact zero: x*y - x*y.
  fpu.f32MulAdd(S_TWO, S_THREE, 0x40c00000, RNE, false, true); s32(0, 0, "cancel to +0");
  fpu.f32MulAdd(S_TWO, S_THREE, 0x40c00000, RDN, false, true); s32(S_NZERO, 0, "cancel to -0 in RDN");
  fpu.f32MulAdd(S_TWO, S_THREE, 0xc0c00000 | 0, RNE, true, true); s32(0, 0, "fnmadd cancel: +0");
  // Zero product plus zero: signs.
  fpu.f32MulAdd(0, S_ONE, 0, RNE, true, true); s32(S_NZERO, 0, "-(0*1) - 0 = -0");
  fpu.f32MulAdd(S_NZERO, S_ONE, 0, RNE, false, false); s32(0, 0, "-0 + 0 = +0");
  fpu.f32MulAdd(S_NZERO, S_ONE, 0, RDN, false, false); s32(S_NZERO, 0, "-0 + 0 = -0 in RDN");
  // inf * 0 + qNaN raises NV (RISC-V).
  fpu.f32MulAdd(S_INF, 0, S_QNAN, RNE, false, false); s32(S_QNAN, NV, "inf*0+qNaN");
  fpu.f32MulAdd(S_INF, 0, S_ONE, RNE, false, false); s32(S_QNAN, NV, "inf*0+1");
  fpu.f32MulAdd(S_ONE, S_ONE, S_QNAN, RNE, false, false); s32(S_QNAN, 0, "1*1+qNaN");
  fpu.f32MulAdd(S_ONE, S_ONE, S_SNAN, RNE, false, false); s32(S_QNAN, NV, "1*1+sNaN");
  fpu.f32MulAdd(S_INF, S_ONE, S_NINF, RNE, false, false); s32(S_QNAN, NV, "inf - inf");
  fpu.f32MulAdd(S_INF, S_ONE, S_NINF, RNE, true, false); s32(S_NINF, 0, "-inf - inf");
  // Product overflows the format but the sum does not matter: max*2 - max.
  fpu.f32MulAdd(S_MAX, S_TWO, S_NMAX, RNE, false, false); s32(S_MAX, 0, "no intermediate overflow");
});

test("f64 arithmetic: modes, ties, overflow, underflow, specials", () => {
  fpu.f64Add(D_ONE[0], D_ONE[1], D_TWO[0], D_TWO[1], RNE); s64(D_THREE, 0, "1 + 2");
  fpu.f64Add(D_ONE[0], D_ONE[1], D_HALF_ULP1[0], D_HALF_ULP1[1], RNE); s64(D_ONE, NX, "tie to even");
  fpu.f64Add(D_ONE[0], D_ONE[1], D_HALF_ULP1[0], D_HALF_ULP1[1], RMM); s64([1, 0x3ff00000], NX, "tie away");
  fpu.f64Add(D_ONE[0], D_ONE[1], D_HALF_ULP1[0], D_HALF_ULP1[1], RUP); s64([1, 0x3ff00000], NX, "up");
  fpu.f64Sub(D_ONE[0], D_ONE[1], D_HALF_ULP1[0], D_HALF_ULP1[1], RNE); s64([-1, 0x3fefffff], 0, "1 - 2^-53 exact");
  fpu.f64Add(D_MAX[0], D_MAX[1], D_MAX[0], D_MAX[1], RNE); s64(D_INF, OF | NX, "max + max");
  fpu.f64Add(D_MAX[0], D_MAX[1], D_MAX[0], D_MAX[1], RTZ); s64(D_MAX, OF | NX, "max + max RTZ");
  fpu.f64Add(D_MAX[0], D_MAX[1], D_ULP1[0], D_ULP1[1], RUP); s64(D_INF, OF | NX, "max + tiny RUP");
  fpu.f64Add(D_MAX[0], D_MAX[1], D_ULP1[0], D_ULP1[1], RNE); s64(D_MAX, NX, "max + tiny RNE");
  fpu.f64Sub(D_THREE[0], D_THREE[1], D_THREE[0], D_THREE[1], RDN); s64(D_NZERO, 0, "x - x RDN");
  fpu.f64Sub(D_THREE[0], D_THREE[1], D_THREE[0], D_THREE[1], RUP); s64(D_ZERO, 0, "x - x RUP");
  fpu.f64Add(D_INF[0], D_INF[1], D_NINF[0], D_NINF[1], RNE); s64(D_QNAN, NV, "inf - inf");
  fpu.f64Add(D_SNAN[0], D_SNAN[1], D_ONE[0], D_ONE[1], RNE); s64(D_QNAN, NV, "sNaN");
  fpu.f64Add(0, 0x7ff81234, D_ONE[0], D_ONE[1], RNE); s64(D_QNAN, 0, "payload dropped");

  // 1/3.
  fpu.f64Div(D_ONE[0], D_ONE[1], D_THREE[0], D_THREE[1], RNE); s64([0x55555555, 0x3fd55555], NX, "1/3");
  fpu.f64Div(D_ONE[0], D_ONE[1], D_THREE[0], D_THREE[1], RUP); s64([0x55555556, 0x3fd55555], NX, "1/3 RUP");
  fpu.f64Div(D_ONE[0], D_ONE[1], D_ZERO[0], D_ZERO[1], RNE); s64(D_INF, DZ, "1/0");
  fpu.f64Div(D_ZERO[0], D_ZERO[1], D_ZERO[0], D_ZERO[1], RNE); s64(D_QNAN, NV, "0/0");
  // min subnormal / 2: exact tie between 0 and min subnormal.
  fpu.f64Div(1, 0, D_TWO[0], D_TWO[1], RNE); s64(D_ZERO, UF | NX, "2^-1075 to even");
  fpu.f64Div(1, 0, D_TWO[0], D_TWO[1], RMM); s64([1, 0], UF | NX, "2^-1075 away");
  // 2^-1022 * (1 - 2^-53) is the midpoint below 2^-1022 in the subnormal
  // grid (ties to 2^-1022) but has exactly 53 bits, so with an unbounded
  // exponent it stays below 2^-1022: tiny after rounding, UF.
  fpu.f64Mul(0, 0x00100000, -1, 0x3fefffff, RNE); s64([0, 0x00100000], UF | NX, "(1-2^-53) 2^-1022");
  fpu.f64Mul(D_MAX[0], D_MAX[1], D_TWO[0], D_TWO[1], RDN); s64(D_MAX, OF | NX, "overflow RDN");
  fpu.f64Mul(D_INF[0], D_INF[1], D_ZERO[0], D_ZERO[1], RNE); s64(D_QNAN, NV, "inf * 0");
  fpu.f64Sqrt(0, 0x40100000, RNE); s64(D_TWO, 0, "sqrt 4");
  fpu.f64Sqrt(D_TWO[0], D_TWO[1], RNE); s64([0x667f3bcd, 0x3ff6a09e], NX, "sqrt 2");
  fpu.f64Sqrt(D_TWO[0], D_TWO[1], RUP); s64([0x667f3bcd, 0x3ff6a09e], NX, "sqrt 2 RUP (RN is above)");
  fpu.f64Sqrt(D_TWO[0], D_TWO[1], RTZ); s64([0x667f3bcc, 0x3ff6a09e], NX, "sqrt 2 RTZ");
  fpu.f64Sqrt(0, 0xbff00000 | 0, RNE); s64(D_QNAN, NV, "sqrt -1");
  fpu.f64Sqrt(D_NZERO[0], D_NZERO[1], RNE); s64(D_NZERO, 0, "sqrt -0");
  fpu.f64Sqrt(1, 0, RNE); s64([0, 0x1e600000], 0, "sqrt of 2^-1074 = 2^-537");
});

test("f64 fused multiply-add", () => {
  // (1 + 2^-27)^2 - 1 = 2^-26 + 2^-54 exactly.
  const x: P = [0x02000000, 0x3ff00000]; // 1 + 2^-27
  fpu.f64MulAdd(x[0], x[1], x[0], x[1], 0, 0xbff00000 | 0, RNE, false, false);
  s64([0x01000000, 0x3e500000], 0, "fma keeps the product's low bits");
  fpu.f64MulAdd(D_TWO[0], D_TWO[1], D_THREE[0], D_THREE[1], D_ONE[0], D_ONE[1], RNE, true, true);
  s64([0, 0xc01c0000 | 0], 0, "fnmadd -(2*3)-1 = -7");
  fpu.f64MulAdd(D_TWO[0], D_TWO[1], D_THREE[0], D_THREE[1], 0, 0x40180000, RDN, false, true);
  s64(D_NZERO, 0, "cancel to -0 in RDN");
  fpu.f64MulAdd(D_INF[0], D_INF[1], 0, 0, D_QNAN[0], D_QNAN[1], RNE, false, false);
  s64(D_QNAN, NV, "inf*0+qNaN");
  // 1 * 1 + 2^-53 * (1 + 2^-52)... tie broken by a bit far below: (1 + 2^-52)
  // times 2^-53 is just above half an ulp of 1.
  fpu.f64MulAdd(1, 0x3ff00000, D_HALF_ULP1[0], D_HALF_ULP1[1], D_ONE[0], D_ONE[1], RNE, false, false);
  s64([1, 0x3ff00000], NX, "above the midpoint by 2^-105");
  fpu.f64MulAdd(1, 0x3ff00000, D_HALF_ULP1[0], D_HALF_ULP1[1], D_ONE[0], D_ONE[1], RTZ, false, false);
  s64(D_ONE, NX, "RTZ");
  fpu.f64MulAdd(D_MAX[0], D_MAX[1], D_TWO[0], D_TWO[1], D_MAX[0], D_MAX[1] ^ 0x80000000, RNE, false, false);
  s64(D_MAX, 0, "max*2 - max, no intermediate overflow");
});

test("min/max, comparisons, fclass", () => {
  fpu.f32Min(0, S_NZERO); s32(S_NZERO, 0, "min(+0,-0)");
  fpu.f32Max(S_NZERO, 0); s32(0, 0, "max(-0,+0)");
  fpu.f32Min(S_QNAN, S_ONE); s32(S_ONE, 0, "min(qNaN, 1)");
  fpu.f32Max(S_ONE, S_SNAN); s32(S_ONE, NV, "max(1, sNaN)");
  fpu.f32Min(S_SNAN, 0x7fc01234); s32(S_QNAN, NV, "min(sNaN, qNaN)");
  fpu.f32Min(S_ONE, S_TWO); s32(S_ONE, 0, "min(1,2)");
  fpu.f64Min(D_ZERO[0], D_ZERO[1], D_NZERO[0], D_NZERO[1]); s64(D_NZERO, 0, "min.d(+0,-0)");
  fpu.f64Max(D_QNAN[0], D_QNAN[1], D_QNAN[0], D_QNAN[1]); s64(D_QNAN, 0, "max.d(qNaN,qNaN)");
  fpu.f64Max(D_SNAN[0], D_SNAN[1], D_TWO[0], D_TWO[1]); s64(D_TWO, NV, "max.d(sNaN,2)");

  fpu.f32Eq(S_QNAN, S_ONE); s32(0, 0, "feq qNaN quiet");
  fpu.f32Eq(S_SNAN, S_ONE); s32(0, NV, "feq sNaN");
  fpu.f32Lt(S_QNAN, S_ONE); s32(0, NV, "flt qNaN signals");
  fpu.f32Le(S_ONE, S_QNAN); s32(0, NV, "fle qNaN signals");
  fpu.f32Eq(0, S_NZERO); s32(1, 0, "+0 == -0");
  fpu.f32Lt(S_NZERO, 0); s32(0, 0, "-0 < +0 is false");
  fpu.f32Le(S_NZERO, 0); s32(1, 0, "-0 <= +0");
  fpu.f64Lt(D_ONE[0], D_ONE[1], D_TWO[0], D_TWO[1]); s32(1, 0, "1 < 2");
  fpu.f64Eq(D_QNAN[0], D_QNAN[1], D_QNAN[0], D_QNAN[1]); s32(0, 0, "feq.d qNaN");
  fpu.f64Le(D_SNAN[0], D_SNAN[1], D_ONE[0], D_ONE[1]); s32(0, NV, "fle.d sNaN");

  const classes32: [number, number][] = [
    [S_NINF, 0], [0xbf800000 | 0, 1], [0x80000001 | 0, 2], [S_NZERO, 3], [0, 4], [1, 5],
    [S_ONE, 6], [S_INF, 7], [S_SNAN, 8], [S_QNAN, 9],
  ];
  for (const [v, bit] of classes32) { fpu.f32Class(v); s32(1 << bit, 0, `fclass.s ${h32(v)}`); }
  const classes64: [P, number][] = [
    [D_NINF, 0], [[0, 0xbff00000 | 0], 1], [[1, 0x80000000 | 0], 2], [D_NZERO, 3], [D_ZERO, 4],
    [[0, 0x00080000], 5], [D_ONE, 6], [D_INF, 7], [D_SNAN, 8], [D_QNAN, 9],
  ];
  for (const [v, bit] of classes64) { fpu.f64Class(v[0], v[1]); s32(1 << bit, 0, `fclass.d ${h64(v[0], v[1])}`); }
});

test("conversions between formats", () => {
  fpu.f32ToF64(S_ONE); s64(D_ONE, 0, "1.0");
  fpu.f32ToF64(1); s64([0, 0x36a00000], 0, "min subnormal widens to a normal");
  fpu.f32ToF64(S_SNAN); s64(D_QNAN, NV, "sNaN");
  fpu.f32ToF64(0xffc00001 | 0); s64(D_QNAN, 0, "qNaN canonicalised");
  fpu.f64ToF32(D_ONE[0], D_ONE[1], RNE); s32(S_ONE, 0, "1.0");
  fpu.f64ToF32(0x55555555, 0x3fd55555, RNE); s32(0x3eaaaaab, NX, "1/3");
  fpu.f64ToF32(0x55555555, 0x3fd55555, RDN); s32(0x3eaaaaaa, NX, "1/3 RDN");
  fpu.f64ToF32(D_MAX[0], D_MAX[1], RNE); s32(S_INF, OF | NX, "huge");
  fpu.f64ToF32(D_MAX[0], D_MAX[1], RTZ); s32(S_MAX, OF | NX, "huge RTZ");
  fpu.f64ToF32(1, 0, RUP); s32(1, UF | NX, "tiny RUP");
  fpu.f64ToF32(1, 0, RNE); s32(0, UF | NX, "tiny RNE");
  fpu.f64ToF32(D_SNAN[0], D_SNAN[1], RNE); s32(S_QNAN, NV, "sNaN");
  fpu.f64ToF32(D_NINF[0], D_NINF[1], RNE); s32(S_NINF, 0, "-inf");
  // 2^-126 * (1 - 2^-25) = 2^-126 - 2^-151 rounds to 2^-126 on the subnormal
  // grid, and with 24 bits it is a tie that also goes up to 2^-126: not tiny.
  fpu.f64ToF32(0xf0000000 | 0, 0x380fffff, RNE);
  s32(S_MIN_NORMAL, NX, "just below min normal, not tiny after rounding");
});

test("float to integer", () => {
  const x32 = (v: number): [number, number] => [v | 0, (v | 0) >> 31];
  const F = (v: number): number => { const b = new Float32Array([v]); return new Int32Array(b.buffer)[0]; };
  const Dv = (v: number): P => { const b = new Float64Array([v]); const i = new Int32Array(b.buffer); return [i[0], i[1]]; };
  fpu.f32ToU32(F(-0.3), RNE); int64(...x32(0), NX, "-0.3 -> wu: 0, NX only");
  fpu.f32ToU32(F(-0.7), RNE); int64(...x32(0), NV, "-0.7 -> wu: rounds to -1, invalid");
  fpu.f32ToU32(F(-0.7), RTZ); int64(...x32(0), NX, "-0.7 -> wu RTZ: 0");
  fpu.f32ToU32(F(-1), RNE); int64(...x32(0), NV, "-1 -> wu");
  fpu.f32ToU32(F(3e9), RNE); int64(...x32(3000000000), 0, "3e9 -> wu, sign-extended");
  fpu.f32ToI32(F(2.5), RNE); int64(...x32(2), NX, "2.5 RNE");
  fpu.f32ToI32(F(2.5), RMM); int64(...x32(3), NX, "2.5 RMM");
  fpu.f32ToI32(F(-2.5), RMM); int64(...x32(-3), NX, "-2.5 RMM");
  fpu.f32ToI32(F(-2.5), RDN); int64(...x32(-3), NX, "-2.5 RDN");
  fpu.f32ToI32(F(-2.5), RUP); int64(...x32(-2), NX, "-2.5 RUP");
  fpu.f32ToI32(F(3.5), RNE); int64(...x32(4), NX, "3.5 RNE");
  fpu.f32ToI32(F(2 ** 31), RNE); int64(...x32(0x7fffffff), NV, "2^31 saturates");
  fpu.f32ToI32(F(-(2 ** 31)), RNE); int64(...x32(-0x80000000), 0, "-2^31 fits");
  fpu.f32ToI32(S_QNAN, RNE); int64(...x32(0x7fffffff), NV, "NaN -> max");
  fpu.f32ToI32(S_NINF, RNE); int64(...x32(-0x80000000), NV, "-inf -> min");
  fpu.f32ToU32(S_QNAN, RNE); int64(-1, -1, NV, "NaN -> wu max (sign-extended)");
  fpu.f64ToI32(...Dv(-2147483648.5), RNE); int64(...x32(-0x80000000), NX, "-2^31 - 0.5 RNE ties to even");
  fpu.f64ToI32(...Dv(-2147483648.5), RDN); int64(...x32(-0x80000000), NV, "-2^31 - 0.5 RDN invalid");
  fpu.f64ToI32(...Dv(2147483647.5), RTZ); int64(...x32(0x7fffffff), NX, "2^31 - 0.5 RTZ");
  fpu.f64ToI64(...Dv(2 ** 63), RNE); int64(-1, 0x7fffffff, NV, "2^63 saturates");
  fpu.f64ToI64(...Dv(-(2 ** 63)), RNE); int64(0, -0x80000000, 0, "-2^63 fits");
  fpu.f64ToI64(...Dv(-1.5), RNE); int64(-2, -1, NX, "-1.5 RNE");
  fpu.f64ToU64(...Dv(2 ** 64), RNE); int64(-1, -1, NV, "2^64 saturates");
  fpu.f64ToU64(...Dv(2 ** 63 + 2 ** 11), RNE); int64(2048, -0x80000000, 0, "2^63 + 2^11");
  fpu.f64ToU64(...D_QNAN, RNE); int64(-1, -1, NV, "NaN -> lu max");
  fpu.f64ToU64(...D_NINF, RNE); int64(0, 0, NV, "-inf -> lu 0");
  fpu.f64ToU64(...D_NZERO, RNE); int64(0, 0, 0, "-0 -> 0");
  fpu.f32ToI64(F(-(2 ** 40) - 0.5), RNE); int64(0, -256, 0, "-2^40");
});

test("integer to float", () => {
  fpu.i32ToF32(16777217, RNE); s32(0x4b800000, NX, "2^24 + 1 ties to even");
  fpu.i32ToF32(16777217, RUP); s32(0x4b800001, NX, "2^24 + 1 up");
  fpu.i32ToF32(16777219, RNE); s32(0x4b800002, NX, "2^24 + 3 ties to even (up)");
  fpu.i32ToF32(-16777217, RMM); s32(0xcb800001 | 0, NX, "-(2^24 + 1) away");
  fpu.u32ToF32(-1, RNE); s32(0x4f800000, NX, "2^32 - 1");
  fpu.u32ToF32(-1, RTZ); s32(0x4f7fffff, NX, "2^32 - 1 RTZ");
  fpu.i32ToF64(-5, RNE); s64([0, 0xc0140000 | 0], 0, "-5");
  fpu.u32ToF64(-1, RNE); s64([0xffe00000 | 0, 0x41efffff], 0, "2^32 - 1");
  // 2^60 + 2^36 + 1: the double nearest is a binary32 midpoint; the exact
  // value is above it, so binary32 RNE rounds up.
  fpu.i64ToF32(1, 0x10000010, RNE); s32(0x5d800001, NX, "no double rounding");
  fpu.i64ToF64(-1, 0x7fffffff, RNE); s64([0, 0x43e00000], NX, "2^63 - 1");
  fpu.i64ToF64(-1, 0x7fffffff, RTZ); s64([-1, 0x43dfffff], NX, "2^63 - 1 RTZ: 2^63 - 1024");
  fpu.u64ToF64(-1, -1, RNE); s64([0, 0x43f00000], NX, "2^64 - 1");
  fpu.i64ToF64(0, -0x80000000, RNE); s64([0, 0xc3e00000 | 0], 0, "-2^63");
  fpu.u64ToF32(-1, -1, RDN); s32(0x5f7fffff, NX, "2^64 - 1 RDN");
  fpu.i64ToF32(-1, -1, RNE); s32(0xbf800000 | 0, 0, "-1");
});

// ------------------------------------------------ fast paths vs reference

type Out = [number, number, number];

function snapshot(wide: boolean): Out {
  return [r[0], wide ? r[1] : 0, r[2]];
}

function same(a: Out, b: Out): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}

const lo = (x: bigint): number => Number(x & 0xffffffffn) | 0;
const hi = (x: bigint): number => Number((x >> 32n) & 0xffffffffn) | 0;

/** Random finite operand of the format, biased to hard cases. */
function finite(f: typeof S, rng: Rng, sp: readonly bigint[]): bigint {
  for (;;) {
    const v = rng.int(3) === 0 ? randAnyExp(f, rng) : randValue(f, rng, sp);
    if (isFinite(f, v)) return v;
  }
}

/** c close to -(a*b) so that the fma cancels heavily, or lands on ties. */
function fmaAddend(f: typeof S, rng: Rng, a: bigint, b: bigint, sp: readonly bigint[]): bigint {
  const da = decode(f, a), db = decode(f, b);
  const prod = da.m * db.m;
  const e = da.e + db.e;
  switch (rng.int(4)) {
    case 0: { // -(product truncated to p bits) +- a few units
      const n = prod.toString(2).length;
      const sh = Math.max(0, n - f.p);
      const t = (prod >> BigInt(sh)) + BigInt(rng.range(-2, 2));
      const v = encode(f, !(da.neg !== db.neg), t, e + sh);
      return v ?? finite(f, rng, sp);
    }
    case 1: { // sum lands on a (p+1)-bit odd value: a tie
      const n = prod.toString(2).length;
      const target = oddBits(rng, f.p + 1) << BigInt(Math.max(0, n - f.p - 1));
      const v = encode(f, rng.bool(), target - prod, e);
      return v ?? finite(f, rng, sp);
    }
    default:
      return finite(f, rng, sp);
  }
}

test("fast paths agree with the exact reference (random, all modes)", () => {
  const seedText = process.env.TSEMU_FPU_SEED;
  const rng = new Rng(seedText !== undefined && seedText !== "" ? Number(seedText) : 0x1234567);
  const countText = process.env.TSEMU_FPU_REF_CASES;
  const N = countText !== undefined && countText !== "" ? Number(countText) : 30000;
  const sp32 = specials(S), sp64 = specials(D);
  let checked = 0;
  const fail = (what: string, ins: bigint[], want: Out, got: Out): never =>
    assert.fail(`${what}: ${ins.map((v) => "0x" + v.toString(16)).join(" ")} ` +
      `reference ${h64(want[0], want[1])} ${flagText(want[2])}, fast ${h64(got[0], got[1])} ${flagText(got[2])}`);
  for (let i = 0; i < N; i++) {
    const rm = i % 5;
    // binary64
    const a = finite(D, rng, sp64), b = finite(D, rng, sp64);
    const c = fmaAddend(D, rng, a, b, sp64);
    const ops64: [string, () => void, () => void, bigint[]][] = [
      ["f64Add", () => fpu.f64Add(lo(a), hi(a), lo(b), hi(b), rm), () => exactAdd(a, b, rm, BINARY64), [a, b]],
      ["f64Mul", () => fpu.f64Mul(lo(a), hi(a), lo(b), hi(b), rm), () => exactMul(a, b, rm, BINARY64), [a, b]],
      ["f64MulAdd", () => fpu.f64MulAdd(lo(a), hi(a), lo(b), hi(b), lo(c), hi(c), rm, false, false),
        () => exactFma(a, b, c, rm, BINARY64), [a, b, c]],
    ];
    if ((b & ~signBit(D)) !== 0n) {
      ops64.push(["f64Div", () => fpu.f64Div(lo(a), hi(a), lo(b), hi(b), rm), () => exactDiv(a, b, rm, BINARY64), [a, b]]);
    }
    const aa = a & ~signBit(D);
    if (aa !== 0n) {
      ops64.push(["f64Sqrt", () => fpu.f64Sqrt(lo(aa), hi(aa), rm), () => exactSqrt(aa, rm, BINARY64), [aa]]);
    }
    for (const [name, fast, ref, ins] of ops64) {
      fast();
      const got = snapshot(true);
      ref();
      const want = snapshot(true);
      if (!same(got, want)) fail(`${name} rm=${rm}`, ins, want, got);
      checked++;
    }
    // binary32
    const x = finite(S, rng, sp32), y = finite(S, rng, sp32);
    const z = fmaAddend(S, rng, x, y, sp32);
    const X = Number(x) | 0, Y = Number(y) | 0, Z = Number(z) | 0;
    const ops32: [string, () => void, () => void, bigint[]][] = [
      ["f32Add", () => fpu.f32Add(X, Y, rm), () => exactAdd(bits32(X), bits32(Y), rm, BINARY32), [x, y]],
      ["f32Mul", () => fpu.f32Mul(X, Y, rm), () => exactMul(bits32(X), bits32(Y), rm, BINARY32), [x, y]],
      ["f32MulAdd", () => fpu.f32MulAdd(X, Y, Z, rm, false, false),
        () => exactFma(bits32(X), bits32(Y), bits32(Z), rm, BINARY32), [x, y, z]],
    ];
    if ((Y & 0x7fffffff) !== 0) {
      ops32.push(["f32Div", () => fpu.f32Div(X, Y, rm), () => exactDiv(bits32(X), bits32(Y), rm, BINARY32), [x, y]]);
    }
    if ((X & 0x7fffffff) !== 0) {
      const XA = X & 0x7fffffff;
      ops32.push(["f32Sqrt", () => fpu.f32Sqrt(XA, rm), () => exactSqrt(bits32(XA), rm, BINARY32), [BigInt(XA)]]);
    }
    for (const [name, fast, ref, ins] of ops32) {
      fast();
      const got = snapshot(false);
      ref();
      const want = snapshot(false);
      if (!same(got, want)) fail(`${name} rm=${rm}`, ins, want, got);
      checked++;
    }
    // binary64 -> binary32
    fpu.f64ToF32(lo(a), hi(a), rm);
    const got = snapshot(false);
    refF64ToF32(a, rm);
    const want = snapshot(false);
    if (!same(got, want)) fail(`f64ToF32 rm=${rm}`, [a], want, got);
    checked++;
  }
  assert.ok(checked > N * 10);
});

/** binary64 -> binary32 through the reference: round the decoded value. */
function refF64ToF32(a: bigint, rm: number): void {
  const d = decode(D, a);
  if (d.m === 0n) { r[0] = d.neg ? 0x80000000 | 0 : 0; r[2] = 0; return; }
  roundPack(d.neg, d.m, d.e, false, rm, BINARY32);
}
