/**
 * A disk image as the block devices see it: bytes at offsets, read and
 * written synchronously.  Formats (raw file, copy-on-write overlay, later
 * qcow2) implement it; devices never know which one they have.
 */
export interface BlockBackend {
  /** Size in bytes (an exact integer). */
  readonly size: number;
  /** Writes are refused (-drive readonly=on, or an image opened read-only); the device tells the guest so. */
  readonly readOnly: boolean;
  /** Fill `into` from `offset`.  Throws on a host I/O error or a range past `size`. */
  read(offset: number, into: Uint8Array): void;
  /**
   * Write `data` at `offset`.  Throws when read-only, on a host I/O error or a
   * range past `size`.  `data` may be a view of guest RAM: copy it, never keep it.
   */
  write(offset: number, data: Uint8Array): void;
  /** The guest no longer needs these bytes (virtio-blk DISCARD): the backend may free them or do nothing. */
  discard(offset: number, length: number): void;
  /** Zeros over the range (virtio-blk WRITE_ZEROES); `unmap`: the guest allows freeing them. */
  writeZeroes(offset: number, length: number, unmap: boolean): void;
  /** Make every completed write durable (a guest flush reaches the host disk). */
  flush(): void;
  /** Release what the backend holds (files, caches); the machine calls it once, after a last flush, when it ends. */
  close(): void;
}

/** Throws a RangeError unless [offset, offset+length) lies inside a backend of `size` bytes. */
export function checkRange(size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || length > size - offset) {
    throw new RangeError(`block access at ${offset}+${length} is outside the ${size}-byte image`);
  }
}

/** What a range of a disk image holds, as qemu-img map reports it. */
export interface BlockStatus {
  /** Bytes from the start of the query with this same status (at least 1). */
  length: number;
  /** Reads as zeros. */
  zero: boolean;
  /** Backed by data in some layer (not a hole, not a zero cluster). */
  data: boolean;
  /** Which layer holds it: 0 for the image itself, 1 for its backing file, and so on; -1 when no layer does. */
  depth: number;
  /** Where the bytes lie in the file of that layer, when they lie there uncompressed. */
  hostOffset?: number;
  /** The file those bytes are in, when hostOffset is given. */
  hostFile?: string;
}

/**
 * An image format (raw, qcow2) over a host file: what the devices use, plus
 * what tsemu-img needs.  Discard and write-zeroes may leave clusters
 * unallocated; the bytes read back are what QEMU's driver would return.
 */
export interface BlockImage extends BlockBackend {
  /** "raw" or "qcow2". */
  readonly format: string;
  /** The image's own file name, as given. */
  readonly filename: string;
  /** The image below this one, if any. */
  readonly backing: BlockImage | null;
  /** Forget the contents of [offset, offset+length) where the format can; reads may then return zeros or backing data. */
  discard(offset: number, length: number): void;
  /** Make [offset, offset+length) read as zeros, unmapping whole clusters when `unmap` allows. */
  writeZeroes(offset: number, length: number, unmap: boolean): void;
  /** The status of the bytes from `offset`, for at most `length` bytes. */
  blockStatus(offset: number, length: number): BlockStatus;
  /** Close this image and every backing image below it. */
  close(): void;
}
