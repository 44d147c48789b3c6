/** An interrupt line from a device to an interrupt controller (level-triggered). */
export interface IrqLine {
  set(level: boolean): void;
}

/** An IrqLine that records its level: for tests and for devices with no controller attached. */
export class IrqLevel implements IrqLine {
  level = false;
  set(level: boolean): void {
    this.level = level;
  }
}

/** Lines from an interrupt controller into a hart: the mip bit numbers of the privileged spec. */
export const enum MipBit { SSIP = 1, MSIP = 3, STIP = 5, MTIP = 7, SEIP = 9, MEIP = 11 }

/** Where an interrupt controller drives a hart's mip bits. */
export interface HartIrqs {
  setMip(hart: number, bit: MipBit, level: boolean): void;
}
