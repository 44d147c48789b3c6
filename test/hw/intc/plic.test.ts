/** The PLIC, driven the way OpenSBI and Linux's irq-sifive-plic driver drive it. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { cell, dts } from "../../util/dtc.js";
import { Plic, PlicReg as R } from "../../../src/hw/intc/plic.js";
import { MipBit, type HartIrqs } from "../../../src/hw/core/irq.js";
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

/** Contexts of a two-hart board: M then S per hart. */
const M0 = 0, S0 = 1, M1 = 2, S1 = 3;

function plic(harts = 2) {
  const mip = new Mip();
  const dev = new Plic({ base: 0xc000000, harts, irqs: mip });
  const { read, write } = dev.region.ops;
  const enableWord = (ctx: number, n: number): number => R.ENABLE + R.ENABLE_STRIDE * ctx + 4 * (n >> 5);
  const context = (ctx: number): number => R.CONTEXT + R.CONTEXT_STRIDE * ctx;
  return {
    dev, mip, read, write,
    setPriority(n: number, p: number): void { write(R.PRIORITY + 4 * n, 4, p); },
    priority(n: number): number { return read(R.PRIORITY + 4 * n, 4); },
    enable(ctx: number, n: number, on = true): void {
      const at = enableWord(ctx, n);
      const bit = 1 << (n & 31);
      write(at, 4, on ? read(at, 4) | bit : read(at, 4) & ~bit);
    },
    setThreshold(ctx: number, t: number): void { write(context(ctx) + R.THRESHOLD, 4, t); },
    threshold(ctx: number): number { return read(context(ctx) + R.THRESHOLD, 4); },
    claim(ctx: number): number { return read(context(ctx) + R.CLAIM, 4); },
    complete(ctx: number, n: number): void { write(context(ctx) + R.CLAIM, 4, n); },
    pending(n: number): boolean { return ((read(R.PENDING + 4 * (n >> 5), 4) >>> (n & 31)) & 1) === 1; },
    /** MEIP/SEIP of both harts, as [M0, S0, M1, S1]. */
    lines(): boolean[] {
      return [0, 1].flatMap((h) => [mip.has(h, MipBit.MEIP), mip.has(h, MipBit.SEIP)]);
    },
  };
}

test("region: base 0xc000000, size 0x600000", () => {
  const p = plic();
  assert.equal(p.dev.region.base, 0xc000000);
  assert.equal(p.dev.region.size, 0x600000);
});

test("sources are 1 to 95; there is no source 0", () => {
  const p = plic();
  assert.doesNotThrow(() => p.dev.irq(1));
  assert.doesNotThrow(() => p.dev.irq(95));
  assert.throws(() => p.dev.irq(0), RangeError);
  assert.throws(() => p.dev.irq(96), RangeError);
});

test("with nothing pending, claim returns 0 and every line is low", () => {
  const p = plic();
  for (const ctx of [M0, S0, M1, S1]) assert.equal(p.claim(ctx), 0);
  assert.deepEqual(p.lines(), [false, false, false, false]);
});

test("Linux's flow: enable, priority 1, interrupt, claim, device quiet, complete", () => {
  const p = plic();
  const uart = p.dev.irq(10);
  // OpenSBI: M contexts masked by threshold, S contexts open
  p.setThreshold(M0, 7);
  p.setThreshold(S0, 0);
  // Linux on hart 0: unmask source 10 in its S context
  p.enable(S0, 10);
  p.setPriority(10, 1);
  assert.deepEqual(p.lines(), [false, false, false, false]);
  uart.set(true);
  assert.equal(p.pending(10), true);
  assert.deepEqual(p.lines(), [false, true, false, false]);
  assert.equal(p.claim(S0), 10);
  assert.equal(p.pending(10), false);
  assert.deepEqual(p.lines(), [false, false, false, false]);
  uart.set(false); // the handler read the UART
  p.complete(S0, 10);
  assert.deepEqual(p.lines(), [false, false, false, false]);
  assert.equal(p.claim(S0), 0);
});

test("a pending bit shows whatever the enables, priorities and thresholds", () => {
  const p = plic();
  p.dev.irq(33).set(true);
  assert.equal(p.read(R.PENDING + 4, 4), 1 << 1);
  assert.equal(p.pending(33), true);
  p.write(R.PENDING + 4, 4, 0); // read-only
  assert.equal(p.pending(33), true);
  p.dev.irq(33).set(false); // level-triggered: the line going low withdraws it
  assert.equal(p.pending(33), false);
});

