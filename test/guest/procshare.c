/*
 * Processes that share memory and talk: process-shared mutexes, condition
 * variables and semaphores in MAP_SHARED anonymous memory, a futex token
 * passed between a parent and its child, a flag seen without any system
 * call, a file mapped shared by two processes (atomics, the file's bytes,
 * pwrite into it), a named semaphore, stop and continue, a pipeline of
 * processes, SIGPIPE, signals to a process group, and copy-on-write after
 * fork.
 *
 *   procshare [pipeline-MiB]   the whole run (the pipeline moves 64 MiB by default)
 *   procshare stage N          one pipeline stage (used by the run itself)
 *   procshare spawn            posix_spawn of this program and of a missing one
 *   procshare forkbomb LIMIT   fork until fork fails, with RLIMIT_NPROC at LIMIT
 *   procshare proc             /proc/PID of a forked child
 *
 * The last three are not compared with qemu-riscv64: without binfmt_misc its
 * execve cannot start a riscv64 program, and its vfork is a fork, so
 * posix_spawn cannot report a failed exec; a fork bomb is not run on the
 * host; and its /proc/PID of another process is the host's, which shows
 * qemu-riscv64 itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void *shared(size_t n) {
  void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    exit(1);
  }
  return p;
}

static void status(const char *what, int st) {
  if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
  else if (WIFSIGNALED(st)) printf("%s: killed by %s\n", what, sigabbrev_np(WTERMSIG(st)));
  else printf("%s: status %#x\n", what, st);
}

static void reap(const char *what, pid_t pid) {
  int st;
  if (waitpid(pid, &st, 0) != pid) {
    printf("%s: waitpid failed: %s\n", what, strerrorname_np(errno));
    return;
  }
  status(what, st);
}

struct counter {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  long value;
  int ready;
};

static void test_mutex(void) {
  struct counter *c = shared(sizeof *c);
  pthread_mutexattr_t ma;
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(&c->lock, &ma);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
  pthread_cond_init(&c->cond, &ca);
  enum { KIDS = 4, ROUNDS = 20000 };
  pid_t kids[KIDS];
  fflush(stdout);
  for (int i = 0; i < KIDS; i++) {
    kids[i] = fork();
    if (kids[i] == 0) {
      pthread_mutex_lock(&c->lock);
      while (!c->ready) pthread_cond_wait(&c->cond, &c->lock);
      pthread_mutex_unlock(&c->lock);
      for (int r = 0; r < ROUNDS; r++) {
        pthread_mutex_lock(&c->lock);
        long v = c->value;
        if (r % 1000 == 0) sched_yield(); /* another process runs while the lock is held */
        c->value = v + 1;
        pthread_mutex_unlock(&c->lock);
      }
      _exit(0);
    }
  }
  pthread_mutex_lock(&c->lock);
  c->ready = 1;
  pthread_cond_broadcast(&c->cond);
  pthread_mutex_unlock(&c->lock);
  for (int i = 0; i < KIDS; i++) reap("mutex child", kids[i]);
  printf("shared mutex: counter %ld (expected %d)\n", c->value, KIDS * ROUNDS);
}

static void test_semaphore(void) {
  sem_t *s = shared(2 * sizeof(sem_t) + sizeof(long));
  sem_t *items = &s[0], *room = &s[1];
  long *slot = (long *)&s[2];
  sem_init(items, 1, 0);
  sem_init(room, 1, 1);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    long sum = 0;
    for (int i = 0; i < 5000; i++) {
      sem_wait(items);
      sum += *slot;
      sem_post(room);
    }
    _exit(sum == 5000L * 4999 / 2 ? 0 : 1);
  }
  for (long i = 0; i < 5000; i++) {
    sem_wait(room);
    *slot = i;
    sem_post(items);
  }
  reap("semaphore consumer (0: saw every item once)", pid);
}

