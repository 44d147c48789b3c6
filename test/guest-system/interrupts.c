/*
 * Interrupts, compared between QEMU and tsemu: the CLINT's software
 * interrupt (msip) and timer (mtimecmp), STIP and SSIP set by software and
 * delegated to S-mode, external interrupts through the PLIC (the UART's
 * transmitter-empty interrupt), the priority order when several are pending
 * (MEI > MSI > MTI > SEI > SSI > STI), and what keeps an interrupt from being
 * taken (mstatus.MIE/SIE, mie, delegation, the current privilege).
 *
 * Every interrupt taken is logged as LEVEL:CAUSE@FROM (the mode the hart was
 * in), with the vector slot when mtvec is vectored; handlers clear the source.
 * Only the order of events is printed, never a time: QEMU and tsemu follow
 * the host clock, so the time values differ from run to run.
 *
 * With -smp 2 hart 1 also answers inter-processor interrupts (see
 * secondary_main); the number of harts comes from the device tree.
 */
#include "lib.h"

#define MIP_MSIP (1UL << IRQ_MSI)
#define MIP_MTIP (1UL << IRQ_MTI)
#define MIP_MEIP (1UL << IRQ_MEI)
#define MIP_SSIP (1UL << IRQ_SSI)
#define MIP_STIP (1UL << IRQ_STI)
#define MIP_SEIP (1UL << IRQ_SEI)
#define ALL_IRQS (MIP_MSIP | MIP_MTIP | MIP_MEIP | MIP_SSIP | MIP_STIP | MIP_SEIP)
#define S_IRQS (MIP_SSIP | MIP_STIP | MIP_SEIP)

/* PLIC of the virt board: contexts 2h (M) and 2h+1 (S) for hart h. */
#define PLIC 0xc000000UL
#define PLIC_PRIORITY(src) (PLIC + 4 * (src))
#define PLIC_PENDING (PLIC + 0x1000)
#define PLIC_ENABLE(ctx) (PLIC + 0x2000 + 0x80 * (ctx))
#define PLIC_THRESHOLD(ctx) (PLIC + 0x200000 + 0x1000 * (ctx))
#define PLIC_CLAIM(ctx) (PLIC + 0x200004 + 0x1000 * (ctx))
#define UART_IRQ 10
#define UART_IER (UART0 + 1)
#define UART_IIR (UART0 + 2)
#define IER_THRI 0x02

/* A timer deadline this far ahead: 2 ms of the 10 MHz timebase. */
#define TIMER_DELTA 20000

/* Set by tests: the M timer handler raises STIP for S; the S handler claims external interrupts from the PLIC. */
static volatile int forward_timer_to_s;
static volatile int s_claims_plic;

/* ---- The interrupt log ---- */

struct irq_event {
  char level;   /* 'M' or 'S': who took it */
  u8 code;      /* the cause without the interrupt bit */
  u8 from;      /* privilege the hart was in */
  i8 vec;       /* vector slot, -1 for direct mode */
  u32 claimed;  /* PLIC source claimed by the handler, for external interrupts */
};
#define MAX_EVENTS 16
static volatile struct irq_event events[MAX_EVENTS];
static volatile int nevents;

static void log_event(char level, u64 code, u64 from, i64 vec, u32 claimed) {
  if (nevents < MAX_EVENTS) {
    events[nevents].level = level;
    events[nevents].code = (u8)code;
    events[nevents].from = (u8)from;
    events[nevents].vec = (i8)vec;
    events[nevents].claimed = claimed;
  }
  nevents++;
}

static void show_events(const char *label) {
  static const char prv[] = "USHM";
  print("%s:", label);
  if (nevents == 0) print(" none");
  for (int i = 0; i < nevents && i < MAX_EVENTS; i++) {
    volatile struct irq_event *e = &events[i];
    print(" %c:%d@%c", e->level, (u64)e->code, prv[e->from & 3]);
    if (e->vec >= 0) print("/v%d", (i64)e->vec);
    if (e->claimed) print("/src%d", (u64)e->claimed);
  }
  putch('\n');
  nevents = 0;
}

