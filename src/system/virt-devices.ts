/**
 * The device types `-device` can create on the virt board, declared in
 * QEMU's manner (qdev.ts): virtio devices on virtio-mmio (`virtio-bus`) and
 * on PCI.  Realizing a type gives what the board plugs: a virtio device for
 * a virtio-mmio slot, or a PCI function for the PCIe host's root bus.
 */
import type { BlockBackend } from "../block/block.js";
import type { VirtioDevice } from "../hw/virtio/virtio-transport.js";
import { VIRTIO_BLK_MAX_QUEUES, VirtioBlk } from "../hw/virtio/virtio-blk.js";
import { VirtioRng } from "../hw/virtio/virtio-rng.js";
import { VirtioPci } from "../hw/virtio/virtio-pci.js";
import type { SharedRoutes } from "../hw/virtio/dataplane.js";
import type { PciPlug } from "../hw/pci/pci-device.js";
import {
  VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_HOST_TSO4, VirtioNet, type RxFilter,
} from "../hw/virtio/virtio-net.js";
import type { NetBackend } from "../net/net-client.js";
import { DeviceError, DeviceRegistry, type PropSpec, type Props } from "./qdev.js";
import { MacAllocator, parseMac } from "../net/mac.js";
import { pcieRootPortType } from "./pcie-root-port-device.js";
import { registerE1000e } from "./e1000e-device.js";
import { IothreadDrive, type Iothread, type IothreadMachine } from "./iothread.js";

/** What realizing a device needs from the machine being built. */
export interface DeviceContext {
  /** -drive ... if=none drives by id. */
  drives: ReadonlyMap<string, BlockBackend>;
  /** Drives already attached to a device. */
  usedDrives: Set<string>;
  /** The machine's harts (virtio-blk-pci's default queue count, as QEMU's). */
  harts: number;
  /** Host randomness for virtio-rng. */
  random: (buf: Uint8Array) => void;
  /** A drive was attached to the device named (for query-block's qdev path). */
  attached(drive: BlockBackend): void;
  /** -netdev backends by id. */
  netdevs: ReadonlyMap<string, NetBackend>;
  /** Netdevs already joined to a NIC. */
  usedNetdevs: Set<string>;
  /** Default MACs for NICs without mac=, as QEMU hands them out. */
  macs: MacAllocator;
  /** A NIC was made (for `info network` and set_link). */
  nicCreated(nic: NicInfo): void;
  /** The driver changed a NIC's receive filter or MAC (QMP's NIC_RX_FILTER_CHANGED). */
  rxFilterChanged(device: NicDevice): void;
  /** QEMU's canonical QOM path of the device being realized: /machine/peripheral/ID or /machine/peripheral-anon/device[N]. */
  qomPath: string;
  /** -object iothread objects by id. */
  iothreads: ReadonlyMap<string, Iothread>;
  /** What an iothread's worker needs of the machine (dropping decoded code, waking the loop). */
  iothreadMachine: IothreadMachine;
}

/** What the monitor needs of a NIC: its address, its link, and the receive filter where the model reports one. */
export interface NicDevice {
  readonly mac: Uint8Array;
  setLink(up: boolean): void;
  /** The filter query-rx-filter reports (virtio-net); absent: the model does not support the query (e1000e, as on QEMU). */
  readonly filter?: RxFilter;
  /** The VLANs the filter lets through; undefined when it does not filter VLANs (the driver took no CTRL_VLAN). */
  vlanIds?(): number[] | undefined;
}

/** A NIC as the monitor sees it. */
export interface NicInfo {
  /** The device's id=, or "" (the monitor names it MODEL.N). */
  id: string;
  model: "virtio-net-pci" | "virtio-net-device" | "e1000e";
  device: NicDevice;
  backend?: NetBackend;
  /**
   * The data of its NIC_RX_FILTER_CHANGED event (models that send it): the QOM path of the
   * virtio-net device (below the PCI proxy for virtio-net-pci), and as name the id that
   * QEMU's virtio-net-pci hands its virtio-net (virtio-net-device gets none, id or not).
   */
  rxFilterEvent?: { name?: string; path: string };
}

