/**
 * Until the library's createMachine (src/index.ts) exists: the part of its
 * contract the page uses (console, start, reset, powerOff, exited, status,
 * instructions), built from the same board, run loop and device registry
 * the command line uses.  Browser-safe: no host module is reached.
 * Replaced by the library's createMachine when it lands.
 */
import type { BlockBackend } from "../../src/block/block.js";
import { VirtMachine, TIMEBASE_HZ } from "../../src/hw/riscv/virt.js";
import { VirtualClock } from "../../src/hw/core/clock.js";
import { SystemLoop } from "../../src/accel/system-loop.js";
import { virtDevices, type DeviceContext } from "../../src/system/virt-devices.js";
import { MacAllocator } from "../../src/net/mac.js";
import type { PciPlug } from "../../src/hw/pci/pci-device.js";

export interface MachineConfig {
  memory?: number | string;
  cpus?: number;
  firmware?: Uint8Array;
  kernel?: Uint8Array;
  initrd?: Uint8Array;
  append?: string;
  drives?: { image: BlockBackend }[];
}

export type RunStatus = "running" | "paused" | "shutdown" | "prelaunch";

export interface Machine {
  readonly console: { onData(listener: (bytes: Uint8Array) => void): () => void; write(data: Uint8Array | string): void };
  start(): void;
  reset(): void;
  powerOff(): Promise<number>;
  readonly exited: Promise<number>;
  on(event: "reset" | "shutdown", listener: () => void): () => void;
  status(): RunStatus;
  instructions(): number;
}

/** How long guest code runs before the worker's event loop gets a turn (messages: input, buttons). */
const TURN_MS = 20;

function parseMemory(m: number | string | undefined): number {
  if (m === undefined) return 128 * 2 ** 20;
  if (typeof m === "number") return m;
  const match = /^(\d+)([KMG]?)$/i.exec(m);
  if (match === null) throw new Error(`memory ${m}: expected a size such as 256M`);
  const unit = { "": 2 ** 20, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 }[match[2].toUpperCase() as "" | "K" | "M" | "G"];
  return Number(match[1]) * unit;
}

/** A zero-delay turn: a MessageChannel message (setTimeout(0) waits at least 4 ms once nested). */
function immediate(): (f: () => void) => void {
  const channel = new MessageChannel();
  const queue: (() => void)[] = [];
  channel.port1.onmessage = () => queue.shift()?.();
  return (f) => { queue.push(f); channel.port2.postMessage(0); };
}

export async function createMachine(config: MachineConfig): Promise<Machine> {
  const ramSize = parseMemory(config.memory);
  const harts = config.cpus ?? 1;
  const start = performance.now();
  const nowNs = (): number => (performance.now() - start) * 1e6;
  const loopRef: { loop?: SystemLoop } = {};
  const clock = new VirtualClock(nowNs, TIMEBASE_HZ, undefined, () => loopRef.loop?.instructions() ?? 0);
  const dataListeners = new Set<(bytes: Uint8Array) => void>();
  const eventListeners = { reset: new Set<() => void>(), shutdown: new Set<() => void>() };
  const pendingInput: number[] = [];
  let state: RunStatus = "prelaunch";
  let resetRequested = false;
  let resolveExit: (status: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => { resolveExit = resolve; });
  const exit = (status: number): void => {
    if (state === "shutdown") return;
    state = "shutdown";
    if (loopRef.loop) loopRef.loop.stopRequested = true;
    for (const d of config.drives ?? []) {
      try { d.image.flush(); } catch { /* the machine ends anyway */ }
    }
    for (const l of eventListeners.shutdown) l();
    resolveExit(status);
  };

  const drives = new Map((config.drives ?? []).map((d, i) => [`virtio${i}`, d.image] as const));
  const registry = virtDevices();
  const ctx: DeviceContext = {
    drives, usedDrives: new Set(), harts,
    random: (buf) => crypto.getRandomValues(buf),
    attached: () => undefined, netdevs: new Map(), usedNetdevs: new Set(),
    macs: new MacAllocator(false), nicCreated: () => undefined,
  };
  const pci: PciPlug[] = [];
  for (const name of drives.keys()) {
    const type = registry.find("virtio-blk-pci");
    if (type === undefined) throw new Error("virtio-blk-pci is missing from the device registry");
    const planned = type.realize(registry.parse(type, new Map([["drive", name]])), ctx);
    if (planned.bus !== "PCI") throw new Error("virtio-blk-pci did not plan a PCI function");
    pci.push({ ...planned.plug, spec: `virtio-blk-pci,drive=${name}` });
  }

  // Set once built: the serial port may ask for input while the board is being made.
  const built: { machine?: VirtMachine } = {};
  const feedInput = (): void => {
    const machine = built.machine;
    if (machine === undefined || pendingInput.length === 0) return;
    const n = machine.serial.canReceive();
    if (n <= 0) return;
    const chunk = Uint8Array.from(pendingInput.splice(0, n));
    const taken = machine.serial.receive(chunk);
    if (taken < chunk.length) pendingInput.unshift(...chunk.subarray(taken));
  };
  const m = new VirtMachine({
    ramSize, harts, images: { firmware: config.firmware, kernel: config.kernel, initrd: config.initrd },
    bootargs: config.append, virtio: [], pci,
    serial: { write: (bytes) => { for (const l of dataListeners) l(bytes.slice()); }, acceptInput: () => feedInput() },
    clock,
    realtimeNs: () => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6)),
    random: (buf) => crypto.getRandomValues(buf),
    shutdown: (status) => exit(status),
    reset: () => { resetRequested = true; if (loopRef.loop) loopRef.loop.stopRequested = true; },
    log: () => undefined,
  });
  built.machine = m;
  const loop = new SystemLoop(m.harts, m.timers);
  loopRef.loop = loop;

  const later = immediate();
  let scheduled = false;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  const schedule = (): void => {
    if (scheduled || state !== "running") return;
    if (idleTimer !== undefined) { clearTimeout(idleTimer); idleTimer = undefined; }
    scheduled = true;
    later(step);
  };
  const doReset = (): void => {
    resetRequested = false;
    m.reset();
    for (const l of eventListeners.reset) l();
  };
  const step = (): void => {
    scheduled = false;
    if (state !== "running") return;
    if (resetRequested) doReset();
    feedInput();
    m.timers.runDue();
    const now = (): number => performance.now();
    loop.runUntil(now, now() + TURN_MS);
    if (state !== "running") return;
    if (resetRequested) { schedule(); return; }
    if (loop.idle()) {
      // Every hart waits for an interrupt: sleep until the next timer or input.
      const ms = clock.msUntil(m.timers.nextDeadline());
      idleTimer = setTimeout(() => { idleTimer = undefined; schedule(); }, Math.min(ms, 1000));
      return;
    }
    schedule();
  };

  return {
    console: {
      onData: (listener) => { dataListeners.add(listener); return () => dataListeners.delete(listener); },
      write: (data) => {
        const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
        pendingInput.push(...bytes);
        feedInput();
        schedule();
      },
    },
    start: () => { if (state === "prelaunch") { state = "running"; schedule(); } },
    reset: () => { resetRequested = true; loop.stopRequested = true; schedule(); },
    powerOff: () => { exit(0); return exited; },
    exited,
    on: (event, listener) => { eventListeners[event].add(listener); return () => eventListeners[event].delete(listener); },
    status: () => state,
    instructions: () => loop.instructions(),
  };
}
