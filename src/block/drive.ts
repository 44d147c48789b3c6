/**
 * A -drive as the devices use it: an image with QEMU's drive settings
 * applied on top (cache=, discard=, detect-zeroes=).
 *
 * - cache=writeback/none (default): a guest flush reaches the host disk.
 *   cache=writethrough/directsync: every write is flushed before it
 *   completes.  cache=unsafe: guest flushes are ignored.
 * - discard=unmap passes the guest's discards to the image; discard=ignore
 *   (QEMU's default) drops them.
 * - detect-zeroes=on turns writes of zeros into write-zeroes requests
 *   (unmap too when detect-zeroes=unmap and discard=unmap), as QEMU does.
 */
import type { BlockBackend, BlockImage } from "./block.js";
import { isZero } from "./bytes.js";

/** The -drive options that say how guest I/O reaches the image. */
export interface DriveSettings {
  /** -drive cache=: "writethrough" and "directsync" flush after every write; the others flush when the guest asks. */
  cache: "writeback" | "writethrough" | "none" | "directsync" | "unsafe";
  /** -drive discard=: "unmap" passes the guest's discards on to the image; "ignore" (the default) drops them. */
  discard: "ignore" | "unmap";
  /** -drive detect-zeroes=: writes of zeros become write-zeroes requests ("unmap": freeing too, with discard=unmap). */
  detectZeroes: "off" | "on" | "unmap";
}

export const DEFAULT_DRIVE: DriveSettings = { cache: "writeback", discard: "ignore", detectZeroes: "off" };

export class Drive implements BlockBackend {
  constructor(readonly image: BlockImage, readonly settings: DriveSettings = DEFAULT_DRIVE) {}

  get size(): number { return this.image.size; }
  get readOnly(): boolean { return this.image.readOnly; }

  read(offset: number, into: Uint8Array): void {
    this.image.read(offset, into);
  }

  write(offset: number, data: Uint8Array): void {
    if (this.settings.detectZeroes !== "off" && isZero(data)) {
      this.image.writeZeroes(offset, data.length, this.settings.detectZeroes === "unmap" && this.settings.discard === "unmap");
    } else {
      this.image.write(offset, data);
    }
    if (this.settings.cache === "writethrough" || this.settings.cache === "directsync") this.image.flush();
  }

  /** A guest's discard (virtio-blk DISCARD): passed on only with discard=unmap. */
  discard(offset: number, length: number): void {
    if (this.settings.discard === "unmap") this.image.discard(offset, length);
  }

  /** A guest's write-zeroes request; `unmap` as the guest asked, allowed only with discard=unmap. */
  writeZeroes(offset: number, length: number, unmap: boolean): void {
    this.image.writeZeroes(offset, length, unmap && this.settings.discard === "unmap");
  }

  flush(): void {
    if (this.settings.cache !== "unsafe") this.image.flush();
  }

  close(): void {
    this.image.close();
  }
}
