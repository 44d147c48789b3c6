/**
 * Code generation: a batch of blocks becomes one WebAssembly module with one
 * function, run(state, entry, budget, count) -> exit code, a loop over a br_table
 * of the blocks, so that a direct branch to another block of the batch (in
 * the same page) goes on inside the module instead of returning; so does an
 * indirect jump (jalr) that lands on the start of a block of its own page.
 *
 * Guest registers are cached in i64 locals for the whole run of the module:
 * the ones any of its blocks uses are loaded on entry, the ones any of them
 * writes are stored back on the one way out (every exit, a trap included,
 * branches to it), so that chained blocks pass registers in locals.  They
 * are loaded from and stored to the hart slot's int64 copies (XQ), one load
 * or store each.  A module that calls and returns often keeps only the
 * registers it names most in locals and the others in XQ, read and written
 * where they are used (see CALLING_BLOCKS).  The dispatcher enters
 * translated code through the chain table's hub, which copies them to XQ
 * from the interpreter's halves (XL, XH) and back.  Helpers that run one
 * instruction in the interpreter get its registers in the halves.
 * Loads and stores test way 0 of the TLB inline (see target/riscv/tlb.ts) and
 * call the slow path (tlb-miss.ts: way 1, then the helpers) only on a miss.
 * The hit, a block's test of its budget and the tests for a trap carry
 * branch hints (wasm/encoder.ts), so that V8's optimising compiler, which
 * reads them when the launcher turns them on, lays the misses and the traps
 * out of the way of the hot path.  On leaving, the pc (an int64) and the count of
 * instructions retired are in the hart's slot (hart-layout.ts); a trap leaves
 * the pc at the trapping instruction and counts only those before it, as the
 * interpreter does.
 *
 * A jump to a pc outside the module on another page looks the pc up in the
 * chain table (chain-table.ts) and, when a compiled block of another module
 * starts there, tail-calls that module's run with the instructions retired
 * so far as its count: from the dispatcher's view one run that crossed
 * modules.  A jump within the page does so while the page's countdown of
 * such jumps lasts, and then returns, for regrouping (TcgExit.PAGE).
 */
import { FunctionBody, Hint, ModuleBuilder, ValType } from "../wasm/encoder.js";
import { W } from "../wasm/opcodes.js";
import { INSNS, Op } from "../../target/riscv/insn-table.js";
import { HartLayout } from "../../target/riscv/hart-layout.js";
import { Access, ENTRY_SHIFT, PAGE_MASK, PAGE_SHIFT, TLB_MASK, TlbEntry, tlbTable } from "../../target/riscv/tlb.js";
import type { ScannedBlock, ScannedInsn } from "./scan.js";
import { interpretedInline, isCsrAccess } from "./ops.js";
import { BUCKET_BITS, ENTRY_BITS, HASH_MUL } from "./chain-table.js";

/** What run() returns. */
export const enum TcgExit {
  /** Left at the pc in the slot (a jump out of the module, a block the interpreter must run, the budget). */
  JUMP = 0,
  /** A trap: pc at the instruction, the cause and tval raised on the hart. */
  TRAP = 1,
  /** The run must end here (a store reached a device): pc is the next instruction. */
  SYNC = 2,
  /** Left at the pc in the slot, the start of a block longer than the budget left (never chained). */
  BUDGET = 3,
  /**
   * Left at the pc in the slot, on the same page as the block that left, for
   * a block not in this module: chained while the page's countdown of such
   * jumps lasts (chain-table.ts); when it runs out (or the target is not
   * compiled) the dispatcher sees the crossing and regroups the page's
   * blocks into one module.
   */
  PAGE = 4,
  /** The instruction at the pc in the slot must run in the interpreter (an FP store with mstatus.FS Off: it raises the trap). */
  INTERP = 5,
}

/** Results of the store helper (the load helper returns 1 for success, 0 for a trap). */
export const enum StoreResult { OK = 0, TRAP = 1, SYNC = 2, JUMP = 3 }

export interface BlockCode {
  /** Guest virtual address of the first instruction. */
  pc: number;
  /** Host byte offset of the first instruction. */
  host: number;
  block: ScannedBlock;
}

/**
 * Helper function indices (imports, in this order; HUB only with a chain table).  LOAD and STORE are
 * tlb-miss.ts's functions, which take the hart slot and the TLB entry before the helpers' arguments.
 */
const enum Helper { LOAD, STORE, MULH, INTERP, EXEC, HUB }
export const HELPER_NAMES = ["load", "store", "mulh", "interp", "exec"] as const;

const I32 = ValType.I32, I64 = ValType.I64;
const P_STATE = 0, P_ENTRY = 1, P_BUDGET = 2, P_COUNT = 3;
const G_OK = 0;
const READ = tlbTable(Access.READ), WRITE = tlbTable(Access.WRITE), FETCH = tlbTable(Access.FETCH);
const TWO32 = 4294967296;

