/**
 * File-system and descriptor system calls: opening, stat, directories,
 * positions, descriptor flags, terminals, pipes, links and the rest.
 *
 * Every descriptor is a real host descriptor, and the host kernel does the
 * work: read and write use the host descriptor's own file position, so
 * lseek moves that position (see host/fdctl.ts), and pipes are host pipes
 * (host/pipe.ts), so that a child process given the descriptors shares
 * positions and pipes exactly as a forked Linux child does.
 *
 * Guest paths: absolute ones go through Process.hostPath (the -L prefix);
 * /proc/self/exe names the guest program; /proc/self/fd/N and /dev/fd/N
 * name the guest's descriptor N; paths relative to a directory descriptor
 * are resolved by the host through /proc/self/fd/<host fd>/, which stays
 * right even when the directory has been renamed.
 */
import { define, type SyscallResult } from "../syscall.js";
import type { Thread } from "../thread.js";
import { Errno, errnoFromHost } from "../errno.js";
import { Prot } from "../address-space.js";
import { sleepMs, type Process } from "../process.js";
import type { OpenFile } from "../fd-table.js";
import { fs, path } from "../../../host/fs.js";
import { HostFdControl, FDFLAG_APPEND, FDFLAG_NONBLOCK, HOST_O_PATH, HOST_O_TMPFILE } from "../../../host/fdctl.js";
import { isPipeFifo, makeFifo, makePipe } from "../../../host/pipe.js";
import { readDirectory } from "../../../host/dir.js";
import { makeMemFile } from "../../../host/memfile.js";
import { procRootEntries, procProcess, procStat, procStatus } from "../proc-pid.js";
import { descriptorPath, setTimes, type TimeSpec } from "../../../host/utimes.js";
import * as tty from "../../../host/tty.js";
import { statField } from "../../../host/proc.js";
import { ttyCheck } from "../job-control.js";
import { transfer, transferWaits } from "../transfer.js";
import { SIGTTOU } from "../signal.js";
import * as hostCwd from "../../../host/cwd.js";
import { realtimeNs } from "../../../host/time.js";
import { hostIo } from "../../../host/host-io.js";
import { syncWithoutWaiting } from "../background-io.js";

// ---- guest (asm-generic) constants ----

export const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_EACCESS = 0x200, AT_SYMLINK_FOLLOW = 0x400;
const AT_NO_AUTOMOUNT = 0x800, AT_EMPTY_PATH = 0x1000, AT_STATX_SYNC_TYPE = 0x6000;

export const O_ACCMODE = 3, O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2;
export const O_CREAT = 0o100, O_EXCL = 0o200, O_NOCTTY = 0o400, O_TRUNC = 0o1000, O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000, O_DSYNC = 0o10000, O_ASYNC = 0o20000, O_DIRECT = 0o40000;
export const O_LARGEFILE = 0o100000, O_DIRECTORY = 0o200000, O_NOFOLLOW = 0o400000, O_NOATIME = 0o1000000;
export const O_CLOEXEC = 0o2000000, O_SYNC_BIT = 0o4000000, O_PATH = 0o10000000, O_TMPFILE_BIT = 0o20000000;

const S_IFMT = 0o170000, S_IFREG = 0o100000, S_IFIFO = 0o10000, S_IFCHR = 0o20000, S_IFDIR = 0o40000;
const S_IFBLK = 0o60000, S_IFSOCK = 0o140000;

const C = fs.constants;
/** Guest O_* bit -> host bit (0 when the host has no such flag). */
const OPEN_FLAG_MAP: [number, number][] = [
  [O_CREAT, C.O_CREAT], [O_EXCL, C.O_EXCL], [O_NOCTTY, C.O_NOCTTY], [O_TRUNC, C.O_TRUNC],
  [O_APPEND, C.O_APPEND], [O_NONBLOCK, C.O_NONBLOCK], [O_DSYNC, C.O_DSYNC ?? 0],
  [O_DIRECT, C.O_DIRECT ?? 0], [O_DIRECTORY, C.O_DIRECTORY ?? 0], [O_NOFOLLOW, C.O_NOFOLLOW ?? 0],
  [O_NOATIME, C.O_NOATIME ?? 0], [O_SYNC_BIT, (C.O_SYNC ?? 0) & ~(C.O_DSYNC ?? 0)],
  [O_PATH, HOST_O_PATH], [O_TMPFILE_BIT, HOST_O_TMPFILE],
];

function hostOpenFlags(guest: number): number {
  let h = guest & O_ACCMODE;
  for (const [g, host] of OPEN_FLAG_MAP) if ((guest & g) !== 0) h |= host;
  return h;
}

function guestOpenFlags(host: number): number {
  let g = host & O_ACCMODE;
  for (const [gb, hb] of OPEN_FLAG_MAP) if (hb !== 0 && (host & hb) === hb) g |= gb;
  return g;
}

// ---- helpers ----

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const PATH_MAX = 4096;

/** Read a guest path: the string, or a negative errno. */
export function guestString(p: Process, addr: number): string | number {
  if (addr === 0) return -Errno.EFAULT;
  const b = p.as.readCString(addr, PATH_MAX + 1);
  if (b === undefined) return p.as.check(addr, 1, Prot.READ) ? -Errno.ENAMETOOLONG : -Errno.EFAULT;
  if (b.length > PATH_MAX - 1) return -Errno.ENAMETOOLONG;
  return decoder.decode(b);
}

function file(p: Process, fd: number): OpenFile | number {
  return p.fds.get(fd) ?? -Errno.EBADF;
}

/** The host path naming an open file's host descriptor. */
const fdPath = (f: OpenFile): string => `/proc/self/fd/${f.hostFd}`;

/** Run a host call, turning a thrown host error into a negative errno. */
function host<T>(f: () => T): T | number {
  try {
    return f();
  } catch (e) {
    return -errnoFromHost(e);
  }
}

/** Run a host call for its effect: 0, or the negative errno it failed with. */
function ok(f: () => unknown): number {
  try {
    f();
    return 0;
  } catch (e) {
    return -errnoFromHost(e);
  }
}

