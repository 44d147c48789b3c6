/**
 * Hex and byte-string helpers of the remote protocol.  Packets are bytes;
 * their text parts are ASCII, so a packet is turned into a string one
 * character per byte (latin1) and back without loss.
 */

const HEX = "0123456789abcdef";

/** Two lowercase hex digits per byte. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += HEX[b >> 4] + HEX[b & 15];
  return s;
}

function digit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** The bytes of an even-length hex string; undefined when it is not one. */
export function fromHex(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0) return undefined;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    const h = digit(text.charCodeAt(2 * i));
    const l = digit(text.charCodeAt(2 * i + 1));
    if (h < 0 || l < 0) return undefined;
    out[i] = (h << 4) | l;
  }
  return out;
}

/** A whole string as an unsigned hex number (at most 16 digits); undefined when it is not one. */
export function parseHex(text: string): bigint | undefined {
  if (text.length === 0 || text.length > 16 || !/^[0-9a-fA-F]+$/.test(text)) return undefined;
  return BigInt("0x" + text);
}

/** A hex number that must fit in a JS number (lengths, register numbers). */
export function parseHexNumber(text: string): number | undefined {
  const v = parseHex(text);
  return v === undefined || v > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(v);
}

/** A number as at least `width` lowercase hex digits. */
export function hex(n: number | bigint, width = 1): string {
  return n.toString(16).padStart(width, "0");
}

/** Bytes as a string of the same char codes. */
export function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return s;
}

/** A string of char codes below 256 as bytes. */
export function bytesOf(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}
