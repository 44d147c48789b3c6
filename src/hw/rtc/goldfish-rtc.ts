/**
 * The goldfish RTC of the virt board (qemu:hw/rtc/goldfish_rtc.c): a 64-bit
 * count of nanoseconds since the epoch, and one alarm.
 */
import type { MmioRegion } from "../core/memory.js";
import type { IrqLine } from "../core/irq.js";
import type { TimerHandle, TimerList } from "../core/clock.js";
import { interruptSpecifier, type FdtNode } from "../core/fdt.js";

export const enum RtcReg {
  TIME_LOW = 0x00,
  TIME_HIGH = 0x04,
  ALARM_LOW = 0x08,
  ALARM_HIGH = 0x0c,
  IRQ_ENABLED = 0x10,
  CLEAR_ALARM = 0x14,
  ALARM_STATUS = 0x18,
  CLEAR_INTERRUPT = 0x1c,
}

const LOW = 0xffffffffn;
const NS_PER_SECOND = 1_000_000_000n;

export interface GoldfishRtcOptions {
  base: number;
  irq: IrqLine;
  /** The alarm fires through a timer on this list. */
  timers: TimerList;
  /** Host realtime, in nanoseconds since the epoch. */
  now: () => bigint;
  /** Guest ticks per second of `timers`. */
  timebaseHz?: number;
}

export class GoldfishRtc {
  readonly region: MmioRegion;
  private readonly irq: IrqLine;
  private readonly timers: TimerList;
  private readonly now: () => bigint;
  private readonly timebaseHz: bigint;
  private readonly alarm: TimerHandle;

  /** RTC time = host time + offset; the guest moves it by writing TIME. Kept across reset, as in QEMU. */
  private offset = 0n;
  private alarmNext = 0n;
  private alarmRunning = false;
  private irqPending = false;
  private irqEnabled = false;
  /** TIME_HIGH as latched by the last TIME_LOW read, so the two halves agree. */
  private timeHigh = 0;

  constructor(opts: GoldfishRtcOptions) {
    this.irq = opts.irq;
    this.timers = opts.timers;
    this.now = opts.now;
    this.timebaseHz = BigInt(opts.timebaseHz ?? 10_000_000);
    this.alarm = opts.timers.create(() => this.alarmExpired());
    this.region = {
      name: "goldfish_rtc",
      base: opts.base,
      size: 0x1000,
      ops: {
        // QEMU accepts only 32-bit accesses; narrower ones read 0 and are dropped here.
        read: (offset, size) => (size === 4 ? this.read(offset) : 0),
        write: (offset, size, value) => {
          if (size === 4) this.write(offset, value >>> 0);
        },
      },
    };
  }

  reset(): void {
    this.alarm.cancel();
    this.alarmNext = 0n;
    this.alarmRunning = false;
    this.irqPending = false;
    this.irqEnabled = false;
    this.update();
  }

  /** `/soc/rtc@base`, with properties in the order of QEMU's blob (libfdt puts each new property first). */
  fdtNode(soc: FdtNode, intc: FdtNode, irq: number): FdtNode {
    return soc.child(`rtc@${this.region.base.toString(16)}`)
      .u32("interrupts", ...interruptSpecifier(intc, irq))
      .u32("interrupt-parent", intc.phandle())
      .u64("reg", this.region.base, this.region.size)
      .str("compatible", "google,goldfish-rtc");
  }

  /** The RTC's current count, nanoseconds since the epoch. */
  time(): bigint {
    return BigInt.asUintN(64, this.now() + this.offset);
  }

  private read(offset: number): number {
    switch (offset) {
      case RtcReg.TIME_LOW: {
        const t = this.time();
        this.timeHigh = Number(t >> 32n);
        return Number(t & LOW);
      }
      case RtcReg.TIME_HIGH:
        return this.timeHigh;
      case RtcReg.ALARM_LOW:
        return Number(this.alarmNext & LOW);
      case RtcReg.ALARM_HIGH:
        return Number(this.alarmNext >> 32n);
      case RtcReg.IRQ_ENABLED:
        return this.irqEnabled ? 1 : 0;
      case RtcReg.ALARM_STATUS:
        return this.alarmRunning ? 1 : 0;
      default:
        return 0;
    }
  }

  private write(offset: number, value: number): void {
    const v = BigInt(value);
    switch (offset) {
      case RtcReg.TIME_LOW: {
        const t = this.time();
        this.offset += ((t & ~LOW) | v) - t;
        break;
      }
      case RtcReg.TIME_HIGH: {
        const t = this.time();
        this.offset += ((v << 32n) | (t & LOW)) - t;
        break;
      }
      case RtcReg.ALARM_LOW:
        // Writing the low half arms the alarm; drivers write the high half first.
        this.alarmNext = (this.alarmNext & ~LOW) | v;
        this.setAlarm();
        break;
      case RtcReg.ALARM_HIGH:
        this.alarmNext = (v << 32n) | (this.alarmNext & LOW);
        break;
      case RtcReg.IRQ_ENABLED:
        this.irqEnabled = (value & 1) !== 0;
        this.update();
        break;
      case RtcReg.CLEAR_ALARM:
        this.alarm.cancel();
        this.alarmRunning = false;
        break;
      case RtcReg.CLEAR_INTERRUPT:
        this.irqPending = false;
        this.update();
        break;
      default:
        break;
    }
  }

  private setAlarm(): void {
    const t = this.time();
    if (this.alarmNext <= t) {
      this.alarm.cancel();
      this.fire();
      return;
    }
    this.alarmRunning = true;
    this.armFor(this.alarmNext - t);
  }

  /** Arm the timer `ns` nanoseconds ahead, rounded up to whole guest ticks. */
  private armFor(ns: bigint): void {
    const ticks = (ns * this.timebaseHz + NS_PER_SECOND - 1n) / NS_PER_SECOND;
    this.alarm.arm(this.timers.clock.ticks() + Number(ticks));
  }

  private alarmExpired(): void {
    // The timer runs on guest time and the RTC on host time; when guest time
    // ran ahead, wait for the rest rather than fire early.
    const t = this.time();
    if (t < this.alarmNext) this.armFor(this.alarmNext - t);
    else this.fire();
  }

  private fire(): void {
    this.alarmRunning = false;
    this.irqPending = true;
    this.update();
  }

  private update(): void {
    this.irq.set(this.irqPending && this.irqEnabled);
  }
}