export type PlannedDevice =
  | { bus: "virtio-bus"; device: VirtioDevice }
  | { bus: "PCI"; plug: PciPlug };

/** PCI class codes QEMU gives virtio devices. */
const PCI_CLASS_STORAGE_SCSI = 0x010000;
const PCI_CLASS_OTHERS = 0x00ff00;
/** QEMU's "vectors" default: unspecified, the device picks. */
const VECTORS_UNSPECIFIED = 0xffffffff;

const ADDR: PropSpec = {
  name: "addr", type: "pci-devfn", description: "Slot and optional function number, example: 06.0 or 06", default: -1,
};
const VECTORS: PropSpec = { name: "vectors", type: "uint32", description: "", default: VECTORS_UNSPECIFIED };
const DRIVE: PropSpec = { name: "drive", type: "str", description: "Node name or ID of a block device to use as a backend" };
const SERIAL: PropSpec = { name: "serial", type: "str" };
/** 65535: one queue per hart on PCI (QEMU's virtio_pci_optimal_num_queues), one on virtio-mmio. */
const NUM_QUEUES: PropSpec = { name: "num-queues", type: "uint16", description: "", default: 0xffff };

function numQueues(type: string, props: Props, auto: number): number {
  const n = props.num("num-queues") ?? 0xffff;
  if (n === 0xffff) return auto;
  if (n < 1 || n > VIRTIO_BLK_MAX_QUEUES) throw new DeviceError(`${type}: num-queues property must be 1 to ${VIRTIO_BLK_MAX_QUEUES}`);
  return n;
}
const IOTHREAD: PropSpec = { name: "iothread", type: "link<iothread>" };

/** The iothread= of a device: the -object iothread it names (QEMU's error when there is none). */
function iothreadOf(props: Props, ctx: DeviceContext): Iothread | undefined {
  const id = props.str("iothread");
  if (id === undefined) return undefined;
  const t = ctx.iothreads.get(id);
  if (t === undefined) throw new DeviceError(`Device '${id}' not found`);
  return t;
}

/** PCI Express devices (behind a port) get an AER capability with aer=on. */
const AER: PropSpec = { name: "aer", type: "bool", description: "on/off", default: false };
/** On the root bus (conventional PCI) auto means a transitional device, as on QEMU. */
const DISABLE_LEGACY: PropSpec = { name: "disable-legacy", type: "OnOffAuto", description: "on/off/auto", default: "auto" };

function takeDrive(type: string, props: Props, ctx: DeviceContext): BlockBackend {
  const id = props.str("drive");
  if (id === undefined) throw new DeviceError("drive property not set");
  const b = ctx.drives.get(id);
  if (b === undefined) throw new DeviceError(`Property '${type}.drive' can't find value '${id}'`);
  if (ctx.usedDrives.has(id)) throw new DeviceError(`Drive '${id}' is already in use by another device`);
  ctx.usedDrives.add(id);
  ctx.attached(b);
  return b;
}

/** A virtio-blk-pci whose queues an iothread serves: the drive was opened in its worker. */
interface Dataplane {
  drive: IothreadDrive;
  serial: string | undefined;
  machine: IothreadMachine;
}

