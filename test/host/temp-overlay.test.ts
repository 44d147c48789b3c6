/** -snapshot's temporary qcow2 overlay: writes land in the overlay, reads merge it over the base, the base is untouched. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Drive } from "../../src/block/drive.js";
import { openImage } from "../../src/block/open.js";
import { createQcow2 } from "../../src/block/qcow2/create.js";
import { nodeBlockHost as host } from "../../src/host/image-file.js";
import { temporaryOverlay } from "../../src/host/temp-overlay.js";

test("a temporary overlay over raw and over qcow2 keeps the base as it was", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-overlay-"));
  try {
    const raw = path.join(dir, "base.raw");
    fs.writeFileSync(raw, new Uint8Array(1 << 20).fill(5));
    const q = path.join(dir, "base.qcow2");
    createQcow2(host, q, { size: 1 << 20, clusterSize: 4096, version: 3, backingFile: "base.raw", backingFormat: "raw", lazyRefcounts: false, refcountBits: 16, extendedL2: false, preallocation: "off" });
    for (const base of [raw, q]) {
      const before = fs.readFileSync(base);
      const drive = new Drive(temporaryOverlay(openImage(host, base, { readOnly: true })), { cache: "writeback", discard: "unmap", detectZeroes: "unmap" });
      drive.write(1000, new Uint8Array(70000).fill(9));
      drive.write(200000, new Uint8Array(65536));
      drive.flush();
      const got = new Uint8Array(1 << 20);
      drive.read(0, got);
      drive.close();
      const want = new Uint8Array(1 << 20).fill(5);
      want.fill(9, 1000, 71000);
      want.fill(0, 200000, 265536);
      assert.deepEqual(got, want, base);
      assert.deepEqual(fs.readFileSync(base), before, `${base} was written`);
      assert.deepEqual(fs.readdirSync(dir).sort(), ["base.qcow2", "base.raw"]);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
