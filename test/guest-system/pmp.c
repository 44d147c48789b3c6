/*
 * Physical memory protection, compared between QEMU and tsemu.
 *
 * M-mode sets PMP entries over test regions in free RAM and probes them
 * with a load, a store and a jump from M, S and U (satp is Bare, so S and
 * U addresses are physical); each probe prints "ok" or the cause of the
 * access fault it raised.  Entry 15 gives S and U the program image (code,
 * data, stacks) and nothing else, so that an address no entry matches is
 * denied to them.  Covered: TOR, NA4 and NAPOT regions, R/W/X
 * combinations, the priority of lower-numbered entries, M-mode unaffected
 * by unlocked entries and bound by locked ones, locked entries ignoring
 * writes (and a locked TOR entry locking the address below it), MPRV, and
 * the page-table walk checked by PMP.  Locks last until reset, so those
 * tests come last.
 *
 * Not covered: the state with no entry set at all (QEMU 7.2 then refuses
 * an mret to S or U); R=0 W=1 and the reserved pmpcfg bits (QEMU 7.2 keeps
 * them as written, tsemu clears them); an access that an entry matches only
 * in part, e.g. an aligned 8-byte load over two NA4 entries (it must fail,
 * as in QEMU; tsemu 0.1 checks the first byte only).
 */
#include "lib.h"

#define PMP_R 0x01UL
#define PMP_W 0x02UL
#define PMP_X 0x04UL
#define PMP_TOR 0x08UL
#define PMP_NA4 0x10UL
#define PMP_NAPOT 0x18UL
#define PMP_L 0x80UL
#define RWX (PMP_R | PMP_W | PMP_X)

/* Test regions: free RAM above the image. */
#define REGION 0x80200000UL
#define IMAGE_SIZE 0x100000UL

static u64 napot(u64 base, u64 size) { return (base | (size / 2 - 1)) >> 2; }

static void set_addr(int i, u64 v) {
  switch (i) {
    case 0: csr_write(pmpaddr0, v); break;
    case 1: csr_write(pmpaddr1, v); break;
    case 2: csr_write(pmpaddr2, v); break;
    case 3: csr_write(pmpaddr3, v); break;
    case 4: csr_write(pmpaddr4, v); break;
    case 5: csr_write(pmpaddr5, v); break;
    case 6: csr_write(pmpaddr6, v); break;
    case 7: csr_write(pmpaddr7, v); break;
    case 8: csr_write(pmpaddr8, v); break;
    case 9: csr_write(pmpaddr9, v); break;
    case 10: csr_write(pmpaddr10, v); break;
    case 11: csr_write(pmpaddr11, v); break;
    case 12: csr_write(pmpaddr12, v); break;
    case 13: csr_write(pmpaddr13, v); break;
    case 14: csr_write(pmpaddr14, v); break;
    default: csr_write(pmpaddr15, v); break;
  }
}

static u64 get_addr(int i) {
  switch (i) {
    case 0: return csr_read(pmpaddr0);
    case 1: return csr_read(pmpaddr1);
    case 2: return csr_read(pmpaddr2);
    case 3: return csr_read(pmpaddr3);
    case 4: return csr_read(pmpaddr4);
    case 5: return csr_read(pmpaddr5);
    case 6: return csr_read(pmpaddr6);
    case 7: return csr_read(pmpaddr7);
    case 8: return csr_read(pmpaddr8);
    case 9: return csr_read(pmpaddr9);
    case 10: return csr_read(pmpaddr10);
    case 11: return csr_read(pmpaddr11);
    case 12: return csr_read(pmpaddr12);
    case 13: return csr_read(pmpaddr13);
    case 14: return csr_read(pmpaddr14);
    default: return csr_read(pmpaddr15);
  }
}

/* Entry i's configuration byte (pmpcfg0 holds 0-7, pmpcfg2 8-15). */
static void set_cfg(int i, u64 cfg) {
  int shift = (i % 8) * 8;
  u64 mask = 0xffUL << shift;
  if (i < 8) csr_write(pmpcfg0, (csr_read(pmpcfg0) & ~mask) | (cfg << shift));
  else csr_write(pmpcfg2, (csr_read(pmpcfg2) & ~mask) | (cfg << shift));
}

