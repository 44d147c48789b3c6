/**
 * One TCP connection between the guest and a host socket: the stack plays
 * the guest's peer (RFC 9293) and splices the byte stream to the host.
 *
 * Towards the guest we keep what the host sent until the guest acknowledges
 * it, send within the guest's advertised window (probing a zero window),
 * and retransmit on timeout with exponential backoff (RFC 6298) or after
 * three duplicate ACKs (RFC 5681's fast retransmit).  From the
 * guest we take in-order data up to our window, which shrinks while the host
 * socket is slow; data beyond it is not acknowledged.  A bounded number of
 * out-of-order segments is kept.  Window scaling, SACK and timestamps are not
 * offered, so the guest uses none.
 */
import { seqAdd, seqDiff, seqLe, seqLt } from "./bytes.js";
import { ByteQueue } from "./byte-queue.js";
import type { HostTcpError, HostTcpEvents, HostTcpSocket, NetHost } from "./net-host.js";
import { ACK, FIN, PSH, RST, SYN, type TcpOut, type TcpSegment } from "./tcp-segment.js";

export type TcpState =
  | "connecting" // the guest's SYN is in; the host connection is being opened
  | "syn-sent" // hostfwd: our SYN is out to the guest
  | "syn-received"
  | "established"
  | "fin-wait-1"
  | "fin-wait-2"
  | "close-wait"
  | "closing"
  | "last-ack"
  | "time-wait"
  | "closed";

/** Our MSS: a 1500-byte Ethernet MTU less the IPv4 and TCP headers. */
export const OUR_MSS = 1460;
/** The MSS assumed when the guest sends none (RFC 9293). */
const DEFAULT_MSS = 536;
/** Our largest receive window; also what may wait for a slow host socket. */
export const RECV_WINDOW = 65535;
/** Host bytes kept for the guest (sent and unacknowledged, or unsent) before the host socket is paused. */
export const SEND_BUFFER = 128 * 1024;
const RTO_INITIAL = 1000;
const RTO_MIN = 200;
const RTO_MAX = 60_000;
/** Retransmissions of one segment before the connection is abandoned (RST both ways). */
const MAX_RETRIES = 12;
const MAX_SYN_RETRIES = 6;
/** Out-of-order segments kept from the guest (their bytes are also bounded, by the window). */
const OOO_SEGMENTS = 32;
/** TIME_WAIT: short, since the only peer is our own guest and ports are recycled by the host. */
export const TIME_WAIT_MS = 2000;

/** What a connection needs from the stack around it. */
export interface TcpOwner {
  readonly host: NetHost;
  /** A segment from remote to the guest. */
  output(conn: TcpConn, seg: TcpOut): void;
  /** The most data one segment to the guest may carry, for a guest whose MSS is `mss` (more with segmentation offload). */
  maxSegment(mss: number): number;
  /** The connection is over: forget it. */
  remove(conn: TcpConn): void;
  /** The host could not reach the guest's destination: ICMP destination unreachable for its SYN (code 0 net, 1 host). */
  unreachable(conn: TcpConn, code: number, synSeq: number): void;
}

export class TcpConn implements HostTcpEvents {
  state: TcpState;
  sock: HostTcpSocket | undefined;

  // Our side of the sequence space (data towards the guest).
  private readonly iss: number;
  private sndUna: number;
  private sndNxt: number;
  /** The highest sequence number sent: sndNxt goes back to sndUna to retransmit, this does not. */
  private sndMax: number;
  private sndWnd = 0;
  private guestMss = DEFAULT_MSS;
  /** Host bytes from sndUna on: in flight, then unsent. */
  private readonly sendBuf = new ByteQueue();
  /** The host ended its stream: FIN follows the buffered data. */
  private finQueued = false;
  private finSent = false;
  private hostPaused = false;

