/**
 * tsemu-system-riscv64: QEMU's RISC-V virt board, from the command line.
 * The only place that wires a machine together from argv (ARCHITECTURE.md).
 */
import * as fs from "node:fs";
import { randomFillSync } from "node:crypto";
import { VERSION } from "../version.js";
import { HELP, OptionError, parseSystemArgs, type SystemOptions } from "./system-options.js";
import { StdioMux } from "./stdio-mux.js";
import { VirtMachine, TIMEBASE_HZ, MAX_HARTS } from "../hw/riscv/virt.js";
import { VirtualClock } from "../hw/core/clock.js";
import { SystemLoop } from "../accel/system-loop.js";
import { BlockFile } from "../host/block-file.js";
import { SnapshotOverlay } from "../block/snapshot.js";
import type { BlockBackend } from "../block/block.js";
import { VirtioBlk } from "../hw/virtio/virtio-blk.js";
import { VirtioRng } from "../hw/virtio/virtio-rng.js";
import type { VirtioDevice } from "../hw/virtio/virtio-mmio.js";
import { disassemble } from "../target/riscv/disas.js";
import { realtimeNs } from "../host/time.js";

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

interface Drives {
  byId: Map<string, BlockBackend>;
  /** if=virtio drives, in order. */
  virtio: BlockBackend[];
  all: BlockBackend[];
}

function openDrives(o: SystemOptions): Drives {
  const d: Drives = { byId: new Map(), virtio: [], all: [] };
  for (const drive of o.drives) {
    const path = drive.file as string;
    let backend: BlockBackend;
    try {
      backend = new BlockFile(path, { readOnly: drive.readOnly });
    } catch (e) {
      fail(`-drive file=${path}: ${(e as Error).message}`);
    }
    if ((o.snapshot || drive.snapshot) && !drive.readOnly) backend = new SnapshotOverlay(backend);
    d.all.push(backend);
    if (drive.if === "none") {
      if (drive.id === undefined) fail(`-drive file=${path},if=none: needs id=NAME for -device ...,drive=NAME`);
      if (d.byId.has(drive.id)) fail(`-drive id=${drive.id}: duplicate drive id`);
      d.byId.set(drive.id, backend);
    } else {
      d.virtio.push(backend);
    }
  }
  return d;
}

