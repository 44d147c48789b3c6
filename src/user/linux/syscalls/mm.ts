/**
 * Memory-management system calls: brk, mmap, munmap, mprotect, mremap,
 * madvise, msync, mincore.  Argument checks follow Linux's order, so that a
 * call with several faults fails with the errno Linux (and so
 * qemu-riscv64, which passes them to the host) reports.
 */
import { define } from "../syscall.js";
import { Errno, errnoFromHost } from "../errno.js";
import { continuation, type MappingKind, Prot, USER_TOP } from "../address-space.js";
import { PAGE_SIZE } from "../../../target/riscv/tlb.js";
import { SharedMemory } from "../shared-memory.js";
import { fs } from "../../../host/fs.js";
import { accessMode, canRead, canWrite, closeQuietly, isDevZero, reopen } from "../shared-mapping.js";

const MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_SHARED_VALIDATE = 0x03, MAP_TYPE = 0x0f;
const MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20, MAP_FIXED_NOREPLACE = 0x100000;
const MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2, MREMAP_DONTUNMAP = 4;
const MS_ASYNC = 1, MS_INVALIDATE = 2, MS_SYNC = 4;
const MADV_DONTNEED = 4;
const O_PATH = 0o10000000;
/** mprotect's prot bits besides R/W/X: PROT_SEM, PROT_GROWSDOWN, PROT_GROWSUP (accepted, no effect). */
const PROT_KNOWN = 7 | 0x8 | 0x01000000 | 0x02000000;

const up = (v: number): number => Math.ceil(v / PAGE_SIZE) * PAGE_SIZE;
const aligned = (v: number): boolean => v % PAGE_SIZE === 0;
const TOP = BigInt(USER_TOP);
/** A 64-bit argument as a number: exact below 2^53, and anything larger is past USER_TOP anyway. */
const num = (v: bigint): number => Number(v);

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
  const addr = num(a.u(0));
  const length = a.u(1);
  const prot = a.i32(2) & 7;
  const flags = a.i32(3);
  const fd = a.i32(4);
  const offset = a.u(5);
  const kind = flags & MAP_TYPE;
  // riscv's mmap entry checks the offset before looking at anything else.
  if (offset % BigInt(PAGE_SIZE) !== 0n) return -Errno.EINVAL;
  const f = (flags & MAP_ANONYMOUS) === 0 ? p.fds.get(fd) : undefined;
  if ((flags & MAP_ANONYMOUS) === 0 && (f === undefined || (f.flags & O_PATH) !== 0)) return -Errno.EBADF;
  if (length === 0n) return -Errno.EINVAL;
  if (length > TOP) return -Errno.ENOMEM;
  const len = up(num(length));

  let start: number;
  if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0) {
    if (addr > USER_TOP - len) return -Errno.ENOMEM;
    if (!aligned(addr)) return -Errno.EINVAL;
    if ((flags & MAP_FIXED_NOREPLACE) !== 0 && !as.isFree(addr, addr + len)) return -Errno.EEXIST;
    start = addr;
  } else {
    // A hint is taken when the (page-rounded) range is free, as Linux does.
    const hint = up(addr);
    if (addr !== 0 && hint <= USER_TOP - len && as.isFree(hint, hint + len)) {
      start = hint;
    } else {
      start = as.findFree(len);
      if (start < 0) return -Errno.ENOMEM;
    }
  }

  const shared = kind === MAP_SHARED || kind === MAP_SHARED_VALIDATE;
  if (!shared && kind !== MAP_PRIVATE) return -Errno.EINVAL;
  let mapKind: MappingKind = shared ? { shm: new SharedMemory(as.hostPages), offset: 0 } : {};
  let name = "";
  let data: Uint8Array | undefined;
  if (f !== undefined) {
    const mode = accessMode(f);
    if (shared && (prot & Prot.WRITE) !== 0 && !canWrite(mode)) return -Errno.EACCES;
    if (!canRead(mode)) return -Errno.EACCES;
    let st: fs.Stats;
    try {
      st = fs.fstatSync(f.hostFd);
    } catch (e) {
      return -errnoFromHost(e);
    }
    if (isDevZero(st)) {
      // /dev/zero maps as anonymous memory (shared or private), as on Linux.
    } else if (!st.isFile()) {
      return -Errno.ENODEV;
    } else if (shared) {
      let hostFd: number;
      try {
        hostFd = reopen(f.hostFd, canWrite(mode));
      } catch (e) {
        return -errnoFromHost(e);
      }
      // One memory object per file: every process mapping it shares its pages.
      const key = `${st.dev}:${st.ino}`;
      const files = as.hostPages.files;
      let shm = files.get(key);
      if (shm === undefined) {
        let fd: number;
        try {
          fd = reopen(f.hostFd, false);
        } catch (e) {
          closeQuietly(hostFd);
          return -errnoFromHost(e);
        }
        shm = new SharedMemory(as.hostPages, { key, registry: files, fd });
        files.set(key, shm);
      }
      mapKind = { hostFd, offset: num(offset), mayWrite: canWrite(mode), shm };
      name = "file";
    } else {
      // A private file mapping is a copy of the file, taken now.
      name = "file";
      const n = Math.max(0, Math.min(len, st.size - num(offset)));
      data = new Uint8Array(n);
      try {
        let done = 0;
        while (done < n) {
          const r = fs.readSync(f.hostFd, data, done, n - done, num(offset) + done);
          if (r <= 0) break;
          done += r;
        }
      } catch (e) {
        return -errnoFromHost(e);
      }
    }
  }
  as.map(start, start + len, prot, name, mapKind);
  if (data !== undefined && data.length > 0) as.write(start, data);
  return start;
});

