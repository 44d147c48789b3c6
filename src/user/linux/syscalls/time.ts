/**
 * Time: clock_gettime, clock_getres, gettimeofday, nanosleep,
 * clock_nanosleep, times.  (riscv64 has no time(2); glibc uses clock_gettime.)
 */
import { define, NO_RESULT } from "../syscall.js";
import type { Thread } from "../thread.js";
import { Errno } from "../errno.js";
import { Prot } from "../address-space.js";
import type { Process } from "../process.js";
import { monotonicNs, nowMs, realtimeNs } from "../../../host/time.js";
import { nanoseconds, ticks, USER_HZ, type CpuTimes } from "../cpu-time.js";

export const CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1, CLOCK_PROCESS_CPUTIME_ID = 2, CLOCK_THREAD_CPUTIME_ID = 3;
export const CLOCK_MONOTONIC_RAW = 4, CLOCK_REALTIME_COARSE = 5, CLOCK_MONOTONIC_COARSE = 6, CLOCK_BOOTTIME = 7;
export const CLOCK_REALTIME_ALARM = 8, CLOCK_BOOTTIME_ALARM = 9, CLOCK_TAI = 11;
const TIMER_ABSTIME = 1;
const NS = 1_000_000_000n;
/** The coarse clocks advance once per kernel tick (4 ms at HZ=250). */
const COARSE_NS = 4_000_000n;

type ClockKind = "real" | "mono" | "cpu" | "thread-cpu" | "real-coarse" | "mono-coarse" | "mono-raw" | "boot" | "tai";

/** What a clock id names; undefined for an invalid id. */
function clockKind(p: Process, id: number): ClockKind | undefined {
  switch (id) {
    case CLOCK_REALTIME: return "real";
    case CLOCK_MONOTONIC: return "mono";
    case CLOCK_PROCESS_CPUTIME_ID: return "cpu";
    case CLOCK_THREAD_CPUTIME_ID: return "thread-cpu";
    case CLOCK_MONOTONIC_RAW: return "mono-raw";
    case CLOCK_REALTIME_COARSE: return "real-coarse";
    case CLOCK_MONOTONIC_COARSE: return "mono-coarse";
    case CLOCK_BOOTTIME: return "boot";
    case CLOCK_TAI: return "tai";
  }
  if (id < 0) {
    // CPU-time clocks of a process or thread: ~pid << 3 | per-thread bit | clock type.
    if ((id & 7) === 3 || (id & 3) === 3) return undefined;
    const pid = clockPid(id);
    const perThread = (id & 4) !== 0;
    if (pid === 0 || pid === p.pid || p.threads.some((t) => t.tid === pid)) return perThread ? "thread-cpu" : "cpu";
  }
  return undefined;
}

/** The pid or tid a CPU-time clock id (clock_getcpuclockid's, below zero) names; 0: the caller. */
function clockPid(id: number): number {
  return id < 0 ? ~(id >> 3) : 0;
}

/** The reading of a clock of process p (its CPU time, or thread t's: cpu-time.ts). */
function now(kind: ClockKind, p: Process, t: Thread): bigint {
  switch (kind) {
    case "real": case "tai": return realtimeNs();
    case "real-coarse": return realtimeNs() / COARSE_NS * COARSE_NS;
    case "mono-coarse": return monotonicNs() / COARSE_NS * COARSE_NS;
    case "cpu": return cpuNs(p.cpuTimes());
    case "thread-cpu": return cpuNs(t.times);
    default: return monotonicNs();
  }
}

function cpuNs(times: CpuTimes): bigint {
  return nanoseconds(times.user + times.system);
}

export function writeTimespec(p: Process, addr: number, ns: bigint): number {
  if (!p.as.check(addr, 16, Prot.WRITE)) return -Errno.EFAULT;
  p.as.writeU64(addr, ns / NS);
  p.as.writeU64(addr + 8, ns % NS);
  return 0;
}

