/**
 * The 82574L's memory-mapped registers (Intel 82574 GbE Controller
 * datasheet, chapter 10), as data: offset, how many (for arrays), the value
 * after a reset, which bits software may write, and how a read or write
 * behaves.  The device model (e1000e.ts) gives the registers with side
 * effects (`kind: "special"`) their behaviour; every other register is
 * storage through its write mask.  An offset no register claims reads 0 and
 * ignores writes, as on QEMU 7.2's model.
 */

/** Register offsets in BAR 0 (datasheet table 10-2; Linux names them the same). */
export const enum Reg {
  CTRL = 0x00000, STATUS = 0x00008, EECD = 0x00010, EERD = 0x00014, CTRL_EXT = 0x00018, FLA = 0x0001c,
  MDIC = 0x00020, FCAL = 0x00028, FCAH = 0x0002c, FCT = 0x00030, VET = 0x00038,
  ICR = 0x000c0, ITR = 0x000c4, ICS = 0x000c8, IMS = 0x000d0, IMC = 0x000d8, EIAC = 0x000dc, IAM = 0x000e0,
  IVAR = 0x000e4, EITR = 0x000e8,
  RCTL = 0x00100, FCTTV = 0x00170, TXCW = 0x00178, RXCW = 0x00180,
  TCTL = 0x00400, TCTL_EXT = 0x00404, TIPG = 0x00410, AIT = 0x00458,
  LEDCTL = 0x00e00, EXTCNF_CTRL = 0x00f00, EXTCNF_SIZE = 0x00f08, PHY_CTRL = 0x00f10,
  PBA = 0x01000, PBS = 0x01008, EEMNGCTL = 0x01010, EEWR = 0x0102c, FLOP = 0x0103c,
  ERT = 0x02008, FCRTL = 0x02160, FCRTH = 0x02168, PSRCTL = 0x02170,
  RDBAL = 0x02800, RDBAH = 0x02804, RDLEN = 0x02808, RDH = 0x02810, RDT = 0x02818, RDTR = 0x02820,
  RXDCTL = 0x02828, RADV = 0x0282c, RDBAL1 = 0x02900, RDBAH1 = 0x02904, RDLEN1 = 0x02908, RDH1 = 0x02910,
  RDT1 = 0x02918, RXDCTL1 = 0x02928, RSRPD = 0x02c00, RAID = 0x02c08,
  TDBAL = 0x03800, TDBAH = 0x03804, TDLEN = 0x03808, TDH = 0x03810, TDT = 0x03818, TIDV = 0x03820,
  TXDCTL = 0x03828, TADV = 0x0382c, TARC0 = 0x03840, TDBAL1 = 0x03900, TDBAH1 = 0x03904, TDLEN1 = 0x03908,
  TDH1 = 0x03910, TDT1 = 0x03918, TXDCTL1 = 0x03928, TARC1 = 0x03940,
  /** Statistics: 0x4000 to 0x4124, cleared when read. */
  STATS = 0x04000,
  RXCSUM = 0x05000, RFCTL = 0x05008, MTA = 0x05200, RAL = 0x05400, RAH = 0x05404, VFTA = 0x05600,
  WUC = 0x05800, WUFC = 0x05808, WUS = 0x05810, MRQC = 0x05818, MANC = 0x05820, IPAV = 0x05838,
  IP4AT = 0x05840, IP6AT = 0x05880, WUPL = 0x05900, WUPM = 0x05a00, GCR = 0x05b00, GSCL = 0x05b10,
  FACTPS = 0x05b30, SWSM = 0x05b50, FWSM = 0x05b54, GCR2 = 0x05b64, RETA = 0x05c00, RSSRK = 0x05c80,
  FFLT = 0x05f00, HICR = 0x08f00, FFMT = 0x09000, FFVT = 0x09800,
  SYSTIML = 0x0b600, SYSTIMH = 0x0b604, TIMINCA = 0x0b608, TIMADJL = 0x0b60c, TIMADJH = 0x0b610,
  TSYNCTXCTL = 0x0b614, TXSTMPL = 0x0b618, TXSTMPH = 0x0b61c, TSYNCRXCTL = 0x0b620, RXSTMPL = 0x0b624,
  RXSTMPH = 0x0b628, RXSATRL = 0x0b62c, RXSATRH = 0x0b630, RXCFGL = 0x0b634, RXUDP = 0x0b638,
}

