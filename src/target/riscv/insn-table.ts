/**
 * The RV64GC instruction table: the one source of truth for the decoder, the
 * disassembler, the interpreter and the random-instruction tests.
 *
 * Each 32-bit instruction is one row: its name as the spec spells it, the
 * match/mask pair that recognises it, and its operand layout.  Compressed
 * instructions are not rows of their own: the decoder expands each one to the
 * 32-bit row it stands for (the spec defines every RVC instruction that way).
 */

/** Operation ids, in table order.  The interpreter switches on these. */
export const enum Op {
  UNDECODED = 0, // decode-cache slot not filled yet
  ILLEGAL,
  // RV64I
  LUI, AUIPC, JAL, JALR,
  BEQ, BNE, BLT, BGE, BLTU, BGEU,
  LB, LH, LW, LD, LBU, LHU, LWU,
  SB, SH, SW, SD,
  ADDI, SLTI, SLTIU, XORI, ORI, ANDI, SLLI, SRLI, SRAI,
  ADD, SUB, SLL, SLT, SLTU, XOR, SRL, SRA, OR, AND,
  ADDIW, SLLIW, SRLIW, SRAIW,
  ADDW, SUBW, SLLW, SRLW, SRAW,
  FENCE, FENCE_I, ECALL, EBREAK,
  // Zicsr
  CSRRW, CSRRS, CSRRC, CSRRWI, CSRRSI, CSRRCI,
  // M
  MUL, MULH, MULHSU, MULHU, DIV, DIVU, REM, REMU,
  MULW, DIVW, DIVUW, REMW, REMUW,
  // A
  LR_W, SC_W, AMOSWAP_W, AMOADD_W, AMOXOR_W, AMOAND_W, AMOOR_W,
  AMOMIN_W, AMOMAX_W, AMOMINU_W, AMOMAXU_W,
  LR_D, SC_D, AMOSWAP_D, AMOADD_D, AMOXOR_D, AMOAND_D, AMOOR_D,
  AMOMIN_D, AMOMAX_D, AMOMINU_D, AMOMAXU_D,
  // F
  FLW, FSW,
  FMADD_S, FMSUB_S, FNMSUB_S, FNMADD_S,
  FADD_S, FSUB_S, FMUL_S, FDIV_S, FSQRT_S,
  FSGNJ_S, FSGNJN_S, FSGNJX_S, FMIN_S, FMAX_S,
  FCVT_W_S, FCVT_WU_S, FCVT_L_S, FCVT_LU_S,
  FMV_X_W, FCLASS_S, FEQ_S, FLT_S, FLE_S,
  FCVT_S_W, FCVT_S_WU, FCVT_S_L, FCVT_S_LU, FMV_W_X,
  // D
  FLD, FSD,
  FMADD_D, FMSUB_D, FNMSUB_D, FNMADD_D,
  FADD_D, FSUB_D, FMUL_D, FDIV_D, FSQRT_D,
  FSGNJ_D, FSGNJN_D, FSGNJX_D, FMIN_D, FMAX_D,
  FCVT_S_D, FCVT_D_S,
  FCVT_W_D, FCVT_WU_D, FCVT_L_D, FCVT_LU_D,
  FMV_X_D, FCLASS_D, FEQ_D, FLT_D, FLE_D,
  FCVT_D_W, FCVT_D_WU, FCVT_D_L, FCVT_D_LU, FMV_D_X,
  // Privileged
  SRET, MRET, WFI, SFENCE_VMA,
  COUNT,
}

/**
 * Operand layouts.  The letters name what the disassembler prints, in order:
 *   d rd   s rs1   t rs2          (integer registers)
 *   D rd   S rs1   T rs2   R rs3  (floating-point registers)
 *   i I-immediate   u U-immediate (printed >> 12)   > shift amount
 *   o load/store offset with base, printed imm(rs1)
 *   b branch target   j jump target
 *   c CSR number      z CSR zero-extended 5-bit immediate (in rs1)
 *   A (rs1) address of an atomic
 *   m rounding mode (printed only when not dynamic)
 *   f fence predecessor/successor sets
 */
export const enum Imm { NONE, I, S, B, U, J, SHAMT6, SHAMT5, CSR }

export interface InsnRow {
  readonly op: Op;
  readonly name: string;
  readonly match: number;
  readonly mask: number;
  readonly operands: string;
  readonly imm: Imm;
  readonly ext: "I" | "M" | "A" | "F" | "D" | "Zicsr" | "Zifencei" | "Priv";
}

