/**
 * The slow path of translated loads and stores, begun in WebAssembly.
 *
 * A load or store whose inline TLB test misses way 0 (emit.ts) calls this
 * small module's load or store: they look at way 1 at the same index
 * (target/riscv/tlb.ts) and, on a hit, swap the two ways' entries and make
 * the access as the inline test would have; on a miss they call the code
 * cache's helpers in TypeScript, which walk the page table, reach devices
 * and raise traps.  Two hot pages at one index then cost a call from one
 * WebAssembly function to another instead of a call out to JavaScript and the
 * slow path's work (docs/performance.md: a user-mode loop over two such pages
 * ran almost four times as fast; the guest's shell loop, in the runs whose
 * layout put its heap and data pages at one index, had made 0.9-3.9 M calls).
 *
 *   load(state, entry, lo, hi, size, retired) -> 1 with the value,
 *     zero-extended, in the hart slot's TMP; 0 after a trap
 *   store(state, entry, lo, hi, size, vlo, vhi, retired) -> a StoreResult
 *
 * `state` is the hart's slot, `entry` the byte offset of the index's entry in
 * the TLB's first table (the TLB's base plus ENTRY_BYTES * index), the rest
 * as the helpers they stand in for take them.  A way-1 entry is as good as a way-0
 * one: it got there from way 0, and every flush drops both (no write entry
 * maps a page holding translated code, a watched page, or a device).
 */
import { FunctionBody, ModuleBuilder, ValType } from "../wasm/encoder.js";
import { W } from "../wasm/opcodes.js";
import { HartLayout } from "../../target/riscv/hart-layout.js";
import { Access, PAGE_MASK, TLB_WAY_BYTES, TlbEntry, tlbTable } from "../../target/riscv/tlb.js";
import { StoreResult } from "./emit.js";

const I32 = ValType.I32, I64 = ValType.I64;

/** Byte offsets from an entry in the first table of a kind's entry in way 0. */
const READ = tlbTable(Access.READ);
const WRITE = tlbTable(Access.WRITE);
/** The words of an entry that way 1 and way 0 swap. */
const WORDS = [TlbEntry.TAG_LO, TlbEntry.TAG_HI, TlbEntry.HOST];

/** What the code cache's TypeScript helpers look like (code-cache.ts). */
export type LoadHelper = (lo: number, hi: number, size: number, retired: number) => number;
export type StoreHelper = (lo: number, hi: number, size: number, vlo: number, vhi: number, retired: number) => number;

/** An exported WebAssembly function (callable from TypeScript too, as the tests do). */
type WasmFunction = (...args: number[]) => number;

export interface TlbMissPath {
  /** For translated modules to import in place of the helpers. */
  readonly load: WasmFunction;
  readonly store: WasmFunction;
}

/**
 * Push whether way 1's entry at `entry` maps the access of `size` bytes at
 * (lo, hi) (all locals), for an `if` the caller opens.
 */
function wayOneHit(f: FunctionBody, table: number, entry: number, lo: number, hi: number, size: number): void {
  f.get(entry); f.mem(W.I32_LOAD, 2, TLB_WAY_BYTES + table + TlbEntry.TAG_LO);
  f.get(lo); f.i32(PAGE_MASK); f.get(size); f.i32(1); f.op(W.I32_SUB); f.op(W.I32_OR); f.op(W.I32_AND);
  f.op(W.I32_EQ);
  f.get(entry); f.mem(W.I32_LOAD, 2, TLB_WAY_BYTES + table + TlbEntry.TAG_HI);
  f.get(hi); f.op(W.I32_EQ);
  f.op(W.I32_AND);
}

