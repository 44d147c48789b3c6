/**
 * The software TLB: a two-way table per access kind (read, write, fetch).
 * An entry maps a virtual page (tag: the page-aligned low word and the high
 * word of the address) to the host offset of that page in the RAM buffer, so
 * a hit is a compare of two int32s (or of one int64, in translated code) and
 * an add.
 *
 * An entry is four int32s, ENTRY_BYTES: the tag's low word, its high word,
 * the host page, and one unused, so that translated code tests the tag with
 * one 64-bit load (the two words are the address's page as an int64) and
 * finds the host page in the same cache line.
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

/** An entry: int32s TAG_LO, TAG_HI, HOST (byte offsets), and one unused. */
export const ENTRY_SHIFT = 4;
export const ENTRY_BYTES = 1 << ENTRY_SHIFT;
export const enum TlbEntry { TAG_LO = 0, TAG_HI = 4, HOST = 8 }

/**
 * The layout of a TLB in memory (hart-layout.ts): way 0's three tables of
 * TLB_SIZE entries, read, write and fetch, then way 1's in that order.
 */
export const TLB_TABLE_BYTES = ENTRY_BYTES * TLB_SIZE;
export const TLB_WAY_BYTES = 3 * TLB_TABLE_BYTES;
export const TLB_BYTES = 2 * TLB_WAY_BYTES;

/**
 * A tag that can never match: lookups compare against `lo & (PAGE_MASK | 7)`,
 * which never has bit 11 set (a tag of 1 would match a misaligned access at
 * offset 1 of page 0).
 */
const INVALID = 0x800;
const TWO32 = 4294967296;

export const enum Access { READ = 0, WRITE = 1, FETCH = 2 }

/** Byte offset from a TLB's base of an access kind's table in way 0 (way 1's is TLB_WAY_BYTES further on). */
export function tlbTable(access: Access): number {
  return access * TLB_TABLE_BYTES;
}

/** Entries of the victim TLB, per access kind (QEMU's CPU_VTLB_SIZE). */
export const VICTIMS = 8;

/** The int32 index, in a table, of the entry for the address whose low word is `lo`. */
export function entryWord(lo: number): number {
  return ((lo >>> PAGE_SHIFT) & TLB_MASK) << 2;
}

export class Tlb {
  /** Way 0's tables, an entry every four int32s (tag low word, high word, host page; see TlbEntry). */
  readonly read: Int32Array;
  readonly write: Int32Array;
  readonly fetch: Int32Array;

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

  /** Way 0's and way 1's tables by access kind (Access is the index); all six; the two of writes. */
  private readonly ways0: readonly Int32Array[];
  private readonly ways1: readonly Int32Array[];
  private readonly tables: readonly Int32Array[];
  private readonly writeTables: readonly Int32Array[];
  /** The victim TLB: VICTIMS entries per access kind, kind by kind; and where each kind puts its next victim. */
  private readonly victimLo = new Int32Array(3 * VICTIMS);
  private readonly victimHi = new Int32Array(3 * VICTIMS);
  private readonly victimHost = new Int32Array(3 * VICTIMS);
  private readonly victimNext = new Int32Array(3);

  /**
   * The tables live at byte offset `at` of `buffer` (a machine's
   * WebAssembly.Memory, see hart-layout.ts), or in a buffer of their own
   * when `at` is negative.
   */
  constructor(buffer?: ArrayBuffer, readonly at = -1) {
    const buf = buffer !== undefined && at >= 0 ? buffer : new ArrayBuffer(TLB_BYTES);
    const base = buffer !== undefined && at >= 0 ? at : 0;
    const view = (k: number): Int32Array => new Int32Array(buf, base + k * TLB_TABLE_BYTES, 4 * TLB_SIZE);
    this.read = view(0); this.write = view(1); this.fetch = view(2);
    this.ways0 = [this.read, this.write, this.fetch];
    this.ways1 = [view(3), view(4), view(5)];
    this.tables = [...this.ways0, ...this.ways1];
    this.writeTables = [this.write, this.ways1[Access.WRITE]];
    this.flushAll();
  }

