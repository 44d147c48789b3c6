/** virtio-blk over virtio-mmio, driven as Linux's virtio_mmio and virtio_blk drivers drive it. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { VirtioMmioReg as R, VirtioStatus as S, VIRTIO_F_RING_EVENT_IDX, VIRTIO_F_RING_INDIRECT_DESC,
  VIRTIO_F_VERSION_1, VirtioMmio } from "../../../src/hw/virtio/virtio-mmio.js";
import { VirtioBlk, VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_RO, VIRTIO_BLK_F_SEG_MAX,
  VIRTIO_BLK_F_WRITE_ZEROES, MAX_ZERO_DISCARD_SECTORS, VirtioBlkStatus as St, VirtioBlkType as T } from "../../../src/hw/virtio/virtio-blk.js";
import { Fdt } from "../../../src/hw/core/fdt.js";
import { IrqLevel } from "../../../src/hw/core/irq.js";
import { Desc, DriverQueue, FakeRam, MemoryDisk, RAM_BASE, VirtioDriver } from "../../util/virtio-driver.js";

const SECTORS = 64;

function header(type: number, sector = 0): Uint8Array {
  const h = new Uint8Array(16);
  const v = new DataView(h.buffer);
  v.setUint32(0, type, true);
  v.setUint32(8, sector >>> 0, true);
  v.setUint32(12, Math.floor(sector / 2 ** 32), true);
  return h;
}

function pattern(len: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: len }, (_, i) => (i * 7 + seed) & 0xff);
}

function setup(disk = new MemoryDisk(SECTORS * 512), serial?: string): { drv: VirtioDriver; q: DriverQueue; disk: MemoryDisk } {
  const drv = new VirtioDriver(new VirtioBlk(disk, { serial }));
  const q = drv.start();
  return { drv, q, disk };
}

/** Post one request, notify, and return its status byte, used length and the data read. */
function request(drv: VirtioDriver, q: DriverQueue, hdr: Uint8Array, out: Uint8Array[], inLen: number) {
  const p = q.post([hdr, ...out], inLen > 0 ? [inLen, 1] : [1]);
  q.notify();
  const used = q.takeUsed();
  assert.equal(used.length, 1);
  assert.equal(used[0].id, p.head);
  const statusAddr = p.writable[p.writable.length - 1];
  return {
    status: drv.ram.bytes(statusAddr, 1)[0],
    len: used[0].len,
    data: inLen > 0 ? drv.ram.bytes(p.writable[0], inLen).slice() : new Uint8Array(0),
  };
}

test("an empty slot answers magic, version 2, QEMU's vendor and device ID 0, and ignores writes", () => {
  const drv = new VirtioDriver(undefined);
  assert.equal(drv.r(R.MagicValue), 0x74726976);
  assert.equal(drv.r(R.Version), 2);
  assert.equal(drv.r(R.VendorID), 0x554d4551);
  assert.equal(drv.r(R.DeviceID), 0);
  drv.w(R.Status, S.ACKNOWLEDGE);
  assert.equal(drv.r(R.Status), 0);
  assert.equal(drv.r(R.QueueNumMax), 0);
  assert.equal(drv.mmio.read(0x100, 4), 0);
});

test("registers: identity, offered features, config space in bytes, halfwords and words", () => {
  const drv = new VirtioDriver(new VirtioBlk(new MemoryDisk(0x123456 * 512)));
  assert.equal(drv.r(R.DeviceID), 2);
  const f = drv.deviceFeatures();
  for (const bit of [VIRTIO_F_VERSION_1, VIRTIO_F_RING_INDIRECT_DESC, VIRTIO_F_RING_EVENT_IDX,
    VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_WRITE_ZEROES]) {
    assert.notEqual(f & bit, 0n, `feature ${bit.toString(2)}`);
  }
  assert.equal(f & VIRTIO_BLK_F_RO, 0n);
  const cfg = (off: number, size: 1 | 2 | 4): number => drv.mmio.read(0x100 + off, size);
  assert.equal(cfg(0, 4), 0x123456); // capacity in sectors
  assert.equal(cfg(4, 4), 0);
  assert.equal(cfg(0, 1), 0x56);
  assert.equal(cfg(1, 2), 0x1234);
  assert.equal(cfg(20, 4), 512); // blk_size
  assert.equal(cfg(12, 4), 254); // seg_max
  // The discard and write-zeroes limits, as QEMU 7.2 gives them.
  assert.deepEqual([cfg(36, 4), cfg(40, 4), cfg(44, 4), cfg(48, 4), cfg(52, 4), cfg(56, 1)],
    [0x3fffff, 1, 1, 0x3fffff, 1, 1]);
  assert.equal(cfg(0x100, 4), 0xffffffff); // beyond the config space
  assert.equal(drv.r(R.ConfigGeneration), 0);
  // Control registers are 32-bit only.
  assert.equal(drv.mmio.read(R.MagicValue, 2), 0);
});

