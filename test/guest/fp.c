/*
 * F and D extension conformance: every arithmetic, fused, sign-injection,
 * min/max, compare, classify, convert and move instruction over tables of
 * special values (signed zeros, infinities, quiet and signalling NaNs,
 * subnormals, extremes, rounding ties), in each static rounding mode and in
 * dynamic mode with frm set to each mode. Each result is printed as raw bits
 * with the fflags the instruction raised (fflags cleared before each op).
 * Also: NaN-boxing of single values, fcsr/frm/fflags CSR behaviour and
 * illegal rounding modes (SIGILL). Exits 1 if a known answer fails.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

/* ---- output: a small buffered hex writer, much cheaper than printf ---- */

static char obuf[1 << 16];
static size_t olen;

static void oflush(void) {
  fwrite(obuf, 1, olen, stdout);
  olen = 0;
}
static void ochar(char c) {
  if (olen == sizeof obuf) oflush();
  obuf[olen++] = c;
}
static void ostr(const char *s) {
  while (*s) ochar(*s++);
}
static void ohex(uint64_t v, int digits) {
  static const char hx[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; i--) ochar(hx[(v >> (i * 4)) & 15]);
}
static void onl(void) { ochar('\n'); }

static int failures;
static void expect(const char *what, uint64_t got, uint64_t want) {
  if (got != want) {
    oflush();
    printf("FAIL %s: got %016llx want %016llx\n", what, (unsigned long long)got,
           (unsigned long long)want);
    failures++;
  }
}

/* ---- instruction wrappers ----
 * Every wrapper loads raw 64-bit register images with fmv.d.x (so single
 * operands are given already NaN-boxed, or deliberately not), sets frm,
 * clears fflags, runs the instruction, reads fflags and restores frm = 0.
 * Static-mode variants run with frm set to a *different* mode so that an
 * emulator wrongly using frm is caught.
 */

typedef struct {
  uint64_t r;
  unsigned f;
} res_t;

#define PRE "fsrm %[m]\n\tfmv.d.x ft0, %[a]\n\tfmv.d.x ft1, %[b]\n\tfmv.d.x ft3, %[c]\n\tfsflags zero\n\t"
#define POST_F "\n\tfrflags %[f]\n\tfmv.x.d %[r], ft2\n\tfsrm zero"
#define POST_X "\n\tfrflags %[f]\n\tfsrm zero"
#define IO_F                                                              \
  : [r] "=&r"(r), [f] "=&r"(f)                                            \
  : [a] "r"(a), [b] "r"(b), [c] "r"(c), [m] "r"(frm)                      \
  : "ft0", "ft1", "ft2", "ft3"

/* Generates fn(mode, frm, a, b, c) for an instruction with a rounding mode.
 * OPERANDS is the operand text after the mnemonic, up to the rm field. */
#define GEN_RM(fn, insn, operands, post)                                  \
  static res_t fn(int mode, uint64_t frm, uint64_t a, uint64_t b, uint64_t c) { \
    uint64_t r = 0, f = 0;                                                \
    switch (mode) {                                                       \
      case 0: __asm__ volatile(PRE insn " " operands ", rne" post IO_F); break; \
      case 1: __asm__ volatile(PRE insn " " operands ", rtz" post IO_F); break; \
      case 2: __asm__ volatile(PRE insn " " operands ", rdn" post IO_F); break; \
      case 3: __asm__ volatile(PRE insn " " operands ", rup" post IO_F); break; \
      case 4: __asm__ volatile(PRE insn " " operands ", rmm" post IO_F); break; \
      default: __asm__ volatile(PRE insn " " operands ", dyn" post IO_F); break; \
    }                                                                     \
    return (res_t){r, (unsigned)f};                                       \
  }

/* Same for instructions without a rounding-mode field. */
#define GEN_NR(fn, insn, operands, post)                                  \
  static res_t fn(int mode, uint64_t frm, uint64_t a, uint64_t b, uint64_t c) { \
    uint64_t r = 0, f = 0;                                                \
    (void)mode;                                                           \
    __asm__ volatile(PRE insn " " operands post IO_F);                    \
    return (res_t){r, (unsigned)f};                                       \
  }

