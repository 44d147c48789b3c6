/**
 * Semantics of the F and D extensions (all but loads and stores), on top of
 * the bit-exact arithmetic in ./fpu.  Single values live NaN-boxed in the
 * 64-bit registers: reading one whose upper half is not all ones gives the
 * canonical NaN.
 */
import { Op } from "./insn-table.js";
import { Mstatus } from "./hart-state.js";
import type { RiscvCpu } from "./cpu.js";
import * as fpu from "./fpu/index.js";

const CANONICAL_NAN_S = 0x7fc00000;

function s(cpu: RiscvCpu, r: number): number {
  return cpu.fh[r] === -1 ? cpu.fl[r] : CANONICAL_NAN_S;
}

const r = fpu.fpr;

/** Write a single result (NaN-boxed) and accumulate flags. */
function putS(cpu: RiscvCpu, rd: number): void {
  cpu.fl[rd] = r[0];
  cpu.fh[rd] = -1;
  cpu.fflags |= r[2];
}

function putD(cpu: RiscvCpu, rd: number): void {
  cpu.fl[rd] = r[0];
  cpu.fh[rd] = r[1];
  cpu.fflags |= r[2];
}

/** Write an integer result (already sign-extended to 64 bits in r[0..1]). */
function putX(cpu: RiscvCpu, rd: number): void {
  cpu.xl[rd] = r[0];
  cpu.xh[rd] = r[1];
  cpu.fflags |= r[2];
}

/** Write a 0/1 or class result. */
function putBit(cpu: RiscvCpu, rd: number): void {
  cpu.xl[rd] = r[0];
  cpu.xh[rd] = 0;
  cpu.fflags |= r[2];
}

/**
 * Execute one F/D instruction.  `rd` may be the x0 sink (32) for integer
 * destinations.  `rm` is the instruction's rounding-mode field.  Returns
 * false when the instruction is illegal (reserved rounding mode).
 */