/** The guest descriptor named by /proc/self/fd/N, /proc/<pid>/fdinfo/N, /dev/fd/N, /dev/std*. */
function procFdPath(p: Process, path: string): { fd: number; rest: string; info: boolean } | undefined {
  const std: Record<string, number> = { "/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2 };
  const s = std[path];
  if (s !== undefined) return { fd: s, rest: "", info: false };
  const m = /^(?:\/proc\/(?:self|thread-self|(\d+)(?:\/task\/\d+)?)\/(fd|fdinfo)|\/dev\/fd)\/(\d+)(\/.*)?$/.exec(path);
  if (m === null || (m[1] !== undefined && Number(m[1]) !== p.pid)) return undefined;
  return { fd: Number(m[3]), rest: m[4] ?? "", info: m[2] === "fdinfo" };
}

const exeLinks = new WeakMap<Process, [string, string]>();

/** The guest program as /proc/self/exe names it: absolute, links resolved (as QEMU does). */
export function exeLink(p: Process): string {
  const cached = exeLinks.get(p);
  if (cached !== undefined && cached[0] === p.exePath) return cached[1];
  let abs: string;
  try {
    abs = fs.realpathSync(p.exePath);
  } catch {
    abs = path.resolve(p.exePath);
  }
  exeLinks.set(p, [p.exePath, abs]);
  return abs;
}

/** The guest process whose program /proc/self/exe or /proc/PID/exe names, if path is one. */
function procExeOf(p: Process, path: string): Process | undefined {
  const m = /^\/proc\/(self|\d+)\/exe$/.exec(path);
  return m === null ? undefined : procProcess(p, m[1]);
}

function isProcExe(p: Process, path: string): boolean {
  return procExeOf(p, path) !== undefined;
}

/**
 * Translate an absolute guest path to the host path.  The -L prefix applies
 * only where QEMU applies it (open, stat, lstat, readlink, statfs,
 * utimensat); other calls see the host's file system as it is.
 */
function absoluteHostPath(p: Process, path: string, sysroot: boolean): string | number {
  if (path.startsWith("/proc/") || path.startsWith("/dev/")) {
    const exeOf = procExeOf(p, path);
    if (exeOf !== undefined) return exeLink(exeOf);
    // The directory of a guest process the host does not have (all of them live in tsemu);
    // a pid the run gave out whose process is gone has none (the host's may be one of tsemu's threads).
    const dir = /^\/proc\/(\d+)(\/.*)?$/.exec(path);
    if (dir !== null && Number(dir[1]) !== p.kernel.firstPid && p.kernel.issued(Number(dir[1]))) {
      if (procProcess(p, dir[1]) === undefined) return -Errno.ENOENT;
      if (dir[2] === undefined || dir[2] === "/") return "/proc/self";
    }
    const pf = procFdPath(p, path);
    if (pf !== undefined) {
      const f = p.fds.get(pf.fd);
      if (f === undefined) return -Errno.ENOENT;
      return (pf.info ? `/proc/self/fdinfo/${f.hostFd}` : fdPath(f)) + pf.rest;
    }
  }
  return sysroot ? p.hostPath(path) : path;
}

/** The host path for a guest path relative to dirfd (AT_FDCWD: the working directory). */
export function resolveAt(p: Process, dirfd: number, path: string, sysroot = false): string | number {
  if (path === "") return -Errno.ENOENT;
  if (path.startsWith("/")) return absoluteHostPath(p, path, sysroot);
  if (dirfd === AT_FDCWD) return path;
  const f = p.fds.get(dirfd);
  if (f === undefined) return -Errno.EBADF;
  return `${fdPath(f)}/${path}`;
}

/** Read a guest path argument and resolve it against dirfd. */
function pathArg(p: Process, dirfd: number, addr: number, sysroot = false): string | number {
  const s = guestString(p, addr);
  return typeof s === "number" ? s : resolveAt(p, dirfd, s, sysroot);
}

/** Write bytes to guest memory after checking it is writable. */
function put(p: Process, addr: number, bytes: Uint8Array): number {
  if (!p.as.check(addr, bytes.length, Prot.WRITE)) return -Errno.EFAULT;
  p.as.write(addr, bytes);
  return 0;
}

function get(p: Process, addr: number, len: number): Uint8Array | number {
  if (!p.as.check(addr, len, Prot.READ)) return -Errno.EFAULT;
  return p.as.read(addr, len);
}

function struct(size: number): { b: Uint8Array; v: DataView } {
  const b = new Uint8Array(size);
  return { b, v: new DataView(b.buffer) };
}

/** Close a guest descriptor as close(2) does. */
function closeFd(p: Process, fd: number): void {
  const last = p.fds.remove(fd);
  if (last !== undefined && last.ownsHostFd) {
    try { fs.closeSync(last.hostFd); } catch { /* closed regardless */ }
  }
}

function newOpenFile(hostFd: number, path: string | undefined, flags: number): OpenFile {
  return { hostFd, path, flags, dirPos: 0, dirEntries: undefined, ownsHostFd: true, refs: 0 };
}

/** Put a new host descriptor in the table; closes it and fails with EMFILE when full. */
function install(p: Process, f: OpenFile, cloexec: boolean): number {
  const fd = p.fds.add(f, cloexec);
  if (fd < 0) {
    try { fs.closeSync(f.hostFd); } catch { /* nothing to undo */ }
    return -Errno.EMFILE;
  }
  return fd;
}

/** Pipe ends made by pipe2 (their /proc/self/fd link reads pipe:[inode]). */
const pipes = new WeakSet<OpenFile>();
const controls = new WeakMap<OpenFile, HostFdControl | null>();

function control(f: OpenFile): HostFdControl | null {
  let c = controls.get(f);
  if (c === undefined) {
    c = HostFdControl.open(f.hostFd) ?? null;
    controls.set(f, c);
  }
  return c;
}

/** The descriptor's status flags as F_GETFL reports them. */
function statusFlags(f: OpenFile): number {
  if (!f.ownsHostFd) {
    // Inherited descriptors (0, 1, 2): the host knows how they were opened.
    try {
      const info = fs.readFileSync(`/proc/self/fdinfo/${f.hostFd}`, "utf8");
      const m = /^flags:\s*([0-7]+)$/m.exec(info);
      if (m !== null) return guestOpenFlags(parseInt(m[1], 8)) & ~(O_CLOEXEC | O_LARGEFILE);
    } catch { /* fall back to what was recorded */ }
  }
  return f.flags;
}

/** F_SETFL: the flags it may change. */
const SETFL_MASK = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;

function setStatusFlags(f: OpenFile, flags: number): number {
  const old = statusFlags(f);
  const next = (old & ~SETFL_MASK) | (flags & SETFL_MASK);
  if (((old ^ next) & (O_APPEND | O_NONBLOCK)) !== 0) {
    const c = control(f);
    if (c === null) return -Errno.EINVAL;
    const r = c.setFlags(((next & O_APPEND) !== 0 ? FDFLAG_APPEND : 0) | ((next & O_NONBLOCK) !== 0 ? FDFLAG_NONBLOCK : 0));
    if (r < 0) return r;
  }
  f.flags = next;
  return 0;
}

// ---- stat ----

type Stats = fs.BigIntStats;

function splitNs(ns: bigint): [bigint, bigint] {
  let sec = ns / 1_000_000_000n;
  let nsec = ns - sec * 1_000_000_000n;
  if (nsec < 0n) { sec -= 1n; nsec += 1_000_000_000n; }
  return [sec, nsec];
}

/** struct stat (asm-generic, 128 bytes). */
function encodeStat(st: Stats): Uint8Array {
  const { b, v } = struct(128);
  v.setBigUint64(0, st.dev, true);
  v.setBigUint64(8, st.ino, true);
  v.setUint32(16, Number(st.mode), true);
  v.setUint32(20, Number(st.nlink), true);
  v.setUint32(24, Number(st.uid), true);
  v.setUint32(28, Number(st.gid), true);
  v.setBigUint64(32, st.rdev, true);
  v.setBigInt64(48, st.size, true);
  v.setInt32(56, Number(st.blksize), true);
  v.setBigInt64(64, st.blocks, true);
  const times = [st.atimeNs, st.mtimeNs, st.ctimeNs];
  times.forEach((ns, i) => {
    const [s, n] = splitNs(ns);
    v.setBigInt64(72 + i * 16, s, true);
    v.setBigUint64(80 + i * 16, n, true);
  });
  return b;
}

const major = (dev: bigint): number => Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
const minor = (dev: bigint): number => Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));

const STATX_BASIC_STATS = 0x7ff, STATX_BTIME = 0x800;

/** struct statx (256 bytes). */
function encodeStatx(st: Stats): Uint8Array {
  const { b, v } = struct(256);
  const hasBtime = st.birthtimeNs !== 0n;
  v.setUint32(0, STATX_BASIC_STATS | (hasBtime ? STATX_BTIME : 0), true);
  v.setUint32(4, Number(st.blksize), true);
  v.setUint32(16, Number(st.nlink), true);
  v.setUint32(20, Number(st.uid), true);
  v.setUint32(24, Number(st.gid), true);
  v.setUint16(28, Number(st.mode), true);
  v.setBigUint64(32, st.ino, true);
  v.setBigUint64(40, BigInt.asUintN(64, st.size), true);
  v.setBigUint64(48, BigInt.asUintN(64, st.blocks), true);
  const ts = (off: number, ns: bigint): void => {
    const [s, n] = splitNs(ns);
    v.setBigInt64(off, s, true);
    v.setUint32(off + 8, Number(n), true);
  };
  ts(64, st.atimeNs);
  if (hasBtime) ts(80, st.birthtimeNs);
  ts(96, st.ctimeNs);
  ts(112, st.mtimeNs);
  v.setUint32(128, major(st.rdev), true);
  v.setUint32(132, minor(st.rdev), true);
  v.setUint32(136, major(st.dev), true);
  v.setUint32(140, minor(st.dev), true);
  return b;
}

function fstatFile(f: OpenFile): Stats | number {
  return host(() => fs.fstatSync(f.hostFd, { bigint: true }));
}

