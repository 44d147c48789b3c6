/**
 * Shared output slot, flag and rounding-mode enums, and numeric constants of
 * the soft-float unit.
 */

/**
 * Output of the last operation: [0] result low 32 bits (or the whole f32 /
 * int32 result), [1] result high 32 bits, [2] exception flags raised by this
 * operation (not accumulated).
 */
export const fpr = new Int32Array(3);

/** Exception flags, with the bit positions of the fflags CSR. */
export const enum FFlag { NX = 1, UF = 2, OF = 4, DZ = 8, NV = 16 }

/** Static rounding modes (callers resolve DYN and reject 5/6/7). */
export const enum RM { RNE = 0, RTZ = 1, RDN = 2, RUP = 3, RMM = 4 }

/**
 * The scratch views for bit conversions, over one 8-byte buffer.  The host
 * is little-endian (as every platform Node runs on): I32[0] is the low word
 * of F64[0], and F32[0] overlays I32[0].  Every user copies what it needs into
 * locals before calling anything else, so nesting never clobbers a live value.
 */
const scratch = new ArrayBuffer(8);
export const F64 = new Float64Array(scratch);
export const F32 = new Float32Array(scratch);
export const I32 = new Int32Array(scratch);

/** Canonical NaNs: f32 bits, and the high word of the f64 one (low word 0). */
export const NAN32 = 0x7fc00000;
export const NAN64_HI = 0x7ff80000;

/** 2^-126, the smallest normal f32. */
export const F32_MIN_NORMAL = 1.1754943508222875e-38;
/** 2^-1074, the smallest subnormal double (a sign carrier in the rounding helpers). */
export const F64_TINY = 5e-324;
/** Veltkamp splitting constant 2^27 + 1: splits a double into two 26-bit halves. */
export const SPLIT = 134217729;
export const TWO32 = 4294967296;
