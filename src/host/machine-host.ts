/**
 * The Node host of a machine: files by path, Debian's OpenSBI as the
 * default firmware, disk images on disk (with QEMU's raw-probe warning and
 * temporary overlays for -snapshot), sockets and the user-mode network.
 */
import * as fs from "node:fs";
import { randomFillSync } from "node:crypto";
import { openImage } from "../block/open.js";
import { backingPermissions, devicePermissions } from "../block/image-lock.js";
import { ConfigError } from "../system/machine-config.js";
import type { MachineHost } from "../system/machine-host.js";
import { nodeBlockHost } from "./image-file.js";
import { temporaryOverlay } from "./temp-overlay.js";
import { nodeNetHost } from "./net-sockets.js";
import { createNodeNetHost } from "./net-host.js";
import { errnoText } from "./socket.js";
import { startIothreadWorker } from "./iothread-host.js";
import { adviseHugePages } from "./host-memory.js";

/** Debian's OpenSBI (package opensbi), as qemu-system-riscv64 uses it for -bios default. */
export const DEFAULT_BIOS = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin";

/** A file's bytes; an Error with the short reason the command line prints. */
export function readHostFile(path: string): Uint8Array {
  try {
    if (fs.statSync(path).isDirectory()) throw new Error("is a directory");
    const b = fs.readFileSync(path);
    // A file of more than a few KiB has an ArrayBuffer of its own: take it as it is rather than
    // copy megabytes of kernel and initrd; a small one sits in Node's shared pool and is copied.
    return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? new Uint8Array(b.buffer) : new Uint8Array(b);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (e as Error).message);
  }
}

/** The C library's text for a file error, as QEMU prints it. */
function fileErrorText(e: unknown): string {
  switch ((e as NodeJS.ErrnoException).code) {
    case "ENOENT": return "No such file or directory";
    case "EACCES": return "Permission denied";
    case "EISDIR": return "Is a directory";
    case "ENOTDIR": return "Not a directory";
    case "EROFS": return "Read-only file system";
    case "ENOSPC": return "No space left on device";
    default: return errnoText(e);
  }
}

/**
 * Node's host: images and disks by file path (as -drive file= opens them),
 * Debian's OpenSBI as the default firmware, temporary overlays on disk for
 * -snapshot, and sockets for -netdev user/socket/stream/dgram.
 */
export function nodeMachineHost(): MachineHost {
  return {
    readFile: (path) => Promise.resolve().then(() => readHostFile(path)),
    defaultFirmware: () => {
      if (!fs.existsSync(DEFAULT_BIOS)) {
        return Promise.reject(new ConfigError(
          `cannot find the default firmware ${DEFAULT_BIOS}: install Debian's opensbi package, or use -bios FILE or -bios none`));
      }
      return Promise.resolve().then(() => {
        try {
          return readHostFile(DEFAULT_BIOS);
        } catch (e) {
          throw new ConfigError(`-bios ${DEFAULT_BIOS}: ${(e as Error).message}`);
        }
      });
    },
    openDriveFile: (path, d, warn) => openImage(nodeBlockHost, path, {
      format: d.format, readOnly: d.readOnly === true, barriers: d.cache !== "unsafe", warn, locking: d.locking,
      // Under a -snapshot overlay the image is the overlay's backing image, as in QEMU.
      user: d.snapshot === true ? backingPermissions(devicePermissions(true)) : devicePermissions(d.readOnly !== true),
    }),
    temporaryOverlay,
    netHost: (warn) => nodeNetHost(warn),
    userNetHost: (warn) => createNodeNetHost(warn),
    random: (buf) => { randomFillSync(buf); },
    soon: (fn) => { setImmediate(fn); },
    log: (text) => { process.stderr.write(text); },
    threadId: () => process.pid,
    startIothread: () => startIothreadWorker(),
    adviseRam: (ram) => { adviseHugePages(ram); },
    writeFile: (path, data) => {
      try {
        fs.writeFileSync(path, data);
      } catch (e) {
        throw new Error(fileErrorText(e));
      }
    },
    allocatedBytes: (path) => {
      try {
        return fs.statSync(path).blocks * 512;
      } catch {
        return 0;
      }
    },
  };
}
