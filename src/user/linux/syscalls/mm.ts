/** Memory-management system calls: brk, mmap, munmap, mprotect, mremap, madvise. */
import { define } from "../syscall.js";
import { Errno, errnoFromHost } from "../errno.js";
import { Prot, USER_TOP } from "../address-space.js";
import { PAGE_SIZE } from "../../../target/riscv/tlb.js";
import { fs } from "../../../host/fs.js";

const MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20;
const MAP_FIXED_NOREPLACE = 0x100000;
const MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2;

const up = (v: number): number => Math.ceil(v / PAGE_SIZE) * PAGE_SIZE;
const aligned = (v: number): boolean => v % PAGE_SIZE === 0;

define(214, "brk", (p, _t, a) => {
  const as = p.as;
  const want = a.n(0);
  if (want < as.brkStart) return as.brk;
  const oldTop = up(as.brk);
  const newTop = up(want);
  if (newTop > oldTop) {
    if (!as.isFree(oldTop, newTop)) return as.brk;
    as.map(oldTop, newTop, Prot.READ | Prot.WRITE, "[heap]");
  } else if (newTop < oldTop) {
    as.unmap(newTop, oldTop);
  }
  as.brk = want;
  return want;
});

define(222, "mmap", (p, _t, a) => {
  const as = p.as;
  const addr = a.n(0);
  const length = a.n(1);
  const prot = a.i32(2) & 7;
  const flags = a.i32(3);
  const fd = a.i32(4);
  const offset = a.n(5);
  const kind = flags & 3;
  if (length <= 0 || (kind !== MAP_SHARED && kind !== MAP_PRIVATE && kind !== 3)) return -Errno.EINVAL;
  if (!aligned(offset) || offset < 0) return -Errno.EINVAL;
  const len = up(length);
  if (len > USER_TOP) return -Errno.ENOMEM;
  let data: Uint8Array | undefined;
  if ((flags & MAP_ANONYMOUS) === 0) {
    const f = p.fds.get(fd);
    if (f === undefined) return -Errno.EBADF;
    try {
      const size = fs.fstatSync(f.hostFd).size;
      const n = Math.max(0, Math.min(length, size - offset));
      data = new Uint8Array(n);
      let done = 0;
      while (done < n) {
        const r = fs.readSync(f.hostFd, data, done, n - done, offset + done);
        if (r <= 0) break;
        done += r;
      }
    } catch (e) {
      return -errnoFromHost(e);
    }
  }
  let start: number;
  if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0) {
    if (!aligned(addr) || addr + len > USER_TOP) return -Errno.EINVAL;
    if ((flags & MAP_FIXED_NOREPLACE) !== 0 && !as.isFree(addr, addr + len)) return -Errno.EEXIST;
    start = addr;
  } else if (addr !== 0 && aligned(addr) && addr + len <= USER_TOP && as.isFree(addr, addr + len)) {
    start = addr;
  } else {
    start = as.findFree(len);
    if (start < 0) return -Errno.ENOMEM;
  }
  as.map(start, start + len, prot, data === undefined ? "" : "file");
  if (data !== undefined && data.length > 0) as.write(start, data);
  return start;
});

define(215, "munmap", (p, _t, a) => {
  const addr = a.n(0);
  const len = a.n(1);
  if (!aligned(addr) || len <= 0 || addr + len > USER_TOP) return -Errno.EINVAL;
  p.as.unmap(addr, addr + up(len));
  return 0;
});

define(226, "mprotect", (p, _t, a) => {
  const addr = a.n(0);
  const len = a.n(1);
  if (!aligned(addr) || len < 0) return -Errno.EINVAL;
  if (len === 0) return 0;
  return p.as.protect(addr, addr + up(len), a.i32(2) & 7) ? 0 : -Errno.ENOMEM;
});

define(216, "mremap", (p, _t, a) => {
  const as = p.as;
  const old = a.n(0);
  const oldLen = up(a.n(1));
  const newLen = up(a.n(2));
  const flags = a.i32(3);
  if (!aligned(old) || newLen === 0 || (flags & ~3) !== 0) return -Errno.EINVAL;
  const m = as.find(old);
  if (m === undefined || old + oldLen > m.end) return -Errno.EFAULT;
  if ((flags & MREMAP_FIXED) !== 0) return -Errno.EINVAL;
  if (newLen <= oldLen) {
    if (newLen < oldLen) as.unmap(old + newLen, old + oldLen);
    return old;
  }
  if (as.isFree(old + oldLen, old + newLen)) {
    as.map(old + oldLen, old + newLen, m.prot, m.name);
    return old;
  }
  if ((flags & MREMAP_MAYMOVE) === 0) return -Errno.ENOMEM;
  const dest = as.findFree(newLen);
  if (dest < 0) return -Errno.ENOMEM;
  const bytes = as.read(old, oldLen);
  as.map(dest, dest + newLen, m.prot, m.name);
  as.write(dest, bytes);
  as.unmap(old, old + oldLen);
  return dest;
});

define(233, "madvise", (p, _t, a) => {
  const MADV_DONTNEED = 4;
  const addr = a.n(0);
  const len = up(a.n(1));
  if (!aligned(addr)) return -Errno.EINVAL;
  if (a.i32(2) === MADV_DONTNEED) {
    // Anonymous private memory reads back as zeros afterwards.
    for (let x = addr; x < addr + len; x += PAGE_SIZE) {
      const m = p.as.find(x);
      if (m !== undefined && (m.prot & Prot.WRITE) !== 0) p.as.write(x, new Uint8Array(PAGE_SIZE));
    }
  }
  return 0;
});
