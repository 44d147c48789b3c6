/**
 * Oracle test for the soft-float unit: a riscv64 program (fpu-oracle/oracle.c)
 * executes the real F/D instructions with static rounding modes under
 * qemu-riscv64 and reports result bits and fflags; every record must match
 * the TypeScript implementation bit for bit, flags included.
 *
 * One seeded batch of records (every op, every rounding mode, a mix of
 * random bits, special values and constructed hard cases) is run in a single
 * qemu process.  Some records preset fflags.NX before the instruction, which
 * puts QEMU on its host-FPU fast paths; flags then accumulate.
 *
 * Environment: TSEMU_FPU_SEED (default 0x0f0a11ce), TSEMU_FPU_CASES (operand
 * sets per op and rounding mode, default 10000), TSEMU_FPU_STATS (print how
 * often each flag comes out per op and mode).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import * as fpu from "../../../src/target/riscv/fpu/index.js";
import {
  D, decode, encode, isFinite, oddBits, pack, randAnyExp, randExpField, randValue, Rng, S,
  signBit, specials, type Fmt,
} from "./fpu-oracle/gen.js";
import { envInt } from "../../util/env.js";

const SEED = envInt("TSEMU_FPU_SEED", 0x0f0a11ce);
const CASES = envInt("TSEMU_FPU_CASES", 10000);
const IN_SIZE = 32;
const OUT_SIZE = 16;
const MAX_REPORTED = 25;

// ------------------------------------------------------------------ ops

const fr = fpu.fpr;
const lo = (x: bigint): number => Number(x & 0xffffffffn) | 0;
const hi = (x: bigint): number => Number((x >> 32n) & 0xffffffffn) | 0;

type Run = (a: bigint, b: bigint, c: bigint, rm: number) => void;
/** Operand kinds: S binary32, D binary64, I integer. */
type Kind = "S" | "D" | "I";
/** Result shape: S binary32 bits, D binary64 bits / 64-bit integer, B 0/1 or class bits. */
type Res = "S" | "D" | "B";
/** Operand generator family. */
type Gen = "add" | "mul" | "div" | "sqrt" | "fma" | "cmp" | "class" | "f2f" | "f2i" | "i2f";

interface OpDef {
  readonly name: string;
  readonly rm: boolean;
  readonly kind: Kind;
  readonly gen: Gen;
  readonly res: Res;
  readonly run: Run;
  /** For f2i: the target integer range; for i2f: operand width. */
  readonly bits?: number;
  readonly signed?: boolean;
}

const s = (x: bigint): number => Number(x & 0xffffffffn) | 0;

