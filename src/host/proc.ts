/** Host processes, as /proc shows them. */
import { fs } from "./fs.js";

/** This host process's pid. */
export function hostPid(): number {
  return process.pid;
}

/**
 * The fields of /proc/PID/stat as numbers, indexed as proc(5) numbers them
 * from 1 (1 the pid; 2, the command, is NaN: it may hold spaces), or
 * undefined when the file cannot be read.
 */
export function statFields(pid: number | "self"): number[] | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ").map(Number);
  return [NaN, Number(text.slice(0, text.indexOf(" "))), NaN, ...rest];
}

/** Field n (1-based, as proc(5) counts them) of /proc/PID/stat, or undefined. */
export function statField(pid: number | "self", n: number): number | undefined {
  const v = statFields(pid)?.[n];
  return v !== undefined && Number.isFinite(v) ? v : undefined;
}

/** This host process's process group and session (fields 5 and 6 of /proc/self/stat), or undefined. */
export function hostProcessGroup(): { pgid: number; sid: number } | undefined {
  const f = statFields("self");
  if (f === undefined) return undefined;
  const pgid = f[5], sid = f[6];
  return Number.isInteger(pgid) && Number.isInteger(sid) ? { pgid, sid } : undefined;
}
