/**
 * fork, vfork and clone of a new process: the child is another Process of
 * the same kernel.  Without CLONE_VM it gets a copy-on-write copy of the
 * parent's memory (AddressSpace.fork); with CLONE_VM (vfork, posix_spawn) it
 * runs on the parent's own memory, and with CLONE_VFORK the parent's thread
 * waits until the child has exec'd or ended.  Descriptors are shared open
 * files, dispositions and limits are copied, pending signals and timers are
 * not, as in Linux.
 */
import { Errno, errnoFromHost } from "./errno.js";
import { NO_RESULT, type SyscallResult } from "./syscall.js";
import { Process } from "./process.js";
import type { Thread } from "./thread.js";
import { Prot, type AddressSpace } from "./address-space.js";
import { MAX_PROCESSES } from "./kernel.js";
import { inheritProcessState, processLimit } from "./syscalls/info.js";

export const CLONE_VM = 0x100, CLONE_SETTLS = 0x80000, CLONE_PARENT_SETTID = 0x100000,
  CLONE_CHILD_CLEARTID = 0x200000, CLONE_CHILD_SETTID = 0x01000000, CLONE_VFORK = 0x4000;

export interface ForkArgs {
  flags: number;
  /** The child's stack pointer (0: the parent's). */
  stack: number;
  tls: number;
  ptid: number;
  ctid: number;
}

/** Copy the registers a new thread or process starts with from thread t. */
export function copyRegisters(from: Thread, to: Thread): void {
  const f = from.cpu, c = to.cpu;
  c.xl.set(f.xl);
  c.xh.set(f.xh);
  c.fl.set(f.fl);
  c.fh.set(f.fh);
  c.fflags = f.fflags;
  c.frm = f.frm;
  c.pc = f.pc; // already past the ecall
}

/** Make the new process; the parent's result (the child's pid, or NO_RESULT while a vfork parent waits). */
export function forkProcess(p: Process, t: Thread, args: ForkArgs): SyscallResult {
  const k = p.kernel;
  if (k.count() >= MAX_PROCESSES || k.count() >= processLimit(p)) return -Errno.EAGAIN;
  const shareVm = (args.flags & CLONE_VM) !== 0;
  let as: AddressSpace;
  try {
    as = shareVm ? p.as : p.as.fork();
  } catch (e) {
    return -errnoFromHost(e); // a shared file mapping's descriptor could not be opened again
  }
  if (shareVm) as.users++;
  const child = new Process(k, p.opts, k.allocId(), as);
  child.ppid = p.pid;
  child.pgid = p.pgid;
  child.sid = p.sid;
  child.fds = p.fds.copy();
  p.actions.forEach((a, i) => { child.actions[i] = { ...a }; });
  child.umask = p.umask;
  child.cwd = p.cwd;
  child.exePath = p.exePath;
  child.stackSize = p.stackSize;
  child.uid = p.uid;
  child.gid = p.gid;
  child.trampoline = p.trampoline;
  inheritProcessState(p, child);

  const ct = child.newThread(child.pid);
  copyRegisters(t, ct);
  ct.cpu.setXNumber(10, 0);
  if (args.stack !== 0) ct.cpu.setXNumber(2, args.stack);
  if ((args.flags & CLONE_SETTLS) !== 0) ct.cpu.setXNumber(4, args.tls);
  ct.sigmask = t.sigmask;
  ct.altStack = { ...t.altStack };
  if ((args.flags & CLONE_CHILD_CLEARTID) !== 0) ct.clearChildTid = args.ctid;
  child.threads.push(ct);
  if ((args.flags & CLONE_CHILD_SETTID) !== 0 && as.check(args.ctid, 4, Prot.WRITE)) as.writeU32(args.ctid, child.pid);
  if ((args.flags & CLONE_PARENT_SETTID) !== 0 && p.as.check(args.ptid, 4, Prot.WRITE)) p.as.writeU32(args.ptid, child.pid);

  p.children.set(child.pid, { status: undefined, reaped: false, pgid: child.pgid, stopped: 0, continued: false });
  child.forkPending = true;
  k.add(child);
  k.forks++;
  if ((args.flags & CLONE_VFORK) === 0) return child.pid;
  child.vforkParent = t;
  t.wait = { kind: "vfork", addr: 0, bitset: 0, deadline: Infinity };
  return NO_RESULT;
}
