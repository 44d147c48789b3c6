/**
 * The protocol engine against a fake target: what gdb-multiarch 13 sends and
 * what QEMU 7.2 answers (register and memory packets, threads, breakpoints,
 * run control, stop replies, qXfer, no-ack mode), byte for byte.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { GdbStub, initialStop } from "../../src/gdbstub/stub.js";
import { PointType, type GdbTarget, type ResumeRequest, type TargetDescription } from "../../src/gdbstub/target.js";
import { escapeBinary, frame } from "../../src/gdbstub/packet.js";
import { bytesOf, latin1 } from "../../src/gdbstub/hex.js";

const MEM_BASE = 0x1000n;

class FakeTarget implements GdbTarget {
  readonly pid = 1;
  readonly attached = true;
  readonly description: TargetDescription = {
    files: new Map([["target.xml", "<target>" + "x".repeat(3000) + "</target>"], ["a.xml", "<feature/>"]]),
    gRegisters: 3,
  };
  /** Thread -> register values (8 bytes each). */
  regs = new Map<number, bigint[]>([[1, [0n, 0x1122334455667788n, 0x80000000n]], [2, [0n, 2n, 0x80000010n]]]);
  mem = new Uint8Array(256).map((_, i) => i);
  points: string[] = [];
  resumes: ResumeRequest[] = [];
  events: string[] = [];

  threads(): number[] { return [...this.regs.keys()]; }
  threadInfo(t: number): string { return `CPU#${t - 1} [running]`; }
  readRegister(thread: number, regno: number): Uint8Array | undefined {
    const v = this.regs.get(thread)?.[regno];
    if (v === undefined) return undefined;
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v, true);
    return b;
  }
  writeRegister(thread: number, regno: number, value: Uint8Array): boolean {
    const r = this.regs.get(thread);
    if (r === undefined || regno >= r.length) return false;
    r[regno] = new DataView(value.buffer, value.byteOffset, 8).getBigUint64(0, true);
    return true;
  }
  readMemory(_t: number, addr: bigint, length: number): Uint8Array | undefined {
    const at = Number(addr - MEM_BASE);
    return at < 0 || at + length > this.mem.length ? undefined : this.mem.slice(at, at + length);
  }
  writeMemory(_t: number, addr: bigint, data: Uint8Array): boolean {
    const at = Number(addr - MEM_BASE);
    if (at < 0 || at + data.length > this.mem.length) return false;
    this.mem.set(data, at);
    return true;
  }
  insertPoint(type: PointType, addr: bigint, kind: number): boolean {
    this.points.push(`Z${type},${addr.toString(16)},${kind}`);
    return true;
  }
  removePoint(type: PointType, addr: bigint, kind: number): boolean | "unsupported" {
    if (type === PointType.HW_BREAK) return "unsupported";
    this.points.push(`z${type},${addr.toString(16)},${kind}`);
    return addr !== 0xdeadn;
  }
  removeAllPoints(): void { this.events.push("removeAll"); }
  resume(r: ResumeRequest): void { this.resumes.push(r); }
  interrupt(): void { this.events.push("interrupt"); }
  kill(): void { this.events.push("kill"); }
  detach(): void { this.events.push("detach"); }
}

/** A stub on a fake target; `ask` sends one packet and returns the reply payloads. */
function session(): { target: FakeTarget; stub: GdbStub; wire: string[]; ask(payload: string | Uint8Array): string[] } {
  const target = new FakeTarget();
  const wire: string[] = [];
  const stub = new GdbStub(target, (b) => wire.push(latin1(b)), initialStop(1));
  const ask = (payload: string | Uint8Array): string[] => {
    wire.length = 0;
    stub.receive(frame(typeof payload === "string" ? bytesOf(payload) : payload));
    return wire.filter((w) => w.startsWith("$")).map((w) => w.slice(1, w.lastIndexOf("#")));
  };
  return { target, stub, wire, ask };
}

test("handshake: qSupported, acks, then QStartNoAckMode turns them off", () => {
  const s = session();
  assert.deepEqual(s.ask("qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;vContSupported+"),
    ["PacketSize=1000;qXfer:features:read+;QStartNoAckMode+;vContSupported+;multiprocess+"]);
  assert.equal(s.wire[0], "+", "packets are acked first");
  assert.deepEqual(s.ask("QStartNoAckMode"), ["OK"]);
  assert.equal(s.wire[0], "+", "QStartNoAckMode itself is still acked");
  assert.deepEqual(s.ask("vMustReplyEmpty"), [""]);
  assert.ok(!s.wire.includes("+"), "no acks once no-ack mode is on");
});

test("a packet with a bad checksum gets '-', and '-' from gdb resends the last reply", () => {
  const s = session();
  s.wire.length = 0;
  s.stub.receive(bytesOf("$g#00"));
  assert.deepEqual(s.wire, ["-"]);
  s.ask("qC");
  s.wire.length = 0;
  s.stub.receive(bytesOf("-"));
  assert.deepEqual(s.wire, ["$QC01#f5"]);
});

