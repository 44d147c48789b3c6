/**
 * The Internet checksum (RFC 1071), shared by the user-mode stack and the
 * NICs' checksum offload: a ones' complement sum of big-endian 16-bit words,
 * an odd last byte padded with zero.
 */

/** The sum of `b[start, end)` added to `acc`, not yet folded or inverted. */
export function sum16(b: Uint8Array, start: number, end: number, acc = 0): number {
  let i = start;
  for (; i + 1 < end; i += 2) acc += (b[i] << 8) | b[i + 1];
  if (i < end) acc += b[i] << 8;
  return acc;
}

/** Fold a sum to 16 bits (not inverted). */
export function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return acc;
}

/** Fold and invert a sum into the checksum field value. */
export function finish(acc: number): number {
  return ~fold(acc) & 0xffff;
}
