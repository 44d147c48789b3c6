/**
 * Which instructions a translated block holds: RV64I, M and the FP stores
 * (fsw, fsd: a kernel's context switch saves the FP registers with a run of
 * them) as WebAssembly; FP arithmetic and loads, LR/SC and AMOs as a call to
 * the interpreter for that one instruction (interpretedInline), which keeps
 * the block going instead of returning to the dispatcher.  The rest (CSRs,
 * ecall/ebreak, fences of the privileged spec, xRET, wfi, illegal encodings)
 * can change the privilege level, the TLB in use or pending interrupts: they
 * end a block and the dispatcher hands them to the interpreter.
 */
import { Op } from "../../target/riscv/insn-table.js";

export function translatable(op: Op): boolean {
  return (op >= Op.LUI && op <= Op.FENCE_I) || (op >= Op.MUL && op <= Op.REMUW) || op === Op.FSW || op === Op.FSD ||
    interpretedInline(op);
}

/** Instructions a translated block runs by calling the interpreter for them (see translatable). */
export function interpretedInline(op: Op): boolean {
  return (op >= Op.LR_W && op <= Op.AMOMAXU_D) || (op >= Op.FLW && op <= Op.FMV_D_X && op !== Op.FSW && op !== Op.FSD);
}
