/**
 * Anonymous read-only files with given contents, for the /proc files the
 * emulator makes up (the guest's /proc/self/auxv, cmdline, maps): a file in
 * a private temporary directory, unlinked as soon as it is open, reopened
 * read-only through /proc/self/fd so that writes fail as they would.
 */
import * as fs from "node:fs";
import { makeTempDir } from "./temp-dirs.js";
import path from "node:path";

let dir: string | undefined;
let serial = 0;

/** A host descriptor open read-only at offset 0 on a file holding `data`. */
export function makeMemFile(data: Uint8Array): number {
  if (dir === undefined) {
    dir = makeTempDir("proc");
    const made = dir;
    process.on("exit", () => {
      try { fs.rmSync(made, { recursive: true, force: true }); } catch { /* already gone */ }
    });
  }
  const file = path.join(dir, `f${serial++}`);
  const rw = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o400);
  try {
    fs.unlinkSync(file);
    let done = 0;
    while (done < data.length) done += fs.writeSync(rw, data, done, data.length - done, done);
    return fs.openSync(`/proc/self/fd/${rw}`, fs.constants.O_RDONLY);
  } finally {
    fs.closeSync(rw);
  }
}
