/**
 * virtio-pci driven as Linux's virtio_pci_modern and virtio_pci_legacy
 * drivers drive it: the capability walk, feature negotiation, queue setup,
 * notifications, MSI-X vectors through the route table and INTx without
 * them, the ISR, resets; and a seeded fuzz of configuration space, the BARs
 * and the rings in guest memory, in which the emulator must never throw.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { PciCommand, PciReg } from "../../../src/hw/pci/config-space.js";
import { MsiRouteTable } from "../../../src/hw/pci/msi-route.js";
import { MsixCap, MsixEntry } from "../../../src/hw/pci/msix.js";
import { VirtioBlk, VirtioBlkType } from "../../../src/hw/virtio/virtio-blk.js";
import { VirtioRng } from "../../../src/hw/virtio/virtio-rng.js";
import {
  VIRTIO_MSI_NO_VECTOR, VirtioPci, VirtioPciCap, VirtioPciCommon as C,
} from "../../../src/hw/virtio/virtio-pci.js";
import { VirtioPciLegacy as L } from "../../../src/hw/virtio/virtio-pci-legacy.js";
import { VirtioStatus as S, VIRTIO_F_VERSION_1 } from "../../../src/hw/virtio/virtio-transport.js";
import type { MmioOps } from "../../../src/hw/core/memory.js";
import { DriverQueue, FakeRam, MemoryDisk, VirtioDriver } from "../../util/virtio-driver.js";
import { FakeImsic, imsicMessage } from "../pci/msix-harness.js";

const MODERN_BASE = 0x400000000;
const MSIX_BASE = 0x40000000;
const IO_BASE = 0x1000;

interface Cap { type: number; bar: number; offset: number; length: number; at: number }

class PciDriver {
  readonly ram = new FakeRam(1 << 20);
  readonly imsic = new FakeImsic();
  readonly routes = new MsiRouteTable((m) => this.imsic.resolve(m), (m) => this.imsic.memoryWrite(m));
  readonly pci: VirtioPci;
  readonly log: string[] = [];
  intx = false;
  caps: Cap[] = [];

  constructor(device: VirtioBlk | VirtioRng, legacy = false) {
    this.pci = new VirtioPci({
      device, dma: this.ram, send: (m) => this.imsic.memoryWrite(m), routes: this.routes, legacy,
      classCode: 0x010000, name: "virtio-test-pci", log: (m) => this.log.push(m),
    });
    this.pci.config.connectIntx((level) => { this.intx = level; });
    this.pci.config.snapshot();
    this.assignBars();
  }

  get cfg() {
    return this.pci.config;
  }

  /** What Linux's PCI core does: addresses into the BARs, then the spaces and bus mastering on. */
  assignBars(): void {
    this.cfg.write(PciReg.BAR0, 4, IO_BASE);
    this.cfg.write(PciReg.BAR0 + 4, 4, MSIX_BASE);
    this.cfg.write(PciReg.BAR0 + 16, 4, MODERN_BASE >>> 0);
    this.cfg.write(PciReg.BAR0 + 20, 4, MODERN_BASE / 2 ** 32);
    this.cfg.write(PciReg.COMMAND, 2, PciCommand.IO | PciCommand.MEMORY | PciCommand.MASTER);
    this.caps = [];
    for (let at = this.cfg.read(PciReg.CAPABILITY_LIST, 1); at !== 0; at = this.cfg.read(at + 1, 1)) {
      if (this.cfg.read(at, 1) !== 0x09) continue;
      this.caps.push({ at, type: this.cfg.read(at + 3, 1), bar: this.cfg.read(at + 4, 1), offset: this.cfg.read(at + 8, 4), length: this.cfg.read(at + 12, 4) });
    }
  }

  bar(index: number): MmioOps {
    const b = this.cfg.bar(index);
    assert.ok(b !== undefined && this.cfg.barAddress(index) >= 0, `BAR ${index} decodes`);
    return b.ops;
  }

  private region(type: VirtioPciCap): { ops: MmioOps; base: number } {
    const c = this.caps.find((x) => x.type === type);
    assert.ok(c !== undefined, `capability of type ${type}`);
    return { ops: this.bar(c.bar), base: c.offset };
  }

  r(reg: C, size: 1 | 2 | 4): number {
    const { ops, base } = this.region(VirtioPciCap.COMMON_CFG);
    return ops.read(base + reg, size);
  }

  w(reg: C, size: 1 | 2 | 4, v: number): void {
    const { ops, base } = this.region(VirtioPciCap.COMMON_CFG);
    ops.write(base + reg, size, v);
  }

  isr(): number {
    const { ops, base } = this.region(VirtioPciCap.ISR_CFG);
    return ops.read(base, 1);
  }

  notify(queue: number): void {
    const { ops, base } = this.region(VirtioPciCap.NOTIFY_CFG);
    const c = this.caps.find((x) => x.type === VirtioPciCap.NOTIFY_CFG);
    assert.ok(c !== undefined);
    ops.write(base + this.r(C.QUEUE_NOTIFY_OFF, 2) * this.cfg.read(c.at + 16, 4), 2, queue);
  }

  /** virtio_pci_modern: reset, features (VERSION_1 and the device's), FEATURES_OK. */
  negotiate(): void {
    this.w(C.DEVICE_STATUS, 1, 0);
    this.w(C.DEVICE_STATUS, 1, S.ACKNOWLEDGE | S.DRIVER);
    this.w(C.DEVICE_FEATURE_SELECT, 4, 1);
    assert.equal(this.r(C.DEVICE_FEATURE, 4) & 1, 1, "VERSION_1 offered");
    this.w(C.DRIVER_FEATURE_SELECT, 4, 0);
    this.w(C.DRIVER_FEATURE, 4, 0);
    this.w(C.DRIVER_FEATURE_SELECT, 4, 1);
    this.w(C.DRIVER_FEATURE, 4, Number(VIRTIO_F_VERSION_1 >> 32n));
    this.w(C.DEVICE_STATUS, 1, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK);
    assert.equal(this.r(C.DEVICE_STATUS, 1) & S.FEATURES_OK, S.FEATURES_OK);
  }

  /** vp_modern_find_vqs: size, rings, vector, enable. */
  setupQueue(index: number, vector: number): DriverQueue {
    this.w(C.QUEUE_SELECT, 2, index);
    const size = this.r(C.QUEUE_SIZE, 2);
    assert.ok(size > 0);
    const q = new DriverQueue(new VirtioDriver(undefined, this.ram), index, Math.min(size, 16));
    this.w(C.QUEUE_SIZE, 2, q.num);
    for (const [lo, v] of [[C.QUEUE_DESC_LO, q.desc], [C.QUEUE_DRIVER_LO, q.avail], [C.QUEUE_DEVICE_LO, q.used]] as const) {
      this.w(lo, 4, v >>> 0);
      this.w(lo + 4, 4, Math.floor(v / 2 ** 32));
    }
    this.w(C.QUEUE_MSIX_VECTOR, 2, vector);
    this.w(C.QUEUE_ENABLE, 2, 1);
    return q;
  }

  /** Linux's MSI-X bring-up: enable masked, program the entries, unmask. */
  enableMsix(messages: { address: number; data: number }[]): void {
    const cap = this.msixCap();
    this.cfg.write(cap + MsixCap.CONTROL, 2, 0xc000);
    const table = this.bar(1);
    messages.forEach((m, v) => {
      table.write(16 * v + MsixEntry.ADDRESS_LOW, 4, m.address >>> 0);
      table.write(16 * v + MsixEntry.ADDRESS_HIGH, 4, 0);
      table.write(16 * v + MsixEntry.DATA, 4, m.data);
      table.write(16 * v + MsixEntry.VECTOR_CONTROL, 4, 0);
    });
    this.cfg.write(cap + MsixCap.CONTROL, 2, 0x8000);
  }

  msixCap(): number {
    for (let at = this.cfg.read(PciReg.CAPABILITY_LIST, 1); at !== 0; at = this.cfg.read(at + 1, 1)) {
      if (this.cfg.read(at, 1) === 0x11) return at;
    }
    throw new Error("no MSI-X capability");
  }
}

