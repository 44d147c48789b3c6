/**
 * Host files behind MAP_SHARED file mappings.
 *
 * Guest memory is one host buffer that a host file cannot be mapped into.
 * A shared file mapping's pages are therefore a SharedMemory object per file
 * (shared-memory.ts), which every guest process mapping the file uses, so
 * between guest processes a store is seen at once and atomics are atomic.
 * The file gets the guest's stores at the guest's next system call (or
 * signal delivery, or exit): the address space writes back the bytes that
 * changed (found by comparing the page with a copy of what the file has,
 * so two processes that store to different bytes of a page do not undo each
 * other) through a descriptor of its own (so the mapping outlives the guest's
 * descriptor, as a VMA holds its file).  A write(2) to the file through a
 * guest descriptor reaches the mapped pages; a change made by a host process
 * does not, while the file stays mapped.
 */
import { fs } from "../../host/fs.js";
import type { OpenFile } from "./fd-table.js";
import { PAGE_SIZE } from "../../target/riscv/tlb.js";

const O_ACCMODE = 3, O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2;

/** How a host descriptor was opened (O_RDONLY, O_WRONLY or O_RDWR). */
export function accessMode(f: OpenFile): number {
  // The host knows for sure (stdio descriptors were not opened by the guest).
  try {
    const info = fs.readFileSync(`/proc/self/fdinfo/${f.hostFd}`, "utf8");
    const m = /^flags:\s*([0-7]+)$/m.exec(info);
    if (m !== null) return parseInt(m[1], 8) & O_ACCMODE;
  } catch { /* fall back to what the guest asked for */ }
  return f.flags & O_ACCMODE;
}

export const canRead = (mode: number): boolean => mode === O_RDONLY || mode === O_RDWR;
export const canWrite = (mode: number): boolean => mode === O_WRONLY || mode === O_RDWR;

/**
 * A descriptor of our own on the file open as `hostFd`.  Reopening through
 * /proc/self/fd reaches the same inode even when the file has been unlinked
 * or renamed, and the new descriptor has no O_APPEND (which would make
 * pwrite ignore its offset) and no shared file position.
 */
export function reopen(hostFd: number, writable: boolean): number {
  return fs.openSync(`/proc/self/fd/${hostFd}`, writable ? fs.constants.O_RDWR : fs.constants.O_RDONLY);
}

/** Whether the descriptor is /dev/zero (char device 1:5), whose mappings are anonymous memory. */
export function isDevZero(st: fs.Stats): boolean {
  return st.isCharacterDevice() && st.rdev === ((1 << 8) | 5);
}

export function fileSize(fd: number): number {
  try {
    return fs.fstatSync(fd).size;
  } catch {
    return 0;
  }
}

/** Fill the page at u8[at, at + PAGE_SIZE) from the file at `offset`; bytes past the end stay zero. */
export function readPage(fd: number, u8: Uint8Array, at: number, offset: number): void {
  let done = 0;
  while (done < PAGE_SIZE) {
    let n: number;
    try {
      n = fs.readSync(fd, u8, at + done, PAGE_SIZE - done, offset + done);
    } catch {
      // Linux would raise SIGBUS on an I/O error; the page reads as zeros instead.
      return;
    }
    if (n <= 0) return;
    done += n;
  }
}

/**
 * Write to the file the bytes of the page u8[at, at + PAGE_SIZE) that differ
 * from `twin` (its content when read in), up to `limit` bytes into the page:
 * the file's end, past which stores to a shared page are not written (as on
 * Linux, where they stay in the page cache only).
 */
export function writeChanges(fd: number, u8: Uint8Array, at: number, twin: Uint8Array, offset: number, limit: number): void {
  if (limit <= 0) return;
  const end = Math.min(limit, PAGE_SIZE);
  // Compare a word at a time (pages are word aligned), bytes only inside words that differ.
  const words = new Int32Array(u8.buffer, u8.byteOffset + at, PAGE_SIZE >> 2);
  const twinWords = new Int32Array(twin.buffer, twin.byteOffset, PAGE_SIZE >> 2);
  let run = -1;
  const flush = (from: number, to: number): void => {
    const stop = Math.min(to, end);
    let done = from;
    while (done < stop) {
      try {
        done += fs.writeSync(fd, u8, at + done, stop - done, offset + done);
      } catch {
        return; // the file cannot take it (full disk, I/O error): the bytes are lost, as with a failed writeback
      }
    }
  };
  const lastWord = (end + 3) >> 2;
  for (let w = 0; w < lastWord; w++) {
    if (words[w] === twinWords[w]) {
      if (run >= 0) { flush(run, w << 2); run = -1; }
      continue;
    }
    for (let b = w << 2; b < (w << 2) + 4; b++) {
      if (u8[at + b] !== twin[b]) {
        if (run < 0) run = b;
      } else if (run >= 0) {
        flush(run, b);
        run = -1;
      }
    }
  }
  if (run >= 0) flush(run, end);
}

export function closeQuietly(fd: number): void {
  try { fs.closeSync(fd); } catch { /* already gone */ }
}
