/**
 * Opening disk images: the format from format= or probed from the first
 * bytes (with QEMU's warning for a probed raw image), and the chain of
 * backing images below a qcow2 image, each opened read-only.
 */
import type { BlockImage } from "./block.js";
import { backingPath, type BlockHost, type ImageFile } from "./image-file.js";
import { ImageError, INCOMPAT_DIRTY, QCOW_MAGIC } from "./qcow2/header.js";
import { Qcow2Image } from "./qcow2/qcow2.js";
import { checkQcow2 } from "./qcow2/check.js";
import { RawImage } from "./raw.js";
import { backingPermissions, devicePermissions, filePermissions, lockImage, PERM_ALL, type Locking, type Permissions } from "./image-lock.js";
import { u32 } from "./bytes.js";

export const FORMATS = ["raw", "qcow2"];
/** QEMU refuses backing chains deeper than this (BDRV_MAX_... in practice); a loop hits it at once here. */
const MAX_CHAIN = 1000;

export interface OpenOptions {
  /** "raw", "qcow2", or undefined to probe. */
  format?: string;
  readOnly: boolean;
  /** Open without the backing chain (qemu-img info, rebase -u). */
  noBacking?: boolean;
  /** Flush between dependent metadata writes (default); false for cache=unsafe. */
  barriers?: boolean;
  /** Open for writing without refusing a corrupt image (check -r does the repairing itself). */
  forRepair?: boolean;
  /** Called with QEMU's warning when a raw image was probed. */
  warn?: (line: string) => void;
  /** What the image's user takes and shares (image-lock.ts); a device's disk by default. */
  user?: Permissions;
  /** -drive file.locking= (default "auto"). */
  locking?: Locking;
  /** qemu-img -U: share everything with other users (read-only opens only). */
  forceShare?: boolean;
}

/**
 * Before the first write, make sure the metadata is sound: an image that
 * check finds corrupt is refused (and not touched), so that writing cannot
 * spread the damage; a dirty image (lazy refcounts) is repaired first, as
 * QEMU does.
 */
function guardWrites(img: Qcow2Image, path: string): void {
  const dirty = (img.header.incompatible & INCOMPAT_DIRTY) !== 0;
  const r = checkQcow2(img);
  if (r.corruptions > 0 && dirty) {
    const fixed = checkQcow2(img, true, true);
    if (fixed.corruptions === 0 && checkQcow2(img).corruptions === 0) return;
  }
  if (r.corruptions > 0) {
    throw new ImageError(`qcow2 image '${path}' is corrupt (${r.corruptions} errors found by check); not opening it for writing (try 'tsemu-img check -r all')`);
  }
}

/** A name from an image, safe to print on one line. */
export function printable(s: string): string {
  return [...s].map((c) => (c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127 ? "?" : c)).join("");
}

export function probeFormat(file: ImageFile): string {
  const b = new Uint8Array(4);
  file.read(0, b);
  return file.length() >= 4 && u32(b, 0) === QCOW_MAGIC ? "qcow2" : "raw";
}

export function rawProbeWarning(path: string): string {
  return `WARNING: Image format was not specified for '${path}' and probing guessed raw.\n`
    + "         Automatically detecting the format is dangerous for raw images, write operations on block 0 will be restricted.\n"
    + "         Specify the 'raw' format explicitly to remove the restrictions.";
}

/** Open `path` and, for qcow2, its backing chain.  Throws ImageError or Error with one line. */
export function openImage(host: BlockHost, path: string, opts: OpenOptions): BlockImage {
  return openLayer(host, path, opts, []);
}

function openLayer(host: BlockHost, path: string, opts: OpenOptions, seen: string[]): BlockImage {
  const file = host.open(path, opts.readOnly);
  try {
    const id = host.identity(file);
    if (seen.includes(id)) throw new ImageError(`Backing file '${path}' is part of a loop in the backing chain`);
    if (seen.length >= MAX_CHAIN) throw new ImageError(`Backing chain of '${path}' is too deep`);
    const format = opts.format ?? probeFormat(file);
    if (format !== "raw" && format !== "qcow2") throw new ImageError(`Unknown driver '${format}'`);
    const user = opts.user ?? devicePermissions(!opts.readOnly);
    const own = filePermissions(format, user, !opts.readOnly);
    lockImage(file, opts.forceShare === true ? { perm: own.perm, shared: PERM_ALL } : own, opts.locking ?? "auto");
    if (opts.format === undefined && format === "raw" && !opts.readOnly && opts.warn !== undefined) opts.warn(rawProbeWarning(path));
    if (format === "raw") return new RawImage(file);
    const img = new Qcow2Image(file, { readOnly: opts.readOnly, host, backing: null, barriers: opts.barriers });
    if (!opts.readOnly && opts.forRepair !== true) guardWrites(img, path);
    const h = img.header;
    if (h.backingFile !== "" && !opts.noBacking) {
      const below = backingPath(host, path, h.backingFile);
      const fmt = h.backingFormat === "" ? undefined : h.backingFormat;
      if (fmt !== undefined && !FORMATS.includes(fmt)) throw new ImageError(`Could not open backing file: Unknown driver '${printable(fmt)}'`);
      try {
        img.backing = openLayer(host, below, {
          format: fmt, readOnly: true, warn: opts.warn, user: backingPermissions(user), locking: opts.locking, forceShare: opts.forceShare,
        }, [...seen, id]);
      } catch (e) {
        const msg = (e as Error).message;
        throw new ImageError(msg.startsWith("Could not open backing file") || msg.includes("loop") || msg.includes("too deep")
          ? msg : `Could not open backing file: ${msg}`);
      }
    }
    return img;
  } catch (e) {
    file.close();
    throw e;
  }
}
