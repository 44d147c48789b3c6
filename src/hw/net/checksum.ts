/**
 * Checksums as a NIC computes them for offload: the Internet checksum
 * (src/net/checksum.ts) over byte ranges, and the Ethernet FCS.
 */
import { fold, sum16 } from "../../net/checksum.js";

/** The ones' complement sum of `bytes[start, end)` added to `initial`, folded to 16 bits (not inverted). */
export function onesSum(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  return fold(sum16(bytes, start, end, initial));
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
