/**
 * The RISC-V `virt` board, laid out as QEMU 7.2's (hw/riscv/virt.c): the
 * memory map, which devices sit where with which interrupts, the device tree
 * (each device writes its own node), the boot ROM and the harts.
 */
import { RiscvCpu, Priv } from "../../target/riscv/cpu.js";
import { SystemMemory } from "../../target/riscv/mmu.js";
import { registerPrivilegedCsrs } from "../../target/riscv/csr-priv.js";
import { setTickSource } from "../../target/riscv/csr.js";
import { HartAia, registerAiaCsrs } from "../../target/riscv/aia.js";
import { SystemBus } from "../core/bus.js";
import { Fdt, type FdtNode } from "../core/fdt.js";
import { TimerList, type TimeSource } from "../core/clock.js";
import type { HartIrqs, IrqLine, MipBit } from "../core/irq.js";
import { Clint } from "../intc/clint.js";
import { Plic } from "../intc/plic.js";
import { Aplic } from "../intc/aplic.js";
import { FileWord, Imsic } from "../intc/imsic.js";
import type { SharedMachine } from "../core/shared-machine.js";
import { Serial, type SerialBackend } from "../char/serial.js";
import { GoldfishRtc } from "../rtc/goldfish-rtc.js";
import { SifiveTest } from "../misc/sifive-test.js";
import { VirtioMmio, type VirtioDevice } from "../virtio/virtio-mmio.js";
import { PcieHost } from "../pci/pcie-host.js";
import { MsiRouteTable, type MsiFastPath } from "../pci/msi-route.js";
import type { MsiMessage } from "../pci/msi.js";
import type { PciBridgeModel, PciFunctionModel, PciPlug } from "../pci/pci-device.js";
import type { PcieErrorReporter } from "../pci/pcie-aer.js";

/** A PCI function plugged from the options: its type's name, its id= and its model. */
export interface PciFunctionEntry {
  name: string;
  id: string;
  model: PciFunctionModel;
}
import { FwCfg } from "../nvram/fw-cfg.js";
import { fdtAddress, loadBootImages, resetVector, type BootImages } from "./boot.js";

export const VIRT = {
  mrom: { base: 0x1000, size: 0xf000 },
  test: 0x100000,
  rtc: 0x101000,
  clint: 0x2000000,
  pciePio: { base: 0x3000000, size: 0x10000 },
  platformBus: { base: 0x4000000, size: 0x2000000 },
  plic: 0xc000000,
  aplicM: 0xc000000,
  aplicS: 0xd000000,
  uart0: 0x10000000,
  virtio: 0x10001000,
  fwCfg: 0x10100000,
  imsicM: 0x24000000,
  imsicS: 0x28000000,
  pcieEcam: { base: 0x30000000, size: 0x10000000 },
  pcieMmio: { base: 0x40000000, size: 0x40000000 },
  dram: 0x80000000,
} as const;
/** The 64-bit PCIe window of an RV64 virt: 16 GiB, above RAM, aligned to its size (virt_high_pcie_memmap). */
export const PCIE_HIGH_MMIO_SIZE = 16 * 2 ** 30;
export function pcieHighMmio(ramSize: number): { base: number; size: number } {
  const size = PCIE_HIGH_MMIO_SIZE;
  return { base: Math.ceil((VIRT.dram + ramSize) / size) * size, size };
}
export const VIRTIO_SLOTS = 8;
export const UART0_IRQ = 10;
export const RTC_IRQ = 11;
export const VIRTIO_IRQ = 1; // slot i -> 1 + i
export const PCIE_IRQ = 32; // INTA..INTD -> 32..35
export const TIMEBASE_HZ = 10_000_000;
export const MAX_HARTS = 8;

/** QEMU's `aia=` machine property: which interrupt controllers the board has. */
export type AiaType = "none" | "aplic" | "aplic-imsic";
export const AIA_TYPES: readonly AiaType[] = ["none", "aplic", "aplic-imsic"];

