/**
 * One RISC-V hart: architectural state and the slow paths of memory access.
 *
 * 64-bit integer registers are held as int32 halves in two typed arrays
 * (`xl` low, `xh` high): bench/regs-micro.ts measured this against BigInt on
 * an interpreter-like mix of operations (see docs/performance.md).  Register
 * 32 is a write sink: the decoder's cache maps rd = x0 to it, so x0 stays 0
 * without a check per instruction.
 *
 * The CPU reaches memory only through `CpuMemory`, which the user-mode
 * process or the board supplies.
 */
import { Access, PAGE_MASK, PAGE_SHIFT, PAGE_SIZE, TLB_BYTES, Tlb } from "./tlb.js";
import type { GuestRam } from "./ram.js";
import { HartState, Mstatus } from "./hart-state.js";
import type { HartAia } from "./aia.js";
import { HartLayout } from "./hart-layout.js";

/** Exception causes (mcause values) of the privileged spec. */
export const enum Cause {
  INSN_MISALIGNED = 0, INSN_ACCESS = 1, ILLEGAL_INSN = 2, BREAKPOINT = 3,
  LOAD_MISALIGNED = 4, LOAD_ACCESS = 5, STORE_MISALIGNED = 6, STORE_ACCESS = 7,
  ECALL_U = 8, ECALL_S = 9, ECALL_M = 11,
  INSN_PAGE_FAULT = 12, LOAD_PAGE_FAULT = 13, STORE_PAGE_FAULT = 15,
}

/** Why the execution loop returned. */
export const enum Exit {
  BUDGET = 0, ECALL, TRAP, HALT,
  /** A system hart changed state the loop must see (CSR write, xRET, sfence.vma, wfi); pc is the next instruction. */
  SYNC,
  /** A debugger stop (breakpoint, watchpoint): pc is the instruction, not yet run. */
  DEBUG,
}

/** translate() result for device memory: the physical address is in cpu.ioAddr. */
export const TRANSLATE_IO = -2;

/** What the CPU needs from whoever owns the address space. */
export interface CpuMemory {
  readonly ram: GuestRam;
  /**
   * Translate the address (hi, lo) for `access`.  On success return the host
   * byte offset and, when the page may be cached, fill `cpu.tlb`; on failure
   * record the trap with `cpu.raise` and return -1.  A system bus may also
   * return TRANSLATE_IO for device memory, with the physical address in
   * cpu.ioAddr; then ioLoad/ioStore do the access.
   */
  translate(cpu: RiscvCpu, hi: number, lo: number, access: Access): number;
  /** Device load of `size` bytes at physical cpu.ioAddr into cpu.tmpLo/tmpHi; false after raising an access fault. */
  ioLoad?(cpu: RiscvCpu, size: number, access: Access): boolean;
  /** Device store; false after raising an access fault. */
  ioStore?(cpu: RiscvCpu, size: number, lo: number, hi: number): boolean;
}

/**
 * A debugger's hold on a hart (see gdbstub/).  RiscvCpu.debug is undefined
 * unless a debugger is attached, and every check of it sits off the hot
 * path: breakpoints are looked for only when an instruction is first
 * decoded, watchpoints only on TLB fills and slow-path accesses, the hooks
 * once per run().
 */
export interface CpuDebug {
  /** Stop before the instruction at `pc` (asked when it is decoded; a stop leaves it undecoded). */
  breakpointAt(pc: number): boolean;
  /** Keep the virtual page holding (hi, lo) out of the TLB: it holds a watched address. */
  watchesPage(hi: number, lo: number): boolean;
  /** A data access of `size` bytes at (hi, lo) hits a watchpoint: the access fails as if it trapped, and leave() sees it. */
  watchHit(cpu: RiscvCpu, hi: number, lo: number, size: number, write: boolean): boolean;
  /** On entry to run(): the instruction budget to use (1 to single-step). */
  enter(cpu: RiscvCpu, budget: number): number;
  /** On the way out of run(): may report a stop to the debugger, and returns the exit to give the caller. */
  leave(cpu: RiscvCpu, exit: Exit): Exit;
}

/** Privilege levels. */
export const enum Priv { U = 0, S = 1, M = 3 }
/** The TLB of S mode with mstatus.SUM set: the slot of the hypervisor level, which a hart here lacks. */
const SUM_TLB = 2;

