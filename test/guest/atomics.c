/*
 * A extension: lr/sc success and failure paths, every amo*.w and amo*.d
 * over edge values (old value returned, memory after), sign extension of
 * 32-bit results, neighbouring memory left untouched, misaligned AMOs
 * (SIGBUS BUS_ADRALN), and C11 atomics on 8/16/32/64-bit objects (which the compiler
 * lowers to masked lr/sc loops for the narrow sizes). Exits 1 if a known
 * answer fails.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
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

#define AMO_D(name)                                                       \
  static uint64_t name##_d(volatile uint64_t *p, uint64_t v) {            \
    uint64_t old;                                                         \
    __asm__ volatile(#name ".d %0, %2, (%1)" : "=r"(old) : "r"(p), "r"(v) : "memory"); \
    return old;                                                           \
  }                                                                       \
  static uint64_t name##_w(volatile uint32_t *p, uint64_t v) {            \
    uint64_t old;                                                         \
    __asm__ volatile(#name ".w %0, %2, (%1)" : "=r"(old) : "r"(p), "r"(v) : "memory"); \
    return old;                                                           \
  }

AMO_D(amoswap) AMO_D(amoadd) AMO_D(amoxor) AMO_D(amoand) AMO_D(amoor)
AMO_D(amomin) AMO_D(amomax) AMO_D(amominu) AMO_D(amomaxu)

struct amo {
  const char *name;
  uint64_t (*d)(volatile uint64_t *, uint64_t);
  uint64_t (*w)(volatile uint32_t *, uint64_t);
};
#define A(n) { #n, n##_d, n##_w }
static const struct amo amos[] = {
  A(amoswap), A(amoadd), A(amoxor), A(amoand), A(amoor),
  A(amomin), A(amomax), A(amominu), A(amomaxu),
};

static const uint64_t vals[] = {
  0, 1, 0xffffffffffffffffull, 0x8000000000000000ull, 0x7fffffffffffffffull,
  0x80000000ull, 0x7fffffffull, 0xffffffffull, 0xffffffff80000000ull,
  0x0000000100000001ull, 0xdeadbeefcafebabeull,
};
#define NV (sizeof(vals) / sizeof(vals[0]))

static void test_amos(void) {
  static volatile uint64_t cell[3];
  static volatile uint32_t wcell[4];
  for (size_t k = 0; k < sizeof(amos) / sizeof(amos[0]); k++) {
    for (size_t i = 0; i < NV; i++) {
      printf("%s.d %016" PRIx64 ":", amos[k].name, vals[i]);
      for (size_t j = 0; j < NV; j++) {
        cell[0] = 0x5555555555555555ull;
        cell[1] = vals[i];
        cell[2] = 0xaaaaaaaaaaaaaaaaull;
        uint64_t old = amos[k].d(&cell[1], vals[j]);
        printf(" %" PRIx64 ">%" PRIx64, old, cell[1]);
        if (cell[0] != 0x5555555555555555ull || cell[2] != 0xaaaaaaaaaaaaaaaaull)
          printf("!neighbours");
      }
      printf("\n");
      printf("%s.w %08" PRIx32 ":", amos[k].name, (uint32_t)vals[i]);
      for (size_t j = 0; j < NV; j++) {
        wcell[0] = 0x55555555u;
        wcell[1] = (uint32_t)vals[i];
        wcell[2] = 0xaaaaaaaau;
        uint64_t old = amos[k].w(&wcell[1], vals[j]);
        printf(" %" PRIx64 ">%" PRIx32, old, wcell[1]);
        if (wcell[0] != 0x55555555u || wcell[2] != 0xaaaaaaaau) printf("!neighbours");
      }
      printf("\n");
    }
  }
  /* rd = x0 forms, and rd == rs2. */
  cell[1] = 10;
  __asm__ volatile("amoadd.d zero, %1, (%0)" : : "r"(&cell[1]), "r"(5ull) : "memory");
  uint64_t t = 7;
  __asm__ volatile("amoadd.d %0, %0, (%1)" : "+r"(t) : "r"(&cell[1]) : "memory");
  printf("rd=x0 and rd=rs2: old=%" PRIu64 " mem=%" PRIu64 "\n", t, cell[1]);
}