static long futex(atomic_int *addr, int op, int val) {
  return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

static void test_futex_token(void) {
  atomic_int *turn = shared(sizeof *turn);
  enum { PASSES = 100000 };
  fflush(stdout);
  pid_t pid = fork();
  int me = pid == 0 ? 1 : 0;
  long waits = 0;
  for (int i = 0; i < PASSES; i++) {
    while (atomic_load(turn) != me) {
      futex(turn, FUTEX_WAIT, !me);
      waits++;
    }
    atomic_store(turn, !me);
    futex(turn, FUTEX_WAKE, 1);
  }
  if (pid == 0) _exit(waits > 0 ? 0 : 2);
  reap("futex token child", pid);
  printf("futex token: passed %d times each way, final turn %d\n", PASSES, atomic_load(turn));
}

static void test_spin_flag(void) {
  atomic_int *flag = shared(2 * sizeof *flag);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    /* No system call in this loop: the parent's store must reach it anyway. */
    while (atomic_load(&flag[0]) == 0) {
    }
    atomic_store(&flag[1], 42);
    _exit(0);
  }
  atomic_store(&flag[0], 1);
  while (atomic_load(&flag[1]) == 0) {
  }
  reap("spinning child", pid);
  printf("spin flag: child answered %d\n", atomic_load(&flag[1]));
}

/* A file mapped MAP_SHARED by two processes: one memory, atomics across them, and the file sees it all. */
static void test_file_mapping(void) {
  char path[] = "procshare-map-XXXXXX";
  int fd = mkstemp(path);
  ftruncate(fd, 8192);
  atomic_long *words = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  enum { ADDS = 50000 };
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    for (int i = 0; i < ADDS; i++) atomic_fetch_add(&words[0], 1);
    atomic_store(&words[1], 1);
    /* The parent's store reaches this process without a system call in between. */
    while (atomic_load(&words[2]) == 0) {
    }
    _exit(0);
  }
  for (int i = 0; i < ADDS; i++) atomic_fetch_add(&words[0], 1);
  while (atomic_load(&words[1]) == 0) {
  }
  atomic_store(&words[2], 1);
  reap("file mapping child", pid);
  long in_file = 0;
  pread(fd, &in_file, sizeof in_file, 0);
  printf("file mapping: counter %ld (expected %d), the file says %ld\n", (long)atomic_load(&words[0]), 2 * ADDS, in_file);
  /* write(2) to the file reaches the mapping. */
  long v = 1234;
  pwrite(fd, &v, sizeof v, 8 * 3);
  printf("file mapping after pwrite: %ld\n", (long)atomic_load(&words[3]));
  munmap(words, 8192);
  close(fd);
  unlink(path);

  /*
   * A named POSIX semaphore is a file in /dev/shm, mapped by each process that
   * opens it.  Its name is this run's own: qemu-riscv64 and tsemu-riscv64 run
   * this program at the same time, on the same host's /dev/shm.
   */
  char name[64];
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  snprintf(name, sizeof name, "/procshare-sem-%d-%ld", (int)getpid(), (long)now.tv_nsec);
  sem_t *s = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
  if (s == SEM_FAILED) {
    printf("sem_open: %s\n", strerrorname_np(errno));
    return;
  }
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    sem_t *c = sem_open(name, 0);
    for (int i = 0; i < 2000; i++) sem_post(c);
    _exit(0);
  }
  int got = 0;
  for (int i = 0; i < 2000; i++) got += sem_wait(s) == 0;
  reap("named semaphore child", pid);
  int left = -1;
  sem_getvalue(s, &left);
  printf("named semaphore: waited %d times, %d left\n", got, left);
  sem_close(s);
  sem_unlink(name);
}

static int chld_pending(void) {
  sigset_t set;
  sigpending(&set);
  return sigismember(&set, SIGCHLD);
}

