/**
 * A small WebAssembly binary encoder: just what the translator emits (one
 * memory import, function, global and table imports, functions with i32/i64
 * locals, exports, and branch hints: the custom section
 * "metadata.code.branch_hint" of the branch-hinting proposal, which says of
 * an `if` whether it is likely taken; an engine that does not read it skips it).
 * Code generation must take microseconds, so this writes bytes directly; no
 * validation beyond what WebAssembly.Module does.
 */
import { W } from "./opcodes.js";

export const enum ValType { I32 = 0x7f, I64 = 0x7e }

/** A growable byte buffer with the LEB128 forms the binary format uses. */
export class Bytes {
  private buf = new Uint8Array(1024);
  length = 0;

  byte(b: number): void {
    if (this.length === this.buf.length) {
      const next = new Uint8Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = b;
  }

  bytes(bs: ArrayLike<number>): void {
    for (let i = 0; i < bs.length; i++) this.byte(bs[i]);
  }

  /** Unsigned LEB128 of a value below 2^32. */
  u32(v: number): void {
    let x = v >>> 0;
    do {
      const b = x & 0x7f;
      x >>>= 7;
      this.byte(x !== 0 ? b | 0x80 : b);
    } while (x !== 0);
  }

  /** Signed LEB128 of an exact integer (up to 64 bits; doubles are exact to 2^53, and pcs fit). */
  sleb(v: number): void {
    let x = v;
    for (;;) {
      const b = ((x % 128) + 128) % 128;
      x = (x - b) / 128;
      if ((x === 0 && (b & 0x40) === 0) || (x === -1 && (b & 0x40) !== 0)) {
        this.byte(b);
        return;
      }
      this.byte(b | 0x80);
    }
  }

  /** Signed LEB128 of a 64-bit value given as int32 halves. */
  sleb64(hi: number, lo: number): void {
    let v = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
    for (;;) {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
        this.byte(b);
        return;
      }
      this.byte(b | 0x80);
    }
  }

  name(s: string): void {
    this.u32(s.length);
    for (let i = 0; i < s.length; i++) this.byte(s.charCodeAt(i));
  }

