/**
 * /proc/PID of guest processes.  Every guest process lives in one host
 * process, so the host's /proc describes tsemu, not them: the files that
 * describe a process (stat, status) are made up for a guest process other
 * than the first (whose pid is tsemu's own, so the host's files are right
 * about it, CPU times included), and /proc/PID itself is there for every
 * live guest process.
 */
import type { Process } from "./process.js";

const encoder = new TextEncoder();

/** The guest process /proc/<which> names for p ("self" or a pid), or undefined. */
export function procProcess(p: Process, which: string): Process | undefined {
  if (which === "self" || which === "thread-self") return p;
  const pid = Number(which);
  if (pid === p.pid) return p;
  return p.kernel.processes.get(pid);
}

/** The state letter of ps and /proc/PID/stat. */
function state(q: Process): string {
  if (q.outcome !== undefined) return "Z";
  if (q.stopped) return "T";
  return q.threads.some((t) => !t.exited && t.wait === undefined) ? "R" : "S";
}

/** The command name: the program's file name, at most 15 bytes, as the kernel keeps it. */
function comm(q: Process): string {
  const base = q.exePath.slice(q.exePath.lastIndexOf("/") + 1);
  return encoder.encode(base).length <= 15 ? base : new TextDecoder().decode(encoder.encode(base).subarray(0, 15));
}

/** /proc/PID/stat of a guest process (fields the emulator does not keep are 0). */
export function procStat(q: Process): Uint8Array {
  const fields: (string | number)[] = [q.pid, `(${comm(q)})`, state(q), q.ppid, q.pgid, q.sid, 0, q.kernel.ttyForeground ?? -1, 0];
  // minflt .. cstime, priority, nice, num_threads, itrealvalue, starttime, vsize, rss ...: 43 more fields.
  const rest = new Array<number>(43).fill(0);
  rest[8] = 20; // priority
  rest[10] = q.threads.filter((t) => !t.exited).length; // num_threads
  return encoder.encode(`${fields.join(" ")} ${rest.join(" ")}\n`);
}

/** /proc/PID/status of a guest process: the lines programs read (names, state, ids, threads, signal masks). */
export function procStatus(q: Process): Uint8Array {
  const live = q.threads.filter((t) => !t.exited);
  const hex = (v: bigint): string => v.toString(16).padStart(16, "0");
  const blocked = live[0]?.sigmask ?? 0n;
  let ignored = 0n, caught = 0n;
  q.actions.forEach((a, sig) => {
    if (sig === 0) return;
    if (a.handler === 1) ignored |= 1n << BigInt(sig - 1);
    else if (a.handler !== 0) caught |= 1n << BigInt(sig - 1);
  });
  const names: Record<string, string> = { R: "R (running)", S: "S (sleeping)", T: "T (stopped)", Z: "Z (zombie)" };
  return encoder.encode([
    `Name:\t${comm(q)}`, `Umask:\t${q.umask.toString(8).padStart(4, "0")}`, `State:\t${names[state(q)]}`,
    `Tgid:\t${q.pid}`, "Ngid:\t0", `Pid:\t${q.pid}`, `PPid:\t${q.ppid}`, "TracerPid:\t0",
    `Uid:\t${q.uid}\t${q.uid}\t${q.uid}\t${q.uid}`, `Gid:\t${q.gid}\t${q.gid}\t${q.gid}\t${q.gid}`,
    `NSpid:\t${q.pid}`, `NSpgid:\t${q.pgid}`, `NSsid:\t${q.sid}`, `Threads:\t${live.length}`,
    `SigBlk:\t${hex(blocked)}`, `SigIgn:\t${hex(ignored)}`, `SigCgt:\t${hex(caught)}`, "",
  ].join("\n"));
}
