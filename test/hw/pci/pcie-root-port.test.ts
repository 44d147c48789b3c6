/**
 * The PCIe root port on the virt host bridge, with a virtio-rng-pci behind
 * it, driven through ECAM as Linux's PCI core drives them: the port's
 * configuration space against QEMU 7.2's (the bytes a Linux 6.12 guest
 * reads from sysfs under qemu-system-riscv64 before it touches the port),
 * its masks and W1C bits, bus numbering and the secondary bus, the bridge
 * windows gating BARs below, the INTx swizzle across the bridge, the slot's
 * command completed interrupt, secondary bus reset of the device below
 * (MSI-X state and routes), and a seeded fuzz of configuration writes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { IrqLevel } from "../../../src/hw/core/irq.js";
import type { AccessSize } from "../../../src/hw/core/memory.js";
import { PciCommand, PciReg } from "../../../src/hw/pci/config-space.js";
import { MsiRouteTable } from "../../../src/hw/pci/msi-route.js";
import type { MsiMessage } from "../../../src/hw/pci/msi.js";
import { MsixCap, MsixEntry } from "../../../src/hw/pci/msix.js";
import { BridgeReg } from "../../../src/hw/pci/pci-bridge.js";
import { PciExp } from "../../../src/hw/pci/pcie-cap.js";
import { ecamOffset, PcieHost } from "../../../src/hw/pci/pcie-host.js";
import { PcieRootPort, RP_EXP_CAP, RP_MSIX_CAP } from "../../../src/hw/pci/pcie-root-port.js";
import { VIRTIO_PCIE_MSIX_CAP, VirtioPci } from "../../../src/hw/virtio/virtio-pci.js";
import { VirtioRng } from "../../../src/hw/virtio/virtio-rng.js";
import { FakeRam } from "../../util/virtio-driver.js";

const ECAM = { base: 0x30000000, size: 0x10000000 };
const PIO = { base: 0x3000000, size: 0x10000 };
const MMIO = { base: 0x40000000, size: 0x40000000 };
const HIGH = { base: 0x400000000, size: 0x400000000 };
const RP_DEVFN = 1 << 3;

/** The port's configuration space as QEMU 7.2 shows it to a Linux guest before the guest writes it (0x00-0x15f). */
const QEMU_RP_CONFIG: Record<number, number> = {
  0x00: 0x000c1b36, 0x04: 0x00100000, 0x08: 0x06040000, 0x0c: 0x00010000, 0x1c: 0x000000f0, 0x20: 0x0000fff0,
  0x24: 0x0001fff1, 0x34: 0x00000054, 0x3c: 0x00000100, 0x40: 0x0000000d, 0x44: 0x00001b36, 0x48: 0x00004011,
  0x50: 0x00000800, 0x54: 0x01424810, 0x58: 0x00008000, 0x60: 0x00300604, 0x64: 0x20110000, 0x68: 0x0002007b,
  0x6c: 0x004001c0, 0x78: 0x00300020, 0x80: 0x0000001e, 0x84: 0x00000004, 0x100: 0x14820001, 0x10c: 0x00462030,
  0x114: 0x0000e000, 0x118: 0x000002a0, 0x148: 0x0001000d, 0x14c: 0x0000005f,
};

interface Rig {
  pcie: PcieHost;
  port: PcieRootPort;
  dev: VirtioPci;
  irqs: IrqLevel[];
  sent: MsiMessage[];
  routes: MsiRouteTable;
}

function rig(): Rig {
  const irqs = [0, 1, 2, 3].map(() => new IrqLevel());
  const pcie = new PcieHost({ ecam: ECAM, pio: PIO, mmio: MMIO, highMmio: HIGH, irqs, irqBase: 32 });
  const sent: MsiMessage[] = [];
  const send = (m: MsiMessage): void => { sent.push(m); };
  const routes = new MsiRouteTable(() => undefined, send);
  const port = new PcieRootPort({ chassis: 1, slot: 0, port: 0, send });
  pcie.plug(RP_DEVFN, port.config, () => port.reset());
  port.onSecondaryReset = () => pcie.resetBehind(RP_DEVFN);
  const dev = new VirtioPci({
    device: new VirtioRng((b) => b.fill(7)), dma: new FakeRam(1 << 16), send, routes, classCode: 0x00ff00,
    name: "virtio-rng-pci", express: true, aer: true,
  });
  pcie.plugBehind(RP_DEVFN, 0, dev.config, () => dev.reset());
  port.populated = true;
  pcie.reset();
  return { pcie, port, dev, irqs, sent, routes };
}

