/** The goldfish RTC, driven the way Linux's rtc-goldfish driver drives it, on a fake clock. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { GoldfishRtc, RtcReg as R } from "../../../src/hw/rtc/goldfish-rtc.js";
import { IrqLevel } from "../../../src/hw/core/irq.js";
import { TimerList } from "../../../src/hw/core/clock.js";

const START = 1_700_000_000_123_456_789n; // above 2^53 ns, and TIME_HIGH is not 0

function rtc() {
  const clock = { ticks: 0, hostNs: START };
  const timers = new TimerList({ ticks: () => clock.ticks });
  const irq = new IrqLevel();
  const dev = new GoldfishRtc({ base: 0x101000, irq, timers, now: () => clock.hostNs });
  const rd = (reg: number): number => dev.region.ops.read(reg, 4);
  const wr = (reg: number, v: number): void => dev.region.ops.write(reg, 4, v);
  return {
    dev, irq, rd, wr,
    /** Let both host time and guest time (10 MHz) run for `ns`. */
    advance(ns: bigint): void {
      clock.hostNs += ns;
      clock.ticks += Number(ns / 100n);
      timers.runDue();
    },
    /** Only guest time runs (a guest clock ahead of host time). */
    advanceGuest(ticks: number): void {
      clock.ticks += ticks;
      timers.runDue();
    },
    readTime(): bigint {
      const low = BigInt(rd(R.TIME_LOW));
      return (BigInt(rd(R.TIME_HIGH)) << 32n) | low;
    },
    setTime(ns: bigint): void {
      wr(R.TIME_HIGH, Number(ns >> 32n));
      wr(R.TIME_LOW, Number(ns & 0xffffffffn));
    },
    setAlarm(ns: bigint): void {
      wr(R.ALARM_HIGH, Number(ns >> 32n));
      wr(R.ALARM_LOW, Number(ns & 0xffffffffn));
      wr(R.IRQ_ENABLED, 1);
    },
  };
}

test("TIME reads host realtime in ns; reading TIME_LOW latches TIME_HIGH", () => {
  const r = rtc();
  assert.equal(r.dev.region.base, 0x101000);
  assert.equal(r.dev.region.size, 0x1000);
  assert.equal(r.readTime(), START);
  r.advance(1_500_000_000n);
  assert.equal(r.readTime(), START + 1_500_000_000n);

  const low = r.rd(R.TIME_LOW);
  const high = r.rd(R.TIME_HIGH);
  r.advance(1n << 33n);
  assert.equal(r.rd(R.TIME_HIGH), high, "TIME_HIGH holds the half latched with TIME_LOW");
  assert.equal((BigInt(high) << 32n) | BigInt(low), START + 1_500_000_000n);
  r.rd(R.TIME_LOW);
  assert.equal(r.rd(R.TIME_HIGH), high + 2);
});

test("writing TIME sets an offset from host time that keeps running", () => {
  const r = rtc();
  const set = 946_684_800n * 1_000_000_000n; // 2000-01-01
  r.setTime(set);
  assert.equal(r.readTime(), set);
  r.advance(3_000_000_000n);
  assert.equal(r.readTime(), set + 3_000_000_000n);
  r.wr(R.TIME_LOW, 0);
  assert.equal(r.readTime(), (set + 3_000_000_000n) & ~0xffffffffn, "a TIME_LOW write replaces only the low half");
  r.dev.reset();
  assert.equal(r.readTime(), (set + 3_000_000_000n) & ~0xffffffffn, "reset keeps the time");
});

test("alarm: armed by ALARM_LOW, fires through a timer at the right guest tick, raises the line", () => {
  const r = rtc();
  const at = START + 1_500_000_000n;
  r.setAlarm(at);
  assert.deepEqual([r.rd(R.ALARM_LOW), r.rd(R.ALARM_HIGH)], [Number(at & 0xffffffffn), Number(at >> 32n)]);
  assert.equal(r.rd(R.ALARM_STATUS), 1);
  assert.equal(r.rd(R.IRQ_ENABLED), 1);
  r.advance(1_499_999_900n);
  assert.equal(r.irq.level, false, "one tick early");
  r.advance(100n);
  assert.equal(r.irq.level, true);
  assert.equal(r.rd(R.ALARM_STATUS), 0);
  r.wr(R.CLEAR_INTERRUPT, 1);
  assert.equal(r.irq.level, false);
  r.advance(10_000_000_000n);
  assert.equal(r.irq.level, false, "the alarm fires once");
});

test("an alarm in the past fires at once; IRQ_ENABLED gates the line, not the pending bit", () => {
  const r = rtc();
  r.wr(R.ALARM_HIGH, Number(START >> 32n));
  r.wr(R.ALARM_LOW, 0);
  assert.equal(r.rd(R.ALARM_STATUS), 0);
  assert.equal(r.irq.level, false, "interrupts disabled");
  r.wr(R.IRQ_ENABLED, 1);
  assert.equal(r.irq.level, true, "the pending interrupt shows once enabled");
  r.wr(R.IRQ_ENABLED, 0);
  assert.equal(r.irq.level, false);
  r.wr(R.CLEAR_INTERRUPT, 1);
  r.wr(R.IRQ_ENABLED, 1);
  assert.equal(r.irq.level, false);
});

test("CLEAR_ALARM cancels a running alarm", () => {
  const r = rtc();
  r.setAlarm(START + 1_000_000n);
  assert.equal(r.rd(R.ALARM_STATUS), 1);
  r.wr(R.CLEAR_ALARM, 1);
  assert.equal(r.rd(R.ALARM_STATUS), 0);
  r.advance(1_000_000_000n);
  assert.equal(r.irq.level, false);
});

test("the alarm follows RTC time, not the guest clock, when the two drift", () => {
  const r = rtc();
  r.setAlarm(START + 1_000_000n);
  r.advanceGuest(20_000);
  assert.equal(r.irq.level, false, "guest time ran ahead of host time: not yet");
  assert.equal(r.rd(R.ALARM_STATUS), 1);
  r.advance(1_000_000n);
  assert.equal(r.irq.level, true);
});

test("reset disarms the alarm and lowers the line", () => {
  const r = rtc();
  r.setAlarm(START + 1_000_000n);
  r.dev.reset();
  assert.deepEqual([r.rd(R.ALARM_STATUS), r.rd(R.IRQ_ENABLED), r.rd(R.ALARM_LOW), r.rd(R.ALARM_HIGH)], [0, 0, 0, 0]);
  r.advance(1_000_000_000n);
  assert.equal(r.irq.level, false);
  r.setAlarm(START);
  assert.equal(r.irq.level, true);
  r.dev.reset();
  assert.equal(r.irq.level, false);
});

test("only 32-bit accesses reach the registers", () => {
  const r = rtc();
  assert.equal(r.dev.region.ops.read(R.TIME_LOW, 2), 0);
  r.dev.region.ops.write(R.IRQ_ENABLED, 1, 1);
  assert.equal(r.rd(R.IRQ_ENABLED), 0);
  assert.equal(r.rd(0x20), 0);
});
