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
import type { PciPlug } from "../hw/pci/pci-device.js";
import { DeviceError, DeviceRegistry, type PropSpec, type Props } from "./qdev.js";
import { registerE1000e } from "./e1000e-device.js";

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

function pciPlug(name: string, props: Props, classCode: number, make: () => VirtioDevice): PciPlug {
  const legacy = props.str("disable-legacy") !== "on";
  const addr = props.num("addr") ?? -1;
  const vectors = props.num("vectors") ?? VECTORS_UNSPECIFIED;
  if (vectors !== VECTORS_UNSPECIFIED && vectors > 2048) throw new DeviceError(`vectors=${vectors}: at most 2048 MSI-X vectors`);
  const device = make();
  return {
    name, addr: addr < 0 ? undefined : addr,
    create: (ctx) => {
      const fn = new VirtioPci({
        device, dma: ctx.dma, send: ctx.send, routes: ctx.routes, classCode, name, log: ctx.log, legacy,
        vectors: vectors === VECTORS_UNSPECIFIED ? undefined : vectors,
      });
      return { config: fn.config, reset: () => fn.reset() };
    },
  };
}

/** The registry of the virt board's -device types. */
export function virtDevices(): DeviceRegistry<DeviceContext, PlannedDevice> {
  const r = new DeviceRegistry<DeviceContext, PlannedDevice>();
  r.register({
    name: "virtio-blk-device", bus: "virtio-bus", category: "Storage", props: [DRIVE, NUM_QUEUES, SERIAL],
    realize: (p, ctx) => ({
      bus: "virtio-bus", device: new VirtioBlk(takeDrive("virtio-blk-device", p, ctx), {
        serial: p.str("serial"), numQueues: numQueues("virtio-blk-device", p, 1),
      }),
    }),
  });
  r.register({
    name: "virtio-rng-device", bus: "virtio-bus", category: "Misc", props: [],
    realize: (_p, ctx) => ({ bus: "virtio-bus", device: new VirtioRng(ctx.random) }),
  });
  r.register({
    name: "virtio-blk-pci", bus: "PCI", alias: "virtio-blk", category: "Storage",
    props: [ADDR, DISABLE_LEGACY, DRIVE, NUM_QUEUES, SERIAL, VECTORS],
    realize: (p, ctx) => {
      const disk = takeDrive("virtio-blk-pci", p, ctx);
      const queues = numQueues("virtio-blk-pci", p, Math.min(ctx.harts, VIRTIO_BLK_MAX_QUEUES));
      return {
        bus: "PCI", plug: pciPlug("virtio-blk-pci", p, PCI_CLASS_STORAGE_SCSI,
          () => new VirtioBlk(disk, { serial: p.str("serial"), numQueues: queues })),
      };
    },
  });
  r.register({
    name: "virtio-rng-pci", bus: "PCI", alias: "virtio-rng", category: "Misc",
    props: [ADDR, DISABLE_LEGACY, VECTORS],
    realize: (p, ctx) => ({ bus: "PCI", plug: pciPlug("virtio-rng-pci", p, PCI_CLASS_OTHERS, () => new VirtioRng(ctx.random)) }),
  });
  registerE1000e(r);
  return r;
}
