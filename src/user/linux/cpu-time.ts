/**
 * CPU time of guest threads and processes.  Every guest process runs in one
 * host process, whose CPU time is theirs together, so the scheduler measures
 * each turn of a thread instead (Process.turn): its guest code as user time,
 * the system call or fault that ended the turn as system time; a parked
 * thread uses none.  A process keeps what its threads that are gone used,
 * and what the children it reaped used (with their own reaped children), as
 * Linux keeps them for getrusage, times, wait4 and /proc/PID/stat.
 */

/** CPU time in milliseconds. */
export interface CpuTimes { user: number; system: number }

/** Clock ticks per second of times() and /proc/PID/stat (USER_HZ). */
export const USER_HZ = 100;

/** struct rusage on riscv64: two timevals, then fourteen longs. */
export const RUSAGE_SIZE = 144;

export function noTimes(): CpuTimes {
  return { user: 0, system: 0 };
}

/** Add `t` to `to`. */
export function addTimes(to: CpuTimes, t: CpuTimes): void {
  to.user += t.user;
  to.system += t.system;
}

/**
 * Context switches, as the scheduler sees them: voluntary when a thread
 * blocks in a system call, involuntary when its turn ends on its budget while
 * another guest thread could run (getrusage's ru_nvcsw and ru_nivcsw).
 */
export interface Switches { voluntary: number; involuntary: number }

export function noSwitches(): Switches {
  return { voluntary: 0, involuntary: 0 };
}

/** Add `s` to `to`. */
export function addSwitches(to: Switches, s: Switches): void {
  to.voluntary += s.voluntary;
  to.involuntary += s.involuntary;
}

/** Milliseconds as clock ticks. */
export function ticks(ms: number): number {
  return Math.floor(ms * USER_HZ / 1000);
}

/** Milliseconds as nanoseconds (a clock's reading). */
export function nanoseconds(ms: number): bigint {
  return BigInt(Math.floor(ms * 1e6));
}

/**
 * What getrusage, wait4 and waitid report of a process, or of the children
 * it reaped: CPU time, high-water RSS (KiB), minor page faults, context
 * switches.
 */
export interface Usage { times: CpuTimes; maxRssKiB: number; minorFaults: number; switches: Switches }

export function noUsage(): Usage {
  return { times: noTimes(), maxRssKiB: 0, minorFaults: 0, switches: noSwitches() };
}

/** Add `u` to `to` as Linux adds a reaped child's to its parent's children's: the larger RSS, the rest summed. */
export function addUsage(to: Usage, u: Usage): void {
  addTimes(to.times, u.times);
  to.maxRssKiB = Math.max(to.maxRssKiB, u.maxRssKiB);
  to.minorFaults += u.minorFaults;
  addSwitches(to.switches, u.switches);
}

/**
 * A struct rusage of `u`; the fields it has no figure for (integral sizes,
 * swaps, block I/O, messages, signals) from `other` (the host process's, in
 * getrusage's order after the two timevals) or 0.  ru_majflt is 0.
 */
export function rusage(u: Usage, other?: readonly number[]): Uint8Array {
  const b = new Uint8Array(RUSAGE_SIZE);
  const v = new DataView(b.buffer);
  const timeval = (off: number, ms: number): void => {
    const us = Math.floor(ms * 1000);
    v.setBigInt64(off, BigInt(Math.floor(us / 1e6)), true);
    v.setBigInt64(off + 8, BigInt(us % 1e6), true);
  };
  timeval(0, u.times.user);
  timeval(16, u.times.system);
  const longs = other?.slice() ?? [];
  longs[0] = u.maxRssKiB;
  longs[4] = u.minorFaults;
  longs[5] = 0;
  longs[12] = u.switches.voluntary;
  longs[13] = u.switches.involuntary;
  for (let i = 0; i < 14; i++) v.setBigInt64(32 + i * 8, BigInt(Math.floor(longs[i] ?? 0)), true);
  return b;
}
