/** UDP datagrams (RFC 768) with the pseudo-header checksum. */
import { finish, get16, pseudoSum, put16, sum16 } from "./bytes.js";
import { PROTO_UDP } from "./ipv4.js";

export const UDP_HLEN = 8;

export interface UdpDatagram {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly data: Uint8Array;
}

/** A datagram whose length and checksum (when not zero) are right, or undefined. */
export function parseUdp(b: Uint8Array, src: number, dst: number): UdpDatagram | undefined {
  if (b.length < UDP_HLEN) return undefined;
  const len = get16(b, 4);
  if (len < UDP_HLEN || len > b.length) return undefined;
  if (get16(b, 6) !== 0 && finish(sum16(b, 0, len, pseudoSum(src, dst, PROTO_UDP, len))) !== 0) return undefined;
  return { srcPort: get16(b, 0), dstPort: get16(b, 2), data: b.subarray(UDP_HLEN, len) };
}

export function buildUdp(src: number, dst: number, srcPort: number, dstPort: number, data: Uint8Array): Uint8Array {
  const b = new Uint8Array(UDP_HLEN + data.length);
  put16(b, 0, srcPort);
  put16(b, 2, dstPort);
  put16(b, 4, b.length);
  b.set(data, UDP_HLEN);
  const c = finish(sum16(b, 0, b.length, pseudoSum(src, dst, PROTO_UDP, b.length)));
  put16(b, 6, c === 0 ? 0xffff : c);
  return b;
}