function pciPlug(name: string, props: Props, classCode: number, make: () => VirtioDevice, defaultVectors?: number,
  dataplane?: Dataplane): PciPlug {
  const disableLegacy = props.str("disable-legacy") ?? "auto";
  const aer = props.bool("aer") === true;
  const addr = props.num("addr") ?? -1;
  let vectors = props.num("vectors") ?? VECTORS_UNSPECIFIED;
  if (vectors === VECTORS_UNSPECIFIED && defaultVectors !== undefined) vectors = defaultVectors;
  if (vectors !== VECTORS_UNSPECIFIED && vectors > 2048) throw new DeviceError(`vectors=${vectors}: at most 2048 MSI-X vectors`);
  const device = make();
  return {
    name, addr: addr < 0 ? undefined : addr,
    create: (ctx) => {
      // Behind a PCI Express port QEMU's auto means modern only.
      const legacy = disableLegacy === "auto" ? !ctx.express : disableLegacy === "off";
      const count = vectors === VECTORS_UNSPECIFIED ? device.queueCount + 1 : vectors;
      let served: VirtioDevice = device;
      let shared: { queueVectors: Uint16Array; routes: SharedRoutes } | undefined;
      if (dataplane !== undefined) {
        if (ctx.shared === undefined) throw new DeviceError("iothread: the machine has no shared memory");
        const thread = dataplane.drive.thread;
        thread.bindMachine(ctx.shared, dataplane.machine);
        const blk = thread.attachBlk(dataplane.drive, device, dataplane.serial, count);
        served = blk;
        shared = { queueVectors: blk.queueVectors, routes: blk.routes };
      }
      const fn = new VirtioPci({
        device: served, dma: ctx.dma, send: ctx.send, routes: ctx.routes, classCode, name, log: ctx.log, legacy,
        express: ctx.express, aer, vectors: count, dataplane: shared,
      });
      return { config: fn.config, reset: () => fn.reset(), errors: fn.errors };
    },
  };
}

const NETDEV: PropSpec = { name: "netdev", type: "str", description: "ID of a netdev to use as a backend" };
/** virtio-net's offload switches, QEMU's names and defaults (they matter only with a backend that has offloads). */
const NET_OFFLOADS: ReadonlyArray<readonly [PropSpec, bigint]> = [
  [{ name: "csum", type: "bool", description: "on/off", default: true }, VIRTIO_NET_F_CSUM],
  [{ name: "guest_csum", type: "bool", description: "on/off", default: true }, VIRTIO_NET_F_GUEST_CSUM],
  [{ name: "guest_tso4", type: "bool", description: "on/off", default: true }, VIRTIO_NET_F_GUEST_TSO4],
  [{ name: "host_tso4", type: "bool", description: "on/off", default: true }, VIRTIO_NET_F_HOST_TSO4],
];
const MAC: PropSpec = { name: "mac", type: "str", description: "Ethernet 6-byte MAC Address, example: 52:54:00:12:34:56" };
/** QEMU's default for virtio-net-pci: 2 vectors per queue pair, one for the control queue, one for configuration. */
const NET_VECTORS = 4;
const PCI_CLASS_NETWORK_ETHERNET = 0x020000;

/** The NIC's virtio device, joined to its netdev (the properties live on QEMU's inner virtio-net-device, and so do their errors). */
function makeNic(model: NicInfo["model"], props: Props, ctx: DeviceContext): VirtioNet {
  const macText = props.str("mac");
  let mac: Uint8Array;
  if (macText !== undefined) {
    const parsed = parseMac(macText);
    if (parsed === undefined) throw new DeviceError(`Property 'virtio-net-device.mac' doesn't take value '${macText}'`);
    mac = parsed;
    ctx.macs.claim(mac);
  } else {
    mac = ctx.macs.next();
  }
  const id = props.str("netdev");
  let backend: NetBackend | undefined;
  if (id !== undefined) {
    backend = ctx.netdevs.get(id);
    if (backend === undefined) throw new DeviceError(`Property 'virtio-net-device.netdev' can't find value '${id}'`);
    if (ctx.usedNetdevs.has(id)) throw new DeviceError(`Property 'virtio-net-device.netdev' can't take value '${id}', it's in use`);
    ctx.usedNetdevs.add(id);
  }
  let offloads = 0n;
  for (const [spec, feature] of NET_OFFLOADS) if (props.bool(spec.name) ?? true) offloads |= feature;
  const device: VirtioNet = new VirtioNet({ mac, backend, offloads, onRxFilterChanged: () => ctx.rxFilterChanged(device) });
  const nicId = props.str("id");
  const rxFilterEvent = model === "virtio-net-pci" ? { name: nicId, path: `${ctx.qomPath}/virtio-backend` } : { path: ctx.qomPath };
  ctx.nicCreated({ id: nicId ?? "", model, device, backend, rxFilterEvent });
  return device;
}

