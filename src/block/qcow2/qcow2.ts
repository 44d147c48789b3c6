/**
 * The qcow2 format (versions 2 and 3): L1 and L2 tables with a cache of L2
 * tables, reference counts, zero and compressed clusters, extended L2
 * entries (read), internal snapshots and a backing image below.
 *
 * Metadata is written through at once, in the order that keeps the image
 * consistent when the process dies at any moment: a cluster's refcount goes
 * up before anything points at it; data goes in before the L2 entry that
 * points at it; a new L2 table before the L1 entry; an L2 entry stops
 * pointing at a cluster before its refcount goes down.  A crash then only
 * leaks clusters, which `check -r leaks` repairs.
 */
import { checkRange, type BlockImage, type BlockStatus } from "../block.js";
import { put32, put64, u32 } from "../bytes.js";
import type { BlockHost, ImageFile } from "../image-file.js";
import {
  COMPAT_LAZY_REFCOUNTS, encodeHeader, ImageError, INCOMPAT_CORRUPT, INCOMPAT_DIRTY, INCOMPAT_EXTL2, parseHeader,
  type Qcow2Header,
} from "./header.js";
import { Refcounts } from "./refcount.js";
import { encodeSnapshots, parseSnapshots, type Qcow2Snapshot } from "./snapshots.js";

/** What an L2 entry says about its cluster (QEMU's QCow2ClusterType). */
export const enum ClusterType { Unallocated, ZeroPlain, ZeroAlloc, Normal, Compressed }

const COPIED_HI = 0x80000000;
const COMPRESSED_HI = 0x40000000;
const L2_CACHE_TABLES = 64;

/** A decoded L1 or L2 entry. */
export interface Entry {
  hi: number;
  lo: number;
}

/** The host offset in an L1 entry or a standard L2 entry (bits 9 to 55). */
export function entryOffset(e: Entry): number {
  return (e.hi & 0x00ffffff) * 0x100000000 + ((e.lo & 0xfffffe00) >>> 0);
}

export interface Qcow2OpenOptions {
  readOnly: boolean;
  /**
   * Flush the file between dependent metadata updates, so that the order
   * also holds across a host crash or power loss (QEMU's cache=writeback and
   * stricter).  False is cache=unsafe: the order of writes alone, which is
   * enough when only the process can die (qemu-img convert's default).
   */
  barriers?: boolean;
  host: BlockHost;
  backing: BlockImage | null;
}

export class Qcow2Image implements BlockImage {
  readonly format = "qcow2";
  readonly header: Qcow2Header;
  readonly clusterBits: number;
  readonly clusterSize: number;
  /** Entries per L2 table. */
  readonly l2Entries: number;
  /** Bytes per L2 entry: 8, or 16 with extended L2 entries. */
  readonly l2EntryBytes: number;
  readonly extendedL2: boolean;
  /** The compressed-cluster descriptor split (QEMU's csize_shift). */
  private readonly csizeShift: number;
  l1: Uint8Array;
  refcounts: Refcounts;
  snapshots: Qcow2Snapshot[];
  private readonly l2Cache = new Map<number, Uint8Array>();
  private decompressed: { offset: number; data: Uint8Array } | null = null;
  /** Where the next compressed cluster may go (inside the last cluster used for compressed data), or 0. */
  private compressedCursor = 0;
  private dirtyMarked = false;
  private closed = false;
  backing: BlockImage | null;

  constructor(readonly file: ImageFile, private readonly opts: Qcow2OpenOptions) {
    const first = new Uint8Array(Math.min(Math.max(file.length(), 0), 2 * 1024 * 1024));
    file.read(0, first);
    const cb = first.length >= 24 ? u32(first, 20) : 0;
    const h = parseHeader(first.subarray(0, cb >= 9 && cb <= 21 ? Math.min(first.length, 2 ** cb) : first.length), file.path, file.length());
    this.header = h;
    this.backing = opts.backing;
    this.clusterBits = h.clusterBits;
    this.clusterSize = 2 ** h.clusterBits;
    this.extendedL2 = (h.incompatible & INCOMPAT_EXTL2) !== 0;
    this.l2EntryBytes = this.extendedL2 ? 16 : 8;
    this.l2Entries = this.clusterSize / this.l2EntryBytes;
    this.csizeShift = 62 - (this.clusterBits - 8);
    if (!opts.readOnly && h.incompatible & INCOMPAT_CORRUPT) {
      throw new ImageError(`qcow2: Image '${file.path}' is corrupt; cannot be opened read/write (run 'tsemu-img check -r all')`);
    }
    this.l1 = new Uint8Array(h.l1Size * 8);
    file.read(h.l1TableOffset, this.l1);
    this.refcounts = new Refcounts(file, h, h.refcountTableOffset, h.refcountTableClusters,
      (offset, clusters) => this.moveRefcountTable(offset, clusters), () => this.markDirty());
    if (h.nbSnapshots > 0) {
      // Entries are at least 40 bytes and at most 40 + 1024 + 2 * 65535.
      const room = Math.min(file.length() - h.snapshotsOffset, h.nbSnapshots * (40 + 1024 + 131072));
      const raw = new Uint8Array(Math.max(room, 0));
      file.read(h.snapshotsOffset, raw);
      try {
        this.snapshots = parseSnapshots(raw, h.nbSnapshots, h.size).list;
      } catch (e) {
        throw new ImageError(`Could not open '${file.path}': ${(e as Error).message}`);
      }
    } else {
      this.snapshots = [];
    }
  }

