/**
 * The private folder where a user-mode process leaves what its forked
 * children need: the fork snapshots (read and deleted by each child as it
 * starts), the children's exit-status files and their signal inboxes.
 *
 * Nothing in it may outlive the run, yet a parent may exit before a child it
 * just forked has read its snapshot (a background job of a shell that exits
 * at once).  So the parent, leaving, removes everything except snapshots not
 * yet read, and the folder itself when that leaves it empty; a child, leaving
 * after its parent, removes its own files and then the folder if it is empty.
 * Whoever leaves last removes the folder.  (A process killed by a signal
 * leaves its folder: see temp-dirs.ts.)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { listDir, makeTempDir, SNAPSHOT_PREFIX } from "./temp-dirs.js";

/** A process's fork folder, made on first use. */
export class ForkDir {
  private dir: string | undefined;

  /** The folder (created now if needed). */
  path(): string {
    this.dir ??= makeTempDir("fork");
    return this.dir;
  }

  /** The parent leaves: keep only snapshots that a child has still to read. */
  leave(): void {
    if (this.dir === undefined) return;
    removeAllBut(this.dir, (name) => name.startsWith(SNAPSHOT_PREFIX));
  }
}

/**
 * A forked child leaves: when its parent has gone (so nobody will read its
 * status or write its inbox), remove its files, then the folder if empty.
 */
export function leaveParentDir(files: readonly string[], parentAlive: boolean): void {
  if (parentAlive || files.length === 0) return;
  for (const f of files) fs.rmSync(f, { force: true });
  try {
    fs.rmdirSync(path.dirname(files[0]));
  } catch { /* siblings' files remain: the last of them removes the folder */ }
}

function removeAllBut(dir: string, keep: (name: string) => boolean): void {
  for (const name of listDir(dir)) {
    if (!keep(name)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
  try {
    fs.rmdirSync(dir);
  } catch { /* a child's snapshot is still unread: that child removes the folder */ }
}