export interface VirtOptions {
  ramSize: number;
  harts: number;
  images: BootImages;
  /** -append */
  bootargs?: string;
  /** -M virt,aia=: the PLIC (none, the default), an APLIC in direct mode, or an APLIC forwarding MSIs to IMSICs. */
  aia?: AiaType;
  /** -dtb: used instead of the generated tree. */
  dtb?: Uint8Array;
  /** Virtio devices, in command-line order (the first lands in the highest slot, as QEMU's). */
  virtio: VirtioDevice[];
  /** PCI devices for the root bus, in the order QEMU creates them (each takes the first free slot unless it names one). */
  pci?: PciPlug[];
  serial: SerialBackend;
  clock: TimeSource;
  /** Host realtime in nanoseconds since the epoch (the RTC). */
  realtimeNs: () => bigint;
  /** Random bytes (rng-seed in /chosen). */
  random: (buf: Uint8Array) => void;
  /**
   * Guest RAM, code flags and the IMSICs' state in shared memory, for
   * device models on worker threads (iothreads); see shared-machine.ts.
   */
  sharedMemory?: boolean;
  /** Told of guest RAM's bytes once, before anything is loaded there (the host's huge-page advice). */
  adviseRam?: (ram: Uint8Array) => void;
  /** Called first in every reset, before RAM is cleared: workers that write RAM stop (their devices reset after). */
  quiesce?: () => void;
  /** The guest asked to power off (status) or reset. */
  shutdown(status: number): void;
  reset(): void;
  log: (message: string) => void;
}

export class VirtMachine implements HartIrqs {
  readonly bus: SystemBus;
  readonly harts: RiscvCpu[] = [];
  readonly timers: TimerList;
  readonly clint: Clint;
  /** The wired-interrupt controller: the PLIC (aia=none) or the APLIC (aia=aplic, aplic-imsic). */
  readonly plic: Plic | undefined;
  readonly aplic: Aplic | undefined;
  /** The M- and S-level IMSICs (aia=aplic-imsic). */
  readonly imsicM: Imsic | undefined;
  readonly imsicS: Imsic | undefined;
  readonly serial: Serial;
  readonly rtc: GoldfishRtc;
  readonly test: SifiveTest;
  readonly virtio: VirtioMmio[] = [];
  readonly pcie: PcieHost;
  readonly fwCfg: FwCfg;
  /** The MSI route table of the machine's PCI functions (irqchip routes). */
  readonly msiRoutes: MsiRouteTable;
  /** The PCI functions plugged from the options, by devfn, with their type names. */
  readonly pciFunctions = new Map<number, PciFunctionEntry>();
  /** The functions below each bridge of the root bus, by the bridge's devfn, then by devfn. */
  private readonly pciBelow = new Map<number, Map<number, PciFunctionEntry>>();
  /** The device tree blob handed to the guest. */
  dtb: Uint8Array = new Uint8Array(0);
  /** Reset has run once: the memory may hold what the guest wrote. */
  private poweredOn = false;
  /** What workers reach directly (with sharedMemory). */
  readonly shared: SharedMachine | undefined;
  private readonly doorbell: Int32Array | undefined;

