/**
 * A disk image as the block devices see it: bytes at offsets, read and
 * written synchronously.  Formats (raw file, copy-on-write overlay, later
 * qcow2) implement it; devices never know which one they have.
 */
export interface BlockBackend {
  /** Size in bytes (an exact integer). */
  readonly size: number;
  readonly readOnly: boolean;
  /** Fill `into` from `offset`.  Throws on a host I/O error or a range past `size`. */
  read(offset: number, into: Uint8Array): void;
  /**
   * Write `data` at `offset`.  Throws when read-only, on a host I/O error or a
   * range past `size`.  `data` may be a view of guest RAM: copy it, never keep it.
   */
  write(offset: number, data: Uint8Array): void;
  /** Make every completed write durable (a guest flush reaches the host disk). */
  flush(): void;
  close(): void;
}

/** Throws a RangeError unless [offset, offset+length) lies inside a backend of `size` bytes. */
export function checkRange(size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || length > size - offset) {
    throw new RangeError(`block access at ${offset}+${length} is outside the ${size}-byte image`);
  }
}
