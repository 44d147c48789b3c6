/**
 * process.exit without the wait at the end.  Node's exit shuts its platform
 * down, which waits for the background tasks in flight; after a short guest
 * program those are TurboFan compiling the interpreter's large functions,
 * 50-100 ms of work whose code will never run (docs/performance.md, start-up).
 * native/fast-exit.c ends the process with _exit once the 'exit' listeners
 * have run.  Without the native module, or when a Node option or variable
 * asks for something to be written at exit (profiles, coverage, reports),
 * this is plain process.exit.
 */
import { nativeModule, nodeOptions } from "./native.js";

interface FastExitModule {
  exit(status: number): never;
}

/** Options and variables under which Node writes files after the 'exit' listeners. */
const WRITES_AT_EXIT = /^--(cpu-prof|heap-prof|prof|trace-event|diagnostic-dir|report-on-exit|redirect-warnings)/;

function writesAtExit(): boolean {
  if (process.env.NODE_V8_COVERAGE !== undefined) return true;
  return nodeOptions().some((o) => WRITES_AT_EXIT.test(o));
}

/** End the process with `status`, running the 'exit' listeners first as process.exit does. */
export function exitProcess(status: number): never {
  // Only where Node writes its standard streams at once (on Linux, pipes too); elsewhere a pipe's writes may still be queued.
  const m = process.platform !== "linux" || writesAtExit() ? null : nativeModule<FastExitModule>("fast-exit");
  // Added last, so every other listener has run by then.
  if (m !== null) process.once("exit", (code) => m.exit(code));
  process.exit(status);
}
