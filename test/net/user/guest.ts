/**
 * A test guest: takes the frames a backend delivers, builds the frames a
 * guest would send, and a compact guest-side TCP endpoint (enough of RFC 9293
 * to open, move data both ways with a chosen window, and close).
 */
import type { NetBackend, NetFrontend } from "../../../src/net/net-client.js";
import { parseIPv4 as parseAddr, seqAdd, seqDiff } from "../../../src/net/user/bytes.js";
import { buildIPv4, parseIPv4, PROTO_TCP, PROTO_UDP, type IPv4Packet } from "../../../src/net/user/ipv4.js";
import { buildEthernet, ETHERTYPE_IPV4, parseEthernet, type EthernetFrame } from "../../../src/net/user/link.js";
import { ACK, FIN, RST, SYN, buildTcp, parseTcp, type TcpOut, type TcpSegment } from "../../../src/net/user/tcp-segment.js";
import { buildUdp, parseUdp, type UdpDatagram } from "../../../src/net/user/udp.js";

export const GUEST_MAC = new Uint8Array([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
export const SLIRP_MAC = new Uint8Array([0x52, 0x55, 0x0a, 0x00, 0x02, 0x02]);
export const GUEST_IP = ip("10.0.2.15");
export const GATEWAY = ip("10.0.2.2");
export const DNS = ip("10.0.2.3");

export function ip(text: string): number {
  const v = parseAddr(text);
  if (v === undefined) throw new Error(`bad address ${text}`);
  return v;
}

export interface Received {
  readonly frame: Uint8Array;
  readonly eth: EthernetFrame;
  readonly ip?: IPv4Packet;
  readonly tcp?: TcpSegment;
  readonly udp?: UdpDatagram;
  /** An IPv4 fragment (not decoded further). */
  readonly fragment?: boolean;
  /** For a TCP segment larger than the MTU: the payload of each segment it stands for. */
  readonly segmentSize?: number;
}

export function decode(frame: Uint8Array): Received {
  const eth = parseEthernet(frame);
  if (!eth) throw new Error("a frame shorter than an Ethernet header");
  if (eth.type !== ETHERTYPE_IPV4) return { frame, eth };
  const p = parseIPv4(eth.payload);
  if (!p && eth.payload.length >= 20 && (((eth.payload[6] << 8) | eth.payload[7]) & 0x3fff) !== 0) return { frame, eth, fragment: true };
  if (!p) throw new Error("the stack sent an invalid IPv4 packet");
  const tcp = p.proto === PROTO_TCP ? parseTcp(p.payload, p.src, p.dst) : undefined;
  const udp = p.proto === PROTO_UDP ? parseUdp(p.payload, p.src, p.dst) : undefined;
  if (p.proto === PROTO_TCP && !tcp) throw new Error("the stack sent a bad TCP segment");
  if (p.proto === PROTO_UDP && !udp) throw new Error("the stack sent a bad UDP datagram");
  return { frame, eth, ip: p, tcp, udp };
}

export class TestGuest implements NetFrontend {
  readonly inbox: Received[] = [];
  /** Whether the guest has receive buffers. */
  buffers = true;
  mac = GUEST_MAC;
  addr = GUEST_IP;
  /** Whether the guest takes TCP segments larger than the MTU (a NIC with segmentation offload). */
  largeTcp = false;

  constructor(readonly backend: NetBackend) {
    backend.attach(this);
  }

  deliver(frame: Uint8Array, segmentSize = 0): boolean {
    if (!this.buffers) return false;
    this.inbox.push(segmentSize > 0 ? { ...decode(frame.slice()), segmentSize } : decode(frame.slice()));
    return true;
  }

  takesLargeTcp(): boolean {
    return this.largeTcp;
  }

  /** All frames received since the last take. */
  take(): Received[] {
    return this.inbox.splice(0);
  }

  sendFrame(frame: Uint8Array): void {
    this.backend.send(frame);
  }

  ipFrame(dst: number, proto: number, payload: Uint8Array, src = this.addr, dstMac = SLIRP_MAC): Uint8Array {
    return buildEthernet(dstMac, this.mac, ETHERTYPE_IPV4, buildIPv4(src, dst, proto, 1, payload));
  }

  udpFrame(srcPort: number, dst: number, dstPort: number, data: Uint8Array, src = this.addr): Uint8Array {
    return this.ipFrame(dst, PROTO_UDP, buildUdp(src, dst, srcPort, dstPort, data), src);
  }

  tcpFrame(dst: number, seg: TcpOut, src = this.addr): Uint8Array {
    return this.ipFrame(dst, PROTO_TCP, buildTcp(src, dst, seg), src);
  }
}

/** A guest TCP endpoint; call pump() after the stack may have sent something. */
export class GuestTcp {
  state: "closed" | "syn-sent" | "syn-received" | "established" | "reset" = "closed";
  iss = 0x10000000;
  sndNxt = this.iss;
  sndUna = this.iss;
  rcvNxt = 0;
  /** Our advertised window. */
  window = 65535;
  /** The peer's window and MSS. */
  peerWindow = 0;
  peerMss = 536;
  readonly received: number[] = [];
  finReceived = false;
  finAcked = false;
  finSent = false;
  /** Segments seen from the stack for this connection (all of them, for assertions). */
  readonly segments: TcpSegment[] = [];
  /** When false, segments are recorded but not processed (a lost or ignored segment). */
  process = true;
  /** Segments for which this answers true are lost (recorded, not processed). */
  lose: (seg: TcpSegment) => boolean = () => false;
  /** Bare ACKs (no data, SYN or FIN) for which this answers true are lost on the way to the stack. */
  loseAck: () => boolean = () => false;

  constructor(
    readonly guest: TestGuest,
    readonly localPort: number,
    readonly remote: number,
    readonly remotePort: number,
  ) {}

  private send(flags: number, data?: Uint8Array, seq = this.sndNxt, mss?: number): void {
    if (flags === ACK && (data?.length ?? 0) === 0 && this.loseAck()) return;
    this.guest.sendFrame(
      this.guest.tcpFrame(this.remote, { srcPort: this.localPort, dstPort: this.remotePort, seq, ack: flags & ACK ? this.rcvNxt : 0, flags, window: this.window, mss, data }),
    );
  }

  connect(mss = 1460): void {
    this.state = "syn-sent";
    this.send(SYN, undefined, this.iss, mss);
    this.sndNxt = seqAdd(this.iss, 1);
  }

  /** Handle frames for this connection from the guest's inbox (others stay). */
  pump(): TcpSegment[] {
    const mine: TcpSegment[] = [];
    for (let i = 0; i < this.guest.inbox.length; ) {
      const r = this.guest.inbox[i];
      if (r.tcp && r.ip && r.ip.src === this.remote && r.tcp.srcPort === this.remotePort && r.tcp.dstPort === this.localPort) {
        this.guest.inbox.splice(i, 1);
        mine.push(r.tcp);
      } else i++;
    }
    for (const s of mine) {
      this.segments.push(s);
      if (this.process && !this.lose(s)) this.handle(s);
    }
    return mine;
  }

  /** Answer our SYN: a hostfwd connection the stack opened (its SYN is in segments). */
  acceptSyn(seg: TcpSegment): void {
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.peerWindow = seg.window;
    this.peerMss = seg.mss ?? 536;
    this.state = "syn-received";
    this.send(SYN | ACK, undefined, this.iss, 1460);
    this.sndNxt = seqAdd(this.iss, 1);
  }

  private handle(s: TcpSegment): void {
    if (s.flags & RST) {
      this.state = "reset";
      return;
    }
    if (s.flags & ACK && seqDiff(s.ack, this.sndUna) > 0) this.sndUna = s.ack;
    if (s.flags & ACK) this.peerWindow = s.window;
    if (this.finSent && s.flags & ACK && s.ack === this.sndNxt) this.finAcked = true;
    if (this.state === "syn-sent" && s.flags & SYN && s.flags & ACK) {
      this.rcvNxt = seqAdd(s.seq, 1);
      this.peerMss = s.mss ?? 536;
      this.state = "established";
      this.send(ACK);
      return;
    }
    if (this.state === "syn-received" && s.flags & ACK && s.ack === this.sndNxt) this.state = "established";
    if (s.data.length > 0 || s.flags & FIN) {
      if (s.seq === this.rcvNxt) {
        const room = Math.max(0, this.window - 0);
        const take = Math.min(room, s.data.length);
        for (let i = 0; i < take; i++) this.received.push(s.data[i]);
        this.rcvNxt = seqAdd(this.rcvNxt, take);
        if (s.flags & FIN && take === s.data.length) {
          this.rcvNxt = seqAdd(this.rcvNxt, 1);
          this.finReceived = true;
        }
      }
      this.send(ACK);
    }
  }

  /** Send bytes in segments of at most the peer's MSS, within its window. Returns bytes sent. */
  write(data: Uint8Array): number {
    let off = 0;
    while (off < data.length) {
      const room = this.peerWindow - seqDiff(this.sndNxt, this.sndUna);
      if (room <= 0) break;
      const len = Math.min(this.peerMss, data.length - off, room);
      this.send(ACK, data.subarray(off, off + len));
      this.sndNxt = seqAdd(this.sndNxt, len);
      off += len;
    }
    return off;
  }

  /** A raw segment at a given sequence number (for retransmission and out-of-order tests). */
  sendAt(seq: number, data: Uint8Array, flags = ACK): void {
    this.send(flags, data, seq);
  }

  close(): void {
    this.send(FIN | ACK);
    this.sndNxt = seqAdd(this.sndNxt, 1);
    this.finSent = true;
  }

  reset(): void {
    this.send(RST, undefined);
    this.state = "reset";
  }

  /** Re-send a bare ACK (e.g. a window update). */
  ack(): void {
    this.send(ACK);
  }

  text(): string {
    return Buffer.from(this.received).toString("latin1");
  }
}
