/**
 * Runs the harts of a system emulator in turns on one thread: each gets a
 * slice of instructions; between slices interrupts are taken, traps entered
 * and device timers fired.  A hart in wfi sleeps until an interrupt is
 * pending for it; when every hart sleeps the caller waits on the host.  A
 * hart whose wfi keeps falling through without a trap (it polls a flag with
 * an interrupt pending but masked, as OpenSBI's secondary harts do until Linux
 * starts them) ends its turn there, so that it does not take the time of the
 * harts doing the work; one host thread per hart would hide that cost.
 */
import { Cause, Exit, type RiscvCpu } from "../target/riscv/cpu.js";
import { pendingInterrupt, shouldWake, takeTrap } from "../target/riscv/priv.js";
import { run } from "./interp.js";
import { execute } from "./engine.js";

/** Instructions per hart per turn: short enough for timely interrupts, long enough to keep the loop cheap. */
export const SLICE = 20000;

export interface TimerSource {
  runDue(): void;
}

export interface TrapTrace {
  (cpu: RiscvCpu, hart: number, cause: number, interrupt: boolean): void;
}

export class SystemLoop {
  /** Set to stop at the end of the current turn (shutdown, reset, pause). */
  stopRequested = false;
  onTrap: TrapTrace | undefined;

  constructor(readonly harts: RiscvCpu[], private readonly timers: TimerSource) {}

  /** Every hart waits in wfi with nothing pending. */
  idle(): boolean {
    for (const cpu of this.harts) if (!cpu.state.waiting || shouldWake(cpu)) return false;
    return true;
  }

  /** Total instructions retired by all harts (the icount clock). */
  instructions(): number {
    let n = 0;
    for (const cpu of this.harts) n += cpu.instret;
    return n;
  }

  /** Run turns until `deadlineMs` (by `nowMs`) passes, the machine idles, or a stop is requested. */
  runUntil(nowMs: () => number, deadlineMs: number): void {
    this.stopRequested = false;
    do {
      for (let h = 0; h < this.harts.length && !this.stopRequested; h++) {
        this.runHart(this.harts[h], h);
        this.timers.runDue();
      }
    } while (!this.stopRequested && !this.idle() && nowMs() < deadlineMs);
  }

  /**
   * Run one instruction of hart `hart` for a debugger's single step, as QEMU
   * steps by default: no interrupt is taken and no timer fires, a hart in wfi
   * goes on, and a trap the instruction raises is entered.
   */
  step(hart: number): Exit {
    const cpu = this.harts[hart];
    cpu.state.waiting = false;
    const exit = run(cpu, 1);
    if (exit === Exit.TRAP || exit === Exit.ECALL) {
      this.onTrap?.(cpu, hart, cpu.trapCause, false);
      takeTrap(cpu, cpu.trapCause, false, exit === Exit.TRAP ? cpu.trapTvalHi : 0, exit === Exit.TRAP ? cpu.trapTvalLo : 0);
    }
    return exit;
  }

  private runHart(cpu: RiscvCpu, hart: number): void {
    const st = cpu.state;
    if (st.waiting) {
      if (!shouldWake(cpu)) return;
      st.waiting = false;
    }
    st.wfiYield = false;
    let left = SLICE;
    while (left > 0 && !this.stopRequested) {
      const irq = pendingInterrupt(cpu);
      if (irq >= 0) {
        this.onTrap?.(cpu, hart, irq, true);
        takeTrap(cpu, irq, true, 0, 0);
      }
      const before = cpu.instret;
      // An armed execute trigger is checked before each instruction (target/riscv/triggers.ts).
      const exit = st.trig.exec ? stepTriggered(cpu) : execute(cpu, left);
      left -= cpu.instret - before + 1;
      switch (exit) {
        case Exit.TRAP:
          this.onTrap?.(cpu, hart, cpu.trapCause, false);
          takeTrap(cpu, cpu.trapCause, false, cpu.trapTvalHi, cpu.trapTvalLo);
          break;
        case Exit.ECALL:
          this.onTrap?.(cpu, hart, cpu.trapCause, false);
          takeTrap(cpu, cpu.trapCause, false, 0, 0);
          break;
        case Exit.HALT:
          return;
        default:
          break;
      }
      if (st.wfiYield) {
        // The hart polls around a wfi that cannot sleep (see execWfi): the others run.
        st.wfiYield = false;
        return;
      }
    }
  }
}

/** One instruction, or the breakpoint exception an execute trigger raises before it. */
function stepTriggered(cpu: RiscvCpu): Exit {
  if (cpu.state.trig.execHit(cpu)) {
    cpu.raise(Cause.BREAKPOINT, 0, 0);
    return Exit.TRAP;
  }
  return execute(cpu, 1);
}