const rd = (r: Rig, bus: number, dev: number, reg: number, size: AccessSize = 4): number =>
  r.pcie.ecam.ops.read(ecamOffset(bus, dev, 0, reg), size);
const wr = (r: Rig, bus: number, dev: number, reg: number, value: number, size: AccessSize = 4): void =>
  r.pcie.ecam.ops.write(ecamOffset(bus, dev, 0, reg), size, value);

/** Number the secondary bus 1 and open windows as Linux does under QEMU (the values it wrote there). */
function enumerate(r: Rig): void {
  wr(r, 0, 1, BridgeReg.PRIMARY_BUS, 0x00010100);
  wr(r, 0, 1, BridgeReg.IO_BASE, 0x1010, 2);
  wr(r, 0, 1, BridgeReg.MEMORY_BASE, 0x40104000);
  wr(r, 0, 1, BridgeReg.PREF_MEMORY_BASE, 0x00110001);
  wr(r, 0, 1, BridgeReg.PREF_BASE_UPPER32, 4);
  wr(r, 0, 1, BridgeReg.PREF_LIMIT_UPPER32, 4);
  wr(r, 0, 1, PciReg.BAR0, 0x40200000);
  wr(r, 0, 1, PciReg.COMMAND, PciCommand.IO | PciCommand.MEMORY | PciCommand.MASTER, 2);
}

test("the port's configuration space is QEMU 7.2's", () => {
  const r = rig();
  for (let reg = 0; reg < 0x160; reg += 4) {
    assert.equal(rd(r, 0, 1, reg).toString(16), (QEMU_RP_CONFIG[reg] ?? 0).toString(16), `register 0x${reg.toString(16)}`);
  }
});

test("bus numbering routes ECAM to the device below; only a numbered bus answers", () => {
  const r = rig();
  assert.equal(rd(r, 1, 0, 0), 0xffffffff, "bus 1 does not exist before the guest numbers it");
  enumerate(r);
  assert.equal(rd(r, 1, 0, 0), 0x10441af4, "virtio-rng-pci, modern only (1af4:1044)");
  assert.equal(rd(r, 1, 1, 0), 0xffffffff);
  assert.equal(rd(r, 2, 0, 0), 0xffffffff);
  // The endpoint's capabilities where QEMU puts them behind a PCIe port.
  assert.equal(rd(r, 1, 0, PciReg.CAPABILITY_LIST, 1), 0xdc);
  assert.equal(rd(r, 1, 0, 0x40), 0x00020010, "PCI Express capability v2, endpoint, next 0");
  assert.equal(rd(r, 1, 0, 0x7c), 0x00034001, "power management, next 0x40");
  assert.equal(rd(r, 1, 0, 0x100), 0x00020001, "AER (aer=on)");
  // Renumbering moves the bus.
  wr(r, 0, 1, BridgeReg.SECONDARY_BUS, 0x0505, 2);
  assert.equal(rd(r, 1, 0, 0), 0xffffffff);
  assert.equal(rd(r, 5, 0, 0), 0x10441af4);
});

