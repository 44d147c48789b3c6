/**
 * The gdbstub of user-mode emulation (tsemu-riscv64 -g PORT), as
 * qemu-riscv64's: the program waits for gdb before its first instruction,
 * and each guest thread is a gdb thread whose id is its Linux tid.
 *
 * The process runs its threads in a synchronous loop (user/linux/process.ts),
 * so a stop is served on the spot, from the harts' debug hooks: run() calls
 * leave() when a breakpoint, watchpoint, fault or finished single step ends
 * it, and this talks to gdb over a blocking channel until gdb resumes.
 * enter(), at the start of each run(), notices Ctrl-C (polled once per run,
 * so while every thread is blocked in a system call it waits for one to
 * wake), gives a single-stepping hart a budget of one instruction, and
 * reports a step that ended inside a system call.  A CPU exception stops
 * the thread with its signal, as QEMU reports signals; continuing passes it
 * on as gdb says.
 */
import { Exit, type CpuDebug, type RiscvCpu } from "../target/riscv/cpu.js";
import { DebugPoints, signedAddress } from "./debug-points.js";
import { GdbStub, initialStop, type StubOptions } from "./stub.js";
import { GDB_SIGINT, GDB_SIGTRAP, gdbSignal, linuxSignal } from "./signals.js";
import { knownCsrs, readRegister, riscvDescription, writeRegister } from "./riscv-registers.js";
import type { GdbTarget, PointType, ResumeRequest, StopEvent, TargetDescription } from "./target.js";

/** A byte connection to gdb that the emulator may block on (host/gdb-blocking.ts). */
export interface BlockingChannel {
  /** Bytes from gdb, waiting for them; null once the connection is closed. */
  read(): Uint8Array | null;
  /** Bytes from gdb if any have come (never waits); undefined when none; null once closed. */
  poll(): Uint8Array | null | undefined;
  write(bytes: Uint8Array): void;
  /** Send what is still queued, then close. */
  close(): void;
}

export interface UserThread {
  readonly tid: number;
  readonly cpu: RiscvCpu;
}

/** What the stub needs of the emulated process; the CLI adapts user/linux's Process to it. */
export interface UserProcess {
  readonly pid: number;
  /** The live threads, main thread first. */
  threads(): readonly UserThread[];
  /** Guest memory, or undefined when [addr, addr+len) is not all mapped readable. */
  read(addr: number, len: number): Uint8Array | undefined;
  /** Write guest memory (read-only mappings too, as a debugger may); false when not all mapped. */
  write(addr: number, data: Uint8Array): boolean;
  /** The Linux signal a CPU exception (its mcause) becomes. */
  signalFor(cause: number): number;
  /** Send Linux signal `signo` to thread `tid` (gdb's `signal` command). */
  sendSignal(tid: number, signo: number): void;
  /** The auxiliary vector the program started with (qXfer:auxv:read). */
  readonly auxv: Uint8Array;
}

export interface UserGdbHooks {
  /** gdb killed the program (k): end the emulator. */
  kill(): void;
}

/** How the process ended, as user/linux's Outcome. */
export type UserOutcome = { kind: "exit"; status: number } | { kind: "signal"; signo: number };

export class UserGdb implements GdbTarget, CpuDebug {
  readonly attached = false;
  readonly description: TargetDescription;
  private readonly csrs: ReadonlySet<number>;
  private readonly points: DebugPoints;
  private readonly stub: GdbStub;
  private connected = true;
  /** The hart gdb single-steps, and where it started. */
  private stepping: { cpu: RiscvCpu; pc: number; instret: number } | undefined;
  private interruptRequested = false;
  /** The signal (Linux number) gdb's last resume passes on. */
  private resumeSignal = 0;

