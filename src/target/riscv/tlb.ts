/**
 * The software TLB: one direct-mapped table per access kind (read, write,
 * fetch).  An entry maps a virtual page (tag: the page-aligned low word and
 * the high word of the address) to the host offset of that page in the RAM
 * buffer, so a hit is a compare of two int32s and an add.
 *
 * The low tag keeps the page-offset bits clear, so a lookup compares it with
 * `lo & (PAGE_MASK | (size - 1))`: a misaligned access then misses and takes
 * the slow path, which handles it, without a separate alignment test.
 */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PAGE_MASK = ~(PAGE_SIZE - 1); // 0xfffff000 as int32

export const TLB_BITS = 8;
export const TLB_SIZE = 1 << TLB_BITS;
export const TLB_MASK = TLB_SIZE - 1;

/**
 * A tag that can never match: lookups compare against `lo & (PAGE_MASK | 7)`,
 * which never has bit 11 set (a tag of 1 would match a misaligned access at
 * offset 1 of page 0).
 */
const INVALID = 0x800;

export const enum Access { READ = 0, WRITE = 1, FETCH = 2 }

export class Tlb {
  readonly readLo = new Int32Array(TLB_SIZE).fill(INVALID);
  readonly readHi = new Int32Array(TLB_SIZE);
  readonly readHost = new Int32Array(TLB_SIZE);
  readonly writeLo = new Int32Array(TLB_SIZE).fill(INVALID);
  readonly writeHi = new Int32Array(TLB_SIZE);
  readonly writeHost = new Int32Array(TLB_SIZE);
  readonly fetchLo = new Int32Array(TLB_SIZE).fill(INVALID);
  readonly fetchHi = new Int32Array(TLB_SIZE);
  readonly fetchHost = new Int32Array(TLB_SIZE);

  /** Map the page holding (hi, lo) to the host page at byte offset `hostBase`, for one access kind. */
  fill(access: Access, hi: number, lo: number, hostBase: number): void {
    const i = (lo >>> PAGE_SHIFT) & TLB_MASK;
    const tag = lo & PAGE_MASK;
    if (access === Access.READ) {
      this.readLo[i] = tag; this.readHi[i] = hi; this.readHost[i] = hostBase;
    } else if (access === Access.WRITE) {
      this.writeLo[i] = tag; this.writeHi[i] = hi; this.writeHost[i] = hostBase;
    } else {
      this.fetchLo[i] = tag; this.fetchHi[i] = hi; this.fetchHost[i] = hostBase;
    }
  }

  flushAll(): void {
    this.readLo.fill(INVALID);
    this.writeLo.fill(INVALID);
    this.fetchLo.fill(INVALID);
  }

  flushWrites(): void {
    this.writeLo.fill(INVALID);
  }

  /** Drop the write entries that map the host page at byte offset `hostBase`. */
  flushHostPageWrites(hostBase: number): void {
    for (let i = 0; i < TLB_SIZE; i++) {
      if (this.writeHost[i] === hostBase) this.writeLo[i] = INVALID;
    }
  }
}
