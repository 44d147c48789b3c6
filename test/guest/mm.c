/*
 * Memory management: brk/sbrk growth and shrink, anonymous private and
 * shared mappings (shared across fork), MAP_FIXED replacement, file-backed
 * private and shared mappings, mprotect (with SIGSEGV SEGV_ACCERR on a
 * write to a read-only page), munmap (SEGV_MAPERR afterwards), mremap
 * grow/shrink/move, large reservations, malloc/calloc/realloc over many
 * sizes and large allocations, and the errno of invalid requests.
 * Addresses are never printed, only properties of them.
 * Exits 1 if a known answer fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;
static long page;

static const char *ename(int e) {
  const char *n = strerrorname_np(e);
  return n ? n : "E?";
}

static void check(const char *what, int ok) {
  printf("%s: %s\n", what, ok ? "ok" : "FAIL");
  if (!ok) failures++;
}

static void expect_errno_ptr(const char *what, void *p, int want) {
  if (p != MAP_FAILED) {
    printf("%s: unexpectedly succeeded\n", what);
    failures++;
    return;
  }
  printf("%s: %s\n", what, ename(errno));
  if (errno != want) failures++;
}

static void expect_errno(const char *what, long r, int want) {
  if (r >= 0) {
    printf("%s: unexpectedly succeeded\n", what);
    failures++;
    return;
  }
  printf("%s: %s\n", what, ename(errno));
  if (errno != want) failures++;
}

static sigjmp_buf jb;
static volatile int fault_sig, fault_code;
static void *volatile fault_addr;

static void on_fault(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  fault_sig = sig;
  fault_code = si->si_code;
  fault_addr = si->si_addr;
  siglongjmp(jb, 1);
}

/* Try a one-byte write (or read) at p; report the signal if any. */
static void probe(const char *what, volatile char *p, int write) {
  fault_sig = 0;
  if (sigsetjmp(jb, 1) == 0) {
    if (write) *p = 1;
    else (void)*p;
    printf("%s: no fault\n", what);
  } else {
    printf("%s: signal %d code %d addr-match %d\n", what, fault_sig, fault_code,
           fault_addr == (void *)p);
  }
}

static void test_brk(void) {
  printf("== brk\n");
  char *b0 = sbrk(0);
  check("sbrk(0) valid", b0 != NULL && b0 != (void *)-1);
  char *b1 = sbrk(100000);
  check("sbrk grow returns old break", b1 == b0);
  char *b2 = sbrk(0);
  check("break advanced by 100000", b2 == b0 + 100000);
  memset(b1, 0xab, 100000);
  int good = 1;
  for (int i = 0; i < 100000; i += 777) good &= (unsigned char)b1[i] == 0xab;
  check("new heap writable", good);
  check("sbrk shrink", sbrk(-50000) == b2);
  check("break after shrink", sbrk(0) == b0 + 50000);
  long raw = syscall(SYS_brk, 0);
  check("raw brk(0) equals sbrk(0)", (char *)raw == b0 + 50000);
  long bad = syscall(SYS_brk, 1);
  check("brk below start leaves break unchanged", bad == raw);
  check("brk to old value", brk(b0) == 0 && sbrk(0) == b0);
  /* Memory regained after shrink and regrow is zeroed by the kernel only for
   * fresh pages, so nothing is printed about its content. */
}