const R = 0xfe00707f;      // opcode + funct3 + funct7
const I3 = 0x0000707f;     // opcode + funct3
const SH6 = 0xfc00707f;    // opcode + funct3 + funct6 (RV64 shifts)
const R4 = 0x0600007f;     // opcode + fmt
const FR = 0xfe00007f;     // opcode + funct7, rm free
const FR1 = 0xfff0007f;    // opcode + funct7 + rs2, rm free
const FR1F3 = 0xfff0707f;  // opcode + funct7 + rs2 + funct3
const AMO = 0xf800707f;    // opcode + funct3 + funct5, aq/rl free
const LRM = 0xf9f0707f;    // as AMO, rs2 must be 0

function row(op: Op, name: string, match: number, mask: number, operands: string, imm: Imm,
  ext: InsnRow["ext"]): InsnRow {
  return { op, name, match: match >>> 0, mask: mask >>> 0, operands, imm, ext };
}

function amo(op: Op, name: string, funct5: number, width: number, ext: InsnRow["ext"]): InsnRow {
  const lr = name.startsWith("lr.");
  return row(op, name, (funct5 << 27) | (width << 12) | 0x2f, lr ? LRM : AMO, lr ? "dA" : "dtA", Imm.NONE, ext);
}

function fop(op: Op, name: string, funct7: number, operands: string, mask: number, rs2 = 0, funct3 = 0): InsnRow {
  return row(op, name, (funct7 << 25) | (rs2 << 20) | (funct3 << 12) | 0x53, mask, operands, Imm.NONE,
    (funct7 & 1) !== 0 ? "D" : "F");
}

function fma(op: Op, name: string, opcode: number, fmt: number): InsnRow {
  return row(op, name, (fmt << 25) | opcode, R4, "DSTRm", Imm.NONE, fmt === 1 ? "D" : "F");
}