#define FFF "ft2, ft0, ft1"
#define FFFF "ft2, ft0, ft1, ft3"
#define FF "ft2, ft0"
#define XF "%[r], ft0"
#define XFF "%[r], ft0, ft1"
#define FX "ft2, %[a]"

#define GEN_PREC(P)                                                       \
  GEN_RM(fadd_##P, "fadd." #P, FFF, POST_F)                               \
  GEN_RM(fsub_##P, "fsub." #P, FFF, POST_F)                               \
  GEN_RM(fmul_##P, "fmul." #P, FFF, POST_F)                               \
  GEN_RM(fdiv_##P, "fdiv." #P, FFF, POST_F)                               \
  GEN_RM(fsqrt_##P, "fsqrt." #P, FF, POST_F)                              \
  GEN_RM(fmadd_##P, "fmadd." #P, FFFF, POST_F)                            \
  GEN_RM(fmsub_##P, "fmsub." #P, FFFF, POST_F)                            \
  GEN_RM(fnmadd_##P, "fnmadd." #P, FFFF, POST_F)                          \
  GEN_RM(fnmsub_##P, "fnmsub." #P, FFFF, POST_F)                          \
  GEN_RM(fcvt_w_##P, "fcvt.w." #P, XF, POST_X)                            \
  GEN_RM(fcvt_wu_##P, "fcvt.wu." #P, XF, POST_X)                          \
  GEN_RM(fcvt_l_##P, "fcvt.l." #P, XF, POST_X)                            \
  GEN_RM(fcvt_lu_##P, "fcvt.lu." #P, XF, POST_X)                          \
  GEN_RM(fcvt_##P##_l, "fcvt." #P ".l", FX, POST_F)                       \
  GEN_RM(fcvt_##P##_lu, "fcvt." #P ".lu", FX, POST_F)                     \
  GEN_NR(fmin_##P, "fmin." #P, FFF, POST_F)                               \
  GEN_NR(fmax_##P, "fmax." #P, FFF, POST_F)                               \
  GEN_NR(fsgnj_##P, "fsgnj." #P, FFF, POST_F)                             \
  GEN_NR(fsgnjn_##P, "fsgnjn." #P, FFF, POST_F)                           \
  GEN_NR(fsgnjx_##P, "fsgnjx." #P, FFF, POST_F)                           \
  GEN_NR(feq_##P, "feq." #P, XFF, POST_X)                                 \
  GEN_NR(flt_##P, "flt." #P, XFF, POST_X)                                 \
  GEN_NR(fle_##P, "fle." #P, XFF, POST_X)                                 \
  GEN_NR(fclass_##P, "fclass." #P, XF, POST_X)

GEN_PREC(s)
GEN_PREC(d)
GEN_RM(fcvt_s_w, "fcvt.s.w", FX, POST_F)
GEN_RM(fcvt_s_wu, "fcvt.s.wu", FX, POST_F)
/* Exact conversions: the assembler takes no rounding mode for these. */
GEN_NR(fcvt_d_w, "fcvt.d.w", FX, POST_F)
GEN_NR(fcvt_d_wu, "fcvt.d.wu", FX, POST_F)
GEN_RM(fcvt_s_d, "fcvt.s.d", FF, POST_F)
GEN_NR(fcvt_d_s, "fcvt.d.s", FF, POST_F)
GEN_NR(fmv_x_w, "fmv.x.w", XF, POST_X)
GEN_NR(fmv_x_d, "fmv.x.d", XF, POST_X)
GEN_NR(fmv_w_x, "fmv.w.x", FX, POST_F)
GEN_NR(fmv_d_x, "fmv.d.x", FX, POST_F)

typedef res_t (*opfn)(int, uint64_t, uint64_t, uint64_t, uint64_t);

/* Result kinds for printing. */
enum kind { K_D, K_S, K_X };

static const char *const mode_names[5] = {"rne", "rtz", "rdn", "rup", "rmm"};

static void put_val(enum kind k, uint64_t v) {
  if (k == K_S) {
    if ((v >> 32) == 0xffffffffu) {
      ohex(v, 8);
    } else {
      ochar('!');
      ohex(v, 16);
    }
  } else {
    ohex(v, 16);
  }
}

static void put_res(enum kind k, res_t r) {
  put_val(k, r.r);
  ochar('/');
  ohex(r.f, 2);
}

static uint64_t box(uint32_t v) { return 0xffffffff00000000ull | v; }

/* One line: name, operands, then the five static modes and the dynamic
 * mode checked against each of them. */
static void run_rm(const char *name, opfn fn, enum kind in, enum kind out, int nops,
                   uint64_t a, uint64_t b, uint64_t c) {
  ostr(name);
  uint64_t ops[3] = {a, b, c};
  for (int i = 0; i < nops; i++) {
    ochar(' ');
    if (in == K_S) ohex(ops[i], 8);
    else ohex(ops[i], 16);
  }
  uint64_t ra = in == K_S ? box((uint32_t)a) : a;
  uint64_t rb = in == K_S ? box((uint32_t)b) : b;
  uint64_t rc = in == K_S ? box((uint32_t)c) : c;
  res_t st[5];
  for (int m = 0; m < 5; m++) {
    st[m] = fn(m, (uint64_t)((m + 2) % 5), ra, rb, rc);
    ochar(' ');
    ostr(mode_names[m]);
    ochar('=');
    put_res(out, st[m]);
  }
  int same = 1;
  res_t dy[5];
  for (int m = 0; m < 5; m++) {
    dy[m] = fn(5, (uint64_t)m, ra, rb, rc);
    if (dy[m].r != st[m].r || dy[m].f != st[m].f) same = 0;
  }
  if (same) {
    ostr(" dyn=same");
  } else {
    ostr(" dyn=");
    for (int m = 0; m < 5; m++) {
      if (m) ochar(',');
      put_res(out, dy[m]);
    }
  }
  onl();
}

static void run_nr(const char *name, opfn fn, enum kind in, enum kind out, int nops,
                   uint64_t a, uint64_t b) {
  ochar(' ');
  ostr(name);
  ochar('=');
  (void)nops;
  uint64_t ra = in == K_S ? box((uint32_t)a) : a;
  uint64_t rb = in == K_S ? box((uint32_t)b) : b;
  /* frm is irrelevant here; set it to a non-default mode anyway. */
  put_res(out, fn(0, 3, ra, rb, 0));
}

/* ---- value tables ---- */

static const uint64_t d_bin[] = {
  0x0000000000000000ull, 0x8000000000000000ull, /* +0 -0 */
  0x3ff0000000000000ull, 0xbff0000000000000ull, /* 1 -1 */
  0x3ff8000000000000ull, 0x4008000000000000ull, /* 1.5 3 */
  0x3ff0000000000001ull, 0x3fb999999999999aull, /* 1+ulp 0.1 */
  0x0000000000000001ull, 0x000fffffffffffffull, /* min/max subnormal */
  0x0010000000000000ull, 0x7fefffffffffffffull, /* min normal, max */
  0xffefffffffffffffull,                        /* -max */
  0x7ff0000000000000ull, 0xfff0000000000000ull, /* +inf -inf */
  0x7ff8000000000000ull, 0xfff8000000000123ull, /* qNaN, -qNaN payload */
  0x7ff0000000000001ull,                        /* sNaN */
};
static const uint64_t s_bin[] = {
  0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3fc00000, 0x40400000,
  0x3f800001, 0x3dcccccd, 0x00000001, 0x007fffff, 0x00800000, 0x7f7fffff,
  0xff7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00123, 0x7f800001,
};
static const uint64_t d_fma[] = {
  0x0000000000000000ull, 0x8000000000000000ull, 0x3ff0000000000000ull,
  0xbff0000000000000ull, 0x3ff0000000000001ull, 0x3fefffffffffffffull,
  0x0000000000000001ull, 0x7fefffffffffffffull, 0x7ff0000000000000ull,
  0x7ff8000000000000ull, 0x7ff0000000000001ull,
};
static const uint64_t s_fma[] = {
  0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3f800001, 0x3f7fffff,
  0x00000001, 0x7f7fffff, 0x7f800000, 0x7fc00000, 0x7f800001,
};
static const uint64_t d_un[] = {
  0x0000000000000000ull, 0x8000000000000000ull, 0x3ff0000000000000ull,
  0xbff0000000000000ull, 0x3fe0000000000000ull, 0xbfe0000000000000ull, /* +-0.5 */
  0x3ff8000000000000ull, 0x4004000000000000ull, 0xc004000000000000ull, /* 1.5 +-2.5 */
  0x4000000000000000ull, 0x4010000000000000ull, 0x3fb999999999999aull, /* 2 4 0.1 */
  0x0000000000000001ull, 0x000fffffffffffffull, 0x0010000000000000ull,
  0x7fefffffffffffffull, 0xffefffffffffffffull,
  0x7ff0000000000000ull, 0xfff0000000000000ull,
  0x7ff8000000000000ull, 0xfff8000000000123ull, 0x7ff0000000000001ull,
  0xfff4000000000000ull,                        /* -sNaN */
  0x41dfffffffc00000ull, 0x41dfffffffe00000ull, /* 2^31-1, 2^31-0.5 */
  0x41e0000000000000ull, 0xc1e0000000000000ull, /* +-2^31 */
  0xc1e0000000200000ull, 0xc1e0000000100000ull, /* -2^31-1, -2^31-0.5 */
  0x41efffffffe00000ull, 0x41efffffffF00000ull, /* 2^32-1, 2^32-0.5 */
  0x41f0000000000000ull,                        /* 2^32 */
  0x43dfffffffffffffull, 0x43e0000000000000ull, /* <2^63, 2^63 */
  0xc3e0000000000000ull, 0xc3e0000000000001ull, /* -2^63, below */
  0x43f0000000000000ull, 0x7e37e43c8800759cull, /* 2^64, 1e300 */
  0x3ff0000010000000ull, 0x3ff0000030000000ull, /* 1+2^-24, 1+3*2^-24: float ties */
  0x3ff0000010000001ull,                        /* just above a float tie */
  0x47efffffe0000000ull, 0x47effffff0000000ull, /* FLT_MAX, tie to overflow */
  0x36a0000000000000ull, 0x36b8000000000000ull, /* 2^-150, 3*2^-150 */
  0x3810000000000000ull,                        /* FLT_MIN */
};
static const uint64_t s_un[] = {
  0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3f000000, 0xbf000000,
  0x3fc00000, 0x40200000, 0xc0200000, 0x40000000, 0x40800000, 0x3dcccccd,
  0x00000001, 0x007fffff, 0x00800000, 0x7f7fffff, 0xff7fffff, 0x7f800000,
  0xff800000, 0x7fc00000, 0xffc00123, 0x7f800001, 0xffa00000,
  0x4effffff, 0x4f000000, 0xcf000000, 0xcf000001, 0x4f7fffff, 0x4f800000,
  0x5effffff, 0x5f000000, 0xdf000000, 0xdf000001, 0x5f800000, 0x3f7fffff,
};
static const uint64_t ints[] = {
  0, 1, 0xffffffffffffffffull, 2, 3,
  16777217, 16777219, 0xfffffffffefffffful,         /* float ties */
  (1ull << 53) + 1, (1ull << 53) + 3,               /* double ties */
  0x7fffffff, 0xffffffff80000000ull, 0x80000000, 0xffffffff,
  0x7fffffffffffffffull, 0x8000000000000000ull, 0x8000000000000001ull,
  0xfffffffffffffc01ull, 12345678901ull, 0x123456780000ffffull,
  0x00000000fffffffeull, 0xffffffff00000001ull,
};

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void binary_tests(const char *p, const uint64_t *v, int n, enum kind k,
                         opfn add, opfn sub, opfn mul, opfn div, opfn mn, opfn mx,
                         opfn sj, opfn sjn, opfn sjx, opfn eq, opfn lt, opfn le) {
  char nm[16];
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < n; j++) {
      snprintf(nm, sizeof nm, "fadd.%s", p);
      run_rm(nm, add, k, k, 2, v[i], v[j], 0);
      snprintf(nm, sizeof nm, "fsub.%s", p);
      run_rm(nm, sub, k, k, 2, v[i], v[j], 0);
      snprintf(nm, sizeof nm, "fmul.%s", p);
      run_rm(nm, mul, k, k, 2, v[i], v[j], 0);
      snprintf(nm, sizeof nm, "fdiv.%s", p);
      run_rm(nm, div, k, k, 2, v[i], v[j], 0);
      ostr("misc.");
      ostr(p);
      ochar(' ');
      if (k == K_S) {
        ohex(v[i], 8);
        ochar(' ');
        ohex(v[j], 8);
      } else {
        ohex(v[i], 16);
        ochar(' ');
        ohex(v[j], 16);
      }
      ochar(':');
      run_nr("min", mn, k, k, 2, v[i], v[j]);
      run_nr("max", mx, k, k, 2, v[i], v[j]);
      run_nr("sgnj", sj, k, k, 2, v[i], v[j]);
      run_nr("sgnjn", sjn, k, k, 2, v[i], v[j]);
      run_nr("sgnjx", sjx, k, k, 2, v[i], v[j]);
      run_nr("eq", eq, k, K_X, 2, v[i], v[j]);
      run_nr("lt", lt, k, K_X, 2, v[i], v[j]);
      run_nr("le", le, k, K_X, 2, v[i], v[j]);
      onl();
    }
  }
}

static void fma_tests(const char *p, const uint64_t *v, int n, enum kind k, opfn madd,
                      opfn msub, opfn nmadd, opfn nmsub) {
  char nm[16];
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      for (int l = 0; l < n; l++) {
        snprintf(nm, sizeof nm, "fmadd.%s", p);
        run_rm(nm, madd, k, k, 3, v[i], v[j], v[l]);
        snprintf(nm, sizeof nm, "fmsub.%s", p);
        run_rm(nm, msub, k, k, 3, v[i], v[j], v[l]);
        snprintf(nm, sizeof nm, "fnmadd.%s", p);
        run_rm(nm, nmadd, k, k, 3, v[i], v[j], v[l]);
        snprintf(nm, sizeof nm, "fnmsub.%s", p);
        run_rm(nm, nmsub, k, k, 3, v[i], v[j], v[l]);
      }
}

static void unary_tests(void) {
  ostr("== double unary\n");
  for (int i = 0; i < N(d_un); i++) {
    uint64_t a = d_un[i];
    run_rm("fsqrt.d", fsqrt_d, K_D, K_D, 1, a, 0, 0);
    run_rm("fcvt.w.d", fcvt_w_d, K_D, K_X, 1, a, 0, 0);
    run_rm("fcvt.wu.d", fcvt_wu_d, K_D, K_X, 1, a, 0, 0);
    run_rm("fcvt.l.d", fcvt_l_d, K_D, K_X, 1, a, 0, 0);
    run_rm("fcvt.lu.d", fcvt_lu_d, K_D, K_X, 1, a, 0, 0);
    run_rm("fcvt.s.d", fcvt_s_d, K_D, K_S, 1, a, 0, 0);
    ostr("misc.d ");
    ohex(a, 16);
    ochar(':');
    run_nr("class", fclass_d, K_D, K_X, 1, a, 0);
    run_nr("fmv.x.d", fmv_x_d, K_D, K_X, 1, a, 0);
    run_nr("fmv.d.x", fmv_d_x, K_X, K_D, 1, a, 0);
    onl();
  }
  ostr("== single unary\n");
  for (int i = 0; i < N(s_un); i++) {
    uint64_t a = s_un[i];
    run_rm("fsqrt.s", fsqrt_s, K_S, K_S, 1, a, 0, 0);
    run_rm("fcvt.w.s", fcvt_w_s, K_S, K_X, 1, a, 0, 0);
    run_rm("fcvt.wu.s", fcvt_wu_s, K_S, K_X, 1, a, 0, 0);
    run_rm("fcvt.l.s", fcvt_l_s, K_S, K_X, 1, a, 0, 0);
    run_rm("fcvt.lu.s", fcvt_lu_s, K_S, K_X, 1, a, 0, 0);
    ostr("misc.s ");
    ohex(a, 8);
    ochar(':');
    run_nr("class", fclass_s, K_S, K_X, 1, a, 0);
    run_nr("fcvt.d.s", fcvt_d_s, K_S, K_D, 1, a, 0);
    run_nr("fmv.x.w", fmv_x_w, K_S, K_X, 1, a, 0);
    onl();
  }
}

static void int_to_fp_tests(void) {
  ostr("== integer to float\n");
  for (int i = 0; i < N(ints); i++) {
    uint64_t a = ints[i];
    run_rm("fcvt.s.w", fcvt_s_w, K_X, K_S, 1, a, 0, 0);
    run_rm("fcvt.s.wu", fcvt_s_wu, K_X, K_S, 1, a, 0, 0);
    run_rm("fcvt.s.l", fcvt_s_l, K_X, K_S, 1, a, 0, 0);
    run_rm("fcvt.s.lu", fcvt_s_lu, K_X, K_S, 1, a, 0, 0);
    run_rm("fcvt.d.l", fcvt_d_l, K_X, K_D, 1, a, 0, 0);
    run_rm("fcvt.d.lu", fcvt_d_lu, K_X, K_D, 1, a, 0, 0);
    ostr("misc.x ");
    ohex(a, 16);
    ochar(':');
    run_nr("fcvt.d.w", fcvt_d_w, K_X, K_D, 1, a, 0);
    run_nr("fcvt.d.wu", fcvt_d_wu, K_X, K_D, 1, a, 0);
    run_nr("fmv.w.x", fmv_w_x, K_X, K_S, 1, a, 0);
    onl();
  }
}

/* Single-precision operations on values that are not properly NaN-boxed
 * must treat them as the canonical NaN. Operands are given raw. */
static void nanbox_tests(void) {
  ostr("== NaN boxing\n");
  const uint64_t bad[] = {
    0x000000003f800000ull, /* 1.0 with zero upper half */
    0x7fffffff3f800000ull, /* upper half almost all ones */
    0xffffffff3f800000ull, /* proper box, for reference */
    0x3ff0000000000000ull, /* a double */
  };
  const uint64_t one = box(0x3f800000);
  for (int i = 0; i < N(bad); i++) {
    uint64_t a = bad[i];
    ohex(a, 16);
    ochar(':');
    ostr(" fadd.s=");
    put_res(K_S, fadd_s(0, 0, a, one, 0));
    ostr(" fadd.s(b)=");
    put_res(K_S, fadd_s(0, 0, one, a, 0));
    ostr(" fmadd.s(c)=");
    put_res(K_S, fmadd_s(0, 0, one, one, a));
    ostr(" fsqrt.s=");
    put_res(K_S, fsqrt_s(0, 0, a, 0, 0));
    ostr(" fsgnj.s=");
    put_res(K_S, fsgnj_s(0, 0, a, one, 0));
    ostr(" fsgnjn.s(b)=");
    put_res(K_S, fsgnjn_s(0, 0, one, a, 0));
    ostr(" fmin.s=");
    put_res(K_S, fmin_s(0, 0, a, one, 0));
    ostr(" feq.s=");
    put_res(K_X, feq_s(0, 0, a, a, 0));
    ostr(" flt.s=");
    put_res(K_X, flt_s(0, 0, a, one, 0));
    ostr(" fclass.s=");
    put_res(K_X, fclass_s(0, 0, a, 0, 0));
    ostr(" fcvt.w.s=");
    put_res(K_X, fcvt_w_s(0, 0, a, 0, 0));
    ostr(" fcvt.d.s=");
    put_res(K_D, fcvt_d_s(0, 0, a, 0, 0));
    ostr(" fmv.x.w=");
    put_res(K_X, fmv_x_w(0, 0, a, 0, 0));
    onl();
  }
  /* Loads box, stores take the low half. */
  static uint32_t mem32[2] = {0x40490fdb, 0};
  static uint64_t mem64;
  uint64_t r;
  __asm__ volatile("flw ft0, 0(%1)\n\tfmv.x.d %0, ft0" : "=r"(r) : "r"(mem32) : "ft0", "memory");
  ostr("flw boxed: ");
  ohex(r, 16);
  onl();
  uint64_t raw = 0x12345678cafef00dull;
  __asm__ volatile("fmv.d.x ft0, %1\n\tfsw ft0, 4(%0)\n\tfsd ft0, 0(%2)"
                   :
                   : "r"(mem32), "r"(raw), "r"(&mem64)
                   : "ft0", "memory");
  ostr("fsw low half: ");
  ohex(mem32[1], 8);
  ostr(" fsd: ");
  ohex(mem64, 16);
  onl();
}

static volatile int sigill_count;
static void on_sigill(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  (void)sig;
  sigill_count++;
  ostr("  SIGILL code=");
  ohex((uint64_t)si->si_code, 2);
  ostr(si->si_addr == (void *)uc->uc_mcontext.__gregs[REG_PC] ? " addr=pc" : " addr!=pc");
  onl();
  uc->uc_mcontext.__gregs[REG_PC] += 4;
}

static void csr_tests(void) {
  ostr("== fcsr\n");
  uint64_t fcsr, frm, fflags, old;
  __asm__ volatile("li t0, -1\n\tcsrw fcsr, t0\n\tcsrr %0, fcsr\n\tfrrm %1\n\tfrflags %2"
                   : "=r"(fcsr), "=r"(frm), "=r"(fflags)
                   :
                   : "t0");
  ostr("write -1: fcsr=");
  ohex(fcsr, 16);
  ostr(" frm=");
  ohex(frm, 2);
  ostr(" fflags=");
  ohex(fflags, 2);
  onl();
  __asm__ volatile("li t0, 0x45\n\tcsrrw %0, fcsr, t0\n\tcsrr %1, fcsr" : "=r"(old), "=r"(fcsr)
                   :
                   : "t0");
  ostr("swap 0x45: old=");
  ohex(old, 16);
  ostr(" new=");
  ohex(fcsr, 16);
  onl();
  __asm__ volatile("fsrmi %0, 3\n\tfsflagsi %1, 0x1b\n\tcsrr %2, fcsr"
                   : "=r"(frm), "=r"(fflags), "=r"(fcsr));
  ostr("fsrmi/fsflagsi: old frm=");
  ohex(frm, 2);
  ostr(" old fflags=");
  ohex(fflags, 2);
  ostr(" fcsr=");
  ohex(fcsr, 16);
  onl();
  __asm__ volatile("csrsi fflags, 0x4\n\tcsrci fflags, 0x1\n\tcsrr %0, fflags" : "=r"(fflags));
  ostr("csrsi/csrci fflags: ");
  ohex(fflags, 2);
  onl();
  /* Flags accumulate across operations. */
  uint64_t a = 0x3ff0000000000000ull, z = 0;
  __asm__ volatile("fsflags zero\n\tfmv.d.x ft0, %1\n\tfmv.d.x ft1, %2\n\t"
                   "fdiv.d ft2, ft0, ft1\n\tfdiv.d ft2, ft1, ft1\n\tfrflags %0"
                   : "=r"(fflags)
                   : "r"(a), "r"(z)
                   : "ft0", "ft1", "ft2");
  ostr("accumulated fflags: ");
  ohex(fflags, 2);
  onl();
  __asm__ volatile("csrw fcsr, zero");

  struct sigaction sa, prev;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigill;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGILL, &sa, &prev);
  for (int m = 5; m <= 7; m++) {
    ostr("dyn with frm=");
    ohex((uint64_t)m, 1);
    onl();
    oflush();
    uint64_t mm = (uint64_t)m;
    __asm__ volatile("fsrm %0\n\tfadd.d ft0, ft0, ft0, dyn\n\tfsrm zero" : : "r"(mm) : "ft0");
    __asm__ volatile("fsrm zero");
  }
  for (int m = 5; m <= 6; m++) {
    ostr("static rm=");
    ohex((uint64_t)m, 1);
    onl();
    oflush();
    if (m == 5) __asm__ volatile(".insn r 0x53, 5, 1, ft0, ft0, ft0" : : : "ft0");
    else __asm__ volatile(".insn r 0x53, 6, 1, ft0, ft0, ft0" : : : "ft0");
  }
  ostr("frm writes keep low 3 bits: ");
  __asm__ volatile("li t0, 0xff\n\tcsrw frm, t0\n\tfrrm %0\n\tcsrw frm, zero" : "=r"(frm) : : "t0");
  ohex(frm, 2);
  onl();
  sigaction(SIGILL, &prev, NULL);
  ostr("sigill count: ");
  ohex((uint64_t)sigill_count, 2);
  onl();
}

static void known_answers(void) {
  expect("1+1", fadd_d(0, 0, 0x3ff0000000000000ull, 0x3ff0000000000000ull, 0).r,
         0x4000000000000000ull);
  res_t r = fsqrt_d(0, 0, 0xbff0000000000000ull, 0, 0);
  expect("sqrt(-1)", r.r, 0x7ff8000000000000ull);
  expect("sqrt(-1) flags", r.f, 0x10);
  r = fdiv_d(0, 0, 0x3ff0000000000000ull, 0, 0);
  expect("1/0", r.r, 0x7ff0000000000000ull);
  expect("1/0 flags", r.f, 0x08);
  r = fadd_s(0, 0, box(0x7f800001), box(0x3f800000), 0);
  expect("sNaN+1", r.r, box(0x7fc00000));
  expect("sNaN+1 flags", r.f, 0x10);
  r = fmin_d(0, 0, 0x8000000000000000ull, 0, 0);
  expect("fmin(-0,+0)", r.r, 0x8000000000000000ull);
  r = fcvt_w_d(0, 0, 0x7ff8000000000000ull, 0, 0);
  expect("fcvt.w(NaN)", r.r, 0x7fffffff);
  r = fcvt_wu_d(0, 0, 0xbff0000000000000ull, 0, 0);
  expect("fcvt.wu(-1)", r.r, 0);
  expect("fcvt.wu(-1) flags", r.f, 0x10);
  r = fadd_d(2, 0, 0x3ff0000000000000ull, 0xbff0000000000000ull, 0);
  expect("1-1 rdn", r.r, 0x8000000000000000ull);
  r = fmadd_d(0, 0, 0x7ff0000000000000ull, 0, 0x7ff8000000000000ull);
  expect("fma(inf,0,qNaN) flags", r.f, 0x10);
  r = fclass_s(0, 0, 0x000000003f800000ull, 0, 0);
  expect("fclass unboxed", r.r, 0x200);
}

int main(void) {
  ostr("== double binary\n");
  binary_tests("d", d_bin, N(d_bin), K_D, fadd_d, fsub_d, fmul_d, fdiv_d, fmin_d, fmax_d,
               fsgnj_d, fsgnjn_d, fsgnjx_d, feq_d, flt_d, fle_d);
  ostr("== single binary\n");
  binary_tests("s", s_bin, N(s_bin), K_S, fadd_s, fsub_s, fmul_s, fdiv_s, fmin_s, fmax_s,
               fsgnj_s, fsgnjn_s, fsgnjx_s, feq_s, flt_s, fle_s);
  ostr("== double fused\n");
  fma_tests("d", d_fma, N(d_fma), K_D, fmadd_d, fmsub_d, fnmadd_d, fnmsub_d);
  ostr("== single fused\n");
  fma_tests("s", s_fma, N(s_fma), K_S, fmadd_s, fmsub_s, fnmadd_s, fnmsub_s);
  unary_tests();
  int_to_fp_tests();
  nanbox_tests();
  csr_tests();
  known_answers();
  ostr(failures ? "fp: FAILED\n" : "fp: ok\n");
  oflush();
  return failures ? 1 : 0;
}
