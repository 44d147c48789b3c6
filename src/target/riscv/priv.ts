/**
 * Traps and privilege changes of a system hart: taking an exception or an
 * interrupt (with delegation to S-mode), mret/sret, wfi and sfence.vma.
 */
import { Cause, Priv, type RiscvCpu } from "./cpu.js";
import { Mstatus } from "./hart-state.js";
import { topInterrupt } from "./aia.js";

/** Interrupts in the spec's priority order: MEI, MSI, MTI, SEI, SSI, STI. */
const PRIORITY = [11, 3, 7, 9, 1, 5];

function highest(bits: number): number {
  for (const b of PRIORITY) if ((bits & (1 << b)) !== 0) return b;
  return -1;
}

/**
 * The interrupt the hart takes now, or -1: pending and enabled in mie, and
 * enabled at the current privilege level (mstatus.MIE/SIE, delegation).
 * With AIA the iprio arrays may reorder the interrupts of a level.
 */
export function pendingInterrupt(cpu: RiscvCpu): number {
  const st = cpu.state;
  const pending = (st.mip | st.seipSoftware) & st.mie;
  if (pending === 0) return -1;
  const mEnabled = cpu.priv < Priv.M || (st.mstatus & Mstatus.MIE) !== 0;
  const m = mEnabled ? pending & ~st.mideleg : 0;
  if (m !== 0) return cpu.aia === undefined ? highest(m) : topInterrupt(m, cpu.aia.miprio, 11) >>> 16;
  const sEnabled = cpu.priv < Priv.S || (cpu.priv === Priv.S && (st.mstatus & Mstatus.SIE) !== 0);
  const s = sEnabled ? pending & st.mideleg : 0;
  if (s === 0) return -1;
  return cpu.aia === undefined ? highest(s) : topInterrupt(s, cpu.aia.siprio, 9) >>> 16;
}

/** Whether a waiting (wfi) hart should wake: some interrupt pending and enabled in mie, whatever the global enables. */
export function shouldWake(cpu: RiscvCpu): boolean {
  const st = cpu.state;
  return ((st.mip | st.seipSoftware) & st.mie) !== 0;
}

/**
 * Enter the trap handler for `cause` (an interrupt when `interrupt`) from the
 * instruction at cpu.pc, with tval (hi, lo).
 */
export function takeTrap(cpu: RiscvCpu, cause: number, interrupt: boolean, tvalHi: number, tvalLo: number): void {
  const st = cpu.state;
  // QEMU 7.2 leaves xtval zero for ebreak (the spec allows zero or the pc); the interpreter raises it with the pc.
  if (!interrupt && cause === Cause.BREAKPOINT) tvalHi = tvalLo = 0;
  const deleg = interrupt ? st.mideleg : st.medeleg;
  const toS = cpu.priv <= Priv.S && ((deleg >>> cause) & 1) !== 0;
  const causeHi = interrupt ? 0x80000000 | 0 : 0;
  let ms = st.mstatus;
  if (toS) {
    st.sepc = cpu.pc;
    st.scauseLo = cause; st.scauseHi = causeHi;
    st.stvalLo = tvalLo; st.stvalHi = tvalHi;
    ms = (ms & ~(Mstatus.SPP | Mstatus.SPIE)) | (cpu.priv === Priv.S ? Mstatus.SPP : 0) |
      ((ms & Mstatus.SIE) !== 0 ? Mstatus.SPIE : 0);
    ms &= ~Mstatus.SIE;
    cpu.pc = vector(st.stvec, cause, interrupt);
    cpu.priv = Priv.S;
  } else {
    st.mepc = cpu.pc;
    st.mcauseLo = cause; st.mcauseHi = causeHi;
    st.mtvalLo = tvalLo; st.mtvalHi = tvalHi;
    ms = (ms & ~(Mstatus.MPP | Mstatus.MPIE)) | (cpu.priv << Mstatus.MPP_SHIFT) |
      ((ms & Mstatus.MIE) !== 0 ? Mstatus.MPIE : 0);
    ms &= ~Mstatus.MIE;
    cpu.pc = vector(st.mtvec, cause, interrupt);
    cpu.priv = Priv.M;
  }
  st.mstatus = ms;
  st.waiting = false;
  st.wfiSpins = 0;
  cpu.resValid = false;
  cpu.selectTlb();
}

