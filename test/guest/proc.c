/*
 * Processes: argv, the environment (sorted), the auxiliary vector (stable
 * entries and consistency of the others, also via getauxval and
 * /proc/self/auxv), pid/ppid/tid consistency, fork with every kind of wait
 * status (exit codes, death by signal), waitpid WNOHANG, wait4, waitid,
 * ECHILD, vfork, pipes between parent and child, execve of this program
 * with arguments, environment and close-on-exec descriptors, atexit,
 * uname, rlimits, prctl names, umask, getrandom and /proc/self/exe.
 *
 * execve of a riscv64 program only works under an emulator that can start
 * one (qemu-riscv64 needs a binfmt_misc handler for that); when execve
 * fails with ENOEXEC the child does what the new image would have done
 * in-process, so the printed result is the same either way.
 * Exits 1 if a check fails.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <link.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
extern char _start[];

static int failures;

static void check(const char *what, int ok) {
  printf("%s: %s\n", what, ok ? "yes" : "NO");
  if (!ok) failures++;
}

static const char *base(const char *p) {
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

static int cmpstr(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void describe_status(const char *what, int st) {
  if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
  else if (WIFSIGNALED(st)) printf("%s: killed by signal %d\n", what, WTERMSIG(st));
  else if (WIFSTOPPED(st)) printf("%s: stopped by %d\n", what, WSTOPSIG(st));
  else printf("%s: status %#x\n", what, st);
}

/* ---- the exec'd image ---- */

static int exec_child_main(int argc, char **argv, char **envp) {
  printf("exec child: argc=%d argv0=%s", argc, base(argv[0]));
  for (int i = 1; i < argc; i++) printf(" [%s]", argv[i]);
  printf("\n");
  const char *extra = NULL;
  int n = 0;
  for (char **e = envp; *e; e++, n++)
    if (strncmp(*e, "PROC_EXEC_EXTRA=", 16) == 0) extra = *e + 16;
  printf("exec child: env has %d entries, PROC_EXEC_EXTRA=%s\n", n, extra ? extra : "(unset)");
  if (argc >= 4) {
    int keep = atoi(argv[2]), gone = atoi(argv[3]);
    printf("exec child: plain fd open=%d cloexec fd open=%d\n", fcntl(keep, F_GETFD) >= 0,
           fcntl(gone, F_GETFD) >= 0);
  }
  fflush(stdout);
  return 42;
}

static void test_exec(const char *self) {
  printf("== execve\n");
  int keep = open("/dev/null", O_RDONLY);
  int gone = open("/dev/null", O_RDONLY | O_CLOEXEC);
  char kbuf[16], gbuf[16];
  snprintf(kbuf, sizeof kbuf, "%d", keep);
  snprintf(gbuf, sizeof gbuf, "%d", gone);
  char *args[] = {(char *)self, "--exec-child", kbuf, gbuf, "two words", "", NULL};
  int nenv = 0;
  while (environ[nenv]) nenv++;
  char **env = calloc((size_t)nenv + 2, sizeof *env);
  for (int i = 0; i < nenv; i++) env[i] = environ[i];
  env[nenv] = "PROC_EXEC_EXTRA=from parent";
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    execve(self, args, env);
    if (errno != ENOEXEC) {
      printf("execve failed: %s\n", strerrorname_np(errno));
      fflush(stdout);
      _exit(127);
    }
    /* No way to start a riscv64 image here: act as the new image would. */
    for (int fd = 3; fd < 256; fd++) {
      int fl = fcntl(fd, F_GETFD);
      if (fl >= 0 && (fl & FD_CLOEXEC)) close(fd);
    }
    _exit(exec_child_main(6, args, env));
  }
  int st;
  waitpid(pid, &st, 0);
  describe_status("exec'd child", st);
  check("exec'd child exit code is 42", WIFEXITED(st) && WEXITSTATUS(st) == 42);
  free(env);
  close(keep);
  close(gone);

  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    char *bad[] = {"/nonexistent/program", NULL};
    execve(bad[0], bad, environ);
    printf("execve missing: %s\n", strerrorname_np(errno));
    execve("/dev/null", bad, environ);
    printf("execve /dev/null: %s\n", strerrorname_np(errno));
    fflush(stdout);
    _exit(3);
  }
  waitpid(pid, &st, 0);
  describe_status("failed-exec child", st);
}

