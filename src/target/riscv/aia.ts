/**
 * Smaia and Ssaia, the hart side of the Advanced Interrupt Architecture
 * (RISC-V AIA 1.0, chapters 2 and 5): the indirect register windows
 * miselect/mireg and siselect/sireg, the major-interrupt priorities iprio0-15
 * reached through them, mtopi/stopi, and mtopei/stopei with the registers of
 * the hart's IMSIC interrupt files.  The files belong to the board; target/
 * reaches them only through ImsicInterruptFile.
 *
 * The CSRs join the table only when a board with an IMSIC asks for them
 * (registerAiaCsrs), and each is present only on a hart whose `aia` is set:
 * a hart without AIA keeps its illegal-instruction behaviour, and the
 * interpreter's path is unchanged (CSR accesses already go through the table).
 */
import { registerCsrs, type CsrDef } from "./csr.js";
import type { RiscvCpu } from "./cpu.js";

/** What the AIA CSRs need from one IMSIC interrupt file (implemented by hw/intc/imsic.ts). */
export interface ImsicInterruptFile {
  /**
   * Read the indirect register `iselect` (0x70 eidelivery, 0x72 eithreshold,
   * 0x80-0xbf eip, 0xc0-0xff eie; RV64: even numbers only) into out[0] (low
   * 32 bits) and out[1] (high); false when there is no such register.
   */
  readIndirect(iselect: number, out: Int32Array): boolean;
  /** Write it (the value of a read-modify-write already computed); false when there is no such register. */
  writeIndirect(iselect: number, lo: number, hi: number): boolean;
  /** The topei value: (id << 16) | id of the highest-priority pending and enabled id above the threshold, or 0. */
  topei(): number;
  /** Clear the pending bit of the id topei reports (a write to mtopei/stopei). */
  claimTopei(): void;
}

/** miselect/siselect values (AIA 1.0 table 2.1 and chapter 3). */
export const enum Iselect {
  IPRIO0 = 0x30, IPRIO15 = 0x3f,
  EIDELIVERY = 0x70, EITHRESHOLD = 0x72,
  EIP0 = 0x80, EIP63 = 0xbf, EIE0 = 0xc0, EIE63 = 0xff,
}

/** The per-hart AIA state: the select registers, the iprio arrays and the hart's interrupt files. */
export class HartAia {
  miselect = 0;
  siselect = 0;
  /** Priority numbers of major interrupts 0-63 at M and S level (0: the default order). */
  readonly miprio = new Uint8Array(64);
  readonly siprio = new Uint8Array(64);
  /** Scratch for 64-bit indirect reads. */
  readonly out = new Int32Array(2);

  constructor(readonly mFile: ImsicInterruptFile, readonly sFile: ImsicInterruptFile) {}

  reset(): void {
    this.miselect = 0;
    this.siselect = 0;
    this.miprio.fill(0);
    this.siprio.fill(0);
  }
}

/** The select registers hold 9 bits (QEMU 7.2's ISELECT_MASK): enough for 0x000-0x1ff. */
const ISELECT_MASK = 0x1ff;
const IRQ_S_EXT = 9;
const IRQ_M_EXT = 11;
/** Major interrupts from highest to lowest default priority (privileged spec 3.1.9; AIA 1.0 table 5.1 for 0-13). */
const DEFAULT_ORDER = [11, 3, 7, 9, 1, 5];
const RANK = new Int32Array(64).fill(DEFAULT_ORDER.length);
DEFAULT_ORDER.forEach((irq, i) => { RANK[irq] = i; });

/**
 * The highest-priority interrupt among `pending` (a mask of major interrupt
 * bits), with its reported priority, as topi encodes it: (irq << 16) | prio,
 * or 0.  A nonzero priority number p ranks the interrupt as the external
 * interrupt of number p would; a zero one keeps its default place, above or
 * below the external interrupt (AIA 1.0 section 5.1).  The reported priority
 * of a zero-numbered interrupt is 0 above the external interrupt and 255
 * below it, as QEMU 7.2 reports it.
 */
export function topInterrupt(pending: number, iprio: Uint8Array, ext: number): number {
  let best = -1;
  let bestGroup = 3;
  let bestKey = 0;
  for (let bits = pending; bits !== 0; bits &= bits - 1) {
    const irq = 31 - Math.clz32(bits & -bits);
    const p = irq === ext ? 0 : iprio[irq];
    // Groups: 0 above the external interrupt by default, 1 the external one and every numbered one, 2 below.
    const group = p !== 0 || irq === ext ? 1 : RANK[irq] < RANK[ext] ? 0 : 2;
    const key = (p << 8) | RANK[irq];
    if (group < bestGroup || (group === bestGroup && key < bestKey)) {
      best = irq;
      bestGroup = group;
      bestKey = key;
    }
  }
  if (best < 0) return 0;
  const reported = iprio[best] !== 0 && best !== ext ? iprio[best] : bestGroup === 2 ? 255 : 0;
  return (best << 16) | reported;
}

/** mip as the interrupt logic sees it (the device lines plus the software SEIP). */
function pendingBits(cpu: RiscvCpu): number {
  return (cpu.state.mip | cpu.state.seipSoftware) & cpu.state.mie;
}

/** mtopi: the top pending-and-enabled interrupt for M level, whatever mstatus.MIE says. */
export function mtopi(cpu: RiscvCpu, aia: HartAia): number {
  return topInterrupt(pendingBits(cpu) & ~cpu.state.mideleg, aia.miprio, IRQ_M_EXT);
}

