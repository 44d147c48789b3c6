/**
 * The virt board's PCIe host bridge, probed through ECAM the way Linux's
 * pci-host-generic and PCI core do it (32-bit vendor/device reads of every
 * devfn, header type, class), with a fake device to check the windows, BAR
 * decoding and the INTx swizzle; its device-tree node against QEMU 7.2's.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { IrqLevel } from "../../../src/hw/core/irq.js";
import { Fdt } from "../../../src/hw/core/fdt.js";
import type { AccessSize, MmioRegion } from "../../../src/hw/core/memory.js";
import { BarKind, PciCommand, PciConfigSpace, PciReg } from "../../../src/hw/pci/config-space.js";
import { ecamOffset, intxSwizzle, PcieHost } from "../../../src/hw/pci/pcie-host.js";

const ECAM = { base: 0x30000000, size: 0x10000000 };
const PIO = { base: 0x3000000, size: 0x10000 };
const MMIO = { base: 0x40000000, size: 0x40000000 };
const HIGH = { base: 0x400000000, size: 0x400000000 };

function host(): { pcie: PcieHost; irqs: IrqLevel[] } {
  const irqs = [0, 1, 2, 3].map(() => new IrqLevel());
  return { pcie: new PcieHost({ ecam: ECAM, pio: PIO, mmio: MMIO, highMmio: HIGH, irqs, irqBase: 32 }), irqs };
}

function cfgRead(pcie: PcieHost, bus: number, dev: number, fn: number, reg: number, size: AccessSize = 4): number {
  return pcie.ecam.ops.read(ecamOffset(bus, dev, fn, reg), size);
}

function cfgWrite(pcie: PcieHost, bus: number, dev: number, fn: number, reg: number, value: number, size: AccessSize = 4): void {
  pcie.ecam.ops.write(ecamOffset(bus, dev, fn, reg), size, value);
}

/** The functions Linux's pci_scan_child_bus would find on bus 0: "bb:dd.f vvvv:dddd class". */
function scanBus0(pcie: PcieHost): string[] {
  const found: string[] = [];
  for (let dev = 0; dev < 32; dev++) {
    for (let fn = 0; fn < 8; fn++) {
      const id = cfgRead(pcie, 0, dev, fn, PciReg.VENDOR_ID);
      if (id === 0xffffffff) {
        if (fn === 0) break;
        continue;
      }
      const cls = cfgRead(pcie, 0, dev, fn, PciReg.REVISION_ID) >>> 8;
      const hex = (v: number, n: number): string => v.toString(16).padStart(n, "0");
      found.push(`00:${hex(dev, 2)}.${fn} ${hex(id & 0xffff, 4)}:${hex(id >>> 16, 4)} ${hex(cls, 6)}`);
      if (fn === 0 && (cfgRead(pcie, 0, dev, 0, PciReg.HEADER_TYPE, 1) & 0x80) === 0) break;
    }
  }
  return found;
}

/** A device with one 4 KiB memory BAR and one 16-byte I/O BAR whose registers echo what was written. */
function echoDevice(pin: number): { fn: PciConfigSpace; log: string[] } {
  const log: string[] = [];
  const fn = new PciConfigSpace({ vendorId: 0x1b36, deviceId: 0x00ff, classCode: 0xff0000, interruptPin: pin });
  const ops = (name: string) => ({
    read: (offset: number, size: AccessSize) => {
      log.push(`${name} read ${offset.toString(16)}/${size}`);
      return 0x1000 + offset;
    },
    write: (offset: number, size: AccessSize, value: number) => {
      log.push(`${name} write ${offset.toString(16)}/${size}=${value.toString(16)}`);
    },
  });
  fn.registerBar(0, { kind: BarKind.MEM32, size: 0x1000, ops: ops("mem") });
  fn.registerBar(1, { kind: BarKind.IO, size: 0x10, ops: ops("io") });
  fn.registerBar(2, { kind: BarKind.MEM64, size: 0x1000, ops: ops("mem64") });
  return { fn, log };
}

test("bus 0 holds only the host bridge: 1b36:0008, class 0x060000, as QEMU's gpex-root", () => {
  const { pcie } = host();
  assert.deepEqual(scanBus0(pcie), ["00:00.0 1b36:0008 060000"]);
  // The whole header, as `hexdump /sys/bus/pci/devices/0000:00:00.0/config` shows it under QEMU.
  const header = Array.from({ length: 16 }, (_, i) => cfgRead(pcie, 0, 0, 0, 4 * i));
  assert.deepEqual(header, [0x00081b36, 0, 0x06000000, 0, 0, 0, 0, 0, 0, 0, 0, 0x11001af4, 0, 0, 0, 0]);
  assert.equal(cfgRead(pcie, 0, 0, 0, PciReg.DEVICE_ID, 2), 0x0008);
  assert.equal(cfgRead(pcie, 0, 0, 0, 0x0b, 1), 0x06);
  assert.equal(cfgRead(pcie, 0, 0, 0, 0xfc), 0);
  assert.equal(cfgRead(pcie, 0, 0, 0, 0x100), 0xffffffff, "conventional: no extended configuration space");
});

