/**
 * Chaining between modules: where translated code finds the compiled block
 * at a pc without going back to the dispatcher.
 *
 * Two parts, shared by every module of one code cache:
 *   - a funcref table holding each module's run function, used by one small
 *     module of its own, the hub: hub(state, entry, budget, count, module)
 *     tail-calls run of module `module`.  Translated modules tail-call the hub
 *     rather than import the table: V8 (11.x) updates every instance that
 *     imports a table on each table.set, which made installing n modules cost
 *     O(n^2) (measured: 13,512 one-block modules took 152 s instead of 7 s).
 *     The dispatcher enters every module through the hub too (its enter(),
 *     which also moves the registers between the interpreter's halves and
 *     the int64s translated code keeps them in), so that its call into
 *     WebAssembly has one target (a call site that met hundreds of modules'
 *     functions went through V8's generic JS-to-wasm wrapper);
 *   - a two-way hash in the machine's WebAssembly.Memory (past guest RAM,
 *     in the state area) from a block's start to its module and entry.
 * An entry (16 bytes): host byte offset of the block (-1: empty), pc low
 * and high halves, then (module's table index << ENTRY_BITS) | block index
 * in the module.  Bucket b (32 bytes at `at + 32 * b`, way 0 then way 1) is
 * HASH_MUL * (host >> 1) >>> (32 - BUCKET_BITS).  A new block goes where its
 * host address already is, else in an empty way, else in way 0 with way 0's
 * block moved to way 1 (whose block is dropped).  With one way, two hot
 * blocks at one slot took turns there and every jump to the one out sent
 * translated code back to the dispatcher (docs/performance.md).  A module
 * leaving for a pc looks the pc up in the fetch TLB, then the host address
 * here (way 0, then way 1), and on a hit tail-calls the target module: the
 * same block the dispatcher would have found, because an entry is here only
 * while its block is current (a page that loses its code, a flush, take its
 * entries out).  Eight bytes before the entries count the tail calls.
 *
 * A third part, per host page of guest RAM, an int32 countdown of jumps
 * within that page from one module into another (`crossAt`): such a jump is
 * chained while the count stays above zero; at zero it returns to the
 * dispatcher, which compiles the page's blocks again into one module and
 * sets the count again (CodeCache.crossed).
 */
import type { GuestRam } from "../../target/riscv/ram.js";
import { PAGE_SHIFT } from "../../target/riscv/tlb.js";
import { FunctionBody, ModuleBuilder, ValType } from "../wasm/encoder.js";
import { W } from "../wasm/opcodes.js";
import { HartLayout } from "../../target/riscv/hart-layout.js";

/** Buckets of the chain table: 2^BUCKET_BITS, of two entries (ways) each. */
export const BUCKET_BITS = 14;
export const CHAIN_ENTRIES = 2 << BUCKET_BITS;
export const HASH_MUL = 0x9e3779b1 | 0;
/** Bits of the block index in an entry's last word; the rest is the module's table index. */
export const ENTRY_BITS = 12;
const HEADER = 8;

const I32 = ValType.I32;

/**
 * The hub module:
 *   hub(state, entry, budget, count, module) = c.f[module](state, entry, budget, count), a tail call;
 *   enter(state, entry, budget, module), the dispatcher's way in: x1..x31 from
 *   the interpreter's halves (XL, XH) to the int64s translated code keeps them
 *   in (XQ), c.f[module](state, entry, budget, 0), and them back when it returns.
 */
function buildHub(sharedMemory: boolean): Uint8Array {
  const m = new ModuleBuilder();
  m.importTable("c", "f");
  const run = m.typeIndex([I32, I32, I32, I32], [I32]);
  const hub = new FunctionBody([I32, I32, I32, I32, I32], [I32]);
  for (let p = 0; p < 5; p++) hub.get(p);
  hub.returnCallIndirect(run, 0);
  m.addFunc(hub, "hub");
  const enter = new FunctionBody([I32, I32, I32, I32], [I32]);
  const code = enter.local(I32);
  copyRegisters(enter, true);
  for (let p = 0; p < 3; p++) enter.get(p);
  enter.i32(0);
  enter.get(3);
  enter.callIndirect(run, 0);
  enter.set(code);
  copyRegisters(enter, false);
  enter.get(code);
  m.addFunc(enter, "enter");
  return m.encode("e", "m", sharedMemory);
}

/** x1..x31 of the hart slot at local 0, between the halves (XL, XH) and the int64s (XQ), either way. */
function copyRegisters(f: FunctionBody, toXq: boolean): void {
  for (let r = 1; r < 32; r++) {
    const words = [[HartLayout.XL + 4 * r, HartLayout.XQ + 8 * r], [HartLayout.XH + 4 * r, HartLayout.XQ + 8 * r + 4]];
    for (const [half, q] of words) {
      f.get(0); f.get(0);
      f.mem(W.I32_LOAD, 2, toXq ? half : q);
      f.mem(W.I32_STORE, 2, toXq ? q : half);
    }
  }
}

