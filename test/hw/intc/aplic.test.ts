/**
 * The APLIC, driven as OpenSBI 1.1 (M level: delegate every source to the
 * S domain, program the MSI addresses) and Linux's APLIC drivers (S level:
 * source modes, targets, enables, IDCs or MSIs) drive it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { dts } from "../../util/dtc.js";
import { Aplic, AplicReg as R, APLIC_SOURCES, SourceMode } from "../../../src/hw/intc/aplic.js";
import { Imsic, IMSIC_PAGE } from "../../../src/hw/intc/imsic.js";
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

const IMSIC_M = 0x24000000;
const IMSIC_S = 0x28000000;

function aplic(msiMode: boolean, harts = 2) {
  const mip = new Mip();
  const msis: [number, number][] = [];
  const imsicS = new Imsic({ base: IMSIC_S, harts, machineLevel: false, irqs: mip });
  const dev = new Aplic({
    mBase: 0xc000000, sBase: 0xd000000, harts, msiMode, irqs: mip,
    msi: (addr, data) => { msis.push([addr, data]); imsicS.fileAt(addr)?.setPending(data); },
  });
  const m = dev.root.region.ops;
  const s = dev.child.region.ops;
  const idc = (h: number, reg: number): number => R.IDC + R.IDC_SIZE * h + reg;
  return {
    dev, mip, msis, imsicS, m, s, idc,
    /** OpenSBI 1.1's aplic_init for the root domain (every source to child 0) and the MSI address setup. */
    opensbi(): void {
      m.write(R.DOMAINCFG, 4, 0);
      for (let i = 1; i < APLIC_SOURCES; i++) m.write(R.SOURCECFG + 4 * (i - 1), 4, (1 << 10) | 0);
      if (msiMode) {
        // M: base 0x24000000, LHXW 1 (two harts), LHXS 0; S: base 0x28000000, LHXS 0.
        m.write(R.MMSIADDRCFG, 4, IMSIC_M >>> 12);
        m.write(R.MMSIADDRCFGH, 4, 1 << 12);
        m.write(R.SMSIADDRCFG, 4, IMSIC_S >>> 12);
        m.write(R.SMSIADDRCFGH, 4, 0);
      }
    },
    /** Linux: source i level-high (or `mode`), to hart h (priority or EIID `v`), enabled; the domain on. */
    linux(i: number, h: number, v: number, mode: number = SourceMode.LEVEL1): void {
      s.write(R.SOURCECFG + 4 * (i - 1), 4, mode);
      s.write(R.TARGET + 4 * (i - 1), 4, (h << 18) | v);
      s.write(R.SETIENUM, 4, i);
      s.write(R.DOMAINCFG, 4, (1 << 8) | (msiMode ? 1 << 2 : 0));
      if (!msiMode) {
        s.write(idc(h, R.IDELIVERY), 4, 1);
        s.write(idc(h, R.ITHRESHOLD), 4, 0);
      }
    },
    seip(h: number): boolean { return mip.has(h, MipBit.SEIP); },
    pendingBit(ops: typeof m, i: number): boolean { return ((ops.read(R.SETIP + 4 * (i >> 5), 4) >>> (i & 31)) & 1) === 1; },
    /** What the S-level IMSIC file of hart h holds for `id`, claiming it. */
    take(h: number): number {
      const f = imsicS.files[h];
      const top = f.topei() >>> 16;
      if (top !== 0) f.claimTopei();
      return top;
    },
  };
}

test("domaincfg: 0x80 in the top byte, IE writable, DM fixed by the board, BE read-only 0", () => {
  const d = aplic(false);
  assert.equal(d.m.read(R.DOMAINCFG, 4) >>> 0, 0x80000000);
  d.m.write(R.DOMAINCFG, 4, 0x105);
  assert.equal(d.m.read(R.DOMAINCFG, 4) >>> 0, 0x80000100);
  const msi = aplic(true);
  msi.s.write(R.DOMAINCFG, 4, 0x100);
  assert.equal(msi.s.read(R.DOMAINCFG, 4) >>> 0, 0x80000104);
});

