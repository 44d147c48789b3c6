/**
 * UDP towards the guest's peers: DHCP and DNS are served here; other
 * datagrams leave through a host socket per guest (address, port), whose
 * replies from any peer come back to that guest port (slirp's behaviour, so
 * that e.g. NTP and STUN work).  A flow idle for UDP_IDLE_MS is closed; at
 * most MAX_UDP_FLOWS are open, the least recently used making way.
 * hostfwd=udp: datagrams to a host port go to the guest from the client's
 * address and port, and the guest's replies go back through that socket.
 */
import { parseIPv4 } from "./bytes.js";
import type { HostFwdRule } from "./config.js";
import { guestVisibleSource, type StackCore } from "./core.js";
import { DhcpServer, DHCP_SERVER_PORT } from "./dhcp.js";
import { DNS_PORT, DnsServer } from "./dns.js";
import { PROTO_UDP, type IPv4Packet } from "./ipv4.js";
import type { HostUdpSocket } from "./net-host.js";
import { buildUdp, parseUdp } from "./udp.js";

/** slirp's UDP socket expiry. */
export const UDP_IDLE_MS = 240_000;
export const MAX_UDP_FLOWS = 256;
/** hostfwd=udp clients remembered per rule (for the guest's replies). */
const MAX_FWD_CLIENTS = 256;

interface Flow {
  readonly key: string;
  readonly sock: HostUdpSocket;
  lastUsed: number;
  cancel: () => void;
}

interface FwdClient {
  readonly rule: UdpFwd;
  readonly address: string;
  readonly port: number;
  lastUsed: number;
}

export interface UdpFwd {
  readonly rule: HostFwdRule;
  sock: HostUdpSocket | undefined;
}

export class UdpLayer {
  readonly dhcp: DhcpServer;
  readonly dns: DnsServer;
  private readonly flows = new Map<string, Flow>();
  /** "guestIp:guestPort>srcIp:srcPort" of a hostfwd conversation → its client. */
  private readonly fwdClients = new Map<string, FwdClient>();

  constructor(private readonly core: StackCore) {
    this.dhcp = new DhcpServer(core);
    this.dns = new DnsServer(core);
  }

  get flowCount(): number {
    return this.flows.size;
  }

  input(ip: IPv4Packet): void {
    const d = parseUdp(ip.payload, ip.src, ip.dst);
    if (!d) return;
    const cfg = this.core.config;
    if (d.dstPort === DHCP_SERVER_PORT && (ip.dst === cfg.host || ip.dst === 0xffffffff)) {
      this.dhcp.input(d.data);
      return;
    }
    const fwd = this.fwdClients.get(`${ip.src}:${d.srcPort}>${ip.dst}:${d.dstPort}`);
    if (fwd && fwd.rule.sock) {
      fwd.lastUsed = this.core.host.now();
      fwd.rule.sock.send(d.data.slice(), fwd.address, fwd.port);
      return;
    }
    // As slirp: under restrict=on nothing but DHCP (and hostfwd replies) gets out, DNS included.
    if (cfg.restrict) return;
    if (ip.dst === cfg.dns && d.dstPort === DNS_PORT) {
      this.dns.input(ip.src, d.srcPort, d.data);
      return;
    }
    const target = this.core.outboundTarget(ip.dst);
    if (target === undefined || d.dstPort === 0) return;
    this.flow(ip.src, d.srcPort)?.sock.send(d.data.slice(), target, d.dstPort);
  }

  private flow(guestIp: number, guestPort: number): Flow | undefined {
    const key = `${guestIp}:${guestPort}`;
    const now = this.core.host.now();
    const f = this.flows.get(key);
    if (f) {
      f.lastUsed = now;
      // Map order is recency order: move to the end.
      this.flows.delete(key);
      this.flows.set(key, f);
      return f;
    }
    if (this.flows.size >= MAX_UDP_FLOWS) {
      const oldest = this.flows.values().next().value;
      if (oldest) this.closeFlow(oldest);
    }
    const sock = this.core.host.udpBind("", 0, {
      message: (bytes, address, port) => {
        const src = parseIPv4(address);
        if (src === undefined || !this.flows.has(key)) return;
        const from = guestVisibleSource(this.core, src);
        const entry = this.flows.get(key);
        if (entry) entry.lastUsed = this.core.host.now();
        this.core.sendIp(from, guestIp, PROTO_UDP, buildUdp(from, guestIp, port, guestPort, bytes));
      },
    }, () => {
      const entry = this.flows.get(key);
      if (entry) this.closeFlow(entry);
    });
    const flow: Flow = { key, sock, lastUsed: now, cancel: () => {} };
    this.flows.set(key, flow);
    this.armIdle(flow, UDP_IDLE_MS);
    return flow;
  }

  private armIdle(flow: Flow, ms: number): void {
    flow.cancel = this.core.host.setTimer(ms, () => {
      if (this.flows.get(flow.key) !== flow) return;
      const idle = this.core.host.now() - flow.lastUsed;
      if (idle >= UDP_IDLE_MS) this.closeFlow(flow);
      else this.armIdle(flow, UDP_IDLE_MS - idle);
    });
  }

  private closeFlow(flow: Flow): void {
    flow.cancel();
    flow.sock.close();
    if (this.flows.get(flow.key) === flow) this.flows.delete(flow.key);
  }

  /** A datagram from a client on a hostfwd=udp port. */
  forwardFromHost(fwd: UdpFwd, bytes: Uint8Array, address: string, port: number): void {
    const client = parseIPv4(address);
    if (client === undefined) return;
    const src = guestVisibleSource(this.core, client);
    const { guestAddr, guestPort } = fwd.rule;
    const key = `${guestAddr}:${guestPort}>${src}:${port}`;
    if (!this.fwdClients.has(key)) {
      if (this.fwdClients.size >= MAX_FWD_CLIENTS) {
        const oldest = this.fwdClients.keys().next().value;
        if (oldest !== undefined) this.fwdClients.delete(oldest);
      }
      this.fwdClients.set(key, { rule: fwd, address, port, lastUsed: this.core.host.now() });
    }
    this.core.sendIp(src, guestAddr, PROTO_UDP, buildUdp(src, guestAddr, port, guestPort, bytes));
  }

  /** A hostfwd=udp rule went away: forget its clients. */
  dropForward(fwd: UdpFwd): void {
    for (const [k, c] of this.fwdClients) if (c.rule === fwd) this.fwdClients.delete(k);
  }

  close(): void {
    for (const f of [...this.flows.values()]) this.closeFlow(f);
    this.fwdClients.clear();
    this.dns.close();
  }
}