test("absent functions and buses read all ones and ignore writes", () => {
  const { pcie } = host();
  for (const [bus, dev, fn] of [[0, 0, 1], [0, 1, 0], [0, 31, 7], [1, 0, 0], [255, 31, 7]]) {
    assert.equal(cfgRead(pcie, bus, dev, fn, 0), 0xffffffff, `${bus}:${dev}.${fn}`);
    assert.equal(cfgRead(pcie, bus, dev, fn, 2, 2), 0xffff);
    assert.equal(cfgRead(pcie, bus, dev, fn, 3, 1), 0xff);
    cfgWrite(pcie, bus, dev, fn, PciReg.COMMAND, 0x7);
  }
  assert.equal(pcie.buses, 256);
  assert.equal(cfgRead(pcie, 0, 0, 0, PciReg.COMMAND), 0);
});

test("the host bridge's writable registers, as QEMU's", () => {
  const { pcie } = host();
  cfgWrite(pcie, 0, 0, 0, PciReg.COMMAND, 0xffff, 2);
  assert.equal(cfgRead(pcie, 0, 0, 0, PciReg.COMMAND), 0x0507);
  cfgWrite(pcie, 0, 0, 0, PciReg.BAR0, 0xffffffff);
  assert.equal(cfgRead(pcie, 0, 0, 0, PciReg.BAR0), 0, "no BARs");
  cfgWrite(pcie, 0, 0, 0, PciReg.INTERRUPT_LINE, 0xffffffff);
  assert.equal(cfgRead(pcie, 0, 0, 0, PciReg.INTERRUPT_LINE), 0xff);
  pcie.reset();
  assert.equal(cfgRead(pcie, 0, 0, 0, PciReg.COMMAND), 0);
  assert.equal(cfgRead(pcie, 0, 0, 0, PciReg.INTERRUPT_LINE), 0);
});

test("windows read all ones and drop writes while no BAR decodes there", () => {
  const { pcie } = host();
  const r = (w: MmioRegion, offset: number, size: AccessSize): number => w.ops.read(offset, size);
  assert.deepEqual([pcie.pio.base, pcie.pio.size], [PIO.base, PIO.size]);
  assert.deepEqual([pcie.mmio.base, pcie.mmio.size], [MMIO.base, MMIO.size]);
  assert.deepEqual([pcie.highMmio.base, pcie.highMmio.size], [HIGH.base, HIGH.size]);
  for (const w of [pcie.pio, pcie.mmio, pcie.highMmio]) {
    assert.equal(r(w, 0, 4), 0xffffffff);
    assert.equal(r(w, w.size - 2, 2), 0xffff);
    assert.equal(r(w, 1, 1), 0xff);
    w.ops.write(0, 4, 0);
  }
});

test("a device's BARs decode in the windows once Linux assigns them and enables the spaces", () => {
  const { pcie } = host();
  const { fn, log } = echoDevice(1);
  pcie.plug(2 << 3, fn);
  assert.deepEqual(scanBus0(pcie), ["00:00.0 1b36:0008 060000", "00:02.0 1b36:00ff ff0000"]);
  cfgWrite(pcie, 0, 2, 0, PciReg.BAR0, 0x40010000);
  cfgWrite(pcie, 0, 2, 0, PciReg.BAR0 + 4, 0x1000);
  cfgWrite(pcie, 0, 2, 0, PciReg.BAR0 + 8, 0x00002000);
  cfgWrite(pcie, 0, 2, 0, PciReg.BAR0 + 12, 0x4);
  assert.equal(pcie.mmio.ops.read(0x10000, 4), 0xffffffff, "memory decoding is still off");
  cfgWrite(pcie, 0, 2, 0, PciReg.COMMAND, PciCommand.MEMORY | PciCommand.IO, 2);
  assert.equal(pcie.mmio.ops.read(0x10008, 4), 0x1008);
  pcie.mmio.ops.write(0x10ffc, 4, 0xabcd);
  assert.equal(pcie.pio.ops.read(0x1004, 2), 0x1004);
  assert.equal(pcie.highMmio.ops.read(0x2010, 4), 0x1010);
  assert.equal(pcie.mmio.ops.read(0x11000, 4), 0xffffffff, "past the BAR");
  assert.equal(pcie.pio.ops.read(0x1010, 1), 0xff);
  assert.deepEqual(log, ["mem read 8/4", "mem write ffc/4=abcd", "io read 4/2", "mem64 read 10/4"]);
  // Moving a BAR moves its registers.
  cfgWrite(pcie, 0, 2, 0, PciReg.BAR0, 0x40020000);
  assert.equal(pcie.mmio.ops.read(0x10008, 4), 0xffffffff);
  assert.equal(pcie.mmio.ops.read(0x20008, 4), 0x1008);
  pcie.reset();
  assert.equal(pcie.mmio.ops.read(0x20008, 4), 0xffffffff, "reset turns decoding off");
});

