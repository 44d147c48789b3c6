/**
 * Crash safety: a writer driving the block layer is killed with SIGKILL at
 * random moments, fifty times.  Each image passes `qemu-img check` with at
 * most leaked clusters, `check -r leaks` repairs those, and every write a
 * flush acknowledged before the kill is in the image.  Half the runs write
 * with flushes between dependent metadata updates (cache=writeback), half
 * without (cache=unsafe: the order of writes alone).
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

/** Run the writer on `file` and kill it after `delayMs`; returns the last operation a flush covered (-1 for none). */
function runAndKill(file: string, seed: number, delayMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, file, String(seed)], { stdio: ["ignore", "pipe", "pipe"] });
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

test(`a writer killed ${RUNS} times leaves images with leaks at most and every flushed write`, { skip: SKIP_QEMU_IMG, timeout: 120000 }, async (t) => {
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
    for (let run = 0; run < RUNS; run++) {
      const file = path.join(dir, `run${run}.qcow2`);
      fs.copyFileSync(template, file);
      const seed = 1000 + run;
      const lastFlushed = await runAndKill(file, seed, pick(40));
      totalFlushed += lastFlushed + 1;

      const check = qemuImg("check", file);
      assert.ok(lastFlushed >= 0, `run ${run}: no flush was acknowledged before the kill`);
      assert.ok(check.status === 0 || check.status === 3, `run ${run}: qemu-img check says ${check.status}: ${check.stdout}${check.stderr}`);
      if (check.status === 3) leaky++;

      // Expected contents: everything up to the last acknowledged flush; slots the
      // operations after it may have touched (up to two flush intervals) are not checked.
      const model = new Uint8Array(IMAGE_SIZE);
      const unsure = new Set<number>();
      let i = 0;
      for (const op of plan(seed)) {
        if (i <= lastFlushed) applyOp(model, op);
        else unsure.add(op.slot);
        if (++i > lastFlushed + 2 * FLUSH_EVERY) break;
      }
      const img = openImage(host, file, { readOnly: true });
      const got = new Uint8Array(IMAGE_SIZE);
      img.read(0, got);
      img.close();
      for (let s = 0; s < SLOTS; s++) {
        if (unsure.has(s)) continue;
        const a = got.subarray(s * SLOT, (s + 1) * SLOT);
        const b = model.subarray(s * SLOT, (s + 1) * SLOT);
        assert.ok(a.every((v, k) => v === b[k]), `run ${run}: slot ${s} lost flushed data (last flush covered op ${lastFlushed})`);
      }

      if (check.status === 3) {
        const fix = openImage(host, file, { readOnly: false, forRepair: true }) as Qcow2Image;
        const r = checkQcow2(fix, true, false);
        fix.close();
        assert.ok(r.leaksFixed > 0);
        assert.equal(qemuImg("check", file).status, 0, `run ${run}: leaks remain after repair`);
      }
      fs.rmSync(file);
    }
    t.diagnostic(`${RUNS} kills, ${totalFlushed} flushed operations, ${leaky} images with leaked clusters`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
