/** What tests need to know of their surroundings: the repository root, programs on PATH, settings from the environment. */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: the nearest folder above `start` (a file URL or path) holding package.json and guest/. */
export function repoRoot(start: string): string {
  let dir = start.startsWith("file:") ? path.dirname(fileURLToPath(start)) : start;
  const from = dir;
  for (;;) {
    if (fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(path.join(dir, "guest", "build-tests.sh"))) {
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the repository root above ${from}`);
    dir = parent;
  }
}

/** Absolute path of an executable named on PATH (or given as a path), or undefined. */
export function which(name: string): string | undefined {
  if (name.includes("/")) return fs.existsSync(name) ? path.resolve(name) : undefined;
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The -accel argument for a tsemu run under test: TSEMU_TEST_ACCEL when set
 * (to run a whole test under one engine), else `fallback`.  The translator's
 * test settings compile every block at once (threshold=1,batch=1), so that
 * short guest runs exercise translated code rather than the interpreter.
 */
export function testAccel(fallback: string): string {
  const v = process.env.TSEMU_TEST_ACCEL;
  return v !== undefined && v !== "" ? v : fallback;
}

/**
 * The translator with every block compiled before its first run (pages whose blocks keep jumping between modules
 * are still regrouped, at the default of the hart's kind), compiled at once even in the system emulator.
 */
export const TCG_EAGER = "tcg,threshold=1,batch=1,compile=sync";

/** A positive integer setting from the environment, or the fallback when unset. */
export function envInt(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got '${text}'`);
  return v;
}
