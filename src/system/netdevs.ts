/**
 * The -netdev types: a small registry from type name to a factory that makes
 * the backend from its options.  A type is one registration; a QEMU type
 * tsemu lacks (tap, bridge, ...) is refused in one line that says so.
 */
import { NetdevError, type NetBackend } from "../net/net-client.js";
import type { NetHost } from "../net/net-host.js";
import { dgramNetdev, socketNetdev, streamNetdev, type NetdevOptions } from "../net/socket-netdevs.js";
import { openUserNetdev } from "../net/user/user-netdev.js";
import type { NetHost as UserNetHost } from "../net/user/net-host.js";

/** `list`: the options in order with repeats kept (user's hostfwd=), without type and id. */
export type NetdevFactory = (id: string, options: NetdevOptions, host: NetHost, list: ReadonlyArray<readonly [string, string]>) =>
  NetBackend | Promise<NetBackend>;

/** QEMU 7.2's -netdev types, so that one tsemu lacks is told apart from a misspelt one. */
const QEMU_TYPES = ["bridge", "dgram", "hubport", "l2tpv3", "socket", "stream", "tap", "user", "vde", "vhost-user", "vhost-vdpa"];

export class NetdevRegistry {
  private readonly types = new Map<string, NetdevFactory>();

  register(type: string, factory: NetdevFactory): void {
    if (this.types.has(type)) throw new Error(`netdev type ${type} registered twice`);
    this.types.set(type, factory);
  }

  names(): string[] {
    return [...this.types.keys()].sort();
  }

  /** Make a backend; a bad type or option throws NetdevError with the line the user sees. */
  async create(type: string, id: string, options: NetdevOptions, host: NetHost,
    list: ReadonlyArray<readonly [string, string]> = [...options].filter(([k]) => k !== "id" && k !== "type")): Promise<NetBackend> {
    const f = this.types.get(type);
    if (f === undefined) {
      if (QEMU_TYPES.includes(type)) {
        throw new NetdevError(`network backend '${type}' is not supported by tsemu (it has: ${this.names().join(", ")})`);
      }
      throw new NetdevError(`Parameter 'type' does not accept value '${type}'`);
    }
    return f(id, options, host, list);
  }
}

/**
 * The registry tsemu-system-riscv64 uses; `userHost` gives the user-mode
 * stack its host (sockets, lookups, timers), made when a user netdev is.
 */
export function netdevTypes(userHost?: () => UserNetHost): NetdevRegistry {
  const r = new NetdevRegistry();
  if (userHost !== undefined) r.register("user", (id, _options, _host, list) => openUserNetdev(id, list, userHost()));
  r.register("socket", socketNetdev);
  r.register("stream", streamNetdev);
  r.register("dgram", dgramNetdev);
  return r;
}