// Order = op numbering in oracle.c.
const OPS: readonly OpDef[] = [
  { name: "fadd.s", rm: true, kind: "S", gen: "add", res: "S", run: (a, b, _c, rm) => fpu.f32Add(s(a), s(b), rm) },
  { name: "fsub.s", rm: true, kind: "S", gen: "add", res: "S", run: (a, b, _c, rm) => fpu.f32Sub(s(a), s(b), rm) },
  { name: "fmul.s", rm: true, kind: "S", gen: "mul", res: "S", run: (a, b, _c, rm) => fpu.f32Mul(s(a), s(b), rm) },
  { name: "fdiv.s", rm: true, kind: "S", gen: "div", res: "S", run: (a, b, _c, rm) => fpu.f32Div(s(a), s(b), rm) },
  { name: "fsqrt.s", rm: true, kind: "S", gen: "sqrt", res: "S", run: (a, _b, _c, rm) => fpu.f32Sqrt(s(a), rm) },
  { name: "fmadd.s", rm: true, kind: "S", gen: "fma", res: "S", run: (a, b, c, rm) => fpu.f32MulAdd(s(a), s(b), s(c), rm, false, false) },
  { name: "fmsub.s", rm: true, kind: "S", gen: "fma", res: "S", run: (a, b, c, rm) => fpu.f32MulAdd(s(a), s(b), s(c), rm, false, true) },
  { name: "fnmsub.s", rm: true, kind: "S", gen: "fma", res: "S", run: (a, b, c, rm) => fpu.f32MulAdd(s(a), s(b), s(c), rm, true, false) },
  { name: "fnmadd.s", rm: true, kind: "S", gen: "fma", res: "S", run: (a, b, c, rm) => fpu.f32MulAdd(s(a), s(b), s(c), rm, true, true) },
  { name: "fmin.s", rm: false, kind: "S", gen: "cmp", res: "S", run: (a, b) => fpu.f32Min(s(a), s(b)) },
  { name: "fmax.s", rm: false, kind: "S", gen: "cmp", res: "S", run: (a, b) => fpu.f32Max(s(a), s(b)) },
  { name: "feq.s", rm: false, kind: "S", gen: "cmp", res: "B", run: (a, b) => fpu.f32Eq(s(a), s(b)) },
  { name: "flt.s", rm: false, kind: "S", gen: "cmp", res: "B", run: (a, b) => fpu.f32Lt(s(a), s(b)) },
  { name: "fle.s", rm: false, kind: "S", gen: "cmp", res: "B", run: (a, b) => fpu.f32Le(s(a), s(b)) },
  { name: "fclass.s", rm: false, kind: "S", gen: "class", res: "B", run: (a) => fpu.f32Class(s(a)) },
  { name: "fadd.d", rm: true, kind: "D", gen: "add", res: "D", run: (a, b, _c, rm) => fpu.f64Add(lo(a), hi(a), lo(b), hi(b), rm) },
  { name: "fsub.d", rm: true, kind: "D", gen: "add", res: "D", run: (a, b, _c, rm) => fpu.f64Sub(lo(a), hi(a), lo(b), hi(b), rm) },
  { name: "fmul.d", rm: true, kind: "D", gen: "mul", res: "D", run: (a, b, _c, rm) => fpu.f64Mul(lo(a), hi(a), lo(b), hi(b), rm) },
  { name: "fdiv.d", rm: true, kind: "D", gen: "div", res: "D", run: (a, b, _c, rm) => fpu.f64Div(lo(a), hi(a), lo(b), hi(b), rm) },
  { name: "fsqrt.d", rm: true, kind: "D", gen: "sqrt", res: "D", run: (a, _b, _c, rm) => fpu.f64Sqrt(lo(a), hi(a), rm) },
  { name: "fmadd.d", rm: true, kind: "D", gen: "fma", res: "D", run: (a, b, c, rm) => fpu.f64MulAdd(lo(a), hi(a), lo(b), hi(b), lo(c), hi(c), rm, false, false) },
  { name: "fmsub.d", rm: true, kind: "D", gen: "fma", res: "D", run: (a, b, c, rm) => fpu.f64MulAdd(lo(a), hi(a), lo(b), hi(b), lo(c), hi(c), rm, false, true) },
  { name: "fnmsub.d", rm: true, kind: "D", gen: "fma", res: "D", run: (a, b, c, rm) => fpu.f64MulAdd(lo(a), hi(a), lo(b), hi(b), lo(c), hi(c), rm, true, false) },
  { name: "fnmadd.d", rm: true, kind: "D", gen: "fma", res: "D", run: (a, b, c, rm) => fpu.f64MulAdd(lo(a), hi(a), lo(b), hi(b), lo(c), hi(c), rm, true, true) },
  { name: "fmin.d", rm: false, kind: "D", gen: "cmp", res: "D", run: (a, b) => fpu.f64Min(lo(a), hi(a), lo(b), hi(b)) },
  { name: "fmax.d", rm: false, kind: "D", gen: "cmp", res: "D", run: (a, b) => fpu.f64Max(lo(a), hi(a), lo(b), hi(b)) },
  { name: "feq.d", rm: false, kind: "D", gen: "cmp", res: "B", run: (a, b) => fpu.f64Eq(lo(a), hi(a), lo(b), hi(b)) },
  { name: "flt.d", rm: false, kind: "D", gen: "cmp", res: "B", run: (a, b) => fpu.f64Lt(lo(a), hi(a), lo(b), hi(b)) },
  { name: "fle.d", rm: false, kind: "D", gen: "cmp", res: "B", run: (a, b) => fpu.f64Le(lo(a), hi(a), lo(b), hi(b)) },
  { name: "fclass.d", rm: false, kind: "D", gen: "class", res: "B", run: (a) => fpu.f64Class(lo(a), hi(a)) },
  { name: "fcvt.d.s", rm: false, kind: "S", gen: "f2f", res: "D", run: (a) => fpu.f32ToF64(s(a)) },
  { name: "fcvt.s.d", rm: true, kind: "D", gen: "f2f", res: "S", run: (a, _b, _c, rm) => fpu.f64ToF32(lo(a), hi(a), rm) },
  { name: "fcvt.w.s", rm: true, kind: "S", gen: "f2i", res: "D", bits: 32, signed: true, run: (a, _b, _c, rm) => fpu.f32ToI32(s(a), rm) },
  { name: "fcvt.wu.s", rm: true, kind: "S", gen: "f2i", res: "D", bits: 32, signed: false, run: (a, _b, _c, rm) => fpu.f32ToU32(s(a), rm) },
  { name: "fcvt.l.s", rm: true, kind: "S", gen: "f2i", res: "D", bits: 64, signed: true, run: (a, _b, _c, rm) => fpu.f32ToI64(s(a), rm) },
  { name: "fcvt.lu.s", rm: true, kind: "S", gen: "f2i", res: "D", bits: 64, signed: false, run: (a, _b, _c, rm) => fpu.f32ToU64(s(a), rm) },
  { name: "fcvt.w.d", rm: true, kind: "D", gen: "f2i", res: "D", bits: 32, signed: true, run: (a, _b, _c, rm) => fpu.f64ToI32(lo(a), hi(a), rm) },
  { name: "fcvt.wu.d", rm: true, kind: "D", gen: "f2i", res: "D", bits: 32, signed: false, run: (a, _b, _c, rm) => fpu.f64ToU32(lo(a), hi(a), rm) },
  { name: "fcvt.l.d", rm: true, kind: "D", gen: "f2i", res: "D", bits: 64, signed: true, run: (a, _b, _c, rm) => fpu.f64ToI64(lo(a), hi(a), rm) },
  { name: "fcvt.lu.d", rm: true, kind: "D", gen: "f2i", res: "D", bits: 64, signed: false, run: (a, _b, _c, rm) => fpu.f64ToU64(lo(a), hi(a), rm) },
  { name: "fcvt.s.w", rm: true, kind: "I", gen: "i2f", res: "S", bits: 32, signed: true, run: (a, _b, _c, rm) => fpu.i32ToF32(lo(a), rm) },
  { name: "fcvt.s.wu", rm: true, kind: "I", gen: "i2f", res: "S", bits: 32, signed: false, run: (a, _b, _c, rm) => fpu.u32ToF32(lo(a), rm) },
  { name: "fcvt.s.l", rm: true, kind: "I", gen: "i2f", res: "S", bits: 64, signed: true, run: (a, _b, _c, rm) => fpu.i64ToF32(lo(a), hi(a), rm) },
  { name: "fcvt.s.lu", rm: true, kind: "I", gen: "i2f", res: "S", bits: 64, signed: false, run: (a, _b, _c, rm) => fpu.u64ToF32(lo(a), hi(a), rm) },
  { name: "fcvt.d.w", rm: false, kind: "I", gen: "i2f", res: "D", bits: 32, signed: true, run: (a) => fpu.i32ToF64(lo(a), 0) },
  { name: "fcvt.d.wu", rm: false, kind: "I", gen: "i2f", res: "D", bits: 32, signed: false, run: (a) => fpu.u32ToF64(lo(a), 0) },
  { name: "fcvt.d.l", rm: true, kind: "I", gen: "i2f", res: "D", bits: 64, signed: true, run: (a, _b, _c, rm) => fpu.i64ToF64(lo(a), hi(a), rm) },
  { name: "fcvt.d.lu", rm: true, kind: "I", gen: "i2f", res: "D", bits: 64, signed: false, run: (a, _b, _c, rm) => fpu.u64ToF64(lo(a), hi(a), rm) },
];

