/**
 * The IMSIC, driven as OpenSBI's and Linux's IMSIC drivers drive it: the
 * indirect registers through the file's CSR interface (miselect/mireg
 * values), MSIs as 32-bit writes to a hart's page, claims through topei.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { dts } from "../../util/dtc.js";
import { Imsic, IMSIC_PAGE, ImsicReg, FileWord } from "../../../src/hw/intc/imsic.js";
import { MipBit, type HartIrqs } from "../../../src/hw/core/irq.js";
import { Fdt } from "../../../src/hw/core/fdt.js";
import { Iselect } from "../../../src/target/riscv/aia.js";

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

function imsic(machineLevel = false, harts = 2) {
  const mip = new Mip();
  const base = machineLevel ? 0x24000000 : 0x28000000;
  const dev = new Imsic({ base, harts, machineLevel, irqs: mip });
  const out = new Int32Array(2);
  const bit = machineLevel ? MipBit.MEIP : MipBit.SEIP;
  return {
    dev, mip, base,
    line(h: number): boolean { return mip.has(h, bit); },
    msi(h: number, id: number, offset: number = ImsicReg.SETEIPNUM_LE): void { dev.region.ops.write(h * IMSIC_PAGE + offset, 4, id); },
    ireg(h: number, sel: number): [number, number] | undefined {
      return dev.files[h].readIndirect(sel, out) ? [out[0] >>> 0, out[1] >>> 0] : undefined;
    },
    setIreg(h: number, sel: number, lo: number, hi = 0): boolean { return dev.files[h].writeIndirect(sel, lo, hi); },
    /** What Linux's imsic_local_delivery and eie updates do: delivery on, threshold 0, enable ids. */
    init(h: number, ...ids: number[]): void {
      this.setIreg(h, Iselect.EIDELIVERY, 1);
      this.setIreg(h, Iselect.EITHRESHOLD, 0);
      for (const id of ids) {
        const sel = Iselect.EIE0 + 2 * (id >> 6);
        const [lo, hi] = this.ireg(h, sel) ?? [0, 0];
        const b = id & 63;
        this.setIreg(h, sel, b < 32 ? lo | (1 << b) : lo, b >= 32 ? hi | (1 << (b - 32)) : hi);
      }
    },
  };
}

test("one 4 KiB page per hart; the S file drives SEIP, the M file MEIP", () => {
  const s = imsic(false);
  assert.equal(s.dev.region.size, 2 * IMSIC_PAGE);
  s.init(1, 5);
  s.msi(1, 5);
  assert.ok(s.line(1));
  assert.ok(!s.line(0));
  assert.ok(!s.mip.has(1, MipBit.MEIP));
  const m = imsic(true);
  m.init(0, 1);
  m.msi(0, 1);
  assert.ok(m.mip.has(0, MipBit.MEIP));
  assert.ok(!m.mip.has(0, MipBit.SEIP));
});

test("an MSI sets the id pending; the line rises only with delivery on and the id enabled", () => {
  const t = imsic();
  t.msi(0, 40);
  assert.ok(t.dev.files[0].pending(40));
  assert.ok(!t.line(0), "eidelivery is 0 at reset");
  t.setIreg(0, Iselect.EIDELIVERY, 1);
  assert.ok(!t.line(0), "id 40 is not enabled");
  t.init(0, 40);
  assert.ok(t.line(0));
  assert.equal(t.dev.files[0].topei(), (40 << 16) | 40);
  t.setIreg(0, Iselect.EIDELIVERY, 0);
  assert.ok(!t.line(0));
});

test("topei is the lowest pending-and-enabled id; a write claims it; the next id follows", () => {
  const t = imsic();
  t.init(0, 3, 200, 64);
  for (const id of [200, 64, 3]) t.msi(0, id);
  const f = t.dev.files[0];
  const order: number[] = [];
  while (f.topei() !== 0) {
    order.push(f.topei() >>> 16);
    f.claimTopei();
  }
  assert.deepEqual(order, [3, 64, 200]);
  assert.ok(!t.line(0));
});

test("eithreshold: ids at or above a nonzero threshold do not interrupt", () => {
  const t = imsic();
  t.init(0, 10, 20);
  t.msi(0, 20);
  t.setIreg(0, Iselect.EITHRESHOLD, 20);
  assert.ok(!t.line(0));
  assert.equal(t.dev.files[0].topei(), 0);
  t.setIreg(0, Iselect.EITHRESHOLD, 21);
  assert.equal(t.dev.files[0].topei() >>> 16, 20);
  t.setIreg(0, Iselect.EITHRESHOLD, 0);
  assert.ok(t.line(0));
  assert.deepEqual(t.ireg(0, Iselect.EITHRESHOLD), [0, 0]);
  t.setIreg(0, Iselect.EITHRESHOLD, 0xffff);
  assert.deepEqual(t.ireg(0, Iselect.EITHRESHOLD), [0x7ff, 0], "eithreshold keeps 11 bits, as QEMU's");
});

