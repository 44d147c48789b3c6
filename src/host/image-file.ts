/**
 * Image files for the block formats on Node: positioned reads and writes
 * with node:fs, zero-fill past the end (as QEMU's file driver reads), and
 * node:zlib's raw deflate for qcow2's compressed clusters.
 * Each open file carries QEMU's byte locks (ofd-lock.ts) where this Node
 * has them; creating a file does not empty it (createImageFile locks first).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import type { BlockHost, ImageFile } from "../block/image-file.js";
import type { FileLocks } from "../block/image-lock.js";
import { fileLocks } from "./ofd-lock.js";

/** The reasons a user can meet, worded as QEMU (strerror) words them. */
const REASONS: Record<string, string> = {
  ENOENT: "No such file or directory",
  EACCES: "Permission denied",
  EPERM: "Operation not permitted",
  EROFS: "Read-only file system",
  EISDIR: "Is a directory",
  ELOOP: "Too many levels of symbolic links",
  ENOTDIR: "Not a directory",
};

function openError(path: string, err: unknown, readOnly: boolean): Error {
  const code = err instanceof Error && "code" in err ? String(err.code) : "";
  const reason = REASONS[code] ?? (err instanceof Error ? err.message : String(err));
  const hint = !readOnly && (code === "EACCES" || code === "EPERM" || code === "EROFS")
    ? " (add readonly=on to use it read-only)" : "";
  return new Error(`Could not open '${path}': ${reason}${hint}`);
}

class NodeImageFile implements ImageFile {
  private fd: number;
  private size: number;
  readonly locks: FileLocks | undefined;

  constructor(readonly path: string, readonly readOnly: boolean, create: boolean) {
    const C = fs.constants;
    try {
      this.fd = fs.openSync(path, create ? C.O_RDWR | C.O_CREAT : readOnly ? C.O_RDONLY : C.O_RDWR, 0o644);
    } catch (err) {
      throw openError(path, err, readOnly);
    }
    const st = fs.fstatSync(this.fd);
    if (!st.isFile() && !st.isBlockDevice()) {
      fs.closeSync(this.fd);
      throw new Error(`Could not open '${path}': ${st.isDirectory() ? "Is a directory" : "not a regular file"}`);
    }
    this.size = st.size;
    this.locks = fileLocks(this.fd);
  }

  length(): number {
    return this.size;
  }

  read(offset: number, into: Uint8Array): void {
    let done = 0;
    while (done < into.length && offset + done < this.size) {
      const n = fs.readSync(this.fd, into, done, into.length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    if (done < into.length) into.fill(0, done);
  }

  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new Error(`${this.path}: the image is read-only`);
    for (let done = 0; done < data.length;) {
      done += fs.writeSync(this.fd, data, done, data.length - done, offset + done);
    }
    if (offset + data.length > this.size) this.size = offset + data.length;
  }

  truncate(length: number): void {
    fs.ftruncateSync(this.fd, length);
    this.size = length;
  }

  flush(): void {
    if (!this.readOnly) fs.fdatasyncSync(this.fd);
  }

  allocatedBytes(): number {
    return fs.fstatSync(this.fd).blocks * 512;
  }

  identity(): string {
    const st = fs.fstatSync(this.fd);
    return `${st.dev}:${st.ino}`;
  }

  close(): void {
    if (this.fd < 0) return;
    fs.closeSync(this.fd);
    this.fd = -1;
  }
}

export const nodeBlockHost: BlockHost = {
  open: (p, readOnly) => new NodeImageFile(p, readOnly, false),
  create: (p) => new NodeImageFile(p, false, true),
  identity: (f) => f instanceof NodeImageFile ? f.identity() : f.path,
  dirname: (p) => p.includes("/") ? path.dirname(p) : "",
  isAbsolute: (p) => path.isAbsolute(p),
  inflateRaw(data, outLength) {
    let got: Buffer;
    try {
      got = zlib.inflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: Math.max(outLength, 1) });
    } catch {
      throw new Error("bad compressed data");
    }
    // QEMU accepts a stream only when it fills the cluster exactly.
    if (got.length !== outLength) throw new Error("compressed data does not fill its cluster");
    return new Uint8Array(got.buffer, got.byteOffset, got.length);
  },
  deflateRaw: (data) => new Uint8Array(zlib.deflateRawSync(data, { windowBits: 12, memLevel: 9 })),
};
