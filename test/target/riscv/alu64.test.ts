/** 64-bit multiply and divide on int32 halves, checked against BigInt on edge and random values. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as alu from "../../../src/target/riscv/alu64.js";

const M64 = (1n << 64n) - 1n;
const s64 = (v: bigint): bigint => BigInt.asIntN(64, v);
const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);
const hi = (v: bigint): number => Number(BigInt.asIntN(32, v >> 32n));
const lo = (v: bigint): number => Number(BigInt.asIntN(32, v));
const result = (): bigint => (BigInt(alu.res[1]) << 32n) | BigInt(alu.res[0] >>> 0);

const EDGES = [0n, 1n, 2n, 3n, 7n, 0xffffffffn, 0x100000000n, 0x7fffffffn, 0x80000000n, 1n << 53n, (1n << 53n) + 1n,
  0x7fffffffffffffffn, 0x8000000000000000n, M64, M64 - 1n, 0x123456789abcdefn, 0xfedcba9876543210n];

function* pairs(): Generator<[bigint, bigint]> {
  for (const a of EDGES) for (const b of EDGES) yield [a, b];
  let x = 0x9e3779b97f4a7c15n;
  for (let i = 0; i < 20000; i++) {
    x = u64(x * 6364136223846793005n + 1442695040888963407n);
    const a = x;
    x = u64(x * 6364136223846793005n + 1442695040888963407n);
    const shift = BigInt(i % 64);
    yield [a, x >> shift];
  }
}

type Op = (ah: number, al: number, bh: number, bl: number) => void;
const cases: [string, Op, (a: bigint, b: bigint) => bigint][] = [
  ["mul", alu.mul64, (a, b) => u64(a * b)],
  ["mulhu", alu.mulhu64, (a, b) => (a * b) >> 64n],
  ["mulh", alu.mulh64, (a, b) => u64((s64(a) * s64(b)) >> 64n)],
  ["mulhsu", alu.mulhsu64, (a, b) => u64((s64(a) * b) >> 64n)],
  ["div", alu.div64, (a, b) => b === 0n ? M64 : s64(a) === -(1n << 63n) && s64(b) === -1n ? a : u64(s64(a) / s64(b))],
  ["divu", alu.divu64, (a, b) => b === 0n ? M64 : a / b],
  ["rem", alu.rem64, (a, b) => b === 0n ? a : s64(a) === -(1n << 63n) && s64(b) === -1n ? 0n : u64(s64(a) % s64(b))],
  ["remu", alu.remu64, (a, b) => b === 0n ? a : a % b],
];

for (const [name, op, ref] of cases) {
  test(`${name} matches the M extension's definition`, () => {
    for (const [a, b] of pairs()) {
      op(hi(a), lo(a), hi(b), lo(b));
      const got = u64(result());
      const want = ref(a, b);
      if (got !== want) assert.fail(`${name}(0x${a.toString(16)}, 0x${b.toString(16)}) = 0x${got.toString(16)}, want 0x${want.toString(16)}`);
    }
  });
}

test("32-bit divide and remainder follow the spec's special cases", () => {
  assert.equal(alu.div32(5, 0), -1);
  assert.equal(alu.divu32(5, 0), -1);
  assert.equal(alu.rem32(5, 0), 5);
  assert.equal(alu.remu32(-5, 0), -5);
  assert.equal(alu.div32(-0x80000000, -1), -0x80000000);
  assert.equal(alu.rem32(-0x80000000, -1), 0);
  assert.equal(alu.div32(-7, 2), -3);
  assert.equal(alu.rem32(-7, 2), -1);
  assert.equal(alu.divu32(-1, 2), 0x7fffffff);
  assert.equal(alu.remu32(-1, 7), (0xffffffff % 7) | 0);
});