export class RiscvCpu {
  /**
   * Byte offset of this hart's slot in mem.ram's WebAssembly.Memory (see
   * hart-layout.ts), or -1 when the state area was full and the registers
   * live in a buffer of their own (translated code then never runs this hart).
   */
  stateAt = -1;
  /** Integer registers, low and high halves; index 32 is the x0 write sink. */
  xl!: Int32Array;
  xh!: Int32Array;
  /** Floating-point registers as raw bits (NaN payloads must survive). */
  fl!: Int32Array;
  fh!: Int32Array;
  /** The hart slot as int32s: the pc, tmp and TLB words translated code shares. */
  slot!: Int32Array;
  /** The pc, as an exact integer (canonical addresses fit in a double). */
  pc = 0;
  fflags = 0;
  frm = 0;
  /** The TLB of the current privilege level (one only, in user mode). */
  tlb!: Tlb;
  /**
   * A system hart keeps one TLB per privilege level (U, S, -, M), so that traps
   * and returns switch TLBs instead of flushing (see selectTlb).
   */
  private privTlbs: Tlb[] | undefined;
  /** Instructions retired, for instret and statistics. */
  instret = 0;

  /** The pending trap, valid when a step returned Exit.TRAP. */
  trapCause = 0;
  trapTvalLo = 0;
  trapTvalHi = 0;

  /** LR/SC reservation: the address and the value loaded, as QEMU keeps them. */
  resValid = false;
  resLo = 0;
  resHi = 0;
  resValLo = 0;
  resValHi = 0;

  /** The attached debugger, if any (see CpuDebug). */
  debug: CpuDebug | undefined = undefined;

  /** Tracing hook (-d in_asm): called with each instruction's address and halfwords as it is first decoded. */
  onDecode: ((pc: number, lo16: number, hi16: number) => void) | undefined;

  /** Result of the last slow-path load (zero-extended raw bytes). */
  tmpLo = 0;
  tmpHi = 0;

  /** The physical address of a device access (see TRANSLATE_IO). */
  ioAddr = 0;
  /**
   * Set by a store to device memory: the device may have raised an interrupt,
   * so the interpreter ends the run there for the loop to take it (as a CSR write does).
   */
  ioWritten = false;
  /**
   * Set by every CSR write (csr.ts): false when the write changed nothing a
   * system hart's run loop watches (translation, interrupt enables, FP state,
   * counters), so that the run may go on past it.
   */
  csrSync = true;

  /**
   * The current privilege level.  User-mode emulation runs everything in U;
   * the system emulator's harts start in M.  The privileged state below is
   * only used by the system emulator (see priv.ts, csr-priv.ts, mmu.ts).
   */
  priv: number = Priv.U;
  /** Set for a hart of the system emulator: privileged instructions and CSRs exist. */
  system = false;
  private fpOffFlag = false;
  /** mstatus.FS is Off on a system hart: floating-point instructions are illegal (mirrored in the slot for translated code). */
  get fpOff(): boolean {
    return this.fpOffFlag;
  }
  set fpOff(off: boolean) {
    this.fpOffFlag = off;
    this.slot[HartLayout.FP_OFF >> 2] = off ? 1 : 0;
  }
  readonly state = new HartState();
  /** Smaia/Ssaia: set by a board with IMSICs; undefined, the AIA CSRs do not exist (see aia.ts). */
  aia: HartAia | undefined = undefined;

  constructor(public mem: CpuMemory) {
    this.placeState(mem.ram);
    mem.ram.tlbs.push(this.tlb);
  }

  /** Put the registers and the TLB in `ram`'s memory (their values carried over when moving). */
  private placeState(ram: GuestRam): void {
    const at = ram.allocState(HartLayout.SIZE);
    const buf = at >= 0 ? ram.buffer : new ArrayBuffer(HartLayout.SIZE);
    const base = Math.max(at, 0);
    const old = this.xl === undefined ? undefined : [this.xl, this.xh, this.fl, this.fh];
    this.xl = new Int32Array(buf, base + HartLayout.XL, 33);
    this.xh = new Int32Array(buf, base + HartLayout.XH, 33);
    this.fl = new Int32Array(buf, base + HartLayout.FL, 32);
    this.fh = new Int32Array(buf, base + HartLayout.FH, 32);
    this.slot = new Int32Array(buf, base, HartLayout.SIZE / 4);
    if (old !== undefined) {
      this.xl.set(old[0]); this.xh.set(old[1]); this.fl.set(old[2]); this.fh.set(old[3]);
    }
    this.stateAt = at;
    const tlbAt = at >= 0 ? ram.allocState(TLB_BYTES) : -1;
    this.tlb = new Tlb(ram.buffer, tlbAt);
    if (tlbAt < 0) this.stateAt = -1;
    this.slot[HartLayout.TLB >> 2] = tlbAt;
    this.slot[HartLayout.FP_OFF >> 2] = this.fpOffFlag ? 1 : 0;
  }