test("delegation: a source the root hands to the child is configurable there only", () => {
  const d = aplic(false);
  d.s.write(R.SOURCECFG, 4, SourceMode.LEVEL1);
  assert.equal(d.s.read(R.SOURCECFG, 4), 0, "source 1 is not delegated yet");
  d.m.write(R.SOURCECFG, 4, 1 << 10);
  assert.equal(d.m.read(R.SOURCECFG, 4), 1 << 10);
  d.s.write(R.SOURCECFG, 4, SourceMode.LEVEL1);
  assert.equal(d.s.read(R.SOURCECFG, 4), SourceMode.LEVEL1);
  d.s.write(R.SOURCECFG, 4, 1 << 10);
  assert.equal(d.s.read(R.SOURCECFG, 4), 0, "a leaf domain cannot delegate: the register becomes zero");
  d.s.write(R.SOURCECFG, 4, SourceMode.EDGE1);
  d.m.write(R.SOURCECFG, 4, SourceMode.EDGE1);
  assert.equal(d.s.read(R.SOURCECFG, 4), 0, "taken back by the root");
  d.m.write(R.SOURCECFG, 4, 1 << 10);
  assert.equal(d.s.read(R.SOURCECFG, 4), 0, "a source delegated again reads zero until written");
  d.s.write(R.SOURCECFG, 4, 2);
  assert.equal(d.s.read(R.SOURCECFG, 4), 0, "reserved mode 2: inactive");
});

test("direct mode, level source: SEIP while the line is high; claimi does not clear it; low clears it", () => {
  const d = aplic(false);
  d.opensbi();
  d.linux(10, 1, 3);
  const line = d.dev.irq(10);
  line.set(true);
  assert.ok(d.seip(1) && !d.seip(0));
  assert.equal(d.s.read(d.idc(1, R.TOPI), 4), (10 << 16) | 3);
  assert.equal(d.s.read(d.idc(1, R.CLAIMI), 4), (10 << 16) | 3);
  assert.ok(d.seip(1), "still high: still pending");
  d.s.write(R.CLRIPNUM, 4, 10);
  assert.ok(d.pendingBit(d.s, 10), "in_clrip/clripnum cannot clear a level source in direct mode");
  line.set(false);
  assert.ok(!d.seip(1));
  assert.equal(d.s.read(d.idc(1, R.CLAIMI), 4), 0);
  d.s.write(R.SETIPNUM, 4, 10);
  assert.ok(!d.pendingBit(d.s, 10), "setipnum cannot set a level source in direct mode");
  assert.ok(!d.mip.has(1, MipBit.MEIP), "the S domain drives SEIP only");
});

test("direct mode, edge sources: a rising edge pends; claimi clears; priority and threshold choose", () => {
  const d = aplic(false);
  d.opensbi();
  d.linux(5, 0, 7, SourceMode.EDGE1);
  d.linux(6, 0, 2, SourceMode.EDGE1);
  d.linux(7, 0, 2, SourceMode.EDGE0);
  d.dev.irq(5).set(true);
  d.dev.irq(6).set(true);
  d.dev.irq(6).set(false);
  assert.equal(d.s.read(d.idc(0, R.TOPI), 4), (6 << 16) | 2, "lowest priority number first");
  d.dev.irq(7).set(true);
  d.dev.irq(7).set(false);
  d.s.write(d.idc(0, R.ITHRESHOLD), 4, 2);
  assert.equal(d.s.read(d.idc(0, R.TOPI), 4), 0, "priorities 2 and above are masked by threshold 2");
  assert.ok(!d.seip(0));
  d.s.write(d.idc(0, R.ITHRESHOLD), 4, 0);
  assert.equal(d.s.read(d.idc(0, R.CLAIMI), 4), (6 << 16) | 2);
  assert.equal(d.s.read(d.idc(0, R.CLAIMI), 4), (7 << 16) | 2, "falling edge on an Edge0 source; ties go to the lower number");
  assert.equal(d.s.read(d.idc(0, R.CLAIMI), 4), (5 << 16) | 7);
  assert.equal(d.s.read(d.idc(0, R.CLAIMI), 4), 0);
  assert.ok(!d.seip(0));
  d.s.write(R.SETIPNUM, 4, 5);
  assert.ok(d.seip(0), "setipnum pends an edge source");
  d.s.write(R.CLRIE + 0, 4, 1 << 5);
  assert.ok(!d.seip(0), "clrie disables it");
  assert.ok(d.pendingBit(d.s, 5));
});

test("direct mode: IDC gating by IE and idelivery; iforce makes a spurious interrupt that claimi ends", () => {
  const d = aplic(false);
  d.opensbi();
  d.linux(3, 0, 1, SourceMode.EDGE1);
  d.s.write(d.idc(0, R.IFORCE), 4, 1);
  assert.ok(d.seip(0));
  assert.equal(d.s.read(d.idc(0, R.CLAIMI), 4), 0);
  assert.equal(d.s.read(d.idc(0, R.IFORCE), 4), 0);
  assert.ok(!d.seip(0));
  d.dev.irq(3).set(true);
  d.s.write(d.idc(0, R.IDELIVERY), 4, 0);
  assert.ok(!d.seip(0));
  d.s.write(d.idc(0, R.IDELIVERY), 4, 1);
  d.s.write(R.DOMAINCFG, 4, 0);
  assert.ok(!d.seip(0));
  d.s.write(R.DOMAINCFG, 4, 0x100);
  assert.ok(d.seip(0));
  assert.equal(d.s.read(d.idc(2, R.TOPI), 4), 0, "no IDC for a hart the board does not have");
});