function blkRequest(type: VirtioBlkType, sector: number): Uint8Array {
  const h = new Uint8Array(16);
  const v = new DataView(h.buffer);
  v.setUint32(0, type, true);
  v.setUint32(8, sector, true);
  return h;
}

test("capabilities, IDs and BARs as QEMU 7.2 lays out a transitional virtio-blk-pci", () => {
  const d = new PciDriver(new VirtioBlk(new MemoryDisk(64 * 512)), true);
  assert.deepEqual(d.caps.map((c) => [c.at, c.type, c.bar, c.offset, c.length]), [
    [0x84, VirtioPciCap.PCI_CFG, 0, 0, 0],
    [0x70, VirtioPciCap.NOTIFY_CFG, 4, 0x3000, 0x1000],
    [0x60, VirtioPciCap.DEVICE_CFG, 4, 0x2000, 0x1000],
    [0x50, VirtioPciCap.ISR_CFG, 4, 0x1000, 0x1000],
    [0x40, VirtioPciCap.COMMON_CFG, 4, 0x0000, 0x1000],
  ]);
  assert.equal(d.msixCap(), 0x98);
  assert.equal(d.cfg.read(0x70 + 16, 4), 4, "notify_off_multiplier");
  assert.deepEqual([d.cfg.vendorId, d.cfg.deviceId, d.cfg.read(PciReg.REVISION_ID, 1), d.cfg.read(PciReg.SUBSYSTEM_ID, 2)], [0x1af4, 0x1001, 0, 2]);
  assert.deepEqual([0, 1, 4].map((i) => d.cfg.bar(i)?.size), [0x80, 0x1000, 0x4000]);
  const modern = new PciDriver(new VirtioBlk(new MemoryDisk(512)), false);
  assert.deepEqual([modern.cfg.deviceId, modern.cfg.read(PciReg.REVISION_ID, 1), modern.cfg.bar(0)], [0x1042, 1, undefined]);
});