/** BAR 0's size: 128 KiB of registers. */
export const E1000E_MMIO_SIZE = 0x20000;
/** Receive-address registers: 16 pairs of RAL/RAH (datasheet 10.2.5.8 for the 82574: 16 entries). */
export const RA_ENTRIES = 16;
export const MTA_ENTRIES = 128;
export const VFTA_ENTRIES = 128;
/** MSI-X vectors of the 82574L (datasheet 10.2.4.9: five EITRs). */
export const E1000E_MSIX_VECTORS = 5;

/**
 * How a register behaves:
 * - "rw": storage through the write mask;
 * - "ro": reads its value, ignores writes;
 * - "rc": a statistics counter, cleared when read;
 * - "special": the device model decides (side effects on read or write).
 */
export type RegKind = "rw" | "ro" | "rc" | "special";

export interface RegSpec {
  readonly name: string;
  readonly offset: number;
  /** Consecutive 32-bit registers of an array (default 1). */
  readonly count?: number;
  /** Value after power-on, a PCI reset or CTRL.RST (default 0). */
  readonly reset?: number;
  /** Bits software may write (default all). */
  readonly wmask?: number;
  readonly kind: RegKind;
}

/** CTRL bits (datasheet 10.2.2.1). */
export const enum Ctrl {
  FD = 0x1, GIO_MASTER_DISABLE = 0x4, ASDE = 0x20, SLU = 0x40, SPD_1000 = 0x200, FRCSPD = 0x800,
  FRCDPX = 0x1000, SWDPIN0 = 0x40000, ADVD3WUC = 0x100000, RST = 0x4000000, RFCE = 0x8000000,
  TFCE = 0x10000000, VME = 0x40000000, PHY_RST = 0x80000000,
}

/** STATUS bits (datasheet 10.2.2.2). */
export const enum Status {
  FD = 0x1, LU = 0x2, SPEED_1000 = 0x80, ASDV_1000 = 0x200, PHYRA = 0x400, GIO_MASTER_ENABLE = 0x80000,
}

/** EECD bits (10.2.2.3): the NVM is present and was loaded (auto-read done); REQ is granted at once. */
export const enum Eecd {
  REQ = 0x40, GNT = 0x80, PRES = 0x100, AUTO_RD = 0x200,
}

/** EERD (10.2.2.4): start, done, the word address at bit 2, the data at bit 16. */
export const Eerd = {
  START: 0x1, DONE: 0x2, ADDR_SHIFT: 2, ADDR_MASK: 0x3fff, DATA_SHIFT: 16,
} as const;

/** CTRL_EXT bits (10.2.2.5). */
export const enum CtrlExt {
  EIAME = 0x01000000, IAME = 0x08000000, PBA_CLR = 0x80000000,
}

/** MDIC (10.2.2.7). */
export const Mdic = {
  DATA_MASK: 0xffff, REG_SHIFT: 16, REG_MASK: 0x1f, PHY_SHIFT: 21, PHY_MASK: 0x1f, OP_SHIFT: 26,
  OP_WRITE: 1, OP_READ: 2, READY: 0x10000000, INT_EN: 0x20000000, ERROR: 0x40000000,
} as const;

/** Interrupt causes: ICR, ICS, IMS, IMC, IAM, EIAC (10.2.4). */
export const enum Icr {
  TXDW = 0x1, TXQE = 0x2, LSC = 0x4, RXSEQ = 0x8, RXDMT0 = 0x10, RXO = 0x40, RXT0 = 0x80, MDAC = 0x200,
  TXD_LOW = 0x8000, SRPD = 0x10000, ACK = 0x20000, MNG = 0x40000,
  RXQ0 = 0x100000, RXQ1 = 0x200000, TXQ0 = 0x400000, TXQ1 = 0x800000, OTHER = 0x1000000,
  INT_ASSERTED = 0x80000000,
}

