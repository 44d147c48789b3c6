/**
 * The socket backends, as QEMU 7.2 has them:
 *
 * - `-netdev socket,listen=[HOST]:PORT | connect=HOST:PORT` and
 *   `-netdev stream,server=on|off,addr.type=inet|unix,...`: a stream
 *   connection to one peer, every frame preceded by its 4-byte big-endian
 *   length (frame-stream.ts).  A listening backend takes one peer at a time
 *   (a second is turned away while the first is there); frames the guest
 *   sends with no peer connected are dropped.
 * - `-netdev socket,udp=HOST:PORT,localaddr=HOST:PORT` and
 *   `-netdev dgram,local.*=,remote.*=`: one frame per UDP datagram.
 * - `-netdev socket,mcast=GROUP:PORT[,localaddr=ADDR]` and `-netdev dgram`
 *   with a multicast remote: every machine on the group hears every frame.
 *
 * A peer announcing a length no frame can have is disconnected with a log
 * line; the guest keeps running.  `info()` gives the text QEMU's `info
 * network` shows after "type=TYPE,".
 */
import { NetdevError, type NetBackend, type NetFrontend } from "./net-client.js";
import type { DatagramSocket, NetAddress, NetHost, StreamListener, StreamPeer } from "./net-host.js";
import { FrameReader, frameWithLength } from "./frame-stream.js";
import { FrontendLink } from "./queued-backend.js";

/** The -netdev options after type=: key → value, in the order given. */
export type NetdevOptions = ReadonlyMap<string, string>;

/** Refuse keys the type does not have, as QEMU: "Invalid parameter 'foo'". */
export function checkKeys(opts: NetdevOptions, allowed: readonly string[]): void {
  for (const k of opts.keys()) {
    if (k !== "id" && k !== "type" && !allowed.includes(k)) throw new NetdevError(`Invalid parameter '${k}'`);
  }
}

/** "HOST:PORT" (HOST may be empty when `anyHost` is given, as listen=:5555). */
export function parseHostPort(text: string, anyHost?: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(text);
  const host = m === null ? undefined : m[1] ?? m[2];
  const port = m === null ? NaN : Number(m[3]);
  if (host === undefined || !(port >= 0 && port <= 65535)) throw new NetdevError(`address '${text}' is not HOST:PORT`);
  if (host === "" && anyHost === undefined) throw new NetdevError(`address '${text}' has no host`);
  return { host: host === "" ? anyHost as string : host, port };
}

function describe(a: NetAddress): string {
  return a.kind === "inet" ? `${a.host}:${a.port}` : a.path;
}

/** A stream backend: the peer (when there is one) and its framing. */
class StreamNetdev implements NetBackend {
  readonly link = new FrontendLink();
  peer: StreamPeer | undefined;
  infoText = "";
  listener: StreamListener | undefined;
  private closed = false;

  constructor(readonly id: string, readonly type: string, private readonly host: NetHost) {}

  attach(frontend: NetFrontend): void {
    this.link.attach(frontend);
  }

  send(frame: Uint8Array): void {
    this.peer?.write(frameWithLength(frame));
  }

  resume(): void {
    this.link.resume();
  }

  info(): string {
    return this.infoText;
  }

  close(): void {
    this.closed = true;
    this.listener?.close();
    this.peer?.close();
    this.peer = undefined;
    this.link.clear();
  }

  /** Handlers for a connected peer: frames to the frontend, a bad length closes it. */
  events(peer: StreamPeer, onGone: () => void): { data(b: Uint8Array): void; closed(): void } {
    const reader = new FrameReader();
    let bad = false;
    return {
      data: (bytes) => {
        if (bad || this.closed || this.peer !== peer) return;
        const err = reader.push(bytes, (frame) => this.link.receive(frame));
        if (err !== undefined) {
          bad = true;
          this.host.log(`netdev ${this.id}: ${peer.remote} sent ${err}: connection closed`);
          peer.close();
          this.dropPeer(peer, onGone);
        }
      },
      closed: () => this.dropPeer(peer, onGone),
    };
  }

  private dropPeer(peer: StreamPeer, onGone: () => void): void {
    if (this.peer !== peer) return;
    this.peer = undefined;
    onGone();
  }
}

/** Listen and take one peer at a time. */
async function listenOn(host: NetHost, nd: StreamNetdev, addr: NetAddress, connected: (peer: StreamPeer) => string,
  idle: string): Promise<void> {
  nd.infoText = idle;
  nd.listener = await host.listen(addr, (peer) => {
    if (nd.peer !== undefined) {
      // One peer at a time, as QEMU (it stops accepting while connected).
      peer.close();
      return { data: () => {}, closed: () => {} };
    }
    nd.peer = peer;
    nd.infoText = connected(peer);
    return nd.events(peer, () => { nd.infoText = idle; });
  });
}