/* Stop and continue: wait4 with WUNTRACED and WCONTINUED, waitid, SIGTSTP, SIGKILL to a stopped child. */
static void test_stop_continue(void) {
  sigset_t chld, old;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &old);
  int go[2];
  pipe(go);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(go[1]);
    raise(SIGSTOP);
    char c;
    read(go[0], &c, 1);
    printf("child: went on after SIGCONT\n");
    fflush(stdout);
    _exit(5);
  }
  close(go[0]);
  int st;
  printf("wait4 WUNTRACED: %d", waitpid(pid, &st, WUNTRACED) == pid);
  printf(", stopped %d by %s, SIGCHLD pending %d\n", WIFSTOPPED(st), sigabbrev_np(WSTOPSIG(st)), chld_pending());
  printf("the stop is reported once: %d\n", waitpid(pid, &st, WNOHANG | WUNTRACED));
  kill(pid, SIGCONT);
  printf("wait4 WCONTINUED: %d", waitpid(pid, &st, WCONTINUED) == pid);
  printf(", continued %d\n", WIFCONTINUED(st));
  fflush(stdout);
  write(go[1], "x", 1);
  close(go[1]);
  waitpid(pid, &st, 0);
  status("after SIGCONT", st);
  sigtimedwait(&chld, NULL, &(struct timespec){0, 0});
  while (sigtimedwait(&chld, NULL, &(struct timespec){0, 0}) > 0) {
  }

  /*
   * SA_NOCLDSTOP; SIGSTOP stops; an ignored SIGTSTP does not.  (SIGTSTP's
   * default stop is not tried: the host kernel throws it away in an orphaned
   * process group, which the test runner's may be.)
   */
  struct sigaction sa = {0};
  sa.sa_handler = SIG_DFL;
  sa.sa_flags = SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    raise(SIGSTOP);
    signal(SIGTSTP, SIG_IGN);
    raise(SIGTSTP); /* ignored: goes on */
    pause();
    _exit(0);
  }
  siginfo_t si;
  memset(&si, 0, sizeof si);
  waitid(P_PID, (id_t)pid, &si, WSTOPPED);
  /* (Whether SIGCHLD is pending now is not printed: qemu-riscv64 queues one despite SA_NOCLDSTOP.) */
  printf("waitid WSTOPPED: code %s, status %s\n", si.si_code == CLD_STOPPED ? "CLD_STOPPED" : "other",
         sigabbrev_np(si.si_status));
  kill(pid, SIGCONT);
  memset(&si, 0, sizeof si);
  waitid(P_PID, (id_t)pid, &si, WCONTINUED);
  printf("waitid WCONTINUED: code %s, status %s\n", si.si_code == CLD_CONTINUED ? "CLD_CONTINUED" : "other",
         sigabbrev_np(si.si_status));
  kill(pid, SIGKILL);
  waitpid(pid, &st, 0);
  status("killed after continuing", st);
  printf("SIGCHLD pending after its end %d\n", chld_pending());
  while (sigtimedwait(&chld, NULL, &(struct timespec){0, 0}) > 0) {
  }

  /* SIGKILL ends a stopped child; SIGTERM to a stopped child waits for SIGCONT. */
  signal(SIGCHLD, SIG_DFL);
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    raise(SIGSTOP);
    _exit(0);
  }
  waitpid(pid, &st, WUNTRACED);
  kill(pid, SIGTERM);
  printf("SIGTERM to a stopped child, WNOHANG: %d\n", waitpid(pid, &st, WNOHANG));
  kill(pid, SIGKILL);
  waitpid(pid, &st, 0);
  status("SIGKILL to a stopped child", st);
  sigprocmask(SIG_SETMASK, &old, NULL);
}

static void test_cow(void) {
  static char page[8192] = "parent data";
  int *counter = malloc(sizeof *counter);
  *counter = 10;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    strcpy(page, "child data");
    *counter = 20;
    _exit(strcmp(page, "child data") == 0 && *counter == 20 ? 0 : 1);
  }
  reap("copy-on-write child", pid);
  printf("after the child wrote: page '%s', counter %d\n", page, *counter);
}

/* posix_spawn: glibc's clone(CLONE_VM | CLONE_VFORK) with the child's error reported through shared memory. */
static void test_spawn(const char *self) {
  int out[2];
  pipe(out);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  char *argv[] = {(char *)self, "stage", "0", NULL};
  pid_t pid;
  fflush(stdout);
  int r = posix_spawn(&pid, self, &fa, NULL, argv, environ);
  close(out[1]);
  printf("posix_spawn: %s\n", r == 0 ? "ok" : strerrorname_np(r));
  /* Stage 0 writes 1 KiB of the pattern and exits. */
  char buf[4096];
  long total = 0;
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) total += n;
  close(out[0]);
  printf("posix_spawn child wrote %ld bytes\n", total);
  reap("posix_spawn child", pid);
  char *bad[] = {"/nonexistent/program", NULL};
  r = posix_spawn(&pid, bad[0], NULL, NULL, bad, environ);
  printf("posix_spawn of a missing program: %s\n", r == 0 ? "ok" : strerrorname_np(r));
  if (r == 0) reap("missing program", pid);
  /* vfork: the child runs on the parent's memory until it execs or ends. */
  static volatile int seen;
  fflush(stdout);
  pid = vfork();
  if (pid == 0) {
    seen = 1;
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  printf("vfork child's store seen by the parent: %d\n", seen);
}