/* Run fn(arg) in `mode` and print "label [S] -> result:" and the events. */
static void run_show(const char *label, long mode, long (*fn)(long), long arg) {
  long r = run_in_mode(mode, fn, arg, 0, 0);
  print("%s [%s] -> %x, events", label, mode == PRV_S ? "S" : "U", r);
  show_events("");
}

static u64 hartid(void) { return csr_read(mhartid); }

/* Claim the pending PLIC source for `ctx`, quiet the UART's transmitter interrupt, complete. */
static u32 plic_claim_uart(int ctx) {
  u32 src = mmio_read32(PLIC_CLAIM(ctx));
  *(volatile u8 *)UART_IER = 0;
  mmio_write32(PLIC_CLAIM(ctx), src);
  return src;
}

/* M-level handler (overrides lib.c's): log, then clear the source so that it does not fire again. */
void m_irq(struct trap_frame *f, u64 code) {
  u64 from = (csr_read(mstatus) & MSTATUS_MPP) >> MPP_SHIFT;
  u32 claimed = 0;
  switch (code) {
    case IRQ_MSI: mmio_write32(CLINT_MSIP(hartid()), 0); break;
    case IRQ_MTI:
      mmio_write64(CLINT_MTIMECMP(hartid()), ~0UL);
      /* The classic firmware pattern: pass the tick on to S-mode as STIP. */
      if (forward_timer_to_s) csr_set(mip, MIP_STIP);
      break;
    case IRQ_MEI: claimed = plic_claim_uart(0); break;
    case IRQ_SEI: csr_clear(mip, MIP_SEIP); break;
    case IRQ_SSI: csr_clear(mip, MIP_SSIP); break;
    case IRQ_STI: csr_clear(mip, MIP_STIP); break;
    default: csr_clear(mie, 1UL << code); break;
  }
  log_event('M', code, from, f->vec, claimed);
}

/* S-level handler: S can clear SSIP only; for STI and SEI it turns the enable off (M clears the bit later). */
void s_irq(struct trap_frame *f, u64 code) {
  u64 from = (csr_read(sstatus) & MSTATUS_SPP) ? PRV_S : PRV_U;
  u32 claimed = 0;
  switch (code) {
    case IRQ_SSI: csr_clear(sip, MIP_SSIP); break;
    case IRQ_SEI:
      if (s_claims_plic) claimed = plic_claim_uart(1);
      else csr_clear(sie, MIP_SEIP);
      break;
    default: csr_clear(sie, 1UL << code); break;
  }
  log_event('S', code, from, f->vec, claimed);
}

/* ---- Helpers ---- */

/* Everything off: no enables, nothing pending that software can clear, direct mtvec/stvec. */
static void quiesce(void) {
  csr_clear(mstatus, MSTATUS_MIE | MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP);
  csr_write(mie, 0);
  csr_write(mideleg, 0);
  csr_write(mip, 0);
  mmio_write32(CLINT_MSIP(0), 0);
  mmio_write64(CLINT_MTIMECMP(0), ~0UL);
  *(volatile u8 *)UART_IER = 0;
  /* A request the PLIC latched stays pending after the line drops: claim and complete it. */
  for (int ctx = 0; ctx < 2; ctx++) {
    u32 src = mmio_read32(PLIC_CLAIM(ctx));
    if (src) mmio_write32(PLIC_CLAIM(ctx), src);
    mmio_write32(PLIC_ENABLE(ctx), 0);
  }
  mmio_write32(PLIC_PRIORITY(UART_IRQ), 0);
  csr_write(mtvec, (u64)m_trap_entry);
  csr_write(stvec, (u64)s_trap_entry);
  forward_timer_to_s = 0;
  s_claims_plic = 0;
  nevents = 0;
}

