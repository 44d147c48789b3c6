/**
 * The `pcie-root-port` device type (QEMU's gen_pcie_root_port.c): the
 * properties tsemu honours, with QEMU 7.2's names, types and defaults.
 */
import { PcieRootPort } from "../hw/pci/pcie-root-port.js";
import type { DeviceType, PropSpec } from "./qdev.js";
import type { DeviceContext, PlannedDevice } from "./virt-devices.js";

const CHASSIS: PropSpec = { name: "chassis", type: "uint8", description: "", default: 0 };
const SLOT: PropSpec = { name: "slot", type: "uint16", description: "", default: 0 };
const PORT: PropSpec = { name: "port", type: "uint8", description: "", default: 0 };

export function pcieRootPortType(addr: PropSpec): DeviceType<DeviceContext, PlannedDevice> {
  return {
    name: "pcie-root-port", bus: "PCI", category: "Controller/Bridge/Hub", description: "PCI Express Root Port", props: [addr, CHASSIS, PORT, SLOT],
    realize: (p) => {
      const chassis = p.num("chassis") ?? 0;
      const slot = p.num("slot") ?? 0;
      const port = p.num("port") ?? 0;
      const devfn = p.num("addr") ?? -1;
      return {
        bus: "PCI",
        plug: {
          name: "pcie-root-port", addr: devfn < 0 ? undefined : devfn, rootBusOnly: true,
          create: (ctx) => {
            const rp = new PcieRootPort({ chassis, slot, port, send: ctx.send });
            return {
              config: rp.config, reset: () => rp.reset(), errors: rp.errors,
              bridge: rp,
            };
          },
        },
      };
    },
  };
}