  constructor(readonly opts: VirtOptions) {
    if (opts.harts < 1 || opts.harts > MAX_HARTS) throw new Error(`-smp ${opts.harts}: virt supports 1 to ${MAX_HARTS} harts`);
    registerPrivilegedCsrs();
    const layout = { romBase: VIRT.mrom.base, romSize: VIRT.mrom.size, ramBase: VIRT.dram, ramSize: opts.ramSize };
    const sharedMemory = opts.sharedMemory === true;
    this.bus = new SystemBus(layout, sharedMemory);
    opts.adviseRam?.(this.bus.u8.subarray(this.bus.ramHost, this.bus.ramHost + opts.ramSize));
    this.timers = new TimerList(opts.clock);
    const mem = new SystemMemory(this.bus);
    for (let h = 0; h < opts.harts; h++) {
      const cpu = new RiscvCpu(mem);
      cpu.system = true;
      cpu.usePrivilegeTlbs();
      this.harts.push(cpu);
    }
    this.clint = new Clint({ base: VIRT.clint, harts: opts.harts, irqs: this, timers: this.timers });
    const aia = opts.aia ?? "none";
    if (aia === "aplic-imsic") {
      const state = (): Uint32Array | undefined =>
        sharedMemory ? new Uint32Array(new SharedArrayBuffer(opts.harts * FileWord.SIZE * 4)) : undefined;
      this.imsicM = new Imsic({ base: VIRT.imsicM, harts: opts.harts, machineLevel: true, irqs: this, state: state() });
      this.imsicS = new Imsic({ base: VIRT.imsicS, harts: opts.harts, machineLevel: false, irqs: this, state: state() });
      registerAiaCsrs();
      this.harts.forEach((cpu, h) => {
        cpu.aia = new HartAia((this.imsicM as Imsic).files[h], (this.imsicS as Imsic).files[h]);
      });
    }
    if (aia === "none") {
      this.plic = new Plic({ base: VIRT.plic, harts: opts.harts, irqs: this });
    } else {
      this.aplic = new Aplic({
        mBase: VIRT.aplicM, sBase: VIRT.aplicS, harts: opts.harts, msiMode: aia === "aplic-imsic", irqs: this,
        msi: (addr, data) => this.msi(addr, data),
      });
    }
    this.serial = new Serial({ base: VIRT.uart0, irq: this.irq(UART0_IRQ), backend: opts.serial, timers: this.timers });
    this.rtc = new GoldfishRtc({ base: VIRT.rtc, irq: this.irq(RTC_IRQ), timers: this.timers, now: opts.realtimeNs });
    this.test = new SifiveTest({ base: VIRT.test, shutdown: (s) => opts.shutdown(s), reset: () => opts.reset() });
    if (opts.virtio.length > VIRTIO_SLOTS) throw new Error(`at most ${VIRTIO_SLOTS} virtio-mmio devices fit on virt`);
    for (let i = 0; i < VIRTIO_SLOTS; i++) {
      // QEMU fills the slots from the top: its first device is at 0x10008000.
      const device = opts.virtio[VIRTIO_SLOTS - 1 - i];
      this.virtio.push(new VirtioMmio({
        base: VIRT.virtio + 0x1000 * i, dma: this.bus, irq: this.irq(VIRTIO_IRQ + i), device, log: opts.log,
      }));
    }
    this.pcie = new PcieHost({
      ecam: VIRT.pcieEcam, pio: VIRT.pciePio, mmio: VIRT.pcieMmio, highMmio: pcieHighMmio(opts.ramSize),
      irqs: [0, 1, 2, 3].map((i) => this.irq(PCIE_IRQ + i)), irqBase: PCIE_IRQ,
    });
    this.fwCfg = new FwCfg({ base: VIRT.fwCfg, cpus: opts.harts, dma: this.bus });
    if (sharedMemory) {
      this.doorbell = new Int32Array(new SharedArrayBuffer(4));
      const sab = (a: Uint32Array): SharedArrayBuffer => a.buffer as SharedArrayBuffer;
      this.shared = {
        ram: this.bus.ram.sharedBuffer(), codeFlags: this.bus.ram.sharedCodeFlags(),
        ramBase: layout.ramBase, ramSize: layout.ramSize, ramHost: this.bus.ramHost,
        imsics: this.imsicM !== undefined && this.imsicS !== undefined ? [sab(this.imsicM.state), sab(this.imsicS.state)] : [],
        doorbell: this.doorbell.buffer as SharedArrayBuffer,
      };
    }
    // The IMSICs take messages straight into their interrupt files (fast routes); elsewhere, through memory.
    this.msiRoutes = new MsiRouteTable((msg) => this.msiFastPath(msg), (msg) => this.msiWrite(msg));
    for (const plug of opts.pci ?? []) this.plugPci(plug);
    const intcRegions = [
      ...(this.plic !== undefined ? [this.plic.region] : []), ...(this.aplic?.regions ?? []),
      ...(this.imsicM !== undefined ? [this.imsicM.region] : []), ...(this.imsicS !== undefined ? [this.imsicS.region] : []),
    ];
    for (const r of [this.test.region, this.rtc.region, this.clint.region, ...intcRegions, this.serial.region]) {
      this.bus.map(r);
    }
    for (const v of this.virtio) this.bus.map(v);
    for (const r of [...this.pcie.regions, ...this.fwCfg.regions]) this.bus.map(r);
    setTickSource(() => this.clint.mtime());
    this.reset();
  }

