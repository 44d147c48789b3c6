/**
 * Breakpoints and watchpoints of one debugged machine or process, shared by
 * all its harts, by virtual address as gdb gives them.
 *
 * A breakpoint costs nothing until its instruction is decoded: inserting one
 * drops the decoded code, and the interpreter asks breakpointAt() only when
 * it decodes (interp.ts).  A watchpoint keeps its pages out of every TLB, so
 * that accesses to them take loadSlow/storeSlow, which ask watchHit(); as
 * QEMU's riscv stub (gdb_stop_before_watchpoint), a hit stops the hart
 * before the access, and gdb steps over it itself.
 */
import type { RiscvCpu } from "../target/riscv/cpu.js";
import type { GuestRam } from "../target/riscv/ram.js";
import { PointType } from "./target.js";

const TWO32 = 4294967296;

export interface Watchpoint {
  type: PointType;
  /** Start as a signed address (as the pc is kept), and length in bytes. */
  addr: number;
  len: number;
  /** The address as gdb gave it, for the stop reply. */
  gdbAddr: bigint;
}

/** gdb's unsigned 64-bit address as the signed Number the CPU keeps addresses in. */
export function signedAddress(addr: bigint): number {
  return Number(BigInt.asIntN(64, addr));
}

export class DebugPoints {
  private readonly breakpoints = new Map<number, number>();
  private watchpoints: Watchpoint[] = [];
  private readonly watchedPages = new Set<number>();
  /** The watchpoint the last failed access hit, until the owner takes it. */
  private pendingHit: { cpu: RiscvCpu; wp: Watchpoint } | undefined;
  /**
   * Whether code may have been decoded since the decoded code was last
   * dropped.  gdb inserts every breakpoint again at each resume, single steps
   * included, and one drop serves them all.
   */
  private decodedSinceDrop = true;

  constructor(private readonly ram: GuestRam) {}

  get empty(): boolean {
    return this.breakpoints.size === 0 && this.watchpoints.length === 0;
  }

  insert(type: PointType, addr: bigint, len: number): boolean {
    const at = signedAddress(addr);
    if (type === PointType.SW_BREAK || type === PointType.HW_BREAK) {
      this.breakpoints.set(at, (this.breakpoints.get(at) ?? 0) + 1);
      if (this.decodedSinceDrop) this.dropDecodedCode();
      return true;
    }
    if (len <= 0 || len > 1 << 20) return false;
    this.watchpoints.push({ type, addr: at, len, gdbAddr: addr });
    this.rebuildPages();
    return true;
  }

  remove(type: PointType, addr: bigint, len: number): boolean {
    const at = signedAddress(addr);
    if (type === PointType.SW_BREAK || type === PointType.HW_BREAK) {
      const n = this.breakpoints.get(at);
      if (n === undefined) return false;
      // Nothing to drop: a breakpoint's instruction was never decoded.
      if (n > 1) this.breakpoints.set(at, n - 1);
      else this.breakpoints.delete(at);
      return true;
    }
    const i = this.watchpoints.findIndex((w) => w.type === type && w.addr === at && w.len === len);
    if (i < 0) return false;
    this.watchpoints.splice(i, 1);
    this.rebuildPages();
    return true;
  }

  clear(): void {
    this.breakpoints.clear();
    this.watchpoints = [];
    this.watchedPages.clear();
    this.pendingHit = undefined;
  }

  breakpointAt(pc: number): boolean {
    return this.breakpoints.size !== 0 && this.breakpoints.has(pc);
  }

  watchesPage(hi: number, lo: number): boolean {
    return this.watchedPages.size !== 0 && this.watchedPages.has(hi * 1048576 + (lo >>> 12));
  }

  /** Whether an access hits a watchpoint of its kind; a hit is kept for takeHit(). */
  watchHit(cpu: RiscvCpu, hi: number, lo: number, size: number, write: boolean): boolean {
    if (this.watchpoints.length === 0) return false;
    const addr = hi * TWO32 + (lo >>> 0);
    for (const wp of this.watchpoints) {
      const kindMatches = wp.type === PointType.ACCESS_WATCH || (write ? wp.type === PointType.WRITE_WATCH : wp.type === PointType.READ_WATCH);
      if (kindMatches && addr < wp.addr + wp.len && wp.addr < addr + size) {
        this.pendingHit = { cpu, wp };
        return true;
      }
    }
    return false;
  }

  /** The watchpoint `cpu` hit in its last run, if that is why it stopped. */
  takeHit(cpu: RiscvCpu): Watchpoint | undefined {
    const h = this.pendingHit;
    if (h === undefined || h.cpu !== cpu) return undefined;
    this.pendingHit = undefined;
    return h.wp;
  }

  /** A hart is about to run (CpuDebug.enter): it may decode. */
  running(): void {
    this.decodedSinceDrop = true;
  }

  /** Make every hart decode again, so that new breakpoints are seen. */
  private dropDecodedCode(): void {
    for (let p = 0; p < this.ram.pages; p++) this.ram.dropCode(p);
    this.decodedSinceDrop = false;
  }

  private rebuildPages(): void {
    this.watchedPages.clear();
    for (const wp of this.watchpoints) {
      const first = Math.floor(wp.addr / 4096);
      const last = Math.floor((wp.addr + wp.len - 1) / 4096);
      for (let p = first; p <= last; p++) this.watchedPages.add(p);
    }
    // Cached translations of the newly watched pages must go; the others come back on their own.
    for (const t of this.ram.tlbs) t.flushAll();
  }
}
