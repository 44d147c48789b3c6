/**
 * The DNS server on the DNS address (RFC 1035): a query for A or AAAA is
 * answered from the host's name lookup (getaddrinfo's view: the hosts file,
 * then the host's resolvers), NXDOMAIN when the name does not exist,
 * SERVFAIL when the lookup fails otherwise.  Other query types are answered
 * with no records (NOERROR), as for a name with no data of that type; other
 * opcodes get NOTIMP, malformed queries FORMERR.  (slirp forwards the packet
 * to the host's resolver instead; this works offline and without knowing it.)
 */
import { get16, parseIPv4, put16, put32 } from "./bytes.js";
import type { StackCore } from "./core.js";
import { PROTO_UDP } from "./ipv4.js";
import type { HostAddress } from "./net-host.js";
import { buildUdp } from "./udp.js";

export const DNS_PORT = 53;
export const TYPE_A = 1;
export const TYPE_AAAA = 28;
const CLASS_IN = 1;
export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;
/** TTL of the answers: short, since the host's view may change. */
export const ANSWER_TTL = 60;
/** Lookups in progress at once; queries beyond are dropped (the guest retries). */
const MAX_PENDING = 64;
/** Answer records at most, to stay within a 512-byte UDP reply. */
const MAX_ANSWERS = 16;

export interface DnsQuestion {
  readonly id: number;
  readonly flags: number;
  readonly name: string;
  readonly qtype: number;
  readonly qclass: number;
  /** The query's bytes up to the end of the question (echoed in the reply). */
  readonly question: Uint8Array;
}

/** A standard query with one question, or a number (the rcode to answer with), or undefined (not even a header). */
export function parseDnsQuery(b: Uint8Array): DnsQuestion | number | undefined {
  if (b.length < 12) return undefined;
  const flags = get16(b, 2);
  if (flags & 0x8000) return undefined; // a response: ignored
  if (((flags >> 11) & 0xf) !== 0) return RCODE_NOTIMP;
  if (get16(b, 4) !== 1) return RCODE_FORMERR;
  const labels: string[] = [];
  let o = 12;
  let nameLen = 0;
  for (;;) {
    if (o >= b.length) return RCODE_FORMERR;
    const len = b[o];
    if (len === 0) {
      o++;
      break;
    }
    if (len > 63) return RCODE_FORMERR; // compression has no place in a question
    if (o + 1 + len > b.length) return RCODE_FORMERR;
    nameLen += len + 1;
    if (nameLen > 254) return RCODE_FORMERR;
    labels.push(String.fromCharCode(...b.subarray(o + 1, o + 1 + len)));
    o += 1 + len;
  }
  if (o + 4 > b.length) return RCODE_FORMERR;
  return { id: get16(b, 0), flags, name: labels.join("."), qtype: get16(b, o), qclass: get16(b, o + 2), question: b.slice(0, o + 4) };
}

/** A response echoing the question, with answers (A or AAAA records). */
export function buildDnsResponse(q: DnsQuestion, rcode: number, answers: readonly Uint8Array[]): Uint8Array {
  const rdlen = answers.reduce((n, a) => n + 12 + a.length, 0);
  const b = new Uint8Array(q.question.length + rdlen);
  b.set(q.question, 0);
  // QR, the opcode and RD copied, RA set.
  put16(b, 2, 0x8000 | (q.flags & 0x7900) | 0x0080 | rcode);
  put16(b, 4, 1);
  put16(b, 6, answers.length);
  put16(b, 8, 0);
  put16(b, 10, 0);
  let o = q.question.length;
  for (const a of answers) {
    put16(b, o, 0xc00c); // the name: a pointer to the question's
    put16(b, o + 2, a.length === 4 ? TYPE_A : TYPE_AAAA);
    put16(b, o + 4, CLASS_IN);
    put32(b, o + 6, ANSWER_TTL);
    put16(b, o + 10, a.length);
    b.set(a, o + 12);
    o += 12 + a.length;
  }
  return b;
}

/** A reply with only a header (for FORMERR/NOTIMP on queries we cannot read). */
function headerOnly(query: Uint8Array, rcode: number): Uint8Array {
  const b = query.slice(0, 12);
  put16(b, 2, 0x8000 | (get16(query, 2) & 0x7900) | 0x0080 | rcode);
  b.fill(0, 4, 12);
  return b;
}

export function ipv6Bytes(text: string): Uint8Array | undefined {
  let s = text;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  let tail: number[] = [];
  if (v4) {
    const n = parseIPv4(v4[1]);
    if (n === undefined) return undefined;
    tail = [(n >>> 16) & 0xffff, n & 0xffff];
    s = s.slice(0, s.length - v4[1].length) + "0:0";
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const parse = (p: string): number[] | undefined => {
    if (p === "") return [];
    const parts = p.split(":").map((x) => (/^[0-9a-fA-F]{1,4}$/.test(x) ? parseInt(x, 16) : NaN));
    return parts.some(Number.isNaN) ? undefined : parts;
  };
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  if (!head || !rest) return undefined;
  const fill = halves.length === 2 ? 8 - head.length - rest.length : 0;
  if (fill < 0 || (halves.length === 1 && head.length !== 8)) return undefined;
  const words = [...head, ...new Array<number>(fill).fill(0), ...rest];
  if (v4) words.splice(6, 2, ...tail);
  const b = new Uint8Array(16);
  words.forEach((w, i) => put16(b, i * 2, w));
  return b;
}

function recordData(a: HostAddress, qtype: number): Uint8Array | undefined {
  if (qtype === TYPE_A && a.family === 4) {
    const n = parseIPv4(a.address);
    if (n === undefined) return undefined;
    const b = new Uint8Array(4);
    put32(b, 0, n);
    return b;
  }
  if (qtype === TYPE_AAAA && a.family === 6) return ipv6Bytes(a.address);
  return undefined;
}

export class DnsServer {
  private pending = 0;
  private closed = false;

  constructor(private readonly core: StackCore) {}

  input(guestIp: number, guestPort: number, data: Uint8Array): void {
    const q = parseDnsQuery(data);
    if (q === undefined) return;
    if (typeof q === "number") {
      this.reply(guestIp, guestPort, headerOnly(data, q));
      return;
    }
    if (q.qclass !== CLASS_IN || (q.qtype !== TYPE_A && q.qtype !== TYPE_AAAA) || q.name === "") {
      this.reply(guestIp, guestPort, buildDnsResponse(q, RCODE_NOERROR, []));
      return;
    }
    if (this.pending >= MAX_PENDING) return;
    this.pending++;
    this.core.host.lookup(q.name, (result) => {
      this.pending--;
      if (this.closed) return;
      if (!result.ok) {
        this.reply(guestIp, guestPort, buildDnsResponse(q, result.why === "notfound" ? RCODE_NXDOMAIN : RCODE_SERVFAIL, []));
        return;
      }
      const seen = new Set<string>();
      const answers: Uint8Array[] = [];
      for (const a of result.addresses) {
        const rd = recordData(a, q.qtype);
        if (!rd || seen.has(a.address) || answers.length >= MAX_ANSWERS) continue;
        seen.add(a.address);
        answers.push(rd);
      }
      this.reply(guestIp, guestPort, buildDnsResponse(q, RCODE_NOERROR, answers));
    });
  }

  close(): void {
    this.closed = true;
  }

  private reply(guestIp: number, guestPort: number, payload: Uint8Array): void {
    const dns = this.core.config.dns;
    this.core.sendIp(dns, guestIp, PROTO_UDP, buildUdp(dns, guestIp, DNS_PORT, guestPort, payload));
  }
}