test("functions other than 0 show only with function 0 of their slot", () => {
  const { pcie } = host();
  pcie.plug((3 << 3) | 1, echoDevice(2).fn);
  assert.equal(cfgRead(pcie, 0, 3, 1, 0), 0xffffffff);
  pcie.plug(3 << 3, new PciConfigSpace({ vendorId: 0x1b36, deviceId: 0x00fe, classCode: 0, multifunction: true }));
  assert.deepEqual(scanBus0(pcie).slice(1), ["00:03.0 1b36:00fe 000000", "00:03.1 1b36:00ff ff0000"]);
  assert.throws(() => pcie.plug(3 << 3, echoDevice(1).fn), /in use/);
});

test("INTx: line (pin + slot) % 4 to PLIC sources 32..35, shared lines are ORed", () => {
  assert.deepEqual([0, 1, 2, 3].map((pin) => intxSwizzle(0, pin)), [0, 1, 2, 3]);
  assert.deepEqual([0, 1, 2, 3].map((pin) => intxSwizzle(1, pin)), [1, 2, 3, 0]);
  assert.deepEqual([0, 1, 2, 3].map((slot) => intxSwizzle(slot, 3)), [3, 0, 1, 2]);
  assert.equal(intxSwizzle(5, 0), 1);
  const { pcie, irqs } = host();
  const levels = (): boolean[] => irqs.map((l) => l.level);
  const a = echoDevice(1).fn; // slot 1, INTA -> line 1 (PLIC 33)
  const b = echoDevice(4).fn; // slot 2, INTD -> line (3 + 2) % 4 = 1 as well
  const c = echoDevice(2).fn; // slot 6, INTB -> line (1 + 6) % 4 = 3 (PLIC 35)
  pcie.plug(1 << 3, a);
  pcie.plug(2 << 3, b);
  pcie.plug(6 << 3, c);
  a.setIntx(true);
  assert.deepEqual(levels(), [false, true, false, false]);
  b.setIntx(true);
  a.setIntx(false);
  assert.deepEqual(levels(), [false, true, false, false], "b still holds the shared line");
  b.setIntx(false);
  c.setIntx(true);
  assert.deepEqual(levels(), [false, false, false, true]);
  cfgWrite(pcie, 0, 6, 0, PciReg.COMMAND, PciCommand.INTX_DISABLE, 2);
  assert.deepEqual(levels(), [false, false, false, false], "Command.INTX_DISABLE masks the pin");
  cfgWrite(pcie, 0, 6, 0, PciReg.COMMAND, 0, 2);
  assert.deepEqual(levels(), [false, false, false, true]);
  pcie.reset();
  assert.deepEqual(levels(), [false, false, false, false]);
});

test("the device-tree node is QEMU 7.2's pci@30000000", () => {
  const { pcie } = host();
  const fdt = new Fdt();
  const soc = fdt.root.child("soc");
  const plic = soc.child("plic@c000000");
  const phandle = plic.phandle();
  const node = pcie.fdtNode(soc, plic);
  assert.equal(node.name, "pci@30000000");
  const cells = (name: string): number[] => {
    const p = node.props.find((x) => x.name === name);
    assert.ok(p !== undefined, `property ${name}`);
    const v = new DataView(p.value.buffer, p.value.byteOffset, p.value.byteLength);
    return Array.from({ length: p.value.length / 4 }, (_, i) => v.getUint32(4 * i));
  };
  const text = (name: string): string => new TextDecoder().decode(node.props.find((x) => x.name === name)?.value);
  assert.deepEqual(node.props.map((p) => p.name), ["interrupt-map-mask", "interrupt-map", "ranges", "reg", "dma-coherent",
    "bus-range", "linux,pci-domain", "device_type", "compatible", "#size-cells", "#interrupt-cells", "#address-cells"]);
  assert.deepEqual(cells("interrupt-map-mask"), [0x1800, 0, 0, 7]);
  const map = cells("interrupt-map");
  assert.equal(map.length, 16 * 6);
  // Slot 1 (devfn 8), INTD (pin 4) -> (3 + 1) % 4 = 0 -> PLIC 32, as in QEMU's dump.
  assert.deepEqual(map.slice(7 * 6, 8 * 6), [0x800, 0, 0, 4, phandle, 0x20]);
  assert.deepEqual(map.slice(15 * 6), [0x1800, 0, 0, 4, phandle, 0x22]);
  assert.deepEqual(cells("ranges"), [
    0x1000000, 0, 0, 0, 0x3000000, 0, 0x10000,
    0x2000000, 0, 0x40000000, 0, 0x40000000, 0, 0x40000000,
    0x3000000, 4, 0, 4, 0, 4, 0]);
  assert.deepEqual(cells("reg"), [0, 0x30000000, 0, 0x10000000]);
  assert.deepEqual(cells("bus-range"), [0, 255]);
  assert.deepEqual(cells("linux,pci-domain"), [0]);
  assert.equal(text("device_type"), "pci\0");
  assert.equal(text("compatible"), "pci-host-ecam-generic\0");
  assert.deepEqual([cells("#address-cells"), cells("#size-cells"), cells("#interrupt-cells")], [[3], [2], [1]]);
});
