/**
 * The 82574L's integrated PHY (datasheet chapter 9, "BM" in Linux's
 * e1000e: PHY ID 0x0141/0x0CB1), reached through MDIC at PHY address 1.
 * Registers 0-15 are IEEE 802.3 clause 22 and the same on every page;
 * register 22 selects the page of registers 16-31 (Linux writes it before
 * touching one of those).  Pages 0-7 are modelled as storage; a register of
 * another page reads 0 and ignores writes.
 *
 * The link is the backend's: while it is up, autonegotiation completes at
 * once (as QEMU completes it on its timer) with a partner that offers
 * 1000BASE-T full duplex and symmetric pause, so Linux resolves "1000 Mbps
 * Full Duplex, Flow Control: Rx/Tx".
 */

/** IEEE and 82574 PHY register numbers. */
export const enum PhyReg {
  BMCR = 0, BMSR = 1, ID1 = 2, ID2 = 3, ANAR = 4, ANLPAR = 5, ANER = 6, ANNPTR = 7, ANLPRNP = 8,
  CTRL_1000 = 9, STAT_1000 = 10, EXT_STATUS = 15, SPEC_CTRL = 16, SPEC_STATUS = 17, INT_ENABLE = 18,
  INT_STATUS = 19, EXT_SPEC_CTRL = 20, RX_ERR_COUNTER = 21, PAGE_SELECT = 22,
}

export const enum Bmcr {
  SPEED_1000 = 0x0040, FULL_DUPLEX = 0x0100, RESTART_AN = 0x0200, AN_ENABLE = 0x1000, RESET = 0x8000,
}

export const enum Bmsr {
  EXT_CAP = 0x0001, LINK = 0x0004, AN_ABLE = 0x0008, AN_COMPLETE = 0x0020, MF_PREAMBLE = 0x0040,
  /** 10/100 half and full duplex abilities. */
  ABILITIES = 0x7800, EXT_STATUS = 0x0100,
}

export const PHY_ID1 = 0x0141;
export const PHY_ID2 = 0x0cb1;
/** The PHY address MDIC must name (datasheet 10.2.2.7: the internal PHY answers at 1). */
export const PHY_ADDRESS = 1;
const PAGES = 8;
const PAGED_FROM = 16;

/** Link partner: next page, acknowledge, symmetric pause, 10/100 half and full, 802.3 selector. */
const ANLPAR_LINK = 0x8000 | 0x4000 | 0x0400 | 0x01e0 | 0x0001;
/** 1000BASE-T status with a partner: local and remote receivers OK, partner 1000 full and half duplex. */
const STAT_1000_LINK = 0x3c00;
/** Copper specific status (M88-style): 1000 Mb/s, full duplex, speed and duplex resolved, link up. */
const SPEC_STATUS_LINK = 0x8000 | 0x2000 | 0x0800 | 0x0400;

/** Reset values of the page-independent registers (0-15). */
const RESET_LOW: readonly number[] = [
  Bmcr.AN_ENABLE | Bmcr.FULL_DUPLEX | Bmcr.SPEED_1000,
  Bmsr.ABILITIES | Bmsr.EXT_STATUS | Bmsr.MF_PREAMBLE | Bmsr.AN_ABLE | Bmsr.EXT_CAP,
  PHY_ID1, PHY_ID2,
  0x0de1, // advertise: pause, asymmetric pause, 10/100 half and full
  0, 0, 0x2001, 0, 0x0300, 0, 0, 0, 0, 0,
  0x3000, // 1000BASE-T full and half duplex capable
];
/** Read-only bits of registers 0-15: everything the IEEE defines as status. */
const READ_ONLY_LOW = new Set<number>([PhyReg.BMSR, PhyReg.ID1, PhyReg.ID2, PhyReg.ANLPAR, PhyReg.ANER,
  PhyReg.ANLPRNP, PhyReg.STAT_1000, PhyReg.EXT_STATUS]);

export class E1000ePhy {
  private readonly low = new Uint16Array(16);
  private readonly pages: Uint16Array[] = [];
  private page = 0;
  private linkUp = true;

  constructor() {
    for (let p = 0; p < PAGES; p++) this.pages.push(new Uint16Array(32 - PAGED_FROM));
    this.reset();
  }

  /** Power-on, CTRL.PHY_RST, CTRL.RST, BMCR.RESET: registers to their defaults, autonegotiation run again. */
  reset(): void {
    this.low.set(RESET_LOW);
    for (const p of this.pages) p.fill(0);
    this.page = 0;
    this.pages[0][PhyReg.SPEC_CTRL - PAGED_FROM] = 0x0068;
    this.pages[0][PhyReg.EXT_SPEC_CTRL - PAGED_FROM] = 0x0c60;
    this.autonegotiate();
  }

  get link(): boolean {
    return this.linkUp;
  }

  /** The backend's link went up or down. */
  setLink(up: boolean): void {
    this.linkUp = up;
    this.autonegotiate();
  }

  read(reg: number): number {
    if (reg < PAGED_FROM) return this.low[reg];
    if (reg === PhyReg.PAGE_SELECT) return this.page;
    return this.page < PAGES ? this.pages[this.page][reg - PAGED_FROM] : 0;
  }

  write(reg: number, value: number): void {
    const v = value & 0xffff;
    if (reg === PhyReg.PAGE_SELECT) {
      this.page = v;
      return;
    }
    if (reg >= PAGED_FROM) {
      if (this.page < PAGES && reg !== PhyReg.SPEC_STATUS && reg !== PhyReg.RX_ERR_COUNTER) {
        this.pages[this.page][reg - PAGED_FROM] = v;
      }
      return;
    }
    if (READ_ONLY_LOW.has(reg)) return;
    if (reg === PhyReg.BMCR) {
      if ((v & Bmcr.RESET) !== 0) {
        this.reset();
        return;
      }
      // Restart is self-clearing; autonegotiation completes at once when enabled.
      this.low[PhyReg.BMCR] = v & ~Bmcr.RESTART_AN;
      if ((v & (Bmcr.RESTART_AN | Bmcr.AN_ENABLE)) !== 0) this.autonegotiate();
      return;
    }
    this.low[reg] = v;
  }

  /** Link status, autonegotiation result and partner abilities follow the link. */
  private autonegotiate(): void {
    const up = this.linkUp;
    const bmsr = this.low[PhyReg.BMSR] & ~(Bmsr.LINK | Bmsr.AN_COMPLETE);
    this.low[PhyReg.BMSR] = up ? bmsr | Bmsr.LINK | Bmsr.AN_COMPLETE : bmsr;
    this.low[PhyReg.ANLPAR] = up ? ANLPAR_LINK : 0;
    this.low[PhyReg.ANER] = up ? 0x0001 : 0;
    this.low[PhyReg.STAT_1000] = up ? STAT_1000_LINK : 0;
    this.pages[0][PhyReg.SPEC_STATUS - PAGED_FROM] = up ? SPEC_STATUS_LINK : 0;
  }
}
