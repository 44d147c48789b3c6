/*
 * FPU oracle: runs F/D instructions on whatever executes it (the reference
 * emulator in the oracle test) and reports result bits and fflags.
 *
 * stdin:  records of 32 bytes: u8 op, u8 rm (0..4, static rounding mode
 *         encoded in the instruction), u8 fflags value to preset before the
 *         instruction, 5 bytes padding, u64 a, u64 b, u64 c (little endian;
 *         binary32 operands in the low 32 bits).
 * stdout: records of 16 bytes: u64 result (binary32 results in the low 32
 *         bits, upper bits zero; integer results as the 64-bit rd value),
 *         u8 fflags after the instruction, 7 bytes padding.
 *
 * The op numbering is shared with fpu-oracle.test.ts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
  FADD_S, FSUB_S, FMUL_S, FDIV_S, FSQRT_S, FMADD_S, FMSUB_S, FNMSUB_S, FNMADD_S,
  FMIN_S, FMAX_S, FEQ_S, FLT_S, FLE_S, FCLASS_S,
  FADD_D, FSUB_D, FMUL_D, FDIV_D, FSQRT_D, FMADD_D, FMSUB_D, FNMSUB_D, FNMADD_D,
  FMIN_D, FMAX_D, FEQ_D, FLT_D, FLE_D, FCLASS_D,
  FCVT_D_S, FCVT_S_D,
  FCVT_W_S, FCVT_WU_S, FCVT_L_S, FCVT_LU_S,
  FCVT_W_D, FCVT_WU_D, FCVT_L_D, FCVT_LU_D,
  FCVT_S_W, FCVT_S_WU, FCVT_S_L, FCVT_S_LU,
  FCVT_D_W, FCVT_D_WU, FCVT_D_L, FCVT_D_LU,
};

typedef struct { uint8_t op, rm, pre, pad[5]; uint64_t a, b, c; } InRec;
typedef struct { uint64_t r; uint8_t fl, pad[7]; } OutRec;

static float F32(uint64_t v) { uint32_t u = (uint32_t)v; float f; memcpy(&f, &u, 4); return f; }
static double F64(uint64_t v) { double d; memcpy(&d, &v, 8); return d; }
static uint64_t U32(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static uint64_t U64(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }

/* One asm statement per static rounding mode. */
#define RMSW(M, insn) \
  switch (rm) { \
    case 0: M(insn, "rne"); break; \
    case 1: M(insn, "rtz"); break; \
    case 2: M(insn, "rdn"); break; \
    case 3: M(insn, "rup"); break; \
    default: M(insn, "rmm"); break; \
  }

#define PRE "fsflags %[p]\n\t"
#define POST "\n\tfrflags %[f]"

/* Shapes: r = result, x/y/z = operands; f = float reg, r = int reg. */
#define A_FFF(insn, rms) __asm__ volatile(PRE insn " %[r],%[x],%[y]," rms POST \
  : [r] "=&f"(r), [f] "=&r"(fl) : [x] "f"(x), [y] "f"(y), [p] "r"(pre))
#define A_FFFF(insn, rms) __asm__ volatile(PRE insn " %[r],%[x],%[y],%[z]," rms POST \
  : [r] "=&f"(r), [f] "=&r"(fl) : [x] "f"(x), [y] "f"(y), [z] "f"(z), [p] "r"(pre))
#define A_FF(insn, rms) __asm__ volatile(PRE insn " %[r],%[x]," rms POST \
  : [r] "=&f"(r), [f] "=&r"(fl) : [x] "f"(x), [p] "r"(pre))
#define A_RF(insn, rms) __asm__ volatile(PRE insn " %[r],%[x]," rms POST \
  : [r] "=&r"(r), [f] "=&r"(fl) : [x] "f"(x), [p] "r"(pre))
#define A_FR(insn, rms) __asm__ volatile(PRE insn " %[r],%[x]," rms POST \
  : [r] "=&f"(r), [f] "=&r"(fl) : [x] "r"(x), [p] "r"(pre))
