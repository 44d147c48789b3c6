/**
 * A raw disk image read in ranges from somewhere slow (an HTTP server), as a
 * synchronous BlockBackend: reads go through a bounded cache of fixed-size
 * chunks, fetched a run of adjacent chunks at a time; writes never reach the
 * source but land in an overlay of whole chunks, which later reads prefer.
 * Knows nothing of HTTP: the transport is a `RangeSource`.
 */
import { checkRange, type BlockBackend } from "../../src/block/block.js";

/** Reads bytes [start, start+length) of the image, synchronously; throws on failure. */
export interface RangeSource {
  readonly size: number;
  readRange(start: number, length: number): Uint8Array;
}

/** Where written chunks are kept: memory only, or memory plus something durable. */
export interface ChunkStore {
  has(index: number): boolean;
  /** Chunk `index` (`length` bytes: the last chunk of an image may be short), if it was written. */
  get(index: number, length: number): Uint8Array | undefined;
  /** Keep `chunk` (owned by the store from now on) as chunk `index`. */
  set(index: number, chunk: Uint8Array): void;
  /** Make every set() so far durable. */
  flush(): void;
  close(): void;
}

/** Written chunks in memory, lost when the page goes. */
export class MemoryChunkStore implements ChunkStore {
  private readonly chunks = new Map<number, Uint8Array>();
  has(index: number): boolean { return this.chunks.has(index); }
  get(index: number, _length: number): Uint8Array | undefined { return this.chunks.get(index); }
  set(index: number, chunk: Uint8Array): void { this.chunks.set(index, chunk); }
  flush(): void { /* nothing durable */ }
  close(): void { this.chunks.clear(); }
  /** How many chunks were written (for the page's status and the tests). */
  get count(): number { return this.chunks.size; }
}

export interface RangeDiskOptions {
  /** Bytes per chunk; a power of two. */
  chunkSize?: number;
  /** How many unwritten chunks the read cache keeps. */
  cacheChunks?: number;
  /** At most this many chunks fetched by one request. */
  readAhead?: number;
  readOnly?: boolean;
  overlay?: ChunkStore;
}

export const DEFAULT_CHUNK_SIZE = 64 * 1024;
/** 16 MiB of cached reads. */
export const DEFAULT_CACHE_CHUNKS = 256;
/** 1 MiB per request at most: the guest's sequential reads cost one round trip per MiB. */
export const DEFAULT_READ_AHEAD = 16;

export class RangeDisk implements BlockBackend {
  readonly size: number;
  readonly readOnly: boolean;
  private readonly chunkSize: number;
  private readonly cacheChunks: number;
  private readonly readAhead: number;
  readonly overlay: ChunkStore;
  /** Chunks read from the source, least recently used first (a Map keeps insertion order). */
  private readonly cache = new Map<number, Uint8Array>();
  /** Requests made to the source, and bytes they returned (for the page's status and the tests). */
  requests = 0;
  bytesFetched = 0;

  constructor(private readonly source: RangeSource, options: RangeDiskOptions = {}) {
    this.size = source.size;
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isInteger(Math.log2(this.chunkSize))) throw new RangeError(`chunk size ${this.chunkSize} is not a power of two`);
    this.cacheChunks = Math.max(1, options.cacheChunks ?? DEFAULT_CACHE_CHUNKS);
    this.readAhead = Math.max(1, Math.min(options.readAhead ?? DEFAULT_READ_AHEAD, this.cacheChunks));
    this.readOnly = options.readOnly ?? false;
    this.overlay = options.overlay ?? new MemoryChunkStore();
  }

  private chunkLength(index: number): number {
    return Math.min(this.chunkSize, this.size - index * this.chunkSize);
  }

  private get chunkCount(): number {
    return Math.ceil(this.size / this.chunkSize);
  }

  /** The current bytes of chunk `index`: written, cached, or fetched now (with the missing chunks after it, up to `last`). */
  private chunk(index: number, last: number): Uint8Array {
    const written = this.overlay.get(index, this.chunkLength(index));
    if (written !== undefined) return written;
    const cached = this.cache.get(index);
    if (cached !== undefined) {
      this.cache.delete(index);
      this.cache.set(index, cached);
      return cached;
    }
    let end = index + 1;
    const limit = Math.min(last + 1, index + this.readAhead, this.chunkCount);
    while (end < limit && !this.cache.has(end) && !this.overlay.has(end)) end++;
    const start = index * this.chunkSize;
    const length = Math.min(end * this.chunkSize, this.size) - start;
    const bytes = this.source.readRange(start, length);
    if (bytes.length !== length) throw new Error(`disk source returned ${bytes.length} bytes for ${length} at ${start}`);
    this.requests++;
    this.bytesFetched += length;
    for (let i = index; i < end; i++) {
      const off = (i - index) * this.chunkSize;
      this.remember(i, bytes.slice(off, off + this.chunkLength(i)));
    }
    return this.cache.get(index) as Uint8Array;
  }

  private remember(index: number, bytes: Uint8Array): void {
    this.cache.set(index, bytes);
    while (this.cache.size > this.cacheChunks) {
      const oldest = this.cache.keys().next().value as number;
      this.cache.delete(oldest);
    }
  }

  /** Calls `visit` for each chunk piece of [offset, offset+length): chunk index, offset in it, bytes, offset in the request. */
  private pieces(offset: number, length: number, visit: (index: number, at: number, n: number, done: number) => void): void {
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const index = Math.floor(pos / this.chunkSize);
      const at = pos - index * this.chunkSize;
      const n = Math.min(this.chunkSize - at, length - done);
      visit(index, at, n, done);
      done += n;
    }
  }

  read(offset: number, into: Uint8Array): void {
    checkRange(this.size, offset, into.length);
    const last = Math.floor((offset + into.length - 1) / this.chunkSize);
    this.pieces(offset, into.length, (index, at, n, done) => {
      into.set(this.chunk(index, last).subarray(at, at + n), done);
    });
  }

  /** The overlay's copy of chunk `index`, made from the current bytes when it has none. */
  private writable(index: number, whole: boolean): Uint8Array {
    const written = this.overlay.get(index, this.chunkLength(index));
    if (written !== undefined) return written;
    // A write over the whole chunk needs none of the old bytes.
    const copy = whole ? new Uint8Array(this.chunkLength(index)) : this.chunk(index, index).slice();
    this.cache.delete(index);
    this.overlay.set(index, copy);
    return copy;
  }

  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new Error("the disk is read-only");
    checkRange(this.size, offset, data.length);
    this.pieces(offset, data.length, (index, at, n, done) => {
      const chunk = this.writable(index, at === 0 && n === this.chunkLength(index));
      chunk.set(data.subarray(done, done + n), at);
      this.overlay.set(index, chunk);
    });
  }

  writeZeroes(offset: number, length: number, _unmap: boolean): void {
    if (this.readOnly) throw new Error("the disk is read-only");
    checkRange(this.size, offset, length);
    this.pieces(offset, length, (index, at, n) => {
      const chunk = this.writable(index, at === 0 && n === this.chunkLength(index));
      chunk.fill(0, at, at + n);
      this.overlay.set(index, chunk);
    });
  }

  /** Nothing to free: the source is read-only and a written chunk must keep reading back as written. */
  discard(offset: number, length: number): void {
    checkRange(this.size, offset, length);
  }

  flush(): void {
    this.overlay.flush();
  }

  close(): void {
    this.cache.clear();
    this.overlay.close();
  }
}