test("threads: ids with and without multiprocess, H, T, qC, qfThreadInfo, qThreadExtraInfo", () => {
  const s = session();
  assert.deepEqual(s.ask("qfThreadInfo"), ["m01,02"]);
  s.ask("qSupported:multiprocess+");
  assert.deepEqual(s.ask("qfThreadInfo"), ["mp01.01,p01.02"]);
  assert.deepEqual(s.ask("qsThreadInfo"), ["l"]);
  assert.deepEqual(s.ask("qC"), ["QCp01.01"]);
  assert.deepEqual(s.ask("Hgp0.0"), ["OK"]);
  assert.deepEqual(s.ask("Hgp1.2"), ["OK"]);
  assert.deepEqual(s.ask("p1"), ["0200000000000000"], "registers come from the Hg thread");
  assert.deepEqual(s.ask("Hgp1.7"), ["E22"]);
  assert.deepEqual(s.ask("Hgp2.1"), ["E22"], "another process");
  assert.deepEqual(s.ask("Hc-1"), ["OK"]);
  assert.deepEqual(s.ask("Tp01.02"), ["OK"]);
  assert.deepEqual(s.ask("Tp01.09"), ["E22"]);
  assert.deepEqual(s.ask("qThreadExtraInfo,p1.2"), [Buffer.from("CPU#1 [running]").toString("hex")]);
  assert.deepEqual(s.ask("qAttached:1"), ["1"]);
});

test("registers: g, G, p, P", () => {
  const s = session();
  assert.deepEqual(s.ask("g"), ["0000000000000000" + "8877665544332211" + "0000008000000000"]);
  assert.deepEqual(s.ask("p2"), ["0000008000000000"]);
  assert.deepEqual(s.ask("p3"), ["E14"]);
  assert.deepEqual(s.ask("P1=efbeadde00000000"), ["OK"]);
  assert.equal(s.target.regs.get(1)?.[1], 0xdeadbeefn);
  assert.deepEqual(s.ask("P9=00"), ["E14"]);
  assert.deepEqual(s.ask("G" + "00".repeat(8) + "0100000000000000" + "0400000000000000"), ["OK"]);
  assert.deepEqual(s.target.regs.get(1), [0n, 1n, 4n]);
});

test("memory: m, M, X with escapes, errors", () => {
  const s = session();
  assert.deepEqual(s.ask("m1010,4"), ["10111213"]);
  assert.deepEqual(s.ask("m2000,4"), ["E14"]);
  assert.deepEqual(s.ask("m1010,1000"), ["E22"], "more than fits in a reply");
  assert.deepEqual(s.ask("M1000,2:abcd"), ["OK"]);
  assert.deepEqual([...s.target.mem.subarray(0, 2)], [0xab, 0xcd]);
  assert.deepEqual(s.ask("M1000,4:ab"), ["E22"]);
  // X: binary data; '#', '$', '}' and '*' arrive escaped.
  const data = Uint8Array.of(0x23, 0x24, 0x7d, 0x2a, 0x03);
  const x = new Uint8Array([...bytesOf("X1004,5:"), ...escapeBinary(data)]);
  assert.deepEqual(s.ask(x), ["OK"]);
  assert.deepEqual([...s.target.mem.subarray(4, 9)], [...data]);
  assert.deepEqual(s.ask("X1004,0:"), ["OK"], "the zero-length probe");
  assert.deepEqual(s.ask("X9000,1:a"), ["E14"]);
});

test("breakpoints and watchpoints: Z/z 0-4", () => {
  const s = session();
  assert.deepEqual(s.ask("Z0,10552,2"), ["OK"]);
  assert.deepEqual(s.ask("Z2,80001000,8"), ["OK"]);
  assert.deepEqual(s.ask("Z3,80001000,4"), ["OK"]);
  assert.deepEqual(s.ask("Z4,80001000,1"), ["OK"]);
  assert.deepEqual(s.ask("z0,10552,2"), ["OK"]);
  assert.deepEqual(s.ask("z0,dead,2"), ["E22"]);
  assert.deepEqual(s.ask("z1,10552,2"), [""], "a type the target lacks gets the empty reply");
  assert.deepEqual(s.ask("Z5,0,0"), [""]);
  assert.deepEqual(s.ask("Z0,zz,2"), ["E22"]);
  assert.deepEqual(s.target.points, ["Z0,10552,2", "Z2,80001000,8", "Z3,80001000,4", "Z4,80001000,1", "z0,10552,2", "z0,dead,2"]);
});