export function execFp(cpu: RiscvCpu, op: Op, rd: number, rs1: number, rs2: number, rs3: number,
  rmField: number): boolean {
  // A system hart with mstatus.FS Off has no FPU; any use marks the state Dirty.
  if (cpu.fpOff) return false;
  cpu.state.mstatus |= Mstatus.FS;
  const rm = rmField === 7 ? cpu.frm : rmField;
  const fl = cpu.fl;
  const fh = cpu.fh;
  const xl = cpu.xl;
  const xh = cpu.xh;
  switch (op) {
    // Operations that take no rounding mode first.
    case Op.FSGNJ_S: case Op.FSGNJN_S: case Op.FSGNJX_S: {
      const a = s(cpu, rs1);
      const b = s(cpu, rs2);
      const sign = op === Op.FSGNJ_S ? b : op === Op.FSGNJN_S ? ~b : a ^ b;
      fl[rd] = (a & 0x7fffffff) | (sign & 0x80000000);
      fh[rd] = -1;
      return true;
    }
    case Op.FSGNJ_D: case Op.FSGNJN_D: case Op.FSGNJX_D: {
      const a = fh[rs1];
      const b = fh[rs2];
      const sign = op === Op.FSGNJ_D ? b : op === Op.FSGNJN_D ? ~b : a ^ b;
      fl[rd] = fl[rs1];
      fh[rd] = (a & 0x7fffffff) | (sign & 0x80000000);
      return true;
    }
    case Op.FMIN_S: fpu.f32Min(s(cpu, rs1), s(cpu, rs2)); putS(cpu, rd); return true;
    case Op.FMAX_S: fpu.f32Max(s(cpu, rs1), s(cpu, rs2)); putS(cpu, rd); return true;
    case Op.FMIN_D: fpu.f64Min(fl[rs1], fh[rs1], fl[rs2], fh[rs2]); putD(cpu, rd); return true;
    case Op.FMAX_D: fpu.f64Max(fl[rs1], fh[rs1], fl[rs2], fh[rs2]); putD(cpu, rd); return true;
    case Op.FEQ_S: fpu.f32Eq(s(cpu, rs1), s(cpu, rs2)); putBit(cpu, rd); return true;
    case Op.FLT_S: fpu.f32Lt(s(cpu, rs1), s(cpu, rs2)); putBit(cpu, rd); return true;
    case Op.FLE_S: fpu.f32Le(s(cpu, rs1), s(cpu, rs2)); putBit(cpu, rd); return true;
    case Op.FEQ_D: fpu.f64Eq(fl[rs1], fh[rs1], fl[rs2], fh[rs2]); putBit(cpu, rd); return true;
    case Op.FLT_D: fpu.f64Lt(fl[rs1], fh[rs1], fl[rs2], fh[rs2]); putBit(cpu, rd); return true;
    case Op.FLE_D: fpu.f64Le(fl[rs1], fh[rs1], fl[rs2], fh[rs2]); putBit(cpu, rd); return true;
    case Op.FCLASS_S: fpu.f32Class(s(cpu, rs1)); putBit(cpu, rd); return true;
    case Op.FCLASS_D: fpu.f64Class(fl[rs1], fh[rs1]); putBit(cpu, rd); return true;
    case Op.FMV_X_W: xl[rd] = fl[rs1]; xh[rd] = fl[rs1] >> 31; return true;
    case Op.FMV_W_X: fl[rd] = xl[rs1]; fh[rd] = -1; return true;
    case Op.FMV_X_D: xl[rd] = fl[rs1]; xh[rd] = fh[rs1]; return true;
    case Op.FMV_D_X: fl[rd] = xl[rs1]; fh[rd] = xh[rs1]; return true;
    default:
      break;
  }
  if (rm > 4) return false;
  switch (op) {
    case Op.FADD_S: fpu.f32Add(s(cpu, rs1), s(cpu, rs2), rm); putS(cpu, rd); return true;
    case Op.FSUB_S: fpu.f32Sub(s(cpu, rs1), s(cpu, rs2), rm); putS(cpu, rd); return true;
    case Op.FMUL_S: fpu.f32Mul(s(cpu, rs1), s(cpu, rs2), rm); putS(cpu, rd); return true;
    case Op.FDIV_S: fpu.f32Div(s(cpu, rs1), s(cpu, rs2), rm); putS(cpu, rd); return true;
    case Op.FSQRT_S: fpu.f32Sqrt(s(cpu, rs1), rm); putS(cpu, rd); return true;
    case Op.FMADD_S: case Op.FMSUB_S: case Op.FNMSUB_S: case Op.FNMADD_S:
      fpu.f32MulAdd(s(cpu, rs1), s(cpu, rs2), s(cpu, rs3), rm,
        op === Op.FNMSUB_S || op === Op.FNMADD_S, op === Op.FMSUB_S || op === Op.FNMADD_S);
      putS(cpu, rd);
      return true;
    case Op.FADD_D: fpu.f64Add(fl[rs1], fh[rs1], fl[rs2], fh[rs2], rm); putD(cpu, rd); return true;
    case Op.FSUB_D: fpu.f64Sub(fl[rs1], fh[rs1], fl[rs2], fh[rs2], rm); putD(cpu, rd); return true;
    case Op.FMUL_D: fpu.f64Mul(fl[rs1], fh[rs1], fl[rs2], fh[rs2], rm); putD(cpu, rd); return true;
    case Op.FDIV_D: fpu.f64Div(fl[rs1], fh[rs1], fl[rs2], fh[rs2], rm); putD(cpu, rd); return true;
    case Op.FSQRT_D: fpu.f64Sqrt(fl[rs1], fh[rs1], rm); putD(cpu, rd); return true;
    case Op.FMADD_D: case Op.FMSUB_D: case Op.FNMSUB_D: case Op.FNMADD_D:
      fpu.f64MulAdd(fl[rs1], fh[rs1], fl[rs2], fh[rs2], fl[rs3], fh[rs3], rm,
        op === Op.FNMSUB_D || op === Op.FNMADD_D, op === Op.FMSUB_D || op === Op.FNMADD_D);
      putD(cpu, rd);
      return true;
    case Op.FCVT_S_D: fpu.f64ToF32(fl[rs1], fh[rs1], rm); putS(cpu, rd); return true;
    case Op.FCVT_D_S: fpu.f32ToF64(s(cpu, rs1)); putD(cpu, rd); return true;
    case Op.FCVT_W_S: fpu.f32ToI32(s(cpu, rs1), rm); putX(cpu, rd); return true;
    case Op.FCVT_WU_S: fpu.f32ToU32(s(cpu, rs1), rm); putX(cpu, rd); return true;
    case Op.FCVT_L_S: fpu.f32ToI64(s(cpu, rs1), rm); putX(cpu, rd); return true;
    case Op.FCVT_LU_S: fpu.f32ToU64(s(cpu, rs1), rm); putX(cpu, rd); return true;
    case Op.FCVT_W_D: fpu.f64ToI32(fl[rs1], fh[rs1], rm); putX(cpu, rd); return true;
    case Op.FCVT_WU_D: fpu.f64ToU32(fl[rs1], fh[rs1], rm); putX(cpu, rd); return true;
    case Op.FCVT_L_D: fpu.f64ToI64(fl[rs1], fh[rs1], rm); putX(cpu, rd); return true;
    case Op.FCVT_LU_D: fpu.f64ToU64(fl[rs1], fh[rs1], rm); putX(cpu, rd); return true;
    case Op.FCVT_S_W: fpu.i32ToF32(xl[rs1], rm); putS(cpu, rd); return true;
    case Op.FCVT_S_WU: fpu.u32ToF32(xl[rs1], rm); putS(cpu, rd); return true;
    case Op.FCVT_S_L: fpu.i64ToF32(xl[rs1], xh[rs1], rm); putS(cpu, rd); return true;
    case Op.FCVT_S_LU: fpu.u64ToF32(xl[rs1], xh[rs1], rm); putS(cpu, rd); return true;
    case Op.FCVT_D_W: fpu.i32ToF64(xl[rs1], rm); putD(cpu, rd); return true;
    case Op.FCVT_D_WU: fpu.u32ToF64(xl[rs1], rm); putD(cpu, rd); return true;
    case Op.FCVT_D_L: fpu.i64ToF64(xl[rs1], xh[rs1], rm); putD(cpu, rd); return true;
    case Op.FCVT_D_LU: fpu.u64ToF64(xl[rs1], xh[rs1], rm); putD(cpu, rd); return true;
    default:
      return false;
  }
}