const LOADS: Partial<Record<Op, { size: number; hit: W; ext?: W }>> = {
  [Op.LB]: { size: 1, hit: W.I64_LOAD8_S, ext: W.I64_EXTEND8_S },
  [Op.LBU]: { size: 1, hit: W.I64_LOAD8_U },
  [Op.LH]: { size: 2, hit: W.I64_LOAD16_S, ext: W.I64_EXTEND16_S },
  [Op.LHU]: { size: 2, hit: W.I64_LOAD16_U },
  [Op.LW]: { size: 4, hit: W.I64_LOAD32_S, ext: W.I64_EXTEND32_S },
  [Op.LWU]: { size: 4, hit: W.I64_LOAD32_U },
  [Op.LD]: { size: 8, hit: W.I64_LOAD },
};
const STORES: Partial<Record<Op, { size: number; hit: W }>> = {
  [Op.SB]: { size: 1, hit: W.I64_STORE8 },
  [Op.SH]: { size: 2, hit: W.I64_STORE16 },
  [Op.SW]: { size: 4, hit: W.I64_STORE32 },
  [Op.SD]: { size: 8, hit: W.I64_STORE },
};
const R_OPS: Partial<Record<Op, W>> = {
  [Op.ADD]: W.I64_ADD, [Op.SUB]: W.I64_SUB, [Op.XOR]: W.I64_XOR, [Op.OR]: W.I64_OR, [Op.AND]: W.I64_AND,
  [Op.SLL]: W.I64_SHL, [Op.SRL]: W.I64_SHR_U, [Op.SRA]: W.I64_SHR_S, [Op.MUL]: W.I64_MUL,
};
const I_OPS: Partial<Record<Op, W>> = {
  [Op.ADDI]: W.I64_ADD, [Op.XORI]: W.I64_XOR, [Op.ORI]: W.I64_OR, [Op.ANDI]: W.I64_AND,
  [Op.SLLI]: W.I64_SHL, [Op.SRLI]: W.I64_SHR_U, [Op.SRAI]: W.I64_SHR_S,
};
const W_OPS: Partial<Record<Op, W>> = {
  [Op.ADDW]: W.I32_ADD, [Op.SUBW]: W.I32_SUB, [Op.SLLW]: W.I32_SHL, [Op.SRLW]: W.I32_SHR_U,
  [Op.SRAW]: W.I32_SHR_S, [Op.MULW]: W.I32_MUL,
  [Op.ADDIW]: W.I32_ADD, [Op.SLLIW]: W.I32_SHL, [Op.SRLIW]: W.I32_SHR_U, [Op.SRAIW]: W.I32_SHR_S,
};
const BRANCHES: Partial<Record<Op, W>> = {
  [Op.BEQ]: W.I64_EQ, [Op.BNE]: W.I64_NE, [Op.BLT]: W.I64_LT_S, [Op.BGE]: W.I64_GE_S,
  [Op.BLTU]: W.I64_LT_U, [Op.BGEU]: W.I64_GE_U,
};

/**
 * Build the module for `blocks`; its function is exported as "run".  `sharedMemory`: guest RAM is a shared
 * memory.  The module imports a mutable i32 global g.ok: while it is 1, a branch to a block of this module on
 * another page goes on inside the module when the fetch TLB maps that page where the block was found; the
 * code cache sets it to 0 when any page of the module loses its code.  `chainAt`: byte offset of the chain
 * table's entries in the memory; the module then imports the table's hub, c.hub(state, entry, budget, count,
 * module), which tail-calls that module's run; -1: none (every jump out of the module returns to the dispatcher).
 * `crossAt`: byte offset of the per-host-page countdowns of jumps within a page into another module (int32
 * each): such a jump is chained too while its page's countdown stays above zero, and returns (TcgExit.PAGE,
 * for regrouping) when it runs out; -1: those jumps always return.
 */
export function buildModule(blocks: readonly BlockCode[], sharedMemory = false, chainAt = -1, crossAt = -1): Uint8Array {
  const m = new ModuleBuilder();
  m.importGlobal("g", "ok", I32, true);
  // The last argument of load and store: instructions retired in this run before the access (exact instret for devices).
  m.importFunc("h", HELPER_NAMES[Helper.LOAD], [I32, I32, I32, I32, I32, I32], [I32]);
  m.importFunc("h", HELPER_NAMES[Helper.STORE], [I32, I32, I32, I32, I32, I32, I32, I32], [I32]);
  m.importFunc("h", HELPER_NAMES[Helper.MULH], [I32, I32, I32, I32, I32], []);
  // interp(pc lo, pc hi, retired): the interpreter runs the one instruction at pc; a StoreResult.
  m.importFunc("h", HELPER_NAMES[Helper.INTERP], [I32, I32, I32], [I32]);
  // exec(op, rd, rs1, rs2, rs3 | rm << 5, host, retired): FP arithmetic or an atomic, straight to its semantics; a StoreResult.
  m.importFunc("h", HELPER_NAMES[Helper.EXEC], [I32, I32, I32, I32, I32, I32, I32], [I32]);
  if (chainAt >= 0) m.importFunc("c", "hub", [I32, I32, I32, I32, I32], [I32]);
  const f = new FunctionBody([I32, I32, I32, I32], [I32]);
  const g = new Gen(f, blocks, chainAt, crossAt);
  g.emitAll();
  m.addFunc(f, "run");
  return m.encode("e", "m", sharedMemory);
}

/**
 * A module with a call or a return (JAL linking ra or t0, any JALR) for every
 * CALLING_BLOCKS blocks or fewer is entered and left about as often as its
 * blocks run (a shell's code: calls and returns between pages): it keeps only
 * the CALLING_LOCALS registers its code names most in locals, so that each
 * entry loads and each exit stores only those, and the others are read and
 * written in the slot's XQ where they are used.  Other modules (loops) keep
 * every register in a local.  Measured (docs/performance.md): the shell loop
 * 10% faster at 8 and 8, the CPU benchmark, gzip and sha256sum unchanged;
 * with 8 locals in every module the CPU benchmark was 7% slower.
 */
const CALLING_BLOCKS = 8;
const CALLING_LOCALS = 8;

