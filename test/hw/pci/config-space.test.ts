/**
 * A PCI function's configuration space, driven as Linux's PCI core drives it:
 * identity registers, the writable and write-1-to-clear bits, BAR sizing
 * (write all ones, read back) for I/O, 32-bit and 64-bit memory BARs,
 * capabilities, INTx status and masking, reset.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BarKind, PCI_CONFIG_SIZE, PCIE_CONFIG_SIZE, PciCommand, PciConfigSpace, PciReg, PciStatus,
} from "../../../src/hw/pci/config-space.js";
import type { MmioOps } from "../../../src/hw/core/memory.js";

const NO_OPS: MmioOps = { read: () => 0, write: () => undefined };

/** A made-up device: Red Hat vendor, a network controller with an I/O, a 32-bit and a 64-bit prefetchable BAR. */
function fakeDevice(): PciConfigSpace {
  const fn = new PciConfigSpace({
    vendorId: 0x1b36, deviceId: 0x00ff, classCode: 0x020000, revision: 3, interruptPin: 1, express: true,
  });
  fn.registerBar(0, { kind: BarKind.IO, size: 0x20, ops: NO_OPS });
  fn.registerBar(1, { kind: BarKind.MEM32, size: 0x1000, ops: NO_OPS });
  fn.registerBar(2, { kind: BarKind.MEM64, size: 0x4000, prefetchable: true, ops: NO_OPS });
  return fn;
}

/** Linux's __pci_read_base: save, write all ones, read back, restore; the size from the read-back. */
function sizeBar(fn: PciConfigSpace, index: number): { readBack: number; size: number } {
  const reg = PciReg.BAR0 + 4 * index;
  const saved = fn.read(reg, 4);
  fn.write(reg, 4, 0xffffffff);
  const readBack = fn.read(reg, 4);
  fn.write(reg, 4, saved);
  const io = (readBack & 1) !== 0;
  const mask = (readBack & (io ? ~0x3 : ~0xf)) >>> 0;
  return { readBack, size: mask === 0 ? 0 : ((~mask >>> 0) + 1) };
}

test("identity: vendor, device, class, revision, header type 0, QEMU's default subsystem, pin", () => {
  const fn = fakeDevice();
  assert.equal(fn.size, PCIE_CONFIG_SIZE);
  assert.equal(fn.read(PciReg.VENDOR_ID, 4), 0x00ff1b36);
  assert.equal(fn.read(PciReg.REVISION_ID, 4), 0x02000003);
  assert.equal(fn.read(PciReg.HEADER_TYPE, 1), 0);
  assert.equal(fn.read(PciReg.SUBSYSTEM_VENDOR_ID, 4), 0x11001af4);
  assert.equal(fn.read(PciReg.INTERRUPT_PIN, 1), 1);
  assert.equal(new PciConfigSpace({ vendorId: 1, deviceId: 2, classCode: 0 }).size, PCI_CONFIG_SIZE);
  assert.equal(new PciConfigSpace({ vendorId: 1, deviceId: 2, classCode: 0 }).read(0x100, 4), 0xffffffff,
    "a conventional function's space ends at 256 bytes");
});

test("read-only registers ignore writes; command, cache line, interrupt line and the device area are writable", () => {
  const fn = fakeDevice();
  fn.write(PciReg.VENDOR_ID, 4, 0);
  fn.write(PciReg.REVISION_ID, 4, 0xffffffff);
  fn.write(PciReg.INTERRUPT_PIN, 1, 4);
  assert.equal(fn.read(PciReg.VENDOR_ID, 4), 0x00ff1b36);
  assert.equal(fn.read(PciReg.REVISION_ID, 4), 0x02000003);
  assert.equal(fn.read(PciReg.INTERRUPT_PIN, 1), 1);
  fn.write(PciReg.COMMAND, 2, 0xffff);
  assert.equal(fn.read(PciReg.COMMAND, 2), 0x0507, "IO MEMORY MASTER SERR INTX_DISABLE");
  fn.write(PciReg.CACHE_LINE_SIZE, 4, 0xffffffff);
  assert.equal(fn.read(PciReg.CACHE_LINE_SIZE, 4), 0xff, "only the cache line size byte");
  fn.write(PciReg.INTERRUPT_LINE, 2, 0xffff);
  assert.equal(fn.read(PciReg.INTERRUPT_LINE, 2), 0x01ff);
  fn.write(0x40, 4, 0x12345678);
  fn.write(0xffc, 4, 0x9abcdef0);
  assert.equal(fn.read(0x40, 4), 0x12345678);
  assert.equal(fn.read(0xffc, 4), 0x9abcdef0);
  assert.equal(fn.read(0x41, 2), 0x3456, "unaligned reads see the bytes in little-endian order");
});

test("status: error bits clear when written with 1, other bits are read-only", () => {
  const fn = fakeDevice();
  fn.set16(PciReg.STATUS, 0xf900 | PciStatus.CAP_LIST);
  fn.write(PciReg.STATUS, 2, 0x2000 | PciStatus.CAP_LIST);
  assert.equal(fn.read(PciReg.STATUS, 2), 0xd900 | PciStatus.CAP_LIST);
  fn.write(PciReg.STATUS, 2, 0xffff);
  assert.equal(fn.read(PciReg.STATUS, 2), PciStatus.CAP_LIST);
});

