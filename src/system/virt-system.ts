/**
 * A virt machine with everything around it: disks, network, devices, the
 * run loop, the run state with QEMU's rules, the monitors' hub and the
 * serial console as bytes.  The library's Machine, the command line and the
 * page's worker all run machines through this one class; what differs
 * between them (files, sockets, a terminal) comes in through MachineHost.
 *
 * The run loop runs guest code in turns of TURN_MS of host time and gives
 * the host's event loop a turn in between (console input, sockets, the
 * monitors); when every hart waits for an interrupt it sleeps until the next
 * timer deadline or a wake-up.
 */
import { VirtMachine, TIMEBASE_HZ, MAX_HARTS } from "../hw/riscv/virt.js";
import { VirtualClock } from "../hw/core/clock.js";
import { SystemLoop } from "../accel/system-loop.js";
import { DEFAULT_ACCEL, selectAccel } from "../accel/engine.js";
import { warmUpInterpreter } from "./warm-up.js";
import { codeCacheFor, DEFAULT_COMPILE, tcgSettings } from "../accel/tcg/code-cache.js";
import { tcgStatsLine } from "../accel/tcg/stats.js";
import { disassemble } from "../target/riscv/disas.js";
import { MonitorHub } from "../monitor/monitor.js";
import { RunControl } from "../monitor/runstate.js";
import type { ChardevInfo, RunState } from "../monitor/machine.js";
import type { JsonObject } from "../monitor/json.js";
import { closeDrives, driveName, openDrives, type Drives, type LoadedDrive, type RemoteOpen } from "./drives.js";
import { Iothread, type IothreadMachine } from "./iothread.js";
import { makeNetdevs, type MachineNetdevs } from "./machine-netdevs.js";
import { iothreadDrives, makeDevices } from "./machine-devices.js";
import { machineControl } from "./machine-monitor.js";
import { ConfigError, type AiaMode, type LogItem } from "./machine-config.js";
import type { MachineHost } from "./machine-host.js";
import type { DeviceOption, IothreadOption, NetdevOption, NicOption } from "./option-syntax.js";

/** Host offsets are int32 in the interpreter's typed-array indexing: RAM must stay below 2 GiB. */
export const MAX_RAM = 2047 * 1024 * 1024;
/** Host time each turn of the loop may take before the event loop gets a turn. */
const TURN_MS = 20;
const LOG_ITEMS: readonly LogItem[] = ["int", "in_asm", "guest_errors", "unimp", "tcg"];

/** A machine's configuration with every image loaded and every option parsed. */
export interface SystemSpec {
  ramSize: number;
  smp: number;
  aia: AiaMode;
  firmware?: Uint8Array;
  kernel?: Uint8Array;
  initrd?: Uint8Array;
  dtb?: Uint8Array;
  append?: string;
  drives: LoadedDrive[];
  snapshot: boolean;
  devices: DeviceOption[];
  netdevs: NetdevOption[];
  nics: NicOption[];
  netNone: boolean;
  icountShift?: number;
  /** The RTC's start in ms since the epoch; undefined: the host's time. */
  rtcBase?: number;
  rtcClockVm?: boolean;
  startPaused: boolean;
  noReboot: boolean;
  noShutdown: boolean;
  /** -object iothread: in order. */
  iothreads?: IothreadOption[];
  accel?: "interp" | "tcg";
  name?: string;
  debug: readonly string[];
  log?: (text: string) => void;
  warn?: (line: string) => void;
}

/** The run-state events, with QEMU's QMP names and data. */
export type SystemEvent = (name: string, data?: JsonObject) => void;

/** Repeatable "random" bytes (xorshift32 from a fixed seed) for -icount runs. */
function fixedBytes(buf: Uint8Array): void {
  let x = 0x2545f491;
  for (let i = 0; i < buf.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    buf[i] = x & 0xff;
  }
}

/** The -object iothread objects (their workers start with their first drive). */
function makeIothreads(spec: SystemSpec, host: MachineHost): Map<string, Iothread> {
  const out = new Map<string, Iothread>();
  try {
    for (const o of spec.iothreads ?? []) {
      if (out.has(o.id)) throw new ConfigError(`${o.spec}: Duplicate ID '${o.id}' for object`);
      const start = host.startIothread;
      if (start === undefined) throw new ConfigError(`${o.spec}: this host has no worker threads for an iothread`);
      const t = new Iothread(o.id, o.settings, () => start.call(host));
      out.set(o.id, t);
      try {
        t.open();
      } catch (e) {
        throw new ConfigError(`${o.spec}: ${(e as Error).message}`);
      }
    }
  } catch (e) {
    for (const t of out.values()) t.close();
    throw e;
  }
  return out;
}