/* ---- auxv ---- */

static const char *auxname(unsigned long t) {
  switch (t) {
    case AT_PHDR: return "AT_PHDR";
    case AT_PHENT: return "AT_PHENT";
    case AT_PHNUM: return "AT_PHNUM";
    case AT_PAGESZ: return "AT_PAGESZ";
    case AT_BASE: return "AT_BASE";
    case AT_FLAGS: return "AT_FLAGS";
    case AT_ENTRY: return "AT_ENTRY";
    case AT_UID: return "AT_UID";
    case AT_EUID: return "AT_EUID";
    case AT_GID: return "AT_GID";
    case AT_EGID: return "AT_EGID";
    case AT_PLATFORM: return "AT_PLATFORM";
    case AT_HWCAP: return "AT_HWCAP";
    case AT_CLKTCK: return "AT_CLKTCK";
    case AT_SECURE: return "AT_SECURE";
    case AT_BASE_PLATFORM: return "AT_BASE_PLATFORM";
    case AT_RANDOM: return "AT_RANDOM";
    case AT_HWCAP2: return "AT_HWCAP2";
    case AT_EXECFN: return "AT_EXECFN";
    case AT_SYSINFO_EHDR: return "AT_SYSINFO_EHDR";
    case 51: return "AT_MINSIGSTKSZ";
    default: return NULL;
  }
}

static uintptr_t main_phdr;
static int phdr_cb(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  (void)data;
  main_phdr = (uintptr_t)info->dlpi_phdr;
  return 1; /* the first object is the main program */
}

static void test_auxv(char **envp) {
  printf("== auxv\n");
  char **e = envp;
  while (*e) e++;
  Elf64_auxv_t *av = (Elf64_auxv_t *)(e + 1);
  Elf64_auxv_t sorted[64];
  int n = 0;
  for (Elf64_auxv_t *p = av; p->a_type != AT_NULL && n < 64; p++) sorted[n++] = *p;
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && sorted[j - 1].a_type > sorted[j].a_type; j--) {
      Elf64_auxv_t t = sorted[j];
      sorted[j] = sorted[j - 1];
      sorted[j - 1] = t;
    }
  dl_iterate_phdr(phdr_cb, NULL);
  int getauxval_agrees = 1;
  for (int i = 0; i < n; i++) {
    unsigned long t = sorted[i].a_type, v = sorted[i].a_un.a_val;
    const char *nm = auxname(t);
    if (getauxval(t) != v) getauxval_agrees = 0;
    if (!nm) {
      printf("aux type %lu present\n", t);
      continue;
    }
    printf("%s: ", nm);
    switch (t) {
      case AT_PHDR: printf("matches main program headers=%d\n", v == main_phdr); break;
      case AT_BASE: printf("%s\n", v ? "nonzero" : "zero"); break;
      case AT_ENTRY: printf("is _start=%d\n", v == (uintptr_t)_start); break;
      case AT_UID: printf("is getuid=%d\n", v == getuid()); break;
      case AT_EUID: printf("is geteuid=%d\n", v == geteuid()); break;
      case AT_GID: printf("is getgid=%d\n", v == getgid()); break;
      case AT_EGID: printf("is getegid=%d\n", v == getegid()); break;
      case AT_PLATFORM:
      case AT_BASE_PLATFORM: printf("%s\n", (const char *)v); break;
      case AT_EXECFN: printf("basename %s\n", base((const char *)v)); break;
      case AT_RANDOM: {
        const unsigned char *r = (const unsigned char *)v;
        int nonzero = 0;
        for (int k = 0; k < 16; k++) nonzero |= r[k];
        printf("16 readable bytes, not all zero=%d\n", nonzero != 0);
        break;
      }
      case AT_SYSINFO_EHDR:
        printf("ELF image=%d\n", memcmp((const void *)v, ELFMAG, SELFMAG) == 0);
        break;
      default: printf("%#lx\n", v); break;
    }
  }
  check("getauxval agrees with the stack", getauxval_agrees);
  errno = 0;
  unsigned long missing = getauxval(9999);
  printf("getauxval(9999): %lu %s\n", missing, strerrorname_np(errno));

  int fd = open("/proc/self/auxv", O_RDONLY);
  if (fd < 0) {
    printf("/proc/self/auxv: %s\n", strerrorname_np(errno));
    return;
  }
  static Elf64_auxv_t fromproc[128];
  ssize_t got = 0, r;
  while ((r = read(fd, (char *)fromproc + got, sizeof fromproc - (size_t)got)) > 0) got += r;
  close(fd);
  int same = got >= (ssize_t)((size_t)(n + 1) * sizeof(Elf64_auxv_t)) &&
             memcmp(fromproc, av, (size_t)(n + 1) * sizeof(Elf64_auxv_t)) == 0;
  check("/proc/self/auxv matches the stack", same);
}

