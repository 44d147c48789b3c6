/**
 * The WebAssembly encoder: LEB128 forms against known encodings, a module
 * using an imported memory, an imported function, i64 arithmetic and a
 * br_table, run by the host's engine, and branch hints: where the section
 * puts them, and that V8 reads them as hints of those branches.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { Bytes, FunctionBody, Hint, ModuleBuilder, ValType } from "../../../src/accel/wasm/encoder.js";
import { W } from "../../../src/accel/wasm/opcodes.js";

const hex = (b: Bytes): string => Buffer.from(b.view()).toString("hex");

test("LEB128: unsigned and signed forms as the spec's examples", () => {
  const u = new Bytes(); u.u32(624485); assert.equal(hex(u), "e58e26");
  const z = new Bytes(); z.u32(0); assert.equal(hex(z), "00");
  const big = new Bytes(); big.u32(0xffffffff); assert.equal(hex(big), "ffffffff0f");
  const s = new Bytes(); s.sleb(-123456); assert.equal(hex(s), "c0bb78");
  const s2 = new Bytes(); s2.sleb(63); s2.sleb(64); s2.sleb(-64); s2.sleb(-65); assert.equal(hex(s2), "3fc00040bf7f");
  // -2^63 and a 64-bit value from halves agree.
  const a = new Bytes(); a.sleb(-(2 ** 63));
  const b = new Bytes(); b.sleb64(-0x80000000, 0);
  assert.equal(hex(a), hex(b));
  assert.equal(hex(a), "8080808080808080807f");
  const c = new Bytes(); c.sleb(2 ** 47 + 5); const d = new Bytes(); d.sleb64(0x8000, 5);
  assert.equal(hex(c), hex(d));
});

test("a module with imports, i64 locals, a loop and br_table runs", () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const m = new ModuleBuilder();
  const calls: number[] = [];
  const log = m.importFunc("h", "log", [ValType.I32], []);
  // f(sel, x): loop over a br_table; case 0 doubles x (i64) and goes on with case 1; case 1 stores x at 8 and returns x's low word + sel
  const f = new FunctionBody([ValType.I32, ValType.I32], [ValType.I32]);
  const x = f.local(ValType.I64);
  f.get(1); f.op(W.I64_EXTEND_I32_S); f.set(x);
  f.loop();
  f.block(); f.block();
  f.get(0); f.brTable([0, 1], 1);
  f.end();
  // case 0
  f.get(x); f.i64(1); f.op(W.I64_SHL); f.set(x);
  f.get(0); f.call(log);
  f.i32(1); f.set(0);
  f.br(1);
  f.end();
  // case 1
  f.i32(0); f.get(x); f.mem(W.I64_STORE, 3, 8);
  f.get(x); f.op(W.I32_WRAP_I64); f.get(0); f.op(W.I32_ADD);
  f.op(W.RETURN);
  f.end();
  f.op(W.UNREACHABLE);
  m.addFunc(f, "f");
  const bytes = m.encode("e", "m");
  assert.ok(WebAssembly.validate(bytes));
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
    e: { m: memory }, h: { log: (v: number): void => { calls.push(v); } },
  });
  const run = inst.exports.f as (sel: number, x: number) => number;
  assert.equal(run(0, -21), -42 + 1);
  assert.deepEqual(calls, [0]);
  assert.equal(new DataView(memory.buffer).getBigInt64(8, true), -42n);
  assert.equal(run(1, 7), 8);
  assert.equal(run(5, 7), 12); // out of range: the default target
  assert.deepEqual(calls, [0]);
});

/** Unsigned LEB128 at `at`: [value, next offset]. */
function readU32(b: Uint8Array, at: number): [number, number] {
  let v = 0, shift = 0, i = at;
  for (;;) {
    const x = b[i++];
    v += (x & 0x7f) * 2 ** shift;
    shift += 7;
    if ((x & 0x80) === 0) return [v, i];
  }
}

/** The module's sections: id, payload start and end (a custom section's payload after its name), name. */
function sections(b: Uint8Array): { id: number; start: number; end: number; name: string }[] {
  const out: { id: number; start: number; end: number; name: string }[] = [];
  let at = 8;
  while (at < b.length) {
    const id = b[at];
    const [size, start] = readU32(b, at + 1);
    const end = start + size;
    let name = "", payload = start;
    if (id === 0) {
      const [n, from] = readU32(b, start);
      name = Buffer.from(b.subarray(from, from + n)).toString("latin1");
      payload = from + n;
    }
    out.push({ id, start: payload, end, name });
    at = end;
  }
  return out;
}

