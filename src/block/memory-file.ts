/** An image file held in memory: for tests, fuzzing, and hosts without a file system. */
import type { ImageFile } from "./image-file.js";

export class MemoryImageFile implements ImageFile {
  private data: Uint8Array;
  private len: number;
  /** Number of write and truncate calls, so a test can tell whether an image was touched. */
  writes = 0;

  constructor(readonly path: string, initial: Uint8Array = new Uint8Array(0), readonly readOnly = false) {
    this.data = initial.slice();
    this.len = initial.length;
  }

  length(): number { return this.len; }

  read(offset: number, into: Uint8Array): void {
    into.fill(0);
    if (offset < this.len) into.set(this.data.subarray(offset, Math.min(this.len, offset + into.length)));
  }

  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new Error(`${this.path}: the image is read-only`);
    this.writes++;
    this.reserve(offset + data.length);
    this.data.set(data, offset);
    this.len = Math.max(this.len, offset + data.length);
  }

  truncate(length: number): void {
    this.writes++;
    this.reserve(length);
    if (length < this.len) this.data.fill(0, length, this.len);
    this.len = length;
  }

  private reserve(n: number): void {
    if (n <= this.data.length) return;
    if (n > 2 ** 31) throw new Error(`${this.path}: a memory image cannot grow to ${n} bytes`);
    const grown = new Uint8Array(Math.max(n, this.data.length * 2));
    grown.set(this.data.subarray(0, this.len));
    this.data = grown;
  }

  /** The file's bytes as they stand. */
  contents(): Uint8Array { return this.data.slice(0, this.len); }

  flush(): void {}
  allocatedBytes(): number { return this.len; }
  close(): void {}
}
