/**
 * The gdbstub of the system emulator (-s, -S, -gdb tcp::PORT), as
 * qemu-system-riscv64's: one gdb thread per hart (ids from 1, process 1),
 * memory by virtual address through the selected hart's current translation
 * (debug-mmu.ts), the machine stopped while gdb looks at it.
 *
 * The CLI owns the run loop; this only asks it to pause and resume.  When gdb
 * connects the machine pauses (as QEMU stops the VM); a breakpoint or
 * watchpoint hit stops the loop at the end of the hart's instruction
 * (SystemLoop.stopRequested) and pauses it; continue resumes it; a single
 * step runs one instruction of one hart right away (SystemLoop.step), with
 * no interrupts and the other harts stopped, as QEMU's default step.  When gdb
 * detaches or disconnects, its breakpoints go and the machine runs on.
 */
import { Exit, type CpuDebug, type RiscvCpu } from "../target/riscv/cpu.js";
import type { PhysBus } from "../target/riscv/mmu.js";
import type { SystemLoop } from "../accel/system-loop.js";
import { listenGdb } from "../host/gdb-server.js";
import { DebugPoints, signedAddress, type Watchpoint } from "./debug-points.js";
import { debugAccess } from "./debug-mmu.js";
import { GdbStub, initialStop, type StubOptions } from "./stub.js";
import { GDB_SIGINT, GDB_SIGTRAP } from "./signals.js";
import { knownCsrs, readRegister, riscvDescription, writeRegister } from "./riscv-registers.js";
import type { GdbTarget, PointType, ResumeRequest, StopEvent, TargetDescription } from "./target.js";

export interface SystemGdbMachine {
  harts: RiscvCpu[];
  loop: SystemLoop;
  bus: PhysBus;
  /** Stop running the loop (the CLI stops calling loop.runUntil until resume()). */
  pause(): void;
  /** Run the loop again. */
  resume(): void;
  /** gdb killed the machine (k): end the emulator, as QEMU does with status 0. */
  quit(): void;
}

export interface SystemGdbOptions extends SystemGdbMachine {
  /** TCP port (0: any free one, see SystemGdb.listening). */
  port: number;
  /** Address to listen on; default loopback (127.0.0.1). */
  host?: string;
  /** -S: the machine is held until gdb continues it (the CLI should not run it before). */
  startPaused: boolean;
  /** The port could not be opened: the CLI reports it and exits. */
  error(message: string): void;
  stub?: StubOptions;
}

export interface SystemGdb {
  /** Resolves to the port once listening. */
  readonly listening: Promise<number>;
  close(): Promise<void>;
}

/** A gdb session's view of the machine: the GdbTarget, and the harts' CpuDebug while gdb is connected. */
export class SystemGdbTarget implements GdbTarget, CpuDebug {
  readonly pid = 1;
  readonly attached = true;
  readonly description: TargetDescription;
  private readonly csrs: ReadonlySet<number>;
  private readonly points: DebugPoints;
  private stub: GdbStub | undefined;
  /** Whether the CLI's loop is allowed to run. */
  private machineRunning: boolean;
  /** Set while SystemLoop.step runs a hart: its stop is reported by resume(). */
  private stepping = false;
  private stepWatch: Watchpoint | undefined;
  /** The thread a Ctrl-C stop is reported in. */
  private lastResumed = 1;

  constructor(private readonly m: SystemGdbMachine, startPaused: boolean) {
    const csrs = knownCsrs();
    this.csrs = new Set(csrs);
    this.description = riscvDescription(csrs);
    this.points = new DebugPoints(m.bus.ram);
    this.machineRunning = !startPaused;
    if (startPaused) m.pause();
  }

  /** A gdb connected: stop the machine and take hold of the harts.  Returns the session's byte handlers. */
  connect(send: (bytes: Uint8Array) => void, opts?: StubOptions): { data(bytes: Uint8Array): void; closed(): void } {
    this.halt();
    for (const cpu of this.m.harts) cpu.debug = this;
    const stub = new GdbStub(this, send, initialStop(1), opts);
    this.stub = stub;
    return {
      data: (bytes) => { if (this.stub === stub) stub.receive(bytes); },
      closed: () => { if (this.stub === stub) this.release(); },
    };
  }

  // ---- CpuDebug ----

  breakpointAt(pc: number): boolean {
    return this.points.breakpointAt(pc);
  }

  watchesPage(hi: number, lo: number): boolean {
    return this.points.watchesPage(hi, lo);
  }

  watchHit(cpu: RiscvCpu, hi: number, lo: number, size: number, write: boolean): boolean {
    return this.points.watchHit(cpu, hi, lo, size, write);
  }

  enter(_cpu: RiscvCpu, budget: number): number {
    this.points.running();
    return budget;
  }

  leave(cpu: RiscvCpu, exit: Exit): Exit {
    const wp = this.points.takeHit(cpu);
    if (exit === Exit.TRAP && wp !== undefined) exit = Exit.DEBUG;
    if (exit !== Exit.DEBUG) return exit;
    if (this.stepping) {
      this.stepWatch = wp;
      return exit;
    }
    const stub = this.stub;
    if (stub === undefined) return Exit.BUDGET; // (no session holds any breakpoint)
    // Stop the whole machine at the end of this hart's turn.
    this.halt();
    stub.stopped(this.stopAt(this.m.harts.indexOf(cpu) + 1, GDB_SIGTRAP, wp));
    return exit;
  }