test("BAR sizing: I/O, 32-bit memory, 64-bit prefetchable memory; unused BARs and the ROM read 0", () => {
  const fn = fakeDevice();
  assert.deepEqual(sizeBar(fn, 0), { readBack: 0xffffffe1, size: 0x20 });
  assert.deepEqual(sizeBar(fn, 1), { readBack: 0xfffff000, size: 0x1000 });
  assert.deepEqual(sizeBar(fn, 2), { readBack: 0xffffc00c, size: 0x4000 });
  // The upper half of a 64-bit BAR takes any value.
  const upper = PciReg.BAR0 + 12;
  fn.write(upper, 4, 0xffffffff);
  assert.equal(fn.read(upper, 4), 0xffffffff);
  fn.write(upper, 4, 0);
  for (const i of [4, 5]) assert.deepEqual(sizeBar(fn, i), { readBack: 0, size: 0 });
  fn.write(PciReg.ROM_ADDRESS, 4, 0xffffffff);
  assert.equal(fn.read(PciReg.ROM_ADDRESS, 4), 0, "no expansion ROM");
});

test("BARs decode only while their space is enabled in the command register", () => {
  const fn = fakeDevice();
  fn.write(PciReg.BAR0, 4, 0x1000);
  fn.write(PciReg.BAR0 + 4, 4, 0x40001000);
  fn.write(PciReg.BAR0 + 8, 4, 0x00004000);
  fn.write(PciReg.BAR0 + 12, 4, 0x4);
  assert.deepEqual([0, 1, 2].map((i) => fn.barAddress(i)), [-1, -1, -1]);
  fn.write(PciReg.COMMAND, 2, PciCommand.IO);
  assert.deepEqual([0, 1, 2].map((i) => fn.barAddress(i)), [0x1000, -1, -1]);
  fn.write(PciReg.COMMAND, 2, PciCommand.IO | PciCommand.MEMORY);
  assert.deepEqual([0, 1, 2, 3].map((i) => fn.barAddress(i)), [0x1000, 0x40001000, 0x400004000, -1]);
  // Address bits below the size are read-only zeros.
  fn.write(PciReg.BAR0 + 4, 4, 0x40001fff);
  assert.equal(fn.barAddress(1), 0x40001000);
});

test("BAR declarations are checked", () => {
  const fn = new PciConfigSpace({ vendorId: 1, deviceId: 2, classCode: 0 });
  assert.throws(() => fn.registerBar(0, { kind: BarKind.MEM32, size: 0x1800, ops: NO_OPS }), /power of two/);
  assert.throws(() => fn.registerBar(5, { kind: BarKind.MEM64, size: 0x1000, ops: NO_OPS }), /no such BAR/);
  fn.registerBar(0, { kind: BarKind.MEM64, size: 0x1000, ops: NO_OPS });
  assert.throws(() => fn.registerBar(1, { kind: BarKind.IO, size: 0x10, ops: NO_OPS }), /in use/);
});

test("capabilities: a list from CAPABILITY_LIST, newest first; their bytes become read-only", () => {
  const fn = fakeDevice();
  assert.equal(fn.read(PciReg.STATUS, 2) & PciStatus.CAP_LIST, 0);
  fn.addCapability(0x11, 0x40, 12); // MSI-X
  fn.addCapability(0x09, 0x50, 16); // vendor-specific
  assert.equal(fn.read(PciReg.STATUS, 2) & PciStatus.CAP_LIST, PciStatus.CAP_LIST);
  assert.equal(fn.read(PciReg.CAPABILITY_LIST, 1), 0x50);
  assert.equal(fn.read(0x50, 2), 0x4009);
  assert.equal(fn.read(0x40, 2), 0x0011);
  fn.write(0x40, 4, 0xffffffff);
  assert.equal(fn.read(0x40, 4), 0x0011);
  fn.wmask[0x43] = 0xc0; // the device opens MSI-X enable and function mask
  fn.write(0x42, 2, 0xffff);
  assert.equal(fn.read(0x42, 2), 0xc000);
});

test("INTx: Status.INTERRUPT follows the pin, Command.INTX_DISABLE masks delivery", () => {
  const fn = fakeDevice();
  const seen: boolean[] = [];
  fn.connectIntx((level) => seen.push(level));
  fn.setIntx(true);
  assert.equal(fn.read(PciReg.STATUS, 2) & PciStatus.INTERRUPT, PciStatus.INTERRUPT);
  fn.write(PciReg.COMMAND, 2, PciCommand.INTX_DISABLE);
  fn.write(PciReg.COMMAND, 2, 0);
  fn.setIntx(false);
  assert.equal(fn.read(PciReg.STATUS, 2) & PciStatus.INTERRUPT, 0);
  assert.deepEqual(seen, [true, false, true, false]);
  assert.throws(() => new PciConfigSpace({ vendorId: 1, deviceId: 2, classCode: 0 }).setIntx(true), /interrupt pin/);
});

test("reset restores the declared state and tells listeners", () => {
  const fn = fakeDevice();
  fn.snapshot();
  const writes: [number, number][] = [];
  fn.listen((offset, size) => writes.push([offset, size]));
  fn.write(PciReg.COMMAND, 2, 0x7);
  fn.write(PciReg.BAR0 + 4, 4, 0x40000000);
  fn.write(0x80, 1, 0x55);
  fn.reset();
  assert.equal(fn.read(PciReg.COMMAND, 2), 0);
  assert.equal(fn.read(PciReg.BAR0 + 4, 4), 0);
  assert.equal(fn.read(0x80, 1), 0);
  assert.deepEqual(sizeBar(fn, 1), { readBack: 0xfffff000, size: 0x1000 });
  assert.deepEqual(writes.slice(0, 4), [[PciReg.COMMAND, 2], [PciReg.BAR0 + 4, 4], [0x80, 1], [0, PCIE_CONFIG_SIZE]]);
});
