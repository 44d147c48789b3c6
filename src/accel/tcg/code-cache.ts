/**
 * The translator's code cache for one machine memory: an entry per block
 * start (keyed by host address, checked against the guest pc), execution
 * counts for tiering, the queue of hot blocks waiting to be compiled, and
 * the compiled modules.  An entry is stale when its page's code generation
 * (GuestRam.codeGen) has moved on: a store, or the loader, dropped the code.
 *
 * Blocks are compiled in the order they get hot, so the blocks of one loop
 * can land in different modules, and every branch between them returns to
 * the dispatcher.  The dispatcher reports such returns within a page
 * (crossed()); a page that keeps crossing has its compiled blocks compiled
 * again into one module (regroup()), where those branches chain.  A module's
 * branches to blocks of its own on other pages chain only while its g.ok
 * global is 1: it is set to 0 when any page of the module loses its code.
 * Jumps to blocks of other modules go through the chain table (chain-table.ts),
 * which holds every installed block that is still current.
 */
import { Cause, Exit, type RiscvCpu } from "../../target/riscv/cpu.js";
import { Op } from "../../target/riscv/insn-table.js";
import { execAmo } from "../../target/riscv/exec-amo.js";
import { execFp } from "../../target/riscv/exec-fp.js";
import { run } from "../interp.js";
import { HartLayout } from "../../target/riscv/hart-layout.js";
import type { GuestRam } from "../../target/riscv/ram.js";
import * as alu from "../../target/riscv/alu64.js";
import { PAGE_SHIFT } from "../../target/riscv/tlb.js";
import { buildModule, StoreResult, type BlockCode } from "./emit.js";
import { scanBlock } from "./scan.js";
import { ChainTable } from "./chain-table.js";
import { tlbMissPath, type LoadHelper, type StoreHelper } from "./tlb-miss.js";
import { HOT_BITS, HOT_COMPILED, hotSlot } from "../hot.js";

/** run(state, entry, budget, count) of a compiled module: count is the instructions retired before the call (0). */
export type CompiledRun = (state: number, entry: number, budget: number, count: number) => number;

/**
 * The chain table's enter(): run of the module at table index `module`, from
 * the dispatcher (one call site for every module), the registers copied in and out.
 */
export type EnterRun = (state: number, entry: number, budget: number, module: number) => number;

export interface Entry {
  readonly pc: number;
  readonly host: number;
  gen: number;
  /** Instructions the interpreter runs for this block (up to and including its last). */
  readonly length: number;
  /** Instructions the translator compiles (0: the block starts with one it leaves to the interpreter). */
  compiled: number;
  /** The host byte offset of the block its straight line goes on into, when cut at MAX_INSNS (scan.ts); -1 otherwise. */
  readonly cut: number;
  hits: number;
  queued: boolean;
  run: CompiledRun | undefined;
  index: number;
  /** Its module's index in the chain table's function table (-1: none; call run directly). */
  module: number;
}

/** Translator settings (see accel/engine.ts for how they are set). */
export const tcgSettings = {
  /**
   * Executions of a block before it is queued for compilation; undefined: the
   * default of the hart's kind (USER_THRESHOLD, SYSTEM_THRESHOLD).
   */
  threshold: undefined as number | undefined,
  /** Blocks per module. */
  batch: 64,
  /**
   * Instructions interpreted after which a part-filled queue is compiled
   * anyway; undefined: the default of the hart's kind (USER_PATIENCE,
   * SYSTEM_PATIENCE).
   */
  patience: undefined as number | undefined,
  /** Bytes of WebAssembly kept before the cache is flushed. */
  cacheLimit: 64 * 1024 * 1024,
  /**
   * Returns between two modules within one page before the page's blocks are
   * compiled into one module (0: never); undefined: the default of the hart's
   * kind (USER_REGROUP, SYSTEM_REGROUP).
   */
  regroupAfter: undefined as number | undefined,
  /**
   * How modules are compiled where the run loop yields to an event loop (the
   * system emulator): "async" off the main thread while the blocks go on in the
   * interpreter, "sync" at once, "mixed" newly hot blocks at once and pages
   * regrouped off the thread; undefined: the default, DEFAULT_COMPILE.  User
   * mode runs without yielding and always compiles at once.
   */
  compile: undefined as CompileMode | undefined,
  /** Jumps between modules go through the chain table instead of the dispatcher. */
  chain: true,
  /**
   * Told once when the modules compiled so far pass `bytes` of WebAssembly (the
   * user-mode CLI then keeps V8 from optimising later ones: see wasm-tiering.ts).
   */
  onCodeVolume: undefined as { bytes: number; reached(): void } | undefined,
};