/** Open in an iothread's worker the drives that devices with iothread= use. */
function iothreadOpener(spec: SystemSpec, iothreads: ReadonlyMap<string, Iothread>, warn: (line: string) => void): RemoteOpen {
  const served = iothreadDrives(spec.devices);
  return (drive, name, snapshot) => {
    const thread = iothreads.get(served.get(name) ?? "");
    if (thread === undefined) return undefined;
    if (!("path" in drive.image)) throw new ConfigError(`-drive ${driveName(drive)}: iothread=${thread.id} needs a disk image file`);
    return thread.openDrive(drive, snapshot, warn);
  };
}

function realtimeNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

export class VirtSystem {
  readonly machine: VirtMachine;
  readonly loop: SystemLoop;
  readonly clock: VirtualClock;
  readonly hub: MonitorHub;
  readonly run: RunControl;
  readonly drives: Drives;
  readonly net: MachineNetdevs;
  /** Resolves with the exit status once the machine has ended and its disks are closed. */
  readonly exited: Promise<number>;
  /** The character devices the monitor lists: the serial port's (a command line adds its monitors' and says where serial0 goes). */
  chardevInfo: () => ChardevInfo[] = () => [{ label: "serial0", filename: "stdio", frontendOpen: true }];
  /** Awaited before the disks close when the machine ends (a command line flushes its monitors' replies). */
  beforeExit: () => Promise<void> = () => Promise.resolve();

  private readonly outputListeners = new Set<(bytes: Uint8Array) => void>();
  private readonly eventListeners = new Set<SystemEvent>();
  private outChunks: Uint8Array[] = [];
  private outSize = 0;
  private readonly pendingInput: number[] = [];
  private started = false;
  private exiting = false;
  private paused = false;
  private debuggerHolds = false;
  /** Guest code is running (inside loop.runUntil): a reset must wait for the turn to end. */
  private inTurn = false;
  private resetRequested = false;
  private scheduled = false;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private resolveExit!: (status: number) => void;
  private readonly startNs = performance.now();
  private stoppedAt: number | undefined;
  private stoppedMs = 0;
  private readonly log: (text: string) => void;

  /** Build the machine; it does not run until start(). Throws ConfigError with one line when the configuration is wrong. */
  static async create(spec: SystemSpec, host: MachineHost): Promise<VirtSystem> {
    if (spec.ramSize < 16 * 1024 * 1024) throw new ConfigError(`-m: ${spec.ramSize} bytes of RAM is too little (at least 16M)`);
    if (spec.ramSize > MAX_RAM) throw new ConfigError("-m: at most 2047M of RAM is supported");
    if (!Number.isInteger(spec.smp) || spec.smp < 1) throw new ConfigError(`-smp ${spec.smp}: invalid number of CPUs`);
    if (spec.smp > MAX_HARTS) throw new ConfigError(`-smp ${spec.smp}: virt supports at most ${MAX_HARTS} CPUs`);
    if (spec.initrd !== undefined && spec.kernel === undefined) throw new ConfigError("-initrd: requires -kernel");
    if (spec.append !== undefined && spec.kernel === undefined) throw new ConfigError("-append: requires -kernel");
    for (const item of spec.debug) {
      if (!(LOG_ITEMS as readonly string[]).includes(item)) throw new ConfigError(`-d ${item}: unknown log item (tsemu has ${LOG_ITEMS.join(", ")})`);
    }
    const log = spec.log ?? ((text: string) => host.log(text));
    const warn = spec.warn ?? ((line: string): void => log(`${line}\n`));
    const ref: { system?: VirtSystem } = {};
    const iothreads = makeIothreads(spec, host);
    let drives: Drives;
    try {
      drives = openDrives(spec.drives, spec.snapshot, host, warn, iothreadOpener(spec, iothreads, warn));
    } catch (e) {
      for (const t of iothreads.values()) t.close();
      throw e;
    }
    let net: MachineNetdevs;
    try {
      net = await makeNetdevs(spec.netdevs, spec.nics, spec.netNone, host, warn, {
        wake: () => ref.system?.schedule(),
        running: () => ref.system?.guestRuns() ?? false,
      });
    } catch (e) {
      closeDrives(drives);
      for (const t of iothreads.values()) t.close();
      throw e;
    }
    const iothreadMachine: IothreadMachine = {
      dropCode: (first, count) => {
        const ram = ref.system?.machine.bus.ram;
        for (let p = first; p < first + count; p++) ram?.dropCode(p);
      },
      rang: () => {
        ref.system?.machine.pollShared();
        ref.system?.schedule();
      },
    };
    try {
      const system = new VirtSystem(spec, host, drives, net, iothreads, iothreadMachine, log, warn);
      ref.system = system;
      return system;
    } catch (e) {
      closeDrives(drives);
      for (const t of iothreads.values()) t.close();
      for (const b of net.machine.netdevs) b.close();
      throw e;
    }
  }

