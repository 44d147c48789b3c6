/**
 * virtio-net's checksum and segmentation offloads, driven as Linux's virtio_net
 * drives them: what is offered with which backend, frames the guest sends
 * with a partial checksum or as a large TCP segment, and the header of
 * frames it receives.  Checksums are checked with this file's own sum.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  OFFLOAD_FEATURES, VirtioNet, VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_HOST_TSO4,
} from "../../../src/hw/virtio/virtio-net.js";
import type { NetBackend, NetFrontend } from "../../../src/net/net-client.js";
import { VirtioDriver, type DriverQueue } from "../../util/virtio-driver.js";

class Recorder implements NetBackend {
  readonly id = "n0";
  readonly type = "test";
  sent: Uint8Array[] = [];
  constructor(readonly offloads: boolean) {}
  attach(_f: NetFrontend): void {}
  send(frame: Uint8Array): void { this.sent.push(frame.slice()); }
  resume(): void {}
  info(): string { return ""; }
  close(): void {}
}

const MAC = Uint8Array.of(0x52, 0x54, 0, 0x12, 0x34, 0x56);
const SRC = [10, 0, 2, 15];
const DST = [10, 0, 2, 2];

/** The ones' complement sum of 16-bit big-endian words, folded. */
function onesSum(bytes: number[]): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i] << 8) | (bytes[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** An Ethernet frame with an IPv4 header and `proto`'s header + payload (`l4`), both checksums right. */
function ipFrame(proto: number, l4: number[], checksumAt: number): Uint8Array {
  const total = 20 + l4.length;
  const ip = [0x45, 0, total >> 8, total & 0xff, 0, 1, 0x40, 0, 64, proto, 0, 0, ...SRC, ...DST];
  const ipSum = ~onesSum(ip) & 0xffff;
  ip[10] = ipSum >> 8;
  ip[11] = ipSum & 0xff;
  const pseudo = [...SRC, ...DST, 0, proto, l4.length >> 8, l4.length & 0xff];
  const sum = ~onesSum([...pseudo, ...l4]) & 0xffff;
  const seg = [...l4];
  seg[checksumAt] = sum >> 8;
  seg[checksumAt + 1] = sum & 0xff;
  return Uint8Array.from([...MAC, 0x52, 0x55, 10, 0, 2, 2, 0x08, 0x00, ...ip, ...seg]);
}

function tcpFrame(payload: number): Uint8Array {
  const tcp = [0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0];
  for (let i = 0; i < payload; i++) tcp.push((i * 13) & 0xff);
  return ipFrame(6, tcp, 16);
}

function udpFrame(payload: number): Uint8Array {
  const len = 8 + payload;
  const udp = [0x9c, 0x40, 0, 53, len >> 8, len & 0xff, 0, 0];
  for (let i = 0; i < payload; i++) udp.push((i * 5 + 1) & 0xff);
  return ipFrame(17, udp, 6);
}

/** virtio_net_hdr with num_buffers (12 bytes, little-endian). */
function header(flags: number, gsoType: number, hdrLen: number, gsoSize: number, csumStart: number, csumOffset: number): Uint8Array {
  return Uint8Array.of(flags, gsoType, hdrLen & 0xff, hdrLen >> 8, gsoSize & 0xff, gsoSize >> 8,
    csumStart & 0xff, csumStart >> 8, csumOffset & 0xff, csumOffset >> 8, 0, 0);
}

interface Setup { drv: VirtioDriver; nic: VirtioNet; be: Recorder; rx: DriverQueue; tx: DriverQueue }

function setup(accept: (f: bigint) => bigint = (f) => f, offloads = true, offered?: bigint): Setup {
  const be = new Recorder(offloads);
  const nic = new VirtioNet({ mac: MAC, backend: be, offloads: offered });
  const drv = new VirtioDriver(nic);
  assert.ok(drv.negotiate(accept));
  const rx = drv.setupQueue(0, 16);
  const tx = drv.setupQueue(1, 16);
  drv.setupQueue(2, 16);
  drv.driverOk();
  return { drv, nic, be, rx, tx };
}

test("offloads are offered only with a backend that has them, and only those the properties leave on", () => {
  assert.equal(new VirtioDriver(new VirtioNet({ mac: MAC, backend: new Recorder(false) })).deviceFeatures() & OFFLOAD_FEATURES, 0n);
  assert.equal(new VirtioDriver(new VirtioNet({ mac: MAC })).deviceFeatures() & OFFLOAD_FEATURES, 0n);
  assert.equal(new VirtioDriver(new VirtioNet({ mac: MAC, backend: new Recorder(true) })).deviceFeatures() & OFFLOAD_FEATURES,
    VIRTIO_NET_F_CSUM | VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_HOST_TSO4 | VIRTIO_NET_F_GUEST_TSO4);
  const some = new VirtioNet({ mac: MAC, backend: new Recorder(true), offloads: VIRTIO_NET_F_CSUM | VIRTIO_NET_F_GUEST_CSUM });
  assert.equal(new VirtioDriver(some).deviceFeatures() & OFFLOAD_FEATURES, VIRTIO_NET_F_CSUM | VIRTIO_NET_F_GUEST_CSUM);
});

test("transmit with NEEDS_CSUM: the checksum is completed from csum_start, TCP and UDP, odd lengths too", () => {
  const { be, tx } = setup();
  for (const [whole, at] of [[tcpFrame(1001), 34 + 16], [udpFrame(77), 34 + 6], [tcpFrame(0), 34 + 16]] as const) {
    const partial = whole.slice();
    // As Linux leaves it: the pseudo-header's sum (not inverted) in the checksum field.
    const l4 = whole.length - 34;
    const seed = onesSum([...SRC, ...DST, 0, whole[23], l4 >> 8, l4 & 0xff]);
    partial[at] = seed >> 8;
    partial[at + 1] = seed & 0xff;
    tx.post([header(1, 0, 0, 0, 34, at - 34), partial], []);
    tx.notify();
    assert.deepEqual(be.sent.pop(), whole);
  }
  assert.equal(tx.takeUsed().length, 3);
});

test("transmit of a large TCP segment (HOST_TSO4): IPv4 length and both checksums made right, the segment kept whole", () => {
  const { be, tx } = setup();
  const whole = tcpFrame(20_000);
  const sent = whole.slice();
  // Linux fills the IPv4 header; the TCP checksum field holds only a partial sum.
  sent[50] = 0x12;
  sent[51] = 0x34;
  sent[24] = 0;
  sent[25] = 0;
  tx.post([header(1, 1, 54, 1460, 34, 16), sent], []);
  tx.notify();
  assert.equal(be.sent.length, 1);
  assert.deepEqual(be.sent[0], whole);
});

test("offload requests the driver did not negotiate, or that do not fit the frame, are dropped; the buffer comes back", () => {
  const plain = setup((f) => f & ~(VIRTIO_NET_F_CSUM | VIRTIO_NET_F_HOST_TSO4));
  plain.tx.post([header(1, 0, 0, 0, 34, 16), tcpFrame(100)], []);
  plain.tx.post([header(0, 1, 54, 1460, 34, 16), tcpFrame(3000)], []);
  plain.tx.notify();
  assert.equal(plain.be.sent.length, 0);
  assert.equal(plain.tx.takeUsed().length, 2);
  const s = setup();
  s.tx.post([header(1, 0, 0, 0, 90, 16), tcpFrame(10)], []); // csum_start past the end
  s.tx.post([header(0, 4, 54, 1440, 34, 16), tcpFrame(3000)], []); // TCPV6: not offered
  s.tx.post([header(0, 1, 54, 1460, 34, 16), udpFrame(3000)], []); // not TCP
  s.tx.notify();
  assert.equal(s.be.sent.length, 0);
  assert.equal(s.tx.takeUsed().length, 3);
});

test("receive: DATA_VALID with GUEST_CSUM; a large segment carries gso_type TCPV4, hdr_len and gso_size", () => {
  const { nic, rx, drv } = setup();
  assert.equal(nic.takesLargeTcp(), true);
  const small = rx.post([], [2048]);
  assert.equal(nic.deliver(tcpFrame(100)), true);
  assert.deepEqual([...drv.ram.bytes(small.writable[0], 12)], [2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
  const big = [0, 1, 2, 3, 4].map(() => rx.post([], [4096]));
  const frame = tcpFrame(16_000);
  assert.equal(nic.deliver(frame, 1460), true);
  assert.deepEqual([...drv.ram.bytes(big[0].writable[0], 12)], [2, 1, 54, 0, 1460 & 0xff, 1460 >> 8, 0, 0, 0, 0, 4, 0]);
  assert.deepEqual(rx.takeUsed().map((u) => u.len), [12 + frame.length - 0 - 16_000 + 100, 4096, 4096, 4096, 12 + frame.length - 3 * 4096]);
});

test("receive without GUEST_CSUM and GUEST_TSO4: a zero header, and a large segment is dropped", () => {
  const { nic, rx, drv } = setup((f) => f & ~(VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4));
  assert.equal(nic.takesLargeTcp(), false);
  const p = rx.post([], [2048]);
  assert.equal(nic.deliver(tcpFrame(3000), 1460), true, "taken and dropped");
  assert.equal(rx.takeUsed().length, 0);
  assert.equal(nic.deliver(tcpFrame(100)), true);
  assert.deepEqual([...drv.ram.bytes(p.writable[0], 12)], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
});

test("fuzz: random offload headers on random and mutated frames never throw; whatever reaches the backend is a whole frame", () => {
  let x = 0x2545f491;
  const next = (n: number): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  let s = setup();
  for (let i = 0; i < 3000; i++) {
    // The test's RAM is handed out and never freed: a fresh device every 200 frames.
    if (i % 200 === 199) s = setup();
    const { be, tx } = s;
    const base = next(2) === 0 ? tcpFrame(next(3000)) : udpFrame(next(3000));
    const frame = base.subarray(0, next(4) === 0 ? next(base.length + 1) : base.length).slice();
    for (let k = next(4); k > 0; k--) frame[next(Math.max(1, frame.length))] = next(256);
    const hdr = header(next(4), [0, 1, 1, 3, 4, 0x81][next(6)], next(200), next(0x10000), next(120), next(40));
    tx.post([hdr, frame], []);
    tx.notify();
    assert.equal(tx.takeUsed().length, 1);
    for (const f of be.sent.splice(0)) assert.ok(f.length <= frame.length && f.length > 0);
  }
});
