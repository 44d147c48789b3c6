/*
 * Integer edge cases of RV64IM: every register-register and immediate ALU
 * instruction over a table of edge values, division and remainder corner
 * cases, high multiplies, shifts by large amounts, load sign/zero extension,
 * misaligned accesses, partial stores, lui sign extension and branches.
 * Exact instructions run through inline asm. Exits 1 if a known answer fails.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int failures;

static void expect(const char *what, uint64_t got, uint64_t want) {
  if (got != want) {
    printf("FAIL %s: got %016" PRIx64 " want %016" PRIx64 "\n", what, got, want);
    failures++;
  }
}

#define RR(name, insn)                                                   \
  static uint64_t op_##name(uint64_t a, uint64_t b) {                    \
    uint64_t r;                                                          \
    __asm__ volatile(insn " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));     \
    return r;                                                            \
  }

RR(add, "add") RR(sub, "sub") RR(sll, "sll") RR(slt, "slt") RR(sltu, "sltu")
RR(xor, "xor") RR(srl, "srl") RR(sra, "sra") RR(or, "or") RR(and, "and")
RR(addw, "addw") RR(subw, "subw") RR(sllw, "sllw") RR(srlw, "srlw")
RR(sraw, "sraw") RR(mul, "mul") RR(mulh, "mulh") RR(mulhsu, "mulhsu")
RR(mulhu, "mulhu") RR(div, "div") RR(divu, "divu") RR(rem, "rem")
RR(remu, "remu") RR(mulw, "mulw") RR(divw, "divw") RR(divuw, "divuw")
RR(remw, "remw") RR(remuw, "remuw")

struct rr_op {
  const char *name;
  uint64_t (*fn)(uint64_t, uint64_t);
};

#define OP(n) { #n, op_##n }
static const struct rr_op rr_ops[] = {
  OP(add), OP(sub), OP(sll), OP(slt), OP(sltu), OP(xor), OP(srl), OP(sra),
  OP(or), OP(and), OP(addw), OP(subw), OP(sllw), OP(srlw), OP(sraw),
  OP(mul), OP(mulh), OP(mulhsu), OP(mulhu), OP(div), OP(divu), OP(rem),
  OP(remu), OP(mulw), OP(divw), OP(divuw), OP(remw), OP(remuw),
};

static const uint64_t values[] = {
  0,
  1,
  2,
  0xffffffffffffffffull,           /* -1 */
  0xfffffffffffffffeull,           /* -2 */
  0x8000000000000000ull,           /* INT64_MIN */
  0x7fffffffffffffffull,           /* INT64_MAX */
  0xffffffff80000000ull,           /* INT32_MIN sign-extended */
  0x000000007fffffffull,           /* INT32_MAX */
  0x0000000080000000ull,           /* 2^31 zero-extended */
  0x00000000ffffffffull,           /* UINT32_MAX */
  0x0000000100000000ull,           /* 2^32 */
  31, 32, 63, 64, 0x7f,
  0xdeadbeefcafebabeull,
  0x123456789abcdef1ull,
};
#define NVALUES (sizeof(values) / sizeof(values[0]))