/* mip without the bits a test does not control here. */
static u64 mip_now(void) { return csr_read(mip) & ALL_IRQS; }

static void spin(int n) {
  for (int i = 0; i < n; i++) __asm__ volatile("nop");
}

/* Code run in S or U (by run_in_mode): optionally set sstatus.SIE, spin, return sip (S) or 0 (U). */
static long s_enable_and_spin(long set_sie) {
  if (set_sie) csr_set(sstatus, MSTATUS_SIE);
  spin(100);
  csr_clear(sstatus, MSTATUS_SIE);
  return (long)csr_read(sip);
}

static long u_spin(long n) {
  spin((int)n);
  return 0;
}

/* S-mode: raise SSIP through sip, with SIE set. */
static long s_raise_ssip(long arg) {
  (void)arg;
  csr_set(sstatus, MSTATUS_SIE);
  csr_set(sip, MIP_SSIP);
  spin(20);
  csr_clear(sstatus, MSTATUS_SIE);
  return (long)csr_read(sip);
}

/* S-mode: wait in wfi for an interrupt (SIE set), a few times at most. */
static long s_wfi_until_event(long arg) {
  (void)arg;
  csr_set(sstatus, MSTATUS_SIE);
  for (int i = 0; i < 1000 && nevents == 0; i++) __asm__ volatile("wfi");
  csr_clear(sstatus, MSTATUS_SIE);
  return nevents;
}

/*
 * S-mode: enable the UART's transmitter-empty interrupt, then sstatus.SIE;
 * the S external interrupt comes at once.  (In the other order tsemu 0.1
 * only notices the interrupt a device write raised at its next CSR write or
 * the end of its time slice: clearing SIE soon after loses it.)
 */
static long s_uart_interrupt(long arg) {
  (void)arg;
  *(volatile u8 *)UART_IER = IER_THRI;
  csr_set(sstatus, MSTATUS_SIE);
  spin(100);
  csr_clear(sstatus, MSTATUS_SIE);
  return nevents;
}

/* Wait with wfi until mip shows `bits` (interrupts need not be taken), at most `tries` times. */
static int wfi_until_pending(u64 bits, int tries) {
  for (int i = 0; i < tries; i++) {
    if (csr_read(mip) & bits) return 1;
    __asm__ volatile("wfi");
  }
  return (csr_read(mip) & bits) != 0;
}

/* Make the UART interrupt pending at the PLIC for context `ctx` (0 = hart 0 M, 1 = hart 0 S). */
static void plic_route_uart(int ctx) {
  mmio_write32(PLIC_PRIORITY(UART_IRQ), 1);
  mmio_write32(PLIC_ENABLE(0), 0);
  mmio_write32(PLIC_ENABLE(1), 0);
  mmio_write32(PLIC_ENABLE(ctx), 1U << UART_IRQ);
  mmio_write32(PLIC_THRESHOLD(ctx), 0);
}

/* ---- Tests ---- */

static void clint_registers(void) {
  section("CLINT registers");
  pv("mip at entry (MTIP: mtimecmp is 0 after reset)", mip_now());
  mmio_write64(CLINT_MTIMECMP(0), ~0UL);
  pv("mip after mtimecmp = ~0", mip_now());
  pv("mtimecmp", mmio_read64(CLINT_MTIMECMP(0)));
  mmio_write32(CLINT_MTIMECMP(0), 0x89abcdef);
  mmio_write32(CLINT_MTIMECMP(0) + 4, 0x01234567);
  pv("mtimecmp after two 32-bit writes", mmio_read64(CLINT_MTIMECMP(0)));
  pv("  high word", mmio_read32(CLINT_MTIMECMP(0) + 4));
  mmio_write64(CLINT_MTIMECMP(0), ~0UL);
  mmio_write32(CLINT_MSIP(0), 0xffffffff);
  pv("msip after writing ~0", mmio_read32(CLINT_MSIP(0)));
  pv("mip with msip = 1", mip_now());
  mmio_write32(CLINT_MSIP(0), 0);
  pv("mip with msip = 0", mip_now());
  u64 t0 = mmio_read64(CLINT_MTIME);
  u64 t1 = mmio_read64(CLINT_MTIME);
  u64 t2 = csr_read(time);
  print("mtime does not go back: %d; the time CSR follows it: %d\n", (i64)(t1 >= t0), (i64)(t2 >= t1));
}

