/**
 * virtio-net's offloads on the frames themselves (virtio 1.2 section
 * 5.1.6.2): completing what a guest with CSUM and HOST_TSO4 left undone in a
 * frame it sends, and filling in the header of a large TCP segment for a guest
 * with GUEST_TSO4.  The header is struct virtio_net_hdr (little-endian):
 * flags, gso_type, hdr_len, gso_size, csum_start, csum_offset.
 */
import { onesSum, putChecksum } from "../net/checksum.js";

/** struct virtio_net_hdr's flags and gso_type values. */
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_VLAN = 0x8100;
const PROTO_TCP = 6;

const le16 = (b: Uint8Array, at: number): number => b[at] | (b[at + 1] << 8);
const be16 = (b: Uint8Array, at: number): number => (b[at] << 8) | b[at + 1];
function putBe16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

/** Where an Ethernet frame's IPv4 TCP headers are, or undefined when it carries none. */
interface TcpFrame {
  /** Offset of the IPv4 header, of the TCP header, and the TCP header's length. */
  l3: number;
  l4: number;
  tcpHeader: number;
}

function tcpFrame(frame: Uint8Array): TcpFrame | undefined {
  let l3 = 14;
  if (frame.length >= 18 && be16(frame, 12) === ETHERTYPE_VLAN) l3 = 18;
  if (frame.length < l3 + 20 || be16(frame, l3 - 2) !== ETHERTYPE_IPV4 || frame[l3] >> 4 !== 4) return undefined;
  const l4 = l3 + (frame[l3] & 0xf) * 4;
  if (l4 < l3 + 20 || frame[l3 + 9] !== PROTO_TCP || frame.length < l4 + 20) return undefined;
  const tcpHeader = (frame[l4 + 12] >> 4) * 4;
  if (tcpHeader < 20 || frame.length < l4 + tcpHeader) return undefined;
  return { l3, l4, tcpHeader };
}

/**
 * Finish a frame the guest sent with an offload request in `header`: a large
 * TCP segment gets its IPv4 length and both checksums computed afresh; a
 * partial checksum is completed at csum_start + csum_offset.  False when the
 * request was not negotiated (`csum`: CSUM, `tso4`: HOST_TSO4) or does not fit
 * the frame: the guest's bug, and the frame is dropped.
 */
export function completeOffloads(header: Uint8Array, frame: Uint8Array, csum: boolean, tso4: boolean): boolean {
  const gsoType = header[1] & ~VIRTIO_NET_HDR_GSO_ECN;
  if (gsoType !== 0) {
    if (gsoType !== VIRTIO_NET_HDR_GSO_TCPV4 || !tso4) return false;
    const t = tcpFrame(frame);
    if (t === undefined || frame.length - t.l3 > 0xffff) return false;
    putBe16(frame, t.l3 + 2, frame.length - t.l3);
    putBe16(frame, t.l3 + 10, 0);
    putChecksum(frame, t.l3 + 10, onesSum(frame, t.l3, t.l4));
    putBe16(frame, t.l4 + 16, 0);
    // The pseudo-header: source and destination addresses, protocol, TCP length.
    const pseudo = onesSum(frame, t.l3 + 12, t.l3 + 20, PROTO_TCP + frame.length - t.l4);
    putChecksum(frame, t.l4 + 16, onesSum(frame, t.l4, frame.length, pseudo));
    return true;
  }
  if ((header[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) === 0) return true;
  if (!csum) return false;
  const start = le16(header, 6);
  const at = start + le16(header, 8);
  if (at + 2 > frame.length) return false;
  // The field holds the pseudo-header's sum already; a checksum of 0 goes out as 0xffff
  // (a sum of 0xffff is written as if it were 0), as Linux's skb_checksum_help.
  const sum = onesSum(frame, start, frame.length);
  putChecksum(frame, at, sum === 0xffff ? 0 : sum);
  return true;
}

/**
 * The header of a large IPv4 TCP segment for the guest (GUEST_TSO4): gso_type
 * TCPV4, hdr_len the headers' length, gso_size the payload of each segment it
 * stands for.  The frame's checksums are complete, and the flags say so (DATA_VALID).
 */
export function largeSegmentHeader(header: Uint8Array, frame: Uint8Array, segmentSize: number): void {
  const t = tcpFrame(frame);
  if (t === undefined) return;
  const headers = t.l4 + t.tcpHeader;
  header[1] = VIRTIO_NET_HDR_GSO_TCPV4;
  header[2] = headers & 0xff;
  header[3] = headers >>> 8;
  header[4] = segmentSize & 0xff;
  header[5] = segmentSize >>> 8;
}