/** The queue causes: each has its own MSI-X vector in IVAR; every other cause goes to "other". */
export const QUEUE_CAUSES = Icr.RXQ0 | Icr.RXQ1 | Icr.TXQ0 | Icr.TXQ1;
/** The causes that set ICR.OTHER in MSI-X mode (datasheet 10.2.4.1: OTHER is the OR of these). */
export const OTHER_CAUSES = Icr.LSC | Icr.RXO | Icr.MDAC | Icr.SRPD | Icr.ACK | Icr.MNG;
/** The causes ICS can set and IMS can enable: every defined bit below INT_ASSERTED. */
export const ICR_CAUSES = 0x01ffffff;

/** IVAR (10.2.4.9): a 4-bit entry per cause (3-bit vector, valid bit), and "TX interrupt on every write-back". */
export const Ivar = {
  RXQ0_SHIFT: 0, RXQ1_SHIFT: 4, TXQ0_SHIFT: 8, TXQ1_SHIFT: 12, OTHER_SHIFT: 16,
  VECTOR: 0x7, VALID: 0x8, TX_INT_EVERY_WB: 0x80000000,
} as const;

/** RCTL bits (10.2.5.1). */
export const Rctl = {
  EN: 0x2, UPE: 0x8, MPE: 0x10, LPE: 0x20, DTYP_PS: 0x400, MO_SHIFT: 12, MO_MASK: 0x3000,
  BAM: 0x8000, BSIZE_SHIFT: 16, BSIZE_MASK: 0x30000, VFE: 0x40000, BSEX: 0x2000000, SECRC: 0x4000000,
} as const;

/** RFCTL bits (10.2.5.17). */
export const enum Rfctl {
  EXTEN = 0x8000,
}

/** RXCSUM bits (10.2.5.15). */
export const enum Rxcsum {
  IPOFL = 0x100, TUOFL = 0x200, PCSD = 0x2000,
}

/** TCTL bits (10.2.6.1). */
export const enum Tctl {
  EN = 0x2, PSP = 0x8,
}

/** RAH's Address Valid bit. */
export const RAH_AV = 0x80000000;

/** EEMNGCTL: the NVM configuration of port 0 is done (Linux's e1000_get_cfg_done_82571 waits for it). */
export const EEMNGCTL_CFG_DONE_PORT_0 = 0x40000;

const STATUS_RESET = Status.FD | Status.LU | Status.SPEED_1000 | Status.ASDV_1000 | Status.GIO_MASTER_ENABLE;

/**
 * The register map.  Reset values are the 82574L's after the NVM load
 * (datasheet chapter 10's "initial value" columns), as QEMU 7.2 presents
 * them: link up at 1000 Mb/s full duplex, the receive address from the NVM
 * (RAL0/RAH0, filled in by the model).
 */
