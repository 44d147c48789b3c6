/** The stack below TCP, bytes in and bytes out with a fake host: ARP, ICMP echo, DHCP, DNS, UDP NAT, restrict=on, bounded queues. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatIPv4, get16, get32, put16 } from "../../../src/net/user/bytes.js";
import { parseDhcp } from "../../../src/net/user/dhcp.js";
import { PROTO_ICMP } from "../../../src/net/user/ipv4.js";
import { ETHERTYPE_ARP } from "../../../src/net/user/link.js";
import { OUTPUT_QUEUE_FRAMES } from "../../../src/net/user/stack.js";
import { createUserNetdev } from "../../../src/net/user/user-netdev.js";
import { FakeHost } from "./fake-host.js";
import { DNS, GATEWAY, GUEST_IP, GUEST_MAC, SLIRP_MAC, TestGuest, ip } from "./guest.js";

function setup(props: [string, string][] = []): { host: FakeHost; guest: TestGuest } {
  const host = new FakeHost();
  const guest = new TestGuest(createUserNetdev("n0", props, host));
  return { host, guest };
}

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (h) => parseInt(h, 16));
}

test("ARP: a request for the gateway is answered with 52:55:0a:00:02:02, byte for byte", () => {
  const { guest } = setup();
  // who-has 10.0.2.2 tell 10.0.2.15, from 52:54:00:12:34:56.
  guest.sendFrame(hex("ffffffffffff 525400123456 0806 0001 0800 06 04 0001 525400123456 0a00020f 000000000000 0a000202"));
  const [r] = guest.take();
  assert.deepEqual(
    [...r.frame.subarray(0, 42)],
    [...hex("525400123456 52550a000202 0806 0001 0800 06 04 0002 52550a000202 0a000202 525400123456 0a00020f")],
  );
  assert.equal(r.frame.length, 60);
  // The DNS address is answered with its own 52:55 MAC; other addresses are not answered.
  guest.sendFrame(hex("ffffffffffff 525400123456 0806 0001 0800 06 04 0001 525400123456 0a00020f 000000000000 0a000203"));
  guest.sendFrame(hex("ffffffffffff 525400123456 0806 0001 0800 06 04 0001 525400123456 0a00020f 000000000000 0a000209"));
  const rs = guest.take();
  assert.equal(rs.length, 1);
  assert.equal(rs[0].eth.type, ETHERTYPE_ARP);
  assert.deepEqual([...rs[0].frame.subarray(22, 32)], [...hex("52550a000203 0a000203")]);
});

test("ICMP echo to the gateway and the DNS address is answered; elsewhere it is not", () => {
  const { guest } = setup();
  // An echo request with a hand-computed checksum: id 0x1234, seq 1, data "ping".
  const echo = hex("0800 0000 1234 0001 70696e67");
  let sum = 0;
  for (let i = 0; i < echo.length; i += 2) sum += (echo[i] << 8) | echo[i + 1];
  sum = (sum & 0xffff) + (sum >>> 16);
  put16(echo, 2, ~sum & 0xffff);
  for (const dst of [GATEWAY, DNS]) {
    guest.sendFrame(guest.ipFrame(dst, PROTO_ICMP, echo));
    const [r] = guest.take();
    assert.ok(r.ip);
    assert.equal(r.ip.src, dst);
    assert.equal(r.ip.dst, GUEST_IP);
    assert.deepEqual([...r.eth.dst], [...GUEST_MAC]);
    assert.deepEqual([...r.eth.src], [...SLIRP_MAC]);
    assert.equal(r.ip.payload[0], 0); // echo reply
    assert.deepEqual([...r.ip.payload.subarray(4)], [...echo.subarray(4)]);
  }
  guest.sendFrame(guest.ipFrame(ip("8.8.8.8"), PROTO_ICMP, echo));
  assert.equal(guest.take().length, 0);
  // A bad ICMP checksum is dropped.
  const bad = echo.slice();
  bad[9] ^= 1;
  guest.sendFrame(guest.ipFrame(GATEWAY, PROTO_ICMP, bad));
  assert.equal(guest.take().length, 0);
});

function dhcpMessage(type: number, xid: number, extra: number[] = []): Uint8Array {
  const b = new Uint8Array(300);
  b[0] = 1;
  b[1] = 1;
  b[2] = 6;
  b.set([xid >>> 24, (xid >>> 16) & 0xff, (xid >>> 8) & 0xff, xid & 0xff], 4);
  b.set(GUEST_MAC, 28);
  b.set([99, 130, 83, 99], 236);
  b.set([53, 1, type, ...extra, 255], 240);
  return b;
}

function options(data: Uint8Array): Map<number, number[]> {
  const m = parseDhcp(data);
  assert.ok(m, "a DHCP reply");
  return new Map([...m.options].map(([k, v]) => [k, [...v]]));
}

test("DHCP: DISCOVER, OFFER, REQUEST, ACK with slirp's options", () => {
  const { guest } = setup([["hostname", "tsguest"]]);
  const bcast = ip("255.255.255.255");
  guest.sendFrame(guest.udpFrame(68, bcast, 67, dhcpMessage(1, 0xdeadbeef), 0));
  const [offer] = guest.take();
  assert.ok(offer.ip && offer.udp);
  assert.equal(formatIPv4(offer.ip.src), "10.0.2.2");
  assert.equal(formatIPv4(offer.ip.dst), "255.255.255.255");
  assert.deepEqual([...offer.eth.dst], [255, 255, 255, 255, 255, 255]);
  assert.equal(offer.udp.srcPort, 67);
  assert.equal(offer.udp.dstPort, 68);
  const o = offer.udp.data;
  assert.equal(o[0], 2);
  assert.equal(get32(o, 4), 0xdeadbeef);
  assert.equal(formatIPv4(get32(o, 16)), "10.0.2.15"); // yiaddr
  assert.equal(formatIPv4(get32(o, 20)), "10.0.2.2"); // siaddr
  const oo = options(o);
  assert.deepEqual(oo.get(53), [2]);
  assert.deepEqual(oo.get(54), [10, 0, 2, 2]);
  assert.deepEqual(oo.get(1), [255, 255, 255, 0]);
  assert.deepEqual(oo.get(3), [10, 0, 2, 2]);
  assert.deepEqual(oo.get(6), [10, 0, 2, 3]);
  assert.deepEqual(oo.get(51), [0, 1, 0x51, 0x80]); // 86400 s
  assert.deepEqual(oo.get(12), [..."tsguest"].map((c) => c.charCodeAt(0)));

  guest.sendFrame(guest.udpFrame(68, bcast, 67, dhcpMessage(3, 0xdeadbef0, [50, 4, 10, 0, 2, 15, 54, 4, 10, 0, 2, 2]), 0));
  const [ack] = guest.take();
  assert.ok(ack.udp);
  assert.equal(get32(ack.udp.data, 4), 0xdeadbef0);
  assert.equal(formatIPv4(get32(ack.udp.data, 16)), "10.0.2.15");
  const ao = options(ack.udp.data);
  assert.deepEqual(ao.get(53), [5]);
  assert.deepEqual(ao.get(51), [0, 1, 0x51, 0x80]);

  // Another client gets the next address; a request for an address held by someone else is refused (NAK).
  guest.mac = new Uint8Array([0x52, 0x54, 0, 0, 0, 2]);
  const other = dhcpMessage(1, 7);
  other.set(guest.mac, 28);
  guest.sendFrame(guest.udpFrame(68, bcast, 67, other, 0));
  assert.equal(formatIPv4(get32(guest.take()[0].udp?.data ?? new Uint8Array(20), 16)), "10.0.2.16");
  const steal = dhcpMessage(3, 8, [50, 4, 10, 0, 2, 15]);
  steal.set(guest.mac, 28);
  guest.sendFrame(guest.udpFrame(68, bcast, 67, steal, 0));
  const nak = options(guest.take()[0].udp?.data ?? new Uint8Array());
  assert.deepEqual(nak.get(53), [6]);
  assert.equal(Buffer.from(nak.get(56) ?? []).toString(), "requested address not available");
});

test("DHCP under restrict=on gives no router and no DNS server (as slirp)", () => {
  const { guest } = setup([["restrict", "on"]]);
  guest.sendFrame(guest.udpFrame(68, ip("255.255.255.255"), 67, dhcpMessage(1, 1), 0));
  const oo = options(guest.take()[0].udp?.data ?? new Uint8Array());
  assert.deepEqual(oo.get(53), [2]);
  assert.deepEqual(oo.get(1), [255, 255, 255, 0]);
  assert.equal(oo.has(3), false);
  assert.equal(oo.has(6), false);
});

function dnsQuery(id: number, name: string, qtype: number): Uint8Array {
  const labels = name.split(".").flatMap((l) => [l.length, ...[...l].map((c) => c.charCodeAt(0))]);
  const b = new Uint8Array(12 + labels.length + 1 + 4);
  put16(b, 0, id);
  put16(b, 2, 0x0100); // RD
  put16(b, 4, 1);
  b.set(labels, 12);
  put16(b, 12 + labels.length + 1, qtype);
  put16(b, 12 + labels.length + 3, 1);
  return b;
}

test("DNS: A and AAAA answered from the host's lookup; NXDOMAIN; other types have no records", () => {
  const { host, guest } = setup();
  host.names.set("example.test", [
    { address: "192.0.2.7", family: 4 },
    { address: "2001:db8::1", family: 6 },
  ]);
  guest.sendFrame(guest.udpFrame(5353, DNS, 53, dnsQuery(0x4242, "example.test", 1)));
  const [a] = guest.take();
  assert.ok(a.ip && a.udp);
  assert.equal(a.ip.src, DNS);
  assert.equal(a.udp.srcPort, 53);
  assert.equal(a.udp.dstPort, 5353);
  const r = a.udp.data;
  assert.equal(get16(r, 0), 0x4242);
  assert.equal(get16(r, 2), 0x8180); // response, RD, RA, NOERROR
  assert.equal(get16(r, 6), 1);
  const q = dnsQuery(0, "example.test", 1).length;
  assert.deepEqual([...r.subarray(q, q + 16)], [0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7]);

  guest.sendFrame(guest.udpFrame(5353, DNS, 53, dnsQuery(2, "example.test", 28)));
  const aaaa = guest.take()[0].udp?.data ?? new Uint8Array();
  assert.equal(get16(aaaa, 6), 1);
  assert.deepEqual([...aaaa.subarray(q + 12, q + 28)], [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

  guest.sendFrame(guest.udpFrame(5353, DNS, 53, dnsQuery(3, "nowhere.test", 1)));
  const nx = guest.take()[0].udp?.data ?? new Uint8Array();
  assert.equal(get16(nx, 2) & 0xf, 3);
  assert.equal(get16(nx, 6), 0);

  guest.sendFrame(guest.udpFrame(5353, DNS, 53, dnsQuery(4, "example.test", 15))); // MX
  const mx = guest.take()[0].udp?.data ?? new Uint8Array();
  assert.equal(get16(mx, 2) & 0xf, 0);
  assert.equal(get16(mx, 6), 0);

  // A truncated question is a format error.
  guest.sendFrame(guest.udpFrame(5353, DNS, 53, dnsQuery(5, "example.test", 1).subarray(0, 20)));
  const fe = guest.take()[0].udp?.data ?? new Uint8Array();
  assert.equal(get16(fe, 0), 5);
  assert.equal(get16(fe, 2) & 0xf, 1);
});

test("UDP NAT both ways: one host socket per guest port, replies from 127.0.0.1 appear from the gateway", () => {
  const { host, guest } = setup();
  const payload = new TextEncoder().encode("hello");
  guest.sendFrame(guest.udpFrame(40000, ip("192.0.2.1"), 123, payload));
  guest.sendFrame(guest.udpFrame(40000, GATEWAY, 9999, payload));
  assert.equal(host.udps.length, 1);
  const s = host.udps[0];
  assert.deepEqual(s.sent.map((x) => [x.address, x.port, Buffer.from(x.bytes).toString()]), [
    ["192.0.2.1", 123, "hello"],
    ["127.0.0.1", 9999, "hello"],
  ]);
  s.events.message(new TextEncoder().encode("back"), "127.0.0.1", 9999);
  s.events.message(new TextEncoder().encode("ntp"), "192.0.2.1", 123);
  const rs = guest.take();
  assert.deepEqual(rs.map((r) => [formatIPv4(r.ip?.src ?? 0), r.udp?.srcPort, r.udp?.dstPort, Buffer.from(r.udp?.data ?? []).toString()]), [
    ["10.0.2.2", 9999, 40000, "back"],
    ["192.0.2.1", 123, 40000, "ntp"],
  ]);
  // A large datagram from the host reaches the guest in fragments of at most 1500 bytes.
  s.events.message(new Uint8Array(4000).fill(7), "192.0.2.1", 123);
  const frags = guest.take();
  assert.equal(frags.length, 3);
  const whole = new Uint8Array(8 + 4000);
  for (const f of frags) {
    assert.equal(f.fragment, true);
    assert.ok(f.frame.length <= 1514);
    const p = f.eth.payload;
    const field = get16(p, 6);
    whole.set(p.subarray(20, get16(p, 2)), (field & 0x1fff) * 8);
  }
  assert.deepEqual([get16(frags[0].eth.payload, 6), get16(frags[1].eth.payload, 6), get16(frags[2].eth.payload, 6)], [0x2000, 0x2000 | 185, 370]);
  assert.equal(get16(whole, 4), 4008);
  assert.ok(whole.subarray(8).every((x) => x === 7));
});

test("restrict=on: no outbound TCP, UDP or DNS; ARP, ICMP to the gateway and DHCP still work", () => {
  const { host, guest } = setup([["restrict", "on"]]);
  guest.sendFrame(guest.udpFrame(40000, ip("192.0.2.1"), 123, new Uint8Array(4)));
  guest.sendFrame(guest.udpFrame(40000, GATEWAY, 123, new Uint8Array(4)));
  guest.sendFrame(guest.udpFrame(5353, DNS, 53, dnsQuery(1, "example.test", 1)));
  assert.equal(host.udps.length, 0);
  assert.equal(host.lookups, 0);
  assert.equal(guest.take().length, 0);
  guest.sendFrame(guest.tcpFrame(GATEWAY, { srcPort: 40000, dstPort: 80, seq: 1, ack: 0, flags: 2, window: 1000 }));
  const [rst] = guest.take();
  assert.equal(host.connects.length, 0);
  assert.equal(rst.tcp?.flags, 0x14); // RST|ACK
  assert.equal(rst.tcp?.ack, 2);
  guest.sendFrame(hex("ffffffffffff 525400123456 0806 0001 0800 06 04 0001 525400123456 0a00020f 000000000000 0a000202"));
  assert.equal(guest.take().length, 1);
});

test("a guest without receive buffers: frames queue up to a bound, then are dropped; resume delivers in order", () => {
  const host = new FakeHost();
  const nd = createUserNetdev("n0", [], host);
  const guest = new TestGuest(nd);
  guest.sendFrame(guest.udpFrame(40000, ip("192.0.2.1"), 7, new Uint8Array(1)));
  guest.buffers = false;
  const s = host.udps[0];
  for (let i = 0; i < 5000; i++) s.events.message(new Uint8Array([i & 0xff, i >> 8]), "192.0.2.1", 7);
  assert.equal(nd.stack.queuedFrames, OUTPUT_QUEUE_FRAMES);
  assert.equal(nd.stack.droppedFrames, 5000 - OUTPUT_QUEUE_FRAMES);
  guest.buffers = true;
  nd.resume();
  const got = guest.take();
  assert.equal(got.length, OUTPUT_QUEUE_FRAMES);
  assert.deepEqual([...(got[5].udp?.data ?? [])], [5, 0]);
  assert.equal(nd.stack.queuedFrames, 0);
  nd.close();
  s.events.message(new Uint8Array(1), "192.0.2.1", 7);
  assert.equal(guest.take().length, 0);
  assert.equal(s.closed, true);
});

test("UDP flows: idle ones close after 240 s; their number is bounded", () => {
  const { host, guest } = setup();
  guest.sendFrame(guest.udpFrame(40000, ip("192.0.2.1"), 7, new Uint8Array(1)));
  host.advance(200_000);
  guest.sendFrame(guest.udpFrame(40000, ip("192.0.2.1"), 7, new Uint8Array(1)));
  host.advance(200_000);
  assert.equal(host.udps[0].closed, false);
  host.advance(50_000);
  assert.equal(host.udps[0].closed, true);
  for (let p = 1; p <= 1000; p++) guest.sendFrame(guest.udpFrame(p, ip("192.0.2.1"), 7, new Uint8Array(1)));
  assert.equal(host.udps.filter((u) => !u.closed).length, 256);
});

test("hostfwd=udp: a host client's datagrams reach the guest and its replies go back", () => {
  const { host, guest } = setup([["hostfwd", "udp::5353-:53"]]);
  const nd = guest.backend;
  const fwd = host.udps[0];
  assert.equal(fwd.port, 5353);
  // The guest is known (it spoke first), so no ARP is needed.
  guest.sendFrame(guest.udpFrame(1, ip("192.0.2.1"), 9, new Uint8Array(1)));
  fwd.events.message(new TextEncoder().encode("query"), "127.0.0.1", 41000);
  const [r] = guest.take();
  assert.equal(formatIPv4(r.ip?.src ?? 0), "10.0.2.2");
  assert.equal(r.udp?.srcPort, 41000);
  assert.equal(r.udp?.dstPort, 53);
  guest.sendFrame(guest.udpFrame(53, GATEWAY, 41000, new TextEncoder().encode("answer")));
  assert.deepEqual(fwd.sent.map((s) => [s.address, s.port, Buffer.from(s.bytes).toString()]), [["127.0.0.1", 41000, "answer"]]);
  nd.hostfwdRemove?.("udp::5353");
  assert.equal(fwd.closed, true);
});

test("after the DHCP ack the guest's MAC is known: a hostfwd SYN needs no ARP first", () => {
  const { host, guest } = setup([["hostfwd", "tcp::2222-:22"]]);
  const bcast = ip("255.255.255.255");
  guest.sendFrame(guest.udpFrame(68, bcast, 67, dhcpMessage(1, 1), 0));
  guest.sendFrame(guest.udpFrame(68, bcast, 67, dhcpMessage(3, 2, [50, 4, 10, 0, 2, 15]), 0));
  assert.equal(guest.take().length, 2);
  host.clientConnect(host.listeners[0], "127.0.0.1", 50000);
  const [syn] = guest.take();
  assert.equal(syn.tcp?.flags, 2);
  assert.deepEqual([...syn.eth.dst], [...GUEST_MAC]);
  assert.equal(syn.ip?.dst, GUEST_IP);
});
