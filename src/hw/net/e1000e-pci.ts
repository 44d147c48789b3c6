/**
 * The e1000e's PCI Express configuration space, laid out as QEMU 7.2's
 * (hw/net/e1000e.c), which Linux reads back as:
 *
 *   8086:10d3, revision 0, class 0x020000, subsystem 8086:0000, INTA#;
 *   BAR 0 memory 128 KiB (registers), BAR 1 memory 128 KiB (flash, empty),
 *   BAR 2 I/O 32 bytes (IOADDR/IODATA), BAR 3 memory 16 KiB (MSI-X);
 *   capabilities PM at 0xc8 -> MSI at 0xd0 -> PCI Express at 0xe0 ->
 *   MSI-X at 0xa0; extended capabilities AER at 0x100 -> Device Serial
 *   Number at 0x140 (made from the MAC address).
 *
 * MSI-X: five vectors, the table at 0 and the PBA at 0x2000 of BAR 3.
 */
import { BarKind, PciConfigSpace, type PciBarSpec } from "../pci/config-space.js";
import { Msix } from "../pci/msix.js";
import type { MsiSend } from "../pci/msi.js";
import { E1000E_MMIO_SIZE, E1000E_MSIX_VECTORS } from "./e1000e-regs.js";

export const PCI_VENDOR_ID_INTEL = 0x8086;
export const E1000E_DEVICE_ID = 0x10d3;
export const PCI_CLASS_NETWORK_ETHERNET = 0x020000;

export const E1000E_BAR = { mmio: 0, flash: 1, io: 2, msix: 3 } as const;
export const E1000E_FLASH_SIZE = 0x20000;
export const E1000E_IO_SIZE = 32;
export const E1000E_MSIX_SIZE = 0x4000;
export const E1000E_MSIX_PBA = 0x2000;

export const CAP_MSIX = 0xa0;
export const CAP_PM = 0xc8;
export const CAP_MSI = 0xd0;
export const CAP_PCIE = 0xe0;
export const EXT_CAP_AER = 0x100;
export const EXT_CAP_DSN = 0x140;

const PCI_CAP_ID_PM = 0x01;
const PCI_CAP_ID_MSI = 0x05;
const PCI_CAP_ID_EXP = 0x10;
const PM_CAP_SIZE = 8;
const MSI_CAP_SIZE = 14;
const PCIE_CAP_V1_SIZE = 0x14;
const AER_SIZE = 0x48;
const DSN_SIZE = 0x0c;

/** PCI Express capability register offsets (PCIe 4.0 section 7.5.3). */
export const enum PcieCap {
  FLAGS = 2, DEVCAP = 4, DEVCTL = 8, DEVSTA = 10, LNKCAP = 12, LNKCTL = 16, LNKSTA = 18,
}

/** The function's place: a Root Complex Integrated Endpoint on the root bus, an Endpoint behind a port. */
export type PcieDeviceType = "rc-integrated" | "endpoint";

export interface E1000eConfigOptions {
  subsystemVendorId: number;
  subsystemId: number;
  mac: Uint8Array;
  deviceType: PcieDeviceType;
  /** BAR 0 (registers), BAR 2 (I/O window). */
  mmio: PciBarSpec["ops"];
  io: PciBarSpec["ops"];
  send: MsiSend;
}

/** MSI capability fields (64-bit, one vector, no per-vector masking). */
export const enum MsiCap {
  CONTROL = 2, ADDRESS_LO = 4, ADDRESS_HI = 8, DATA = 12,
  ENABLE = 0x1, ADDR64 = 0x80,
}

export function e1000eConfig(o: E1000eConfigOptions): { config: PciConfigSpace; msix: Msix } {
  const cfg = new PciConfigSpace({
    vendorId: PCI_VENDOR_ID_INTEL, deviceId: E1000E_DEVICE_ID, classCode: PCI_CLASS_NETWORK_ETHERNET,
    subsystemVendorId: o.subsystemVendorId, subsystemId: o.subsystemId, express: true, interruptPin: 1,
  });
  cfg.registerBar(E1000E_BAR.mmio, { kind: BarKind.MEM32, size: E1000E_MMIO_SIZE, ops: o.mmio });
  // QEMU's flash BAR is an empty region: reads 0, writes vanish.
  cfg.registerBar(E1000E_BAR.flash, { kind: BarKind.MEM32, size: E1000E_FLASH_SIZE, ops: { read: () => 0, write: () => undefined } });
  cfg.registerBar(E1000E_BAR.io, { kind: BarKind.IO, size: E1000E_IO_SIZE, ops: o.io });
  // The order QEMU adds them in, each at the head of the list: MSI-X, PCI Express, MSI, PM.
  const msix = new Msix({
    config: cfg, vectors: E1000E_MSIX_VECTORS, capOffset: CAP_MSIX, tableBar: E1000E_BAR.msix, tableOffset: 0,
    pbaBar: E1000E_BAR.msix, pbaOffset: E1000E_MSIX_PBA, send: o.send,
  });
  cfg.registerBar(E1000E_BAR.msix, {
    kind: BarKind.MEM32, size: E1000E_MSIX_SIZE,
    ops: {
      read: (offset, size) => offset >= E1000E_MSIX_PBA ? msix.pbaOps.read(offset - E1000E_MSIX_PBA, size) : msix.tableOps.read(offset, size),
      write: (offset, size, value) => {
        if (offset < E1000E_MSIX_PBA) msix.tableOps.write(offset, size, value);
      },
    },
  });
  addPcieCap(cfg, o.deviceType);
  addMsiCap(cfg);
  addPmCap(cfg);
  addAer(cfg);
  addDsn(cfg, o.mac);
  return { config: cfg, msix };
}