test("a modern driver with MSI-X: a request is served and its vector arrives through a direct route", () => {
  const disk = new MemoryDisk(64 * 512);
  disk.data.fill(0x5a, 512, 1024);
  const d = new PciDriver(new VirtioBlk(disk));
  d.negotiate();
  d.w(C.MSIX_CONFIG, 2, 0);
  assert.equal(d.r(C.MSIX_CONFIG, 2), 0);
  const q = d.setupQueue(0, 1);
  assert.equal(d.r(C.QUEUE_MSIX_VECTOR, 2), 1);
  d.enableMsix([imsicMessage(0, 1), imsicMessage(1, 2)]);
  d.w(C.DEVICE_STATUS, 1, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK | S.DRIVER_OK);
  assert.equal(d.routes.size, 2, "a route per unmasked vector");
  const posted = q.post([blkRequest(VirtioBlkType.IN, 1)], [512, 1]);
  d.notify(0);
  assert.deepEqual(q.takeUsed(), [{ id: posted.head, len: 513 }]);
  assert.ok(d.ram.bytes(posted.writable[0], 512).every((b) => b === 0x5a));
  assert.deepEqual(d.imsic.take(), [{ msg: imsicMessage(1, 2), path: "direct" }]);
  assert.equal(d.intx, false, "no INTx while MSI-X is on");
});

test("without MSI-X, INTA# follows ISR bit 0; reading the ISR clears it and lowers the line", () => {
  const d = new PciDriver(new VirtioRng((b) => b.fill(7)));
  d.negotiate();
  const q = d.setupQueue(0, VIRTIO_MSI_NO_VECTOR);
  d.w(C.DEVICE_STATUS, 1, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK | S.DRIVER_OK);
  q.post([], [32]);
  d.notify(0);
  assert.equal(q.takeUsed().length, 1);
  assert.equal(d.intx, true);
  assert.equal(d.isr(), 1);
  assert.equal(d.intx, false);
  assert.equal(d.isr(), 0);
  assert.deepEqual(d.imsic.take(), []);
});

