/**
 * Host file calls that would wait for the disk (native/host-io.c): a read
 * that takes only what the page cache holds, a read or an fsync on a host
 * thread of its own that signals an eventfd when it ends, and
 * posix_fadvise.  Null where tsemu was built without its native modules.
 */
import { nativeModule } from "./native.js";

export interface HostIo {
  /** preadv2 with RWF_NOWAIT at position (-1: the file position): bytes read, or -errno (-EAGAIN: not in memory). */
  readNowait(fd: number, buffer: Uint8Array, position: number): number;
  /** Read up to length bytes on a host thread (position -1: at the file position); the eventfd notifyFd is told when it ends. */
  startRead(fd: number, length: number, position: number, notifyFd: number): object;
  /** fsync (fdatasync when datasync) on a host thread; notifyFd is told when it ends. */
  startSync(fd: number, datasync: boolean, notifyFd: number): object;
  /** null while that call goes on; then the bytes read, copied into buffer (0 for a sync), or -errno. */
  readResult(handle: object, buffer: Uint8Array): number | null;
  /** A non-blocking eventfd's descriptor, or -errno. */
  eventfd(): number;
  /** Reset an eventfd's count. */
  drain(fd: number): number;
  /** posix_fadvise: 0 or -errno. */
  fadvise(fd: number, offset: number, length: number, advice: number): number;
}

export function hostIo(): HostIo | null {
  return nativeModule<HostIo>("host-io");
}

let notifier: number | undefined;

/** The eventfd every background read signals as it ends (made at the first), or a negative errno. */
export function readNotifier(io: HostIo): number {
  notifier ??= io.eventfd();
  return notifier;
}
