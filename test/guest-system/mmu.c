/*
 * Virtual memory (Sv39 and Sv48), compared between QEMU and tsemu.
 *
 * M-mode builds page tables in .bss, points satp at them and runs probes
 * (one load, store or jump each, start.S) in S or U mode through
 * run_in_mode.  Page faults and access faults are delegated to the S-mode
 * handler, which records scause, sepc, stval and sstatus and steps over the
 * probe; M-mode then prints the record and the page-table entries, so that
 * the A and D bits the hardware set show too.
 *
 * Sv39 virtual layout (root39):
 *   0x0000_0000_4000_0000 + i * 4K   TEST_VA(i): 4 KiB test pages (l1_test -> l0_test)
 *   0x0000_0000_4020_0000            a 2 MiB page -> 0x8040_0000
 *   0x0000_0000_4040_0000            a misaligned 2 MiB page (PPN not 2 MiB aligned)
 *   0x0000_0000_8000_0000            identity, 1 GiB, RWX (code, data, stacks, tables)
 *   0x0000_0000_c000_0000            1 GiB page -> 0x8000_0000, read-only
 *   0x0000_0001_0000_0000            a misaligned 1 GiB page
 *   0x0000_0001_4000_0000            1 GiB, U|RWX -> 0x8000_0000: where U-mode code runs (UOFF)
 *   0xffff_ffff_8000_0000            high half, 1 GiB -> 0x8000_0000
 * Sv48 (root48): entry 0 is root39 used as a level-2 table, so the layout
 * above holds below 512 GiB; entry 256 (0xffff_8000_0000_0000) too; entry 1
 * is a 512 GiB page, entry 2 a misaligned one.
 *
 * The image, its stacks and page tables lie within 2 MiB of 0x8000_0000; the
 * 2 MiB page data at 0x8040_0000 is free RAM.
 */
#include "lib.h"

#define PTE_V 0x1UL
#define PTE_R 0x2UL
#define PTE_W 0x4UL
#define PTE_X 0x8UL
#define PTE_U 0x10UL
#define PTE_G 0x20UL
#define PTE_A 0x40UL
#define PTE_D 0x80UL
#define RWX (PTE_R | PTE_W | PTE_X)
#define AD (PTE_A | PTE_D)

#define SATP_SV39 (8UL << 60)
#define SATP_SV48 (9UL << 60)

#define TEST_BASE 0x40000000UL
#define TEST_VA(i) (TEST_BASE + (u64)(i) * 4096)
#define MEGA_VA 0x40200000UL
#define MEGA_BAD_VA 0x40400000UL
#define MEGA_PA 0x80400000UL
#define GIGA_VA 0xc0000000UL
#define GIGA_BAD_VA 0x100000000UL
#define U_ALIAS_VA 0x140000000UL
#define UOFF (U_ALIAS_VA - DRAM)
#define HIGH_VA 0xffffffff80000000UL
#define TERA_VA 0x8000000000UL
#define TERA_BAD_VA 0x10000000000UL
#define SV48_HIGH_VA 0xffff800000000000UL

/* Causes */
#define INSN_ACCESS 1
#define LOAD_ACCESS 5
#define STORE_ACCESS 7
#define INSN_PAGE 12
#define LOAD_PAGE 13
#define STORE_PAGE 15

static u64 root39[512] __attribute__((aligned(4096)));
static u64 root48[512] __attribute__((aligned(4096)));
static u64 l1_test[512] __attribute__((aligned(4096)));
static u64 l0_test[512] __attribute__((aligned(4096)));
/* Data pages: page i starts with the words 0xi0i0..., (i+1) */
#define NPAGES 8
static u8 pages[NPAGES][4096] __attribute__((aligned(4096)));

static u64 pte(u64 pa, u64 flags) { return ((pa >> 12) << 10) | flags; }
static u64 table(void *t) { return pte((u64)t, PTE_V); }
static u64 page_pa(int i) { return (u64)pages[i]; }

