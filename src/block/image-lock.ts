/**
 * Image locking as QEMU does it, so that a tsemu and a QEMU process (or two
 * of either) never write one image at once, and nobody reads an image
 * another one is changing.
 *
 * QEMU's block layer gives each user of a node permissions (consistent
 * read, write, write unchanged, resize) and says which of them it lets
 * others have (shared).  Its file driver turns that into one-byte shared
 * OFD locks on the image file: byte 100 + n when it holds permission n,
 * byte 200 + n when it does not share permission n.  Opening then fails
 * when another process locks byte 200 + n for a permission n we need, or
 * byte 100 + n for a permission we do not share (block/file-posix.c,
 * raw_apply_lock_bytes and raw_check_lock_bytes).
 *
 * What each image file asks for follows QEMU 7.2's defaults
 * (bdrv_default_perms): a device's disk wants consistent read and, when
 * writable, write, and shares consistent read, write unchanged and resize;
 * a qcow2 file behind it also needs resize when written and never shares
 * write or resize; a raw image passes its user's wishes through unchanged;
 * a backing file is only read, sharing nothing that changes it.
 */
import type { BlockHost, ImageFile } from "./image-file.js";
import { ImageError } from "./qcow2/header.js";

export const PERM_CONSISTENT_READ = 0x1;
export const PERM_WRITE = 0x2;
export const PERM_WRITE_UNCHANGED = 0x4;
export const PERM_RESIZE = 0x8;
export const PERM_ALL = 0xf;

/** The permission names QEMU prints (bdrv_perm_names), by bit number. */
const PERM_NAMES = ["consistent read", "write", "write unchanged", "resize"];

/** QEMU's lock bytes: RAW_LOCK_PERM_BASE and RAW_LOCK_SHARED_BASE. */
export const LOCK_PERM_BASE = 100;
export const LOCK_SHARED_BASE = 200;

/** What a user of an image takes and what it lets others take (bit masks of PERM_*). */
export interface Permissions {
  perm: number;
  shared: number;
}

/**
 * The host's byte locks on one open image file (open file description
 * locks: another open of the same file, in this process or another,
 * conflicts with them, and closing the file drops them).
 */
export interface FileLocks {
  /** Take a shared lock on the byte at `offset`; throws an Error with the host's reason when it cannot. */
  lock(offset: number): void;
  /** Whether another open file holds a lock on the byte at `offset`. */
  held(offset: number): boolean;
}

/**
 * -drive file.locking= (QEMU's values): "on" locks and fails where the host
 * cannot lock, "off" neither locks nor checks, "auto" (the default) locks
 * where the host can.
 */
export type Locking = "on" | "off" | "auto";

/** A device's disk (blkconf_apply_backend_options, resizable as virtio-blk is). */
export function devicePermissions(writable: boolean): Permissions {
  return {
    perm: PERM_CONSISTENT_READ | (writable ? PERM_WRITE : 0),
    shared: PERM_CONSISTENT_READ | PERM_WRITE_UNCHANGED | PERM_RESIZE,
  };
}

/** qemu-img's use of an image (blk_new_open): -U shares everything and is for reading only. */
export function toolPermissions(writable: boolean, resize: boolean): Permissions {
  return { perm: PERM_CONSISTENT_READ | (writable ? PERM_WRITE : 0) | (resize ? PERM_RESIZE : 0), shared: PERM_ALL };
}

/** What a format asks of the image below it: qcow2 as a backing image (bdrv_default_perms_for_cow). */
export function backingPermissions(user: Permissions): Permissions {
  const shared = (user.shared & PERM_WRITE) !== 0 ? PERM_WRITE | PERM_RESIZE : 0;
  return { perm: user.perm & PERM_CONSISTENT_READ, shared: shared | PERM_CONSISTENT_READ | PERM_WRITE_UNCHANGED };
}

/**
 * What an image of `format` takes on its own file for a user asking
 * `user`: raw passes it through (QEMU's raw driver without offset= is a
 * filter), qcow2 is storage with metadata (bdrv_default_perms_for_storage).
 */
export function filePermissions(format: string, user: Permissions, writable: boolean): Permissions {
  if (format === "raw") return { ...user };
  let perm = user.perm | PERM_CONSISTENT_READ | (writable ? PERM_WRITE | PERM_RESIZE : 0);
  if ((perm & PERM_WRITE_UNCHANGED) !== 0) perm |= PERM_WRITE;
  if ((perm & PERM_WRITE) !== 0) perm |= PERM_RESIZE;
  return { perm, shared: user.shared & ~(PERM_WRITE | PERM_RESIZE) };
}

/**
 * Take the locks for `p` on `file` and check that no other user holds a
 * conflicting one; throws ImageError with QEMU's words (and its hint on the
 * same line) on a conflict.  The locks stay until the file is closed.
 */
export function lockImage(file: ImageFile, p: Permissions, locking: Locking): void {
  if (locking === "off") return;
  const locks = file.locks;
  if (locks === undefined) {
    if (locking === "on") throw new ImageError(`Could not lock '${file.path}': image locking is not available on this host`);
    return;
  }
  for (let i = 0; i < PERM_NAMES.length; i++) {
    if ((p.perm & (1 << i)) !== 0) takeByte(locks, LOCK_PERM_BASE + i);
  }
  for (let i = 0; i < PERM_NAMES.length; i++) {
    if ((p.shared & (1 << i)) === 0) takeByte(locks, LOCK_SHARED_BASE + i);
  }
  const hint = `Is another process using the image [${file.path}]?`;
  for (let i = 0; i < PERM_NAMES.length; i++) {
    if ((p.perm & (1 << i)) !== 0 && locks.held(LOCK_SHARED_BASE + i)) {
      throw new ImageError(`Failed to get "${PERM_NAMES[i]}" lock. ${hint}`);
    }
  }
  for (let i = 0; i < PERM_NAMES.length; i++) {
    if ((p.shared & (1 << i)) === 0 && locks.held(LOCK_PERM_BASE + i)) {
      throw new ImageError(`Failed to get shared "${PERM_NAMES[i]}" lock. ${hint}`);
    }
  }
}

function takeByte(locks: FileLocks, offset: number): void {
  try {
    locks.lock(offset);
  } catch (e) {
    throw new ImageError(`Failed to lock byte ${offset}: ${(e as Error).message}`);
  }
}

/**
 * Create an image file, or empty an existing one, as QEMU's file driver
 * does (raw_co_create): the file is opened without truncating, locked for
 * writing and resizing (others may keep everything but resize), and only
 * emptied when nobody else uses it.
 */
export function createImageFile(host: BlockHost, path: string): ImageFile {
  const file = host.create(path);
  try {
    lockImage(file, { perm: PERM_WRITE | PERM_RESIZE, shared: PERM_ALL & ~PERM_RESIZE }, "auto");
    file.truncate(0);
  } catch (e) {
    file.close();
    throw e;
  }
  return file;
}
