/*
 * Shared support for the bare-metal test programs (see lib.h): output on the
 * ns16550a UART, the C side of the M- and S-mode trap handlers, and the way
 * back to M-mode from run_in_mode.
 */
#include "lib.h"

#define UART_THR 0
#define UART_LSR 5
#define LSR_THRE 0x20

void putch(char c) {
  volatile u8 *uart = (volatile u8 *)UART0;
  while ((uart[UART_LSR] & LSR_THRE) == 0) {
  }
  uart[UART_THR] = (u8)c;
}

void puts_(const char *s) {
  while (*s) putch(*s++);
}

static void put_hex(u64 v, int digits) {
  static const char hex[] = "0123456789abcdef";
  char buf[16];
  int n = 0;
  do {
    buf[n++] = hex[v & 15];
    v >>= 4;
  } while (v != 0 || n < digits);
  while (n > 0) putch(buf[--n]);
}

static void put_dec(i64 v) {
  char buf[24];
  int n = 0;
  u64 u = v < 0 ? -(u64)v : (u64)v;
  if (v < 0) putch('-');
  do {
    buf[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u != 0);
  while (n > 0) putch(buf[--n]);
}

void print(const char *fmt, ...) {
  __builtin_va_list ap;
  __builtin_va_start(ap, fmt);
  for (const char *p = fmt; *p; p++) {
    if (*p != '%') {
      putch(*p);
      continue;
    }
    switch (*++p) {
      case 's': puts_(__builtin_va_arg(ap, const char *)); break;
      case 'c': putch((char)__builtin_va_arg(ap, int)); break;
      case 'd': put_dec(__builtin_va_arg(ap, i64)); break;
      case 'x': put_hex(__builtin_va_arg(ap, u64), 1); break;
      case '%': putch('%'); break;
      default: putch('?'); p--; break;
    }
  }
  __builtin_va_end(ap);
}

void pv(const char *label, u64 v) {
  puts_(label);
  puts_(": 0x");
  put_hex(v, 16);
  putch('\n');
}

void section(const char *title) {
  print("\n== %s ==\n", title);
}

/* The compiler may call these for structure copies and zeroing. */
void *memset(void *d, int c, unsigned long n) {
  u8 *p = d;
  while (n--) *p++ = (u8)c;
  return d;
}

void *memcpy(void *d, const void *s, unsigned long n) {
  u8 *p = d;
  const u8 *q = s;
  while (n--) *p++ = *q++;
  return d;
}

void pmp_allow_all(void) {
  /* NAPOT over the whole address space (pmpaddr all ones), R W X. */
  csr_write(pmpaddr0, ~0UL);
  csr_write(pmpcfg0, 0x1f);
}

void exit_with(long code) {
  mmio_write32(SIFIVE_TEST, code == 0 ? 0x5555 : (u32)(code << 16) | 0x3333);
  for (;;) __asm__ volatile("wfi");
}

volatile struct trap_record mtrap, strap;
volatile int m_action, s_action;
volatile int m_skip = 4, s_skip = 4;
volatile int s_forward_by_illegal;
void (*volatile m_hook)(struct trap_frame *f, u64 cause);
void (*volatile s_hook)(struct trap_frame *f, u64 cause);
volatile u64 irq_log[IRQ_LOG_SIZE];
volatile u64 irq_log_len;

void trap_reset(void) {
  mtrap.count = 0;
  strap.count = 0;
  m_action = s_action = ACT_SKIP;
  m_skip = s_skip = 4;
  m_hook = 0;
  s_hook = 0;
}

static void show(const char *label, const char *m, volatile struct trap_record *r) {
  if (r->count == 0) {
    print("%s: no %s-trap\n", label, m);
    return;
  }
  print("%s: %scause=%x %sepc=%x %stval=%x %sstatus=%x", label, m, r->cause, m, r->epc, m, r->tval, m, r->status);
  if (r->vec >= 0) print(" vec=%d", r->vec);
  if (r->count != 1) print(" count=%d", r->count);
  putch('\n');
}

void show_mtrap(const char *label) { show(label, "m", &mtrap); }
void show_strap(const char *label) { show(label, "s", &strap); }
void show_traps(const char *label) {
  show(label, "m", &mtrap);
  show(label, "s", &strap);
}

void show_irq_log(const char *label) {
  print("%s: %d interrupt(s):", label, irq_log_len);
  for (u64 i = 0; i < irq_log_len && i < IRQ_LOG_SIZE; i++) print(" %x", irq_log[i]);
  putch('\n');
  irq_log_len = 0;
}

static void log_irq(u64 what) {
  if (irq_log_len < IRQ_LOG_SIZE) irq_log[irq_log_len] = what;
  irq_log_len++;
}

__attribute__((weak)) void m_irq(struct trap_frame *f, u64 code) {
  (void)f;
  log_irq(0x100 | code);
  csr_clear(mie, 1UL << code);
}

__attribute__((weak)) void s_irq(struct trap_frame *f, u64 code) {
  (void)f;
  log_irq(0x200 | code);
  csr_clear(sie, 1UL << code);
}

__attribute__((weak)) void secondary_main(long hartid) {
  (void)hartid;
  for (;;) __asm__ volatile("wfi");
}

/* More traps than any test takes between two trap_reset calls. */
#define RUNAWAY_TRAPS 1000

/*
 * Give up on a run.  From the S handler, translation goes off first so that
 * the UART and sifive_test are reachable (best effort: PMP may still deny
 * them, and then the run ends by its timeout).
 */
static void runaway(const char *level, u64 cause, u64 epc) {
  if (level[0] == 'S') __asm__ volatile("csrw satp, zero\n sfence.vma" : : : "memory");
  print("\nrunaway: more than %d traps to %s, cause %x at %x\n", (i64)RUNAWAY_TRAPS, level, cause, epc);
  exit_with(99);
}

/* run_in_mode's saved M-mode context: ra, sp, s0-s11 (start.S). */
u64 run_ctx[14];

static int is_return_request(struct trap_frame *f) {
  return f->x[16] == RETURN_MAGIC6 && f->x[17] == RETURN_MAGIC7;
}

/* Resume M-mode where run_in_mode was called, returning the lower mode's a1. */
static void return_to_m(struct trap_frame *f) {
  f->x[1] = run_ctx[0];
  f->x[2] = run_ctx[1];
  f->x[8] = run_ctx[2];
  f->x[9] = run_ctx[3];
  for (int i = 2; i < 12; i++) f->x[16 + i] = run_ctx[2 + i];
  f->x[10] = f->x[11];
  /* The magic must not stay in a6/a7, where a later trap would take it for a new request. */
  f->x[16] = f->x[17] = 0;
  csr_write(mepc, run_ctx[0]);
  csr_clear(mstatus, MSTATUS_MPIE);
  csr_set(mstatus, MSTATUS_MPP);
}

void m_trap_handler(struct trap_frame *f) {
  u64 cause = csr_read(mcause);
  if ((i64)cause < 0) {
    m_irq(f, cause & 0xff);
    return;
  }
  if (is_return_request(f)) {
    return_to_m(f);
    return;
  }
  u64 epc = csr_read(mepc);
  mtrap.cause = cause;
  mtrap.epc = epc;
  mtrap.tval = csr_read(mtval);
  mtrap.status = csr_read(mstatus);
  mtrap.vec = f->vec;
  /* A trap that repeats without end (the resume point traps again) would hang the run: stop it. */
  if (++mtrap.count > RUNAWAY_TRAPS) runaway("M", cause, epc);
  if (m_hook) m_hook(f, cause);
  if (m_action == ACT_RESUME_RA) csr_write(mepc, f->x[1]);
  else csr_write(mepc, epc + m_skip);
}

/* Pass a lower_return on to M-mode, from inside the S handler (the ecall came from U, or from S with ecalls delegated). */
static void forward_return(u64 result) {
  register u64 a1 __asm__("a1") = result;
  register u64 a6 __asm__("a6") = RETURN_MAGIC6;
  register u64 a7 __asm__("a7") = RETURN_MAGIC7;
  if (s_forward_by_illegal) __asm__ volatile("csrr zero, mscratch" : : "r"(a1), "r"(a6), "r"(a7) : "memory");
  else __asm__ volatile("ecall" : : "r"(a1), "r"(a6), "r"(a7) : "memory");
}

void s_trap_handler(struct trap_frame *f) {
  u64 cause = csr_read(scause);
  if ((i64)cause < 0) {
    s_irq(f, cause & 0xff);
    return;
  }
  if (is_return_request(f)) {
    forward_return(f->x[11]);
    return;
  }
  u64 epc = csr_read(sepc);
  strap.cause = cause;
  strap.epc = epc;
  strap.tval = csr_read(stval);
  strap.status = csr_read(sstatus);
  strap.vec = f->vec;
  if (++strap.count > RUNAWAY_TRAPS) runaway("S", cause, epc);
  if (s_hook) s_hook(f, cause);
  if (s_action == ACT_RESUME_RA) csr_write(sepc, f->x[1]);
  else csr_write(sepc, epc + s_skip);
}
