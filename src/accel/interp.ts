/**
 * The interpreter: runs a hart until its instruction budget is spent, or an
 * ecall or a trap needs its owner's attention.
 *
 * Instructions are decoded once per host page into the page's DecodedPage,
 * as two words at the instruction's byte offset in the page: one (0 = not decoded yet)
 *   rd | rs1 << 6 | rs2 << 11 | (4-byte ? 1 << 16 : 0) | op << 17
 * and an immediate (for FP arithmetic: rs3 | rm << 5), where an integer rd
 * of x0 becomes 32, a sink register, so no instruction
 * has to test for x0.  The fetch TLB is consulted only when the pc leaves the
 * current page.
 *
 * Hot-path rules (see ARCHITECTURE.md): no allocation, no exceptions, typed
 * arrays held in locals; slow cases (misaligned or cross-page accesses, TLB
 * misses, FP, atomics, CSRs) call out to functions in target/riscv.
 */
import { INSNS, Op } from "../target/riscv/insn-table.js";
import { Mstatus } from "../target/riscv/hart-state.js";
import { decodeAt, decoded } from "../target/riscv/decode.js";
import { Cause, Exit, type RiscvCpu } from "../target/riscv/cpu.js";
import { Access, PAGE_MASK, PAGE_SHIFT, TLB_MASK } from "../target/riscv/tlb.js";
import { execFp } from "../target/riscv/exec-fp.js";
import { execAmo } from "../target/riscv/exec-amo.js";
import { LONG_BLOCK, LONG_SHIFT, hotSlot } from "./hot.js";
import { csrAccess } from "../target/riscv/csr.js";
import * as alu from "../target/riscv/alu64.js";
import { DECODED_PAGE_WORDS, type DecodedPage } from "../target/riscv/ram.js";
import { PrivResult, execMret, execSfenceVma, execSret, execWfi, pendingInterrupt } from "../target/riscv/priv.js";


/** mret, sret, wfi or sfence.vma (whose rs1 is register `rs1`). */
function execPrivileged(cpu: RiscvCpu, op: Op, pc: number, rs1: number): PrivResult {
  switch (op) {
    case Op.MRET: return execMret(cpu);
    case Op.SRET: return execSret(cpu);
    case Op.WFI: return execWfi(cpu);
    default: cpu.pc = pc; return execSfenceVma(cpu, rs1 === 0, cpu.xh[rs1], cpu.xl[rs1]);
  }
}

const TWO32 = 4294967296;
const OFFSET_MASK = ~PAGE_MASK; // 0xfff
/** What `exit` holds after a branch or jal, which the loop then counts (not a way out of run()). */
const BRANCHED = -1;
/** `off` value meaning the next pc is in farPc, outside the current page. */
const FAR = -0x40000000;

/** Which ops write an integer rd (so rd = x0 maps to the sink). */
const INT_RD = new Uint8Array(INSNS.length);
for (const r of INSNS) INT_RD[r.op] = r.operands.startsWith("d") ? 1 : 0;

/** Fill the decode-cache slot at byte offset `off` from the raw halfwords; returns its first word. */
function decodeSlot(page: DecodedPage, off: number, lo16: number, hi16: number): number {
  decodeAt(lo16, hi16);
  const op = decoded.op;
  const d = decoded.regs;
  let rd = d & 31;
  if (rd === 0 && INT_RD[op] === 1) rd = 32;
  const word = rd | (((d >>> 5) & 31) << 6) | (((d >>> 10) & 31) << 11) |
    ((d & (1 << 23)) === 0 ? 1 << 16 : 0) | (op << 17);
  page.slots[off] = word;
  // FP arithmetic has no immediate: its rs3 and rounding-mode fields go there.
  page.slots[off + 1] = op >= Op.FMADD_S && op <= Op.FMV_D_X && op !== Op.FLD && op !== Op.FSD
    ? ((d >>> 15) & 31) | (((d >>> 20) & 7) << 5) : decoded.imm;
  return word;
}

/** A page-sized scratch page for the one instruction that straddles two pages. */
const straddle: DecodedPage = { slots: new Int32Array(DECODED_PAGE_WORDS) };