function mask16(m: Uint8Array, at: number, v: number): void {
  m[at] = v & 0xff;
  m[at + 1] = (v >>> 8) & 0xff;
}

function mask32(m: Uint8Array, at: number, v: number): void {
  mask16(m, at, v & 0xffff);
  mask16(m, at + 2, v >>> 16);
}

/** Version 1 (QEMU's pcie_endpoint_cap_v1_init): 2.5 GT/s x1, L0s, role-based error reporting. */
function addPcieCap(cfg: PciConfigSpace, type: PcieDeviceType): void {
  const at = cfg.addCapability(PCI_CAP_ID_EXP, CAP_PCIE, PCIE_CAP_V1_SIZE);
  cfg.set16(at + PcieCap.FLAGS, (type === "rc-integrated" ? 0x9 : 0x0) << 4 | 1);
  cfg.set32(at + PcieCap.DEVCAP, 0x00008000);
  cfg.set32(at + PcieCap.LNKCAP, 0x00000411);
  cfg.set16(at + PcieCap.LNKSTA, 0x0011);
  // Device and link control are read-only zeros on QEMU's version 1 capability (Linux's writes to
  // them read back 0 there); the error-detected status bits are W1C.
  mask16(cfg.w1cmask, at + PcieCap.DEVSTA, 0x000f);
}

function addMsiCap(cfg: PciConfigSpace): void {
  const at = cfg.addCapability(PCI_CAP_ID_MSI, CAP_MSI, MSI_CAP_SIZE);
  cfg.set16(at + MsiCap.CONTROL, MsiCap.ADDR64);
  // Enable and Multiple Message Enable (one vector is all it has, but the field is writable).
  cfg.wmask[at + MsiCap.CONTROL] = 0x71;
  mask32(cfg.wmask, at + MsiCap.ADDRESS_LO, 0xfffffffc);
  mask32(cfg.wmask, at + MsiCap.ADDRESS_HI, 0xffffffff);
  mask16(cfg.wmask, at + MsiCap.DATA, 0xffff);
}

/** PM 1.1, D3cold not supported, Device Specific Initialization (as QEMU's). */
function addPmCap(cfg: PciConfigSpace): void {
  const at = cfg.addCapability(PCI_CAP_ID_PM, CAP_PM, PM_CAP_SIZE);
  cfg.set16(at + 2, 0x0002 | 0x0020);
  // PMCSR: power state, PME enable, data select writable; PME status W1C.
  mask16(cfg.wmask, at + 4, 0x0003 | 0x0100 | 0x1e00);
  mask16(cfg.w1cmask, at + 4, 0x8000);
}

/** Advanced Error Reporting, version 2 (QEMU's pcie_aer_init for an endpoint). */
function addAer(cfg: PciConfigSpace): void {
  const at = EXT_CAP_AER;
  cfg.wmask.fill(0, at, at + AER_SIZE);
  cfg.set32(at, 0x0001 | (2 << 16) | (EXT_CAP_DSN << 20));
  // Uncorrectable: status W1C; mask and severity writable; severity's default.
  const uncorrectable = 0x03fff030;
  mask32(cfg.w1cmask, at + 0x04, uncorrectable);
  mask32(cfg.wmask, at + 0x08, uncorrectable);
  mask32(cfg.wmask, at + 0x0c, uncorrectable);
  cfg.set32(at + 0x0c, 0x00462030);
  // Correctable: status W1C, mask writable, advisory non-fatal masked by default.
  const correctable = 0x0000f1c1;
  mask32(cfg.w1cmask, at + 0x10, correctable);
  mask32(cfg.wmask, at + 0x14, correctable);
  cfg.set32(at + 0x14, 0x0000e000);
  // Capabilities and control: ECRC generation and checking capable; their enables writable.
  cfg.set32(at + 0x18, 0x000000a0);
  mask32(cfg.wmask, at + 0x18, 0x00000140);
}

/** Device Serial Number: the MAC address with FF FF in the middle (QEMU's e1000e_gen_dsn). */
function addDsn(cfg: PciConfigSpace, mac: Uint8Array): void {
  const at = EXT_CAP_DSN;
  cfg.wmask.fill(0, at, at + DSN_SIZE);
  cfg.set32(at, 0x0003 | (1 << 16));
  cfg.set32(at + 4, (mac[5] | (mac[4] << 8) | (mac[3] << 16) | (0xff << 24)) >>> 0);
  cfg.set32(at + 8, (0xff | (mac[2] << 8) | (mac[1] << 16) | (mac[0] << 24)) >>> 0);
}
