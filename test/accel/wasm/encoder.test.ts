/**
 * The WebAssembly encoder: LEB128 forms against known encodings, and a module
 * using an imported memory, an imported function, i64 arithmetic and a
 * br_table, run by the host's engine.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Bytes, FunctionBody, ModuleBuilder, ValType } from "../../../src/accel/wasm/encoder.js";
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