  /** Give the state slots back to the memory (a thread that ended). */
  releaseState(): void {
    const ram = this.mem.ram;
    const i = ram.tlbs.indexOf(this.tlb);
    if (i >= 0) ram.tlbs.splice(i, 1);
    if (this.stateAt < 0 || this.privTlbs !== undefined) return;
    ram.freeState(this.tlb.at, TLB_BYTES);
    ram.freeState(this.stateAt, HartLayout.SIZE);
    this.stateAt = -1;
  }

  /** Move this hart to another address space (execve, or a new process). */
  setMemory(mem: CpuMemory): void {
    const old = this.mem.ram.tlbs;
    const i = old.indexOf(this.tlb);
    if (i >= 0) old.splice(i, 1);
    if (mem.ram !== this.mem.ram) {
      if (this.stateAt >= 0) {
        this.mem.ram.freeState(this.tlb.at, TLB_BYTES);
        this.mem.ram.freeState(this.stateAt, HartLayout.SIZE);
      }
      this.placeState(mem.ram);
    }
    this.mem = mem;
    mem.ram.tlbs.push(this.tlb);
    this.tlb.flushAll();
  }

  /**
   * Cache a translation in the TLB.  A page holding decoded code stays out of
   * the write TLB, so that stores to it reach storeSlow and drop the code.
   */
  fillTlb(access: Access, hi: number, lo: number, hostBase: number): void {
    if (access === Access.WRITE && this.mem.ram.hasCode(hostBase >>> PAGE_SHIFT)) return;
    // Accesses to a watched page must reach loadSlow/storeSlow, which check them.
    if (this.debug !== undefined && access !== Access.FETCH && this.debug.watchesPage(hi, lo)) return;
    if (this.system && this.state.trig.data && access !== Access.FETCH && this.state.trig.watchesPage(hi, lo)) return;
    this.tlb.fill(access, hi, lo, hostBase);
  }

  raise(cause: Cause, tvalHi: number, tvalLo: number): void {
    this.trapCause = cause;
    this.trapTvalHi = tvalHi;
    this.trapTvalLo = tvalLo;
  }

  /**
   * Give this hart a TLB per privilege level (the system emulator): U, S with
   * mstatus.SUM clear, S with SUM set (in the hypervisor level's unused slot),
   * and M.  Linux sets and clears SUM around every access to user memory; with
   * a TLB for each setting that switches TLBs instead of emptying them.
   */
  usePrivilegeTlbs(): void {
    const ram = this.mem.ram;
    const more = (): Tlb => new Tlb(ram.buffer, this.stateAt >= 0 ? ram.allocState(TLB_BYTES) : -1);
    const tlbs = [this.tlb, more(), more(), more()];
    if (tlbs.some((t) => t.at < 0)) this.stateAt = -1;
    for (const t of tlbs.slice(1)) this.mem.ram.tlbs.push(t);
    this.privTlbs = tlbs;
    this.selectTlb();
  }

  /** Use the TLB of the current privilege level (and, in S mode, of mstatus.SUM). */
  selectTlb(): void {
    if (this.privTlbs !== undefined) {
      this.tlb = this.privTlbs[this.priv === Priv.S && (this.state.mstatus & Mstatus.SUM) !== 0 ? SUM_TLB : this.priv];
      this.slot[HartLayout.TLB >> 2] = this.tlb.at;
    }
  }

  /** Drop every cached translation (satp, sfence.vma, mstatus and PMP changes). */
  flushTlbs(): void {
    if (this.privTlbs === undefined) this.tlb.flushAll();
    else for (const t of this.privTlbs) t.flushAll();
  }

  /** Drop the cached translations of the virtual page holding (hi, lo) (sfence.vma with an address). */
  flushTlbPage(hi: number, lo: number): void {
    if (this.privTlbs === undefined) this.tlb.flushVirtualPage(hi, lo);
    else for (const t of this.privTlbs) t.flushVirtualPage(hi, lo);
  }

  /** Raise the access fault for an access that may not reach device memory (AMOs, page-crossing accesses); returns -1. */
  ioFault(access: Access): number {
    const cause = access === Access.WRITE ? Cause.STORE_ACCESS : access === Access.FETCH ? Cause.INSN_ACCESS : Cause.LOAD_ACCESS;
    this.raise(cause, this.trapTvalHi, this.trapTvalLo);
    return -1;
  }

  /** translate() for an access that must reach RAM: device memory gets an access fault. */
  translateRam(hi: number, lo: number, access: Access): number {
    // Only AMOs come here; they read and write up to 8 aligned bytes.
    if (this.debug !== undefined && this.debug.watchHit(this, hi, lo & ~7, 8, access === Access.WRITE)) return -1;
    if (this.system && this.state.trig.data && this.state.trig.dataHit(this, hi, lo & ~7, 8, access === Access.WRITE)) return -1;
    const h = this.mem.translate(this, hi, lo, access);
    if (h !== TRANSLATE_IO) return h;
    this.trapTvalHi = hi;
    this.trapTvalLo = lo;
    return this.ioFault(access);
  }