test("priority 0 never interrupts; priority must exceed the threshold", () => {
  const p = plic();
  const line = p.dev.irq(5);
  p.enable(M0, 5);
  line.set(true);
  assert.equal(p.lines()[M0], false);
  assert.equal(p.claim(M0), 0);
  p.setPriority(5, 3);
  assert.equal(p.lines()[M0], true);
  p.setThreshold(M0, 3);
  assert.equal(p.lines()[M0], false);
  assert.equal(p.claim(M0), 0);
  assert.equal(p.pending(5), true); // a refused claim leaves it pending
  p.setThreshold(M0, 2);
  assert.equal(p.lines()[M0], true);
  assert.equal(p.claim(M0), 5);
});

test("priority and threshold keep 3 bits (WARL)", () => {
  const p = plic();
  p.setPriority(7, 0xff);
  assert.equal(p.priority(7), 7);
  p.setPriority(7, 9);
  assert.equal(p.priority(7), 1);
  p.setThreshold(S1, 0xffffffff);
  assert.equal(p.threshold(S1), 7);
});

test("claim takes the highest priority first, the lowest id among equals", () => {
  const p = plic();
  for (const [n, prio] of [[5, 2], [3, 2], [40, 5], [90, 1], [64, 2]]) {
    p.setPriority(n, prio);
    p.enable(S0, n);
    p.dev.irq(n).set(true);
  }
  const order: number[] = [];
  for (let n = p.claim(S0); n !== 0; n = p.claim(S0)) order.push(n);
  assert.deepEqual(order, [40, 3, 5, 64, 90]);
  assert.equal(p.lines()[S0], false);
});

test("a claimed source is not delivered again until completed; a line still high asks again", () => {
  const p = plic();
  const line = p.dev.irq(10);
  p.setPriority(10, 1);
  p.enable(S0, 10);
  line.set(true);
  assert.equal(p.claim(S0), 10);
  assert.equal(p.lines()[S0], false);
  assert.equal(p.claim(S0), 0);
  p.complete(S0, 10);
  assert.equal(p.pending(10), true);
  assert.equal(p.lines()[S0], true);
  assert.equal(p.claim(S0), 10);
  line.set(false);
  p.complete(S0, 10);
  assert.equal(p.pending(10), false);
  assert.equal(p.lines()[S0], false);
});

test("a line that pulses while its source is in service is delivered after completion", () => {
  const p = plic();
  const line = p.dev.irq(2);
  p.setPriority(2, 1);
  p.enable(M1, 2);
  line.set(true);
  assert.equal(p.claim(M1), 2);
  line.set(false);
  line.set(true);
  line.set(false); // a pulse that ended: still withdrawn, as QEMU
  assert.equal(p.lines()[M1], false);
  line.set(true);
  assert.equal(p.lines()[M1], false); // in service
  p.complete(M1, 2);
  assert.equal(p.lines()[M1], true);
});

test("a higher-priority source interrupts while another is in service", () => {
  const p = plic();
  p.setPriority(1, 1);
  p.setPriority(2, 6);
  p.enable(S0, 1);
  p.enable(S0, 2);
  p.dev.irq(1).set(true);
  assert.equal(p.claim(S0), 1);
  assert.equal(p.lines()[S0], false);
  p.dev.irq(2).set(true);
  assert.equal(p.lines()[S0], true);
  assert.equal(p.claim(S0), 2);
});

test("enables are per context; M contexts drive MEIP and S contexts SEIP of their hart", () => {
  const p = plic();
  for (const n of [8, 40]) p.setPriority(n, 1);
  p.enable(S0, 8);
  p.enable(M1, 40);
  p.dev.irq(8).set(true);
  assert.deepEqual(p.lines(), [false, true, false, false]);
  p.dev.irq(40).set(true);
  assert.deepEqual(p.lines(), [false, true, true, false]);
  assert.equal(p.claim(M0), 0); // not enabled there
  assert.equal(p.claim(S1), 0);
  assert.equal(p.claim(M1), 40);
  assert.deepEqual(p.lines(), [false, true, false, false]);
  assert.equal(p.claim(S0), 8);
  assert.deepEqual(p.lines(), [false, false, false, false]);
  // enable words: source 40 is word 1, bit 8, of context 2
  assert.equal(p.read(R.ENABLE + 2 * R.ENABLE_STRIDE + 4, 4), 1 << 8);
  assert.equal(p.read(R.ENABLE + 2 * R.ENABLE_STRIDE, 4), 0);
});

test("enabling a source that is already pending raises the line at once", () => {
  const p = plic();
  p.setPriority(12, 4);
  p.dev.irq(12).set(true);
  assert.equal(p.lines()[S1], false);
  p.enable(S1, 12);
  assert.deepEqual(p.lines(), [false, false, false, true]);
  p.enable(S1, 12, false);
  assert.deepEqual(p.lines(), [false, false, false, false]);
});

