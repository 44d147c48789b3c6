/**
 * System and process information and settings: uname, resource limits and
 * usage, sysinfo, getrandom, prctl, scheduling queries, personality,
 * process groups and sessions, groups and user/group ids.
 *
 * Values the host has are the host's (as QEMU passes them through); state
 * the guest changes that the host cannot (names, personality, ids, process
 * groups) is kept per process here.
 */
import { rusage } from "../cpu-time.js";
import { define } from "../syscall.js";
import { Errno } from "../errno.js";
import { Prot } from "../address-space.js";
import type { Process } from "../process.js";
import type { Thread } from "../thread.js";
import { fs, path, randomFillSync } from "../../../host/fs.js";
import { statField } from "../../../host/proc.js";
import * as system from "../../../host/system.js";

// ---- helpers ----

function struct(size: number): { b: Uint8Array; v: DataView } {
  const b = new Uint8Array(size);
  return { b, v: new DataView(b.buffer) };
}

function put(p: Process, addr: number, bytes: Uint8Array): number {
  if (!p.as.check(addr, bytes.length, Prot.WRITE)) return -Errno.EFAULT;
  p.as.write(addr, bytes);
  return 0;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

const encoder = new TextEncoder();
const RLIM_INFINITY = 0xffffffffffffffffn;

// ---- per-process state ----

interface Creds { ruid: number; euid: number; suid: number; fsuid: number; rgid: number; egid: number; sgid: number; fsgid: number }

interface ProcState {
  limits: { cur: bigint; max: bigint }[];
  personality: number;
  creds: Creds;
  membarrier: number;
  pdeathsig: number;
  dumpable: number;
  noNewPrivs: number;
  subreaper: number;
  timerslack: bigint;
  keepcaps: number;
  thpDisable: number;
}

const states = new WeakMap<Process, ProcState>();
const threadNames = new WeakMap<Thread, Uint8Array>();

const LIMIT_NAMES = [
  "Max cpu time", "Max file size", "Max data size", "Max stack size", "Max core file size",
  "Max resident set", "Max processes", "Max open files", "Max locked memory", "Max address space",
  "Max file locks", "Max pending signals", "Max msgqueue size", "Max nice priority",
  "Max realtime priority", "Max realtime timeout",
];
const RLIMIT_STACK = 3, RLIMIT_NOFILE = 7, RLIM_NLIMITS = 16;
/** The most descriptors a process may have (Linux's default fs.nr_open). */
const NR_OPEN = 1048576;

function hostLimits(): { cur: bigint; max: bigint }[] {
  const lines = (readText("/proc/self/limits") ?? "").split("\n");
  const num = (s: string | undefined): bigint => (s === undefined || s === "unlimited" ? RLIM_INFINITY : BigInt(s));
  return LIMIT_NAMES.map((name) => {
    const line = lines.find((l) => l.startsWith(name + " "));
    const fields = line?.slice(name.length).trim().split(/\s+/);
    if (fields === undefined || !/^(\d+|unlimited)$/.test(fields[0] ?? "")) {
      return { cur: RLIM_INFINITY, max: RLIM_INFINITY };
    }
    return { cur: num(fields[0]), max: num(fields[1]) };
  });
}

function state(p: Process): ProcState {
  let s = states.get(p);
  if (s === undefined) {
    const ids = system.ids();
    const limits = hostLimits();
    const nofile = limits[RLIMIT_NOFILE];
    const limit = BigInt(p.fds.limit);
    limits[RLIMIT_NOFILE] = { cur: limit, max: nofile.max > limit ? nofile.max : limit };
    s = {
      limits,
      personality: 0,
      creds: {
        ruid: ids.uid, euid: ids.euid, suid: ids.euid, fsuid: ids.euid,
        rgid: ids.gid, egid: ids.egid, sgid: ids.egid, fsgid: ids.egid,
      },
      membarrier: 0,
      pdeathsig: 0,
      dumpable: 1,
      noNewPrivs: 0,
      subreaper: 0,
      timerslack: 50000n,
      keepcaps: 0,
      thpDisable: 0,
    };
    states.set(p, s);
  }
  return s;
}

/**
 * fork: the child starts with the parent's limits, credentials and settings
 * (the parent-death signal is cleared, as in Linux).
 */
export function inheritProcessState(parent: Process, child: Process): void {
  const s = state(parent);
  states.set(child, { ...s, limits: s.limits.map((l) => ({ ...l })), creds: { ...s.creds }, pdeathsig: 0 });
}

const RLIMIT_NPROC = 6;

/**
 * How many processes the caller may have (RLIMIT_NPROC); as in Linux, the
 * limit does not bind the superuser.
 */
export function processLimit(p: Process): number {
  const s = state(p);
  if (s.creds.ruid === 0 || s.creds.euid === 0) return Infinity;
  const cur = s.limits[RLIMIT_NPROC].cur;
  return cur >= BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(cur);
}

/** The guest's user and group ids, as setuid and friends have left them. */
export function credentials(p: Process): Readonly<Creds> {
  return state(p).creds;
}

// ---- uname ----

define(160, "uname", (p, _t, a) => {
  const u = system.uname();
  const fields = [u.sysname, u.nodename, u.release, u.version, "riscv64", u.domainname];
  const b = new Uint8Array(65 * 6);
  fields.forEach((f, i) => b.set(encoder.encode(f).subarray(0, 64), i * 65));
  return put(p, a.n(0), b);
});

// ---- resource limits and usage ----

function readRlimit(p: Process, addr: number): { cur: bigint; max: bigint } | number {
  if (!p.as.check(addr, 16, Prot.READ)) return -Errno.EFAULT;
  return { cur: p.as.readU64(addr), max: p.as.readU64(addr + 8) };
}

function writeRlimit(p: Process, addr: number, l: { cur: bigint; max: bigint }): number {
  const { b, v } = struct(16);
  v.setBigUint64(0, l.cur, true);
  v.setBigUint64(8, l.max, true);
  return put(p, addr, b);
}

function setLimit(p: Process, resource: number, l: { cur: bigint; max: bigint }): number {
  const s = state(p);
  if (l.cur > l.max) return -Errno.EINVAL;
  const old = s.limits[resource];
  if (l.max > old.max && s.creds.euid !== 0) return -Errno.EPERM;
  if (resource === RLIMIT_NOFILE) {
    if (l.max > BigInt(NR_OPEN)) return -Errno.EPERM;
    p.fds.limit = Number(l.cur);
  }
  s.limits[resource] = { cur: l.cur, max: l.max };
  return 0;
}

define(163, "getrlimit", (p, _t, a) => {
  const r = a.u32(0);
  if (r >= RLIM_NLIMITS) return -Errno.EINVAL;
  return writeRlimit(p, a.n(1), state(p).limits[r]);
});

define(164, "setrlimit", (p, _t, a) => {
  const r = a.u32(0);
  if (r >= RLIM_NLIMITS) return -Errno.EINVAL;
  const l = readRlimit(p, a.n(1));
  return typeof l === "number" ? l : setLimit(p, r, l);
});

define(261, "prlimit64", (p, _t, a) => {
  const pid = a.i32(0), r = a.u32(1), newAddr = a.n(2), oldAddr = a.n(3);
  if (r >= RLIM_NLIMITS) return -Errno.EINVAL;
  if (pid !== 0 && pid !== p.pid && !p.threads.some((t) => t.tid === pid)) return -Errno.ESRCH;
  let next: { cur: bigint; max: bigint } | undefined;
  if (newAddr !== 0) {
    const l = readRlimit(p, newAddr);
    if (typeof l === "number") return l;
    next = l;
  }
  const old = { ...state(p).limits[r] };
  if (next !== undefined) {
    const e = setLimit(p, r, next);
    if (e < 0) return e;
  }
  return oldAddr !== 0 ? writeRlimit(p, oldAddr, old) : 0;
});

/** The stack limit the process runs with (RLIMIT_STACK's soft value). */
export function stackLimit(p: Process): bigint {
  return state(p).limits[RLIMIT_STACK].cur;
}

/**
 * getrusage: the CPU time and context switches (cpu-time.ts), the high-water
 * RSS and the page faults (all minor: pages touched or copied) of the process
 * or the thread (RSS and faults: its process's), or of the children reaped
 * (their largest RSS, the rest together); the other figures of the process or
 * thread are the host process's (tsemu's), those of the children 0.
 */
define(165, "getrusage", (p, t, a) => {
  const who = a.i32(0);
  const RUSAGE_SELF = 0, RUSAGE_CHILDREN = -1, RUSAGE_THREAD = 1;
  if (who !== RUSAGE_SELF && who !== RUSAGE_CHILDREN && who !== RUSAGE_THREAD) return -Errno.EINVAL;
  if (who === RUSAGE_CHILDREN) return put(p, a.n(1), rusage(p.childUsage));
  const u = system.resourceUsage();
  const host = [
    0, u.sharedMemorySize, u.unsharedDataSize, u.unsharedStackSize, 0, 0, u.swappedOut, u.fsRead, u.fsWrite,
    u.ipcSent, u.ipcReceived, u.signalsCount,
  ];
  const own = p.usage();
  // A thread's own CPU time and switches; its process's RSS and faults.
  return put(p, a.n(1), rusage(who === RUSAGE_THREAD ? { ...own, times: t.times, switches: t.switches } : own, host));
});

define(179, "sysinfo", (p, _t, a) => {
  const { b, v } = struct(112);
  const meminfo = readText("/proc/meminfo") ?? "";
  const mem = (key: string): bigint | undefined => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(meminfo);
    return m === null ? undefined : BigInt(m[1]) * 1024n;
  };
  const procs = /\d+\/(\d+)/.exec(readText("/proc/loadavg") ?? "");
  v.setBigInt64(0, BigInt(Math.floor(system.uptimeSeconds())), true);
  system.loadavg().forEach((l, i) => v.setBigUint64(8 + i * 8, BigInt(Math.round(l * 65536)), true));
  v.setBigUint64(32, mem("MemTotal") ?? BigInt(system.totalMemory()), true);
  v.setBigUint64(40, mem("MemFree") ?? BigInt(system.freeMemory()), true);
  v.setBigUint64(48, mem("Shmem") ?? 0n, true);
  v.setBigUint64(56, mem("Buffers") ?? 0n, true);
  v.setBigUint64(64, mem("SwapTotal") ?? 0n, true);
  v.setBigUint64(72, mem("SwapFree") ?? 0n, true);
  v.setUint16(80, Math.min(65535, procs === null ? 1 : Number(procs[1])), true);
  v.setUint32(104, 1, true);
  return put(p, a.n(0), b);
});

