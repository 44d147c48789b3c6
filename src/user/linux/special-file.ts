/**
 * Descriptors that are objects of the emulated kernel rather than host files
 * (eventfd, epoll).  Each still holds a host descriptor (of /dev/null), so
 * that dup, close-on-exec, fork and close treat it like any other; reads and
 * writes go to the object instead.
 */
import type { OpenFile } from "./fd-table.js";

export const EPOLLIN = 0x001, EPOLLOUT = 0x004, EPOLLERR = 0x008, EPOLLHUP = 0x010;

export interface SpecialFile {
  /** read(2) of len bytes: the bytes, or a negative errno. */
  read(len: number, nonblock: boolean): Uint8Array | number;
  /** write(2): bytes taken, or a negative errno. */
  write(data: Uint8Array, nonblock: boolean): number;
  /** The EPOLLIN/EPOLLOUT readiness now. */
  poll(): number;
}

const specials = new WeakMap<OpenFile, SpecialFile>();

export function attachSpecial(f: OpenFile, s: SpecialFile): void {
  specials.set(f, s);
}

export function specialOf(f: OpenFile | undefined): SpecialFile | undefined {
  return f === undefined ? undefined : specials.get(f);
}
