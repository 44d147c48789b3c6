/**
 * The Internet checksum (RFC 1071) over byte ranges, as a NIC computes it
 * for IP, TCP and UDP offload: a 16-bit ones' complement sum of big-endian
 * words, an odd last byte padded with zero.
 */

/** The ones' complement sum of `bytes[start, end)` added to `initial`, folded to 16 bits (not inverted). */
export function onesSum(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (i < end) sum += bytes[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** Store the inverted sum, big-endian, at `at`. */
export function putChecksum(bytes: Uint8Array, at: number, sum: number): void {
  const c = ~sum & 0xffff;
  bytes[at] = c >> 8;
  bytes[at + 1] = c & 0xff;
}

/** IEEE 802.3 CRC-32 (reflected, polynomial 0xEDB88320), the frame check sequence. */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}