static void entry(int i, u64 cfg, u64 addr) {
  set_addr(i, addr);
  set_cfg(i, cfg);
}

/* Entries 0-14 off; entry 15 lets S and U reach the image only. */
static void reset_entries(void) {
  csr_write(pmpcfg0, 0);
  csr_write(pmpcfg2, 0);
  for (int i = 0; i < 15; i++) set_addr(i, 0);
  entry(15, PMP_NAPOT | RWX, napot(DRAM, IMAGE_SIZE));
  __asm__ volatile("sfence.vma");
}

/* ---- Probes ---- */

/* Run one probe in `mode` (3 = M, directly) and print "ok" or the cause. */
static void one(long mode, long (*fn)(long), u64 addr, int fetch) {
  trap_reset();
  if (fetch) m_action = ACT_RESUME_RA;
  if (mode == PRV_M) fn((long)addr);
  else run_in_mode(mode, fn, (long)addr, 0, 0);
  if (mtrap.count == 0) {
    print(" ok");
  } else {
    print(" %d", mtrap.cause);
    if (mtrap.tval != addr) print("(tval %x)", mtrap.tval);
  }
}

static long ld_fn(long a) { return probe_ld((u64)a); }
static long lw_fn(long a) { return probe_lw((u64)a); }
/* The store writes what fill_code put there, so that the code stays intact for the jumps. */
static long sd_fn(long a) { return probe_sd((u64)a, *(volatile u64 *)ret_1234); }
static long x_fn(long a) { return probe_exec((u64)a); }

/* "label addr: M ld sd x | S ld sd x | U ld sd x" */
static void probe_all(const char *label, u64 addr) {
  print("%s %x: M", label, addr);
  one(PRV_M, ld_fn, addr, 0);
  one(PRV_M, sd_fn, addr, 0);
  one(PRV_M, x_fn, addr, 1);
  print(" | S");
  one(PRV_S, ld_fn, addr, 0);
  one(PRV_S, sd_fn, addr, 0);
  one(PRV_S, x_fn, addr, 1);
  print(" | U");
  one(PRV_U, ld_fn, addr, 0);
  one(PRV_U, sd_fn, addr, 0);
  one(PRV_U, x_fn, addr, 1);
  putch('\n');
}

/* Only S and U. */
static void probe_su(const char *label, u64 addr) {
  print("%s %x: S", label, addr);
  one(PRV_S, ld_fn, addr, 0);
  one(PRV_S, sd_fn, addr, 0);
  one(PRV_S, x_fn, addr, 1);
  print(" | U");
  one(PRV_U, ld_fn, addr, 0);
  one(PRV_U, sd_fn, addr, 0);
  one(PRV_U, x_fn, addr, 1);
  putch('\n');
}

/* Only S (the page tables of the walk test have no U pages). */
static void probe_s(const char *label, u64 addr) {
  print("%s %x: S", label, addr);
  one(PRV_S, ld_fn, addr, 0);
  one(PRV_S, sd_fn, addr, 0);
  one(PRV_S, x_fn, addr, 1);
  putch('\n');
}

/* Put "li a0, 0x1234; ret" every 256 bytes of [base, base + size), so that a jump anywhere on that grid returns. */
static void fill_code(u64 base, u64 size) {
  for (u64 a = base; a < base + size; a += 256) {
    u8 *d = (u8 *)a;
    for (char *s = ret_1234; s < ret_1234_end; s++) *d++ = (u8)*s;
  }
  __asm__ volatile("fence.i" : : : "memory");
}

/* ---- Tests ---- */

