/** Locating and running the emulators and binutils the differential tests need. */
import { spawn } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const INSTALL_HINT = "install the test dependencies with: bash scripts/deps.sh user";

/**
 * qemu-riscv64 options for a plain RV64GC hart.  QEMU 7.2's default CPU also
 * implements Zba, Zbb, Zbc and Zbs; without these options random code runs on
 * in qemu where an RV64GC hart raises SIGILL.
 */
export const QEMU_RV64GC: readonly string[] = ["-cpu", "rv64,zba=false,zbb=false,zbc=false,zbs=false"];

/** The absolute path of an executable on PATH; throws a clear error when it is missing. */
export function requireTool(name: string): string {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`${name} not found on PATH; ${INSTALL_HINT}`);
}

/** The compiled tsemu CLI (dist/src/cli/tsemu-riscv64.js); throws when it has not been built. */
export function requireTsemuCli(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // this file lives in dist/test/target/riscv/random-insn/
  const cli = resolve(here, "../../../../src/cli/tsemu-riscv64.js");
  if (!existsSync(cli)) {
    throw new Error(`tsemu CLI not found at ${cli}; build it with: npx tsc -p tsconfig.json`);
  }
  return cli;
}

export interface RunResult {
  /** Exit status, or null when killed by a signal. */
  readonly status: number | null;
  /** The signal that killed the process, or null. */
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: string;
  /** True when the time limit killed it (status and signal are then meaningless). */
  readonly timedOut: boolean;
}

/**
 * Run a command with an empty environment, core dumps disabled (so that a
 * guest dying of a signal leaves no core file behind), and a time limit.
 */
export function run(argv: readonly string[], timeoutMs: number, cwd: string): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn("/bin/sh", ["-c", 'ulimit -c 0; exec "$@"', "sh", ...argv], {
      cwd,
      env: {},
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      resolvePromise({
        status,
        signal,
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString("utf8"),
        timedOut,
      });
    });
  });
}

/** Apply `fn` to every item with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Describe how a process ended, e.g. "exit 0", "signal SIGILL", "timeout". */
export function describeEnd(r: RunResult): string {
  if (r.timedOut) return "timeout";
  return r.signal !== null ? `signal ${r.signal}` : `exit ${r.status ?? "?"}`;
}
