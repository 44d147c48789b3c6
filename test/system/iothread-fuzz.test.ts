/**
 * An iothread's device under random guest writes, with the worker's side
 * run inline (the same iothreadServe the worker runs): a virtio-blk-pci
 * made through the device registry with iothread=, its configuration space,
 * BARs, MSI-X table and queue registers written at random, random bytes in
 * guest RAM where the rings are, and kicks.  Seeded, thousands of steps: the
 * emulator never throws; a malformed ring only sets the device's
 * DEVICE_NEEDS_RESET.  A well-formed request through the same path reads
 * the disk's bytes into guest RAM first, so the path under the fuzz works.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SystemBus } from "../../src/hw/core/bus.js";
import { ChannelWord, type FromDataplane, type ToDataplane } from "../../src/hw/virtio/dataplane.js";
import { MsiRouteTable } from "../../src/hw/pci/msi-route.js";
import type { SharedMachine } from "../../src/hw/core/shared-machine.js";
import type { PciFunctionModel } from "../../src/hw/pci/pci-device.js";
import { PciCommand, PciReg } from "../../src/hw/pci/config-space.js";
import { Iothread, type DataplaneChannel } from "../../src/system/iothread.js";
import { iothreadServe } from "../../src/system/iothread-serve.js";
import { virtDevices, type DeviceContext } from "../../src/system/virt-devices.js";
import { webHost } from "../../src/system/machine-host.js";
import { MacAllocator } from "../../src/net/mac.js";
import { VirtioPciCommon as C } from "../../src/hw/virtio/virtio-pci.js";

const RAM_BASE = 0x80000000;
const RAM_SIZE = 1 << 20;
const MODERN = 0x400000000;

/** The worker's side in this thread: each request is served as it is posted. */
function inlineChannel(): DataplaneChannel {
  const words = new Int32Array(new SharedArrayBuffer(4 * ChannelWord.SIZE));
  const inbox: FromDataplane[] = [];
  const serve = iothreadServe(webHost(), words.buffer as SharedArrayBuffer, (m) => {
    inbox.push(m);
    Atomics.add(words, ChannelWord.POSTED, 1);
  });
  return {
    words, threadId: 1,
    post: (m: ToDataplane) => serve(structuredClone(m)),
    receive: () => inbox.shift(),
    onMessage: () => {},
    terminate: () => {},
  };
}

function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function build(disk: Uint8Array): { fn: PciFunctionModel; bus: SystemBus; errors: string[]; thread: Iothread } {
  const bus = new SystemBus({ romBase: 0x1000, romSize: 0xf000, ramBase: RAM_BASE, ramSize: RAM_SIZE }, true);
  const shared: SharedMachine = {
    ram: bus.ram.sharedBuffer(), codeFlags: bus.ram.sharedCodeFlags(), ramBase: RAM_BASE, ramSize: RAM_SIZE, ramHost: bus.ramHost,
    imsics: [], doorbell: new SharedArrayBuffer(4),
  };
  const thread = new Iothread("io0", new Map(), inlineChannel);
  const drive = thread.openDrive({ image: { bytes: disk, name: "fuzz.img" }, format: "raw", interface: "none", id: "d0" }, false, () => {});
  const errors: string[] = [];
  const ctx: DeviceContext = {
    drives: new Map([["d0", drive]]), usedDrives: new Set(), harts: 2, random: (b) => b.fill(7), attached: () => {},
    netdevs: new Map(), usedNetdevs: new Set(), macs: new MacAllocator(false), nicCreated: () => {}, rxFilterChanged: () => {},
    qomPath: "/machine/peripheral/blk", iothreads: new Map([["io0", thread]]),
    iothreadMachine: { dropCode: () => {}, rang: () => {} },
  };
  const registry = virtDevices();
  const type = registry.find("virtio-blk-pci");
  assert.ok(type !== undefined);
  const planned = type.realize(registry.parse(type, new Map([["drive", "d0"], ["iothread", "io0"], ["disable-legacy", "on"]])), ctx);
  assert.ok(planned.bus === "PCI");
  const send = (): void => {};
  const fn = planned.plug.create({ dma: bus, send, routes: new MsiRouteTable(() => undefined, send), log: (m) => errors.push(m), express: false, shared });
  fn.config.write(PciReg.BAR0 + 16, 4, MODERN >>> 0);
  fn.config.write(PciReg.BAR0 + 20, 4, MODERN / 2 ** 32);
  fn.config.write(PciReg.COMMAND, 2, PciCommand.MEMORY | PciCommand.MASTER);
  return { fn, bus, errors, thread };
}