test("MSI mode: OpenSBI's address configuration sends each source's EIID to its hart's S file", () => {
  const d = aplic(true);
  d.opensbi();
  assert.equal(d.m.read(R.SMSIADDRCFG, 4), IMSIC_S >>> 12);
  assert.equal(d.s.read(R.SMSIADDRCFG, 4), 0, "only the root domain has the MSI address registers");
  for (const h of [0, 1]) {
    d.imsicS.files[h].writeIndirect(Iselect.EIDELIVERY, 1, 0);
    d.imsicS.files[h].writeIndirect(Iselect.EIE0, -2, -1);
  }
  d.linux(1, 1, 17, SourceMode.EDGE1);
  d.dev.irq(1).set(true);
  assert.deepEqual(d.msis, [[IMSIC_S + IMSIC_PAGE, 17]]);
  assert.ok(d.seip(1));
  assert.ok(!d.pendingBit(d.s, 1), "forwarding clears the pending bit");
  assert.equal(d.take(1), 17);
  // The M domain's own sources go to the M files' addresses.
  d.m.write(R.SOURCECFG + 4 * 39, 4, SourceMode.EDGE1);
  d.m.write(R.TARGET + 4 * 39, 4, (1 << 18) | 9);
  d.m.write(R.SETIENUM, 4, 40);
  d.m.write(R.DOMAINCFG, 4, 0x100);
  d.m.write(R.SETIPNUM_LE, 4, 40);
  assert.deepEqual(d.msis[1], [IMSIC_M + IMSIC_PAGE, 9]);
});

test("MSI mode, level source: one MSI per assertion; setipnum re-sends only while the line is still high", () => {
  const d = aplic(true);
  d.opensbi();
  d.imsicS.files[0].writeIndirect(Iselect.EIDELIVERY, 1, 0);
  d.imsicS.files[0].writeIndirect(Iselect.EIE0, -2, -1);
  d.linux(10, 0, 33);
  const uart = d.dev.irq(10);
  uart.set(true);
  assert.equal(d.msis.length, 1);
  assert.equal(d.take(0), 33);
  // The device keeps its line high while the driver works: no storm.
  uart.set(true);
  assert.equal(d.msis.length, 1);
  assert.equal(d.take(0), 0);
  // Linux's APLIC-MSI driver writes setipnum_le at end of interrupt: still high, so a new MSI.
  d.s.write(R.SETIPNUM_LE, 4, 10);
  assert.equal(d.msis.length, 2);
  assert.equal(d.take(0), 33);
  uart.set(false);
  d.s.write(R.SETIPNUM_LE, 4, 10);
  assert.equal(d.msis.length, 2, "the line is low: nothing to re-send");
  assert.ok(!d.pendingBit(d.s, 10));
  assert.equal(d.s.read(R.IN_CLRIP, 4), 0);
  uart.set(true);
  assert.equal(d.s.read(R.IN_CLRIP, 4) >>> 0, 1 << 10, "in_clrip reads the rectified inputs");
  assert.equal(d.msis.length, 3);
});

test("MSI mode: pending waits for the enable and IE; clripnum clears it; genmsi sends at once", () => {
  const d = aplic(true);
  d.opensbi();
  d.s.write(R.SOURCECFG + 4 * 3, 4, SourceMode.DETACHED);
  d.s.write(R.TARGET + 4 * 3, 4, 21);
  d.s.write(R.SETIPNUM, 4, 4);
  assert.ok(d.pendingBit(d.s, 4));
  d.s.write(R.SETIENUM, 4, 4);
  assert.equal(d.msis.length, 0, "IE is off");
  d.s.write(R.CLRIPNUM, 4, 4);
  d.s.write(R.DOMAINCFG, 4, 0x104);
  assert.equal(d.msis.length, 0, "cleared before IE came on");
  d.dev.irq(4).set(true);
  assert.equal(d.msis.length, 0, "a detached source ignores its wire");
  d.s.write(R.SETIP, 4, 1 << 4);
  assert.deepEqual(d.msis, [[IMSIC_S, 21]]);
  d.s.write(R.DOMAINCFG, 4, 0);
  d.s.write(R.GENMSI, 4, (1 << 18) | 5);
  assert.deepEqual(d.msis[1], [IMSIC_S + IMSIC_PAGE, 5], "genmsi ignores IE");
  assert.equal(d.s.read(R.GENMSI, 4), (1 << 18) | 5, "Busy reads 0: the MSI has left");
});