// ---- randomness ----

define(278, "getrandom", (p, _t, a) => {
  const GRND_NONBLOCK = 1, GRND_RANDOM = 2, GRND_INSECURE = 4;
  const buf = a.n(0), flags = a.u32(2);
  const len = Math.min(a.n(1), 0x7ffff000);
  if ((flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) !== 0) return -Errno.EINVAL;
  if ((flags & (GRND_RANDOM | GRND_INSECURE)) === (GRND_RANDOM | GRND_INSECURE)) return -Errno.EINVAL;
  if (len < 0) return -Errno.EINVAL;
  if (!p.as.check(buf, len, Prot.WRITE)) return -Errno.EFAULT;
  const CHUNK = 1 << 20;
  for (let done = 0; done < len; done += CHUNK) {
    const chunk = new Uint8Array(Math.min(CHUNK, len - done));
    randomFillSync(chunk);
    p.as.write(buf + done, chunk);
  }
  return len;
});

// ---- prctl ----

const PR_SET_PDEATHSIG = 1, PR_GET_PDEATHSIG = 2, PR_GET_DUMPABLE = 3, PR_SET_DUMPABLE = 4;
const PR_GET_KEEPCAPS = 7, PR_SET_KEEPCAPS = 8, PR_SET_NAME = 15, PR_GET_NAME = 16;
const PR_GET_SECCOMP = 21, PR_CAPBSET_READ = 23, PR_SET_TIMERSLACK = 29, PR_GET_TIMERSLACK = 30;
const PR_SET_CHILD_SUBREAPER = 36, PR_GET_CHILD_SUBREAPER = 37, PR_SET_NO_NEW_PRIVS = 38;
const PR_GET_NO_NEW_PRIVS = 39, PR_SET_THP_DISABLE = 41, PR_GET_THP_DISABLE = 42;
const CAP_LAST_CAP = 40;
const TASK_COMM_LEN = 16;

