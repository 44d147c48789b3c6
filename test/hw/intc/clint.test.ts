/** The CLINT, driven the way OpenSBI's ACLINT drivers drive it, on a fake clock. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { cell, dts } from "../../util/dtc.js";
import { Clint, ClintReg as R } from "../../../src/hw/intc/clint.js";
import { MipBit, type HartIrqs } from "../../../src/hw/core/irq.js";
import { TimerList } from "../../../src/hw/core/clock.js";
import { Fdt } from "../../../src/hw/core/fdt.js";

/** Each hart's mip as the controller drives it. */
class Mip implements HartIrqs {
  readonly bits: number[] = [];
  setMip(hart: number, bit: MipBit, level: boolean): void {
    const v = this.bits[hart] ?? 0;
    this.bits[hart] = level ? v | (1 << bit) : v & ~(1 << bit);
  }
  has(hart: number, bit: MipBit): boolean {
    return ((this.bits[hart] ?? 0) & (1 << bit)) !== 0;
  }
}

function clint(harts = 2) {
  const clock = { now: 0 };
  const timers = new TimerList({ ticks: () => clock.now });
  const mip = new Mip();
  const dev = new Clint({ base: 0x2000000, harts, irqs: mip, timers });
  const { read, write } = dev.region.ops;
  return {
    dev, mip, timers, read, write,
    /** A 64-bit store as the bus delivers it: two 32-bit writes, low word first. */
    sd(offset: number, value: bigint): void {
      write(offset, 4, Number(value & 0xffffffffn));
      write(offset + 4, 4, Number((value >> 32n) & 0xffffffffn));
    },
    ld(offset: number): bigint {
      const lo = BigInt(read(offset, 4));
      return (BigInt(read(offset + 4, 4)) << 32n) | lo;
    },
    /** Let guest time run to `ticks` and fire what is due, as the run loop does between slices. */
    runTo(ticks: number): void {
      clock.now = ticks;
      timers.runDue();
    },
  };
}

const mtimecmp = (hart: number): number => R.MTIMECMP + 8 * hart;

test("region: base 0x2000000, size 0x10000", () => {
  const c = clint();
  assert.equal(c.dev.region.base, 0x2000000);
  assert.equal(c.dev.region.size, 0x10000);
});

test("msip: bit 0 drives MSIP of its hart only, and reads back", () => {
  const c = clint();
  c.write(R.MSIP + 4, 4, 1);
  assert.equal(c.mip.has(1, MipBit.MSIP), true);
  assert.equal(c.mip.has(0, MipBit.MSIP), false);
  assert.equal(c.read(R.MSIP + 4, 4), 1);
  assert.equal(c.read(R.MSIP, 4), 0);
  c.write(R.MSIP + 4, 4, 0xfffffffe); // only bit 0 counts
  assert.equal(c.mip.has(1, MipBit.MSIP), false);
  assert.equal(c.read(R.MSIP + 4, 4), 0);
  c.write(R.MSIP + 8, 4, 1); // no hart 2: ignored
  assert.equal(c.read(R.MSIP + 8, 4), 0);
});

test("mtime follows the time source", () => {
  const c = clint();
  c.runTo(12345);
  assert.equal(c.ld(R.MTIME), 12345n);
  assert.equal(c.dev.mtime(), 12345);
  c.runTo(2 ** 40 + 7); // the high word too
  assert.equal(c.ld(R.MTIME), BigInt(2 ** 40 + 7));
});

test("OpenSBI's warm init (mtimecmp = -1) lowers MTIP for good", () => {
  const c = clint();
  // mtimecmp is 0 at reset, so MTIP is high until the firmware writes a deadline
  assert.equal(c.mip.has(0, MipBit.MTIP), true);
  c.sd(mtimecmp(0), 0xffffffffffffffffn);
  c.sd(mtimecmp(1), 0xffffffffffffffffn);
  assert.equal(c.mip.has(0, MipBit.MTIP), false);
  assert.equal(c.mip.has(1, MipBit.MTIP), false);
  assert.equal(c.ld(mtimecmp(0)), 0xffffffffffffffffn);
  assert.equal(c.timers.nextDeadline(), Infinity);
  c.runTo(Number.MAX_SAFE_INTEGER);
  assert.equal(c.mip.has(0, MipBit.MTIP), false);
});

