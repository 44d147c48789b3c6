/**
 * The GDB remote serial protocol, server side, for one connection: the
 * packets gdb-multiarch 13 sends to QEMU's stub, answered as QEMU 7.2
 * answers them (error codes, thread-id format, stop replies), plus
 * QStartNoAckMode.  It talks to a GdbTarget and writes bytes through `send`;
 * its owner feeds it the bytes read from gdb.
 *
 * All-stop mode: gdb sends nothing but Ctrl-C while the target runs, and the
 * target answers a resume with exactly one stop (GdbStub.stopped).
 */
import { PacketReader, escapeBinary, frame, unescapeBinary } from "./packet.js";
import { bytesOf, fromHex, hex, latin1, parseHex, parseHexNumber, toHex } from "./hex.js";
import { PointType, type GdbTarget, type ResumeRequest, type StopEvent } from "./target.js";
import { GDB_SIGTRAP } from "./signals.js";

/** PacketSize, as QEMU's MAX_PACKET_LENGTH. */
export const PACKET_SIZE = 4096;

/** A thread-id argument: pid and tid, where -1 means all and 0 any. */
interface ThreadRef { pid: number; tid: number }

export interface StubOptions {
  /** Called with each packet received and sent (for -d gdb style tracing and tests). */
  trace?(direction: "<-" | "->", payload: string): void;
  /** A packet's handling threw: gdb got E01, the machine runs on; this says what went wrong. */
  error?(err: unknown): void;
}

export class GdbStub {
  private readonly reader: PacketReader;
  private ackMode = true;
  private multiprocess = false;
  /** Thread for registers and memory (Hg), and for resumes (Hc). */
  private gThread: number;
  private cThread: number;
  private running = false;
  private lastStop: StopEvent;
  private lastPacket: Uint8Array | undefined;
  private closed = false;

  constructor(private readonly target: GdbTarget, private readonly send: (bytes: Uint8Array) => void,
    initialStop: StopEvent, private readonly opts: StubOptions = {}) {
    this.lastStop = initialStop;
    const first = initialStop.kind === "stopped" ? initialStop.thread : (target.threads()[0] ?? 1);
    this.gThread = first;
    this.cThread = first;
    this.reader = new PacketReader({
      packet: (payload, valid) => this.onPacket(payload, valid),
      interrupt: () => this.onInterrupt(),
      ack: (ok) => { if (!ok && this.ackMode && this.lastPacket !== undefined) this.send(this.lastPacket); },
    });
  }

  /** Bytes from gdb. */
  receive(bytes: Uint8Array): void {
    this.reader.feed(bytes);
  }

  /** True from a resume until the target reports its stop. */
  isRunning(): boolean {
    return this.running;
  }

  /** The target stopped (or ended): send the stop reply gdb is waiting for. */
  stopped(ev: StopEvent): void {
    this.lastStop = ev;
    if (ev.kind === "stopped") {
      this.gThread = ev.thread;
      this.cThread = ev.thread;
    }
    if (!this.running) return;
    this.running = false;
    this.reply(this.stopReply(ev));
  }

  /** The thread gdb last selected with Hg (or that last stopped). */
  currentThread(): number {
    return this.gThread;
  }

  /** Stop answering (the connection is gone). */
  close(): void {
    this.closed = true;
  }

  private onInterrupt(): void {
    if (this.running) this.target.interrupt();
  }

  private onPacket(payload: Uint8Array, valid: boolean): void {
    if (this.ackMode) this.send(bytesOf(valid ? "+" : "-"));
    if (!valid) return;
    const text = latin1(payload);
    this.opts.trace?.("<-", text);
    try {
      this.handle(text, payload);
    } catch (e) {
      // A debugger's request must not bring the emulator down.
      this.reply("E01");
      this.opts.error?.(e);
    }
  }

  private reply(text: string): void {
    this.replyBytes(bytesOf(text));
  }

  private replyBytes(payload: Uint8Array): void {
    if (this.closed) return;
    this.opts.trace?.("->", latin1(payload));
    const packet = frame(payload);
    this.lastPacket = packet;
    this.send(packet);
  }

  private threadId(tid: number): string {
    return this.multiprocess ? `p${hex(this.target.pid, 2)}.${hex(tid, 2)}` : hex(tid, 2);
  }