  // ---- GdbTarget ----

  threads(): number[] {
    return this.m.harts.map((_, i) => i + 1);
  }

  threadInfo(thread: number): string {
    // As QEMU words it, trailing space and all.
    return `CPU#${thread - 1} [${this.m.harts[thread - 1].state.waiting ? "halted " : "running"}]`;
  }

  readRegister(thread: number, regno: number): Uint8Array | undefined {
    const cpu = this.m.harts[thread - 1];
    return cpu === undefined ? undefined : readRegister(cpu, regno, this.csrs);
  }

  writeRegister(thread: number, regno: number, value: Uint8Array): boolean {
    const cpu = this.m.harts[thread - 1];
    return cpu !== undefined && writeRegister(cpu, regno, value, this.csrs);
  }

  readMemory(thread: number, addr: bigint, length: number): Uint8Array | undefined {
    const cpu = this.m.harts[thread - 1];
    const out = new Uint8Array(length);
    return cpu !== undefined && debugAccess(cpu, this.m.bus, signedAddress(addr), out, false) ? out : undefined;
  }

  writeMemory(thread: number, addr: bigint, data: Uint8Array): boolean {
    const cpu = this.m.harts[thread - 1];
    return cpu !== undefined && debugAccess(cpu, this.m.bus, signedAddress(addr), data.slice(), true);
  }

  insertPoint(type: PointType, addr: bigint, kind: number): boolean {
    return this.points.insert(type, addr, kind);
  }

  removePoint(type: PointType, addr: bigint, kind: number): boolean {
    return this.points.remove(type, addr, kind);
  }

  removeAllPoints(): void {
    this.points.clear();
  }

  resume(request: ResumeRequest): void {
    this.lastResumed = request.thread;
    if (!request.step) {
      this.machineRunning = true;
      this.m.resume();
      return;
    }
    const hart = request.thread - 1;
    this.stepping = true;
    this.stepWatch = undefined;
    try {
      this.m.loop.step(hart);
    } finally {
      this.stepping = false;
    }
    this.stub?.stopped(this.stopAt(request.thread, GDB_SIGTRAP, this.stepWatch));
  }

  interrupt(): void {
    this.halt();
    this.stub?.stopped(this.stopAt(this.lastResumed, GDB_SIGINT));
  }

  kill(): void {
    this.release();
    this.m.quit();
  }

  detach(): void {
    this.release();
  }

  // ---- the session ----

  private stopAt(thread: number, signal: number, wp?: Watchpoint): StopEvent {
    return wp === undefined ? { kind: "stopped", thread, signal }
      : { kind: "stopped", thread, signal, watch: { type: wp.type, addr: wp.gdbAddr } };
  }

  private halt(): void {
    this.m.loop.stopRequested = true;
    if (!this.machineRunning) return;
    this.machineRunning = false;
    this.m.pause();
  }

  /** gdb is gone: no breakpoints, no hold on the harts, and the machine runs. */
  private release(): void {
    this.stub?.close();
    this.stub = undefined;
    this.points.clear();
    for (const cpu of this.m.harts) if (cpu.debug === this) cpu.debug = undefined;
    if (!this.machineRunning) {
      this.machineRunning = true;
      this.m.resume();
    }
  }
}

/** QEMU's -s: `-gdb tcp::1234`. */
export const DEFAULT_GDB_PORT = 1234;

/**
 * Where a -gdb argument says to listen: `tcp::PORT` (loopback here, where
 * QEMU takes every interface), `tcp:HOST:PORT`, or a bare PORT; QEMU's
 * `,server=on,wait=off`-style options after a comma are ignored.  Undefined
 * for anything else (unix sockets, stdio, none).
 */
export function parseGdbAddress(spec: string): { host: string; port: number } | undefined {
  const m = /^(?:tcp:([^:,]*):)?(\d+)(?:,.*)?$/.exec(spec);
  if (m === null) return undefined;
  const port = Number(m[2]);
  if (port < 0 || port > 65535) return undefined;
  const host = m[1] === undefined || m[1] === "" ? "127.0.0.1" : m[1];
  return { host, port };
}

/**
 * Start the gdbstub of a system emulator: listen on opts.host:opts.port
 * (one gdb at a time) and debug the machine's harts.
 *
 * The CLI calls it once the machine and its SystemLoop exist and before its
 * first turn, for -s (port 1234), -gdb DEV (parseGdbAddress) and -S
 * (startPaused).  pause() may be called at once (-S) and, later, from inside
 * loop.runUntil (a breakpoint) or from socket events; after it the CLI must
 * not start another turn until resume().  resume() must start exactly one
 * chain of turns (end an idle wait early, or schedule a turn if none is
 * pending).  quit() is gdb's kill; error() a port that cannot be opened.
 */
export function attachSystemGdb(opts: SystemGdbOptions): SystemGdb {
  const target = new SystemGdbTarget(opts, opts.startPaused);
  const listener = listenGdb({
    port: opts.port,
    host: opts.host,
    connected: (conn) => {
      const session = target.connect((b) => conn.write(b), opts.stub);
      return session;
    },
    error: (e) => opts.error(`gdbstub: cannot listen on ${opts.host ?? "127.0.0.1"}:${opts.port}: ${e.message}`),
  });
  return listener;
}
