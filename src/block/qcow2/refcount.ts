/**
 * qcow2 reference counts: the refcount table, its refcount blocks (entries
 * of 1 to 64 bits, refcount_order as the header gives), and cluster
 * allocation.  Every change goes to the file at once and in the order the
 * format needs for crash safety: a refcount block is written before the
 * table entry that points at it, a new refcount table before the header
 * switches to it, and an increase before anything refers to the cluster.
 */
import { put64, u32, u64 } from "../bytes.js";
import type { ImageFile } from "../image-file.js";
import { ImageError } from "./header.js";

export interface RefcountGeometry {
  clusterBits: number;
  refcountOrder: number;
}

export class Refcounts {
  readonly table: number[] = [];
  private readonly cs: number;
  readonly bits: number;
  readonly perBlock: number;
  readonly max: number;
  private readonly blocks = new Map<number, Uint8Array>();
  private freeHint = 0;

  constructor(
    private readonly file: ImageFile,
    g: RefcountGeometry,
    public tableOffset: number,
    public tableClusters: number,
    /** Writes the new table location into the header (called between flushes). */
    private readonly moveTable: (offset: number, clusters: number) => void,
    /** Called before any refcount changes, so an image can mark itself dirty. */
    private readonly beforeChange: () => void = () => {},
  ) {
    this.cs = 2 ** g.clusterBits;
    this.bits = 2 ** g.refcountOrder;
    this.perBlock = this.cs * 8 / this.bits;
    this.max = this.bits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** this.bits - 1;
    const raw = new Uint8Array(tableClusters * this.cs);
    file.read(tableOffset, raw);
    for (let i = 0; i < raw.length; i += 8) this.table.push(u64(raw, i));
    // Trailing empty entries carry nothing; keep the table as long as the file says.
  }

  /** The refcount block at `offset`, cached (they are small and few). */
  private block(offset: number): Uint8Array {
    let b = this.blocks.get(offset);
    if (b === undefined) {
      b = new Uint8Array(this.cs);
      this.file.read(offset, b);
      if (this.blocks.size >= 256) this.blocks.delete(this.blocks.keys().next().value as number);
      this.blocks.set(offset, b);
    }
    return b;
  }

  /** The offset of the refcount block covering `cluster`, or 0 when it has none. */
  blockOffset(cluster: number): number {
    const k = Math.floor(cluster / this.perBlock);
    return k < this.table.length ? this.table[k] : 0;
  }

  get(cluster: number): number {
    const off = this.blockOffset(cluster);
    if (off === 0) return 0;
    return this.entry(this.block(off), cluster % this.perBlock);
  }

  private entry(b: Uint8Array, i: number): number {
    switch (this.bits) {
      case 1: case 2: case 4: {
        const perByte = 8 / this.bits;
        return (b[Math.floor(i / perByte)] >> ((i % perByte) * this.bits)) & (2 ** this.bits - 1);
      }
      case 8: return b[i];
      case 16: return (b[2 * i] << 8) | b[2 * i + 1];
      case 32: return u32(b, 4 * i);
      default: {
        const v = u64(b, 8 * i);
        return Number.isFinite(v) ? v : Number.MAX_SAFE_INTEGER;
      }
    }
  }

  /** Put `value` into entry `i` of block `b` in memory; returns the byte range [at, at+len) that holds it. */
  private put(b: Uint8Array, i: number, value: number): { at: number; len: number } {
    switch (this.bits) {
      case 1: case 2: case 4: {
        const perByte = 8 / this.bits;
        const at = Math.floor(i / perByte);
        const shift = (i % perByte) * this.bits;
        const mask = (2 ** this.bits - 1) << shift;
        b[at] = (b[at] & ~mask) | ((value << shift) & mask);
        return { at, len: 1 };
      }
      case 8: b[i] = value; return { at: i, len: 1 };
      case 16: b[2 * i] = value >>> 8; b[2 * i + 1] = value; return { at: 2 * i, len: 2 };
      case 32: b[4 * i] = value >>> 24; b[4 * i + 1] = value >>> 16; b[4 * i + 2] = value >>> 8; b[4 * i + 3] = value; return { at: 4 * i, len: 4 };
      default: put64(b, 8 * i, value); return { at: 8 * i, len: 8 };
    }
  }

  /** Store `value` in block `b` (at file offset `off`) and write the bytes that changed. */
  private store(off: number, b: Uint8Array, i: number, value: number): void {
    const { at, len } = this.put(b, i, value);
    this.file.write(off + at, b.subarray(at, at + len));
  }