/** The bucket of a block starting at host byte offset `host`. */
export function chainBucket(host: number): number {
  return Math.imul(host >>> 1, HASH_MUL) >>> (32 - BUCKET_BITS);
}

export class ChainTable {
  /** Byte offset of entry 0 in the memory, or -1 when the state area had no room (no chaining then). */
  readonly at: number;
  /** Byte offset of the per-page countdowns (an int32 per host page), or -1 when there was no room. */
  readonly crossAt: number;
  readonly table: WebAssembly.Table;
  /** What translated modules import as c.hub. */
  readonly hub: unknown;
  /** How the dispatcher runs a module: enter(state, entry, budget, module) (see buildHub). */
  readonly enter: unknown;
  private readonly i32: Int32Array;
  private modules = 0;
  /** Per host page: the buckets its blocks were put in (a bucket may since hold other pages' blocks). */
  private readonly bucketsOf = new Map<number, Set<number>>();

  constructor(ram: GuestRam) {
    // The entries start on a multiple of 32 bytes (allocState gives 8), so that no bucket spans two cache lines.
    const base = ram.allocState(HEADER + 24 + 16 * CHAIN_ENTRIES);
    this.at = base < 0 ? -1 : Math.ceil((base + HEADER) / 32) * 32;
    this.crossAt = this.at < 0 ? -1 : ram.allocState(4 * ram.pages);
    this.i32 = ram.i32;
    this.table = new WebAssembly.Table({ element: "anyfunc", initial: 0 });
    const hub = new WebAssembly.Instance(new WebAssembly.Module(buildHub(ram.shared) as Uint8Array<ArrayBuffer>),
      { e: { m: ram.memory }, c: { f: this.table } });
    this.hub = hub.exports.hub;
    this.enter = hub.exports.enter;
    if (this.at >= 0) this.i32.fill(-1, this.at >>> 2, (this.at >>> 2) + 4 * CHAIN_ENTRIES);
  }

  /** Give a module's run function a table index; -1 when none is left (its blocks then do not chain in). */
  addModule(run: unknown): number {
    if (this.modules >= 1 << (31 - ENTRY_BITS)) return -1;
    const index = this.modules++;
    if (index >= this.table.length) this.table.grow(Math.max(64, this.table.length));
    this.table.set(index, run);
    return index;
  }

  /** Make the block at `pc` (host offset `host`), block `entry` of module `module`, reachable. */
  insert(host: number, pc: number, module: number, entry: number): void {
    if (this.at < 0 || module < 0 || entry >= 1 << ENTRY_BITS) return;
    const bucket = chainBucket(host);
    const i32 = this.i32;
    const w0 = (this.at >>> 2) + 8 * bucket, w1 = w0 + 4;
    let w: number;
    if (i32[w0] === host) w = w0;
    else if (i32[w1] === host) w = w1;
    else if (i32[w0] === -1) w = w0;
    else if (i32[w1] === -1) w = w1;
    else {
      // Both ways hold other blocks: way 0's moves to way 1, way 1's goes.
      i32.copyWithin(w1, w0, w0 + 4);
      w = w0;
    }
    i32[w] = host;
    i32[w + 1] = pc | 0;
    i32[w + 2] = Math.floor(pc / 4294967296) | 0;
    i32[w + 3] = (module << ENTRY_BITS) | entry;
    const page = host >>> PAGE_SHIFT;
    let set = this.bucketsOf.get(page);
    if (set === undefined) this.bucketsOf.set(page, (set = new Set()));
    set.add(bucket);
  }

  /** A host page lost its code: its blocks are no longer reachable from here. */
  dropPage(page: number): void {
    const set = this.bucketsOf.get(page);
    if (set === undefined) return;
    const i32 = this.i32;
    const base = this.at >>> 2;
    for (const bucket of set) {
      for (let w = base + 8 * bucket; w < base + 8 * bucket + 8; w += 4) {
        if (i32[w] !== -1 && i32[w] >>> PAGE_SHIFT === page) i32[w] = -1;
      }
    }
    this.bucketsOf.delete(page);
  }

  /** Forget every module and block (the code cache was flushed). */
  clear(): void {
    if (this.at >= 0) this.i32.fill(-1, this.at >>> 2, (this.at >>> 2) + 4 * CHAIN_ENTRIES);
    for (let i = 0; i < this.modules; i++) this.table.set(i, null);
    this.modules = 0;
    this.bucketsOf.clear();
  }

  /** Tail calls from one module into another so far. */
  get chained(): number {
    if (this.at < 0) return 0;
    const w = (this.at - HEADER) >>> 2;
    return (this.i32[w] >>> 0) + (this.i32[w + 1] >>> 0) * 4294967296;
  }

  /** Where the count of tail calls lives (an int64). */
  get counterAt(): number {
    return this.at - HEADER;
  }
}
