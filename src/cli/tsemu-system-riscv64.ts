/**
 * tsemu-system-riscv64: QEMU's RISC-V virt board, from the command line.
 * The only place that wires a machine together from argv (ARCHITECTURE.md).
 */
import * as fs from "node:fs";
import { randomFillSync } from "node:crypto";
import { VERSION } from "../version.js";
import { HELP, OptionError, parseSystemArgs, type CharBackend, type MonitorOption, type SystemOptions } from "./system-options.js";
import { StdioMux } from "./stdio-mux.js";
import { VirtMachine, TIMEBASE_HZ, MAX_HARTS, VIRT } from "../hw/riscv/virt.js";
import { VirtualClock } from "../hw/core/clock.js";
import { SystemLoop } from "../accel/system-loop.js";
import { DEFAULT_ACCEL, selectAccel } from "../accel/engine.js";
import { tcgStatsLine } from "../accel/tcg/stats.js";
import type { BlockBackend, BlockImage } from "../block/block.js";
import { Drive } from "../block/drive.js";
import { openImage } from "../block/open.js";
import { nodeBlockHost } from "../host/image-file.js";
import { temporaryOverlay } from "../host/temp-overlay.js";
import type { VirtioDevice } from "../hw/virtio/virtio-transport.js";
import type { PciPlug } from "../hw/pci/pci-device.js";
import { virtDevices, type DeviceContext } from "../system/virt-devices.js";
import { DeviceError } from "../system/qdev.js";
import { pciBusInfo } from "../hw/pci/pci-info.js";
import { attachSystemGdb, parseGdbAddress } from "../gdbstub/system.js";
import { disassemble } from "../target/riscv/disas.js";
import { realtimeNs } from "../host/time.js";
import { SocketListener, errnoText, type Connection } from "../host/socket.js";
import { MonitorHub, type MonitorSession } from "../monitor/monitor.js";
import { RunControl } from "../monitor/runstate.js";
import type { BlockDeviceInfo, ChardevInfo, MachineControl, QtreeDevice } from "../monitor/machine.js";
import { disassembleBytes, riscvCpuView } from "../monitor/target-riscv.js";
import type { HmpSession } from "../monitor/hmp.js";
import { NetdevError, type NetBackend, type NetFrontend } from "../net/net-client.js";
import { netdevTypes } from "../system/netdevs.js";
import { MachineNetwork } from "../system/network.js";
import { nodeNetHost } from "../host/net-sockets.js";
import { createNodeNetHost } from "../host/net-host.js";
import { MacAllocator } from "../net/mac.js";
import type { NetHost as UserNetHost } from "../net/user/net-host.js";
import type { NetdevOption } from "./system-options.js";

const PROG = "tsemu-system-riscv64";
const DEFAULT_BIOS = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin";
/** Host offsets are int32 in the interpreter's typed-array indexing: RAM must stay below 2 GiB. */
const MAX_RAM = 2047 * 1024 * 1024;
/** Host time each run of the loop may take before the event loop gets a turn. */
const TURN_MS = 20;

function fail(message: string): never {
  process.stderr.write(`${PROG}: ${message}\n`);
  process.exit(1);
}

