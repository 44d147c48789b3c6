/**
 * The user-mode emulator's private temporary folders, named
 * tsemu-KIND-PID-XXXXXX in the host's temporary folder.  Each is removed when
 * its process leaves normally; a process killed by a signal cannot, and its
 * folder stays behind.  So making a folder first removes those of processes
 * that are gone (no process has that pid).  Folders of the `fork` kind were
 * made by earlier versions, whose forked children were host processes; they
 * are removed the same way.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export type TempKind = "pipes" | "proc";

const NAME = /^tsemu-(fork|pipes|proc)-(\d+)-[A-Za-z0-9]{6}$/;

let swept = false;

/** A new private folder of `kind` (after removing those left by processes that are gone, once per process). */
export function makeTempDir(kind: TempKind): string {
  if (!swept) {
    swept = true;
    sweepTempDirs(os.tmpdir());
  }
  return fs.mkdtempSync(path.join(os.tmpdir(), `tsemu-${kind}-${process.pid}-`));
}

/** Remove the folders in `root` left by processes that are gone (see above). */
export function sweepTempDirs(root: string): void {
  for (const name of listDir(root)) {
    const m = NAME.exec(name);
    if (m === null) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || running(pid)) continue;
    const dir = path.join(root, name);
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

/** The names in `dir`, or none when it cannot be read (gone meanwhile). */
export function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
