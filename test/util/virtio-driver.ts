/**
 * The driver side of virtio-mmio, for device tests: guest RAM over a
 * Uint8Array, feature negotiation and split-queue setup done the way Linux's
 * virtio_mmio and virtio_ring drivers do them, and an in-memory disk.
 */
import assert from "node:assert/strict";
import type { DmaMemory } from "../../src/hw/core/memory.js";
import { IrqLevel } from "../../src/hw/core/irq.js";
import type { BlockBackend } from "../../src/block/block.js";
import { VirtioMmio, VirtioMmioReg as R, VirtioStatus as S, type VirtioDevice } from "../../src/hw/virtio/virtio-mmio.js";

export const RAM_BASE = 0x80000000;

/** Guest RAM at RAM_BASE, with a bump allocator for rings and buffers. */
export class FakeRam implements DmaMemory {
  readonly u8: Uint8Array;
  /** Bytes reported through written(). */
  writtenBytes = 0;
  private next: number;

  constructor(size = 1 << 20) {
    this.u8 = new Uint8Array(size);
    this.next = RAM_BASE + 0x1000;
  }

  hostOffset(addr: number, len: number): number {
    return addr >= RAM_BASE && len >= 0 && addr - RAM_BASE + len <= this.u8.length ? addr - RAM_BASE : -1;
  }

  written(_addr: number, len: number): void {
    this.writtenBytes += len;
  }

  alloc(size: number, align = 16): number {
    const a = Math.ceil(this.next / align) * align;
    this.next = a + size;
    assert.ok(this.next <= RAM_BASE + this.u8.length, "test RAM exhausted");
    return a;
  }

  bytes(addr: number, len: number): Uint8Array {
    return this.u8.subarray(addr - RAM_BASE, addr - RAM_BASE + len);
  }

  put(addr: number, data: Uint8Array): void {
    this.u8.set(data, addr - RAM_BASE);
  }

  r16(addr: number): number {
    const o = addr - RAM_BASE;
    return this.u8[o] | (this.u8[o + 1] << 8);
  }

  r32(addr: number): number {
    const o = addr - RAM_BASE;
    return (this.u8[o] | (this.u8[o + 1] << 8) | (this.u8[o + 2] << 16) | (this.u8[o + 3] << 24)) >>> 0;
  }

  w16(addr: number, v: number): void {
    const o = addr - RAM_BASE;
    this.u8[o] = v;
    this.u8[o + 1] = v >>> 8;
  }

  w32(addr: number, v: number): void {
    this.w16(addr, v & 0xffff);
    this.w16(addr + 2, v >>> 16);
  }

  w64(addr: number, v: number): void {
    this.w32(addr, v >>> 0);
    this.w32(addr + 4, Math.floor(v / 2 ** 32));
  }
}

/** An in-memory disk that counts flushes. */
export class MemoryDisk implements BlockBackend {
  readonly data: Uint8Array;
  flushes = 0;

  constructor(size: number, readonly readOnly = false) {
    this.data = new Uint8Array(size);
  }

  get size(): number {
    return this.data.length;
  }

  read(offset: number, into: Uint8Array): void {
    into.set(this.data.subarray(offset, offset + into.length));
  }

  write(offset: number, data: Uint8Array): void {
    assert.ok(!this.readOnly, "write reached a read-only disk");
    this.data.set(data, offset);
  }

  /** Discarded ranges, in order (the bytes stay: a discard frees, it does not promise zeros). */
  readonly discards: [number, number][] = [];

  discard(offset: number, length: number): void {
    this.discards.push([offset, length]);
  }

  writeZeroes(offset: number, length: number): void {
    assert.ok(!this.readOnly, "write-zeroes reached a read-only disk");
    this.data.fill(0, offset, offset + length);
  }

  flush(): void {
    this.flushes++;
  }

  close(): void {}
}

export const enum Desc { NEXT = 1, WRITE = 2, INDIRECT = 4 }

export interface UsedElem {
  id: number;
  len: number;
}

/** One posted request: its head descriptor and where its writable buffers are. */
export interface Posted {
  head: number;
  writable: number[];
}

/** A split virtqueue, driver side. */
export class DriverQueue {
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
  private freeHead = 0;
  private availIdx = 0;
  private lastUsed = 0;

  constructor(readonly drv: VirtioDriver, readonly index: number, readonly num: number) {
    const ram = drv.ram;
    this.desc = ram.alloc(16 * num, 16);
    this.avail = ram.alloc(6 + 2 * num, 2);
    this.used = ram.alloc(6 + 8 * num, 4);
  }

  writeDesc(i: number, addr: number, len: number, flags: number, next: number, table = this.desc): void {
    const ram = this.drv.ram;
    const o = table + 16 * i;
    ram.w64(o, addr);
    ram.w32(o + 8, len);
    ram.w16(o + 12, flags);
    ram.w16(o + 14, next);
  }

