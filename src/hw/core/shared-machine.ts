/**
 * What a device model on a worker thread reaches of a machine made with
 * shared memory (an iothread's data plane, as QEMU's dataplane reaches guest
 * RAM and signals irqfds): guest RAM, the code flags of its pages, the
 * IMSICs' interrupt files and a doorbell.
 *
 * The rules of the road:
 * - The worker writes RAM directly.  Before it makes a write visible to the
 *   guest (a used-ring entry) it asks the main thread to drop decoded code
 *   on any page it wrote whose code flag is set, and waits for that.
 * - An MSI with a fast route is delivered by `Atomics.or` of the id's bit
 *   into the target file's eip word, then the doorbell is rung; the main
 *   thread, between slices or when woken, clears the doorbell and
 *   re-evaluates the harts' lines (only it may touch their mip).
 */
import type { DmaMemory } from "./memory.js";

/** The transferable part: everything here crosses to a worker in workerData or a message. */
export interface SharedMachine {
  /** The guest memory's buffer (ROM, RAM, then hart state). */
  ram: SharedArrayBuffer;
  /** One byte per 4 KiB host page: 1 while the main thread holds decoded code for it. */
  codeFlags: SharedArrayBuffer;
  ramBase: number;
  ramSize: number;
  /** Host offset of guest-physical ramBase in `ram`. */
  ramHost: number;
  /** The IMSICs' interrupt-file state (Uint32Array words), M-level first; empty without AIA's IMSICs. */
  imsics: SharedArrayBuffer[];
  /** Int32 word: nonzero when a worker set ids pending since the main thread last looked. */
  doorbell: SharedArrayBuffer;
}

/** Where an MSI with a fast route lands, as data a worker can act on: imsics[imsic] word `word`, bits `mask`. */
export interface SharedMsiTarget {
  readonly imsic: number;
  readonly word: number;
  readonly mask: number;
}

const PAGE_SHIFT = 12;

/**
 * A worker's view of guest RAM for DMA.  `dropCode(first, count)` must make
 * the main thread drop decoded code of those host pages and return only when
 * it has.
 */
export class SharedDma implements DmaMemory {
  readonly u8: Uint8Array;
  private readonly flags: Uint8Array;

  constructor(private readonly m: SharedMachine, private readonly dropCode: (first: number, count: number) => void) {
    this.u8 = new Uint8Array(m.ram);
    this.flags = new Uint8Array(m.codeFlags);
  }

  hostOffset(addr: number, len: number): number {
    const { ramBase, ramSize, ramHost } = this.m;
    if (addr < ramBase || len < 0 || addr + len > ramBase + ramSize) return -1;
    return ramHost + (addr - ramBase);
  }

  written(addr: number, len: number): void {
    const host = this.hostOffset(addr, len);
    if (host < 0 || len === 0) return;
    const last = (host + len - 1) >>> PAGE_SHIFT;
    for (let p = host >>> PAGE_SHIFT; p <= last; p++) {
      if (Atomics.load(this.flags, p) === 0) continue;
      // Ask for the whole remaining range at once: one round trip.
      this.dropCode(p, last - p + 1);
      return;
    }
  }
}

/** Deliver to a fast route's target from any thread: set the bit, ring the doorbell; true when it was quiet (wake the main thread). */
export function deliverShared(imsics: readonly Uint32Array[], doorbell: Int32Array, t: SharedMsiTarget): boolean {
  Atomics.or(imsics[t.imsic], t.word, t.mask);
  return Atomics.exchange(doorbell, 0, 1) === 0;
}