// ----------------------------------------------------------- generators

const SP_S = specials(S);
const SP_D = specials(D);
const M64 = (1n << 64n) - 1n;

function sp(f: Fmt): readonly bigint[] {
  return f === S ? SP_S : SP_D;
}

function neg(f: Fmt, x: bigint): bigint {
  return x ^ signBit(f);
}

/** Exactly representable (-1)^n * m * 2^e, else a random value. */
function enc(f: Fmt, r: Rng, n: boolean, m: bigint, e: number): bigint {
  const v = encode(f, n, m, e);
  return v === null ? randValue(f, r, sp(f)) : v;
}

/** A finite value's exponent of its last significand bit. */
function lsbExp(f: Fmt, x: bigint): number {
  return decode(f, x).e;
}

function genAdd(f: Fmt, r: Rng): [bigint, bigint] {
  const a = randValue(f, r, sp(f));
  switch (r.int(8)) {
    case 0: case 1: case 2:
      return [a, randValue(f, r, sp(f))];
    case 3: { // nearby magnitude, either sign: cancellation
      if (!isFinite(f, a)) return [a, randValue(f, r, sp(f))];
      const flip = r.bits(r.range(1, f.p + 2));
      let b = a ^ flip;
      if (r.bool()) b = neg(f, b);
      return [a, b];
    }
    case 4: { // b an odd multiple of half an ulp of a (ties), or near it
      if (!isFinite(f, a)) return [a, a];
      const k = BigInt(2 * r.range(0, 6) + 1);
      const e = lsbExp(f, a) - 1 - r.range(0, 2);
      return [a, enc(f, r, r.bool(), k, e)];
    }
    case 5: { // exponent gap around the precision
      const ea = r.range(1, (1 << f.ebits) - 2);
      const gap = r.range(f.p - 4, f.p + 4);
      return [randExpField(f, r, ea), randExpField(f, r, ea - gap)];
    }
    case 6: { // near overflow, same sign
      const top = (1 << f.ebits) - 2;
      const x = pack(f, false, top - r.range(0, 1), r.bits(f.p - 1));
      const y = pack(f, false, top - r.range(0, f.p + 2), r.bits(f.p - 1));
      const sgn = r.bool();
      return [sgn ? neg(f, x) : x, sgn ? neg(f, y) : y];
    }
    default: { // tiny values
      return [randExpField(f, r, r.range(0, 3)), randExpField(f, r, r.range(0, 3))];
    }
  }
}