  /**
   * Plug a PCI function into the root bus, or below a root port (bus=ID),
   * at its address or at the first free slot (QEMU's rule for devices
   * without addr=); errors as QEMU's.
   */
  private plugPci(plug: PciPlug): void {
    const what = `-device ${plug.spec ?? plug.name}`;
    const below = plug.bus === undefined || plug.bus === "pcie.0" ? undefined : this.pciBridgeById(plug.bus);
    if (plug.bus !== undefined && plug.bus !== "pcie.0" && below === undefined) throw new Error(`${what}: Bus '${plug.bus}' not found`);
    if (below !== undefined && plug.rootBusOnly === true) throw new Error(`${what}: ${plug.name} goes on pcie.0 only`);
    const taken = (devfn: number): boolean => below === undefined ? this.pcie.has(devfn) : this.pcie.hasBehind(below.devfn, devfn);
    let devfn = plug.addr;
    if (devfn === undefined) {
      for (let slot = 0; slot < 32 && devfn === undefined; slot++) {
        if (!taken(slot << 3)) devfn = slot << 3;
      }
      if (devfn === undefined) throw new Error(`${what}: PCI: no slot/function available for ${plug.name}, all in use or reserved`);
    }
    const fns = below === undefined ? this.pciFunctions : this.pciChildren(below.devfn);
    if (taken(devfn)) {
      const user = below === undefined && devfn === 0 ? "gpex-root" : fns.get(devfn)?.name ?? "?";
      throw new Error(`${what}: PCI: slot ${devfn >> 3} function ${devfn & 7} not available for ${plug.name}, in use by ${user},id=(null)`);
    }
    const model = plug.create({
      dma: this.bus, send: (msg) => this.msiWrite(msg), routes: this.msiRoutes, log: this.opts.log, express: below !== undefined,
      shared: this.shared,
    });
    const bridge = model.bridge;
    if (bridge !== undefined) {
      for (const f of this.pciFunctions.values()) {
        if (f.model.bridge?.chassisSlot === bridge.chassisSlot) throw new Error(`${what}: Can't add chassis slot, error -16`);
      }
    }
    if (below === undefined) {
      this.pcie.plug(devfn, model.config, () => model.reset());
      this.pciFunctions.set(devfn, { name: plug.name, id: plug.id ?? "", model });
      if (bridge !== undefined) {
        const at = devfn;
        bridge.onSecondaryReset = () => this.pcie.resetBehind(at);
      }
    } else {
      this.pcie.plugBehind(below.devfn, devfn, model.config, () => model.reset());
      fns.set(devfn, { name: plug.name, id: plug.id ?? "", model });
      if (devfn >> 3 === 0) below.bridge.populated = true;
      if (model.errors !== undefined) model.errors.upstream = below.bridge.errors;
    }
  }

  /** The bridge (root port) on the root bus with -device id=`id`. */
  private pciBridgeById(id: string): { devfn: number; bridge: PciBridgeModel } | undefined {
    for (const [devfn, f] of this.pciFunctions) {
      if (f.id === id && f.model.bridge !== undefined) return { devfn, bridge: f.model.bridge };
    }
    return undefined;
  }

  /**
   * The PCI function with -device id=`id`: its bus number as the guest
   * numbered it (pci_bus_num), devfn and error reporting.
   */
  pciFunctionById(id: string): { bus: number; devfn: number; errors: PcieErrorReporter | undefined } | undefined {
    if (id === "") return undefined;
    for (const [devfn, f] of this.pciFunctions) if (f.id === id) return { bus: 0, devfn, errors: f.model.errors };
    for (const [bridgeDevfn, fns] of this.pciBelow) {
      for (const [devfn, f] of fns) {
        if (f.id !== id) continue;
        const bridge = this.pciFunctions.get(bridgeDevfn)?.model.config;
        return { bus: bridge === undefined ? 0 : bridge.config[0x19], devfn, errors: f.model.errors };
      }
    }
    return undefined;
  }

  /** The functions plugged below the bridge at `bridgeDevfn` of the root bus, by devfn. */
  pciChildren(bridgeDevfn: number): Map<number, PciFunctionEntry> {
    let m = this.pciBelow.get(bridgeDevfn);
    if (m === undefined) {
      m = new Map();
      this.pciBelow.set(bridgeDevfn, m);
    }
    return m;
  }

  /** A message from a PCI function as bus master: a 32-bit write of its data at its address, RAM or device. */
  private msiWrite(msg: MsiMessage): void {
    const host = this.bus.hostOffset(msg.address, 4);
    if (host >= 0) {
      new DataView(this.bus.u8.buffer, this.bus.u8.byteOffset).setUint32(host, msg.data, true);
      this.bus.written(msg.address, 4);
    } else {
      this.bus.ioWrite(msg.address, 4, msg.data | 0, 0);
    }
  }

