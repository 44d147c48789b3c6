/**
 * Private temporary folders left by killed runs: making a new one removes
 * those of processes that are gone (fork folders of earlier versions too) and
 * keeps those of running processes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { sweepTempDirs } from "../../src/host/temp-dirs.js";

/** The pid of a process that has ended. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

test("folders of ended processes are removed; running owners' are kept", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "temp-dirs-test-"));
  try {
    const dead = deadPid();
    const make = (name: string, files: Record<string, number> = {}): string => {
      const dir = path.join(root, name);
      fs.mkdirSync(dir);
      for (const [f, ageMs] of Object.entries(files)) {
        const file = path.join(dir, f);
        fs.writeFileSync(file, "x");
        const t = (Date.now() - ageMs) / 1000;
        fs.utimesSync(file, t, t);
      }
      return dir;
    };
    const gonePipes = make(`tsemu-pipes-${dead}-abc123`, { p3: 0 });
    const goneProc = make(`tsemu-proc-${dead}-Zz9Yy8`);
    const goneFork = make(`tsemu-fork-${dead}-q1w2e3`, { "status-5-1": 0, "fork-5-2": 5 * 60_000 });
    const live = make(`tsemu-pipes-${process.ppid}-u7i8o9`);
    const mine = make(`tsemu-proc-${process.pid}-p0a1s2`);
    const other = make(`tsemu-${dead}-d3f4g5`);
    sweepTempDirs(root);
    const exists = (d: string): boolean => fs.existsSync(d);
    assert.equal(exists(gonePipes), false, "a pipes folder of an ended process");
    assert.equal(exists(goneProc), false, "a proc folder of an ended process");
    assert.equal(exists(goneFork), false, "a fork folder of an earlier version");
    assert.equal(exists(live), true, "a running process's folder");
    assert.equal(exists(mine), true, "this process's own folder");
    assert.equal(exists(other), true, "a name not of this scheme");
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
