/**
 * Guest RAM as the CPU sees it: one host buffer with typed views, addressed
 * by host byte offset.  The buffer is a WebAssembly.Memory, reserved at its
 * full size up front (the host only commits the pages the guest touches) and
 * never grown, so views of it stay valid.  Past the guest's bytes it holds the
 * harts' registers and TLBs (see hart-layout.ts), where translated code
 * reaches them.
 *
 * Each 4 KiB host page carries a "holds decoded code" flag: the write TLB
 * never maps such a page, so a store to it takes the slow path, which drops
 * the decoded instructions (self-modifying code and code loaders stay exact).
 */
import { PAGE_SHIFT, type Tlb } from "./tlb.js";

/**
 * Decoded instructions of one host page: a slot of two words per halfword,
 * at the halfword's byte offset in the page, so that the instruction at
 * offset `off` is `slots[off]` (op and operands, in the interpreter's
 * packing, see accel/interp.ts; 0 = not decoded yet) and `slots[off + 1]`
 * (its immediate), one cache line for both.
 */
export interface DecodedPage {
  readonly slots: Int32Array;
}

/** Words of a decoded page. */
export const DECODED_PAGE_WORDS = 4096;
/**
 * Decoded pages are cut from slabs of this many: a typed array of its own
 * per page (a kernel boot decodes about 3,000 pages) cost V8 an allocation
 * each and counted as external memory towards its collections.
 */
const SLAB_PAGES = 32;

/**
 * Room past the guest's bytes for hart state (registers and TLBs: about 73 KiB
 * a hart, 289 KiB with a TLB per privilege level), the translator's chain
 * table and its countdowns.
 */
const STATE_BYTES = 16 << 20;
const WASM_PAGE = 65536;

export class GuestRam {
  readonly memory: WebAssembly.Memory;
  readonly buffer: ArrayBuffer;
  readonly u8: Uint8Array;
  readonly i8: Int8Array;
  readonly u16: Uint16Array;
  readonly i16: Int16Array;
  readonly i32: Int32Array;
  readonly pages: number;
  /**
   * Decoded code per host page, kept once made (a running CPU may hold it).
   * Grown as pages get code rather than sized for the pool: filling half a
   * million slots up front cost 3 ms of every start.
   */
  private readonly decoded: (DecodedPage | undefined)[] = [];
  /**
   * 1 while a page's decoded instructions are live (and so kept out of write
   * TLBs).  A worker that writes RAM reads it to learn whether the main
   * thread must drop decoded code first.
   */
  readonly codeFlag: Uint8Array;
  /** The TLBs of every CPU on this RAM, to keep code pages out of their write entries. */
  readonly tlbs: Tlb[] = [];
  /** Bumped per page each time its decoded code is dropped: translated code of an older generation is stale. */
  readonly codeGen: Uint32Array;
  /** Bumped by every dropCode that dropped something (translated code compares it around a store). */
  drops = 0;
  /** Told of each page whose code is dropped (the translator's cache). */
  onDrop: ((hostPage: number) => void) | undefined;
  /**
   * The memory is shared (a SharedArrayBuffer underneath): a device model on
   * a worker thread (an iothread's data plane) reaches RAM and the code flags
   * directly.  Translated code then imports it as shared memory.
   */
  readonly shared: boolean;
  /** The state area: [stateStart, stateNext) handed out, [stateNext, stateEnd) still free. */
  private readonly stateStart: number;
  private stateNext: number;
  private readonly stateEnd: number;
  private readonly freeSlots = new Map<number, number[]>();
  /** The slab decoded pages are being cut from, and the next free slot in it. */
  private slab: Int32Array | undefined;
  private slabNext = 0;