  // The guest's side (data towards the host).
  private rcvNxt = 0;
  private finReceived = false;
  /** Bytes written while the host socket was past its high-water mark. */
  private hostBacklog = 0;
  private hostBlocked = false;
  private lastAdvertised = RECV_WINDOW;
  private readonly ooo: { seq: number; data: Uint8Array; fin: boolean }[] = [];

  // Timers.
  private rto = RTO_INITIAL;
  private srtt = 0;
  private rttvar = 0;
  private retries = 0;
  private dupAcks = 0;
  private timed: { seq: number; at: number } | undefined;
  private cancelRtx: (() => void) | undefined;
  private cancelPersist: (() => void) | undefined;
  private cancelTimeWait: (() => void) | undefined;

  constructor(
    private readonly owner: TcpOwner,
    readonly key: string,
    readonly guestIp: number,
    readonly guestPort: number,
    readonly remoteIp: number,
    readonly remotePort: number,
    initial: "connecting" | "syn-sent",
    iss: number,
  ) {
    this.state = initial;
    this.iss = iss >>> 0;
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sndMax = this.iss;
  }

  /** The guest's MSS: the payload of each segment the guest takes (a larger segment is split by its NIC). */
  get mss(): number {
    return this.guestMss;
  }

  /** The guest opened the connection with this SYN; the host socket is being connected. */
  guestSyn(seg: TcpSegment): void {
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.sndWnd = seg.window;
    this.guestMss = Math.min(OUR_MSS, seg.mss ?? DEFAULT_MSS);
  }

  /** hostfwd: send our SYN to the guest (the host socket stays paused until the guest answers). */
  openToGuest(): void {
    this.sndNxt = this.sndMax = seqAdd(this.iss, 1);
    this.emit(SYN, this.iss, undefined, OUR_MSS);
    this.armRtx();
  }

  private get now(): number {
    return this.owner.host.now();
  }

  private rcvWindow(): number {
    return this.hostBlocked ? Math.max(0, RECV_WINDOW - this.hostBacklog) : RECV_WINDOW;
  }

  private emit(flags: number, seq: number, data?: Uint8Array, mss?: number): void {
    const window = this.rcvWindow();
    this.lastAdvertised = window;
    this.owner.output(this, {
      srcPort: this.remotePort,
      dstPort: this.guestPort,
      seq,
      ack: flags & ACK ? this.rcvNxt : 0,
      flags,
      window,
      mss,
      data,
    });
  }

  private ackNow(): void {
    this.emit(ACK, this.sndNxt);
  }

  // ---- host socket events ----

  connected(): void {
    if (this.state !== "connecting") return;
    this.state = "syn-received";
    this.sndNxt = this.sndMax = seqAdd(this.iss, 1);
    this.emit(SYN | ACK, this.iss, undefined, OUR_MSS);
    this.armRtx();
  }

  data(bytes: Uint8Array): void {
    if (this.state === "closed" || this.finQueued) return;
    this.sendBuf.push(bytes.slice());
    if (this.sendBuf.length >= SEND_BUFFER && !this.hostPaused) {
      this.hostPaused = true;
      this.sock?.pause();
    }
    this.trySend();
  }

  end(): void {
    if (this.state === "closed") return;
    this.finQueued = true;
    this.trySend();
  }

  drain(): void {
    if (!this.hostBlocked) return;
    this.hostBlocked = false;
    this.hostBacklog = 0;
    // The guest may be waiting on a closed window: tell it the window is open.
    if (this.lastAdvertised < RECV_WINDOW / 2 && this.synchronized()) this.ackNow();
  }

  error(why: HostTcpError): void {
    if (this.state === "closed") return;
    this.sock = undefined;
    if (this.state === "connecting") {
      // As slirp: refused is answered with RST to the guest's SYN, an unreachable network or host with ICMP.
      if (why === "unreachable") this.owner.unreachable(this, 1, seqAdd(this.rcvNxt, -1));
      else this.owner.output(this, { srcPort: this.remotePort, dstPort: this.guestPort, seq: 0, ack: this.rcvNxt, flags: RST | ACK, window: 0 });
    } else if (this.state !== "time-wait") {
      this.emit(RST | ACK, this.resetSeq());
    }
    this.destroy();
  }