static uint64_t lr_d(volatile uint64_t *p) {
  uint64_t v;
  __asm__ volatile("lr.d %0, (%1)" : "=r"(v) : "r"(p) : "memory");
  return v;
}
static uint64_t sc_d(volatile uint64_t *p, uint64_t v) {
  uint64_t r;
  __asm__ volatile("sc.d %0, %2, (%1)" : "=&r"(r) : "r"(p), "r"(v) : "memory");
  return r;
}
static uint64_t lr_w(volatile uint32_t *p) {
  uint64_t v;
  __asm__ volatile("lr.w %0, (%1)" : "=r"(v) : "r"(p) : "memory");
  return v;
}
static uint64_t sc_w(volatile uint32_t *p, uint64_t v) {
  uint64_t r;
  __asm__ volatile("sc.w %0, %2, (%1)" : "=&r"(r) : "r"(p), "r"(v) : "memory");
  return r;
}

static void test_lrsc(void) {
  static volatile uint64_t d[2];
  static volatile uint32_t w[2];
  uint64_t v, r;

  d[0] = 0x8000000000000001ull;
  v = lr_d(&d[0]);
  r = sc_d(&d[0], 42);
  printf("lr.d/sc.d: loaded %" PRIx64 " sc=%" PRIu64 " mem=%" PRIu64 "\n", v, r, d[0]);
  expect("sc.d success", r, 0);

  r = sc_d(&d[0], 43);
  printf("sc.d again without lr: sc=%" PRIu64 " mem=%" PRIu64 "\n", r, d[0]);
  expect("sc.d fail", r != 0, 1);

  d[0] = 1;
  d[1] = 2;
  (void)lr_d(&d[0]);
  r = sc_d(&d[1], 99);
  printf("sc.d to other address: sc=%" PRIu64 " mem=%" PRIu64 ",%" PRIu64 "\n", r, d[0], d[1]);
  expect("sc.d other address fails", r != 0, 1);

  w[0] = 0x80000000u;
  v = lr_w(&w[0]);
  r = sc_w(&w[0], 0xfffffffe);
  printf("lr.w/sc.w: loaded %" PRIx64 " sc=%" PRIu64 " mem=%" PRIx32 "\n", v, r, w[0]);
  expect("lr.w sign-extends", v, 0xffffffff80000000ull);
  expect("sc.w success", r, 0);
  r = sc_w(&w[0], 5);
  printf("sc.w again: sc=%" PRIu64 " mem=%" PRIx32 "\n", r, w[0]);

  /* A reservation is consumed by a failed sc as well. */
  (void)lr_w(&w[0]);
  r = sc_w(&w[1], 7);
  uint64_t r2 = sc_w(&w[0], 8);
  printf("sc.w other then same: %" PRIu64 " %" PRIu64 " mem=%" PRIx32 ",%" PRIx32 "\n", r, r2,
         w[0], w[1]);

  /* The classic lr/sc increment loop. */
  d[0] = 0;
  for (int i = 0; i < 1000; i++) {
    uint64_t tmp, fail;
    __asm__ volatile("1: lr.d.aqrl %0, (%2)\n\t"
                     "addi %0, %0, 3\n\t"
                     "sc.d.aqrl %1, %0, (%2)\n\t"
                     "bnez %1, 1b"
                     : "=&r"(tmp), "=&r"(fail)
                     : "r"(&d[0])
                     : "memory");
  }
  printf("lr/sc loop: %" PRIu64 "\n", d[0]);
  expect("lr/sc loop", d[0], 3000);

  /* Compare-and-swap built on lr/sc, both outcomes. */
  w[0] = 3000;
  for (int attempt = 0; attempt < 2; attempt++) {
    uint64_t expected = attempt == 0 ? 3000 : 1234, prev, fail = 0;
    __asm__ volatile("1: lr.w.aq %0, (%2)\n\t"
                     "bne %0, %3, 2f\n\t"
                     "sc.w.rl %1, %4, (%2)\n\t"
                     "bnez %1, 1b\n"
                     "2:"
                     : "=&r"(prev), "+&r"(fail)
                     : "r"(&w[0]), "r"(expected), "r"(77ull)
                     : "memory");
    printf("cas attempt %d: prev=%" PRIu64 " mem=%" PRIu32 "\n", attempt, prev, w[0]);
  }
}

static sigjmp_buf jb;
static void on_sigbus(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  printf("  caught signal %d code %d\n", sig, si->si_code);
  siglongjmp(jb, 1);
}

