/** TCP between the guest and host sockets, with a fake host and a manual clock. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { seqAdd } from "../../../src/net/user/bytes.js";
import { ACK, FIN, PSH, RST, SYN } from "../../../src/net/user/tcp-segment.js";
import { MAX_TCP_CONNECTIONS } from "../../../src/net/user/tcp.js";
import { RECV_WINDOW, SEND_BUFFER, TIME_WAIT_MS } from "../../../src/net/user/tcp-conn.js";
import { OUTPUT_QUEUE_BYTES, OUTPUT_QUEUE_FRAMES } from "../../../src/net/user/stack.js";
import { createUserNetdev, type UserNetdev } from "../../../src/net/user/user-netdev.js";
import { FakeHost, type FakeTcp } from "./fake-host.js";
import { GATEWAY, GUEST_IP, GuestTcp, TestGuest, ip } from "./guest.js";

function setup(props: [string, string][] = []): { host: FakeHost; guest: TestGuest; nd: UserNetdev } {
  const host = new FakeHost();
  const nd = createUserNetdev("n0", props, host);
  return { host, guest: new TestGuest(nd), nd };
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A guest connection to remote:port, established through a fake host socket. */
function open(host: FakeHost, guest: TestGuest, remote = GATEWAY, port = 80, localPort = 40000): { c: GuestTcp; sock: FakeTcp } {
  const c = new GuestTcp(guest, localPort, remote, port);
  c.connect();
  assert.equal(guest.take().length, 0, "no SYN-ACK before the host connection is up");
  const sock = host.connects[host.connects.length - 1];
  assert.equal(sock.port, port);
  sock.events.connected();
  const [synack] = c.pump();
  assert.equal(synack.flags, SYN | ACK);
  assert.equal(synack.mss, 1460);
  assert.equal(synack.ack, seqAdd(c.iss, 1));
  assert.equal(c.state, "established");
  return { c, sock };
}

test("a guest that lost our SYN-ACK and sends its SYN again gets the SYN-ACK again", () => {
  const { host, guest } = setup();
  const c = new GuestTcp(guest, 40100, GATEWAY, 80);
  c.connect();
  host.connects[0].events.connected();
  c.process = false;
  const [first] = c.pump();
  c.process = true;
  c.state = "closed";
  c.sndNxt = c.iss;
  c.connect();
  const [again] = c.pump();
  assert.equal(again.flags, SYN | ACK);
  assert.equal(again.seq, first.seq);
  assert.equal(c.state, "established");
});

test("handshake, data both ways, guest closes first", () => {
  const { host, guest, nd } = setup();
  const { c, sock } = open(host, guest);
  assert.equal(sock.address, "127.0.0.1"); // the gateway is the host's loopback
  c.write(text("GET / HTTP/1.0\r\n\r\n"));
  const [ack] = c.pump();
  assert.equal(ack.flags, ACK);
  assert.equal(ack.ack, c.sndNxt);
  assert.equal(sock.text(), "GET / HTTP/1.0\r\n\r\n");
  sock.events.data(text("HTTP/1.0 200 OK\r\n\r\nhello"));
  const [data] = c.pump();
  assert.equal(data.flags, ACK | PSH);
  assert.equal(c.text(), "HTTP/1.0 200 OK\r\n\r\nhello");
  // Guest FIN: the host socket is half-closed, data still flows to the guest.
  c.close();
  c.pump();
  assert.equal(sock.ended, true);
  assert.equal(c.finAcked, true);
  sock.events.data(text(" more"));
  c.pump();
  sock.events.end();
  const [fin] = c.pump();
  assert.equal(fin.flags & FIN, FIN);
  assert.equal(c.text(), "HTTP/1.0 200 OK\r\n\r\nhello more");
  assert.equal(c.finReceived, true);
  // Our FIN is acknowledged (LAST-ACK): the connection is gone, the host socket closed in order.
  assert.equal(nd.stack.tcp.connectionCount, 0);
  assert.equal(sock.wasReset, false);
  assert.equal(host.pendingTimers, 0);
});