test("run control: vCont, c/s, stop replies, Ctrl-C", () => {
  const s = session();
  s.ask("qSupported:multiprocess+");
  assert.deepEqual(s.ask("vCont?"), ["vCont;c;C;s;S"]);
  assert.deepEqual(s.ask("?"), ["T05thread:p01.01;"]);
  assert.deepEqual(s.target.events, ["removeAll"], "'?' starts a session afresh, as QEMU");
  // Continue all: no reply until the target stops.
  assert.deepEqual(s.ask("vCont;c:p1.-1"), []);
  assert.deepEqual(s.target.resumes.pop(), { step: false, thread: 1, signal: 0 });
  assert.ok(s.stub.isRunning());
  // Ctrl-C while running asks the target to stop; its stop is the reply.
  s.stub.receive(Uint8Array.of(3));
  assert.deepEqual(s.target.events.pop(), "interrupt");
  s.wire.length = 0;
  s.stub.stopped({ kind: "stopped", thread: 2, signal: 2 });
  assert.deepEqual(s.wire, ["$T02thread:p01.02;#04"]);
  assert.ok(!s.stub.isRunning());
  // Step one thread, continue the others; the step names the thread.
  assert.deepEqual(s.ask("vCont;s:p1.2;c:p1.-1"), []);
  assert.deepEqual(s.target.resumes.pop(), { step: true, thread: 2, signal: 0 });
  assert.deepEqual(s.wire, ["+"]);
  s.wire.length = 0;
  s.stub.stopped({ kind: "stopped", thread: 2, signal: 5, watch: { type: PointType.WRITE_WATCH, addr: 0x80001000n } });
  assert.equal(s.wire[0].slice(1, s.wire[0].indexOf("#")), "T05thread:p01.02;watch:80001000;");
  // Continue with a signal.
  s.ask("vCont;C0b:p1.1;c");
  assert.deepEqual(s.target.resumes.pop(), { step: false, thread: 1, signal: 11 });
  s.wire.length = 0;
  s.stub.stopped({ kind: "terminated", signal: 11 });
  assert.deepEqual(s.wire, ["$X0b#ea"]);
  // Legacy packets: s with an address sets the pc first.
  s.ask("s80000100");
  assert.deepEqual(s.target.resumes.pop(), { step: true, thread: 1, signal: 0 });
  s.stub.stopped({ kind: "exited", status: 0 });
  s.ask("c");
  assert.deepEqual(s.target.resumes.pop(), { step: false, thread: 1, signal: 0 });
  s.wire.length = 0;
  s.stub.stopped({ kind: "exited", status: 3 });
  assert.deepEqual(s.wire, ["$W03#ba"]);
  assert.deepEqual(s.ask("vCont;x"), [""]);
  assert.deepEqual(s.ask("vCont;c:p1.9"), ["E22"]);
});

test("rwatch and awatch stop replies", () => {
  const s = session();
  s.ask("c");
  s.wire.length = 0;
  s.stub.stopped({ kind: "stopped", thread: 1, signal: 5, watch: { type: PointType.READ_WATCH, addr: 0x10n } });
  assert.match(s.wire[0], /^\$T05thread:01;rwatch:10;#/);
  s.ask("c");
  s.wire.length = 0;
  s.stub.stopped({ kind: "stopped", thread: 1, signal: 5, watch: { type: PointType.ACCESS_WATCH, addr: 0x10n } });
  assert.match(s.wire[0], /^\$T05thread:01;awatch:10;#/);
});

test("qXfer:features:read in chunks, with m then l", () => {
  const s = session();
  const doc = s.target.description.files.get("target.xml") ?? "";
  const [first] = s.ask("qXfer:features:read:target.xml:0,ffb");
  assert.equal(first[0], "m");
  const got = first.slice(1);
  const [second] = s.ask(`qXfer:features:read:target.xml:${got.length.toString(16)},ffb`);
  assert.equal(second[0], "l");
  assert.equal(got + second.slice(1), doc);
  assert.deepEqual(s.ask("qXfer:features:read:a.xml:0,ffb"), ["l<feature/>"]);
  assert.deepEqual(s.ask("qXfer:features:read:a.xml:4,2"), ["mtu"]);
  assert.deepEqual(s.ask("qXfer:features:read:nope.xml:0,ffb"), ["E00"]);
  assert.deepEqual(s.ask("qXfer:features:read:a.xml:999,10"), ["E00"]);
});

test("detach, kill and the unsupported", () => {
  const s = session();
  assert.deepEqual(s.ask("qTStatus"), [""]);
  assert.deepEqual(s.ask("qOffsets"), [""], "no qOffsets on a machine");
  assert.deepEqual(s.ask("qXfer:auxv:read::0,ffb"), [""]);
  assert.deepEqual(s.ask("!"), [""]);
  assert.deepEqual(s.ask("D;1"), ["OK"]);
  assert.deepEqual(s.target.events, ["removeAll", "detach"]);
  assert.deepEqual(s.ask("k"), []);
  assert.deepEqual(s.target.events.pop(), "kill");
});

test("a target that throws costs gdb an E01, not the emulator", () => {
  const s = session();
  const errors: unknown[] = [];
  const stub = new GdbStub(s.target, (b) => s.wire.push(latin1(b)), initialStop(1), { error: (e) => errors.push(e) });
  s.target.readMemory = () => { throw new Error("broken"); };
  s.wire.length = 0;
  stub.receive(frame(bytesOf("m1000,4")));
  assert.deepEqual(s.wire, ["+", "$E01#a6"]);
  assert.equal((errors[0] as Error).message, "broken");
});
