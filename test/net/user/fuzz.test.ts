/**
 * Hostile frames: seeded runs of random, truncated and mutated frames (valid
 * ARP, ICMP, DHCP, DNS, UDP and TCP frames with fields changed, their
 * checksums sometimes fixed up so that the mutation reaches the upper
 * layers).  Nothing may throw, state stays bounded, and a connection
 * established before the run still carries data afterwards.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { finish, get16, pseudoSum, put16, sum16 } from "../../../src/net/user/bytes.js";
import { PROTO_ICMP, PROTO_TCP, PROTO_UDP } from "../../../src/net/user/ipv4.js";
import { OUTPUT_QUEUE_FRAMES } from "../../../src/net/user/stack.js";
import { ACK, FIN, PSH, SYN } from "../../../src/net/user/tcp-segment.js";
import { MAX_TCP_CONNECTIONS } from "../../../src/net/user/tcp.js";
import { createUserNetdev } from "../../../src/net/user/user-netdev.js";
import { FakeHost } from "./fake-host.js";
import { DNS, GATEWAY, GuestTcp, TestGuest, ip } from "./guest.js";

/** mulberry32: a small seeded generator, so a failing run can be repeated. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Recompute the IPv4 header checksum and the TCP/UDP/ICMP checksum where the lengths allow. */
function fixChecksums(f: Uint8Array): void {
  if (f.length < 34 || get16(f, 12) !== 0x0800) return;
  const ipOff = 14;
  const hlen = (f[ipOff] & 0xf) * 4;
  if (hlen < 20 || ipOff + hlen > f.length) return;
  put16(f, ipOff + 10, 0);
  put16(f, ipOff + 10, finish(sum16(f, ipOff, ipOff + hlen)));
  const total = Math.min(get16(f, ipOff + 2), f.length - ipOff);
  const l4 = ipOff + hlen;
  const len = total - hlen;
  if (len <= 0) return;
  const src = ((f[ipOff + 12] << 24) | (f[ipOff + 13] << 16) | (f[ipOff + 14] << 8) | f[ipOff + 15]) >>> 0;
  const dst = ((f[ipOff + 16] << 24) | (f[ipOff + 17] << 16) | (f[ipOff + 18] << 8) | f[ipOff + 19]) >>> 0;
  const proto = f[ipOff + 9];
  const at = proto === PROTO_TCP ? 16 : proto === PROTO_UDP ? 6 : proto === PROTO_ICMP ? 2 : -1;
  if (at < 0 || len < at + 2) return;
  put16(f, l4 + at, 0);
  const end = proto === PROTO_UDP ? l4 + Math.min(len, Math.max(8, get16(f, l4 + 4))) : l4 + len;
  const l4len = end - l4;
  const base = proto === PROTO_ICMP ? 0 : pseudoSum(src, dst, proto, l4len);
  put16(f, l4 + at, finish(sum16(f, l4, end, base)));
}

function dhcp(type: number): Uint8Array {
  const b = new Uint8Array(300);
  b.set([1, 1, 6], 0);
  b.set([0x52, 0x54, 0, 0x12, 0x34, 0x56], 28);
  b.set([99, 130, 83, 99, 53, 1, type, 50, 4, 10, 0, 2, 15, 255], 236);
  return b;
}

function dnsQuery(): Uint8Array {
  return Uint8Array.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, ...Buffer.from("example"), 4, ...Buffer.from("test"), 0, 0, 1, 0, 1]);
}

const FRAMES = 10_000;