test("host closes first: FIN to the guest, guest's data still reaches the host, TIME_WAIT is short", () => {
  const { host, guest, nd } = setup();
  const { c, sock } = open(host, guest, ip("192.0.2.80"), 8080);
  assert.equal(sock.address, "192.0.2.80");
  sock.events.data(text("bye"));
  sock.events.end();
  const segs = c.pump();
  assert.equal(c.text(), "bye");
  assert.equal(c.finReceived, true);
  assert.ok(segs.some((s) => s.flags & FIN));
  c.write(text("late words"));
  c.pump();
  assert.equal(sock.text(), "late words");
  c.close();
  c.pump();
  assert.equal(sock.ended, true);
  assert.equal(nd.stack.tcp.connections()[0]?.state, "time-wait");
  // A retransmitted FIN in TIME_WAIT is acknowledged again.
  c.sendAt(seqAdd(c.sndNxt, -1), new Uint8Array(0), FIN | ACK);
  const [reack] = c.pump();
  assert.equal(reack.flags, ACK);
  assert.equal(reack.ack, c.sndNxt);
  host.advance(TIME_WAIT_MS);
  assert.equal(nd.stack.tcp.connectionCount, 0);
  assert.equal(sock.wasReset, false);
});

test("a refused host connection answers the guest's SYN with RST; a host reset resets the guest", () => {
  const { host, guest, nd } = setup();
  const c = new GuestTcp(guest, 40001, GATEWAY, 81);
  c.connect();
  host.connects[0].events.error("refused");
  const [rst] = c.pump();
  assert.equal(rst.flags, RST | ACK);
  assert.equal(rst.ack, seqAdd(c.iss, 1));
  assert.equal(nd.stack.tcp.connectionCount, 0);

  const { c: c2, sock } = open(host, guest, GATEWAY, 82, 40002);
  sock.events.error("reset");
  const [rst2] = c2.pump();
  assert.equal(rst2.flags & RST, RST);
  assert.equal(c2.state, "reset");
  assert.equal(nd.stack.tcp.connectionCount, 0);

  // The guest's RST resets the host socket.
  const { c: c3, sock: sock3 } = open(host, guest, GATEWAY, 83, 40003);
  c3.reset();
  assert.equal(sock3.wasReset, true);
  assert.equal(nd.stack.tcp.connectionCount, 0);

  // An unreachable host: ICMP host unreachable from the gateway, quoting the guest's SYN.
  const c4 = new GuestTcp(guest, 40004, ip("192.0.2.77"), 84);
  c4.connect();
  host.connects[host.connects.length - 1].events.error("unreachable");
  const [icmp] = guest.take();
  assert.equal(icmp.ip?.proto, 1);
  assert.equal(icmp.ip?.src, GATEWAY);
  const p = icmp.ip?.payload ?? new Uint8Array();
  assert.deepEqual([p[0], p[1]], [3, 1]);
  assert.deepEqual([...p.subarray(8 + 16, 8 + 20)], [192, 0, 2, 77]);
  assert.deepEqual([(p[28] << 8) | p[29], (p[30] << 8) | p[31]], [40004, 84]);
  assert.equal(nd.stack.tcp.connectionCount, 0);

  // A segment for no connection gets a RST.
  guest.sendFrame(guest.tcpFrame(GATEWAY, { srcPort: 40009, dstPort: 80, seq: 5, ack: 77, flags: ACK, window: 100 }));
  const [stray] = guest.take();
  assert.equal(stray.tcp?.flags, RST);
  assert.equal(stray.tcp?.seq, 77);
});

