/**
 * Floating-point arithmetic of the RISC-V F and D extensions, bit-exact
 * with QEMU's softfloat as configured for RISC-V: every NaN result is the
 * canonical NaN, tininess is detected after rounding, all five static
 * rounding modes.
 *
 * Calling convention: values are raw IEEE bit patterns (a binary64 value is
 * a pair of int32, low word first); every function writes its result to the
 * shared `fpr` array and returns nothing, so nothing is allocated per call:
 *   fpr[0]  result bits (binary32, the low word of binary64, the low word of
 *           an integer result, or the 0/1 / class bits of a comparison or
 *           fclass)
 *   fpr[1]  high word of a binary64 or integer result (32-bit integer
 *           results are sign-extended into it; 0 after comparisons and
 *           fclass; not written by operations returning binary32)
 *   fpr[2]  exception flags raised by this operation alone (FFlag bits)
 * `rm` is a static rounding mode 0..4 (RM); callers resolve DYN and reject
 * the reserved encodings.  Binary32 operands are passed already un-NaN-boxed.
 *
 * The modules: state (fpr, enums, constants), f32 / f64 (arithmetic),
 * f32-round / f64-round (final rounding from exactly known values), exact
 * (BigInt slow path for the hard cases), compare (min/max/eq/lt/le/class),
 * convert (format and integer conversions).
 */
export { fpr, FFlag, RM } from "./state.js";
export { f32Add, f32Sub, f32Mul, f32Div, f32Sqrt, f32MulAdd } from "./f32.js";
export { f64Add, f64Sub, f64Mul, f64Div, f64Sqrt, f64MulAdd } from "./f64.js";
export {
  f32Min, f32Max, f32Eq, f32Lt, f32Le, f32Class,
  f64Min, f64Max, f64Eq, f64Lt, f64Le, f64Class,
} from "./compare.js";
export {
  f32ToF64, f64ToF32,
  f32ToI32, f32ToU32, f32ToI64, f32ToU64,
  f64ToI32, f64ToU32, f64ToI64, f64ToU64,
  i32ToF32, u32ToF32, i64ToF32, u64ToF32,
  i32ToF64, u32ToF64, i64ToF64, u64ToF64,
} from "./convert.js";
