/**
 * The host side of a disk image, as the formats see it (QEMU's "file"
 * protocol driver): bytes in a growable file, and the few host services an
 * image format needs.  src/host implements it for Node; the formats under
 * src/block never touch the file system themselves.
 */
import type { FileLocks } from "./image-lock.js";

export interface ImageFile {
  /** The name the image was opened by. */
  readonly path: string;
  readonly readOnly: boolean;
  /** QEMU's byte locks on this open file, where the host has them (see image-lock.ts). */
  readonly locks?: FileLocks;
  /** Current length of the file in bytes. */
  length(): number;
  /** Fill `into` from `offset`; bytes past the end of the file read as zeros (as QEMU's file driver returns them). */
  read(offset: number, into: Uint8Array): void;
  /** Write `data` at `offset`, growing the file when it ends before. */
  write(offset: number, data: Uint8Array): void;
  /** Set the file's length (growing with zeros). */
  truncate(length: number): void;
  /** Make every completed write durable. */
  flush(): void;
  /** Bytes the file occupies on the host disk (qemu-img's "disk size"). */
  allocatedBytes(): number;
  close(): void;
}

/** What opening images needs from the host: files by name, and deflate for compressed clusters. */
export interface BlockHost {
  /** Open an existing file; throws an Error with one line naming it when it cannot be used. */
  open(path: string, readOnly: boolean): ImageFile;
  /**
   * Create a file, or open an existing one for writing without changing it
   * yet: createImageFile (image-lock.ts) locks it and then empties it, so
   * that an image in use elsewhere is never cut short.
   */
  create(path: string): ImageFile;
  /** An identity of the file behind `file` (device and inode), to find loops in backing chains. */
  identity(file: ImageFile): string;
  /** The folder part of a file name, for relative backing file names ("" for none). */
  dirname(path: string): string;
  /** Whether a name is absolute on this host. */
  isAbsolute(path: string): boolean;
  /** Decompress raw deflate data into exactly `outLength` bytes (missing bytes as zeros); throws on bad data. */
  inflateRaw(data: Uint8Array, outLength: number): Uint8Array;
  /** Compress with raw deflate (a 4 KiB window, as QEMU's qcow2 writes it). */
  deflateRaw(data: Uint8Array): Uint8Array;
}

/** Resolve a backing file name against the folder of the image that names it, as QEMU's path_combine does. */
export function backingPath(host: BlockHost, imagePath: string, name: string): string {
  if (name === "" || host.isAbsolute(name)) return name;
  const dir = host.dirname(imagePath);
  return dir === "" || dir === "." ? name : `${dir}/${name}`;
}
