/**
 * The user-mode network stack: Ethernet frames from the guest in, frames to
 * the guest out.  It answers ARP for its virtual addresses, learns the
 * guest's MAC, checks IPv4, answers ICMP echo on the gateway and DNS
 * addresses, and hands TCP and UDP to their layers.  Frames for a guest with
 * no receive buffers wait in a bounded queue (the oldest are kept; TCP
 * recovers what is dropped); frames for an address whose MAC is not yet
 * known wait (bounded) for the ARP reply.
 */
import type { NetFrontend } from "../net-client.js";
import { finish, formatIPv4, put16, sum16 } from "./bytes.js";
import type { UserNetConfig } from "./config.js";
import type { StackCore } from "./core.js";
import { ARP_REPLY, ARP_REQUEST, buildArp, parseArp } from "./arp.js";
import { echoReply } from "./icmp.js";
import { buildIPv4, parseIPv4, PROTO_ICMP, PROTO_TCP, PROTO_UDP, IP_HLEN } from "./ipv4.js";
import { BROADCAST_MAC, buildEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4, isMulticastMac, parseEthernet, virtualMac } from "./link.js";
import type { NetHost } from "./net-host.js";
import { TcpLayer } from "./tcp.js";
import { UdpLayer } from "./udp-nat.js";

/** Frames held for a guest without receive buffers. */
export const OUTPUT_QUEUE_FRAMES = 256;
/** ... and bytes (large TCP segments for a guest with segmentation offload are up to 64 KiB each). */
export const OUTPUT_QUEUE_BYTES = 4 * 1024 * 1024;
/** Guest addresses whose MACs are remembered. */
const ARP_TABLE_SIZE = 64;
/** Frames waiting for an ARP reply, per address and addresses at once. */
const ARP_WAIT_FRAMES = 16;
const ARP_WAIT_ADDRESSES = 8;
/** The link MTU: IPv4 packets to the guest larger than this are fragmented. */
export const MTU = 1500;

export class UserStack implements StackCore {
  readonly tcp: TcpLayer;
  readonly udp: UdpLayer;
  private frontend: NetFrontend | undefined;
  private readonly ourMac: Uint8Array;
  private readonly arpTable = new Map<number, Uint8Array>();
  private readonly arpWaiting = new Map<number, Packet[]>();
  private readonly queue: Packet[] = [];
  private heldBytes = 0;
  private ipId = 0;
  private closed = false;
  /** Frames dropped because the output queue was full (for tests and diagnostics). */
  droppedFrames = 0;

  constructor(
    readonly config: UserNetConfig,
    readonly host: NetHost,
  ) {
    this.ourMac = virtualMac(config.host);
    this.tcp = new TcpLayer(this);
    this.udp = new UdpLayer(this);
  }

  attach(frontend: NetFrontend): void {
    this.frontend = frontend;
  }

  get queuedFrames(): number {
    return this.queue.length;
  }

  get queuedBytes(): number {
    return this.heldBytes;
  }

  /** A frame from the guest.  Malformed frames are dropped; nothing the guest sends can throw. */
  input(frame: Uint8Array): void {
    if (this.closed) return;
    const eth = parseEthernet(frame);
    if (!eth) return;
    if (eth.type === ETHERTYPE_ARP) this.arpInput(eth.payload);
    else if (eth.type === ETHERTYPE_IPV4) this.ipInput(eth.src, eth.payload);
  }

  private inNet(ip: number): boolean {
    return ((ip & this.config.mask) >>> 0) === this.config.net;
  }

  /** One of our virtual addresses (gateway, DNS), which ARP answers for. */
  private isVirtual(ip: number): boolean {
    return ip === this.config.host || ip === this.config.dns;
  }

  learn(ip: number, mac: Uint8Array): void {
    if (!this.inNet(ip) || this.isVirtual(ip) || isMulticastMac(mac)) return;
    const broadcast = (this.config.net | ~this.config.mask) >>> 0;
    if (ip === this.config.net || ip === broadcast) return;
    const known = this.arpTable.get(ip);
    if (!known) {
      if (this.arpTable.size >= ARP_TABLE_SIZE) {
        const oldest = this.arpTable.keys().next().value;
        if (oldest !== undefined) this.arpTable.delete(oldest);
      }
    }
    this.arpTable.set(ip, mac.slice(0, 6));
    const waiting = this.arpWaiting.get(ip);
    if (waiting) {
      this.arpWaiting.delete(ip);
      for (const p of waiting) this.toGuest(buildEthernet(mac, this.ourMac, ETHERTYPE_IPV4, p.bytes), p.segmentSize);
    }
  }

  private arpInput(payload: Uint8Array): void {
    const arp = parseArp(payload);
    if (!arp) return;
    if (arp.senderIp !== 0) this.learn(arp.senderIp, arp.senderMac);
    if (arp.op === ARP_REQUEST && this.isVirtual(arp.targetIp)) {
      // slirp answers with 52:55 followed by the address asked for.
      const mac = virtualMac(arp.targetIp);
      const reply = buildArp({ op: ARP_REPLY, senderMac: mac, senderIp: arp.targetIp, targetMac: arp.senderMac, targetIp: arp.senderIp });
      this.toGuest(buildEthernet(arp.senderMac, mac, ETHERTYPE_ARP, padded(reply)));
    }
  }