async function connectTo(host: NetHost, nd: StreamNetdev, addr: NetAddress): Promise<void> {
  await host.connect(addr, (peer) => {
    nd.peer = peer;
    return nd.events(peer, () => {});
  });
}

/** -netdev socket,listen=|connect=|udp=,localaddr= */
export async function socketNetdev(id: string, opts: NetdevOptions, host: NetHost): Promise<NetBackend> {
  checkKeys(opts, ["listen", "connect", "udp", "localaddr", "mcast", "fd"]);
  const modes = ["listen", "connect", "mcast", "udp"].filter((k) => opts.has(k));
  if (modes.length !== 1 || opts.has("fd")) throw new NetdevError("exactly one of listen=, connect=, mcast= or udp= is required");
  if (opts.has("localaddr") && !opts.has("udp") && !opts.has("mcast")) {
    throw new NetdevError("localaddr= is only valid with mcast= or udp=");
  }
  const mcast = opts.get("mcast");
  if (mcast !== undefined) {
    const group = parseHostPort(mcast);
    return multicastNetdev(id, "socket", host, group, opts.get("localaddr"), `socket: mcast=${group.host}:${group.port}`);
  }
  const listen = opts.get("listen");
  if (listen !== undefined) {
    const a = parseHostPort(listen, "0.0.0.0");
    const nd = new StreamNetdev(id, "socket", host);
    try {
      await listenOn(host, nd, { kind: "inet", ...a }, (peer) => `socket: connection from ${peer.remote}`, "");
    } catch (e) {
      throw new NetdevError(`can't bind ip=${a.host} to socket: ${(e as Error).message}`);
    }
    return nd;
  }
  const connect = opts.get("connect");
  if (connect !== undefined) {
    const a = parseHostPort(connect);
    const nd = new StreamNetdev(id, "socket", host);
    try {
      await connectTo(host, nd, { kind: "inet", ...a });
    } catch (e) {
      throw new NetdevError(`Failed to connect to '${connect}': ${(e as Error).message}`);
    }
    nd.infoText = `socket: connect to ${a.host}:${a.port}`;
    return nd;
  }
  const udp = opts.get("udp") as string;
  const local = opts.get("localaddr");
  if (local === undefined) throw new NetdevError("localaddr= is mandatory with udp=");
  const remote: NetAddress & { kind: "inet" } = { kind: "inet", ...parseHostPort(udp) };
  const bound: NetAddress & { kind: "inet" } = { kind: "inet", ...parseHostPort(local, "0.0.0.0") };
  return datagramNetdev(id, "socket", `socket: udp=${remote.host}:${remote.port}`, `can't bind ip=${bound.host} to socket`,
    (receive) => host.datagram(bound, remote, receive));
}

/** The address of -netdev stream's addr.* or dgram's local.* / remote.* keys. */
function dottedAddress(opts: NetdevOptions, prefix: string): NetAddress | undefined {
  const type = opts.get(`${prefix}.type`);
  if (type === undefined) {
    if ([...opts.keys()].some((k) => k.startsWith(`${prefix}.`))) throw new NetdevError(`Parameter '${prefix}.type' is missing`);
    return undefined;
  }
  if (type === "inet") {
    const h = opts.get(`${prefix}.host`);
    const p = opts.get(`${prefix}.port`);
    if (h === undefined) throw new NetdevError(`Parameter '${prefix}.host' is missing`);
    if (p === undefined) throw new NetdevError(`Parameter '${prefix}.port' is missing`);
    const port = /^\d+$/.test(p) ? Number(p) : NaN;
    if (!(port <= 65535)) throw new NetdevError(`Parameter '${prefix}.port' expects a port number`);
    return { kind: "inet", host: h, port };
  }
  if (type === "unix") {
    const path = opts.get(`${prefix}.path`);
    if (path === undefined) throw new NetdevError(`Parameter '${prefix}.path' is missing`);
    return { kind: "unix", path };
  }
  throw new NetdevError(`Parameter '${prefix}.type' does not accept value '${type}'`);
}

const INET_KEYS = (p: string): string[] => [`${p}.type`, `${p}.host`, `${p}.port`, `${p}.path`];

