/*
 * Signals: SA_SIGINFO handlers (si_signo, si_code, si_pid, si_value for
 * raise/kill/sigqueue/tgkill), sigprocmask blocking and sigpending,
 * coalescing of standard and queueing of real-time signals, SA_NODEFER, SA_RESETHAND, SA_RESTART vs EINTR, alarm, setitimer,
 * pause, sigsuspend, sigwaitinfo/sigtimedwait, SIGCHLD on child exit (and
 * auto-reaping with SIG_IGN), sigaltstack (including stack overflow caught
 * on the alternate stack), handlers that longjmp out, SIGSEGV from a NULL
 * write, SIGILL and SIGTRAP resumed by editing the saved pc, and the
 * rt_sigreturn path: integer, FP registers and fcsr are preserved across a
 * handler, visible in the ucontext, and changes to the ucontext take effect.
 * Not covered, because qemu-riscv64 7.2 gets them wrong: signals in sa_mask
 * are not blocked while the handler runs, and the delivery order of several
 * different pending signals.
 * Exits 1 if a check fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

static int failures;

static void check(const char *what, int ok) {
  printf("%s: %s\n", what, ok ? "yes" : "NO");
  if (!ok) failures++;
}

static const char *code_name(int signo, int code) {
  switch (code) {
    case SI_USER: return "SI_USER";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_TKILL: return "SI_TKILL";
    case SI_TIMER: return "SI_TIMER";
    case SI_KERNEL: return "SI_KERNEL";
    default: break;
  }
  if (signo == SIGSEGV && code == SEGV_MAPERR) return "SEGV_MAPERR";
  if (signo == SIGSEGV && code == SEGV_ACCERR) return "SEGV_ACCERR";
  if (signo == SIGILL && code == ILL_ILLOPC) return "ILL_ILLOPC";
  if (signo == SIGTRAP && code == TRAP_BRKPT) return "TRAP_BRKPT";
  if (signo == SIGCHLD && code == CLD_EXITED) return "CLD_EXITED";
  if (signo == SIGCHLD && code == CLD_KILLED) return "CLD_KILLED";
  if (signo == SIGBUS && code == BUS_ADRALN) return "BUS_ADRALN";
  static char buf[32];
  snprintf(buf, sizeof buf, "code %d", code);
  return buf;
}

static void set_handler(int sig, void (*fn)(int, siginfo_t *, void *), int flags,
                        const sigset_t *mask) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = fn;
  sa.sa_flags = SA_SIGINFO | flags;
  if (mask) sa.sa_mask = *mask;
  else sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, NULL) != 0) {
    printf("sigaction(%d) failed: %s\n", sig, strerrorname_np(errno));
    failures++;
  }
}

static void set_default(int sig) { signal(sig, SIG_DFL); }

static void unblock_all(void) {
  sigset_t s;
  sigemptyset(&s);
  sigprocmask(SIG_SETMASK, &s, NULL);
}

/* ---- siginfo contents ---- */

static void info_handler(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  printf("  handler: signo=%d (arg %d) code=%s pid-is-self=%d uid-is-self=%d", si->si_signo, sig,
         code_name(si->si_signo, si->si_code), si->si_pid == getpid(), si->si_uid == getuid());
  if (si->si_code == SI_QUEUE) printf(" value=%d", si->si_value.sival_int);
  printf("\n");
}