/** The integer registers an instruction names: its destination (0: none) and the sources it reads. */
function namedRegisters(insn: ScannedInsn): { rd: number; rs1: boolean; rs2: boolean } {
  const ops = INSNS[insn.op].operands;
  return { rd: ops.startsWith("d") ? insn.rd : 0, rs1: /[soA]/.test(ops), rs2: ops.includes("t") };
}

/** Which registers (by number) a module of `blocks` keeps in locals: every one, or in a calling module the ones named most. */
export function registersInLocals(blocks: readonly BlockCode[]): boolean[] {
  // Times each register is named (as a source or destination), and the calls and returns.
  const named = new Array<number>(32).fill(0);
  let callsAndReturns = 0;
  for (const b of blocks) {
    for (let k = 0; k < b.block.compiled; k++) {
      const insn = b.block.insns[k];
      const { rd, rs1, rs2 } = namedRegisters(insn);
      named[rd]++;
      if (rs1) named[insn.rs1]++;
      if (rs2) named[insn.rs2]++;
      if (insn.op === Op.JALR || (insn.op === Op.JAL && (insn.rd === 1 || insn.rd === 5))) callsAndReturns++;
    }
  }
  const locals = callsAndReturns * CALLING_BLOCKS >= blocks.length ? CALLING_LOCALS : 31;
  const byNamed = Array.from({ length: 31 }, (_, i) => i + 1).sort((p, q) => named[q] - named[p] || p - q);
  const inLocal = new Array<boolean>(32).fill(false);
  for (const r of byNamed.slice(0, locals)) inLocal[r] = true;
  return inLocal;
}

class Gen {
  private readonly x: number[] = [];
  private readonly count: number;
  private readonly tlb: number;
  private readonly addr: number;
  private readonly lo: number;
  private readonly hi: number;
  private readonly t: number;
  private readonly a: number;
  private readonly b: number;
  private readonly d: number;
  private readonly pcOut: number;
  private readonly codeOut: number;
  private readonly slot: number;
  private readonly byKey = new Map<number, number>();
  /** Block index by guest pc (the first block found at a pc, for branches to other pages). */
  private readonly byPc = new Map<number, number>();
  /** Registers some block uses (loaded on entry) and writes (stored on the way out). */
  private readonly used = new Array<boolean>(32).fill(false);
  private readonly written = new Array<boolean>(32).fill(false);
  /** Registers held in locals; the others are read from and written to the slot's XQ at each use. */
  private readonly inLocal: readonly boolean[];
  /** A value on its way to a register kept in XQ. */
  private readonly v: number;
  // Per block:
  private index = 0;
  private depth = 0;

  constructor(
    private readonly f: FunctionBody, private readonly blocks: readonly BlockCode[],
    private readonly chainAt: number, private readonly crossAt: number,
  ) {
    this.x.push(-1);
    for (let r = 1; r < 32; r++) this.x.push(f.local(I64));
    this.count = P_COUNT;
    this.tlb = f.local(I32);
    this.addr = f.local(I64);
    this.lo = f.local(I32);
    this.hi = f.local(I32);
    this.t = f.local(I32);
    this.a = f.local(I64);
    this.b = f.local(I64);
    this.d = f.local(I64);
    this.pcOut = f.local(I64);
    this.codeOut = f.local(I32);
    this.slot = f.local(I32);
    this.v = f.local(I64);
    blocks.forEach((b, i) => {
      this.byKey.set(b.host, i);
      if (!this.byPc.has(b.pc)) this.byPc.set(b.pc, i);
    });
    for (const b of blocks) {
      for (let k = 0; k < b.block.compiled; k++) {
        const insn = b.block.insns[k];
        // Fields that hold immediate bits in some formats only add a needless load.
        this.used[insn.rs1] = this.used[insn.rs2] = true;
        if (INSNS[insn.op].operands.startsWith("d")) this.used[insn.rd] = this.written[insn.rd] = true;
      }
    }
    this.inLocal = registersInLocals(blocks);
  }

  emitAll(): void {
    const f = this.f;
    const n = this.blocks.length;
    f.get(P_STATE); f.mem(W.I32_LOAD, 2, HartLayout.TLB); f.set(this.tlb);
    for (let r = 1; r < 32; r++) if (this.used[r] && this.inLocal[r]) this.loadRegQ(r);
    f.block(); // the way out
    f.loop();
    for (let i = 0; i < n; i++) f.block();
    f.get(P_ENTRY);
    f.brTable(Array.from({ length: n }, (_, i) => i), 0);
    for (let i = 0; i < n; i++) {
      f.end();
      this.emitBlock(i);
    }
    f.end(); // loop
    f.op(W.UNREACHABLE);
    f.end(); // the way out: registers, pc and count to the hart's slot
    for (let r = 1; r < 32; r++) if (this.written[r] && this.inLocal[r]) this.storeRegQ(r);
    if (this.chainAt >= 0) this.chain();
    f.get(P_STATE); f.get(this.pcOut); f.mem(W.I64_STORE, 3, HartLayout.PC);
    f.get(P_STATE); f.get(this.count); f.mem(W.I32_STORE, 2, HartLayout.COUNT);
    f.get(this.codeOut);
  }

