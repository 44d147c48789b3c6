/**
 * The crash test's writer: runs the plan on an image through the block
 * layer until it is killed, printing "F n" after each flush that covers
 * operations 0..n.  Usage: node crash-writer.js IMAGE SEED [snapshots]
 */
import * as fs from "node:fs";
import { openImage } from "../../src/block/open.js";
import type { Qcow2Image } from "../../src/block/qcow2/qcow2.js";
import { nodeBlockHost } from "../../src/host/image-file.js";
import { FLUSH_EVERY, SLOT, plan } from "./crash-plan.js";

/** Run the plan until killed. */
function run(file: string, seedText: string, snapshots: boolean): void {
  // Odd seeds flush between dependent metadata writes, even seeds rely on their order alone.
  const img = openImage(nodeBlockHost, file, { readOnly: false, format: "qcow2", barriers: Number(seedText) % 2 === 1 }) as Qcow2Image;
  fs.writeSync(1, "R\n");
  let i = 0;
  for (const op of plan(Number(seedText), snapshots)) {
    if (op.kind === "snapshot") {
      if (op.action === "create") img.createSnapshot(op.name, { sec: 1_700_000_000 + i, nsec: 0 });
      else if (op.action === "apply") img.applySnapshot(op.name);
      else img.deleteSnapshot(op.name);
    } else {
      const base = op.slot * SLOT;
      if (op.kind === "write") img.write(base + op.offset, new Uint8Array(op.length).fill(op.value));
      else if (op.kind === "zero") img.writeZeroes(base, SLOT, (i & 1) === 0);
      else img.discard(base, SLOT);
    }
    if (i % FLUSH_EVERY === FLUSH_EVERY - 1) {
      img.flush();
      fs.writeSync(1, `F ${i}\n`);
    }
    i++;
  }
}

// The test runner also loads every module under test/: without arguments this does nothing.
const [file, seedText, mode] = process.argv.slice(2);
if (file !== undefined && seedText !== undefined) run(file, seedText, mode === "snapshots");
