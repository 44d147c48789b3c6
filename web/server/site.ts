/**
 * What the server publishes: the page, its bundles, the guest's images
 * (the default guest of `npm start`) and any disk images given.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { BuiltFile } from "./build.js";
import { contentType, type Resource } from "./serve.js";

/** Debian's OpenSBI (package opensbi), the -bios default of tsemu-system-riscv64. */
export const DEBIAN_OPENSBI = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin";

export interface GuestFiles {
  firmware: string;
  kernel: string;
  initrd: string;
}

/** Runs a guest/ build script (cached builds return at once): its last line of output is the result. */
function buildGuest(root: string, script: string): string {
  const r = spawnSync("bash", [path.join(root, "guest", script)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (r.status !== 0) throw new Error(`guest/${script} failed (${r.error?.message ?? `status ${String(r.status)}`})`);
  return r.stdout.trim().split("\n").pop() ?? "";
}

/** The default guest, built when it is not cached: Linux's Image, the BusyBox initramfs, Debian's OpenSBI. */
export function defaultGuestFiles(root: string): GuestFiles {
  return {
    firmware: DEBIAN_OPENSBI,
    kernel: path.join(buildGuest(root, "build-linux.sh"), "Image"),
    initrd: buildGuest(root, "build-initramfs.sh"),
  };
}

/** The URL path a disk file is published under: disk/ and its base name. */
export function diskPath(file: string): string {
  return `/disk/${encodeURIComponent(path.basename(file))}`;
}

/** The route table; throws when a file is missing or two disks share a name. */
export function siteRoutes(root: string, built: readonly BuiltFile[], guest: GuestFiles, disks: readonly string[]): Map<string, Resource> {
  const routes = new Map<string, Resource>();
  const html = fs.readFileSync(path.join(root, "web", "index.html"));
  routes.set("/", { kind: "bytes", bytes: html, type: contentType("index.html") });
  routes.set("/index.html", { kind: "bytes", bytes: html, type: contentType("index.html") });
  for (const f of built) routes.set(`/app/${f.name}`, { kind: "bytes", bytes: f.bytes, type: contentType(f.name) });
  const file = (url: string, p: string, what: string): void => {
    if (!fs.existsSync(p)) throw new Error(`${what} ${p} does not exist`);
    if (routes.has(url)) throw new Error(`${what} ${p}: another file is already published as ${url}`);
    routes.set(url, { kind: "file", path: p, type: "application/octet-stream" });
  };
  file("/guest/fw_dynamic.bin", guest.firmware, "the firmware");
  file("/guest/Image", guest.kernel, "the kernel");
  file("/guest/initrd", guest.initrd, "the initrd");
  for (const d of disks) file(diskPath(d), d, "the disk image");
  return routes;
}