test("masks and W1C bits of the port", () => {
  const r = rig();
  wr(r, 0, 1, 0, 0xffffffff);
  assert.equal(rd(r, 0, 1, 0), 0x000c1b36, "IDs are read-only");
  wr(r, 0, 1, BridgeReg.BRIDGE_CONTROL, 0xffff, 2);
  assert.equal(rd(r, 0, 1, BridgeReg.BRIDGE_CONTROL, 2), 0x0bff, "writable bits; discard status is W1C; BUS_RESET stays as written");
  wr(r, 0, 1, BridgeReg.BRIDGE_CONTROL, 0, 2);
  const devsta = RP_EXP_CAP + PciExp.DEVCTL;
  wr(r, 0, 1, devsta, 0xffffffff);
  assert.equal(rd(r, 0, 1, devsta), 0x0000000f, "error reporting enables writable; status bits W1C (clear)");
  const sltcap = RP_EXP_CAP + PciExp.SLTCAP;
  wr(r, 0, 1, sltcap, 0);
  assert.equal(rd(r, 0, 1, sltcap), 0x0002007b, "slot capabilities read-only");
  wr(r, 0, 1, RP_EXP_CAP + PciExp.LNKSTA, 0, 2);
  assert.equal(rd(r, 0, 1, RP_EXP_CAP + PciExp.LNKSTA, 2), 0x2011, "link status read-only, link up");
  wr(r, 0, 1, 0x14c, 0xffffffff);
  assert.equal(rd(r, 0, 1, 0x14c), 0x005f005f, "ACS control takes the capability's bits");
});

test("BARs below decode only through the bridge's window with its memory space enabled", () => {
  const r = rig();
  enumerate(r);
  // virtio-rng-pci's MSI-X BAR (1) inside the memory window.
  wr(r, 1, 0, PciReg.BAR0 + 4, 0x40000000);
  wr(r, 1, 0, PciReg.COMMAND, PciCommand.MEMORY | PciCommand.MASTER, 2);
  const entry = MsixEntry.DATA;
  r.pcie.mmio.ops.write(0x40000000 - MMIO.base + entry, 4, 0x1234);
  assert.equal(r.pcie.mmio.ops.read(0x40000000 - MMIO.base + entry, 4), 0x1234, "reachable through the window");
  wr(r, 0, 1, PciReg.COMMAND, PciCommand.IO | PciCommand.MASTER, 2);
  assert.equal(r.pcie.mmio.ops.read(0x40000000 - MMIO.base + entry, 4), 0xffffffff, "bridge memory space disabled");
  wr(r, 0, 1, PciReg.COMMAND, PciCommand.MEMORY | PciCommand.MASTER, 2);
  wr(r, 0, 1, BridgeReg.MEMORY_BASE, 0x40304030);
  assert.equal(r.pcie.mmio.ops.read(0x40000000 - MMIO.base + entry, 4), 0xffffffff, "outside the window");
  // The port's own BAR 0 (its MSI-X table) is on bus 0, not behind the window.
  assert.equal(r.pcie.mmio.ops.read(0x40200000 - MMIO.base + MsixEntry.VECTOR_CONTROL, 4), 1, "vector 0 masked");
});

test("INTx of the device below is swizzled by its slot, then by the port's", () => {
  const r = rig();
  enumerate(r);
  r.dev.config.setIntx(true);
  // Pin A of slot 0 below the port in slot 1: (0 + 0) then (0 + 1) % 4 = INTB#.
  assert.deepEqual(r.irqs.map((l) => l.level), [false, true, false, false]);
  r.dev.config.setIntx(false);
  assert.equal(r.irqs[1].level, false);
});

test("a Slot Control write completes at once: Command Completed, and one hot-plug interrupt on vector 0", () => {
  const r = rig();
  enumerate(r);
  const table = 0x40200000 - MMIO.base;
  r.pcie.mmio.ops.write(table + MsixEntry.ADDRESS_LOW, 4, 0x28000000);
  r.pcie.mmio.ops.write(table + MsixEntry.DATA, 4, 33);
  r.pcie.mmio.ops.write(table + MsixEntry.VECTOR_CONTROL, 4, 0);
  wr(r, 0, 1, RP_MSIX_CAP + MsixCap.CONTROL, 0x8000, 2);
  const sltctl = RP_EXP_CAP + PciExp.SLTCTL;
  wr(r, 0, 1, sltctl, 0x01f1, 2);
  assert.equal(rd(r, 0, 1, sltctl), 0x005001f1, "Command Completed and Presence Detect State");
  assert.deepEqual(r.sent, [{ address: 0x28000000, data: 33 }]);
  // Another command while CC is still set: no new interrupt; clearing CC, then a command: one more.
  wr(r, 0, 1, sltctl, 0x01f1, 2);
  assert.equal(r.sent.length, 1);
  wr(r, 0, 1, RP_EXP_CAP + PciExp.SLTSTA, 0x10, 2);
  assert.equal(rd(r, 0, 1, RP_EXP_CAP + PciExp.SLTSTA, 2), 0x40);
  wr(r, 0, 1, sltctl, 0x01f1, 2);
  assert.equal(r.sent.length, 2);
});

