/**
 * The system-call interface between the CPU and the emulated kernel: the
 * arguments of one call, the handler type, and the registry that the
 * per-area files (fs, mm, process, time, signal, thread, net) fill.
 */
import type { Process } from "./process.js";
import type { Thread } from "./thread.js";

/** Arguments a0..a5 of the call being made. */
export class SyscallArgs {
  constructor(private readonly xl: Int32Array, private readonly xh: Int32Array) {}

  /** Argument i as a signed number (exact below 2^53 in magnitude: pointers, sizes, fds). */
  n(i: number): number {
    return this.xh[10 + i] * 4294967296 + (this.xl[10 + i] >>> 0);
  }

  /** Argument i as an unsigned 64-bit value. */
  u(i: number): bigint {
    return (BigInt(this.xh[10 + i] >>> 0) << 32n) | BigInt(this.xl[10 + i] >>> 0);
  }

  /** Argument i as a signed 64-bit value. */
  s(i: number): bigint {
    return (BigInt(this.xh[10 + i]) << 32n) | BigInt(this.xl[10 + i] >>> 0);
  }

  /** The low 32 bits of argument i, signed (an int parameter: fd, flags, mode). */
  i32(i: number): number {
    return this.xl[10 + i];
  }

  /** The low 32 bits of argument i, unsigned. */
  u32(i: number): number {
    return this.xl[10 + i] >>> 0;
  }
}

/**
 * A handler returns the value for a0 (negative errno on failure), or
 * NO_RESULT when it has already set the registers itself (rt_sigreturn,
 * execve) or the thread no longer runs (exit).
 */
export const NO_RESULT = Symbol("no result");
export type SyscallResult = number | bigint | typeof NO_RESULT;
export type SyscallHandler = (p: Process, t: Thread, a: SyscallArgs) => SyscallResult;

export interface SyscallDef {
  readonly name: string;
  readonly handler: SyscallHandler;
}

/** The table, indexed by riscv64 (asm-generic) syscall number. */
export const syscalls = new Map<number, SyscallDef>();

export function define(nr: number, name: string, handler: SyscallHandler): void {
  if (syscalls.has(nr)) throw new Error(`syscall ${nr} (${name}) defined twice`);
  syscalls.set(nr, { name, handler });
}