static void registers(void) {
  section("registers");
  print("image fits in the first MiB: %d\n", (i64)((u64)__image_end <= DRAM + IMAGE_SIZE));
  reset_entries();
  pv("pmpcfg0", csr_read(pmpcfg0));
  pv("pmpcfg2", csr_read(pmpcfg2));
  pv("pmpaddr15 (NAPOT 1 MiB at 0x80000000)", get_addr(15));
  static const u64 values[] = { 0, 1, 0x123456789UL, 0x20080000UL, 0x200801ffUL, 0x003fffffffffffffUL };
  for (unsigned i = 0; i < sizeof values / sizeof values[0]; i++) {
    set_addr(3, values[i]);
    print("pmpaddr3 <- %x: ", values[i]);
    pv("read", get_addr(3));
  }
  /* The same with the entry in each mode: G = 0, so nothing is masked. */
  static const u64 modes[] = { PMP_TOR, PMP_NA4, PMP_NAPOT };
  for (unsigned i = 0; i < 3; i++) {
    entry(3, modes[i] | PMP_R, 0x200801ffUL);
    print("cfg %x: ", modes[i] | PMP_R);
    pv("pmpaddr3", get_addr(3));
  }
  reset_entries();
  csr_write(pmpcfg2, 0x0f1d0d1c0b190908UL);
  pv("pmpcfg2 <- 0f1d0d1c0b190908", csr_read(pmpcfg2));
  reset_entries();
}

static void tor(void) {
  section("TOR");
  fill_code(REGION - 0x100, 0x10100);
  reset_entries();
  /* Entry 1: [REGION, REGION + 0x1000) (entry 0 off, its address the base). */
  static const u64 perms[] = { 0, PMP_R, PMP_R | PMP_W, PMP_X, PMP_R | PMP_X, RWX };
  for (unsigned i = 0; i < sizeof perms / sizeof perms[0]; i++) {
    entry(0, 0, REGION >> 2);
    entry(1, PMP_TOR | perms[i], (REGION + 0x1000) >> 2);
    print("TOR with R W X = %x\n", perms[i]);
    probe_su("  start", REGION);
    probe_su("  last page offset", REGION + 0xf00);
  }
  entry(1, PMP_TOR | RWX, (REGION + 0x1000) >> 2);
  probe_all("  just above", REGION + 0x1000);
  probe_all("  just below", REGION - 0x100);
  /* Entry 0 as TOR starts at 0 (so it covers the image too: RWX). */
  reset_entries();
  entry(0, PMP_TOR | RWX, (REGION + 0x100) >> 2);
  probe_su("TOR entry 0 [0, REGION + 0x100)", REGION);
  probe_su("  its top", REGION + 0x100);
  /* An empty range (top below base) matches nothing. */
  reset_entries();
  entry(4, 0, (REGION + 0x1000) >> 2);
  entry(5, PMP_TOR | RWX, REGION >> 2);
  probe_su("TOR, top below base", REGION + 0x800);
  reset_entries();
}

static void na4_napot(void) {
  section("NA4 and NAPOT");
  reset_entries();
  entry(2, PMP_NA4 | PMP_R | PMP_W, (REGION + 0x2000) >> 2);
  print("NA4 RW at %x\n", REGION + 0x2000);
  trap_reset();
  run_in_mode(PRV_S, lw_fn, (long)(REGION + 0x2000), 0, 0);
  print("  S lw at the word: %s\n", mtrap.count ? "fault" : "ok");
  trap_reset();
  run_in_mode(PRV_S, lw_fn, (long)(REGION + 0x2004), 0, 0);
  print("  S lw at the next word: %s\n", mtrap.count ? "fault" : "ok");

  reset_entries();
  entry(3, PMP_NAPOT | PMP_R, napot(REGION + 0x4000, 0x1000));
  pv("NAPOT 4 KiB R, pmpaddr3", get_addr(3));
  probe_su("  first byte", REGION + 0x4000);
  probe_su("  last 8 bytes", REGION + 0x4ff8);
  probe_su("  next", REGION + 0x5000);
  reset_entries();
  /* 8 bytes, X: a lone ret there (the jump's whole code lies in the region). */
  *(volatile u32 *)(REGION + 0x4000) = 0x00008067;
  __asm__ volatile("fence.i" : : : "memory");
  entry(3, PMP_NAPOT | PMP_X, napot(REGION + 0x4000, 8));
  pv("NAPOT 8 bytes X, pmpaddr3", get_addr(3));
  probe_su("  its start", REGION + 0x4000);
  entry(3, PMP_NAPOT | RWX, napot(REGION, 0x10000));
  pv("NAPOT 64 KiB RWX, pmpaddr3", get_addr(3));
  probe_su("  start", REGION);
  probe_su("  end", REGION + 0xff00);
  probe_su("  past it", REGION + 0x10000);
  /* NAPOT over the whole address space (pmpaddr all ones), R X: it covers the image too. */
  fill_code(REGION + 0x20000, 0x100);
  entry(3, PMP_NAPOT | PMP_R | PMP_X, ~0UL);
  probe_su("NAPOT everything, R X", REGION + 0x20000);
  reset_entries();
}