  private stopReply(ev: StopEvent): string {
    switch (ev.kind) {
      case "exited": return `W${hex(ev.status & 0xff, 2)}`;
      case "terminated": return `X${hex(ev.signal & 0xff, 2)}`;
      case "stopped": {
        let s = `T${hex(ev.signal & 0xff, 2)}thread:${this.threadId(ev.thread)};`;
        if (ev.watch !== undefined) {
          const name = ev.watch.type === PointType.READ_WATCH ? "rwatch"
            : ev.watch.type === PointType.ACCESS_WATCH ? "awatch" : "watch";
          s += `${name}:${hex(ev.watch.addr)};`;
        }
        return s;
      }
    }
  }

  /** Parse "pPID.TID", "TID", with -1 = all and 0 = any. */
  private parseThread(text: string): ThreadRef | undefined {
    const num = (s: string): number | undefined => s === "-1" ? -1 : parseHexNumber(s);
    if (text.startsWith("p")) {
      const dot = text.indexOf(".");
      const pid = num(dot < 0 ? text.slice(1) : text.slice(1, dot));
      const tid = dot < 0 ? -1 : num(text.slice(dot + 1));
      return pid === undefined || tid === undefined ? undefined : { pid, tid };
    }
    const tid = num(text);
    return tid === undefined ? undefined : { pid: 0, tid };
  }

  /** The one live thread a reference names (any: the first); undefined for a bad or dead one. */
  private resolve(ref: ThreadRef): number | undefined {
    if (ref.pid > 0 && ref.pid !== this.target.pid) return undefined;
    const threads = this.target.threads();
    if (ref.tid <= 0) return threads[0];
    return threads.includes(ref.tid) ? ref.tid : undefined;
  }

  private live(thread: number): number {
    const threads = this.target.threads();
    return threads.includes(thread) ? thread : (threads[0] ?? thread);
  }

  private handle(text: string, raw: Uint8Array): void {
    const cmd = text[0];
    switch (cmd) {
      case "?":
        // A new session: QEMU forgets the breakpoints of any earlier one here.
        this.target.removeAllPoints();
        this.reply(this.stopReply(this.lastStop));
        return;
      case "g": this.readAllRegisters(); return;
      case "G": this.writeAllRegisters(text.slice(1)); return;
      case "p": this.readRegister(text.slice(1)); return;
      case "P": this.writeRegister(text.slice(1)); return;
      case "m": this.readMemory(text.slice(1)); return;
      case "M": this.writeMemory(text.slice(1)); return;
      case "X": this.writeMemoryBinary(raw); return;
      case "c": case "s": case "C": case "S": this.legacyResume(text); return;
      case "H": this.setThread(text.slice(1)); return;
      case "T": {
        const ref = this.parseThread(text.slice(1));
        this.reply(ref !== undefined && ref.tid > 0 && this.resolve(ref) !== undefined ? "OK" : "E22");
        return;
      }
      case "Z": case "z": this.point(text); return;
      case "k":
        // No reply: the target is gone.
        this.target.kill();
        return;
      case "D": this.detach(); return;
      case "q": this.query(text); return;
      case "Q": this.set(text); return;
      case "v": this.vPacket(text); return;
      default:
        this.reply("");
    }
  }

  private readAllRegisters(): void {
    const t = this.live(this.gThread);
    let s = "";
    for (let r = 0; r < this.target.description.gRegisters; r++) {
      const v = this.target.readRegister(t, r);
      if (v === undefined) { this.reply("E14"); return; }
      s += toHex(v);
    }
    this.reply(s);
  }

  private writeAllRegisters(hexText: string): void {
    const bytes = fromHex(hexText);
    if (bytes === undefined) { this.reply("E22"); return; }
    const t = this.live(this.gThread);
    for (let r = 0, at = 0; r < this.target.description.gRegisters && at + 8 <= bytes.length; r++, at += 8) {
      this.target.writeRegister(t, r, bytes.subarray(at, at + 8));
    }
    this.reply("OK");
  }

  private readRegister(arg: string): void {
    const n = parseHexNumber(arg);
    const v = n === undefined ? undefined : this.target.readRegister(this.live(this.gThread), n);
    this.reply(v === undefined ? "E14" : toHex(v));
  }

  private writeRegister(arg: string): void {
    const eq = arg.indexOf("=");
    const n = parseHexNumber(arg.slice(0, eq));
    const v = fromHex(arg.slice(eq + 1));
    if (eq < 0 || n === undefined || v === undefined) { this.reply("E22"); return; }
    this.reply(this.target.writeRegister(this.live(this.gThread), n, v) ? "OK" : "E14");
  }

  /** "addr,len" */
  private addrLen(arg: string): [bigint, number] | undefined {
    const comma = arg.indexOf(",");
    if (comma < 0) return undefined;
    const addr = parseHex(arg.slice(0, comma));
    const len = parseHexNumber(arg.slice(comma + 1));
    return addr === undefined || len === undefined ? undefined : [addr, len];
  }

