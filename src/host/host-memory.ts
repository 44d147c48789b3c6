/**
 * Advice to the host's kernel about guest RAM, from tsemu's native module
 * native/host-memory.c: transparent huge pages, as QEMU asks for its RAM
 * blocks.  A guest's first touch of each page of its RAM is a page fault of
 * tsemu's process; with huge pages one fault maps 2 MiB instead of 4 KiB
 * (a Linux boot takes about a fifth of the faults).  Without the native
 * module, or where the kernel has no transparent huge pages, nothing changes.
 */
import { nativeModule } from "./native.js";

interface HostMemoryModule {
  /** madvise(MADV_HUGEPAGE) over the whole huge pages inside the bytes; 0 or a negative errno. */
  hugePages(bytes: Uint8Array): number;
}

/** Ask for huge pages behind `bytes` (guest RAM); true when the kernel took the advice. */
export function adviseHugePages(bytes: Uint8Array): boolean {
  if (process.platform !== "linux") return false;
  const m = nativeModule<HostMemoryModule>("host-memory");
  return m !== null && m.hugePages(bytes) === 0;
}