  /**
   * On a jump out (codeOut JUMP, or PAGE while the page's countdown lasts;
   * registers already stored): when the fetch TLB maps pcOut and the chain
   * table has a block at that host address and pc, tail-call its module.
   * Else fall through to the return.
   */
  private chain(): void {
    const f = this.f;
    const at = this.chainAt;
    f.get(this.codeOut);
    if (this.crossAt >= 0) { f.i32(~TcgExit.PAGE); f.op(W.I32_AND); }
    f.op(W.I32_EQZ);
    f.if();
    f.get(this.pcOut); f.op(W.I32_WRAP_I64); f.set(this.lo);
    f.get(this.pcOut); f.i64(32); f.op(W.I64_SHR_U); f.op(W.I32_WRAP_I64); f.set(this.hi);
    f.get(this.lo); f.i32(PAGE_SHIFT); f.op(W.I32_SHR_U); f.i32(TLB_MASK); f.op(W.I32_AND); f.i32(ENTRY_SHIFT); f.op(W.I32_SHL);
    f.get(this.tlb); f.op(W.I32_ADD); f.set(this.t);
    f.get(this.t); f.mem(W.I64_LOAD, 3, FETCH + TlbEntry.TAG_LO);
    f.get(this.pcOut); f.i64(PAGE_MASK); f.op(W.I64_AND); f.op(W.I64_EQ);
    f.if();
    // t: the host address; slot: the entry's offset from the table.
    f.get(this.t); f.mem(W.I32_LOAD, 2, FETCH + TlbEntry.HOST); f.get(this.lo); f.i32(0xfff); f.op(W.I32_AND); f.op(W.I32_ADD);
    f.set(this.t);
    if (this.crossAt >= 0) {
      // A jump within the page: count it down; at zero return, so that the dispatcher regroups the page.
      f.i32(1); f.set(this.slot);
      f.get(this.codeOut); f.i32(TcgExit.PAGE); f.op(W.I32_EQ);
      f.if();
      f.get(this.t); f.i32(PAGE_SHIFT); f.op(W.I32_SHR_U); f.i32(2); f.op(W.I32_SHL); f.set(this.slot);
      f.get(this.slot);
      f.get(this.slot); f.mem(W.I32_LOAD, 2, this.crossAt); f.i32(1); f.op(W.I32_SUB); f.tee(this.lo);
      f.mem(W.I32_STORE, 2, this.crossAt);
      f.get(this.lo); f.i32(0); f.op(W.I32_GT_S); f.set(this.slot);
      // (lo held the pc's low half: take it again.)
      f.get(this.pcOut); f.op(W.I32_WRAP_I64); f.set(this.lo);
      f.end();
      f.get(this.slot);
      f.if();
    }
    // slot: way 0 of the bucket, then way 1.
    f.get(this.t); f.i32(1); f.op(W.I32_SHR_U); f.i32(HASH_MUL); f.op(W.I32_MUL); f.i32(32 - BUCKET_BITS); f.op(W.I32_SHR_U);
    f.i32(5); f.op(W.I32_SHL); f.set(this.slot);
    this.chainIfEntry(at);
    f.get(this.slot); f.i32(16); f.op(W.I32_ADD); f.set(this.slot);
    this.chainIfEntry(at);
    if (this.crossAt >= 0) f.end();
    f.end();
    f.end();
  }

  /** When the chain table's entry at `slot` holds the block at host `t`, pc (`lo`, `hi`): tail-call its module. */
  private chainIfEntry(at: number): void {
    const f = this.f;
    // (The three words tested as one, as in tlbHit.)
    f.get(this.slot); f.mem(W.I32_LOAD, 2, at); f.get(this.t); f.op(W.I32_XOR);
    f.get(this.slot); f.mem(W.I32_LOAD, 2, at + 4); f.get(this.lo); f.op(W.I32_XOR);
    f.op(W.I32_OR);
    f.get(this.slot); f.mem(W.I32_LOAD, 2, at + 8); f.get(this.hi); f.op(W.I32_XOR);
    f.op(W.I32_OR);
    f.op(W.I32_EQZ);
    f.if();
    // Count the tail call (an int64 just before the entries).
    f.i32(0); f.i32(0); f.mem(W.I64_LOAD, 3, at - 8); f.i64(1); f.op(W.I64_ADD); f.mem(W.I64_STORE, 3, at - 8);
    f.get(this.slot); f.mem(W.I32_LOAD, 2, at + 12);
    f.set(this.slot);
    f.get(P_STATE);
    f.get(this.slot); f.i32((1 << ENTRY_BITS) - 1); f.op(W.I32_AND);
    f.get(P_BUDGET);
    f.get(this.count);
    f.get(this.slot); f.i32(ENTRY_BITS); f.op(W.I32_SHR_U);
    f.returnCall(Helper.HUB);
    f.end();
  }

  private emitBlock(i: number): void {
    const f = this.f;
    const { pc, block } = this.blocks[i];
    this.index = i;
    this.depth = 0;
    const n = block.compiled;
    // Not enough budget for the whole block: leave it to the interpreter.
    f.get(this.count); f.i32(n); f.op(W.I32_ADD); f.get(P_BUDGET); f.op(W.I32_GT_U);
    this.openIf(undefined, Hint.UNLIKELY);
    this.leave(pc, 0, TcgExit.BUDGET);
    this.closeIf();
    let at = pc;
    let atHost = this.blocks[i].host;
    for (let k = 0; k < n; k++) {
      const insn = block.insns[k];
      if (this.emitInsn(insn, at, k, atHost)) return;
      at += insn.size;
      atHost += insn.size;
    }
    // The block ends before an instruction the interpreter runs, or at a page or length limit.
    this.exitTo(at, n);
  }

  // ---- registers ----

