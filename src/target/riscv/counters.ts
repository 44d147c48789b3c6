/**
 * The machine counters mcycle and minstret (and their user views cycle and
 * instret) of a system hart, as the privileged spec keeps them.  A hart here
 * retires one instruction per cycle, so both count retired instructions
 * (cpu.instret, exact at every CSR access: the instructions before this one).
 *
 * Each counter is a base value and the instret from which it counts on.  A
 * write of X replaces the writing instruction's own increment: the next
 * instruction reads X (a value is held as a signed 64-bit number, so writing
 * -1 wraps to 0 as the hardware does).  mcountinhibit's CY (bit 0) and IR (bit 2) freeze a
 * counter at its value after the inhibiting instruction; clearing the bit
 * lets it count on from the next instruction.  Values are exact within 2^53
 * of zero, either side.
 */
import type { RiscvCpu } from "./cpu.js";

export const enum Counter { CYCLE = 0, INSTRET = 2 }

/** The counter's value as an instruction at cpu.instret reads it. */
export function counterValue(cpu: RiscvCpu, which: Counter): number {
  const s = cpu.state;
  const base = which === Counter.CYCLE ? s.mcycleBase : s.minstretBase;
  if ((s.mcountinhibit & (1 << which)) !== 0) return base;
  return base + cpu.instret - (which === Counter.CYCLE ? s.mcycleAt : s.minstretAt);
}

function setCounter(cpu: RiscvCpu, which: Counter, base: number, at: number): void {
  const s = cpu.state;
  if (which === Counter.CYCLE) { s.mcycleBase = base; s.mcycleAt = at; } else { s.minstretBase = base; s.minstretAt = at; }
}

/** A CSR write of `value` to mcycle or minstret. */
export function writeCounter(cpu: RiscvCpu, which: Counter, value: number): void {
  setCounter(cpu, which, value, cpu.instret + 1);
}

/** A CSR write to mcountinhibit (TM, bit 1, reads zero). */
export function writeCountInhibit(cpu: RiscvCpu, value: number): void {
  const s = cpu.state;
  const next = value & ~2;
  for (const which of [Counter.CYCLE, Counter.INSTRET]) {
    const bit = 1 << which;
    if ((s.mcountinhibit & bit) === (next & bit)) continue;
    // Frozen: at the value after this instruction.  Released: counting on from the next one.
    if ((next & bit) !== 0) setCounter(cpu, which, counterValue(cpu, which) + 1, 0);
    else setCounter(cpu, which, counterValue(cpu, which), cpu.instret + 1);
  }
  s.mcountinhibit = next;
}
