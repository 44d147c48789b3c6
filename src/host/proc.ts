/** This host process, as /proc shows it. */
import * as fs from "node:fs";

/** This host process's process group and session (fields 5 and 6 of /proc/self/stat), or undefined. */
export function hostProcessGroup(): { pgid: number; sid: number } | undefined {
  let text: string;
  try {
    text = fs.readFileSync("/proc/self/stat", "utf8");
  } catch {
    return undefined;
  }
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const pgid = Number(rest[2]), sid = Number(rest[3]);
  return Number.isInteger(pgid) && Number.isInteger(sid) ? { pgid, sid } : undefined;
}