function makeDevices(o: SystemOptions, drives: Drives): VirtioDevice[] {
  const devices: VirtioDevice[] = drives.virtio.map((b) => new VirtioBlk(b));
  const used = new Set<string>();
  for (const dev of o.devices) {
    switch (dev.driver) {
      case "virtio-blk-device": {
        const id = dev.props.get("drive");
        if (id === undefined) fail("-device virtio-blk-device: drive=ID is required");
        const b = drives.byId.get(id);
        if (b === undefined) fail(`-device virtio-blk-device,drive=${id}: no -drive with id=${id}`);
        if (used.has(id)) fail(`-device virtio-blk-device,drive=${id}: drive is already in use`);
        used.add(id);
        devices.push(new VirtioBlk(b, { serial: dev.props.get("serial") }));
        break;
      }
      case "virtio-rng-device":
        devices.push(new VirtioRng((buf) => randomFillSync(buf)));
        break;
      case "help":
        process.stdout.write("virtio-blk-device\nvirtio-rng-device\n");
        process.exit(0);
        break;
      default:
        fail(`-device ${dev.driver}: unsupported device (virt in tsemu has virtio-blk-device and virtio-rng-device)`);
    }
  }
  return devices;
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

function main(): void {
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
  if (o.monitor !== undefined && o.monitor !== "none") fail(`-monitor ${o.monitor}: the monitor is not supported yet`);

  // Where the serial port goes.
  const serialSpec = o.serial[0] ?? (o.nographic ? "mon:stdio" : "stdio");
  if (o.serial.length > 1) fail("-serial: virt has one UART");
  let outFd = 1;
  let stdio = false;
  let mux = false;
  if (serialSpec === "stdio") { stdio = true; mux = o.nographic; }
  else if (serialSpec === "mon:stdio") { stdio = true; mux = true; }
  else if (serialSpec === "none" || serialSpec === "null") outFd = -1;
  else if (serialSpec.startsWith("file:")) {
    try {
      outFd = fs.openSync(serialSpec.slice(5), "w");
    } catch (e) {
      fail(`-serial ${serialSpec}: ${(e as Error).message}`);
    }
  } else fail(`-serial ${serialSpec}: unsupported (use stdio, mon:stdio, file:PATH or none)`);

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
  const devices = makeDevices(o, drives);

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
    if (!["int", "in_asm", "guest_errors", "unimp"].includes(item)) {
      fail(`-d ${item}: unknown log item (tsemu has int, in_asm, guest_errors, unimp)`);
    }
  }

  const output = new Output(outFd);
  const start = process.hrtime.bigint();
  const hostNowNs = (): number => Number(process.hrtime.bigint() - start);
  const loopRef: { loop?: SystemLoop } = {};
  const clock = new VirtualClock(hostNowNs, TIMEBASE_HZ, o.icountShift, () => loopRef.loop?.instructions() ?? 0);
  const pendingInput: number[] = [];
  let machine: VirtMachine | undefined;
  let exiting = false;
  let paused = false;
  let wake: (() => void) | undefined;
  let resetRequested = false;

  const exitWith = (status: number): never => {
    exiting = true;
    output.flush();
    for (const d of drives.all) {
      try { d.flush(); d.close(); } catch { /* the guest's data was already flushed where it asked */ }
    }
    restoreTty();
    process.exit(status);
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
      ramSize: o.ramSize, harts: o.smp, images: { firmware, kernel, initrd }, bootargs: o.append, dtb,
      virtio: devices,
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
        if (o.noShutdown) { paused = true; if (loopRef.loop) loopRef.loop.stopRequested = true; return; }
        output.flush();
        exitWith(status);
      },
      reset: () => {
        if (o.noReboot) exitWith(0);
        resetRequested = true;
        if (loopRef.loop) loopRef.loop.stopRequested = true;
      },
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

  // Console input: raw terminal, Ctrl-A sequences for the multiplexer.
  let ttyRaw = false;
  function restoreTty(): void {
    if (ttyRaw && process.stdin.isTTY) process.stdin.setRawMode(false);
    ttyRaw = false;
  }
  const muxer = new StdioMux({
    toGuest: (bytes) => { for (const b of bytes) pendingInput.push(b); feedInput(); wake?.(); },
    quit: () => exitWith(0),
    say: (text) => { output.write(new TextEncoder().encode(text)); output.flush(); },
    monitor: () => { output.write(new TextEncoder().encode("\r\n(the monitor is not supported yet)\r\n")); },
  }, mux);
  if (stdio) {
    if (process.stdin.isTTY) { process.stdin.setRawMode(true); ttyRaw = true; }
    process.stdin.on("data", (d: Buffer) => muxer.input(new Uint8Array(d)));
    process.stdin.on("end", () => { /* input closed: the guest keeps running, as QEMU */ });
  }
  process.on("SIGINT", () => exitWith(0));
  process.on("SIGTERM", () => exitWith(0));
  process.on("SIGHUP", () => exitWith(0));

  const nowMs = (): number => hostNowNs() / 1e6;
  const step = (): void => {
    if (exiting) return;
    if (resetRequested) {
      resetRequested = false;
      m.reset();
    }
    if (paused) { output.flush(); return; }
    feedInput();
    m.timers.runDue();
    loop.runUntil(nowMs, nowMs() + TURN_MS);
    output.flush();
    if (exiting) return;
    if (resetRequested) { setImmediate(step); return; }
    if (loop.idle() && !paused) {
      // Every hart waits for an interrupt: sleep until the next timer or input.
      const deadline = m.timers.nextDeadline();
      const ms = clock.msUntil(deadline);
      let timer: NodeJS.Timeout | undefined;
      const resume = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        wake = undefined;
        setImmediate(step);
      };
      wake = resume;
      if (ms !== Infinity) {
        timer = setTimeout(() => { clock.idleUntil(deadline); resume(); }, Math.min(ms, 1000));
      } else {
        timer = setTimeout(resume, 1000);
      }
      return;
    }
    setImmediate(step);
  };
  step();
}

main();