/** WebAssembly.Global, which the typings in use here leave out. */
interface WasmGlobal { value: number }
const WasmGlobal = (WebAssembly as unknown as {
  Global: new (descriptor: { value: "i32"; mutable: boolean }, value: number) => WasmGlobal;
}).Global;

/**
 * The default thresholds, measured (docs/performance.md).  A kernel runs most
 * blocks a few times, and compiling them cost more than it saved: with
 * chaining between modules (an earlier version), boot / shell loop 8.3 / 7.1 s
 * at 1024, 5.7 / 7.5 at 2048, 4.8 / 7.1 at 4096, 4.8 / 7.8 at 8192, 4.5 / 8.6 at
 * 16384; with today's translator, boot medians (11 boots each, in turns) 2.51
 * and 2.48 s at 4096, 2.31 and 2.21 at 8192, with the shell loop the same
 * (5.58 and 5.40 s against 5.51 and 5.49), and at 16384 the loop 13% slower.
 * Large user programs are the same: at 16, where user mode's threshold was,
 * Python printing one line took 2.8-3.5 times the interpreter's time and
 * esbuild compiled 12,287 blocks (2.4 s of compiling); at 4096 they take 1.2-1.5
 * times, and the CPU benchmark, gzip and sha256sum of 16 MiB the same time as
 * at 16; at 8192 the CPU benchmark took 3.6-3.8 s against 2.6-2.7.
 */
export const USER_THRESHOLD = 4096;
export const SYSTEM_THRESHOLD = 8192;

/**
 * Default regroupAfter, measured (docs/performance.md): in the system
 * emulator, regrouping a page after 1024 crossings instead of 256 left fewer
 * short-lived modules for V8 to optimise, and the shell loop took 5.72 s
 * (median of 11) against 6.11 s; user mode's gzip and cpubench showed no gain.
 */
export const USER_REGROUP = 256;
export const SYSTEM_REGROUP = 1024;

/** How modules are compiled (see tcgSettings.compile). */
export type CompileMode = "sync" | "async" | "mixed";

/**
 * How the system emulator compiles unless -accel tcg,compile= says, measured
 * (docs/performance.md): V8 compiles a module off the thread through several
 * hops between its worker, whose one thread is often busy optimising another
 * module, and the event loop, so a hot block waited 100-260 ms (median) for
 * its module and ran in the interpreter meanwhile; compiled at once it waits
 * for its batch only.  A regrouped page's blocks run compiled meanwhile, and
 * its module is larger: that one still goes off the thread.
 */
export const DEFAULT_COMPILE: CompileMode = "mixed";

/**
 * Default patience, measured (docs/performance.md): V8 spends about half a
 * millisecond on a module whatever its size, and a system hart interprets
 * 32,768 instructions in about half a millisecond, so at that patience most
 * of a boot's modules held a handful of blocks (501 of 742 under 2 KB).
 * 1,048,576 made a third as many modules for the same main-thread compile
 * time.  In user mode it made CPU-bound programs slower (the CPU benchmark
 * 4.4-6.6 s against 4.2-4.3).
 */
export const USER_PATIENCE = 32768;
export const SYSTEM_PATIENCE = 1 << 20;

/** The recent-lookup cache: 2^RECENT_BITS slots, a multiplicative hash of the host address. */
const RECENT_BITS = 14;
const RECENT_MUL = 0x9e3779b1 | 0;

/** Entries between two looks at a hot block still waiting for its module. */
const HOT_RECHECK = 256;

/** A page regrouped this often waits 2^MAX_BACKOFF times regroupAfter before the next regroup. */
const MAX_BACKOFF = 8;

/** Jumps within a page into another module before it is grouped again, after `regrouped` groupings (`after`: regroupAfter). */
function crossingsBefore(regrouped: number, after: number): number {
  return after === 0 ? 1 << 30 : after * 2 ** regrouped;
}

