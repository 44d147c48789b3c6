/**
 * The memory of a MAP_SHARED|MAP_ANONYMOUS mapping (Linux's shmem object):
 * host pages by page index, made zero-filled on first touch, that every
 * process mapping the object uses directly, so a store by one is seen by the
 * others at once and a futex or an atomic works across them.  The object
 * holds one reference to each of its pages; each address space that has
 * touched a page holds another.  When no address space maps the object any
 * more, its pages go back to the pool.
 */
import type { HostPages } from "./address-space.js";

export class SharedMemory {
  private readonly pages = new Map<number, number>();
  /** Address spaces that map (part of) the object. */
  users = 0;

  constructor(private readonly hostPages: HostPages) {}

  /** The host page holding page `index` of the object, made now if untouched. */
  page(index: number): number {
    let host = this.pages.get(index);
    if (host === undefined) {
      host = this.hostPages.alloc();
      this.pages.set(index, host);
    }
    return host;
  }

  /** Whether page `index` has been touched (mincore). */
  has(index: number): boolean {
    return this.pages.has(index);
  }

  /** One address space stopped mapping the object; the last one frees its pages. */
  leave(): void {
    if (--this.users > 0) return;
    for (const host of this.pages.values()) this.hostPages.release(host);
    this.pages.clear();
  }
}
