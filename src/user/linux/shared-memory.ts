/**
 * The memory of a MAP_SHARED mapping, as Linux's page cache and shmem keep
 * it: host pages by page index that every process mapping the object uses
 * directly, so a store by one is seen by the others at once and a futex or
 * an atomic works across them.
 *
 * - Anonymous (MAP_SHARED|MAP_ANONYMOUS): pages are zero-filled on first touch.
 * - A file's (one object per file, found by device and inode in
 *   HostPages.files): pages are read from the file on first touch; each keeps
 *   a twin, its bytes as the file last had them, so that the address spaces
 *   write back only what the guest changed (AddressSpace.syncShared) and a
 *   write(2) to the file comes in without undoing stores not yet written back
 *   (reload).
 *
 * The object holds one reference to each of its pages; each address space
 * that has touched a page holds another.  When no address space maps the
 * object any more, its pages go back to the pool (a file's were written back
 * by then).
 */
import type { HostPages } from "./address-space.js";
import { PAGE_SHIFT, PAGE_SIZE } from "../../target/riscv/tlb.js";
import { closeQuietly, readPage } from "./shared-mapping.js";

/** A file's object: its key in the registry of files with shared mappings, and a descriptor of its own to read the file. */
export interface SharedFile {
  key: string;
  registry: Map<string, SharedMemory>;
  /** Open for reading, owned by the object. */
  fd: number;
}

export class SharedMemory {
  private readonly pages = new Map<number, number>();
  /** A file's pages: their bytes as the file had them when last read or written back. */
  private readonly twins = new Map<number, Uint8Array>();
  /** Address spaces that map (part of) the object. */
  users = 0;

  constructor(private readonly hostPages: HostPages, readonly file?: SharedFile) {}

  /** The host page holding page `index` of the object, made now if untouched (read from the file for a file's). */
  page(index: number): number {
    let host = this.pages.get(index);
    if (host === undefined) {
      host = this.hostPages.alloc();
      this.pages.set(index, host);
      if (this.file !== undefined) {
        const u8 = this.hostPages.ram.u8;
        const at = host << PAGE_SHIFT;
        readPage(this.file.fd, u8, at, index * PAGE_SIZE);
        this.twins.set(index, u8.slice(at, at + PAGE_SIZE));
      }
    }
    return host;
  }

  /** A file page's twin (what the file holds, as far as this object knows). */
  twin(index: number): Uint8Array | undefined {
    return this.twins.get(index);
  }

  /** Whether page `index` has been touched (mincore). */
  has(index: number): boolean {
    return this.pages.has(index);
  }

  /**
   * The file was written through a descriptor: read its pages again.  A
   * byte the guest stored and no address space has written back yet (it
   * differs from the twin) stays, to be written back at the next system call.
   */
  reload(): void {
    if (this.file === undefined) return;
    const fd = this.file.fd;
    const u8 = this.hostPages.ram.u8;
    const fresh = new Uint8Array(PAGE_SIZE);
    for (const [index, host] of this.pages) {
      const twin = this.twins.get(index);
      if (twin === undefined) continue;
      fresh.fill(0);
      readPage(fd, fresh, 0, index * PAGE_SIZE);
      const at = host << PAGE_SHIFT;
      for (let i = 0; i < PAGE_SIZE; i++) {
        if (u8[at + i] === twin[i]) u8[at + i] = fresh[i];
      }
      twin.set(fresh);
    }
  }

  /** One address space stopped mapping the object; the last one frees its pages. */
  leave(): void {
    if (--this.users > 0) return;
    for (const host of this.pages.values()) this.hostPages.release(host);
    this.pages.clear();
    this.twins.clear();
    if (this.file === undefined) return;
    if (this.file.registry.get(this.file.key) === this) this.file.registry.delete(this.file.key);
    closeQuietly(this.file.fd);
  }
}