test("a dropped segment is retransmitted after the timeout, with backoff; the connection gives up eventually", () => {
  const { host, guest, nd } = setup();
  const { c, sock } = open(host, guest);
  c.process = false; // the guest loses what comes next
  sock.events.data(text("lost"));
  const [first] = c.pump();
  assert.equal(Buffer.from(first.data).toString(), "lost");
  host.advance(999);
  assert.equal(c.pump().length, 0);
  host.advance(1);
  const [again] = c.pump();
  assert.equal(again.seq, first.seq);
  assert.equal(Buffer.from(again.data).toString(), "lost");
  host.advance(1999);
  assert.equal(c.pump().length, 0, "the second retransmission waits twice as long");
  host.advance(1);
  assert.equal(c.pump().length, 1);
  c.process = true;
  c.ack(); // the guest acknowledges nothing new yet: still unacked
  host.advance(4000);
  c.pump();
  assert.equal(c.text(), "lost");
  host.advance(120_000);
  assert.equal(c.pump().length, 0, "acknowledged data is not sent again");
  // Unanswered for good: after the retries the guest and host are reset.
  c.process = false;
  sock.events.data(text("void"));
  host.advance(30 * 60_000);
  const segs = c.pump();
  assert.ok(segs[segs.length - 1].flags & RST);
  assert.equal(sock.wasReset, true);
  assert.equal(nd.stack.tcp.connectionCount, 0);
});

test("the guest's zero window: we stop, probe, and resume when it opens", () => {
  const { host, guest } = setup();
  const { c, sock } = open(host, guest);
  c.window = 0;
  c.ack(); // a window update to zero
  sock.events.data(text("x".repeat(3000)));
  assert.equal(c.pump().length, 0, "nothing is sent into a zero window");
  host.advance(1000);
  const [probe] = c.pump();
  assert.equal(probe.data.length, 1, "a one-byte window probe");
  assert.equal(c.received.length, 0, "the guest (window 0) drops the probe's byte");
  host.advance(2000);
  assert.equal(c.pump()[0]?.data.length, 1, "probes repeat with backoff");
  c.window = 2000;
  c.ack();
  c.pump();
  host.advance(10_000);
  c.pump();
  c.pump();
  assert.equal(c.text(), "x".repeat(3000));
});

test("the guest's window is honoured: no more in flight than it advertises", () => {
  const { host, guest } = setup();
  const { c, sock } = open(host, guest);
  c.window = 1000;
  c.ack();
  c.process = false;
  sock.events.data(new Uint8Array(10_000).fill(1));
  const segs = c.pump();
  assert.equal(segs.reduce((n, s) => n + s.data.length, 0), 1000);
  c.process = true;
  c.window = 65535;
  // The guest lost those; retransmission and its larger window bring the rest.
  for (let i = 0; i < 20 && c.received.length < 10_000; i++) {
    host.advance(1000);
    c.pump();
  }
  assert.equal(c.received.length, 10_000);
});

test("a slow host socket closes our window; data past it is not acknowledged; drain reopens it", () => {
  const { host, guest } = setup();
  const { c, sock } = open(host, guest);
  sock.writeAccepts = false;
  c.peerMss = 1460;
  const chunk = new Uint8Array(RECV_WINDOW + 20_000).fill(2);
  const sent = c.write(chunk);
  assert.equal(sent, c.peerWindow >= RECV_WINDOW ? RECV_WINDOW : sent);
  const acks = c.pump();
  const last = acks[acks.length - 1];
  assert.ok(last.window < 2000, `window shrank to ${last.window}`);
  const written = sock.written.reduce((n, b) => n + b.length, 0);
  // Bytes beyond what was acknowledged are not written to the host.
  assert.equal(seqAdd(c.iss, 1 + written), last.ack);
  c.sendAt(last.ack, new Uint8Array(500).fill(3));
  const [re] = c.pump();
  assert.equal(re.ack, last.ack, "data beyond a zero window is not acknowledged");
  sock.writeAccepts = true;
  sock.events.drain();
  const [update] = c.pump();
  assert.equal(update.window, RECV_WINDOW, "a window update after the host drained");
});