static void fill_pages(void) {
  for (int i = 0; i < NPAGES; i++) {
    u64 *w = (u64 *)pages[i];
    for (int j = 0; j < 512; j++) w[j] = 0xa0a0a0a000000000UL | ((u64)i << 16) | (u64)j;
  }
  u64 *mega = (u64 *)MEGA_PA;
  mega[0] = 0x6d6567612d706167UL; /* "gap-agem" */
  mega[512] = 0x6d6567612b346b30UL;
}

static void build_tables(void) {
  for (int i = 0; i < 512; i++) root39[i] = root48[i] = l1_test[i] = l0_test[i] = 0;
  root39[1] = table(l1_test);
  root39[2] = pte(DRAM, PTE_V | RWX | AD);
  root39[3] = pte(DRAM, PTE_V | PTE_R | AD);
  root39[4] = pte(DRAM + 0x200000, PTE_V | PTE_R | AD);
  root39[5] = pte(DRAM, PTE_V | RWX | PTE_U | AD);
  root39[510] = pte(DRAM, PTE_V | PTE_R | PTE_W | AD);
  l1_test[0] = table(l0_test);
  l1_test[1] = pte(MEGA_PA, PTE_V | PTE_R | PTE_W | AD);
  l1_test[2] = pte(MEGA_PA + 0x1000, PTE_V | PTE_R | AD);
  root48[0] = table(root39);
  root48[1] = pte(0, PTE_V | PTE_R | AD);
  root48[2] = pte(DRAM, PTE_V | PTE_R | AD);
  root48[256] = table(root39);
}

/* Set test page `i`'s PTE (0 = none) and flush the TLB. */
static void map(int i, u64 pa, u64 flags) {
  l0_test[i] = flags ? pte(pa, flags) : 0;
  __asm__ volatile("sfence.vma" : : : "memory");
}

/* ---- Running probes ---- */

enum { IN_S = 0, IN_U = 1 };

/* Run probe(va[, value]) in S or U; fetch probes resume at ra. */
static long run_probe(int mode, void *fn, u64 va, int fetch) {
  trap_reset();
  if (fetch) s_action = ACT_RESUME_RA;
  if (mode == IN_U) return run_in_mode(PRV_U, (long (*)(long))((u64)fn + UOFF), (long)va, 0, (long)UOFF);
  return run_in_mode(PRV_S, (long (*)(long))fn, (long)va, 0, 0);
}

/* Print a probe's result and what trapped: "label: <result> scause=... stval=..." on one line. */
static void report(const char *label, long r) {
  print("%s: -> %x", label, r);
  if (strap.count) print(" | scause=%x sepc=%x stval=%x sstatus=%x", strap.cause, strap.epc, strap.tval, strap.status);
  if (mtrap.count) print(" | mcause=%x mtval=%x mstatus=%x", mtrap.cause, mtrap.tval, mtrap.status);
  if (strap.count + mtrap.count > 1) print(" | traps=%d", strap.count + mtrap.count);
  putch('\n');
}

/* report() without stval. */
static void report_no_tval(const char *label, long r) {
  print("%s: -> %x", label, r);
  if (strap.count) print(" | scause=%x sepc=%x sstatus=%x", strap.cause, strap.epc, strap.status);
  if (mtrap.count) print(" | mcause=%x mstatus=%x", mtrap.cause, mtrap.status);
  putch('\n');
}

/* report() with the cause shown as the kind of access only (fetch, load, store), whether page or access fault. */
static void report_fault_kind(const char *label, long r) {
  static const char *const kind[16] = {
    [INSN_ACCESS] = "fetch", [LOAD_ACCESS] = "load", [STORE_ACCESS] = "store",
    [INSN_PAGE] = "fetch", [LOAD_PAGE] = "load", [STORE_PAGE] = "store",
  };
  print("%s: -> %x", label, r);
  if (strap.count) {
    const char *k = strap.cause < 16 && kind[strap.cause] ? kind[strap.cause] : "other";
    print(" | %s fault sepc=%x stval=%x sstatus=%x", k, strap.epc, strap.tval, strap.status);
  }
  if (mtrap.count) print(" | mcause=%x mtval=%x mstatus=%x", mtrap.cause, mtrap.tval, mtrap.status);
  putch('\n');
}