/* Without a rounding-mode operand. */
#define N_FFF(insn) __asm__ volatile(PRE insn " %[r],%[x],%[y]" POST \
  : [r] "=&f"(r), [f] "=&r"(fl) : [x] "f"(x), [y] "f"(y), [p] "r"(pre))
#define N_RFF(insn) __asm__ volatile(PRE insn " %[r],%[x],%[y]" POST \
  : [r] "=&r"(r), [f] "=&r"(fl) : [x] "f"(x), [y] "f"(y), [p] "r"(pre))
#define N_RF(insn) __asm__ volatile(PRE insn " %[r],%[x]" POST \
  : [r] "=&r"(r), [f] "=&r"(fl) : [x] "f"(x), [p] "r"(pre))
#define N_FF(insn) __asm__ volatile(PRE insn " %[r],%[x]" POST \
  : [r] "=&f"(r), [f] "=&r"(fl) : [x] "f"(x), [p] "r"(pre))
#define N_FR(insn) __asm__ volatile(PRE insn " %[r],%[x]" POST \
  : [r] "=&f"(r), [f] "=&r"(fl) : [x] "r"(x), [p] "r"(pre))

#define S_FFF(insn) { float x = F32(in->a), y = F32(in->b), r; RMSW(A_FFF, insn); res = U32(r); break; }
#define D_FFF(insn) { double x = F64(in->a), y = F64(in->b), r; RMSW(A_FFF, insn); res = U64(r); break; }
#define S_FFFF(insn) { float x = F32(in->a), y = F32(in->b), z = F32(in->c), r; RMSW(A_FFFF, insn); res = U32(r); break; }
#define D_FFFF(insn) { double x = F64(in->a), y = F64(in->b), z = F64(in->c), r; RMSW(A_FFFF, insn); res = U64(r); break; }
#define S_NFFF(insn) { float x = F32(in->a), y = F32(in->b), r; N_FFF(insn); res = U32(r); break; }
#define D_NFFF(insn) { double x = F64(in->a), y = F64(in->b), r; N_FFF(insn); res = U64(r); break; }
#define S_NRFF(insn) { float x = F32(in->a), y = F32(in->b); uint64_t r; N_RFF(insn); res = r; break; }
#define D_NRFF(insn) { double x = F64(in->a), y = F64(in->b); uint64_t r; N_RFF(insn); res = r; break; }
#define S_RF(insn) { float x = F32(in->a); uint64_t r; RMSW(A_RF, insn); res = r; break; }
#define D_RF(insn) { double x = F64(in->a); uint64_t r; RMSW(A_RF, insn); res = r; break; }
#define S_FR(insn) { uint64_t x = in->a; float r; RMSW(A_FR, insn); res = U32(r); break; }
#define D_FR(insn) { uint64_t x = in->a; double r; RMSW(A_FR, insn); res = U64(r); break; }