  private readMemory(arg: string): void {
    const al = this.addrLen(arg);
    if (al === undefined || al[1] > PACKET_SIZE / 2) { this.reply("E22"); return; }
    const data = this.target.readMemory(this.live(this.gThread), al[0], al[1]);
    this.reply(data === undefined ? "E14" : toHex(data));
  }

  private writeMemory(arg: string): void {
    const colon = arg.indexOf(":");
    const al = colon < 0 ? undefined : this.addrLen(arg.slice(0, colon));
    const data = colon < 0 ? undefined : fromHex(arg.slice(colon + 1));
    if (al === undefined || data === undefined || data.length < al[1]) { this.reply("E22"); return; }
    this.reply(this.target.writeMemory(this.live(this.gThread), al[0], data.subarray(0, al[1])) ? "OK" : "E14");
  }

  private writeMemoryBinary(raw: Uint8Array): void {
    const colon = raw.indexOf(0x3a);
    const al = colon < 0 ? undefined : this.addrLen(latin1(raw.subarray(1, colon)));
    const data = colon < 0 ? undefined : unescapeBinary(raw.subarray(colon + 1));
    if (al === undefined || data === undefined || data.length < al[1]) { this.reply("E22"); return; }
    // gdb probes for X with a zero-length write.
    if (al[1] === 0) { this.reply("OK"); return; }
    this.reply(this.target.writeMemory(this.live(this.gThread), al[0], data.subarray(0, al[1])) ? "OK" : "E14");
  }

  private setThread(arg: string): void {
    const op = arg[0];
    const ref = this.parseThread(arg.slice(1));
    if (ref === undefined || (op !== "g" && op !== "c")) { this.reply("E22"); return; }
    if (ref.tid === -1) { this.reply("OK"); return; }
    const t = this.resolve(ref);
    if (t === undefined) { this.reply("E22"); return; }
    if (op === "g") this.gThread = t;
    else this.cThread = t;
    this.reply("OK");
  }

  private point(text: string): void {
    const insert = text[0] === "Z";
    const parts = text.slice(1).split(",");
    const type = parseHexNumber(parts[0] ?? "");
    const addr = parseHex(parts[1] ?? "");
    const kind = parseHexNumber((parts[2] ?? "").split(";")[0]);
    if (parts.length < 3 || type === undefined || addr === undefined || kind === undefined) { this.reply("E22"); return; }
    if (type > PointType.ACCESS_WATCH) { this.reply(""); return; }
    const r = insert ? this.target.insertPoint(type as PointType, addr, kind)
      : this.target.removePoint(type as PointType, addr, kind);
    this.reply(r === "unsupported" ? "" : r ? "OK" : "E22");
  }

  private detach(): void {
    this.reply("OK");
    this.target.removeAllPoints();
    this.target.detach();
  }

  private resume(request: ResumeRequest): void {
    this.running = true;
    this.target.resume(request);
  }

  /** c [addr], s [addr], C sig[;addr], S sig[;addr]. */
  private legacyResume(text: string): void {
    const step = text[0] === "s" || text[0] === "S";
    let arg = text.slice(1);
    let signal = 0;
    if (text[0] === "C" || text[0] === "S") {
      const semi = arg.indexOf(";");
      signal = parseHexNumber(semi < 0 ? arg : arg.slice(0, semi)) ?? 0;
      arg = semi < 0 ? "" : arg.slice(semi + 1);
    }
    const thread = this.live(this.cThread);
    if (arg !== "") {
      const pc = parseHex(arg);
      if (pc === undefined) { this.reply("E22"); return; }
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigUint64(0, pc, true);
      this.target.writeRegister(thread, 32, bytes);
    }
    this.resume({ step, thread, signal });
  }

  /** vCont;action[:thread]... The first action that names a thread wins for it; all-stop means one stop ends it all. */
  private vCont(actions: string): void {
    let step: number | undefined;
    let signalled: { thread: number; signal: number } | undefined;
    let any: number | undefined;
    for (const item of actions.split(";").slice(1)) {
      const colon = item.indexOf(":");
      const action = colon < 0 ? item : item.slice(0, colon);
      const verb = action[0];
      if (verb !== "c" && verb !== "s" && verb !== "C" && verb !== "S") { this.reply(""); return; }
      const signal = verb === "C" || verb === "S" ? parseHexNumber(action.slice(1)) : 0;
      if (signal === undefined) { this.reply("E22"); return; }
      let thread: number | undefined;
      if (colon >= 0) {
        const ref = this.parseThread(item.slice(colon + 1));
        if (ref === undefined) { this.reply("E22"); return; }
        if (ref.tid > 0) {
          thread = this.resolve(ref);
          if (thread === undefined) { this.reply("E22"); return; }
        }
      }
      const who = thread ?? this.live(this.cThread);
      any ??= who;
      if ((verb === "s" || verb === "S") && step === undefined) step = who;
      if (signal !== 0 && signalled === undefined) signalled = { thread: who, signal };
    }
    if (any === undefined) { this.reply("E22"); return; }
    const thread = step ?? signalled?.thread ?? any;
    this.cThread = thread;
    this.resume({ step: step !== undefined, thread, signal: signalled !== undefined && signalled.thread === thread ? signalled.signal : 0 });
  }

