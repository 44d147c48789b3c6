/**
 * The DHCP server (RFC 2131/2132) on the gateway address, as slirp's: a pool
 * of 16 addresses from dhcpstart, given by client MAC; the offer and ack
 * carry the server id, subnet mask, router and DNS server (not under
 * restrict=on, as slirp), the lease time and hostname= when given.  Replies
 * go to the IPv4 and Ethernet broadcast addresses.
 */
import { get16, get32, put16, put32 } from "./bytes.js";
import type { StackCore } from "./core.js";
import { PROTO_UDP } from "./ipv4.js";
import { buildUdp } from "./udp.js";

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
export const DHCP_POOL_SIZE = 16;
export const LEASE_SECONDS = 86400;

export const DHCPDISCOVER = 1;
export const DHCPOFFER = 2;
export const DHCPREQUEST = 3;
export const DHCPDECLINE = 4;
export const DHCPACK = 5;
export const DHCPNAK = 6;
export const DHCPRELEASE = 7;

const MAGIC = 0x63825363;
const BOOTP_FIXED = 236;
/** BOOTP's minimum message (RFC 951), which some clients insist on. */
const BOOTP_MIN = 300;

export const OPT_SUBNET_MASK = 1;
export const OPT_ROUTER = 3;
export const OPT_DNS = 6;
export const OPT_HOSTNAME = 12;
export const OPT_REQUESTED_IP = 50;
export const OPT_LEASE_TIME = 51;
export const OPT_MSG_TYPE = 53;
export const OPT_SERVER_ID = 54;
export const OPT_MESSAGE = 56;
const OPT_PAD = 0;
const OPT_END = 255;

export interface DhcpMessage {
  readonly op: number;
  readonly xid: number;
  readonly flags: number;
  readonly ciaddr: number;
  readonly yiaddr: number;
  readonly chaddr: Uint8Array;
  readonly options: Map<number, Uint8Array>;
}

/** A BOOTP message with the DHCP magic cookie, or undefined; options beyond the buffer end parsing. */
export function parseDhcp(b: Uint8Array): DhcpMessage | undefined {
  if (b.length < BOOTP_FIXED + 4 || b[1] !== 1 || b[2] !== 6) return undefined;
  if (get32(b, BOOTP_FIXED) !== MAGIC) return undefined;
  const options = new Map<number, Uint8Array>();
  for (let o = BOOTP_FIXED + 4; o < b.length; ) {
    const code = b[o];
    if (code === OPT_END) break;
    if (code === OPT_PAD) {
      o++;
      continue;
    }
    if (o + 1 >= b.length) break;
    const len = b[o + 1];
    if (o + 2 + len > b.length) break;
    if (!options.has(code)) options.set(code, b.subarray(o + 2, o + 2 + len));
    o += 2 + len;
  }
  return { op: b[0], xid: get32(b, 4), flags: get16(b, 10), ciaddr: get32(b, 12), yiaddr: get32(b, 16), chaddr: b.slice(28, 34), options };
}

function macKey(mac: Uint8Array): string {
  return Array.from(mac, (x) => x.toString(16).padStart(2, "0")).join(":");
}

export class DhcpServer {
  /** Pool slot i (address dhcpStart + i) → the MAC it is given to. */
  private readonly leases: (string | undefined)[] = new Array<string | undefined>(DHCP_POOL_SIZE).fill(undefined);

  constructor(private readonly core: StackCore) {}

  input(data: Uint8Array): void {
    const m = parseDhcp(data);
    if (!m || m.op !== 1) return;
    const type = m.options.get(OPT_MSG_TYPE);
    if (!type || type.length !== 1) return;
    const mac = macKey(m.chaddr);
    switch (type[0]) {
      case DHCPDISCOVER: {
        const slot = this.slotFor(mac);
        if (slot !== undefined) this.reply(m, DHCPOFFER, this.addressOf(slot));
        return;
      }
      case DHCPREQUEST: {
        const req = m.options.get(OPT_REQUESTED_IP);
        const wanted = req && req.length === 4 ? get32(req, 0) : m.ciaddr;
        const slot = wanted !== 0 ? this.slotOfAddress(wanted) : this.slotFor(mac);
        if (slot !== undefined && (this.leases[slot] === undefined || this.leases[slot] === mac)) {
          // A client may ask again for the address it remembers from an earlier run: it is its own.
          const old = this.leases.indexOf(mac);
          if (old >= 0 && old !== slot) this.leases[old] = undefined;
          this.leases[slot] = mac;
          // As slirp: the client's MAC is known from here on (a hostfwd needs no ARP first).
          this.core.learn(this.addressOf(slot), m.chaddr);
          this.reply(m, DHCPACK, this.addressOf(slot));
        } else {
          this.reply(m, DHCPNAK, 0);
        }
        return;
      }
      case DHCPRELEASE:
      case DHCPDECLINE: {
        const i = this.leases.indexOf(mac);
        if (i >= 0) this.leases[i] = undefined;
        return;
      }
      default:
        return;
    }
  }

  private addressOf(slot: number): number {
    return (this.core.config.dhcpStart + slot) >>> 0;
  }

  private slotOfAddress(addr: number): number | undefined {
    const i = addr - this.core.config.dhcpStart;
    return i >= 0 && i < DHCP_POOL_SIZE ? i : undefined;
  }

  /** The client's slot, or a new one; undefined when the pool is exhausted. */
  private slotFor(mac: string): number | undefined {
    const have = this.leases.indexOf(mac);
    if (have >= 0) return have;
    const free = this.leases.indexOf(undefined);
    if (free < 0) return undefined;
    this.leases[free] = mac;
    return free;
  }

  private reply(req: DhcpMessage, type: number, yiaddr: number): void {
    const cfg = this.core.config;
    const opts: number[] = [];
    const add = (code: number, bytes: ArrayLike<number>): void => {
      opts.push(code, bytes.length, ...Array.from(bytes));
    };
    const addr = (v: number): number[] => [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
    add(OPT_MSG_TYPE, [type]);
    add(OPT_SERVER_ID, addr(cfg.host));
    if (type !== DHCPNAK) {
      add(OPT_SUBNET_MASK, addr(cfg.mask));
      if (!cfg.restrict) {
        add(OPT_ROUTER, addr(cfg.host));
        add(OPT_DNS, addr(cfg.dns));
      }
      add(OPT_LEASE_TIME, addr(LEASE_SECONDS));
      if (cfg.hostname !== "") add(OPT_HOSTNAME, new TextEncoder().encode(cfg.hostname));
    } else {
      add(OPT_MESSAGE, new TextEncoder().encode("requested address not available"));
    }
    opts.push(OPT_END);
    const b = new Uint8Array(Math.max(BOOTP_MIN, BOOTP_FIXED + 4 + opts.length));
    b[0] = 2;
    b[1] = 1;
    b[2] = 6;
    put32(b, 4, req.xid);
    put16(b, 10, req.flags);
    put32(b, 16, yiaddr);
    put32(b, 20, type === DHCPNAK ? 0 : cfg.host);
    b.set(req.chaddr, 28);
    put32(b, BOOTP_FIXED, MAGIC);
    b.set(opts, BOOTP_FIXED + 4);
    const dst = 0xffffffff;
    this.core.sendIp(cfg.host, dst, PROTO_UDP, buildUdp(cfg.host, dst, DHCP_SERVER_PORT, DHCP_CLIENT_PORT, b), true);
  }
}