static void load(const char *label, int mode, u64 va) { report(label, run_probe(mode, (void *)probe_ld, va, 0)); }
static void store(const char *label, int mode, u64 va) { report(label, run_probe(mode, (void *)probe_sd, va, 0)); }
static void fetch(const char *label, int mode, u64 va) { report(label, run_probe(mode, (void *)probe_exec, va, 1)); }

static void show_pte(const char *label, int i) { print("  %s pte=%x\n", label, l0_test[i]); }

/* Code for ret_1234 copied to test page i (then executable wherever that page is mapped). */
static void put_code(int i) {
  u8 *d = pages[i];
  for (char *s = ret_1234; s < ret_1234_end; s++) *d++ = (u8)*s;
  __asm__ volatile("fence.i" : : : "memory");
}

/* ---- S-mode helpers that run whole sequences ---- */

/* Write test page 6's PTE to point at page 2, sfence.vma, then read TEST_VA(6). */
static long s_remap_and_read(long arg) {
  (void)arg;
  l0_test[6] = pte(page_pa(2), PTE_V | PTE_R | AD);
  __asm__ volatile("sfence.vma" : : : "memory");
  return *(volatile long *)TEST_VA(6);
}

/* sfence.vma with an address and an ASID operand, then read. */
static long s_remap_and_read_addr(long va) {
  l0_test[6] = pte(page_pa(3), PTE_V | PTE_R | AD);
  __asm__ volatile("sfence.vma %0, zero" : : "r"(va) : "memory");
  return *(volatile long *)va;
}