static void software_interrupt(void) {
  section("machine software interrupt (CLINT msip)");
  quiesce();
  mmio_write32(CLINT_MSIP(0), 1);
  spin(10);
  show_events("msip=1, mie=0");
  csr_set(mie, MIP_MSIP);
  spin(10);
  show_events("mie.MSIE=1, mstatus.MIE=0");
  pv("  mip", mip_now());
  csr_set(mstatus, MSTATUS_MIE);
  spin(10);
  csr_clear(mstatus, MSTATUS_MIE);
  show_events("mstatus.MIE=1");
  pv("  mcause", csr_read(mcause));
  pv("  mip after the handler", mip_now());
  pv("  mstatus (MPIE set, MIE clear again)", csr_read(mstatus));

  csr_write(mtvec, (u64)m_vector_table | 1);
  mmio_write32(CLINT_MSIP(0), 1);
  csr_set(mstatus, MSTATUS_MIE);
  spin(10);
  csr_clear(mstatus, MSTATUS_MIE);
  show_events("vectored mtvec");
  csr_write(mtvec, (u64)m_trap_entry);

  /* Not taken with MIE set but the mie bit clear; wfi still returns once it is enabled in mie. */
  csr_write(mie, 0);
  mmio_write32(CLINT_MSIP(0), 1);
  csr_set(mstatus, MSTATUS_MIE);
  spin(10);
  csr_clear(mstatus, MSTATUS_MIE);
  show_events("mstatus.MIE=1, mie.MSIE=0");
  csr_set(mie, MIP_MSIP);
  __asm__ volatile("wfi");
  show_events("wfi with MSIP pending and MIE=0 returns, nothing taken");
  csr_set(mstatus, MSTATUS_MIE);
  spin(10);
  csr_clear(mstatus, MSTATUS_MIE);
  show_events("then MIE=1");

  /* An M-level interrupt is taken in S and U whatever mstatus.MIE says. */
  mmio_write32(CLINT_MSIP(0), 1);
  run_show("msip=1 while in S, MIE=0", PRV_S, s_enable_and_spin, 0);
  mmio_write32(CLINT_MSIP(0), 1);
  run_show("msip=1 while in U, MIE=0", PRV_U, u_spin, 50);
  quiesce();
}

static void timer_interrupt(void) {
  section("machine timer interrupt (CLINT mtimecmp)");
  quiesce();
  csr_set(mie, MIP_MTIP);
  mmio_write64(CLINT_MTIMECMP(0), mmio_read64(CLINT_MTIME) + TIMER_DELTA);
  csr_set(mstatus, MSTATUS_MIE);
  int waits = 0;
  while (nevents == 0 && waits < 100000) {
    __asm__ volatile("wfi");
    waits++;
  }
  csr_clear(mstatus, MSTATUS_MIE);
  show_events("wfi until the timer fires");
  pv("  mcause", csr_read(mcause));
  pv("  mip after the handler set mtimecmp = ~0", mip_now());

  mmio_write64(CLINT_MTIMECMP(0), mmio_read64(CLINT_MTIME) + TIMER_DELTA);
  print("MIE=0: wfi returns once MTIP is pending: %d\n", (i64)wfi_until_pending(MIP_MTIP, 100000));
  show_events("  taken meanwhile");
  pv("  mip", mip_now());
  csr_set(mstatus, MSTATUS_MIE);
  spin(10);
  csr_clear(mstatus, MSTATUS_MIE);
  show_events("then MIE=1");

  /* mtimecmp in the past: pending at once. */
  mmio_write64(CLINT_MTIMECMP(0), 0);
  pv("mtimecmp = 0: mip", mip_now());
  mmio_write64(CLINT_MTIMECMP(0), ~0UL);
  pv("mtimecmp = ~0: mip", mip_now());
  quiesce();
}

