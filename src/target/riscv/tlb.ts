/**
 * The software TLB: a two-way table per access kind (read, write, fetch).
 * An entry maps a virtual page (tag: the page-aligned low word and the high
 * word of the address) to the host offset of that page in the RAM buffer, so
 * a hit is a compare of two int32s and an add.
 *
 * The low tag keeps the page-offset bits clear, so a lookup compares it with
 * `lo & (PAGE_MASK | (size - 1))`: a misaligned access then misses and takes
 * the slow path, which handles it, without a separate alignment test.
 *
 * Way 0 is what the fast paths (the interpreter's, and translated code's
 * inline test) look at.  Way 1 holds, at the same index, the entry a fill
 * last pushed out of way 0; a miss in way 0 looks there first (translated
 * code without leaving WebAssembly: accel/tcg/tlb-miss.ts) and swaps a hit
 * back into way 0.  Two hot pages 4 MiB apart share an index: with one way,
 * every switch between them left translated code for the slow path
 * (docs/performance.md).
 *
 * Behind the two ways, a victim TLB (as QEMU's): the last VICTIMS entries a
 * fill pushed out of way 1, which the slow path looks at before it walks the
 * page table, swapping a hit back into way 0.
 */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PAGE_MASK = ~(PAGE_SIZE - 1); // 0xfffff000 as int32

export const TLB_BITS = 10;
export const TLB_SIZE = 1 << TLB_BITS;
export const TLB_MASK = TLB_SIZE - 1;

/**
 * The layout of a TLB in memory (hart-layout.ts): way 0's nine arrays of
 * TLB_SIZE int32s, in the order readLo, readHi, readHost, writeLo, writeHi,
 * writeHost, fetchLo, fetchHi, fetchHost, then way 1's nine in that order.
 */
export const TLB_ARRAY_BYTES = 4 * TLB_SIZE;
export const TLB_WAY_BYTES = 9 * TLB_ARRAY_BYTES;
export const TLB_BYTES = 2 * TLB_WAY_BYTES;

/**
 * A tag that can never match: lookups compare against `lo & (PAGE_MASK | 7)`,
 * which never has bit 11 set (a tag of 1 would match a misaligned access at
 * offset 1 of page 0).
 */
const INVALID = 0x800;
const TWO32 = 4294967296;

export const enum Access { READ = 0, WRITE = 1, FETCH = 2 }

/**
 * Byte offsets from a TLB's base of an access kind's arrays in way 0: its
 * tags, high words and host pages (way 1's are TLB_WAY_BYTES further on).
 */
export function tlbArrays(access: Access): readonly [number, number, number] {
  const first = 3 * access * TLB_ARRAY_BYTES;
  return [first, first + TLB_ARRAY_BYTES, first + 2 * TLB_ARRAY_BYTES];
}

/** Entries of the victim TLB, per access kind (QEMU's CPU_VTLB_SIZE). */
export const VICTIMS = 8;

export class Tlb {
  readonly readLo: Int32Array;
  readonly readHi: Int32Array;
  readonly readHost: Int32Array;
  readonly writeLo: Int32Array;
  readonly writeHi: Int32Array;
  readonly writeHost: Int32Array;
  readonly fetchLo: Int32Array;
  readonly fetchHi: Int32Array;
  readonly fetchHost: Int32Array;

  /**
   * The virtual range [largeStart, largeEnd) that covers every page this TLB
   * filled from a superpage (a leaf above the last level of the walk), as
   * signed 64-bit addresses in doubles (exact below 2^53); empty as
   * [Infinity, -Infinity).  An entry maps one 4 KiB page, so an sfence.vma
   * of one address inside a superpage must drop the whole TLB, as QEMU's
   * tlb_flush_page does for its large-page range.
   */
  private largeStart = Infinity;
  private largeEnd = -Infinity;

  /** Way 0's tables by access kind (Access is the index). */
  private readonly los: readonly Int32Array[];
  private readonly his: readonly Int32Array[];
  private readonly hosts: readonly Int32Array[];
  /** Way 1's tables by access kind. */
  private readonly los1: readonly Int32Array[];
  private readonly his1: readonly Int32Array[];
  private readonly hosts1: readonly Int32Array[];
  /** The victim TLB: VICTIMS entries per access kind, kind by kind; and where each kind puts its next victim. */
  private readonly victimLo = new Int32Array(3 * VICTIMS);
  private readonly victimHi = new Int32Array(3 * VICTIMS);
  private readonly victimHost = new Int32Array(3 * VICTIMS);
  private readonly victimNext = new Int32Array(3);

  /**
   * The arrays live at byte offset `at` of `buffer` (a machine's
   * WebAssembly.Memory, see hart-layout.ts), or in a buffer of their own
   * when `at` is negative.
   */
  constructor(buffer?: ArrayBuffer, readonly at = -1) {
    const buf = buffer !== undefined && at >= 0 ? buffer : new ArrayBuffer(TLB_BYTES);
    const base = buffer !== undefined && at >= 0 ? at : 0;
    const view = (k: number): Int32Array => new Int32Array(buf, base + k * TLB_ARRAY_BYTES, TLB_SIZE);
    this.readLo = view(0); this.readHi = view(1); this.readHost = view(2);
    this.writeLo = view(3); this.writeHi = view(4); this.writeHost = view(5);
    this.fetchLo = view(6); this.fetchHi = view(7); this.fetchHost = view(8);
    this.los = [this.readLo, this.writeLo, this.fetchLo];
    this.his = [this.readHi, this.writeHi, this.fetchHi];
    this.hosts = [this.readHost, this.writeHost, this.fetchHost];
    this.los1 = [view(9), view(12), view(15)];
    this.his1 = [view(10), view(13), view(16)];
    this.hosts1 = [view(11), view(14), view(17)];
    this.flushAll();
  }

