/**
 * Memory-mapped I/O as devices see it: a region answers reads and writes at
 * offsets inside it.  Accesses reach a device as 1, 2 or 4 bytes; the bus
 * splits an 8-byte access into two 4-byte ones, low word first (as QEMU's
 * memory core does for a device that declares 4 as its largest access).
 */
export type AccessSize = 1 | 2 | 4;

export interface MmioOps {
  /** The value read, as an unsigned number below 2^32 (upper bits are ignored). */
  read(offset: number, size: AccessSize): number;
  write(offset: number, size: AccessSize, value: number): void;
}

export interface MmioRegion {
  /** The device's name, for `info mtree` and error messages. */
  readonly name: string;
  readonly base: number;
  readonly size: number;
  readonly ops: MmioOps;
}

/**
 * Device-side view of guest RAM (for DMA: virtio rings, buffers).  Addresses
 * are guest physical; a range outside RAM makes `hostOffset` return -1.
 */
export interface DmaMemory {
  readonly u8: Uint8Array;
  /** Host byte offset of guest-physical `addr`, when [addr, addr+len) lies in RAM; else -1. */
  hostOffset(addr: number, len: number): number;
  /** Tell the CPUs that [addr, addr+len) was written by a device (drops decoded code there). */
  written(addr: number, len: number): void;
}