  private constructor(readonly spec: SystemSpec, readonly host: MachineHost, drives: Drives, net: MachineNetdevs,
    readonly iothreads: ReadonlyMap<string, Iothread>, iothreadMachine: IothreadMachine,
    log: (text: string) => void, warn: (line: string) => void) {
    this.drives = drives;
    this.net = net;
    this.log = log;
    this.exited = new Promise((resolve) => { this.resolveExit = resolve; });
    const devices = makeDevices(spec.devices, drives, net, spec.smp, (buf) => host.random(buf), iothreads, iothreadMachine);
    const joined = new Set(net.machine.nics.map((n) => n.backend));
    for (const b of net.machine.netdevs) {
      if (!joined.has(b)) warn(`warning: netdev ${b.id} has no peer`);
    }
    const accel = spec.accel ?? DEFAULT_ACCEL;
    selectAccel(accel);
    const loopRef: { loop?: SystemLoop } = {};
    // The guest's clock stands still while the machine is stopped, as QEMU's
    // virtual clock does: after `cont` the guest sees no time jump.
    this.clock = new VirtualClock(() => this.guestNowNs(), TIMEBASE_HZ, spec.icountShift, () => loopRef.loop?.instructions() ?? 0);
    const runRef: { run?: RunControl } = {};
    try {
      this.machine = new VirtMachine({
        ramSize: spec.ramSize, harts: spec.smp, images: { firmware: spec.firmware, kernel: spec.kernel, initrd: spec.initrd },
        bootargs: spec.append, dtb: spec.dtb, aia: spec.aia, virtio: devices.virtio, pci: devices.pci,
        sharedMemory: iothreads.size > 0,
        adviseRam: host.adviseRam,
        quiesce: () => { for (const t of iothreads.values()) t.quiesce(); },
        serial: {
          write: (bytes) => this.output(bytes),
          acceptInput: () => this.feedInput(),
        },
        clock: this.clock,
        // The RTC starts at -rtc base (default: host time) and follows the host
        // clock, or guest time with -rtc clock=vm or -icount (so that a run repeats).
        realtimeNs: this.rtcSource(),
        // With -icount the device tree's rng-seed is fixed too (QEMU's -seed).
        random: spec.icountShift === undefined ? (buf) => host.random(buf) : fixedBytes,
        shutdown: (status) => {
          this.flushOutput();
          runRef.run?.guestShutdown(status);
        },
        reset: () => runRef.run?.guestReset(),
        log: (m) => { if (spec.debug.includes("guest_errors")) log(`${m}\n`); },
      });
    } catch (e) {
      throw e instanceof ConfigError ? e : new ConfigError((e as Error).message);
    }
    const m = this.machine;
    // The interpreter's feedback covers every instruction (warm-up.ts). After the machine's objects
    // exist: V8 compiles the interpreter while the warm-up ends, and a class that changes during that
    // compile (as the harts' did when they were made) throws the compile away.
    warmUpInterpreter(iothreads.size > 0, accel === "tcg");
    // The loop yields to the event loop between turns: modules compiled off the thread are installed there.
    codeCacheFor(m.bus.ram).compileMode = tcgSettings.compile ?? DEFAULT_COMPILE;
    this.loop = new SystemLoop(m.harts, iothreads.size === 0 ? m.timers : {
      runDue: () => {
        this.pollWorkers();
        m.timers.runDue();
      },
    });
    loopRef.loop = this.loop;
    this.traceOptions();
    this.hub = new MonitorHub(machineControl({
      machine: m, run: () => this.run, name: spec.name, ramSize: spec.ramSize, drives, net, host,
      chardevs: () => this.chardevInfo(), iothreads,
    }), {
      writeFile: (path, data) => {
        if (host.writeFile === undefined) throw new Error("Operation not supported");
        host.writeFile(path, data);
      },
      nowMicros: () => Math.round((performance.timeOrigin + performance.now()) * 1000),
    });
    net.machine.event = (name, data) => this.hub.event(name, data);
    this.run = new RunControl({
      pause: () => { this.paused = true; this.loop.stopRequested = true; this.freezeClock(); },
      resume: () => { this.paused = false; this.thawClock(); this.schedule(); this.networkResumes(); },
      resetMachine: () => {
        if (this.inTurn) { this.resetRequested = true; this.loop.stopRequested = true; }
        else m.reset();
      },
      exit: (status) => { this.hub.leaving = true; this.exit(status); },
    }, (name, data) => {
      this.hub.event(name, data);
      for (const l of this.eventListeners) l(name, data);
    }, { noShutdown: spec.noShutdown, noReboot: spec.noReboot, startStopped: spec.startPaused });
    runRef.run = this.run;
  }

