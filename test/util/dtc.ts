/** Device trees as dtc (Debian's device-tree-compiler) shows them: for tests that check what a device emits. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A cell as dtc prints it. */
export function cell(v: number): string {
  return `0x${v.toString(16).padStart(2, "0")}`;
}

/** The blob decompiled by dtc. */
export function dts(blob: Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), "tsemu-dtb-"));
  try {
    const file = join(dir, "tree.dtb");
    writeFileSync(file, blob);
    const r = spawnSync("dtc", ["-I", "dtb", "-O", "dts", file], { encoding: "utf8" });
    if (r.error) throw new Error(`cannot run dtc (Debian's device-tree-compiler): ${r.error.message}`);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