test("an iothread's virtio-blk-pci: a request served through the worker's path, then random writes never throw", () => {
  const disk = new Uint8Array(64 * 1024).map((_, i) => (i * 7) & 0xff);
  const { fn, bus, errors, thread } = build(disk);
  const bar = fn.config.bar(4);
  assert.ok(bar !== undefined);
  const w = (reg: number, size: 1 | 2 | 4, v: number): void => bar.ops.write(reg, size, v);
  // A driver's bring-up and one read of sector 1 (512 bytes) through queue 0.
  w(C.DEVICE_STATUS, 1, 3);
  w(C.DRIVER_FEATURE_SELECT, 4, 1);
  w(C.DRIVER_FEATURE, 4, 1);
  w(C.DEVICE_STATUS, 1, 11);
  const ram = bus.u8;
  const at = (a: number): number => bus.hostOffset(a, 1);
  const desc = RAM_BASE + 0x1000, avail = RAM_BASE + 0x2000, used = RAM_BASE + 0x3000, hdr = RAM_BASE + 0x4000;
  const data = RAM_BASE + 0x5000, status = RAM_BASE + 0x6000;
  w(C.QUEUE_SELECT, 2, 0);
  w(C.QUEUE_SIZE, 2, 8);
  for (const [reg, a] of [[C.QUEUE_DESC_LO, desc], [C.QUEUE_DRIVER_LO, avail], [C.QUEUE_DEVICE_LO, used]] as const) {
    w(reg, 4, a >>> 0);
    w(reg + 4, 4, Math.floor(a / 2 ** 32));
  }
  w(C.QUEUE_ENABLE, 2, 1);
  w(C.DEVICE_STATUS, 1, 15);
  const dv = new DataView(ram.buffer);
  const putDesc = (i: number, addr: number, len: number, flags: number, next: number): void => {
    const o = at(desc) + 16 * i;
    dv.setUint32(o, addr >>> 0, true); dv.setUint32(o + 4, Math.floor(addr / 2 ** 32), true);
    dv.setUint32(o + 8, len, true); dv.setUint16(o + 12, flags, true); dv.setUint16(o + 14, next, true);
  };
  dv.setUint32(at(hdr), 0, true); // IN
  dv.setUint32(at(hdr) + 8, 1, true); // sector 1
  putDesc(0, hdr, 16, 1, 1);
  putDesc(1, data, 512, 3, 2);
  putDesc(2, status, 1, 2, 0);
  ram[at(status)] = 0xff;
  dv.setUint16(at(avail) + 4, 0, true);
  dv.setUint16(at(avail) + 2, 1, true);
  bar.ops.write(0x3000, 2, 0); // notify queue 0
  assert.equal(ram[at(status)], 0, "the request completed OK");
  assert.deepEqual(ram.slice(at(data), at(data) + 512), disk.slice(512, 1024), "the worker's path read the disk into RAM");
  assert.equal(dv.getUint16(at(used) + 2, true), 1, "one used entry");

  // The fuzz.
  const next = rng(0x10ad);
  const regs = [C.DEVICE_STATUS, C.QUEUE_SELECT, C.QUEUE_SIZE, C.QUEUE_ENABLE, C.QUEUE_MSIX_VECTOR, C.MSIX_CONFIG,
    C.QUEUE_DESC_LO, C.QUEUE_DRIVER_LO, C.QUEUE_DEVICE_LO, C.DRIVER_FEATURE, C.DRIVER_FEATURE_SELECT];
  for (let step = 0; step < 5000; step++) {
    const r = next();
    const value = Math.floor(next() * 2 ** 32);
    if (r < 0.15) fn.config.write(Math.floor(next() * 0x100), ([1, 2, 4] as const)[Math.floor(next() * 3)], value);
    else if (r < 0.45) w(regs[Math.floor(next() * regs.length)], 2, value & 0xffff);
    else if (r < 0.5) w(C.QUEUE_DESC_LO + 8 * Math.floor(next() * 3), 4, RAM_BASE + Math.floor(next() * RAM_SIZE));
    else if (r < 0.75) ram[at(RAM_BASE) + Math.floor(next() * 0x8000)] = value & 0xff;
    else if (r < 0.8) fn.config.bar(1)?.ops.write(Math.floor(next() * 0x40) & ~3, 4, value);
    else bar.ops.write(0x3000 + 4 * Math.floor(next() * 3), 2, 0);
    // What the run loop does between slices: take what the worker sent.
    thread.poll();
  }
  assert.ok(errors.every((e) => e.startsWith("virtio-blk-pci: ")), `only the guest's errors, as lines:\n${errors.slice(0, 5).join("\n")}`);
  assert.ok(errors.length > 0, "the fuzz reached the worker's ring checks");
  fn.reset();
  thread.quiesce();
});
