/** wait4 and waitid: collect the status of children that have ended, stopped or continued. */
import { addUsage, noUsage, RUSAGE_SIZE, rusage as rusageOf } from "../cpu-time.js";
import { define, NO_RESULT } from "../syscall.js";
import { Errno } from "../errno.js";
import { Prot } from "../address-space.js";
import type { Process, Child } from "../process.js";
import type { Thread } from "../thread.js";

const WNOHANG = 1, WUNTRACED = 2, WEXITED = 4, WCONTINUED = 8, WNOWAIT = 0x01000000;
const P_ALL = 0, P_PID = 1, P_PGID = 2;
const SIGCHLD = 17, SIGCONT = 18;
const CLD_EXITED = 1, CLD_KILLED = 2, CLD_DUMPED = 3, CLD_STOPPED = 5, CLD_CONTINUED = 6;

/** What a wait reports of a child: its end, its stop or its continuing. */
type Event = "ended" | "stopped" | "continued";

interface Found { pid: number; child: Child; event: Event }

/**
 * The child the pid argument selects (pid > 0 that one, -1 any, 0 any in the
 * caller's process group, < -1 any in group -pid) that has something the
 * options ask for to report; undefined while none has, "none" when there is
 * no such child.
 */
function pick(p: Process, pid: number, options: number): Found | undefined | "none" {
  let any = false;
  const group = pid === 0 ? p.pgid : pid < -1 ? -pid : undefined;
  for (const [cpid, c] of p.children) {
    if (c.reaped || (pid > 0 && cpid !== pid)) continue;
    if (group !== undefined && (p.kernel.processes.get(cpid)?.pgid ?? c.pgid) !== group) continue;
    any = true;
    if (c.status !== undefined && (options & WEXITED) !== 0) return { pid: cpid, child: c, event: "ended" };
    if (c.stopped !== 0 && (options & WUNTRACED) !== 0) return { pid: cpid, child: c, event: "stopped" };
    if (c.continued && (options & WCONTINUED) !== 0) return { pid: cpid, child: c, event: "continued" };
  }
  return any ? undefined : "none";
}

/**
 * Take what is reported: an ended child is reaped (its CPU time, faults and context switches join p's
 * children's, its high-water RSS counts in theirs), a stop or continue reported once.
 */
function consume(p: Process, f: Found): void {
  if (f.event === "stopped") f.child.stopped = 0;
  else if (f.event === "continued") f.child.continued = false;
  else {
    f.child.reaped = true;
    p.children.delete(f.pid);
    if (f.child.usage !== undefined) addUsage(p.childUsage, f.child.usage);
  }
}

/**
 * What wait4's and waitid's rusage report of the child found: its CPU time, high-water RSS, minor
 * faults and context switches, with those of the children it reaped (the rest 0).
 */
function usageOf(p: Process, f: Found): Uint8Array {
  return rusageOf(f.child.usage ?? p.kernel.processes.get(f.pid)?.usageWithChildren() ?? noUsage());
}

/** The wait status word: exit code or signal, 0x7f with the stop signal, 0xffff for continued. */
function statusWord(f: Found): number {
  if (f.event === "stopped") return (f.child.stopped << 8) | 0x7f;
  if (f.event === "continued") return 0xffff;
  return f.child.status as number;
}

function block(t: Thread, a0: number): typeof NO_RESULT {
  t.retryA0 = a0;
  t.wait = { kind: "child", addr: 0, bitset: 0, deadline: Infinity };
  return NO_RESULT;
}

define(260, "wait4", (p, t, a) => {
  const pid = a.i32(0);
  const wstatus = a.n(1);
  const options = a.i32(2);
  const rusage = a.n(3);
  if ((options & ~(WNOHANG | WUNTRACED | WCONTINUED | 0xe0000000)) !== 0) return -Errno.EINVAL;
  if (wstatus !== 0 && !p.as.check(wstatus, 4, Prot.WRITE)) return -Errno.EFAULT;
  const found = pick(p, pid, options | WEXITED);
  if (found === "none") return -Errno.ECHILD;
  if (found === undefined) return (options & WNOHANG) !== 0 ? 0 : block(t, a.n(0));
  const word = statusWord(found);
  const usage = usageOf(p, found);
  consume(p, found);
  if (wstatus !== 0) p.as.writeU32(wstatus, word);
  if (rusage !== 0 && p.as.check(rusage, RUSAGE_SIZE, Prot.WRITE)) p.as.write(rusage, usage);
  return found.pid;
});

define(95, "waitid", (p, t, a) => {
  const idtype = a.i32(0);
  const id = a.i32(1);
  const info = a.n(2);
  const options = a.i32(3);
  // WSTOPPED is WUNTRACED's bit.
  if ((options & (WEXITED | WUNTRACED | WCONTINUED)) === 0) return -Errno.EINVAL;
  if (idtype !== P_ALL && idtype !== P_PID && idtype !== P_PGID) return -Errno.EINVAL;
  if (info !== 0 && !p.as.check(info, 128, Prot.WRITE)) return -Errno.EFAULT;
  const found = pick(p, idtype === P_PID ? id : idtype === P_PGID ? (id === 0 ? 0 : -id) : -1, options);
  if (found === "none") return -Errno.ECHILD;
  if (found === undefined) {
    if ((options & WNOHANG) !== 0) {
      if (info !== 0) p.as.write(info, new Uint8Array(128));
      return 0;
    }
    return block(t, a.n(0));
  }
  const usage = usageOf(p, found);
  if (info !== 0) {
    const b = new Uint8Array(128);
    const dv = new DataView(b.buffer);
    let code: number, status: number;
    if (found.event === "stopped") {
      code = CLD_STOPPED;
      status = found.child.stopped;
    } else if (found.event === "continued") {
      code = CLD_CONTINUED;
      status = SIGCONT;
    } else {
      const word = found.child.status as number;
      const killed = (word & 0x7f) !== 0;
      code = killed ? ((word & 0x80) !== 0 ? CLD_DUMPED : CLD_KILLED) : CLD_EXITED;
      status = killed ? word & 0x7f : (word >> 8) & 0xff;
    }
    dv.setInt32(0, SIGCHLD, true);
    dv.setInt32(8, code, true);
    dv.setInt32(16, found.pid, true);
    dv.setInt32(20, p.uid, true);
    dv.setInt32(24, status, true);
    p.as.write(info, b);
  }
  if ((options & WNOWAIT) === 0) consume(p, found);
  // The child's use, as wait4 reports it (Linux copies it out last: a bad address fails after the reaping).
  const rusage = a.n(4);
  if (rusage === 0) return 0;
  if (!p.as.check(rusage, RUSAGE_SIZE, Prot.WRITE)) return -Errno.EFAULT;
  p.as.write(rusage, usage);
  return 0;
});
