/**
 * IPv4 (RFC 791) packets.  Fragments are dropped (slirp reassembles; guests
 * with a 1500-byte MTU and path MTU discovery practically never fragment);
 * options are skipped (the header length is honoured, as slirp strips them).
 */
import { finish, get16, get32, put16, put32, sum16 } from "./bytes.js";

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const DEFAULT_TTL = 64;
export const IP_HLEN = 20;

export interface IPv4Packet {
  readonly src: number;
  readonly dst: number;
  readonly proto: number;
  readonly ttl: number;
  /** The transport payload, trimmed to the total length (Ethernet padding removed). */
  readonly payload: Uint8Array;
}

/** A well-formed, unfragmented IPv4 packet, or undefined. */
export function parseIPv4(b: Uint8Array): IPv4Packet | undefined {
  if (b.length < IP_HLEN || b[0] >> 4 !== 4) return undefined;
  const hlen = (b[0] & 0xf) * 4;
  const total = get16(b, 2);
  if (hlen < IP_HLEN || total < hlen || total > b.length) return undefined;
  if (finish(sum16(b, 0, hlen)) !== 0) return undefined;
  const flagsFrag = get16(b, 6);
  if ((flagsFrag & 0x2000) !== 0 || (flagsFrag & 0x1fff) !== 0) return undefined;
  return { src: get32(b, 12), dst: get32(b, 16), proto: b[9], ttl: b[8], payload: b.subarray(hlen, total) };
}

/** A packet with a 20-byte header, DF clear, checksum filled. */
export function buildIPv4(src: number, dst: number, proto: number, id: number, payload: Uint8Array, ttl = DEFAULT_TTL): Uint8Array {
  const b = new Uint8Array(IP_HLEN + payload.length);
  b[0] = 0x45;
  put16(b, 2, b.length);
  put16(b, 4, id & 0xffff);
  b[8] = ttl;
  b[9] = proto;
  put32(b, 12, src);
  put32(b, 16, dst);
  put16(b, 10, finish(sum16(b, 0, IP_HLEN)));
  b.set(payload, IP_HLEN);
  return b;
}
