/**
 * A background process and its terminal, as Linux's tty layer has them
 * (__tty_check_change, job_control): a process of the terminal's session
 * whose group is not the terminal's foreground group gets SIGTTIN for a
 * read of the terminal, and SIGTTOU for a write when the terminal has
 * TOSTOP set or for a change to the terminal's settings; the whole group
 * gets the signal (which stops it by default) and the call is made again
 * once it goes on.  A read with SIGTTIN ignored or blocked, or by an
 * orphaned group, fails with EIO; a write or a change with SIGTTOU ignored
 * or blocked goes ahead (what an interactive shell relies on to take the
 * terminal back), by an orphaned group fails with EIO.
 *
 * The terminal is the one tsemu was started on: its session is the first
 * process's (Kernel.ttySession), its foreground group the one the guest set
 * with TIOCSPGRP, or the group tsemu started in; for a read, every guest
 * group is in the background while tsemu is a background job on the host.
 */
import { Errno } from "./errno.js";
import type { OpenFile } from "./fd-table.js";
import type { Process } from "./process.js";
import type { Thread } from "./thread.js";
import { NO_RESULT } from "./syscall.js";
import { retryLater, sigbit, SI_KERNEL, SIG_IGN, SIGTTIN, SIGTTOU } from "./signal.js";
import * as tty from "../../host/tty.js";

const TOSTOP = 0o400;

/**
 * May p's thread t read (SIGTTIN) or write or change (SIGTTOU) the
 * terminal f?  undefined: yes; a negative errno; or NO_RESULT when its group
 * was signalled and the call waits to be made again.
 */
export function ttyCheck(p: Process, t: Thread, f: OpenFile, signo: typeof SIGTTIN | typeof SIGTTOU,
  write = false): number | typeof NO_RESULT | undefined {
  const k = p.kernel;
  if (k.ttySession === undefined || p.sid !== k.ttySession || !tty.isatty(f.hostFd)) return undefined;
  const hostBg = signo === SIGTTIN && hostBackground(k.hostGroup, f);
  if (p.pgid === (k.ttyForeground ?? k.hostGroup) && !hostBg) return undefined;
  // tsemu's own group orphaned on the host: the kernel would discard the stop, and a read gets EIO.
  if (hostBg && tty.ownGroupOrphaned()) return -Errno.EIO;
  if (write && (tty.getTermios(f.hostFd).lflag & TOSTOP) === 0) return undefined;
  if (p.actions[signo].handler === SIG_IGN || (t.sigmask & sigbit(signo)) !== 0n) {
    return signo === SIGTTIN ? -Errno.EIO : undefined;
  }
  if (orphaned(p)) return -Errno.EIO;
  for (const q of k.group(p.pgid)) q.sendSignal({ signo, code: SI_KERNEL, pid: 0, uid: 0, addr: 0, status: 0 });
  retryLater(t, 0);
  return NO_RESULT;
}

/**
 * tsemu itself is a background job of the host's terminal (a host shell ran
 * it with `&`): its terminal's foreground group is not tsemu's.  A guest read
 * of the terminal then stops the reading group as a background read would,
 * and so tsemu on the host (as qemu-riscv64 stops when the host's SIGTTIN
 * stops its guest): a read of the host terminal would take input meant for
 * the host shell, whose SIGTTIN tsemu would only pass to the guest later.
 */
function hostBackground(hostGroup: number, f: OpenFile): boolean {
  const fg = tty.controllingForeground(f.hostFd);
  return fg !== undefined && fg !== hostGroup;
}

/**
 * Whether p's process group is orphaned: no member has a parent in another
 * group of the same session.  The first process's parent is the host
 * process that started tsemu (a shell), which is.
 */
function orphaned(p: Process): boolean {
  const k = p.kernel;
  return !k.group(p.pgid).some((m) => {
    if (m.pid === k.firstPid) return true;
    const parent = k.processes.get(m.ppid);
    return parent !== undefined && parent.pgid !== m.pgid && parent.sid === m.sid;
  });
}