/** The translator's figures (-d tcg). */
export interface TcgStats {
  blocks: number;
  modules: number;
  wasmBytes: number;
  compileMs: number;
  flushes: number;
  regroups: number;
  /** Modules compiled off the main thread that were not installed: the cache was flushed meanwhile, or (a fault) the compile failed. */
  discarded: number;
  exitsJump: number;
  /** Of those, jumps within a page to a block of another module (returned for regrouping). */
  exitsPage: number;
  exitsTrap: number;
  exitsSync: number;
  exitsBudget: number;
  exitsInterp: number;
  /** Instructions retired by compiled code. */
  compiledInsns: number;
  /** Runs of the interpreter from the dispatcher (a stretch of cold code, or one block). */
  interpreted: number;
  /** Instructions those runs retired. */
  interpretedInsns: number;
  /** Loads and stores of compiled code that missed both ways of the TLB (or were misaligned): calls of the helpers. */
  slowLoads: number;
  slowStores: number;
}

export class CodeCache {
  readonly entries = new Map<number, Entry>();
  /**
   * The entries last looked up, direct-mapped by a hash of the host address
   * (QEMU's tb_jmp_cache): most lookups end here instead of in the map.  A
   * slot holds an entry of the map, or a stale one the checks in lookup() reject.
   */
  private readonly recent = new Array<Entry | undefined>(1 << RECENT_BITS).fill(undefined);
  private queue: Entry[] = [];
  /** Instructions to interpret before the queue is compiled however short. */
  private wait = 0;
  /**
   * The interpreter's block-entry counters (accel/hot.ts), made for the
   * first hart that runs, at its kind's threshold; undefined while none has.
   */
  private hotTable: Int32Array | undefined;
  /** The hart whose code runs now (the helpers act on it). */
  cpu: RiscvCpu | undefined;
  /** Its instret when the compiled code was entered. */
  base = 0;
  private bytesLive = 0;
  /**
   * Per host page: jumps within it into another module left before it is
   * grouped again (in the chain table's memory once there is one, where
   * translated code counts them down too), and how often it was grouped.
   */
  private crossings: Int32Array;
  private readonly regrouped: Uint8Array;
  /** The default threshold for the kind of the first hart that runs (set in hot()). */
  private kindThreshold = USER_THRESHOLD;
  /** Crossings before a page's first regroup, for the kind of the first hart that runs (0: never; set in hot()). */
  private regroupEvery = 0;
  /** Per host page: the g.ok globals of the modules holding its blocks. */
  private readonly pageModules = new Map<number, WasmGlobal[]>();
  readonly stats: TcgStats = {
    blocks: 0, modules: 0, wasmBytes: 0, compileMs: 0, flushes: 0, regroups: 0, discarded: 0,
    exitsJump: 0, exitsPage: 0, exitsTrap: 0, exitsSync: 0, exitsBudget: 0, exitsInterp: 0, compiledInsns: 0, interpreted: 0, interpretedInsns: 0,
    slowLoads: 0, slowStores: 0,
  };
  private readonly imports: WebAssembly.Imports;
  /**
   * Which modules are compiled off the main thread (tcgSettings.compile): set
   * by a run loop that yields to the event loop between turns, where the
   * finished modules are installed; "sync" (none) otherwise.
   */
  compileMode: CompileMode = "sync";
  /** Counts flushes: a module compiled off the thread before the latest flush is not installed. */
  private epoch = 0;
  /** The compiles off the thread not yet finished. */
  private readonly compiling = new Set<Promise<void>>();
  /**
   * Host pages whose regrouped module is being compiled off the thread: the
   * page's old modules keep running meanwhile and keep crossing, and a second
   * regroup would compile the same module again (V8 then makes the main
   * thread wait for the first compile of those bytes to finish).
   */
  private readonly regrouping = new Set<number>();
  /**
   * Made with the first module (it takes room in the state area): its hub's
   * enter() is how the dispatcher calls every module, and with chaining on,
   * its hub() how modules call each other.
   */
  private chainTable: ChainTable | undefined;

