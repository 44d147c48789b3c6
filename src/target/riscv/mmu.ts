/**
 * Address translation of a system hart: Sv39 and Sv48 page walks with the
 * A and D bits updated by hardware (as QEMU does), PMP, and the physical bus
 * behind them.  Implements CpuMemory for the system emulator; successful
 * translations of RAM pages that PMP allows whole are cached in the hart's TLB.
 */
import { Cause, Priv, TRANSLATE_IO, type CpuMemory, type RiscvCpu } from "./cpu.js";
import { Access } from "./tlb.js";
import type { GuestRam } from "./ram.js";
import { Mstatus, SatpMode } from "./hart-state.js";
import { PmpResult, pmpCheck } from "./pmp.js";

/** What the MMU needs of the board's physical address space. */
export interface PhysBus {
  readonly ram: GuestRam;
  /**
   * Host byte offset of the page at physical `page` (4 KiB aligned) when it is
   * memory the access may use directly; -2 when devices answer there; -1 when
   * nothing does.
   */
  hostPage(page: number, access: Access): number;
  /** Device read of `size` bytes at `pa`; the value in out[0] (low) and out[1] (high).  False: nothing answers. */
  ioRead(pa: number, size: number, out: Int32Array): boolean;
  ioWrite(pa: number, size: number, lo: number, hi: number): boolean;
}

const TWO32 = 4294967296;
const PAGE = 4096;
const PTE_V = 1, PTE_R = 2, PTE_W = 4, PTE_X = 8, PTE_U = 16, PTE_A = 0x40, PTE_D = 0x80;
/** Pages covered by one entry at each level of a walk (a constant table: 2 ** (9 * level) called Math.pow in every walk). */
const SPAN = [1, 512, 512 * 512, 512 * 512 * 512];
/** Physical addresses are 56 bits. */
const PA_LIMIT = 2 ** 56;

export class SystemMemory implements CpuMemory {
  readonly ram: GuestRam;
  private readonly io = new Int32Array(2);
  /** Pages the leaf of the last successful walk maps (1, or a superpage's 512, 512^2, 512^3). */
  private leafPages = 1;

  constructor(readonly bus: PhysBus) {
    this.ram = bus.ram;
  }

  translate(cpu: RiscvCpu, hi: number, lo: number, access: Access): number {
    // An entry its TLB slot gave up to another page (see tlb.ts): every change that would make it stale flushed it.
    const victim = cpu.tlb.victim(access, hi, lo);
    if (victim >= 0) return victim + (lo & (PAGE - 1));
    const st = cpu.state;
    let priv = cpu.priv;
    if (access !== Access.FETCH && priv === Priv.M && (st.mstatus & Mstatus.MPRV) !== 0) {
      priv = (st.mstatus & Mstatus.MPP) >>> Mstatus.MPP_SHIFT;
    }
    let pa: number;
    let walked = false;
    if (priv === Priv.M || st.satpMode === SatpMode.BARE) {
      pa = hi * TWO32 + (lo >>> 0);
      if (pa < 0 || pa >= PA_LIMIT) return this.accessFault(cpu, hi, lo, access);
    } else {
      pa = this.walk(cpu, hi, lo, access, priv);
      if (pa < 0) return -1;
      walked = true;
    }
    const pmp = pmpCheck(st, pa, access, priv);
    if (pmp === PmpResult.DENY) return this.accessFault(cpu, hi, lo, access);
    const offset = lo & (PAGE - 1);
    const host = this.bus.hostPage(pa - offset, access);
    if (host === -2) {
      if (access === Access.FETCH) return this.accessFault(cpu, hi, lo, access);
      cpu.ioAddr = pa;
      // Kept for the access fault should no device answer.
      cpu.trapTvalHi = hi;
      cpu.trapTvalLo = lo;
      return TRANSLATE_IO;
    }
    if (host < 0) return this.accessFault(cpu, hi, lo, access);
    if (pmp === PmpResult.ALLOW_PAGE) {
      cpu.fillTlb(access, hi, lo, host);
      if (walked && this.leafPages > 1) cpu.tlb.coverLarge(hi, lo, this.leafPages * PAGE);
    }
    return host + offset;
  }