static void sv39_basic(void) {
  section("Sv39: 4 KiB pages, permissions, A and D");
  map(0, page_pa(0), PTE_V | PTE_R | PTE_W | AD);
  load("read RW page", IN_S, TEST_VA(0) + 8);
  store("write RW page", IN_S, TEST_VA(0) + 16);
  pv("  word 2 of page 0", ((u64 *)pages[0])[2]);

  map(1, page_pa(1), PTE_V | PTE_R | PTE_W);
  show_pte("A=0 D=0, before", 1);
  load("read, A=0 D=0", IN_S, TEST_VA(1));
  show_pte("after the read", 1);
  store("write", IN_S, TEST_VA(1) + 8);
  show_pte("after the write", 1);
  map(1, page_pa(1), PTE_V | PTE_R | PTE_W | PTE_A);
  store("write, A=1 D=0", IN_S, TEST_VA(1) + 8);
  show_pte("after the write", 1);
  map(1, page_pa(1), PTE_V | PTE_R | PTE_W);
  store("write first, A=0 D=0", IN_S, TEST_VA(1) + 8);
  show_pte("after the write", 1);

  map(2, page_pa(2), 0);
  load("read, PTE 0", IN_S, TEST_VA(2));
  store("write, PTE 0", IN_S, TEST_VA(2));
  fetch("fetch, PTE 0", IN_S, TEST_VA(2));
  map(2, page_pa(2), PTE_R | PTE_W | PTE_X | AD);
  load("read, V=0 with RWX", IN_S, TEST_VA(2) + 0x10);
  show_pte("not touched", 2);

  map(3, page_pa(3), PTE_V | PTE_W | AD);
  load("read, W without R", IN_S, TEST_VA(3));
  store("write, W without R", IN_S, TEST_VA(3));
  map(3, page_pa(3), PTE_V | PTE_W | PTE_X | AD);
  fetch("fetch, W|X without R", IN_S, TEST_VA(3));

  map(4, page_pa(4), PTE_V | PTE_R | PTE_A);
  store("write to a read-only page", IN_S, TEST_VA(4) + 24);
  show_pte("D stays clear", 4);
  load("read it", IN_S, TEST_VA(4) + 24);

  /* Execute: ret_1234 copied to page 5. */
  put_code(5);
  map(5, page_pa(5), PTE_V | PTE_R | PTE_X);
  show_pte("X page, A=0", 5);
  fetch("fetch from an X page", IN_S, TEST_VA(5));
  show_pte("after the fetch", 5);
  map(5, page_pa(5), PTE_V | PTE_R | PTE_W | AD);
  fetch("fetch from a non-X page", IN_S, TEST_VA(5));
  map(5, page_pa(5), PTE_V | PTE_X | AD);
  load("read an X-only page, MXR=0", IN_S, TEST_VA(5));
  csr_set(mstatus, MSTATUS_MXR);
  load("read an X-only page, MXR=1", IN_S, TEST_VA(5));
  store("write an X-only page, MXR=1", IN_S, TEST_VA(5));
  csr_clear(mstatus, MSTATUS_MXR);
  load("read it again, MXR=0", IN_S, TEST_VA(5) + 8);

  /* A leaf's reserved and PBMT bits (63:54) must be zero (no Svpbmt, Svnapot). */
  map(7, page_pa(7), PTE_V | PTE_R | AD);
  l0_test[7] |= 1UL << 61;
  __asm__ volatile("sfence.vma");
  load("read, PTE bit 61 (PBMT) set", IN_S, TEST_VA(7));
  map(7, page_pa(7), PTE_V | PTE_R | AD);
  l0_test[7] |= 1UL << 63;
  __asm__ volatile("sfence.vma");
  load("read, PTE bit 63 (N) set", IN_S, TEST_VA(7));
  map(7, page_pa(7), PTE_V | PTE_R | AD);
  l0_test[7] |= 1UL << 54;
  __asm__ volatile("sfence.vma");
  load("read, PTE bit 54 set", IN_S, TEST_VA(7));
  map(7, page_pa(7), PTE_V | PTE_R | AD | PTE_G | (1UL << 8) | (1UL << 9));
  load("read, G and RSW bits set", IN_S, TEST_VA(7) + 8);

  /* A non-leaf entry at the last level. */
  l0_test[8] = table(l0_test);
  __asm__ volatile("sfence.vma");
  load("read, pointer PTE at level 0", IN_S, TEST_VA(8));

  /* A leaf pointing outside memory: the walk succeeds, the access faults. */
  map(9, 0x0, PTE_V | PTE_R | PTE_W | PTE_X | AD);
  load("read, leaf -> PA 0", IN_S, TEST_VA(9) + 0x40);
  store("write, leaf -> PA 0", IN_S, TEST_VA(9) + 0x40);
  fetch("fetch, leaf -> PA 0", IN_S, TEST_VA(9) + 0x40);
  map(9, 0x88000000UL, PTE_V | PTE_R | AD);
  load("read, leaf -> PA past RAM", IN_S, TEST_VA(9) + 0x48);
  map(9, UART0, PTE_V | PTE_R | PTE_W | AD);
  report("read the UART's LSR through a page", run_probe(IN_S, (void *)probe_lbu, TEST_VA(9) + 5, 0));
  map(9, 0, 0);
}