static void test_misaligned(void) {
  static uint64_t buf[4] __attribute__((aligned(16)));
  struct sigaction sa, old_bus, old_segv;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGBUS, &sa, &old_bus);
  sigaction(SIGSEGV, &sa, &old_segv);
  char *base = (char *)buf;
  static const char *const what[] = {"lr.w +2", "lr.d +4", "amoadd.w +2", "amoswap.d +4"};
  for (volatile int k = 0; k < 4; k++) {
    printf("misaligned %s\n", what[k]);
    fflush(stdout);
    if (sigsetjmp(jb, 1) == 0) {
      uint64_t r = 1;
      switch (k) {
        case 0: __asm__ volatile("lr.w %0, (%1)" : "=r"(r) : "r"(base + 2) : "memory"); break;
        case 1: __asm__ volatile("lr.d %0, (%1)" : "=r"(r) : "r"(base + 4) : "memory"); break;
        case 2:
          __asm__ volatile("amoadd.w %0, %0, (%1)" : "+r"(r) : "r"(base + 2) : "memory");
          break;
        default:
          __asm__ volatile("amoswap.d %0, %0, (%1)" : "+r"(r) : "r"(base + 4) : "memory");
          break;
      }
      printf("  no trap, r=%" PRIx64 "\n", r);
    }
  }
  sigaction(SIGBUS, &old_bus, NULL);
  sigaction(SIGSEGV, &old_segv, NULL);
}

static void test_c11(void) {
  _Atomic uint8_t a8 = 250;
  _Atomic int16_t a16 = -32768;
  _Atomic uint32_t a32 = 0xfffffff0u;
  _Atomic int64_t a64 = INT64_MAX;
  uint8_t o8 = atomic_fetch_add(&a8, 10);
  int16_t o16 = atomic_fetch_sub(&a16, 1);
  uint32_t o32 = atomic_fetch_or(&a32, 0x10f);
  int64_t o64 = atomic_fetch_add(&a64, 1);
  printf("fetch_add/sub/or: %u>%u %d>%d %" PRIx32 ">%" PRIx32 " %" PRId64 ">%" PRId64 "\n", o8,
         (unsigned)atomic_load(&a8), o16, (int)atomic_load(&a16), o32, atomic_load(&a32), o64,
         atomic_load(&a64));
  o8 = atomic_fetch_xor(&a8, 0xff);
  o16 = atomic_fetch_and(&a16, 0x0ff0);
  printf("fetch_xor/and: %u>%u %d>%d\n", o8, (unsigned)atomic_load(&a8), o16,
         (int)atomic_load(&a16));
  uint8_t e8 = 0xfb;
  _Bool ok1 = atomic_compare_exchange_strong(&a8, &e8, 7);
  uint8_t e8b = 1;
  _Bool ok2 = atomic_compare_exchange_strong(&a8, &e8b, 9);
  printf("cas8: %d %d expected-now=%u value=%u\n", ok1, ok2, e8b, (unsigned)atomic_load(&a8));
  int16_t e16 = 0x0ff0 & -32768;
  _Bool ok3 = atomic_compare_exchange_strong(&a16, &e16, -2);
  printf("cas16: %d value=%d\n", ok3, (int)atomic_load(&a16));
  uint32_t e32 = 0;
  _Bool ok4 = atomic_compare_exchange_strong(&a32, &e32, 1);
  printf("cas32 fail: %d expected-now=%" PRIx32 "\n", ok4, e32);
  int64_t e64 = INT64_MIN;
  int spins = 0;
  while (!atomic_compare_exchange_weak(&a64, &e64, 5)) {
    if (++spins > 1000) break;
  }
  printf("cas64 weak loop: value=%" PRId64 " spun-ok=%d\n", atomic_load(&a64), spins <= 1000);
  uint16_t x16 = 0x1234;
  _Atomic uint16_t ax16 = 0xabcd;
  x16 = atomic_exchange(&ax16, x16);
  printf("exchange16: got %x now %x\n", x16, (unsigned)atomic_load(&ax16));
  atomic_flag fl = ATOMIC_FLAG_INIT;
  int t1 = atomic_flag_test_and_set(&fl);
  int t2 = atomic_flag_test_and_set(&fl);
  atomic_flag_clear(&fl);
  int t3 = atomic_flag_test_and_set(&fl);
  printf("flag: %d %d %d\n", t1, t2, t3);
  atomic_thread_fence(memory_order_seq_cst);
  atomic_signal_fence(memory_order_seq_cst);
  /* Packed small atomics next to each other must not disturb neighbours. */
  static _Atomic uint8_t bytes[8];
  for (int i = 0; i < 8; i++) atomic_store(&bytes[i], (uint8_t)(i * 17));
  for (int r = 0; r < 100; r++)
    for (int i = 0; i < 8; i++) atomic_fetch_add(&bytes[i], (uint8_t)(i + 1));
  printf("bytes:");
  for (int i = 0; i < 8; i++) printf(" %02x", (unsigned)atomic_load(&bytes[i]));
  printf("\n");
}

int main(void) {
  test_amos();
  test_lrsc();
  test_misaligned();
  test_c11();
  printf("atomics: %s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