/** Inside the `if` of wayOneHit: swap the ways' entries; the access's host address into `host`. */
function swapWays(f: FunctionBody, table: number, entry: number, lo: number, hi: number, host: number): void {
  f.get(entry); f.mem(W.I32_LOAD, 2, TLB_WAY_BYTES + table + TlbEntry.HOST); f.set(host);
  for (const word of WORDS) {
    const off = table + word;
    f.get(entry); f.get(entry); f.mem(W.I32_LOAD, 2, off); f.mem(W.I32_STORE, 2, TLB_WAY_BYTES + off);
  }
  f.get(entry); f.get(lo); f.i32(PAGE_MASK); f.op(W.I32_AND); f.mem(W.I32_STORE, 2, table + TlbEntry.TAG_LO);
  f.get(entry); f.get(hi); f.mem(W.I32_STORE, 2, table + TlbEntry.TAG_HI);
  f.get(entry); f.get(host); f.mem(W.I32_STORE, 2, table + TlbEntry.HOST);
  f.get(host); f.get(lo); f.i32(~PAGE_MASK); f.op(W.I32_AND); f.op(W.I32_ADD); f.set(host);
}

/** Pick by `size` (local: 8, 4, 2, else 1) which of `ops` (in that order) `emit` emits. */
function bySize(f: FunctionBody, size: number, ops: readonly [W, W, W, W], emit: (op: W) => void, result?: ValType): void {
  for (const [i, bytes] of [8, 4, 2].entries()) {
    f.get(size); f.i32(bytes); f.op(W.I32_EQ);
    f.if(result);
    emit(ops[i]);
    f.op(W.ELSE);
  }
  emit(ops[3]);
  for (let i = 0; i < 3; i++) f.end();
}

function buildModule(sharedMemory: boolean): Uint8Array {
  const m = new ModuleBuilder();
  const jsLoad = m.importFunc("h", "load", [I32, I32, I32, I32], [I32]);
  const jsStore = m.importFunc("h", "store", [I32, I32, I32, I32, I32, I32], [I32]);

  const ld = new FunctionBody([I32, I32, I32, I32, I32, I32], [I32]);
  {
    const [state, entry, lo, hi, size, retired] = [0, 1, 2, 3, 4, 5];
    const host = ld.local(I32);
    wayOneHit(ld, READ, entry, lo, hi, size);
    ld.if();
    swapWays(ld, READ, entry, lo, hi, host);
    ld.get(state);
    bySize(ld, size, [W.I64_LOAD, W.I64_LOAD32_U, W.I64_LOAD16_U, W.I64_LOAD8_U], (op) => {
      ld.get(host); ld.mem(op, 0, 0);
    }, I64);
    ld.mem(W.I64_STORE, 3, HartLayout.TMP);
    ld.i32(1); ld.op(W.RETURN);
    ld.end();
    for (const p of [lo, hi, size, retired]) ld.get(p);
    ld.call(jsLoad);
  }
  m.addFunc(ld, "load");

  const st = new FunctionBody([I32, I32, I32, I32, I32, I32, I32, I32], [I32]);
  {
    const [, entry, lo, hi, size, vlo, vhi, retired] = [0, 1, 2, 3, 4, 5, 6, 7];
    const host = st.local(I32);
    const value = st.local(I64);
    wayOneHit(st, WRITE, entry, lo, hi, size);
    st.if();
    swapWays(st, WRITE, entry, lo, hi, host);
    st.get(vlo); st.op(W.I64_EXTEND_I32_U);
    st.get(vhi); st.op(W.I64_EXTEND_I32_U); st.i64(32); st.op(W.I64_SHL);
    st.op(W.I64_OR); st.set(value);
    bySize(st, size, [W.I64_STORE, W.I64_STORE32, W.I64_STORE16, W.I64_STORE8], (op) => {
      st.get(host); st.get(value); st.mem(op, 0, 0);
    });
    st.i32(StoreResult.OK); st.op(W.RETURN);
    st.end();
    for (const p of [lo, hi, size, vlo, vhi, retired]) st.get(p);
    st.call(jsStore);
  }
  m.addFunc(st, "store");
  return m.encode("e", "m", sharedMemory);
}

/** The module for a machine's memory, calling `load` and `store` when way 1 misses too. */
export function tlbMissPath(memory: WebAssembly.Memory, shared: boolean, load: LoadHelper, store: StoreHelper): TlbMissPath {
  const module = new WebAssembly.Module(buildModule(shared) as Uint8Array<ArrayBuffer>);
  const instance = new WebAssembly.Instance(module, { e: { m: memory }, h: { load, store } });
  return { load: instance.exports.load as WasmFunction, store: instance.exports.store as WasmFunction };
}