/**
 * Run `cpu` for at most `budget` instructions.  Returns why it stopped; the
 * pc then points at the instruction that trapped or made the ecall (for
 * Exit.BUDGET, at the next instruction to run).
 *
 * With `hot` (the translator's block-entry counters, accel/hot.ts), every
 * block entered after the first instruction is counted, and the run stops
 * with Exit.BUDGET before a block whose count ran out, however much budget
 * is left.
 */
export function run(cpu: RiscvCpu, budget: number, hot?: Int32Array): Exit {
  if (cpu.debug !== undefined) budget = cpu.debug.enter(cpu, budget);
  const xl = cpu.xl;
  const xh = cpu.xh;
  const tlb = cpu.tlb;
  // The read and write tables, an entry every four int32s: tag, high word, host page (tlb.ts).
  const rT = tlb.read, wT = tlb.write;
  const ram = cpu.mem.ram;
  const u8 = ram.u8, i8 = ram.i8, u16 = ram.u16, i16 = ram.i16, i32 = ram.i32;

  // The pc is held as an int offset into the current page (`off`) while
  // execution stays in it, so that sequential flow and near branches are
  // integer arithmetic; a jump elsewhere sets off = FAR and farPc.
  let pageVA = 0;          // virtual address of the page the decoded arrays belong to
  let pageHost = 0;        // its host byte offset
  let off = FAR;
  let farPc = cpu.pc;
  let slots = straddle.slots;
  let executed = 0;
  // instret as the guest and the devices see it: kept exact at every call out (a CSR read,
  // a device access), so that counters and -icount time count every instruction before.
  const start = cpu.instret;
  let exit: Exit | typeof BRANCHED = Exit.BUDGET;
  // The block being run, for the counters (hot.ts): its slot, and `executed` when it was entered.
  let blockSlot = 0;
  let blockAt = 0;
  // What a branch sets `exit` to: without counters, nothing to do after it.
  const branched = hot !== undefined ? BRANCHED : Exit.BUDGET;

  while (executed < budget) {
    if (off < 0 || off >= 4096) {
      // The pc left the current page: look up the fetch TLB, then the MMU.
      const pc = off === FAR ? farPc : pageVA + off;
      const hi = Math.floor(pc / TWO32) | 0;
      const lo = pc | 0;
      const i = (lo >>> PAGE_SHIFT) & TLB_MASK;
      let host: number;
      const fT = tlb.fetch, e = i << 2;
      if (fT[e] === (lo & PAGE_MASK) && fT[e + 1] === hi) {
        host = fT[e + 2];
      } else {
        const h = cpu.mem.translate(cpu, hi, lo, Access.FETCH);
        if (h < 0) { off = FAR; farPc = pc; exit = Exit.TRAP; break; }
        host = h - (lo & OFFSET_MASK);
      }
      off = lo & OFFSET_MASK;
      pageVA = pc - off;
      pageHost = host;
      const page = ram.codePage(host >>> PAGE_SHIFT);
      slots = page.slots;
      if (hot !== undefined) {
        const slot = hotSlot(host + off);
        if (executed > 0) {
          if (executed - blockAt >= LONG_BLOCK && hot[blockSlot] > 0) hot[blockSlot] -= (executed - blockAt) >> LONG_SHIFT;
          if (--hot[slot] <= 0) break;
        }
        blockSlot = slot;
        blockAt = executed;
      }
    }
    let regs = slots[off];
    let imm: number;
    if (regs !== 0) {
      imm = slots[off + 1];
    } else {
      // A debugger's breakpoint: stop before the instruction, leaving its slot undecoded so that it is asked again.
      if (cpu.debug !== undefined && cpu.debug.breakpointAt(pageVA + off)) { exit = Exit.DEBUG; break; }
      const lo16 = u16[(pageHost + off) >>> 1];
      if (cpu.onDecode !== undefined) cpu.onDecode(pageVA + off, lo16, off < 4094 ? u16[(pageHost + off + 2) >>> 1] : 0);
      if ((lo16 & 3) !== 3 || off < 4094) {
        regs = decodeSlot(ram.codePage(pageHost >>> PAGE_SHIFT), off, lo16, u16[(pageHost + off + 2) >>> 1]);
        imm = slots[off + 1];
      } else {
        // A 4-byte instruction across a page boundary: fetch its upper half
        // from the next page and decode without caching.
        const pc = pageVA + off;
        if (!cpu.loadSlow(Math.floor((pc + 2) / TWO32) | 0, (pc + 2) | 0, 2, Access.FETCH)) {
          // tval is the address of the half that faulted, as QEMU and the spec have it.
          exit = Exit.TRAP;
          break;
        }
        regs = decodeSlot(straddle, 0, lo16, cpu.tmpLo);
        imm = straddle.slots[1];
      }
    }

    const op: Op = regs >>> 17;
    const rd = regs & 63;
    const rs1 = (regs >>> 6) & 31;
    const rs2 = (regs >>> 11) & 31;
    let noff = off + 2 + ((regs >>> 15) & 2);

    switch (op) {
      case Op.LUI: xl[rd] = imm; xh[rd] = imm >> 31; break;
      case Op.AUIPC: {
        const v = pageVA + off + imm;
        xl[rd] = v | 0; xh[rd] = Math.floor(v / TWO32) | 0;
        break;
      }
      case Op.JAL: {
        const v = pageVA + noff;
        noff = off + imm;
        xl[rd] = v | 0; xh[rd] = Math.floor(v / TWO32) | 0;
        exit = branched;
        break;
      }
      case Op.JALR: {
        const sum = (xl[rs1] >>> 0) + (imm >>> 0);
        const lo = (sum | 0) & ~1;
        const hi = (xh[rs1] + (imm >> 31) + (sum > 0xffffffff ? 1 : 0)) | 0;
        const v = pageVA + noff;
        farPc = hi * TWO32 + (lo >>> 0);
        noff = FAR;
        xl[rd] = v | 0; xh[rd] = Math.floor(v / TWO32) | 0;
        break;
      }
      case Op.BEQ:
        if (xl[rs1] === xl[rs2] && xh[rs1] === xh[rs2]) noff = off + imm;
        exit = branched;
        break;
      case Op.BNE:
        if (xl[rs1] !== xl[rs2] || xh[rs1] !== xh[rs2]) noff = off + imm;
        exit = branched;
        break;
      case Op.BLT: {
        const a = xh[rs1], b = xh[rs2];
        if (a < b || (a === b && (xl[rs1] >>> 0) < (xl[rs2] >>> 0))) noff = off + imm;
        exit = branched;
        break;
      }
      case Op.BGE: {
        const a = xh[rs1], b = xh[rs2];
        if (!(a < b || (a === b && (xl[rs1] >>> 0) < (xl[rs2] >>> 0)))) noff = off + imm;
        exit = branched;
        break;
      }
      case Op.BLTU: {
        const a = xh[rs1] >>> 0, b = xh[rs2] >>> 0;
        if (a < b || (a === b && (xl[rs1] >>> 0) < (xl[rs2] >>> 0))) noff = off + imm;
        exit = branched;
        break;
      }
      case Op.BGEU: {
        const a = xh[rs1] >>> 0, b = xh[rs2] >>> 0;
        if (!(a < b || (a === b && (xl[rs1] >>> 0) < (xl[rs2] >>> 0)))) noff = off + imm;
        exit = branched;
        break;
      }

      // The commonest loads and stores, each on its own path (a measured win
      // over the shared case below, which dispatches on size twice).
      case Op.LD: {
        const sum = (xl[rs1] >>> 0) + (imm >>> 0);
        const lo = sum | 0;
        const hi = (xh[rs1] + (imm >> 31) + (sum > 0xffffffff ? 1 : 0)) | 0;
        const t = ((lo >>> PAGE_SHIFT) & TLB_MASK) << 2;
        if (rT[t] === (lo & (PAGE_MASK | 7)) && rT[t + 1] === hi) {
          const a = (rT[t + 2] + (lo & OFFSET_MASK)) >> 2;
          xl[rd] = i32[a]; xh[rd] = i32[a + 1];
        } else if (retired(cpu, start + executed).loadSlow(hi, lo, 8)) {
          xl[rd] = cpu.tmpLo; xh[rd] = cpu.tmpHi;
        } else {
          exit = Exit.TRAP;
        }
        break;
      }
      case Op.LW: {
        const sum = (xl[rs1] >>> 0) + (imm >>> 0);
        const lo = sum | 0;
        const hi = (xh[rs1] + (imm >> 31) + (sum > 0xffffffff ? 1 : 0)) | 0;
        const t = ((lo >>> PAGE_SHIFT) & TLB_MASK) << 2;
        if (rT[t] === (lo & (PAGE_MASK | 3)) && rT[t + 1] === hi) {
          const v = i32[(rT[t + 2] + (lo & OFFSET_MASK)) >> 2];
          xl[rd] = v; xh[rd] = v >> 31;
        } else if (retired(cpu, start + executed).loadSlow(hi, lo, 4)) {
          xl[rd] = cpu.tmpLo; xh[rd] = cpu.tmpLo >> 31;
        } else {
          exit = Exit.TRAP;
        }
        break;
      }
      case Op.LBU: {
        const sum = (xl[rs1] >>> 0) + (imm >>> 0);
        const lo = sum | 0;
        const hi = (xh[rs1] + (imm >> 31) + (sum > 0xffffffff ? 1 : 0)) | 0;
        const t = ((lo >>> PAGE_SHIFT) & TLB_MASK) << 2;
        if (rT[t] === (lo & PAGE_MASK) && rT[t + 1] === hi) {
          xl[rd] = u8[rT[t + 2] + (lo & OFFSET_MASK)]; xh[rd] = 0;
        } else if (retired(cpu, start + executed).loadSlow(hi, lo, 1)) {
          xl[rd] = cpu.tmpLo; xh[rd] = 0;
        } else {
          exit = Exit.TRAP;
        }
        break;
      }
      case Op.SD: {
        const sum = (xl[rs1] >>> 0) + (imm >>> 0);
        const lo = sum | 0;
        const hi = (xh[rs1] + (imm >> 31) + (sum > 0xffffffff ? 1 : 0)) | 0;
        const t = ((lo >>> PAGE_SHIFT) & TLB_MASK) << 2;
        if (wT[t] === (lo & (PAGE_MASK | 7)) && wT[t + 1] === hi) {
          const a = (wT[t + 2] + (lo & OFFSET_MASK)) >> 2;
          i32[a] = xl[rs2]; i32[a + 1] = xh[rs2];
        } else if (!retired(cpu, start + executed).storeSlow(hi, lo, 8, xl[rs2], xh[rs2])) {
          exit = Exit.TRAP;
        } else if (cpu.ioWritten) {
          cpu.ioWritten = false;
          exit = Exit.SYNC;
        }
        break;
      }
      case Op.SW: {
        const sum = (xl[rs1] >>> 0) + (imm >>> 0);
        const lo = sum | 0;
        const hi = (xh[rs1] + (imm >> 31) + (sum > 0xffffffff ? 1 : 0)) | 0;
        const t = ((lo >>> PAGE_SHIFT) & TLB_MASK) << 2;
        if (wT[t] === (lo & (PAGE_MASK | 3)) && wT[t + 1] === hi) {
          i32[(wT[t + 2] + (lo & OFFSET_MASK)) >> 2] = xl[rs2];
        } else if (!retired(cpu, start + executed).storeSlow(hi, lo, 4, xl[rs2], 0)) {
          exit = Exit.TRAP;
        } else if (cpu.ioWritten) {
          cpu.ioWritten = false;
          exit = Exit.SYNC;
        }
        break;
      }
      case Op.SB: {
        const sum = (xl[rs1] >>> 0) + (imm >>> 0);
        const lo = sum | 0;
        const hi = (xh[rs1] + (imm >> 31) + (sum > 0xffffffff ? 1 : 0)) | 0;
        const t = ((lo >>> PAGE_SHIFT) & TLB_MASK) << 2;
        if (wT[t] === (lo & PAGE_MASK) && wT[t + 1] === hi) {
          u8[wT[t + 2] + (lo & OFFSET_MASK)] = xl[rs2];
        } else if (!retired(cpu, start + executed).storeSlow(hi, lo, 1, xl[rs2], 0)) {
          exit = Exit.TRAP;
        } else if (cpu.ioWritten) {
          cpu.ioWritten = false;
          exit = Exit.SYNC;
        }
        break;
      }

      // Loads: the tag compare also rejects misaligned addresses (see tlb.ts).
      case Op.LB: case Op.LH: case Op.LHU: case Op.LWU:
      case Op.FLW: case Op.FLD: {
        if ((op === Op.FLW || op === Op.FLD) && cpu.fpOff) { illegal(cpu, u16, pageHost + off); exit = Exit.TRAP; break; }
        const sum = (xl[rs1] >>> 0) + (imm >>> 0);
        const lo = sum | 0;
        const hi = (xh[rs1] + (imm >> 31) + (sum > 0xffffffff ? 1 : 0)) | 0;
        const size = op === Op.LB ? 1 : op === Op.LH || op === Op.LHU ? 2 : op === Op.FLD ? 8 : 4;
        const t = ((lo >>> PAGE_SHIFT) & TLB_MASK) << 2;
        let vl: number, vh = 0;
        if (rT[t] === (lo & (PAGE_MASK | (size - 1))) && rT[t + 1] === hi) {
          const a = rT[t + 2] + (lo & OFFSET_MASK);
          switch (size) {
            case 1: vl = i8[a]; break;
            case 2: vl = op === Op.LH ? i16[a >> 1] : u16[a >> 1]; break;
            case 4: vl = i32[a >> 2]; break;
            default: vl = i32[a >> 2]; vh = i32[(a >> 2) + 1]; break;
          }
        } else {
          if (!retired(cpu, start + executed).loadSlow(hi, lo, size)) { exit = Exit.TRAP; break; }
          vl = cpu.tmpLo;
          vh = cpu.tmpHi;
          if (op === Op.LB) vl = (vl << 24) >> 24;
          else if (op === Op.LH) vl = (vl << 16) >> 16;
        }
        switch (op) {
          case Op.LHU: case Op.LWU: xl[rd] = vl; xh[rd] = 0; break;
          case Op.FLW: cpu.fl[rd] = vl; cpu.fh[rd] = -1; cpu.state.mstatus |= Mstatus.FS; break;
          case Op.FLD: cpu.fl[rd] = vl; cpu.fh[rd] = vh; cpu.state.mstatus |= Mstatus.FS; break;
          default: xl[rd] = vl; xh[rd] = vl >> 31; break;
        }
        break;
      }
      case Op.SH: case Op.FSW: case Op.FSD: {
        const sum = (xl[rs1] >>> 0) + (imm >>> 0);
        const lo = sum | 0;
        const hi = (xh[rs1] + (imm >> 31) + (sum > 0xffffffff ? 1 : 0)) | 0;
        const size = op === Op.SH ? 2 : op === Op.FSD ? 8 : 4;
        const fp = op === Op.FSW || op === Op.FSD;
        if (fp && cpu.fpOff) { illegal(cpu, u16, pageHost + off); exit = Exit.TRAP; break; }
        const vl = fp ? cpu.fl[rs2] : xl[rs2];
        const vh = fp ? cpu.fh[rs2] : xh[rs2];
        const t = ((lo >>> PAGE_SHIFT) & TLB_MASK) << 2;
        if (wT[t] === (lo & (PAGE_MASK | (size - 1))) && wT[t + 1] === hi) {
          const a = wT[t + 2] + (lo & OFFSET_MASK);
          switch (size) {
            case 2: u16[a >> 1] = vl; break;
            case 4: i32[a >> 2] = vl; break;
            default: i32[a >> 2] = vl; i32[(a >> 2) + 1] = vh; break;
          }
        } else if (!retired(cpu, start + executed).storeSlow(hi, lo, size, vl, vh)) {
          exit = Exit.TRAP;
          break;
        } else if (cpu.ioWritten) {
          cpu.ioWritten = false;
          exit = Exit.SYNC;
        }
        break;
      }

      case Op.ADDI: {
        const a = xl[rs1];
        const lo = (a + imm) | 0;
        xh[rd] = (xh[rs1] + (imm >> 31) + ((lo >>> 0) < (a >>> 0) ? 1 : 0)) | 0;
        xl[rd] = lo;
        break;
      }
      case Op.SLTI: {
        const h = xh[rs1], ih = imm >> 31;
        xl[rd] = h < ih || (h === ih && (xl[rs1] >>> 0) < (imm >>> 0)) ? 1 : 0; xh[rd] = 0;
        break;
      }
      case Op.SLTIU: {
        const h = xh[rs1] >>> 0, ih = (imm >> 31) >>> 0;
        xl[rd] = h < ih || (h === ih && (xl[rs1] >>> 0) < (imm >>> 0)) ? 1 : 0; xh[rd] = 0;
        break;
      }
      case Op.XORI: xl[rd] = xl[rs1] ^ imm; xh[rd] = xh[rs1] ^ (imm >> 31); break;
      case Op.ORI: xl[rd] = xl[rs1] | imm; xh[rd] = xh[rs1] | (imm >> 31); break;
      case Op.ANDI: xl[rd] = xl[rs1] & imm; xh[rd] = xh[rs1] & (imm >> 31); break;
      case Op.SLLI: shiftLeft(xl, xh, rd, xl[rs1], xh[rs1], imm); break;
      case Op.SRLI: shiftRight(xl, xh, rd, xl[rs1], xh[rs1], imm); break;
      case Op.SRAI: shiftRightArith(xl, xh, rd, xl[rs1], xh[rs1], imm); break;
      case Op.ADD: {
        const a = xl[rs1], b = xl[rs2];
        const lo = (a + b) | 0;
        xh[rd] = (xh[rs1] + xh[rs2] + ((lo >>> 0) < (a >>> 0) ? 1 : 0)) | 0;
        xl[rd] = lo;
        break;
      }
      case Op.SUB: {
        const a = xl[rs1], b = xl[rs2];
        xh[rd] = (xh[rs1] - xh[rs2] - ((a >>> 0) < (b >>> 0) ? 1 : 0)) | 0;
        xl[rd] = (a - b) | 0;
        break;
      }
      case Op.SLL: shiftLeft(xl, xh, rd, xl[rs1], xh[rs1], xl[rs2] & 63); break;
      case Op.SRL: shiftRight(xl, xh, rd, xl[rs1], xh[rs1], xl[rs2] & 63); break;
      case Op.SRA: shiftRightArith(xl, xh, rd, xl[rs1], xh[rs1], xl[rs2] & 63); break;
      case Op.SLT: {
        const a = xh[rs1], b = xh[rs2];
        xl[rd] = a < b || (a === b && (xl[rs1] >>> 0) < (xl[rs2] >>> 0)) ? 1 : 0; xh[rd] = 0;
        break;
      }
      case Op.SLTU: {
        const a = xh[rs1] >>> 0, b = xh[rs2] >>> 0;
        xl[rd] = a < b || (a === b && (xl[rs1] >>> 0) < (xl[rs2] >>> 0)) ? 1 : 0; xh[rd] = 0;
        break;
      }
      case Op.XOR: xl[rd] = xl[rs1] ^ xl[rs2]; xh[rd] = xh[rs1] ^ xh[rs2]; break;
      case Op.OR: xl[rd] = xl[rs1] | xl[rs2]; xh[rd] = xh[rs1] | xh[rs2]; break;
      case Op.AND: xl[rd] = xl[rs1] & xl[rs2]; xh[rd] = xh[rs1] & xh[rs2]; break;
      case Op.ADDIW: { const v = (xl[rs1] + imm) | 0; xl[rd] = v; xh[rd] = v >> 31; break; }
      case Op.SLLIW: { const v = xl[rs1] << imm; xl[rd] = v; xh[rd] = v >> 31; break; }
      case Op.SRLIW: { const v = (xl[rs1] >>> imm) | 0; xl[rd] = v; xh[rd] = v >> 31; break; }
      case Op.SRAIW: { const v = xl[rs1] >> imm; xl[rd] = v; xh[rd] = v >> 31; break; }
      case Op.ADDW: { const v = (xl[rs1] + xl[rs2]) | 0; xl[rd] = v; xh[rd] = v >> 31; break; }
      case Op.SUBW: { const v = (xl[rs1] - xl[rs2]) | 0; xl[rd] = v; xh[rd] = v >> 31; break; }
      case Op.SLLW: { const v = xl[rs1] << (xl[rs2] & 31); xl[rd] = v; xh[rd] = v >> 31; break; }
      case Op.SRLW: { const v = (xl[rs1] >>> (xl[rs2] & 31)) | 0; xl[rd] = v; xh[rd] = v >> 31; break; }
      case Op.SRAW: { const v = xl[rs1] >> (xl[rs2] & 31); xl[rd] = v; xh[rd] = v >> 31; break; }

      case Op.MUL: alu.mul64(xh[rs1], xl[rs1], xh[rs2], xl[rs2]); xl[rd] = alu.res[0]; xh[rd] = alu.res[1]; break;
      case Op.MULH: alu.mulh64(xh[rs1], xl[rs1], xh[rs2], xl[rs2]); xl[rd] = alu.res[0]; xh[rd] = alu.res[1]; break;
      case Op.MULHSU:
        alu.mulhsu64(xh[rs1], xl[rs1], xh[rs2], xl[rs2]); xl[rd] = alu.res[0]; xh[rd] = alu.res[1]; break;
      case Op.MULHU:
        alu.mulhu64(xh[rs1], xl[rs1], xh[rs2], xl[rs2]); xl[rd] = alu.res[0]; xh[rd] = alu.res[1]; break;
      case Op.DIV: alu.div64(xh[rs1], xl[rs1], xh[rs2], xl[rs2]); xl[rd] = alu.res[0]; xh[rd] = alu.res[1]; break;
      case Op.DIVU: alu.divu64(xh[rs1], xl[rs1], xh[rs2], xl[rs2]); xl[rd] = alu.res[0]; xh[rd] = alu.res[1]; break;
      case Op.REM: alu.rem64(xh[rs1], xl[rs1], xh[rs2], xl[rs2]); xl[rd] = alu.res[0]; xh[rd] = alu.res[1]; break;
      case Op.REMU: alu.remu64(xh[rs1], xl[rs1], xh[rs2], xl[rs2]); xl[rd] = alu.res[0]; xh[rd] = alu.res[1]; break;
      case Op.MULW: { const v = Math.imul(xl[rs1], xl[rs2]); xl[rd] = v; xh[rd] = v >> 31; break; }
      case Op.DIVW: { const v = alu.div32(xl[rs1], xl[rs2]); xl[rd] = v; xh[rd] = v >> 31; break; }
      case Op.DIVUW: { const v = alu.divu32(xl[rs1], xl[rs2]); xl[rd] = v; xh[rd] = v >> 31; break; }
      case Op.REMW: { const v = alu.rem32(xl[rs1], xl[rs2]); xl[rd] = v; xh[rd] = v >> 31; break; }
      case Op.REMUW: { const v = alu.remu32(xl[rs1], xl[rs2]); xl[rd] = v; xh[rd] = v >> 31; break; }

      case Op.FENCE: case Op.FENCE_I:
        // Harts take turns on one thread, and stores to code drop its decoded
        // form at once, so there is nothing to order or flush.
        break;
      case Op.ECALL:
        // ecall from U, S, M: causes 8, 9, 11.
        cpu.raise(Cause.ECALL_U + cpu.priv, 0, 0);
        exit = Exit.ECALL;
        break;
      case Op.EBREAK: {
        const pc = pageVA + off;
        cpu.raise(Cause.BREAKPOINT, Math.floor(pc / TWO32) | 0, pc | 0);
        exit = Exit.TRAP;
        break;
      }

      case Op.CSRRW: case Op.CSRRS: case Op.CSRRC: case Op.CSRRWI: case Op.CSRRSI: case Op.CSRRCI: {
        const immForm = op >= Op.CSRRWI;
        const kind = ((op - Op.CSRRW) % 3) as 0 | 1 | 2;
        const srcLo = immForm ? rs1 : xl[rs1];
        const srcHi = immForm ? 0 : xh[rs1];
        const writes = kind === 0 || rs1 !== 0;
        if (!csrAccess(retired(cpu, start + executed), imm, kind, writes, srcLo, srcHi)) {
          illegal(cpu, u16, pageHost + off);
          exit = Exit.TRAP;
          break;
        }
        xl[rd] = cpu.tmpLo; xh[rd] = cpu.tmpHi;
        // A system hart's CSR write may change translation or enable an interrupt: let the loop
        // look, unless the write says nothing it watches changed and no interrupt can be taken.
        if (writes && cpu.system && (cpu.csrSync || pendingInterrupt(cpu) >= 0)) exit = Exit.SYNC;
        break;
      }

      case Op.MRET: case Op.SRET: case Op.WFI: case Op.SFENCE_VMA: {
        const r = cpu.system ? execPrivileged(retired(cpu, start + executed), op, pageVA + off, rs1) : PrivResult.ILLEGAL;
        if (r === PrivResult.ILLEGAL) {
          illegal(cpu, u16, pageHost + off);
          exit = Exit.TRAP;
        } else {
          if (r === PrivResult.JUMP) { noff = FAR; farPc = cpu.pc; }
          exit = r === PrivResult.WAIT ? Exit.HALT : Exit.SYNC;
        }
        break;
      }

      default:
        if (op >= Op.LR_W && op <= Op.AMOMAXU_D) {
          if (!execAmo(retired(cpu, start + executed), op, rd, rs1, rs2)) exit = Exit.TRAP;
        } else if (op >= Op.FMADD_S && op <= Op.FMV_D_X) {
          if (!execFp(cpu, op, rd, rs1, rs2, imm & 31, (imm >>> 5) & 7)) {
            illegal(cpu, u16, pageHost + off);
            exit = Exit.TRAP;
          }
        } else {
          // ILLEGAL, and the privileged instructions, which user code may not run.
          illegal(cpu, u16, pageHost + off);
          exit = Exit.TRAP;
        }
        break;
    }
    if (exit !== Exit.BUDGET) {
      if (exit !== BRANCHED) {
        // HALT (wfi) and SYNC complete their instruction; traps and ecalls do not.
        if (exit === Exit.SYNC || exit === Exit.HALT) { off = noff; executed++; }
        break;
      }
      // A branch or jal: the next instruction starts a block (with counters, one within the page is counted).
      exit = Exit.BUDGET;
      if ((noff >>> 0) < 4096 && hot !== undefined) {
        const ran = executed + 1 - blockAt;
        if (ran >= LONG_BLOCK && hot[blockSlot] > 0) hot[blockSlot] -= ran >> LONG_SHIFT;
        blockSlot = hotSlot(pageHost + noff);
        blockAt = executed + 1;
        // Stop before it when its count ran out.
        if (--hot[blockSlot] <= 0) budget = executed + 1;
      }
    }
    off = noff;
    executed++;
  }
  cpu.pc = off === FAR ? farPc : pageVA + off;
  cpu.instret = start + executed;
  return cpu.debug === undefined ? exit as Exit : cpu.debug.leave(cpu, exit as Exit);
}