test("FEATURES_OK is refused without VERSION_1 or with a feature not offered", () => {
  const drv = new VirtioDriver(new VirtioBlk(new MemoryDisk(4096)));
  assert.equal(drv.negotiate((f) => f & ~VIRTIO_F_VERSION_1), false);
  assert.equal(drv.negotiate((f) => f | (1n << 40n)), false);
  assert.equal(drv.negotiate(), true);
  assert.equal(drv.mmio.features, drv.deviceFeatures());
});

test("write sectors, read them back; the interrupt line follows InterruptStatus", () => {
  const { drv, q, disk } = setup();
  const data = pattern(1024, 3);
  const w = request(drv, q, header(T.OUT, 5), [data.subarray(0, 300), data.subarray(300)], 0);
  assert.equal(w.status, St.OK);
  assert.equal(w.len, 1);
  assert.deepEqual(disk.data.subarray(5 * 512, 7 * 512), data);
  assert.equal(drv.irq.level, true);
  assert.equal(drv.r(R.InterruptStatus), 1);
  assert.equal(drv.ackInterrupt(), 1);
  assert.equal(drv.irq.level, false);

  const r = request(drv, q, header(T.IN, 5), [], 1024);
  assert.equal(r.status, St.OK);
  assert.equal(r.len, 1025);
  assert.deepEqual(r.data, data);
  assert.ok(drv.ram.writtenBytes >= 1025, "DMA writes are reported to the CPUs");
});

test("a read scattered over several writable buffers", () => {
  const { drv, q, disk } = setup();
  disk.data.set(pattern(1024, 9), 0);
  const p = q.post([header(T.IN, 0)], [100, 900, 24, 1]);
  q.notify();
  assert.deepEqual(q.takeUsed(), [{ id: p.head, len: 1025 }]);
  const got = new Uint8Array(1024);
  got.set(drv.ram.bytes(p.writable[0], 100), 0);
  got.set(drv.ram.bytes(p.writable[1], 900), 100);
  got.set(drv.ram.bytes(p.writable[2], 24), 1000);
  assert.deepEqual(got, disk.data.subarray(0, 1024));
  assert.equal(drv.ram.bytes(p.writable[3], 1)[0], St.OK);
});

test("several requests in one notify; indirect descriptors", () => {
  const { drv, q, disk } = setup();
  const a = q.post([header(T.OUT, 1), pattern(512, 1)], [1]);
  const b = q.post([header(T.OUT, 2), pattern(512, 2)], [1], { indirect: true });
  const c = q.post([header(T.IN, 1)], [1024, 1], { indirect: true });
  q.notify();
  assert.deepEqual(q.takeUsed().map((u) => u.id), [a.head, b.head, c.head]);
  assert.deepEqual(drv.ram.bytes(c.writable[0], 512), pattern(512, 1));
  assert.deepEqual(drv.ram.bytes(c.writable[0] + 512, 512), pattern(512, 2));
  assert.deepEqual(disk.data.subarray(1024, 1536), pattern(512, 2));
  assert.equal(drv.ackInterrupt(), 1);
});

test("FLUSH reaches the disk", () => {
  const { drv, q, disk } = setup();
  const r = request(drv, q, header(T.FLUSH), [], 0);
  assert.equal(r.status, St.OK);
  assert.equal(disk.flushes, 1);
});