/** stat for the *at calls: path relative to dirfd, AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW. */
function statAt(p: Process, dirfd: number, pathAddr: number, flags: number, sysroot: boolean): Stats | number {
  let path: string | number;
  if (pathAddr === 0 && (flags & AT_EMPTY_PATH) !== 0) path = "";
  else path = guestString(p, pathAddr);
  if (typeof path === "number") return path;
  if (path === "") {
    if ((flags & AT_EMPTY_PATH) === 0) return -Errno.ENOENT;
    if (dirfd === AT_FDCWD) return host(() => fs.statSync(".", { bigint: true }));
    const f = file(p, dirfd);
    return typeof f === "number" ? f : fstatFile(f);
  }
  // lstat of /proc/self/exe describes the link itself, as on Linux.
  const nofollow = (flags & AT_SYMLINK_NOFOLLOW) !== 0;
  const h = nofollow && isProcExe(p, path) ? "/proc/self/exe" : resolveAt(p, dirfd, path, sysroot);
  if (typeof h === "number") return h;
  if (nofollow) return host(() => fs.lstatSync(h, { bigint: true }));
  return host(() => fs.statSync(h, { bigint: true }));
}

define(80, "fstat", (p, _t, a) => {
  const f = file(p, a.i32(0));
  if (typeof f === "number") return f;
  const st = fstatFile(f);
  return typeof st === "number" ? st : put(p, a.n(1), encodeStat(st));
});

define(79, "newfstatat", (p, _t, a) => {
  const flags = a.i32(3);
  if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH)) !== 0) return -Errno.EINVAL;
  const st = statAt(p, a.i32(0), a.n(1), flags, true);
  return typeof st === "number" ? st : put(p, a.n(2), encodeStat(st));
});

define(291, "statx", (p, _t, a) => {
  const flags = a.i32(2);
  if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE)) !== 0) return -Errno.EINVAL;
  if ((flags & AT_STATX_SYNC_TYPE) === AT_STATX_SYNC_TYPE) return -Errno.EINVAL;
  if ((a.u32(3) & 0x80000000) !== 0) return -Errno.EINVAL;
  const st = statAt(p, a.i32(0), a.n(1), flags, false);
  return typeof st === "number" ? st : put(p, a.n(4), encodeStatx(st));
});

// ---- open, access ----

export function openAt(p: Process, dirfd: number, pathAddr: number, flags: number, mode: number): number {
  const guest = guestString(p, pathAddr);
  if (typeof guest === "number") return guest;
  const fake = guest.startsWith("/proc/") ? fakeProcFile(p, guest) : undefined;
  if (fake !== undefined) {
    if ((flags & O_ACCMODE) !== O_RDONLY) return -Errno.EACCES;
    const fd = host(() => makeMemFile(fake));
    if (fd < 0) return fd;
    return install(p, newOpenFile(fd, guest, O_RDONLY), (flags & O_CLOEXEC) !== 0);
  }
  const h = resolveAt(p, dirfd, guest, true);
  if (typeof h === "number") return h;
  if ((flags & O_TMPFILE_BIT) !== 0 && HOST_O_TMPFILE === 0) return -Errno.EOPNOTSUPP;
  if ((flags & (O_CREAT | O_TMPFILE_BIT)) !== 0) hostCwd.useUmask(p.umask);
  const hostFd = host(() => fs.openSync(h, hostOpenFlags(flags), mode & 0o7777));
  if (hostFd < 0) return hostFd;
  const kept = (flags & O_PATH) !== 0
    ? flags & (O_PATH | O_DIRECTORY | O_NOFOLLOW)
    : flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC | O_LARGEFILE);
  return install(p, newOpenFile(hostFd, h, kept), (flags & O_CLOEXEC) !== 0);
}

// ---- /proc files that describe the guest rather than the emulator ----

/** The guest's initial argument, environment and auxiliary vectors, found on its stack. */
interface Vectors { argv: number[]; auxv: Uint8Array }

const AT_PAGESZ = 6, AT_RANDOM = 25, AT_MAX = 64;

/**
 * Locate the vectors the loader put below the strings at the top of the
 * stack: the auxiliary vector ends in an AT_NULL pair and holds AT_PAGESZ
 * and AT_RANDOM; below it lie the environment and argument pointers, each
 * list ending in a null word, and argc.
 */
function findVectors(p: Process): Vectors | undefined {
  const stack = p.as.mappings.find((m) => m.name === "[stack]");
  if (stack === undefined) return undefined;
  const word = (addr: number): bigint => p.as.readU64(addr);
  const limit = Math.max(stack.start, stack.end - (4 << 20));
  for (let e = stack.end - 16; e - 16 >= limit; e -= 8) {
    if (word(e - 16) !== 0n || word(e - 8) !== 0n) continue;
    // Walk the pairs back from the AT_NULL one while they look like auxv entries.
    let q = e - 16;
    let pageSize = false, random = false;
    while (q - 16 >= limit) {
      const key = word(q - 16);
      if (key <= 0n || key > BigInt(AT_MAX)) break;
      if (key === BigInt(AT_PAGESZ) && word(q - 8) === 4096n) pageSize = true;
      if (key === BigInt(AT_RANDOM)) random = true;
      q -= 16;
    }
    if (!pageSize || !random) continue;
    // q: start of auxv; q - 8: the environment's null word.
    let j = q - 16;
    while (j >= limit && word(j) !== 0n) j -= 8;
    if (j < limit) return undefined;
    const argv: number[] = [];
    let k = j - 8;
    while (k >= limit && word(k) !== BigInt(argv.length)) {
      argv.unshift(Number(word(k)));
      k -= 8;
    }
    if (k < limit) return undefined;
    return { argv, auxv: p.as.read(q, e - q) };
  }
  return undefined;
}

function procMaps(p: Process): Uint8Array {
  const hex = (v: number, w: number): string => v.toString(16).padStart(w, "0");
  const lines = p.as.mappings.map((m) => {
    const perms = ((m.prot & Prot.READ) !== 0 ? "r" : "-") + ((m.prot & Prot.WRITE) !== 0 ? "w" : "-") +
      ((m.prot & Prot.EXEC) !== 0 ? "x" : "-") + (m.hostFd !== undefined ? "s" : "p");
    const head = `${hex(m.start, 8)}-${hex(m.end, 8)} ${perms} ${hex(m.offset ?? 0, 8)} 00:00 0`;
    const name = m.name.startsWith("/") || m.name.startsWith("[") ? m.name : "";
    return name === "" ? `${head}\n` : `${head.padEnd(73)}${name}\n`;
  });
  return encoder.encode(lines.join(""));
}

/** The contents of a made-up /proc file, or undefined to open the host's. */
function fakeProcFile(p: Process, path: string): Uint8Array | undefined {
  const m = /^\/proc\/(self|\d+)\/(auxv|cmdline|maps|stat|status)$/.exec(path);
  const q = m === null ? undefined : procProcess(p, m[1]);
  if (m === null || q === undefined) return undefined;
  // Made up for every guest process, the first one too (the host's would describe Node), as qemu-riscv64 makes them.
  if (m[2] === "stat") return procStat(q);
  if (m[2] === "status") return procStatus(q);
  return procVectorFile(q, m[2]);
}

/** /proc/PID/maps, auxv or cmdline of guest process p. */
function procVectorFile(p: Process, name: string): Uint8Array | undefined {
  if (name === "maps") return procMaps(p);
  const v = findVectors(p);
  if (v === undefined) return undefined;
  if (name === "auxv") return v.auxv;
  const parts: Uint8Array[] = v.argv.map((a) => p.as.readCString(a, 1 << 20) ?? new Uint8Array(0));
  const out = new Uint8Array(parts.reduce((n, b) => n + b.length + 1, 0));
  let off = 0;
  for (const b of parts) { out.set(b, off); off += b.length + 1; }
  return out;
}

define(56, "openat", (p, _t, a) => openAt(p, a.i32(0), a.n(1), a.i32(2), a.u32(3)));

