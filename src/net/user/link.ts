/** Ethernet II framing (no FCS: frames between NIC and netdev carry none). */
import { get16, put16 } from "./bytes.js";

export const ETH_HLEN = 14;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const BROADCAST_MAC: Uint8Array = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** slirp's MAC for a virtual address: 52:55 then the IPv4 address (52:55:0a:00:02:02 for 10.0.2.2). */
export function virtualMac(ip: number): Uint8Array {
  return new Uint8Array([0x52, 0x55, ip >>> 24, (ip >>> 16) & 0xff, (ip >>> 8) & 0xff, ip & 0xff]);
}

export interface EthernetFrame {
  readonly dst: Uint8Array;
  readonly src: Uint8Array;
  readonly type: number;
  readonly payload: Uint8Array;
}

export function parseEthernet(frame: Uint8Array): EthernetFrame | undefined {
  if (frame.length < ETH_HLEN) return undefined;
  return { dst: frame.subarray(0, 6), src: frame.subarray(6, 12), type: get16(frame, 12), payload: frame.subarray(ETH_HLEN) };
}

export function buildEthernet(dst: Uint8Array, src: Uint8Array, type: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(ETH_HLEN + payload.length);
  f.set(dst, 0);
  f.set(src, 6);
  put16(f, 12, type);
  f.set(payload, ETH_HLEN);
  return f;
}

export function macEqual(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function isMulticastMac(m: Uint8Array): boolean {
  return (m[0] & 1) !== 0;
}