test("a host faster than the guest is paused, and resumed as the guest catches up", () => {
  const { host, guest } = setup();
  const { c, sock } = open(host, guest);
  c.process = false;
  for (let i = 0; i < SEND_BUFFER / 16384 + 1; i++) sock.events.data(new Uint8Array(16384));
  assert.equal(sock.paused, true);
  c.process = true;
  // The guest now takes everything (ACKs as data comes; retransmissions fill what it lost).
  for (let round = 0; round < 400 && sock.paused; round++) {
    host.advance(1000);
    c.pump();
  }
  assert.equal(sock.paused, false);
});

test("the guest's retransmissions are re-acknowledged; out-of-order segments are kept and used", () => {
  const { host, guest } = setup();
  const { c, sock } = open(host, guest);
  const base = c.sndNxt;
  c.sendAt(seqAdd(base, 5), text("world"));
  const [dup] = c.pump();
  assert.equal(dup.ack, base, "a duplicate ACK for the gap");
  assert.equal(sock.text(), "");
  c.sendAt(base, text("hello"));
  const [cum] = c.pump();
  assert.equal(cum.ack, seqAdd(base, 10));
  assert.equal(sock.text(), "helloworld");
  c.sendAt(base, text("hello")); // a retransmission of old data
  const [re] = c.pump();
  assert.equal(re.ack, seqAdd(base, 10));
  assert.equal(sock.text(), "helloworld", "old data is not written twice");
  // Overlapping: the new part only.
  c.sendAt(seqAdd(base, 8), text("ld!!"));
  c.pump();
  assert.equal(sock.text(), "helloworld!!");
});

test("hostfwd: a host client's connection becomes our SYN to the guest, then both ways are spliced", () => {
  const { host, guest, nd } = setup([["hostfwd", "tcp:127.0.0.1:2222-:22"]]);
  const l = host.listeners[0];
  assert.equal(l.address, "127.0.0.1");
  assert.equal(l.port, 2222);
  const client = host.clientConnect(l, "127.0.0.1", 51000);
  // The guest's MAC is unknown yet: an ARP request goes first; the SYN follows the reply.
  const [arp] = guest.take();
  assert.equal(arp.eth.type, 0x0806);
  guest.sendFrame(Uint8Array.from([
    ...arp.eth.src, ...guest.mac, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 2, ...guest.mac, 10, 0, 2, 15, ...arp.eth.src, 10, 0, 2, 2,
  ]));
  const c = new GuestTcp(guest, 22, GATEWAY, 51000);
  const [syn] = c.pump();
  assert.equal(syn.flags, SYN);
  assert.equal(syn.dstPort, 22);
  assert.equal(client.paused, true, "the host side waits for the guest");
  c.acceptSyn(syn);
  const [ack] = c.pump();
  assert.equal(ack.flags, ACK);
  assert.equal(c.state, "established");
  assert.equal(client.paused, false);
  client.events.data(text("SSH-2.0-client\r\n"));
  c.pump();
  assert.equal(c.text(), "SSH-2.0-client\r\n");
  c.write(text("SSH-2.0-guest\r\n"));
  c.pump();
  assert.equal(client.text(), "SSH-2.0-guest\r\n");
  client.events.end();
  c.pump();
  assert.equal(c.finReceived, true);
  c.close();
  c.pump();
  assert.equal(client.ended, true);
  host.advance(TIME_WAIT_MS + 1);
  assert.equal(nd.stack.tcp.connectionCount, 0);

  // A guest that refuses (RST) resets the host client.
  const client2 = host.clientConnect(l, "127.0.0.1", 51001);
  const c2 = new GuestTcp(guest, 22, GATEWAY, 51001);
  const [syn2] = c2.pump();
  guest.sendFrame(guest.tcpFrame(GATEWAY, { srcPort: 22, dstPort: 51001, seq: 0, ack: seqAdd(syn2.seq, 1), flags: RST | ACK, window: 0 }));
  assert.equal(client2.wasReset, true);
  // An unanswered SYN is retransmitted, then given up.
  const client3 = host.clientConnect(l, "192.0.2.9", 51002);
  const c3 = new GuestTcp(guest, 22, ip("192.0.2.9"), 51002);
  assert.equal(c3.pump().length, 1);
  host.advance(1000);
  assert.equal(c3.pump()[0]?.flags, SYN);
  host.advance(10 * 60_000);
  assert.equal(client3.wasReset, true);
  assert.equal(nd.stack.tcp.connectionCount, 0);
  void GUEST_IP;
});