static void test_siginfo(void) {
  printf("== siginfo\n");
  set_handler(SIGUSR1, info_handler, 0, NULL);
  set_handler(SIGUSR2, info_handler, 0, NULL);
  set_handler(SIGRTMIN + 1, info_handler, 0, NULL);
  printf("raise(SIGUSR1):\n");
  raise(SIGUSR1);
  printf("kill(self, SIGUSR2):\n");
  kill(getpid(), SIGUSR2);
  printf("sigqueue(self, SIGRTMIN+1, 1234):\n");
  union sigval v = {.sival_int = 1234};
  sigqueue(getpid(), SIGRTMIN + 1, v);
  printf("tgkill(self, self, SIGUSR1):\n");
  syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1);
  errno = 0;
  printf("kill with signal 0: %d\n", kill(getpid(), 0));
  printf("kill with signal 99: %d %s\n", kill(getpid(), 99), strerrorname_np(errno));
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  errno = 0;
  printf("sigaction SIGKILL: %d %s\n", sigaction(SIGKILL, &sa, NULL), strerrorname_np(errno));
  errno = 0;
  printf("sigaction SIGSTOP: %d %s\n", sigaction(SIGSTOP, &sa, NULL), strerrorname_np(errno));
  errno = 0;
  printf("sigaction 0: %d %s\n", sigaction(0, &sa, NULL), strerrorname_np(errno));
  errno = 0;
  printf("sigaction 65: %d %s\n", sigaction(65, &sa, NULL), strerrorname_np(errno));
  struct sigaction old;
  sigaction(SIGUSR1, NULL, &old);
  printf("query handler: siginfo=%d is ours=%d\n", !!(old.sa_flags & SA_SIGINFO),
         old.sa_sigaction == info_handler);
  signal(SIGUSR2, SIG_IGN);
  raise(SIGUSR2);
  printf("ignored SIGUSR2 survived\n");
  raise(SIGCHLD);
  raise(SIGURG);
  raise(SIGWINCH);
  printf("default-ignored signals survived\n");
  set_default(SIGUSR1);
  set_default(SIGUSR2);
  set_default(SIGRTMIN + 1);
}

/* ---- masks, pending, order ---- */

static volatile int rt_values[8], n_rt_values, counts[65];
static void order_handler(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  counts[sig]++;
  if (sig == SIGRTMIN && n_rt_values < 8) rt_values[n_rt_values++] = si->si_value.sival_int;
}

static void test_masks(void) {
  printf("== masks and pending\n");
  set_handler(SIGUSR1, order_handler, 0, NULL);
  set_handler(SIGUSR2, order_handler, 0, NULL);
  set_handler(SIGRTMIN, order_handler, 0, NULL);
  set_handler(SIGRTMIN + 2, order_handler, 0, NULL);
  sigset_t block, pend, cur;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigaddset(&block, SIGUSR2);
  sigaddset(&block, SIGRTMIN);
  sigaddset(&block, SIGRTMIN + 2);
  sigprocmask(SIG_BLOCK, &block, NULL);
  raise(SIGRTMIN + 2);
  for (int i = 1; i <= 3; i++) sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = i});
  raise(SIGUSR2);
  raise(SIGUSR1);
  raise(SIGUSR1);
  raise(SIGUSR1);
  sigpending(&pend);
  printf("pending: USR1=%d USR2=%d RTMIN=%d RTMIN+2=%d TERM=%d, delivered so far %d\n",
         sigismember(&pend, SIGUSR1), sigismember(&pend, SIGUSR2), sigismember(&pend, SIGRTMIN),
         sigismember(&pend, SIGRTMIN + 2), sigismember(&pend, SIGTERM),
         counts[SIGUSR1] + counts[SIGUSR2] + counts[SIGRTMIN] + counts[SIGRTMIN + 2]);
  sigprocmask(SIG_UNBLOCK, &block, NULL);
  /* Standard signals coalesce, real-time ones queue in order. The order
   * between different signals is not printed. */
  printf("delivered: USR1 x%d, USR2 x%d, RTMIN+2 x%d, RTMIN x%d values:", counts[SIGUSR1],
         counts[SIGUSR2], counts[SIGRTMIN + 2], counts[SIGRTMIN]);
  for (int i = 0; i < n_rt_values; i++) printf(" %d", rt_values[i]);
  printf("\n");
  sigpending(&pend);
  printf("pending after unblock: USR1=%d\n", sigismember(&pend, SIGUSR1));

  sigprocmask(SIG_SETMASK, NULL, &cur);
  printf("mask empty: %d\n", sigisemptyset(&cur));
  sigset_t bad;
  sigfillset(&bad);
  sigprocmask(SIG_SETMASK, &bad, NULL);
  sigprocmask(SIG_SETMASK, NULL, &cur);
  printf("SIGKILL/SIGSTOP cannot be blocked: %d %d, SIGTERM blocked: %d\n",
         sigismember(&cur, SIGKILL), sigismember(&cur, SIGSTOP), sigismember(&cur, SIGTERM));
  unblock_all();
  errno = 0;
  printf("sigprocmask bad how: %d %s\n", sigprocmask(99, &block, NULL), strerrorname_np(errno));
  set_default(SIGUSR1);
  set_default(SIGUSR2);
  set_default(SIGRTMIN);
  set_default(SIGRTMIN + 2);
}

