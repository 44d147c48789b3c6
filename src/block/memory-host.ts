/**
 * Disk images held in memory: a BlockHost whose files are MemoryImageFiles,
 * for disks given as bytes (a page, a program) and for temporary overlays
 * on hosts without a file system.  Compressed qcow2 clusters need deflate,
 * which only a host that has it synchronously (Node's zlib) can pass in.
 */
import type { BlockImage } from "./block.js";
import type { BlockHost, ImageFile } from "./image-file.js";
import { MemoryImageFile } from "./memory-file.js";
import { openImage, type OpenOptions } from "./open.js";
import { createQcow2 } from "./qcow2/create.js";
import { Qcow2Image } from "./qcow2/qcow2.js";

export interface Deflate {
  inflateRaw(data: Uint8Array, outLength: number): Uint8Array;
  deflateRaw(data: Uint8Array): Uint8Array;
}

const NO_DEFLATE: Deflate = {
  inflateRaw: () => { throw new Error("compressed clusters cannot be read here (no deflate on this host)"); },
  deflateRaw: () => { throw new Error("compressed clusters cannot be written here (no deflate on this host)"); },
};

export class MemoryBlockHost implements BlockHost {
  private readonly files = new Map<string, MemoryImageFile>();

  constructor(private readonly deflate: Deflate = NO_DEFLATE) {}

  /** Make `bytes` (copied) the file called `name`. */
  add(name: string, bytes: Uint8Array, readOnly = false): void {
    this.files.set(name, new MemoryImageFile(name, bytes, readOnly));
  }

  open(path: string, readOnly: boolean): ImageFile {
    const f = this.files.get(path);
    if (f === undefined) throw new Error(`Could not open '${path}': No such file or directory`);
    if (!readOnly || f.readOnly) return f;
    // A read-only view of a writable file: writes through it are refused.
    return new MemoryImageFile(path, snapshotBytes(f), true);
  }

  create(path: string): ImageFile {
    const f = new MemoryImageFile(path);
    this.files.set(path, f);
    return f;
  }

  identity(file: ImageFile): string { return file.path; }
  dirname(path: string): string { return path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ""; }
  isAbsolute(path: string): boolean { return path.startsWith("/"); }
  inflateRaw(data: Uint8Array, outLength: number): Uint8Array { return this.deflate.inflateRaw(data, outLength); }
  deflateRaw(data: Uint8Array): Uint8Array { return this.deflate.deflateRaw(data); }
}

function snapshotBytes(f: MemoryImageFile): Uint8Array {
  const out = new Uint8Array(f.length());
  f.read(0, out);
  return out;
}

/** An image (raw or qcow2, probed when `format` is absent) over bytes held in memory; writes stay there. */
export function memoryImage(name: string, bytes: Uint8Array, opts: OpenOptions, deflate?: Deflate): BlockImage {
  const host = new MemoryBlockHost(deflate);
  host.add(name, bytes);
  return openImage(host, name, opts);
}

/** A qcow2 overlay in memory over `base` (-snapshot where there is no file system): the base is only read. */
export function memoryOverlay(base: BlockImage): BlockImage {
  const host = new MemoryBlockHost();
  createQcow2(host, "overlay.qcow2", {
    size: base.size, clusterSize: 65536, version: 3, backingFile: base.filename, backingFormat: base.format,
    lazyRefcounts: false, refcountBits: 16, extendedL2: false, preallocation: "off",
  });
  return new Qcow2Image(host.open("overlay.qcow2", false), { readOnly: false, host, backing: base, barriers: false });
}
