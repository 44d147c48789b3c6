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
  /**
   * Settles once every hostfwd= port is bound (the host may bind
   * asynchronously); rejects with QEMU's NetdevError for a rule that could
   * not be set up.  openUserNetdev awaits it.
   */
  readonly ready: Promise<void>;
  hostfwdAdd(rule: string): Promise<void>;
  hostfwdRemove(rule: string): void;
}

/** The netdev once its hostfwd ports are bound; closed again and rejected with QEMU's NetdevError when one cannot be. */
export async function openUserNetdev(id: string, props: ReadonlyArray<readonly [string, string]>, host: NetHost): Promise<UserNetdev> {
  const nd = createUserNetdev(id, props, host);
  try {
    await nd.ready;
  } catch (e) {
    nd.close();
    throw e;
  }
  return nd;
}

export function createUserNetdev(id: string, props: ReadonlyArray<readonly [string, string]>, host: NetHost): UserNetdev {
  const config = parseUserOptions(props);
  const stack = new UserStack(config, host);
  const forwards = new HostForwards(stack);
  // QEMU sets the rules up last first and stops at the first that fails: of two rules for
  // one port, the first written is the one refused.  The binds run together here, and the
  // failure reported is the first in QEMU's order.
  const binds = [...config.hostfwd].reverse().map((rule) => forwards.add(rule));
  const ready = Promise.allSettled(binds).then((results) => {
    for (const r of results) if (r.status === "rejected") throw r.reason;
  });
  // Nobody need wait for it (tests of the stack alone do not): a failure then is not an unhandled rejection.
  ready.catch(() => undefined);
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
    ready,
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
    async hostfwdAdd(rule: string): Promise<void> {
      await forwards.add(parseHostFwd(rule, config.dhcpStart));
    },
    hostfwdRemove(rule: string): void {
      const key = parseHostFwdKey(rule);
      if (!key) throw new NetdevError("invalid format");
      if (!forwards.remove(key.udp, key.hostAddr, key.hostPort)) throw new NetdevError(`host forwarding rule for ${rule} not found`);
    },
  };
}