test("vectors the function lacks read back as NO_VECTOR; a queue with no vector sends no message", () => {
  const d = new PciDriver(new VirtioRng((b) => b.fill(1)));
  d.negotiate();
  d.w(C.MSIX_CONFIG, 2, 7);
  assert.equal(d.r(C.MSIX_CONFIG, 2), VIRTIO_MSI_NO_VECTOR);
  const q = d.setupQueue(0, 2);
  assert.equal(d.r(C.QUEUE_MSIX_VECTOR, 2), VIRTIO_MSI_NO_VECTOR);
  d.enableMsix([imsicMessage(0, 3), imsicMessage(0, 4)]);
  d.w(C.DEVICE_STATUS, 1, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK | S.DRIVER_OK);
  q.post([], [8]);
  d.notify(0);
  assert.equal(q.takeUsed().length, 1);
  assert.deepEqual(d.imsic.take(), []);
  assert.equal(d.intx, false);
});

test("status 0 forgets queues and vectors; a machine reset also clears MSI-X and its routes", () => {
  const d = new PciDriver(new VirtioRng((b) => b.fill(1)));
  d.negotiate();
  d.setupQueue(0, 1);
  d.enableMsix([imsicMessage(0, 3), imsicMessage(0, 4)]);
  d.w(C.DEVICE_STATUS, 1, 0);
  d.w(C.QUEUE_SELECT, 2, 0);
  assert.deepEqual([d.r(C.QUEUE_ENABLE, 2), d.r(C.QUEUE_MSIX_VECTOR, 2), d.r(C.QUEUE_SIZE, 2)], [0, VIRTIO_MSI_NO_VECTOR, 8]);
  assert.equal(d.routes.size, 2, "the driver's reset leaves MSI-X alone");
  d.pci.reset();
  assert.equal(d.routes.size, 0);
  assert.equal(d.cfg.read(d.msixCap() + MsixCap.CONTROL, 2) & 0xc000, 0);
  assert.equal(d.cfg.barAddress(4), -1, "BARs unassigned after reset");
});

test("a legacy driver: host features, the queue by page frame number, notify and ISR in the I/O BAR", () => {
  const disk = new MemoryDisk(8 * 512);
  const d = new PciDriver(new VirtioBlk(disk), true);
  const io = d.bar(0);
  assert.equal(io.read(L.HOST_FEATURES, 4) & (1 << 9), 1 << 9, "FLUSH offered");
  io.write(L.STATUS, 1, S.ACKNOWLEDGE | S.DRIVER);
  io.write(L.GUEST_FEATURES, 4, 0);
  io.write(L.QUEUE_SEL, 2, 0);
  const num = io.read(L.QUEUE_NUM, 2);
  assert.equal(num, 256);
  const pages = Math.ceil((16 * num + 6 + 2 * num) / 4096) + Math.ceil((6 + 8 * num) / 4096);
  const ring = d.ram.alloc(pages * 4096, 4096);
  io.write(L.QUEUE_PFN, 4, ring / 4096);
  assert.equal(io.read(L.QUEUE_PFN, 4), ring / 4096);
  io.write(L.STATUS, 1, S.ACKNOWLEDGE | S.DRIVER | S.DRIVER_OK);
  // The legacy layout: descriptors, the available ring after them, the used ring at the next page.
  const hdr = d.ram.alloc(16);
  d.ram.put(hdr, blkRequest(VirtioBlkType.OUT, 2));
  const data = d.ram.alloc(512);
  d.ram.bytes(data, 512).fill(0xc3);
  const status = d.ram.alloc(1);
  const desc = (i: number, addr: number, len: number, flags: number, next: number): void => {
    d.ram.w64(ring + 16 * i, addr); d.ram.w32(ring + 16 * i + 8, len); d.ram.w16(ring + 16 * i + 12, flags); d.ram.w16(ring + 16 * i + 14, next);
  };
  desc(0, hdr, 16, 1, 1); desc(1, data, 512, 1, 2); desc(2, status, 1, 2, 0);
  const avail = ring + 16 * num;
  d.ram.w16(avail + 4, 0);
  d.ram.w16(avail + 2, 1);
  io.write(L.QUEUE_NOTIFY, 2, 0);
  const used = Math.ceil((avail + 6 + 2 * num) / 4096) * 4096;
  assert.equal(d.ram.r16(used + 2), 1, "one used element");
  assert.ok(disk.data.subarray(1024, 1536).every((b) => b === 0xc3));
  assert.equal(d.intx, true);
  assert.equal(io.read(L.ISR, 1), 1);
  assert.equal(d.intx, false);
  io.write(L.STATUS, 1, 0);
  assert.equal(io.read(L.QUEUE_PFN, 4), 0);
});