  /** Make `head` available (without notifying). */
  publish(head: number): void {
    const ram = this.drv.ram;
    ram.w16(this.avail + 4 + 2 * (this.availIdx % this.num), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    ram.w16(this.avail + 2, this.availIdx);
  }

  /** Post readable buffers (copied to fresh RAM) then writable ones of the given sizes. */
  post(readable: Uint8Array[], writableLens: number[], opts: { indirect?: boolean } = {}): Posted {
    const ram = this.drv.ram;
    const bufs: { addr: number; len: number; flags: number }[] = [];
    for (const r of readable) {
      const a = ram.alloc(Math.max(r.length, 1));
      ram.put(a, r);
      bufs.push({ addr: a, len: r.length, flags: 0 });
    }
    const writable: number[] = [];
    for (const n of writableLens) {
      const a = ram.alloc(Math.max(n, 1));
      ram.bytes(a, n).fill(0xee);
      writable.push(a);
      bufs.push({ addr: a, len: n, flags: Desc.WRITE });
    }
    let head: number;
    if (opts.indirect) {
      const table = ram.alloc(16 * bufs.length);
      bufs.forEach((b, i) => {
        const last = i === bufs.length - 1;
        this.writeDesc(i, b.addr, b.len, b.flags | (last ? 0 : Desc.NEXT), last ? 0 : i + 1, table);
      });
      head = this.takeDesc();
      this.writeDesc(head, table, 16 * bufs.length, Desc.INDIRECT, 0);
    } else {
      const ids = bufs.map(() => this.takeDesc());
      bufs.forEach((b, i) => {
        const last = i === bufs.length - 1;
        this.writeDesc(ids[i], b.addr, b.len, b.flags | (last ? 0 : Desc.NEXT), last ? 0 : ids[i + 1]);
      });
      head = ids[0];
    }
    this.publish(head);
    return { head, writable };
  }

  /** Descriptors are handed out round-robin: tests never keep more than `num` in flight. */
  private takeDesc(): number {
    const i = this.freeHead;
    this.freeHead = (this.freeHead + 1) % this.num;
    return i;
  }

  notify(): void {
    this.drv.w(R.QueueNotify, this.index);
  }

  /** Used elements added since the last call. */
  takeUsed(): UsedElem[] {
    const ram = this.drv.ram;
    const out: UsedElem[] = [];
    const idx = ram.r16(this.used + 2);
    while (this.lastUsed !== idx) {
      const slot = this.used + 4 + 8 * (this.lastUsed % this.num);
      out.push({ id: ram.r32(slot), len: ram.r32(slot + 4) });
      this.lastUsed = (this.lastUsed + 1) & 0xffff;
    }
    return out;
  }

  setAvailFlags(flags: number): void {
    this.drv.ram.w16(this.avail, flags);
  }

  /** used_event (with VIRTIO_F_RING_EVENT_IDX): interrupt when the used index passes this. */
  setUsedEvent(v: number): void {
    this.drv.ram.w16(this.avail + 4 + 2 * this.num, v);
  }

  /** avail_event, as the device wrote it. */
  availEvent(): number {
    return this.drv.ram.r16(this.used + 4 + 8 * this.num);
  }
}

/** A transport plus the guest's view of it. */
export class VirtioDriver {
  readonly ram: FakeRam;
  readonly irq = new IrqLevel();
  readonly mmio: VirtioMmio;
  readonly log: string[] = [];

  constructor(device: VirtioDevice | undefined, ram = new FakeRam()) {
    this.ram = ram;
    this.mmio = new VirtioMmio({ base: 0x10001000, dma: ram, irq: this.irq, device, log: (m) => this.log.push(m) });
  }

  r(off: number): number {
    return this.mmio.read(off, 4);
  }

  w(off: number, v: number): void {
    this.mmio.write(off, 4, v);
  }

  deviceFeatures(): bigint {
    this.w(R.DeviceFeaturesSel, 0);
    const lo = this.r(R.DeviceFeatures);
    this.w(R.DeviceFeaturesSel, 1);
    return (BigInt(this.r(R.DeviceFeatures)) << 32n) | BigInt(lo);
  }

  /** Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK; returns whether the device took them. */
  negotiate(accept: (offered: bigint) => bigint = (f) => f): boolean {
    this.w(R.Status, 0);
    this.w(R.Status, S.ACKNOWLEDGE);
    this.w(R.Status, S.ACKNOWLEDGE | S.DRIVER);
    const want = accept(this.deviceFeatures());
    this.w(R.DriverFeaturesSel, 0);
    this.w(R.DriverFeatures, Number(want & 0xffffffffn));
    this.w(R.DriverFeaturesSel, 1);
    this.w(R.DriverFeatures, Number(want >> 32n));
    this.w(R.Status, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK);
    return (this.r(R.Status) & S.FEATURES_OK) !== 0;
  }

  setupQueue(index: number, num = 16): DriverQueue {
    this.w(R.QueueSel, index);
    assert.equal(this.r(R.QueueReady), 0);
    assert.ok(this.r(R.QueueNumMax) >= num);
    const q = new DriverQueue(this, index, num);
    this.w(R.QueueNum, num);
    const hi = (a: number): number => Math.floor(a / 2 ** 32);
    this.w(R.QueueDescLow, q.desc >>> 0);
    this.w(R.QueueDescHigh, hi(q.desc));
    this.w(R.QueueDriverLow, q.avail >>> 0);
    this.w(R.QueueDriverHigh, hi(q.avail));
    this.w(R.QueueDeviceLow, q.used >>> 0);
    this.w(R.QueueDeviceHigh, hi(q.used));
    this.w(R.QueueReady, 1);
    assert.equal(this.r(R.QueueReady), 1);
    return q;
  }

  driverOk(): void {
    this.w(R.Status, this.r(R.Status) | S.DRIVER_OK);
  }

  /** The whole bring-up with every offered feature; returns queue 0. */
  start(accept?: (offered: bigint) => bigint, num = 16): DriverQueue {
    assert.ok(this.negotiate(accept), "device refused the features");
    const q = this.setupQueue(0, num);
    this.driverOk();
    return q;
  }

  /** The interrupt handler: read and acknowledge InterruptStatus. */
  ackInterrupt(): number {
    const isr = this.r(R.InterruptStatus);
    this.w(R.InterruptACK, isr);
    return isr;
  }
}