function vector(tvec: number, cause: number, interrupt: boolean): number {
  const base = tvec - (((tvec % 4) + 4) % 4);
  return interrupt && (tvec & 1) !== 0 ? base + 4 * cause : base;
}

/** Falling-through wfis, with no trap between them, after which a hart yields its turn. */
const WFI_SPINS_TO_YIELD = 2;

/** What a privileged instruction did (see execPriv). */
export const enum PrivResult { ILLEGAL = 0, NEXT, JUMP, WAIT }

/**
 * Execute mret, sret, wfi or sfence.vma.  JUMP: continue at cpu.pc (set
 * here); NEXT: continue after the instruction; WAIT: the hart waits for an
 * interrupt (after the instruction); ILLEGAL: raise illegal instruction.
 */
export function execMret(cpu: RiscvCpu): PrivResult {
  if (cpu.priv !== Priv.M) return PrivResult.ILLEGAL;
  const st = cpu.state;
  let ms = st.mstatus;
  const mpp = (ms & Mstatus.MPP) >>> Mstatus.MPP_SHIFT;
  ms = (ms & Mstatus.MPIE) !== 0 ? ms | Mstatus.MIE : ms & ~Mstatus.MIE;
  ms = (ms | Mstatus.MPIE) & ~Mstatus.MPP;
  if (mpp !== Priv.M) ms &= ~Mstatus.MPRV;
  st.mstatus = ms;
  cpu.priv = mpp;
  cpu.pc = st.mepc;
  cpu.resValid = false;
  cpu.selectTlb();
  return PrivResult.JUMP;
}

export function execSret(cpu: RiscvCpu): PrivResult {
  const st = cpu.state;
  if (cpu.priv === Priv.U || (cpu.priv === Priv.S && (st.mstatus & Mstatus.TSR) !== 0)) return PrivResult.ILLEGAL;
  let ms = st.mstatus;
  const spp = (ms & Mstatus.SPP) !== 0 ? Priv.S : Priv.U;
  ms = (ms & Mstatus.SPIE) !== 0 ? ms | Mstatus.SIE : ms & ~Mstatus.SIE;
  ms = (ms | Mstatus.SPIE) & ~Mstatus.SPP & ~Mstatus.MPRV;
  st.mstatus = ms;
  cpu.priv = spp;
  cpu.pc = st.sepc;
  cpu.resValid = false;
  cpu.selectTlb();
  return PrivResult.JUMP;
}

export function execWfi(cpu: RiscvCpu): PrivResult {
  if (cpu.priv === Priv.U || (cpu.priv === Priv.S && (cpu.state.mstatus & Mstatus.TW) !== 0)) {
    return PrivResult.ILLEGAL;
  }
  const st = cpu.state;
  // A wfi with an interrupt already pending (even globally disabled) falls through.
  // Falling through again without a trap in between means the hart polls with its
  // interrupts masked: it gives up its turn (a scheduling hint; see SystemLoop).
  if (shouldWake(cpu)) {
    if (++st.wfiSpins >= WFI_SPINS_TO_YIELD) st.wfiYield = true;
    return PrivResult.NEXT;
  }
  st.wfiSpins = 0;
  st.waiting = true;
  return PrivResult.WAIT;
}

/**
 * sfence.vma: with rs1 = x0 every translation goes; with an address (hi, lo:
 * rs1's value) only that page's, whatever the ASID (the TLBs hold the current
 * satp's translations only, flushed when satp is written).  Linux issues the
 * one-page form for every PTE it fixes up on a fault (update_mmu_cache).
 */
export function execSfenceVma(cpu: RiscvCpu, whole: boolean, hi: number, lo: number): PrivResult {
  if (cpu.priv === Priv.U || (cpu.priv === Priv.S && (cpu.state.mstatus & Mstatus.TVM) !== 0)) {
    return PrivResult.ILLEGAL;
  }
  if (whole) cpu.flushTlbs();
  else cpu.flushTlbPage(hi, lo);
  return PrivResult.NEXT;
}

/** The ecall cause for the current privilege level. */
export function ecallCause(cpu: RiscvCpu): Cause {
  return cpu.priv === Priv.M ? Cause.ECALL_M : cpu.priv === Priv.S ? Cause.ECALL_S : Cause.ECALL_U;
}
