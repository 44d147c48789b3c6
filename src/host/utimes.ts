/**
 * Setting file timestamps with nanosecond precision.  Node's utimes family
 * rounds to microseconds and cannot leave one of the two times alone, so
 * when the times asked for need more (nanoseconds, "leave unchanged") the
 * work goes to touch(1), which passes them to utimensat(2) exactly.
 */
import { hostTool } from "./tools.js";
import * as fs from "node:fs";
import { childProcess } from "./builtin.js";

/** One timestamp to set: nanoseconds since the epoch, the current time, or unchanged. */
export type TimeSpec = bigint | "now" | "omit";

/** A host descriptor as a path that another process can open. */
export function descriptorPath(hostFd: number): string {
  return `/proc/${process.pid}/fd/${hostFd}`;
}

function seconds(ns: bigint): string {
  const neg = ns < 0n;
  const abs = neg ? -ns : ns;
  return `${neg ? "-" : ""}${abs / 1_000_000_000n}.${(abs % 1_000_000_000n).toString().padStart(9, "0")}`;
}

function nodeTime(t: bigint | "now", now: number): number {
  return t === "now" ? now : Number(t) / 1e9;
}

function touch(target: string, which: "-a" | "-m" | undefined, t: bigint | "now", nofollow: boolean): void {
  const args = ["-c", ...(which === undefined ? [] : [which]), ...(nofollow ? ["-h"] : [])];
  if (t !== "now") args.push("-d", `@${seconds(t)}`);
  const r = childProcess().spawnSync(hostTool("touch"), [...args, "--", target], { encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] });
  if (r.error === undefined && r.status === 0) return;
  const text = r.stderr ?? "";
  const code = /Permission denied/.test(text) ? "EACCES" : /not permitted/.test(text) ? "EPERM"
    : /Read-only/.test(text) ? "EROFS" : /No such file/.test(text) ? "ENOENT" : "EIO";
  throw Object.assign(new Error(`touch failed: ${text.trim()}`), { code });
}

/**
 * utimensat(2) on a path (following a final symlink unless nofollow);
 * `nowSec` is the current time for the Node path.  Throws Node-style errors.
 */
export function setTimes(target: string, atime: TimeSpec, mtime: TimeSpec, nofollow: boolean, nowSec: number): void {
  if (atime === "omit" && mtime === "omit") return;
  // The target must exist (touch -c would quietly do nothing).
  if (nofollow) fs.lstatSync(target);
  else fs.statSync(target);
  const microExact = (t: TimeSpec): boolean => t === "now" || (typeof t === "bigint" && t % 1000n === 0n);
  if (atime !== "omit" && mtime !== "omit" && microExact(atime) && microExact(mtime)) {
    const at = nodeTime(atime, nowSec), mt = nodeTime(mtime, nowSec);
    if (nofollow) fs.lutimesSync(target, at, mt);
    else fs.utimesSync(target, at, mt);
    return;
  }
  if (atime !== "omit" && atime === mtime) {
    touch(target, undefined, atime, nofollow);
    return;
  }
  if (atime !== "omit") touch(target, "-a", atime, nofollow);
  if (mtime !== "omit") touch(target, "-m", mtime, nofollow);
}
