/** Host processes, as /proc shows them. */
import * as fs from "node:fs";

/**
 * Whether host process pid has ended: gone, or a zombie (Node reaps its
 * children only in its event loop, which the emulator does not give up).
 */
export function hostProcessEnded(pid: number): boolean {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return true;
  }
  // The state is the first field after "(comm)".
  return text.slice(text.lastIndexOf(")") + 2).startsWith("Z");
}

/** Send signal number `signo` to host process `pid`; false when there is no such process (or no permission). */
export function signalHostProcess(pid: number, signo: number): boolean {
  try {
    process.kill(pid, signo);
    return true;
  } catch {
    return false;
  }
}