test("MSI address registers: WARL masks, and L locks all four until reset", () => {
  const d = aplic(true);
  d.m.write(R.MMSIADDRCFGH, 4, -1);
  assert.equal(d.m.read(R.MMSIADDRCFGH, 4) >>> 0, 0x9f77ffff);
  d.m.write(R.SMSIADDRCFG, 4, 0x1234);
  d.m.write(R.MMSIADDRCFG, 4, 0x5678);
  assert.equal(d.m.read(R.SMSIADDRCFG, 4), 0, "L is set: writes are ignored");
  assert.equal(d.m.read(R.MMSIADDRCFG, 4), 0, "L is set: writes are ignored");
  d.dev.reset();
  d.m.write(R.SMSIADDRCFGH, 4, -1);
  assert.equal(d.m.read(R.SMSIADDRCFGH, 4) >>> 0, 0x00700fff);
  // Hart index 3 with LHXW 1, HHXW 1, HHXS 4: group 1, hart 1 of the group.
  d.m.write(R.MMSIADDRCFG, 4, 0x80000);
  d.m.write(R.MMSIADDRCFGH, 4, (4 << 24) | (1 << 16) | (1 << 12));
  assert.equal(d.dev.root.msiAddress(3, 0), 0x80000000 + (1 << 28) + 0x1000);
  assert.equal(aplic(false).m.read(R.MMSIADDRCFGH, 4), 0, "no MSI registers in direct mode");
});

test("inactive sources: pending, enable and target read zero; no source 0 or 96", () => {
  const d = aplic(false);
  d.opensbi();
  d.s.write(R.SETIE, 4, -1);
  assert.equal(d.s.read(R.SETIE, 4), 0);
  d.s.write(R.TARGET, 4, 5);
  assert.equal(d.s.read(R.TARGET, 4), 0);
  d.s.write(R.SOURCECFG, 4, SourceMode.EDGE1);
  d.s.write(R.TARGET, 4, 0);
  assert.equal(d.s.read(R.TARGET, 4), 1, "IPRIO 0 becomes 1");
  assert.throws(() => d.dev.irq(0), /sources are 1 to 95/);
  assert.throws(() => d.dev.irq(APLIC_SOURCES), /sources are 1 to 95/);
  assert.equal(d.s.read(R.DOMAINCFG, 2), 0, "only 32-bit accesses");
});

test("the device-tree nodes are QEMU 7.2's, with IMSICs and without", () => {
  for (const msi of [true, false]) {
    const fdt = new Fdt();
    const cpus = fdt.root.child("cpus");
    const intcs = [0, 1].map((h) => cpus.child(`cpu@${h}`).child("interrupt-controller"));
    for (const i of intcs) i.phandle();
    const soc = fdt.root.child("soc");
    const imsics = msi ? { m: soc.child("imsics@24000000"), s: soc.child("imsics@28000000") } : undefined;
    imsics?.m.phandle();
    imsics?.s.phandle();
    const child = aplic(msi).dev.fdtNodes(soc, intcs, imsics);
    assert.equal(child.name, "aplic@d000000");
    const text = dts(fdt.toBlob());
    const root = msi ? 5 : 3;
    const parent = (p: number, bit: number): string =>
      msi ? `msi-parent = <0x0${p}>;` : `interrupts-extended = <0x01 ${bit === 11 ? "0x0b" : "0x09"} 0x02 ${bit === 11 ? "0x0b" : "0x09"}>;`;
    assert.match(text, new RegExp([
      "aplic@c000000 \\{", `phandle = <0x0${root}>;`, `riscv,delegate = <0x0${root + 1} 0x01 0x60>;`,
      `riscv,children = <0x0${root + 1}>;`, "riscv,num-sources = <0x60>;", "reg = <0x00 0xc000000 0x00 0x8000>;",
      parent(3, 11), "interrupt-controller;", "#interrupt-cells = <0x02>;", 'compatible = "riscv,aplic";',
    ].join("\\s*")));
    assert.match(text, new RegExp([
      "aplic@d000000 \\{", `phandle = <0x0${root + 1}>;`, "riscv,num-sources = <0x60>;",
      "reg = <0x00 0xd000000 0x00 0x8000>;", parent(4, 9), "interrupt-controller;",
      "#interrupt-cells = <0x02>;", 'compatible = "riscv,aplic";',
    ].join("\\s*")));
  }
});
