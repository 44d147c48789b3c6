/**
 * The devices of -device, -nic and -drive if=virtio, created through the
 * device registry as QEMU's qdev creates them, in QEMU's order: -device
 * first, then a NIC for each -nic, then a virtio-blk-pci for each if=virtio
 * drive.
 */
import type { VirtioDevice } from "../hw/virtio/virtio-transport.js";
import type { PciPlug } from "../hw/pci/pci-device.js";
import { MacAllocator } from "../net/mac.js";
import { virtDevices, type DeviceContext } from "./virt-devices.js";
import { DeviceError } from "./qdev.js";
import { ConfigError } from "./machine-config.js";
import type { Drives } from "./drives.js";
import type { MachineNetdevs } from "./machine-netdevs.js";
import type { DeviceOption } from "./option-syntax.js";
import type { Iothread, IothreadMachine } from "./iothread.js";

/**
 * The drives that devices with iothread= use, by drive id: the machine
 * opens them in that iothread's worker.
 */
export function iothreadDrives(devices: readonly DeviceOption[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of devices) {
    const thread = d.props.get("iothread");
    const drive = d.props.get("drive");
    if (thread !== undefined && drive !== undefined && (d.driver === "virtio-blk-pci" || d.driver === "virtio-blk")) {
      out.set(drive, thread);
    }
  }
  return out;
}

export interface MachineDevices {
  virtio: VirtioDevice[];
  pci: PciPlug[];
}

/**
 * What `-device help` or `-device NAME,help` prints, or undefined when the
 * option asks for no help.  A command line answers it before building anything.
 */
export function deviceHelp(dev: DeviceOption): string | undefined {
  const registry = virtDevices();
  if (dev.driver === "help" || dev.driver === "?") return registry.help();
  if (!dev.props.has("help")) return undefined;
  const type = registry.find(dev.driver);
  return type === undefined ? undefined : registry.typeHelp(type);
}

export function makeDevices(devices: readonly DeviceOption[], drives: Drives, net: MachineNetdevs, harts: number,
  random: (buf: Uint8Array) => void, iothreads: ReadonlyMap<string, Iothread>, iothreadMachine: IothreadMachine): MachineDevices {
  const registry = virtDevices();
  const out: MachineDevices = { virtio: [], pci: [] };
  // QOM paths of the devices: /machine/peripheral/ID, or for a device without an id
  // /machine/peripheral-anon/device[N], N counting the anonymous devices as they are created.
  let anonymous = 0;
  const ctx: DeviceContext = {
    drives: drives.byId, usedDrives: new Set(), random, harts,
    attached: (b) => {
      const info = drives.info.find((i) => i.backend === b);
      if (info !== undefined) info.qdev = `${ctx.qomPath}/virtio-backend`;
    },
    netdevs: net.byId, usedNetdevs: new Set(),
    macs: new MacAllocator(net.hiddenDefaultNic),
    nicCreated: (nic) => net.machine.addNic(nic),
    rxFilterChanged: (device) => net.machine.rxFilterChanged(device),
    qomPath: "", iothreads, iothreadMachine,
  };
  /** The PCI buses -device bus= can name so far: the root bus and the root ports created before. */
  const pciBuses = new Set(["pcie.0"]);
  const create = (driver: string, props: Map<string, string>, spec: string): void => {
    const type = registry.find(driver);
    if (type === undefined) throw new ConfigError(`-device ${spec}: '${driver}' is not a valid device model name`);
    const id = props.get("id");
    ctx.qomPath = id !== undefined ? `/machine/peripheral/${id}` : `/machine/peripheral-anon/device[${anonymous++}]`;
    try {
      const planned = type.realize(registry.parse(type, props), ctx);
      const bus = props.get("bus");
      if (bus !== undefined && !pciBuses.has(bus)) throw new ConfigError(`-device ${spec}: Bus '${bus}' not found`);
      if (planned.bus === "PCI") {
        out.pci.push({ ...planned.plug, spec, id, bus });
        // A root port's id names the bus below it, for the devices after it.
        if (planned.plug.rootBusOnly === true && id !== undefined) pciBuses.add(id);
      } else {
        if (bus !== undefined) throw new ConfigError(`-device ${spec}: Device '${driver}' can't go on PCIE bus`);
        out.virtio.push(planned.device);
      }
    } catch (e) {
      if (e instanceof DeviceError) throw new ConfigError(`-device ${spec}: ${e.message}`);
      throw e;
    }
  };
  for (const dev of devices) create(dev.driver, dev.props, dev.spec);
  // -nic: a NIC for each (after -device, as QEMU creates its NICs with the board).
  for (const nic of net.nics) {
    const props = new Map([["netdev", nic.netdevId]]);
    if (nic.mac !== undefined) props.set("mac", nic.mac);
    create(nic.model, props, nic.spec);
  }
  // QEMU turns each if=virtio drive into a virtio-blk-pci after the -device options.
  for (const name of drives.virtio) {
    create("virtio-blk-pci", new Map([["drive", name]]), `virtio-blk-pci,drive=${name}`);
  }
  return out;
}
