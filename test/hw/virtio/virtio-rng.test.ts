/** virtio-rng over virtio-mmio, driven as Linux's virtio_rng driver drives it. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { VirtioMmioReg as R, VIRTIO_F_VERSION_1 } from "../../../src/hw/virtio/virtio-mmio.js";
import { VirtioRng } from "../../../src/hw/virtio/virtio-rng.js";
import { VirtioDriver } from "../../util/virtio-driver.js";

/** A predictable "random" source that records the sizes it was asked for. */
function counter(): { fill: (buf: Uint8Array) => void; calls: number[] } {
  let n = 1;
  const calls: number[] = [];
  return {
    calls,
    fill: (buf) => {
      calls.push(buf.length);
      for (let i = 0; i < buf.length; i++) buf[i] = n++ & 0xff;
    },
  };
}

test("identity: device ID 4, only transport features, one queue", () => {
  const drv = new VirtioDriver(new VirtioRng(counter().fill));
  assert.equal(drv.r(R.DeviceID), 4);
  assert.equal(drv.deviceFeatures() & 0xffffffn, 0n); // no device-type bits (0..23)
  assert.notEqual(drv.deviceFeatures() & VIRTIO_F_VERSION_1, 0n);
  drv.w(R.QueueSel, 0);
  assert.equal(drv.r(R.QueueNumMax), 1024);
  drv.w(R.QueueSel, 1);
  assert.equal(drv.r(R.QueueNumMax), 0);
  assert.equal(drv.mmio.read(0x100, 4), 0xffffffff); // no config space
});

test("fills every writable buffer and reports the length; the interrupt is raised and acked", () => {
  const src = counter();
  const drv = new VirtioDriver(new VirtioRng(src.fill));
  const q = drv.start();
  const p = q.post([], [64, 16]);
  q.notify();
  assert.deepEqual(q.takeUsed(), [{ id: p.head, len: 80 }]);
  assert.deepEqual(src.calls, [64, 16]);
  assert.deepEqual([...drv.ram.bytes(p.writable[0], 4)], [1, 2, 3, 4]);
  assert.equal(drv.ram.bytes(p.writable[1], 1)[0], 65);
  assert.equal(drv.irq.level, true);
  assert.equal(drv.ackInterrupt(), 1);
  assert.equal(drv.irq.level, false);
});

test("several requests, one of them indirect; readable buffers are left alone", () => {
  const src = counter();
  const drv = new VirtioDriver(new VirtioRng(src.fill));
  const q = drv.start();
  const a = q.post([], [32]);
  const b = q.post([], [8], { indirect: true });
  const c = q.post([Uint8Array.of(9, 9)], []);
  q.notify();
  assert.deepEqual(q.takeUsed(), [{ id: a.head, len: 32 }, { id: b.head, len: 8 }, { id: c.head, len: 0 }]);
  assert.deepEqual(src.calls, [32, 8]);
});

test("notifying before the queue is ready does nothing", () => {
  const src = counter();
  const drv = new VirtioDriver(new VirtioRng(src.fill));
  assert.ok(drv.negotiate());
  drv.w(R.QueueNotify, 0);
  assert.deepEqual(src.calls, []);
  assert.equal(drv.irq.level, false);
});
