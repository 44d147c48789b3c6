/**
 * QEMU's image locks on Node: one-byte open file description locks
 * (fcntl F_OFD_SETLK, F_OFD_GETLK), which node:fs lacks.  They come from
 * tsemu's one native module, native/ofd-lock.c, built into
 * dist/native/ofd-lock.node by scripts/build-native.sh.  Where it was not
 * built (no C compiler) or cannot load (another OS), images are not locked
 * and locking=on is refused.
 */
import { createRequire } from "node:module";
import { constants } from "node:os";
import type { FileLocks } from "../block/image-lock.js";
import { errnoText } from "./socket.js";

interface OfdLockModule {
  lock(fd: number, offset: number): number;
  unlock(fd: number, offset: number): number;
  test(fd: number, offset: number): number;
}

let loaded: OfdLockModule | null | undefined;

function ofdModule(): OfdLockModule | null {
  if (loaded !== undefined) return loaded;
  try {
    loaded = createRequire(import.meta.url)("../../native/ofd-lock.node") as OfdLockModule;
  } catch {
    loaded = null;
  }
  return loaded;
}

/** Whether this Node can lock images. */
export function canLockFiles(): boolean {
  return ofdModule() !== null;
}

/** An Error with the C library's text for a negative errno the module returned. */
function failure(negErrno: number): Error {
  const code = Object.entries(constants.errno).find(([, n]) => n === -negErrno)?.[0] ?? `errno ${-negErrno}`;
  return new Error(errnoText(Object.assign(new Error(code), { code })));
}

/** The byte locks on the open descriptor `fd`, or undefined where this host cannot lock. */
export function fileLocks(fd: number): FileLocks | undefined {
  const m = ofdModule();
  if (m === null) return undefined;
  return {
    lock(offset) {
      const r = m.lock(fd, offset);
      if (r < 0) throw failure(r);
    },
    held(offset) {
      const r = m.test(fd, offset);
      if (r < 0) throw failure(r);
      return r === 1;
    },
  };
}
