/*
 * The debug trigger CSRs (Sdtrig: tselect, tdata1..tdata3, tinfo), compared
 * between QEMU and tsemu.
 *
 * Runs in M-mode on hart 0: probes which trigger CSRs exist, how many
 * triggers tselect selects, the read-back of tdata1..tdata3 after writes
 * (type 2 "mcontrol" address match: the mode, execute/load/store and size
 * fields kept, the others WARL), and then arms triggers for real: an
 * execute trigger on a function, a load and a store trigger on a variable,
 * each in M and in U mode, and prints the breakpoint exception each raises
 * (cause 3, epc, tval) or that none did.
 */
#include "lib.h"

#define TSELECT 0x7a0
#define TDATA1 0x7a1
#define TDATA2 0x7a2
#define TDATA3 0x7a3
#define TINFO 0x7a4
#define MCONTEXT 0x7a8

/* tdata1 of a type 2 (mcontrol) trigger. */
#define TYPE2 (2UL << 60)
#define MC_LOAD (1UL << 0)
#define MC_STORE (1UL << 1)
#define MC_EXEC (1UL << 2)
#define MC_U (1UL << 3)
#define MC_S (1UL << 4)
#define MC_M (1UL << 6)
#define MC_SIZELO(n) ((u64)(n) << 16)

#define TRY_READ(csr) ({ u64 v_ = 0xdead; __asm__ volatile(NORVC("csrr %0, " STR(csr)) : "+r"(v_) : : "memory"); v_; })
#define TRY_WRITE(csr, v) __asm__ volatile(NORVC("csrw " STR(csr) ", %0") : : "r"((u64)(v)) : "memory")

static volatile u64 watched[2];

static void show_trigger(const char *label) {
  print("%s: tselect=%x tdata1=%x tdata2=%x tdata3=%x\n", label, TRY_READ(TSELECT), TRY_READ(TDATA1),
        TRY_READ(TDATA2), TRY_READ(TDATA3));
}

__attribute__((noinline, aligned(8))) static long target_fn(long arg) {
  __asm__ volatile("" : : : "memory");
  return arg + 1;
}

static long call_target(long arg) { return target_fn(arg); }
static long load_watched(long arg) { (void)arg; return (long)watched[0]; }
static long store_watched(long arg) { watched[0] = (u64)arg; return 0; }

static void arm(int i, u64 tdata1, u64 tdata2) {
  TRY_WRITE(TSELECT, i);
  TRY_WRITE(TDATA1, 0);
  TRY_WRITE(TDATA2, tdata2);
  TRY_WRITE(TDATA1, tdata1);
}

static void disarm(int i) {
  TRY_WRITE(TSELECT, i);
  TRY_WRITE(TDATA1, TYPE2);
  TRY_WRITE(TDATA2, 0);
}

/* Run fn in M mode with a trigger armed; the handler steps over the trapping instruction or returns to ra. */
static void fire_m(const char *label, int trigger, u64 tdata1, u64 tdata2, long (*fn)(long), int resume_ra) {
  arm(trigger, tdata1, tdata2);
  trap_reset();
  if (resume_ra) m_action = ACT_RESUME_RA;
  long r = fn(41);
  disarm(trigger);
  show_mtrap(label);
  print("%s: returned %d\n", label, r);
}