  get size(): number { return this.header.size; }
  get readOnly(): boolean { return this.opts.readOnly; }
  get filename(): string { return this.file.path; }
  get version(): number { return this.header.version; }

  // ---- L1 and L2 entries ----

  l1Entry(i: number): Entry {
    return { hi: u32(this.l1, 8 * i), lo: u32(this.l1, 8 * i + 4) };
  }

  /** The L2 table at `offset`, through the cache. */
  l2Table(offset: number): Uint8Array {
    let t = this.l2Cache.get(offset);
    if (t !== undefined) {
      // Most recently used last.
      this.l2Cache.delete(offset);
      this.l2Cache.set(offset, t);
      return t;
    }
    if (offset % this.clusterSize !== 0 || offset + this.clusterSize > this.file.length() + this.clusterSize) {
      throw new ImageError(`qcow2 image '${this.filename}' is corrupt: L2 table offset ${offset} is invalid`);
    }
    t = new Uint8Array(this.clusterSize);
    this.file.read(offset, t);
    if (this.l2Cache.size >= L2_CACHE_TABLES) this.l2Cache.delete(this.l2Cache.keys().next().value as number);
    this.l2Cache.set(offset, t);
    return t;
  }

  /** The L2 entry for virtual cluster `vc` (zero entry when its table is missing). */
  l2Entry(vc: number): { e: Entry; bitmap: Entry | null } {
    const l1i = Math.floor(vc / this.l2Entries);
    if (l1i >= this.header.l1Size) return { e: { hi: 0, lo: 0 }, bitmap: null };
    const l2off = entryOffset(this.l1Entry(l1i));
    if (l2off === 0) return { e: { hi: 0, lo: 0 }, bitmap: this.extendedL2 ? { hi: 0, lo: 0 } : null };
    const t = this.l2Table(l2off);
    const at = (vc % this.l2Entries) * this.l2EntryBytes;
    return {
      e: { hi: u32(t, at), lo: u32(t, at + 4) },
      bitmap: this.extendedL2 ? { hi: u32(t, at + 8), lo: u32(t, at + 12) } : null,
    };
  }

  clusterType(e: Entry): ClusterType {
    if (e.hi & COMPRESSED_HI) return ClusterType.Compressed;
    const off = entryOffset(e);
    if (!this.extendedL2 && e.lo & 1) return off === 0 ? ClusterType.ZeroPlain : ClusterType.ZeroAlloc;
    return off === 0 ? ClusterType.Unallocated : ClusterType.Normal;
  }

  /** Host offset and byte length of a compressed cluster's data. */
  compressedRange(e: Entry): { offset: number; length: number } {
    const hiShift = this.csizeShift - 32;
    const sectors = ((e.hi & 0x3fffffff) >>> hiShift) + 1;
    const offset = (e.hi & ((1 << hiShift) - 1)) * 0x100000000 + e.lo;
    return { offset, length: sectors * 512 - (offset % 512) };
  }

  // ---- reading ----

  read(offset: number, into: Uint8Array): void {
    this.guarded(() => this.readUnguarded(offset, into));
  }

  private readUnguarded(offset: number, into: Uint8Array): void {
    checkRange(this.size, offset, into.length);
    let pos = 0;
    while (pos < into.length) {
      const at = offset + pos;
      const vc = Math.floor(at / this.clusterSize);
      const within = at - vc * this.clusterSize;
      const n = Math.min(this.clusterSize - within, into.length - pos);
      this.readInCluster(vc, within, into.subarray(pos, pos + n));
      pos += n;
    }
  }

  private readInCluster(vc: number, within: number, out: Uint8Array): void {
    const { e, bitmap } = this.l2Entry(vc);
    const type = this.clusterType(e);
    const virt = vc * this.clusterSize + within;
    switch (type) {
      case ClusterType.Unallocated:
        if (bitmap !== null && (bitmap.hi | bitmap.lo) !== 0) return this.readSubclusters(vc, within, out, 0, bitmap);
        return this.readBacking(virt, out);
      case ClusterType.ZeroPlain: case ClusterType.ZeroAlloc:
        out.fill(0);
        return;
      case ClusterType.Normal:
        if (bitmap !== null) return this.readSubclusters(vc, within, out, entryOffset(e), bitmap);
        this.file.read(entryOffset(e) + within, out);
        return;
      case ClusterType.Compressed:
        out.set(this.decompress(e).subarray(within, within + out.length));
        return;
    }
  }

  /** Extended L2: each of the 32 subclusters is allocated, zero, or from the backing image. */
  private readSubclusters(vc: number, within: number, out: Uint8Array, host: number, bitmap: Entry): void {
    const sub = this.clusterSize / 32;
    let pos = 0;
    while (pos < out.length) {
      const inCluster = within + pos;
      const s = Math.floor(inCluster / sub);
      const n = Math.min(sub - (inCluster - s * sub), out.length - pos);
      const part = out.subarray(pos, pos + n);
      if (bitmap.lo & (1 << s)) {
        if (host === 0) throw new ImageError(`qcow2 image '${this.filename}' is corrupt: allocated subcluster without a cluster`);
        this.file.read(host + inCluster, part);
      } else if (bitmap.hi & (1 << s)) {
        part.fill(0);
      } else {
        this.readBacking(vc * this.clusterSize + inCluster, part);
      }
      pos += n;
    }
  }