  constructor(readonly ram: GuestRam) {
    // The countdowns are set for the first hart that runs, by its kind: see hot().
    this.crossings = new Int32Array(ram.pages);
    this.regrouped = new Uint8Array(ram.pages);
    ram.onDrop = (page) => this.dropped(page);
    const slotOf = (cpu: RiscvCpu): Int32Array => cpu.slot;
    const load: LoadHelper = (lo, hi, size, retired) => {
      this.stats.slowLoads++;
      const cpu = this.cpu as RiscvCpu;
      cpu.instret = this.base + retired;
      if (!cpu.loadSlow(hi, lo, size)) return 0;
      const s = slotOf(cpu);
      s[HartLayout.TMP >> 2] = cpu.tmpLo;
      s[(HartLayout.TMP >> 2) + 1] = cpu.tmpHi;
      return 1;
    };
    const store: StoreHelper = (lo, hi, size, vlo, vhi, retired) => {
      this.stats.slowStores++;
      const cpu = this.cpu as RiscvCpu;
      cpu.instret = this.base + retired;
      const drops = ram.drops;
      if (!cpu.storeSlow(hi, lo, size, vlo, vhi)) return StoreResult.TRAP;
      if (cpu.ioWritten) {
        cpu.ioWritten = false;
        return StoreResult.SYNC;
      }
      // The store dropped translated code (perhaps the running block's): go back to the dispatcher.
      return ram.drops !== drops ? StoreResult.JUMP : StoreResult.OK;
    };
    // Translated code misses way 0 of the TLB into WebAssembly that looks at way 1 before it calls these.
    const miss = tlbMissPath(ram.memory, ram.shared, load, store);
    this.imports = {
      e: { m: ram.memory },
      h: {
        load: miss.load,
        store: miss.store,
        interp: (lo: number, hi: number, retired: number): number => {
          const cpu = this.cpu as RiscvCpu;
          cpu.instret = this.base + retired;
          cpu.pc = hi * 4294967296 + (lo >>> 0);
          const drops = ram.drops;
          const x = run(cpu, 1);
          if (x === Exit.TRAP) return StoreResult.TRAP;
          if (x !== Exit.BUDGET) return StoreResult.SYNC;
          return ram.drops !== drops ? StoreResult.JUMP : StoreResult.OK;
        },
        exec: (op: Op, rd: number, rs1: number, rs2: number, rs3rm: number, host: number, retired: number): number => {
          const cpu = this.cpu as RiscvCpu;
          cpu.instret = this.base + retired;
          if (op <= Op.AMOMAXU_D) {
            const drops = ram.drops;
            if (!execAmo(cpu, op, rd, rs1, rs2)) return StoreResult.TRAP;
            // The atomic wrote a page holding code (perhaps the running block's): back to the dispatcher.
            return ram.drops !== drops ? StoreResult.JUMP : StoreResult.OK;
          }
          if (execFp(cpu, op, rd, rs1, rs2, rs3rm & 31, rs3rm >>> 5)) return StoreResult.OK;
          // mstatus.FS Off: illegal, with the instruction's bits as tval (FP arithmetic has no compressed forms).
          const u16 = ram.u16;
          cpu.raise(Cause.ILLEGAL_INSN, 0, u16[host >>> 1] | (u16[(host + 2) >>> 1] << 16));
          return StoreResult.TRAP;
        },
        mulh: (kind: number, ah: number, al: number, bh: number, bl: number): void => {
          if (kind === 0) alu.mulh64(ah, al, bh, bl);
          else if (kind === 1) alu.mulhsu64(ah, al, bh, bl);
          else alu.mulhu64(ah, al, bh, bl);
          const s = slotOf(this.cpu as RiscvCpu);
          s[HartLayout.TMP >> 2] = alu.res[0];
          s[(HartLayout.TMP >> 2) + 1] = alu.res[1];
        },
      },
    };
  }

  /** The current entry for the block at `pc` (host byte offset `host`), made when missing or stale. */
  lookup(pc: number, host: number): Entry {
    const gen = this.ram.codeGen[host >>> PAGE_SHIFT];
    const i = Math.imul(host >>> 1, RECENT_MUL) >>> (32 - RECENT_BITS);
    const r = this.recent[i];
    if (r !== undefined && r.host === host && r.pc === pc && r.gen === gen) return r;
    const e = this.entries.get(host);
    if (e !== undefined && e.pc === pc && e.gen === gen) {
      this.recent[i] = e;
      return e;
    }
    const block = scanBlock(this.ram, host);
    const fresh: Entry = {
      pc, host, gen, length: block.insns.length, compiled: block.compiled, cut: block.cut, hits: 0, queued: false,
      run: undefined, index: 0, module: -1,
    };
    this.entries.set(host, fresh);
    this.recent[i] = fresh;
    return fresh;
  }

