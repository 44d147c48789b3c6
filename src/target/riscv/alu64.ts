/**
 * 64-bit multiply and divide on (hi, lo) int32 pairs, as the M extension
 * defines them (division by zero and overflow give the spec's values, never
 * a trap).  Results land in `res` to avoid allocation.
 */

/** res[0] = low 32 bits, res[1] = high 32 bits of the last result. */
export const res = new Int32Array(2);

const TWO32 = 4294967296;

/** High 32 bits of the unsigned 64-bit product of two 32-bit values. */
export function umulh32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = ((a0 * b0) >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0;
}

/** Low 64 bits of a 64x64 product (sign does not matter). */
export function mul64(ah: number, al: number, bh: number, bl: number): void {
  res[0] = Math.imul(al, bl);
  res[1] = (umulh32(al, bl) + Math.imul(al, bh) + Math.imul(ah, bl)) | 0;
}

/** High 64 bits of the unsigned 128-bit product. */
export function mulhu64(ah: number, al: number, bh: number, bl: number): void {
  // Four 32x32->64 partial products, summed column by column with carries.
  const ll = umulh32(al, bl) >>> 0;                // bits 32..63 of al*bl
  const lhL = Math.imul(al, bh) >>> 0, lhH = umulh32(al, bh) >>> 0;
  const hlL = Math.imul(ah, bl) >>> 0, hlH = umulh32(ah, bl) >>> 0;
  const hhL = Math.imul(ah, bh) >>> 0, hhH = umulh32(ah, bh) >>> 0;
  const col1 = ll + lhL + hlL;                      // < 3 * 2^32, exact
  const carry1 = Math.floor(col1 / TWO32);
  const col2 = lhH + hlH + hhL + carry1;
  const carry2 = Math.floor(col2 / TWO32);
  res[0] = col2 | 0;
  res[1] = (hhH + carry2) | 0;
}

/** High 64 bits of the signed x signed product. */
export function mulh64(ah: number, al: number, bh: number, bl: number): void {
  mulhu64(ah, al, bh, bl);
  let lo = res[0];
  let hi = res[1];
  // signed(a)*signed(b) = ua*ub - 2^64*(a<0 ? ub : 0) - 2^64*(b<0 ? ua : 0)
  if (ah < 0) { [hi, lo] = sub64(hi, lo, bh, bl); }
  if (bh < 0) { [hi, lo] = sub64(hi, lo, ah, al); }
  res[0] = lo;
  res[1] = hi;
}

/** High 64 bits of signed(a) x unsigned(b). */
export function mulhsu64(ah: number, al: number, bh: number, bl: number): void {
  mulhu64(ah, al, bh, bl);
  if (ah < 0) {
    const [hi, lo] = sub64(res[1], res[0], bh, bl);
    res[0] = lo;
    res[1] = hi;
  }
}

function sub64(ah: number, al: number, bh: number, bl: number): [number, number] {
  const lo = (al - bl) | 0;
  const borrow = (al >>> 0) < (bl >>> 0) ? 1 : 0;
  return [(ah - bh - borrow) | 0, lo];
}

/** Whether the pair holds a value exactly representable as a double integer. */
const small = (h: number): boolean => h >= -0x200000 && h < 0x200000;

function toBig(h: number, l: number): bigint {
  return (BigInt(h) << 32n) | BigInt(l >>> 0);
}

function fromBig(v: bigint): void {
  res[0] = Number(BigInt.asIntN(32, v));
  res[1] = Number(BigInt.asIntN(32, v >> 32n));
}

function fromNumber(v: number): void {
  res[0] = v | 0;
  res[1] = Math.floor(v / TWO32) | 0;
}

/** Signed division: x/0 = -1, MIN/-1 = MIN. */
export function div64(ah: number, al: number, bh: number, bl: number): void {
  if (bh === 0 && bl === 0) { res[0] = -1; res[1] = -1; return; }
  if (small(ah) && small(bh)) {
    // |a| < 2^53: the rounded quotient truncates to the exact one.
    fromNumber(Math.trunc((ah * TWO32 + (al >>> 0)) / (bh * TWO32 + (bl >>> 0))));
    return;
  }
  if (ah === -0x80000000 && al === 0 && bh === -1 && bl === -1) { res[0] = 0; res[1] = ah; return; }
  fromBig(toBig(ah, al) / toBig(bh, bl));
}

export function divu64(ah: number, al: number, bh: number, bl: number): void {
  if (bh === 0 && bl === 0) { res[0] = -1; res[1] = -1; return; }
  if ((ah >>> 0) < 0x200000 && (bh >>> 0) < 0x200000) {
    fromNumber(Math.trunc(((ah >>> 0) * TWO32 + (al >>> 0)) / ((bh >>> 0) * TWO32 + (bl >>> 0))));
    return;
  }
  fromBig(BigInt.asUintN(64, toBig(ah, al)) / BigInt.asUintN(64, toBig(bh, bl)));
}

/** Signed remainder: x%0 = x, MIN%-1 = 0. */
export function rem64(ah: number, al: number, bh: number, bl: number): void {
  if (bh === 0 && bl === 0) { res[0] = al; res[1] = ah; return; }
  if (small(ah) && small(bh)) {
    const r = (ah * TWO32 + (al >>> 0)) % (bh * TWO32 + (bl >>> 0));
    fromNumber(r === 0 ? 0 : r); // -0 -> 0
    return;
  }
  if (ah === -0x80000000 && al === 0 && bh === -1 && bl === -1) { res[0] = 0; res[1] = 0; return; }
  fromBig(toBig(ah, al) % toBig(bh, bl));
}

export function remu64(ah: number, al: number, bh: number, bl: number): void {
  if (bh === 0 && bl === 0) { res[0] = al; res[1] = ah; return; }
  if ((ah >>> 0) < 0x200000 && (bh >>> 0) < 0x200000) {
    fromNumber(((ah >>> 0) * TWO32 + (al >>> 0)) % ((bh >>> 0) * TWO32 + (bl >>> 0)));
    return;
  }
  fromBig(BigInt.asUintN(64, toBig(ah, al)) % BigInt.asUintN(64, toBig(bh, bl)));
}

/** 32-bit forms (divw, divuw, remw, remuw): results sign-extended from 32 bits. */
export function div32(a: number, b: number): number {
  if (b === 0) return -1;
  if (a === -0x80000000 && b === -1) return a;
  return (a / b) | 0;
}

export function divu32(a: number, b: number): number {
  if (b === 0) return -1;
  return ((a >>> 0) / (b >>> 0)) | 0;
}

export function rem32(a: number, b: number): number {
  if (b === 0) return a;
  if (a === -0x80000000 && b === -1) return 0;
  return (a % b) | 0;
}

export function remu32(a: number, b: number): number {
  if (b === 0) return a;
  return ((a >>> 0) % (b >>> 0)) | 0;
}