test("MTIP rises when the clock reaches mtimecmp, not before", () => {
  const c = clint();
  c.runTo(100);
  c.sd(mtimecmp(0), 1100n);
  assert.equal(c.mip.has(0, MipBit.MTIP), false);
  assert.equal(c.timers.nextDeadline(), 1100);
  c.runTo(1099);
  assert.equal(c.mip.has(0, MipBit.MTIP), false);
  c.runTo(1100);
  assert.equal(c.mip.has(0, MipBit.MTIP), true);
  // the next tick as Linux's timer driver sets it: lowers MTIP and arms again
  c.sd(mtimecmp(0), 1200n);
  assert.equal(c.mip.has(0, MipBit.MTIP), false);
  c.runTo(5000); // a late run loop still fires
  assert.equal(c.mip.has(0, MipBit.MTIP), true);
});

test("a deadline in the past raises MTIP at once; a later one replaces the armed one", () => {
  const c = clint();
  c.runTo(1000);
  c.sd(mtimecmp(0), 2000n);
  c.sd(mtimecmp(0), 999n);
  assert.equal(c.mip.has(0, MipBit.MTIP), true);
  c.sd(mtimecmp(0), 3000n);
  assert.equal(c.mip.has(0, MipBit.MTIP), false);
  c.runTo(2000); // the first deadline is gone
  assert.equal(c.mip.has(0, MipBit.MTIP), false);
  c.runTo(3000);
  assert.equal(c.mip.has(0, MipBit.MTIP), true);
});

test("each hart has its own mtimecmp and MTIP", () => {
  const c = clint();
  c.sd(mtimecmp(0), 500n);
  c.sd(mtimecmp(1), 300n);
  c.runTo(300);
  assert.equal(c.mip.has(0, MipBit.MTIP), false);
  assert.equal(c.mip.has(1, MipBit.MTIP), true);
  c.runTo(500);
  assert.equal(c.mip.has(0, MipBit.MTIP), true);
  assert.equal(c.ld(mtimecmp(0)), 500n);
  assert.equal(c.ld(mtimecmp(1)), 300n);
});

test("mtimecmp beyond 2^53 ticks never fires; writing the high word first works too", () => {
  const c = clint();
  c.sd(mtimecmp(0), (1n << 53n) + 1n);
  assert.equal(c.mip.has(0, MipBit.MTIP), false);
  assert.equal(c.timers.nextDeadline(), Infinity);
  // RV32 order: high word to all ones, low word, then the real high word
  c.write(mtimecmp(0) + 4, 4, 0xffffffff);
  c.write(mtimecmp(0), 4, 0x10);
  c.write(mtimecmp(0) + 4, 4, 0);
  assert.equal(c.ld(mtimecmp(0)), 0x10n);
  c.runTo(0x10);
  assert.equal(c.mip.has(0, MipBit.MTIP), true);
});

test("writing mtime sets the count from then on and re-evaluates every hart", () => {
  const c = clint();
  c.sd(mtimecmp(0), 3000n);
  c.sd(mtimecmp(1), 10000n);
  c.runTo(100);
  c.sd(R.MTIME, 5000n);
  assert.equal(c.ld(R.MTIME), 5000n);
  assert.equal(c.mip.has(0, MipBit.MTIP), true);
  assert.equal(c.mip.has(1, MipBit.MTIP), false);
  c.runTo(110);
  assert.equal(c.ld(R.MTIME), 5010n);
  assert.equal(c.dev.mtime(), 5010);
  // hart 1's deadline moved with mtime: 10000 - 5010 ticks from now
  assert.equal(c.timers.nextDeadline(), 110 + 4990);
  c.runTo(110 + 4990);
  assert.equal(c.mip.has(1, MipBit.MTIP), true);
  // winding mtime back lowers MTIP again
  c.sd(R.MTIME, 0n);
  assert.equal(c.mip.has(0, MipBit.MTIP), false);
  assert.equal(c.mip.has(1, MipBit.MTIP), false);
});