  /** Registers are loaded on entry (see emitAll); kept as a marker of what an instruction reads. */
  private use(r: number): void {
    if (r !== 0 && !this.used[r]) throw new Error(`tcg: x${r} used but not loaded`);
  }

  /** Register r from the interpreter's halves (an instruction a helper ran there wrote it). */
  private loadReg(r: number): void {
    const f = this.f;
    f.get(P_STATE); f.mem(W.I64_LOAD32_S, 2, HartLayout.XH + 4 * r);
    f.i64(32); f.op(W.I64_SHL);
    f.get(P_STATE); f.mem(W.I64_LOAD32_U, 2, HartLayout.XL + 4 * r);
    f.op(W.I64_OR);
    this.assign(r);
  }

  /** Register r from XQ (on entry). */
  private loadRegQ(r: number): void {
    const f = this.f;
    f.get(P_STATE); f.mem(W.I64_LOAD, 3, HartLayout.XQ + 8 * r);
    f.set(this.x[r]);
  }

  /** Register r's local to XQ (on the way out). */
  private storeRegQ(r: number): void {
    const f = this.f;
    f.get(P_STATE); f.get(this.x[r]); f.mem(W.I64_STORE, 3, HartLayout.XQ + 8 * r);
  }

  private push(r: number): void {
    const f = this.f;
    if (r === 0) f.i64(0);
    else if (this.inLocal[r]) f.get(this.x[r]);
    else { f.get(P_STATE); f.mem(W.I64_LOAD, 3, HartLayout.XQ + 8 * r); }
  }

  /** Pop an i64 into register r. */
  private assign(r: number): void {
    const f = this.f;
    if (r === 0) { f.op(W.DROP); return; }
    if (!this.written[r]) throw new Error(`tcg: x${r} written but not stored`);
    if (this.inLocal[r]) { f.set(this.x[r]); return; }
    f.set(this.v);
    f.get(P_STATE); f.get(this.v); f.mem(W.I64_STORE, 3, HartLayout.XQ + 8 * r);
  }

  // ---- exits ----

  private openIf(result?: ValType, hint?: Hint): void { this.f.if(result, hint); this.depth++; }
  private closeIf(): void { this.f.end(); this.depth--; }

  /** Leave run() with the pc `pc`, `k` more instructions retired, and `code` (an i32 const, or on the stack when undefined). */
  private leave(pc: number, k: number, code: TcgExit | undefined): void {
    const f = this.f;
    if (code !== undefined) f.i32(code);
    f.set(this.codeOut);
    f.i64(pc); f.set(this.pcOut);
    this.goOut(k);
  }

  /** Count k more instructions and take the way out (pcOut and codeOut set). */
  private goOut(k: number): void {
    const f = this.f;
    if (k !== 0) { f.get(this.count); f.i32(k); f.op(W.I32_ADD); f.set(this.count); }
    f.br(this.blocks.length - this.index + this.depth);
  }

  /** Go on at `target` after `k` instructions: chained when a block of this module starts there. */
  private exitTo(target: number, k: number): void {
    const f = this.f;
    const { pc, host } = this.blocks[this.index];
    const samePage = Math.floor(target / 4096) === Math.floor(pc / 4096);
    if (!samePage) {
      this.crossPage(target, k);
      return;
    }
    const next = this.byKey.get((host & PAGE_MASK) + (target & 0xfff));
    if (next === undefined || this.blocks[next].pc !== target) {
      this.leave(target, k, TcgExit.PAGE);
      return;
    }
    f.get(this.count); f.i32(k); f.op(W.I32_ADD); f.set(this.count);
    this.goTo(next);
  }

  /**
   * Go on at block `next` of this module (the count already taken): a block
   * laid out after this one is reached by a plain branch to its start (its
   * code follows the end of its label, which encloses this block's); one at
   * or before this one through the loop's br_table.
   */
  private goTo(next: number): void {
    const f = this.f;
    if (next > this.index) {
      f.br(next - this.index - 1 + this.depth);
      return;
    }
    f.i32(next); f.set(P_ENTRY);
    f.br(this.blocks.length - 1 - this.index + this.depth);
  }

  /**
   * Go on at `target`, on another page, after `k` instructions: chained when
   * a block of this module starts there, the fetch TLB maps the target's page
   * to the host page that block was found on (the dispatcher would find the
   * same block), and no page of the module has lost its code since (g.ok).
   */
  private crossPage(target: number, k: number): void {
    const f = this.f;
    const next = this.byPc.get(target);
    if (next !== undefined) {
      const at = FETCH + (((target >>> PAGE_SHIFT) & TLB_MASK) << ENTRY_SHIFT);
      f.get(this.tlb); f.mem(W.I64_LOAD, 3, at + TlbEntry.TAG_LO); f.i64(Math.floor(target / 4096) * 4096); f.op(W.I64_EQ);
      f.get(this.tlb); f.mem(W.I32_LOAD, 2, at + TlbEntry.HOST); f.i32(this.blocks[next].host & PAGE_MASK); f.op(W.I32_EQ);
      f.op(W.I32_AND);
      f.globalGet(G_OK);
      f.op(W.I32_AND);
      this.openIf();
      f.get(this.count); f.i32(k); f.op(W.I32_ADD); f.set(this.count);
      this.goTo(next);
      this.closeIf();
    }
    this.leave(target, k, TcgExit.JUMP);
  }