function readFile(what: string, path: string): Uint8Array {
  try {
    const st = fs.statSync(path);
    if (st.isDirectory()) fail(`${what} ${path}: is a directory`);
    return new Uint8Array(fs.readFileSync(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    fail(`${what} ${path}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (e as Error).message}`);
  }
}

/** Buffered stdout (the UART writes a byte at a time). */
class Output {
  private chunks: Uint8Array[] = [];
  private size = 0;
  constructor(private readonly fd: number) {}
  write(bytes: Uint8Array): void {
    this.chunks.push(bytes.slice());
    this.size += bytes.length;
    if (this.size >= 4096) this.flush();
  }
  flush(): void {
    if (this.size === 0) return;
    const all = Buffer.concat(this.chunks);
    this.chunks = [];
    this.size = 0;
    let off = 0;
    while (off < all.length) {
      try {
        off += fs.writeSync(this.fd, all, off);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      }
    }
  }
}

/** A drive as the monitor lists it (query-block, info block). */
interface DriveInfo {
  /** id=, or "virtio0", "virtio1" ... for if=virtio drives (QEMU's names). */
  name: string;
  path: string;
  readOnly: boolean;
  snapshot: boolean;
  backend: BlockBackend;
  /** The device it is attached to, once one is. */
  qdev?: string;
}

interface Drives {
  byId: Map<string, BlockBackend>;
  /** The ids of the if=virtio drives (virtio0, virtio1, ...), in order. */
  virtio: string[];
  all: BlockBackend[];
  info: DriveInfo[];
}

function openDrives(o: SystemOptions): Drives {
  const d: Drives = { byId: new Map(), virtio: [], all: [], info: [] };
  let virtioIndex = 0;
  for (const drive of o.drives) {
    const path = drive.file as string;
    const snapshot = (o.snapshot || drive.snapshot) && !drive.readOnly;
    let image: BlockImage;
    try {
      image = openImage(nodeBlockHost, path, {
        format: drive.format === "" ? undefined : drive.format, readOnly: drive.readOnly || snapshot, barriers: drive.cache !== "unsafe",
        warn: (w) => process.stderr.write(`${PROG}: ${w}\n`),
      });
      if (snapshot) image = temporaryOverlay(image);
    } catch (e) {
      fail(`-drive file=${path}: ${(e as Error).message}`);
    }
    const backend: BlockBackend = new Drive(image, drive);
    d.all.push(backend);
    const name = drive.if === "none" ? drive.id ?? "" : drive.id ?? `virtio${virtioIndex++}`;
    d.info.push({ name, path, readOnly: drive.readOnly, snapshot, backend });
    if (drive.if === "none" && drive.id === undefined) fail(`-drive file=${path},if=none: needs id=NAME for -device ...,drive=NAME`);
    if (d.byId.has(name)) fail(`-drive id=${name}: duplicate drive id`);
    d.byId.set(name, backend);
    if (drive.if !== "none") d.virtio.push(name);
  }
  return d;
}

/** The devices of -device and -drive if=virtio, created through the device registry as QEMU's qdev does. */
function makeDevices(o: SystemOptions, drives: Drives, net: Net): { virtio: VirtioDevice[]; pci: PciPlug[] } {
  const registry = virtDevices();
  const virtio: VirtioDevice[] = [];
  const pci: PciPlug[] = [];
  // QOM paths of the devices, as QEMU names anonymous devices: in the order they are created.
  let anonymous = 0;
  const ctx: DeviceContext = {
    drives: drives.byId, usedDrives: new Set(), random: (buf) => randomFillSync(buf), harts: o.smp,
    attached: (b) => {
      const info = drives.info.find((i) => i.backend === b);
      if (info !== undefined) info.qdev = `/machine/peripheral-anon/device[${anonymous}]/virtio-backend`;
    },
    netdevs: net.byId, usedNetdevs: new Set(),
    macs: new MacAllocator(o.netdevs.length === 0 && o.nics.length === 0 && !o.netNone),
    nicCreated: (nic) => net.machine.addNic(nic),
  };
  /** The PCI buses -device bus= can name so far: the root bus and the root ports created before. */
  const pciBuses = new Set(["pcie.0"]);
  const create = (driver: string, props: Map<string, string>, spec: string): void => {
    const type = registry.find(driver);
    if (type === undefined) fail(`-device ${spec}: '${driver}' is not a valid device model name`);
    if (props.has("help")) {
      process.stdout.write(registry.typeHelp(type));
      process.exit(0);
    }
    try {
      const planned = type.realize(registry.parse(type, props), ctx);
      const bus = props.get("bus");
      if (bus !== undefined && !pciBuses.has(bus)) fail(`-device ${spec}: Bus '${bus}' not found`);
      if (planned.bus === "PCI") {
        pci.push({ ...planned.plug, spec, id: props.get("id"), bus });
        // A root port's id names the bus below it, for the devices after it.
        const id = props.get("id");
        if (planned.plug.rootBusOnly === true && id !== undefined) pciBuses.add(id);
      } else {
        if (bus !== undefined) fail(`-device ${spec}: Device '${driver}' can't go on PCIE bus`);
        virtio.push(planned.device);
      }
    } catch (e) {
      if (e instanceof DeviceError) fail(`-device ${spec}: ${e.message}`);
      throw e;
    }
    anonymous++;
  };
  for (const dev of o.devices) {
    if (dev.driver === "help" || dev.driver === "?") {
      process.stdout.write(registry.help());
      process.exit(0);
    }
    create(dev.driver, dev.props, dev.spec);
  }
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
  return { virtio, pci };
}

/** The network's backends and what -nic asked for. */
interface Net {
  byId: Map<string, NetBackend>;
  machine: MachineNetwork;
  nics: { netdevId: string; model: string; mac?: string; spec: string }[];
}

const NIC_MODELS = ["virtio-net-device", "virtio-net-pci"];

/**
 * The -netdev and -nic backends, made through the netdev registry.  Each is
 * wrapped so that a frame delivered to the guest wakes the run loop (`wake`),
 * as console input does when every hart waits in WFI.
 */
async function makeNetdevs(o: SystemOptions, wake: () => void): Promise<Net> {
  const net: Net = { byId: new Map(), machine: new MachineNetwork(), nics: [] };
  const warn = (m: string): void => { process.stderr.write(`${PROG}: ${m}\n`); };
  let userHost: UserNetHost | undefined;
  const registry = netdevTypes(() => (userHost ??= createNodeNetHost(warn)));
  const host = nodeNetHost(warn);
  let anonymous = 0;
  const make = async (nd: NetdevOption, id: string): Promise<NetBackend> => {
    if (net.byId.has(id)) fail(`${nd.spec}: Duplicate ID '${id}' for netdev`);
    let b: NetBackend;
    try {
      b = await registry.create(nd.type, id, nd.options, host, nd.list);
    } catch (e) {
      if (e instanceof NetdevError) fail(`${nd.spec}: ${e.message}`);
      throw e;
    }
    const wrapped = wakingBackend(b, wake);
    net.byId.set(id, wrapped);
    net.machine.addNetdev(wrapped);
    return wrapped;
  };
  for (const nd of o.netdevs) {
    if (nd.type === "") fail(`${nd.spec}: Parameter 'type' is missing`);
    if (nd.id === undefined) fail(`${nd.spec}: Parameter 'id' is missing`);
    await make(nd, nd.id);
  }
  for (const nic of o.nics) {
    if (nic.model === "help" || nic.netdev.type === "help") {
      process.stdout.write(`Supported NIC models:\n${NIC_MODELS.join("\n")}\n`);
      process.exit(0);
    }
    const model = nic.model === undefined ? "virtio-net-pci" : nic.model === "virtio-net" ? "virtio-net-pci" : nic.model;
    if (!NIC_MODELS.includes(model)) fail(`${nic.spec}: unsupported NIC model '${model}' (use ${NIC_MODELS.join(" or ")})`);
    const id = nic.netdev.id ?? `#net${anonymous++}`;
    const opts = new Map(nic.netdev.options);
    opts.delete("id");
    await make({ ...nic.netdev, options: opts }, id);
    net.nics.push({ netdevId: id, model, mac: nic.mac, spec: nic.spec });
  }
  return net;
}

/** The backend, with every frame it delivers to its frontend followed by a wake-up of the run loop. */
function wakingBackend(b: NetBackend, wake: () => void): NetBackend {
  const attach = b.attach.bind(b);
  b.attach = (frontend: NetFrontend): void => attach({
    deliver: (frame) => {
      const taken = frontend.deliver(frame);
      wake();
      return taken;
    },
  });
  return b;
}

function rtcSource(o: SystemOptions, ticks: () => number): () => bigint {
  const base = o.rtcBase !== undefined ? BigInt(o.rtcBase) * 1_000_000n : realtimeNs();
  if (o.rtcClockVm === true || (o.icountShift !== undefined && o.rtcClockVm !== false)) {
    return () => base + BigInt(ticks()) * BigInt(1e9 / TIMEBASE_HZ);
  }
  const offset = base - realtimeNs();
  return () => realtimeNs() + offset;
}

/** Repeatable "random" bytes (xorshift32 from a fixed seed) for -icount runs. */
function fixedBytes(buf: Uint8Array): void {
  let x = 0x2545f491;
  for (let i = 0; i < buf.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    buf[i] = x & 0xff;
  }
}

/** The C library's text for a file error, as QEMU prints it. */
function fileErrorText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case "ENOENT": return "No such file or directory";
    case "EACCES": return "Permission denied";
    case "EISDIR": return "Is a directory";
    case "ENOTDIR": return "Not a directory";
    case "EROFS": return "Read-only file system";
    case "ENOSPC": return "No space left on device";
    default: return errnoText(e);
  }
}