/* ---- handler flags ---- */

static volatile int depth, max_depth, calls, self_blocked;
static void nest_handler(int sig, siginfo_t *si, void *uc) {
  (void)si;
  (void)uc;
  calls++;
  if (calls == 1) {
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    self_blocked = sigismember(&cur, sig);
  }
  depth++;
  if (depth > max_depth) max_depth = depth;
  if (calls == 1) raise(sig);
  depth--;
}

static void test_flags(void) {
  printf("== handler flags\n");
  set_handler(SIGUSR1, nest_handler, 0, NULL);
  calls = depth = max_depth = 0;
  raise(SIGUSR1);
  printf("without SA_NODEFER: calls=%d max depth=%d, blocked in own handler=%d\n", calls,
         max_depth, self_blocked);
  set_handler(SIGUSR1, nest_handler, SA_NODEFER, NULL);
  calls = depth = max_depth = 0;
  raise(SIGUSR1);
  printf("with SA_NODEFER: calls=%d max depth=%d, blocked in own handler=%d\n", calls,
         max_depth, self_blocked);

  set_handler(SIGUSR1, info_handler, SA_RESETHAND, NULL);
  raise(SIGUSR1);
  struct sigaction old;
  sigaction(SIGUSR1, NULL, &old);
  printf("SA_RESETHAND: handler now default=%d\n", old.sa_handler == SIG_DFL);
  set_default(SIGUSR2);
}

/* ---- timers, pause, EINTR vs SA_RESTART, sigsuspend, sigwait ---- */

static volatile sig_atomic_t alarms;
static int wake_pipe[2];
static void alarm_handler(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  (void)sig;
  alarms++;
  if (alarms == 1) printf("  SIGALRM: code=%s\n", code_name(SIGALRM, si->si_code));
}
static void alarm_writer(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)si;
  (void)uc;
  alarms++;
  write(wake_pipe[1], "w", 1);
}

static void itimer(long usec) {
  struct itimerval it = {{0, 0}, {usec / 1000000, usec % 1000000}};
  setitimer(ITIMER_REAL, &it, NULL);
}