export const REGISTERS: readonly RegSpec[] = [
  { name: "CTRL", offset: Reg.CTRL, kind: "special", reset: Ctrl.FD | Ctrl.SLU | Ctrl.SPD_1000 | Ctrl.SWDPIN0 | Ctrl.ADVD3WUC },
  { name: "STATUS", offset: Reg.STATUS, kind: "ro", reset: STATUS_RESET },
  { name: "EECD", offset: Reg.EECD, kind: "special", reset: Eecd.PRES | Eecd.AUTO_RD, wmask: 0x0000005f },
  { name: "EERD", offset: Reg.EERD, kind: "special" },
  { name: "CTRL_EXT", offset: Reg.CTRL_EXT, kind: "rw", wmask: 0xf9dfefff },
  { name: "FLA", offset: Reg.FLA, kind: "rw" },
  { name: "MDIC", offset: Reg.MDIC, kind: "special" },
  { name: "FCAL", offset: Reg.FCAL, kind: "rw" },
  { name: "FCAH", offset: Reg.FCAH, kind: "rw", wmask: 0xffff },
  { name: "FCT", offset: Reg.FCT, kind: "rw", wmask: 0xffff },
  { name: "VET", offset: Reg.VET, kind: "rw", reset: 0x8100, wmask: 0xffff },
  { name: "ICR", offset: Reg.ICR, kind: "special" },
  { name: "ITR", offset: Reg.ITR, kind: "rw", wmask: 0xffff },
  { name: "ICS", offset: Reg.ICS, kind: "special" },
  { name: "IMS", offset: Reg.IMS, kind: "special" },
  { name: "IMC", offset: Reg.IMC, kind: "special" },
  { name: "EIAC", offset: Reg.EIAC, kind: "rw", wmask: QUEUE_CAUSES | Icr.OTHER },
  { name: "IAM", offset: Reg.IAM, kind: "rw", wmask: ICR_CAUSES },
  { name: "IVAR", offset: Reg.IVAR, kind: "rw", wmask: 0x800fffff },
  { name: "EITR", offset: Reg.EITR, count: E1000E_MSIX_VECTORS, kind: "rw", wmask: 0xffff },
  { name: "RCTL", offset: Reg.RCTL, kind: "special", wmask: 0x07ffffbe },
  { name: "FCTTV", offset: Reg.FCTTV, kind: "rw", wmask: 0xffff },
  { name: "TXCW", offset: Reg.TXCW, kind: "rw" },
  { name: "RXCW", offset: Reg.RXCW, kind: "ro" },
  { name: "TCTL", offset: Reg.TCTL, kind: "special", reset: Tctl.PSP },
  { name: "TCTL_EXT", offset: Reg.TCTL_EXT, kind: "rw" },
  { name: "TIPG", offset: Reg.TIPG, kind: "rw", reset: 0x00602008 },
  { name: "AIT", offset: Reg.AIT, kind: "rw", wmask: 0xffff },
  { name: "LEDCTL", offset: Reg.LEDCTL, kind: "rw", reset: 0x00068302 },
  { name: "EXTCNF_CTRL", offset: Reg.EXTCNF_CTRL, kind: "rw", reset: 0x8 },
  { name: "EXTCNF_SIZE", offset: Reg.EXTCNF_SIZE, kind: "rw" },
  { name: "PHY_CTRL", offset: Reg.PHY_CTRL, kind: "rw" },
  { name: "PBA", offset: Reg.PBA, kind: "rw", reset: 0x00140014, wmask: 0x3f },
  { name: "PBS", offset: Reg.PBS, kind: "rw", reset: 0x28, wmask: 0x3f },
  { name: "EEMNGCTL", offset: Reg.EEMNGCTL, kind: "ro", reset: EEMNGCTL_CFG_DONE_PORT_0 },
  { name: "EEWR", offset: Reg.EEWR, kind: "rw" },
  { name: "FLOP", offset: Reg.FLOP, kind: "rw" },
  { name: "ERT", offset: Reg.ERT, kind: "rw", wmask: 0x1fff },
  { name: "FCRTL", offset: Reg.FCRTL, kind: "rw", wmask: 0x8000fff8 },
  { name: "FCRTH", offset: Reg.FCRTH, kind: "rw", wmask: 0xfff8 },
  { name: "PSRCTL", offset: Reg.PSRCTL, kind: "rw", reset: 0x00040402, wmask: 0x3f3f3f7f },
  // Descriptor rings: base addresses 16-byte aligned (128-byte lengths), heads and tails 16 bits.
  { name: "RDBAL", offset: Reg.RDBAL, kind: "rw", wmask: 0xfffffff0 },
  { name: "RDBAH", offset: Reg.RDBAH, kind: "rw" },
  { name: "RDLEN", offset: Reg.RDLEN, kind: "rw", wmask: 0xfff80 },
  { name: "RDH", offset: Reg.RDH, kind: "rw", wmask: 0xffff },
  { name: "RDT", offset: Reg.RDT, kind: "special", wmask: 0xffff },
  { name: "RDTR", offset: Reg.RDTR, kind: "rw", wmask: 0xffff },
  { name: "RXDCTL", offset: Reg.RXDCTL, kind: "rw", reset: 0x01040000 },
  { name: "RADV", offset: Reg.RADV, kind: "rw", wmask: 0xffff },
  { name: "RDBAL1", offset: Reg.RDBAL1, kind: "rw", wmask: 0xfffffff0 },
  { name: "RDBAH1", offset: Reg.RDBAH1, kind: "rw" },
  { name: "RDLEN1", offset: Reg.RDLEN1, kind: "rw", wmask: 0xfff80 },
  { name: "RDH1", offset: Reg.RDH1, kind: "rw", wmask: 0xffff },
  { name: "RDT1", offset: Reg.RDT1, kind: "rw", wmask: 0xffff },
  { name: "RXDCTL1", offset: Reg.RXDCTL1, kind: "rw", reset: 0x01040000 },
  { name: "RSRPD", offset: Reg.RSRPD, kind: "rw", wmask: 0xfff },
  { name: "RAID", offset: Reg.RAID, kind: "rw", wmask: 0xffff },
  { name: "TDBAL", offset: Reg.TDBAL, kind: "rw", wmask: 0xfffffff0 },
  { name: "TDBAH", offset: Reg.TDBAH, kind: "rw" },
  { name: "TDLEN", offset: Reg.TDLEN, kind: "rw", wmask: 0xfff80 },
  { name: "TDH", offset: Reg.TDH, kind: "rw", wmask: 0xffff },
  { name: "TDT", offset: Reg.TDT, kind: "special", wmask: 0xffff },
  { name: "TIDV", offset: Reg.TIDV, kind: "rw", wmask: 0xffff },
  { name: "TXDCTL", offset: Reg.TXDCTL, kind: "rw", reset: 0x01040000 },
  { name: "TADV", offset: Reg.TADV, kind: "rw", wmask: 0xffff },
  { name: "TARC0", offset: Reg.TARC0, kind: "rw", reset: 0x3 },
  { name: "TDBAL1", offset: Reg.TDBAL1, kind: "rw", wmask: 0xfffffff0 },
  { name: "TDBAH1", offset: Reg.TDBAH1, kind: "rw" },
  { name: "TDLEN1", offset: Reg.TDLEN1, kind: "rw", wmask: 0xfff80 },
  { name: "TDH1", offset: Reg.TDH1, kind: "rw", wmask: 0xffff },
  { name: "TDT1", offset: Reg.TDT1, kind: "rw", wmask: 0xffff },
  { name: "TXDCTL1", offset: Reg.TXDCTL1, kind: "rw", reset: 0x01040000 },
  { name: "TARC1", offset: Reg.TARC1, kind: "rw", reset: 0x3 },
  { name: "STATS", offset: Reg.STATS, count: 0x4a, kind: "rc" },
  { name: "RXCSUM", offset: Reg.RXCSUM, kind: "rw", reset: 0x300, wmask: 0x33ff },
  { name: "RFCTL", offset: Reg.RFCTL, kind: "rw" },
  { name: "MTA", offset: Reg.MTA, count: MTA_ENTRIES, kind: "rw" },
  // RAL/RAH pairs: the model fills pair 0 from the NVM's address at reset.
  { name: "RA", offset: Reg.RAL, count: 2 * RA_ENTRIES, kind: "rw" },
  { name: "VFTA", offset: Reg.VFTA, count: VFTA_ENTRIES, kind: "rw" },
  { name: "WUC", offset: Reg.WUC, kind: "rw" },
  { name: "WUFC", offset: Reg.WUFC, kind: "rw" },
  { name: "WUS", offset: Reg.WUS, kind: "rw" },
  { name: "MRQC", offset: Reg.MRQC, kind: "rw" },
  { name: "MANC", offset: Reg.MANC, kind: "rw" },
  { name: "IPAV", offset: Reg.IPAV, kind: "rw" },
  { name: "IP4AT", offset: Reg.IP4AT, count: 7, kind: "rw" },
  { name: "IP6AT", offset: Reg.IP6AT, count: 4, kind: "rw" },
  { name: "WUPL", offset: Reg.WUPL, kind: "rw" },
  { name: "WUPM", offset: Reg.WUPM, count: 32, kind: "rw" },
  { name: "GCR", offset: Reg.GCR, kind: "rw" },
  { name: "GSCL", offset: Reg.GSCL, count: 8, kind: "rw" },
  { name: "FACTPS", offset: Reg.FACTPS, kind: "rw" },
  { name: "SWSM", offset: Reg.SWSM, kind: "rw" },
  { name: "FWSM", offset: Reg.FWSM, kind: "ro" },
  { name: "GCR2", offset: Reg.GCR2, kind: "rw" },
  { name: "RETA", offset: Reg.RETA, count: 32, kind: "rw" },
  { name: "RSSRK", offset: Reg.RSSRK, count: 10, kind: "rw" },
  { name: "FFLT", offset: Reg.FFLT, count: 8, kind: "rw" },
  { name: "HICR", offset: Reg.HICR, kind: "rw" },
  { name: "FFMT", offset: Reg.FFMT, count: 256, kind: "rw" },
  { name: "FFVT", offset: Reg.FFVT, count: 256, kind: "rw" },
  { name: "SYSTIML", offset: Reg.SYSTIML, kind: "rw" },
  { name: "SYSTIMH", offset: Reg.SYSTIMH, kind: "rw" },
  { name: "TIMINCA", offset: Reg.TIMINCA, kind: "rw" },
  { name: "TIMADJL", offset: Reg.TIMADJL, kind: "rw" },
  { name: "TIMADJH", offset: Reg.TIMADJH, kind: "rw" },
  // Time stamping is not modelled: the enable bits read back what was written, and no stamp is taken.
  { name: "TSYNCTXCTL", offset: Reg.TSYNCTXCTL, kind: "rw", wmask: 0x10 },
  { name: "TXSTMPL", offset: Reg.TXSTMPL, kind: "ro" },
  { name: "TXSTMPH", offset: Reg.TXSTMPH, kind: "ro" },
  { name: "TSYNCRXCTL", offset: Reg.TSYNCRXCTL, kind: "rw", wmask: 0x1e },
  { name: "RXSTMPL", offset: Reg.RXSTMPL, kind: "ro" },
  { name: "RXSTMPH", offset: Reg.RXSTMPH, kind: "ro" },
  { name: "RXSATRL", offset: Reg.RXSATRL, kind: "ro" },
  { name: "RXSATRH", offset: Reg.RXSATRH, kind: "ro" },
  { name: "RXCFGL", offset: Reg.RXCFGL, kind: "rw" },
  { name: "RXUDP", offset: Reg.RXUDP, kind: "rw" },
];

/** A register's spec by dword index (offset / 4), built once from REGISTERS. */
export interface RegisterFile {
  /** The spec covering each dword, undefined where no register is. */
  readonly specs: readonly (RegSpec | undefined)[];
  /** Reset value of every dword. */
  readonly reset: Uint32Array;
  /** Write mask of every dword. */
  readonly wmask: Uint32Array;
}

let built: RegisterFile | undefined;

export function registerFile(): RegisterFile {
  if (built !== undefined) return built;
  const n = E1000E_MMIO_SIZE / 4;
  const specs = new Array<RegSpec | undefined>(n).fill(undefined);
  const reset = new Uint32Array(n);
  const wmask = new Uint32Array(n);
  for (const r of REGISTERS) {
    for (let i = 0; i < (r.count ?? 1); i++) {
      const at = r.offset / 4 + i;
      if (specs[at] !== undefined) throw new Error(`e1000e register map: ${r.name} overlaps ${specs[at]?.name ?? ""}`);
      specs[at] = r;
      reset[at] = r.reset ?? 0;
      wmask[at] = r.kind === "ro" || r.kind === "rc" ? 0 : (r.wmask ?? 0xffffffff);
    }
  }
  built = { specs, reset, wmask };
  return built;
}