test("GET_ID answers the serial, NUL-terminated, at most 20 bytes", () => {
  const { drv, q } = setup(undefined, "tsemu-disk-0");
  const r = request(drv, q, header(T.GET_ID), [], 20);
  assert.equal(r.status, St.OK);
  assert.equal(new TextDecoder().decode(r.data.subarray(0, 13)), "tsemu-disk-0\0");
  assert.equal(r.len, 14);
  const long = setup(undefined, "0123456789abcdefghijklmnop");
  const r2 = request(long.drv, long.q, header(T.GET_ID), [], 20);
  assert.equal(new TextDecoder().decode(r2.data), "0123456789abcdefghij");
});

test("an unknown request type answers UNSUPP", () => {
  const { drv, q } = setup();
  assert.equal(request(drv, q, header(0x1234), [], 0).status, St.UNSUPP);
  assert.equal(request(drv, q, header(12 /* GET_LIFETIME, not offered */), [], 0).status, St.UNSUPP);
});

test("out-of-range and misaligned transfers answer IOERR", () => {
  const { drv, q } = setup();
  assert.equal(request(drv, q, header(T.IN, SECTORS - 1), [], 1024).status, St.IOERR);
  assert.equal(request(drv, q, header(T.IN, 2 ** 40), [], 512).status, St.IOERR);
  assert.equal(request(drv, q, header(T.OUT, 0), [pattern(100, 0)], 0).status, St.IOERR);
  assert.equal(request(drv, q, header(T.IN, SECTORS - 1), [], 512).status, St.OK);
});

/** One struct virtio_blk_discard_write_zeroes. */
function segment(sector: number, count: number, flags = 0): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint32(0, sector >>> 0, true);
  v.setUint32(4, Math.floor(sector / 2 ** 32), true);
  v.setUint32(8, count, true);
  v.setUint32(12, flags, true);
  return b;
}

test("WRITE_ZEROES zeroes its range (unmap allowed or not); DISCARD reaches the backend", () => {
  const { drv, q, disk } = setup();
  disk.data.fill(0xee);
  assert.equal(request(drv, q, header(T.WRITE_ZEROES), [segment(2, 3)], 0).status, St.OK);
  assert.equal(request(drv, q, header(T.WRITE_ZEROES), [segment(10, 1, 1)], 0).status, St.OK);
  for (let s = 0; s < SECTORS; s++) {
    const zero = (s >= 2 && s < 5) || s === 10;
    assert.equal(disk.data[s * 512 + 17], zero ? 0 : 0xee, `sector ${s}`);
  }
  assert.equal(request(drv, q, header(T.DISCARD), [segment(SECTORS - 4, 4)], 0).status, St.OK);
  assert.deepEqual(disk.discards, [[(SECTORS - 4) * 512, 4 * 512]]);
});

test("DISCARD and WRITE_ZEROES refuse what QEMU refuses", () => {
  const { drv, q, disk } = setup();
  const status = (type: number, ...segs: Uint8Array[]): number => request(drv, q, header(type), segs, 0).status;
  assert.equal(status(T.DISCARD, segment(0, 1, 1)), St.UNSUPP, "unmap flag on a discard");
  assert.equal(status(T.WRITE_ZEROES, segment(0, 1, 2)), St.UNSUPP, "unknown flag");
  assert.equal(status(T.WRITE_ZEROES, segment(0, 1), segment(4, 1)), St.UNSUPP, "two segments (max_write_zeroes_seg is 1)");
  assert.equal(status(T.DISCARD, segment(SECTORS - 1, 2)), St.IOERR, "past the end");
  assert.equal(status(T.DISCARD, segment(2 ** 40, 1)), St.IOERR, "far past the end");
  assert.equal(status(T.WRITE_ZEROES, segment(0, MAX_ZERO_DISCARD_SECTORS + 1)), St.IOERR, "over the limit");
  assert.deepEqual(disk.discards, []);
  const ro = setup(new MemoryDisk(SECTORS * 512, true));
  assert.equal(request(ro.drv, ro.q, header(T.WRITE_ZEROES), [segment(0, 1)], 0).status, St.IOERR, "read-only");
});