/** The thread's name (comm): the program's file name until PR_SET_NAME changes it. */
function threadName(p: Process, t: Thread): Uint8Array {
  let n = threadNames.get(t);
  if (n === undefined) {
    n = encoder.encode(path.basename(p.exePath)).subarray(0, TASK_COMM_LEN - 1);
    threadNames.set(t, n);
  }
  return n;
}

function putInt(p: Process, addr: number, value: number): number {
  const { b, v } = struct(4);
  v.setInt32(0, value, true);
  return put(p, addr, b);
}

define(167, "prctl", (p, t, a) => {
  const s = state(p);
  const option = a.i32(0);
  const arg2 = a.n(1);
  switch (option) {
    case PR_SET_NAME: {
      if (!p.as.check(arg2, 1, Prot.READ)) return -Errno.EFAULT;
      const raw = p.as.readCString(arg2, TASK_COMM_LEN) ?? p.as.read(arg2, TASK_COMM_LEN - 1);
      threadNames.set(t, raw.slice(0, TASK_COMM_LEN - 1));
      return 0;
    }
    case PR_GET_NAME: {
      const b = new Uint8Array(TASK_COMM_LEN);
      b.set(threadName(p, t));
      return put(p, arg2, b);
    }
    case PR_SET_PDEATHSIG:
      if (arg2 < 0 || arg2 > 64) return -Errno.EINVAL;
      s.pdeathsig = arg2;
      return 0;
    case PR_GET_PDEATHSIG: return putInt(p, arg2, s.pdeathsig);
    case PR_GET_DUMPABLE: return s.dumpable;
    case PR_SET_DUMPABLE:
      if (arg2 !== 0 && arg2 !== 1) return -Errno.EINVAL;
      s.dumpable = arg2;
      return 0;
    case PR_GET_KEEPCAPS: return s.keepcaps;
    case PR_SET_KEEPCAPS:
      if (arg2 !== 0 && arg2 !== 1) return -Errno.EINVAL;
      s.keepcaps = arg2;
      return 0;
    case PR_GET_SECCOMP: return 0;
    case PR_CAPBSET_READ: return arg2 >= 0 && arg2 <= CAP_LAST_CAP ? 1 : -Errno.EINVAL;
    case PR_SET_TIMERSLACK:
      s.timerslack = arg2 <= 0 ? 50000n : a.u(1);
      return 0;
    case PR_GET_TIMERSLACK: return s.timerslack;
    case PR_SET_CHILD_SUBREAPER: s.subreaper = arg2 !== 0 ? 1 : 0; return 0;
    case PR_GET_CHILD_SUBREAPER: return putInt(p, arg2, s.subreaper);
    case PR_SET_NO_NEW_PRIVS:
      if (arg2 !== 1 || a.n(2) !== 0 || a.n(3) !== 0 || a.n(4) !== 0) return -Errno.EINVAL;
      s.noNewPrivs = 1;
      return 0;
    case PR_GET_NO_NEW_PRIVS:
      if (arg2 !== 0 || a.n(2) !== 0 || a.n(3) !== 0 || a.n(4) !== 0) return -Errno.EINVAL;
      return s.noNewPrivs;
    case PR_SET_THP_DISABLE: s.thpDisable = arg2 !== 0 ? 1 : 0; return 0;
    case PR_GET_THP_DISABLE: return s.thpDisable;
    default:
      // Includes PR_SET_VMA, which a kernel built without CONFIG_ANON_VMA_NAME rejects.
      return -Errno.EINVAL;
  }
});

