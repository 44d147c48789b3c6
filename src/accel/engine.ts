/**
 * The execution engine, chosen once per run as QEMU's -accel chooses one:
 *   tcg     the translator (accel/tcg): hot guest code compiled to WebAssembly
 *   interp  the interpreter alone (accel/interp.ts)
 * Both give the same results; the interpreter is the reference and the
 * simpler one to debug.
 */
import type { Exit, RiscvCpu } from "../target/riscv/cpu.js";
import { run } from "./interp.js";
import { runTranslated } from "./tcg/dispatch.js";
import { tcgSettings, type CompileMode } from "./tcg/code-cache.js";

export const ACCELS = ["tcg", "interp"] as const;
export type Accel = (typeof ACCELS)[number];

/** The engine used when none is asked for, by both emulators (measured: docs/performance.md). */
export const DEFAULT_ACCEL: Accel = "tcg";

/** Until a launcher selects one: the interpreter, which needs no setting up. */
let runner: (cpu: RiscvCpu, budget: number) => Exit = run;
let current: Accel = "interp";

export function isAccel(name: string): name is Accel {
  return (ACCELS as readonly string[]).includes(name);
}

/**
 * Parse an -accel argument, QEMU-style: a name and comma-separated
 * properties.  tcg takes tb-size=MiB (the code cache limit, as QEMU's),
 * threshold=N (executions before a block is compiled), batch=N (blocks
 * per module), regroup=N (returns between two modules within one page
 * before that page's blocks are compiled into one module; 0 never),
 * patience=N (instructions interpreted before a part-filled batch is
 * compiled anyway), compile=sync|async|mixed (how the system emulator
 * compiles modules; user mode compiles at once) and chain=on|off (jumps
 * between modules go straight from one to the other, or back through the
 * dispatcher).  Returns the engine, with the properties applied, or a
 * sentence saying what is wrong.
 */
export function parseAccel(arg: string): Accel | string {
  const [name, ...props] = arg.split(",");
  if (!isAccel(name)) return `unknown accelerator '${name}' (expected one of: ${ACCELS.join(", ")})`;
  for (const p of props) {
    const c = /^compile=(sync|async|mixed)$/.exec(p);
    if (c !== null && name === "tcg") {
      tcgSettings.compile = c[1] as CompileMode;
      continue;
    }
    const ch = /^chain=(on|off)$/.exec(p);
    if (ch !== null && name === "tcg") {
      tcgSettings.chain = ch[1] === "on";
      continue;
    }
    const m = /^(tb-size|threshold|batch|patience|regroup)=(\d+)$/.exec(p);
    if (m === null || name !== "tcg") {
      return `unknown or malformed property '${p}' of accelerator '${name}'` +
        (name === "tcg" ? " (tcg takes tb-size=MiB, threshold=N, batch=N, patience=N, regroup=N, compile=sync|async|mixed, chain=on|off)" : " (it takes none)");
    }
    const v = Number(m[2]);
    if (m[1] === "tb-size") {
      if (v < 1) return "tb-size must be at least 1 (MiB)";
      tcgSettings.cacheLimit = v * 1024 * 1024;
    } else if (m[1] === "regroup") {
      if (v > 1 << 20) return "regroup must be at most 1048576";
      tcgSettings.regroupAfter = v;
    } else if (v < 1) {
      return `${m[1]} must be at least 1`;
    } else if (m[1] === "threshold") {
      tcgSettings.threshold = v;
    } else if (m[1] === "patience") {
      tcgSettings.patience = v;
    } else {
      tcgSettings.batch = v;
    }
  }
  return name;
}

export function selectAccel(name: Accel): void {
  current = name;
  runner = name === "tcg" ? runTranslated : run;
}

export function currentAccel(): Accel {
  return current;
}

/** Run `cpu` for at most `budget` instructions with the selected engine (see interp.ts's run). */
export function execute(cpu: RiscvCpu, budget: number): Exit {
  return runner(cpu, budget);
}