static void priority(void) {
  section("entry priority");
  reset_entries();
  /* Entry 4: 8 KiB R; entry 5 inside it: 4 KiB RW.  The lower number wins. */
  entry(4, PMP_NAPOT | PMP_R, napot(REGION + 0x8000, 0x2000));
  entry(5, PMP_NAPOT | PMP_R | PMP_W, napot(REGION + 0x8000, 0x1000));
  probe_su("R entry 4 over RW entry 5", REGION + 0x8000);
  entry(4, PMP_NAPOT | PMP_R | PMP_W, napot(REGION + 0x8000, 0x1000));
  entry(5, PMP_NAPOT | PMP_R, napot(REGION + 0x8000, 0x2000));
  probe_su("RW entry 4 over R entry 5", REGION + 0x8000);
  probe_su("  outside 4, inside 5", REGION + 0x9000);
  reset_entries();
  reset_entries();
}

/* ---- MPRV ---- */

static void clear_mprv(struct trap_frame *f, u64 cause) {
  (void)f;
  (void)cause;
  csr_clear(mstatus, MSTATUS_MPRV);
}

/* An M-mode access with MPRV = 1 and MPP = `mpp`: checked by PMP as that mode. */
static void mprv_probe(const char *label, u64 mpp, long (*fn)(long), u64 addr) {
  trap_reset();
  m_hook = clear_mprv;
  csr_clear(mstatus, MSTATUS_MPP);
  csr_set(mstatus, (mpp << MPP_SHIFT) | MSTATUS_MPRV);
  fn((long)addr);
  csr_clear(mstatus, MSTATUS_MPRV | MSTATUS_MPP);
  print("%s: %s", label, mtrap.count ? "fault" : "ok");
  if (mtrap.count) print(" mcause=%x mtval=%x", mtrap.cause, mtrap.tval);
  putch('\n');
}

static void mprv(void) {
  section("MPRV");
  reset_entries();
  entry(2, PMP_NAPOT | PMP_R, napot(REGION + 0xc000, 0x1000));
  mprv_probe("M ld, MPRV, MPP=U, R region", PRV_U, ld_fn, REGION + 0xc000);
  mprv_probe("M sd, MPRV, MPP=U, R region", PRV_U, sd_fn, REGION + 0xc000);
  mprv_probe("M sd, MPRV, MPP=S, R region", PRV_S, sd_fn, REGION + 0xc000);
  mprv_probe("M sd, MPRV, MPP=M, R region", PRV_M, sd_fn, REGION + 0xc000);
  mprv_probe("M ld, MPRV, MPP=S, no entry", PRV_S, ld_fn, REGION + 0xd000);
  /* Fetches are not affected by MPRV. */
  trap_reset();
  m_action = ACT_RESUME_RA;
  csr_clear(mstatus, MSTATUS_MPP);
  csr_set(mstatus, MSTATUS_MPRV);
  probe_exec(REGION + 0xd000);
  csr_clear(mstatus, MSTATUS_MPRV);
  print("M jumps to a region with no entry, MPRV with MPP=U: %s\n", mtrap.count ? "fault" : "ok");
  reset_entries();
}

/* ---- The page-table walk ---- */

/*
 * Sv39: root[2] maps the image (1 GiB identity, so S code runs); root[1]
 * points to l1, whose entry 1 maps VA 0x40200000 to REGION (2 MiB).  PMP
 * then denies S reads of l1's page only.
 */
static u64 root[512] __attribute__((aligned(4096)));
static u64 l1[512] __attribute__((aligned(4096)));
#define WALK_VA 0x40200000UL

