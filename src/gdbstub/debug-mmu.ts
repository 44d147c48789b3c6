/** A debugger's reads and writes of a system hart's virtual memory (the walk is target/riscv/mmu-debug.ts). */
import type { RiscvCpu } from "../target/riscv/cpu.js";
import type { PhysBus } from "../target/riscv/mmu.js";
import { Access } from "../target/riscv/tlb.js";
import { debugTranslate } from "../target/riscv/mmu-debug.js";

export { debugTranslate };

const PAGE = 4096;

/**
 * Copy between a hart's virtual memory and `data` (write: into memory) a
 * page at a time; RAM and ROM only, as device registers may change when
 * read.  False when any page does not translate to memory.
 */
export function debugAccess(cpu: RiscvCpu, bus: PhysBus, va: number, data: Uint8Array, write: boolean): boolean {
  const u8 = bus.ram.u8;
  let done = 0;
  while (done < data.length) {
    const a = va + done;
    const pa = debugTranslate(cpu, bus, a);
    if (pa < 0) return false;
    const offset = pa % PAGE;
    // ROM reads back its host page for READ; a debugger may patch it too.
    const host = bus.hostPage(pa - offset, Access.READ);
    if (host < 0) return false;
    const n = Math.min(data.length - done, PAGE - offset);
    if (write) {
      u8.set(data.subarray(done, done + n), host + offset);
      bus.ram.dropCode(host >>> 12);
    } else {
      data.set(u8.subarray(host + offset, host + offset + n), done);
    }
    done += n;
  }
  return true;
}