function genMul(f: Fmt, r: Rng): [bigint, bigint] {
  switch (r.int(6)) {
    case 0: case 1:
      return [randValue(f, r, sp(f)), randValue(f, r, sp(f))];
    case 2: case 3: { // exact product of p+1 or p+2 bits with an odd end: ties
      const n1 = r.range(1, f.p);
      const n2 = Math.min(f.p, Math.max(1, f.p + r.range(1, 2) - n1));
      const target = r.int(3) === 0 ? r.range(f.emin - f.p - 2, f.emin + 2) :
        r.int(2) === 0 ? r.range(f.emax - 2, f.emax) : r.range(-20, 20);
      const e1 = r.range(-f.p, f.p);
      return [enc(f, r, r.bool(), oddBits(r, n1), e1 - n1 + 1),
        enc(f, r, r.bool(), oddBits(r, n2), target - e1 - n2 + 1)];
    }
    case 4: { // exponent sum near the subnormal range
      const t = f.emin + r.range(-f.p - 3, 3);
      const ea = r.range(1, (1 << f.ebits) - 2);
      return [randExpField(f, r, ea), randExpField(f, r, t - ea + 2 * f.bias)];
    }
    default: { // exponent sum near overflow
      const ea = r.range(f.bias, (1 << f.ebits) - 2);
      return [randExpField(f, r, ea), randExpField(f, r, f.emax + r.range(-1, 1) - ea + 2 * f.bias)];
    }
  }
}