static void sv39_user(void) {
  section("Sv39: U pages, SUM, U-mode");
  map(0, page_pa(0), PTE_V | PTE_R | PTE_W | PTE_U | AD);
  load("S reads a U page, SUM=0", IN_S, TEST_VA(0));
  store("S writes a U page, SUM=0", IN_S, TEST_VA(0));
  csr_set(mstatus, MSTATUS_SUM);
  load("S reads a U page, SUM=1", IN_S, TEST_VA(0) + 8);
  store("S writes a U page, SUM=1", IN_S, TEST_VA(0) + 32);
  put_code(5);
  map(5, page_pa(5), PTE_V | PTE_R | PTE_X | PTE_U | AD);
  fetch("S fetches from a U page, SUM=1", IN_S, TEST_VA(5));
  csr_clear(mstatus, MSTATUS_SUM);
  /* The translation S used with SUM=1 must not outlive it. */
  load("S reads the U page again, SUM=0", IN_S, TEST_VA(0) + 8);

  load("U reads a U page", IN_U, TEST_VA(0) + 8);
  store("U writes a U page", IN_U, TEST_VA(0) + 40);
  fetch("U fetches from a U page", IN_U, TEST_VA(5));
  map(1, page_pa(1), PTE_V | PTE_R | PTE_W | AD);
  load("U reads an S page", IN_U, TEST_VA(1));
  store("U writes an S page", IN_U, TEST_VA(1));
  map(5, page_pa(5), PTE_V | PTE_R | PTE_X | AD);
  fetch("U fetches from an S page", IN_U, TEST_VA(5));
  map(5, page_pa(5), PTE_V | PTE_X | PTE_U | AD);
  load("U reads an X-only U page, MXR=0", IN_U, TEST_VA(5));
  csr_set(mstatus, MSTATUS_MXR);
  load("U reads an X-only U page, MXR=1", IN_U, TEST_VA(5));
  csr_clear(mstatus, MSTATUS_MXR);
  map(0, page_pa(0), PTE_V | PTE_R | PTE_U);
  store("U writes a read-only U page", IN_U, TEST_VA(0) + 40);
  show_pte("A set by the failed write?", 0);
  load("U reads it", IN_U, TEST_VA(0) + 40);
  show_pte("after the read", 0);
}

static void sv39_super(void) {
  section("Sv39: superpages, canonical addresses");
  load("2 MiB page, offset 0", IN_S, MEGA_VA);
  load("2 MiB page, offset 4 KiB", IN_S, MEGA_VA + 0x1000);
  store("2 MiB page, write", IN_S, MEGA_VA + 0x1ff000);
  print("  l1 pte=%x\n", l1_test[1]);
  load("misaligned 2 MiB page", IN_S, MEGA_BAD_VA + 0x10);
  load("1 GiB page at 0xc0000000", IN_S, GIGA_VA + (MEGA_PA - DRAM));
  store("1 GiB read-only page, write", IN_S, GIGA_VA + (MEGA_PA - DRAM));
  load("misaligned 1 GiB page", IN_S, GIGA_BAD_VA + 0x1000);
  load("high half 0xffffffff80400000", IN_S, HIGH_VA + (MEGA_PA - DRAM));
  load("non-canonical 0x4000000000", IN_S, 0x4000000000UL);
  store("non-canonical 0x8000000000", IN_S, 0x8000000000UL);
  fetch("non-canonical 0xffff000080000000", IN_S, 0xffff000080000000UL);
  load("canonical but unmapped 0xffffffc000000000", IN_S, 0xffffffc000000000UL);
  load("unmapped 0x3fffff000", IN_S, 0x3fffff000UL);
  /*
   * A pointer to a table outside memory: the walk's own read fails.  The
   * spec asks for an access fault (tsemu); QEMU 7.2 raises a page fault.
   * Only the kind of access and stval are compared.
   */
  root39[6] = pte(0x1000000, PTE_V);
  __asm__ volatile("sfence.vma" : : : "memory");
  report_fault_kind("walk reads a PTE outside memory", run_probe(IN_S, (void *)probe_ld, 0x180000000UL, 0));
  report_fault_kind("walk reads a PTE outside memory (store)", run_probe(IN_S, (void *)probe_sd, 0x180000008UL, 0));
  report_fault_kind("walk reads a PTE outside memory (fetch)", run_probe(IN_S, (void *)probe_exec, 0x180000000UL, 1));
  root39[6] = 0;
}