  /** Executions before a block is compiled (by default for the kind of the first hart that runs: see hot()). */
  threshold(): number {
    return tcgSettings.threshold ?? this.kindThreshold;
  }

  /** Interpreted instructions a part-filled queue waits, for `cpu`'s kind. */
  patience(cpu: RiscvCpu): number {
    return tcgSettings.patience ?? (cpu.system ? SYSTEM_PATIENCE : USER_PATIENCE);
  }

  /** Crossings within a page before its blocks are regrouped, for `cpu`'s kind (0: never). */
  regroupAfter(cpu: RiscvCpu): number {
    return tcgSettings.regroupAfter ?? (cpu.system ? SYSTEM_REGROUP : USER_REGROUP);
  }

  /**
   * The block-entry counters for the interpreter (accel/hot.ts), at the
   * threshold when new (the pages' crossing counts then set for `cpu`'s kind).
   */
  hot(cpu: RiscvCpu): Int32Array {
    if (this.hotTable === undefined) {
      this.kindThreshold = cpu.system ? SYSTEM_THRESHOLD : USER_THRESHOLD;
      this.hotTable = new Int32Array(1 << HOT_BITS).fill(this.threshold());
      this.regroupEvery = this.regroupAfter(cpu);
      this.crossings.fill(crossingsBefore(0, this.regroupEvery));
    }
    return this.hotTable;
  }

  /** The dispatcher's interpreter ran `n` instructions: a part-filled queue waits only so long. */
  interpreted(n: number): void {
    this.stats.interpreted++;
    this.stats.interpretedInsns += n;
    if (this.queue.length > 0 && (this.wait -= n) <= 0) this.compileQueue();
  }

  /** Count an interpreted execution of `e`; queue it when hot, compile the queue when full. */
  hit(e: Entry): void {
    if (e.queued || e.compiled === 0) return;
    if (++e.hits < this.threshold()) return;
    this.enqueue(e);
  }

  /**
   * The interpreter's counter for `e` (entering it, or arriving there from
   * the dispatcher) ran out: queue `e` for compiling, and set the counter
   * for when the interpreter should hand it back again.  A counter holding a
   * compiled block's mark is another block's: `e` is counted on its own.
   */
  heat(e: Entry, hot: Int32Array, slot: number): void {
    if (hot[slot] < HOT_COMPILED / 2) {
      hot[slot] = HOT_COMPILED;
      this.hit(e);
      return;
    }
    if (e.compiled === 0) {
      hot[slot] = this.threshold();
      return;
    }
    hot[slot] = HOT_RECHECK;
    if (!e.queued) this.enqueue(e);
  }

  private enqueue(e: Entry): void {
    e.queued = true;
    if (this.queue.length === 0) this.wait = this.patience(this.cpu as RiscvCpu);
    this.queue.push(e);
    // A block cut at MAX_INSNS runs on into the next as often as it runs (an unrolled loop's body, a
    // long straight line): that one is as hot, and goes into the same module (past the batch if need
    // be; the line ends within the page), so that the fall-through is a branch within the module
    // rather than a return to the interpreter for another count.
    for (let f = e; f.cut >= 0;) {
      f = this.lookup(f.pc + (f.cut - f.host), f.cut);
      if (f.queued || f.run !== undefined || f.compiled === 0) break;
      f.queued = true;
      this.queue.push(f);
    }
    if (this.queue.length >= tcgSettings.batch) this.compileQueue();
  }

  /** Compile the queued blocks that are still current (and not compiled since they were queued) into one module. */
  compileQueue(): void {
    const t0 = performance.now();
    const ram = this.ram;
    const todo: Entry[] = [];
    const code: BlockCode[] = [];
    for (const e of this.queue) {
      e.queued = false;
      const page = e.host >>> PAGE_SHIFT;
      // Only code the interpreter has marked (so stores to it are caught) and still current.
      if (e.run !== undefined || this.entries.get(e.host) !== e || e.gen !== ram.codeGen[page] || !ram.hasCode(page)) continue;
      const block = scanBlock(ram, e.host);
      if (block.compiled === 0) { e.compiled = 0; continue; }
      todo.push(e);
      code.push({ pc: e.pc, host: e.host, block });
    }
    this.queue = [];
    this.compile(todo, code, t0);
  }

