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

export const childProcess = (): typeof ChildProcess => load("node:child_process") as typeof ChildProcess;
export const net = (): typeof Net => load("node:net") as typeof Net;
export const tty = (): typeof Tty => load("node:tty") as typeof Tty;
export const v8 = (): typeof V8 => load("node:v8") as typeof V8;
export const workerThreads = (): typeof WorkerThreads => load("node:worker_threads") as typeof WorkerThreads;
