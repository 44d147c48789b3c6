/** Big-endian field access, the Internet checksum and IPv4 address text, shared by every layer. */

export function get16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

export function get32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

export { finish, sum16 } from "../checksum.js";

/** The sum of the IPv4 pseudo-header that TCP and UDP checksums cover. */
export function pseudoSum(src: number, dst: number, proto: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + length;
}

/** Dotted IPv4 text to a 32-bit number, or undefined; accepts only four decimal parts. */
export function parseIPv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const part = Number(m[i]);
    if (part > 255) return undefined;
    v = v * 256 + part;
  }
  return v >>> 0;
}

/**
 * IPv4 text as C's inet_aton reads it (what QEMU uses for -netdev user
 * addresses): 1 to 4 parts, each decimal, octal (leading 0) or hex (0x), the
 * last part filling the remaining bytes ("10.2" is 10.0.0.2).
 */
export function inetAton(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length < 1 || parts.length > 4) return undefined;
  const nums: number[] = [];
  for (const p of parts) {
    let n: number;
    if (/^0[xX][0-9a-fA-F]+$/.test(p)) n = parseInt(p.slice(2), 16);
    else if (/^0[0-7]*$/.test(p)) n = parseInt(p, 8);
    else if (/^[1-9][0-9]*$/.test(p)) n = parseInt(p, 10);
    else return undefined;
    nums.push(n);
  }
  const last = nums[nums.length - 1];
  for (let i = 0; i < nums.length - 1; i++) if (nums[i] > 255) return undefined;
  const lastBytes = 5 - nums.length;
  if (last >= 2 ** (8 * lastBytes)) return undefined;
  let v = 0;
  for (let i = 0; i < nums.length - 1; i++) v = v * 256 + nums[i];
  return (v * 2 ** (8 * lastBytes) + last) >>> 0;
}

export function formatIPv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

/** Sequence-space comparisons modulo 2^32 (RFC 793). */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}