  private readBacking(virt: number, out: Uint8Array): void {
    const b = this.backing;
    if (b === null || virt >= b.size) { out.fill(0); return; }
    const n = Math.min(out.length, b.size - virt);
    b.read(virt, out.subarray(0, n));
    if (n < out.length) out.fill(0, n);
  }

  private decompress(e: Entry): Uint8Array {
    const r = this.compressedRange(e);
    if (this.decompressed?.offset === r.offset) return this.decompressed.data;
    if (r.offset + r.length > this.file.length() + 512 * 2 + this.clusterSize) {
      throw new ImageError(`qcow2 image '${this.filename}' is corrupt: compressed cluster at ${r.offset} lies past the end of the file`);
    }
    const raw = new Uint8Array(r.length);
    this.file.read(r.offset, raw);
    let data: Uint8Array;
    try {
      data = this.opts.host.inflateRaw(raw, this.clusterSize);
    } catch (err) {
      throw new ImageError(`qcow2 image '${this.filename}': cannot decompress the cluster at ${r.offset}: ${(err as Error).message}`);
    }
    this.decompressed = { offset: r.offset, data };
    return data;
  }

  blockStatus(offset: number, length: number): BlockStatus {
    checkRange(this.size, offset, length);
    const first = this.statusOfCluster(offset);
    let len = Math.min(first.length, length);
    while (len < length) {
      const next = this.statusOfCluster(offset + len);
      if (next.zero !== first.zero || next.data !== first.data || next.depth !== first.depth || next.hostFile !== first.hostFile
        || (first.hostOffset === undefined) !== (next.hostOffset === undefined)
        || (first.hostOffset !== undefined && next.hostOffset !== first.hostOffset + len)) break;
      len += Math.min(next.length, length - len);
    }
    return { ...first, length: Math.min(len, length) };
  }

  private statusOfCluster(offset: number): BlockStatus {
    const vc = Math.floor(offset / this.clusterSize);
    const within = offset - vc * this.clusterSize;
    const rest = Math.min(this.clusterSize - within, this.size - offset);
    const { e, bitmap } = this.l2Entry(vc);
    const type = this.clusterType(e);
    if (bitmap !== null && (type === ClusterType.Normal || type === ClusterType.Unallocated)) {
      const sub = this.clusterSize / 32;
      const s = Math.floor(within / sub);
      const n = Math.min(sub - (within - s * sub), rest);
      if (bitmap.lo & (1 << s)) return { length: n, zero: false, data: true, depth: 0, hostOffset: entryOffset(e) + within, hostFile: this.filename };
      if (bitmap.hi & (1 << s)) return { length: n, zero: true, data: false, depth: 0 };
      return this.backingStatus(offset, n);
    }
    switch (type) {
      case ClusterType.Normal:
        return { length: rest, zero: false, data: true, depth: 0, hostOffset: entryOffset(e) + within, hostFile: this.filename };
      case ClusterType.Compressed:
        return { length: rest, zero: false, data: true, depth: 0 };
      case ClusterType.ZeroPlain: case ClusterType.ZeroAlloc:
        return { length: rest, zero: true, data: false, depth: 0 };
      default:
        return this.backingStatus(offset, rest);
    }
  }

  private backingStatus(offset: number, n: number): BlockStatus {
    const b = this.backing;
    if (b === null) return { length: n, zero: true, data: false, depth: -1 };
    if (offset >= b.size) return { length: n, zero: true, data: false, depth: -1 };
    const s = b.blockStatus(offset, Math.min(n, b.size - offset));
    return { ...s, depth: s.depth < 0 ? -1 : s.depth + 1 };
  }

  // ---- writing ----

  /** Run a write; a corruption found on the way stops all further writes. */
  private guarded<T>(op: () => T): T {
    try {
      return op();
    } catch (e) {
      if (e instanceof ImageError && this.broken === null && !this.opts.readOnly) this.broken = e.message;
      // Updates not yet pointed at are dropped: at worst their clusters leak.
      this.pending = [];
      throw e;
    }
  }

  /** L2 updates of the request in progress, made by commitPending() once their data is in. */
  private pending: { vc: number; hi: number; lo: number; old: Entry | null }[] = [];
  private allocatedSinceBarrier = false;

  private alloc(n: number): number {
    const at = this.refcounts.allocate(n);
    this.allocatedSinceBarrier = true;
    return at;
  }

  private barrier(): void {
    if (this.opts.barriers !== false) this.file.flush();
    this.allocatedSinceBarrier = false;
  }

  /**
   * Point the clusters one request wrote at their new homes once their data
   * and refcounts are durable, then free what they replaced once the new
   * pointers are.
   */
  private commitPending(): void {
    const p = this.pending;
    if (p.length === 0) return;
    this.pending = [];
    if (this.allocatedSinceBarrier) this.barrier();
    for (const u of p) this.setL2(u.vc, u.hi, u.lo);
    const freed = p.filter((u) => u.old !== null && this.clusterType(u.old) !== ClusterType.Unallocated && this.clusterType(u.old) !== ClusterType.ZeroPlain);
    if (freed.length === 0) return;
    this.barrier();
    for (const u of freed) this.release(u.old as Entry);
  }