function genDiv(f: Fmt, r: Rng): [bigint, bigint] {
  switch (r.int(6)) {
    case 0: case 1:
      return [randValue(f, r, sp(f)), randValue(f, r, sp(f))];
    case 2: { // exact quotients
      const q = oddBits(r, r.range(1, f.p));
      const b = oddBits(r, r.range(1, f.p - 1));
      return [enc(f, r, r.bool(), q * b, r.range(-30, 30)), enc(f, r, r.bool(), b, r.range(-30, 30))];
    }
    case 3: { // subnormal quotients, including exact ties
      const a = pack(f, r.bool(), r.range(0, 2), r.bits(r.range(1, f.p - 1)));
      return [a, enc(f, r, r.bool(), 1n, r.range(1, f.p + 2))];
    }
    case 4: { // quotient near overflow or underflow
      const big = r.bool();
      const ea = big ? r.range((1 << f.ebits) - 5, (1 << f.ebits) - 2) : r.range(1, 5);
      const eb = big ? r.range(f.bias - 3, f.bias + 1) : r.range(f.bias - 1, f.bias + f.p + 2);
      return [randExpField(f, r, ea), randExpField(f, r, eb)];
    }
    default:
      return [randAnyExp(f, r), randAnyExp(f, r)];
  }
}

function genSqrt(f: Fmt, r: Rng): bigint {
  switch (r.int(5)) {
    case 0: return randValue(f, r, sp(f));
    case 1: { // perfect squares
      const m = oddBits(r, r.range(1, (f.p + 1) >> 1));
      return enc(f, r, false, m * m, 2 * r.range(-60, 60));
    }
    case 2: return pack(f, false, r.range(0, 2), r.bits(f.p - 1));
    default: return pack(f, false, r.range(1, (1 << f.ebits) - 2), r.bits(f.p - 1));
  }
}

/** Round-to-nearest product of two finite values as bits (via the TS mul, checked elsewhere). */
function product(f: Fmt, a: bigint, b: bigint): bigint {
  if (f === S) {
    fpu.f32Mul(s(a), s(b), 0);
    return BigInt(fr[0] >>> 0);
  }
  fpu.f64Mul(lo(a), hi(a), lo(b), hi(b), 0);
  return (BigInt(fr[1] >>> 0) << 32n) | BigInt(fr[0] >>> 0);
}

function genFma(f: Fmt, r: Rng): [bigint, bigint, bigint] {
  switch (r.int(9)) {
    case 0: case 1:
      return [randValue(f, r, sp(f)), randValue(f, r, sp(f)), randValue(f, r, sp(f))];
    case 2: { // c cancels the rounded product: the result is the product's rounding error
      const a = randAnyExp(f, r), b = randExpField(f, r, f.bias + r.range(-20, 20));
      let c = neg(f, product(f, a, b));
      if (r.bool() && isFinite(f, c)) c ^= BigInt(r.range(1, 3));
      return [a, b, c];
    }
    case 3: case 4: { // exact sum on a midpoint (ties), or one bit off
      const n1 = r.range(2, f.p);
      const n2 = r.range(2, f.p);
      const m1 = oddBits(r, n1), m2 = oddBits(r, n2);
      const scale = r.int(4) === 0 ? r.range(f.emin - f.p, f.emin) : r.range(-40, 40);
      const e1 = r.range(-10, 10);
      const t = oddBits(r, f.p + 1) << BigInt(r.range(0, f.p));
      let cm = t - m1 * m2;
      if (r.int(4) === 0) cm += BigInt(r.range(-2, 2));
      return [enc(f, r, false, m1, e1), enc(f, r, r.bool(), m2, scale - e1), enc(f, r, r.bool(), cm, scale)];
    }
    case 5: { // product near underflow, small addend
      const ea = r.range(1, (1 << f.ebits) - 2);
      const t = f.emin + r.range(-f.p - 3, 3);
      return [randExpField(f, r, ea), randExpField(f, r, t - ea + 2 * f.bias),
        r.bool() ? randExpField(f, r, r.range(0, 3)) : r.pick([0n, signBit(f)])];
    }
    case 6: { // product near overflow
      const ea = r.range(f.bias, (1 << f.ebits) - 2);
      const top = (1 << f.ebits) - 2;
      return [randExpField(f, r, ea), randExpField(f, r, f.emax + r.range(-1, 1) - ea + 2 * f.bias),
        randExpField(f, r, top - r.range(0, 3))];
    }
    case 7: { // zero operands and signs
      const z = (): bigint => r.pick([0n, signBit(f)]);
      return [r.bool() ? z() : randValue(f, r, sp(f)), r.bool() ? z() : randValue(f, r, sp(f)), z()];
    }
    default: { // wide exponent spread
      return [randAnyExp(f, r), randAnyExp(f, r), randAnyExp(f, r)];
    }
  }
}

