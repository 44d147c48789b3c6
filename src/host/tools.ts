/**
 * Host commands that the host layer runs for what Node cannot do itself
 * (mkfifo, stty, ls, touch).  They are looked up in the system's own
 * directories first, so that a PATH meant for the guest (say, a folder of
 * riscv64 BusyBox links) cannot stand in for them.
 */
import * as fs from "node:fs";

const found = new Map<string, string>();

export function hostTool(name: string): string {
  let p = found.get(name);
  if (p === undefined) {
    p = ["/usr/bin/", "/bin/"].map((d) => d + name).find((f) => fs.existsSync(f)) ?? name;
    found.set(name, p);
  }
  return p;
}