  closed(): void {
    this.sock = undefined;
    // Nothing more can come from the host; if we were still waiting on it, the guest is reset.
    if (this.state === "connecting" || this.state === "syn-sent") {
      this.error("other");
    }
  }

  // ---- segments from the guest ----

  private synchronized(): boolean {
    return this.state !== "connecting" && this.state !== "syn-sent" && this.state !== "syn-received" && this.state !== "closed";
  }

  segment(seg: TcpSegment): void {
    switch (this.state) {
      case "closed":
        return;
      case "connecting":
        // The guest retransmits its SYN while the host connects; a RST gives up.
        if (seg.flags & RST) this.abortHost();
        return;
      case "syn-sent":
        this.synSentSegment(seg);
        return;
      default:
        this.synchronizedSegment(seg);
    }
  }

  private synSentSegment(seg: TcpSegment): void {
    const ackOk = (seg.flags & ACK) !== 0 && seg.ack === this.sndNxt;
    if ((seg.flags & ACK) && !ackOk) {
      if (!(seg.flags & RST)) this.owner.output(this, { srcPort: this.remotePort, dstPort: this.guestPort, seq: seg.ack, ack: 0, flags: RST, window: 0 });
      return;
    }
    if (seg.flags & RST) {
      if (ackOk) this.abortHost();
      return;
    }
    if (!(seg.flags & SYN) || !ackOk) return;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.sndUna = seg.ack;
    this.sndWnd = seg.window;
    this.guestMss = Math.min(OUR_MSS, seg.mss ?? DEFAULT_MSS);
    this.state = "established";
    this.stopRtx();
    this.retries = 0;
    this.ackNow();
    this.sock?.resume();
    this.trySend();
  }

  private acceptable(seg: TcpSegment): boolean {
    const len = seg.data.length + (seg.flags & SYN ? 1 : 0) + (seg.flags & FIN ? 1 : 0);
    const wnd = this.rcvWindow();
    const inWindow = (s: number): boolean => seqLe(this.rcvNxt, s) && seqLt(s, seqAdd(this.rcvNxt, wnd));
    if (len === 0) return wnd === 0 ? seg.seq === this.rcvNxt : inWindow(seg.seq) || seg.seq === this.rcvNxt;
    if (wnd === 0) return seg.seq === this.rcvNxt; // only the ACK part is used
    return inWindow(seg.seq) || inWindow(seqAdd(seg.seq, len - 1));
  }

  private synchronizedSegment(seg: TcpSegment): void {
    if (this.state === "syn-received" && (seg.flags & (SYN | ACK | RST)) === SYN && seg.seq === seqAdd(this.rcvNxt, -1)) {
      this.emit(SYN | ACK, this.iss, undefined, OUR_MSS); // the guest did not get our SYN-ACK
      return;
    }
    if (!this.acceptable(seg)) {
      // Old duplicates (including retransmitted FINs in TIME_WAIT) and segments past the window: re-ACK.
      if (!(seg.flags & RST)) this.ackNow();
      return;
    }
    if (seg.flags & RST) {
      this.abortHost();
      return;
    }
    if (seg.flags & SYN) {
      this.ackNow(); // a SYN in the window of a synchronized connection: a challenge ACK (RFC 5961)
      return;
    }
    if (!(seg.flags & ACK)) return;

    if (this.state === "syn-received") {
      if (seg.ack !== seqAdd(this.iss, 1)) {
        this.owner.output(this, { srcPort: this.remotePort, dstPort: this.guestPort, seq: seg.ack, ack: 0, flags: RST, window: 0 });
        return;
      }
      this.state = "established";
      this.sndUna = seg.ack;
      this.sndWnd = seg.window;
      this.stopRtx();
      this.retries = 0;
      this.rto = RTO_INITIAL;
    }
    if (seqLt(this.sndMax, seg.ack)) {
      this.ackNow(); // acknowledges what we never sent
      return;
    }
    this.processAck(seg);
    if (this.isClosed()) return;
    if (seg.data.length > 0 || seg.flags & FIN) this.processData(seg);
    if (this.isClosed()) return;
    this.trySend();
  }