// ---- scheduling ----

/** The host's allowed-CPU mask, least significant byte first. */
function affinityMask(): Uint8Array {
  const m = /^Cpus_allowed:\s*([0-9a-f,]+)$/m.exec(readText("/proc/self/status") ?? "");
  const hex = m === null ? "" : m[1].replace(/,/g, "");
  if (hex === "") {
    const b = new Uint8Array(Math.ceil(system.cpuCount() / 8));
    for (let i = 0; i < system.cpuCount(); i++) b[i >> 3] |= 1 << (i & 7);
    return b;
  }
  const bytes = new Uint8Array(Math.ceil(hex.length / 2));
  for (let i = 0; i < bytes.length; i++) {
    const end = hex.length - i * 2;
    bytes[i] = parseInt(hex.slice(Math.max(0, end - 2), end), 16);
  }
  return bytes;
}

/** Bytes in the kernel's CPU mask (NR_CPUS bits, rounded to whole longs). */
function kernelMaskBytes(): number {
  const max = Number((readText("/sys/devices/system/cpu/kernel_max") ?? "").trim());
  const bits = Number.isFinite(max) && max > 0 ? max + 1 : 64;
  return Math.ceil(bits / 64) * 8;
}

function isSelf(p: Process, pid: number): boolean {
  return pid === 0 || pid === p.pid || p.threads.some((t) => t.tid === pid);
}