  getX(r: number): bigint {
    return (BigInt(this.xh[r]) << 32n) | BigInt(this.xl[r] >>> 0);
  }

  setX(r: number, v: bigint): void {
    if (r === 0) return;
    this.xl[r] = Number(BigInt.asIntN(32, v));
    this.xh[r] = Number(BigInt.asIntN(32, v >> 32n));
  }

  /** Register r as a JS number, exact when it holds a value below 2^53 in magnitude. */
  getXNumber(r: number): number {
    return this.xh[r] * 4294967296 + (this.xl[r] >>> 0);
  }

  setXNumber(r: number, v: number): void {
    if (r === 0) return;
    this.xl[r] = v | 0;
    this.xh[r] = Math.floor(v / 4294967296) | 0;
  }

  /**
   * Load `size` (1, 2, 4, 8) bytes at (hi, lo), any alignment, possibly across
   * a page boundary, into tmpLo/tmpHi (zero-extended).  False when it trapped.
   */
  loadSlow(hi: number, lo: number, size: number, access: Access = Access.READ): boolean {
    const ram = this.mem.ram.u8;
    const first = this.mem.translate(this, hi, lo, access);
    if (first < 0 && first !== TRANSLATE_IO) return false;
    if (this.debug !== undefined && access !== Access.FETCH && this.debug.watchHit(this, hi, lo, size, false)) return false;
    if (this.system && this.state.trig.data && access !== Access.FETCH && this.state.trig.dataHit(this, hi, lo, size, false)) return false;
    if (first < 0) return this.mem.ioLoad !== undefined && this.mem.ioLoad(this, size, access);
    const inPage = PAGE_SIZE - (lo & (PAGE_SIZE - 1));
    let second = -1;
    if (inPage < size) {
      const nlo = ((lo & PAGE_MASK) + PAGE_SIZE) | 0;
      const nhi = nlo === 0 ? (hi + 1) | 0 : hi;
      second = this.mem.translate(this, nhi, nlo, access);
      if (second === TRANSLATE_IO) second = this.ioFault(access);
      if (second < 0) {
        // The fault is reported at the address the access starts from, as QEMU does.
        this.trapTvalHi = hi;
        this.trapTvalLo = lo;
        return false;
      }
    }
    let vlo = 0;
    let vhi = 0;
    for (let i = 0; i < size; i++) {
      const b = ram[i < inPage ? first + i : second + (i - inPage)];
      if (i < 4) vlo |= b << (8 * i);
      else vhi |= b << (8 * (i - 4));
    }
    this.tmpLo = vlo;
    this.tmpHi = vhi;
    return true;
  }

  /** Store `size` bytes of (vhi, vlo) at (hi, lo), any alignment.  False when it trapped. */
  storeSlow(hi: number, lo: number, size: number, vlo: number, vhi: number): boolean {
    const mem = this.mem;
    const first = mem.translate(this, hi, lo, Access.WRITE);
    if (first < 0 && first !== TRANSLATE_IO) return false;
    if (this.debug !== undefined && this.debug.watchHit(this, hi, lo, size, true)) return false;
    if (this.system && this.state.trig.data && this.state.trig.dataHit(this, hi, lo, size, true)) return false;
    if (first < 0) return mem.ioStore !== undefined && mem.ioStore(this, size, vlo, vhi);
    const inPage = PAGE_SIZE - (lo & (PAGE_SIZE - 1));
    let second = -1;
    if (inPage < size) {
      const nlo = ((lo & PAGE_MASK) + PAGE_SIZE) | 0;
      const nhi = nlo === 0 ? (hi + 1) | 0 : hi;
      second = mem.translate(this, nhi, nlo, Access.WRITE);
      if (second === TRANSLATE_IO) second = this.ioFault(Access.WRITE);
      if (second < 0) {
        this.trapTvalHi = hi;
        this.trapTvalLo = lo;
        return false;
      }
    }
    const ram = mem.ram;
    ram.dropCode(first >>> PAGE_SHIFT);
    if (second >= 0) ram.dropCode(second >>> PAGE_SHIFT);
    const u8 = ram.u8;
    for (let i = 0; i < size; i++) {
      const b = i < 4 ? (vlo >>> (8 * i)) & 0xff : (vhi >>> (8 * (i - 4))) & 0xff;
      u8[i < inPage ? first + i : second + (i - inPage)] = b;
    }
    return true;
  }
}
