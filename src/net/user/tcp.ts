/**
 * The TCP layer: finds the connection a guest segment belongs to, opens host
 * connections for new SYNs (at most MAX_TCP_CONNECTIONS at once; beyond that
 * and where not allowed, RST), answers stray segments with RST, and opens
 * connections into the guest for hostfwd.
 */
import { parseIPv4, put16, put32, seqAdd } from "./bytes.js";
import type { HostFwdRule } from "./config.js";
import { guestVisibleSource, type StackCore } from "./core.js";
import { destinationUnreachable } from "./icmp.js";
import { buildIPv4, PROTO_ICMP, PROTO_TCP, type IPv4Packet } from "./ipv4.js";
import type { HostTcpAccepted, HostTcpEvents, NetHost } from "./net-host.js";
import { TcpConn, type TcpOwner } from "./tcp-conn.js";
import { ACK, FIN, RST, SYN, buildTcp, parseTcp, type TcpOut, type TcpSegment } from "./tcp-segment.js";

export const MAX_TCP_CONNECTIONS = 1024;
/** The most TCP payload in one IPv4 packet without TCP options. */
const LARGE_SEGMENT = 65535 - 20 - 20;

const IGNORE_EVENTS: HostTcpEvents = { connected() {}, data() {}, end() {}, drain() {}, error() {}, closed() {} };

export class TcpLayer implements TcpOwner {
  private readonly conns = new Map<string, TcpConn>();
  private nextPort = 0;

  constructor(private readonly core: StackCore) {}

  get host(): NetHost {
    return this.core.host;
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  connections(): TcpConn[] {
    return [...this.conns.values()];
  }

  output(conn: TcpConn, seg: TcpOut): void {
    const large = seg.data !== undefined && seg.data.length > conn.mss;
    this.core.sendIp(conn.remoteIp, conn.guestIp, PROTO_TCP, buildTcp(conn.remoteIp, conn.guestIp, seg), false, large ? conn.mss : 0);
  }

  maxSegment(mss: number): number {
    // As many whole segments as fit in one IPv4 packet (64 KiB less the IPv4 and TCP headers).
    return this.core.takesLargeTcp() ? Math.floor(LARGE_SEGMENT / mss) * mss : mss;
  }

  unreachable(conn: TcpConn, code: number, synSeq: number): void {
    // The quoted packet: the guest's SYN as it was (IPv4 header and the first 8 bytes of TCP).
    const head = new Uint8Array(8);
    put16(head, 0, conn.guestPort);
    put16(head, 2, conn.remotePort);
    put32(head, 4, synSeq);
    const icmp = destinationUnreachable(code, buildIPv4(conn.guestIp, conn.remoteIp, PROTO_TCP, 0, head));
    this.core.sendIp(this.core.config.host, conn.guestIp, PROTO_ICMP, icmp);
  }

  remove(conn: TcpConn): void {
    if (this.conns.get(conn.key) === conn) this.conns.delete(conn.key);
  }

  input(ip: IPv4Packet): void {
    const seg = parseTcp(ip.payload, ip.src, ip.dst);
    if (!seg) return;
    const key = connKey(ip.src, seg.srcPort, ip.dst, seg.dstPort);
    const conn = this.conns.get(key);
    if (conn) {
      conn.segment(seg);
      return;
    }
    if ((seg.flags & (SYN | ACK | RST | FIN)) !== SYN) {
      if (!(seg.flags & RST)) this.refuse(ip, seg);
      return;
    }
    const target = this.core.outboundTarget(ip.dst);
    if (target === undefined || this.conns.size >= MAX_TCP_CONNECTIONS || seg.dstPort === 0) {
      this.refuse(ip, seg);
      return;
    }
    const c = new TcpConn(this, key, ip.src, seg.srcPort, ip.dst, seg.dstPort, "connecting", randomIss());
    c.guestSyn(seg);
    this.conns.set(key, c);
    c.sock = this.core.host.tcpConnect(target, seg.dstPort, c);
  }

  /** RST for a segment that belongs to no connection (RFC 9293 3.10.7.1). */
  private refuse(ip: IPv4Packet, seg: TcpSegment): void {
    const out: TcpOut =
      seg.flags & ACK
        ? { srcPort: seg.dstPort, dstPort: seg.srcPort, seq: seg.ack, ack: 0, flags: RST, window: 0 }
        : {
            srcPort: seg.dstPort,
            dstPort: seg.srcPort,
            seq: 0,
            ack: seqAdd(seg.seq, seg.data.length + (seg.flags & SYN ? 1 : 0) + (seg.flags & FIN ? 1 : 0)),
            flags: RST | ACK,
            window: 0,
          };
    this.core.sendIp(ip.dst, ip.src, PROTO_TCP, buildTcp(ip.dst, ip.src, out));
  }

  /** hostfwd: a host client connected; open a connection into the guest from the client's address. */
  acceptFromHost(rule: HostFwdRule, accepted: HostTcpAccepted): void {
    if (this.conns.size >= MAX_TCP_CONNECTIONS) {
      accepted.open(IGNORE_EVENTS).reset();
      return;
    }
    const client = parseIPv4(accepted.remoteAddress);
    const src = client === undefined ? this.core.config.host : guestVisibleSource(this.core, client);
    let port = accepted.remotePort;
    let key = connKey(rule.guestAddr, rule.guestPort, src, port);
    // Two clients can share a port on different host addresses that both appear as the gateway.
    for (let tries = 0; (this.conns.has(key) || port === 0) && tries < 64512; tries++) {
      port = 1024 + (this.nextPort++ % 64512);
      key = connKey(rule.guestAddr, rule.guestPort, src, port);
    }
    const c = new TcpConn(this, key, rule.guestAddr, rule.guestPort, src, port, "syn-sent", randomIss());
    this.conns.set(key, c);
    c.sock = accepted.open(c);
    c.openToGuest();
  }

  close(): void {
    for (const c of [...this.conns.values()]) c.destroy();
    this.conns.clear();
  }
}

function connKey(guestIp: number, guestPort: number, remoteIp: number, remotePort: number): string {
  return `${guestIp}:${guestPort}>${remoteIp}:${remotePort}`;
}

function randomIss(): number {
  return Math.floor(Math.random() * 0x100000000) >>> 0;
}
