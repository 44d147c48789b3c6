/**
 * The raw format: the virtual disk is the file, byte for byte.  Discard and
 * write-zeroes write zeros (Node cannot punch holes), so the bytes read back
 * are QEMU's; qemu-img map reports every byte as data at its own offset.
 */
import { checkRange, type BlockImage, type BlockStatus } from "./block.js";
import type { ImageFile } from "./image-file.js";

const ZERO_CHUNK = 1 << 20;

export class RawImage implements BlockImage {
  readonly format = "raw";
  readonly backing = null;

  constructor(private readonly file: ImageFile) {}

  /** QEMU counts a raw image in whole 512-byte sectors; the tail past the end of the file reads as zeros. */
  get size(): number { return Math.ceil(this.file.length() / 512) * 512; }
  get readOnly(): boolean { return this.file.readOnly; }
  get filename(): string { return this.file.path; }
  get hostFile(): ImageFile { return this.file; }

  read(offset: number, into: Uint8Array): void {
    checkRange(this.size, offset, into.length);
    this.file.read(offset, into);
  }

  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new Error(`${this.filename}: the image is read-only`);
    checkRange(this.size, offset, data.length);
    this.file.write(offset, data);
  }

  discard(offset: number, length: number): void {
    this.writeZeroes(offset, length, true);
  }

  writeZeroes(offset: number, length: number, _unmap: boolean): void {
    checkRange(this.size, offset, length);
    const zeros = new Uint8Array(Math.min(length, ZERO_CHUNK));
    for (let done = 0; done < length; done += zeros.length) {
      this.write(offset + done, zeros.subarray(0, Math.min(zeros.length, length - done)));
    }
  }

  blockStatus(offset: number, length: number): BlockStatus {
    return { length, zero: false, data: true, depth: 0, hostOffset: offset, hostFile: this.filename };
  }

  /** Change the virtual size (the file's length). */
  resize(size: number): void {
    this.file.truncate(size);
  }

  flush(): void { this.file.flush(); }
  close(): void { this.file.close(); }
}