  ioLoad(cpu: RiscvCpu, size: number, access: Access): boolean {
    if (!this.bus.ioRead(cpu.ioAddr, size, this.io)) {
      this.accessFault(cpu, cpu.trapTvalHi, cpu.trapTvalLo, access);
      return false;
    }
    cpu.tmpLo = this.io[0];
    cpu.tmpHi = this.io[1];
    return true;
  }

  ioStore(cpu: RiscvCpu, size: number, lo: number, hi: number): boolean {
    if (!this.bus.ioWrite(cpu.ioAddr, size, lo, hi)) {
      this.accessFault(cpu, cpu.trapTvalHi, cpu.trapTvalLo, Access.WRITE);
      return false;
    }
    return true;
  }

  private accessFault(cpu: RiscvCpu, hi: number, lo: number, access: Access): number {
    cpu.raise(access === Access.WRITE ? Cause.STORE_ACCESS : access === Access.FETCH ? Cause.INSN_ACCESS
      : Cause.LOAD_ACCESS, hi, lo);
    return -1;
  }

  private pageFault(cpu: RiscvCpu, hi: number, lo: number, access: Access): number {
    cpu.raise(access === Access.WRITE ? Cause.STORE_PAGE_FAULT : access === Access.FETCH ? Cause.INSN_PAGE_FAULT
      : Cause.LOAD_PAGE_FAULT, hi, lo);
    return -1;
  }

  /** Walk the page table for (hi, lo); the physical address, or -1 after raising the fault. */
  private walk(cpu: RiscvCpu, hi: number, lo: number, access: Access, priv: number): number {
    const st = cpu.state;
    const levels = st.satpMode === SatpMode.SV39 ? 3 : 4;
    // The upper address bits must copy bit 38 (Sv39) or 47 (Sv48).
    const top = hi >> (levels === 3 ? 6 : 15);
    if (top !== 0 && top !== -1) return this.pageFault(cpu, hi, lo, access);
    const vpnAll = (hi & 0xffff) * 1048576 + (lo >>> 12); // address bits 47:12
    const i32 = this.ram.i32;
    let table = st.satpPpn * PAGE;
    for (let level = levels - 1; level >= 0; level--) {
      const span = SPAN[level];
      const vpn = Math.floor(vpnAll / span) % 512;
      const pteAddr = table + vpn * 8;
      const pageHost = this.bus.hostPage(pteAddr - (pteAddr % PAGE), Access.READ);
      if (pageHost < 0 || pmpCheck(st, pteAddr, Access.READ, Priv.S) === PmpResult.DENY) {
        return this.accessFault(cpu, hi, lo, access);
      }
      const at = (pageHost + (pteAddr % PAGE)) >> 2;
      let pteLo = i32[at];
      const pteHi = i32[at + 1];
      if ((pteLo & PTE_V) === 0 || (pteLo & (PTE_R | PTE_W)) === PTE_W || (pteHi >>> 22) !== 0) {
        return this.pageFault(cpu, hi, lo, access);
      }
      const ppn = (pteHi & 0x3fffff) * 4194304 + (pteLo >>> 10);
      if ((pteLo & (PTE_R | PTE_X)) === 0) {
        table = ppn * PAGE;
        continue;
      }
      // A leaf.
      if (ppn % span !== 0) return this.pageFault(cpu, hi, lo, access);
      const user = (pteLo & PTE_U) !== 0;
      if (priv === Priv.U && !user) return this.pageFault(cpu, hi, lo, access);
      if (priv === Priv.S && user && (access === Access.FETCH || (st.mstatus & Mstatus.SUM) === 0)) {
        return this.pageFault(cpu, hi, lo, access);
      }
      const allowed = access === Access.READ
        ? (pteLo & PTE_R) !== 0 || ((st.mstatus & Mstatus.MXR) !== 0 && (pteLo & PTE_X) !== 0)
        : access === Access.WRITE ? (pteLo & PTE_W) !== 0 : (pteLo & PTE_X) !== 0;
      if (!allowed) return this.pageFault(cpu, hi, lo, access);
      const want = PTE_A | (access === Access.WRITE ? PTE_D : 0);
      if ((pteLo & want) !== want) {
        pteLo |= want;
        i32[at] = pteLo;
        this.ram.dropCode(pageHost >>> 12);
      }
      this.leafPages = span;
      return (ppn + (vpnAll % span)) * PAGE + (lo & (PAGE - 1));
    }
    return this.pageFault(cpu, hi, lo, access);
  }
}
