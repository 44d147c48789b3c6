/**
 * The host signals tsemu-riscv64 passes to its guest, as qemu-riscv64 does
 * (native/host-signals.c notes them; the kernel's loop takes them between
 * slices).  Without the native module tsemu dies of them at once, as a host
 * process, and the README says so.
 */
import { nativeModule, nodeOptions } from "./native.js";

interface HostSignalsModule {
  catch(signals: number[]): void;
  take(): number[];
  release(): void;
  stop?(signo: number): void;
  noCoreDump?(): void;
}

/**
 * What qemu-riscv64 passes on: every signal but those the emulator itself
 * needs (SIGCHLD for its host children, SIGPIPE, which Node ignores, the
 * faults of its own code, SIGKILL and SIGSTOP, which cannot be caught).
 */
const PASSED = [1, 2, 3, 10, 12, 14, 15, 18, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30];

/** A host signal for the guest: its number, and whether the kernel sent it (a terminal's Ctrl-C) rather than a process. */
export interface HostSignal { signo: number; fromKernel: boolean }

export interface HostSignals {
  /** The signals received since the last call. */
  take(): HostSignal[];
  /**
   * Give the signals their default actions back and lower the core file size
   * limit to 0 (before tsemu dies of its guest's signal: no core file of the
   * emulator; the guest ran with the limit tsemu was started with).
   */
  release(): void;
  /**
   * Stop tsemu on the host with the guest's stop signal (SIGTSTP, SIGTTIN,
   * SIGTTOU), its handler kept; returns once tsemu is continued.  False when
   * the module cannot (an older build): the caller stops with SIGSTOP.
   */
  stop(signo: number): boolean;
}

/** SIGPROF: V8's sampling profiler's own timer signal. */
const SIGPROF = 27;

/**
 * Node was started with a V8 profiler on (`--cpu-prof` or `--prof`, on its
 * command line, or in NODE_OPTIONS where a Node allows them there): SIGPROF then drives the profiler's
 * samples and stays V8's, or the first sample would reach the guest and end
 * the run.
 */
function profiling(): boolean {
  return nodeOptions().some((o) => o === "--cpu-prof" || o === "--prof");
}

/** Start catching the signals the guest gets; undefined when the native module is not there. */
export function catchHostSignals(): HostSignals | undefined {
  const m = nativeModule<HostSignalsModule>("host-signals");
  if (m === null) return undefined;
  m.catch(profiling() ? PASSED.filter((s) => s !== SIGPROF) : PASSED);
  return {
    take: () => m.take().map((v) => ({ signo: v & 0xff, fromKernel: v >= 256 })),
    release: () => {
      m.release();
      m.noCoreDump?.();
    },
    stop: (signo) => {
      if (m.stop === undefined) return false;
      m.stop(signo);
      return true;
    },
  };
}
