/**
 * The monitor's view of a running virt machine (MachineControl): what QMP
 * and HMP read and drive, assembled from the board, its drives and network.
 */
import { VIRT, type VirtMachine } from "../hw/riscv/virt.js";
import { pciBusInfo } from "../hw/pci/pci-info.js";
import type { BlockDeviceInfo, ChardevInfo, MachineControl, QtreeDevice } from "../monitor/machine.js";
import type { RunControl } from "../monitor/runstate.js";
import { disassembleBytes, riscvCpuView } from "../monitor/target-riscv.js";
import { imageFormat, type Drives } from "./drives.js";
import type { MachineNetdevs } from "./machine-netdevs.js";
import type { MachineHost } from "./machine-host.js";
import type { Iothread } from "./iothread.js";
import { IOTHREAD_PROPS } from "./option-syntax.js";

function iothreadSetting(t: Iothread, name: string): number {
  return t.settings.get(name) ?? IOTHREAD_PROPS.get(name) ?? 0;
}

const VIRTIO_NAMES: Record<number, string> = { 1: "virtio-net-device", 2: "virtio-blk-device", 4: "virtio-rng-device" };

/**
 * Guest-physical reads for the monitor: RAM and the boot ROM directly; device
 * registers a word at a time, with the side effects a read has (as QEMU's xp);
 * undefined when part of the range has nothing behind it.
 */
function physicalReader(m: VirtMachine): (addr: bigint, length: number) => Uint8Array | undefined {
  const word = new Int32Array(2);
  return (addr, length) => {
    if (addr < 0n || addr + BigInt(length) > 2n ** 48n) return undefined;
    const base = Number(addr);
    const whole = m.bus.read(base, length);
    if (whole !== undefined) return whole;
    const out = new Uint8Array(length);
    for (let i = 0; i < length;) {
      const pa = base + i;
      const ram = m.bus.read(pa, 1);
      if (ram !== undefined) {
        out[i++] = ram[0];
        continue;
      }
      const region = m.bus.mapped.find((r) => pa >= r.base && pa < r.base + r.size);
      if (region === undefined) return undefined;
      const aligned = pa - (pa % 4);
      if (aligned + 4 <= region.base + region.size && m.bus.ioRead(aligned, 4, word)) {
        for (let k = pa - aligned; k < 4 && i < length; k++) out[i++] = (word[0] >>> (8 * k)) & 0xff;
      } else if (m.bus.ioRead(pa, 1, word)) {
        out[i++] = word[0] & 0xff;
      } else {
        return undefined;
      }
    }
    return out;
  };
}

function qtree(m: VirtMachine): QtreeDevice[] {
  const slots: QtreeDevice[] = m.virtio.map((v, i) => ({
    type: "virtio-mmio", id: "", props: [], mmio: [{ base: v.base, size: v.size }],
    bus: {
      name: `virtio-mmio-bus.${i}`, type: "virtio-mmio-bus",
      devices: v.device === undefined ? [] : [{ type: VIRTIO_NAMES[v.device.deviceId] ?? "virtio-device", id: "", props: [], mmio: [] }],
    },
  })).reverse();
  const others = m.bus.mapped.filter((r) => r.name !== "virtio-mmio").map((r): QtreeDevice => ({
    type: r.name === "serial" ? "serial-mm" : r.name, id: "", props: [], mmio: [{ base: r.base, size: r.size }],
  }));
  const harts: QtreeDevice = {
    type: "riscv.hart_array", id: "", mmio: [],
    props: [["num-harts", `${m.harts.length} (0x${m.harts.length.toString(16)})`], ["hartid-base", "0 (0x0)"],
      ["cpu-type", "\"rv64-riscv-cpu\""], ["resetvec", "4096 (0x1000)"]],
  };
  return [...others, ...slots, harts];
}

export interface MonitorViewParts {
  machine: VirtMachine;
  run: () => RunControl;
  name?: string;
  ramSize: number;
  drives: Drives;
  net: MachineNetdevs;
  host: MachineHost;
  /** The character devices the monitor lists (the serial port's first). */
  chardevs: () => ChardevInfo[];
  iothreads: ReadonlyMap<string, Iothread>;
}

export function machineControl(p: MonitorViewParts): MachineControl {
  const m = p.machine;
  const views = m.harts.map((cpu) => riscvCpuView(cpu, m.bus));
  return {
    arch: "riscv64",
    name: p.name,
    status: () => p.run().status,
    stop: () => p.run().stop(),
    cont: () => p.run().cont(),
    reset: () => p.run().hostReset(),
    powerdown: () => p.run().powerdown(),
    quit: () => p.run().quit(),
    cpuCount: () => m.harts.length,
    cpu: (i) => views[i],
    threadId: () => p.host.threadId(),
    qomPath: (i) => `/machine/soc0/harts[${i}]`,
    readPhysical: physicalReader(m),
    disassemble: disassembleBytes,
    blockDevices: (): BlockDeviceInfo[] => p.drives.info.map((d, i) => ({
      device: d.name, nodeName: `#block${(i + 1) * 100 + 17}`, file: d.path, format: imageFormat(d), readOnly: d.readOnly,
      virtualSize: d.backend.size, actualSize: p.host.allocatedBytes?.(d.path) ?? 0, qdev: d.qdev, snapshot: d.snapshot,
    })),
    chardevs: p.chardevs,
    memoryMap: () => [
      { name: "riscv_virt_board.mrom", base: VIRT.mrom.base, size: VIRT.mrom.size, kind: "rom" as const },
      ...m.bus.mapped.map((r) => ({ name: r.name, base: r.base, size: r.size, kind: "i/o" as const })),
      { name: "riscv_virt_board.ram", base: VIRT.dram, size: p.ramSize, kind: "ram" as const },
    ],
    network: p.net.machine,
    pciDevices: () => pciBusInfo(m.pcie, (bridge, devfn) =>
      (bridge === undefined ? m.pciFunctions : m.pciChildren(bridge)).get(devfn)?.id ?? ""),
    pciFunctionById: (id) => m.pciFunctionById(id),
    qtree: () => qtree(m),
    // QEMU lists the newest object first.
    iothreads: () => [...p.iothreads.values()].reverse().map((t) => ({
      id: t.id, threadId: t.threadId,
      pollMaxNs: iothreadSetting(t, "poll-max-ns"), pollGrow: iothreadSetting(t, "poll-grow"),
      pollShrink: iothreadSetting(t, "poll-shrink"), aioMaxBatch: iothreadSetting(t, "aio-max-batch"),
    })),
  };
}