static void walk(void) {
  section("page-table walk checked by PMP");
  for (int i = 0; i < 512; i++) root[i] = l1[i] = 0;
  root[1] = (((u64)l1 >> 12) << 10) | 0x01;
  root[2] = ((DRAM >> 12) << 10) | 0xcf;
  l1[1] = ((REGION >> 12) << 10) | 0xcf;
  csr_write(medeleg, 0);
  csr_write(satp, (8UL << 60) | ((u64)root >> 12));
  reset_entries();
  entry(1, PMP_NAPOT | RWX, napot(REGION, 0x10000));
  __asm__ volatile("sfence.vma");
  probe_s("tables readable", WALK_VA + 0x100);
  /* Entry 0 (before entry 15) leaves l1's page X only: the walk's read of l1 faults. */
  entry(0, PMP_NAPOT | PMP_X, napot((u64)l1, 0x1000));
  __asm__ volatile("sfence.vma");
  probe_s("level-1 table not readable", WALK_VA + 0x100);
  /* The walk succeeds and the target is R only. */
  entry(0, 0, 0);
  entry(1, PMP_NAPOT | PMP_R, napot(REGION, 0x10000));
  __asm__ volatile("sfence.vma");
  probe_s("target R only", WALK_VA + 0x100);
  /* M-mode does not walk. */
  trap_reset();
  probe_ld(REGION + 0x100);
  print("M ld of the target: %s\n", mtrap.count ? "fault" : "ok");
  csr_write(satp, 0);
  __asm__ volatile("sfence.vma");
  reset_entries();
}

/* ---- Locks (last: they stay until reset) ---- */

static void locks(void) {
  section("locked entries");
  reset_entries();
  fill_code(REGION + 0x10000, 0x4000);
  /* Entry 6: 4 KiB, R only, locked: binds M too. */
  entry(6, PMP_NAPOT | PMP_R | PMP_L, napot(REGION + 0x10000, 0x1000));
  probe_all("locked R", REGION + 0x10000);
  /* Entry 7: 4 KiB, R X, not locked: M unaffected. */
  entry(7, PMP_NAPOT | PMP_R | PMP_X, napot(REGION + 0x11000, 0x1000));
  probe_all("unlocked R X", REGION + 0x11000);
  /* A locked entry ignores writes to its cfg and address. */
  u64 cfg_before = csr_read(pmpcfg0);
  u64 addr_before = get_addr(6);
  set_cfg(6, PMP_NAPOT | RWX);
  set_addr(6, napot(REGION, 0x1000));
  pv("pmpcfg0 after writing entry 6 (locked)", csr_read(pmpcfg0));
  print("  unchanged: cfg %d addr %d\n", (i64)(csr_read(pmpcfg0) == cfg_before), (i64)(get_addr(6) == addr_before));
  probe_all("  still locked R", REGION + 0x10000);
  /* Entry 7 can still change. */
  set_cfg(7, PMP_NAPOT | RWX);
  pv("pmpcfg0 after writing entry 7", csr_read(pmpcfg0));

  /* A locked TOR entry also locks the address register below it. */
  entry(8, 0, (REGION + 0x12000) >> 2);
  entry(9, PMP_TOR | PMP_R | PMP_X | PMP_L, (REGION + 0x13000) >> 2);
  set_addr(8, REGION >> 2);
  pv("pmpaddr8 after a write (locked by TOR entry 9)", get_addr(8));
  pv("pmpcfg2", csr_read(pmpcfg2));
  probe_all("locked TOR R X", REGION + 0x12000);
  probe_all("  its top", REGION + 0x13000);
  /* Entry 8 itself is not locked: its cfg still changes. */
  set_cfg(8, PMP_NA4 | PMP_R);
  pv("pmpcfg2 after writing entry 8", csr_read(pmpcfg2));
  /* An unlocked lower-numbered entry still takes precedence over a locked one. */
  entry(5, PMP_NAPOT | RWX, napot(REGION + 0x10000, 0x1000));
  probe_all("unlocked RWX entry 5 over locked entry 6", REGION + 0x10000);
}

int main(void) {
  print("pmp: physical memory protection\n");
  registers();
  tor();
  na4_napot();
  priority();
  mprv();
  walk();
  locks();
  print("\npmp: done\n");
  return 0;
}
