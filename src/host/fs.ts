/**
 * The host file system, as the rest of tsemu reaches it.  Only host/ and
 * cli/ import Node's modules directly, so that a browser host can stand in.
 */
import * as fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
export { fs, path };

/**
 * Fill `b` with random bytes from the kernel's generator (/dev/urandom, what
 * getrandom(2) without flags reads), or from node:crypto on a host without
 * that file.  Not node:crypto first: loading it cost each tsemu-riscv64
 * start 4-20 ms, for the 16 bytes of AT_RANDOM.  The file is not kept open,
 * so that the host descriptors a guest's files get stay as they were.
 */
export function randomFillSync(b: Uint8Array): Uint8Array {
  let fd: number;
  try {
    fd = fs.openSync("/dev/urandom", "r");
  } catch {
    const crypto = createRequire(import.meta.url)("node:crypto") as typeof import("node:crypto");
    return crypto.randomFillSync(b);
  }
  try {
    let done = 0;
    while (done < b.length) done += fs.readSync(fd, b, done, b.length - done, null);
  } finally {
    fs.closeSync(fd);
  }
  return b;
}