test("a read-only image offers VIRTIO_BLK_F_RO and rejects writes with IOERR", () => {
  const disk = new MemoryDisk(SECTORS * 512, true);
  const { drv, q } = setup(disk);
  assert.notEqual(drv.mmio.features & VIRTIO_BLK_F_RO, 0n);
  const r = request(drv, q, header(T.OUT, 0), [pattern(512, 1)], 0);
  assert.equal(r.status, St.IOERR);
  assert.ok(disk.data.every((b) => b === 0));
  assert.equal(request(drv, q, header(T.IN, 0), [], 512).status, St.OK);
});

test("a host I/O error answers IOERR", () => {
  const disk = new MemoryDisk(SECTORS * 512);
  disk.read = (): void => {
    throw new Error("EIO");
  };
  const { drv, q } = setup(disk);
  assert.equal(request(drv, q, header(T.IN, 0), [], 512).status, St.IOERR);
});

function assertNeedsReset(drv: VirtioDriver): void {
  assert.equal(drv.r(R.Status) & S.DEVICE_NEEDS_RESET, S.DEVICE_NEEDS_RESET);
  assert.equal(drv.r(R.InterruptStatus) & 2, 2, "configuration change interrupt");
  assert.equal(drv.irq.level, true);
  assert.equal(drv.r(R.ConfigGeneration), 1);
  assert.equal(drv.log.length, 1);
}

test("a DISCARD without its segment is a broken driver, as on QEMU: DEVICE_NEEDS_RESET", () => {
  const { drv, q } = setup();
  q.post([header(T.DISCARD), new Uint8Array(8)], [1]);
  q.notify();
  assert.deepEqual(q.takeUsed(), []);
  assertNeedsReset(drv);
});

test("a descriptor loop sets DEVICE_NEEDS_RESET instead of hanging; a reset recovers", () => {
  const { drv, q } = setup();
  const buf = drv.ram.alloc(16);
  q.writeDesc(0, buf, 16, Desc.NEXT, 1);
  q.writeDesc(1, buf, 16, Desc.NEXT, 0);
  q.publish(0);
  q.notify();
  assert.deepEqual(q.takeUsed(), []);
  assertNeedsReset(drv);
  assert.match(drv.log[0], /loops/);
  // Further notifies do nothing until the driver resets the device.
  q.post([header(T.FLUSH)], [1]);
  q.notify();
  assert.deepEqual(q.takeUsed(), []);

  const again = drv.start();
  assert.equal(drv.r(R.Status) & S.DEVICE_NEEDS_RESET, 0);
  assert.equal(drv.irq.level, false);
  assert.equal(request(drv, again, header(T.FLUSH), [], 0).status, St.OK);
});

test("malformed chains: outside RAM, bad next, nested indirect, bad head, bad order, missing header", () => {
  const cases: [string, (drv: VirtioDriver, q: DriverQueue) => void][] = [
    ["buffer outside RAM", (drv, q) => {
      q.writeDesc(0, RAM_BASE + drv.ram.u8.length - 8, 16, 0, 0);
      q.publish(0);
    }],
    ["next index out of range", (drv, q) => {
      q.writeDesc(0, drv.ram.alloc(16), 16, Desc.NEXT, 999);
      q.publish(0);
    }],
    ["nested indirect", (drv, q) => {
      const t = drv.ram.alloc(16);
      q.writeDesc(0, t, 16, Desc.INDIRECT, 0, t);
      q.writeDesc(0, t, 16, Desc.INDIRECT, 0);
      q.publish(0);
    }],
    ["indirect loop", (drv, q) => {
      const t = drv.ram.alloc(32);
      q.writeDesc(0, drv.ram.alloc(16), 16, Desc.NEXT, 1, t);
      q.writeDesc(1, drv.ram.alloc(16), 16, Desc.NEXT, 0, t);
      q.writeDesc(0, t, 32, Desc.INDIRECT, 0);
      q.publish(0);
    }],
    ["head out of range", (_drv, q) => q.publish(300)],
    ["available index jumps past the queue size", (drv, q) => drv.ram.w16(q.avail + 2, 100)],
    ["readable after writable", (drv, q) => {
      q.writeDesc(0, drv.ram.alloc(16), 16, Desc.WRITE | Desc.NEXT, 1);
      q.writeDesc(1, drv.ram.alloc(16), 16, 0, 0);
      q.publish(0);
    }],
    ["missing status byte", (_drv, q) => void q.post([header(T.IN)], [])],
    ["short header", (_drv, q) => void q.post([new Uint8Array(8)], [1])],
  ];
  for (const [what, make] of cases) {
    const { drv, q } = setup();
    make(drv, q);
    q.notify();
    assert.deepEqual(q.takeUsed(), [], what);
    assertNeedsReset(drv);
  }
});

