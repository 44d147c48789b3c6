/**
 * The user-mode emulator's private temporary folders, named
 * tsemu-KIND-PID-XXXXXX in the host's temporary folder.  Each is removed when
 * its process leaves normally; a process killed by a signal cannot, and its
 * folder stays behind.  So making a folder first removes those of processes
 * that are gone: no process has that pid, and no fork snapshot in the folder
 * is younger than GRACE_MS (a child forked just before its parent was killed
 * may still be starting, and reads its snapshot from there).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export type TempKind = "fork" | "pipes" | "proc";

const NAME = /^tsemu-(fork|pipes|proc)-(\d+)-[A-Za-z0-9]{6}$/;
/** How Process.fork names its snapshots (fork-PID-N). */
export const SNAPSHOT_PREFIX = "fork-";
/** A snapshot this old whose child has not read it never will be. */
const GRACE_MS = 60_000;

let swept = false;

/** A new private folder of `kind` (after removing those left by processes that are gone, once per process). */
export function makeTempDir(kind: TempKind): string {
  if (!swept) {
    swept = true;
    sweepTempDirs(os.tmpdir(), Date.now());
  }
  return fs.mkdtempSync(path.join(os.tmpdir(), `tsemu-${kind}-${process.pid}-`));
}

/** Remove the folders in `root` left by processes that are gone (see above). */
export function sweepTempDirs(root: string, nowMs: number): void {
  for (const name of listDir(root)) {
    const m = NAME.exec(name);
    if (m === null) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || running(pid)) continue;
    const dir = path.join(root, name);
    if (m[1] === "fork" && hasFreshSnapshot(dir, nowMs)) continue;
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch { /* another user's, or removed meanwhile */ }
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function hasFreshSnapshot(dir: string, nowMs: number): boolean {
  for (const name of listDir(dir)) {
    if (!name.startsWith(SNAPSHOT_PREFIX)) continue;
    try {
      if (nowMs - fs.statSync(path.join(dir, name)).mtimeMs < GRACE_MS) return true;
    } catch { /* read and removed by its child meanwhile */ }
  }
  return false;
}

/** The names in `dir`, or none when it cannot be read (gone meanwhile). */
export function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