#define IMM_OP(fname, insn, imm)                                         \
  static uint64_t fname(uint64_t a) {                                    \
    uint64_t r;                                                          \
    __asm__ volatile(insn " %0, %1, " #imm : "=r"(r) : "r"(a));          \
    return r;                                                            \
  }

IMM_OP(addi_m2048, "addi", -2048) IMM_OP(addi_2047, "addi", 2047)
IMM_OP(addi_m1, "addi", -1) IMM_OP(slti_m1, "slti", -1)
IMM_OP(slti_0, "slti", 0) IMM_OP(sltiu_m1, "sltiu", -1)
IMM_OP(sltiu_1, "sltiu", 1) IMM_OP(xori_m1, "xori", -1)
IMM_OP(xori_2047, "xori", 2047) IMM_OP(ori_m2048, "ori", -2048)
IMM_OP(andi_m2048, "andi", -2048) IMM_OP(andi_2047, "andi", 2047)
IMM_OP(slli_0, "slli", 0) IMM_OP(slli_1, "slli", 1)
IMM_OP(slli_31, "slli", 31) IMM_OP(slli_32, "slli", 32)
IMM_OP(slli_63, "slli", 63) IMM_OP(srli_0, "srli", 0)
IMM_OP(srli_31, "srli", 31) IMM_OP(srli_32, "srli", 32)
IMM_OP(srli_63, "srli", 63) IMM_OP(srai_0, "srai", 0)
IMM_OP(srai_31, "srai", 31) IMM_OP(srai_32, "srai", 32)
IMM_OP(srai_63, "srai", 63) IMM_OP(addiw_0, "addiw", 0)
IMM_OP(addiw_m1, "addiw", -1) IMM_OP(addiw_2047, "addiw", 2047)
IMM_OP(addiw_m2048, "addiw", -2048) IMM_OP(slliw_0, "slliw", 0)
IMM_OP(slliw_1, "slliw", 1) IMM_OP(slliw_31, "slliw", 31)
IMM_OP(srliw_0, "srliw", 0) IMM_OP(srliw_1, "srliw", 1)
IMM_OP(srliw_31, "srliw", 31) IMM_OP(sraiw_0, "sraiw", 0)
IMM_OP(sraiw_1, "sraiw", 1) IMM_OP(sraiw_31, "sraiw", 31)

struct imm_op {
  const char *name;
  uint64_t (*fn)(uint64_t);
};

#define IOP(n, text) { text, n }
static const struct imm_op imm_ops[] = {
  IOP(addi_m2048, "addi -2048"), IOP(addi_2047, "addi 2047"),
  IOP(addi_m1, "addi -1"), IOP(slti_m1, "slti -1"), IOP(slti_0, "slti 0"),
  IOP(sltiu_m1, "sltiu -1"), IOP(sltiu_1, "sltiu 1"),
  IOP(xori_m1, "xori -1"), IOP(xori_2047, "xori 2047"),
  IOP(ori_m2048, "ori -2048"), IOP(andi_m2048, "andi -2048"),
  IOP(andi_2047, "andi 2047"), IOP(slli_0, "slli 0"), IOP(slli_1, "slli 1"),
  IOP(slli_31, "slli 31"), IOP(slli_32, "slli 32"), IOP(slli_63, "slli 63"),
  IOP(srli_0, "srli 0"), IOP(srli_31, "srli 31"), IOP(srli_32, "srli 32"),
  IOP(srli_63, "srli 63"), IOP(srai_0, "srai 0"), IOP(srai_31, "srai 31"),
  IOP(srai_32, "srai 32"), IOP(srai_63, "srai 63"), IOP(addiw_0, "addiw 0"),
  IOP(addiw_m1, "addiw -1"), IOP(addiw_2047, "addiw 2047"),
  IOP(addiw_m2048, "addiw -2048"), IOP(slliw_0, "slliw 0"),
  IOP(slliw_1, "slliw 1"), IOP(slliw_31, "slliw 31"),
  IOP(srliw_0, "srliw 0"), IOP(srliw_1, "srliw 1"),
  IOP(srliw_31, "srliw 31"), IOP(sraiw_0, "sraiw 0"),
  IOP(sraiw_1, "sraiw 1"), IOP(sraiw_31, "sraiw 31"),
};

static void test_rr(void) {
  printf("== register-register ops\n");
  for (size_t o = 0; o < sizeof(rr_ops) / sizeof(rr_ops[0]); o++) {
    for (size_t i = 0; i < NVALUES; i++) {
      printf("%-6s %016" PRIx64 ":", rr_ops[o].name, values[i]);
      for (size_t j = 0; j < NVALUES; j++) {
        printf(" %" PRIx64, rr_ops[o].fn(values[i], values[j]));
      }
      printf("\n");
    }
  }
}

static void test_imm(void) {
  printf("== immediate ops\n");
  for (size_t o = 0; o < sizeof(imm_ops) / sizeof(imm_ops[0]); o++) {
    printf("%-11s:", imm_ops[o].name);
    for (size_t i = 0; i < NVALUES; i++) {
      printf(" %" PRIx64, imm_ops[o].fn(values[i]));
    }
    printf("\n");
  }
}

static void test_known_answers(void) {
  printf("== known answers\n");
  const uint64_t m1 = UINT64_MAX, min64 = 0x8000000000000000ull;
  expect("div x/0", op_div(12345, 0), m1);
  expect("divu x/0", op_divu(12345, 0), m1);
  expect("rem x/0", op_rem(12345, 0), 12345);
  expect("remu x/0", op_remu(12345, 0), 12345);
  expect("div min/-1", op_div(min64, m1), min64);
  expect("rem min/-1", op_rem(min64, m1), 0);
  expect("divw x/0", op_divw(7, 0), m1);
  expect("divuw x/0", op_divuw(7, 0), m1);
  expect("remw x/0", op_remw(0xffffffff80000000ull, 0), 0xffffffff80000000ull);
  expect("remuw x/0", op_remuw(0x80000000ull, 0), 0xffffffff80000000ull);
  expect("divw min/-1", op_divw(0x80000000ull, m1), 0xffffffff80000000ull);
  expect("remw min/-1", op_remw(0x80000000ull, m1), 0);
  expect("mulh min*min", op_mulh(min64, min64), 0x4000000000000000ull);
  expect("mulhu max*max", op_mulhu(m1, m1), 0xfffffffffffffffeull);
  expect("mulhsu -1*max", op_mulhsu(m1, m1), m1);
  expect("mulw wrap", op_mulw(0x10000, 0x10000), 0);
  expect("addw wrap", op_addw(0x7fffffff, 1), 0xffffffff80000000ull);
  expect("sll by 64", op_sll(1, 64), 1);
  expect("sllw by 32", op_sllw(1, 32), 1);
  expect("sra by 63", op_sra(min64, 63), m1);
  expect("sraw upper ignored", op_sraw(0x0000000180000000ull, 4), 0xfffffffff8000000ull);
  expect("srlw sign-extends", op_srlw(0xffffffff, 0), m1);
  printf("known answers checked\n");
}

static void test_loads(void) {
  printf("== loads and stores\n");
  static uint8_t buf[32] __attribute__((aligned(16)));
  for (int i = 0; i < 32; i++) buf[i] = (uint8_t)(0x80 + i * 9);
  uint64_t r;
  for (int off = 0; off < 8; off++) {
    uint8_t *p = buf + off;
    printf("off %d:", off);
    __asm__ volatile("lb %0, 0(%1)" : "=r"(r) : "r"(p) : "memory");
    printf(" lb=%" PRIx64, r);
    __asm__ volatile("lbu %0, 0(%1)" : "=r"(r) : "r"(p) : "memory");
    printf(" lbu=%" PRIx64, r);
    __asm__ volatile("lh %0, 0(%1)" : "=r"(r) : "r"(p) : "memory");
    printf(" lh=%" PRIx64, r);
    __asm__ volatile("lhu %0, 0(%1)" : "=r"(r) : "r"(p) : "memory");
    printf(" lhu=%" PRIx64, r);
    __asm__ volatile("lw %0, 0(%1)" : "=r"(r) : "r"(p) : "memory");
    printf(" lw=%" PRIx64, r);
    __asm__ volatile("lwu %0, 0(%1)" : "=r"(r) : "r"(p) : "memory");
    printf(" lwu=%" PRIx64, r);
    __asm__ volatile("ld %0, 0(%1)" : "=r"(r) : "r"(p) : "memory");
    printf(" ld=%" PRIx64 "\n", r);
  }
  /* Negative and positive 12-bit offsets. */
  uint8_t *mid = buf + 16;
  __asm__ volatile("lb %0, -16(%1)" : "=r"(r) : "r"(mid) : "memory");
  printf("lb -16: %" PRIx64 "\n", r);
  __asm__ volatile("lhu %0, 14(%1)" : "=r"(r) : "r"(mid) : "memory");
  printf("lhu 14: %" PRIx64 "\n", r);

  /* Partial and misaligned stores. */
  uint64_t v = 0x1122334455667788ull;
  static uint8_t st[24] __attribute__((aligned(8)));
  memset(st, 0xee, sizeof st);
  __asm__ volatile("sb %0, 1(%1)" : : "r"(v), "r"(st) : "memory");
  __asm__ volatile("sh %0, 2(%1)" : : "r"(v), "r"(st) : "memory");
  __asm__ volatile("sw %0, 4(%1)" : : "r"(v), "r"(st) : "memory");
  __asm__ volatile("sd %0, 8(%1)" : : "r"(v), "r"(st) : "memory");
  __asm__ volatile("sw %0, 17(%1)" : : "r"(v), "r"(st) : "memory");
  __asm__ volatile("sh %0, 22(%1)" : : "r"(v), "r"(st) : "memory");
  printf("stores:");
  for (int i = 0; i < 24; i++) printf(" %02x", st[i]);
  printf("\n");
  static uint8_t mis[24] __attribute__((aligned(8)));
  memset(mis, 0, sizeof mis);
  __asm__ volatile("sd %0, 3(%1)" : : "r"(v), "r"(mis) : "memory");
  __asm__ volatile("ld %0, 3(%1)" : "=r"(r) : "r"(mis) : "memory");
  printf("misaligned sd/ld: %" PRIx64 " bytes:", r);
  for (int i = 0; i < 16; i++) printf(" %02x", mis[i]);
  printf("\n");
}

static void test_upper(void) {
  printf("== lui / auipc\n");
  uint64_t r;
  __asm__ volatile("lui %0, 0x80000" : "=r"(r));
  printf("lui 0x80000: %" PRIx64 "\n", r);
  __asm__ volatile("lui %0, 0xfffff" : "=r"(r));
  printf("lui 0xfffff: %" PRIx64 "\n", r);
  __asm__ volatile("lui %0, 0x7ffff" : "=r"(r));
  printf("lui 0x7ffff: %" PRIx64 "\n", r);
  __asm__ volatile("lui %0, 0x12345\n\taddiw %0, %0, -1" : "=r"(r));
  printf("lui+addiw: %" PRIx64 "\n", r);
  uint64_t a, b;
  __asm__ volatile(".option push\n\t.option norvc\n\t"
                   "auipc %0, 0\n\tauipc %1, 1\n\t.option pop"
                   : "=r"(a), "=r"(b));
  printf("auipc delta: %" PRIx64 "\n", b - a);
  __asm__ volatile(".option push\n\t.option norvc\n\t"
                   "auipc %0, 0x80000\n\tauipc %1, 0\n\t.option pop"
                   : "=r"(a), "=r"(b));
  printf("auipc 0x80000 delta: %" PRIx64 "\n", a - b);
}

static unsigned branch_mask(uint64_t a, uint64_t b) {
  unsigned m = 0;
  uint64_t t;
#define BR(insn, bit)                                                   \
  __asm__ volatile("li %0, 0\n\t" insn " %1, %2, 1f\n\tj 2f\n1:\tli %0, 1\n2:" \
                   : "=&r"(t) : "r"(a), "r"(b));                         \
  m |= (unsigned)t << bit;
  BR("beq", 0) BR("bne", 1) BR("blt", 2) BR("bge", 3) BR("bltu", 4) BR("bgeu", 5)
#undef BR
  return m;
}

static void test_branches(void) {
  printf("== branches (bits: beq bne blt bge bltu bgeu)\n");
  for (size_t i = 0; i < NVALUES; i++) {
    printf("%016" PRIx64 ":", values[i]);
    for (size_t j = 0; j < NVALUES; j++) printf(" %02x", branch_mask(values[i], values[j]));
    printf("\n");
  }
}

static void test_c_level(void) {
  printf("== C-level arithmetic\n");
  volatile uint64_t x = 0xfedcba9876543210ull, y = 0x0123456789abcdefull;
  unsigned __int128 p = (unsigned __int128)x * y;
  printf("u128 mul: %016" PRIx64 "%016" PRIx64 "\n", (uint64_t)(p >> 64), (uint64_t)p);
  __int128 sp = (__int128)(int64_t)x * (int64_t)y;
  printf("s128 mul: %016" PRIx64 "%016" PRIx64 "\n", (uint64_t)((unsigned __int128)sp >> 64),
         (uint64_t)sp);
  unsigned __int128 q = p / y;
  printf("u128 div: %016" PRIx64 "%016" PRIx64 "\n", (uint64_t)(q >> 64), (uint64_t)q);
  volatile int64_t sx = -7, sy = 2;
  printf("c div: %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n", sx / sy, sx % sy,
         -sx / sy, sx / -sy);
  volatile uint32_t u = 0xffffffffu;
  printf("u32 wrap: %" PRIu32 " %" PRIu32 "\n", u + 1, u * u);
  int64_t res;
  int o1 = __builtin_add_overflow((int64_t)INT64_MAX, (int64_t)1, &res);
  int o2 = __builtin_mul_overflow((int64_t)INT64_MIN, (int64_t)-1, &res);
  int o3 = __builtin_sub_overflow((int64_t)0, (int64_t)INT64_MIN, &res);
  int32_t r32;
  int o4 = __builtin_mul_overflow((int32_t)65536, (int32_t)32768, &r32);
  int o5 = __builtin_add_overflow((int32_t)1, (int32_t)2, &r32);
  printf("overflow flags: %d %d %d %d %d (r32=%d)\n", o1, o2, o3, o4, o5, r32);
  volatile uint64_t accum = 0;
  for (uint64_t k = 1; k < 200; k++) {
    accum = accum * 6364136223846793005ull + k / 3 + k % 7 + (k << (k & 63)) + (k >> (k % 5));
  }
  printf("mix: %016" PRIx64 "\n", accum);
  volatile int8_t c8 = -128;
  volatile int16_t c16 = -32768;
  volatile uint8_t u8 = 200;
  printf("ext: %d %d %u %" PRId64 " %" PRIu64 "\n", c8, c16, u8, (int64_t)(int32_t)0x80000000u,
         (uint64_t)(uint32_t)-1);
  printf("popcount/clz/ctz: %d %d %d\n", __builtin_popcountll(x), __builtin_clzll(y),
         __builtin_ctzll(x));
}

int main(void) {
  test_rr();
  test_imm();
  test_known_answers();
  test_loads();
  test_upper();
  test_branches();
  test_c_level();
  printf("int: %s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