/** Set cpu.instret to the instructions retired so far (before a call out that may read it); returns cpu. */
function retired(cpu: RiscvCpu, n: number): RiscvCpu {
  cpu.instret = n;
  return cpu;
}

/** Raise an illegal-instruction trap with the instruction bits in tval, as QEMU reports them. */
function illegal(cpu: RiscvCpu, u16: Uint16Array, host: number): void {
  const lo16 = u16[host >>> 1];
  const long = (lo16 & 3) === 3 && (host & OFFSET_MASK) < 4094;
  cpu.raise(Cause.ILLEGAL_INSN, 0, long ? lo16 | (u16[(host + 2) >>> 1] << 16) : lo16);
}

function shiftLeft(xl: Int32Array, xh: Int32Array, rd: number, lo: number, hi: number, sh: number): void {
  if (sh === 0) { xl[rd] = lo; xh[rd] = hi; }
  else if (sh < 32) { xh[rd] = (hi << sh) | (lo >>> (32 - sh)); xl[rd] = lo << sh; }
  else { xh[rd] = lo << (sh - 32); xl[rd] = 0; }
}

function shiftRight(xl: Int32Array, xh: Int32Array, rd: number, lo: number, hi: number, sh: number): void {
  if (sh === 0) { xl[rd] = lo; xh[rd] = hi; }
  else if (sh < 32) { xl[rd] = (lo >>> sh) | (hi << (32 - sh)); xh[rd] = hi >>> sh; }
  else { xl[rd] = hi >>> (sh - 32); xh[rd] = 0; }
}

function shiftRightArith(xl: Int32Array, xh: Int32Array, rd: number, lo: number, hi: number, sh: number): void {
  if (sh === 0) { xl[rd] = lo; xh[rd] = hi; }
  else if (sh < 32) { xl[rd] = (lo >>> sh) | (hi << (32 - sh)); xh[rd] = hi >> sh; }
  else { xl[rd] = hi >> (sh - 32); xh[rd] = hi >> 31; }
}
