/**
 * `-netdev user` options, checked as QEMU 7.2 checks them (net/slirp.c), with
 * its messages.  A message is the text QEMU prints after
 * "-netdev user,...: "; the caller adds that prefix.
 */
import { NetdevError } from "../net-client.js";
import { formatIPv4, inetAton } from "./bytes.js";

export interface HostFwdRule {
  readonly udp: boolean;
  /** The host address to listen on, as text; "" for any. */
  readonly hostAddr: string;
  readonly hostPort: number;
  readonly guestAddr: number;
  readonly guestPort: number;
  /** The rule as written (for messages). */
  readonly text: string;
}

export interface UserNetConfig {
  readonly net: number;
  readonly mask: number;
  /** The gateway/host address (host=). */
  readonly host: number;
  readonly dns: number;
  readonly dhcpStart: number;
  readonly restrict: boolean;
  /** DHCP option 12, when given. */
  readonly hostname: string;
  readonly hostfwd: readonly HostFwdRule[];
}

const KNOWN = new Set(["net", "host", "dns", "dhcpstart", "hostfwd", "restrict", "hostname", "ipv4", "ipv6"]);
/** Options QEMU knows that this stack does not provide: refused by name rather than as unknown. */
const UNSUPPORTED = new Set([
  "tftp", "bootfile", "smb", "smbserver", "guestfwd", "dnssearch", "domainname", "tftp-server-name",
  "ipv6-net", "ipv6-host", "ipv6-dns", "ipv6-prefix", "ipv6-prefixlen",
]);

/** QEMU's boolean option values. */
function parseBool(name: string, value: string): boolean {
  if (["on", "yes", "true", "y"].includes(value)) return true;
  if (["off", "no", "false", "n"].includes(value)) return false;
  throw new NetdevError(`Parameter '${name}' expects 'on' or 'off'`);
}

/** strtol(text, &end, 0) with *end == '\0' required: decimal, 0x hex or 0 octal, optional sign. */
function parseCInt(text: string): number | undefined {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!m) return text === "" ? 0 : undefined;
  const body = m[2];
  const v = body.startsWith("0x") || body.startsWith("0X") ? parseInt(body.slice(2), 16) : body.startsWith("0") ? parseInt(body, 8) : parseInt(body, 10);
  return m[1] === "-" ? -v : v;
}

/** Split at the first sep: [before, after], or undefined when sep is absent (QEMU's get_str_sep). */
function splitAt(text: string, sep: string): [string, string] | undefined {
  const i = text.indexOf(sep);
  return i < 0 ? undefined : [text.slice(0, i), text.slice(i + 1)];
}

/** A hostfwd= rule ("[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport"); guest address defaults to dhcpStart. */
export function parseHostFwd(text: string, defaultGuest: number): HostFwdRule {
  const bad = (why: string): never => {
    throw new NetdevError(`Invalid host forwarding rule '${text}' (${why})`);
  };
  const a = splitAt(text, ":") ?? bad("No : separators");
  let udp = false;
  if (a[0] === "udp") udp = true;
  else if (a[0] !== "tcp" && a[0] !== "") bad("Bad protocol name");
  const b = splitAt(a[1], ":") ?? bad("Missing : separator");
  if (b[0] !== "" && inetAton(b[0]) === undefined) bad("Bad host address");
  const hostAddr = b[0] === "" ? "" : formatIPv4(inetAton(b[0]) ?? 0);
  const c = splitAt(b[1], "-") ?? bad("Bad host port separator");
  const hostPort = parseCInt(c[0]);
  if (hostPort === undefined || hostPort < 0 || hostPort > 65535) bad("Bad host port");
  const d = splitAt(c[1], ":") ?? bad("Missing guest address");
  let guestAddr = defaultGuest;
  if (d[0] !== "") guestAddr = inetAton(d[0]) ?? bad("Bad guest address");
  const guestPort = d[1] === "" ? undefined : parseCInt(d[1]);
  if (guestPort === undefined || guestPort < 1 || guestPort > 65535) bad("Bad guest port");
  return { udp, hostAddr, hostPort: hostPort ?? 0, guestAddr, guestPort: guestPort ?? 0, text };
}