test("mtime holds any 64-bit value exactly and carries into the high word", () => {
  const c = clint();
  c.runTo(7);
  c.sd(R.MTIME, 0x123456789abcdef0n);
  assert.equal(c.ld(R.MTIME), 0x123456789abcdef0n);
  c.sd(R.MTIME, 0x00000001fffffff0n);
  c.runTo(7 + 0x20);
  assert.equal(c.ld(R.MTIME), 0x0000000200000010n);
  // a 32-bit write of one half keeps the other half of the running count
  c.write(R.MTIME + 4, 4, 5);
  assert.equal(c.ld(R.MTIME), 0x0000000500000010n);
});

test("byte and halfword accesses reach the containing register", () => {
  const c = clint();
  for (let i = 0; i < 8; i++) c.write(mtimecmp(1) + i, 1, [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11][i]);
  assert.equal(c.ld(mtimecmp(1)), 0x1122334455667788n);
  assert.equal(c.read(mtimecmp(1) + 2, 2), 0x5566);
  assert.equal(c.read(mtimecmp(1) + 7, 1), 0x11);
  c.write(mtimecmp(1) + 4, 2, 0);
  c.write(mtimecmp(1) + 6, 2, 0);
  c.write(mtimecmp(1), 2, 0x40);
  c.write(mtimecmp(1) + 2, 2, 0);
  assert.equal(c.ld(mtimecmp(1)), 0x40n);
  c.runTo(0x40);
  assert.equal(c.mip.has(1, MipBit.MTIP), true);
  c.runTo(0x1234);
  assert.equal(c.read(R.MTIME, 1), 0x34);
  assert.equal(c.read(R.MTIME + 1, 1), 0x12);
  c.write(R.MSIP, 1, 1);
  assert.equal(c.mip.has(0, MipBit.MSIP), true);
  assert.equal(c.read(R.MSIP, 2), 1);
});

test("unmapped offsets read 0", () => {
  const c = clint();
  c.sd(mtimecmp(1), 42n);
  assert.equal(c.read(mtimecmp(2), 4), 0); // no hart 2
  assert.equal(c.read(0xc000, 4), 0);
  assert.equal(c.read(0xfffc, 4), 0);
});

test("reset: msip cleared, mtime back to 0, mtimecmp kept", () => {
  const c = clint();
  c.write(R.MSIP, 4, 1);
  c.sd(mtimecmp(0), 2000n);
  c.runTo(1500);
  c.dev.reset();
  assert.equal(c.mip.has(0, MipBit.MSIP), false);
  assert.equal(c.read(R.MSIP, 4), 0);
  assert.equal(c.ld(R.MTIME), 0n);
  assert.equal(c.ld(mtimecmp(0)), 2000n);
  assert.equal(c.mip.has(0, MipBit.MTIP), false);
  c.runTo(1500 + 2000);
  assert.equal(c.mip.has(0, MipBit.MTIP), true);
});

test("fdt: clint@2000000 as QEMU 7.2 writes it (checked with dtc)", () => {
  const fdt = new Fdt();
  const cpus = fdt.root.child("cpus");
  const intcs = [0, 1].map((h) => cpus.child(`cpu@${h}`).child("interrupt-controller"));
  const soc = fdt.root.child("soc");
  const c = clint();
  c.dev.fdtNode(soc, intcs);
  const [p0, p1] = intcs.map((n) => n.phandle());
  const text = dts(fdt.toBlob());
  const node = /clint@2000000 \{([^}]*)\}/.exec(text)?.[1];
  assert.ok(node, text);
  const props = node.split(";").map((s) => s.trim()).filter((s) => s !== "");
  assert.deepEqual(props, [
    `interrupts-extended = <${cell(p0)} 0x03 ${cell(p0)} 0x07 ${cell(p1)} 0x03 ${cell(p1)} 0x07>`,
    "reg = <0x00 0x2000000 0x00 0x10000>",
    'compatible = "sifive,clint0\\0riscv,clint0"',
  ]);
  assert.throws(() => c.dev.fdtNode(soc, intcs.slice(1)), /1 cpu interrupt controllers given for 2 harts/);
});