static void test_timers(void) {
  printf("== alarm, itimer, EINTR, sigsuspend, sigwait\n");
  set_handler(SIGALRM, alarm_handler, 0, NULL);
  alarms = 0;
  unsigned prev = alarm(1);
  printf("alarm(1) previous: %u\n", prev);
  int r = pause();
  printf("pause returned %d %s after %d alarm(s)\n", r, strerrorname_np(errno), (int)alarms);
  alarm(5);
  printf("alarm(0) after alarm(5) returns %u\n", alarm(0));

  alarms = 0;
  itimer(50000);
  struct itimerval cur;
  getitimer(ITIMER_REAL, &cur);
  printf("getitimer while armed: 0 < remaining <= 50ms: %d\n",
         cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0 && cur.it_value.tv_usec <= 50000);
  while (!alarms) pause();
  printf("itimer fired: %d\n", (int)alarms);

  /* Periodic timer: several expirations. */
  alarms = 0;
  struct itimerval per = {{0, 10000}, {0, 10000}};
  setitimer(ITIMER_REAL, &per, NULL);
  while (alarms < 3) pause();
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  printf("periodic timer reached 3 expirations\n");

  /*
   * Blocking read interrupted: EINTR without SA_RESTART.  The timer repeats
   * until the read returns: on a host slow enough that the first expiry comes
   * before the read blocks, the next one interrupts it.
   */
  pipe(wake_pipe);
  set_handler(SIGALRM, alarm_handler, 0, NULL);
  alarms = 0;
  struct itimerval again = {{0, 30000}, {0, 30000}};
  setitimer(ITIMER_REAL, &again, NULL);
  char c;
  errno = 0;
  ssize_t n = read(wake_pipe[0], &c, 1);
  int read_errno = errno;
  setitimer(ITIMER_REAL, &off, NULL);
  printf("read without SA_RESTART: %zd %s\n", n, strerrorname_np(read_errno));

  /* With SA_RESTART the read resumes and gets the byte the handler wrote. */
  set_handler(SIGALRM, alarm_writer, SA_RESTART, NULL);
  alarms = 0;
  itimer(30000);
  n = read(wake_pipe[0], &c, 1);
  printf("read with SA_RESTART: %zd '%c' after %d alarm(s)\n", n, n == 1 ? c : '?', (int)alarms);
  close(wake_pipe[0]);
  close(wake_pipe[1]);

  /* sigsuspend with SIGALRM blocked outside. */
  set_handler(SIGALRM, alarm_handler, 0, NULL);
  sigset_t blk, old, waitmask;
  sigemptyset(&blk);
  sigaddset(&blk, SIGALRM);
  sigprocmask(SIG_BLOCK, &blk, &old);
  alarms = 0;
  itimer(20000);
  sigemptyset(&waitmask);
  r = sigsuspend(&waitmask);
  sigset_t after;
  sigprocmask(SIG_SETMASK, NULL, &after);
  printf("sigsuspend: %d %s alarms=%d mask restored (ALRM blocked)=%d\n", r,
         strerrorname_np(errno), (int)alarms, sigismember(&after, SIGALRM));
  sigprocmask(SIG_SETMASK, &old, NULL);

  /* sigwaitinfo / sigtimedwait take blocked signals synchronously. */
  sigset_t ws;
  sigemptyset(&ws);
  sigaddset(&ws, SIGUSR2);
  sigaddset(&ws, SIGRTMIN + 3);
  sigprocmask(SIG_BLOCK, &ws, NULL);
  sigqueue(getpid(), SIGRTMIN + 3, (union sigval){.sival_int = 77});
  raise(SIGUSR2);
  siginfo_t si;
  int s1 = sigwaitinfo(&ws, &si);
  printf("sigwaitinfo first: %s %s\n", s1 == SIGUSR2 ? "SIGUSR2" : "other",
         code_name(s1, si.si_code));
  int s2 = sigwaitinfo(&ws, &si);
  printf("sigwaitinfo second: %s %s value %d\n", s2 == SIGRTMIN + 3 ? "SIGRTMIN+3" : "other",
         code_name(s2, si.si_code), si.si_value.sival_int);
  struct timespec zero = {0, 0};
  errno = 0;
  r = sigtimedwait(&ws, &si, &zero);
  printf("sigtimedwait nothing pending: %d %s\n", r, strerrorname_np(errno));
  struct timespec shortwait = {0, 20000000};
  errno = 0;
  r = sigtimedwait(&ws, &si, &shortwait);
  printf("sigtimedwait 20ms: %d %s\n", r, strerrorname_np(errno));
  sigprocmask(SIG_UNBLOCK, &ws, NULL);
  set_default(SIGALRM);
}

/* ---- SIGCHLD ---- */

static volatile sig_atomic_t chld_count, chld_status, chld_code;
static volatile pid_t chld_pid;
static void chld_handler(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  chld_count++;
  chld_pid = si->si_pid;
  chld_status = si->si_status;
  chld_code = si->si_code;
}

static void test_sigchld(void) {
  printf("== SIGCHLD\n");
  set_handler(SIGCHLD, chld_handler, SA_RESTART, NULL);
  sigset_t blk, old;
  sigemptyset(&blk);
  sigaddset(&blk, SIGCHLD);
  sigprocmask(SIG_BLOCK, &blk, &old);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) _exit(3);
  sigset_t wm = old;
  sigdelset(&wm, SIGCHLD);
  while (!chld_count) sigsuspend(&wm);
  printf("SIGCHLD: count=%d code=%s status=%d pid matches=%d\n", (int)chld_count,
         code_name(SIGCHLD, chld_code), (int)chld_status, chld_pid == pid);
  int st;
  waitpid(pid, &st, 0);
  printf("child status %d\n", WEXITSTATUS(st));

  chld_count = 0;
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    pause();
    _exit(0);
  }
  kill(pid, SIGKILL);
  while (!chld_count) sigsuspend(&wm);
  printf("SIGCHLD for killed child: code=%s status=%d\n", code_name(SIGCHLD, chld_code),
         (int)chld_status);
  waitpid(pid, &st, 0);
  sigprocmask(SIG_SETMASK, &old, NULL);

  /* SIG_IGN for SIGCHLD reaps children automatically. */
  signal(SIGCHLD, SIG_IGN);
  fflush(stdout);
  pid = fork();
  if (pid == 0) _exit(0);
  errno = 0;
  int r = waitpid(pid, &st, 0);
  printf("waitpid with SIGCHLD ignored: %d %s\n", r, strerrorname_np(errno));
  set_default(SIGCHLD);
}

