/**
 * A split virtqueue as the device sees it (virtio 1.2 section 2.7): the
 * descriptor table, the available ring (driver area) and the used ring
 * (device area), all in guest RAM.
 *
 * A malformed chain (a loop, a buffer outside RAM, a bad index) puts the
 * queue in the broken state and reports it through `onError`; the transport
 * then sets DEVICE_NEEDS_RESET (spec 2.1.2), as QEMU's virtio_error does.
 * Nothing more is popped until the device is reset.
 */
import type { DmaMemory } from "../core/memory.js";

export const enum VirtqDescFlag { NEXT = 1, WRITE = 2, INDIRECT = 4 }
/** Available ring flags: the driver asks for no interrupts (a hint, ignored with event idx). */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
/** QEMU's VIRTQUEUE_MAX_SIZE: the largest queue, and the most buffers in one chain. */
export const VIRTQUEUE_MAX_SIZE = 1024;

const DESC_SIZE = 16;

/** A guest buffer of a chain: its guest-physical address and a view of its bytes in RAM. */
export interface GuestBuffer {
  readonly addr: number;
  readonly bytes: Uint8Array;
}

/** Visits consecutive pieces of a byte range; `pos` is the piece's place within the range. */
export type PieceVisitor = (view: Uint8Array, pos: number) => void;

/** One request: a descriptor chain, split into the buffers the device reads and those it writes. */
export class Chain {
  readonly readableLength: number;
  readonly writableLength: number;

  constructor(
    readonly head: number,
    readonly readable: readonly GuestBuffer[],
    readonly writable: readonly GuestBuffer[],
    private readonly dma: DmaMemory,
  ) {
    this.readableLength = total(readable);
    this.writableLength = total(writable);
  }

  /** Visit [offset, offset+length) of the readable bytes; returns how many were visited. */
  readWith(offset: number, length: number, visit: PieceVisitor): number {
    return pieces(this.readable, offset, length, (_buf, view, pos) => visit(view, pos));
  }

  /** Let `fill` write [offset, offset+length) of the writable bytes; returns how many. */
  writeWith(offset: number, length: number, fill: PieceVisitor): number {
    return pieces(this.writable, offset, length, (buf, view, pos) => {
      fill(view, pos);
      // Guest code may run from these bytes (a page-cache page mapped executable).
      this.dma.written(buf.addr + (view.byteOffset - buf.bytes.byteOffset), view.length);
    });
  }

  read(offset: number, into: Uint8Array): number {
    return this.readWith(offset, into.length, (view, pos) => into.set(view, pos));
  }

  write(offset: number, data: Uint8Array): number {
    return this.writeWith(offset, data.length, (view, pos) => view.set(data.subarray(pos, pos + view.length)));
  }
}

function total(list: readonly GuestBuffer[]): number {
  let n = 0;
  for (const b of list) n += b.bytes.length;
  return n;
}

function pieces(list: readonly GuestBuffer[], offset: number, length: number,
  visit: (buf: GuestBuffer, view: Uint8Array, pos: number) => void): number {
  let skip = offset;
  let done = 0;
  for (const buf of list) {
    if (done >= length) break;
    const n = buf.bytes.length;
    if (skip >= n) {
      skip -= n;
      continue;
    }
    const take = Math.min(n - skip, length - done);
    visit(buf, buf.bytes.subarray(skip, skip + take), done);
    done += take;
    skip = 0;
  }
  return done;
}

const rd16 = (m: Uint8Array, o: number): number => m[o] | (m[o + 1] << 8);
const rd32 = (m: Uint8Array, o: number): number => (m[o] | (m[o + 1] << 8) | (m[o + 2] << 16) | (m[o + 3] << 24)) >>> 0;
function wr16(m: Uint8Array, o: number, v: number): void {
  m[o] = v;
  m[o + 1] = v >>> 8;
}
function wr32(m: Uint8Array, o: number, v: number): void {
  m[o] = v;
  m[o + 1] = v >>> 8;
  m[o + 2] = v >>> 16;
  m[o + 3] = v >>> 24;
}

/** vring_need_event: has the used index passed `event` in the step from `old` to `now`? */
function needEvent(event: number, now: number, old: number): boolean {
  return ((now - event - 1) & 0xffff) < ((now - old) & 0xffff);
}

export class Virtqueue {
  // The transport's registers for this queue; they take effect on enable().
  num = 0;
  ready = false;
  descAddr = 0;
  driverAddr = 0;
  deviceAddr = 0;
  /** VIRTIO_F_RING_EVENT_IDX was negotiated. */
  eventIdx = false;

  private desc = -1; // host offsets of the three areas, -1 while not in RAM
  private avail = -1;
  private used = -1;
  private lastAvail = 0;
  private usedIdx = 0;
  private signalledUsed = 0;
  private signalledValid = false;
  private pushed = false;
  private broken = false;

  constructor(readonly index: number, private readonly dma: DmaMemory,
    private readonly onError: (why: string) => void) {}

  /** Device reset: forget everything the driver set up. */
  reset(): void {
    this.num = 0;
    this.ready = false;
    this.descAddr = this.driverAddr = this.deviceAddr = 0;
    this.eventIdx = false;
    this.desc = this.avail = this.used = -1;
    this.lastAvail = this.usedIdx = this.signalledUsed = 0;
    this.signalledValid = this.pushed = this.broken = false;
  }

  /** QueueReady was set: find the three areas in RAM (a missing one breaks the queue at first use). */
  enable(): void {
    const n = this.num;
    this.desc = this.dma.hostOffset(this.descAddr, DESC_SIZE * n);
    this.avail = this.dma.hostOffset(this.driverAddr, 6 + 2 * n);
    this.used = this.dma.hostOffset(this.deviceAddr, 6 + 8 * n);
    this.signalledValid = false;
    this.ready = true;
  }