  /** Begin running guest code (a machine made with startPaused waits in "prelaunch" for a resume). */
  start(): void {
    this.started = true;
    this.schedule();
    this.networkResumes();
  }

  /** The guest runs: started, not stopped, not held by a debugger, not ending (frames reach its NICs only then). */
  guestRuns(): boolean {
    return this.started && !this.paused && !this.debuggerHolds && !this.exiting;
  }

  /** The guest runs again: every netdev delivers what it held meanwhile. */
  private networkResumes(): void {
    if (!this.guestRuns()) return;
    for (const b of this.net.machine.netdevs) b.resume();
  }

  status(): RunState {
    return this.run.status;
  }

  /** Guest bytes from the serial port, a chunk per listener call; returns the function that removes the listener. */
  onOutput(listener: (bytes: Uint8Array) => void): () => void {
    this.outputListeners.add(listener);
    return () => this.outputListeners.delete(listener);
  }

  /** QMP events of the run state (STOP, RESUME, RESET, SHUTDOWN, POWERDOWN) with their data. */
  onEvent(listener: SystemEvent): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Bytes for the serial port's receiver (typed keys); they wait while its FIFO is full. */
  input(bytes: Uint8Array): void {
    for (const b of bytes) this.pendingInput.push(b);
    this.feedInput();
    this.schedule();
  }

  /** A debugger holds the machine (gdb's stop) or lets it go; the run state stays what it is. */
  holdForDebugger(hold: boolean): void {
    this.debuggerHolds = hold;
    if (hold) this.loop.stopRequested = true;
    else {
      this.schedule();
      this.networkResumes();
    }
  }

  /** End the machine now with `status` (as quit does, without the events): the disks are flushed and closed. */
  exit(status: number): void {
    if (this.exiting) return;
    this.exiting = true;
    this.loop.stopRequested = true;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.flushOutput();
    if (this.spec.debug.includes("tcg")) this.log(`${tcgStatsLine(this.machine.bus.ram)}\n`);
    const finish = (): void => {
      closeDrives(this.drives);
      for (const t of this.iothreads.values()) t.close();
      for (const b of this.net.machine.netdevs) b.close();
      this.resolveExit(status);
    };
    void this.beforeExit().then(finish, finish);
  }

  get ended(): boolean {
    return this.exiting;
  }

  /** Run the loop soon (input arrived, a frame came in, the machine resumed). */
  schedule(): void {
    if (this.scheduled || this.exiting || !this.started) return;
    if (this.idleTimer !== undefined) { clearTimeout(this.idleTimer); this.idleTimer = undefined; }
    this.scheduled = true;
    this.host.soon(() => this.step());
  }