  constructor(bytes: number, shared = false) {
    const base = Math.ceil(bytes / WASM_PAGE) * WASM_PAGE;
    const pages = (base + STATE_BYTES) / WASM_PAGE;
    this.shared = shared;
    this.memory = new WebAssembly.Memory(shared ? { initial: pages, maximum: pages, shared: true } : { initial: pages });
    this.buffer = this.memory.buffer;
    this.stateStart = base;
    this.stateNext = base;
    this.stateEnd = base + STATE_BYTES;
    this.u8 = new Uint8Array(this.buffer);
    this.i8 = new Int8Array(this.buffer);
    this.u16 = new Uint16Array(this.buffer);
    this.i16 = new Int16Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
    this.pages = bytes >>> PAGE_SHIFT;
    this.codeFlag = shared ? new Uint8Array(new SharedArrayBuffer(this.pages)) : new Uint8Array(this.pages);
    this.codeGen = new Uint32Array(this.pages);
  }

  /** The memory's SharedArrayBuffer, for a worker (only when made shared). */
  sharedBuffer(): SharedArrayBuffer {
    const b: unknown = this.memory.buffer;
    if (!(b instanceof SharedArrayBuffer)) throw new Error("guest RAM is not shared");
    return b;
  }

  /** The code flags' SharedArrayBuffer, for a worker (only when made shared). */
  sharedCodeFlags(): SharedArrayBuffer {
    const b: unknown = this.codeFlag.buffer;
    if (!(b instanceof SharedArrayBuffer)) throw new Error("guest RAM is not shared");
    return b;
  }

  /**
   * Byte offset of `size` zeroed bytes of hart state in this memory (size a
   * multiple of 8), or -1 when the state area is full (the caller then keeps
   * its state elsewhere and translated code does not run it).
   */
  allocState(size: number): number {
    const reuse = this.freeSlots.get(size)?.pop();
    if (reuse !== undefined) {
      this.u8.fill(0, reuse, reuse + size);
      return reuse;
    }
    if (this.stateNext + size > this.stateEnd) return -1;
    const at = this.stateNext;
    this.stateNext += size;
    return at;
  }

  /** Zero the hart state handed out so far (the rest of the state area has never been written). */
  clearState(): void {
    this.u8.fill(0, this.stateStart, this.stateNext);
  }

  /** Give back a slot from allocState. */
  freeState(at: number, size: number): void {
    if (at < 0) return;
    let list = this.freeSlots.get(size);
    if (list === undefined) {
      list = [];
      this.freeSlots.set(size, list);
    }
    list.push(at);
  }

  /**
   * The decoded-code page for `hostPage`, marked live: from now on a store to
   * the page takes the slow path and drops it.
   */
  codePage(hostPage: number): DecodedPage {
    let d = this.decoded[hostPage];
    if (d === undefined) {
      d = this.newDecodedPage();
      // Pushed one by one, so the array stays packed (a far index would make it a dictionary).
      while (this.decoded.length <= hostPage) this.decoded.push(undefined);
      this.decoded[hostPage] = d;
    }
    if (this.codeFlag[hostPage] === 0) {
      Atomics.store(this.codeFlag, hostPage, 1);
      for (const t of this.tlbs) t.flushHostPageWrites(hostPage << PAGE_SHIFT);
    }
    return d;
  }

  private newDecodedPage(): DecodedPage {
    if (this.slab === undefined || this.slabNext === this.slab.length) {
      this.slab = new Int32Array(SLAB_PAGES * DECODED_PAGE_WORDS);
      this.slabNext = 0;
    }
    const at = this.slabNext;
    this.slabNext += DECODED_PAGE_WORDS;
    return { slots: this.slab.subarray(at, at + DECODED_PAGE_WORDS) };
  }

  hasCode(hostPage: number): boolean {
    return this.codeFlag[hostPage] !== 0;
  }

  /** Forget the decoded instructions of a page that is being written or reused. */
  dropCode(hostPage: number): void {
    if (this.codeFlag[hostPage] === 0) return;
    this.codeFlag[hostPage] = 0;
    this.codeGen[hostPage]++;
    this.drops++;
    this.onDrop?.(hostPage);
    // Cleared in place: an interpreter running from this page re-decodes it.
    (this.decoded[hostPage] as DecodedPage).slots.fill(0);
  }
}