function genCmp(f: Fmt, r: Rng): [bigint, bigint] {
  const a = randValue(f, r, sp(f));
  switch (r.int(4)) {
    case 0: return [a, a];
    case 1: return [a, neg(f, a)];
    case 2: return [a, isFinite(f, a) ? a ^ BigInt(r.range(1, 3)) : a];
    default: return [a, randValue(f, r, sp(f))];
  }
}

function genF2F(f: Fmt, r: Rng): bigint {
  if (f === S || r.int(3) === 0) return randValue(f, r, sp(f));
  // binary64 values around binary32 rounding boundaries and range limits.
  const e = r.int(3) === 0 ? r.range(-150, -120) : r.int(2) === 0 ? r.range(124, 130) : r.range(-30, 30);
  const m = oddBits(r, 24) << 1n | 1n; // 25 bits, odd: a binary32 midpoint
  const off = BigInt(r.range(-2, 2));
  const shift = BigInt(r.range(0, 28));
  return enc(D, r, r.bool(), ((m << shift) + off), e - 24 - Number(shift));
}

function genF2I(f: Fmt, r: Rng, bits: number, signed: boolean): bigint {
  if (r.int(4) === 0) return randValue(f, r, sp(f));
  // k + d/4 near interesting integers k.
  let k: bigint;
  switch (r.int(6)) {
    case 0: k = BigInt(r.range(-4, 4)); break;
    case 1: k = BigInt(r.range(-1000, 1000)); break;
    case 2: k = (1n << BigInt(bits - (signed ? 1 : 0))) + BigInt(r.range(-3, 3)); break;
    case 3: k = -(1n << BigInt(bits - 1)) + BigInt(r.range(-3, 3)); break;
    case 4: k = (1n << BigInt(r.range(0, 66))) * (r.bool() ? 1n : -1n); break;
    default: k = r.bits(r.range(1, 64)) * (r.bool() ? 1n : -1n); break;
  }
  const d = BigInt(r.range(-3, 3));
  const frac = r.int(3) === 0 ? BigInt(r.range(-1, 1)) : 0n; // sub-quarter offsets
  const v = encode(f, false, (k * 4n + d) * 8n + frac, -5);
  if (v !== null) return v;
  // Not representable: the nearest value with the top p bits kept.
  const mag = k < 0n ? -k : k;
  const n = mag.toString(2).length;
  const kept = n > f.p ? (mag >> BigInt(n - f.p)) : mag;
  return enc(f, r, k < 0n, kept, n > f.p ? n - f.p : 0);
}

