/**
 * The type 1 header of a PCI-to-PCI bridge (PCI-to-PCI Bridge Architecture
 * 1.2 chapter 3), laid out and masked as QEMU 7.2's hw/pci/pci_bridge.c:
 *
 * - Bus numbers (primary, secondary, subordinate) and the secondary latency
 *   timer, writable: the guest numbers the bus behind the bridge.
 * - The windows the bridge forwards downstream: I/O (16-bit, 4 KiB
 *   granules), memory (32-bit, 1 MiB granules) and prefetchable memory
 *   (64-bit, 1 MiB granules) with its upper halves.  A window is open when
 *   its base is at most its limit; at reset the port closes them all (base
 *   above limit), as QEMU's pcie-root-port does.
 * - Secondary status: the error bits W1C.
 * - Bridge control: parity, SERR# (writable once AER is there), ISA, VGA,
 *   master abort mode, secondary bus reset, the discard timers; discard
 *   timer status W1C.
 */
import { PciReg, type PciConfigSpace } from "./config-space.js";
import { setMask16, setMask32 } from "./pcie-cap.js";

/** Offsets in the type 1 header. */
export const enum BridgeReg {
  PRIMARY_BUS = 0x18,
  SECONDARY_BUS = 0x19,
  SUBORDINATE_BUS = 0x1a,
  SEC_LATENCY_TIMER = 0x1b,
  IO_BASE = 0x1c,
  IO_LIMIT = 0x1d,
  SEC_STATUS = 0x1e,
  MEMORY_BASE = 0x20,
  MEMORY_LIMIT = 0x22,
  PREF_MEMORY_BASE = 0x24,
  PREF_MEMORY_LIMIT = 0x26,
  PREF_BASE_UPPER32 = 0x28,
  PREF_LIMIT_UPPER32 = 0x2c,
  IO_BASE_UPPER16 = 0x30,
  IO_LIMIT_UPPER16 = 0x32,
  ROM_ADDRESS1 = 0x38,
  BRIDGE_CONTROL = 0x3e,
}

export const enum BridgeCtl {
  PARITY = 0x1,
  SERR = 0x2,
  ISA = 0x4,
  VGA = 0x8,
  VGA_16BIT = 0x10,
  MASTER_ABORT = 0x20,
  BUS_RESET = 0x40,
  FAST_BACK = 0x80,
  DISCARD = 0x100,
  SEC_DISCARD = 0x200,
  DISCARD_STATUS = 0x400,
  DISCARD_SERR = 0x800,
}

/** Secondary status: Received System Error (set when an error message comes up from below). */
export const SEC_STATUS_RCV_SYSTEM_ERROR = 0x4000;
const SEC_STATUS_W1C = 0xf900;
const IO_RANGE_TYPE_16 = 0x0;
const PREF_RANGE_TYPE_64 = 0x1;
const BRIDGE_CONTROL_WRITABLE = BridgeCtl.PARITY | BridgeCtl.ISA | BridgeCtl.VGA | BridgeCtl.VGA_16BIT
  | BridgeCtl.MASTER_ABORT | BridgeCtl.BUS_RESET | BridgeCtl.FAST_BACK | BridgeCtl.DISCARD | BridgeCtl.SEC_DISCARD
  | BridgeCtl.DISCARD_STATUS | BridgeCtl.DISCARD_SERR;

/** Lay out the bridge registers of a header type 1 configuration space (call before capabilities). */
export function initBridgeHeader(cfg: PciConfigSpace): void {
  if (!cfg.bridge) throw new Error("initBridgeHeader: not a type 1 header");
  // The type 0 defaults opened everything past 0x10 that a type 0 header has writable; start over.
  cfg.wmask.fill(0, PciReg.BAR0, 0x40);
  cfg.wmask[0x0c] = 0xff; // cache line size
  cfg.wmask[PciReg.INTERRUPT_LINE] = 0xff;
  cfg.wmask.fill(0xff, BridgeReg.PRIMARY_BUS, BridgeReg.SEC_LATENCY_TIMER + 1);
  cfg.wmask[BridgeReg.IO_BASE] = 0xf0;
  cfg.wmask[BridgeReg.IO_LIMIT] = 0xf0;
  setMask16(cfg.wmask, BridgeReg.MEMORY_BASE, 0xfff0);
  setMask16(cfg.wmask, BridgeReg.MEMORY_LIMIT, 0xfff0);
  setMask16(cfg.wmask, BridgeReg.PREF_MEMORY_BASE, 0xfff0);
  setMask16(cfg.wmask, BridgeReg.PREF_MEMORY_LIMIT, 0xfff0);
  setMask32(cfg.wmask, BridgeReg.PREF_BASE_UPPER32, 0xffffffff);
  setMask32(cfg.wmask, BridgeReg.PREF_LIMIT_UPPER32, 0xffffffff);
  setMask16(cfg.wmask, BridgeReg.IO_BASE_UPPER16, 0xffff);
  setMask16(cfg.wmask, BridgeReg.IO_LIMIT_UPPER16, 0xffff);
  setMask16(cfg.w1cmask, BridgeReg.SEC_STATUS, SEC_STATUS_W1C);
  setMask16(cfg.wmask, BridgeReg.BRIDGE_CONTROL, BRIDGE_CONTROL_WRITABLE);
  setMask16(cfg.w1cmask, BridgeReg.BRIDGE_CONTROL, BridgeCtl.DISCARD_STATUS);
  closeWindows(cfg);
}