  /**
   * Map the page holding (hi, lo) to the host page at byte offset `hostBase`,
   * for one access kind, in way 0; the entry it replaces goes to way 1, and
   * way 1's to the victim TLB.
   */
  fill(access: Access, hi: number, lo: number, hostBase: number): void {
    const e = entryWord(lo);
    const tag = lo & PAGE_MASK;
    const w0 = this.ways0[access];
    const old = w0[e];
    if (old !== INVALID && (old !== tag || w0[e + 1] !== hi)) {
      const w1 = this.ways1[access];
      const old1 = w1[e];
      if (old1 !== INVALID && (old1 !== tag || w1[e + 1] !== hi)) {
        const k = access * VICTIMS + this.victimNext[access];
        this.victimNext[access] = (this.victimNext[access] + 1) % VICTIMS;
        this.victimLo[k] = old1; this.victimHi[k] = w1[e + 1]; this.victimHost[k] = w1[e + 2];
      }
      w1[e] = old; w1[e + 1] = w0[e + 1]; w1[e + 2] = w0[e + 2];
    }
    w0[e] = tag; w0[e + 1] = hi; w0[e + 2] = hostBase;
  }

  /**
   * The host page of (hi, lo) from way 1 or the victim TLB, swapped into way
   * 0 (whose entry takes its place); -1 when it is in neither.
   */
  victim(access: Access, hi: number, lo: number): number {
    const tag = lo & PAGE_MASK;
    const e = entryWord(lo);
    const w0 = this.ways0[access], w1 = this.ways1[access];
    if (w1[e] === tag && w1[e + 1] === hi) {
      const host = w1[e + 2];
      w1[e] = w0[e]; w1[e + 1] = w0[e + 1]; w1[e + 2] = w0[e + 2];
      w0[e] = tag; w0[e + 1] = hi; w0[e + 2] = host;
      return host;
    }
    const vlo = this.victimLo, vhi = this.victimHi, vhost = this.victimHost;
    const end = (access + 1) * VICTIMS;
    for (let k = access * VICTIMS; k < end; k++) {
      if (vlo[k] !== tag || vhi[k] !== hi) continue;
      const host = vhost[k];
      vlo[k] = w0[e]; vhi[k] = w0[e + 1]; vhost[k] = w0[e + 2];
      w0[e] = tag; w0[e + 1] = hi; w0[e + 2] = host;
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
    for (const w of this.tables) invalidateAll(w);
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
    const e = entryWord(lo);
    const tag = lo & PAGE_MASK;
    for (const w of this.tables) if (w[e] === tag && w[e + 1] === hi) w[e] = INVALID;
    for (let k = 0; k < 3 * VICTIMS; k++) {
      if (this.victimLo[k] === tag && this.victimHi[k] === hi) this.victimLo[k] = INVALID;
    }
  }

  flushWrites(): void {
    for (const w of this.writeTables) invalidateAll(w);
    this.victimLo.fill(INVALID, Access.WRITE * VICTIMS, (Access.WRITE + 1) * VICTIMS);
  }

  /** Drop the write entries that map the host page at byte offset `hostBase`. */
  flushHostPageWrites(hostBase: number): void {
    for (const w of this.writeTables) {
      for (let e = 0; e < 4 * TLB_SIZE; e += 4) if (w[e + 2] === hostBase) w[e] = INVALID;
    }
    for (let k = Access.WRITE * VICTIMS; k < (Access.WRITE + 1) * VICTIMS; k++) {
      if (this.victimHost[k] === hostBase) this.victimLo[k] = INVALID;
    }
  }
}

/** Every entry of a table made invalid (its tag's low word). */
function invalidateAll(table: Int32Array): void {
  for (let e = 0; e < table.length; e += 4) table[e] = INVALID;
}
