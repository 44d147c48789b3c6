/**
 * The `-device e1000e` type (QEMU's "Intel 82574L GbE Controller"): its
 * properties and how it is realized on the board's PCI Express bus.
 * MAC addresses without mac= come from the machine's allocator (src/net/mac.ts).
 */
import type { NetBackend } from "../net/net-client.js";
import { parseMac } from "../net/mac.js";
import type { PciBusContext } from "../hw/pci/pci-device.js";
import { E1000E_DEFAULT_SUBSYSTEM_VENDOR, E1000e } from "../hw/net/e1000e.js";
import { DeviceError, type DeviceRegistry, type PropSpec } from "./qdev.js";
import type { DeviceContext, PlannedDevice } from "./virt-devices.js";

const PROPS: readonly PropSpec[] = [
  { name: "addr", type: "pci-devfn", description: "Slot and optional function number, example: 06.0 or 06", default: -1 },
  { name: "mac", type: "str", description: "Ethernet 6-byte MAC Address, example: 52:54:00:12:34:56" },
  { name: "netdev", type: "str", description: "ID of a netdev to use as a backend" },
  { name: "romfile", type: "str" },
  { name: "subsys", type: "uint16", description: "PCI device Subsystem ID", default: 0 },
  { name: "subsys_ven", type: "uint16", description: "PCI device Subsystem Vendor ID", default: E1000E_DEFAULT_SUBSYSTEM_VENDOR },
];

/**
 * Whether the function sits behind a PCI Express port, where QEMU makes it an
 * Endpoint rather than a Root Complex Integrated Endpoint: a bus context that
 * knows (an `express` flag) says so; one that does not is the root bus.
 */
function behindPort(bus: PciBusContext): boolean {
  return "express" in bus && bus.express === true;
}

export function registerE1000e(r: DeviceRegistry<DeviceContext, PlannedDevice>): void {
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
        backend = ctx.netdevs.get(netdev);
        if (backend === undefined) throw new DeviceError(`Property 'e1000e.netdev' can't find value '${netdev}'`);
        if (ctx.usedNetdevs.has(netdev)) throw new DeviceError(`Property 'e1000e.netdev' can't take value '${netdev}', it's in use`);
        ctx.usedNetdevs.add(netdev);
      }
      const given = p.str("mac");
      let mac: Uint8Array;
      if (given !== undefined) {
        const parsed = parseMac(given);
        if (parsed === undefined) throw new DeviceError(`Property 'e1000e.mac' doesn't take value '${given}'`);
        mac = parsed;
        ctx.macs.claim(mac);
      } else {
        mac = ctx.macs.next();
      }
      const addr = p.num("addr") ?? -1;
      const subsystemId = p.num("subsys") ?? 0;
      const subsystemVendorId = p.num("subsys_ven") ?? E1000E_DEFAULT_SUBSYSTEM_VENDOR;
      // The monitor lists the NIC from now on (info network, set_link); the device itself comes with the bus.
      let device: E1000e | undefined;
      ctx.nicCreated({ id: p.str("id") ?? "", model: "e1000e", device: { mac, setLink: (up) => device?.setLink(up) }, backend });
      return {
        bus: "PCI",
        plug: {
          name: "e1000e", addr: addr < 0 ? undefined : addr,
          create: (bus) => {
            const nic = new E1000e({
              dma: bus.dma, send: bus.send, routes: bus.routes, mac, backend, subsystemId, subsystemVendorId, log: bus.log,
              deviceType: behindPort(bus) ? "endpoint" : "rc-integrated",
            });
            device = nic;
            return { config: nic.config, reset: () => nic.reset() };
          },
        },
      };
    },
  });
}