static void run(const InRec *in, OutRec *out) {
  const unsigned rm = in->rm;
  const uint64_t pre = in->pre;
  uint64_t fl = 0, res = 0;
  switch (in->op) {
    case FADD_S: S_FFF("fadd.s")
    case FSUB_S: S_FFF("fsub.s")
    case FMUL_S: S_FFF("fmul.s")
    case FDIV_S: S_FFF("fdiv.s")
    case FSQRT_S: { float x = F32(in->a), r; RMSW(A_FF, "fsqrt.s"); res = U32(r); break; }
    case FMADD_S: S_FFFF("fmadd.s")
    case FMSUB_S: S_FFFF("fmsub.s")
    case FNMSUB_S: S_FFFF("fnmsub.s")
    case FNMADD_S: S_FFFF("fnmadd.s")
    case FMIN_S: S_NFFF("fmin.s")
    case FMAX_S: S_NFFF("fmax.s")
    case FEQ_S: S_NRFF("feq.s")
    case FLT_S: S_NRFF("flt.s")
    case FLE_S: S_NRFF("fle.s")
    case FCLASS_S: { float x = F32(in->a); uint64_t r; N_RF("fclass.s"); res = r; break; }
    case FADD_D: D_FFF("fadd.d")
    case FSUB_D: D_FFF("fsub.d")
    case FMUL_D: D_FFF("fmul.d")
    case FDIV_D: D_FFF("fdiv.d")
    case FSQRT_D: { double x = F64(in->a), r; RMSW(A_FF, "fsqrt.d"); res = U64(r); break; }
    case FMADD_D: D_FFFF("fmadd.d")
    case FMSUB_D: D_FFFF("fmsub.d")
    case FNMSUB_D: D_FFFF("fnmsub.d")
    case FNMADD_D: D_FFFF("fnmadd.d")
    case FMIN_D: D_NFFF("fmin.d")
    case FMAX_D: D_NFFF("fmax.d")
    case FEQ_D: D_NRFF("feq.d")
    case FLT_D: D_NRFF("flt.d")
    case FLE_D: D_NRFF("fle.d")
    case FCLASS_D: { double x = F64(in->a); uint64_t r; N_RF("fclass.d"); res = r; break; }
    case FCVT_D_S: { float x = F32(in->a); double r; N_FF("fcvt.d.s"); res = U64(r); break; }
    case FCVT_S_D: { double x = F64(in->a); float r; RMSW(A_FF, "fcvt.s.d"); res = U32(r); break; }
    case FCVT_W_S: S_RF("fcvt.w.s")
    case FCVT_WU_S: S_RF("fcvt.wu.s")
    case FCVT_L_S: S_RF("fcvt.l.s")
    case FCVT_LU_S: S_RF("fcvt.lu.s")
    case FCVT_W_D: D_RF("fcvt.w.d")
    case FCVT_WU_D: D_RF("fcvt.wu.d")
    case FCVT_L_D: D_RF("fcvt.l.d")
    case FCVT_LU_D: D_RF("fcvt.lu.d")
    case FCVT_S_W: S_FR("fcvt.s.w")
    case FCVT_S_WU: S_FR("fcvt.s.wu")
    case FCVT_S_L: S_FR("fcvt.s.l")
    case FCVT_S_LU: S_FR("fcvt.s.lu")
    case FCVT_D_W: { uint64_t x = in->a; double r; N_FR("fcvt.d.w"); res = U64(r); break; }
    case FCVT_D_WU: { uint64_t x = in->a; double r; N_FR("fcvt.d.wu"); res = U64(r); break; }
    case FCVT_D_L: D_FR("fcvt.d.l")
    case FCVT_D_LU: D_FR("fcvt.d.lu")
    default: fl = 0xff; break;
  }
  out->r = res;
  out->fl = (uint8_t)fl;
  memset(out->pad, 0, sizeof out->pad);
}

static int readAll(uint8_t **data, size_t *len) {
  size_t cap = 1 << 20, n = 0;
  uint8_t *buf = malloc(cap);
  if (!buf) return -1;
  for (;;) {
    if (n == cap) {
      cap *= 2;
      uint8_t *nb = realloc(buf, cap);
      if (!nb) return -1;
      buf = nb;
    }
    ssize_t k = read(0, buf + n, cap - n);
    if (k < 0) return -1;
    if (k == 0) break;
    n += (size_t)k;
  }
  *data = buf;
  *len = n;
  return 0;
}

int main(void) {
  uint8_t *data;
  size_t len;
  if (readAll(&data, &len) != 0 || len % sizeof(InRec) != 0) return 2;
  size_t count = len / sizeof(InRec);
  OutRec *out = malloc(count * sizeof(OutRec) + 1);
  if (!out) return 2;
  for (size_t i = 0; i < count; i++) {
    InRec rec;
    memcpy(&rec, data + i * sizeof(InRec), sizeof rec);
    run(&rec, &out[i]);
  }
  const uint8_t *p = (const uint8_t *)out;
  size_t left = count * sizeof(OutRec);
  while (left > 0) {
    ssize_t k = write(1, p, left);
    if (k <= 0) return 3;
    p += k;
    left -= (size_t)k;
  }
  return 0;
}