/** A module whose second function (after one import) takes (i32) and has i64 locals and two hinted ifs. */
function hintedModule(): Uint8Array {
  const m = new ModuleBuilder();
  m.importFunc("h", "f", [ValType.I32], []);
  const f = new FunctionBody([ValType.I32], [ValType.I32]);
  f.local(ValType.I64); f.local(ValType.I64); f.local(ValType.I32);
  f.get(0);
  f.if(ValType.I32, Hint.LIKELY); f.i32(1); f.op(W.ELSE); f.i32(2); f.end();
  f.get(0); f.i32(7); f.op(W.I32_EQ);
  f.if(undefined, Hint.UNLIKELY); f.get(0); f.call(0); f.end();
  f.if(undefined); f.end(); // not hinted (the i32 from the first if)
  f.get(0);
  m.addFunc(f, "run");
  return m.encode("e", "m");
}

test("branch hints: a custom section before the code, naming each hinted if by its offset in the body", () => {
  const bytes = hintedModule();
  assert.ok(WebAssembly.validate(bytes));
  const all = sections(bytes);
  const hints = all.find((s) => s.id === 0 && s.name === "metadata.code.branch_hint");
  assert.ok(hints !== undefined, "the hint section is there");
  const code = all.find((s) => s.id === 10);
  assert.ok(code !== undefined);
  assert.ok(all.indexOf(hints) < all.indexOf(code), "hints come before the code section");
  // The code section's one body: its size, then the body (locals first).
  const [, firstBody] = readU32(bytes, code.start);
  const [, bodyStart] = readU32(bytes, firstBody);
  const [nFuncs, afterCount] = readU32(bytes, hints.start);
  assert.equal(nFuncs, 1);
  const [func, afterFunc] = readU32(bytes, afterCount);
  const [count, firstHint] = readU32(bytes, afterFunc);
  let at = firstHint;
  assert.equal(func, 1, "function index counts the import");
  const got: [number, number][] = [];
  for (let i = 0; i < count; i++) {
    let offset: number, size: number;
    [offset, at] = readU32(bytes, at);
    [size, at] = readU32(bytes, at);
    assert.equal(size, 1);
    got.push([offset, bytes[at++]]);
  }
  assert.equal(at, hints.end);
  assert.deepEqual(got.map(([, h]) => h), [Hint.LIKELY, Hint.UNLIKELY]);
  for (const [offset] of got) assert.equal(bytes[bodyStart + offset], W.IF, `an if at body offset ${offset}`);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { e: { m: new WebAssembly.Memory({ initial: 1 }) }, h: { f: () => undefined } });
  assert.equal((inst.exports.run as (x: number) => number)(3), 3);
});

test("branch hints: V8's optimising compiler takes them as hints of those branches", (t) => {
  // A child Node compiles the module with the optimising compiler only and prints its graphs.
  const script = `const b = new Uint8Array([${hintedModule().join(",")}]);` +
    "new WebAssembly.Instance(new WebAssembly.Module(b), { e: { m: new WebAssembly.Memory({ initial: 1 }) }, h: { f() {} } });";
  const graph = (flags: string[]): string => {
    const r = spawnSync(process.execPath, [...flags, "--single-threaded", "--no-liftoff", "--no-wasm-lazy-compilation", "--trace-turbo-graph", "-e", script],
      { encoding: "utf8", maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr);
    // The function's first graph (the trace prints one after each phase).
    const at = r.stdout.indexOf("compiling method wasm-function#1 ");
    const first = r.stdout.indexOf("----- Graph after", at);
    const next = r.stdout.indexOf("----- Graph after", first + 1);
    return at < 0 || first < 0 ? "" : r.stdout.slice(first, next < 0 ? undefined : next);
  };
  const off = graph([]);
  if (!/\bBranch\[/.test(off)) { t.skip("this Node's V8 prints no graph of the function with its branches"); return; }
  const on = graph(["--experimental-wasm-branch-hinting"]);
  // V8 hints some branches of its own (its stack check): ours come on top of those.
  const count = (g: string, hint: string): number => (g.match(new RegExp(`\\bBranch\\[[^\\]]*\\b${hint}\\]`, "g")) ?? []).length;
  assert.equal(count(on, "True"), count(off, "True") + 1, "the likely if");
  assert.equal(count(on, "False"), count(off, "False") + 1, "the unlikely if");
});