static void supervisor_timer(void) {
  section("supervisor timer: STIP set by M-mode software");
  quiesce();
  csr_write(mideleg, MIP_STIP);
  csr_set(mie, MIP_STIP);
  csr_set(mip, MIP_STIP);
  pv("sip seen from M", csr_read(sip));
  csr_set(mstatus, MSTATUS_MIE);
  spin(10);
  csr_clear(mstatus, MSTATUS_MIE);
  show_events("STIP delegated, pending in M with MIE=1");
  run_show("in S with SIE=0 (returns sip)", PRV_S, s_enable_and_spin, 0);
  run_show("in S with SIE=1", PRV_S, s_enable_and_spin, 1);
  pv("  mie after (S turned STIE off)", csr_read(mie));
  csr_set(mie, MIP_STIP);
  run_show("in U (SIE=0)", PRV_U, u_spin, 50);
  csr_clear(mip, MIP_STIP);

  /* Not delegated: taken in M, from S. */
  csr_write(mideleg, 0);
  csr_set(mie, MIP_STIP);
  csr_set(mip, MIP_STIP);
  run_show("STIP not delegated, in S", PRV_S, s_enable_and_spin, 0);

  /* The firmware pattern: M's timer handler raises STIP, S takes it. */
  quiesce();
  forward_timer_to_s = 1;
  csr_write(mideleg, MIP_STIP);
  csr_write(mie, MIP_MTIP | MIP_STIP);
  mmio_write64(CLINT_MTIMECMP(0), mmio_read64(CLINT_MTIME) + TIMER_DELTA);
  print("S ->%x ", run_in_mode(PRV_S, s_wfi_until_event, 0, 0, 0));
  spin(10);
  show_events("M timer forwarded to S as STIP, S waits in wfi");
  pv("  mip (STIP still set: only M clears it)", mip_now());
  quiesce();
}

static void supervisor_software(void) {
  section("supervisor software interrupt (SSIP)");
  quiesce();
  csr_write(mideleg, MIP_SSIP);
  csr_write(mie, MIP_SSIP);
  run_show("S sets sip.SSIP with SIE=1", PRV_S, s_raise_ssip, 0);
  csr_set(mip, MIP_SSIP);
  run_show("M sets SSIP, delegated, in U", PRV_U, u_spin, 50);
  csr_write(mideleg, 0);
  run_show("S writes sip.SSIP without delegation (no effect)", PRV_S, s_raise_ssip, 0);
  pv("  mip", mip_now());

  csr_write(stvec, (u64)s_vector_table | 1);
  csr_write(mideleg, MIP_SSIP);
  run_show("vectored stvec", PRV_S, s_raise_ssip, 0);
  quiesce();
}

/*
 * Nothing is printed while the UART's THR-empty interrupt is enabled: each
 * byte sent raises it again.  Values are collected first.
 */
