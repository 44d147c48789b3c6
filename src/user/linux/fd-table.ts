/**
 * The guest's file descriptors.  Each maps to an open host descriptor (a
 * file, a directory, a pipe end, the terminal) plus the per-descriptor
 * flags the guest set.  Descriptors 0, 1 and 2 start as the host's own.
 */
export interface OpenFile {
  /** The host descriptor. */
  hostFd: number;
  /** The host path it was opened by, when known (fstat of dirs, getdents, /proc/self/fd). */
  path: string | undefined;
  /** Status flags (O_APPEND, O_NONBLOCK...) as the guest set them. */
  flags: number;
  /** getdents64 position: index of the next entry to return. */
  dirPos: number;
  /** Directory entries, read once per open directory. */
  dirEntries: { name: string; type: number; ino: bigint }[] | undefined;
  /** Close the host descriptor when the last guest descriptor goes (false for 0, 1, 2). */
  ownsHostFd: boolean;
  refs: number;
}

export const FD_CLOEXEC = 1;

export class FdTable {
  private readonly files: (OpenFile | undefined)[] = [];
  private readonly cloexec: boolean[] = [];
  limit = 1024;

  static withStdio(): FdTable {
    const t = new FdTable();
    for (let fd = 0; fd < 3; fd++) {
      t.install(fd, {
        hostFd: fd, path: undefined, flags: fd === 0 ? 0 : 1, dirPos: 0, dirEntries: undefined,
        ownsHostFd: false, refs: 0,
      }, false);
    }
    return t;
  }

  /** fork: a table of the same open files (each one more reference) and flags. */
  copy(): FdTable {
    const t = new FdTable();
    t.limit = this.limit;
    for (const fd of this.open()) t.install(fd, this.files[fd] as OpenFile, this.isCloexec(fd));
    return t;
  }

  get(fd: number): OpenFile | undefined {
    return fd >= 0 ? this.files[fd] : undefined;
  }

  /** The lowest free descriptor at or above `min`, or -1 past the limit. */
  lowestFree(min = 0): number {
    for (let fd = min; fd < this.limit; fd++) if (this.files[fd] === undefined) return fd;
    return -1;
  }

  install(fd: number, f: OpenFile, cloexec: boolean): void {
    f.refs++;
    this.files[fd] = f;
    this.cloexec[fd] = cloexec;
  }

  /** Allocate the lowest free descriptor for f; -1 when the table is full. */
  add(f: OpenFile, cloexec: boolean, min = 0): number {
    const fd = this.lowestFree(min);
    if (fd >= 0) this.install(fd, f, cloexec);
    return fd;
  }

  /** Remove fd; returns the open file when this was its last reference (caller closes the host fd). */
  remove(fd: number): OpenFile | undefined {
    const f = this.files[fd];
    if (f === undefined) return undefined;
    this.files[fd] = undefined;
    this.cloexec[fd] = false;
    f.refs--;
    return f.refs === 0 ? f : undefined;
  }

  isCloexec(fd: number): boolean {
    return this.cloexec[fd] === true;
  }

  setCloexec(fd: number, on: boolean): void {
    this.cloexec[fd] = on;
  }

  /** Close the close-on-exec descriptors; returns the open files that lost their last reference. */
  closeOnExec(): OpenFile[] {
    const closed: OpenFile[] = [];
    for (const fd of this.open()) {
      if (!this.isCloexec(fd)) continue;
      const last = this.remove(fd);
      if (last !== undefined) closed.push(last);
    }
    return closed;
  }

  /** Every open descriptor number. */
  open(): number[] {
    const out: number[] = [];
    this.files.forEach((f, fd) => { if (f !== undefined) out.push(fd); });
    return out;
  }
}