  private processAck(seg: TcpSegment): void {
    if (seqLt(seg.ack, this.sndUna)) return; // an old ACK
    const advanced = seqDiff(seg.ack, this.sndUna);
    const wasZero = this.sndWnd === 0;
    const previousWindow = this.sndWnd;
    this.sndWnd = seg.window;
    if (advanced > 0) {
      const dataAcked = Math.min(advanced, this.sendBuf.length);
      this.sendBuf.consume(dataAcked);
      this.sndUna = seg.ack;
      if (seqLt(this.sndNxt, seg.ack)) this.sndNxt = seg.ack;
      if (this.timed && seqLe(this.timed.seq, seg.ack)) {
        if (this.retries === 0) this.rttSample(this.now - this.timed.at);
        this.timed = undefined;
      }
      this.retries = 0;
      if (this.sndUna === this.sndMax) this.stopRtx();
      else this.armRtx(true);
      if (this.hostPaused && this.sendBuf.length < SEND_BUFFER / 2) {
        this.hostPaused = false;
        this.sock?.resume();
      }
      this.dupAcks = 0;
    } else if (seg.window === 0) {
      this.retries = 0; // the guest is alive and answering our window probes
    } else if (seg.data.length === 0 && !(seg.flags & FIN) && seg.window === previousWindow && this.sndMax !== this.sndUna) {
      // Fast retransmit (RFC 5681): the third duplicate ACK means a segment was lost (the
      // guest's receive queue overflowed, say); send again from it without waiting for the timer.
      if (++this.dupAcks === 3) {
        this.timed = undefined;
        this.sndNxt = this.sndUna;
      }
    }
    // The window opened while a probe is out: the probe was most likely dropped; send from sndUna at once.
    if (advanced === 0 && wasZero && seg.window > 0 && this.sndMax !== this.sndUna && !this.finSent) this.sndNxt = this.sndUna;
    if (this.finSent && this.sndUna === this.sndMax) {
      if (this.state === "fin-wait-1") this.state = "fin-wait-2";
      else if (this.state === "closing") this.enterTimeWait();
      else if (this.state === "last-ack") this.destroy();
    }
  }

  private processData(seg: TcpSegment): void {
    if (this.state !== "established" && this.state !== "fin-wait-1" && this.state !== "fin-wait-2") {
      this.ackNow(); // data after the guest's FIN: ignored
      return;
    }
    let data = seg.data;
    let seq = seg.seq;
    const fin = (seg.flags & FIN) !== 0;
    const old = seqDiff(this.rcvNxt, seq);
    if (old > 0) {
      data = data.subarray(Math.min(old, data.length));
      seq = seqAdd(seq, Math.min(old, seg.data.length));
    }
    if (seq !== this.rcvNxt) {
      this.keepOutOfOrder(seq, data, fin);
      this.ackNow();
      return;
    }
    this.takeInOrder(data, fin);
    // Segments kept out of order may now follow on.
    for (let i = 0; i < this.ooo.length && !this.finReceived; ) {
      const o = this.ooo[i];
      const skip = seqDiff(this.rcvNxt, o.seq);
      if (skip < 0) {
        i++;
        continue;
      }
      this.ooo.splice(i, 1);
      if (skip < o.data.length || (skip === o.data.length && o.fin)) this.takeInOrder(o.data.subarray(skip), o.fin);
      i = 0;
    }
    if (!this.isClosed()) this.ackNow();
  }

