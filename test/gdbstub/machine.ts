/**
 * A virt machine for the system gdbstub tests, built as tsemu-system-riscv64
 * builds it, with a small run loop in the CLI's manner (slices on the event
 * loop, pause/resume), and the bare-metal program it runs.
 */
import { VirtMachine, TIMEBASE_HZ } from "../../src/hw/riscv/virt.js";
import { wordsToBytes } from "../../src/target/riscv/encode.js";
import { VirtualClock } from "../../src/hw/core/clock.js";
import { SystemLoop } from "../../src/accel/system-loop.js";
import { attachSystemGdb, type SystemGdb } from "../../src/gdbstub/system.js";

/**
 * The firmware, loaded at 0x80000000: hart 0 counts in the doubleword at
 * 0x80001000 forever; the other harts wait in wfi.
 */
export const FIRMWARE_WORDS = [
  0x00001297, // 80000000  auipc t0, 0x1        t0 = 0x80001000
  0x00051a63, // 80000004  bnez  a0, 80000018   other harts park
  0x0002b383, // 80000008  ld    t2, 0(t0)      loop:
  0x00138393, // 8000000c  addi  t2, t2, 1
  0x0072b023, // 80000010  sd    t2, 0(t0)
  0xff5ff06f, // 80000014  j     80000008
  0x10500073, // 80000018  wfi                  park:
  0xffdff06f, // 8000001c  j     80000018
];

export function firmware(): Uint8Array {
  return wordsToBytes(FIRMWARE_WORDS);
}

export interface TestMachine {
  machine: VirtMachine;
  loop: SystemLoop;
  gdb: SystemGdb;
  /** Resolves with the status the machine quit with (gdb's kill). */
  quit: Promise<number>;
  /** How many times the loop has run. */
  turns(): number;
  paused(): boolean;
  stop(): Promise<void>;
}

/** Build the machine with the gdbstub on `port` (0: any), held as -S holds it when `startPaused`. */
export function startMachine(port: number, opts: { harts?: number; startPaused?: boolean } = {}): TestMachine {
  const start = process.hrtime.bigint();
  const hostNowNs = (): number => Number(process.hrtime.bigint() - start);
  const loopRef: { loop?: SystemLoop } = {};
  const clock = new VirtualClock(hostNowNs, TIMEBASE_HZ, undefined, () => loopRef.loop?.instructions() ?? 0);
  const machine = new VirtMachine({
    ramSize: 64 * 1024 * 1024, harts: opts.harts ?? 2, images: { firmware: firmware() }, virtio: [],
    serial: { write: () => undefined }, clock, realtimeNs: () => 0n, random: (b) => b.fill(4),
    shutdown: () => undefined, reset: () => undefined, log: () => undefined,
  });
  const loop = new SystemLoop(machine.harts, machine.timers);
  loopRef.loop = loop;
  let paused = false;
  let scheduled: NodeJS.Immediate | undefined;
  let turns = 0;
  let stopped = false;
  const nowMs = (): number => hostNowNs() / 1e6;
  const step = (): void => {
    scheduled = undefined;
    if (paused || stopped) return;
    turns++;
    machine.timers.runDue();
    loop.runUntil(nowMs, nowMs() + 5);
    schedule();
  };
  const schedule = (): void => {
    if (scheduled === undefined && !paused && !stopped) scheduled = setImmediate(step);
  };
  let quitWith: (status: number) => void = () => undefined;
  const quit = new Promise<number>((resolve) => { quitWith = resolve; });
  const gdb = attachSystemGdb({
    port, harts: machine.harts, loop, bus: machine.bus, startPaused: opts.startPaused ?? true,
    pause: () => { paused = true; },
    resume: () => { paused = false; schedule(); },
    quit: () => { stopped = true; quitWith(0); },
    error: (m) => { throw new Error(m); },
  });
  schedule();
  return {
    machine, loop, gdb, quit,
    turns: () => turns,
    paused: () => paused,
    stop: async () => {
      stopped = true;
      if (scheduled !== undefined) clearImmediate(scheduled);
      await gdb.close();
    },
  };
}
