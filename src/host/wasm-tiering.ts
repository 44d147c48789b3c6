/**
 * How eagerly V8 re-compiles WebAssembly with its optimising compiler.  V8
 * starts every function in its baseline compiler (Liftoff) and re-compiles
 * a function with TurboFan once it has run a budget's worth of code.  A
 * translator module is one function holding up to 64 blocks, and a kernel
 * boot makes hundreds of them that run a few thousand times each: at V8's
 * default budget (1,800,000) most of them were re-compiled for nothing, and
 * on a 2-core host the background compiles took the main thread's core.
 * Measured over boots of the default guest (docs/performance.md): about 1 s
 * of a 5-6 s boot, the same as turning TurboFan off; the shell loop and the
 * user-mode CPU benchmark, whose hot modules still reach the budget, kept
 * their speed.
 */
import { v8 } from "./builtin.js";

/** Bytes of code a WebAssembly function runs before V8 optimises it (V8's own default: 1,800,000). */
export const WASM_TIERING_BUDGET = 100_000_000;

/** Set V8's tier-up budget for this process (before the first module is compiled; the CLI's, not a library's, choice). */
export function tuneWasmTiering(): void {
  v8().setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);
}

/**
 * User mode: a program with a large hot code footprint (Python, a compiler)
 * makes thousands of modules, and V8 re-compiling them with TurboFan took
 * four times the run's own time (a Python script: 75 s against 19 s for the
 * interpreter; with only Liftoff, 15 s), where small hot loops (the CPU
 * benchmark, 100 KB of modules; gzip, 350 KB) gain 10-30% from it.  So
 * modules compiled once `bytes` of them exist stay in Liftoff (V8 reads
 * the flag as it compiles each module; the earlier ones keep tiering up).
 */
export const BASELINE_AFTER_BYTES = 2 * 1024 * 1024;

export function baselineOnlyAfter(setLimit: (bytes: number, reached: () => void) => void): void {
  setLimit(BASELINE_AFTER_BYTES, () => v8().setFlagsFromString("--liftoff-only"));
}