  /**
   * A message's direct way into an IMSIC interrupt file, when its address is
   * a file's seteipnum_le; with shared memory, also as data for a worker.
   */
  private msiFastPath(msg: MsiMessage): MsiFastPath | undefined {
    const m = this.imsicM?.fileAt(msg.address);
    const file = m ?? this.imsicS?.fileAt(msg.address);
    if (file === undefined) return undefined;
    const id = msg.data;
    const target = this.shared !== undefined ? file.target(id, m !== undefined ? 0 : 1) : undefined;
    return Object.assign(() => file.setPending(id), { target });
  }

  /**
   * Workers set ids pending since the last look (the doorbell rang):
   * re-evaluate the harts' external-interrupt lines.  Cheap when quiet; the
   * run loop calls it between slices.
   */
  pollShared(): void {
    const d = this.doorbell;
    if (d === undefined || Atomics.load(d, 0) === 0) return;
    Atomics.store(d, 0, 0);
    this.imsicM?.sync();
    this.imsicS?.sync();
  }

  /** Wired interrupt source `n` (devices' lines) at whichever controller the board has. */
  irq(n: number): IrqLine {
    return this.aplic !== undefined ? this.aplic.irq(n) : (this.plic as Plic).irq(n);
  }

  /**
   * An MSI: a 32-bit write of `data` to physical address `addr`.  An
   * IMSIC's seteipnum_le takes it; a write anywhere else is dropped.
   */
  msi(addr: number, data: number): void {
    (this.imsicM?.fileAt(addr) ?? this.imsicS?.fileAt(addr))?.setPending(data);
  }

  setMip(hart: number, bit: MipBit, level: boolean): void {
    const st = this.harts[hart].state;
    st.mip = level ? st.mip | (1 << bit) : st.mip & ~(1 << bit);
  }

  /** Power-on state: harts at the reset vector in M-mode, devices reset, images loaded again. */
  reset(): void {
    const o = this.opts;
    o.quiesce?.();
    // Memory is zero when made: the first reset (power-on) clears only the hart
    // state handed out past the guest's bytes, not touching the RAM's pages (which
    // would take a host page for each, and about a second for 256 MiB), nor the rest
    // of the state area (8 MiB: 55 ms of a boot in page faults).
    if (this.poweredOn) this.bus.u8.fill(0);
    else this.bus.ram.clearState();
    this.poweredOn = true;
    for (let p = 0; p < this.bus.ram.pages; p++) this.bus.ram.dropCode(p);
    const plan = loadBootImages(o.images, VIRT.dram, o.ramSize, this.bus);
    this.dtb = o.dtb ?? this.buildFdt(plan.initrd);
    const fdtAddr = fdtAddress(VIRT.dram, o.ramSize, this.dtb.length);
    this.bus.load(fdtAddr, this.dtb);
    this.bus.load(VIRT.mrom.base, resetVector(plan.start, fdtAddr, plan.kernelEntry));
    this.harts.forEach((cpu, h) => {
      cpu.xl.fill(0); cpu.xh.fill(0); cpu.fl.fill(0); cpu.fh.fill(0);
      cpu.fflags = 0; cpu.frm = 0;
      cpu.state.reset(h);
      cpu.aia?.reset();
      cpu.priv = Priv.M;
      cpu.fpOff = true;
      cpu.pc = VIRT.mrom.base;
      cpu.resValid = false;
      cpu.selectTlb();
      cpu.flushTlbs();
    });
    this.clint.reset();
    this.plic?.reset();
    this.aplic?.reset();
    this.imsicM?.reset();
    this.imsicS?.reset();
    this.serial.reset();
    this.rtc.reset();
    for (const v of this.virtio) v.reset();
    this.pcie.reset();
    this.fwCfg.reset();
  }

