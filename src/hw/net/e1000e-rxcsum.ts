/**
 * Receive checksum offload (82574L datasheet 7.1.6): with RXCSUM.IPOFL the
 * device checks the IPv4 header checksum, with RXCSUM.TUOFL the TCP or UDP
 * checksum of an unfragmented IPv4 or IPv6 packet (next header TCP or UDP
 * right after the fixed IPv6 header), and reports what it checked in the
 * descriptor's status (IPCS, TCPCS, UDPCS) and what failed in its errors
 * (IPE, TCPE).  A packet it does not understand gets IXSM: "ignore the
 * checksum bits", and the driver checks it in software.
 */
import { onesSum } from "./checksum.js";
import { Rxcsum } from "./e1000e-regs.js";

/** Status bits (low byte of the descriptor's status). */
export const enum RxCsumStatus {
  IXSM = 0x04, UDPCS = 0x10, TCPCS = 0x20, IPCS = 0x40,
}
/** Error bits (the descriptor's errors byte). */
export const enum RxCsumError {
  TCPE = 0x20, IPE = 0x40,
}

const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

export interface RxCsum {
  status: number;
  errors: number;
}

/** What the checksum offload says about `f` (an Ethernet frame, VLAN tag already stripped, no FCS). */
export function rxChecksum(f: Uint8Array, rxcsum: number): RxCsum {
  const none = { status: RxCsumStatus.IXSM, errors: 0 };
  if ((rxcsum & (Rxcsum.IPOFL | Rxcsum.TUOFL)) === 0 || f.length < 14) return none;
  const type = (f[12] << 8) | f[13];
  const ip = 14;
  let proto: number;
  let l4: number;
  let l4End: number;
  let pseudo: number;
  const out: RxCsum = { status: 0, errors: 0 };
  if (type === ETH_P_IP) {
    if (f.length < ip + 20 || f[ip] >> 4 !== 4) return none;
    const ihl = (f[ip] & 0xf) * 4;
    const total = (f[ip + 2] << 8) | f[ip + 3];
    if (ihl < 20 || total < ihl || ip + total > f.length) return none;
    if ((rxcsum & Rxcsum.IPOFL) !== 0) {
      out.status |= RxCsumStatus.IPCS;
      if (onesSum(f, ip, ip + ihl) !== 0xffff) out.errors |= RxCsumError.IPE;
    }
    // A fragment (more fragments, or an offset) cannot be checked on its own.
    if ((((f[ip + 6] << 8) | f[ip + 7]) & 0x3fff) !== 0) return out;
    proto = f[ip + 9];
    l4 = ip + ihl;
    l4End = ip + total;
    pseudo = onesSum(f, ip + 12, ip + 20, proto + (l4End - l4));
  } else if (type === ETH_P_IPV6) {
    if (f.length < ip + 40 || f[ip] >> 4 !== 6) return none;
    const payload = (f[ip + 4] << 8) | f[ip + 5];
    if (ip + 40 + payload > f.length) return none;
    proto = f[ip + 6];
    l4 = ip + 40;
    l4End = l4 + payload;
    pseudo = onesSum(f, ip + 8, ip + 40, proto + payload);
  } else {
    return none;
  }
  if ((rxcsum & Rxcsum.TUOFL) === 0) return out;
  if (proto === IPPROTO_TCP && l4End - l4 >= 20) {
    out.status |= RxCsumStatus.TCPCS;
  } else if (proto === IPPROTO_UDP && l4End - l4 >= 8) {
    out.status |= RxCsumStatus.UDPCS;
    // An IPv4 UDP checksum of 0 means "none": nothing to verify.
    if (type === ETH_P_IP && f[l4 + 6] === 0 && f[l4 + 7] === 0) return out;
  } else {
    return out.status === 0 ? none : out;
  }
  if (onesSum(f, l4, l4End, pseudo) !== 0xffff) out.errors |= RxCsumError.TCPE;
  return out;
}
