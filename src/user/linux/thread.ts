/**
 * A guest thread: one hart's worth of state plus the per-thread kernel
 * state (thread id, clear_child_tid, signal mask, alternate signal stack).
 */
import { RiscvCpu, type CpuMemory } from "../../target/riscv/cpu.js";

export class Thread {
  readonly cpu: RiscvCpu;
  /** set_tid_address / CLONE_CHILD_CLEARTID: zeroed and futex-woken at exit. */
  clearChildTid = 0;
  /** Blocked signals, bit (signo - 1). */
  sigmask = 0n;
  /** sigaltstack: base, size, flags. */
  altStack = { sp: 0, size: 0, flags: 2 /* SS_DISABLE */ };
  robustList = 0;
  exited = false;

  constructor(public readonly tid: number, mem: CpuMemory) {
    this.cpu = new RiscvCpu(mem);
  }
}
