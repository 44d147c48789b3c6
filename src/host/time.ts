/**
 * Host clocks and sleeping.  The monotonic clock is the host's
 * CLOCK_MONOTONIC (process.hrtime).  Node's wall clock (Date.now) has only
 * millisecond resolution, so the real-time clock is the monotonic clock plus
 * an offset measured at a millisecond boundary of Date.now, re-measured
 * whenever the wall clock is seen to step away from it.
 */

export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

let offset: bigint | undefined;

function calibrate(): bigint {
  const start = Date.now();
  let ms = Date.now();
  while (ms === start) ms = Date.now();
  offset = BigInt(ms) * 1_000_000n - process.hrtime.bigint();
  return offset;
}

/** Nanoseconds since the epoch. */
export function realtimeNs(): bigint {
  const off = offset ?? calibrate();
  const est = process.hrtime.bigint() + off;
  const wall = BigInt(Date.now()) * 1_000_000n;
  if (est < wall - 1_000_000n || est > wall + 2_000_000n) return process.hrtime.bigint() + calibrate();
  return est;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Block the thread for ns nanoseconds without spinning. */
export function sleepNs(ns: bigint): void {
  const end = process.hrtime.bigint() + ns;
  for (;;) {
    const left = end - process.hrtime.bigint();
    if (left <= 0n) return;
    Atomics.wait(sleeper, 0, 0, Number(left) / 1e6);
  }
}

/**
 * The monotonic clock in milliseconds (CLOCK_MONOTONIC's own scale): the
 * scale of the user-mode threads' deadlines, so that a guest's absolute
 * CLOCK_MONOTONIC time is a deadline as it is.  Not performance.now(), whose
 * first use loads Node's perf_hooks, a few milliseconds of every start.
 */
export function nowMs(): number {
  const t = process.hrtime();
  return t[0] * 1e3 + t[1] / 1e6;
}
