/**
 * The dispatcher: runs a hart for an instruction budget, with the same
 * contract as the interpreter's run() (accel/interp.ts).  Hot blocks run as
 * compiled WebAssembly; cold ones, and whatever the translator leaves out,
 * run in the interpreter, which counts the blocks it enters (accel/hot.ts)
 * and comes back when one is hot or compiled.  A compiled block is never
 * started with less budget than it has instructions, so budgets, instret and
 * -icount runs come out exactly as with the interpreter alone.
 *
 * With a threshold of 1 every block is compiled before its first run, so no
 * code is cold: the interpreter then runs one block at a time, only what the
 * translator leaves out.
 */
import { Exit, type RiscvCpu } from "../../target/riscv/cpu.js";
import { HartLayout } from "../../target/riscv/hart-layout.js";
import { PAGE_MASK, PAGE_SHIFT, TLB_MASK } from "../../target/riscv/tlb.js";
import { run } from "../interp.js";
import { codeCacheFor, type CompiledRun, type EnterRun } from "./code-cache.js";
import { hotSlot } from "../hot.js";
import { TcgExit } from "./emit.js";

const TWO32 = 4294967296;
const PC_LO = HartLayout.PC >> 2, PC_HI = PC_LO + 1, COUNT = HartLayout.COUNT >> 2;
const XL = HartLayout.XL >> 2, XH = HartLayout.XH >> 2, XQ = HartLayout.XQ >> 2;

/**
 * A module with no index in the chain table (it was full): run() called
 * directly, with the registers copied to the int64s translated code keeps
 * them in and back, as the hub's enter() does for every other module.
 */
function runUnindexed(slot: Int32Array, run: CompiledRun, state: number, entry: number, budget: number): number {
  for (let r = 1; r < 32; r++) { slot[XQ + 2 * r] = slot[XL + r]; slot[XQ + 2 * r + 1] = slot[XH + r]; }
  const code = run(state, entry, budget, 0);
  for (let r = 1; r < 32; r++) { slot[XL + r] = slot[XQ + 2 * r]; slot[XH + r] = slot[XQ + 2 * r + 1]; }
  return code;
}

export function runTranslated(cpu: RiscvCpu, budget: number): Exit {
  // A debugger sees every instruction: the interpreter serves it.
  if (cpu.debug !== undefined || cpu.stateAt < 0) return run(cpu, budget);
  const cache = codeCacheFor(cpu.mem.ram);
  const stats = cache.stats;
  cache.cpu = cpu;
  const slot = cpu.slot;
  const state = cpu.stateAt;
  const hot = cache.hot(cpu);
  // Interpreted code comes back at every block start when no block is cold.
  const stretch = cache.threshold() > 1;
  let enter = cache.enter;
  let left = budget;
  // The interpreter stopped before a block whose counter ran out (it counted the entry).
  let fired = false;
  // The last compiled run left for a block on its own page that its module does not hold (TcgExit.PAGE).
  let crossing = false;
  while (left > 0) {
    const pc = cpu.pc;
    const lo = pc | 0;
    const hi = Math.floor(pc / TWO32) | 0;
    const fetch = cpu.tlb.fetch;
    const i = ((lo >>> PAGE_SHIFT) & TLB_MASK) << 2;
    if (fetch[i] !== (lo & PAGE_MASK) || fetch[i + 1] !== hi) {
      // Not in the fetch TLB: one instruction in the interpreter fills it, or raises the fault.
      const before = cpu.instret;
      const x = run(cpu, 1);
      left -= cpu.instret - before;
      fired = false;
      if (x !== Exit.BUDGET) return x;
      continue;
    }
    const e = cache.lookup(pc, fetch[i + 2] + (lo & ~PAGE_MASK));
    if (e.run !== undefined && e.compiled <= left) {
      if (crossing) {
        cache.crossed(e.host >>> PAGE_SHIFT);
        // Regrouping may have compiled this block again, or flushed the cache: look it up again.
        crossing = false;
        continue;
      }
      fired = false;
      enter ??= cache.enter;
      const base = cpu.instret;
      cache.base = base;
      const code = e.module >= 0 ? (enter as EnterRun)(state, e.index, left, e.module) : runUnindexed(slot, e.run, state, e.index, left);
      const n = slot[COUNT];
      stats.compiledInsns += n;
      cpu.instret = base + n;
      left -= n;
      cpu.pc = slot[PC_HI] * TWO32 + (slot[PC_LO] >>> 0);
      if (code === TcgExit.JUMP || code === TcgExit.PAGE || code === TcgExit.BUDGET) {
        if (code === TcgExit.BUDGET) stats.exitsBudget++;
        else stats.exitsJump++;
        if (code === TcgExit.PAGE) stats.exitsPage++;
        crossing = code === TcgExit.PAGE;
        continue;
      }
      if (code === TcgExit.TRAP) { stats.exitsTrap++; return Exit.TRAP; }
      if (code === TcgExit.INTERP) {
        // The block stopped before an instruction the interpreter must run (it budgeted for it).
        stats.exitsInterp++;
        const before = cpu.instret;
        const x = run(cpu, 1);
        left -= cpu.instret - before;
        if (x !== Exit.BUDGET) return x;
        continue;
      }
      stats.exitsSync++;
      return Exit.SYNC;
    }
    crossing = false;
    const before = cpu.instret;
    const counted = fired;
    fired = false;
    let x: Exit;
    if (e.run !== undefined) {
      // Compiled, but longer than the budget left: the interpreter runs it.
      x = run(cpu, Math.min(e.length, left));
    } else {
      const h = hotSlot(e.host);
      if (counted || --hot[h] <= 0) {
        cache.heat(e, hot, h);
        // Compiled just now (compile=sync and a full batch, or threshold=1,batch=1).
        if (e.run !== undefined && e.compiled <= left) continue;
      }
      if (stretch) {
        x = run(cpu, left, hot);
        fired = x === Exit.BUDGET && cpu.instret - before < left;
      } else {
        x = run(cpu, Math.min(e.length, left));
      }
    }
    const n = cpu.instret - before;
    cache.interpreted(n);
    left -= n;
    if (x !== Exit.BUDGET) return x;
  }
  return Exit.BUDGET;
}