static void external(void) {
  section("external interrupts through the PLIC (UART THR empty, source 10)");
  u64 v[12];
  quiesce();
  plic_route_uart(0);
  v[0] = mmio_read32(PLIC_PENDING) & (1U << UART_IRQ);
  *(volatile u8 *)UART_IER = IER_THRI;
  spin(10);
  v[1] = mmio_read32(PLIC_PENDING) & (1U << UART_IRQ);
  v[2] = mip_now();
  /*
   * Claimed before the UART lowers its line: QEMU 7.2's PLIC keeps a request
   * pending until it is claimed even when the line drops first, tsemu's
   * drops it with the line.
   */
  u32 src = mmio_read32(PLIC_CLAIM(0));
  v[3] = src;
  v[4] = mip_now();
  v[5] = mmio_read32(PLIC_CLAIM(0));
  v[6] = *(volatile u8 *)UART_IIR;
  v[7] = *(volatile u8 *)UART_IIR;
  mmio_write32(PLIC_CLAIM(0), src);
  spin(10);
  v[8] = mip_now();
  v[9] = mmio_read32(PLIC_PENDING) & (1U << UART_IRQ);
  *(volatile u8 *)UART_IER = 0;
  pv("PLIC pending before", v[0]);
  pv("PLIC pending with IER.THRI", v[1]);
  pv("mip", v[2]);
  pv("PLIC claim", v[3]);
  pv("mip after the claim", v[4]);
  pv("claim again: nothing", v[5]);
  pv("UART IIR", v[6]);
  pv("UART IIR again (the first read cleared THRI)", v[7]);
  pv("mip after completing with the line low", v[8]);
  pv("PLIC pending", v[9]);

  /* Taken: the handler claims, quiets the UART and completes. */
  *(volatile u8 *)UART_IER = IER_THRI;
  csr_set(mie, MIP_MEIP);
  csr_set(mstatus, MSTATUS_MIE);
  spin(10);
  csr_clear(mstatus, MSTATUS_MIE);
  show_events("MEI, M claims from context 0");
  pv("  mip", mip_now());

  /* A threshold at the source's priority masks it. */
  mmio_write32(PLIC_THRESHOLD(0), 1);
  *(volatile u8 *)UART_IER = IER_THRI;
  spin(10);
  v[0] = mip_now();
  v[1] = mmio_read32(PLIC_THRESHOLD(0));
  mmio_write32(PLIC_THRESHOLD(0), 0);
  spin(10);
  v[2] = mip_now();
  csr_set(mstatus, MSTATUS_MIE);
  spin(10);
  csr_clear(mstatus, MSTATUS_MIE);
  pv("threshold 1, priority 1: mip", v[0]);
  pv("  threshold reads", v[1]);
  pv("threshold 0: mip", v[2]);
  show_events("  taken");

  /* The S context, delegated: S claims from context 1. */
  quiesce();
  plic_route_uart(1);
  s_claims_plic = 1;
  csr_write(mideleg, MIP_SEIP);
  csr_write(mie, MIP_SEIP);
  run_show("SEI delegated, S claims from context 1", PRV_S, s_uart_interrupt, 0);
  quiesce();
}

/* Make interrupts pending (in M with MIE=0): MEI through the PLIC and the UART, MSI, MTI, and SEI, SSI, STI by software. */
static void pend(u64 which) {
  if (which & MIP_MEIP) {
    plic_route_uart(0);
    *(volatile u8 *)UART_IER = IER_THRI;
  }
  if (which & MIP_MSIP) mmio_write32(CLINT_MSIP(0), 1);
  if (which & MIP_MTIP) mmio_write64(CLINT_MTIMECMP(0), 0);
  csr_set(mip, which & S_IRQS);
  spin(10);
}

static void take_all_in_m(const char *label) {
  csr_set(mstatus, MSTATUS_MIE);
  spin(50);
  csr_clear(mstatus, MSTATUS_MIE);
  show_events(label);
}

/*
 * The spec's order is MEI > MSI > MTI > SEI > SSI > STI.  QEMU 7.2 without
 * AIA takes the lowest-numbered pending interrupt first (M-level ones before
 * S-level ones), so only sets whose order is the same both ways are
 * compared: MSI > MTI > SEI, and SSI > STI; M-level before S-level.
 */
