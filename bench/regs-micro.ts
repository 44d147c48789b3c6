/**
 * How to hold 64-bit guest registers: BigInt64Array against int32 hi/lo
 * pairs, on a mix of operations like an interpreter's (64-bit add, xor, a
 * shift by a variable amount, a multiply, a register turned into an address
 * for a typed-array load, a signed compare).  Prints iterations per second.
 *
 * Run: node dist/bench/regs-micro.js
 */
const N = 20_000_000;
const MEM = new Int32Array(1 << 16);
for (let i = 0; i < MEM.length; i++) MEM[i] = (i * 2654435761) | 0;

function bigintLoop(): number {
  const r = new BigInt64Array(8);
  r[1] = 0x123456789abcdefn;
  r[2] = 7n;
  let taken = 0;
  for (let i = 0; i < N; i++) {
    r[3] = BigInt.asIntN(64, r[1] + r[2]);
    r[4] = r[3] ^ (r[1] >> (r[2] & 63n));
    r[5] = BigInt.asIntN(64, r[4] * r[2]);
    const addr = Number(r[5] & 0xfffcn) >> 2;
    r[6] = BigInt(MEM[addr]);
    if (r[6] < r[3]) taken++;
    r[1] = r[5];
    r[2] = BigInt.asIntN(64, r[2] + 1n);
  }
  return taken;
}

function umulh32(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p01 = a0 * b1, p10 = a1 * b0;
  const mid = ((a0 * b0) >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0;
}

function pairLoop(): number {
  const lo = new Int32Array(8);
  const hi = new Int32Array(8);
  lo[1] = 0x89abcdef | 0; hi[1] = 0x01234567;
  lo[2] = 7;
  let taken = 0;
  for (let i = 0; i < N; i++) {
    // r3 = r1 + r2
    const s = (lo[1] >>> 0) + (lo[2] >>> 0);
    lo[3] = s | 0; hi[3] = (hi[1] + hi[2] + (s > 0xffffffff ? 1 : 0)) | 0;
    // r4 = r3 ^ (r1 >> (r2 & 63))
    const sh = lo[2] & 63;
    let shl: number, shh: number;
    if (sh === 0) { shl = lo[1]; shh = hi[1]; }
    else if (sh < 32) { shl = (lo[1] >>> sh) | (hi[1] << (32 - sh)); shh = hi[1] >> sh; }
    else { shl = hi[1] >> (sh - 32); shh = hi[1] >> 31; }
    lo[4] = lo[3] ^ shl; hi[4] = hi[3] ^ shh;
    // r5 = r4 * r2 (low 64 bits)
    const l4 = lo[4], l2 = lo[2];
    lo[5] = Math.imul(l4, l2);
    hi[5] = (umulh32(l4, l2) + Math.imul(l4, hi[2]) + Math.imul(hi[4], l2)) | 0;
    const addr = (lo[5] & 0xfffc) >> 2;
    lo[6] = MEM[addr]; hi[6] = lo[6] >> 31;
    if (hi[6] < hi[3] || (hi[6] === hi[3] && (lo[6] >>> 0) < (lo[3] >>> 0))) taken++;
    lo[1] = lo[5]; hi[1] = hi[5];
    const t = (lo[2] >>> 0) + 1;
    lo[2] = t | 0; hi[2] = (hi[2] + (t > 0xffffffff ? 1 : 0)) | 0;
  }
  return taken;
}

function measure(name: string, f: () => number): number {
  f(); // warm up
  const t0 = performance.now();
  const check = f();
  const s = (performance.now() - t0) / 1000;
  const rate = N / s / 1e6;
  console.log(`${name.padEnd(22)} ${rate.toFixed(1).padStart(7)} M iterations/s  (check ${check})`);
  return rate;
}

const b = measure("BigInt64Array", bigintLoop);
const p = measure("int32 hi/lo pairs", pairLoop);
console.log(`pairs / BigInt: ${(p / b).toFixed(2)}x`);