  /**
   * Go on at the address in local a after `k` instructions: chained when it
   * is the start of a block of this module in the same page (a return to a
   * caller on the page, a switch), else back to the dispatcher.
   */
  private indirect(pc: number, k: number): void {
    const f = this.f;
    const { host } = this.blocks[this.index];
    const vpage = Math.floor(pc / 4096);
    // Blocks of the same guest page and host page, by their offset in it.
    const byOffset = new Map<number, number>();
    this.blocks.forEach((b, j) => {
      if (Math.floor(b.pc / 4096) === vpage && (b.host & PAGE_MASK) === (host & PAGE_MASK)) byOffset.set(b.host & 0xfff, j);
    });
    if (byOffset.size > 0) {
      const offsets = [...byOffset.keys()].sort((x, y) => x - y);
      const min = offsets[0];
      const m = offsets.length;
      f.get(this.a); f.i64(12); f.op(W.I64_SHR_S); f.i64(vpage); f.op(W.I64_EQ);
      this.openIf();
      this.f.block(); this.depth++; // the miss
      for (let c = 0; c < m; c++) { f.block(); this.depth++; }
      // Slot s of the table is offset min + 2s: the candidate starting there, or the miss.
      const labels = new Array<number>(((offsets[m - 1] - min) >>> 1) + 1).fill(m);
      offsets.forEach((o, c) => { labels[(o - min) >>> 1] = c; });
      f.get(this.a); f.op(W.I32_WRAP_I64); f.i32(0xfff); f.op(W.I32_AND); f.i32(min); f.op(W.I32_SUB);
      f.i32(1); f.op(W.I32_SHR_U);
      f.brTable(labels, m);
      for (let c = 0; c < m; c++) {
        f.end(); this.depth--;
        const j = byOffset.get(offsets[c]) as number;
        f.get(this.count); f.i32(k); f.op(W.I32_ADD); f.set(this.count);
        this.goTo(j);
      }
      f.end(); this.depth--; // the miss: leave
      this.closeIf();
    }
    f.get(this.a); f.set(this.pcOut);
    f.i32(TcgExit.PAGE); f.i32(TcgExit.JUMP);
    f.get(this.a); f.i64(12); f.op(W.I64_SHR_S); f.i64(vpage); f.op(W.I64_EQ);
    f.op(W.SELECT); f.set(this.codeOut);
    this.goOut(k);
  }

  // ---- instructions ----

  /** Emit one instruction (at host byte offset `host`); true when it ended the block. */
  private emitInsn(insn: ScannedInsn, pc: number, k: number, host: number): boolean {
    const f = this.f;
    const { op, rd, rs1, rs2, imm } = insn;
    const next = pc + insn.size;
    const r = R_OPS[op], iop = I_OPS[op], wop = W_OPS[op], br = BRANCHES[op];
    if (r !== undefined) {
      this.use(rs1); this.use(rs2);
      this.push(rs1); this.push(rs2); f.op(r); this.assign(rd);
      return false;
    }
    if (iop !== undefined) {
      this.use(rs1);
      this.push(rs1); f.i64(imm); f.op(iop); this.assign(rd);
      return false;
    }
    if (wop !== undefined) {
      const immForm = op >= Op.ADDIW && op <= Op.SRAIW;
      this.use(rs1); if (!immForm) this.use(rs2);
      this.push(rs1); f.op(W.I32_WRAP_I64);
      if (immForm) f.i32(imm);
      else { this.push(rs2); f.op(W.I32_WRAP_I64); }
      f.op(wop); f.op(W.I64_EXTEND_I32_S); this.assign(rd);
      return false;
    }
    if (br !== undefined) {
      this.use(rs1); this.use(rs2);
      this.push(rs1); this.push(rs2); f.op(br);
      this.openIf();
      this.exitTo(pc + imm, k + 1);
      this.closeIf();
      this.exitTo(next, k + 1);
      return true;
    }
    const ld = LOADS[op];
    if (ld !== undefined) { this.load(insn, ld, pc, k); return false; }
    const st = STORES[op];
    if (st !== undefined) {
      this.use(rs2);
      this.store(insn, st.size, st.hit, pc, k, () => this.push(rs2));
      return false;
    }
    if (interpretedInline(op)) { this.interpretInline(insn, pc, k, host); return false; }
    if (op === Op.FSW || op === Op.FSD) {
      // FS Off: the interpreter runs it and raises the illegal-instruction trap.
      f.get(P_STATE); f.mem(W.I32_LOAD, 2, HartLayout.FP_OFF);
      this.openIf(undefined, Hint.UNLIKELY);
      this.leave(pc, k, TcgExit.INTERP);
      this.closeIf();
      // The raw bits of f[rs2] (fsw stores the low word).
      const value = (): void => {
        f.get(P_STATE); f.mem(W.I64_LOAD32_U, 2, HartLayout.FL + 4 * rs2);
        f.get(P_STATE); f.mem(W.I64_LOAD32_U, 2, HartLayout.FH + 4 * rs2); f.i64(32); f.op(W.I64_SHL);
        f.op(W.I64_OR);
      };
      if (op === Op.FSW) this.store(insn, 4, W.I64_STORE32, pc, k, value);
      else this.store(insn, 8, W.I64_STORE, pc, k, value);
      return false;
    }
    switch (op) {
      case Op.LUI: f.i64(imm); this.assign(rd); return false;
      case Op.AUIPC: f.i64(pc + imm); this.assign(rd); return false;
      case Op.JAL: f.i64(next); this.assign(rd); this.exitTo(pc + imm, k + 1); return true;
      case Op.JALR:
        this.use(rs1);
        this.push(rs1); f.i64(imm); f.op(W.I64_ADD); f.i64(-2); f.op(W.I64_AND); f.set(this.a);
        f.i64(next); this.assign(rd);
        this.indirect(pc, k + 1);
        return true;
      case Op.SLT: case Op.SLTU:
        this.use(rs1); this.use(rs2);
        this.push(rs1); this.push(rs2); f.op(op === Op.SLT ? W.I64_LT_S : W.I64_LT_U);
        f.op(W.I64_EXTEND_I32_U); this.assign(rd);
        return false;
      case Op.SLTI: case Op.SLTIU:
        this.use(rs1);
        this.push(rs1); f.i64(imm); f.op(op === Op.SLTI ? W.I64_LT_S : W.I64_LT_U);
        f.op(W.I64_EXTEND_I32_U); this.assign(rd);
        return false;
      case Op.FENCE: case Op.FENCE_I:
        // One thread, and stores to code drop its translation at once: nothing to order or flush.
        return false;
      case Op.MULH: case Op.MULHSU: case Op.MULHU:
        this.use(rs1); this.use(rs2);
        f.i32(op - Op.MULH);
        this.push(rs1); f.i64(32); f.op(W.I64_SHR_U); f.op(W.I32_WRAP_I64);
        this.push(rs1); f.op(W.I32_WRAP_I64);
        this.push(rs2); f.i64(32); f.op(W.I64_SHR_U); f.op(W.I32_WRAP_I64);
        this.push(rs2); f.op(W.I32_WRAP_I64);
        f.call(Helper.MULH);
        f.get(P_STATE); f.mem(W.I64_LOAD, 3, HartLayout.TMP); this.assign(rd);
        return false;
      case Op.DIV: case Op.DIVU: case Op.REM: case Op.REMU:
        this.divide(op, rd, rs1, rs2, false);
        return false;
      case Op.DIVW: case Op.DIVUW: case Op.REMW: case Op.REMUW:
        this.divide(op, rd, rs1, rs2, true);
        return false;
      default:
        throw new Error(`tcg: no code for op ${op}`);
    }
  }