int main(void) {
  section("which trigger CSRs exist");
  trap_reset();
  pv("tselect", TRY_READ(TSELECT));
  show_mtrap("read tselect");
  trap_reset();
  pv("tinfo", TRY_READ(TINFO));
  show_mtrap("read tinfo");
  trap_reset();
  pv("mcontext", TRY_READ(MCONTEXT));
  show_mtrap("read mcontext");

  section("tselect selects the triggers there are");
  for (u64 i = 0; i < 4; i++) {
    trap_reset();
    TRY_WRITE(TSELECT, 0);
    TRY_WRITE(TSELECT, i);
    print("write tselect %d: reads %x\n", i, TRY_READ(TSELECT));
    show_mtrap("write tselect");
  }
  TRY_WRITE(TSELECT, 0);
  show_trigger("trigger 0 at reset");
  TRY_WRITE(TSELECT, 1);
  show_trigger("trigger 1 at reset");

  section("tdata1..tdata3 read back");
  static const u64 writes[] = {
    TYPE2 | MC_M | MC_EXEC,
    TYPE2 | MC_U | MC_S | MC_M | MC_LOAD | MC_STORE | MC_EXEC,
    TYPE2 | MC_M | MC_LOAD | MC_SIZELO(1),
    TYPE2 | MC_M | MC_STORE | MC_SIZELO(3),
    TYPE2 | MC_M | MC_LOAD | (1UL << 21),            /* sizehi */
    TYPE2 | MC_M | MC_EXEC | (1UL << 7) | (1UL << 11), /* match 1, chain */
    TYPE2 | MC_M | MC_EXEC | (1UL << 12),            /* action 1 (debug mode) */
    TYPE2 | MC_M | MC_EXEC | (1UL << 18) | (1UL << 19) | (1UL << 20), /* timing, select, hit */
    TYPE2 | (1UL << 59) | MC_M | MC_EXEC,            /* dmode */
    TYPE2 | (0x3fUL << 53) | MC_M,                   /* maskmax */
    (6UL << 60) | MC_M | MC_EXEC,                    /* type 6 */
    (3UL << 60) | MC_M,                              /* type 3 */
    (0xfUL << 60) | MC_M | MC_EXEC,                  /* type 15 */
    0,
    ~0UL,
    TYPE2 | 0x0fffffffffffffffUL,                    /* every field of type 2 */
    (6UL << 60) | 0x0fffffffffffffffUL,              /* every field of type 6 */
    (6UL << 60) | MC_M | MC_LOAD | (5UL << 16),      /* type 6, size 5 */
  };
  for (u64 t = 0; t < 2; t++) {
    for (u64 i = 0; i < sizeof writes / sizeof writes[0]; i++) {
      trap_reset();
      TRY_WRITE(TSELECT, t);
      TRY_WRITE(TDATA1, TYPE2 | MC_S);
      TRY_WRITE(TDATA1, writes[i]);
      print("trigger %d: write tdata1 %x: reads %x\n", t, writes[i], TRY_READ(TDATA1));
      show_mtrap("write tdata1");
    }
    TRY_WRITE(TDATA1, TYPE2);
    TRY_WRITE(TDATA2, 0x1234567890abcdefUL);
    TRY_WRITE(TDATA3, ~0UL);
    show_trigger("after writing tdata2 and tdata3");
    TRY_WRITE(TDATA1, 0);
    TRY_WRITE(TDATA2, 0x55);
    TRY_WRITE(TDATA3, 0x66);
    show_trigger("tdata1 = 0, then tdata2 and tdata3 written");
    TRY_WRITE(TDATA1, TYPE2);
    TRY_WRITE(TDATA2, 0);
    TRY_WRITE(TDATA3, 0);
  }

  section("triggers that fire");
  u64 fn = (u64)target_fn;
  u64 var = (u64)&watched[0];
  fire_m("execute, M", 0, TYPE2 | MC_M | MC_EXEC, fn, call_target, 1);
  fire_m("execute, U bit only, run in M", 0, TYPE2 | MC_U | MC_EXEC, fn, call_target, 1);
  fire_m("execute, other address", 1, TYPE2 | MC_M | MC_EXEC, fn + 4, call_target, 1);
  fire_m("load, M", 1, TYPE2 | MC_M | MC_LOAD, var, load_watched, 0);
  fire_m("store, M", 0, TYPE2 | MC_M | MC_STORE, var, store_watched, 0);
  fire_m("store trigger, load done", 0, TYPE2 | MC_M | MC_STORE, var, load_watched, 0);
  fire_m("load, size 8, next word", 1, TYPE2 | MC_M | MC_LOAD | MC_SIZELO(3), var + 8, load_watched, 0);
  fire_m("load, no mode bit", 1, TYPE2 | MC_LOAD, var, load_watched, 0);
  fire_m("load, type 6", 0, (6UL << 60) | MC_M | MC_LOAD, var, load_watched, 0);
  fire_m("execute, type 6", 1, (6UL << 60) | MC_M | MC_EXEC, fn, call_target, 1);

  section("after");
  show_trigger("last selected");
  print("\ntriggers: done\n");
  exit_with(0);
}
