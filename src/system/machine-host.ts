/**
 * What a machine needs from the place it runs in.  Everything here has a
 * portable form (webHost, for browsers, workers and any JavaScript engine
 * with fetch); Node adds files, the default firmware, disk images on disk
 * and the network (src/host/machine-host.ts).
 */
import type { BlockImage } from "../block/block.js";
import type { DriveConfig } from "./machine-config.js";
import type { NetHost as NetBackendHost } from "../net/net-host.js";
import type { NetHost as UserNetHost } from "../net/user/net-host.js";
import { ConfigError } from "./machine-config.js";
import type { DataplaneChannel } from "./iothread.js";

/**
 * What a machine needs of the place it runs in: files, firmware, sockets,
 * randomness, scheduling and a log.  webHost() is the portable one; Node's
 * entry point makes nodeMachineHost() the default.
 */
export interface MachineHost {
  /** Bytes of a file by path; throws an Error with a short reason ("no such file"). Absent where there are no files. */
  readFile?(path: string): Promise<Uint8Array>;
  /** The default firmware's bytes (-bios default); throws ConfigError where there is none. */
  defaultFirmware(): Promise<Uint8Array>;
  /** Open a disk image by path as -drive file= does; absent where there are no files. */
  openDriveFile?(path: string, drive: DriveConfig, warn: (line: string) => void): BlockImage;
  /** A temporary overlay over an image (-snapshot); absent: an overlay in memory. */
  temporaryOverlay?(base: BlockImage): BlockImage;
  /** Sockets for -netdev socket/stream/dgram; absent: those types are refused. */
  netHost?(warn: (line: string) => void): NetBackendHost;
  /** Host lookups and sockets for -netdev user; absent: user networking is refused. */
  userNetHost?(warn: (line: string) => void): UserNetHost;
  /** Fill with random bytes. */
  random(buf: Uint8Array): void;
  /** Run `fn` soon, after pending I/O events (setImmediate in Node). */
  soon(fn: () => void): void;
  /** Where warnings and the -d log go when the configuration names no log. */
  log(text: string): void;
  /** The host's process id, for query-cpus-fast's thread-id. */
  threadId(): number;
  /** Write a whole file for the monitor's memsave/pmemsave; throws Error with the C library's text. */
  writeFile?(path: string, data: Uint8Array): void;
  /** Bytes a file takes on the host disk (query-block's actual-size); 0 when unknown. */
  allocatedBytes?(path: string): number;
  /**
   * Advise the host's kernel that these bytes are guest RAM: huge pages where
   * it has them, as QEMU asks for its RAM (fewer page faults as the guest
   * first touches its memory). Absent: nothing to advise.
   */
  adviseRam?(ram: Uint8Array): void;
  /** Start an iothread's worker (-object iothread); absent where there are no worker threads that can block. */
  startIothread?(): DataplaneChannel;
}

/** setImmediate where it exists; a MessageChannel elsewhere (setTimeout(0) is clamped to 4 ms in browsers). */
function portableSoon(): (fn: () => void) => void {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
  if (typeof g.setImmediate === "function") {
    const setImmediate = g.setImmediate;
    return (fn) => { setImmediate(fn); };
  }
  const queue: (() => void)[] = [];
  const channel = new MessageChannel();
  // The DOM's MessagePort (Node's types describe Node's own, which has no onmessage).
  const port = channel.port1 as unknown as { onmessage: (() => void) | null };
  port.onmessage = () => {
    const fn = queue.shift();
    fn?.();
  };
  return (fn) => {
    queue.push(fn);
    channel.port2.postMessage(0);
  };
}

/** The host of a browser, a worker or any engine with fetch and Web Crypto: no files, no network. */
export function webHost(): MachineHost {
  return {
    defaultFirmware: () => Promise.reject(new ConfigError(
      "no default firmware here: give firmware as bytes or a URL (Debian's OpenSBI fw_dynamic.bin), or \"none\"")),
    random: (buf) => {
      // getRandomValues takes at most 64 KiB at a time.
      for (let i = 0; i < buf.length; i += 65536) crypto.getRandomValues(buf.subarray(i, Math.min(buf.length, i + 65536)));
    },
    soon: portableSoon(),
    log: (text) => { console.warn(text.replace(/\n$/, "")); },
    threadId: () => 0,
  };
}
