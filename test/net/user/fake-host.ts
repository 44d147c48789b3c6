/** A scripted NetHost for protocol tests: a manual clock, sockets the test drives by hand, a name table. */
import type {
  HostAddress,
  HostListener,
  HostTcpAccepted,
  HostTcpEvents,
  HostTcpSocket,
  HostUdpEvents,
  HostUdpSocket,
  LookupResult,
  NetHost,
} from "../../../src/net/user/net-host.js";

export class FakeTcp implements HostTcpSocket {
  readonly written: Uint8Array[] = [];
  ended = false;
  wasReset = false;
  paused = false;
  /** What write() answers (false: past the high-water mark). */
  writeAccepts = true;
  constructor(
    readonly address: string,
    readonly port: number,
    public events: HostTcpEvents,
  ) {}
  write(bytes: Uint8Array): boolean {
    this.written.push(bytes.slice());
    return this.writeAccepts;
  }
  end(): void {
    this.ended = true;
  }
  reset(): void {
    this.wasReset = true;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  /** Everything written so far, as text. */
  text(): string {
    return Buffer.concat(this.written).toString("latin1");
  }
}

export class FakeUdp implements HostUdpSocket {
  readonly sent: { bytes: Uint8Array; address: string; port: number }[] = [];
  closed = false;
  constructor(
    readonly address: string,
    readonly port: number,
    readonly events: HostUdpEvents,
  ) {}
  send(bytes: Uint8Array, address: string, port: number): void {
    this.sent.push({ bytes: bytes.slice(), address, port });
  }
  close(): void {
    this.closed = true;
  }
}

export interface FakeListener {
  readonly address: string;
  readonly port: number;
  readonly accepted: (conn: HostTcpAccepted) => void;
  readonly failed: (message: string) => void;
  closed: boolean;
}

export class FakeHost implements NetHost {
  time = 0;
  private timers: { at: number; seq: number; fn: () => void; live: boolean }[] = [];
  private timerSeq = 0;
  readonly connects: FakeTcp[] = [];
  readonly listeners: FakeListener[] = [];
  readonly udps: FakeUdp[] = [];
  readonly names = new Map<string, HostAddress[]>();
  readonly warnings: string[] = [];
  /** Ports the host refuses to bind (as another program's would be): failed() instead of bound(), a microtask later. */
  readonly busyPorts = new Set<number>();
  lookups = 0;

  /** Bind as Node does, asynchronously: a microtask later the port is bound, or refused when busy. */
  private bind(port: number, failed: (message: string) => void, bound?: () => void): void {
    queueMicrotask(() => {
      if (this.busyPorts.has(port)) failed(`listen EADDRINUSE: address already in use :::${port}`);
      else bound?.();
    });
  }

  now(): number {
    return this.time;
  }
  setTimer(ms: number, fn: () => void): () => void {
    const t = { at: this.time + ms, seq: this.timerSeq++, fn, live: true };
    this.timers.push(t);
    return () => {
      t.live = false;
    };
  }
  get pendingTimers(): number {
    return this.timers.filter((t) => t.live).length;
  }
  /** Move the clock forward, running the timers that fall due in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => t.live);
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.time = Math.max(this.time, due.at);
      due.live = false;
      due.fn();
    }
    this.time = end;
  }
  tcpConnect(address: string, port: number, events: HostTcpEvents): HostTcpSocket {
    const s = new FakeTcp(address, port, events);
    this.connects.push(s);
    return s;
  }
  tcpListen(address: string, port: number, accepted: (conn: HostTcpAccepted) => void, failed: (message: string) => void,
    bound?: () => void): HostListener {
    const l: FakeListener = { address, port, accepted, failed, closed: false };
    this.listeners.push(l);
    this.bind(port, failed, bound);
    return {
      close: () => {
        l.closed = true;
      },
    };
  }
  /** A client connects to a listener: returns the socket the stack opened (it starts paused). */
  clientConnect(l: FakeListener, remoteAddress: string, remotePort: number): FakeTcp {
    let sock: FakeTcp | undefined;
    l.accepted({
      remoteAddress,
      remotePort,
      open: (events) => {
        sock = new FakeTcp(remoteAddress, remotePort, events);
        sock.paused = true;
        return sock;
      },
    });
    if (!sock) throw new Error("the stack did not open the accepted connection");
    return sock;
  }
  udpBind(address: string, port: number, events: HostUdpEvents, failed: (message: string) => void, bound?: () => void): HostUdpSocket {
    const s = new FakeUdp(address, port, events);
    this.udps.push(s);
    if (port !== 0) this.bind(port, failed, bound);
    return s;
  }
  lookup(name: string, done: (result: LookupResult) => void): void {
    this.lookups++;
    const a = this.names.get(name.toLowerCase());
    done(a ? { ok: true, addresses: a } : { ok: false, why: "notfound" });
  }
  warn(message: string): void {
    this.warnings.push(message);
  }
}