/** Read a struct timespec as nanoseconds, or a negative errno (EINVAL for a bad one). */
export function readTimespec(p: Process, addr: number): bigint | number {
  if (!p.as.check(addr, 16, Prot.READ)) return -Errno.EFAULT;
  const sec = BigInt.asIntN(64, p.as.readU64(addr));
  const nsec = BigInt.asIntN(64, p.as.readU64(addr + 8));
  if (sec < 0n || nsec < 0n || nsec >= NS) return -Errno.EINVAL;
  return sec * NS + nsec;
}

define(113, "clock_gettime", (p, t, a) => {
  const id = a.i32(0);
  const kind = clockKind(p, id);
  if (kind === undefined) return -Errno.EINVAL;
  // Another thread's clock (pthread_getcpuclockid's ids name a thread by its tid).
  const tid = kind === "thread-cpu" ? clockPid(id) : 0;
  const of = p.threads.find((x) => x.tid === tid) ?? t;
  return writeTimespec(p, a.n(1), now(kind, p, of));
});

define(114, "clock_getres", (p, _t, a) => {
  const kind = clockKind(p, a.i32(0));
  if (kind === undefined) return -Errno.EINVAL;
  const addr = a.n(1);
  if (addr === 0) return 0;
  return writeTimespec(p, addr, kind === "real-coarse" || kind === "mono-coarse" ? COARSE_NS : 1n);
});

define(169, "gettimeofday", (p, _t, a) => {
  const tv = a.n(0), tz = a.n(1);
  if (tv !== 0) {
    if (!p.as.check(tv, 16, Prot.WRITE)) return -Errno.EFAULT;
    const t = realtimeNs();
    p.as.writeU64(tv, t / NS);
    p.as.writeU64(tv + 8, (t % NS) / 1000n);
  }
  if (tz !== 0) {
    if (!p.as.check(tz, 8, Prot.WRITE)) return -Errno.EFAULT;
    p.as.writeU64(tz, 0n);
  }
  return 0;
});

/**
 * Sleep through the scheduler, not the host: other guest threads, timers and
 * signals go on meanwhile; a handled signal ends the sleep with EINTR.
 */
function sleepFor(t: Thread, ns: bigint): typeof NO_RESULT | number {
  if (ns <= 0n) return 0;
  t.wait = { kind: "pause", addr: 0, bitset: 0, deadline: nowMs() + Number(ns) / 1e6 };
  t.onTimeout = 0;
  return NO_RESULT;
}

define(101, "nanosleep", (p, t, a) => {
  const req = readTimespec(p, a.n(0));
  if (typeof req === "number") return req;
  return sleepFor(t, req);
});

define(115, "clock_nanosleep", (p, t, a) => {
  const id = a.i32(0);
  const flags = a.i32(1);
  const kind = clockKind(p, id);
  if (kind === undefined) return -Errno.EINVAL;
  if (kind === "thread-cpu") return -Errno.EINVAL;
  if (kind === "real-coarse" || kind === "mono-coarse" || kind === "mono-raw") return -Errno.EOPNOTSUPP;
  const req = readTimespec(p, a.n(2));
  if (typeof req === "number") return req;
  if ((flags & TIMER_ABSTIME) !== 0) {
    if (kind === "cpu") return 0; // sleeping uses no CPU time: nothing would ever wake it but a signal
    return sleepFor(t, req - now(kind, p, t));
  }
  return sleepFor(t, req);
});

define(153, "times", (p, _t, a) => {
  const addr = a.n(0);
  if (addr !== 0) {
    if (!p.as.check(addr, 32, Prot.WRITE)) return -Errno.EFAULT;
    const own = p.cpuTimes(), children = p.childUsage.times;
    p.as.writeU64(addr, BigInt(ticks(own.user)));
    p.as.writeU64(addr + 8, BigInt(ticks(own.system)));
    p.as.writeU64(addr + 16, BigInt(ticks(children.user)));
    p.as.writeU64(addr + 24, BigInt(ticks(children.system)));
  }
  return monotonicNs() / (NS / BigInt(USER_HZ));
});
