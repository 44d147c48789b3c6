/** Helpers for the block tests: Debian's qemu-img as the oracle, a seeded generator, a scratch folder. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { which } from "../util/env.js";

export const QEMU_IMG = which("qemu-img");
export const SKIP_QEMU_IMG = QEMU_IMG === undefined ? "qemu-img not installed (scripts/deps.sh img)" : false;

export interface Run { status: number; stdout: string; stderr: string }

export function qemuImg(...args: string[]): Run {
  const r = spawnSync(QEMU_IMG ?? "qemu-img", args, { encoding: "utf8" });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function qemuIo(file: string, ...cmds: string[]): void {
  const r = spawnSync("qemu-io", [...cmds.flatMap((c) => ["-c", c]), file], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`qemu-io ${cmds.join("; ")}: ${r.stderr}`);
}

export function scratch(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tsemu-${name}-`));
  return dir;
}

/** A small deterministic generator (xorshift32), so a failing case can be replayed. */
export function rng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n: number): number => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s % n;
  };
}
