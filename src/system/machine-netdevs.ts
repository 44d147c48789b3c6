/**
 * The network backends of -netdev and -nic, made through the netdev
 * registry.  Each is wrapped so that a frame delivered to the guest wakes the
 * run loop, as console input does when every hart waits in WFI.
 */
import { NetdevError, type NetBackend, type NetFrontend } from "../net/net-client.js";
import type { NetHost } from "../net/net-host.js";
import type { NetHost as UserNetHost } from "../net/user/net-host.js";
import { netdevTypes } from "./netdevs.js";
import { MachineNetwork } from "./network.js";
import { ConfigError } from "./machine-config.js";
import type { MachineHost } from "./machine-host.js";
import type { NetdevOption, NicOption } from "./option-syntax.js";

export interface MachineNetdevs {
  byId: Map<string, NetBackend>;
  machine: MachineNetwork;
  nics: { netdevId: string; model: string; mac?: string; spec: string }[];
  /** No network option at all: QEMU's hidden default NIC takes the first MAC. */
  hiddenDefaultNic: boolean;
}

export const NIC_MODELS = ["virtio-net-device", "virtio-net-pci"];

/** What `-nic help` / `-nic model=help` prints. */
export function nicHelp(): string {
  return `Supported NIC models:\n${NIC_MODELS.join("\n")}\n`;
}

/** Sockets refused, on a host without them. */
function noSockets(log: (m: string) => void): NetHost {
  const refuse = (): Promise<never> => Promise.reject(new Error("this host has no sockets (socket, stream and dgram netdevs need Node)"));
  return { listen: refuse, connect: refuse, datagram: refuse, multicast: refuse, unixDatagram: refuse, log };
}

/** How the machine's run state reaches its network: frames wake the run loop, and wait while the guest does not run. */
export interface NetRunState {
  /** A frame reached a NIC: run the loop soon. */
  wake(): void;
  /** The guest runs (QEMU's runstate_is_running): frames for it are held by their backends otherwise. */
  running(): boolean;
}

export async function makeNetdevs(netdevs: readonly NetdevOption[], nics: readonly NicOption[], netNone: boolean,
  host: MachineHost, warn: (line: string) => void, state: NetRunState): Promise<MachineNetdevs> {
  const net: MachineNetdevs = {
    byId: new Map(), machine: new MachineNetwork(), nics: [], hiddenDefaultNic: netdevs.length === 0 && nics.length === 0 && !netNone,
  };
  let userHost: UserNetHost | undefined;
  const makeUserHost = host.userNetHost;
  const registry = netdevTypes(makeUserHost === undefined ? undefined : () => (userHost ??= makeUserHost(warn)));
  const sockets = host.netHost?.(warn) ?? noSockets(warn);
  let anonymous = 0;
  const make = async (nd: NetdevOption, id: string): Promise<void> => {
    if (net.byId.has(id)) throw new ConfigError(`${nd.spec}: Duplicate ID '${id}' for netdev`);
    let b: NetBackend;
    try {
      b = await registry.create(nd.type, id, nd.options, sockets, nd.list);
    } catch (e) {
      if (e instanceof NetdevError) throw new ConfigError(`${nd.spec}: ${e.message}`);
      throw e;
    }
    const wrapped = runStateBackend(b, state);
    net.byId.set(id, wrapped);
    net.machine.addNetdev(wrapped);
  };
  try {
    // QEMU 7.2 creates the netdevs given in its newer syntax (stream, dgram, JSON) before the others
    // (netdev_is_modern), which orders `info network`.
    const modern = (nd: NetdevOption): boolean => nd.type === "stream" || nd.type === "dgram" || nd.arg.trimStart().startsWith("{");
    for (const nd of [...netdevs.filter(modern), ...netdevs.filter((nd) => !modern(nd))]) {
      if (nd.type === "") throw new ConfigError(`${nd.spec}: Parameter 'type' is missing`);
      if (nd.id === undefined) throw new ConfigError(`${nd.spec}: Parameter 'id' is missing`);
      await make(nd, nd.id);
    }
    for (const nic of nics) {
      const model = nic.model === undefined || nic.model === "virtio-net" ? "virtio-net-pci" : nic.model;
      if (!NIC_MODELS.includes(model)) throw new ConfigError(`${nic.spec}: unsupported NIC model '${model}' (use ${NIC_MODELS.join(" or ")})`);
      const id = nic.netdev.id ?? `#net${anonymous++}`;
      const opts = new Map(nic.netdev.options);
      opts.delete("id");
      await make({ ...nic.netdev, options: opts }, id);
      net.nics.push({ netdevId: id, model, mac: nic.mac, spec: nic.spec });
    }
  } catch (e) {
    for (const b of net.machine.netdevs) b.close();
    throw e;
  }
  return net;
}

/** The backend, with every frame it delivers to its frontend followed by a wake-up of the run loop. */
/**
 * A backend whose frames wake the run loop, and which holds them while the guest does not run
 * (stopped, -S, a debugger's stop), as QEMU's qemu_can_receive_packet: the NIC's device model
 * writes nothing into guest memory then.  The machine calls `resume` when the guest runs again.
 */
export function runStateBackend(b: NetBackend, state: NetRunState): NetBackend {
  const attach = b.attach.bind(b);
  b.attach = (frontend: NetFrontend): void => attach({
    deliver: (frame, segmentSize) => {
      if (!state.running()) return false;
      const taken = frontend.deliver(frame, segmentSize);
      state.wake();
      return taken;
    },
    takesLargeTcp: () => frontend.takesLargeTcp?.() ?? false,
  });
  return b;
}