define(123, "sched_getaffinity", (p, _t, a) => {
  const pid = a.i32(0), len = a.n(1), addr = a.n(2);
  if (!isSelf(p, pid)) return -Errno.ESRCH;
  const mask = affinityMask();
  const possible = Number((readText("/sys/devices/system/cpu/possible") ?? "").trim().split("-").pop());
  const cpuIds = Number.isFinite(possible) ? possible + 1 : mask.length * 8;
  if (len * 8 < cpuIds || len % 8 !== 0) return -Errno.EINVAL;
  const size = Math.min(len, Math.max(kernelMaskBytes(), Math.ceil(mask.length / 8) * 8));
  const out = new Uint8Array(size);
  out.set(mask.subarray(0, size));
  const r = put(p, addr, out);
  return r < 0 ? r : size;
});

define(122, "sched_setaffinity", (p, _t, a) => {
  if (!isSelf(p, a.i32(0))) return -Errno.ESRCH;
  return p.as.check(a.n(2), a.n(1), Prot.READ) ? 0 : -Errno.EFAULT;
});

define(124, "sched_yield", () => 0);

define(120, "sched_getscheduler", (p, _t, a) => (isSelf(p, a.i32(0)) ? 0 : -Errno.ESRCH));
define(121, "sched_getparam", (p, _t, a) => (isSelf(p, a.i32(0)) ? putInt(p, a.n(1), 0) : -Errno.ESRCH));
define(125, "sched_get_priority_max", (_p, _t, a) => {
  const policy = a.i32(0);
  return policy === 1 || policy === 2 ? 99 : policy === 0 || policy === 3 || policy === 5 || policy === 6 ? 0 : -Errno.EINVAL;
});
define(126, "sched_get_priority_min", (_p, _t, a) => {
  const policy = a.i32(0);
  return policy === 1 || policy === 2 ? 1 : policy === 0 || policy === 3 || policy === 5 || policy === 6 ? 0 : -Errno.EINVAL;
});
define(141, "getpriority", (_p, _t, a) => {
  const which = a.i32(0);
  if (which < 0 || which > 2) return -Errno.EINVAL;
  return 20; // nice 0, in the kernel's 40 - (nice + 20) form
});
define(140, "setpriority", (_p, _t, a) => {
  const which = a.i32(0);
  if (which < 0 || which > 2) return -Errno.EINVAL;
  return 0;
});

define(168, "getcpu", (p, _t, a) => {
  for (const addr of [a.n(0), a.n(1)]) {
    if (addr !== 0) {
      const r = putInt(p, addr, 0);
      if (r < 0) return r;
    }
  }
  return 0;
});

const MEMBARRIER_SUPPORTED = 0x3ff;
const MEMBARRIER_GET_REGISTRATIONS = 512;