/* ---- sigaltstack ---- */

static char *alt_base;
static size_t alt_size;
static volatile int on_alt, ss_onstack;
static sigjmp_buf jb;

static void alt_handler(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)si;
  (void)uc;
  char local;
  on_alt = &local > alt_base && &local < alt_base + alt_size;
  stack_t cur;
  sigaltstack(NULL, &cur);
  ss_onstack = (cur.ss_flags & SS_ONSTACK) != 0;
}

static void overflow_handler(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  char local;
  (void)si;
  on_alt = &local > alt_base && &local < alt_base + alt_size;
  siglongjmp(jb, sig);
}

static volatile long recursion_sink;
static long recurse(long n) {
  volatile char pad[1024];
  if (recursion_sink == -12345) return 0;
  pad[0] = (char)n;
  pad[1023] = (char)n;
  recursion_sink += pad[0];
  return recurse(n + 1) + pad[1023];
}

static void test_altstack(void) {
  printf("== sigaltstack\n");
  alt_size = 64 * 1024;
  alt_base = malloc(alt_size);
  stack_t ss = {.ss_sp = alt_base, .ss_size = alt_size, .ss_flags = 0};
  check("sigaltstack set", sigaltstack(&ss, NULL) == 0);
  stack_t q;
  sigaltstack(NULL, &q);
  printf("query: size matches=%d flags=%d\n", q.ss_size == alt_size && q.ss_sp == alt_base,
         q.ss_flags);
  set_handler(SIGUSR1, alt_handler, SA_ONSTACK, NULL);
  raise(SIGUSR1);
  printf("SA_ONSTACK handler ran on alt stack=%d SS_ONSTACK=%d\n", on_alt, ss_onstack);
  set_handler(SIGUSR1, alt_handler, 0, NULL);
  raise(SIGUSR1);
  printf("handler without SA_ONSTACK on alt stack=%d\n", on_alt);
  stack_t small = {.ss_sp = alt_base, .ss_size = 512, .ss_flags = 0};
  errno = 0;
  printf("too small: %d %s\n", sigaltstack(&small, NULL), strerrorname_np(errno));

  /* Stack overflow: only a handler on the alternate stack can run. */
  set_handler(SIGSEGV, overflow_handler, SA_ONSTACK, NULL);
  on_alt = 0;
  int sig = sigsetjmp(jb, 1);
  if (sig == 0) {
    recurse(0);
    printf("recursion returned?\n");
  } else {
    printf("stack overflow caught: signal %d on alt stack=%d\n", sig, on_alt);
  }
  set_default(SIGSEGV);
  stack_t dis = {.ss_flags = SS_DISABLE};
  sigaltstack(&dis, NULL);
  sigaltstack(NULL, &q);
  printf("disabled: flags=%d\n", q.ss_flags);
  set_default(SIGUSR1);
}

/* ---- faults, longjmp out of handlers, pc edits ---- */

static void segv_handler(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  printf("  SIGSEGV handler: signo=%d code=%s addr=%p\n", si->si_signo,
         code_name(sig, si->si_code), si->si_addr);
  siglongjmp(jb, 1);
}

static jmp_buf plain_jb;
static void longjmp_handler(int sig) {
  (void)sig;
  longjmp(plain_jb, 1);
}

static void skip_handler(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  printf("  %s handler: code=%s addr-is-pc=%d\n", sig == SIGILL ? "SIGILL" : sig == SIGTRAP ? "SIGTRAP" : "SIGSEGV",
         code_name(sig, si->si_code),
         si->si_addr == (void *)uc->uc_mcontext.__gregs[REG_PC]);
  uc->uc_mcontext.__gregs[REG_PC] += 4;
}

static void abort_handler(int sig) {
  (void)sig;
  longjmp(plain_jb, 2);
}