/** The format of the drive's image (of the image under the overlay with -snapshot). */
function imageFormat(d: DriveInfo): string {
  if (!(d.backend instanceof Drive)) return "raw";
  const image = d.snapshot ? d.backend.image.backing ?? d.backend.image : d.backend.image;
  return image.format;
}

/** Bytes on the host that a file takes. */
function actualSize(path: string): number {
  try {
    const st = fs.statSync(path);
    return st.blocks * 512;
  } catch {
    return 0;
  }
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

/** A monitor's character device, as the CLI runs it. */
interface Chardev {
  id: string;
  backend: CharBackend;
  /** Set when a monitor uses it. */
  monitor?: MonitorOption;
  listener?: SocketListener;
}

function socketFilename(c: Chardev): string {
  if (c.backend.kind !== "socket") return c.backend.kind;
  const a = c.backend.address;
  const where = a.kind === "tcp" ? `tcp:${a.host}:${a.port},server=on` : `unix:${a.path},server=on`;
  const client = c.listener?.client;
  if (client === undefined) return `disconnected:${where}`;
  return client.peer === "" ? where : `${where} <-> ${client.peer}`;
}

async function main(): Promise<void> {
  let o: SystemOptions;
  try {
    o = parseSystemArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof OptionError) fail(e.message);
    throw e;
  }
  if (o.action === "help") { process.stdout.write(HELP); return; }
  if (o.action === "version") {
    process.stdout.write(`${PROG} version ${VERSION} (emulates QEMU 7.2's virt board)\n`);
    return;
  }
  if (o.machine === "") fail("no machine given: use -M virt");
  if (o.machine === "help") { process.stdout.write("Supported machines are:\nvirt                 RISC-V VirtIO board\n"); return; }
  if (o.machine !== "virt") fail(`-M ${o.machine}: unsupported machine type (use -M virt)`);
  if (o.ramSize < 16 * 1024 * 1024) fail(`-m: ${o.ramSize} bytes of RAM is too little (at least 16M)`);
  if (o.ramSize > MAX_RAM) fail("-m: at most 2047M of RAM is supported");
  if (o.smp > MAX_HARTS) fail(`-smp ${o.smp}: virt supports at most ${MAX_HARTS} CPUs`);

  // Monitors and their character devices.
  const chardevs = new Map<string, Chardev>();
  for (const c of o.chardevs) {
    if (chardevs.has(c.id)) fail(`${c.spec}: duplicate chardev id '${c.id}'`);
    chardevs.set(c.id, { id: c.id, backend: c.backend });
  }
  for (const mon of o.monitors) {
    const c = chardevs.get(mon.chardev);
    if (c === undefined) fail(`-mon chardev=${mon.chardev}: no -chardev with id=${mon.chardev}`);
    if (c.monitor !== undefined) fail(`-mon chardev=${mon.chardev}: chardev '${mon.chardev}' is already in use`);
    c.monitor = mon;
  }
  const stdioMonitors = [...chardevs.values()].filter((c) => c.monitor !== undefined && c.backend.kind === "stdio");

  // Where the serial port goes.  With -nographic it shares stdio with a monitor
  // unless a monitor was asked for elsewhere (QEMU's rule); a monitor on stdio
  // takes the terminal from a serial port left to its default.
  const serialSpec = o.serial[0] ?? (o.nographic ? (o.monitorGiven ? "stdio" : "mon:stdio") : stdioMonitors.length > 0 ? "null" : "stdio");
  if (o.serial.length > 1) fail("-serial: virt has one UART");
  let outFd = 1;
  let stdio = false;
  let mux = false;
  let muxMonitor = false;
  if (serialSpec === "stdio") { stdio = true; mux = o.nographic; }
  else if (serialSpec === "mon:stdio") { stdio = true; mux = true; muxMonitor = true; }
  else if (serialSpec === "none" || serialSpec === "null") outFd = -1;
  else if (serialSpec.startsWith("file:")) {
    try {
      outFd = fs.openSync(serialSpec.slice(5), "w");
    } catch (e) {
      fail(`-serial ${serialSpec}: ${(e as Error).message}`);
    }
  } else fail(`-serial ${serialSpec}: unsupported (use stdio, mon:stdio, file:PATH or none)`);
  if (stdioMonitors.length + (stdio ? 1 : 0) > 1) fail("cannot use stdio by multiple character devices");

  // Images.
  let firmware: Uint8Array | undefined;
  if (o.bios === "default") {
    if (!fs.existsSync(DEFAULT_BIOS)) {
      fail(`cannot find the default firmware ${DEFAULT_BIOS}: install Debian's opensbi package, or use -bios FILE or -bios none`);
    }
    firmware = readFile("-bios", DEFAULT_BIOS);
  } else if (o.bios !== "none") {
    firmware = readFile("-bios", o.bios);
  }
  const kernel = o.kernel !== undefined ? readFile("-kernel", o.kernel) : undefined;
  const initrd = o.initrd !== undefined ? readFile("-initrd", o.initrd) : undefined;
  const dtb = o.dtb !== undefined ? readFile("-dtb", o.dtb) : undefined;
  if (o.initrd !== undefined && kernel === undefined) fail("-initrd: requires -kernel");
  if (o.append !== undefined && kernel === undefined) fail("-append: requires -kernel");

  const drives = openDrives(o);
  const wakeRef: { wake?: () => void } = {};
  const net = await makeNetdevs(o, () => wakeRef.wake?.());
  const devices = makeDevices(o, drives, net);
  const joined = new Set(net.machine.nics.map((n) => n.backend));
  for (const b of net.machine.netdevs) {
    if (!joined.has(b)) process.stderr.write(`${PROG}: warning: netdev ${b.id} has no peer\n`);
  }

  let log = (text: string): void => { process.stderr.write(text); };
  if (o.logFile !== undefined) {
    let fd: number;
    try {
      fd = fs.openSync(o.logFile, "w");
    } catch (e) {
      fail(`-D ${o.logFile}: ${(e as Error).message}`);
    }
    log = (text) => { fs.writeSync(fd, text); };
  }
  for (const item of o.debug) {
    if (!["int", "in_asm", "guest_errors", "unimp", "tcg"].includes(item)) {
      fail(`-d ${item}: unknown log item (tsemu has int, in_asm, guest_errors, unimp, tcg)`);
    }
  }
  selectAccel(o.accel ?? DEFAULT_ACCEL);

  const output = new Output(outFd);
  /** The terminal (stdout), for monitors on stdio; it may differ from the serial port's output. */
  const terminal = outFd === 1 ? output : new Output(1);
  const start = process.hrtime.bigint();
  const rawNowNs = (): number => Number(process.hrtime.bigint() - start);
  // The guest's clock stands still while the machine is stopped, as QEMU's
  // virtual clock does: after `cont` the guest sees no time jump.
  let stoppedAt: number | undefined;
  let stoppedNs = 0;
  const hostNowNs = (): number => (stoppedAt ?? rawNowNs()) - stoppedNs;
  const freezeClock = (): void => { if (stoppedAt === undefined) stoppedAt = rawNowNs(); };
  const thawClock = (): void => {
    if (stoppedAt === undefined) return;
    stoppedNs += rawNowNs() - stoppedAt;
    stoppedAt = undefined;
  };
  const loopRef: { loop?: SystemLoop } = {};
  const clock = new VirtualClock(hostNowNs, TIMEBASE_HZ, o.icountShift, () => loopRef.loop?.instructions() ?? 0);
  const pendingInput: number[] = [];
  let machine: VirtMachine | undefined;
  let exiting = false;
  let paused = false;
  /** Guest code is running (inside loop.runUntil): a reset must wait for the turn to end. */
  let inTurn = false;
  let resetRequested = false;
  const listeners: SocketListener[] = [];
  // Created below, once the machine exists; the guest cannot reach them earlier.
  const runRef: { run?: RunControl } = {};

  let ttyRaw = false;
  const restoreTty = (): void => {
    if (ttyRaw && process.stdin.isTTY) process.stdin.setRawMode(false);
    ttyRaw = false;
  };

  /** Leave once the monitors' replies are out (a second at most), the disks flushed. */
  const exitWith = (status: number): void => {
    if (exiting) return;
    exiting = true;
    if (loopRef.loop) loopRef.loop.stopRequested = true;
    output.flush();
    terminal.flush();
    if (o.debug.includes("tcg") && machine !== undefined) log(`${tcgStatsLine(machine.bus.ram)}\n`);
    const finish = (): void => {
      for (const d of drives.all) {
        try { d.flush(); d.close(); } catch { /* the guest's data was already flushed where it asked */ }
      }
      for (const l of listeners) l.close();
      for (const b of net.machine.netdevs) b.close();
      restoreTty();
      process.exit(status);
    };
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 1000).unref());
    void Promise.race([Promise.all(listeners.map((l) => l.flushed())), timeout]).then(finish, finish);
  };

  const feedInput = (): void => {
    if (machine === undefined || pendingInput.length === 0) return;
    const n = machine.serial.canReceive();
    if (n <= 0) return;
    const chunk = Uint8Array.from(pendingInput.splice(0, n));
    const taken = machine.serial.receive(chunk);
    if (taken < chunk.length) pendingInput.unshift(...chunk.subarray(taken));
  };

  try {
    machine = new VirtMachine({
      ramSize: o.ramSize, harts: o.smp, images: { firmware, kernel, initrd }, bootargs: o.append, dtb, aia: o.aia,
      virtio: devices.virtio, pci: devices.pci,
      serial: {
        write: (bytes) => { if (outFd >= 0) output.write(bytes); },
        acceptInput: () => feedInput(),
      },
      clock,
      // The RTC starts at -rtc base (default: host time) and follows the host
      // clock, or guest time with -rtc clock=vm or -icount (so that a run repeats).
      realtimeNs: rtcSource(o, () => clock.ticks()),
      // With -icount the device tree's rng-seed is fixed too (QEMU's -seed).
      random: o.icountShift === undefined ? (buf) => randomFillSync(buf) : (buf) => fixedBytes(buf),
      shutdown: (status) => {
        output.flush();
        runRef.run?.guestShutdown(status);
      },
      reset: () => runRef.run?.guestReset(),
      log: (m) => { if (o.debug.includes("guest_errors")) log(`${m}\n`); },
    });
  } catch (e) {
    fail((e as Error).message);
  }
  const m = machine;

  if (o.dumpdtb !== undefined) {
    try {
      fs.writeFileSync(o.dumpdtb, m.dtb);
    } catch (e) {
      fail(`dumpdtb=${o.dumpdtb}: ${(e as Error).message}`);
    }
    return;
  }

  const loop = new SystemLoop(m.harts, m.timers);
  loopRef.loop = loop;
  if (o.debug.includes("int")) {
    loop.onTrap = (cpu, hart, cause, interrupt) => {
      log(`riscv_cpu_do_interrupt: hart:${hart}, async:${interrupt ? 1 : 0}, cause:${cause.toString(16).padStart(8, "0")}, ` +
        `epc:0x${BigInt.asUintN(64, BigInt(cpu.pc)).toString(16).padStart(16, "0")}, ` +
        `tval:0x${BigInt.asUintN(64, (BigInt(cpu.trapTvalHi) << 32n) | BigInt(cpu.trapTvalLo >>> 0)).toString(16).padStart(16, "0")}, ` +
        `desc=${interrupt ? "interrupt" : "exception"}\n`);
    };
  }
  if (o.debug.includes("in_asm")) {
    for (const cpu of m.harts) {
      cpu.onDecode = (pc, lo16, hi16) => {
        log(`0x${BigInt.asUintN(64, BigInt(pc)).toString(16).padStart(16, "0")}:  ${disassemble(lo16, hi16, pc).text}\n`);
      };
    }
  }

  // The run loop: turns of guest code, with the event loop served in between.
  const nowMs = (): number => rawNowNs() / 1e6;
  let scheduled = false;
  /** gdb holds the machine (a stop, a breakpoint, a step in progress). */
  let gdbPaused = false;
  let idleTimer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    if (scheduled || exiting) return;
    if (idleTimer !== undefined) { clearTimeout(idleTimer); idleTimer = undefined; }
    scheduled = true;
    setImmediate(step);
  };
  wakeRef.wake = schedule;
  const step = (): void => {
    scheduled = false;
    if (exiting) return;
    if (resetRequested) {
      resetRequested = false;
      m.reset();
    }
    if (paused || gdbPaused) { output.flush(); return; }
    feedInput();
    m.timers.runDue();
    inTurn = true;
    try {
      loop.runUntil(nowMs, nowMs() + TURN_MS);
    } finally {
      inTurn = false;
    }
    output.flush();
    if (exiting || paused || gdbPaused) return;
    if (resetRequested) { schedule(); return; }
    if (loop.idle()) {
      // Every hart waits for an interrupt: sleep until the next timer or input.
      const deadline = m.timers.nextDeadline();
      const ms = clock.msUntil(deadline);
      idleTimer = setTimeout(() => {
        idleTimer = undefined;
        if (ms !== Infinity) clock.idleUntil(deadline);
        schedule();
      }, Math.min(ms, 1000));
      return;
    }
    schedule();
  };

  // The monitor's view of the machine (its run state is `run`, made below with the hub).
  const readPhysical = physicalReader(m);
  const views = m.harts.map((cpu) => riscvCpuView(cpu, m.bus));
  const serialChardev: ChardevInfo[] = outFd === -1 ? [] : [{ label: "serial0", filename: stdio ? "stdio" : "file", frontendOpen: true }];
  const control: MachineControl = {
    arch: "riscv64",
    name: o.name,
    status: () => run.status,
    stop: () => run.stop(),
    cont: () => run.cont(),
    reset: () => run.hostReset(),
    powerdown: () => run.powerdown(),
    quit: () => run.quit(),
    cpuCount: () => m.harts.length,
    cpu: (i) => views[i],
    threadId: () => process.pid,
    qomPath: (i) => `/machine/soc0/harts[${i}]`,
    readPhysical,
    disassemble: disassembleBytes,
    blockDevices: (): BlockDeviceInfo[] => drives.info.map((d, i) => ({
      device: d.name, nodeName: `#block${(i + 1) * 100 + 17}`, file: d.path, format: imageFormat(d), readOnly: d.readOnly,
      virtualSize: d.backend.size, actualSize: actualSize(d.path), qdev: d.qdev, snapshot: d.snapshot,
    })),
    chardevs: (): ChardevInfo[] => [
      ...serialChardev,
      ...[...chardevs.values()].map((c) => ({ label: c.id, filename: socketFilename(c), frontendOpen: c.monitor !== undefined })),
    ],
    memoryMap: () => [
      { name: "riscv_virt_board.mrom", base: VIRT.mrom.base, size: VIRT.mrom.size, kind: "rom" as const },
      ...m.bus.mapped.map((r) => ({ name: r.name, base: r.base, size: r.size, kind: "i/o" as const })),
      { name: "riscv_virt_board.ram", base: VIRT.dram, size: o.ramSize, kind: "ram" as const },
    ],
    network: net.machine,
    pciDevices: () => pciBusInfo(m.pcie, (bridge, devfn) =>
      (bridge === undefined ? m.pciFunctions : m.pciChildren(bridge)).get(devfn)?.id ?? ""),
    pciFunctionById: (id) => m.pciFunctionById(id),
    qtree: (): QtreeDevice[] => {
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
    },
  };
  const hub: MonitorHub = new MonitorHub(control, {
    writeFile: (path, data) => {
      try {
        fs.writeFileSync(path, data);
      } catch (e) {
        throw new Error(fileErrorText(e));
      }
    },
    nowMicros: () => Math.round((performance.timeOrigin + performance.now()) * 1000),
  });
  const run = new RunControl({
    pause: () => { paused = true; loop.stopRequested = true; freezeClock(); },
    resume: () => { paused = false; thawClock(); schedule(); },
    resetMachine: () => {
      if (inTurn) { resetRequested = true; loop.stopRequested = true; }
      else m.reset();
    },
    exit: (status) => { hub.leaving = true; exitWith(status); },
  }, (name, data) => hub.event(name, data), { noShutdown: o.noShutdown, noReboot: o.noReboot, startStopped: o.startPaused });
  runRef.run = run;

  // The gdb stub (-s, -gdb): gdb's stops hold the loop; its continue also starts a -S machine.
  if (o.gdb !== undefined && o.gdb !== "none") {
    const addr = parseGdbAddress(o.gdb);
    if (addr === undefined) fail(`-gdb ${o.gdb}: unsupported (use tcp::PORT or tcp:HOST:PORT)`);
    attachSystemGdb({
      port: addr.port, host: addr.host, harts: m.harts, loop, bus: m.bus, startPaused: o.startPaused,
      pause: () => { gdbPaused = true; loop.stopRequested = true; },
      resume: () => {
        gdbPaused = false;
        if (!run.running) run.cont();
        else schedule();
      },
      quit: () => exitWith(0),
      error: (message) => fail(message),
    });
  }

  // Monitors on sockets: one client at a time; a session per connection.
  const open = (mon: MonitorOption, write: (text: string) => void): MonitorSession =>
    mon.mode === "control" ? hub.openQmp({ write }, { pretty: mon.pretty }) : hub.openHmp({ write });
  const waits: Promise<void>[] = [];
  for (const c of chardevs.values()) {
    const mon = c.monitor;
    if (c.backend.kind !== "socket" || mon === undefined) continue;
    const sessions = new Map<Connection, MonitorSession>();
    let firstClient: (() => void) | undefined;
    if (c.backend.wait) waits.push(new Promise((resolve) => { firstClient = resolve; }));
    try {
      c.listener = await SocketListener.listen(c.backend.address, {
        connect: (conn) => {
          const s = open(mon, (text) => conn.write(text));
          sessions.set(conn, s);
          s.start();
          firstClient?.();
          firstClient = undefined;
        },
        data: (conn, bytes) => sessions.get(conn)?.input(bytes),
        disconnect: (conn) => {
          sessions.get(conn)?.close();
          sessions.delete(conn);
        },
      });
    } catch (e) {
      const spec = o.chardevs.find((x) => x.id === c.id)?.spec ?? c.id;
      fail(`${spec}: ${(e as Error).message}`);
    }
    listeners.push(c.listener);
    if (c.backend.wait) process.stderr.write(`QEMU waiting for connection on: ${socketFilename(c)}\n`);
  }

  // The terminal: the serial port (with a monitor behind Ctrl-A c when they
  // share it), or a monitor alone.
  const toTerminal = (text: string): void => {
    terminal.write(new TextEncoder().encode(text));
    terminal.flush();
  };
  let stdinTo: ((bytes: Uint8Array) => void) | undefined;
  if (stdio) {
    let muxHmp: HmpSession | undefined;
    if (muxMonitor) muxHmp = hub.openHmp({ write: toTerminal });
    const muxer = new StdioMux({
      toGuest: (bytes) => { for (const b of bytes) pendingInput.push(b); feedInput(); schedule(); },
      quit: () => exitWith(0),
      say: toTerminal,
      toMonitor: muxHmp === undefined ? undefined : (bytes) => muxHmp.input(bytes),
      focus: (monitor) => { if (monitor) muxHmp?.focusIn(); else muxHmp?.focusOut(); },
    }, mux);
    stdinTo = (bytes) => muxer.input(bytes);
  } else if (stdioMonitors.length === 1) {
    const mon = stdioMonitors[0].monitor as MonitorOption;
    const s = open(mon, toTerminal);
    s.start();
    stdinTo = (bytes) => s.input(bytes);
  }
  if (stdinTo !== undefined) {
    const feed = stdinTo;
    if (process.stdin.isTTY) { process.stdin.setRawMode(true); ttyRaw = true; }
    process.stdin.on("data", (d: Buffer) => feed(new Uint8Array(d)));
    process.stdin.on("end", () => { /* input closed: the guest keeps running, as QEMU */ });
  }
  process.on("SIGINT", () => run.signal());
  process.on("SIGTERM", () => run.signal());
  process.on("SIGHUP", () => run.signal());

  // -qmp ...,server=on without wait=off: the guest starts once a client is there.
  await Promise.all(waits);
  schedule();
}

void main();