  /**
   * Map the page holding (hi, lo) to the host page at byte offset `hostBase`,
   * for one access kind, in way 0; the entry it replaces goes to way 1, and
   * way 1's to the victim TLB.
   */
  fill(access: Access, hi: number, lo: number, hostBase: number): void {
    const i = (lo >>> PAGE_SHIFT) & TLB_MASK;
    const tag = lo & PAGE_MASK;
    const los = this.los[access], his = this.his[access], hosts = this.hosts[access];
    const old = los[i];
    if (old !== INVALID && (old !== tag || his[i] !== hi)) {
      const los1 = this.los1[access], his1 = this.his1[access], hosts1 = this.hosts1[access];
      const old1 = los1[i];
      if (old1 !== INVALID && (old1 !== tag || his1[i] !== hi)) {
        const k = access * VICTIMS + this.victimNext[access];
        this.victimNext[access] = (this.victimNext[access] + 1) % VICTIMS;
        this.victimLo[k] = old1; this.victimHi[k] = his1[i]; this.victimHost[k] = hosts1[i];
      }
      los1[i] = old; his1[i] = his[i]; hosts1[i] = hosts[i];
    }
    los[i] = tag; his[i] = hi; hosts[i] = hostBase;
  }

  /**
   * The host page of (hi, lo) from way 1 or the victim TLB, swapped into way
   * 0 (whose entry takes its place); -1 when it is in neither.
   */
  victim(access: Access, hi: number, lo: number): number {
    const tag = lo & PAGE_MASK;
    const i = (lo >>> PAGE_SHIFT) & TLB_MASK;
    const los = this.los[access], his = this.his[access], hosts = this.hosts[access];
    const los1 = this.los1[access], his1 = this.his1[access], hosts1 = this.hosts1[access];
    if (los1[i] === tag && his1[i] === hi) {
      const host = hosts1[i];
      los1[i] = los[i]; his1[i] = his[i]; hosts1[i] = hosts[i];
      los[i] = tag; his[i] = hi; hosts[i] = host;
      return host;
    }
    const vlo = this.victimLo, vhi = this.victimHi, vhost = this.victimHost;
    const end = (access + 1) * VICTIMS;
    for (let k = access * VICTIMS; k < end; k++) {
      if (vlo[k] !== tag || vhi[k] !== hi) continue;
      const host = vhost[k];
      vlo[k] = los[i]; vhi[k] = his[i]; vhost[k] = hosts[i];
      los[i] = tag; his[i] = hi; hosts[i] = host;
      return host;
    }
    return -1;
  }

  /** Note that a page of the `bytes`-long superpage holding (hi, lo) was (or may be) filled. */
  coverLarge(hi: number, lo: number, bytes: number): void {
    const va = hi * TWO32 + (lo >>> 0);
    const start = Math.floor(va / bytes) * bytes;
    this.largeStart = Math.min(this.largeStart, start);
    this.largeEnd = Math.max(this.largeEnd, start + bytes);
  }

  flushAll(): void {
    for (let a = 0; a < 3; a++) {
      this.los[a].fill(INVALID);
      this.los1[a].fill(INVALID);
    }
    this.victimLo.fill(INVALID);
    this.largeStart = Infinity;
    this.largeEnd = -Infinity;
  }

  /**
   * sfence.vma of one address: drop the entries for the page holding (hi, lo),
   * or every entry when the address falls where a superpage was cached.
   */
  flushVirtualPage(hi: number, lo: number): void {
    const va = hi * TWO32 + (lo >>> 0);
    if (va >= this.largeStart && va < this.largeEnd) this.flushAll();
    else this.flushPage(hi, lo);
  }

  /** Drop every entry for the page holding (hi, lo). */
  flushPage(hi: number, lo: number): void {
    const i = (lo >>> PAGE_SHIFT) & TLB_MASK;
    const tag = lo & PAGE_MASK;
    if (this.readLo[i] === tag && this.readHi[i] === hi) this.readLo[i] = INVALID;
    if (this.writeLo[i] === tag && this.writeHi[i] === hi) this.writeLo[i] = INVALID;
    if (this.fetchLo[i] === tag && this.fetchHi[i] === hi) this.fetchLo[i] = INVALID;
    for (let a = 0; a < 3; a++) {
      if (this.los1[a][i] === tag && this.his1[a][i] === hi) this.los1[a][i] = INVALID;
    }
    for (let k = 0; k < 3 * VICTIMS; k++) {
      if (this.victimLo[k] === tag && this.victimHi[k] === hi) this.victimLo[k] = INVALID;
    }
  }

  flushWrites(): void {
    this.writeLo.fill(INVALID);
    this.los1[Access.WRITE].fill(INVALID);
    this.victimLo.fill(INVALID, Access.WRITE * VICTIMS, (Access.WRITE + 1) * VICTIMS);
  }

  /** Drop the write entries that map the host page at byte offset `hostBase`. */
  flushHostPageWrites(hostBase: number): void {
    const lo1 = this.los1[Access.WRITE], host1 = this.hosts1[Access.WRITE];
    for (let i = 0; i < TLB_SIZE; i++) {
      if (this.writeHost[i] === hostBase) this.writeLo[i] = INVALID;
      if (host1[i] === hostBase) lo1[i] = INVALID;
    }
    for (let k = Access.WRITE * VICTIMS; k < (Access.WRITE + 1) * VICTIMS; k++) {
      if (this.victimHost[k] === hostBase) this.victimLo[k] = INVALID;
    }
  }
}