test("the PCI configuration access capability reaches the modern BAR", () => {
  const d = new PciDriver(new VirtioRng((b) => b.fill(1)));
  const at = 0x84;
  d.cfg.write(at + 4, 1, 4);
  d.cfg.write(at + 8, 4, C.NUM_QUEUES);
  d.cfg.write(at + 12, 4, 2);
  assert.equal(d.cfg.read(at + 16, 2), 1, "num_queues through the window");
  d.cfg.write(at + 8, 4, C.QUEUE_SELECT);
  d.cfg.write(at + 16, 2, 5);
  assert.equal(d.r(C.QUEUE_SELECT, 2), 5);
});

test("fuzz: random configuration, BAR and ring writes never throw (seeded)", () => {
  let seed = 0x1234567;
  const rnd = (n: number): number => {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const sizes = [1, 2, 4] as const;
  for (let round = 0; round < 20; round++) {
    const disk = new MemoryDisk(32 * 512);
    const d = new PciDriver(round % 2 === 0 ? new VirtioBlk(disk) : new VirtioRng((b) => b.fill(9)), round % 3 !== 0);
    d.negotiate();
    const q = d.setupQueue(0, rnd(3));
    d.enableMsix([imsicMessage(0, 1), imsicMessage(0, 2)]);
    d.w(C.DEVICE_STATUS, 1, 0xf);
    const modern = d.cfg.bar(4)?.ops;
    assert.ok(modern !== undefined);
    let posts = 0;
    for (let i = 0; i < 500; i++) {
      const size = sizes[rnd(3)];
      const value = rnd(2 ** 32);
      switch (rnd(8)) {
        case 0: d.cfg.write(rnd(0x100), size, value); d.cfg.read(rnd(0x100), size); break;
        case 1: { const b = d.cfg.bar(rnd(6)); b?.ops.write(rnd(b.size), size, value); b?.ops.read(rnd(b.size), size); break; }
        case 2: modern.write(rnd(0x40), size, value); modern.read(rnd(0x40), size); break;
        case 3: d.ram.u8[0x1000 + rnd(d.ram.u8.length - 0x1000)] = rnd(256); break;
        case 4: if (posts++ < 100) q.post([blkRequest(rnd(10), rnd(64))], [rnd(1024), 1]); modern.write(0x3000 + 4 * rnd(3), 2, rnd(3)); break;
        case 5: modern.write(0x3000, 2, 0); modern.read(0x1000, 1); break;
        case 6: d.assignBars(); break;
        default: if (rnd(50) === 0) d.pci.reset(); break;
      }
    }
    // Whatever happened, the device still answers, and a reset brings it back to a clean state.
    assert.equal(d.cfg.read(0, 4) & 0xffff, 0x1af4);
    d.pci.reset();
    assert.equal(d.routes.size, 0, "a reset leaves no route behind");
  }
});
