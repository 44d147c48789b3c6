/**
 * The `-device e1000e` type (QEMU's "Intel 82574L GbE Controller"): its
 * properties and how it is realized on the board's PCI Express bus.
 *
 * MAC addresses without mac=: QEMU gives NICs 52:54:00:12:34:56, :57, ...
 * in creation order, skipping addresses given explicitly; and when the
 * command line has no -net, -nic or -netdev, QEMU's default NIC (`-net nic`,
 * which this board has no slot for) takes :56 first, so the first e1000e
 * gets :57.  `defaultNicTakesFirst` says whether that default NIC exists.
 */
import type { NetBackend } from "../net/net-client.js";
import type { PciBusContext } from "../hw/pci/pci-device.js";
import { E1000E_DEFAULT_SUBSYSTEM_VENDOR, E1000e } from "../hw/net/e1000e.js";
import { DeviceError, type DeviceRegistry, type PropSpec } from "./qdev.js";
import type { DeviceContext, PlannedDevice } from "./virt-devices.js";

export interface E1000eRegistration {
  /** The command line has no network options: QEMU's default NIC takes the first default MAC. */
  defaultNicTakesFirst?: boolean;
  /** The machine's -netdev backends by id (none when the board has no network options). */
  netdevs?: (ctx: DeviceContext) => ReadonlyMap<string, NetBackend> | undefined;
}

const PROPS: readonly PropSpec[] = [
  { name: "addr", type: "pci-devfn", description: "Slot and optional function number, example: 06.0 or 06", default: -1 },
  { name: "mac", type: "str", description: "Ethernet 6-byte MAC Address, example: 52:54:00:12:34:56" },
  { name: "netdev", type: "str", description: "ID of a netdev to use as a backend" },
  { name: "romfile", type: "str" },
  { name: "subsys", type: "uint16", description: "PCI device Subsystem ID", default: 0 },
  { name: "subsys_ven", type: "uint16", description: "PCI device Subsystem Vendor ID", default: E1000E_DEFAULT_SUBSYSTEM_VENDOR },
];

/** QEMU's locally administered prefix for NICs without mac=. */
const QEMU_MAC_PREFIX = [0x52, 0x54, 0x00, 0x12, 0x34];
const QEMU_MAC_FIRST = 0x56;

/** "52:54:00:12:34:56" (or with '-'), as QEMU's MAC property parses it. */
export function parseMac(text: string): Uint8Array | undefined {
  const m = /^([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i.exec(text);
  if (m === null) return undefined;
  return Uint8Array.from([m[1], m[3], m[4], m[5], m[6], m[7]].map((h) => parseInt(h, 16)));
}

/** Hands out QEMU's default MACs in order, skipping those a NIC was given explicitly. */
class MacAllocator {
  private readonly used = new Set<number>();

  constructor(defaultNicTakesFirst: boolean) {
    if (defaultNicTakesFirst) this.used.add(QEMU_MAC_FIRST);
  }

  claim(mac: Uint8Array): void {
    if (QEMU_MAC_PREFIX.every((b, i) => mac[i] === b)) this.used.add(mac[5]);
  }

  next(): Uint8Array {
    let last = QEMU_MAC_FIRST;
    while (this.used.has(last) && last < 0xff) last++;
    this.used.add(last);
    return Uint8Array.from([...QEMU_MAC_PREFIX, last]);
  }
}

/**
 * Whether the function sits behind a PCI Express port, where QEMU makes it an
 * Endpoint rather than a Root Complex Integrated Endpoint: a bus context that
 * knows (an `express` flag) says so; one that does not is the root bus.
 */
function behindPort(bus: PciBusContext): boolean {
  return "express" in bus && bus.express === true;
}

export function registerE1000e(r: DeviceRegistry<DeviceContext, PlannedDevice>, opts: E1000eRegistration = {}): void {
  const macs = new MacAllocator(opts.defaultNicTakesFirst ?? true);
  r.register({
    name: "e1000e", bus: "PCI", category: "Network", description: "Intel 82574L GbE Controller", props: PROPS,
    realize: (p, ctx) => {
      const romfile = p.str("romfile");
      if (romfile !== undefined && romfile !== "") {
        throw new DeviceError(`romfile=${romfile}: option ROMs are not supported on this board (use romfile=)`);
      }
      let backend: NetBackend | undefined;
      const netdev = p.str("netdev");
      if (netdev !== undefined) {
        backend = opts.netdevs?.(ctx)?.get(netdev);
        if (backend === undefined) throw new DeviceError(`Property 'e1000e.netdev' can't find value '${netdev}'`);
      }
      const given = p.str("mac");
      let mac: Uint8Array;
      if (given !== undefined) {
        const parsed = parseMac(given);
        if (parsed === undefined) throw new DeviceError(`Property 'e1000e.mac' doesn't take value '${given}'`);
        mac = parsed;
        macs.claim(mac);
      } else {
        mac = macs.next();
      }
      const addr = p.num("addr") ?? -1;
      const subsystemId = p.num("subsys") ?? 0;
      const subsystemVendorId = p.num("subsys_ven") ?? E1000E_DEFAULT_SUBSYSTEM_VENDOR;
      return {
        bus: "PCI",
        plug: {
          name: "e1000e", addr: addr < 0 ? undefined : addr,
          create: (bus) => {
            const nic = new E1000e({
              dma: bus.dma, send: bus.send, routes: bus.routes, mac, backend, subsystemId, subsystemVendorId, log: bus.log,
              deviceType: behindPort(bus) ? "endpoint" : "rc-integrated",
            });
            return { config: nic.config, reset: () => nic.reset() };
          },
        },
      };
    },
  });
}