function accessAt(p: Process, dirfd: number, pathAddr: number, mode: number, flags: number): number {
  if ((mode & ~7) !== 0) return -Errno.EINVAL;
  if ((flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) !== 0) return -Errno.EINVAL;
  const s = guestString(p, pathAddr);
  if (typeof s === "number") return s;
  let h: string | number;
  if (s === "" && (flags & AT_EMPTY_PATH) !== 0) {
    if (dirfd === AT_FDCWD) h = ".";
    else {
      const f = file(p, dirfd);
      if (typeof f === "number") return f;
      h = fdPath(f);
    }
  } else {
    h = resolveAt(p, dirfd, s);
  }
  if (typeof h === "number") return h;
  const target = h;
  if ((flags & AT_SYMLINK_NOFOLLOW) !== 0) {
    const st = host(() => fs.lstatSync(target));
    if (typeof st === "number") return st;
    if (st.isSymbolicLink()) return 0;
  }
  return ok(() => fs.accessSync(target, mode));
}

define(48, "faccessat", (p, _t, a) => accessAt(p, a.i32(0), a.n(1), a.i32(2), 0));
define(439, "faccessat2", (p, _t, a) => accessAt(p, a.i32(0), a.n(1), a.i32(2), a.i32(3)));

// ---- directories ----

/** Whether the open file is a directory (cached per open file). */
const dirFlags = new WeakMap<OpenFile, boolean>();
function isDir(f: OpenFile): boolean {
  let d = dirFlags.get(f);
  if (d === undefined) {
    try { d = fs.fstatSync(f.hostFd).isDirectory(); } catch { d = false; }
    dirFlags.set(f, d);
  }
  return d;
}

/** Names are kept as one char per byte, so that any byte sequence survives. */
const bytesToString = (b: Uint8Array): string => String.fromCharCode(...b);
const stringToBytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** Whether an open directory is this process's /proc/<pid>/fd (or fdinfo). */
function isProcFdDir(p: Process, f: OpenFile): boolean {
  try {
    const target = fs.readlinkSync(fdPath(f));
    return new RegExp(`^/proc/${p.pid}(/task/\\d+)?/fd(info)?$`).test(target);
  } catch {
    return false;
  }
}

/** Whether an open directory is /proc itself. */
function isProcRoot(f: OpenFile): boolean {
  try {
    return fs.readlinkSync(fdPath(f)) === "/proc";
  } catch {
    return false;
  }
}

/** The guest's view of /proc/self/fd: its own descriptor numbers. */
function procFdEntries(p: Process, f: OpenFile): { name: string; type: number; ino: bigint }[] {
  const DT_DIR = 4, DT_LNK = 10, DT_REG = 8;
  const self = fstatFile(f);
  const ino = typeof self === "number" ? 0n : self.ino;
  const info = fs.readlinkSync(fdPath(f)).endsWith("fdinfo");
  const out = [{ name: ".", type: DT_DIR, ino }, { name: "..", type: DT_DIR, ino }];
  for (const fd of p.fds.open()) out.push({ name: String(fd), type: info ? DT_REG : DT_LNK, ino: ino + BigInt(fd) + 1n });
  return out;
}

define(61, "getdents64", (p, _t, a) => {
  const f = file(p, a.i32(0));
  if (typeof f === "number") return f;
  const buf = a.n(1);
  const count = a.u32(2);
  if (!isDir(f)) return -Errno.ENOTDIR;
  if (f.dirEntries === undefined && isProcFdDir(p, f)) {
    f.dirEntries = procFdEntries(p, f);
  }
  if (f.dirEntries === undefined) {
    const entries = host(() => readDirectory(f.hostFd));
    if (typeof entries === "number") return entries;
    f.dirEntries = entries.map((e) => ({ name: bytesToString(e.name), type: e.type, ino: e.ino }));
    if (isProcRoot(f)) f.dirEntries = procRootEntries(p, f.dirEntries);
  }
  const entries = f.dirEntries;
  const chunks: Uint8Array[] = [];
  let used = 0;
  while (f.dirPos < entries.length) {
    const e = entries[f.dirPos];
    const name = stringToBytes(e.name);
    const reclen = (19 + name.length + 1 + 7) & ~7;
    if (used + reclen > count) {
      if (used === 0) return -Errno.EINVAL;
      break;
    }
    const { b, v } = struct(reclen);
    v.setBigUint64(0, e.ino, true);
    v.setBigInt64(8, BigInt(f.dirPos + 1), true);
    v.setUint16(16, reclen, true);
    v.setUint8(18, e.type);
    b.set(name, 19);
    chunks.push(b);
    used += reclen;
    f.dirPos++;
  }
  const all = new Uint8Array(used);
  let off = 0;
  for (const c of chunks) { all.set(c, off); off += c.length; }
  const r = put(p, buf, all);
  return r < 0 ? r : used;
});

// ---- positions ----

const SEEK_SET = 0, SEEK_CUR = 1, SEEK_DATA = 3, SEEK_HOLE = 4;

/** lseek(2): the new position, or a negative errno (a number). */
function lseek(p: Process, fd: number, offset: bigint, whence: number): bigint | number {
  const f = file(p, fd);
  if (typeof f === "number") return f;
  if (whence < 0 || whence > SEEK_HOLE) return -Errno.EINVAL;
  if (isDir(f)) {
    // Directory offsets are getdents64 positions (d_off values).
    let pos: bigint;
    if (whence === SEEK_SET) pos = offset;
    else if (whence === SEEK_CUR) pos = BigInt(f.dirPos) + offset;
    else return -Errno.EINVAL;
    if (pos < 0n) return -Errno.EINVAL;
    f.dirPos = Number(pos > 0x7fffffffn ? 0x7fffffffn : pos);
    if (pos === 0n) f.dirEntries = undefined; // rewinddir sees the directory afresh
    return pos;
  }
  const c = control(f);
  if (whence === SEEK_DATA || whence === SEEK_HOLE) {
    const st = fstatFile(f);
    if (typeof st === "number") return st;
    if ((Number(st.mode) & S_IFMT) !== S_IFREG) return -Errno.ESPIPE;
    if (offset < 0n || offset >= st.size) return -Errno.ENXIO;
    offset = whence === SEEK_DATA ? offset : st.size;
    whence = SEEK_SET;
  }
  if (c === null) {
    if (whence === SEEK_CUR && offset === 0n) return hostPosition(f);
    return -Errno.ESPIPE;
  }
  const r = c.seek(offset, whence);
  if (r === -Errno.ESPIPE) {
    // Character devices other than terminals (/dev/null, /dev/zero) accept any seek and stay at 0.
    const st = fstatFile(f);
    if (typeof st !== "number" && (Number(st.mode) & S_IFMT) === S_IFCHR && !tty.isatty(f.hostFd)) return 0n;
  }
  return r;
}

