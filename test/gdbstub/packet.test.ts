/**
 * Framing of the remote protocol: checksums, `$...#cs` packets split out of
 * an arbitrary byte stream, acks, Ctrl-C, and the binary escapes of X
 * packets and qXfer replies.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { PacketReader, checksum, escapeBinary, frame, unescapeBinary } from "../../src/gdbstub/packet.js";
import { bytesOf, fromHex, latin1, parseHex, toHex } from "../../src/gdbstub/hex.js";

function collect(): { events: string[]; reader: PacketReader } {
  const events: string[] = [];
  const reader = new PacketReader({
    packet: (payload, valid) => events.push(`${valid ? "packet" : "bad"}:${latin1(payload)}`),
    interrupt: () => events.push("^C"),
    ack: (ok) => events.push(ok ? "+" : "-"),
  });
  return { events, reader };
}

test("checksum and frame", () => {
  assert.equal(checksum(bytesOf("OK")), 0x9a);
  assert.equal(latin1(frame(bytesOf("OK"))), "$OK#9a");
  assert.equal(latin1(frame(bytesOf(""))), "$#00");
  // gdb's own packets, as seen on the wire.
  assert.equal(latin1(frame(bytesOf("qTStatus"))), "$qTStatus#49");
  assert.equal(latin1(frame(bytesOf("vCont;c:p1.-1"))), "$vCont;c:p1.-1#0f");
});

test("the reader splits packets, acks and Ctrl-C out of any chunking", () => {
  const wire = "+$g#67-$m10040,38#f9\x03+$vMustReplyEmpty#3a";
  const whole = collect();
  whole.reader.feed(bytesOf(wire));
  assert.deepEqual(whole.events, ["+", "packet:g", "-", "packet:m10040,38", "^C", "+", "packet:vMustReplyEmpty"]);
  // The same bytes one at a time.
  const bytewise = collect();
  for (const b of bytesOf(wire)) bytewise.reader.feed(Uint8Array.of(b));
  assert.deepEqual(bytewise.events, whole.events);
});

test("a bad checksum is reported; noise between packets is ignored; '$' restarts a broken packet", () => {
  const c = collect();
  c.reader.feed(bytesOf("garbage$g#00\r\n$m0,1$g#67$g#zz"));
  assert.deepEqual(c.events, ["bad:g", "packet:g", "bad:g"]);
});

test("0x03 inside a packet is data, not an interrupt", () => {
  const c = collect();
  const payload = Uint8Array.of(0x58, 0x03, 0x41); // X, 0x03, A
  c.reader.feed(frame(payload));
  assert.deepEqual(c.events, [`packet:X\x03A`]);
});

test("binary escapes: $ # } * become } and the byte xor 0x20", () => {
  const raw = Uint8Array.of(0x24, 0x23, 0x7d, 0x2a, 0x00, 0xff, 0x41);
  const esc = escapeBinary(raw);
  assert.deepEqual([...esc], [0x7d, 0x04, 0x7d, 0x03, 0x7d, 0x5d, 0x7d, 0x0a, 0x00, 0xff, 0x41]);
  assert.deepEqual(unescapeBinary(esc), raw);
  assert.equal(unescapeBinary(Uint8Array.of(0x41, 0x7d)), undefined);
  // Escaped data survives framing: no raw '#' or '$' on the wire.
  const c = collect();
  c.reader.feed(frame(esc));
  assert.equal(c.events.length, 1);
  assert.ok(c.events[0].startsWith("packet:"));
  assert.deepEqual(unescapeBinary(bytesOf(c.events[0].slice("packet:".length))), raw);
});

test("hex helpers", () => {
  assert.equal(toHex(Uint8Array.of(0, 0x1f, 0xab)), "001fab");
  assert.deepEqual(fromHex("001fAB"), Uint8Array.of(0, 0x1f, 0xab));
  assert.equal(fromHex("abc"), undefined);
  assert.equal(fromHex("zz"), undefined);
  assert.equal(parseHex("ffffffff80000000"), 0xffffffff80000000n);
  assert.equal(parseHex("10000000000000000"), undefined);
  assert.equal(parseHex(""), undefined);
});