test("rings outside RAM break the queue at the first notify", () => {
  const drv = new VirtioDriver(new VirtioBlk(new MemoryDisk(4096)));
  assert.ok(drv.negotiate());
  drv.w(R.QueueSel, 0);
  drv.w(R.QueueNum, 16);
  drv.w(R.QueueDescLow, 0x1000);
  drv.w(R.QueueReady, 1);
  drv.driverOk();
  drv.w(R.QueueNotify, 0);
  assertNeedsReset(drv);
});

test("VIRTQ_AVAIL_F_NO_INTERRUPT suppresses the interrupt without event idx", () => {
  const disk = new MemoryDisk(SECTORS * 512);
  const drv = new VirtioDriver(new VirtioBlk(disk));
  const q = drv.start((f) => f & ~VIRTIO_F_RING_EVENT_IDX);
  q.setAvailFlags(1);
  q.post([header(T.FLUSH)], [1]);
  q.notify();
  assert.equal(q.takeUsed().length, 1);
  assert.equal(drv.irq.level, false);
  q.setAvailFlags(0);
  q.post([header(T.FLUSH)], [1]);
  q.notify();
  assert.equal(drv.irq.level, true);
});

test("with event idx: used_event decides the interrupt, avail_event follows the device", () => {
  const { drv, q } = setup();
  assert.notEqual(drv.mmio.features & VIRTIO_F_RING_EVENT_IDX, 0n);
  // First completion always interrupts.
  q.post([header(T.FLUSH)], [1]);
  q.notify();
  assert.equal(q.availEvent(), 1);
  assert.equal(drv.ackInterrupt(), 1);
  // The driver wants an interrupt only once the used index passes 2 (after the 3rd completion).
  q.setUsedEvent(2);
  q.post([header(T.FLUSH)], [1]);
  q.notify();
  assert.equal(drv.irq.level, false);
  q.post([header(T.FLUSH)], [1]);
  q.notify();
  assert.equal(drv.irq.level, true);
  assert.equal(q.availEvent(), 3);
  assert.equal(q.takeUsed().length, 3);
});

test("writing 0 to Status resets queues, interrupt and features", () => {
  const { drv, q } = setup();
  q.post([header(T.FLUSH)], [1]);
  q.notify();
  assert.equal(drv.irq.level, true);
  drv.w(R.Status, 0);
  assert.equal(drv.r(R.Status), 0);
  assert.equal(drv.r(R.InterruptStatus), 0);
  assert.equal(drv.irq.level, false);
  assert.equal(drv.r(R.QueueReady), 0);
  assert.equal(drv.mmio.features, 0n);
  // A queue the device does not have.
  drv.w(R.QueueSel, 1);
  assert.equal(drv.r(R.QueueNumMax), 0);
});

test("the device-tree node matches QEMU's virtio_mmio node", () => {
  const fdt = new Fdt();
  const soc = fdt.root.child("soc");
  const plic = soc.child("plic@c000000");
  const t = new VirtioMmio({ base: 0x10008000, dma: new FakeRam(4096), irq: new IrqLevel() });
  const node = t.fdtNode(soc, plic, 8);
  assert.equal(node.name, "virtio_mmio@10008000");
  assert.deepEqual(node.props.map((p) => p.name), ["compatible", "reg", "interrupt-parent", "interrupts"]);
  assert.equal(new TextDecoder().decode(node.props[0].value), "virtio,mmio\0");
  assert.deepEqual([...node.props[1].value], [0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x10, 0]);
  assert.deepEqual([...node.props[2].value], [0, 0, 0, plic.phandle()]);
  assert.deepEqual([...node.props[3].value], [0, 0, 0, 8]);
});