/** The table, indexed by Op. */
export const INSNS: readonly InsnRow[] = [
  row(Op.UNDECODED, "(undecoded)", 0, 0xffffffff, "", Imm.NONE, "I"),
  row(Op.ILLEGAL, "illegal", 0, 0xffffffff, "", Imm.NONE, "I"),

  row(Op.LUI, "lui", 0x37, 0x7f, "du", Imm.U, "I"),
  row(Op.AUIPC, "auipc", 0x17, 0x7f, "du", Imm.U, "I"),
  row(Op.JAL, "jal", 0x6f, 0x7f, "dj", Imm.J, "I"),
  row(Op.JALR, "jalr", 0x67, I3, "do", Imm.I, "I"),
  row(Op.BEQ, "beq", 0x0063, I3, "stb", Imm.B, "I"),
  row(Op.BNE, "bne", 0x1063, I3, "stb", Imm.B, "I"),
  row(Op.BLT, "blt", 0x4063, I3, "stb", Imm.B, "I"),
  row(Op.BGE, "bge", 0x5063, I3, "stb", Imm.B, "I"),
  row(Op.BLTU, "bltu", 0x6063, I3, "stb", Imm.B, "I"),
  row(Op.BGEU, "bgeu", 0x7063, I3, "stb", Imm.B, "I"),
  row(Op.LB, "lb", 0x0003, I3, "do", Imm.I, "I"),
  row(Op.LH, "lh", 0x1003, I3, "do", Imm.I, "I"),
  row(Op.LW, "lw", 0x2003, I3, "do", Imm.I, "I"),
  row(Op.LD, "ld", 0x3003, I3, "do", Imm.I, "I"),
  row(Op.LBU, "lbu", 0x4003, I3, "do", Imm.I, "I"),
  row(Op.LHU, "lhu", 0x5003, I3, "do", Imm.I, "I"),
  row(Op.LWU, "lwu", 0x6003, I3, "do", Imm.I, "I"),
  row(Op.SB, "sb", 0x0023, I3, "to", Imm.S, "I"),
  row(Op.SH, "sh", 0x1023, I3, "to", Imm.S, "I"),
  row(Op.SW, "sw", 0x2023, I3, "to", Imm.S, "I"),
  row(Op.SD, "sd", 0x3023, I3, "to", Imm.S, "I"),
  row(Op.ADDI, "addi", 0x0013, I3, "dsi", Imm.I, "I"),
  row(Op.SLTI, "slti", 0x2013, I3, "dsi", Imm.I, "I"),
  row(Op.SLTIU, "sltiu", 0x3013, I3, "dsi", Imm.I, "I"),
  row(Op.XORI, "xori", 0x4013, I3, "dsi", Imm.I, "I"),
  row(Op.ORI, "ori", 0x6013, I3, "dsi", Imm.I, "I"),
  row(Op.ANDI, "andi", 0x7013, I3, "dsi", Imm.I, "I"),
  row(Op.SLLI, "slli", 0x1013, SH6, "ds>", Imm.SHAMT6, "I"),
  row(Op.SRLI, "srli", 0x5013, SH6, "ds>", Imm.SHAMT6, "I"),
  row(Op.SRAI, "srai", 0x40005013, SH6, "ds>", Imm.SHAMT6, "I"),
  row(Op.ADD, "add", 0x0033, R, "dst", Imm.NONE, "I"),
  row(Op.SUB, "sub", 0x40000033, R, "dst", Imm.NONE, "I"),
  row(Op.SLL, "sll", 0x1033, R, "dst", Imm.NONE, "I"),
  row(Op.SLT, "slt", 0x2033, R, "dst", Imm.NONE, "I"),
  row(Op.SLTU, "sltu", 0x3033, R, "dst", Imm.NONE, "I"),
  row(Op.XOR, "xor", 0x4033, R, "dst", Imm.NONE, "I"),
  row(Op.SRL, "srl", 0x5033, R, "dst", Imm.NONE, "I"),
  row(Op.SRA, "sra", 0x40005033, R, "dst", Imm.NONE, "I"),
  row(Op.OR, "or", 0x6033, R, "dst", Imm.NONE, "I"),
  row(Op.AND, "and", 0x7033, R, "dst", Imm.NONE, "I"),
  row(Op.ADDIW, "addiw", 0x001b, I3, "dsi", Imm.I, "I"),
  row(Op.SLLIW, "slliw", 0x101b, R, "ds>", Imm.SHAMT5, "I"),
  row(Op.SRLIW, "srliw", 0x501b, R, "ds>", Imm.SHAMT5, "I"),
  row(Op.SRAIW, "sraiw", 0x4000501b, R, "ds>", Imm.SHAMT5, "I"),
  row(Op.ADDW, "addw", 0x003b, R, "dst", Imm.NONE, "I"),
  row(Op.SUBW, "subw", 0x4000003b, R, "dst", Imm.NONE, "I"),
  row(Op.SLLW, "sllw", 0x103b, R, "dst", Imm.NONE, "I"),
  row(Op.SRLW, "srlw", 0x503b, R, "dst", Imm.NONE, "I"),
  row(Op.SRAW, "sraw", 0x4000503b, R, "dst", Imm.NONE, "I"),
  row(Op.FENCE, "fence", 0x000f, I3, "f", Imm.I, "I"),
  row(Op.FENCE_I, "fence.i", 0x100f, I3, "", Imm.NONE, "Zifencei"),
  row(Op.ECALL, "ecall", 0x00000073, 0xffffffff, "", Imm.NONE, "I"),
  row(Op.EBREAK, "ebreak", 0x00100073, 0xffffffff, "", Imm.NONE, "I"),

  row(Op.CSRRW, "csrrw", 0x1073, I3, "dcs", Imm.CSR, "Zicsr"),
  row(Op.CSRRS, "csrrs", 0x2073, I3, "dcs", Imm.CSR, "Zicsr"),
  row(Op.CSRRC, "csrrc", 0x3073, I3, "dcs", Imm.CSR, "Zicsr"),
  row(Op.CSRRWI, "csrrwi", 0x5073, I3, "dcz", Imm.CSR, "Zicsr"),
  row(Op.CSRRSI, "csrrsi", 0x6073, I3, "dcz", Imm.CSR, "Zicsr"),
  row(Op.CSRRCI, "csrrci", 0x7073, I3, "dcz", Imm.CSR, "Zicsr"),

  row(Op.MUL, "mul", 0x02000033, R, "dst", Imm.NONE, "M"),
  row(Op.MULH, "mulh", 0x02001033, R, "dst", Imm.NONE, "M"),
  row(Op.MULHSU, "mulhsu", 0x02002033, R, "dst", Imm.NONE, "M"),
  row(Op.MULHU, "mulhu", 0x02003033, R, "dst", Imm.NONE, "M"),
  row(Op.DIV, "div", 0x02004033, R, "dst", Imm.NONE, "M"),
  row(Op.DIVU, "divu", 0x02005033, R, "dst", Imm.NONE, "M"),
  row(Op.REM, "rem", 0x02006033, R, "dst", Imm.NONE, "M"),
  row(Op.REMU, "remu", 0x02007033, R, "dst", Imm.NONE, "M"),
  row(Op.MULW, "mulw", 0x0200003b, R, "dst", Imm.NONE, "M"),
  row(Op.DIVW, "divw", 0x0200403b, R, "dst", Imm.NONE, "M"),
  row(Op.DIVUW, "divuw", 0x0200503b, R, "dst", Imm.NONE, "M"),
  row(Op.REMW, "remw", 0x0200603b, R, "dst", Imm.NONE, "M"),
  row(Op.REMUW, "remuw", 0x0200703b, R, "dst", Imm.NONE, "M"),

  amo(Op.LR_W, "lr.w", 0x02, 2, "A"),
  amo(Op.SC_W, "sc.w", 0x03, 2, "A"),
  amo(Op.AMOSWAP_W, "amoswap.w", 0x01, 2, "A"),
  amo(Op.AMOADD_W, "amoadd.w", 0x00, 2, "A"),
  amo(Op.AMOXOR_W, "amoxor.w", 0x04, 2, "A"),
  amo(Op.AMOAND_W, "amoand.w", 0x0c, 2, "A"),
  amo(Op.AMOOR_W, "amoor.w", 0x08, 2, "A"),
  amo(Op.AMOMIN_W, "amomin.w", 0x10, 2, "A"),
  amo(Op.AMOMAX_W, "amomax.w", 0x14, 2, "A"),
  amo(Op.AMOMINU_W, "amominu.w", 0x18, 2, "A"),
  amo(Op.AMOMAXU_W, "amomaxu.w", 0x1c, 2, "A"),
  amo(Op.LR_D, "lr.d", 0x02, 3, "A"),
  amo(Op.SC_D, "sc.d", 0x03, 3, "A"),
  amo(Op.AMOSWAP_D, "amoswap.d", 0x01, 3, "A"),
  amo(Op.AMOADD_D, "amoadd.d", 0x00, 3, "A"),
  amo(Op.AMOXOR_D, "amoxor.d", 0x04, 3, "A"),
  amo(Op.AMOAND_D, "amoand.d", 0x0c, 3, "A"),
  amo(Op.AMOOR_D, "amoor.d", 0x08, 3, "A"),
  amo(Op.AMOMIN_D, "amomin.d", 0x10, 3, "A"),
  amo(Op.AMOMAX_D, "amomax.d", 0x14, 3, "A"),
  amo(Op.AMOMINU_D, "amominu.d", 0x18, 3, "A"),
  amo(Op.AMOMAXU_D, "amomaxu.d", 0x1c, 3, "A"),

  row(Op.FLW, "flw", 0x2007, I3, "Do", Imm.I, "F"),
  row(Op.FSW, "fsw", 0x2027, I3, "To", Imm.S, "F"),
  fma(Op.FMADD_S, "fmadd.s", 0x43, 0),
  fma(Op.FMSUB_S, "fmsub.s", 0x47, 0),
  fma(Op.FNMSUB_S, "fnmsub.s", 0x4b, 0),
  fma(Op.FNMADD_S, "fnmadd.s", 0x4f, 0),
  fop(Op.FADD_S, "fadd.s", 0x00, "DSTm", FR),
  fop(Op.FSUB_S, "fsub.s", 0x04, "DSTm", FR),
  fop(Op.FMUL_S, "fmul.s", 0x08, "DSTm", FR),
  fop(Op.FDIV_S, "fdiv.s", 0x0c, "DSTm", FR),
  fop(Op.FSQRT_S, "fsqrt.s", 0x2c, "DSm", FR1),
  fop(Op.FSGNJ_S, "fsgnj.s", 0x10, "DST", R, 0, 0),
  fop(Op.FSGNJN_S, "fsgnjn.s", 0x10, "DST", R, 0, 1),
  fop(Op.FSGNJX_S, "fsgnjx.s", 0x10, "DST", R, 0, 2),
  fop(Op.FMIN_S, "fmin.s", 0x14, "DST", R, 0, 0),
  fop(Op.FMAX_S, "fmax.s", 0x14, "DST", R, 0, 1),
  fop(Op.FCVT_W_S, "fcvt.w.s", 0x60, "dSm", FR1, 0),
  fop(Op.FCVT_WU_S, "fcvt.wu.s", 0x60, "dSm", FR1, 1),
  fop(Op.FCVT_L_S, "fcvt.l.s", 0x60, "dSm", FR1, 2),
  fop(Op.FCVT_LU_S, "fcvt.lu.s", 0x60, "dSm", FR1, 3),
  fop(Op.FMV_X_W, "fmv.x.w", 0x70, "dS", FR1F3, 0, 0),
  fop(Op.FCLASS_S, "fclass.s", 0x70, "dS", FR1F3, 0, 1),
  fop(Op.FEQ_S, "feq.s", 0x50, "dST", R, 0, 2),
  fop(Op.FLT_S, "flt.s", 0x50, "dST", R, 0, 1),
  fop(Op.FLE_S, "fle.s", 0x50, "dST", R, 0, 0),
  fop(Op.FCVT_S_W, "fcvt.s.w", 0x68, "Dsm", FR1, 0),
  fop(Op.FCVT_S_WU, "fcvt.s.wu", 0x68, "Dsm", FR1, 1),
  fop(Op.FCVT_S_L, "fcvt.s.l", 0x68, "Dsm", FR1, 2),
  fop(Op.FCVT_S_LU, "fcvt.s.lu", 0x68, "Dsm", FR1, 3),
  fop(Op.FMV_W_X, "fmv.w.x", 0x78, "Ds", FR1F3, 0, 0),

  row(Op.FLD, "fld", 0x3007, I3, "Do", Imm.I, "D"),
  row(Op.FSD, "fsd", 0x3027, I3, "To", Imm.S, "D"),
  fma(Op.FMADD_D, "fmadd.d", 0x43, 1),
  fma(Op.FMSUB_D, "fmsub.d", 0x47, 1),
  fma(Op.FNMSUB_D, "fnmsub.d", 0x4b, 1),
  fma(Op.FNMADD_D, "fnmadd.d", 0x4f, 1),
  fop(Op.FADD_D, "fadd.d", 0x01, "DSTm", FR),
  fop(Op.FSUB_D, "fsub.d", 0x05, "DSTm", FR),
  fop(Op.FMUL_D, "fmul.d", 0x09, "DSTm", FR),
  fop(Op.FDIV_D, "fdiv.d", 0x0d, "DSTm", FR),
  fop(Op.FSQRT_D, "fsqrt.d", 0x2d, "DSm", FR1),
  fop(Op.FSGNJ_D, "fsgnj.d", 0x11, "DST", R, 0, 0),
  fop(Op.FSGNJN_D, "fsgnjn.d", 0x11, "DST", R, 0, 1),
  fop(Op.FSGNJX_D, "fsgnjx.d", 0x11, "DST", R, 0, 2),
  fop(Op.FMIN_D, "fmin.d", 0x15, "DST", R, 0, 0),
  fop(Op.FMAX_D, "fmax.d", 0x15, "DST", R, 0, 1),
  fop(Op.FCVT_S_D, "fcvt.s.d", 0x20, "DSm", FR1, 1),
  fop(Op.FCVT_D_S, "fcvt.d.s", 0x21, "DSm", FR1, 0),
  fop(Op.FCVT_W_D, "fcvt.w.d", 0x61, "dSm", FR1, 0),
  fop(Op.FCVT_WU_D, "fcvt.wu.d", 0x61, "dSm", FR1, 1),
  fop(Op.FCVT_L_D, "fcvt.l.d", 0x61, "dSm", FR1, 2),
  fop(Op.FCVT_LU_D, "fcvt.lu.d", 0x61, "dSm", FR1, 3),
  fop(Op.FMV_X_D, "fmv.x.d", 0x71, "dS", FR1F3, 0, 0),
  fop(Op.FCLASS_D, "fclass.d", 0x71, "dS", FR1F3, 0, 1),
  fop(Op.FEQ_D, "feq.d", 0x51, "dST", R, 0, 2),
  fop(Op.FLT_D, "flt.d", 0x51, "dST", R, 0, 1),
  fop(Op.FLE_D, "fle.d", 0x51, "dST", R, 0, 0),
  fop(Op.FCVT_D_W, "fcvt.d.w", 0x69, "Dsm", FR1, 0),
  fop(Op.FCVT_D_WU, "fcvt.d.wu", 0x69, "Dsm", FR1, 1),
  fop(Op.FCVT_D_L, "fcvt.d.l", 0x69, "Dsm", FR1, 2),
  fop(Op.FCVT_D_LU, "fcvt.d.lu", 0x69, "Dsm", FR1, 3),
  fop(Op.FMV_D_X, "fmv.d.x", 0x79, "Ds", FR1F3, 0, 0),

  row(Op.SRET, "sret", 0x10200073, 0xffffffff, "", Imm.NONE, "Priv"),
  row(Op.MRET, "mret", 0x30200073, 0xffffffff, "", Imm.NONE, "Priv"),
  row(Op.WFI, "wfi", 0x10500073, 0xffffffff, "", Imm.NONE, "Priv"),
  row(Op.SFENCE_VMA, "sfence.vma", 0x12000073, 0xfe007fff, "st", Imm.NONE, "Priv"),
];

/** Rows that name a floating-point operation taking a rounding-mode field. */
export function hasRoundingMode(r: InsnRow): boolean {
  return r.operands.includes("m");
}
