/**
 * The messages between the page and the worker that runs the machine: the
 * only way the two talk.  Both sides import these types, so a message one
 * side sends is a message the other side's switch handles.
 */

/** Where the guest's images come from (URLs, relative to the page). */
export interface GuestUrls {
  firmware: string;
  kernel: string;
  initrd: string;
  /** A raw disk image read through HTTP range requests (/dev/vda), if any. */
  disk?: string;
}

/** What the page asks for when it starts a machine. */
export interface StartRequest {
  urls: GuestUrls;
  /** RAM as -m takes it ("256M"). */
  memory: string;
  /** -smp */
  cpus: number;
  /** The kernel command line. */
  append: string;
  /** Keep the disk's writes in the origin-private file system, under this name. */
  persistDisk?: string;
  /** -accel: the interpreter, or the translator (hot guest code compiled to WebAssembly in the worker). */
  accel: "interp" | "tcg";
}

export type PageToWorker =
  | { type: "start"; request: StartRequest }
  /** Bytes typed on the terminal, for the guest's serial port. */
  | { type: "input"; data: string }
  /** A hard reset of the running machine (the Reset button, QMP system_reset). */
  | { type: "reset" }
  /** Power the machine off (QMP quit): the worker's machine ends. */
  | { type: "powerOff" };

/** The machine's run state, in QMP's words, plus the worker's own states before a machine exists. */
export type RunState = "idle" | "loading" | "running" | "paused" | "shutdown" | "error";

export type WorkerToPage =
  /** The worker is up and has installed its error handlers. */
  | { type: "ready" }
  /** Bytes of a guest image arrived: `total` is 0 when the server sent no length. */
  | { type: "progress"; file: string; loaded: number; total: number }
  /** Bytes the guest wrote to its serial port. */
  | { type: "console"; data: Uint8Array }
  | { type: "state"; state: RunState; detail?: string }
  /**
   * Once a second while running: guest instructions retired, the rate over
   * the last interval, the engine, and the guest blocks it has compiled.
   */
  | { type: "stats"; instructions: number; mips: number; accel: "interp" | "tcg"; blocks: number }
  /** The guest reset itself or was reset. */
  | { type: "reset" }
  /** The machine ended (guest poweroff or a powerOff request) with this status. */
  | { type: "exited"; status: number }
  /** Something failed inside the worker: the page shows it, and the tests fail on it. */
  | { type: "error"; message: string; stack?: string };