/* Pipeline stage: 0 writes `mib` MiB of a pattern, the middle ones copy, the last one checks. */
static int stage(int n, long mib) {
  static unsigned char buf[65536];
  if (n == 0) {
    long left = mib > 0 ? mib << 20 : 1024;
    unsigned char v = 0;
    while (left > 0) {
      size_t k = left < (long)sizeof buf ? (size_t)left : sizeof buf;
      for (size_t i = 0; i < k; i++) buf[i] = v++;
      for (size_t done = 0; done < k;) {
        ssize_t w = write(1, buf + done, k - done);
        if (w <= 0) return 1;
        done += w;
      }
      left -= k;
    }
    return 0;
  }
  ssize_t r;
  if (n < 0) {
    unsigned char v = 0;
    long total = 0, bad = 0;
    while ((r = read(0, buf, sizeof buf)) > 0) {
      for (ssize_t i = 0; i < r; i++) bad += buf[i] != v++;
      total += r;
    }
    printf("pipeline end: %ld bytes, %ld out of place\n", total, bad);
    return 0;
  }
  while ((r = read(0, buf, sizeof buf)) > 0) {
    for (ssize_t done = 0; done < r;) {
      ssize_t w = write(1, buf + done, r - done);
      if (w <= 0) return 1;
      done += w;
    }
  }
  return 0;
}

static void test_pipeline(long mib) {
  enum { STAGES = 8 };
  pid_t pids[STAGES];
  int in = -1;
  fflush(stdout);
  for (int i = 0; i < STAGES; i++) {
    int p[2] = {-1, -1};
    if (i < STAGES - 1) pipe(p);
    pids[i] = fork();
    if (pids[i] == 0) {
      if (in >= 0) {
        dup2(in, 0);
        close(in);
      }
      if (p[1] >= 0) {
        dup2(p[1], 1);
        close(p[1]);
        close(p[0]);
      }
      int rc = stage(i == 0 ? 0 : i == STAGES - 1 ? -1 : i, mib);
      fflush(stdout);
      _exit(rc);
    }
    if (in >= 0) close(in);
    if (p[1] >= 0) close(p[1]);
    in = p[0];
  }
  int ok = 0;
  for (int i = 0; i < STAGES; i++) {
    int st;
    waitpid(pids[i], &st, 0);
    ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
  }
  printf("pipeline of %d processes, %ld MiB: %d exited 0\n", STAGES, mib, ok);
}

static void test_sigpipe(void) {
  int p[2];
  pipe(p);
  close(p[0]);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    write(p[1], "x", 1);
    _exit(0);
  }
  close(p[1]);
  reap("writer to a pipe without readers", pid);
  signal(SIGPIPE, SIG_IGN);
  pipe(p);
  close(p[0]);
  errno = 0;
  ssize_t r = write(p[1], "x", 1);
  printf("with SIGPIPE ignored: write %zd %s\n", r, strerrorname_np(errno));
  close(p[1]);
  signal(SIGPIPE, SIG_DFL);
}

static void test_group_kill(void) {
  int ready[2];
  pipe(ready);
  fflush(stdout);
  pid_t leader = fork();
  if (leader == 0) {
    setpgid(0, 0);
    if (fork() == 0) { /* a second member of the new group */
      write(ready[1], "m", 1);
      pause();
      _exit(0);
    }
    write(ready[1], "l", 1);
    int st;
    wait(&st); /* the member, killed with the group */
    pause();
    _exit(0);
  }
  setpgid(leader, leader); /* as a shell does, so the group exists whoever runs first */
  char c[2];
  read(ready[0], &c[0], 1);
  read(ready[0], &c[1], 1);
  printf("getpgid(child) is the child: %d\n", getpgid(leader) == leader);
  printf("getpgid(0) is not the child's group: %d\n", getpgid(0) != leader);
  printf("kill(-group, SIGTERM): %d\n", kill(-leader, SIGTERM));
  reap("group leader", leader);
  errno = 0;
  printf("kill of a reaped pid: %d %s\n", kill(leader, 0), strerrorname_np(errno));
  close(ready[0]);
  close(ready[1]);
}