  /** Set when an operation found the metadata corrupt: no further writes. */
  private broken: string | null = null;

  private checkWritable(): void {
    if (this.opts.readOnly) throw new Error(`${this.filename}: the image is read-only`);
    if (this.broken !== null) throw new ImageError(`${this.filename}: no more writes to an image found corrupt (${this.broken})`);
    if (this.closed) throw new Error(`${this.filename}: the image is closed`);
    if (this.extendedL2) throw new Error(`${this.filename}: writing images with extended L2 entries is not supported by tsemu`);
  }

  /** v3 images with lazy refcounts carry the dirty bit while open for writing (refcounts here are never lazy). */
  private markDirty(): void {
    if (this.dirtyMarked || this.header.version < 3 || !(this.header.compatible & COMPAT_LAZY_REFCOUNTS)) return;
    this.dirtyMarked = true;
    if (this.header.incompatible & INCOMPAT_DIRTY) return;
    this.header.incompatible |= INCOMPAT_DIRTY;
    this.writeFeatureBits();
    this.file.flush();
  }

  /** After a repair: clear the dirty and corrupt bits (a later change under lazy refcounts sets dirty again). */
  markClean(): void {
    const bits = INCOMPAT_DIRTY | INCOMPAT_CORRUPT;
    this.dirtyMarked = false;
    if ((this.header.incompatible & bits) === 0) return;
    this.file.flush();
    this.header.incompatible &= ~bits;
    this.writeFeatureBits();
    this.file.flush();
  }

  private writeFeatureBits(): void {
    const b = new Uint8Array(4);
    put32(b, 0, this.header.incompatible);
    this.file.write(76, b);
  }

  private moveRefcountTable(offset: number, clusters: number): void {
    const b = new Uint8Array(12);
    put64(b, 0, offset);
    put32(b, 8, clusters);
    this.file.write(48, b);
    this.header.refcountTableOffset = offset;
    this.header.refcountTableClusters = clusters;
  }

  write(offset: number, data: Uint8Array): void {
    this.guarded(() => this.writeUnguarded(offset, data));
  }

  private writeUnguarded(offset: number, data: Uint8Array): void {
    this.checkWritable();
    checkRange(this.size, offset, data.length);
    let pos = 0;
    while (pos < data.length) {
      const at = offset + pos;
      const vc = Math.floor(at / this.clusterSize);
      const within = at - vc * this.clusterSize;
      const n = Math.min(this.clusterSize - within, data.length - pos);
      this.writeInCluster(vc, within, data.subarray(pos, pos + n));
      pos += n;
    }
    this.commitPending();
  }

  /** The L2 table for `l1i`, allocated or copied so that this image alone owns it; returns its offset. */
  private ownL2(l1i: number): number {
    const e = this.l1Entry(l1i);
    const old = entryOffset(e);
    if (old !== 0 && e.hi & COPIED_HI) return old;
    const fresh = this.alloc(1);
    const table = old === 0 ? new Uint8Array(this.clusterSize) : this.l2Table(old).slice();
    this.file.write(fresh, table);
    this.l2Cache.set(fresh, table);
    this.barrier();
    this.setL1(l1i, fresh);
    if (old !== 0) {
      this.barrier();
      this.refcounts.update(old / this.clusterSize, -1);
    }
    return fresh;
  }

  private setL1(l1i: number, l2Offset: number): void {
    const b = this.l1.subarray(8 * l1i, 8 * l1i + 8);
    put64(b, 0, l2Offset);
    if (l2Offset !== 0) b[0] |= 0x80;
    this.file.write(this.header.l1TableOffset + 8 * l1i, b);
  }

  /** Point virtual cluster `vc` at `hi:lo` (the L2 table must be this image's own). */
  private setL2(vc: number, hi: number, lo: number): void {
    const l1i = Math.floor(vc / this.l2Entries);
    const l2off = this.ownL2(l1i);
    const t = this.l2Table(l2off);
    const at = (vc % this.l2Entries) * this.l2EntryBytes;
    put32(t, at, hi);
    put32(t, at + 4, lo);
    this.file.write(l2off + at, t.subarray(at, at + 8));
  }

  /** Drop this image's reference to what entry `e` pointed at. */
  private release(e: Entry): void {
    switch (this.clusterType(e)) {
      case ClusterType.Normal: case ClusterType.ZeroAlloc:
        this.refcounts.update(entryOffset(e) / this.clusterSize, -1);
        break;
      case ClusterType.Compressed: {
        const r = this.compressedRange(e);
        const start = r.offset - (r.offset % 512);
        this.refcounts.updateRange(start, r.length + (r.offset % 512), -1);
        if (this.decompressed?.offset === r.offset) this.decompressed = null;
        break;
      }
      default: break;
    }
  }

