/**
 * A host program that a guest process exec'd (qemu-riscv64's pass-through
 * execve), run without stopping the other guest processes of the run.  The
 * native module (native/host-spawn.c) starts it with posix_spawn and tells
 * how it ended, and what it used, with wait4(WNOHANG).  Without it, a worker
 * thread (one for the run, started on first use: starting a worker costs tens
 * of milliseconds) starts it with Node's spawn and waits for its end in its
 * own event loop, and leaves its pid and then how it ended in shared memory
 * (Node does not tell what the program used).
 * Either way the emulator's thread looks between turns of the guest (it
 * never gives up its loop to Node's): the guest's process waits in the
 * scheduler meanwhile; a signal sent to it goes to the host program.
 */
import * as fs from "node:fs";
import type { Worker } from "node:worker_threads";
import { workerThreads } from "./builtin.js";
import type { Outcome } from "../user/linux/process.js";
import type { Usage } from "../user/linux/cpu-time.js";
import { nativeModule } from "./native.js";

interface HostSpawnModule {
  spawn(file: string, argv: string[], envp: string[], fds: number[], cwd: string, ignored: number[]): number;
  poll(pid: number, used: Float64Array): number;
}

/** Start a host program; what a guest process that became it polls. */
export function startHostProgram(file: string, argv: string[], envp: string[], fdMap: number[],
  cwd: string, ignored: number[]): NativeHostProgram | HostProgram {
  const stdio: number[] = [];
  for (let fd = 0; fd < Math.max(3, fdMap.length); fd++) stdio.push(fdMap[fd] ?? -1);
  const m = nativeModule<HostSpawnModule>("host-spawn");
  return m !== null ? new NativeHostProgram(m, file, argv, envp, stdio, cwd, ignored) :
    new HostProgram(file, argv, envp, stdio, cwd);
}

/**
 * A host program started by posix_spawn, with the signals the guest process
 * ignores ignored and every other at its default action, as execve leaves
 * them (Node ignores SIGPIPE, which a program spawned as it is keeps: GNU
 * sort in a guest's pipeline then reported the closed pipe instead of ending).
 */
class NativeHostProgram {
  private readonly pid: number;
  private ended: Outcome | undefined;
  /** What it used, once it has ended (wait4's rusage, in the order native/host-spawn.c writes it). */
  private readonly used = new Float64Array(6);
  private reaped = false;
  /** Told when the program stops (the signal) or continues (0). */
  onStop: ((signo: number) => void) | undefined;

  constructor(private readonly m: HostSpawnModule, file: string, argv: string[], envp: string[], stdio: number[],
    cwd: string, ignored: number[]) {
    this.pid = m.spawn(file, argv, envp, stdio, cwd, ignored);
    // A program that cannot be started ends as a shell reports it: status 127.
    if (this.pid <= 0) this.ended = { kind: "exit", status: 127 };
  }

  outcome(): Outcome | undefined {
    if (this.ended !== undefined) return this.ended;
    for (;;) {
      const r = this.m.poll(this.pid, this.used);
      if (r < 0) return undefined;
      if (r >= 768) {
        this.onStop?.(0);
      } else if (r >= 512) {
        this.onStop?.(r - 512);
      } else {
        this.ended = r >= 256 ? { kind: "signal", signo: r - 256, core: false } : { kind: "exit", status: r };
        this.reaped = true;
        return this.ended;
      }
    }
  }

  /** What the program used, once it has ended (undefined before, or when it could not start). */
  usage(): Usage | undefined {
    if (!this.reaped) return undefined;
    const [user, system, maxRssKiB, minorFaults, voluntary, involuntary] = this.used;
    return { times: { user, system }, maxRssKiB, minorFaults, switches: { voluntary, involuntary } };
  }

  signal(signo: number): void {
    if (this.ended !== undefined) return;
    try {
      process.kill(this.pid, stopAsStop(this.pid, signo));
    } catch { /* it has just ended */ }
  }
}

/** The shared words: where the run is, the pid, and how it ended. */
export const enum HostRunWord { STATE = 0, PID = 1, KIND = 2, CODE = 3, SIZE = 4 }
export const enum HostRunState { STARTING = 0, RUNNING = 1, ENDED = 2 }

export interface HostRunSetup {
  words: SharedArrayBuffer;
  file: string;
  argv: string[];
  env: Record<string, string>;
  /** Host descriptor for each of the program's descriptors 0, 1, 2...; -1: none. */
  stdio: number[];
  /** The exec'ing process's working directory. */
  cwd: string;
}

/**
 * The signal to send a host program for `signo`.  The program shares tsemu's
 * host process group, which the host kernel may take for orphaned (tsemu
 * started as a session's only job): it then throws away a terminal stop
 * signal (SIGTSTP, SIGTTIN, SIGTTOU) whose default action would stop the
 * program.  Such a signal goes as SIGSTOP unless the program catches it.
 */
function stopAsStop(pid: number, signo: number): number {
  if (signo !== 20 && signo !== 21 && signo !== 22) return signo;
  let caught = 0n;
  try {
    const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    if (m !== null) caught = BigInt(`0x${m[1]}`);
  } catch { /* gone: the signal hardly matters */ }
  return (caught & (1n << BigInt(signo - 1))) !== 0n ? signo : 19;
}

let worker: Worker | undefined;

/** A host program started by a worker thread. */
class HostProgram {
  /** A worker's program is not watched for stops (Node reports only its end). */
  onStop: ((signo: number) => void) | undefined;
  private readonly words = new Int32Array(new SharedArrayBuffer(4 * HostRunWord.SIZE));
  /** Signals sent before the program had a pid, sent once it has one. */
  private readonly early: number[] = [];

  constructor(file: string, argv: string[], envp: string[], stdio: number[], cwd: string) {
    const env: Record<string, string> = {};
    for (const kv of envp) {
      const eq = kv.indexOf("=");
      if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    const setup: HostRunSetup = { words: this.words.buffer as SharedArrayBuffer, file, argv, env, stdio, cwd };
    if (worker === undefined) {
      worker = new (workerThreads().Worker)(new URL("./host-program-worker.js", import.meta.url));
      // The worker must never keep tsemu alive on its own.
      worker.unref();
    }
    worker.postMessage(setup);
  }

  /** Node's spawn does not tell what a program used. */
  usage(): Usage | undefined {
    return undefined;
  }

  /** How the program ended, or undefined while it runs. */
  outcome(): Outcome | undefined {
    this.sendEarly();
    if (Atomics.load(this.words, HostRunWord.STATE) !== HostRunState.ENDED) return undefined;
    const code = this.words[HostRunWord.CODE];
    return this.words[HostRunWord.KIND] === 1 ? { kind: "signal", signo: code, core: false } : { kind: "exit", status: code };
  }

  /** Send host signal `signo` to the program (once it has started). */
  signal(signo: number): void {
    this.early.push(signo);
    this.sendEarly();
  }

  private sendEarly(): void {
    if (this.early.length === 0 || Atomics.load(this.words, HostRunWord.STATE) !== HostRunState.RUNNING) return;
    const pid = this.words[HostRunWord.PID];
    for (const signo of this.early.splice(0)) {
      try {
        process.kill(pid, signo);
      } catch { /* it has just ended */ }
    }
  }
}