test("a source enabled in two contexts is claimed by one; the other's line drops too", () => {
  const p = plic();
  p.setPriority(20, 1);
  p.enable(S0, 20);
  p.enable(S1, 20);
  p.dev.irq(20).set(true);
  assert.deepEqual(p.lines(), [false, true, false, true]);
  assert.equal(p.claim(S1), 20);
  assert.deepEqual(p.lines(), [false, false, false, false]);
  assert.equal(p.claim(S0), 0);
});

test("as QEMU, completion works from any context, enabled there or not", () => {
  const p = plic();
  p.setPriority(9, 1);
  p.enable(S0, 9);
  p.dev.irq(9).set(true);
  assert.equal(p.claim(S0), 9);
  p.complete(M1, 9); // source 9 is not enabled in M1
  assert.equal(p.lines()[S0], true);
  assert.equal(p.claim(S0), 9);
  p.complete(S0, 96); // no such source: ignored
  p.complete(S0, 0);
  assert.equal(p.lines()[S0], false);
});

test("only 4-byte accesses: others read 0 and write nothing", () => {
  const p = plic();
  p.setPriority(3, 5);
  assert.equal(p.read(R.PRIORITY + 12, 1), 0);
  p.write(R.PRIORITY + 12, 2, 1);
  assert.equal(p.priority(3), 5);
  p.enable(S0, 3);
  p.dev.irq(3).set(true);
  assert.equal(p.read(R.CONTEXT + R.CONTEXT_STRIDE * S0 + R.CLAIM, 2), 0); // no claim either
  assert.equal(p.pending(3), true);
});

test("unmapped registers read 0 and ignore writes", () => {
  const p = plic();
  assert.equal(p.read(R.PRIORITY + 4 * 96, 4), 0); // past the last source
  assert.equal(p.read(R.PENDING + 12, 4), 0);
  assert.equal(p.read(R.ENABLE + 12, 4), 0); // past the 3 enable words
  assert.equal(p.read(R.ENABLE + 4 * R.ENABLE_STRIDE, 4), 0); // no context 4
  assert.equal(p.read(R.CONTEXT + 8, 4), 0);
  p.write(R.CONTEXT + 4 * R.CONTEXT_STRIDE, 4, 7); // no context 4
  assert.equal(p.read(R.CONTEXT + 4 * R.CONTEXT_STRIDE, 4), 0);
});

test("reset clears priorities, enables, thresholds and claims; a line still high stays pending", () => {
  const p = plic();
  p.setPriority(6, 3);
  p.setThreshold(M0, 1);
  p.enable(M0, 6);
  p.dev.irq(6).set(true);
  p.dev.irq(7).set(true);
  assert.equal(p.claim(M0), 6);
  p.dev.irq(7).set(false);
  p.dev.reset();
  assert.equal(p.priority(6), 0);
  assert.equal(p.threshold(M0), 0);
  assert.equal(p.read(R.ENABLE, 4), 0);
  assert.deepEqual(p.lines(), [false, false, false, false]);
  assert.equal(p.pending(6), true);
  assert.equal(p.pending(7), false);
  p.setPriority(6, 1);
  p.enable(M0, 6);
  assert.equal(p.claim(M0), 6); // no longer in service from before the reset
});

test("fdt: plic@c000000 as QEMU 7.2 writes it (checked with dtc)", () => {
  const fdt = new Fdt();
  const cpus = fdt.root.child("cpus");
  const intcs = [0, 1].map((h) => cpus.child(`cpu@${h}`).child("interrupt-controller"));
  const soc = fdt.root.child("soc");
  const p = plic();
  const node = p.dev.fdtNode(soc, intcs);
  assert.equal(node, soc.find("plic@c000000"));
  const [p0, p1] = intcs.map((n) => n.phandle());
  const text = dts(fdt.toBlob());
  const body = /plic@c000000 \{([^}]*)\}/.exec(text)?.[1];
  assert.ok(body, text);
  const props = body.split(";").map((s) => s.trim()).filter((s) => s !== "");
  assert.deepEqual(props, [
    `phandle = <${cell(node.phandle())}>`,
    "riscv,ndev = <0x60>",
    "reg = <0x00 0xc000000 0x00 0x600000>",
    `interrupts-extended = <${cell(p0)} 0x0b ${cell(p0)} 0x09 ${cell(p1)} 0x0b ${cell(p1)} 0x09>`,
    "interrupt-controller",
    'compatible = "sifive,plic-1.0.0\\0riscv,plic0"',
    "#address-cells = <0x00>",
    "#interrupt-cells = <0x01>",
  ]);
  assert.throws(() => p.dev.fdtNode(soc, intcs.slice(1)), /1 cpu interrupt controllers given for 2 harts/);
});