  private step(): void {
    this.scheduled = false;
    if (this.exiting) return;
    const m = this.machine;
    if (this.resetRequested) {
      this.resetRequested = false;
      m.reset();
    }
    if (this.paused || this.debuggerHolds) { this.flushOutput(); return; }
    this.feedInput();
    this.pollWorkers();
    m.timers.runDue();
    this.inTurn = true;
    const nowMs = (): number => performance.now();
    try {
      this.loop.runUntil(nowMs, nowMs() + TURN_MS);
    } finally {
      this.inTurn = false;
    }
    this.flushOutput();
    if (this.exiting || this.paused || this.debuggerHolds) return;
    if (this.resetRequested) { this.schedule(); return; }
    if (this.loop.idle()) {
      // Every hart waits for an interrupt: sleep until the next timer or input.
      const deadline = m.timers.nextDeadline();
      const ms = this.clock.msUntil(deadline);
      this.idleTimer = setTimeout(() => {
        this.idleTimer = undefined;
        if (ms !== Infinity) this.clock.idleUntil(deadline);
        this.schedule();
      }, Math.min(ms, 1000));
      return;
    }
    this.schedule();
  }

  /** What iothreads sent since the last look, and the interrupts they set pending. */
  private pollWorkers(): void {
    for (const t of this.iothreads.values()) t.poll();
    this.machine.pollShared();
  }

  private output(bytes: Uint8Array): void {
    this.outChunks.push(bytes.slice());
    this.outSize += bytes.length;
    if (this.outSize >= 4096) this.flushOutput();
  }

  private flushOutput(): void {
    if (this.outSize === 0) return;
    const all = new Uint8Array(this.outSize);
    let at = 0;
    for (const c of this.outChunks) { all.set(c, at); at += c.length; }
    this.outChunks = [];
    this.outSize = 0;
    for (const l of this.outputListeners) l(all);
  }

  private feedInput(): void {
    if (this.pendingInput.length === 0) return;
    const serial = this.machine.serial;
    const n = serial.canReceive();
    if (n <= 0) return;
    const chunk = Uint8Array.from(this.pendingInput.splice(0, n));
    const taken = serial.receive(chunk);
    if (taken < chunk.length) this.pendingInput.unshift(...chunk.subarray(taken));
  }

  private rawNowMs(): number {
    return performance.now() - this.startNs;
  }

  private guestNowNs(): number {
    return ((this.stoppedAt ?? this.rawNowMs()) - this.stoppedMs) * 1e6;
  }

  private freezeClock(): void {
    if (this.stoppedAt === undefined) this.stoppedAt = this.rawNowMs();
  }

  private thawClock(): void {
    if (this.stoppedAt === undefined) return;
    this.stoppedMs += this.rawNowMs() - this.stoppedAt;
    this.stoppedAt = undefined;
  }

  private rtcSource(): () => bigint {
    const s = this.spec;
    const base = s.rtcBase !== undefined ? BigInt(s.rtcBase) * 1_000_000n : realtimeNs();
    if (s.rtcClockVm === true || (s.icountShift !== undefined && s.rtcClockVm !== false)) {
      return () => base + BigInt(this.clock.ticks()) * BigInt(1e9 / TIMEBASE_HZ);
    }
    const offset = base - realtimeNs();
    return () => realtimeNs() + offset;
  }

  /** -d int and -d in_asm, in QEMU's log format. */
  private traceOptions(): void {
    const debug = this.spec.debug;
    const log = this.log;
    if (debug.includes("int")) {
      this.loop.onTrap = (cpu, hart, cause, interrupt) => {
        log(`riscv_cpu_do_interrupt: hart:${hart}, async:${interrupt ? 1 : 0}, cause:${cause.toString(16).padStart(8, "0")}, ` +
          `epc:0x${BigInt.asUintN(64, BigInt(cpu.pc)).toString(16).padStart(16, "0")}, ` +
          `tval:0x${BigInt.asUintN(64, (BigInt(cpu.trapTvalHi) << 32n) | BigInt(cpu.trapTvalLo >>> 0)).toString(16).padStart(16, "0")}, ` +
          `desc=${interrupt ? "interrupt" : "exception"}\n`);
      };
    }
    if (debug.includes("in_asm")) {
      for (const cpu of this.machine.harts) {
        cpu.onDecode = (pc, lo16, hi16) => {
          log(`0x${BigInt.asUintN(64, BigInt(pc)).toString(16).padStart(16, "0")}:  ${disassemble(lo16, hi16, pc).text}\n`);
        };
      }
    }
  }
}