test("eip and eie: 64-bit registers, even numbers only on RV64, ids 1-255; id 0 is read-only zero", () => {
  const t = imsic();
  assert.ok(t.setIreg(0, Iselect.EIE0, -1, -1));
  assert.deepEqual(t.ireg(0, Iselect.EIE0), [0xfffffffe, 0xffffffff]);
  assert.ok(t.setIreg(0, Iselect.EIP0 + 2, 0x1, 0x80000000));
  const f = t.dev.files[0];
  assert.ok(f.pending(64) && f.pending(127) && !f.pending(65));
  assert.equal(t.ireg(0, Iselect.EIP0 + 1), undefined, "eip1 does not exist on RV64");
  assert.equal(t.ireg(0, Iselect.EIE0 + 8), undefined, "eie8 covers ids 256-319, which do not exist");
  assert.equal(t.setIreg(0, 0x71, 1), false, "0x71 names no register");
  assert.deepEqual(t.ireg(0, Iselect.EIP0 + 6), [0, 0]);
  t.msi(0, 255);
  assert.deepEqual(t.ireg(0, Iselect.EIP0 + 6), [0, 0x80000000]);
});

test("MSIs of id 0 or above 255, other offsets and other sizes are ignored; seteipnum_be is big-endian", () => {
  const t = imsic();
  t.msi(0, 0);
  t.msi(0, 256);
  t.msi(0, 7, 8);
  t.dev.region.ops.write(0, 2, 7);
  assert.deepEqual(Array.from(t.dev.state.subarray(FileWord.EIP, FileWord.EIE)), new Array(8).fill(0));
  t.msi(1, 0x09000000, ImsicReg.SETEIPNUM_BE);
  assert.ok(t.dev.files[1].pending(9));
  assert.equal(t.dev.region.ops.read(0, 4), 0);
});

test("fileAt finds the file an MSI address names (its page's seteipnum_le)", () => {
  const t = imsic();
  assert.equal(t.dev.fileAt(t.base), t.dev.files[0]);
  assert.equal(t.dev.fileAt(t.base + IMSIC_PAGE), t.dev.files[1]);
  assert.equal(t.dev.fileAt(t.base + 4), undefined);
  assert.equal(t.dev.fileAt(t.base + 2 * IMSIC_PAGE), undefined);
  assert.equal(t.dev.fileAt(t.base - IMSIC_PAGE), undefined);
  t.init(1, 33);
  t.dev.fileAt(t.base + IMSIC_PAGE)?.setPending(33);
  assert.ok(t.line(1));
});

test("state in a SharedArrayBuffer: a bit set with Atomics (as a worker would) is seen at the next sync", () => {
  const mip = new Mip();
  const state = new Uint32Array(new SharedArrayBuffer(2 * FileWord.SIZE * 4));
  const dev = new Imsic({ base: 0x28000000, harts: 2, machineLevel: false, irqs: mip, state });
  dev.files[1].writeIndirect(Iselect.EIDELIVERY, 1, 0);
  dev.files[1].writeIndirect(Iselect.EIE0, 1 << 12, 0);
  Atomics.or(state, FileWord.SIZE + FileWord.EIP, 1 << 12);
  assert.ok(!mip.has(1, MipBit.SEIP));
  dev.sync();
  assert.ok(mip.has(1, MipBit.SEIP));
});

test("reset clears every file and lowers the lines", () => {
  const t = imsic();
  t.init(0, 2);
  t.msi(0, 2);
  t.dev.reset();
  assert.ok(!t.line(0));
  assert.deepEqual(t.ireg(0, Iselect.EIDELIVERY), [0, 0]);
});

test("the device-tree node is QEMU 7.2's imsics node", () => {
  const fdt = new Fdt();
  const cpus = fdt.root.child("cpus");
  const intcs = [0, 1].map((h) => cpus.child(`cpu@${h}`).child("interrupt-controller"));
  for (const i of intcs) i.phandle();
  const soc = fdt.root.child("soc");
  imsic(false).dev.fdtNode(soc, intcs);
  const text = dts(fdt.toBlob());
  assert.match(text, new RegExp([
    "imsics@28000000 \\{",
    "phandle = <0x03>;",
    "riscv,ipi-id = <0x01>;",
    "riscv,num-ids = <0xff>;",
    "reg = <0x00 0x28000000 0x00 0x2000>;",
    "interrupts-extended = <0x01 0x09 0x02 0x09>;",
    "msi-controller;",
    "interrupt-controller;",
    "#interrupt-cells = <0x00>;",
    'compatible = "riscv,imsics";',
  ].join("\\s*")));
});
