/** ARP for IPv4 over Ethernet (RFC 826): the packet format. The stack decides whom to answer. */
import { get16, get32, put16, put32 } from "./bytes.js";

export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;
const ARP_LEN = 28;

export interface ArpPacket {
  readonly op: number;
  readonly senderMac: Uint8Array;
  readonly senderIp: number;
  readonly targetMac: Uint8Array;
  readonly targetIp: number;
}

/** An Ethernet/IPv4 ARP packet, or undefined for anything else. */
export function parseArp(b: Uint8Array): ArpPacket | undefined {
  if (b.length < ARP_LEN) return undefined;
  if (get16(b, 0) !== 1 || get16(b, 2) !== 0x0800 || b[4] !== 6 || b[5] !== 4) return undefined;
  return {
    op: get16(b, 6),
    senderMac: b.slice(8, 14),
    senderIp: get32(b, 14),
    targetMac: b.slice(18, 24),
    targetIp: get32(b, 24),
  };
}

export function buildArp(p: ArpPacket): Uint8Array {
  const b = new Uint8Array(ARP_LEN);
  put16(b, 0, 1);
  put16(b, 2, 0x0800);
  b[4] = 6;
  b[5] = 4;
  put16(b, 6, p.op);
  b.set(p.senderMac, 8);
  put32(b, 14, p.senderIp);
  b.set(p.targetMac, 18);
  put32(b, 24, p.targetIp);
  return b;
}