function genI2F(r: Rng, bits: number, p: number): bigint {
  switch (r.int(5)) {
    case 0: return r.bits(64);
    case 1: return r.bits(r.range(0, bits)) & M64;
    case 2: { // p+1 significant bits with an odd end: ties; or one off
      const n = Math.min(bits, r.range(p + 1, p + 3));
      const v = oddBits(r, n) + BigInt(r.range(-1, 1));
      return (v << BigInt(r.range(0, bits - n))) & M64;
    }
    case 3: return (-(r.bits(r.range(0, bits - 1))) & M64); // negative
    default: return (BigInt(r.range(-5, 5)) & M64) | (r.bool() ? 0n : r.bits(32) << 32n);
  }
}

/** Operands for one record. */
function operands(op: OpDef, r: Rng): [bigint, bigint, bigint] {
  const f = op.kind === "S" ? S : D;
  switch (op.gen) {
    case "add": { const [a, b] = genAdd(f, r); return [a, b, 0n]; }
    case "mul": { const [a, b] = genMul(f, r); return [a, b, 0n]; }
    case "div": { const [a, b] = genDiv(f, r); return [a, b, 0n]; }
    case "sqrt": return [genSqrt(f, r), 0n, 0n];
    case "fma": return genFma(f, r);
    case "cmp": { const [a, b] = genCmp(f, r); return [a, b, 0n]; }
    case "class": return [randValue(f, r, sp(f)), 0n, 0n];
    case "f2f": return [genF2F(f, r), 0n, 0n];
    case "f2i": return [genF2I(f, r, op.bits ?? 64, op.signed ?? true), 0n, 0n];
    case "i2f": return [genI2F(r, op.bits ?? 64, op.res === "S" ? 24 : 53), 0n, 0n];
  }
}

// -------------------------------------------------------------- plumbing

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "test", "target", "riscv", "fpu-oracle", "oracle.c"))) return dir;
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

function requireTool(name: string): void {
  const probe = spawnSync(name, ["--version"], { encoding: "utf8" });
  if (probe.error !== undefined) {
    assert.fail(`${name} is required for the FPU oracle test but could not be run (${probe.error.message}); ` +
      "install qemu-user and gcc-riscv64-linux-gnu (scripts/deps.sh user)");
  }
}

/** Build the oracle once per source hash. */
function oracleBinary(root: string): string {
  const src = join(root, "test", "target", "riscv", "fpu-oracle", "oracle.c");
  const text = readFileSync(src);
  const hash = createHash("sha256").update(text).digest("hex");
  const dir = join(root, ".cache", "fpu-oracle", hash);
  const bin = join(dir, "fpu-oracle");
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  const cc = spawnSync("riscv64-linux-gnu-gcc", ["-static", "-O2", "-o", tmp, src], { encoding: "utf8" });
  if (cc.status !== 0) assert.fail(`compiling ${src} failed:\n${cc.stderr}${cc.error?.message ?? ""}`);
  renameSync(tmp, bin);
  return bin;
}

const hex = (v: bigint, width: number): string => "0x" + v.toString(16).padStart(width / 4, "0");
const FLAG_NAMES = ["NX", "UF", "OF", "DZ", "NV"];
const flagText = (f: number): string =>
  FLAG_NAMES.filter((_, i) => (f >> i) & 1).join("|") || "-";