/* ---- processes ---- */

static void test_ids(void) {
  printf("== ids\n");
  pid_t pid = getpid();
  check("getpid matches raw syscall", pid == (pid_t)syscall(SYS_getpid));
  check("gettid equals pid in main thread", gettid() == pid);
  check("getppid positive and different", getppid() > 0 && getppid() != pid);
  check("getpgrp positive", getpgrp() > 0);
  check("getsid positive", getsid(0) > 0);
  check("getpgid(0) is getpgrp", getpgid(0) == getpgrp());
  check("uid/euid consistent", getuid() == geteuid());
  check("kill(self, 0)", kill(pid, 0) == 0);
  errno = 0;
  int r = kill(-2000000000, 0);
  printf("kill nonexistent pgrp: %d %s\n", r, strerrorname_np(errno));
}

static void test_fork_wait(void) {
  printf("== fork and wait\n");
  int tochild[2], toparent[2];
  pipe(tochild);
  pipe(toparent);
  pid_t parent = getpid();
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(tochild[1]);
    close(toparent[0]);
    long sum = 0, v;
    while (read(tochild[0], &v, sizeof v) == (ssize_t)sizeof v) sum += v;
    pid_t me = getpid();
    pid_t pp = getppid();
    write(toparent[1], &sum, sizeof sum);
    write(toparent[1], &me, sizeof me);
    write(toparent[1], &pp, sizeof pp);
    _exit(7);
  }
  close(tochild[0]);
  close(toparent[1]);
  int st;
  check("waitpid WNOHANG on running child returns 0", waitpid(pid, &st, WNOHANG) == 0);
  for (long v = 1; v <= 100; v++) write(tochild[1], &v, sizeof v);
  close(tochild[1]);
  long sum = 0;
  pid_t cpid = 0, cppid = 0;
  read(toparent[0], &sum, sizeof sum);
  read(toparent[0], &cpid, sizeof cpid);
  read(toparent[0], &cppid, sizeof cppid);
  close(toparent[0]);
  printf("child computed sum %ld\n", sum);
  check("child's getpid is fork's return value", cpid == pid);
  check("child's getppid is parent", cppid == parent);
  check("waitpid returns the child", waitpid(pid, &st, 0) == pid);
  describe_status("child", st);

  static const int codes[] = {0, 1, 42, 255, 256, 257};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    fflush(stdout);
    pid = fork();
    if (pid == 0) exit(codes[i]);
    waitpid(pid, &st, 0);
    char what[32];
    snprintf(what, sizeof what, "exit(%d)", codes[i]);
    describe_status(what, st);
  }

  static const int sigs[] = {SIGKILL, SIGTERM, SIGUSR1, SIGSEGV, SIGABRT, SIGINT, SIGHUP};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
      struct rlimit nocore = {0, 0};
      setrlimit(RLIMIT_CORE, &nocore);
      raise(sigs[i]);
      _exit(99);
    }
    waitpid(pid, &st, 0);
    char what[32];
    snprintf(what, sizeof what, "raise(%d)", sigs[i]);
    describe_status(what, st);
  }

  /* Killed by the parent while blocked. */
  int blk[2];
  pipe(blk);
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    char c;
    close(blk[1]);
    read(blk[0], &c, 1);
    _exit(0);
  }
  close(blk[0]);
  kill(pid, SIGTERM);
  waitpid(pid, &st, 0);
  describe_status("killed by parent", st);
  close(blk[1]);

  /* wait4 and waitid. */
  fflush(stdout);
  pid = fork();
  if (pid == 0) _exit(9);
  struct rusage ru;
  check("wait4 returns the child", wait4(pid, &st, 0, &ru) == pid);
  describe_status("wait4", st);
  fflush(stdout);
  pid = fork();
  if (pid == 0) _exit(11);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r = waitid(P_PID, (id_t)pid, &si, WEXITED);
  printf("waitid: r=%d signo=%d code=%s status=%d pid-match=%d\n", r, si.si_signo,
         si.si_code == CLD_EXITED ? "CLD_EXITED" : "other", si.si_status, si.si_pid == pid);
  errno = 0;
  r = waitpid(-1, &st, 0);
  printf("wait with no children: %d %s\n", r, strerrorname_np(errno));
  errno = 0;
  r = waitpid(-1, &st, WNOHANG);
  printf("WNOHANG with no children: %d %s\n", r, strerrorname_np(errno));

  /* Several children reaped in any order. */
  int reaped = 0, codesum = 0;
  for (int i = 1; i <= 4; i++) {
    fflush(stdout);
    if (fork() == 0) _exit(i * 10);
  }
  while ((pid = wait(&st)) > 0) {
    reaped++;
    codesum += WEXITSTATUS(st);
  }
  printf("reaped %d children, exit code sum %d\n", reaped, codesum);

  /* vfork */
  fflush(stdout);
  pid = vfork();
  if (pid == 0) _exit(5);
  waitpid(pid, &st, 0);
  describe_status("vfork child", st);
}

