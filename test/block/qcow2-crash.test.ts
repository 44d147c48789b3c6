/**
 * Crash safety: a writer driving the block layer is killed with SIGKILL at
 * random moments, fifty times.  Each image passes `qemu-img check` with at
 * most leaked clusters, `check -r leaks` repairs those, and every write a
 * flush acknowledged before the kill is in the image.  Half the runs write
 * with flushes between dependent metadata updates (cache=writeback), half
 * without (cache=unsafe: the order of writes alone).  A second series adds
 * internal snapshots (create, apply, delete) to the writer's work.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { openImage } from "../../src/block/open.js";
import { checkQcow2 } from "../../src/block/qcow2/check.js";
import { createQcow2 } from "../../src/block/qcow2/create.js";
import type { Qcow2Image } from "../../src/block/qcow2/qcow2.js";
import { nodeBlockHost as host } from "../../src/host/image-file.js";
import { FLUSH_EVERY, IMAGE_SIZE, SLOT, SLOTS, applyOp, plan } from "./crash-plan.js";
import { SKIP_QEMU_IMG, qemuImg, rng, scratch } from "./qemu-img.js";

const WRITER = path.join(path.dirname(fileURLToPath(import.meta.url)), "crash-writer.js");
const RUNS = 50;
const SNAPSHOT_RUNS = 30;

/** Run the writer on `file` and kill it after `delayMs`; returns the last operation a flush covered (-1 for none). */
function runAndKill(file: string, seed: number, delayMs: number, snapshots: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, file, String(seed), ...(snapshots ? ["snapshots"] : [])], { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    let stderr = "";
    child.stdout.setEncoding("utf8");
    // The kill comes a random while after the first acknowledged flush, so that every run
    // has flushed writes to look for, however slow the machine is.
    child.stdout.on("data", (d: string) => {
      const before = /^F /m.test(text);
      text += d;
      if (!before && /^F /m.test(text)) setTimeout(() => child.kill("SIGKILL"), delayMs);
    });
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (signal !== "SIGKILL") { reject(new Error(`writer ended by itself (${code}): ${stderr}`)); return; }
      const flushed = [...text.matchAll(/^F (\d+)$/gm)].map((m) => Number(m[1]));
      resolve(flushed.length === 0 ? -1 : flushed[flushed.length - 1]);
    });
  });
}

/**
 * Kill a writer `runs` times; each image must pass qemu-img check with leaks at most (or, killed inside
 * a snapshot operation, carry the dirty bit and be mended by `check -r all`), the repair must leave it
 * clean, and what the last acknowledged flush covered must be there (with `snapshots`, in each
 * snapshot too, read by qemu-img).
 */
async function crashRuns(runs: number, firstSeed: number, snapshots: boolean): Promise<string> {
  const dir = scratch("crash");
  try {
    const template = path.join(dir, "template.qcow2");
    createQcow2(host, template, {
      size: IMAGE_SIZE, clusterSize: 4096, version: 3, backingFile: "", backingFormat: "", lazyRefcounts: false,
      refcountBits: 16, extendedL2: false, preallocation: "off",
    });
    const pick = rng(2026);
    let leaky = 0;
    let totalFlushed = 0;
    let snapshotsRead = 0;
    let dirtyRuns = 0;
    for (let run = 0; run < runs; run++) {
      const file = path.join(dir, `run${run}.qcow2`);
      fs.copyFileSync(template, file);
      const seed = firstSeed + run;
      const lastFlushed = await runAndKill(file, seed, pick(40), snapshots);
      totalFlushed += lastFlushed + 1;

      const check = qemuImg("check", file);
      assert.ok(lastFlushed >= 0, `run ${run}: no flush was acknowledged before the kill`);
      // Killed inside a snapshot operation, an image may be inconsistent, but then it says so with the dirty bit.
      const dirty = (fs.readFileSync(file).readUInt8(79) & 1) !== 0;
      assert.ok(check.status === 0 || check.status === 3 || (snapshots && dirty && check.status === 2),
        `run ${run}: qemu-img check says ${check.status}${dirty ? " (dirty)" : ""}: ${check.stdout}${check.stderr}`);
      if (check.status === 3) leaky++;
      if (check.status === 2) {
        dirtyRuns++;
        const copy = path.join(dir, "copy.qcow2");
        fs.copyFileSync(file, copy);
        assert.equal(qemuImg("check", "-r", "all", copy).status, 0, `run ${run}: qemu-img check -r all did not mend the dirty image`);
      }

      // Expected contents: everything up to the last acknowledged flush; slots the
      // operations after it may have touched (up to two flush intervals) are not checked,
      // nor anything when a snapshot may have been applied or deleted there.
      const model = new Uint8Array(IMAGE_SIZE);
      const saved = new Map<string, Uint8Array>();
      const unsure = new Set<number>();
      const unsureSnapshots = new Set<string>();
      let applied = false;
      let i = 0;
      for (const op of plan(seed, snapshots)) {
        if (i <= lastFlushed) applyOp(model, op, saved);
        else if (op.kind !== "snapshot") unsure.add(op.slot);
        else if (op.action === "apply") applied = true;
        else unsureSnapshots.add(op.name);
        if (++i > lastFlushed + 2 * FLUSH_EVERY) break;
      }
      const img = openImage(host, file, { readOnly: true });
      const got = new Uint8Array(IMAGE_SIZE);
      img.read(0, got);
      img.close();
      for (let s = 0; s < SLOTS && !applied; s++) {
        if (unsure.has(s)) continue;
        const a = got.subarray(s * SLOT, (s + 1) * SLOT);
        const b = model.subarray(s * SLOT, (s + 1) * SLOT);
        assert.ok(a.every((v, k) => v === b[k]), `run ${run}: slot ${s} lost flushed data (last flush covered op ${lastFlushed})`);
      }
      for (const [name, want] of saved) {
        if (unsureSnapshots.has(name)) continue;
        const raw = path.join(dir, "snapshot.raw");
        const r = qemuImg("convert", "-l", `snapshot.name=${name}`, "-O", "raw", file, raw);
        assert.equal(r.status, 0, `run ${run}: snapshot ${name} is not there: ${r.stderr}`);
        assert.ok(new Uint8Array(fs.readFileSync(raw)).every((v, k) => v === want[k]), `run ${run}: snapshot ${name} holds other data`);
        snapshotsRead++;
      }

      if (check.status !== 0) {
        const fix = openImage(host, file, { readOnly: false, forRepair: true }) as Qcow2Image;
        const r = checkQcow2(fix, true, check.status === 2);
        fix.close();
        assert.ok(r.leaksFixed + r.corruptionsFixed > 0);
        assert.equal(qemuImg("check", file).status, 0, `run ${run}: errors remain after tsemu's repair`);
      }
      fs.rmSync(file);
    }
    return `${runs} kills, ${totalFlushed} flushed operations, ${leaky} images with leaked clusters`
      + `${snapshots ? `, ${dirtyRuns} killed inside a snapshot operation (dirty, repaired), ${snapshotsRead} snapshots read back` : ""}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test(`a writer killed ${RUNS} times leaves images with leaks at most and every flushed write`, { skip: SKIP_QEMU_IMG, timeout: 120000 }, async (t) => {
  t.diagnostic(await crashRuns(RUNS, 1000, false));
});

test(`a writer that also creates, applies and deletes snapshots, killed ${SNAPSHOT_RUNS} times: leaks at most, flushed data and snapshots kept`,
  { skip: SKIP_QEMU_IMG, timeout: 120000 }, async (t) => {
    t.diagnostic(await crashRuns(SNAPSHOT_RUNS, 5000, true));
  });