  private writeInCluster(vc: number, within: number, data: Uint8Array): void {
    const { e } = this.l2Entry(vc);
    const type = this.clusterType(e);
    const owned = (e.hi & COPIED_HI) !== 0;
    if (type === ClusterType.Normal && owned) {
      this.file.write(entryOffset(e) + within, data);
      return;
    }
    let whole: Uint8Array;
    if (data.length === this.clusterSize) {
      whole = data;
    } else {
      whole = new Uint8Array(this.clusterSize);
      if (type !== ClusterType.ZeroAlloc && type !== ClusterType.ZeroPlain) {
        const n = Math.min(this.clusterSize, this.size - vc * this.clusterSize);
        this.readInCluster(vc, 0, whole.subarray(0, n));
      }
      whole.set(data, within);
    }
    if (type === ClusterType.ZeroAlloc && owned) {
      // The cluster is ours already: fill it, then let the entry say it holds data.
      const host = entryOffset(e);
      this.file.write(host, whole);
      this.allocatedSinceBarrier = true;
      this.pending.push({ vc, hi: e.hi, lo: e.lo & ~1, old: null });
      return;
    }
    const host = this.alloc(1);
    this.file.write(host, whole);
    this.pending.push({ vc, hi: COPIED_HI | Math.floor(host / 0x100000000), lo: host >>> 0, old: e });
  }

  /** Write one whole virtual cluster compressed (as `convert -c` does); stores it plainly when deflate does not shrink it. */
  writeCompressed(vc: number, data: Uint8Array): void {
    this.guarded(() => this.writeCompressedUnguarded(vc, data));
  }

  private writeCompressedUnguarded(vc: number, data: Uint8Array): void {
    this.checkWritable();
    const z = this.opts.host.deflateRaw(data);
    const maxSectors = 2 ** (this.clusterBits - 8);
    if (z.length >= this.clusterSize - 512 || Math.ceil(z.length / 512) + 1 > maxSectors) {
      this.write(vc * this.clusterSize, data.length === this.clusterSize ? data : padTo(data, this.clusterSize));
      return;
    }
    const { e } = this.l2Entry(vc);
    const cs = this.clusterSize;
    let at = this.compressedCursor;
    if (at !== 0 && at % cs !== 0 && (at % cs) + z.length <= cs && this.refcounts.get(Math.floor(at / cs)) > 0) {
      this.refcounts.update(Math.floor(at / cs), 1);
      this.allocatedSinceBarrier = true;
    } else {
      at = this.alloc(1);
    }
    this.file.write(at, z);
    this.compressedCursor = at + z.length;
    const sectors = Math.ceil(((at % 512) + z.length) / 512);
    const hiShift = this.csizeShift - 32;
    const hi = COMPRESSED_HI | ((sectors - 1) << hiShift) | Math.floor(at / 0x100000000);
    this.pending.push({ vc, hi, lo: at >>> 0, old: e });
    this.commitPending();
  }

  discard(offset: number, length: number): void {
    this.guarded(() => this.discardUnguarded(offset, length));
  }

  private discardUnguarded(offset: number, length: number): void {
    this.checkWritable();
    checkRange(this.size, offset, length);
    // Only whole clusters are discarded, as in QEMU; the rest is left as it is.
    const first = Math.ceil(offset / this.clusterSize);
    const endByte = offset + length === this.size ? Math.ceil(this.size / this.clusterSize) * this.clusterSize : offset + length;
    const end = Math.floor(endByte / this.clusterSize);
    for (let vc = first; vc < end; vc++) {
      const { e } = this.l2Entry(vc);
      const type = this.clusterType(e);
      const zero = this.header.version >= 3 && (this.backing !== null || type !== ClusterType.Unallocated);
      if (type === ClusterType.Unallocated && !zero) continue;
      if (type === ClusterType.ZeroPlain && zero) continue;
      this.pending.push({ vc, hi: 0, lo: zero ? 1 : 0, old: e });
    }
    this.commitPending();
  }

  writeZeroes(offset: number, length: number, unmap: boolean): void {
    this.guarded(() => this.writeZeroesUnguarded(offset, length, unmap));
  }

  private writeZeroesUnguarded(offset: number, length: number, unmap: boolean): void {
    this.checkWritable();
    checkRange(this.size, offset, length);
    const cs = this.clusterSize;
    let pos = offset;
    const end = offset + length;
    while (pos < end) {
      const vc = Math.floor(pos / cs);
      const within = pos - vc * cs;
      const n = Math.min(cs - within, end - pos);
      const wholeCluster = within === 0 && (n === cs || pos + n === this.size);
      const { e } = this.l2Entry(vc);
      const type = this.clusterType(e);
      if (wholeCluster && this.header.version >= 3) {
        if (type === ClusterType.ZeroPlain || type === ClusterType.ZeroAlloc && !unmap) { pos += n; continue; }
        if (!unmap && type === ClusterType.Normal && e.hi & COPIED_HI) {
          this.pending.push({ vc, hi: e.hi, lo: e.lo | 1, old: null });
        } else {
          this.pending.push({ vc, hi: 0, lo: 1, old: e });
        }
      } else if (!(type === ClusterType.Unallocated && this.backing === null) && type !== ClusterType.ZeroPlain && type !== ClusterType.ZeroAlloc) {
        this.writeInCluster(vc, within, new Uint8Array(n));
      } else if (type === ClusterType.Unallocated && this.backing !== null) {
        this.writeInCluster(vc, within, new Uint8Array(n));
      }
      pos += n;
    }
    this.commitPending();
  }

  flush(): void {
    if (!this.opts.readOnly) this.file.flush();
  }

  close(): void {
    if (this.closed) return;
    if (!this.opts.readOnly) {
      this.file.flush();
      if (this.dirtyMarked && this.header.incompatible & INCOMPAT_DIRTY) {
        this.header.incompatible &= ~INCOMPAT_DIRTY;
        this.writeFeatureBits();
        this.file.flush();
      }
    }
    this.closed = true;
    this.file.close();
    this.backing?.close();
  }