/* A CPU clock's reading in ms. */
static double clock_ms(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static volatile long chld_ticks = -1;
static volatile int chld_code = 0;
static void on_chld(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  chld_ticks = (long)(si->si_utime + si->si_stime);
  chld_code = si->si_code;
}

static double timeval_ms(struct timeval tv) {
  return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
}

/*
 * CPU time is each process's own: a child that spins for 400 ms of its CPU time shows it in
 * SIGCHLD's siginfo, wait4's rusage, getrusage(RUSAGE_CHILDREN) and times() afterwards, while
 * the parent's clock, waiting meanwhile, hardly moves.
 */
static void test_cpu_times(void) {
  printf("== CPU times\n");
  struct sigaction sa = { .sa_sigaction = on_chld, .sa_flags = SA_SIGINFO | SA_RESTART }, old;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGCHLD, &sa, &old);
  double self0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
  pid_t kid = fork();
  if (kid == 0) {
    volatile unsigned long x = 0;
    while (clock_ms(CLOCK_PROCESS_CPUTIME_ID) < 400)
      for (int i = 0; i < 10000; i++) x += (unsigned long)i;
    _exit(clock_ms(CLOCK_THREAD_CPUTIME_ID) <= clock_ms(CLOCK_PROCESS_CPUTIME_ID) ? 0 : 1);
  }
  struct rusage ru;
  int st = -1;
  pid_t got = wait4(kid, &st, 0, &ru);
  double self1 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
  sigaction(SIGCHLD, &old, NULL);
  double child = timeval_ms(ru.ru_utime) + timeval_ms(ru.ru_stime);
  /*
   * (Linux fills si_utime/si_stime from the tick-sampled times, not from the exact runtime that
   * rusage and times() are scaled to: on a busy virtual host they fall well short of the 40 ticks
   * spun, so only a quarter of them is asked for.)
   */
  check("SIGCHLD's si_utime + si_stime hold it (at least 10 ticks)", chld_ticks >= 10);
  check("the spinning child ended well (its thread's clock within its process's)", got == kid && st == 0);
  check("wait4's rusage holds the child's CPU time (at least 350 ms)", child >= 350);
  check("the waiting parent's own CPU clock moved less than 200 ms", self1 - self0 < 200);
  struct rusage children;
  check("getrusage(RUSAGE_CHILDREN) holds it too",
        getrusage(RUSAGE_CHILDREN, &children) == 0 && timeval_ms(children.ru_utime) + timeval_ms(children.ru_stime) >= 350);
  struct tms t;
  long hz = sysconf(_SC_CLK_TCK);
  check("times() counts it as the children's", times(&t) != (clock_t)-1 && hz == 100 && t.tms_cutime + t.tms_cstime >= 35);
}

