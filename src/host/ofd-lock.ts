/**
 * QEMU's image locks on Node: one-byte open file description locks
 * (fcntl F_OFD_SETLK, F_OFD_GETLK), which node:fs lacks.  They come from
 * tsemu's native module native/ofd-lock.c, built into
 * dist/native/ofd-lock.node by scripts/build-native.sh.  Where it was not
 * built (no C compiler) or cannot load (another OS), images are not locked
 * and locking=on is refused.
 */
import type { FileLocks } from "../block/image-lock.js";
import { errnoError, nativeModule } from "./native.js";

interface OfdLockModule {
  lock(fd: number, offset: number): number;
  unlock(fd: number, offset: number): number;
  test(fd: number, offset: number): number;
}

const ofdModule = (): OfdLockModule | null => nativeModule<OfdLockModule>("ofd-lock");

/** Whether this Node can lock images. */
export function canLockFiles(): boolean {
  return ofdModule() !== null;
}

/** The byte locks on the open descriptor `fd`, or undefined where this host cannot lock. */
export function fileLocks(fd: number): FileLocks | undefined {
  const m = ofdModule();
  if (m === null) return undefined;
  return {
    lock(offset) {
      const r = m.lock(fd, offset);
      if (r < 0) throw errnoError(r);
    },
    held(offset) {
      const r = m.test(fd, offset);
      if (r < 0) throw errnoError(r);
      return r === 1;
    },
  };
}