for (const seed of [1, 2, 3]) {
  test(`seeded fuzz run ${seed}: ${FRAMES} hostile frames, nothing throws, an established connection survives`, () => {
    const random = rng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
    const host = new FakeHost();
    host.names.set("example.test", [{ address: "192.0.2.5", family: 4 }]);
    const nd = createUserNetdev("n0", [["hostfwd", "tcp::2222-:22"], ["hostfwd", "udp::5353-:53"]], host);
    const guest = new TestGuest(nd);

    // The survivor, established before the storm.
    const keep = new GuestTcp(guest, 45000, GATEWAY, 80);
    keep.connect();
    const keepSock = host.connects[0];
    keepSock.events.connected();
    keep.pump();
    assert.equal(keep.state, "established");

    // A second connection whose frames are the templates for mutation.
    const other = new GuestTcp(guest, 46000, ip("192.0.2.9"), 443);
    other.connect();
    host.connects[1].events.connected();
    other.pump();

    const templates: Uint8Array[] = [
      Uint8Array.from([255, 255, 255, 255, 255, 255, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 8, 6, 0, 1, 8, 0, 6, 4, 0, 1, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 10, 0, 2, 15, 0, 0, 0, 0, 0, 0, 10, 0, 2, 2]),
      guest.ipFrame(GATEWAY, PROTO_ICMP, Uint8Array.from([8, 0, 0xf7, 0xfe, 0, 1, 0, 0])),
      guest.udpFrame(68, ip("255.255.255.255"), 67, dhcp(1), 0),
      guest.udpFrame(68, ip("255.255.255.255"), 67, dhcp(3), 0),
      guest.udpFrame(5353, DNS, 53, dnsQuery()),
      guest.udpFrame(40000, ip("192.0.2.1"), 123, new Uint8Array(48)),
      guest.tcpFrame(ip("192.0.2.9"), { srcPort: 46000, dstPort: 443, seq: other.sndNxt, ack: other.rcvNxt, flags: ACK | PSH, window: 65535, data: new Uint8Array(100).fill(9) }),
      guest.tcpFrame(ip("192.0.2.9"), { srcPort: 46000, dstPort: 443, seq: other.sndNxt, ack: other.rcvNxt, flags: FIN | ACK, window: 65535 }),
      guest.tcpFrame(ip("192.0.2.10"), { srcPort: 47000, dstPort: 80, seq: 1, ack: 0, flags: SYN, window: 65535, mss: 1460 }),
      guest.tcpFrame(GATEWAY, { srcPort: 22, dstPort: 50000, seq: 1, ack: 1, flags: SYN | ACK, window: 65535, mss: 1460 }),
    ];

    for (let i = 0; i < FRAMES; i++) {
      const kind = random();
      let f: Uint8Array;
      if (kind < 0.1) {
        f = Uint8Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256));
      } else {
        f = pick(templates).slice();
        const n = 1 + Math.floor(random() * 6);
        for (let k = 0; k < n; k++) {
          // Half the mutations fall in the first 120 bytes, where the headers that steer a frame are.
          const where = Math.floor(random() * (random() < 0.5 ? f.length : Math.min(f.length, 120)));
          const how = random();
          if (how < 0.5) f[where] = Math.floor(random() * 256);
          else if (how < 0.7) f[where] ^= 1 << Math.floor(random() * 8);
          else if (how < 0.85) f = f.subarray(0, where);
          else f[where] = pick([0, 0xff, 0x7f, 0x80]);
        }
        if (random() < 0.6) fixChecksums(f);
      }
      // The guest's buffers come and go, and the clock moves.
      if (random() < 0.05) guest.buffers = !guest.buffers;
      if (random() < 0.3) nd.resume();
      guest.sendFrame(f);
      if (random() < 0.02) host.advance(Math.floor(random() * 5000));
      // Host-side events on whatever sockets the storm opened.
      if (random() < 0.02 && host.connects.length > 2) {
        const s = pick(host.connects.slice(2));
        const e = random();
        if (e < 0.3) s.events.connected();
        else if (e < 0.5) s.events.data(new Uint8Array(Math.floor(random() * 3000)));
        else if (e < 0.7) s.events.end();
        else if (e < 0.85) s.events.error("reset");
        else s.events.drain();
      }
      guest.inbox.length = 0;
      assert.ok(nd.stack.queuedFrames <= OUTPUT_QUEUE_FRAMES);
      assert.ok(nd.stack.tcp.connectionCount <= MAX_TCP_CONNECTIONS);
    }

    // The netdev turns an exception into a warning: there must be none.
    assert.deepEqual(host.warnings, []);

    // The survivor still works both ways.
    guest.buffers = true;
    nd.resume();
    guest.inbox.length = 0;
    keep.write(new TextEncoder().encode("still there?"));
    keep.pump();
    assert.equal(keepSock.text(), "still there?");
    keepSock.events.data(new TextEncoder().encode("yes"));
    for (let i = 0; i < 10 && keep.text() !== "yes"; i++) {
      keep.pump();
      host.advance(2000);
      keep.pump();
    }
    assert.equal(keep.text(), "yes");
    nd.close();
  });
}