  /**
   * The dispatcher left a module at a block of `hostPage` and entered another
   * module at a block of the same page: count it, and when such returns pile
   * up, compile the page's blocks again into one module.
   */
  crossed(hostPage: number): void {
    if (this.regroupEvery === 0) return;
    // (Translated code may have counted this one down already: a page is grouped a jump early then.)
    if (--this.crossings[hostPage] > 0) return;
    if (this.regrouped[hostPage] < MAX_BACKOFF) this.regrouped[hostPage]++;
    this.crossings[hostPage] = crossingsBefore(this.regrouped[hostPage], this.regroupEvery);
    this.regroup(hostPage);
  }

  /** Compile every current compiled or queued block of `hostPage` again, into one module. */
  regroup(hostPage: number): void {
    const t0 = performance.now();
    const ram = this.ram;
    const gen = ram.codeGen[hostPage];
    if (!ram.hasCode(hostPage) || this.regrouping.has(hostPage)) return;
    const todo: Entry[] = [];
    const code: BlockCode[] = [];
    for (const e of this.entries.values()) {
      if (e.host >>> PAGE_SHIFT !== hostPage || e.gen !== gen || (e.run === undefined && !e.queued)) continue;
      const block = scanBlock(ram, e.host);
      if (block.compiled === 0) continue;
      todo.push(e);
      code.push({ pc: e.pc, host: e.host, block });
    }
    // Fewer than two blocks, or all in one module already: nothing to join.
    if (todo.length < 2 || todo.every((e) => e.run !== undefined && e.run === todo[0].run)) return;
    this.stats.regroups++;
    this.compile(todo, code, t0, hostPage);
  }

  /** A page lost its code: the modules holding its blocks stop branching between pages, and no module chains to them. */
  private dropped(hostPage: number): void {
    this.chainTable?.dropPage(hostPage);
    const oks = this.pageModules.get(hostPage);
    if (oks === undefined) return;
    for (const ok of oks) ok.value = 0;
    this.pageModules.delete(hostPage);
  }

  /**
   * Compile `found` (the blocks of the entries `queued`) into one module and
   * point the entries at it: at once, or off the main thread, the blocks staying queued
   * (so not queued again) and interpreted until the module is installed.
   * `regroupOf`: the host page whose blocks these are, for a regroup.
   */
  private compile(queued: readonly Entry[], found: readonly BlockCode[], t0: number, regroupOf = -1): void {
    if (found.length === 0) return;
    // Blocks by host address, so that a branch forward in a page is one in the module (a plain branch, emit.ts).
    const order = found.map((_, i) => i).sort((a, b) => found[a].host - found[b].host);
    const todo = order.map((i) => queued[i]);
    const code = order.map((i) => found[i]);
    // The module's bytes lie in a plain ArrayBuffer; the DOM's typings (the web page's build) want that said.
    if (this.chainTable === undefined) {
      const chain = new ChainTable(this.ram);
      this.chainTable = chain;
      if (chain.crossAt >= 0) {
        const counts = new Int32Array(this.ram.memory.buffer, chain.crossAt, this.ram.pages);
        counts.set(this.crossings);
        this.crossings = counts;
      }
    }
    const chain = this.chainTable;
    const bytes = buildModule(code, this.ram.shared, tcgSettings.chain ? chain.at : -1,
      tcgSettings.chain ? chain.crossAt : -1) as Uint8Array<ArrayBuffer>;
    if (this.bytesLive + bytes.length > tcgSettings.cacheLimit) this.flush();
    if (this.compileMode === "sync" || (this.compileMode === "mixed" && regroupOf < 0)) {
      this.install(new WebAssembly.Module(bytes), todo, code, bytes.length, t0);
      return;
    }
    for (const e of todo) e.queued = true;
    if (regroupOf >= 0) this.regrouping.add(regroupOf);
    this.stats.compileMs += performance.now() - t0;
    const epoch = this.epoch;
    const done = WebAssembly.compile(bytes).then((module) => {
      if (epoch !== this.epoch) {
        this.stats.discarded++;
        return;
      }
      this.install(module, todo, code, bytes.length, performance.now());
    }, () => {
      // Not expected (the emitter's modules validate): the blocks stay with the interpreter.
      this.stats.discarded++;
      for (const e of todo) e.compiled = 0;
    }).finally(() => {
      for (const e of todo) e.queued = false;
      if (regroupOf >= 0) this.regrouping.delete(regroupOf);
      this.compiling.delete(done);
    });
    this.compiling.add(done);
  }