static void test_anon(void) {
  printf("== anonymous mappings\n");
  size_t len = 16 * (size_t)page;
  unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  check("mmap anon", p != MAP_FAILED);
  check("page aligned", ((uintptr_t)p & (uintptr_t)(page - 1)) == 0);
  int zero = 1;
  for (size_t i = 0; i < len; i++) zero &= p[i] == 0;
  check("zero filled", zero);
  for (size_t i = 0; i < len; i++) p[i] = (unsigned char)(i ^ (i >> 8));
  uint32_t sum = 0;
  for (size_t i = 0; i < len; i++) sum = sum * 33 + p[i];
  printf("pattern checksum %08" PRIx32 "\n", sum);

  /* MAP_FIXED over the middle replaces it with fresh zero pages. */
  void *q = mmap(p + 4 * page, 2 * (size_t)page, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  check("MAP_FIXED at requested address", q == p + 4 * page);
  zero = 1;
  for (long i = 0; i < 2 * page; i++) zero &= p[4 * page + i] == 0;
  check("MAP_FIXED range zeroed", zero);
  check("neighbours intact", p[4 * page - 1] == (unsigned char)((4 * page - 1) ^ ((4 * page - 1) >> 8)) &&
                                 p[6 * page] == (unsigned char)((6 * page) ^ ((6 * page) >> 8)));

  /* mprotect to read-only, then writes fault with SEGV_ACCERR. */
  check("mprotect read-only", mprotect(p, 2 * (size_t)page, PROT_READ) == 0);
  probe("write to read-only page", (char *)p + 10, 1);
  probe("read of read-only page", (char *)p + 10, 0);
  check("mprotect none", mprotect(p, (size_t)page, PROT_NONE) == 0);
  probe("read of PROT_NONE page", (char *)p + 5, 0);
  check("mprotect back to rw", mprotect(p, 2 * (size_t)page, PROT_READ | PROT_WRITE) == 0);
  probe("write after restoring", (char *)p + 10, 1);
  expect_errno("mprotect unaligned", mprotect(p + 1, (size_t)page, PROT_READ), EINVAL);

  /* Partial munmap in the middle; the hole faults with SEGV_MAPERR. */
  check("munmap middle", munmap(p + 8 * page, (size_t)page) == 0);
  probe("read unmapped hole", (char *)p + 8 * page + 3, 0);
  probe("read after hole", (char *)p + 9 * page, 0);
  check("munmap already-unmapped range", munmap(p + 8 * page, (size_t)page) == 0);
  expect_errno("munmap unaligned", munmap(p + 1, (size_t)page), EINVAL);
  expect_errno("munmap zero length", munmap(p, 0), EINVAL);
  check("munmap rest", munmap(p, len) == 0);
  probe("read after full munmap", (char *)p, 0);

  expect_errno_ptr("mmap zero length",
                   mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
  expect_errno_ptr("mmap unaligned fixed",
                   mmap((char *)0x10000001, (size_t)page, PROT_READ,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
                   EINVAL);
  expect_errno_ptr("mmap neither private nor shared",
                   mmap(NULL, (size_t)page, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL);
  expect_errno_ptr("mmap bad fd", mmap(NULL, (size_t)page, PROT_READ, MAP_PRIVATE, 1234, 0),
                   EBADF);

  /* A big reservation that is never touched, then a small part enabled. */
  size_t big = (size_t)1 << 32;
  char *r = mmap(NULL, big, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  check("reserve 4 GiB PROT_NONE", r != MAP_FAILED);
  if (r != MAP_FAILED) {
    check("enable 1 MiB in the middle",
          mprotect(r + (big / 2), 1 << 20, PROT_READ | PROT_WRITE) == 0);
    memset(r + big / 2, 7, 1 << 20);
    check("middle usable", r[big / 2 + 12345] == 7);
    probe("outside enabled part", r + big / 2 - 1, 0);
    check("unreserve", munmap(r, big) == 0);
  }

  /* Hinted mapping: the hint need not be honoured, but must not clobber. */
  char *h = mmap((void *)0x200000000ul, (size_t)page, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  check("mmap with hint", h != MAP_FAILED);
  munmap(h, (size_t)page);

  /* madvise: hints are accepted; MADV_DONTNEED drops private anonymous
   * pages, which read back as zero. */
  char *m = mmap(NULL, 4 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                 -1, 0);
  check("madvise WILLNEED", madvise(m, 4 * (size_t)page, MADV_WILLNEED) == 0);
  memset(m, 0x5a, 4 * (size_t)page);
  check("madvise DONTNEED", madvise(m + page, 2 * (size_t)page, MADV_DONTNEED) == 0);
  check("DONTNEED pages read as zero, others kept",
        m[page] == 0 && m[3 * page - 1] == 0 && m[0] == 0x5a && m[3 * page] == 0x5a);
  check("mincore/msync on anon", msync(m, 4 * (size_t)page, MS_SYNC) == 0);
  munmap(m, 4 * (size_t)page);
}

static void test_shared_fork(void) {
  printf("== shared anonymous mapping across fork\n");
  volatile int *sh = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                          -1, 0);
  volatile int *pr = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  sh[0] = 1;
  pr[0] = 1;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    sh[0] = 42;
    pr[0] = 42;
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  printf("child exited %d; shared sees %d, private sees %d\n", WEXITSTATUS(st), sh[0], pr[0]);
  if (sh[0] != 42 || pr[0] != 1) failures++;
  munmap((void *)sh, (size_t)page);
  munmap((void *)pr, (size_t)page);
}

static void test_file_maps(void) {
  printf("== file mappings\n");
  const char *path = "mm-test.bin";
  int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
  char content[3 * 4096 + 100];
  for (size_t i = 0; i < sizeof content; i++) content[i] = (char)('a' + i % 26);
  if (write(fd, content, sizeof content) != (ssize_t)sizeof content) failures++;

  char *priv = mmap(NULL, sizeof content, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  check("private file map", priv != MAP_FAILED);
  check("content matches", memcmp(priv, content, sizeof content) == 0);
  priv[0] = 'Z';
  char c;
  pread(fd, &c, 1, 0);
  printf("private write visible in file: %d\n", c == 'Z');
  /* Bytes past EOF in the last page read as zero. */
  int tail_zero = 1;
  for (size_t i = sizeof content; i < 4 * 4096; i++) tail_zero &= priv[i] == 0;
  check("tail of last page is zero", tail_zero);
  munmap(priv, sizeof content);

  char *off = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
  check("map at file offset 4096", off != MAP_FAILED && off[0] == content[4096]);
  munmap(off, 4096);
  expect_errno_ptr("unaligned offset", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 100),
                   EINVAL);

  char *shared = mmap(NULL, sizeof content, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  check("shared file map", shared != MAP_FAILED);
  memcpy(shared + 10, "SHARED", 6);
  check("msync", msync(shared, sizeof content, MS_SYNC) == 0);
  char buf[7] = {0};
  pread(fd, buf, 6, 10);
  printf("shared write visible in file: %s\n", buf);
  pwrite(fd, "WRITE", 5, 100);
  printf("file write visible in shared map: %.5s\n", shared + 100);
  munmap(shared, sizeof content);

  int rofd = open(path, O_RDONLY);
  expect_errno_ptr("shared writable map of read-only fd",
                   mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, rofd, 0), EACCES);
  char *ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, rofd, 0);
  check("private writable map of read-only fd", ro != MAP_FAILED);
  if (ro != MAP_FAILED) {
    ro[0] = 'q';
    munmap(ro, 4096);
  }
  close(rofd);

  /* The mapping outlives the descriptor. */
  char *keep = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  check("mapping usable after close", keep != MAP_FAILED && keep[11] == 'H');
  munmap(keep, 4096);
  unlink(path);
}

static void test_mremap(void) {
  printf("== mremap\n");
  size_t len = 4 * (size_t)page;
  char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  for (size_t i = 0; i < len; i++) p[i] = (char)(i * 13);
  char *q = mremap(p, len, 64 * (size_t)page, MREMAP_MAYMOVE);
  check("grow with MAYMOVE", q != MAP_FAILED);
  int same = 1;
  for (size_t i = 0; i < len; i++) same &= q[i] == (char)(i * 13);
  check("content preserved", same);
  int zero = 1;
  for (size_t i = len; i < 64 * (size_t)page; i++) zero &= q[i] == 0;
  check("grown part zero", zero);
  char *s = mremap(q, 64 * (size_t)page, 2 * (size_t)page, 0);
  check("shrink in place", s == q);
  probe("beyond shrunk end", q + 3 * page, 0);
  void *target = mmap(NULL, 8 * (size_t)page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *f = mremap(s, 2 * (size_t)page, 2 * (size_t)page, MREMAP_MAYMOVE | MREMAP_FIXED, target);
  check("move to fixed address", f == target);
  check("moved content", f[page + 1] == (char)((page + 1) * 13));
  probe("old location", s, 0);
  munmap(target, 8 * (size_t)page);
  expect_errno_ptr("mremap unaligned", mremap(p + 1, (size_t)page, 2 * (size_t)page, 0), EINVAL);
}

static void test_malloc(void) {
  printf("== malloc\n");
  enum { N = 2000 };
  static unsigned char *ptrs[N];
  static size_t sizes[N];
  uint32_t seed = 12345;
  uint64_t total = 0;
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < N; i++) {
      seed = seed * 1103515245u + 12345u;
      size_t sz;
      switch (seed >> 29) {
        case 0: sz = 0; break;
        case 1: sz = 1 + (seed >> 8) % 16; break;
        case 2: sz = (seed >> 8) % 512; break;
        case 3: sz = (seed >> 8) % 8192; break;
        case 4: sz = 100000 + (seed >> 8) % 200000; break;
        default: sz = (seed >> 8) % 2048; break;
      }
      if (ptrs[i]) {
        int good = 1;
        for (size_t k = 0; k < sizes[i]; k += 61) good &= ptrs[i][k] == (unsigned char)(i + k);
        if (!good) {
          printf("corruption at %d\n", i);
          failures++;
        }
        if (seed & 1) {
          unsigned char *np = realloc(ptrs[i], sz + 1);
          size_t keep = sizes[i] < sz + 1 ? sizes[i] : sz + 1;
          for (size_t k = 0; k < keep; k += 61) good &= np[k] == (unsigned char)(i + k);
          if (!good) failures++;
          ptrs[i] = np;
        } else {
          free(ptrs[i]);
          ptrs[i] = malloc(sz + 1);
        }
      } else {
        ptrs[i] = malloc(sz + 1);
      }
      sizes[i] = sz + 1;
      if (((uintptr_t)ptrs[i] & 15) != 0) {
        printf("misaligned malloc result\n");
        failures++;
      }
      for (size_t k = 0; k < sizes[i]; k += 61) ptrs[i][k] = (unsigned char)(i + k);
      total += sizes[i];
    }
  }
  for (int i = 0; i < N; i += 2) free(ptrs[i]);
  for (int i = 1; i < N; i += 2) free(ptrs[i]);
  printf("malloc rounds done, bytes requested %" PRIu64 "\n", total);

  unsigned *z = calloc(1 << 20, sizeof *z);
  int allzero = 1;
  for (int i = 0; i < (1 << 20); i += 97) allzero &= z[i] == 0;
  check("calloc 4 MiB zeroed", allzero);
  free(z);

  size_t bigsz = (size_t)256 << 20;
  unsigned char *big = malloc(bigsz);
  check("malloc 256 MiB", big != NULL);
  if (big) {
    for (size_t i = 0; i < bigsz; i += 4096) big[i] = (unsigned char)(i >> 12);
    int good = 1;
    for (size_t i = 0; i < bigsz; i += 4096) good &= big[i] == (unsigned char)(i >> 12);
    check("touch every page of 256 MiB", good);
    free(big);
  }
  errno = 0;
  void *huge = malloc((size_t)1 << 62);
  printf("malloc 2^62: %s %s\n", huge ? "non-NULL" : "NULL", ename(errno));
  free(huge);
  void *al = aligned_alloc(65536, 1000);
  check("aligned_alloc 64 KiB", al && ((uintptr_t)al & 65535) == 0);
  free(al);
  void *pm = NULL;
  int pr = posix_memalign(&pm, 4096, 12345);
  check("posix_memalign", pr == 0 && ((uintptr_t)pm & 4095) == 0);
  free(pm);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  page = sysconf(_SC_PAGESIZE);
  printf("page size %ld\n", page);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  test_brk();
  test_anon();
  test_shared_fork();
  test_file_maps();
  test_mremap();
  test_malloc();
  printf("mm: %s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