/*
 * A child that execs a host program (perl, built for the host: qemu-riscv64 and tsemu both
 * run it on the host) is still the same process: the 300 ms of CPU time the program spins
 * show in wait4's rusage and getrusage(RUSAGE_CHILDREN), as they would after any execve.
 */
static void test_host_program_times(void) {
  printf("== CPU times of a host program\n");
  const char *perl = "/usr/bin/perl";
  if (access(perl, X_OK) != 0) {
    printf("(no %s: skipped)\n", perl);
    return;
  }
  struct rusage before;
  getrusage(RUSAGE_CHILDREN, &before);
  pid_t kid = fork();
  if (kid == 0) {
    execl(perl, "perl", "-e", "1 while (times)[0] < 0.3", (char *)NULL);
    _exit(127);
  }
  struct rusage ru, after;
  int st = -1;
  pid_t got = wait4(kid, &st, 0, &ru);
  check("the host program ended well", got == kid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
  check("wait4's rusage holds its CPU time (at least 250 ms)", timeval_ms(ru.ru_utime) + timeval_ms(ru.ru_stime) >= 250);
  check("and its peak RSS (at least 1 MiB)", ru.ru_maxrss >= 1024);
  check("getrusage(RUSAGE_CHILDREN) holds it too",
        getrusage(RUSAGE_CHILDREN, &after) == 0 &&
        timeval_ms(after.ru_utime) + timeval_ms(after.ru_stime) - timeval_ms(before.ru_utime) - timeval_ms(before.ru_stime) >= 250);
}

/* The SIGCHLD of a child that stopped carries its CPU time too, as one that ended. */
static void test_stop_times(void) {
  printf("== CPU times of a stopped child\n");
  struct sigaction sa = { .sa_sigaction = on_chld, .sa_flags = SA_SIGINFO | SA_RESTART }, old;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGCHLD, &sa, &old);
  chld_ticks = -1;
  chld_code = 0;
  pid_t kid = fork();
  if (kid == 0) {
    volatile unsigned long x = 0;
    while (clock_ms(CLOCK_PROCESS_CPUTIME_ID) < 200)
      for (int i = 0; i < 10000; i++) x += (unsigned long)i;
    raise(SIGSTOP);
    _exit(0);
  }
  int st = -1;
  pid_t got = waitpid(kid, &st, WUNTRACED);
  for (int i = 0; i < 200 && chld_code != CLD_STOPPED; i++) usleep(1000);
  check("waitpid(WUNTRACED) sees the child stopped", got == kid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
  check("its SIGCHLD (CLD_STOPPED) carries its CPU time (at least 5 ticks, of 20 spun)", chld_code == CLD_STOPPED && chld_ticks >= 5);
  kill(kid, SIGCONT);
  got = waitpid(kid, &st, 0);
  check("continued, it ends well", got == kid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
  sigaction(SIGCHLD, &old, NULL);
}

/*
 * ru_maxrss is each process's own high-water RSS: a child that touches 16 MiB shows it in wait4's rusage and in
 * RUSAGE_CHILDREN, with its page faults (how many depends on the host's page sizes under QEMU: only that there are).
 */
/* Map 16 MiB and touch each of its pages: 0, or 2 when the mapping fails. */
static int touch_16mib(void) {
  size_t n = 16 << 20;
  char *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return 2;
  for (size_t i = 0; i < n; i += 4096) m[i] = 1;
  return 0;
}

static void test_maxrss(void) {
  printf("== high-water RSS\n");
  pid_t kid = fork();
  if (kid == 0) {
    if (touch_16mib() != 0) _exit(2);
    struct rusage self;
    _exit(getrusage(RUSAGE_SELF, &self) == 0 && self.ru_maxrss >= 16384 ? 0 : 1);
  }
  struct rusage ru;
  int st = -1;
  pid_t got = wait4(kid, &st, 0, &ru);
  check("the child saw its own high-water RSS (at least 16 MiB)", got == kid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
  check("wait4's rusage holds it", ru.ru_maxrss >= 16384);
  check("and counts the child's page faults", ru.ru_minflt > 0);
  struct rusage children;
  check("getrusage(RUSAGE_CHILDREN) holds it too", getrusage(RUSAGE_CHILDREN, &children) == 0 && children.ru_maxrss >= 16384);
  check("with the faults", children.ru_minflt >= ru.ru_minflt);
}

/*
 * Page faults are each process's own, a vfork child's too: the 16 MiB a vfork child touches
 * (on its parent's memory under Linux, on a copy under QEMU, whose vfork is a fork) are in
 * its wait4 rusage, not in its parent's RUSAGE_SELF.
 */
static void test_vfork_faults(void) {
  printf("== page faults of a vfork child\n");
  struct rusage before, after, ru;
  getrusage(RUSAGE_SELF, &before);
  pid_t kid = vfork();
  if (kid == 0) _exit(touch_16mib());
  int st = -1;
  pid_t got = wait4(kid, &st, 0, &ru);
  getrusage(RUSAGE_SELF, &after);
  check("the vfork child ended well", got == kid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
  check("wait4's rusage counts its page faults", ru.ru_minflt > 0);
  check("the parent's own count did not take them (under 1,000 more)", after.ru_minflt - before.ru_minflt < 1000);
}

/*
 * Context switches are each process's own: a child that blocks 20 times
 * reading a pipe counts voluntary ones.  The child answers each byte on a
 * second pipe and the parent waits 5 ms after the answer before the next
 * byte, so each read finds the pipe empty however late the child started.
 */
static void test_switches(void) {
  printf("== context switches\n");
  int fds[2], acks[2];
  if (pipe(fds) != 0 || pipe(acks) != 0) {
    check("pipe", 0);
    return;
  }
  pid_t kid = fork();
  if (kid == 0) {
    close(fds[1]);
    close(acks[0]);
    char c;
    while (read(fds[0], &c, 1) == 1) {
      if (write(acks[1], &c, 1) != 1) break;
    }
    _exit(0);
  }
  close(fds[0]);
  close(acks[1]);
  for (int i = 0; i < 20; i++) {
    usleep(5000);
    char c;
    if (write(fds[1], "x", 1) != 1 || read(acks[0], &c, 1) != 1) break;
  }
  close(fds[1]);
  close(acks[0]);
  struct rusage ru;
  int st = -1;
  pid_t got = wait4(kid, &st, 0, &ru);
  check("the reader ended well", got == kid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
  check("wait4's rusage counts its voluntary switches (at least 10 for 20 blocking reads)", ru.ru_nvcsw >= 10);
  struct rusage children;
  check("getrusage(RUSAGE_CHILDREN) counts them too", getrusage(RUSAGE_CHILDREN, &children) == 0 && children.ru_nvcsw >= ru.ru_nvcsw);
}

static void ax1(void) { printf("atexit handler 1 (registered first, runs last)\n"); }
static void ax2(void) { printf("atexit handler 2\n"); }

static void test_misc(const char *self) {
  printf("== misc\n");
  struct utsname u;
  uname(&u);
  printf("uname: sysname=%s machine=%s\n", u.sysname, u.machine);
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  check("RLIMIT_NOFILE soft <= hard", rl.rlim_cur <= rl.rlim_max);
  struct rlimit nl = {64, rl.rlim_max};
  setrlimit(RLIMIT_NOFILE, &nl);
  struct rlimit back;
  getrlimit(RLIMIT_NOFILE, &back);
  check("setrlimit/getrlimit round trip", back.rlim_cur == 64 && back.rlim_max == rl.rlim_max);
  setrlimit(RLIMIT_NOFILE, &rl);
  errno = 0;
  nl.rlim_cur = nl.rlim_max == RLIM_INFINITY ? nl.rlim_max : nl.rlim_max + 1;
  nl.rlim_max = 1;
  printf("setrlimit soft > hard: %d %s\n", setrlimit(RLIMIT_NOFILE, &nl),
         strerrorname_np(errno));
  char name[17] = {0};
  prctl(PR_SET_NAME, "tsemu-proc-test-long-name");
  prctl(PR_GET_NAME, name);
  printf("prctl name: %s\n", name);
  mode_t old = umask(027);
  mode_t now = umask(old);
  printf("umask round trip: %03o\n", (unsigned)now);
  unsigned char rnd[64];
  ssize_t g = getrandom(rnd, sizeof rnd, 0);
  int nz = 0;
  for (size_t i = 0; i < sizeof rnd; i++) nz |= rnd[i];
  printf("getrandom: %zd bytes, not all zero=%d\n", g, nz != 0);
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = 0;
    printf("/proc/self/exe: absolute=%d basename=%s same as argv[0]=%d\n", exe[0] == '/',
           base(exe), strcmp(base(exe), base(self)) == 0);
  } else {
    printf("/proc/self/exe: %s\n", strerrorname_np(errno));
  }
  printf("sched_yield: %d\n", sched_yield());
  check("sysconf page size", sysconf(_SC_PAGESIZE) == 4096);
  check("sysconf open max > 0", sysconf(_SC_OPEN_MAX) > 0);
  check("nprocs > 0", sysconf(_SC_NPROCESSORS_ONLN) > 0);
  atexit(ax1);
  atexit(ax2);
}

int main(int argc, char **argv, char **envp) {
  if (argc > 1 && strcmp(argv[1], "--exec-child") == 0) return exec_child_main(argc, argv, envp);
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("== argv\n");
  printf("argc=%d argv0=%s\n", argc, base(argv[0]));
  for (int i = 1; i < argc; i++) printf("argv[%d]=[%s]\n", i, argv[i]);
  check("argv[argc] is NULL", argv[argc] == NULL);
  printf("== environment (sorted)\n");
  int ne = 0;
  while (envp[ne]) ne++;
  check("environ is envp", environ == envp);
  const char **copy = malloc(sizeof *copy * (size_t)(ne + 1));
  for (int i = 0; i < ne; i++) copy[i] = envp[i];
  qsort(copy, (size_t)ne, sizeof *copy, cmpstr);
  for (int i = 0; i < ne; i++) printf("env: %s\n", copy[i]);
  free(copy);
  const char *home = getenv("HOME");
  printf("getenv HOME: %s\n", home ? home : "(unset)");
  setenv("PROC_NEW_VAR", "value", 1);
  printf("setenv/getenv: %s\n", getenv("PROC_NEW_VAR"));
  unsetenv("PROC_NEW_VAR");
  printf("after unsetenv: %s\n", getenv("PROC_NEW_VAR") ? "set" : "unset");

  test_auxv(envp);
  test_ids();
  test_fork_wait();
  test_cpu_times();
  test_stop_times();
  test_host_program_times();
  test_maxrss();
  test_vfork_faults();
  test_switches();
  test_exec(argv[0]);
  test_misc(argv[0]);
  printf("proc: %s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