static void test_faults(void) {
  printf("== faults and non-local exits\n");
  set_handler(SIGSEGV, segv_handler, 0, NULL);
  if (sigsetjmp(jb, 1) == 0) {
    *(volatile int *)0 = 1;
    printf("NULL write did not fault?\n");
  }
  if (sigsetjmp(jb, 1) == 0) {
    volatile int *volatile addr16 = (volatile int *)16;
    (void)*addr16;
  }
  sigset_t cur;
  sigprocmask(SIG_SETMASK, NULL, &cur);
  printf("after siglongjmp: SIGSEGV blocked=%d\n", sigismember(&cur, SIGSEGV));

  signal(SIGUSR1, longjmp_handler);
  if (setjmp(plain_jb) == 0) {
    raise(SIGUSR1);
    printf("handler returned?\n");
  }
  sigprocmask(SIG_SETMASK, NULL, &cur);
  printf("after plain longjmp: SIGUSR1 still blocked=%d\n", sigismember(&cur, SIGUSR1));
  unblock_all();
  set_default(SIGUSR1);

  signal(SIGABRT, abort_handler);
  if (setjmp(plain_jb) == 0) {
    abort();
  } else {
    printf("abort() caught by handler\n");
  }
  unblock_all();
  set_default(SIGABRT);

  set_handler(SIGILL, skip_handler, 0, NULL);
  set_handler(SIGTRAP, skip_handler, 0, NULL);
  set_handler(SIGSEGV, skip_handler, 0, NULL);
  volatile int after = 0;
  __asm__ volatile(".option push\n\t.option norvc\n\t.4byte 0\n\t.option pop" ::: "memory");
  after++;
  __asm__ volatile(".option push\n\t.option norvc\n\tebreak\n\t.option pop" ::: "memory");
  after++;
  __asm__ volatile(".option push\n\t.option norvc\n\tsw zero, 0(zero)\n\t.option pop" ::: "memory");
  after++;
  __asm__ volatile(".option push\n\t.option norvc\n\tcsrw mstatus, zero\n\t.option pop" ::: "memory");
  after++;
  printf("resumed after each fault: %d\n", after);
  set_default(SIGILL);
  set_default(SIGTRAP);
  set_default(SIGSEGV);
}

/* ---- rt_sigreturn: registers survive a handler ---- */

/* Referenced by name from the asm block below, hence not static. */
uint64_t regs_in[2] __attribute__((used));
uint64_t regs_out[26] __attribute__((used));
double fregs_in[32] __attribute__((used)), fregs_out[32] __attribute__((used));
uint64_t fcsr_out __attribute__((used));
static int ctx_ok = -1, fctx_ok = -1, ctx_fcsr;

static uint64_t pattern(int i) { return 0x0101010101010101ull * (uint64_t)(i + 1) ^ 0x8000000000000000ull; }

static void clobber_handler(int sig, siginfo_t *si, void *ucv) {
  (void)sig;
  (void)si;
  ucontext_t *uc = ucv;
  /* The saved context holds the values the asm block loaded. */
  static const int gidx[] = {5,  6,  7,  9,  12, 13, 14, 15, 16, 18, 19,
                             20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30};
  int ok = 1;
  for (size_t k = 0; k < sizeof gidx / sizeof gidx[0]; k++)
    if (uc->uc_mcontext.__gregs[gidx[k]] != pattern(gidx[k])) ok = 0;
  ctx_ok = ok;
  int fok = 1;
  for (int k = 0; k < 32; k++)
    if (memcmp(&uc->uc_mcontext.__fpregs.__d.__f[k], &fregs_in[k], 8) != 0) fok = 0;
  fctx_ok = fok;
  ctx_fcsr = (int)uc->uc_mcontext.__fpregs.__d.__fcsr;
  /* Change s11 (x27) in the context: it must come back modified. */
  uc->uc_mcontext.__gregs[27] = 0x5555aaaa5555aaaaull;
  /* Clobber FP state and fcsr inside the handler. */
  volatile double x = 1.0, y = 3.0;
  volatile double z = x / y;
  (void)z;
  __asm__ volatile("fsrmi 3\n\tfsflagsi 0x1f" ::: "memory");
  printf("  clobbering handler ran\n");
}

