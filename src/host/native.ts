/**
 * tsemu's native modules (native/*.c, built into dist/native/ by
 * scripts/build-native.sh): what Node cannot do on its own.  A module that
 * was not built (no C compiler) or cannot load (another OS) is null, and
 * its users say what is missing.
 */
import { constants } from "node:os";
import { fileURLToPath } from "node:url";
import { errnoText } from "./socket.js";

const loaded = new Map<string, unknown>();

/**
 * dist/native/NAME.node, or null where it is not available.  Loaded with
 * process.dlopen from its path, which is what require does after resolving
 * the name (a stat and a realpath of each folder up to it): half the time,
 * about 0.2 ms of each of the three or four a program's start loads.
 */
export function nativeModule<T>(name: string): T | null {
  if (!loaded.has(name)) {
    const module = { exports: {} };
    try {
      process.dlopen(module, fileURLToPath(new URL(`../../native/${name}.node`, import.meta.url)));
      loaded.set(name, module.exports);
    } catch {
      loaded.set(name, null);
    }
  }
  return loaded.get(name) as T | null;
}

/** The options Node itself was started with: its command line's and those of NODE_OPTIONS. */
export function nodeOptions(): string[] {
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)];
}

/** An Error with the C library's text for a negative errno a native call returned. */
export function errnoError(negErrno: number): Error {
  const code = Object.entries(constants.errno).find(([, n]) => n === -negErrno)?.[0] ?? `errno ${-negErrno}`;
  return new Error(errnoText(Object.assign(new Error(code), { code })));
}