  // ---- whole-image changes ----

  /** Rewrite the header (with its extensions) in place. */
  writeHeader(): void {
    this.file.write(0, encodeHeader(this.header, true));
  }

  /** Write the snapshot table anew and switch the header to it; the old table is freed after. */
  private writeSnapshotTable(list: Qcow2Snapshot[]): void {
    const raw = encodeSnapshots(list);
    const clusters = Math.ceil(raw.length / this.clusterSize);
    const offset = clusters > 0 ? this.refcounts.allocate(clusters) : 0;
    if (clusters > 0) {
      const padded = new Uint8Array(clusters * this.clusterSize);
      padded.set(raw);
      this.file.write(offset, padded);
    }
    this.file.flush();
    const oldOffset = this.header.snapshotsOffset;
    const oldBytes = encodeSnapshots(this.snapshots).length;
    const b = new Uint8Array(12);
    put32(b, 0, list.length);
    put64(b, 4, offset);
    this.file.write(60, b);
    this.file.flush();
    this.header.nbSnapshots = list.length;
    this.header.snapshotsOffset = offset;
    this.snapshots = list;
    if (oldOffset !== 0 && oldBytes > 0) {
      for (let c = 0; c < Math.ceil(oldBytes / this.clusterSize); c++) this.refcounts.update(oldOffset / this.clusterSize + c, -1);
    }
  }

  /** Call `fn` with each cluster an L1 table references (its L2 tables and their clusters), once per reference. */
  private forEachReference(l1: Uint8Array, fn: (cluster: number) => void): void {
    const cs = this.clusterSize;
    for (let i = 0; i < l1.length / 8; i++) {
      const l2off = entryOffset({ hi: u32(l1, 8 * i), lo: u32(l1, 8 * i + 4) });
      if (l2off === 0) continue;
      const t = this.l2Table(l2off);
      for (let j = 0; j < this.l2Entries; j++) {
        const e = { hi: u32(t, j * this.l2EntryBytes), lo: u32(t, j * this.l2EntryBytes + 4) };
        switch (this.clusterType(e)) {
          case ClusterType.Normal: case ClusterType.ZeroAlloc:
            fn(entryOffset(e) / cs);
            break;
          case ClusterType.Compressed: {
            const r = this.compressedRange(e);
            const start = r.offset - (r.offset % 512);
            const end = r.offset + r.length;
            for (let c = Math.floor(start / cs); c <= Math.floor((end - 1) / cs); c++) fn(c);
            break;
          }
          default: break;
        }
      }
      fn(l2off / cs);
    }
  }

  /** Add `delta` to the refcount of every cluster reachable from an L1 table. */
  private adjustThroughL1(l1: Uint8Array, delta: number): void {
    this.forEachReference(l1, (c) => this.refcounts.update(c, delta));
  }

  /** Refuse, before anything is written, a new reference through `l1` that a refcount could not hold. */
  private ensureRoomFor(l1: Uint8Array): void {
    const adds = new Map<number, number>();
    this.forEachReference(l1, (c) => adds.set(c, (adds.get(c) ?? 0) + 1));
    for (const [c, n] of adds) {
      if (this.refcounts.get(c) + n > this.refcounts.max) {
        throw new ImageError(`refcount of cluster ${c} would overflow its ${this.refcounts.bits} bits`);
      }
    }
  }

  /**
   * Set the COPIED flags of the active L1 and its L2 tables from the refcounts (QEMU's update with
   * addend 0); with `clearAll`, clear them all (before the clusters gain a reference).
   */
  fixCopiedFlags(clearAll = false): void {
    for (let i = 0; i < this.header.l1Size; i++) {
      const e = this.l1Entry(i);
      const l2off = entryOffset(e);
      if (l2off === 0) continue;
      const t = this.l2Table(l2off);
      for (let j = 0; j < this.l2Entries; j++) {
        const at = j * this.l2EntryBytes;
        const le = { hi: u32(t, at), lo: u32(t, at + 4) };
        const type = this.clusterType(le);
        if (type !== ClusterType.Normal && type !== ClusterType.ZeroAlloc) continue;
        const one = !clearAll && this.refcounts.get(entryOffset(le) / this.clusterSize) === 1;
        if (one !== ((le.hi & COPIED_HI) !== 0)) {
          put32(t, at, one ? (le.hi | COPIED_HI) >>> 0 : le.hi & ~COPIED_HI);
          this.file.write(l2off + at, t.subarray(at, at + 4));
        }
      }
      const one = !clearAll && this.refcounts.get(l2off / this.clusterSize) === 1;
      if (one !== ((e.hi & COPIED_HI) !== 0)) {
        this.l1[8 * i] = one ? this.l1[8 * i] | 0x80 : this.l1[8 * i] & 0x7f;
        this.file.write(this.header.l1TableOffset + 8 * i, this.l1.subarray(8 * i, 8 * i + 1));
      }
    }
  }

  findSnapshot(idOrName: string): Qcow2Snapshot | undefined {
    return this.snapshots.find((s) => s.id === idOrName) ?? this.snapshots.find((s) => s.name === idOrName);
  }

  createSnapshot(name: string, now: { sec: number; nsec: number }): Qcow2Snapshot {
    return this.guarded(() => {
      this.ensureRoomFor(this.l1);
      return this.whileDirty(() => this.createSnapshotUnguarded(name, now));
    });
  }