static void test_sigreturn(void) {
  printf("== rt_sigreturn register preservation\n");
  set_handler(SIGUSR1, clobber_handler, 0, NULL);
  regs_in[0] = (uint64_t)getpid();
  regs_in[1] = SIGUSR1;
  for (int k = 0; k < 32; k++) fregs_in[k] = 1.5 + k * 0.25;
  __asm__ volatile(
      "la t6, fregs_in\n\t"
      "fld f0, 0(t6)\n\tfld f1, 8(t6)\n\tfld f2, 16(t6)\n\tfld f3, 24(t6)\n\t"
      "fld f4, 32(t6)\n\tfld f5, 40(t6)\n\tfld f6, 48(t6)\n\tfld f7, 56(t6)\n\t"
      "fld f8, 64(t6)\n\tfld f9, 72(t6)\n\tfld f10, 80(t6)\n\tfld f11, 88(t6)\n\t"
      "fld f12, 96(t6)\n\tfld f13, 104(t6)\n\tfld f14, 112(t6)\n\tfld f15, 120(t6)\n\t"
      "fld f16, 128(t6)\n\tfld f17, 136(t6)\n\tfld f18, 144(t6)\n\tfld f19, 152(t6)\n\t"
      "fld f20, 160(t6)\n\tfld f21, 168(t6)\n\tfld f22, 176(t6)\n\tfld f23, 184(t6)\n\t"
      "fld f24, 192(t6)\n\tfld f25, 200(t6)\n\tfld f26, 208(t6)\n\tfld f27, 216(t6)\n\t"
      "fld f28, 224(t6)\n\tfld f29, 232(t6)\n\tfld f30, 240(t6)\n\tfld f31, 248(t6)\n\t"
      "fsrmi 2\n\tfsflagsi 0x5\n\t"
      "la t6, regs_in\n\t"
      "ld a0, 0(t6)\n\tld a1, 8(t6)\n\tli a7, 129\n\t"
      /* pattern(i) for register xi */
      "li t0, 0x8606060606060606\n\t"
      "li t1, 0x8707070707070707\n\t"
      "li t2, 0x8808080808080808\n\t"
      "li s1, 0x8a0a0a0a0a0a0a0a\n\t"
      "li a2, 0x8d0d0d0d0d0d0d0d\n\t"
      "li a3, 0x8e0e0e0e0e0e0e0e\n\t"
      "li a4, 0x8f0f0f0f0f0f0f0f\n\t"
      "li a5, 0x9010101010101010\n\t"
      "li a6, 0x9111111111111111\n\t"
      "li s2, 0x9313131313131313\n\t"
      "li s3, 0x9414141414141414\n\t"
      "li s4, 0x9515151515151515\n\t"
      "li s5, 0x9616161616161616\n\t"
      "li s6, 0x9717171717171717\n\t"
      "li s7, 0x9818181818181818\n\t"
      "li s8, 0x9919191919191919\n\t"
      "li s9, 0x9a1a1a1a1a1a1a1a\n\t"
      "li s10, 0x9b1b1b1b1b1b1b1b\n\t"
      "li s11, 0x9c1c1c1c1c1c1c1c\n\t"
      "li t3, 0x9d1d1d1d1d1d1d1d\n\t"
      "li t4, 0x9e1e1e1e1e1e1e1e\n\t"
      "li t5, 0x9f1f1f1f1f1f1f1f\n\t"
      "la t6, regs_out\n\t"
      "ecall\n\t"
      "sd t0, 0(t6)\n\tsd t1, 8(t6)\n\tsd t2, 16(t6)\n\tsd s1, 24(t6)\n\t"
      "sd a0, 32(t6)\n\tsd a1, 40(t6)\n\tsd a2, 48(t6)\n\tsd a3, 56(t6)\n\t"
      "sd a4, 64(t6)\n\tsd a5, 72(t6)\n\tsd a6, 80(t6)\n\tsd a7, 88(t6)\n\t"
      "sd s2, 96(t6)\n\tsd s3, 104(t6)\n\tsd s4, 112(t6)\n\tsd s5, 120(t6)\n\t"
      "sd s6, 128(t6)\n\tsd s7, 136(t6)\n\tsd s8, 144(t6)\n\tsd s9, 152(t6)\n\t"
      "sd s10, 160(t6)\n\tsd s11, 168(t6)\n\tsd t3, 176(t6)\n\tsd t4, 184(t6)\n\t"
      "sd t5, 192(t6)\n\tsd t6, 200(t6)\n\t"
      "frcsr t0\n\tla t1, fcsr_out\n\tsd t0, 0(t1)\n\t"
      "la t6, fregs_out\n\t"
      "fsd f0, 0(t6)\n\tfsd f1, 8(t6)\n\tfsd f2, 16(t6)\n\tfsd f3, 24(t6)\n\t"
      "fsd f4, 32(t6)\n\tfsd f5, 40(t6)\n\tfsd f6, 48(t6)\n\tfsd f7, 56(t6)\n\t"
      "fsd f8, 64(t6)\n\tfsd f9, 72(t6)\n\tfsd f10, 80(t6)\n\tfsd f11, 88(t6)\n\t"
      "fsd f12, 96(t6)\n\tfsd f13, 104(t6)\n\tfsd f14, 112(t6)\n\tfsd f15, 120(t6)\n\t"
      "fsd f16, 128(t6)\n\tfsd f17, 136(t6)\n\tfsd f18, 144(t6)\n\tfsd f19, 152(t6)\n\t"
      "fsd f20, 160(t6)\n\tfsd f21, 168(t6)\n\tfsd f22, 176(t6)\n\tfsd f23, 184(t6)\n\t"
      "fsd f24, 192(t6)\n\tfsd f25, 200(t6)\n\tfsd f26, 208(t6)\n\tfsd f27, 216(t6)\n\t"
      "fsd f28, 224(t6)\n\tfsd f29, 232(t6)\n\tfsd f30, 240(t6)\n\tfsd f31, 248(t6)\n\t"
      "fscsr zero"
      :
      :
      : "t0", "t1", "t2", "s1", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "s2", "s3", "s4",
        "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6", "f0", "f1", "f2",
        "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11", "f12", "f13", "f14", "f15",
        "f16", "f17", "f18", "f19", "f20", "f21", "f22", "f23", "f24", "f25", "f26", "f27",
        "f28", "f29", "f30", "f31", "memory");
  /* regs_out order: t0 t1 t2 s1 a0 a1 a2..a6 a7 s2..s11 t3 t4 t5 t6 */
  static const int xnum[] = {5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
                             19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30};
  int bad = 0;
  for (int k = 0; k < 25; k++) {
    int x = xnum[k];
    uint64_t want;
    if (x == 10) want = 0;                          /* kill() result */
    else if (x == 11) want = SIGUSR1;               /* a1 unchanged */
    else if (x == 17) want = 129;                   /* a7 unchanged */
    else if (x == 27) want = 0x5555aaaa5555aaaaull; /* edited in the handler */
    else want = pattern(x);
    if (regs_out[k] != want) {
      printf("  x%d: got %016" PRIx64 " want %016" PRIx64 "\n", x, regs_out[k], want);
      bad++;
    }
  }
  check("integer registers preserved (s11 as edited by the handler)", bad == 0);
  check("handler saw the registers in its ucontext", ctx_ok == 1);
  check("handler saw the FP registers in its ucontext", fctx_ok == 1);
  printf("fcsr seen by handler: %#x\n", ctx_fcsr);
  check("FP registers preserved", memcmp(fregs_in, fregs_out, sizeof fregs_in) == 0);
  printf("fcsr after handler: %#" PRIx64 "\n", fcsr_out);
  set_default(SIGUSR1);
}

/* ---- signals to threads ---- */

static volatile pid_t handled_in_tid;
static void tid_handler(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)si;
  (void)uc;
  handled_in_tid = gettid();
}
static volatile pid_t worker_tid;
static void *signal_worker(void *arg) {
  (void)arg;
  worker_tid = gettid();
  while (!handled_in_tid) sched_yield();
  return NULL;
}

static void test_thread_signals(void) {
  printf("== signals to threads\n");
  set_handler(SIGUSR2, tid_handler, 0, NULL);
  pthread_t t;
  pthread_create(&t, NULL, signal_worker, NULL);
  while (!worker_tid) sched_yield();
  pthread_kill(t, SIGUSR2);
  pthread_join(t, NULL);
  check("pthread_kill ran the handler in the target thread", handled_in_tid == worker_tid);
  set_default(SIGUSR2);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  test_siginfo();
  test_masks();
  test_flags();
  test_timers();
  test_sigchld();
  test_altstack();
  test_faults();
  test_sigreturn();
  test_thread_signals();
  printf("signals: %s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