/** The registry of the virt board's -device types. */
export function virtDevices(): DeviceRegistry<DeviceContext, PlannedDevice> {
  const r = new DeviceRegistry<DeviceContext, PlannedDevice>();
  r.register({
    name: "virtio-blk-device", bus: "virtio-bus", category: "Storage", props: [DRIVE, IOTHREAD, NUM_QUEUES, SERIAL],
    realize: (p, ctx) => {
      // As on QEMU's virt under TCG: virtio-mmio has no ioeventfd, which a data plane needs.
      if (iothreadOf(p, ctx) !== undefined) throw new DeviceError("ioeventfd is required for iothread");
      return {
        bus: "virtio-bus", device: new VirtioBlk(takeDrive("virtio-blk-device", p, ctx), {
          serial: p.str("serial"), numQueues: numQueues("virtio-blk-device", p, 1),
        }),
      };
    },
  });
  r.register({
    name: "virtio-rng-device", bus: "virtio-bus", category: "Misc", props: [],
    realize: (_p, ctx) => ({ bus: "virtio-bus", device: new VirtioRng(ctx.random) }),
  });
  r.register({
    name: "virtio-blk-pci", bus: "PCI", alias: "virtio-blk", category: "Storage",
    props: [ADDR, AER, DISABLE_LEGACY, DRIVE, IOTHREAD, NUM_QUEUES, SERIAL, VECTORS],
    realize: (p, ctx) => {
      const thread = iothreadOf(p, ctx);
      const disk = takeDrive("virtio-blk-pci", p, ctx);
      const queues = numQueues("virtio-blk-pci", p, Math.min(ctx.harts, VIRTIO_BLK_MAX_QUEUES));
      let dataplane: Dataplane | undefined;
      if (thread !== undefined) {
        // The machine opened the drive in this iothread's worker (it looked for iothread= before opening drives).
        if (!(disk instanceof IothreadDrive) || disk.thread !== thread) {
          throw new DeviceError(`drive '${p.str("drive") ?? ""}' is not open in iothread '${thread.id}'`);
        }
        dataplane = { drive: disk, serial: p.str("serial"), machine: ctx.iothreadMachine };
      }
      return {
        bus: "PCI", plug: pciPlug("virtio-blk-pci", p, PCI_CLASS_STORAGE_SCSI,
          () => new VirtioBlk(disk, { serial: p.str("serial"), numQueues: queues }), undefined, dataplane),
      };
    },
  });
  r.register({
    name: "virtio-rng-pci", bus: "PCI", alias: "virtio-rng", category: "Misc",
    props: [ADDR, AER, DISABLE_LEGACY, VECTORS],
    realize: (p, ctx) => ({ bus: "PCI", plug: pciPlug("virtio-rng-pci", p, PCI_CLASS_OTHERS, () => new VirtioRng(ctx.random)) }),
  });
  r.register({
    name: "virtio-net-device", bus: "virtio-bus", category: "Network", props: [MAC, NETDEV, ...NET_OFFLOADS.map(([spec]) => spec)],
    realize: (p, ctx) => ({ bus: "virtio-bus", device: makeNic("virtio-net-device", p, ctx) }),
  });
  r.register({
    name: "virtio-net-pci", bus: "PCI", alias: "virtio-net", category: "Network",
    props: [ADDR, AER, DISABLE_LEGACY, MAC, NETDEV, VECTORS, ...NET_OFFLOADS.map(([spec]) => spec)],
    realize: (p, ctx) => {
      const device = makeNic("virtio-net-pci", p, ctx);
      const vectors = p.num("vectors") ?? VECTORS_UNSPECIFIED;
      return {
        bus: "PCI", plug: pciPlug("virtio-net-pci", p, PCI_CLASS_NETWORK_ETHERNET, () => device,
          vectors === VECTORS_UNSPECIFIED ? NET_VECTORS : undefined),
      };
    },
  });
  r.register(pcieRootPortType(ADDR));
  registerE1000e(r);
  return r;
}