  /** A method, so that TypeScript does not narrow the state across calls that change it. */
  isClosed(): boolean {
    return this.state === "closed";
  }

  private keepOutOfOrder(seq: number, data: Uint8Array, fin: boolean): void {
    if (this.ooo.length >= OOO_SEGMENTS || this.ooo.some((o) => o.seq === seq)) return;
    const wnd = this.rcvWindow();
    const held = this.ooo.reduce((n, o) => n + o.data.length, 0);
    const room = Math.min(wnd - seqDiff(seq, this.rcvNxt), RECV_WINDOW - held);
    if (room <= 0) return;
    this.ooo.push({ seq, data: data.slice(0, room), fin: fin && data.length <= room });
  }

  /** Data at rcvNxt: up to the window goes to the host; a FIN after all of it ends the guest's stream. */
  private takeInOrder(data: Uint8Array, fin: boolean): void {
    const take = Math.min(data.length, this.rcvWindow());
    if (take > 0) {
      const bytes = data.slice(0, take);
      this.rcvNxt = seqAdd(this.rcvNxt, take);
      if (this.sock) {
        const wasBlocked = this.hostBlocked;
        if (!this.sock.write(bytes)) this.hostBlocked = true;
        if (this.hostBlocked) this.hostBacklog = wasBlocked ? this.hostBacklog + take : take;
      }
    }
    if (fin && take === data.length) {
      this.rcvNxt = seqAdd(this.rcvNxt, 1);
      this.finReceived = true;
      this.ooo.length = 0;
      this.sock?.end();
      if (this.state === "established") this.state = "close-wait";
      else if (this.state === "fin-wait-1") this.state = this.sndUna === this.sndMax ? "time-wait" : "closing";
      else if (this.state === "fin-wait-2") this.state = "time-wait";
      if (this.state === "time-wait") this.enterTimeWait();
    }
  }

  // ---- sending towards the guest ----

  /** Send what the window allows from sndNxt on: new data, data again after a timeout, and the FIN after the data. */
  private trySend(): void {
    const st = this.state;
    if (st !== "established" && st !== "close-wait" && st !== "fin-wait-1" && st !== "closing" && st !== "last-ack") return;
    for (;;) {
      const offset = seqDiff(this.sndNxt, this.sndUna);
      const unsent = this.sendBuf.length - offset;
      const usable = seqDiff(seqAdd(this.sndUna, this.sndWnd), this.sndNxt);
      if (unsent > 0 && usable > 0) {
        const len = Math.min(unsent, usable, this.owner.maxSegment(this.guestMss));
        const data = this.sendBuf.read(offset, len);
        const last = len === unsent;
        this.emit(ACK | (last ? PSH : 0), this.sndNxt, data);
        if (!this.timed && this.retries === 0 && this.sndNxt === this.sndMax) this.timed = { seq: seqAdd(this.sndNxt, len), at: this.now };
        this.advance(len);
        this.armRtx(false);
        continue;
      }
      // The FIN takes no window; it follows the last byte, the first time or again after a timeout.
      if (unsent === 0 && this.finQueued) {
        if (!this.finSent) {
          this.finSent = true;
          this.state = this.state === "established" ? "fin-wait-1" : "last-ack";
        }
        this.emit(FIN | ACK, this.sndNxt);
        this.advance(1);
        this.armRtx(false);
        return;
      }
      if (unsent > 0 && this.sndWnd === 0 && this.sndUna === this.sndMax) this.armPersist();
      return;
    }
  }

  private advance(n: number): void {
    this.sndNxt = seqAdd(this.sndNxt, n);
    if (seqLt(this.sndMax, this.sndNxt)) this.sndMax = this.sndNxt;
  }