  /** Resolves when every module being compiled off the thread now is installed (or dropped). */
  async settled(): Promise<void> {
    await Promise.all([...this.compiling]);
  }

  /**
   * Instantiate `module` and point the entries of `todo` still current at it.
   * If any of them went stale while the module was compiled off the thread,
   * a page of the module lost its code: its branches between pages must not
   * chain (g.ok starts at 0).
   */
  private install(module: WebAssembly.Module, todo: readonly Entry[], code: readonly BlockCode[], size: number, t0: number): void {
    const ram = this.ram;
    // (A flush just before a compile at once emptied the map: its blocks go back in.)
    const current = todo.map((e) => {
      const page = e.host >>> PAGE_SHIFT;
      const now = this.entries.get(e.host);
      return (now === e || now === undefined) && e.gen === ram.codeGen[page] && ram.hasCode(page);
    });
    const ok = new WasmGlobal({ value: "i32", mutable: true }, current.every((c) => c) ? 1 : 0);
    const chain = this.chainTable as ChainTable;
    const c = tcgSettings.chain && chain.at >= 0 ? { c: { hub: chain.hub } } : {};
    const instance = new WebAssembly.Instance(module, { ...this.imports, g: { ok }, ...c } as unknown as WebAssembly.Imports);
    const pages = new Set(todo.map((e) => e.host >>> PAGE_SHIFT));
    for (const p of pages) {
      const oks = this.pageModules.get(p);
      if (oks === undefined) this.pageModules.set(p, [ok]);
      else oks.push(ok);
    }
    const run = instance.exports.run as CompiledRun;
    const index = chain.addModule(run);
    todo.forEach((e, i) => {
      if (!current[i]) return;
      e.run = run;
      e.index = i;
      e.module = index;
      e.compiled = code[i].block.compiled;
      this.entries.set(e.host, e);
      if (tcgSettings.chain) chain.insert(e.host, e.pc, index, i);
      if (this.hotTable !== undefined) this.hotTable[hotSlot(e.host)] = HOT_COMPILED;
    });
    this.bytesLive += size;
    const s = this.stats;
    s.blocks += code.length;
    s.modules++;
    s.wasmBytes += size;
    s.compileMs += performance.now() - t0;
    const volume = tcgSettings.onCodeVolume;
    if (volume !== undefined && s.wasmBytes >= volume.bytes) {
      tcgSettings.onCodeVolume = undefined;
      volume.reached();
    }
  }

  /** Forget every translation (the cache passed its size limit). */
  flush(): void {
    for (const e of this.entries.values()) e.run = undefined;
    this.entries.clear();
    this.recent.fill(undefined);
    this.crossings.fill(crossingsBefore(0, this.regroupEvery));
    this.regrouped.fill(0);
    for (const oks of this.pageModules.values()) for (const ok of oks) ok.value = 0;
    this.pageModules.clear();
    this.chainTable?.clear();
    if (this.hotTable !== undefined) this.hotTable.fill(this.threshold());
    this.bytesLive = 0;
    this.epoch++;
    this.stats.flushes++;
  }

  /** The hub's enter() once a module was compiled. */
  get enter(): EnterRun | undefined {
    return this.chainTable?.enter as EnterRun | undefined;
  }

  /** Jumps from one module straight into another so far. */
  get chained(): number {
    return this.chainTable?.chained ?? 0;
  }

  /** Bytes of WebAssembly the cache holds. */
  get size(): number {
    return this.bytesLive;
  }
}

const caches = new WeakMap<GuestRam, CodeCache>();

export function codeCacheFor(ram: GuestRam): CodeCache {
  let c = caches.get(ram);
  if (c === undefined) {
    c = new CodeCache(ram);
    caches.set(ram, c);
  }
  return c;
}