static void sv39_sfence(void) {
  section("sfence.vma after changing a PTE");
  map(6, page_pa(1), PTE_V | PTE_R | AD);
  load("before", IN_S, TEST_VA(6));
  trap_reset();
  report("S remaps to page 2, sfence.vma, reads", run_in_mode(PRV_S, s_remap_and_read, 0, 0, 0));
  trap_reset();
  report("S remaps to page 3, sfence.vma va, reads", run_in_mode(PRV_S, s_remap_and_read_addr, (long)TEST_VA(6) + 8, 0, 0));
  /* M changes the PTE and flushes: S sees the new mapping. */
  l0_test[6] = pte(page_pa(4), PTE_V | PTE_R | AD);
  __asm__ volatile("sfence.vma" : : : "memory");
  load("after M changed it and flushed", IN_S, TEST_VA(6) + 16);
  map(6, 0, 0);
  load("after M removed it", IN_S, TEST_VA(6));
}

/* ---- MPRV ---- */

static void clear_mprv(struct trap_frame *f, u64 cause) {
  (void)f;
  (void)cause;
  csr_clear(mstatus, MSTATUS_MPRV);
}

/*
 * An M-mode access with mstatus.MPRV = 1 and MPP = S (plus `extra` bits):
 * translated and checked as S.  Nothing here may touch memory that S cannot
 * reach (no printing) until MPRV is clear again; a trap clears it (m_hook).
 */
static long probe_ld2(u64 va, u64 unused) {
  (void)unused;
  return probe_ld(va);
}

static long mprv_access(long (*probe)(u64, u64), u64 va, u64 extra) {
  trap_reset();
  m_hook = clear_mprv;
  csr_clear(mstatus, MSTATUS_MPP);
  csr_set(mstatus, (1UL << MPP_SHIFT) | MSTATUS_MPRV | extra);
  long r = probe(va, 0x5a5a);
  csr_clear(mstatus, MSTATUS_MPRV | MSTATUS_MPP | extra);
  return r;
}

static void mprv(void) {
  section("MPRV with MPP = S from M-mode");
  map(0, page_pa(0), PTE_V | PTE_R | PTE_W | AD);
  map(1, page_pa(1), PTE_V | PTE_R | PTE_W | PTE_U | AD);
  map(2, page_pa(2), PTE_V | PTE_X | AD);
  report("M ld, MPRV, S page", mprv_access(probe_ld2, TEST_VA(0) + 8, 0));
  report("M sd, MPRV, S page", mprv_access(probe_sd, TEST_VA(0) + 48, 0));
  pv("  stored", ((u64 *)pages[0])[6]);
  report("M ld, MPRV, U page, SUM=0", mprv_access(probe_ld2, TEST_VA(1), 0));
  report("M ld, MPRV, U page, SUM=1", mprv_access(probe_ld2, TEST_VA(1), MSTATUS_SUM));
  report("M ld, MPRV, X-only page, MXR=0", mprv_access(probe_ld2, TEST_VA(2), 0));
  report("M ld, MPRV, X-only page, MXR=1", mprv_access(probe_ld2, TEST_VA(2), MSTATUS_MXR));
  report("M ld, MPRV, unmapped", mprv_access(probe_ld2, TEST_VA(3), 0));
  report("M amoadd.d, MPRV, S page", mprv_access(probe_amoadd_d, TEST_VA(0) + 56, 0));
  pv("  after the AMO", ((u64 *)pages[0])[7]);
  pv("mstatus after", csr_read(mstatus));
  /* MPRV does not apply to fetches: M keeps running from physical addresses. */
  trap_reset();
  csr_clear(mstatus, MSTATUS_MPP);
  csr_set(mstatus, (1UL << MPP_SHIFT) | MSTATUS_MPRV);
  long r = ((long (*)(void))ret_1234)();
  csr_clear(mstatus, MSTATUS_MPRV | MSTATUS_MPP);
  report("M calls code with MPRV set", r);
}

