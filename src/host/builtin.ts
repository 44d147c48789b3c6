/**
 * Node's built-in modules that only some runs use (host programs, sockets,
 * terminals, threads, V8's flags), each loaded when first asked for.  An
 * import at the top of a module is paid by every start: child_process, net,
 * tty, worker_threads and v8 (with the stream modules they pull in) took
 * about 10 ms of a 140 ms start of a user-mode hello world
 * (docs/performance.md, start-up).
 */
import { createRequire } from "node:module";
import type * as ChildProcess from "node:child_process";
import type * as Net from "node:net";
import type * as Tty from "node:tty";
import type * as V8 from "node:v8";
import type * as WorkerThreads from "node:worker_threads";

const load = createRequire(import.meta.url);

/** A getter of built-in `id`: loaded at the first call, the same module after (no require lookup per call). */
function lazy<T>(id: string): () => T {
  let m: T | undefined;
  return () => (m ??= load(id) as T);
}

export const childProcess = lazy<typeof ChildProcess>("node:child_process");
export const net = lazy<typeof Net>("node:net");
export const tty = lazy<typeof Tty>("node:tty");
export const v8 = lazy<typeof V8>("node:v8");
export const workerThreads = lazy<typeof WorkerThreads>("node:worker_threads");