  /** The device tree QEMU's virt board would give for these options (the devices tsemu has). */
  buildFdt(initrd?: { start: number; end: number }): Uint8Array {
    const o = this.opts;
    const fdt = new Fdt();
    const root = fdt.root;
    root.u32("#address-cells", 2).u32("#size-cells", 2).str("compatible", "riscv-virtio").str("model", "riscv-virtio,qemu");
    const chosen = root.child("chosen");
    const seed = new Uint8Array(32);
    o.random(seed);
    chosen.bytes("rng-seed", seed);
    chosen.str("stdout-path", `/soc/serial@${VIRT.uart0.toString(16)}`);
    if (o.bootargs !== undefined) chosen.str("bootargs", o.bootargs);
    if (initrd !== undefined) chosen.u64("linux,initrd-end", initrd.end).u64("linux,initrd-start", initrd.start);
    const cpus = root.child("cpus").u32("#address-cells", 1).u32("#size-cells", 0).u32("timebase-frequency", TIMEBASE_HZ);
    const intcs: FdtNode[] = [];
    for (let h = 0; h < o.harts; h++) cpus.child(`cpu@${h}`);
    // QEMU numbers the phandles from the last hart down (cpu@N-1 gets 1, its interrupt controller 2).
    for (let h = o.harts - 1; h >= 0; h--) {
      const cpu = cpus.child(`cpu@${h}`);
      cpu.phandle();
      cpu.str("device_type", "cpu").u32("reg", h).str("status", "okay").str("compatible", "riscv")
        .str("riscv,isa", `rv64imafdc_zicsr_zifencei${this.imsicM !== undefined ? "_smaia_ssaia" : ""}`)
        .str("mmu-type", "riscv,sv48");
      const intc = cpu.child("interrupt-controller");
      intc.u32("#interrupt-cells", 1).empty("interrupt-controller").str("compatible", "riscv,cpu-intc");
      intc.phandle();
      intcs[h] = intc;
    }
    const cluster = cpus.child("cpu-map").child("cluster0");
    for (let h = 0; h < o.harts; h++) cluster.child(`core${h}`).u32("cpu", cpus.child(`cpu@${h}`).phandle());
    root.child(`memory@${VIRT.dram.toString(16)}`).str("device_type", "memory").u64("reg", VIRT.dram, o.ramSize);
    const soc = root.child("soc");
    soc.u32("#address-cells", 2).u32("#size-cells", 2).str("compatible", "simple-bus").empty("ranges");
    // Phandles in QEMU's order: the IMSICs (M, S), then the wired controller, then the test device.
    const imsics = this.imsicM !== undefined && this.imsicS !== undefined
      ? { m: this.imsicM.fdtNode(soc, intcs), s: this.imsicS.fdtNode(soc, intcs) } : undefined;
    const intc = this.aplic !== undefined ? this.aplic.fdtNodes(soc, intcs, imsics) : (this.plic as Plic).fdtNode(soc, intcs);
    this.clint.fdtNode(soc, intcs);
    this.rtc.fdtNode(soc, intc, RTC_IRQ);
    this.serial.fdtNode(soc, intc, UART0_IRQ);
    this.test.fdtNode(soc, root);
    for (let i = VIRTIO_SLOTS - 1; i >= 0; i--) this.virtio[i].fdtNode(soc, intc, VIRTIO_IRQ + i);
    this.pcie.fdtNode(soc, intc, imsics?.s);
    this.fwCfg.fdtNode(root);
    // QEMU's dynamic sysbus: an empty bus here, as tsemu plugs no device into it (nothing answers there).
    const pb = VIRT.platformBus;
    root.child(`platform-bus@${pb.base.toString(16)}`)
      .u32("interrupt-parent", intc.phandle())
      .u32("ranges", 0, 0, pb.base, pb.size)
      .u32("#address-cells", 1)
      .u32("#size-cells", 1)
      .strs("compatible", "qemu,platform", "simple-bus");
    // Nodes in the order of QEMU's blob (libfdt adds each new node first).
    const rank = (order: string[]) => (n: FdtNode): number => {
      const i = order.findIndex((p) => n.name === p || n.name.startsWith(p + "@"));
      return i < 0 ? order.length : i;
    };
    const sortBy = (node: FdtNode, order: string[]): void => {
      const r = rank(order);
      node.children.sort((a, b) => r(a) - r(b));
    };
    sortBy(root, ["fw-cfg", "chosen", "poweroff", "reboot", "platform-bus", "memory", "cpus", "soc"]);
    sortBy(soc, ["rtc", "serial", "test", "pci", "virtio_mmio", "plic", `aplic@${VIRT.aplicS.toString(16)}`,
      `aplic@${VIRT.aplicM.toString(16)}`, `imsics@${VIRT.imsicS.toString(16)}`, `imsics@${VIRT.imsicM.toString(16)}`, "clint"]);
    return fdt.toBlob();
  }
}