  private vPacket(text: string): void {
    if (text === "vCont?") { this.reply("vCont;c;C;s;S"); return; }
    if (text.startsWith("vCont;")) { this.vCont(text); return; }
    if (text.startsWith("vKill")) {
      this.reply("OK");
      this.target.kill();
      return;
    }
    // vMustReplyEmpty and everything else we do not have.
    this.reply("");
  }

  private query(text: string): void {
    if (text.startsWith("qSupported")) {
      this.multiprocess = text.includes("multiprocess+");
      let features = `PacketSize=${hex(PACKET_SIZE)};qXfer:features:read+`;
      if (this.target.auxv !== undefined) features += ";qXfer:auxv:read+";
      this.reply(features + ";QStartNoAckMode+;vContSupported+;multiprocess+");
      return;
    }
    if (text.startsWith("qXfer:features:read:")) {
      const rest = text.slice("qXfer:features:read:".length);
      const colon = rest.indexOf(":");
      const doc = colon < 0 ? undefined : this.target.description.files.get(rest.slice(0, colon));
      this.xfer(doc === undefined ? undefined : bytesOf(doc), rest.slice(colon + 1));
      return;
    }
    if (text.startsWith("qXfer:auxv:read::") && this.target.auxv !== undefined) {
      this.xfer(this.target.auxv(), text.slice("qXfer:auxv:read::".length));
      return;
    }
    if (text === "qfThreadInfo") {
      this.reply("m" + this.target.threads().map((t) => this.threadId(t)).join(","));
      return;
    }
    if (text === "qsThreadInfo") { this.reply("l"); return; }
    if (text === "qC") {
      const first = this.target.threads()[0];
      this.reply(first === undefined ? "E22" : "QC" + this.threadId(first));
      return;
    }
    if (text.startsWith("qAttached")) { this.reply(this.target.attached ? "1" : "0"); return; }
    if (text === "qOffsets" && this.target.offsets !== undefined) { this.reply(this.target.offsets()); return; }
    if (text.startsWith("qThreadExtraInfo,")) {
      const ref = this.parseThread(text.slice("qThreadExtraInfo,".length));
      const t = ref === undefined ? undefined : this.resolve(ref);
      if (t === undefined) { this.reply("E22"); return; }
      const info = this.target.threadInfo?.(t);
      this.reply(info === undefined ? "" : toHex(bytesOf(info)));
      return;
    }
    // qTStatus, qSymbol, qRcmd, qemu.* ...: not supported.
    this.reply("");
  }

  private set(text: string): void {
    if (text === "QStartNoAckMode") {
      // The OK is still acknowledged by gdb; nothing after it is.
      this.reply("OK");
      this.ackMode = false;
      return;
    }
    this.reply("");
  }

  /** A qXfer read of `doc` at "offset,length": m (more follows) or l (last), binary-escaped. */
  private xfer(doc: Uint8Array | undefined, range: string): void {
    const al = this.addrLen(range);
    if (al === undefined) { this.reply("E22"); return; }
    if (doc === undefined) { this.reply("E00"); return; }
    const offset = Number(al[0]);
    if (offset > doc.length) { this.reply("E00"); return; }
    const len = Math.min(al[1], (PACKET_SIZE - 5) >> 1);
    const last = offset + len >= doc.length;
    const chunk = doc.subarray(offset, last ? doc.length : offset + len);
    const out = new Uint8Array(chunk.length * 2 + 1);
    const esc = escapeBinary(chunk);
    out[0] = last ? 0x6c : 0x6d; // 'l' or 'm'
    out.set(esc, 1);
    this.replyBytes(out.subarray(0, esc.length + 1));
  }
}

/** The stop a target reports when it is first attached: SIGTRAP in `thread`, as QEMU's "T05". */
export function initialStop(thread: number): StopEvent {
  return { kind: "stopped", thread, signal: GDB_SIGTRAP };
}
