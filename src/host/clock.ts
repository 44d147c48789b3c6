/** Host clocks: CLOCK_MONOTONIC as the guest sees it, on the same scale as performance.now(). */

/** The host's CLOCK_MONOTONIC in milliseconds. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Convert a CLOCK_MONOTONIC time in ms to the performance.now() scale that thread deadlines use. */
export function monotonicToDeadline(ms: number): number {
  return ms - (monotonicMs() - performance.now());
}