  /** Mark the queue broken (a malformed request); the transport asks the driver to reset. */
  fail(why: string): undefined {
    if (!this.broken) {
      this.broken = true;
      this.onError(`virtqueue ${this.index}: ${why}`);
    }
    return undefined;
  }

  /** The next available chain, or undefined when there is none (or the queue is broken). */
  pop(): Chain | undefined {
    if (!this.ready || this.broken || this.num === 0) return undefined;
    if (this.desc < 0 || this.avail < 0 || this.used < 0) return this.fail("rings are not in RAM");
    const m = this.dma.u8;
    const availIdx = rd16(m, this.avail + 2);
    if (availIdx === this.lastAvail) return undefined;
    if (((availIdx - this.lastAvail) & 0xffff) > this.num) {
      return this.fail(`driver moved the available index from ${this.lastAvail} to ${availIdx}`);
    }
    const head = rd16(m, this.avail + 4 + 2 * (this.lastAvail % this.num));
    const chain = this.walk(m, head);
    if (chain === undefined) return undefined;
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    // avail_event: ask to be notified as soon as the driver adds anything beyond what we took.
    if (this.eventIdx) {
      wr16(m, this.used + 4 + 8 * this.num, this.lastAvail);
      this.dma.written(this.deviceAddr + 4 + 8 * this.num, 2);
    }
    return chain;
  }

  private walk(m: Uint8Array, head: number): Chain | undefined {
    if (head >= this.num) return this.fail(`head index ${head} is outside the queue`);
    const readable: GuestBuffer[] = [];
    const writable: GuestBuffer[] = [];
    let table = this.desc;
    let size = this.num;
    let inIndirect = false;
    let i = head;
    let steps = 0; // descriptors visited in the current table: more than its size means a loop
    for (;;) {
      if (++steps > size) return this.fail("descriptor chain loops");
      const o = table + DESC_SIZE * i;
      const addr = rd32(m, o) + rd32(m, o + 4) * 2 ** 32;
      const len = rd32(m, o + 8);
      const flags = rd16(m, o + 12);
      const next = rd16(m, o + 14);
      if (flags & VirtqDescFlag.INDIRECT) {
        if (inIndirect) return this.fail("nested indirect table");
        if (flags & VirtqDescFlag.NEXT) return this.fail("indirect descriptor with NEXT set");
        if (len === 0 || len % DESC_SIZE !== 0) return this.fail(`indirect table of ${len} bytes`);
        table = this.dma.hostOffset(addr, len);
        if (table < 0) return this.fail(`indirect table at 0x${addr.toString(16)} is outside RAM`);
        size = len / DESC_SIZE;
        inIndirect = true;
        i = 0;
        steps = 0;
        continue;
      }
      if (readable.length + writable.length >= VIRTQUEUE_MAX_SIZE) return this.fail("chain too long");
      let bytes: Uint8Array;
      if (len === 0) {
        bytes = m.subarray(0, 0);
      } else {
        const h = this.dma.hostOffset(addr, len);
        if (h < 0) return this.fail(`buffer 0x${addr.toString(16)}+${len} is outside RAM`);
        bytes = m.subarray(h, h + len);
      }
      if (flags & VirtqDescFlag.WRITE) {
        writable.push({ addr, bytes });
      } else {
        if (writable.length > 0) return this.fail("device-readable buffer after a writable one");
        readable.push({ addr, bytes });
      }
      if (!(flags & VirtqDescFlag.NEXT)) break;
      if (next >= size) return this.fail(`next index ${next} is outside the table`);
      i = next;
    }
    return new Chain(head, readable, writable, this.dma);
  }

  /**
   * Give back the last `n` chains popped and not pushed (QEMU's
   * virtqueue_unpop): a device that found too few buffers for a request
   * leaves them for the next try.
   */
  unpop(n: number): void {
    this.lastAvail = (this.lastAvail - n) & 0xffff;
  }

  /**
   * The device waits for more buffers: with event idx, ask for a notification
   * as soon as the driver adds any (avail_event = the driver's index now).
   * Without it the driver notifies anyway (the device never sets NO_NOTIFY).
   */
  armNotify(): void {
    if (!this.eventIdx || this.avail < 0 || this.used < 0 || this.num === 0) return;
    const m = this.dma.u8;
    wr16(m, this.used + 4 + 8 * this.num, rd16(m, this.avail + 2));
    this.dma.written(this.deviceAddr + 4 + 8 * this.num, 2);
  }

  /** Return a chain to the driver, with the number of bytes written into its writable buffers. */
  push(chain: Chain, written: number): void {
    if (this.broken || this.used < 0) return;
    const m = this.dma.u8;
    const slot = 4 + 8 * (this.usedIdx % this.num);
    wr32(m, this.used + slot, chain.head);
    wr32(m, this.used + slot + 4, written);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    wr16(m, this.used + 2, this.usedIdx);
    this.dma.written(this.deviceAddr + slot, 8);
    this.dma.written(this.deviceAddr + 2, 2);
    this.pushed = true;
  }

  /** After a batch of pushes: should the driver be interrupted (spec 2.7.10)? */
  shouldInterrupt(): boolean {
    if (!this.pushed) return false;
    this.pushed = false;
    const m = this.dma.u8;
    if (!this.eventIdx) return (rd16(m, this.avail) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
    const old = this.signalledUsed;
    const valid = this.signalledValid;
    this.signalledUsed = this.usedIdx;
    this.signalledValid = true;
    return !valid || needEvent(rd16(m, this.avail + 4 + 2 * this.num), this.usedIdx, old);
  }
}