static void priority(void) {
  section("priority with several interrupts pending");
  quiesce();
  pend(ALL_IRQS);
  pv("mip with all six pending", mip_now());
  quiesce();

  pend(MIP_MSIP | MIP_MTIP | MIP_SEIP);
  csr_write(mie, ALL_IRQS);
  take_all_in_m("MSI, MTI, SEI taken in M");
  pend(MIP_SSIP | MIP_STIP);
  take_all_in_m("SSI, STI taken in M");
  pend(MIP_MTIP | MIP_SEIP);
  take_all_in_m("MTI, SEI taken in M");

  csr_write(mtvec, (u64)m_vector_table | 1);
  pend(MIP_MSIP | MIP_MTIP | MIP_SEIP);
  take_all_in_m("MSI, MTI, SEI taken in M, vectored");
  quiesce();

  pend(MIP_MSIP | MIP_MTIP | MIP_SSIP | MIP_STIP);
  csr_write(mideleg, S_IRQS);
  csr_write(mie, ALL_IRQS);
  run_show("MSI, MTI; SSI, STI delegated; in S with SIE=1", PRV_S, s_enable_and_spin, 1);
  quiesce();

  pend(MIP_MSIP | MIP_SSIP | MIP_STIP);
  csr_write(mideleg, S_IRQS);
  csr_write(mie, S_IRQS);
  run_show("SSI, STI delegated, MSI pending but not in mie; in U", PRV_U, u_spin, 50);
  pv("  mip left", mip_now());
  quiesce();

  pend(MIP_MTIP | MIP_SSIP | MIP_STIP);
  csr_write(mideleg, S_IRQS);
  csr_write(mie, ALL_IRQS & ~MIP_SSIP);
  run_show("MTI; SSI (not in mie), STI delegated; in S with SIE=1", PRV_S, s_enable_and_spin, 1);
  pv("  mip left", mip_now());
  quiesce();

  /* SEIP written by software stays pending whatever the PLIC's S context says. */
  pend(MIP_SEIP);
  plic_route_uart(0);
  *(volatile u8 *)UART_IER = IER_THRI;
  spin(10);
  u64 before = mip_now();
  u32 src = mmio_read32(PLIC_CLAIM(0));
  *(volatile u8 *)UART_IER = 0;
  mmio_write32(PLIC_CLAIM(0), src);
  spin(10);
  pv("software SEIP with MEI pending", before);
  pv("  after claiming the MEI", mip_now());
  csr_clear(mip, MIP_SEIP);
  pv("  after clearing SEIP", mip_now());
  quiesce();
}

/* ---- Two harts ---- */

static volatile u64 h1_alive;
static volatile u64 h1_cmd;
static volatile u64 h1_seen[4];

/*
 * Hart 1: waits in wfi with MSIE and MTIE enabled in mie and MIE clear (so
 * no trap is ever taken), answers each IPI from hart 0 according to h1_cmd,
 * then sends an IPI back.
 */
void secondary_main(long hart) {
  if (hart != 1) {
    for (;;) __asm__ volatile("wfi");
  }
  mmio_write64(CLINT_MTIMECMP(1), ~0UL);
  csr_write(mie, MIP_MSIP | MIP_MTIP);
  fence();
  h1_alive = 1;
  for (;;) {
    __asm__ volatile("wfi");
    u64 mip = csr_read(mip);
    if (!(mip & MIP_MSIP)) continue;
    mmio_write32(CLINT_MSIP(1), 0);
    h1_seen[0] = mip;
    h1_seen[1] = csr_read(mip);
    if (h1_cmd == 1) {
      mmio_write64(CLINT_MTIMECMP(1), mmio_read64(CLINT_MTIME) + TIMER_DELTA);
      while (!(csr_read(mip) & MIP_MTIP)) __asm__ volatile("wfi");
      h1_seen[2] = csr_read(mip);
      mmio_write64(CLINT_MTIMECMP(1), ~0UL);
      h1_seen[3] = csr_read(mip);
    }
    fence();
    mmio_write32(CLINT_MSIP(0), 1);
  }
}

