/**
 * A raw disk image in a host file, as a BlockBackend (QEMU's file driver
 * with format=raw and cache=writeback: writes go to the host page cache,
 * a guest flush becomes fsync).
 */
import * as fs from "node:fs";
import { checkRange, type BlockBackend } from "../block/block.js";

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

export function openError(path: string, err: unknown, readOnly: boolean): Error {
  const code = err instanceof Error && "code" in err ? String(err.code) : "";
  const reason = REASONS[code] ?? (err instanceof Error ? err.message : String(err));
  const hint = !readOnly && (code === "EACCES" || code === "EPERM" || code === "EROFS")
    ? " (add readonly=on to use it read-only)" : "";
  return new Error(`Could not open '${path}': ${reason}${hint}`);
}

export interface BlockFileOptions {
  readOnly?: boolean;
}

export class BlockFile implements BlockBackend {
  readonly size: number;
  readonly readOnly: boolean;
  private fd: number;

  /** Open `path`; throws an Error with one line naming the file when it cannot be used. */
  constructor(readonly path: string, opts: BlockFileOptions = {}) {
    this.readOnly = opts.readOnly ?? false;
    try {
      this.fd = fs.openSync(path, this.readOnly ? "r" : "r+");
    } catch (err) {
      throw openError(path, err, this.readOnly);
    }
    const st = fs.fstatSync(this.fd);
    if (!st.isFile()) {
      fs.closeSync(this.fd);
      throw new Error(`Could not open '${path}': ${st.isDirectory() ? "Is a directory" : "not a regular file"}`);
    }
    this.size = st.size;
  }

  read(offset: number, into: Uint8Array): void {
    checkRange(this.size, offset, into.length);
    for (let done = 0; done < into.length;) {
      const n = fs.readSync(this.fd, into, done, into.length - done, offset + done);
      // The file shrank under us (another program truncated it).
      if (n === 0) throw new Error(`${this.path}: unexpected end of file at ${offset + done}`);
      done += n;
    }
  }

  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new Error(`${this.path}: the image is read-only`);
    checkRange(this.size, offset, data.length);
    for (let done = 0; done < data.length;) {
      done += fs.writeSync(this.fd, data, done, data.length - done, offset + done);
    }
  }

  flush(): void {
    if (!this.readOnly) fs.fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd < 0) return;
    fs.closeSync(this.fd);
    this.fd = -1;
  }
}
