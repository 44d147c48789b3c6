/**
 * Which instructions a translated block holds: RV64I, M and the FP stores
 * (fsw, fsd: a kernel's context switch saves the FP registers with a run of
 * them) as WebAssembly; FP arithmetic and loads, LR/SC, AMOs and CSR
 * accesses as a call to their semantics or to the interpreter for that one
 * instruction (interpretedInline), which keeps the block going instead of
 * returning to the dispatcher (a system hart's CSR write still leaves the
 * block, as it leaves the interpreter's run: it may enable an interrupt or
 * change translation).  The rest (ecall/ebreak, fences of the privileged
 * spec, xRET, wfi, illegal encodings) change the pc or the privilege level:
 * they end a block and the dispatcher hands them to the interpreter.
 */
import { Op } from "../../target/riscv/insn-table.js";

export function translatable(op: Op): boolean {
  return (op >= Op.LUI && op <= Op.FENCE_I) || (op >= Op.MUL && op <= Op.REMUW) || op === Op.FSW || op === Op.FSD ||
    interpretedInline(op);
}

/** Instructions a translated block runs by calling the interpreter for them (see translatable). */
export function interpretedInline(op: Op): boolean {
  return (op >= Op.LR_W && op <= Op.AMOMAXU_D) || (op >= Op.FLW && op <= Op.FMV_D_X && op !== Op.FSW && op !== Op.FSD) ||
    isCsrAccess(op);
}

/** Zicsr: run by the interpreter's one-instruction call (the CSR file lives in TypeScript). */
export function isCsrAccess(op: Op): boolean {
  return op >= Op.CSRRW && op <= Op.CSRRCI;
}