  /**
   * Snapshot operations change refcounts and COPIED flags in steps that no
   * order keeps consistent at every moment (QEMU has the same window).  On a
   * version 3 image the dirty bit covers them, so that a process killed in
   * between leaves an image that QEMU and tsemu repair when they next open
   * it for writing (and `check -r all` repairs); the flags are cleared
   * before refcounts rise, so that even then nothing is written in place
   * over a cluster a snapshot shares.
   */
  private whileDirty<T>(op: () => T): T {
    const mark = this.header.version >= 3 && (this.header.incompatible & INCOMPAT_DIRTY) === 0;
    if (mark) {
      this.header.incompatible |= INCOMPAT_DIRTY;
      this.writeFeatureBits();
      this.file.flush();
    }
    const result = op();
    if (mark && !this.dirtyMarked) {
      this.file.flush();
      this.header.incompatible &= ~INCOMPAT_DIRTY;
      this.writeFeatureBits();
      this.file.flush();
    }
    return result;
  }

  private createSnapshotUnguarded(name: string, now: { sec: number; nsec: number }): Qcow2Snapshot {
    this.checkWritable();
    if (this.snapshots.some((s) => s.name === name)) throw new Error(`Could not create snapshot '${name}': snapshot name already exists`);
    const ids = this.snapshots.map((s) => Number(s.id)).filter((n) => Number.isInteger(n));
    const id = String(ids.length === 0 ? 1 : Math.max(...ids) + 1);
    // Flags first, then refcounts: every cluster the active table reaches gains a reference.
    this.fixCopiedFlags(true);
    this.adjustThroughL1(this.l1, 1);
    this.fixCopiedFlags();
    const l1Clusters = Math.ceil(this.l1.length / this.clusterSize);
    const l1Offset = l1Clusters > 0 ? this.refcounts.allocate(l1Clusters) : 0;
    if (l1Clusters > 0) {
      const copy = new Uint8Array(l1Clusters * this.clusterSize);
      copy.set(this.l1);
      this.file.write(l1Offset, copy);
    }
    const sn: Qcow2Snapshot = {
      l1TableOffset: l1Offset, l1Size: this.header.l1Size, id, name, dateSec: now.sec, dateNsec: now.nsec,
      vmClockNsec: 0, vmStateSize: 0, extra: new Uint8Array(0), diskSize: this.size, icount: 0,
    };
    this.writeSnapshotTable([...this.snapshots, sn]);
    return sn;
  }

  deleteSnapshot(idOrName: string): void {
    this.guarded(() => this.whileDirty(() => this.deleteSnapshotUnguarded(idOrName)));
  }

  private deleteSnapshotUnguarded(idOrName: string): void {
    this.checkWritable();
    const sn = this.findSnapshot(idOrName);
    if (sn === undefined) throw new Error(`Could not delete snapshot '${idOrName}': snapshot not found`);
    const l1 = this.readSnapshotL1(sn);
    this.writeSnapshotTable(this.snapshots.filter((s) => s !== sn));
    this.adjustThroughL1(l1, -1);
    for (let c = 0; c < Math.ceil(sn.l1Size * 8 / this.clusterSize); c++) this.refcounts.update(sn.l1TableOffset / this.clusterSize + c, -1);
    this.fixCopiedFlags();
  }

  readSnapshotL1(sn: Qcow2Snapshot): Uint8Array {
    if (sn.l1Size * 8 > 32 * 1024 * 1024 || sn.l1TableOffset % this.clusterSize !== 0
      || sn.l1TableOffset + sn.l1Size * 8 > this.file.length()) {
      throw new ImageError(`qcow2 image '${this.filename}' is corrupt: snapshot '${sn.name}' has an invalid L1 table`);
    }
    const l1 = new Uint8Array(sn.l1Size * 8);
    this.file.read(sn.l1TableOffset, l1);
    return l1;
  }

  applySnapshot(idOrName: string): void {
    this.guarded(() => {
      const sn = this.findSnapshot(idOrName);
      if (sn !== undefined) this.ensureRoomFor(this.readSnapshotL1(sn));
      this.whileDirty(() => this.applySnapshotUnguarded(idOrName));
    });
  }

  private applySnapshotUnguarded(idOrName: string): void {
    this.checkWritable();
    const sn = this.findSnapshot(idOrName);
    if (sn === undefined) throw new Error(`Could not apply snapshot '${idOrName}': snapshot not found`);
    const l1 = this.readSnapshotL1(sn);
    this.fixCopiedFlags(true);
    this.adjustThroughL1(l1, 1);
    const old = this.l1.slice();
    const needed = Math.max(sn.l1Size, Math.ceil(sn.diskSize / (this.clusterSize * this.l2Entries)));
    if (needed > this.header.l1Size) {
      const clusters = Math.ceil(needed * 8 / this.clusterSize);
      const fresh = this.refcounts.allocate(clusters);
      const table = new Uint8Array(clusters * this.clusterSize);
      table.set(l1);
      this.file.write(fresh, table);
      this.file.flush();
      const oldOffset = this.header.l1TableOffset;
      const oldClusters = Math.ceil(this.header.l1Size * 8 / this.clusterSize);
      this.switchL1(fresh, needed);
      this.l1 = table.subarray(0, needed * 8).slice();
      for (let c = 0; c < oldClusters; c++) this.refcounts.update(oldOffset / this.clusterSize + c, -1);
    } else {
      const table = new Uint8Array(this.header.l1Size * 8);
      table.set(l1);
      this.file.write(this.header.l1TableOffset, table);
      this.l1 = table;
    }
    if (sn.diskSize !== this.size) this.setSize(sn.diskSize);
    this.adjustThroughL1(old, -1);
    this.fixCopiedFlags();
  }