/* /proc/PID of a forked child, seen by itself and by its parent. */
static int proc_files(void) {
  int go[2];
  pipe(go);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    char buf[512] = {0}, comm[64] = {0}, st = 0;
    int spid = 0, sppid = 0;
    FILE *f = fopen("/proc/self/stat", "r");
    if (f == NULL || fscanf(f, "%d (%63[^)]) %c %d", &spid, comm, &st, &sppid) != 4) printf("child: no /proc/self/stat\n");
    else printf("child: stat pid %d, comm %s, state %c, ppid %d\n", spid == getpid(), comm, st, sppid == getppid());
    if (f != NULL) fclose(f);
    f = fopen("/proc/self/status", "r");
    int pids = 0;
    while (f != NULL && fgets(buf, sizeof buf, f) != NULL) {
      int v;
      if (sscanf(buf, "Pid: %d", &v) == 1) pids += v == getpid();
      if (sscanf(buf, "PPid: %d", &v) == 1) pids += v == getppid();
    }
    if (f != NULL) fclose(f);
    printf("child: status Pid and PPid right: %d\n", pids);
    fflush(stdout);
    char c;
    read(go[0], &c, 1);
    _exit(0);
  }
  char path[64], buf[256] = {0}, target[256] = {0};
  snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
  FILE *f = fopen(path, "r");
  size_t n = f != NULL ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f != NULL) fclose(f);
  printf("parent: child's cmdline has %zu bytes, second word %s\n", n, n > strlen(buf) + 1 ? buf + strlen(buf) + 1 : "-");
  snprintf(path, sizeof path, "/proc/%d/exe", pid);
  ssize_t k = readlink(path, target, sizeof target - 1);
  printf("parent: child's exe is this program: %d\n", k > 0 && strstr(target, "procshare") != NULL);
  snprintf(path, sizeof path, "/proc/%d", pid);
  printf("parent: /proc/PID of the child exists: %d\n", access(path, F_OK) == 0);
  write(go[1], "x", 1);
  int st;
  waitpid(pid, &st, 0);
  snprintf(path, sizeof path, "/proc/%d", pid);
  printf("parent: /proc/PID after the child is reaped: %d\n", access(path, F_OK) == 0);
  return 0;
}

static int forkbomb(long limit) {
  setpgid(0, 0); /* kill(0) below reaches this run's processes only */
  struct rlimit rl = {limit, limit};
  setrlimit(RLIMIT_NPROC, &rl);
  int made = 0, err = 0;
  for (int i = 0; i < 100000; i++) {
    pid_t pid = fork();
    if (pid == 0) {
      pause(); /* until the parent ends it */
      _exit(0);
    }
    if (pid < 0) {
      err = errno;
      break;
    }
    made++;
  }
  printf("fork failed with %s after %s children\n", err ? strerrorname_np(err) : "nothing",
         made > 0 && made < 100000 ? "some" : "no or all");
  signal(SIGTERM, SIG_IGN);
  kill(0, SIGTERM);
  int st, reaped = 0;
  while (wait(&st) > 0) reaped += WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM;
  printf("reaped all %s\n", reaped == made ? "yes" : "no");
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 2 && strcmp(argv[1], "stage") == 0) return stage(atoi(argv[2]), argc > 3 ? atol(argv[3]) : 0);
  if (argc > 2 && strcmp(argv[1], "forkbomb") == 0) return forkbomb(atol(argv[2]));
  if (argc > 1 && strcmp(argv[1], "proc") == 0) return proc_files();
  if (argc > 1 && strcmp(argv[1], "spawn") == 0) {
    test_spawn(argv[0]);
    return 0;
  }
  long mib = argc > 1 ? atol(argv[1]) : 64;
  test_cow();
  test_mutex();
  test_semaphore();
  test_futex_token();
  test_spin_flag();
  test_file_mapping();
  test_stop_continue();
  test_pipeline(mib);
  test_sigpipe();
  test_group_kill();
  return 0;
}