  /** Add `delta` to the refcount of `cluster`; returns the new count. */
  update(cluster: number, delta: number): number {
    this.beforeChange();
    let off = this.blockOffset(cluster);
    if (off === 0) {
      if (delta < 0) throw new ImageError(`refcount of cluster ${cluster} would go below zero`);
      this.ensureBlock(cluster);
      off = this.blockOffset(cluster);
    }
    const b = this.block(off);
    const i = cluster % this.perBlock;
    const v = this.entry(b, i) + delta;
    if (v < 0) throw new ImageError(`refcount of cluster ${cluster} would go below zero`);
    if (v > this.max) throw new ImageError(`refcount of cluster ${cluster} would overflow its ${this.bits} bits`);
    this.store(off, b, i, v);
    if (v === 0 && cluster < this.freeHint) this.freeHint = cluster;
    return v;
  }

  /** Set the refcount of `cluster` outright (repairs). */
  set(cluster: number, value: number): void {
    this.update(cluster, value - this.get(cluster));
  }

  /** Add `delta` to every cluster that [offset, offset+length) touches. */
  updateRange(offset: number, length: number, delta: number): void {
    const first = Math.floor(offset / this.cs);
    const last = Math.floor((offset + length - 1) / this.cs);
    for (let c = first; c <= last; c++) this.update(c, delta);
  }

  /** Allocate `n` contiguous free clusters with refcount 1; returns the first cluster's byte offset. */
  allocate(n: number): number {
    for (;;) {
      let start = this.freeHint;
      let run = 0;
      for (let c = this.freeHint; run < n; c++) {
        if (this.get(c) === 0 && c !== 0) {
          if (run === 0) start = c;
          run++;
        } else {
          run = 0;
        }
      }
      let covered = true;
      for (let c = start; c < start + n; c++) {
        if (this.blockOffset(c) === 0) {
          this.ensureBlock(c);
          covered = false;
          break;
        }
      }
      if (!covered) continue;
      this.beforeChange();
      for (let c = start; c < start + n; c++) this.update(c, 1);
      if (n === 1 || start === this.freeHint) this.freeHint = start + n;
      return start * this.cs;
    }
  }

  /** Give `cluster` a refcount block: the block goes in `cluster` itself (it then counts itself) unless that is in use. */
  private ensureBlock(cluster: number): void {
    const k = Math.floor(cluster / this.perBlock);
    if (k >= this.table.length) {
      this.growTable(k);
      if (this.blockOffset(cluster) !== 0) return;
    }
    // The first free cluster that this block will cover holds the block.
    let home = -1;
    for (let c = k * this.perBlock; c < (k + 1) * this.perBlock; c++) {
      if (c !== 0) { home = c; break; }
    }
    const b = new Uint8Array(this.cs);
    const i = home % this.perBlock;
    this.beforeChange();
    this.blocks.set(home * this.cs, b);
    this.store(home * this.cs, b, i, 1);
    this.file.write(home * this.cs, b);
    const entry = new Uint8Array(8);
    put64(entry, 0, home * this.cs);
    this.file.write(this.tableOffset + 8 * k, entry);
    this.table[k] = home * this.cs;
  }

  /**
   * Grow the refcount table to hold entry `minIndex`: new refcount blocks
   * and the new table go after the end of the file, counting themselves;
   * the header moves to the new table; the old table is freed last.
   */
  private growTable(minIndex: number): void {
    const cs = this.cs;
    const start = Math.max(Math.ceil(this.file.length() / cs), 1);
    let blocks: number[] = [];
    let tableClusters = 0;
    for (;;) {
      const end = start + blocks.length + tableClusters;
      const entries = Math.max(minIndex + 1, Math.ceil(end / this.perBlock), this.table.length);
      const t = Math.ceil(entries * 8 / cs);
      const need: number[] = [];
      const last = Math.floor((start + blocks.length + t - 1) / this.perBlock);
      for (let k = Math.floor(start / this.perBlock); k <= last; k++) {
        if (k >= this.table.length || this.table[k] === 0) need.push(k);
      }
      if (t === tableClusters && need.length === blocks.length) { blocks = need; break; }
      tableClusters = t;
      blocks = need;
    }
    const tableStart = start + blocks.length;
    const entries = tableClusters * cs / 8;
    if (entries * 8 > 8 * 1024 * 1024) throw new ImageError("the refcount table would exceed QEMU's limit of 8 MiB");
    const newTable = this.table.slice();
    while (newTable.length < entries) newTable.push(0);
    blocks.forEach((k, j) => { newTable[k] = (start + j) * cs; });
    // Each new block counts the new metadata clusters it covers.
    this.beforeChange();
    for (const [j, k] of blocks.entries()) {
      const b = new Uint8Array(cs);
      for (let c = start; c < tableStart + tableClusters; c++) {
        if (Math.floor(c / this.perBlock) === k) this.put(b, c % this.perBlock, 1);
      }
      this.file.write((start + j) * cs, b);
      this.blocks.set((start + j) * cs, b);
    }
    // New metadata clusters covered by blocks that already existed.
    for (let c = start; c < tableStart + tableClusters; c++) {
      const k = Math.floor(c / this.perBlock);
      if (!blocks.includes(k)) {
        const off = this.table[k];
        const b = this.block(off);
        this.store(off, b, c % this.perBlock, this.entry(b, c % this.perBlock) + 1);
      }
    }
    const raw = new Uint8Array(tableClusters * cs);
    newTable.forEach((v, i) => put64(raw, 8 * i, v));
    this.file.write(tableStart * cs, raw);
    this.file.flush();
    const oldOffset = this.tableOffset;
    const oldClusters = this.tableClusters;
    this.moveTable(tableStart * cs, tableClusters);
    this.file.flush();
    this.table.length = 0;
    this.table.push(...newTable);
    this.tableOffset = tableStart * cs;
    this.tableClusters = tableClusters;
    for (let c = 0; c < oldClusters; c++) this.update(oldOffset / cs + c, -1);
  }