  private ipInput(srcMac: Uint8Array, payload: Uint8Array): void {
    const ip = parseIPv4(payload);
    if (!ip) return;
    if (ip.src !== 0) this.learn(ip.src, srcMac);
    switch (ip.proto) {
      case PROTO_ICMP: {
        // Echo is answered for the virtual addresses only: host ICMP sockets are not used.
        if (!this.isVirtual(ip.dst)) return;
        const reply = echoReply(ip.payload);
        if (reply) this.sendIp(ip.dst, ip.src, PROTO_ICMP, reply);
        return;
      }
      case PROTO_TCP:
        this.tcp.input(ip);
        return;
      case PROTO_UDP:
        this.udp.input(ip);
        return;
      default:
        return;
    }
  }

  outboundTarget(dst: number): string | undefined {
    if (this.config.restrict) return undefined;
    if (dst === this.config.host) return "127.0.0.1";
    if (this.inNet(dst)) return undefined;
    const first = dst >>> 24;
    if (first === 0 || first === 127 || first >= 224) return undefined;
    return formatIPv4(dst);
  }

  takesLargeTcp(): boolean {
    return this.frontend?.takesLargeTcp?.() ?? false;
  }

  sendIp(src: number, dst: number, proto: number, payload: Uint8Array, broadcast = false, segmentSize = 0): void {
    if (this.closed) return;
    const packets: Packet[] = segmentSize > 0
      ? [{ bytes: buildIPv4(src, dst, proto, this.ipId++ & 0xffff, payload), segmentSize }]
      : this.fragment(src, dst, proto, payload).map((bytes) => ({ bytes, segmentSize: 0 }));
    if (broadcast) {
      for (const p of packets) this.toGuest(buildEthernet(BROADCAST_MAC, this.ourMac, ETHERTYPE_IPV4, p.bytes), p.segmentSize);
      return;
    }
    const mac = this.arpTable.get(dst);
    if (mac) {
      for (const p of packets) this.toGuest(buildEthernet(mac, this.ourMac, ETHERTYPE_IPV4, p.bytes), p.segmentSize);
      return;
    }
    // Unknown guest MAC (e.g. a hostfwd before the guest has spoken): ask, and hold a few packets.
    let waiting = this.arpWaiting.get(dst);
    if (!waiting) {
      if (!this.inNet(dst)) return;
      if (this.arpWaiting.size >= ARP_WAIT_ADDRESSES) {
        // The longest-waiting address has most likely no one behind it: it makes way.
        const oldest = this.arpWaiting.keys().next().value;
        if (oldest !== undefined) this.arpWaiting.delete(oldest);
      }
      waiting = [];
      this.arpWaiting.set(dst, waiting);
    }
    for (const p of packets) if (waiting.length < ARP_WAIT_FRAMES) waiting.push(p);
    const req = buildArp({ op: ARP_REQUEST, senderMac: this.ourMac, senderIp: this.config.host, targetMac: new Uint8Array(6), targetIp: dst });
    this.toGuest(buildEthernet(BROADCAST_MAC, this.ourMac, ETHERTYPE_ARP, padded(req)));
  }

  /** IPv4 packets of at most MTU bytes (RFC 791 fragmentation for large UDP from the host). */
  private fragment(src: number, dst: number, proto: number, payload: Uint8Array): Uint8Array[] {
    const id = this.ipId++ & 0xffff;
    if (payload.length + IP_HLEN <= MTU) return [buildIPv4(src, dst, proto, id, payload)];
    const step = (MTU - IP_HLEN) & ~7;
    const out: Uint8Array[] = [];
    for (let off = 0; off < payload.length; off += step) {
      const piece = payload.subarray(off, Math.min(payload.length, off + step));
      const p = buildIPv4(src, dst, proto, id, piece);
      const more = off + step < payload.length ? 0x2000 : 0;
      const field = more | (off / 8);
      // Rewrite flags/offset and the header checksum.
      p[6] = field >>> 8;
      p[7] = field & 0xff;
      put16(p, 10, 0);
      put16(p, 10, finish(sum16(p, 0, IP_HLEN)));
      out.push(p);
    }
    return out;
  }

  /** Deliver a frame now, or queue it (bounded) until the guest has buffers. */
  private toGuest(frame: Uint8Array, segmentSize = 0): void {
    if (this.closed || !this.frontend) return;
    if (this.queue.length === 0 && this.frontend.deliver(frame, segmentSize)) return;
    if (this.queue.length >= OUTPUT_QUEUE_FRAMES || this.heldBytes + frame.length > OUTPUT_QUEUE_BYTES) {
      this.droppedFrames++;
      return;
    }
    this.queue.push({ bytes: frame, segmentSize });
    this.heldBytes += frame.length;
  }

  /** The guest has receive buffers again. */
  resume(): void {
    if (!this.frontend) return;
    while (this.queue.length > 0 && !this.closed) {
      const next = this.queue[0];
      if (!this.frontend.deliver(next.bytes, next.segmentSize)) return;
      this.queue.shift();
      this.heldBytes -= next.bytes.length;
    }
  }

  close(): void {
    if (this.closed) return;
    this.tcp.close();
    this.udp.close();
    this.closed = true;
    this.queue.length = 0;
    this.heldBytes = 0;
    this.arpWaiting.clear();
  }
}

/** A packet or frame on its way to the guest; segmentSize > 0 for a TCP segment larger than the MTU. */
interface Packet {
  readonly bytes: Uint8Array;
  readonly segmentSize: number;
}

/** ARP frames are padded to Ethernet's 60-byte minimum, as hosts do. */
function padded(arp: Uint8Array): Uint8Array {
  const b = new Uint8Array(46);
  b.set(arp);
  return b;
}
