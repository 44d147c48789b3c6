/** Big-endian fields in byte arrays, as on-disk formats store them; 64-bit values as exact numbers below 2^53. */

export function u16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}

export function u32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/** A 64-bit field as a number; values of 2^53 and above come back as Infinity, which every range check refuses. */
export function u64(b: Uint8Array, at: number): number {
  const hi = u32(b, at);
  if (hi >= 0x200000) return Infinity;
  return hi * 0x100000000 + u32(b, at + 4);
}

export function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 8; b[at + 1] = v;
}

export function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24; b[at + 1] = v >>> 16; b[at + 2] = v >>> 8; b[at + 3] = v;
}

export function put64(b: Uint8Array, at: number, v: number): void {
  put32(b, at, Math.floor(v / 0x100000000));
  put32(b, at + 4, v >>> 0);
}

export function isZero(b: Uint8Array): boolean {
  // Eight bytes at a time where the view is aligned; the rest byte by byte.
  let i = 0;
  if ((b.byteOffset & 7) === 0) {
    const w = new Float64Array(b.buffer, b.byteOffset, b.length >>> 3);
    for (; i < w.length; i++) if (w[i] !== 0 || Object.is(w[i], -0)) return false;
    i <<= 3;
  }
  for (; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}
