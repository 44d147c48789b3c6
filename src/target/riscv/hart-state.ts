/**
 * The privileged state of a hart (machine and supervisor CSRs) for the system
 * emulator.  64-bit values that may hold any bit pattern are kept as int32
 * halves; addresses (tvec, epc) as exact signed Numbers like the pc.
 */
import { Triggers } from "./triggers.js";
export const enum Mstatus {
  SIE = 1 << 1, MIE = 1 << 3, SPIE = 1 << 5, MPIE = 1 << 7, SPP = 1 << 8,
  MPP_SHIFT = 11, MPP = 3 << 11, FS_SHIFT = 13, FS = 3 << 13,
  MPRV = 1 << 17, SUM = 1 << 18, MXR = 1 << 19, TVM = 1 << 20, TW = 1 << 21, TSR = 1 << 22,
}

/** The mstatus bits a write may change (others are read-only zero here). */
export const MSTATUS_WRITABLE = Mstatus.SIE | Mstatus.MIE | Mstatus.SPIE | Mstatus.MPIE | Mstatus.SPP |
  Mstatus.MPP | Mstatus.FS | Mstatus.MPRV | Mstatus.SUM | Mstatus.MXR | Mstatus.TVM | Mstatus.TW | Mstatus.TSR;
/** The view sstatus gives of mstatus. */
export const SSTATUS_MASK = Mstatus.SIE | Mstatus.SPIE | Mstatus.SPP | Mstatus.FS | Mstatus.SUM | Mstatus.MXR;

/** Interrupt bits of mip/mie. */
export const enum Irq { SSI = 1 << 1, MSI = 1 << 3, STI = 1 << 5, MTI = 1 << 7, SEI = 1 << 9, MEI = 1 << 11 }
export const S_INTERRUPTS = Irq.SSI | Irq.STI | Irq.SEI;
export const ALL_INTERRUPTS = S_INTERRUPTS | Irq.MSI | Irq.MTI | Irq.MEI;

/** satp modes. */
export const enum SatpMode { BARE = 0, SV39 = 8, SV48 = 9 }

export class HartState {
  mhartid = 0;
  /** mstatus bits 31:0 (UXL/SXL are fixed at 64-bit, SD is computed). */
  mstatus = 0;
  /** Pending interrupts: bits driven by devices (MSIP, MTIP, MEIP, SEIP from the PLIC) plus SSIP and STIP. */
  mip = 0;
  /**
   * mip.SEIP as software wrote it (0 or Irq.SEI), kept apart from the PLIC's
   * line: the SEIP that reads back and interrupts is the OR of the two
   * (privileged spec 3.1.9; QEMU 7.2 keeps them apart the same way).
   */
  seipSoftware = 0;
  mie = 0;
  medeleg = 0;
  mideleg = 0;
  mtvec = 0;
  stvec = 0;
  mepc = 0;
  sepc = 0;
  /** Cause with the interrupt flag as bit 31 of the high half. */
  mcauseLo = 0; mcauseHi = 0;
  scauseLo = 0; scauseHi = 0;
  mtvalLo = 0; mtvalHi = 0;
  stvalLo = 0; stvalHi = 0;
  mscratchLo = 0; mscratchHi = 0;
  sscratchLo = 0; sscratchHi = 0;
  satpMode: number = SatpMode.BARE;
  satpAsid = 0;
  /** Root page-table physical page number. */
  satpPpn = 0;
  mcounteren = 0;
  scounteren = 0;
  mcountinhibit = 0;
  /** mcycle and minstret: a base value and the instret they count on from (target/riscv/counters.ts). */
  mcycleBase = 0; mcycleAt = 0;
  minstretBase = 0; minstretAt = 0;
  /** The debug triggers (Sdtrig). */
  readonly trig = new Triggers();
  menvcfgLo = 0; menvcfgHi = 0;
  senvcfg = 0;
  /** PMP: 16 configuration bytes and 16 address registers (physical address >> 2). */
  readonly pmpcfg = new Uint8Array(16);
  readonly pmpaddr = new Float64Array(16);
  /** The pmpaddr registers exactly as written (54 bits exceed a double's precision; pmpaddr above is for range checks). */
  readonly pmpaddrLo = new Int32Array(16);
  readonly pmpaddrHi = new Int32Array(16);
  /** Byte ranges of the entries (end <= start: off) and how many entries to look at; see pmpUpdate. */
  readonly pmpStart = new Float64Array(16);
  readonly pmpEnd = new Float64Array(16);
  pmpCount = 0;
  /** Hart is waiting in WFI. */
  waiting = false;
  /**
   * wfi instructions that fell through (an interrupt pending in mie but not
   * taken) since the hart last entered a trap or slept: a hart polling a flag
   * around wfi with its interrupts masked (OpenSBI's HSM wait) counts up.
   */
  wfiSpins = 0;
  /** Set when such a wfi should end the hart's turn (the run loop clears it). */
  wfiYield = false;

  reset(hartid: number): void {
    this.mhartid = hartid;
    this.mstatus = 0;
    this.mip = 0;
    this.seipSoftware = 0;
    this.mie = 0;
    this.medeleg = 0;
    this.mideleg = 0;
    this.mtvec = 0;
    this.stvec = 0;
    this.mepc = 0;
    this.sepc = 0;
    this.mcauseLo = this.mcauseHi = this.scauseLo = this.scauseHi = 0;
    this.mtvalLo = this.mtvalHi = this.stvalLo = this.stvalHi = 0;
    this.mscratchLo = this.mscratchHi = this.sscratchLo = this.sscratchHi = 0;
    this.satpMode = SatpMode.BARE;
    this.satpAsid = 0;
    this.satpPpn = 0;
    this.mcounteren = this.scounteren = this.mcountinhibit = 0;
    this.mcycleBase = this.mcycleAt = this.minstretBase = this.minstretAt = 0;
    this.trig.reset();
    this.menvcfgLo = this.menvcfgHi = this.senvcfg = 0;
    this.pmpcfg.fill(0);
    this.pmpaddr.fill(0);
    this.pmpaddrLo.fill(0);
    this.pmpaddrHi.fill(0);
    this.pmpStart.fill(0);
    this.pmpEnd.fill(0);
    this.pmpCount = 0;
    this.waiting = false;
    this.wfiSpins = 0;
    this.wfiYield = false;
  }
}