  /**
   * An instruction the interpreter runs from inside the block (FP arithmetic
   * and loads, LR/SC, AMOs and CSR accesses): the integer registers it reads
   * or writes go to the slot first, its integer destination comes back after.
   * A trap leaves as any trap does; a store that dropped code or reached a
   * device, or a system hart's CSR write, ends the run after the instruction.
   */
  private interpretInline(insn: ScannedInsn, pc: number, k: number, host: number): void {
    const f = this.f;
    const { rd, rs1, rs2 } = namedRegisters(insn);
    const regs = new Set<number>([rd]);
    if (rs1) regs.add(insn.rs1);
    if (rs2) regs.add(insn.rs2);
    regs.delete(0);
    for (const r of regs) { this.use(r); this.storeReg(r); }
    if (insn.op === Op.FLW || insn.op === Op.FLD || isCsrAccess(insn.op)) {
      f.i32(pc | 0); f.i32(Math.floor(pc / TWO32) | 0); this.retiredBefore(k);
      f.call(Helper.INTERP);
    } else {
      // An integer destination x0 writes the interpreter's sink register, x32.
      f.i32(insn.op); f.i32(rd === 0 && INSNS[insn.op].operands.startsWith("d") ? 32 : insn.rd); f.i32(insn.rs1); f.i32(insn.rs2);
      f.i32(insn.rs3rm); f.i32(host); this.retiredBefore(k);
      f.call(Helper.EXEC);
    }
    f.set(this.t);
    if (rd !== 0) this.loadReg(rd);
    f.get(this.t);
    this.leaveUnlessOk(pc, insn.size, k);
  }

  /**
   * Branch on a helper's StoreResult (on the stack, and in local t): on OK
   * go on; on TRAP leave at `pc` after `k` instructions; on SYNC or JUMP leave
   * after the instruction (`size` bytes).
   */
  private leaveUnlessOk(pc: number, size: number, k: number): void {
    const f = this.f;
    this.openIf(undefined, Hint.UNLIKELY);
    f.get(this.t); f.i32(StoreResult.TRAP); f.op(W.I32_EQ);
    this.openIf();
    this.leave(pc, k, TcgExit.TRAP);
    this.closeIf();
    // SYNC (2) -> TcgExit.SYNC, JUMP (3) -> TcgExit.JUMP: (3 - t) << 1.
    f.i32(3); f.get(this.t); f.op(W.I32_SUB); f.i32(1); f.op(W.I32_SHL);
    this.leave(pc + size, k + 1, undefined);
    this.closeIf();
  }

  /** Register r's local to the interpreter's halves (for an instruction a helper runs there). */
  private storeReg(r: number): void {
    const f = this.f;
    f.get(P_STATE); this.push(r); f.mem(W.I64_STORE32, 2, HartLayout.XL + 4 * r);
    f.get(P_STATE); this.push(r); f.i64(32); f.op(W.I64_SHR_U); f.mem(W.I64_STORE32, 2, HartLayout.XH + 4 * r);
  }

  /** Push the instructions retired in this run before the block's kth instruction. */
  private retiredBefore(k: number): void {
    const f = this.f;
    f.get(this.count);
    if (k !== 0) { f.i32(k); f.op(W.I32_ADD); }
  }