define(215, "munmap", (p, _t, a) => {
  const addr = num(a.u(0));
  const len = a.u(1);
  if (!aligned(addr) || addr > USER_TOP || len > TOP - BigInt(addr) || len === 0n) return -Errno.EINVAL;
  p.as.unmap(addr, addr + up(num(len)));
  return 0;
});

define(226, "mprotect", (p, _t, a) => {
  const as = p.as;
  const addr = num(a.u(0));
  const length = a.u(1);
  const protArg = a.i32(2);
  if (!aligned(addr) || (protArg & ~PROT_KNOWN) !== 0) return -Errno.EINVAL;
  if (length === 0n) return 0;
  if (length > TOP) return -Errno.ENOMEM;
  const end = addr + up(num(length));
  if (end > USER_TOP || !as.covered(addr, end)) return -Errno.ENOMEM;
  const prot = protArg & 7;
  if ((prot & Prot.WRITE) !== 0) {
    // A shared map of a descriptor not open for writing can never become writable.
    for (const m of as.mappings) if (m.start < end && addr < m.end && m.mayWrite === false) return -Errno.EACCES;
  }
  as.protect(addr, end, prot);
  return 0;
});

define(216, "mremap", (p, _t, a) => {
  const as = p.as;
  const old = num(a.u(0));
  const oldLenArg = a.u(1);
  const newLenArg = a.u(2);
  const flags = a.i32(3);
  const newAddr = num(a.u(4));
  if ((flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0) return -Errno.EINVAL;
  if ((flags & MREMAP_FIXED) !== 0 && (flags & MREMAP_MAYMOVE) === 0) return -Errno.EINVAL;
  if ((flags & MREMAP_DONTUNMAP) !== 0 && ((flags & MREMAP_MAYMOVE) === 0 || oldLenArg !== newLenArg)) return -Errno.EINVAL;
  if (!aligned(old)) return -Errno.EINVAL;
  if (newLenArg === 0n) return -Errno.EINVAL;
  if (newLenArg > TOP) return -Errno.ENOMEM;
  if (oldLenArg > TOP) return -Errno.EFAULT;
  let oldLen = up(num(oldLenArg));
  const newLen = up(num(newLenArg));

  /** The checks of Linux's vma_to_resize: [old, old + oldLen) lies within one mapping. */
  const resizable = (): number => {
    const m = as.find(old);
    if (m === undefined || oldLen > m.end - old) return -Errno.EFAULT;
    return 0;
  };

  /** Move [old, old + oldLen) to dest, grown to newLen; the old range goes (or stays, empty, with DONTUNMAP). */
  const moveTo = (dest: number): number => {
    const m = as.find(old);
    if (m === undefined) return -Errno.EFAULT;
    const kind = continuation(m, old);
    const tail = continuation(m, old + oldLen);
    const { prot, name } = m;
    as.move(old, oldLen, dest);
    if (newLen > oldLen) as.map(dest + oldLen, dest + newLen, prot, name, tail);
    if ((flags & MREMAP_DONTUNMAP) !== 0) as.map(old, old + oldLen, prot, name, kind);
    return dest;
  };

  if ((flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0) {
    if ((flags & MREMAP_FIXED) !== 0) {
      if (!aligned(newAddr) || newAddr > USER_TOP - newLen) return -Errno.EINVAL;
      if (old + oldLen > newAddr && newAddr + newLen > old) return -Errno.EINVAL;
      as.unmap(newAddr, newAddr + newLen);
    }
    if (oldLen > newLen) {
      as.unmap(old + newLen, old + oldLen);
      oldLen = newLen;
    }
    const r = resizable();
    if (r < 0) return r;
    let dest = newAddr;
    if ((flags & MREMAP_FIXED) === 0) {
      dest = as.findFree(newLen);
      if (dest < 0) return -Errno.ENOMEM;
    }
    return moveTo(dest);
  }

  if (oldLen >= newLen) {
    // Shrinking always works: it unmaps the tail.
    if (oldLen > newLen) as.unmap(old + newLen, old + oldLen);
    return old;
  }
  const r = resizable();
  if (r < 0) return r;
  const m = as.find(old);
  if (m !== undefined && old + oldLen === m.end && old + newLen <= USER_TOP && as.isFree(old + oldLen, old + newLen)) {
    as.map(old + oldLen, old + newLen, m.prot, m.name, continuation(m, old + oldLen));
    return old;
  }
  if ((flags & MREMAP_MAYMOVE) === 0) return -Errno.ENOMEM;
  const dest = as.findFree(newLen);
  if (dest < 0) return -Errno.ENOMEM;
  return moveTo(dest);
});

define(233, "madvise", (p, _t, a) => {
  // As qemu-riscv64: advice is a hint and succeeds (even over unmapped ranges); only
  // MADV_DONTNEED acts.
  const addr = num(a.u(0));
  const lenArg = a.u(1);
  const advice = a.i32(2);
  if (!aligned(addr)) return -Errno.EINVAL;
  if (lenArg === 0n) return 0;
  if (lenArg > TOP || addr + up(num(lenArg)) > USER_TOP) return -Errno.EINVAL;
  if (advice === MADV_DONTNEED) p.as.discard(addr, addr + up(num(lenArg)));
  return 0;
});

define(227, "msync", (p, _t, a) => {
  const as = p.as;
  const addr = num(a.u(0));
  const lenArg = a.u(1);
  const flags = a.i32(2);
  if ((flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) !== 0 || !aligned(addr)) return -Errno.EINVAL;
  if ((flags & MS_ASYNC) !== 0 && (flags & MS_SYNC) !== 0) return -Errno.EINVAL;
  if (lenArg === 0n) return 0;
  if (lenArg > TOP) return -Errno.ENOMEM;
  const end = addr + up(num(lenArg));
  // The guest's stores to shared memory already reached the files (every system call writes them back).
  if ((flags & MS_SYNC) !== 0) {
    for (const m of as.mappings) {
      if (m.hostFd !== undefined && m.start < end && addr < m.end) {
        try { fs.fdatasyncSync(m.hostFd); } catch (e) { return -errnoFromHost(e); }
      }
    }
  }
  return end <= USER_TOP && as.covered(addr, end) ? 0 : -Errno.ENOMEM;
});

define(232, "mincore", (p, _t, a) => {
  const as = p.as;
  const addr = num(a.u(0));
  const lenArg = a.u(1);
  const vec = num(a.u(2));
  if (!aligned(addr)) return -Errno.EINVAL;
  if (lenArg > TOP || addr + num(lenArg) > USER_TOP) return -Errno.ENOMEM;
  const pages = Math.ceil(num(lenArg) / PAGE_SIZE);
  if (!as.check(vec, pages, Prot.WRITE)) return -Errno.EFAULT;
  const out = new Uint8Array(pages);
  for (let i = 0; i < pages; i++) {
    const at = addr + i * PAGE_SIZE;
    if (as.find(at) === undefined) return -Errno.ENOMEM;
    out[i] = as.resident(at) ? 1 : 0;
  }
  as.write(vec, out);
  return 0;
});