  /**
   * check -r all when the structure itself is broken (qemu-img's
   * "Rebuilding refcount structure"), placed as QEMU 7.2 places it
   * (rebuild_refcount_structure): `counts` holds what each cluster's
   * refcount must be, the old structure's reachable clusters included;
   * each range of clusters with a count gets a new block in the first free
   * cluster at or after the range's start, the table goes in the first free
   * run, and the header switches to it once blocks and table are on disk.
   * Nothing is written where `counts` has a reference, so the old structure
   * stays intact until the switch; it is a leak afterwards, for a leaks pass.
   */
  rebuild(counts: ArrayLike<number>): void {
    const cs = this.cs;
    const per = this.perBlock;
    const refs = Array.from(counts);
    const free = (c: number): boolean => (refs[c] ?? 0) === 0;
    /** QEMU's alloc_clusters_imrt: the first run of `n` free clusters from `from`, counted 1. */
    const allocate = (n: number, from: number): number => {
      let start = from;
      for (let run = 0; run < n; start++) run = free(start) ? run + 1 : 0;
      start -= n;
      for (let c = start; c < start + n; c++) refs[c] = 1;
      return start;
    };
    const table: number[] = [];
    /** Give every range with a count in [first, end) a block (QEMU's rebuild_refcounts_write_refblocks); true when the table grew. */
    const placeBlocks = (first: number, end: number): boolean => {
      const entries = table.length;
      let from = 0;
      for (let c = first; c < end; c++) {
        if (free(c)) continue;
        const k = Math.floor(c / per);
        if ((table[k] ?? 0) === 0) {
          from = Math.max(from, k * per);
          const home = allocate(1, from);
          while (table.length <= k) table.push(...new Array<number>(cs / 8).fill(0));
          table[k] = home * cs;
        }
        c = (k + 1) * per - 1;
      }
      return table.length > entries;
    };
    placeBlocks(0, refs.length);
    let tableStart: number;
    let tableClusters: number;
    for (;;) {
      tableClusters = Math.max(1, Math.ceil(table.length * 8 / cs));
      tableStart = allocate(tableClusters, 0);
      if (!placeBlocks(tableStart, tableStart + tableClusters)) break;
      for (let c = tableStart; c < tableStart + tableClusters; c++) refs[c] = 0;
    }
    if (tableClusters * cs > 8 * 1024 * 1024) throw new ImageError("the refcount table would exceed QEMU's limit of 8 MiB");
    for (let c = 0; c < refs.length; c++) {
      if (refs[c] > this.max) throw new ImageError(`cluster ${c} has ${refs[c]} references, more than ${this.bits}-bit refcounts can hold`);
    }
    this.beforeChange();
    table.forEach((off, k) => {
      if (off === 0) return;
      const b = new Uint8Array(cs);
      for (let i = 0; i < per; i++) {
        const v = refs[k * per + i] ?? 0;
        if (v !== 0) this.put(b, i, v);
      }
      this.file.write(off, b);
    });
    const raw = new Uint8Array(tableClusters * cs);
    table.forEach((v, i) => put64(raw, 8 * i, v));
    this.file.write(tableStart * cs, raw);
    this.file.flush();
    this.moveTable(tableStart * cs, tableClusters);
    this.file.flush();
    this.table.length = 0;
    this.table.push(...table);
    while (this.table.length < tableClusters * cs / 8) this.table.push(0);
    this.tableOffset = tableStart * cs;
    this.tableClusters = tableClusters;
    this.dropCache();
  }

  /** Forget cached blocks (after a repair rewrote them). */
  dropCache(): void {
    this.blocks.clear();
    this.freeHint = 0;
  }
}