test("thousands of SYNs: connection state stays bounded, the excess is refused with RST", () => {
  const { host, guest, nd } = setup();
  let rsts = 0;
  for (let i = 0; i < 5000; i++) {
    guest.sendFrame(guest.tcpFrame(ip("192.0.2.1"), { srcPort: 1024 + i, dstPort: 80, seq: i * 7, ack: 0, flags: SYN, window: 1000 }));
    for (const r of guest.take()) if (r.tcp && r.tcp.flags & RST) rsts++;
  }
  assert.equal(nd.stack.tcp.connectionCount, MAX_TCP_CONNECTIONS);
  assert.equal(host.connects.length, MAX_TCP_CONNECTIONS);
  assert.equal(rsts, 5000 - MAX_TCP_CONNECTIONS);
  // When the host connections fail, the state goes away.
  for (const s of host.connects) s.events.error("timeout");
  assert.equal(nd.stack.tcp.connectionCount, 0);
});

test("many connections at once carry their own data", () => {
  const { host, guest } = setup();
  const conns = Array.from({ length: 50 }, (_, i) => open(host, guest, GATEWAY, 7000 + i, 30000 + i));
  conns.forEach(({ sock }, i) => sock.events.data(text(`reply ${i}`)));
  conns.forEach(({ c }, i) => c.write(text(`request ${i}`)));
  conns.forEach(({ c }) => c.pump());
  conns.forEach(({ c, sock }, i) => {
    assert.equal(c.text(), `reply ${i}`);
    assert.equal(sock.text(), `request ${i}`);
  });
});

test("restrict=on: hostfwd still reaches the guest, TCP and UDP both", () => {
  const { host, guest } = setup([["restrict", "on"], ["hostfwd", "tcp::2222-:22"], ["hostfwd", "udp::6000-:60"]]);
  guest.sendFrame(guest.udpFrame(5000, ip("192.0.2.1"), 53, new Uint8Array(10))); // dropped, but the guest's MAC becomes known
  assert.equal(host.udps.length, 1, "only the hostfwd socket");
  const tcpL = host.listeners[0];
  const client = host.clientConnect(tcpL, "127.0.0.1", 50001);
  const c = new GuestTcp(guest, 22, GATEWAY, 50001);
  const [syn] = c.pump();
  assert.equal(syn.flags, SYN);
  c.acceptSyn(syn);
  c.pump();
  assert.equal(c.state, "established");
  c.write(text("hi"));
  c.pump();
  assert.equal(client.text(), "hi");
  const u = host.udps[0];
  u.events.message(text("q"), "127.0.0.1", 7000);
  const [d] = guest.take();
  assert.equal(d.udp?.dstPort, 60);
  guest.sendFrame(guest.udpFrame(60, GATEWAY, 7000, text("r")));
  assert.equal(u.sent.length, 1);
  assert.equal(host.udps.length, 1, "no NAT socket was opened for the reply");
});

test("three duplicate ACKs bring a lost segment again before the retransmission timer", () => {
  const { host, guest } = setup();
  const { c, sock } = open(host, guest);
  c.process = false;
  sock.events.data(new Uint8Array(4 * 1460).fill(5));
  const segs = c.pump();
  assert.equal(segs.length, 4);
  c.process = true;
  // The guest got segments 2, 3 and 4 but not 1: three duplicate ACKs.
  for (let i = 0; i < 3; i++) c.ack();
  const again = c.pump();
  assert.ok(again.length >= 1);
  assert.equal(again[0].seq, segs[0].seq, "the lost segment is sent again at once");
  assert.equal(host.time, 0);
  for (let i = 0; i < 5; i++) c.pump();
  assert.equal(c.received.length, 4 * 1460);
});

