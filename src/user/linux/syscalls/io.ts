/** Reading and writing descriptors: read, write, readv, writev, pread64, pwrite64, close. */
import { define } from "../syscall.js";
import { Errno, errnoFromHost } from "../errno.js";
import { Prot } from "../address-space.js";
import type { Process } from "../process.js";
import { fs } from "../../../host/fs.js";

/** Read up to len bytes from a descriptor into guest memory at buf. */
export function readInto(p: Process, fd: number, buf: number, len: number, pos: number | null): number {
  const f = p.fds.get(fd);
  if (f === undefined) return -Errno.EBADF;
  if (len < 0) return -Errno.EINVAL;
  if (!p.as.check(buf, len, Prot.WRITE)) return -Errno.EFAULT;
  const tmp = new Uint8Array(Math.min(len, 1 << 20));
  try {
    const n = readRetrying(f.hostFd, tmp, pos);
    p.as.write(buf, tmp.subarray(0, n));
    return n;
  } catch (e) {
    return -errnoFromHost(e);
  }
}

/** A blocking read; a host descriptor left non-blocking by someone else is waited on. */
function readRetrying(hostFd: number, tmp: Uint8Array, pos: number | null): number {
  for (;;) {
    try {
      return fs.readSync(hostFd, tmp, 0, tmp.length, pos);
    } catch (e) {
      if ((e as { code?: string }).code !== "EAGAIN") throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

export function writeFrom(p: Process, fd: number, buf: number, len: number, pos: number | null): number {
  const f = p.fds.get(fd);
  if (f === undefined) return -Errno.EBADF;
  if (len < 0) return -Errno.EINVAL;
  if (!p.as.check(buf, len, Prot.READ)) return -Errno.EFAULT;
  const data = p.as.read(buf, len);
  try {
    let done = 0;
    while (done < data.length) {
      try {
        done += fs.writeSync(f.hostFd, data, done, data.length - done, pos === null ? null : pos + done);
      } catch (e) {
        if ((e as { code?: string }).code !== "EAGAIN") throw e;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      }
    }
    return done;
  } catch (e) {
    return -errnoFromHost(e);
  }
}

define(63, "read", (p, _t, a) => readInto(p, a.i32(0), a.n(1), a.n(2), null));
define(64, "write", (p, _t, a) => writeFrom(p, a.i32(0), a.n(1), a.n(2), null));
define(67, "pread64", (p, _t, a) => readInto(p, a.i32(0), a.n(1), a.n(2), a.n(3)));
define(68, "pwrite64", (p, _t, a) => writeFrom(p, a.i32(0), a.n(1), a.n(2), a.n(3)));

function iov(p: Process, addr: number, count: number): [number, number][] | number {
  if (count < 0 || count > 1024) return -Errno.EINVAL;
  if (!p.as.check(addr, count * 16, Prot.READ)) return -Errno.EFAULT;
  const out: [number, number][] = [];
  for (let i = 0; i < count; i++) {
    out.push([Number(p.as.readU64(addr + i * 16)), Number(p.as.readU64(addr + i * 16 + 8))]);
  }
  return out;
}

define(65, "readv", (p, _t, a) => {
  const v = iov(p, a.n(1), a.i32(2));
  if (typeof v === "number") return v;
  let total = 0;
  for (const [base, len] of v) {
    if (len === 0) continue;
    const n = readInto(p, a.i32(0), base, len, null);
    if (n < 0) return total > 0 ? total : n;
    total += n;
    if (n < len) break;
  }
  return total;
});

define(66, "writev", (p, _t, a) => {
  const v = iov(p, a.n(1), a.i32(2));
  if (typeof v === "number") return v;
  let total = 0;
  for (const [base, len] of v) {
    if (len === 0) continue;
    const n = writeFrom(p, a.i32(0), base, len, null);
    if (n < 0) return total > 0 ? total : n;
    total += n;
  }
  return total;
});

define(57, "close", (p, _t, a) => {
  const fd = a.i32(0);
  if (p.fds.get(fd) === undefined) return -Errno.EBADF;
  const last = p.fds.remove(fd);
  if (last !== undefined && last.ownsHostFd) {
    try { fs.closeSync(last.hostFd); } catch { /* the guest's close succeeds regardless, as Linux's does */ }
  }
  return 0;
});