define(283, "membarrier", (p, _t, a) => {
  const cmd = a.i32(0), flags = a.i32(1);
  const s = state(p);
  const MEMBARRIER_CMD_FLAG_CPU = 1;
  if (cmd === 0) return flags === 0 ? MEMBARRIER_SUPPORTED : -Errno.EINVAL;
  if (flags !== 0 && !(cmd === 128 && flags === MEMBARRIER_CMD_FLAG_CPU)) return -Errno.EINVAL;
  switch (cmd) {
    case 1: case 2: return 0;
    case 4: case 16: case 64: case 256: s.membarrier |= cmd; return 0;
    case 8: case 32: case 128: return (s.membarrier & (cmd * 2)) !== 0 ? 0 : -Errno.EPERM;
    case MEMBARRIER_GET_REGISTRATIONS: return s.membarrier;
    default: return -Errno.EINVAL;
  }
});

// Not in the QEMU this emulator matches (glibc does without them).
define(293, "rseq", () => -Errno.ENOSYS);
define(258, "riscv_hwprobe", () => -Errno.ENOSYS);

define(92, "personality", (p, _t, a) => {
  const s = state(p);
  const old = s.personality;
  const persona = a.u32(0);
  if (persona !== 0xffffffff) s.personality = persona;
  return old;
});

// ---- process groups and sessions ----

/** A live guest process by pid (0: the caller), or undefined. */
function guestProcess(p: Process, pid: number): Process | undefined {
  if (pid === 0) return p;
  return p.kernel.processes.get(pid);
}

define(155, "getpgid", (p, _t, a) => {
  const pid = a.i32(0);
  if (pid < 0) return -Errno.ESRCH;
  const q = guestProcess(p, pid);
  if (q !== undefined) return q.pgid;
  return isSelf(p, pid) ? p.pgid : statField(pid, 5) ?? -Errno.ESRCH;
});

/**
 * setpgid: the caller or one of its children moves to group pgid (0: its
 * own pid), which must be its own pid or a group of the same session.
 */
define(154, "setpgid", (p, _t, a) => {
  const pid = a.i32(0), pgid = a.i32(1);
  if (pgid < 0) return -Errno.EINVAL;
  const q = guestProcess(p, pid);
  if (q === undefined || (q !== p && q.ppid !== p.pid)) return -Errno.ESRCH;
  if (q.sid !== p.sid) return -Errno.EPERM;
  if (q.sid === q.pid) return -Errno.EPERM; // a session leader cannot move
  const target = pgid === 0 ? q.pid : pgid;
  if (target !== q.pid && !p.kernel.group(target).some((x) => x.sid === p.sid)) return -Errno.EPERM;
  q.pgid = target;
  return 0;
});

define(156, "getsid", (p, _t, a) => {
  const pid = a.i32(0);
  if (pid < 0) return -Errno.ESRCH;
  const q = guestProcess(p, pid);
  if (q !== undefined) return q.sid;
  return isSelf(p, pid) ? p.sid : statField(pid, 6) ?? -Errno.ESRCH;
});

define(157, "setsid", (p) => {
  // A process group leader cannot start a session (its group would straddle two).
  if (p.pgid === p.pid || p.kernel.group(p.pid).length > 0) return -Errno.EPERM;
  p.pgid = p.pid;
  p.sid = p.pid;
  return p.pid;
});

// ---- groups and ids ----

define(158, "getgroups", (p, _t, a) => {
  const size = a.i32(0);
  const gs = system.groups();
  if (size < 0) return -Errno.EINVAL;
  if (size === 0) return gs.length;
  if (size < gs.length) return -Errno.EINVAL;
  const { b, v } = struct(gs.length * 4);
  gs.forEach((g, i) => v.setUint32(i * 4, g, true));
  const r = put(p, a.n(1), b);
  return r < 0 ? r : gs.length;
});

define(159, "setgroups", (p, _t, a) => {
  const size = a.i32(0);
  if (size < 0 || size > 65536) return -Errno.EINVAL;
  if (state(p).creds.euid !== 0) return -Errno.EPERM;
  return p.as.check(a.n(1), size * 4, Prot.READ) ? 0 : -Errno.EFAULT;
});

