/** virtio-net over virtio-mmio, driven as Linux's virtio_net driver drives it, with a recording backend. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { VirtioMmioReg as R, VIRTIO_F_VERSION_1 } from "../../../src/hw/virtio/virtio-mmio.js";
import {
  VirtioNet, VIRTIO_NET_F_CTRL_RX, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_MAC, VIRTIO_NET_F_MRG_RXBUF, VIRTIO_NET_F_STATUS,
  VIRTIO_NET_F_CTRL_MAC_ADDR, VIRTIO_NET_F_CTRL_VLAN, VIRTIO_NET_OK, VIRTIO_NET_ERR,
} from "../../../src/hw/virtio/virtio-net.js";
import type { NetBackend, NetFrontend } from "../../../src/net/net-client.js";
import { VirtioDriver, type DriverQueue } from "../../util/virtio-driver.js";

class Recorder implements NetBackend {
  readonly id = "n0";
  readonly type = "test";
  frontend: NetFrontend | undefined;
  sent: Uint8Array[] = [];
  resumes = 0;
  attach(f: NetFrontend): void { this.frontend = f; }
  send(frame: Uint8Array): void { this.sent.push(frame.slice()); }
  resume(): void { this.resumes++; }
  info(): string { return ""; }
  close(): void {}
}

const MAC = Uint8Array.of(0x52, 0x54, 0, 0x12, 0x34, 0x56);

function frame(dst: number[], len: number, fill = 0x11): Uint8Array {
  const f = new Uint8Array(len).fill(fill);
  f.set(dst, 0);
  f.set([0x52, 0x54, 0, 1, 2, 3], 6);
  f[12] = 0x08;
  f[13] = 0x00;
  return f;
}

interface Setup { drv: VirtioDriver; nic: VirtioNet; be: Recorder; rx: DriverQueue; tx: DriverQueue; ctrl: DriverQueue }

function setup(accept: (f: bigint) => bigint = (f) => f): Setup {
  const be = new Recorder();
  const nic = new VirtioNet({ mac: MAC, backend: be });
  const drv = new VirtioDriver(nic);
  assert.ok(drv.negotiate(accept));
  const rx = drv.setupQueue(0, 16);
  const tx = drv.setupQueue(1, 16);
  const ctrl = drv.setupQueue(2, 16);
  drv.driverOk();
  return { drv, nic, be, rx, tx, ctrl };
}

test("identity, features and config: device 1, MAC and link status", () => {
  const nic = new VirtioNet({ mac: MAC });
  const drv = new VirtioDriver(nic);
  assert.equal(drv.r(R.DeviceID), 1);
  const f = drv.deviceFeatures();
  for (const bit of [VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_NET_F_MRG_RXBUF, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_RX,
    VIRTIO_NET_F_CTRL_MAC_ADDR, VIRTIO_F_VERSION_1]) assert.notEqual(f & bit, 0n);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => drv.mmio.read(0x100 + i, 1)), [...MAC]);
  assert.equal(drv.mmio.read(0x106, 2), 1, "link up");
});

test("transmit: the frame reaches the backend without its 12-byte header, header in its own buffer or not", () => {
  const { be, tx } = setup();
  const f = frame([1, 2, 3, 4, 5, 6], 60);
  tx.post([new Uint8Array(12), f], []);
  const joined = new Uint8Array(12 + 100);
  joined.set(frame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 100, 0x22), 12);
  tx.post([joined], []);
  tx.notify();
  assert.equal(be.sent.length, 2);
  assert.deepEqual(be.sent[0], f);
  assert.equal(be.sent[1].length, 100);
  assert.equal(tx.takeUsed().length, 2);
});

test("legacy header without MRG_RXBUF is 10 bytes; with VERSION_1 it is 12", () => {
  const nic = new VirtioNet({ mac: MAC });
  const drv = new VirtioDriver(nic);
  // A legacy driver: no VERSION_1 (virtio-mmio refuses that; the transport's legacy path sets features directly).
  assert.ok(drv.negotiate((f) => f & ~VIRTIO_NET_F_MRG_RXBUF));
  assert.equal(nic.headerSize(), 12);
  const nic2 = new VirtioNet({ mac: MAC });
  const drv2 = new VirtioDriver(nic2);
  assert.equal(drv2.negotiate((f) => f & ~VIRTIO_F_VERSION_1), false, "virtio-mmio v2 needs VERSION_1");
  assert.equal(nic2.headerSize(), 10, "nothing negotiated: the legacy header");
});

test("receive into mergeable buffers: a frame split over three, num_buffers 3, the header otherwise zero", () => {
  const { nic, rx, drv } = setup();
  const posted = [rx.post([], [600]), rx.post([], [600]), rx.post([], [600])];
  rx.notify();
  drv.ackInterrupt();
  const f = frame([...MAC], 1400, 0x33);
  assert.equal(nic.deliver(f), true);
  const used = rx.takeUsed();
  assert.deepEqual(used.map((u) => u.len), [600, 600, 212]);
  const hdr = drv.ram.bytes(posted[0].writable[0], 12);
  assert.deepEqual([...hdr.subarray(0, 10)], new Array(10).fill(0));
  assert.equal(hdr[10] | (hdr[11] << 8), 3);
  const got = new Uint8Array(1412);
  got.set(drv.ram.bytes(posted[0].writable[0], 600), 0);
  got.set(drv.ram.bytes(posted[1].writable[0], 600), 600);
  got.set(drv.ram.bytes(posted[2].writable[0], 212), 1200);
  assert.deepEqual(got.subarray(12), f);
  assert.equal(drv.ackInterrupt() & 1, 1, "a used-buffer interrupt");
});

test("without MRG_RXBUF: one buffer per frame, num_buffers 1; a frame bigger than the buffer is dropped and the buffer kept", () => {
  const { nic, rx, drv } = setup((f) => f & ~VIRTIO_NET_F_MRG_RXBUF);
  assert.equal(nic.headerSize(), 12, "VERSION_1 keeps num_buffers");
  const p = rx.post([], [300]);
  rx.notify();
  assert.equal(nic.deliver(frame([...MAC], 400)), true, "dropped");
  assert.equal(rx.takeUsed().length, 0);
  assert.equal(nic.deliver(frame([...MAC], 200)), true);
  assert.deepEqual(rx.takeUsed(), [{ id: p.head, len: 212 }]);
  assert.equal(drv.ram.bytes(p.writable[0], 12)[10], 1);
});

test("no receive buffers: deliver refuses and keeps nothing; posting buffers calls resume", () => {
  const { nic, rx, be } = setup();
  const f = frame([...MAC], 1000);
  assert.equal(nic.deliver(f), false);
  rx.post([], [500]);
  assert.equal(nic.deliver(f), false, "500 bytes are too few for 1012");
  assert.equal(rx.takeUsed().length, 0, "the buffer popped was given back");
  rx.post([], [600]);
  rx.notify();
  assert.equal(be.resumes, 1);
  assert.equal(nic.deliver(f), true);
  assert.deepEqual(rx.takeUsed().map((u) => u.len), [500, 512]);
});

function ctrlCmd(s: Setup, cls: number, cmd: number, data: number[]): number {
  const p = s.ctrl.post([Uint8Array.of(cls, cmd), Uint8Array.from(data)], [1]);
  s.ctrl.notify();
  const used = s.ctrl.takeUsed();
  assert.deepEqual(used, [{ id: p.head, len: 1 }]);
  return s.drv.ram.bytes(p.writable[0], 1)[0];
}

test("control queue: the receive filter as QEMU's (promiscuous at reset, then unicast, broadcast, multicast)", () => {
  const s = setup();
  for (let i = 0; i < 8; i++) s.rx.post([], [2048]);
  s.rx.notify();
  const other = frame([0x52, 0x54, 0, 9, 9, 9], 64);
  const mine = frame([...MAC], 64);
  const bcast = frame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 64);
  const mcast = frame([0x01, 0x00, 0x5e, 0, 0, 1], 64);
  const taken = (f: Uint8Array): number => { s.nic.deliver(f); return s.rx.takeUsed().length; };
  assert.equal(taken(other), 1, "promiscuous after reset");
  assert.equal(ctrlCmd(s, 0, 0, [0]), VIRTIO_NET_OK);
  assert.equal(ctrlCmd(s, 0, 1, [0]), VIRTIO_NET_OK);
  assert.equal(taken(other), 0);
  assert.equal(taken(mine), 1);
  assert.equal(taken(bcast), 1);
  assert.equal(taken(mcast), 0, "not in the (empty) multicast table");
  // MAC_TABLE_SET: no unicast, one multicast.
  assert.equal(ctrlCmd(s, 1, 0, [0, 0, 0, 0, 1, 0, 0, 0, 0x01, 0x00, 0x5e, 0, 0, 1]), VIRTIO_NET_OK);
  assert.equal(taken(mcast), 1);
  assert.equal(ctrlCmd(s, 0, 5, [1]), VIRTIO_NET_OK, "NOBCAST");
  assert.equal(taken(bcast), 0);
  assert.equal(ctrlCmd(s, 0, 1, [1]), VIRTIO_NET_OK, "ALLMULTI");
  assert.equal(taken(frame([0x01, 0, 0x5e, 1, 2, 3], 64)), 1);
  // MAC_ADDR_SET moves "mine".
  const newMac = [0x52, 0x54, 0, 0xab, 0xcd, 0xef];
  assert.equal(ctrlCmd(s, 1, 1, newMac), VIRTIO_NET_OK);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => s.drv.mmio.read(0x100 + i, 1)), newMac);
  assert.equal(taken(mine), 0);
  assert.equal(taken(frame(newMac, 64)), 1);
  // Errors: an unknown class, a bad length, a table that does not fill the data.
  assert.equal(ctrlCmd(s, 9, 0, [0]), VIRTIO_NET_ERR);
  assert.equal(ctrlCmd(s, 0, 0, [0, 0]), VIRTIO_NET_ERR);
  assert.equal(ctrlCmd(s, 1, 0, [5, 0, 0, 0]), VIRTIO_NET_ERR);
  assert.equal(ctrlCmd(s, 0, 9, [1]), VIRTIO_NET_ERR);
});

test("CTRL_VLAN: 802.1Q frames only for the VLANs added (none after reset); without it every VLAN passes", () => {
  let changes = 0;
  const make = (accept: (f: bigint) => bigint): Setup => {
    const be = new Recorder();
    const nic = new VirtioNet({ mac: MAC, backend: be, onRxFilterChanged: () => { changes++; } });
    const drv = new VirtioDriver(nic);
    assert.ok(drv.negotiate(accept));
    const s = { drv, nic, be, rx: drv.setupQueue(0, 16), tx: drv.setupQueue(1, 16), ctrl: drv.setupQueue(2, 16) };
    drv.driverOk();
    for (let i = 0; i < 8; i++) s.rx.post([], [2048]);
    s.rx.notify();
    return s;
  };
  const tagged = (vid: number): Uint8Array => {
    const f = frame([...MAC], 64);
    f.set([0x81, 0x00, vid >> 8, vid & 0xff, 0x08, 0x00], 12);
    return f;
  };
  const s = make((f) => f);
  const taken = (f: Uint8Array): number => { s.nic.deliver(f); return s.rx.takeUsed().length; };
  assert.notEqual(s.drv.deviceFeatures() & VIRTIO_NET_F_CTRL_VLAN, 0n);
  assert.equal(taken(tagged(5)), 1, "promiscuous after reset: the VLAN table is not looked at");
  assert.equal(ctrlCmd(s, 0, 0, [0]), VIRTIO_NET_OK);
  assert.deepEqual(s.nic.vlanIds(), []);
  assert.equal(taken(tagged(5)), 0, "no VLAN added");
  assert.equal(taken(frame([...MAC], 64)), 1, "untagged frames are not filtered by VLAN");
  changes = 0;
  assert.equal(ctrlCmd(s, 2, 0, [5, 0]), VIRTIO_NET_OK);
  assert.equal(ctrlCmd(s, 2, 0, [0xff, 0x0f, 0xaa]), VIRTIO_NET_OK, "4095; bytes after the id are ignored, as QEMU");
  assert.equal(changes, 2);
  assert.deepEqual(s.nic.vlanIds(), [5, 4095]);
  assert.equal(taken(tagged(5)), 1);
  assert.equal(taken(tagged(0x3005)), 1, "the priority bits are not part of the id");
  assert.equal(taken(tagged(6)), 0);
  assert.equal(ctrlCmd(s, 2, 1, [5, 0]), VIRTIO_NET_OK);
  assert.equal(taken(tagged(5)), 0);
  assert.equal(ctrlCmd(s, 2, 0, [0, 0x10]), VIRTIO_NET_ERR, "4096 is no VLAN id");
  assert.equal(ctrlCmd(s, 2, 0, [5]), VIRTIO_NET_ERR, "too short");
  assert.equal(ctrlCmd(s, 2, 2, [5, 0]), VIRTIO_NET_ERR);
  assert.equal(changes, 3);
  s.drv.w(R.Status, 0);
  assert.deepEqual([...s.nic.filter.vlans].filter((w) => w !== 0), [], "reset empties the table");
  // A driver without CTRL_VLAN: the commands are refused and no VLAN is filtered.
  const plain = make((f) => f & ~VIRTIO_NET_F_CTRL_VLAN);
  assert.equal(plain.nic.vlanIds(), undefined);
  assert.equal(ctrlCmd(plain, 0, 0, [0]), VIRTIO_NET_OK);
  assert.equal(ctrlCmd(plain, 2, 0, [5, 0]), VIRTIO_NET_ERR);
  plain.nic.deliver(tagged(9));
  assert.equal(plain.rx.takeUsed().length, 1);
});

test("link down: status bit clear, a configuration interrupt, frames dropped both ways; up again", () => {
  const s = setup();
  s.drv.ackInterrupt();
  s.nic.setLink(false);
  assert.equal(s.drv.mmio.read(0x106, 2), 0);
  assert.equal(s.drv.ackInterrupt() & 2, 2, "configuration change interrupt");
  s.rx.post([], [2048]);
  s.rx.notify();
  assert.equal(s.nic.deliver(frame([...MAC], 64)), true, "taken and dropped");
  assert.equal(s.rx.takeUsed().length, 0);
  s.tx.post([new Uint8Array(12), frame([1, 2, 3, 4, 5, 6], 64)], []);
  s.tx.notify();
  assert.equal(s.be.sent.length, 0);
  assert.equal(s.tx.takeUsed().length, 1, "the guest gets its buffer back");
  s.nic.setLink(true);
  assert.equal(s.drv.mmio.read(0x106, 2), 1);
  assert.equal(s.drv.ackInterrupt() & 2, 2);
  assert.equal(s.nic.deliver(frame([...MAC], 64)), true);
  assert.equal(s.rx.takeUsed().length, 1);
});

test("reset returns the MAC and the filter to their start", () => {
  const s = setup();
  ctrlCmd(s, 1, 1, [2, 2, 2, 2, 2, 2]);
  ctrlCmd(s, 0, 0, [0]);
  s.drv.w(R.Status, 0);
  assert.deepEqual([...s.nic.mac], [...MAC]);
  assert.equal(s.nic.filter.promisc, true);
});

/** xorshift32, for a repeatable fuzz. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return x >>> 0;
  };
}

test("fuzz: random descriptors, config and register writes, frames both ways never throw", () => {
  const next = rng(0x5eed);
  for (let round = 0; round < 40; round++) {
    const s = setup(round % 3 === 0 ? (f) => f & ~VIRTIO_NET_F_MRG_RXBUF : undefined);
    const queues = [s.rx, s.tx, s.ctrl];
    for (let i = 0; i < 100; i++) {
      const q = queues[next() % 3];
      const op = next() % 6;
      if (op === 0) {
        // A random descriptor, published as is.
        const d = next() % q.num;
        const addr = next() % 3 === 0 ? next() * 4096 : 0x80000000 + (next() % (1 << 20));
        q.writeDesc(d, addr, next() % 5000, next() % 8, next() % 20);
        q.publish(next() % 20);
      } else if (op === 1) {
        q.post([new Uint8Array(next() % 40)], [next() % 3000]);
      } else if (op === 2) {
        q.notify();
      } else if (op === 3) {
        s.nic.deliver(new Uint8Array(next() % 3000).map(() => next() & 0xff));
      } else if (op === 4) {
        s.drv.mmio.write(0x100 + (next() % 16), 1, next() & 0xff);
        s.drv.mmio.write((next() % 64) * 4, 4, next());
      } else {
        s.nic.setLink((next() & 1) === 0);
      }
    }
  }
});
