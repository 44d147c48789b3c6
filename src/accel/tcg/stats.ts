/** The translator's figures as one log line (-d tcg). */
import type { GuestRam } from "../../target/riscv/ram.js";
import { codeCacheFor } from "./code-cache.js";

export function tcgStatsLine(ram: GuestRam): string {
  const c = codeCacheFor(ram);
  const s = c.stats;
  return `tcg: blocks=${s.blocks} modules=${s.modules} wasm-bytes=${s.wasmBytes} cache-bytes=${c.size} ` +
    `compile-ms=${s.compileMs.toFixed(1)} discarded=${s.discarded} flushes=${s.flushes} regroups=${s.regroups} chained=${c.chained} ` +
    `exits: jump=${s.exitsJump} (page=${s.exitsPage}) budget=${s.exitsBudget} trap=${s.exitsTrap} sync=${s.exitsSync} interp=${s.exitsInterp} compiled-insns=${s.compiledInsns} interpreter-runs=${s.interpreted} interpreted-insns=${s.interpretedInsns} ` +
    `slow-loads=${s.slowLoads} slow-stores=${s.slowStores}`;
}
