/**
 * -snapshot and snapshot=on: a temporary qcow2 overlay over the drive's
 * image, as QEMU makes one.  The overlay file is created in the host's
 * temporary folder and unlinked at once, so it vanishes when tsemu exits
 * however it exits; the base image is only read.  Nothing in it outlives
 * the process, so it needs no flushes between metadata writes.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { BlockImage } from "../block/block.js";
import { createQcow2 } from "../block/qcow2/create.js";
import { Qcow2Image } from "../block/qcow2/qcow2.js";
import { nodeBlockHost } from "./image-file.js";

export function temporaryOverlay(base: BlockImage): Qcow2Image {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-snapshot-"));
  const file = path.join(dir, "overlay.qcow2");
  try {
    createQcow2(nodeBlockHost, file, {
      size: base.size, clusterSize: 65536, version: 3, backingFile: path.resolve(base.filename), backingFormat: base.format,
      lazyRefcounts: false, refcountBits: 16, extendedL2: false, preallocation: "off",
    });
    return new Qcow2Image(nodeBlockHost.open(file, false), { readOnly: false, host: nodeBlockHost, backing: base, barriers: false });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
