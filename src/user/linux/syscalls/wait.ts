/** wait4 and waitid: collect the status of children that have ended. */
import { define, NO_RESULT } from "../syscall.js";
import { Errno } from "../errno.js";
import { Prot } from "../address-space.js";
import type { Process, Child } from "../process.js";
import type { Thread } from "../thread.js";

const WNOHANG = 1;

/**
 * The child wait4's pid argument selects that has ended: pid > 0 that one,
 * -1 any, 0 any in the caller's process group, < -1 any in group -pid;
 * undefined while they all run, "none" when there is no such child.
 */
function pick(p: Process, pid: number): [number, Child] | undefined | "none" {
  let any = false;
  const group = pid === 0 ? p.pgid : pid < -1 ? -pid : undefined;
  for (const [cpid, c] of p.children) {
    if (c.reaped || (pid > 0 && cpid !== pid)) continue;
    if (group !== undefined && (p.kernel.processes.get(cpid)?.pgid ?? c.pgid) !== group) continue;
    any = true;
    if (c.status !== undefined) return [cpid, c];
  }
  return any ? undefined : "none";
}

function reap(p: Process, pid: number, c: Child): void {
  c.reaped = true;
  p.children.delete(pid);
  p.kernel.reaped();
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
  if (wstatus !== 0 && !p.as.check(wstatus, 4, Prot.WRITE)) return -Errno.EFAULT;
  const found = pick(p, pid);
  if (found === "none") return -Errno.ECHILD;
  if (found === undefined) return (options & WNOHANG) !== 0 ? 0 : block(t, a.n(0));
  const [cpid, c] = found;
  reap(p, cpid, c);
  if (wstatus !== 0) p.as.writeU32(wstatus, c.status as number);
  if (rusage !== 0 && p.as.check(rusage, 144, Prot.WRITE)) p.as.write(rusage, new Uint8Array(144));
  return cpid;
});

const P_ALL = 0, P_PID = 1, P_PGID = 2, WEXITED = 4, WNOWAIT = 0x01000000;

define(95, "waitid", (p, t, a) => {
  const idtype = a.i32(0);
  const id = a.i32(1);
  const info = a.n(2);
  const options = a.i32(3);
  if ((options & WEXITED) === 0) return -Errno.EINVAL;
  if (idtype !== P_ALL && idtype !== P_PID && idtype !== P_PGID) return -Errno.EINVAL;
  if (info !== 0 && !p.as.check(info, 128, Prot.WRITE)) return -Errno.EFAULT;
  const found = pick(p, idtype === P_PID ? id : idtype === P_PGID ? (id === 0 ? 0 : -id) : -1);
  if (found === "none") return -Errno.ECHILD;
  if (found === undefined) {
    if ((options & WNOHANG) !== 0) {
      if (info !== 0) p.as.write(info, new Uint8Array(128));
      return 0;
    }
    return block(t, a.n(0));
  }
  const [cpid, c] = found;
  if ((options & WNOWAIT) === 0) reap(p, cpid, c);
  if (info !== 0) {
    const status = c.status as number;
    const killed = (status & 0x7f) !== 0;
    const b = new Uint8Array(128);
    const dv = new DataView(b.buffer);
    dv.setInt32(0, 17, true); // SIGCHLD
    dv.setInt32(8, killed ? ((status & 0x80) !== 0 ? 3 : 2) : 1, true);
    dv.setInt32(16, cpid, true);
    dv.setInt32(20, p.uid, true);
    dv.setInt32(24, killed ? status & 0x7f : (status >> 8) & 0xff, true);
    p.as.write(info, b);
  }
  return 0;
});
