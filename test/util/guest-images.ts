/** The default guest's images for system tests: built (or found cached) by the guest/ scripts. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** Runs a guest build script (a cached build returns at once); the last stdout line is its result. */
export function buildGuest(root: string, script: string, args: readonly string[] = []): string {
  const r = spawnSync("bash", [path.join(root, "guest", script), ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (r.status !== 0) throw new Error(`guest/${[script, ...args].join(" ")} failed (${r.error?.message ?? `status ${String(r.status)}`})`);
  return r.stdout.trim().split("\n").pop() ?? "";
}

/** The kernel Image and initramfs of the default guest, built when missing; throws when a build fails. */
export function defaultGuest(root: string): { kernel: string; initrd: string } {
  const kernel = path.join(buildGuest(root, "build-linux.sh"), "Image");
  const initrd = buildGuest(root, "build-initramfs.sh");
  for (const f of [kernel, initrd]) if (!fs.existsSync(f)) throw new Error(`${f} is missing`);
  return { kernel, initrd };
}

/** The Linux 6.12 kernel (guest/build-linux.sh 6.12) with the default guest's initramfs. */
export function linux612Guest(root: string): { kernel: string; initrd: string } {
  const kernel = path.join(buildGuest(root, "build-linux.sh", ["6.12"]), "Image");
  const initrd = buildGuest(root, "build-initramfs.sh");
  for (const f of [kernel, initrd]) if (!fs.existsSync(f)) throw new Error(`${f} is missing`);
  return { kernel, initrd };
}