  /** Address rs1 + imm into addr and its low word into lo; then its TLB entry (a byte offset from tlb) into t. */
  private address(rs1: number, imm: number): void {
    const f = this.f;
    this.use(rs1);
    this.push(rs1); f.i64(imm); f.op(W.I64_ADD); f.tee(this.addr);
    f.op(W.I32_WRAP_I64); f.tee(this.lo);
    f.i32(PAGE_SHIFT); f.op(W.I32_SHR_U); f.i32(TLB_MASK); f.op(W.I32_AND); f.i32(ENTRY_SHIFT); f.op(W.I32_SHL);
    f.get(this.tlb); f.op(W.I32_ADD); f.set(this.t);
  }

  /** Push the high word of addr (for the slow path). */
  private addressHi(): void {
    const f = this.f;
    f.get(this.addr); f.i64(32); f.op(W.I64_SHR_U); f.op(W.I32_WRAP_I64);
  }

  /**
   * Push whether the TLB entry at t (of the table at `table`) maps the access
   * of `size` bytes: its tag's two words as one int64 against the address's
   * page (and alignment bits, which a tag never has).
   */
  private tlbHit(size: number, table: number): void {
    const f = this.f;
    f.get(this.t); f.mem(W.I64_LOAD, 3, table + TlbEntry.TAG_LO);
    f.get(this.addr); f.i64(PAGE_MASK | (size - 1)); f.op(W.I64_AND); f.op(W.I64_EQ);
  }

  /** Push the host address of the access (entry at t of the table at `table`). */
  private hostAddress(table: number): void {
    const f = this.f;
    f.get(this.t); f.mem(W.I32_LOAD, 2, table + TlbEntry.HOST);
    f.get(this.lo); f.i32(0xfff); f.op(W.I32_AND); f.op(W.I32_ADD);
  }

  private load(insn: ScannedInsn, ld: { size: number; hit: W; ext?: W }, pc: number, k: number): void {
    const f = this.f;
    this.address(insn.rs1, insn.imm);
    this.tlbHit(ld.size, READ);
    this.openIf(I64, Hint.LIKELY);
    this.hostAddress(READ);
    f.mem(ld.hit, 0, 0);
    f.op(W.ELSE);
    f.get(P_STATE); f.get(this.t); f.get(this.lo); this.addressHi(); f.i32(ld.size); this.retiredBefore(k);
    f.call(Helper.LOAD);
    f.op(W.I32_EQZ);
    this.openIf(undefined, Hint.UNLIKELY);
    this.leave(pc, k, TcgExit.TRAP);
    this.closeIf();
    f.get(P_STATE); f.mem(W.I64_LOAD, 3, HartLayout.TMP);
    if (ld.ext !== undefined) f.op(ld.ext);
    this.closeIf();
    this.assign(insn.rd);
  }

  /** A store of `size` bytes of the i64 `value` pushes. */
  private store(insn: ScannedInsn, size: number, hit: W, pc: number, k: number, value: () => void): void {
    const f = this.f;
    this.address(insn.rs1, insn.imm);
    this.tlbHit(size, WRITE);
    this.openIf(undefined, Hint.LIKELY);
    this.hostAddress(WRITE);
    value();
    f.mem(hit, 0, 0);
    f.op(W.ELSE);
    f.get(P_STATE); f.get(this.t); f.get(this.lo); this.addressHi(); f.i32(size);
    value(); f.op(W.I32_WRAP_I64);
    value(); f.i64(32); f.op(W.I64_SHR_U); f.op(W.I32_WRAP_I64);
    this.retiredBefore(k);
    f.call(Helper.STORE);
    f.tee(this.t);
    this.leaveUnlessOk(pc, insn.size, k);
    this.closeIf();
  }

  /** M-extension division and remainder, with the spec's results for x/0 and overflow (WebAssembly would trap). */
  private divide(op: Op, rd: number, rs1: number, rs2: number, word: boolean): void {
    const f = this.f;
    const signed = op === Op.DIV || op === Op.REM || op === Op.DIVW || op === Op.REMW;
    const rem = op === Op.REM || op === Op.REMU || op === Op.REMW || op === Op.REMUW;
    this.use(rs1); this.use(rs2);
    // a and b as 64-bit values of the operation's width and signedness.
    const operand = (r: number, into: number): void => {
      this.push(r);
      if (word) {
        f.op(W.I32_WRAP_I64);
        f.op(signed ? W.I64_EXTEND_I32_S : W.I64_EXTEND_I32_U);
      }
      f.set(into);
    };
    operand(rs1, this.a);
    operand(rs2, this.b);
    // d = b, or 1 when b is 0 or the division overflows (MIN / -1 by 1 gives MIN, and MIN % 1 gives 0, as the spec wants).
    f.i64(1); f.get(this.b);
    f.get(this.b); f.op(W.I64_EQZ);
    if (signed && !word) {
      f.get(this.b); f.i64(-1); f.op(W.I64_EQ);
      f.get(this.a); f.i64(-(2 ** 63)); f.op(W.I64_EQ);
      f.op(W.I32_AND); f.op(W.I32_OR);
    }
    f.op(W.SELECT); f.set(this.d);
    // The operation (a word MIN / -1 cannot overflow in 64 bits).
    f.get(this.a); f.get(this.d);
    f.op(rem ? (signed ? W.I64_REM_S : W.I64_REM_U) : (signed ? W.I64_DIV_S : W.I64_DIV_U));
    // x / 0 = all ones, x % 0 = x.
    if (rem) f.get(this.a); else f.i64(-1);
    f.get(this.b); f.op(W.I64_EQZ); f.op(W.I32_EQZ);
    f.op(W.SELECT);
    if (word) { f.op(W.I32_WRAP_I64); f.op(W.I64_EXTEND_I32_S); }
    this.assign(rd);
  }
}