  append(other: Bytes): void {
    this.bytes(other.view());
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/** A branch hint: the `if` is likely taken, or likely not. */
export const enum Hint { UNLIKELY = 0, LIKELY = 1 }

/** One function body under construction: locals and instructions. */
export class FunctionBody extends Bytes {
  private readonly localTypes: ValType[] = [];
  /** Branch hints, in the order of the code: pairs of an `if`'s offset in the instructions and its Hint. */
  private readonly hints: number[] = [];

  constructor(readonly params: readonly ValType[], readonly results: readonly ValType[]) {
    super();
  }

  /** Declare a local; returns its index. */
  local(type: ValType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  op(code: W): void { this.byte(code); }
  i32(v: number): void { this.byte(W.I32_CONST); this.sleb(v | 0); }
  i64(v: number): void { this.byte(W.I64_CONST); this.sleb(v); }
  get(l: number): void { this.byte(W.LOCAL_GET); this.u32(l); }
  set(l: number): void { this.byte(W.LOCAL_SET); this.u32(l); }
  tee(l: number): void { this.byte(W.LOCAL_TEE); this.u32(l); }
  call(f: number): void { this.byte(W.CALL); this.u32(f); }
  /** A call through table `table` to a function of type `type`. */
  callIndirect(type: number, table: number): void { this.byte(W.CALL_INDIRECT); this.u32(type); this.u32(table); }
  /** A tail call to function `f` (the tail-call proposal, in V8 since 11.2). */
  returnCall(f: number): void { this.byte(W.RETURN_CALL); this.u32(f); }
  /** A tail call through table `table` to a function of type `type` (the tail-call proposal, in V8 since 11.2). */
  returnCallIndirect(type: number, table: number): void { this.byte(W.RETURN_CALL_INDIRECT); this.u32(type); this.u32(table); }
  globalGet(g: number): void { this.byte(W.GLOBAL_GET); this.u32(g); }
  br(depth: number): void { this.byte(W.BR); this.u32(depth); }
  /** br_table over `targets` (label depths), `fallback` otherwise. */
  brTable(targets: readonly number[], fallback: number): void {
    this.byte(W.BR_TABLE);
    this.u32(targets.length);
    for (const t of targets) this.u32(t);
    this.u32(fallback);
  }
  /** A load or store with alignment hint `align` (log2 bytes) and constant offset. */
  mem(code: W, align: number, offset: number): void { this.byte(code); this.u32(align); this.u32(offset); }
  /** `if` without a result, or with an i32/i64 result; `hint` says whether it is likely taken. */
  if(result?: ValType, hint?: Hint): void {
    if (hint !== undefined) this.hints.push(this.length, hint);
    this.byte(W.IF); this.byte(result ?? 0x40);
  }
  block(): void { this.byte(W.BLOCK); this.byte(0x40); }
  loop(): void { this.byte(W.LOOP); this.byte(0x40); }
  end(): void { this.byte(W.END); }

  /** The local declarations (run-length), with which the body starts. */
  head(): Bytes {
    const head = new Bytes();
    const runs: [number, ValType][] = [];
    for (const t of this.localTypes) {
      const last = runs[runs.length - 1];
      if (last !== undefined && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    head.u32(runs.length);
    for (const [n, t] of runs) { head.u32(n); head.byte(t); }
    return head;
  }

  get hinted(): boolean { return this.hints.length > 0; }

  /**
   * The body's branch hints as the hint section holds them: each `if`'s
   * offset from the start of the body (its local declarations, `head`),
   * size 1, the hint.
   */
  encodeHints(out: Bytes, head: Bytes): void {
    const base = head.length;
    out.u32(this.hints.length / 2);
    for (let i = 0; i < this.hints.length; i += 2) {
      out.u32(base + this.hints[i]);
      out.u32(1);
      out.byte(this.hints[i + 1]);
    }
  }

  /** The encoded body: local declarations (`head`) then the code. */
  encode(out: Bytes, head: Bytes): void {
    out.u32(head.length + this.length + 1);
    out.append(head);
    out.bytes(this.view());
    out.byte(W.END);
  }
}

interface FuncImport { module: string; name: string; type: number }
interface GlobalImport { module: string; name: string; type: ValType; mutable: boolean }
interface TableImport { module: string; name: string }

/** A module: one imported memory, imported functions, globals and funcref tables, defined and exported functions. */
export class ModuleBuilder {
  private readonly types: string[] = [];
  private readonly typeSigs: [readonly ValType[], readonly ValType[]][] = [];
  private readonly imports: FuncImport[] = [];
  private readonly globals: GlobalImport[] = [];
  private readonly tables: TableImport[] = [];
  private readonly funcs: { type: number; body: FunctionBody }[] = [];
  private readonly exports: { name: string; func: number }[] = [];

  /** The index of the function type (params) -> (results), added when new. */
  typeIndex(params: readonly ValType[], results: readonly ValType[]): number {
    const key = `${params.join(",")}>${results.join(",")}`;
    let i = this.types.indexOf(key);
    if (i < 0) {
      i = this.types.length;
      this.types.push(key);
      this.typeSigs.push([params, results]);
    }
    return i;
  }

  /** Import a function (before any function is defined); returns its function index. */
  importFunc(module: string, name: string, params: readonly ValType[], results: readonly ValType[]): number {
    if (this.funcs.length > 0) throw new Error("imports come before functions");
    this.imports.push({ module, name, type: this.typeIndex(params, results) });
    return this.imports.length - 1;
  }

  /** Import a global; returns its global index. */
  importGlobal(module: string, name: string, type: ValType, mutable: boolean): number {
    this.globals.push({ module, name, type, mutable });
    return this.globals.length - 1;
  }

  /** Import a table of funcrefs; returns its table index. */
  importTable(module: string, name: string): number {
    this.tables.push({ module, name });
    return this.tables.length - 1;
  }

  /** Add a function; returns its index. */
  addFunc(body: FunctionBody, exportName?: string): number {
    const index = this.imports.length + this.funcs.length;
    this.funcs.push({ type: this.typeIndex(body.params, body.results), body });
    if (exportName !== undefined) this.exports.push({ name: exportName, func: index });
    return index;
  }

  /** `sharedMemory`: the imported memory is a shared one (its import must say so, with a maximum). */
  encode(memoryModule: string, memoryName: string, sharedMemory = false): Uint8Array {
    const out = new Bytes();
    out.bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    const section = (id: number, fill: (s: Bytes) => void): void => {
      const s = new Bytes();
      fill(s);
      out.byte(id);
      out.u32(s.length);
      out.append(s);
    };
    section(1, (s) => {
      s.u32(this.typeSigs.length);
      for (const [p, r] of this.typeSigs) {
        s.byte(0x60);
        s.u32(p.length); for (const t of p) s.byte(t);
        s.u32(r.length); for (const t of r) s.byte(t);
      }
    });
    section(2, (s) => {
      s.u32(this.imports.length + this.globals.length + this.tables.length + 1);
      s.name(memoryModule); s.name(memoryName); s.byte(0x02);
      // Limits: min 0, or min 0 and the largest maximum (65536 pages, 4 GiB) for a shared memory.
      if (sharedMemory) { s.byte(0x03); s.u32(0); s.u32(65536); } else { s.byte(0x00); s.u32(0); }
      for (const im of this.imports) { s.name(im.module); s.name(im.name); s.byte(0x00); s.u32(im.type); }
      for (const g of this.globals) { s.name(g.module); s.name(g.name); s.byte(0x03); s.byte(g.type); s.byte(g.mutable ? 1 : 0); }
      // A table of funcref (0x70), limits min 0 with no maximum.
      for (const t of this.tables) { s.name(t.module); s.name(t.name); s.byte(0x01); s.byte(0x70); s.byte(0x00); s.u32(0); }
    });
    section(3, (s) => {
      s.u32(this.funcs.length);
      for (const f of this.funcs) s.u32(f.type);
    });
    section(7, (s) => {
      s.u32(this.exports.length);
      for (const e of this.exports) { s.name(e.name); s.byte(0x00); s.u32(e.func); }
    });
    // Branch hints come before the code, for the functions that have any, by function index.
    const heads = this.funcs.map((f) => f.body.head());
    const hinted = this.funcs.flatMap((f, i) => (f.body.hinted ? [i] : []));
    if (hinted.length > 0) {
      section(0, (s) => {
        s.name("metadata.code.branch_hint");
        s.u32(hinted.length);
        for (const i of hinted) { s.u32(this.imports.length + i); this.funcs[i].body.encodeHints(s, heads[i]); }
      });
    }
    section(10, (s) => {
      s.u32(this.funcs.length);
      this.funcs.forEach((f, i) => f.body.encode(s, heads[i]));
    });
    return out.view().slice();
  }
}
