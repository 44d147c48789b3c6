/**
 * Soft-float throughput: operations per second of the hot entry points on
 * ordinary operands (random normal values of moderate magnitude, as in FP
 * code), per rounding mode.  A plain JS double loop is printed as a floor.
 *
 * Run: node dist/bench/fpu-micro.js
 */
import * as fpu from "../src/target/riscv/fpu/index.js";

const N = 4_000_000;
const M = 1024; // operand table size (power of two)

const buf = new ArrayBuffer(8);
const f64 = new Float64Array(buf);
const i32 = new Int32Array(buf);
const f32 = new Float32Array(buf);

// Operand tables: values in [-4, 4) with full random mantissas.
const dLo = new Int32Array(M);
const dHi = new Int32Array(M);
const dVal = new Float64Array(M);
const sBits = new Int32Array(M);
let seed = 12345;
function rnd(): number { // LCG, enough for operand tables
  seed = (Math.imul(seed, 1103515245) + 12345) | 0;
  return (seed >>> 0) / 4294967296;
}
for (let i = 0; i < M; i++) {
  const v = (rnd() - 0.5) * 8 + rnd() * 1e-9;
  f64[0] = v;
  dLo[i] = i32[0];
  dHi[i] = i32[1];
  dVal[i] = v;
  f32[0] = v;
  sBits[i] = i32[0];
}

const r = fpu.fpr;

function bench(name: string, body: (rm: number) => number): void {
  const parts: string[] = [];
  for (const rm of [0, 1, 2, 3, 4]) body(rm); // warm up every path first
  for (const rm of [0, 1, 2, 3, 4]) {
    const t0 = process.hrtime.bigint();
    const sink = body(rm);
    const ns = Number(process.hrtime.bigint() - t0);
    parts.push(`${["RNE", "RTZ", "RDN", "RUP", "RMM"][rm]} ${(N / ns * 1000).toFixed(1)}M/s`);
    if (sink === 0x7fffffff) console.log("");
  }
  console.log(`${name.padEnd(10)} ${parts.join("  ")}`);
}

bench("f64Add", (rm) => {
  let acc = 0;
  for (let i = 0; i < N; i++) {
    const a = i & (M - 1), b = (i * 7 + 3) & (M - 1);
    fpu.f64Add(dLo[a], dHi[a], dLo[b], dHi[b], rm);
    acc ^= r[0];
  }
  return acc;
});

bench("f64Mul", (rm) => {
  let acc = 0;
  for (let i = 0; i < N; i++) {
    const a = i & (M - 1), b = (i * 7 + 3) & (M - 1);
    fpu.f64Mul(dLo[a], dHi[a], dLo[b], dHi[b], rm);
    acc ^= r[0];
  }
  return acc;
});

bench("f64Div", (rm) => {
  let acc = 0;
  for (let i = 0; i < N; i++) {
    const a = i & (M - 1), b = (i * 7 + 3) & (M - 1);
    fpu.f64Div(dLo[a], dHi[a], dLo[b], dHi[b], rm);
    acc ^= r[0];
  }
  return acc;
});

bench("f64MulAdd", (rm) => {
  let acc = 0;
  for (let i = 0; i < N; i++) {
    const a = i & (M - 1), b = (i * 7 + 3) & (M - 1), c = (i * 13 + 5) & (M - 1);
    fpu.f64MulAdd(dLo[a], dHi[a], dLo[b], dHi[b], dLo[c], dHi[c], rm, false, false);
    acc ^= r[0];
  }
  return acc;
});

bench("f32Add", (rm) => {
  let acc = 0;
  for (let i = 0; i < N; i++) {
    fpu.f32Add(sBits[i & (M - 1)], sBits[(i * 7 + 3) & (M - 1)], rm);
    acc ^= r[0];
  }
  return acc;
});

bench("f32Mul", (rm) => {
  let acc = 0;
  for (let i = 0; i < N; i++) {
    fpu.f32Mul(sBits[i & (M - 1)], sBits[(i * 7 + 3) & (M - 1)], rm);
    acc ^= r[0];
  }
  return acc;
});

bench("f32MulAdd", (rm) => {
  let acc = 0;
  for (let i = 0; i < N; i++) {
    fpu.f32MulAdd(sBits[i & (M - 1)], sBits[(i * 7 + 3) & (M - 1)], sBits[(i * 13 + 5) & (M - 1)], rm,
      false, false);
    acc ^= r[0];
  }
  return acc;
});

{
  // Floor: the same loop shape on plain doubles, result stored as bits.
  const t0 = process.hrtime.bigint();
  let acc = 0;
  for (let i = 0; i < N; i++) {
    f64[0] = dVal[i & (M - 1)] + dVal[(i * 7 + 3) & (M - 1)];
    acc ^= i32[0];
  }
  const ns = Number(process.hrtime.bigint() - t0);
  console.log(`JS double add loop: ${(N / ns * 1000).toFixed(1)}M/s${acc === 0x7fffffff ? " " : ""}`);
}
