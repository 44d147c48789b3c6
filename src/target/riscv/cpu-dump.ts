/** A hart's registers as text, in the layout of QEMU's `-d cpu` and `info registers`. */
import type { RiscvCpu } from "./cpu.js";
import { FREG_NAMES, XREG_NAMES } from "./disas.js";

const hex64 = (hi: number, lo: number): string =>
  (hi >>> 0).toString(16).padStart(8, "0") + (lo >>> 0).toString(16).padStart(8, "0");

export function dumpRegisters(cpu: RiscvCpu): string {
  const pcHi = Math.floor(cpu.pc / 4294967296) | 0;
  const lines = [` pc       ${hex64(pcHi, cpu.pc | 0)}`];
  let row = "";
  for (let r = 0; r < 32; r++) {
    row += ` x${r}/${XREG_NAMES[r]}`.padEnd(9) + ` ${hex64(cpu.xh[r], cpu.xl[r])}`;
    if (r % 4 === 3) { lines.push(row); row = ""; }
  }
  for (let r = 0; r < 32; r++) {
    row += ` f${r}/${FREG_NAMES[r]}`.padEnd(10) + ` ${hex64(cpu.fh[r], cpu.fl[r])}`;
    if (r % 4 === 3) { lines.push(row); row = ""; }
  }
  lines.push(` fcsr     ${((cpu.frm << 5) | cpu.fflags).toString(16).padStart(8, "0")}`);
  return lines.join("\n");
}