  /**
   * The sequence number of a RST to the guest: a guest checks that it is exactly the next
   * one it expects (RFC 5961), which is where its acknowledgements have got to.
   */
  private resetSeq(): number {
    return this.sndUna;
  }

  private armPersist(): void {
    if (this.cancelPersist) return;
    this.cancelPersist = this.owner.host.setTimer(this.rto, () => {
      this.cancelPersist = undefined;
      if (this.state !== "established" && this.state !== "close-wait") return;
      if (this.sndWnd !== 0 || this.sndUna !== this.sndMax || this.sendBuf.length === 0) {
        this.trySend();
        return;
      }
      // A zero-window probe: one byte beyond the window, then retransmitted with backoff until the window opens.
      this.emit(ACK, this.sndNxt, this.sendBuf.read(0, 1));
      this.advance(1);
      this.armRtx(false);
    });
  }

  private rttSample(ms: number): void {
    if (this.srtt === 0) {
      this.srtt = ms;
      this.rttvar = ms / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - ms);
      this.srtt = 0.875 * this.srtt + 0.125 * ms;
    }
    this.rto = Math.min(RTO_MAX, Math.max(RTO_MIN, this.srtt + Math.max(10, 4 * this.rttvar)));
  }

  /** Start the retransmission timer (restart it when asked, as on new acknowledgements). */
  private armRtx(restart = false): void {
    if (this.cancelRtx && !restart) return;
    this.cancelRtx?.();
    this.cancelRtx = this.owner.host.setTimer(this.rto, () => {
      this.cancelRtx = undefined;
      this.retransmit();
    });
  }

  private stopRtx(): void {
    this.cancelRtx?.();
    this.cancelRtx = undefined;
  }

  private retransmit(): void {
    if (this.state === "closed" || this.state === "time-wait") return;
    this.retries++;
    const limit = this.state === "syn-sent" || this.state === "syn-received" ? MAX_SYN_RETRIES : MAX_RETRIES;
    if (this.retries > limit) {
      this.emit(RST | ACK, this.resetSeq());
      this.abortHost();
      return;
    }
    this.rto = Math.min(RTO_MAX, this.rto * 2);
    this.timed = undefined; // Karn: no RTT samples from retransmitted data
    if (this.state === "syn-sent") this.emit(SYN, this.iss, undefined, OUR_MSS);
    else if (this.state === "syn-received") this.emit(SYN | ACK, this.iss, undefined, OUR_MSS);
    else {
      if (this.sndUna === this.sndMax) return;
      // Go back to the first unacknowledged byte and send again what the window allows (the FIN included).
      this.sndNxt = this.sndUna;
      if (this.sndWnd === 0 && this.sendBuf.length > 0) {
        this.emit(ACK, this.sndNxt, this.sendBuf.read(0, 1)); // the window probe, again
        this.advance(1);
      } else {
        this.trySend();
      }
    }
    this.armRtx(false);
  }

  private enterTimeWait(): void {
    this.state = "time-wait";
    this.stopRtx();
    this.cancelPersist?.();
    this.cancelPersist = undefined;
    this.cancelTimeWait?.();
    this.cancelTimeWait = this.owner.host.setTimer(TIME_WAIT_MS, () => this.destroy());
  }

  /** The guest reset or gave up: reset the host side and forget the connection. */
  private abortHost(): void {
    const s = this.sock;
    this.sock = undefined;
    s?.reset();
    this.destroy();
  }

  /** Forget the connection: timers off; the host socket (if still open) reset. */
  destroy(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.stopRtx();
    this.cancelPersist?.();
    this.cancelTimeWait?.();
    this.cancelPersist = this.cancelTimeWait = undefined;
    this.sendBuf.clear();
    this.ooo.length = 0;
    const s = this.sock;
    this.sock = undefined;
    // A socket closed in order has already ended both ways; one still open here is being abandoned.
    if (s && !(this.finReceived && this.finSent)) s.reset();
    this.owner.remove(this);
  }
}
