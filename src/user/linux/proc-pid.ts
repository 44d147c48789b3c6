/**
 * /proc of guest processes.  Every guest process lives in one host process,
 * so the host's /proc describes tsemu (Node), not them: the files that
 * describe a process (stat, status) are made up for every guest process, as
 * qemu-riscv64 makes up its guest's /proc/self/stat (with the CPU times the
 * scheduler measured, cpu-time.ts; memory figures are 0); /proc/PID is there
 * for every live guest process, and a listing of /proc shows them and no
 * host process.
 */
import type { Process } from "./process.js";
import { ticks } from "./cpu-time.js";

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
  const own = q.cpuTimes();
  rest[4] = ticks(own.user); // utime
  rest[5] = ticks(own.system); // stime
  rest[6] = ticks(q.childUsage.times.user); // cutime
  rest[7] = ticks(q.childUsage.times.system); // cstime
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

/** A directory entry as getdents64 gives it. */
export interface DirEntry { name: string; type: number; ino: bigint }

const DT_DIR = 4;
/** Where the inode numbers made up for guest process directories start. */
const PID_INO_BASE = 1n << 40n;

/**
 * The guest's /proc: the host's entries but its processes (a directory
 * named by a pid is the host's process of that number, not the guest's),
 * then a directory for every live guest process of the run, in pid order,
 * as Linux lists them.  (A zombie has none: its /proc/PID is gone too.)
 */
export function procRootEntries(p: Process, host: DirEntry[]): DirEntry[] {
  const out = host.filter((e) => !/^[0-9]+$/.test(e.name));
  const pids = [...p.kernel.processes.keys()].sort((x, y) => x - y);
  for (const pid of pids) out.push({ name: String(pid), type: DT_DIR, ino: PID_INO_BASE + BigInt(pid) });
  return out;
}
