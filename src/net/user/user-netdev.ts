/**
 * `-netdev user`: the user-mode network stack as a NetBackend.
 *
 * `props` are the options after id=, in the order given, repeats kept (so
 * hostfwd= may appear any number of times): [["hostfwd", "tcp::5555-:22"],
 * ["restrict", "on"], ...].  Bad options throw NetdevError with QEMU 7.2's
 * message (the caller puts "-netdev user,...: " in front, as QEMU does).
 */
import { NetdevError, type NetBackend, type NetFrontend } from "../net-client.js";
import { formatIPv4 } from "./bytes.js";
import { parseHostFwd, parseHostFwdKey, parseUserOptions } from "./config.js";
import { HostForwards } from "./hostfwd.js";
import type { NetHost } from "./net-host.js";
import { UserStack } from "./stack.js";

/** The NetBackend, with the stack reachable for tests and `info usernet`-style listings. */
export interface UserNetdev extends NetBackend {
  readonly stack: UserStack;
  hostfwdAdd(rule: string): void;
  hostfwdRemove(rule: string): void;
}

export function createUserNetdev(id: string, props: ReadonlyArray<readonly [string, string]>, host: NetHost): UserNetdev {
  const config = parseUserOptions(props);
  const stack = new UserStack(config, host);
  const forwards = new HostForwards(stack);
  try {
    // QEMU sets the rules up last first: of two rules for one port, the first written is the one refused.
    for (const rule of [...config.hostfwd].reverse()) forwards.add(rule);
  } catch (e) {
    forwards.close();
    stack.close();
    throw e;
  }
  // The stack is written not to throw on anything a guest sends; should a bug make it, the
  // guest loses that frame and the emulator goes on, with one warning.
  let warned = false;
  const guarded = (fn: () => void): void => {
    try {
      fn();
    } catch (e) {
      if (!warned) host.warn(`netdev ${id}: user-mode network error (frame dropped): ${e instanceof Error ? e.message : String(e)}`);
      warned = true;
    }
  };
  return {
    id,
    type: "user",
    offloads: true,
    stack,
    attach(frontend: NetFrontend): void {
      stack.attach(frontend);
    },
    send(frame: Uint8Array): void {
      guarded(() => stack.input(frame));
    },
    resume(): void {
      guarded(() => stack.resume());
    },
    info(): string {
      return `net=${formatIPv4(config.net)},restrict=${config.restrict ? "on" : "off"}`;
    },
    close(): void {
      forwards.close();
      stack.close();
    },
    hostfwdAdd(rule: string): void {
      forwards.add(parseHostFwd(rule, config.dhcpStart));
    },
    hostfwdRemove(rule: string): void {
      const key = parseHostFwdKey(rule);
      if (!key) throw new NetdevError("invalid format");
      if (!forwards.remove(key.udp, key.hostAddr, key.hostPort)) throw new NetdevError(`host forwarding rule for ${rule} not found`);
    },
  };
}