  constructor(private readonly channel: BlockingChannel, private readonly proc: UserProcess,
    private readonly hooks: UserGdbHooks, stubOptions: StubOptions = {}) {
    const main = proc.threads()[0];
    const csrs = knownCsrs();
    this.csrs = new Set(csrs);
    this.description = riscvDescription(csrs);
    this.points = new DebugPoints(main.cpu.mem.ram);
    this.stub = new GdbStub(this, (b) => this.channel.write(b), initialStop(main.tid), stubOptions);
  }

  get pid(): number {
    return this.proc.pid;
  }

  /** Take hold of every thread and serve gdb until it first resumes the program. */
  start(): void {
    for (const t of this.proc.threads()) t.cpu.debug = this;
    this.serve();
    this.applyResumeSignal(this.proc.threads()[0], 0);
  }

  /** A thread's hart created after start (clone). */
  addCpu(cpu: RiscvCpu): void {
    if (this.connected) cpu.debug = this;
  }

  /** The program ended: tell gdb (W or X) and hang up. */
  exited(outcome: UserOutcome): void {
    if (!this.connected) return;
    const ev: StopEvent = outcome.kind === "exit" ? { kind: "exited", status: outcome.status }
      : { kind: "terminated", signal: gdbSignal(outcome.signo) };
    this.stub.stopped(ev);
    this.hangUp();
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

  enter(cpu: RiscvCpu, budget: number): number {
    if (!this.connected) return budget;
    const bytes = this.channel.poll();
    if (bytes === null) this.lost();
    else if (bytes !== undefined) this.stub.receive(bytes);
    if (this.interruptRequested) {
      this.interruptRequested = false;
      this.report(cpu, GDB_SIGINT);
    }
    const st = this.stepping;
    if (st !== undefined && st.cpu === cpu && (cpu.pc !== st.pc || cpu.instret !== st.instret)) {
      // The step ended in a system call (or a signal handler's entry).
      this.report(cpu, GDB_SIGTRAP);
    }
    // Last, after any session above: from here on this hart may decode code.
    this.points.running();
    return this.stepping !== undefined && this.stepping.cpu === cpu ? 1 : budget;
  }

  leave(cpu: RiscvCpu, exit: Exit): Exit {
    if (!this.connected) return exit;
    const wp = this.points.takeHit(cpu);
    if (exit === Exit.TRAP && wp !== undefined) {
      // Stopped before the access; gdb steps over it with its watchpoints out.
      this.report(cpu, GDB_SIGTRAP, { type: wp.type, addr: wp.gdbAddr });
      return Exit.BUDGET;
    }
    if (exit === Exit.DEBUG) {
      this.report(cpu, GDB_SIGTRAP);
      return Exit.BUDGET;
    }
    if (exit === Exit.TRAP) {
      const signo = this.proc.signalFor(cpu.trapCause);
      // Passed on: the process takes the fault's signal.  Not passed: the instruction runs again.
      return this.report(cpu, gdbSignal(signo), undefined, signo) ? Exit.TRAP : Exit.BUDGET;
    }
    const st = this.stepping;
    if (st !== undefined && st.cpu === cpu && exit === Exit.BUDGET && cpu.instret !== st.instret) {
      this.report(cpu, GDB_SIGTRAP);
    }
    return exit;
  }

  // ---- GdbTarget ----

  threads(): number[] {
    return this.proc.threads().map((t) => t.tid);
  }

  threadInfo(thread: number): string {
    // QEMU's words; its CPU index is the thread's place among the live ones.
    return `CPU#${Math.max(0, this.proc.threads().findIndex((t) => t.tid === thread))} [running]`;
  }

  readRegister(thread: number, regno: number): Uint8Array | undefined {
    const t = this.find(thread);
    return t === undefined ? undefined : readRegister(t.cpu, regno, this.csrs);
  }

  writeRegister(thread: number, regno: number, value: Uint8Array): boolean {
    const t = this.find(thread);
    return t !== undefined && writeRegister(t.cpu, regno, value, this.csrs);
  }

  readMemory(_thread: number, addr: bigint, length: number): Uint8Array | undefined {
    const a = signedAddress(addr);
    return a < 0 ? undefined : this.proc.read(a, length);
  }

  writeMemory(_thread: number, addr: bigint, data: Uint8Array): boolean {
    const a = signedAddress(addr);
    return a >= 0 && this.proc.write(a, data);
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
    const t = this.find(request.thread) ?? this.proc.threads()[0];
    this.resumeSignal = linuxSignal(request.signal);
    this.stepping = request.step ? { cpu: t.cpu, pc: t.cpu.pc, instret: t.cpu.instret } : undefined;
  }

  interrupt(): void {
    this.interruptRequested = true;
  }

  kill(): void {
    this.hangUp();
    this.hooks.kill();
  }

  detach(): void {
    this.release();
  }

  auxv(): Uint8Array {
    return this.proc.auxv;
  }

  offsets(): string {
    return "Text=0000000000000000;Data=0000000000000000;Bss=0000000000000000";
  }

  // ---- the session ----

  private find(tid: number): UserThread | undefined {
    return this.proc.threads().find((t) => t.tid === tid);
  }

  private threadOf(cpu: RiscvCpu): UserThread | undefined {
    return this.proc.threads().find((t) => t.cpu === cpu);
  }

  /**
   * Tell gdb `cpu`'s thread stopped, and serve it until it resumes.  For a
   * stop by a fault (Linux signal `fault`), returns whether gdb lets the
   * signal happen; a signal gdb adds otherwise is sent.
   */
  private report(cpu: RiscvCpu, signal: number, watch?: { type: PointType; addr: bigint }, fault = 0): boolean {
    this.stepping = undefined;
    const thread = this.threadOf(cpu);
    const tid = thread?.tid ?? this.proc.pid;
    this.stub.stopped(watch === undefined ? { kind: "stopped", thread: tid, signal }
      : { kind: "stopped", thread: tid, signal, watch });
    this.serve();
    return this.applyResumeSignal(thread, fault);
  }

  private serve(): void {
    while (this.connected && !this.stub.isRunning()) {
      const bytes = this.channel.read();
      if (bytes === null) { this.lost(); return; }
      this.stub.receive(bytes);
    }
  }

  /**
   * After a resume: whether the signal gdb passes is `fault` (the one the
   * thread stopped with, which the caller lets happen); any other is sent.
   */
  private applyResumeSignal(thread: UserThread | undefined, fault: number): boolean {
    const s = this.resumeSignal;
    this.resumeSignal = 0;
    if (s === 0 || !this.connected) return !this.connected && fault !== 0;
    if (s === fault) return true;
    if (thread !== undefined) this.proc.sendSignal(thread.tid, s);
    return false;
  }

  /** The connection closed without a detach: run on without a debugger, as QEMU does. */
  private lost(): void {
    this.stub.close();
    this.release();
  }

  private release(): void {
    if (!this.connected) return;
    this.points.clear();
    this.stepping = undefined;
    for (const t of this.proc.threads()) if (t.cpu.debug === this) t.cpu.debug = undefined;
    this.hangUp();
  }

  private hangUp(): void {
    this.connected = false;
    this.channel.close();
  }
}

/**
 * The auxiliary vector from a new process's initial stack: argc, argv[],
 * NULL, envp[], NULL, then (type, value) pairs up to AT_NULL.
 */
export function readAuxv(read: (addr: number, len: number) => Uint8Array | undefined, sp: number): Uint8Array {
  const word = (a: number): number => {
    const b = read(a, 8);
    if (b === undefined) return -1;
    return Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true));
  };
  let a = sp + 8 * (word(sp) + 2); // past argc, argv[] and its NULL
  for (let n = 0; n < 4096 && word(a) > 0; n++) a += 8; // envp[]
  const start = a + 8;
  let end = start;
  for (let n = 0; n < 64; n++, end += 16) {
    const type = word(end);
    if (type <= 0) { end += 16; break; }
  }
  return read(start, end - start) ?? new Uint8Array(0);
}