test("soft-float matches qemu-riscv64 bit for bit, flags included, in every rounding mode", (t) => {
  requireTool("qemu-riscv64");
  requireTool("riscv64-linux-gnu-gcc");
  const root = repoRoot();
  const bin = oracleBinary(root);

  // Generate the records straight into qemu's input.
  const r = new Rng(SEED);
  let count = 0;
  for (const op of OPS) count += (op.rm ? 5 : 1) * CASES;
  const input = Buffer.alloc(count * IN_SIZE);
  let o = 0;
  OPS.forEach((op, id) => {
    const modes = op.rm ? [0, 1, 2, 3, 4] : [0];
    for (const rm of modes) {
      for (let i = 0; i < CASES; i++) {
        const [a, b, c] = operands(op, r);
        input[o] = id;
        input[o + 1] = rm;
        input[o + 2] = r.int(4) === 0 ? 1 : 0; // preset NX: QEMU's host-FPU paths
        input.writeBigUInt64LE(a & M64, o + 8);
        input.writeBigUInt64LE(b & M64, o + 16);
        input.writeBigUInt64LE(c & M64, o + 24);
        o += IN_SIZE;
      }
    }
  });

  const t0 = Date.now();
  const run = spawnSync("qemu-riscv64", [bin], { input, maxBuffer: count * OUT_SIZE + 4096 });
  const qemuMs = Date.now() - t0;
  if (run.error !== undefined) assert.fail(`running qemu-riscv64 failed: ${run.error.message}`);
  assert.equal(run.status, 0, `oracle exited with ${run.status} ${run.signal ?? ""}: ${run.stderr.toString()}`);
  const out = run.stdout;
  assert.equal(out.length, count * OUT_SIZE, "oracle output size");

  // Compare.
  const failures: string[] = [];
  const perOp = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const x = i * IN_SIZE;
    const op = OPS[input[x]];
    const rm = input[x + 1];
    const pre = input[x + 2];
    const a = input.readBigUInt64LE(x + 8);
    const b = input.readBigUInt64LE(x + 16);
    const c = input.readBigUInt64LE(x + 24);
    const wantBits = out.readBigUInt64LE(i * OUT_SIZE);
    const wantFlags = out[i * OUT_SIZE + 8];
    fr[0] = 0x5a5a5a5a; fr[1] = 0x5a5a5a5a; fr[2] = 0x5a;
    op.run(a, b, c, rm);
    const got = op.res === "D" ? (BigInt(fr[1] >>> 0) << 32n) | BigInt(fr[0] >>> 0) : BigInt(fr[0] >>> 0);
    const gotFlags = fr[2] | pre;
    if (got !== wantBits || gotFlags !== wantFlags) {
      perOp.set(op.name, (perOp.get(op.name) ?? 0) + 1);
      if (failures.length < MAX_REPORTED) {
        const w = op.kind === "S" ? 32 : 64;
        const ins = op.gen === "fma" ? [a, b, c] : op.gen === "add" || op.gen === "mul" ||
          op.gen === "div" || op.gen === "cmp" ? [a, b] : [a];
        const rw = op.res === "S" ? 32 : 64;
        failures.push(`${op.name} rm=${rm}${pre ? " (NX preset)" : ""} ` +
          `in ${ins.map((v) => hex(v, w)).join(" ")}: ` +
          `expected ${hex(wantBits, rw)} ${flagText(wantFlags)}, got ${hex(got, rw)} ${flagText(gotFlags)}`);
      }
    }
  }
  t.diagnostic(`${count} records over ${OPS.length} ops, qemu ${qemuMs} ms`);
  if (process.env.TSEMU_FPU_STATS !== undefined) {
    // How often each flag comes out of the oracle, per op (coverage check).
    const counts = new Map<string, number[]>();
    for (let i = 0; i < count; i++) {
      const name = `${OPS[input[i * IN_SIZE]].name} rm${input[i * IN_SIZE + 1]}`;
      const c = counts.get(name) ?? [0, 0, 0, 0, 0, 0];
      const fl = out[i * OUT_SIZE + 8];
      for (let k = 0; k < 5; k++) if ((fl >> k) & 1) c[k]++;
      c[5]++;
      counts.set(name, c);
    }
    for (const [name, c] of counts) {
      t.diagnostic(`${name}: ${c[5]} records, ` + FLAG_NAMES.map((n, k) => `${n} ${c[k]}`).join(" "));
    }
  }
  if (failures.length > 0) {
    const summary = [...perOp].map(([k, v]) => `${k}: ${v}`).join(", ");
    assert.fail(`${[...perOp.values()].reduce((x, y) => x + y, 0)} mismatches (${summary}); ` +
      `reproduce with TSEMU_FPU_SEED=${SEED}\n${failures.join("\n")}`);
  }
});