/* Send `cmd` to hart 1 and wait (wfi, MIE=0) for its answering IPI. */
static void ask_hart1(u64 cmd) {
  h1_seen[0] = h1_seen[1] = h1_seen[2] = h1_seen[3] = 0;
  h1_cmd = cmd;
  fence();
  mmio_write32(CLINT_MSIP(1), 1);
  while (!(csr_read(mip) & MIP_MSIP)) __asm__ volatile("wfi");
  mmio_write32(CLINT_MSIP(0), 0);
  fence();
}

/* Big-endian 32-bit word of the device tree. */
static u32 be32(const u8 *p) { return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3]; }

/* The number of /cpus/cpu@N nodes in the flattened device tree the boot ROM passed in a1. */
static int count_cpus(const u8 *fdt) {
  if (be32(fdt) != 0xd00dfeed) return -1;
  const u8 *p = fdt + be32(fdt + 8);
  int cpus = 0;
  for (;;) {
    u32 token = be32(p);
    p += 4;
    if (token == 1) { /* FDT_BEGIN_NODE: name, NUL, padding */
      const char *name = (const char *)p;
      if (name[0] == 'c' && name[1] == 'p' && name[2] == 'u' && name[3] == '@') cpus++;
      while (*p) p++;
      p = (const u8 *)(((u64)p + 4) & ~3UL);
    } else if (token == 3) { /* FDT_PROP: length, name offset, value, padding */
      p += 8 + ((be32(p) + 3) & ~3U);
    } else if (token == 2 || token == 4) { /* FDT_END_NODE, FDT_NOP */
    } else {
      break; /* FDT_END */
    }
  }
  return cpus;
}

static void two_harts(const u8 *fdt) {
  section("inter-processor interrupts");
  quiesce();
  int harts = count_cpus(fdt);
  print("harts in the device tree: %d\n", (i64)harts);
  if (harts < 2) return;
  /* Wait (at most 10 s of timebase) for hart 1 to say it runs. */
  u64 start = mmio_read64(CLINT_MTIME);
  while (!h1_alive && mmio_read64(CLINT_MTIME) - start < 100000000) {
  }
  print("hart 1 runs: %d\n", (i64)h1_alive);
  if (!h1_alive) return;
  csr_write(mie, MIP_MSIP);
  ask_hart1(0);
  pv("hart 1 woke with mip", h1_seen[0]);
  pv("hart 1 mip after clearing its msip", h1_seen[1]);
  pv("hart 0 mip after clearing its msip", mip_now());
  ask_hart1(1);
  pv("hart 1 mip when its timer fired", h1_seen[2]);
  pv("hart 1 mip after mtimecmp = ~0", h1_seen[3]);
  /* Hart 0's mtimecmp in the past does not touch hart 1. */
  mmio_write64(CLINT_MTIMECMP(0), 0);
  ask_hart1(0);
  pv("hart 0 MTIP pending: hart 1 saw mip", h1_seen[1]);
  pv("hart 0 mip", mip_now());
  mmio_write64(CLINT_MTIMECMP(0), ~0UL);
  pv("msip of hart 1 reads", mmio_read32(CLINT_MSIP(1)));
  pv("mtimecmp of hart 1 reads", mmio_read64(CLINT_MTIMECMP(1)));
  quiesce();
}

/* start.S passes on what the boot ROM gave: a0 = hartid, a1 = the device tree. */
int main(long hartid, const u8 *fdt) {
  (void)hartid;
  print("interrupts: CLINT, PLIC, delegation and priority\n");
  pmp_allow_all();
  clint_registers();
  software_interrupt();
  timer_interrupt();
  supervisor_timer();
  supervisor_software();
  external();
  priority();
  two_harts(fdt);
  print("\ninterrupts: done\n");
  return 0;
}
