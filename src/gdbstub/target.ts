/**
 * What the protocol code (stub.ts) needs of a debugged machine or process.
 * The stub knows nothing of sockets, boards or processes: a target gives it
 * threads, registers, memory, breakpoints and run control, and tells it when
 * a resumed target stops.  Signal numbers here are GDB's (see signals.ts).
 */

/** Z/z packet types. */
export const enum PointType { SW_BREAK = 0, HW_BREAK = 1, WRITE_WATCH = 2, READ_WATCH = 3, ACCESS_WATCH = 4 }

/** Why a target stopped or ended. */
export type StopEvent =
  | {
    kind: "stopped";
    /** GDB thread id (from 1). */
    thread: number;
    signal: number;
    /** A watchpoint stop: which kind fired and the watched address. */
    watch?: { type: PointType; addr: bigint };
  }
  | { kind: "exited"; status: number }
  | { kind: "terminated"; signal: number };

/** A resume order (vCont, c, s and their signal forms). */
export interface ResumeRequest {
  /** Single-step `thread` (the other threads stay stopped, as QEMU's default single step) rather than continue all. */
  step: boolean;
  /** The thread that steps, or that a signal goes to; also the thread a Ctrl-C stop is reported in. */
  thread: number;
  /** A signal to deliver to `thread` as it resumes (0: none). */
  signal: number;
}

/** The XML documents of the target description, by annex name ("target.xml" first). */
export interface TargetDescription {
  readonly files: ReadonlyMap<string, string>;
  /** How many registers (from 0) the g and G packets carry. */
  readonly gRegisters: number;
}

export interface GdbTarget {
  /** The process id gdb sees (multiprocess thread ids are pPID.TID). */
  readonly pid: number;
  /** qAttached: "1" when gdb attached to something already running (a machine), "0" when the target was started for it. */
  readonly attached: boolean;
  readonly description: TargetDescription;
  /** Live thread ids, from 1, in gdb's order. */
  threads(): number[];
  /** A line for `info threads` (qThreadExtraInfo). */
  threadInfo?(thread: number): string;
  /** Little-endian bytes of register `regno` of `thread`; undefined when there is no such register. */
  readRegister(thread: number, regno: number): Uint8Array | undefined;
  writeRegister(thread: number, regno: number, value: Uint8Array): boolean;
  /** Memory at a virtual address as `thread` sees it now; undefined when any of it cannot be read. */
  readMemory(thread: number, addr: bigint, length: number): Uint8Array | undefined;
  writeMemory(thread: number, addr: bigint, data: Uint8Array): boolean;
  /** Insert a breakpoint or watchpoint; "unsupported" for a type the target does not have. */
  insertPoint(type: PointType, addr: bigint, kind: number): boolean | "unsupported";
  removePoint(type: PointType, addr: bigint, kind: number): boolean | "unsupported";
  /** Drop every breakpoint and watchpoint (a new debugger session starts clean). */
  removeAllPoints(): void;
  /** Start running; the target later calls GdbStub.stopped() (possibly before this returns). */
  resume(request: ResumeRequest): void;
  /** Ctrl-C while running: stop soon and report it (signal 2). */
  interrupt(): void;
  /** `k`: end the program or machine. */
  kill(): void;
  /** `D`: breakpoints are gone; let the target run on without a debugger. */
  detach(): void;
  /** qXfer:auxv:read (user mode). */
  auxv?(): Uint8Array;
  /** qOffsets reply, e.g. "Text=0;Data=0;Bss=0" (user mode). */
  offsets?(): string;
}
