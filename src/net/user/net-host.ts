/**
 * What the user-mode network stack needs from the machine it runs on: TCP and
 * UDP sockets, name lookup, a clock and timers.  The stack itself never
 * touches the host directly, so it runs in a browser build given another
 * implementation, and tests drive it with a scripted host and a manual clock.
 */

/** Why a host TCP connection failed or ended abnormally. */
export type HostTcpError = "refused" | "reset" | "unreachable" | "timeout" | "other";

/** Events of a host TCP socket, called asynchronously by the host. */
export interface HostTcpEvents {
  /** The outbound connection is established (never called for accepted sockets). */
  connected(): void;
  /** Bytes from the peer (not while paused). */
  data(bytes: Uint8Array): void;
  /** The peer sent FIN: no more data will come. */
  end(): void;
  /** The buffered output has gone to the kernel: write more. */
  drain(): void;
  /** The connection failed or was reset; nothing more is called afterwards. */
  error(why: HostTcpError): void;
  /** The socket is fully closed (after end and our end, or after destroy). */
  closed(): void;
}

export interface HostTcpSocket {
  /** Queue bytes; false when the host's buffer is past its high-water mark (wait for drain). */
  write(bytes: Uint8Array): boolean;
  /** Half-close: send FIN after what was written. */
  end(): void;
  /** Abortive close: RST to the peer when possible; no events afterwards. */
  reset(): void;
  /** Stop or restart reading from the peer (backpressure). */
  pause(): void;
  resume(): void;
}

/** A connection accepted on a listening socket, before its events are attached. */
export interface HostTcpAccepted {
  /** The peer's address as dotted IPv4 ("" when not IPv4) and port. */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Attach the events and start the socket paused (it is resumed by the stack). */
  open(events: HostTcpEvents): HostTcpSocket;
}

export interface HostListener {
  close(): void;
}

export interface HostUdpSocket {
  send(bytes: Uint8Array, address: string, port: number): void;
  close(): void;
}

export interface HostUdpEvents {
  /** A datagram from address (dotted IPv4, or an IPv6 text the stack ignores):port. */
  message(bytes: Uint8Array, address: string, port: number): void;
}

export interface HostAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** "notfound": the name does not exist; "error": the lookup failed otherwise. */
export type LookupResult = { ok: true; addresses: HostAddress[] } | { ok: false; why: "notfound" | "error" };

export interface NetHost {
  /** Monotonic milliseconds. */
  now(): number;
  /** Call fn once after ms; the returned function cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
  /** Open a TCP connection to an IPv4 address. */
  tcpConnect(address: string, port: number, events: HostTcpEvents): HostTcpSocket;
  /**
   * Listen on address:port ("" = any).  Hosts like Node bind asynchronously:
   * bound() is called once listening, or failed(message) when the port cannot
   * be bound (failed may also come after bound, should the socket fail later).
   */
  tcpListen(address: string, port: number, accepted: (conn: HostTcpAccepted) => void, failed: (message: string) => void,
    bound?: () => void): HostListener;
  /** A UDP socket bound to address:port ("" and 0 = any, ephemeral); bound() and failed(message) as for tcpListen. */
  udpBind(address: string, port: number, events: HostUdpEvents, failed: (message: string) => void, bound?: () => void): HostUdpSocket;
  /** Resolve a name to all its addresses, as getaddrinfo does (the hosts file included). */
  lookup(name: string, done: (result: LookupResult) => void): void;
  /** A warning for the user (one line), e.g. a hostfwd port that could not be bound. */
  warn(message: string): void;
}
