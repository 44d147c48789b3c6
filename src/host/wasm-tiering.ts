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
import { setFlagsFromString } from "node:v8";

/** Bytes of code a WebAssembly function runs before V8 optimises it (V8's own default: 1,800,000). */
export const WASM_TIERING_BUDGET = 100_000_000;

/** Set V8's tier-up budget for this process (before the first module is compiled; the CLI's, not a library's, choice). */
export function tuneWasmTiering(): void {
  setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);
}