/** stopi: the same for the interrupts delegated to S level. */
export function stopi(cpu: RiscvCpu, aia: HartAia): number {
  return topInterrupt(pendingBits(cpu) & cpu.state.mideleg, aia.siprio, IRQ_S_EXT);
}

/**
 * iprio0-15 through mireg/sireg: on RV64 only the even ones exist, each
 * holding eight 8-bit priority numbers (iprio0 for interrupts 0-7, iprio2
 * for 8-15, and so on).  The external interrupt's own number is read-only zero.
 */
function readIprio(iprio: Uint8Array, iselect: number, out: Int32Array): boolean {
  if ((iselect & 1) !== 0) return false;
  const first = (iselect - Iselect.IPRIO0) * 4;
  out[0] = iprio[first] | (iprio[first + 1] << 8) | (iprio[first + 2] << 16) | (iprio[first + 3] << 24);
  out[1] = iprio[first + 4] | (iprio[first + 5] << 8) | (iprio[first + 6] << 16) | (iprio[first + 7] << 24);
  return true;
}

function writeIprio(iprio: Uint8Array, iselect: number, lo: number, hi: number, ext: number): boolean {
  if ((iselect & 1) !== 0) return false;
  const first = (iselect - Iselect.IPRIO0) * 4;
  for (let i = 0; i < 8; i++) {
    if (first + i === ext) continue;
    iprio[first + i] = (i < 4 ? lo >>> (8 * i) : hi >>> (8 * (i - 4))) & 0xff;
  }
  return true;
}

/** The file an indirect access at `iselect` reaches (or the iprio array), for M (`m`) or S. */
function readIreg(aia: HartAia, m: boolean, iselect: number): boolean {
  if (iselect >= Iselect.IPRIO0 && iselect <= Iselect.IPRIO15) {
    return readIprio(m ? aia.miprio : aia.siprio, iselect, aia.out);
  }
  return (m ? aia.mFile : aia.sFile).readIndirect(iselect, aia.out);
}

function writeIreg(aia: HartAia, m: boolean, iselect: number, lo: number, hi: number): boolean {
  if (iselect >= Iselect.IPRIO0 && iselect <= Iselect.IPRIO15) {
    return writeIprio(m ? aia.miprio : aia.siprio, iselect, lo, hi, m ? IRQ_M_EXT : IRQ_S_EXT);
  }
  return (m ? aia.mFile : aia.sFile).writeIndirect(iselect, lo, hi);
}

const present = (cpu: RiscvCpu): boolean => cpu.aia !== undefined;
const aiaOf = (cpu: RiscvCpu): HartAia => cpu.aia as HartAia;

/**
 * mireg/sireg: an access to a select value that names nothing is an
 * illegal instruction, as in QEMU 7.2; the read hook reports it by
 * returning false (see CsrDef.read).
 */
function iregDef(num: number, name: string, m: boolean): CsrDef {
  return {
    num, name, present,
    read(cpu) {
      const aia = aiaOf(cpu);
      const ok = readIreg(aia, m, m ? aia.miselect : aia.siselect);
      cpu.tmpLo = ok ? aia.out[0] : 0;
      cpu.tmpHi = ok ? aia.out[1] : 0;
      return ok;
    },
    write(cpu, lo, hi) {
      const aia = aiaOf(cpu);
      writeIreg(aia, m, m ? aia.miselect : aia.siselect, lo, hi);
    },
  };
}

function topeiDef(num: number, name: string, m: boolean): CsrDef {
  return {
    num, name, present,
    read(cpu) {
      const aia = aiaOf(cpu);
      cpu.tmpLo = (m ? aia.mFile : aia.sFile).topei();
      cpu.tmpHi = 0;
    },
    // Any write claims what topei shows, whatever the value (csrrw mtopei, zero is OpenSBI's and Linux's way).
    write(cpu) {
      const aia = aiaOf(cpu);
      (m ? aia.mFile : aia.sFile).claimTopei();
    },
  };
}

const defs: CsrDef[] = [
  {
    num: 0x350, name: "miselect", present,
    read(cpu) { cpu.tmpLo = aiaOf(cpu).miselect; cpu.tmpHi = 0; },
    write(cpu, lo) { aiaOf(cpu).miselect = lo & ISELECT_MASK; },
  },
  iregDef(0x351, "mireg", true),
  topeiDef(0x35c, "mtopei", true),
  { num: 0xfb0, name: "mtopi", present, read(cpu) { cpu.tmpLo = mtopi(cpu, aiaOf(cpu)); cpu.tmpHi = 0; } },
  {
    num: 0x150, name: "siselect", present,
    read(cpu) { cpu.tmpLo = aiaOf(cpu).siselect; cpu.tmpHi = 0; },
    write(cpu, lo) { aiaOf(cpu).siselect = lo & ISELECT_MASK; },
  },
  iregDef(0x151, "sireg", false),
  topeiDef(0x15c, "stopei", false),
  { num: 0xdb0, name: "stopi", present, read(cpu) { cpu.tmpLo = stopi(cpu, aiaOf(cpu)); cpu.tmpHi = 0; } },
];

let registered = false;
/** Make the AIA CSRs exist in the table (idempotent); each is present only on a hart with `aia` set. */
export function registerAiaCsrs(): void {
  if (registered) return;
  registerCsrs(defs);
  registered = true;
}
