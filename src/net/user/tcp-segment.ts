/** TCP segments (RFC 793, 9293): header fields, the MSS option, the checksum. */
import { finish, get16, get32, pseudoSum, put16, put32, sum16 } from "./bytes.js";
import { PROTO_TCP } from "./ipv4.js";

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;

export interface TcpSegment {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  readonly flags: number;
  readonly window: number;
  /** The MSS option, when the segment carries one. */
  readonly mss: number | undefined;
  readonly data: Uint8Array;
}

/** A segment with a valid checksum and header length, or undefined. */
export function parseTcp(b: Uint8Array, src: number, dst: number): TcpSegment | undefined {
  if (b.length < 20) return undefined;
  const hlen = (b[12] >> 4) * 4;
  if (hlen < 20 || hlen > b.length) return undefined;
  if (finish(sum16(b, 0, b.length, pseudoSum(src, dst, PROTO_TCP, b.length))) !== 0) return undefined;
  let mss: number | undefined;
  for (let o = 20; o < hlen; ) {
    const kind = b[o];
    if (kind === 0) break;
    if (kind === 1) {
      o++;
      continue;
    }
    if (o + 1 >= hlen) break;
    const len = b[o + 1];
    if (len < 2 || o + len > hlen) break;
    if (kind === 2 && len === 4) mss = get16(b, o + 2);
    o += len;
  }
  return {
    srcPort: get16(b, 0),
    dstPort: get16(b, 2),
    seq: get32(b, 4),
    ack: get32(b, 8),
    flags: b[13] & 0x3f,
    window: get16(b, 14),
    mss,
    data: b.subarray(hlen),
  };
}

export interface TcpOut {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  mss?: number;
  data?: Uint8Array;
}

export function buildTcp(src: number, dst: number, s: TcpOut): Uint8Array {
  const hlen = s.mss !== undefined ? 24 : 20;
  const data = s.data ?? new Uint8Array(0);
  const b = new Uint8Array(hlen + data.length);
  put16(b, 0, s.srcPort);
  put16(b, 2, s.dstPort);
  put32(b, 4, s.seq);
  put32(b, 8, s.ack);
  b[12] = (hlen / 4) << 4;
  b[13] = s.flags;
  put16(b, 14, Math.max(0, Math.min(0xffff, s.window)));
  if (s.mss !== undefined) {
    b[20] = 2;
    b[21] = 4;
    put16(b, 22, s.mss);
  }
  b.set(data, hlen);
  put16(b, 16, finish(sum16(b, 0, b.length, pseudoSum(src, dst, PROTO_TCP, b.length))));
  return b;
}