const UNCHANGED = 0xffffffff;

type Which = "uid" | "gid";

function ids(c: Creds, w: Which): [number, number, number] {
  return w === "uid" ? [c.ruid, c.euid, c.suid] : [c.rgid, c.egid, c.sgid];
}

function setIds(c: Creds, w: Which, r: number, e: number, s: number): void {
  if (w === "uid") {
    c.ruid = r; c.euid = e; c.suid = s; c.fsuid = e;
  } else {
    c.rgid = r; c.egid = e; c.sgid = s; c.fsgid = e;
  }
}

function setid(p: Process, w: Which, id: number): number {
  const c = state(p).creds;
  const [r, , s] = ids(c, w);
  if (c.euid === 0) setIds(c, w, id, id, id);
  else if (id === r || id === s) setIds(c, w, r, id, s);
  else return -Errno.EPERM;
  return 0;
}

function setreid(p: Process, w: Which, nr: number, ne: number): number {
  const c = state(p).creds;
  const [r, e, s] = ids(c, w);
  const priv = c.euid === 0;
  if (nr !== UNCHANGED && !priv && nr !== r && nr !== e) return -Errno.EPERM;
  if (ne !== UNCHANGED && !priv && ne !== r && ne !== e && ne !== s) return -Errno.EPERM;
  const newR = nr === UNCHANGED ? r : nr;
  const newE = ne === UNCHANGED ? e : ne;
  const newS = nr !== UNCHANGED || (ne !== UNCHANGED && ne !== r) ? newE : s;
  setIds(c, w, newR, newE, newS);
  return 0;
}

function setresid(p: Process, w: Which, nr: number, ne: number, ns: number): number {
  const c = state(p).creds;
  const cur = ids(c, w);
  const ok = (v: number): boolean => v === UNCHANGED || c.euid === 0 || cur.includes(v);
  if (!ok(nr) || !ok(ne) || !ok(ns)) return -Errno.EPERM;
  setIds(c, w, nr === UNCHANGED ? cur[0] : nr, ne === UNCHANGED ? cur[1] : ne, ns === UNCHANGED ? cur[2] : ns);
  return 0;
}

function getresid(p: Process, w: Which, addrs: number[]): number {
  const v = ids(state(p).creds, w);
  for (let i = 0; i < 3; i++) {
    const { b, v: dv } = struct(4);
    dv.setUint32(0, v[i], true);
    const r = put(p, addrs[i], b);
    if (r < 0) return r;
  }
  return 0;
}

define(146, "setuid", (p, _t, a) => setid(p, "uid", a.u32(0)));
define(144, "setgid", (p, _t, a) => setid(p, "gid", a.u32(0)));
define(145, "setreuid", (p, _t, a) => setreid(p, "uid", a.u32(0), a.u32(1)));
define(143, "setregid", (p, _t, a) => setreid(p, "gid", a.u32(0), a.u32(1)));
define(147, "setresuid", (p, _t, a) => setresid(p, "uid", a.u32(0), a.u32(1), a.u32(2)));
define(149, "setresgid", (p, _t, a) => setresid(p, "gid", a.u32(0), a.u32(1), a.u32(2)));
define(148, "getresuid", (p, _t, a) => getresid(p, "uid", [a.n(0), a.n(1), a.n(2)]));
define(150, "getresgid", (p, _t, a) => getresid(p, "gid", [a.n(0), a.n(1), a.n(2)]));

define(151, "setfsuid", (p, _t, a) => {
  const c = state(p).creds;
  const old = c.fsuid;
  const id = a.u32(0);
  if (c.euid === 0 || id === c.ruid || id === c.euid || id === c.suid || id === c.fsuid) c.fsuid = id;
  return old;
});

define(152, "setfsgid", (p, _t, a) => {
  const c = state(p).creds;
  const old = c.fsgid;
  const id = a.u32(0);
  if (c.euid === 0 || id === c.rgid || id === c.egid || id === c.sgid || id === c.fsgid) c.fsgid = id;
  return old;
});