/** Base above limit in every window, as QEMU's pci_bridge_disable_base_limit: nothing forwarded. */
export function closeWindows(cfg: PciConfigSpace): void {
  cfg.config[BridgeReg.IO_BASE] = 0xf0 | IO_RANGE_TYPE_16;
  cfg.config[BridgeReg.IO_LIMIT] = IO_RANGE_TYPE_16;
  cfg.set16(BridgeReg.MEMORY_BASE, 0xfff0);
  cfg.set16(BridgeReg.MEMORY_LIMIT, 0);
  cfg.set16(BridgeReg.PREF_MEMORY_BASE, 0xfff0 | PREF_RANGE_TYPE_64);
  cfg.set16(BridgeReg.PREF_MEMORY_LIMIT, PREF_RANGE_TYPE_64);
  cfg.set32(BridgeReg.PREF_BASE_UPPER32, 0);
  cfg.set32(BridgeReg.PREF_LIMIT_UPPER32, 0);
}

export interface BridgeRange {
  base: number;
  /** Inclusive. */
  limit: number;
}

/** The I/O window (bus addresses); base > limit when closed. */
export function ioWindow(cfg: PciConfigSpace): BridgeRange {
  const b = cfg.config[BridgeReg.IO_BASE];
  const l = cfg.config[BridgeReg.IO_LIMIT];
  const upper = (b & 0xf) === 1;
  const base = (b & 0xf0) * 256 + (upper ? cfg.get16(BridgeReg.IO_BASE_UPPER16) * 65536 : 0);
  const limit = (l & 0xf0) * 256 + 0xfff + (upper ? cfg.get16(BridgeReg.IO_LIMIT_UPPER16) * 65536 : 0);
  return { base, limit };
}

/** The non-prefetchable memory window. */
export function memoryWindow(cfg: PciConfigSpace): BridgeRange {
  return {
    base: (cfg.get16(BridgeReg.MEMORY_BASE) & 0xfff0) * 65536,
    limit: (cfg.get16(BridgeReg.MEMORY_LIMIT) & 0xfff0) * 65536 + 0xfffff,
  };
}

/** The prefetchable memory window (64-bit). */
export function prefetchWindow(cfg: PciConfigSpace): BridgeRange {
  const b = cfg.get16(BridgeReg.PREF_MEMORY_BASE);
  const l = cfg.get16(BridgeReg.PREF_MEMORY_LIMIT);
  const wide = (b & 0xf) === PREF_RANGE_TYPE_64;
  return {
    base: (b & 0xfff0) * 65536 + (wide ? cfg.get32(BridgeReg.PREF_BASE_UPPER32) * 2 ** 32 : 0),
    limit: (l & 0xfff0) * 65536 + 0xfffff + (wide ? cfg.get32(BridgeReg.PREF_LIMIT_UPPER32) * 2 ** 32 : 0),
  };
}

export function secondaryBus(cfg: PciConfigSpace): number {
  return cfg.config[BridgeReg.SECONDARY_BUS];
}

export function subordinateBus(cfg: PciConfigSpace): number {
  return cfg.config[BridgeReg.SUBORDINATE_BUS];
}

/** Whether the bridge forwards [addr, addr + size) of memory (io false) or I/O (io true) space downstream. */
export function forwards(cfg: PciConfigSpace, io: boolean, addr: number, size: number): boolean {
  const inside = (r: BridgeRange): boolean => r.base <= r.limit && addr >= r.base && addr + size - 1 <= r.limit;
  if (io) return (cfg.command & 0x1) !== 0 && inside(ioWindow(cfg));
  return (cfg.command & 0x2) !== 0 && (inside(memoryWindow(cfg)) || inside(prefetchWindow(cfg)));
}
