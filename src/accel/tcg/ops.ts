/**
 * Which instructions the translator compiles itself.  The rest (FP, CSRs,
 * atomics, ecall/ebreak, privileged instructions, illegal encodings) end a
 * block and are run by the interpreter, which has their exact semantics.
 */
import { Op } from "../../target/riscv/insn-table.js";

export function translatable(op: Op): boolean {
  return (op >= Op.LUI && op <= Op.FENCE_I) || (op >= Op.MUL && op <= Op.REMUW);
}