/** -netdev stream,server=on|off,addr.type=inet|unix,addr.host=,addr.port=|addr.path= */
export async function streamNetdev(id: string, opts: NetdevOptions, host: NetHost): Promise<NetBackend> {
  checkKeys(opts, ["server", ...INET_KEYS("addr")]);
  const addr = dottedAddress(opts, "addr");
  if (addr === undefined) throw new NetdevError("Parameter 'addr' is missing");
  const server = opts.get("server") ?? "off";
  if (server !== "on" && server !== "off") throw new NetdevError("Parameter 'server' expects 'on' or 'off'");
  const nd = new StreamNetdev(id, "stream", host);
  const shown = addr.kind === "inet" ? `tcp:${describe(addr)}` : `unix:${addr.path}`;
  if (server === "on") {
    try {
      await listenOn(host, nd, addr, (peer) => addr.kind === "inet" ? `tcp:${peer.remote}` : shown, "");
    } catch (e) {
      throw new NetdevError(`can't bind to ${describe(addr)}: ${(e as Error).message}`);
    }
    return nd;
  }
  // QEMU 7.2 keeps running when the connection fails and says so in `info network`.
  nd.infoText = shown;
  connectTo(host, nd, addr).catch((e: unknown) => {
    nd.infoText = "connection error";
    host.log(`netdev ${id}: cannot connect to ${describe(addr)}: ${(e as Error).message}`);
  });
  return nd;
}

/** A datagram backend: one frame per datagram, both ways. */
class DatagramNetdev implements NetBackend {
  readonly link = new FrontendLink();
  socket: DatagramSocket | undefined;

  constructor(readonly id: string, readonly type: string, private readonly infoText: string) {}

  attach(frontend: NetFrontend): void {
    this.link.attach(frontend);
  }

  send(frame: Uint8Array): void {
    this.socket?.send(frame);
  }

  resume(): void {
    this.link.resume();
  }

  info(): string {
    return this.infoText;
  }

  close(): void {
    this.socket?.close();
    this.socket = undefined;
    this.link.clear();
  }
}

/**
 * A datagram netdev on the socket `open` makes (UDP, multicast, Unix): received datagrams become
 * frames; a socket that cannot be made is a NetdevError whose line starts with `failure`.
 */
async function datagramNetdev(id: string, type: string, info: string, failure: string,
  open: (receive: (bytes: Uint8Array) => void) => Promise<DatagramSocket>): Promise<NetBackend> {
  const nd = new DatagramNetdev(id, type, info);
  try {
    nd.socket = await open((bytes) => {
      if (bytes.length > 0) nd.link.receive(bytes);
    });
  } catch (e) {
    throw new NetdevError(`${failure}: ${(e as Error).message}`);
  }
  return nd;
}

/** An IPv4 multicast address (224.0.0.0/4), as IN_MULTICAST. */
function isMulticast(host: string): boolean {
  const m = /^(\d+)\.\d+\.\d+\.\d+$/.exec(host);
  return m !== null && Number(m[1]) >= 224 && Number(m[1]) <= 239;
}

/** A multicast backend (socket mcast=, dgram with a multicast remote): one frame per datagram, to and from the group. */
async function multicastNetdev(id: string, type: string, host: NetHost, group: { host: string; port: number },
  localAddr: string | undefined, info: string): Promise<NetBackend> {
  if (!isMulticast(group.host)) {
    const n = group.host.split(".").reduce((v, part) => v * 256 + (Number(part) & 255), 0);
    throw new NetdevError(`specified mcastaddr ${group.host} (0x${n.toString(16).padStart(8, "0")}) does not contain a multicast address`);
  }
  return datagramNetdev(id, type, info, `can't join multicast group ${group.host}:${group.port}`,
    (receive) => host.multicast({ kind: "inet", ...group }, localAddr, receive));
}

/** -netdev dgram,local.type=inet,local.host=,local.port=,remote.type=inet,remote.host=,remote.port= (a multicast remote: local.* optional) */
export async function dgramNetdev(id: string, opts: NetdevOptions, host: NetHost): Promise<NetBackend> {
  checkKeys(opts, [...INET_KEYS("local"), ...INET_KEYS("remote")]);
  const local = dottedAddress(opts, "local");
  const remote = dottedAddress(opts, "remote");
  if (remote?.kind === "inet" && isMulticast(remote.host)) {
    if (local !== undefined && local.kind !== "inet") throw new NetdevError("only support inet or fd type for local");
    return multicastNetdev(id, "dgram", host, remote, local?.host, `mcast=${remote.host}:${remote.port}`);
  }
  if (local === undefined) throw new NetdevError("dgram requires local= parameter");
  if (remote === undefined) throw new NetdevError("type=inet or type=unix requires remote parameter");
  if (local.kind !== remote.kind) throw new NetdevError("remote and local types must be the same");
  if (local.kind === "unix" && remote.kind === "unix") {
    return datagramNetdev(id, "dgram", `udp=${local.path}:${remote.path}`, `can't bind unix=${local.path} to socket`,
      (receive) => host.unixDatagram(local.path, remote.path, receive));
  }
  if (local.kind !== "inet" || remote.kind !== "inet") throw new NetdevError("only support inet or unix type for dgram");
  return datagramNetdev(id, "dgram", `udp=${describe(local)}/${describe(remote)}`, `can't bind ip=${local.host} to socket`,
    (receive) => host.datagram(local, remote, receive));
}