test("a lossy link: a download with one segment in seven lost arrives whole and in order", () => {
  const { host, guest, nd } = setup();
  const { c, sock } = open(host, guest);
  let n = 0;
  c.lose = (s) => s.data.length > 0 && ++n % 7 === 3;
  const body = new Uint8Array(300_000);
  for (let i = 0; i < body.length; i++) body[i] = (i * 31 + (i >> 8)) & 0xff;
  for (let off = 0; off < body.length; off += 10_000) sock.events.data(body.subarray(off, off + 10_000));
  sock.events.end();
  for (let round = 0; round < 2000 && !c.finReceived; round++) {
    c.pump();
    host.advance(250);
  }
  assert.equal(c.finReceived, true);
  assert.ok(Buffer.from(c.received).equals(Buffer.from(body)));
  c.close();
  c.pump();
  host.advance(TIME_WAIT_MS);
  assert.equal(nd.stack.tcp.connectionCount, 0);
});

test("random loss both ways (data to the guest and its ACKs): the stream and both FINs get through", () => {
  const { host, guest, nd } = setup();
  const { c, sock } = open(host, guest);
  let state = 12345;
  const random = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  c.lose = (s) => random() < 0.15 && (s.data.length > 0 || (s.flags & FIN) !== 0);
  c.loseAck = () => random() < 0.25;
  const body = new Uint8Array(200_000).map((_, i) => (i * 7) & 0xff);
  sock.events.data(body);
  sock.events.end();
  for (let round = 0; round < 4000 && !c.finReceived; round++) {
    c.pump();
    host.advance(100);
  }
  assert.ok(Buffer.from(c.received).equals(Buffer.from(body)));
  c.loseAck = () => false;
  c.lose = () => false;
  c.close();
  for (let round = 0; round < 10; round++) {
    c.pump();
    host.advance(1000);
  }
  assert.equal(sock.ended, true);
  assert.equal(nd.stack.tcp.connectionCount, 0);
});

test("a guest that takes large segments (segmentation offload) gets up to 64 KiB in one, marked with its MSS; others never", () => {
  for (const large of [true, false]) {
    const { host, guest } = setup();
    guest.largeTcp = large;
    const { c, sock } = open(host, guest);
    c.window = 65535;
    c.ack();
    const data = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
    sock.events.data(data);
    const sizes: number[] = [];
    for (let i = 0; i < 50 && c.received.length < data.length; i++) {
      for (const r of guest.inbox) {
        if (r.tcp === undefined || r.tcp.data.length === 0) continue;
        sizes.push(r.tcp.data.length);
        // A segment larger than the MSS comes marked, and only then.
        assert.equal(r.segmentSize, r.tcp.data.length > 1460 ? 1460 : undefined);
      }
      c.pump();
    }
    assert.deepEqual(c.received, [...data], "the stream arrives whole and in order");
    if (large) assert.equal(Math.max(...sizes), 44 * 1460, "as many whole segments as fit in one IPv4 packet");
    else assert.equal(Math.max(...sizes), 1460);
  }
});

test("large segments for a guest without receive buffers: the queue is bounded in bytes as well as frames", () => {
  const { host, guest, nd } = setup();
  guest.largeTcp = true;
  const socks = [];
  for (let i = 0; i < 100; i++) {
    const { c, sock } = open(host, guest, GATEWAY, 80, 41000 + i);
    c.window = 65535;
    c.ack();
    socks.push(sock);
  }
  guest.buffers = false;
  for (const sock of socks) sock.events.data(new Uint8Array(100_000).fill(7));
  assert.ok(nd.stack.droppedFrames > 0, "some segments were dropped");
  assert.ok(nd.stack.queuedBytes <= OUTPUT_QUEUE_BYTES && nd.stack.queuedBytes > OUTPUT_QUEUE_BYTES - 70_000, `${nd.stack.queuedBytes} bytes held`);
  assert.ok(nd.stack.queuedFrames < OUTPUT_QUEUE_FRAMES);
});