test("secondary bus reset resets the device below: MSI-X disabled, vectors masked, routes gone", () => {
  const r = rig();
  enumerate(r);
  wr(r, 1, 0, PciReg.BAR0 + 4, 0x40000000);
  wr(r, 1, 0, PciReg.COMMAND, PciCommand.MEMORY | PciCommand.MASTER, 2);
  const table = 0x40000000 - MMIO.base;
  r.pcie.mmio.ops.write(table + MsixEntry.ADDRESS_LOW, 4, 0x28000000);
  r.pcie.mmio.ops.write(table + MsixEntry.DATA, 4, 40);
  r.pcie.mmio.ops.write(table + MsixEntry.VECTOR_CONTROL, 4, 0);
  wr(r, 1, 0, VIRTIO_PCIE_MSIX_CAP + MsixCap.CONTROL, 0x8000, 2);
  assert.equal(r.routes.size, 1, "the unmasked vector has its route");
  wr(r, 0, 1, BridgeReg.BRIDGE_CONTROL, 0x0042, 2);
  wr(r, 0, 1, BridgeReg.BRIDGE_CONTROL, 0x0002, 2);
  assert.equal(r.routes.size, 0, "routes resynced: none");
  assert.equal(rd(r, 1, 0, PciReg.COMMAND, 2), 0, "the device's Command register is clear");
  assert.equal(rd(r, 1, 0, VIRTIO_PCIE_MSIX_CAP + MsixCap.CONTROL, 2), 0x0001, "MSI-X disabled (2 vectors)");
  assert.equal(rd(r, 0, 1, BridgeReg.SECONDARY_BUS, 1), 1, "the port itself keeps its bus numbers");
  assert.equal(rd(r, 1, 0, PciReg.BAR0 + 4), 0, "BARs cleared");
  wr(r, 1, 0, PciReg.BAR0 + 4, 0x40000000);
  wr(r, 1, 0, PciReg.COMMAND, PciCommand.MEMORY, 2);
  assert.equal(r.pcie.mmio.ops.read(table + MsixEntry.VECTOR_CONTROL, 4), 1, "the table is back to masked");
});

test("a seeded fuzz of configuration writes to the port and the device below never throws", () => {
  const r = rig();
  enumerate(r);
  let x = 0x9e3779b9;
  const rand = (n: number): number => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return (x >>> 0) % n;
  };
  const sizes: AccessSize[] = [1, 2, 4];
  for (let i = 0; i < 20000; i++) {
    const size = sizes[rand(3)];
    const reg = rand(0x1000) & ~(size - 1);
    const bus = rand(4) === 0 ? rand(4) : (rand(2) === 0 ? 0 : rd(r, 0, 1, BridgeReg.SECONDARY_BUS, 1));
    const dev = bus === 0 ? rand(3) : 0;
    const value = rand(2) === 0 ? 0xffffffff : rand(2 ** 32);
    wr(r, bus, dev, reg, value % 2 ** (8 * size), size);
    rd(r, bus, dev, reg & ~3);
    if (i % 97 === 0) r.pcie.mmio.ops.read(rand(0x400000) & ~3, 4);
    if (i % 500 === 0) r.port.errors.inject({ status: 1 << rand(32), sourceId: 8, correctable: rand(2) === 0 });
  }
  assert.equal(rd(r, 0, 1, 0), 0x000c1b36);
});