/** The host descriptor's file position, from /proc/self/fdinfo. */
function hostPosition(f: OpenFile): bigint | number {
  try {
    const m = /^pos:\s*(\d+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${f.hostFd}`, "utf8"));
    return m === null ? -Errno.ESPIPE : BigInt(m[1]);
  } catch {
    return -Errno.ESPIPE;
  }
}

define(62, "lseek", (p, _t, a) => lseek(p, a.i32(0), a.s(1), a.i32(2)));

// ---- descriptors ----

define(23, "dup", (p, _t, a) => {
  const f = file(p, a.i32(0));
  if (typeof f === "number") return f;
  const fd = p.fds.add(f, false);
  return fd < 0 ? -Errno.EMFILE : fd;
});

define(24, "dup3", (p, _t, a) => {
  const oldfd = a.i32(0), newfd = a.i32(1), flags = a.i32(2);
  if ((flags & ~O_CLOEXEC) !== 0) return -Errno.EINVAL;
  if (oldfd === newfd) return -Errno.EINVAL;
  const f = file(p, oldfd);
  if (typeof f === "number") return f;
  if (newfd < 0 || newfd >= p.fds.limit) return -Errno.EBADF;
  if (p.fds.get(newfd) !== undefined) closeFd(p, newfd);
  p.fds.install(newfd, f, (flags & O_CLOEXEC) !== 0);
  return newfd;
});

const F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4, F_GETLK = 5, F_SETLK = 6, F_SETLKW = 7;
const F_SETOWN = 8, F_GETOWN = 9, F_SETSIG = 10, F_GETSIG = 11, F_SETOWN_EX = 15, F_GETOWN_EX = 16;
const F_OFD_GETLK = 36, F_OFD_SETLK = 37, F_OFD_SETLKW = 38;
const F_SETLEASE = 1024, F_GETLEASE = 1025, F_NOTIFY = 1026, F_DUPFD_CLOEXEC = 1030;
const F_SETPIPE_SZ = 1031, F_GETPIPE_SZ = 1032, F_ADD_SEALS = 1033, F_GET_SEALS = 1034;
const F_RDLCK = 0, F_WRLCK = 1, F_UNLCK = 2;
const PIPE_SIZE = 65536;

function isFifo(f: OpenFile): boolean {
  const st = fstatFile(f);
  return typeof st !== "number" && (Number(st.mode) & S_IFMT) === S_IFIFO;
}

define(25, "fcntl", (p, _t, a) => {
  const fd = a.i32(0), cmd = a.i32(1);
  const f = file(p, fd);
  if (typeof f === "number") return f;
  switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      const min = a.n(2);
      if (min < 0 || min >= p.fds.limit) return -Errno.EINVAL;
      const nfd = p.fds.add(f, cmd === F_DUPFD_CLOEXEC, min);
      return nfd < 0 ? -Errno.EMFILE : nfd;
    }
    case F_GETFD: return p.fds.isCloexec(fd) ? 1 : 0;
    case F_SETFD: p.fds.setCloexec(fd, (a.i32(2) & 1) !== 0); return 0;
    case F_GETFL: return statusFlags(f);
    case F_SETFL:
      if ((f.flags & O_PATH) !== 0) return -Errno.EBADF;
      return setStatusFlags(f, a.i32(2));
    case F_GETLK: case F_SETLK: case F_SETLKW:
    case F_OFD_GETLK: case F_OFD_SETLK: case F_OFD_SETLKW: {
      // No record locks are kept: every lock is granted and every test finds none.
      const addr = a.n(2);
      const lk = get(p, addr, 32);
      if (typeof lk === "number") return lk;
      const type = new DataView(lk.buffer).getInt16(0, true);
      if (type !== F_RDLCK && type !== F_WRLCK && type !== F_UNLCK) return -Errno.EINVAL;
      if (cmd === F_GETLK || cmd === F_OFD_GETLK) {
        new DataView(lk.buffer).setInt16(0, F_UNLCK, true);
        return put(p, addr, lk);
      }
      return 0;
    }
    case F_GETOWN: case F_GETSIG: return 0;
    case F_SETOWN: case F_SETSIG: return 0;
    case F_GETOWN_EX: {
      const { b } = struct(8);
      return put(p, a.n(2), b);
    }
    case F_SETOWN_EX: return 0;
    case F_GETLEASE: return F_UNLCK;
    case F_SETLEASE: case F_NOTIFY: return -Errno.EINVAL;
    case F_GETPIPE_SZ: return isFifo(f) ? PIPE_SIZE : -Errno.EBADF;
    case F_SETPIPE_SZ: {
      if (!isFifo(f)) return -Errno.EBADF;
      const want = Math.max(a.n(2), 4096);
      if (want > 1048576) return -Errno.EPERM;
      let size = 4096;
      while (size < want) size *= 2;
      return size;
    }
    case F_ADD_SEALS: case F_GET_SEALS: return -Errno.EINVAL;
    default: return -Errno.EINVAL;
  }
});

define(436, "close_range", (p, _t, a) => {
  const first = a.u32(0), last = a.u32(1), flags = a.u32(2);
  const CLOSE_RANGE_UNSHARE = 2, CLOSE_RANGE_CLOEXEC = 4;
  if ((flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) !== 0 || first > last) return -Errno.EINVAL;
  for (const fd of p.fds.open()) {
    if (fd < first || fd > last) continue;
    if ((flags & CLOSE_RANGE_CLOEXEC) !== 0) p.fds.setCloexec(fd, true);
    else closeFd(p, fd);
  }
  return 0;
});

// ---- terminals and other ioctls ----

const TCGETS = 0x5401, TCSETS = 0x5402, TCSETSW = 0x5403, TCSETSF = 0x5404, TCSBRK = 0x5409, TCXONC = 0x540a;
const TCFLSH = 0x540b, TIOCSCTTY = 0x540e, TIOCGPGRP = 0x540f, TIOCSPGRP = 0x5410, TIOCOUTQ = 0x5411;
const TIOCGWINSZ = 0x5413, TIOCSWINSZ = 0x5414, FIONREAD = 0x541b, FIONBIO = 0x5421, TIOCNOTTY = 0x5422;
const TIOCGSID = 0x5429, FIONCLEX = 0x5450, FIOCLEX = 0x5451, FIOASYNC = 0x5452;
const TERMIOS_SIZE = 36;

function encodeTermios(t: tty.Termios): Uint8Array {
  const { b, v } = struct(TERMIOS_SIZE);
  v.setUint32(0, t.iflag, true);
  v.setUint32(4, t.oflag, true);
  v.setUint32(8, t.cflag, true);
  v.setUint32(12, t.lflag, true);
  v.setUint8(16, t.line);
  for (let i = 0; i < tty.NCCS; i++) v.setUint8(17 + i, t.cc[i] ?? 0);
  return b;
}

function decodeTermios(b: Uint8Array): tty.Termios {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const cc: number[] = [];
  for (let i = 0; i < tty.NCCS; i++) cc.push(v.getUint8(17 + i));
  return {
    iflag: v.getUint32(0, true), oflag: v.getUint32(4, true), cflag: v.getUint32(8, true),
    lflag: v.getUint32(12, true), line: v.getUint8(16), cc,
  };
}

function putInt(p: Process, addr: number, value: number): number {
  const { b, v } = struct(4);
  v.setInt32(0, value, true);
  return put(p, addr, b);
}

define(29, "ioctl", (p, t, a) => {
  const fd = a.i32(0);
  const req = a.u32(1);
  const arg = a.n(2);
  const f = file(p, fd);
  if (typeof f === "number") return f;
  switch (req) {
    case FIOCLEX: p.fds.setCloexec(fd, true); return 0;
    case FIONCLEX: p.fds.setCloexec(fd, false); return 0;
    case FIONBIO: {
      const b = get(p, arg, 4);
      if (typeof b === "number") return b;
      const on = new DataView(b.buffer).getInt32(0, true) !== 0;
      return setStatusFlags(f, on ? statusFlags(f) | O_NONBLOCK : statusFlags(f) & ~O_NONBLOCK);
    }
    case FIOASYNC: return 0;
    case FIONREAD: {
      const st = fstatFile(f);
      if (typeof st === "number") return st;
      const type = Number(st.mode) & S_IFMT;
      if (type === S_IFDIR) return -Errno.EINVAL;
      if (type === S_IFREG) {
        const pos = lseek(p, fd, 0n, SEEK_CUR);
        const avail = typeof pos === "number" ? 0 : Number(st.size - pos);
        return putInt(p, arg, Math.max(0, avail));
      }
      if (type === S_IFIFO || tty.isatty(f.hostFd)) return putInt(p, arg, 0);
      return -Errno.ENOTTY;
    }
  }
  if (!tty.isatty(f.hostFd)) return -Errno.ENOTTY;
  // A background process changing the terminal: SIGTTOU, as Linux's tty_check_change.
  if (req === TCSETS || req === TCSETSW || req === TCSETSF || req === TIOCSPGRP || req === TCFLSH || req === TCXONC) {
    const background = ttyCheck(p, t, f, SIGTTOU);
    if (background !== undefined) return background;
  }
  switch (req) {
    case TCGETS: return put(p, arg, encodeTermios(tty.getTermios(f.hostFd)));
    case TCSETS: case TCSETSW: case TCSETSF: {
      const b = get(p, arg, TERMIOS_SIZE);
      if (typeof b === "number") return b;
      return tty.setTermios(f.hostFd, decodeTermios(b)) ? 0 : -Errno.EIO;
    }
    case TIOCGWINSZ: {
      const ws = tty.getWinsize(f.hostFd) ?? [0, 0];
      const { b, v } = struct(8);
      v.setUint16(0, ws[0], true);
      v.setUint16(2, ws[1], true);
      return put(p, arg, b);
    }
    case TIOCSWINSZ: {
      const b = get(p, arg, 8);
      if (typeof b === "number") return b;
      const v = new DataView(b.buffer);
      tty.setWinsize(f.hostFd, v.getUint16(0, true), v.getUint16(2, true));
      return 0;
    }
    case TIOCGPGRP: return putInt(p, arg, p.kernel.ttyForeground ?? statField("self", 8) ?? p.pid);
    case TIOCSPGRP: {
      // The terminal's foreground group among the guest's (the host's stays tsemu's).
      const b = get(p, arg, 4);
      if (typeof b === "number") return b;
      const pgid = new DataView(b.buffer).getInt32(0, true);
      if (pgid < 0) return -Errno.EINVAL;
      if (pgid !== p.kernel.hostGroup && !p.kernel.group(pgid).some((q) => q.sid === p.sid)) return -Errno.EPERM;
      p.kernel.ttyForeground = pgid === p.kernel.hostGroup ? undefined : pgid;
      return 0;
    }
    case TIOCGSID: return putInt(p, arg, statField("self", 6) ?? p.pid);
    case TIOCOUTQ: return putInt(p, arg, 0);
    case TIOCSCTTY: case TIOCNOTTY: case TCSBRK: case TCXONC: case TCFLSH: return 0;
    default: return -Errno.ENOTTY;
  }
});

// ---- pipes ----

define(59, "pipe2", (p, _t, a) => {
  const addr = a.n(0);
  const flags = a.i32(1);
  const O_NOTIFICATION_PIPE = O_EXCL;
  if ((flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT | O_NOTIFICATION_PIPE)) !== 0) return -Errno.EINVAL;
  if (!p.as.check(addr, 8, Prot.WRITE)) return -Errno.EFAULT;
  const nonblock = (flags & O_NONBLOCK) !== 0;
  const ends = host(() => makePipe(nonblock));
  if (typeof ends === "number") return ends;
  const [r, w] = ends;
  const status = flags & (O_NONBLOCK | O_DIRECT);
  const rf = newOpenFile(r, undefined, O_RDONLY | status);
  const wf = newOpenFile(w, undefined, O_WRONLY | status);
  pipes.add(rf);
  pipes.add(wf);
  const cloexec = (flags & O_CLOEXEC) !== 0;
  const rfd = install(p, rf, cloexec);
  if (rfd < 0) {
    fs.closeSync(w);
    return rfd;
  }
  const wfd = install(p, wf, cloexec);
  if (wfd < 0) {
    closeFd(p, rfd);
    return wfd;
  }
  const { b, v } = struct(8);
  v.setInt32(0, rfd, true);
  v.setInt32(4, wfd, true);
  p.as.write(addr, b);
  return 0;
});

// ---- links and names ----

/** What readlink on /proc/self/fd/N shows for guest descriptor N. */
function fdLinkTarget(f: OpenFile): Uint8Array | number {
  const link = host(() => fs.readlinkSync(fdPath(f), { encoding: "buffer" }));
  // A pipe is a FIFO made by host/pipe.ts (possibly inherited from a forked parent).
  if (pipes.has(f) || (typeof link !== "number" && isPipeFifo(decoder.decode(link)))) {
    const st = fstatFile(f);
    return typeof st === "number" ? st : encoder.encode(`pipe:[${st.ino}]`);
  }
  return link;
}

define(78, "readlinkat", (p, _t, a) => {
  const dirfd = a.i32(0), buf = a.n(2), size = a.i32(3);
  if (size <= 0) return -Errno.EINVAL;
  const s = guestString(p, a.n(1));
  if (typeof s === "number") return s;
  let target: Uint8Array | number;
  const std = ["/dev/stdin", "/dev/stdout", "/dev/stderr"].indexOf(s);
  const pf = s.startsWith("/") ? procFdPath(p, s) : undefined;
  const exeOf = procExeOf(p, s);
  if (exeOf !== undefined) {
    target = encoder.encode(exeLink(exeOf));
  } else if (std >= 0) {
    target = encoder.encode(`/proc/self/fd/${std}`);
  } else if (pf !== undefined && pf.rest === "" && !pf.info) {
    const f = p.fds.get(pf.fd);
    target = f === undefined ? -Errno.ENOENT : fdLinkTarget(f);
  } else {
    const h = resolveAt(p, dirfd, s, true);
    if (typeof h === "number") return h;
    target = host(() => fs.readlinkSync(h, { encoding: "buffer" }));
  }
  if (typeof target === "number") return target;
  const n = Math.min(target.length, size);
  const r = put(p, buf, target.subarray(0, n));
  return r < 0 ? r : n;
});

define(34, "mkdirat", (p, _t, a) => {
  const h = pathArg(p, a.i32(0), a.n(1));
  if (typeof h === "number") return h;
  hostCwd.useUmask(p.umask);
  return ok(() => fs.mkdirSync(h, a.u32(2) & 0o7777));
});

define(33, "mknodat", (p, _t, a) => {
  const h = pathArg(p, a.i32(0), a.n(1));
  if (typeof h === "number") return h;
  const mode = a.u32(2);
  hostCwd.useUmask(p.umask);
  switch (mode & S_IFMT) {
    case 0: case S_IFREG: {
      const fd = host(() => fs.openSync(h, C.O_CREAT | C.O_EXCL | C.O_WRONLY, mode & 0o7777));
      if (fd < 0) return fd;
      fs.closeSync(fd);
      return 0;
    }
    case S_IFIFO: {
      return ok(() => makeFifo(h, mode & 0o7777 & ~p.umask));
    }
    case S_IFCHR: case S_IFBLK: case S_IFSOCK: return -Errno.EPERM;
    default: return -Errno.EINVAL;
  }
});

define(35, "unlinkat", (p, _t, a) => {
  const flags = a.i32(2);
  if ((flags & ~AT_REMOVEDIR) !== 0) return -Errno.EINVAL;
  const h = pathArg(p, a.i32(0), a.n(1));
  if (typeof h === "number") return h;
  return ok(() => ((flags & AT_REMOVEDIR) !== 0 ? fs.rmdirSync(h) : fs.unlinkSync(h)));
});

define(36, "symlinkat", (p, _t, a) => {
  const target = guestString(p, a.n(0));
  if (typeof target === "number") return target;
  if (target === "") return -Errno.ENOENT;
  const h = pathArg(p, a.i32(1), a.n(2));
  if (typeof h === "number") return h;
  return ok(() => fs.symlinkSync(target, h));
});

define(37, "linkat", (p, _t, a) => {
  const flags = a.i32(4);
  if ((flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) !== 0) return -Errno.EINVAL;
  const s = guestString(p, a.n(1));
  if (typeof s === "number") return s;
  let from: string | number;
  if (s === "" && (flags & AT_EMPTY_PATH) !== 0) {
    const f = file(p, a.i32(0));
    from = typeof f === "number" ? f : fdPath(f);
  } else {
    from = resolveAt(p, a.i32(0), s);
  }
  if (typeof from === "number") return from;
  const to = pathArg(p, a.i32(2), a.n(3));
  if (typeof to === "number") return to;
  const src = from;
  return ok(() => {
    const real = (flags & AT_SYMLINK_FOLLOW) !== 0 || src.startsWith("/proc/self/fd/") ? fs.realpathSync(src) : src;
    fs.linkSync(real, to);
  });
});

const RENAME_NOREPLACE = 1, RENAME_EXCHANGE = 2, RENAME_WHITEOUT = 4;

define(276, "renameat2", (p, _t, a) => {
  const flags = a.u32(4);
  if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) !== 0) return -Errno.EINVAL;
  if ((flags & RENAME_EXCHANGE) !== 0 && (flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)) !== 0) return -Errno.EINVAL;
  if ((flags & RENAME_WHITEOUT) !== 0) return -Errno.EINVAL;
  const from = pathArg(p, a.i32(0), a.n(1));
  if (typeof from === "number") return from;
  const to = pathArg(p, a.i32(2), a.n(3));
  if (typeof to === "number") return to;
  if ((flags & RENAME_EXCHANGE) !== 0) return ok(() => exchange(from, to, p.pid));
  return ok(() => {
    if ((flags & RENAME_NOREPLACE) !== 0 && fs.lstatSync(to, { throwIfNoEntry: false }) !== undefined) {
      throw Object.assign(new Error("exists"), { code: "EEXIST" });
    }
    fs.renameSync(from, to);
  });
});

/** RENAME_EXCHANGE: swap two names (through a temporary third name beside the first). */
function exchange(from: string, to: string, pid: number): void {
  fs.lstatSync(from);
  fs.lstatSync(to);
  const slash = from.lastIndexOf("/");
  const temp = `${from.slice(0, slash + 1)}.tsemu-exchange-${pid}-${Date.now()}`;
  fs.renameSync(from, temp);
  try {
    fs.renameSync(to, from);
  } catch (e) {
    fs.renameSync(temp, from);
    throw e;
  }
  fs.renameSync(temp, to);
}

// ---- working directory ----

define(17, "getcwd", (p, _t, a) => {
  const buf = a.n(0), size = a.n(1);
  const dir = host(() => hostCwd.cwd());
  if (typeof dir === "number") return dir;
  const bytes = encoder.encode(dir + "\0");
  if (size < bytes.length) return -Errno.ERANGE;
  const r = put(p, buf, bytes);
  return r < 0 ? r : bytes.length;
});

define(49, "chdir", (p, _t, a) => {
  const h = pathArg(p, AT_FDCWD, a.n(0));
  if (typeof h === "number") return h;
  return ok(() => { p.cwd = hostCwd.chdir(h); });
});

define(50, "fchdir", (p, _t, a) => {
  const f = file(p, a.i32(0));
  if (typeof f === "number") return f;
  if (!isDir(f)) return -Errno.ENOTDIR;
  return ok(() => { p.cwd = hostCwd.chdir(fs.realpathSync(fdPath(f))); });
});

// ---- sizes, syncing, times, permissions ----

define(46, "ftruncate", (p, _t, a) => {
  const f = file(p, a.i32(0));
  if (typeof f === "number") return f;
  const len = a.n(1);
  if (len < 0) return -Errno.EINVAL;
  return ok(() => fs.ftruncateSync(f.hostFd, len));
});

define(45, "truncate", (p, _t, a) => {
  const h = pathArg(p, AT_FDCWD, a.n(0));
  if (typeof h === "number") return h;
  const len = a.n(1);
  if (len < 0) return -Errno.EINVAL;
  return ok(() => fs.truncateSync(h, len));
});

define(47, "fallocate", (p, _t, a) => {
  const f = file(p, a.i32(0));
  if (typeof f === "number") return f;
  const mode = a.i32(1), offset = a.n(2), len = a.n(3);
  if (offset < 0 || len <= 0) return -Errno.EINVAL;
  if (mode !== 0) return -Errno.EOPNOTSUPP;
  if ((f.flags & O_ACCMODE) === O_RDONLY) return -Errno.EBADF;
  return ok(() => {
    const st = fs.fstatSync(f.hostFd);
    if (!st.isFile()) throw Object.assign(new Error("not a file"), { code: st.isFIFO() ? "ESPIPE" : "ENODEV" });
    if (offset + len > st.size) fs.ftruncateSync(f.hostFd, offset + len);
  });
});

function syncFd(p: Process, fd: number, data: boolean): number {
  const f = file(p, fd);
  if (typeof f === "number") return f;
  return ok(() => (data ? fs.fdatasyncSync(f.hostFd) : fs.fsyncSync(f.hostFd)));
}

/** fsync and fdatasync: on a host thread when they would hold up other guest threads (background-io.ts). */
function syncCall(p: Process, t: Thread, fd: number, data: boolean): SyscallResult {
  const f = p.fds.get(fd);
  return (f !== undefined ? syncWithoutWaiting(p, t, f, data) : undefined) ?? syncFd(p, fd, data);
}

define(82, "fsync", (p, t, a) => syncCall(p, t, a.i32(0), false));
define(83, "fdatasync", (p, t, a) => syncCall(p, t, a.i32(0), true));
define(81, "sync", () => 0);
define(267, "syncfs", (p, _t, a) => (p.fds.get(a.i32(0)) === undefined ? -Errno.EBADF : 0));
define(84, "sync_file_range", (p, _t, a) => {
  const f = file(p, a.i32(0));
  if (typeof f === "number") return f;
  if (a.n(1) < 0 || a.n(2) < 0 || (a.u32(3) & ~7) !== 0) return -Errno.EINVAL;
  return isFifo(f) ? -Errno.ESPIPE : 0;
});

const UTIME_NOW = (1 << 30) - 1, UTIME_OMIT = (1 << 30) - 2;

define(88, "utimensat", (p, _t, a) => {
  const dirfd = a.i32(0), pathAddr = a.n(1), timesAddr = a.n(2), flags = a.i32(3);
  if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) !== 0) return -Errno.EINVAL;
  const spec: TimeSpec[] = ["now", "now"];
  if (timesAddr !== 0) {
    const b = get(p, timesAddr, 32);
    if (typeof b === "number") return b;
    const v = new DataView(b.buffer);
    for (let i = 0; i < 2; i++) {
      const sec = v.getBigInt64(i * 16, true);
      const nsec = Number(v.getBigInt64(i * 16 + 8, true));
      if (nsec === UTIME_NOW) spec[i] = "now";
      else if (nsec === UTIME_OMIT) spec[i] = "omit";
      else if (nsec < 0 || nsec > 999999999) return -Errno.EINVAL;
      else spec[i] = sec * 1_000_000_000n + BigInt(nsec);
    }
    if (spec[0] === "omit" && spec[1] === "omit") return 0;
  }
  // The target: the path, or dirfd itself when path is NULL (futimens).
  let target: string;
  let nofollow = (flags & AT_SYMLINK_NOFOLLOW) !== 0;
  if (pathAddr === 0 || (flags & AT_EMPTY_PATH) !== 0 && guestString(p, pathAddr) === "") {
    if (dirfd === AT_FDCWD) return pathAddr === 0 ? -Errno.EFAULT : -Errno.ENOENT;
    const f = file(p, dirfd);
    if (typeof f === "number") return f;
    target = descriptorPath(f.hostFd);
    nofollow = false;
  } else {
    const h = pathArg(p, dirfd, pathAddr, true);
    if (typeof h === "number") return h;
    target = h;
  }
  return ok(() => setTimes(target, spec[0], spec[1], nofollow, Number(realtimeNs()) / 1e9));
});

define(52, "fchmod", (p, _t, a) => {
  const f = file(p, a.i32(0));
  if (typeof f === "number") return f;
  return ok(() => fs.fchmodSync(f.hostFd, a.u32(1) & 0o7777));
});

define(53, "fchmodat", (p, _t, a) => {
  const h = pathArg(p, a.i32(0), a.n(1));
  if (typeof h === "number") return h;
  return ok(() => fs.chmodSync(h, a.u32(2) & 0o7777));
});

/** A uid_t/gid_t argument for Node (-1 leaves it unchanged). */
const idArg = (v: number): number => (v === 0xffffffff ? -1 : v);

define(55, "fchown", (p, _t, a) => {
  const f = file(p, a.i32(0));
  if (typeof f === "number") return f;
  return ok(() => fs.fchownSync(f.hostFd, idArg(a.u32(1)), idArg(a.u32(2))));
});

define(54, "fchownat", (p, _t, a) => {
  const dirfd = a.i32(0), flags = a.i32(4);
  if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) !== 0) return -Errno.EINVAL;
  const s = guestString(p, a.n(1));
  if (typeof s === "number") return s;
  const uid = idArg(a.u32(2)), gid = idArg(a.u32(3));
  if (s === "" && (flags & AT_EMPTY_PATH) !== 0) {
    if (dirfd === AT_FDCWD) return ok(() => fs.chownSync(".", uid, gid));
    const f = file(p, dirfd);
    if (typeof f === "number") return f;
    return ok(() => fs.fchownSync(f.hostFd, uid, gid));
  }
  const h = resolveAt(p, dirfd, s);
  if (typeof h === "number") return h;
  return ok(() => ((flags & AT_SYMLINK_NOFOLLOW) !== 0 ? fs.lchownSync(h, uid, gid) : fs.chownSync(h, uid, gid)));
});

// ---- file systems ----

/** struct statfs (asm-generic, 64-bit: 120 bytes). */
function encodeStatfs(s: fs.BigIntStatsFs): Uint8Array {
  const { b, v } = struct(120);
  const ST_VALID = 0x20n;
  const words = [s.type, s.bsize, s.blocks, s.bfree, s.bavail, s.files, s.ffree];
  words.forEach((w, i) => v.setBigUint64(i * 8, BigInt.asUintN(64, w), true));
  v.setBigUint64(64, 255n, true); // f_namelen
  v.setBigUint64(72, BigInt.asUintN(64, s.bsize), true); // f_frsize
  v.setBigUint64(80, ST_VALID, true);
  return b;
}

define(43, "statfs", (p, _t, a) => {
  const h = pathArg(p, AT_FDCWD, a.n(0), true);
  if (typeof h === "number") return h;
  const s = host(() => fs.statfsSync(h, { bigint: true }));
  return typeof s === "number" ? s : put(p, a.n(1), encodeStatfs(s));
});

define(44, "fstatfs", (p, _t, a) => {
  const f = file(p, a.i32(0));
  if (typeof f === "number") return f;
  const s = host(() => fs.statfsSync(fdPath(f), { bigint: true }));
  return typeof s === "number" ? s : put(p, a.n(1), encodeStatfs(s));
});

// ---- copying between descriptors ----

const COPY_CHUNK = 1 << 16;
const MAX_RW = 0x7ffff000;

/** Write all of data to a host descriptor at its position (or at pos). */
function writeAll(hostFd: number, data: Uint8Array, pos: number | null): void {
  let done = 0;
  while (done < data.length) {
    try {
      done += fs.writeSync(hostFd, data, done, data.length - done, pos === null ? null : pos + done);
    } catch (e) {
      if ((e as { code?: string }).code !== "EAGAIN" || done === 0) throw e;
      sleepMs(5);
    }
  }
}

/** Copy up to count bytes; positions null mean the descriptors' own. Returns [copied, error]. */
function copy(inFd: number, outFd: number, count: number, inPos: number | null, outPos: number | null): [number, number] {
  const buf = new Uint8Array(Math.min(COPY_CHUNK, Math.max(count, 1)));
  let total = 0;
  while (total < count) {
    let n: number;
    try {
      n = fs.readSync(inFd, buf, 0, Math.min(buf.length, count - total), inPos === null ? null : inPos + total);
    } catch (e) {
      return [total, errnoFromHost(e)];
    }
    if (n === 0) break;
    try {
      writeAll(outFd, buf.subarray(0, n), outPos === null ? null : outPos + total);
    } catch (e) {
      return [total, errnoFromHost(e)];
    }
    total += n;
    if (n < buf.length) break;
  }
  return [total, 0];
}

function readOffset(p: Process, addr: number): number | undefined {
  if (addr === 0 || !p.as.check(addr, 8, Prot.READ | Prot.WRITE)) return undefined;
  return Number(BigInt.asIntN(64, p.as.readU64(addr)));
}

define(71, "sendfile", (p, t, a) => {
  const out = file(p, a.i32(0));
  if (typeof out === "number") return out;
  const inp = file(p, a.i32(1));
  if (typeof inp === "number") return inp;
  const offAddr = a.n(2);
  const count = Math.min(a.n(3), MAX_RW);
  if (count < 0) return -Errno.EINVAL;
  if ((out.flags & O_APPEND) !== 0) return -Errno.EINVAL;
  let pos: number | null = null;
  if (offAddr !== 0) {
    const o = readOffset(p, offAddr);
    if (o === undefined) return -Errno.EFAULT;
    if (o < 0) return -Errno.EINVAL;
    pos = o;
  }
  if (transferWaits(inp, out)) {
    // A regular file is read at explicit offsets (its own, unless the call gives one), moved after.
    const st = fstatFile(inp);
    const regular = typeof st !== "number" && (Number(st.mode) & S_IFMT) === S_IFREG;
    let base: number | null = null;
    if (regular && pos !== null) base = pos;
    else if (regular) {
      const at = lseek(p, a.i32(1), 0n, SEEK_CUR);
      if (typeof at === "number") return at;
      base = Number(at);
    }
    const r = transfer(p, t, inp, out, count, base);
    if (base !== null && typeof r === "number" && r > 0) {
      if (pos !== null) p.as.writeU64(offAddr, BigInt(base + r));
      else lseek(p, a.i32(1), BigInt(base + r), SEEK_SET);
    }
    return r;
  }
  const [n, err] = copy(inp.hostFd, out.hostFd, count, pos, null);
  if (pos !== null && n > 0) p.as.writeU64(offAddr, BigInt(pos + n));
  return n > 0 || err === 0 ? n : -err;
});

define(285, "copy_file_range", (p, _t, a) => {
  const inp = file(p, a.i32(0));
  if (typeof inp === "number") return inp;
  const out = file(p, a.i32(2));
  if (typeof out === "number") return out;
  const inAddr = a.n(1), outAddr = a.n(3);
  const count = Math.min(a.n(4), MAX_RW);
  if (a.u32(5) !== 0 || count < 0) return -Errno.EINVAL;
  if ((inp.flags & O_ACCMODE) === O_WRONLY || (out.flags & O_ACCMODE) === O_RDONLY) return -Errno.EBADF;
  if ((out.flags & O_APPEND) !== 0) return -Errno.EBADF;
  if (isDir(inp) || isDir(out)) return -Errno.EISDIR;
  let inPos: number | null = null, outPos: number | null = null;
  if (inAddr !== 0) {
    const o = readOffset(p, inAddr);
    if (o === undefined) return -Errno.EFAULT;
    inPos = o;
  }
  if (outAddr !== 0) {
    const o = readOffset(p, outAddr);
    if (o === undefined) return -Errno.EFAULT;
    outPos = o;
  }
  if ((inPos ?? 0) < 0 || (outPos ?? 0) < 0) return -Errno.EINVAL;
  // Copy at explicit offsets; a descriptor's own position is read first and moved after.
  const inStart = inPos === null ? lseek(p, a.i32(0), 0n, SEEK_CUR) : BigInt(inPos);
  if (typeof inStart === "number") return inStart;
  const outStart = outPos === null ? lseek(p, a.i32(2), 0n, SEEK_CUR) : BigInt(outPos);
  if (typeof outStart === "number") return outStart;
  const is = Number(inStart), os = Number(outStart);
  const [n, err] = copy(inp.hostFd, out.hostFd, count, is, os);
  if (n > 0) {
    if (inPos !== null) p.as.writeU64(inAddr, BigInt(is + n));
    else lseek(p, a.i32(0), BigInt(is + n), SEEK_SET);
    if (outPos !== null) p.as.writeU64(outAddr, BigInt(os + n));
    else lseek(p, a.i32(2), BigInt(os + n), SEEK_SET);
  }
  return n > 0 || err === 0 ? n : -err;
});

// ---- advice and locks (nothing to do beyond checking the descriptor) ----

define(213, "readahead", (p, _t, a) => {
  const f = file(p, a.i32(0));
  if (typeof f === "number") return f;
  const st = fstatFile(f);
  if (typeof st === "number") return st;
  return (Number(st.mode) & S_IFMT) === S_IFREG ? 0 : -Errno.EINVAL;
});

define(223, "fadvise64", (p, _t, a) => {
  const f = file(p, a.i32(0));
  if (typeof f === "number") return f;
  const advice = a.i32(3);
  if (a.n(2) < 0 || advice < 0 || advice > 5) return -Errno.EINVAL;
  if (isFifo(f)) return -Errno.ESPIPE;
  // The advice reaches the host's file (POSIX_FADV_DONTNEED drops its pages from the cache), as under
  // qemu-riscv64; riscv64 and the hosts Node runs on number the advice alike.
  const io = hostIo();
  return io === null || f.hostFd < 0 ? 0 : io.fadvise(f.hostFd, a.n(1), a.n(2), advice);
});

define(32, "flock", (p, _t, a) => {
  const f = file(p, a.i32(0));
  if (typeof f === "number") return f;
  const LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;
  const op = a.i32(1) & ~LOCK_NB;
  return op === LOCK_SH || op === LOCK_EX || op === LOCK_UN ? 0 : -Errno.EINVAL;
});