/** hostfwd_remove's "[tcp|udp]:[hostaddr]:hostport"; undefined when malformed ("invalid format"). */
export function parseHostFwdKey(text: string): { udp: boolean; hostAddr: string; hostPort: number } | undefined {
  const a = splitAt(text, ":");
  if (!a || (a[0] !== "tcp" && a[0] !== "udp" && a[0] !== "")) return undefined;
  const b = splitAt(a[1], ":");
  if (!b) return undefined;
  if (b[0] !== "" && inetAton(b[0]) === undefined) return undefined;
  // QEMU reads the port with atoi: leading digits, anything after ignored.
  const port = parseInt(b[1], 10);
  return { udp: a[0] === "udp", hostAddr: b[0] === "" ? "" : formatIPv4(inetAton(b[0]) ?? 0), hostPort: Number.isNaN(port) ? 0 : port };
}

function parseNet(text: string): { net: number; mask: number } {
  const slash = splitAt(text, "/");
  let mask = 0xffffff00;
  const addr = inetAton(slash ? slash[0] : text);
  if (addr === undefined) throw new NetdevError("Failed to parse netmask");
  if (slash) {
    const asAddr = inetAton(slash[1]);
    if (asAddr !== undefined && slash[1].includes(".")) mask = asAddr;
    else {
      const m = /^\s*[+-]?\d+/.exec(slash[1]);
      const shift = m ? parseInt(m[0], 10) : 0;
      if (!m || m[0].length !== slash[1].length) throw new NetdevError("Failed to parse netmask (trailing chars)");
      if (shift < 4 || shift > 32) throw new NetdevError("Invalid netmask provided (must be in range 4-32)");
      mask = shift === 32 ? 0xffffffff : (~((1 << (32 - shift)) - 1)) >>> 0;
    }
  }
  return { net: (addr & mask) >>> 0, mask };
}

/**
 * The options after id=, in order, repeats kept (hostfwd= may repeat; for
 * other options the last one wins, as in QEMU's option parsing).
 */
export function parseUserOptions(props: ReadonlyArray<readonly [string, string]>): UserNetConfig {
  const one = new Map<string, string>();
  const fwdTexts: string[] = [];
  for (const [k, v] of props) {
    if (UNSUPPORTED.has(k)) throw new NetdevError(`-netdev user: '${k}=' is not supported by tsemu's user-mode network`);
    if (!KNOWN.has(k)) throw new NetdevError(`Invalid parameter '${k}'`);
    if (k === "hostfwd") fwdTexts.push(v);
    else one.set(k, v);
  }
  const ipv4 = one.has("ipv4") ? parseBool("ipv4", one.get("ipv4") ?? "") : true;
  const ipv6 = one.has("ipv6") ? parseBool("ipv6", one.get("ipv6") ?? "") : false;
  if (!ipv4 && !ipv6) throw new NetdevError("IPv4 and IPv6 disabled");
  if (!ipv4) throw new NetdevError("-netdev user: ipv4=off is not supported by tsemu (IPv6 is not provided)");
  if (ipv6) throw new NetdevError("-netdev user: ipv6=on is not supported by tsemu (IPv4 only; use ipv6=off or leave it out)");
  const restrict = one.has("restrict") ? parseBool("restrict", one.get("restrict") ?? "") : false;
  const hostname = one.get("hostname") ?? "";
  if (new TextEncoder().encode(hostname).length > 255) throw new NetdevError("'vhostname' parameter cannot exceed 255 bytes");

  let net = 0x0a000200;
  let mask = 0xffffff00;
  const netText = one.get("net");
  if (netText !== undefined) ({ net, mask } = parseNet(netText));
  // QEMU's defaults keep the .2/.3/.15 host part under any mask.
  let host = (net | (0x0202 & ~mask)) >>> 0;
  let dns = (net | (0x0203 & ~mask)) >>> 0;
  let dhcpStart = (net | (0x020f & ~mask)) >>> 0;
  const hostText = one.get("host");
  if (hostText !== undefined) {
    host = inetAton(hostText) ?? fail("Failed to parse host");
    if (((host & mask) >>> 0) !== net) fail("Host doesn't belong to network");
  }
  const dnsText = one.get("dns");
  if (dnsText !== undefined) dns = inetAton(dnsText) ?? fail("Failed to parse DNS");
  if (dns === host) fail("DNS must be different from host");
  const dhcpText = one.get("dhcpstart");
  if (dhcpText !== undefined) {
    dhcpStart = inetAton(dhcpText) ?? fail("Failed to parse DHCP start address");
    if (((dhcpStart & mask) >>> 0) !== net) fail("DHCP doesn't belong to network");
    if (dhcpStart === host || dhcpStart === dns) fail("DHCP must be different from host and DNS");
  }
  const hostfwd = fwdTexts.map((t) => parseHostFwd(t, dhcpStart));
  return { net, mask, host, dns, dhcpStart, restrict, hostname, hostfwd };
}

function fail(message: string): never {
  throw new NetdevError(message);
}