  private switchL1(offset: number, entries: number): void {
    const b = new Uint8Array(12);
    put32(b, 0, entries);
    put64(b, 4, offset);
    this.file.write(36, b);
    this.file.flush();
    this.header.l1Size = entries;
    this.header.l1TableOffset = offset;
  }

  private setSize(size: number): void {
    const b = new Uint8Array(8);
    put64(b, 0, size);
    this.file.write(24, b);
    this.header.size = size;
  }

  /** Grow or shrink the virtual disk (shrinking only drops clusters past the end when they are unallocated, as QEMU requires). */
  resize(size: number): void {
    this.guarded(() => this.resizeUnguarded(size));
  }

  private resizeUnguarded(size: number): void {
    this.checkWritable();
    if (!Number.isSafeInteger(size) || size < 0) throw new Error("Invalid image size specified");
    const perL2 = this.clusterSize * this.l2Entries;
    const needed = Math.ceil(size / perL2);
    if (size < this.size) {
      for (let vc = Math.ceil(size / this.clusterSize); vc < Math.ceil(this.size / this.clusterSize); vc++) {
        const type = this.clusterType(this.l2Entry(vc).e);
        if (type !== ClusterType.Unallocated) {
          throw new Error("Use the --shrink option to perform a shrink operation.");
        }
      }
    }
    if (needed > this.header.l1Size) {
      if (needed * 8 > 32 * 1024 * 1024) throw new ImageError("Active L1 table too large");
      const clusters = Math.ceil(needed * 8 / this.clusterSize);
      const fresh = this.refcounts.allocate(clusters);
      const table = new Uint8Array(clusters * this.clusterSize);
      table.set(this.l1);
      this.file.write(fresh, table);
      this.file.flush();
      const oldOffset = this.header.l1TableOffset;
      const oldClusters = Math.ceil(this.header.l1Size * 8 / this.clusterSize);
      this.switchL1(fresh, needed);
      this.l1 = table.subarray(0, needed * 8).slice();
      for (let c = 0; c < oldClusters; c++) this.refcounts.update(oldOffset / this.clusterSize + c, -1);
    }
    this.setSize(size);
    this.file.flush();
  }

  /** Give every virtual cluster a host cluster (preallocation=metadata; `full` writes the zeros too). */
  preallocate(full: boolean): void {
    this.guarded(() => this.preallocateUnguarded(full));
  }

  private preallocateUnguarded(full: boolean): void {
    this.checkWritable();
    const clusters = Math.ceil(this.size / this.clusterSize);
    const zeros = full ? new Uint8Array(this.clusterSize) : null;
    let end = this.file.length();
    for (let vc = 0; vc < clusters; vc++) {
      const { e } = this.l2Entry(vc);
      if (this.clusterType(e) !== ClusterType.Unallocated) continue;
      const host = this.refcounts.allocate(1);
      // The file covers every allocated cluster at once, so that a growing refcount table goes after them.
      if (zeros !== null) this.file.write(host, zeros);
      else if (this.file.length() < host + this.clusterSize) this.file.truncate(host + this.clusterSize);
      end = Math.max(end, host + this.clusterSize);
      this.setL2(vc, COPIED_HI | Math.floor(host / 0x100000000), host >>> 0);
    }
    if (this.file.length() < end) this.file.truncate(end);
    this.file.flush();
  }

  /** Drop the clusters from virtual offset `size` on (before a shrink). */
  discardPast(size: number): void {
    this.guarded(() => this.discardPastUnguarded(size));
  }

  private discardPastUnguarded(size: number): void {
    this.checkWritable();
    for (let vc = Math.ceil(size / this.clusterSize); vc < Math.ceil(this.size / this.clusterSize); vc++) {
      const { e } = this.l2Entry(vc);
      if (e.hi === 0 && e.lo === 0) continue;
      this.setL2(vc, 0, 0);
      this.release(e);
    }
  }

  /** Drop every cluster this image holds, so that it reads as its backing image (commit's last step). */
  makeEmpty(): void {
    this.guarded(() => this.makeEmptyUnguarded());
  }

  private makeEmptyUnguarded(): void {
    this.checkWritable();
    for (let vc = 0; vc < Math.ceil(this.size / this.clusterSize); vc++) {
      const { e } = this.l2Entry(vc);
      if (e.hi === 0 && e.lo === 0) continue;
      this.setL2(vc, 0, 0);
      this.release(e);
    }
    this.file.flush();
  }

  /** Point the header at a different backing file (rebase, commit). */
  setBacking(name: string, format: string): void {
    this.guarded(() => this.setBackingUnguarded(name, format));
  }

  private setBackingUnguarded(name: string, format: string): void {
    this.checkWritable();
    this.header.backingFile = name;
    this.header.backingFormat = name === "" ? "" : format;
    this.writeHeader();
    this.file.flush();
  }
}

function padTo(data: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(data);
  return out;
}