static void sv48(void) {
  section("Sv48");
  csr_write(satp, SATP_SV48 | ((u64)root48 >> 12));
  pv("satp mode", csr_read(satp) >> 60);
  map(0, page_pa(0), PTE_V | PTE_R | PTE_W | AD);
  load("4 KiB page through 4 levels", IN_S, TEST_VA(0) + 8);
  load("0x4000000000: canonical in Sv48, unmapped", IN_S, 0x4000000000UL);
  load("512 GiB page at 0x8000000000", IN_S, TERA_VA + MEGA_PA);
  store("512 GiB page, read-only", IN_S, TERA_VA + MEGA_PA);
  load("misaligned 512 GiB page", IN_S, TERA_BAD_VA);
  load("high half 0xffff800040000008", IN_S, SV48_HIGH_VA + TEST_VA(0) + 8);
  load("non-canonical 0x0000800000000000", IN_S, 0x0000800000000000UL);
  load("non-canonical 0xfff0800000000000", IN_S, 0xfff0800000000000UL);
  load("U reads an S page through Sv48", IN_U, TEST_VA(0));
  map(0, page_pa(0), PTE_V | PTE_R | PTE_W | PTE_U | AD);
  load("U reads a U page through Sv48", IN_U, TEST_VA(0) + 16);
  store("U writes it", IN_U, TEST_VA(0) + 64);
  pv("  word 8 of page 0", ((u64 *)pages[0])[8]);
  csr_write(satp, SATP_SV39 | ((u64)root39 >> 12));
}

/* A 4-byte instruction whose second half lies on an unmapped page. */
static void straddle(void) {
  section("instruction across a page boundary");
  /* li a0, 0x55 (addi a0, x0, 0x55) at the last 2 bytes of page 6, then ret on page 7. */
  u32 li = 0x05500513;
  u8 *end = pages[6] + 4094;
  end[0] = (u8)li;
  end[1] = (u8)(li >> 8);
  pages[7][0] = (u8)(li >> 16);
  pages[7][1] = (u8)(li >> 24);
  pages[7][2] = 0x82; /* c.ret = 0x8082 */
  pages[7][3] = 0x80;
  __asm__ volatile("fence.i" : : : "memory");
  map(6, page_pa(6), PTE_V | PTE_R | PTE_X | AD);
  map(7, page_pa(7), PTE_V | PTE_R | PTE_X | AD);
  fetch("both pages mapped", IN_S, TEST_VA(6) + 4094);
  /*
   * When the second half faults, QEMU (as the spec asks) puts the address of
   * that half's page in stval; tsemu 0.1 reports the instruction's start.
   * stval is left out until tsemu's interpreter is fixed.
   */
  map(7, 0, 0);
  report_no_tval("second page unmapped", run_probe(IN_S, (void *)probe_exec, TEST_VA(6) + 4094, 1));
  map(7, page_pa(7), PTE_V | PTE_R | AD);
  report_no_tval("second page not executable", run_probe(IN_S, (void *)probe_exec, TEST_VA(6) + 4094, 1));
  map(6, 0, 0);
  map(7, 0, 0);
}

int main(void) {
  print("mmu: Sv39 and Sv48 page tables\n");
  pmp_allow_all();
  fill_pages();
  build_tables();
  /* Page and access faults go to the S handler; everything else to M. */
  csr_write(medeleg, (1UL << INSN_ACCESS) | (1UL << LOAD_ACCESS) | (1UL << STORE_ACCESS) | (1UL << INSN_PAGE) |
                         (1UL << LOAD_PAGE) | (1UL << STORE_PAGE));
  csr_write(stvec, (u64)s_trap_entry);
  csr_write(satp, SATP_SV39 | ((u64)root39 >> 12));
  __asm__ volatile("sfence.vma");
  pv("satp", csr_read(satp) & ~0xfffffffffffUL);
  sv39_basic();
  sv39_user();
  sv39_super();
  sv39_sfence();
  mprv();
  sv48();
  straddle();
  csr_write(satp, 0);
  print("\nmmu: done\n");
  return 0;
}
