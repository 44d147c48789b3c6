/**
 * The dispatcher: runs a hart for an instruction budget, with the same
 * contract as the interpreter's run() (accel/interp.ts).  Hot blocks run as
 * compiled WebAssembly; cold ones, and whatever the translator leaves out,
 * run in the interpreter one block at a time, counted for tiering.  A block
 * is never started with less budget than it has instructions, so budgets,
 * instret and -icount runs come out exactly as with the interpreter alone.
 */
import { Exit, type RiscvCpu } from "../../target/riscv/cpu.js";
import { HartLayout } from "../../target/riscv/hart-layout.js";
import { PAGE_MASK, PAGE_SHIFT, TLB_MASK } from "../../target/riscv/tlb.js";
import { run } from "../interp.js";
import { codeCacheFor, type CompiledRun } from "./code-cache.js";
import { TcgExit } from "./emit.js";

const TWO32 = 4294967296;
const PC_LO = HartLayout.PC >> 2, PC_HI = PC_LO + 1, COUNT = HartLayout.COUNT >> 2;

export function runTranslated(cpu: RiscvCpu, budget: number): Exit {
  // A debugger sees every instruction: the interpreter serves it.
  if (cpu.debug !== undefined || cpu.stateAt < 0) return run(cpu, budget);
  const cache = codeCacheFor(cpu.mem.ram);
  const stats = cache.stats;
  cache.cpu = cpu;
  const slot = cpu.slot;
  const state = cpu.stateAt;
  let left = budget;
  // The module the last compiled run left by a jump, and that block's host page.
  let lastRun: CompiledRun | undefined;
  let lastPage = -1;
  while (left > 0) {
    const pc = cpu.pc;
    const lo = pc | 0;
    const hi = Math.floor(pc / TWO32) | 0;
    const tlb = cpu.tlb;
    const i = (lo >>> PAGE_SHIFT) & TLB_MASK;
    if (tlb.fetchLo[i] !== (lo & PAGE_MASK) || tlb.fetchHi[i] !== hi) {
      // Not in the fetch TLB: one instruction in the interpreter fills it, or raises the fault.
      const before = cpu.instret;
      const x = run(cpu, 1);
      left -= cpu.instret - before;
      if (x !== Exit.BUDGET) return x;
      continue;
    }
    const e = cache.lookup(pc, tlb.fetchHost[i] + (lo & ~PAGE_MASK));
    if (e.run !== undefined && e.compiled <= left) {
      const page = e.host >>> PAGE_SHIFT;
      if (e.run !== lastRun && page === lastPage && lastRun !== undefined) {
        cache.crossed(page);
        // Regrouping may have compiled this block again, or flushed the cache: look it up again.
        lastRun = undefined;
        continue;
      }
      const base = cpu.instret;
      cache.base = base;
      const code = e.run(state, e.index, left);
      const n = slot[COUNT];
      cpu.instret = base + n;
      left -= n;
      cpu.pc = slot[PC_HI] * TWO32 + (slot[PC_LO] >>> 0);
      if (code === TcgExit.JUMP) {
        stats.exitsJump++;
        lastRun = e.run;
        lastPage = page;
        continue;
      }
      if (code === TcgExit.TRAP) { stats.exitsTrap++; return Exit.TRAP; }
      stats.exitsSync++;
      return Exit.SYNC;
    }
    lastRun = undefined;
    cache.hit(e);
    // Compiled just now (threshold=1,batch=1 compiles every block before its first run).
    if (e.run !== undefined && e.compiled <= left) continue;
    stats.interpreted++;
    const before = cpu.instret;
    const x = run(cpu, Math.min(e.length, left));
    left -= cpu.instret - before;
    if (x !== Exit.BUDGET) return x;
  }
  return Exit.BUDGET;
}
