/*
 * Threads: pthread_create/join with return values, pthread_exit values,
 * mutex-protected counters, condition variables (bounded queue between
 * producers and consumers), thread-local storage (__thread and
 * pthread_key with destructors), many threads incrementing atomic
 * counters, barriers, pthread_once, rwlocks, semaphores, detached threads,
 * distinct thread ids, thread stack sizes, and a thread that blocks in
 * a syscall while others run. Only results independent of scheduling are
 * printed. Exits 1 if a check fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int failures;

static void check(const char *what, int ok) {
  printf("%s: %s\n", what, ok ? "yes" : "NO");
  if (!ok) failures++;
}

/* ---- create/join/exit ---- */

static void *square(void *arg) {
  intptr_t v = (intptr_t)arg;
  return (void *)(v * v);
}

static void *exits_early(void *arg) {
  intptr_t v = (intptr_t)arg;
  if (v % 2) pthread_exit((void *)(v + 1000));
  return (void *)(v + 2000);
}

static void test_create_join(void) {
  printf("== create/join\n");
  pthread_t t[8];
  for (intptr_t i = 0; i < 8; i++) pthread_create(&t[i], NULL, square, (void *)i);
  printf("squares:");
  for (int i = 0; i < 8; i++) {
    void *r;
    pthread_join(t[i], &r);
    printf(" %" PRIdPTR, (intptr_t)r);
  }
  printf("\n");
  for (intptr_t i = 0; i < 4; i++) pthread_create(&t[i], NULL, exits_early, (void *)i);
  printf("pthread_exit values:");
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(t[i], &r);
    printf(" %" PRIdPTR, (intptr_t)r);
  }
  printf("\n");
  pthread_t self = pthread_self();
  check("pthread_equal(self, self)", pthread_equal(self, pthread_self()));
  int r = pthread_join(self, NULL);
  printf("join self: %s\n", strerrorname_np(r));
}

/* ---- mutex ---- */

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static long shared_counter;

static void *mutex_worker(void *arg) {
  int n = (int)(intptr_t)arg;
  for (int i = 0; i < n; i++) {
    pthread_mutex_lock(&mtx);
    shared_counter++;
    pthread_mutex_unlock(&mtx);
  }
  return NULL;
}

static void test_mutex(void) {
  printf("== mutex\n");
  pthread_t t[6];
  for (int i = 0; i < 6; i++) pthread_create(&t[i], NULL, mutex_worker, (void *)(intptr_t)5000);
  for (int i = 0; i < 6; i++) pthread_join(t[i], NULL);
  printf("mutex counter: %ld\n", shared_counter);
  if (shared_counter != 30000) failures++;

  pthread_mutex_t em;
  pthread_mutexattr_t at;
  pthread_mutexattr_init(&at);
  pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ERRORCHECK);
  pthread_mutex_init(&em, &at);
  pthread_mutex_lock(&em);
  printf("errorcheck relock: %s\n", strerrorname_np(pthread_mutex_lock(&em)));
  printf("trylock held: %s\n", strerrorname_np(pthread_mutex_trylock(&em)));
  pthread_mutex_unlock(&em);
  printf("unlock unheld: %s\n", strerrorname_np(pthread_mutex_unlock(&em)));
  pthread_mutex_destroy(&em);
  pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&em, &at);
  int a = pthread_mutex_lock(&em), b = pthread_mutex_lock(&em);
  int c = pthread_mutex_unlock(&em), d = pthread_mutex_unlock(&em);
  printf("recursive lock twice: %d %d %d %d\n", a, b, c, d);
  pthread_mutex_destroy(&em);
  pthread_mutexattr_destroy(&at);
}

/* ---- condition variables: bounded queue ---- */

#define QCAP 8
static int queue[QCAP], qhead, qlen, producers_left;
static pthread_mutex_t qm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;

static void *producer(void *arg) {
  int base = (int)(intptr_t)arg;
  for (int i = 1; i <= 500; i++) {
    pthread_mutex_lock(&qm);
    while (qlen == QCAP) pthread_cond_wait(&not_full, &qm);
    queue[(qhead + qlen) % QCAP] = base + i;
    qlen++;
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&qm);
  }
  pthread_mutex_lock(&qm);
  producers_left--;
  pthread_cond_broadcast(&not_empty);
  pthread_mutex_unlock(&qm);
  return NULL;
}

static void *consumer(void *arg) {
  (void)arg;
  long sum = 0, count = 0;
  for (;;) {
    pthread_mutex_lock(&qm);
    while (qlen == 0 && producers_left > 0) pthread_cond_wait(&not_empty, &qm);
    if (qlen == 0) {
      pthread_mutex_unlock(&qm);
      break;
    }
    sum += queue[qhead];
    qhead = (qhead + 1) % QCAP;
    qlen--;
    count++;
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&qm);
  }
  long *res = malloc(2 * sizeof *res);
  res[0] = sum;
  res[1] = count;
  return res;
}

static void test_condvar(void) {
  printf("== condvar queue\n");
  pthread_t p[3], c[3];
  producers_left = 3;
  for (int i = 0; i < 3; i++) pthread_create(&p[i], NULL, producer, (void *)(intptr_t)(i * 100000));
  for (int i = 0; i < 3; i++) pthread_create(&c[i], NULL, consumer, NULL);
  for (int i = 0; i < 3; i++) pthread_join(p[i], NULL);
  long sum = 0, count = 0;
  for (int i = 0; i < 3; i++) {
    long *r;
    pthread_join(c[i], (void **)&r);
    sum += r[0];
    count += r[1];
    free(r);
  }
  printf("consumed %ld items, sum %ld\n", count, sum);
  if (count != 1500) failures++;

  /* Timed wait that times out. */
  pthread_mutex_lock(&qm);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_nsec += 20 * 1000 * 1000;
  if (ts.tv_nsec >= 1000000000) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000;
  }
  int r = pthread_cond_timedwait(&not_empty, &qm, &ts);
  pthread_mutex_unlock(&qm);
  printf("timedwait with no signal: %s\n", strerrorname_np(r));
}

/* ---- TLS ---- */

static __thread int tls_value = 7;
static __thread char tls_buf[64];
static pthread_key_t key;
static atomic_int destructor_calls;
static atomic_long destructor_sum;

static void key_destructor(void *p) {
  atomic_fetch_add(&destructor_calls, 1);
  atomic_fetch_add(&destructor_sum, (long)(intptr_t)p);
}

static void *tls_worker(void *arg) {
  int id = (int)(intptr_t)arg;
  int initial = tls_value;
  tls_value = id * 11;
  snprintf(tls_buf, sizeof tls_buf, "thread-%d", id);
  pthread_setspecific(key, (void *)(intptr_t)(id + 1));
  for (int i = 0; i < 1000; i++) {
    if (tls_value != id * 11) return (void *)-1;
    sched_yield();
    if (i % 100 == 0) usleep(100);
  }
  char want[64];
  snprintf(want, sizeof want, "thread-%d", id);
  int ok = initial == 7 && strcmp(tls_buf, want) == 0 &&
           (intptr_t)pthread_getspecific(key) == id + 1;
  return (void *)(intptr_t)(ok ? 1 : 0);
}

static void test_tls(void) {
  printf("== thread-local storage\n");
  pthread_key_create(&key, key_destructor);
  tls_value = 99;
  pthread_t t[5];
  for (int i = 0; i < 5; i++) pthread_create(&t[i], NULL, tls_worker, (void *)(intptr_t)i);
  int ok = 1;
  for (int i = 0; i < 5; i++) {
    void *r;
    pthread_join(t[i], &r);
    ok &= r == (void *)1;
  }
  check("each thread saw its own TLS and the initial value 7", ok);
  check("main thread TLS unchanged", tls_value == 99);
  printf("key destructors: calls=%d sum=%ld\n", atomic_load(&destructor_calls),
         atomic_load(&destructor_sum));
  pthread_key_delete(key);
}

/* ---- atomics under contention ---- */

static atomic_long acounter;
static atomic_int aflags;
static long plain_with_spinlock;
static atomic_flag spin = ATOMIC_FLAG_INIT;

static void *atomic_worker(void *arg) {
  int id = (int)(intptr_t)arg;
  for (int i = 0; i < 20000; i++) {
    atomic_fetch_add_explicit(&acounter, 1, memory_order_relaxed);
    if (i % 16 == 0) {
      while (atomic_flag_test_and_set_explicit(&spin, memory_order_acquire)) {
      }
      plain_with_spinlock += 2;
      atomic_flag_clear_explicit(&spin, memory_order_release);
    }
  }
  atomic_fetch_or(&aflags, 1 << id);
  return NULL;
}

static void test_atomics(void) {
  printf("== atomic counters\n");
  enum { NT = 16 };
  pthread_t t[NT];
  for (int i = 0; i < NT; i++) pthread_create(&t[i], NULL, atomic_worker, (void *)(intptr_t)i);
  for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
  printf("atomic counter: %ld\n", atomic_load(&acounter));
  printf("spinlock counter: %ld\n", plain_with_spinlock);
  printf("all threads flagged: %#x\n", atomic_load(&aflags));
  if (atomic_load(&acounter) != NT * 20000) failures++;
}

/* ---- barrier, once, rwlock, semaphore, detached ---- */

static pthread_barrier_t barrier;
static atomic_int before_barrier, serial_count, order_ok = 1;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_int once_calls;
static void once_fn(void) { atomic_fetch_add(&once_calls, 1); }

static void *barrier_worker(void *arg) {
  (void)arg;
  pthread_once(&once, once_fn);
  atomic_fetch_add(&before_barrier, 1);
  int r = pthread_barrier_wait(&barrier);
  if (r == PTHREAD_BARRIER_SERIAL_THREAD) atomic_fetch_add(&serial_count, 1);
  if (atomic_load(&before_barrier) != 6) atomic_store(&order_ok, 0);
  return NULL;
}

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long rw_data[4];
static void *rw_worker(void *arg) {
  int id = (int)(intptr_t)arg;
  long bad = 0;
  for (int i = 0; i < 2000; i++) {
    if (id == 0 && i % 4 == 0) {
      pthread_rwlock_wrlock(&rw);
      for (int k = 0; k < 4; k++) rw_data[k]++;
      pthread_rwlock_unlock(&rw);
    } else {
      pthread_rwlock_rdlock(&rw);
      for (int k = 1; k < 4; k++) bad += rw_data[k] != rw_data[0];
      pthread_rwlock_unlock(&rw);
    }
  }
  return (void *)bad;
}

static sem_t sem_items, sem_done;
static atomic_int detached_ran;
static void *detached_worker(void *arg) {
  (void)arg;
  sem_wait(&sem_items);
  atomic_fetch_add(&detached_ran, 1);
  sem_post(&sem_done);
  return NULL;
}

static void test_sync(void) {
  printf("== barrier/once/rwlock/semaphore/detached\n");
  pthread_barrier_init(&barrier, NULL, 6);
  pthread_t t[6];
  for (int i = 0; i < 6; i++) pthread_create(&t[i], NULL, barrier_worker, NULL);
  for (int i = 0; i < 6; i++) pthread_join(t[i], NULL);
  pthread_barrier_destroy(&barrier);
  printf("barrier: serial threads=%d all arrived before release=%d once calls=%d\n",
         atomic_load(&serial_count), atomic_load(&order_ok), atomic_load(&once_calls));

  for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, rw_worker, (void *)(intptr_t)i);
  long inconsistent = 0;
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(t[i], &r);
    inconsistent += (long)r;
  }
  printf("rwlock: writes=%ld inconsistent reads=%ld\n", rw_data[0], inconsistent);

  sem_init(&sem_items, 0, 0);
  sem_init(&sem_done, 0, 0);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (int i = 0; i < 4; i++) {
    pthread_t d;
    pthread_create(&d, &attr, detached_worker, NULL);
  }
  pthread_attr_destroy(&attr);
  for (int i = 0; i < 4; i++) sem_post(&sem_items);
  for (int i = 0; i < 4; i++) sem_wait(&sem_done);
  printf("detached threads ran: %d\n", atomic_load(&detached_ran));
  int v;
  sem_getvalue(&sem_items, &v);
  printf("semaphore value: %d, trywait: %s\n", v,
         sem_trywait(&sem_items) == 0 ? "ok" : strerrorname_np(errno));
}

/* ---- ids, stacks, blocking ---- */

static pid_t tids[8];
static pthread_barrier_t tid_barrier;
static void *tid_worker(void *arg) {
  int i = (int)(intptr_t)arg;
  tids[i] = gettid();
  pthread_barrier_wait(&tid_barrier); /* all alive at once: no id reuse */
  return NULL;
}

static void *stack_worker(void *arg) {
  size_t n = (size_t)(intptr_t)arg;
  volatile char big[n];
  for (size_t i = 0; i < n; i += 512) big[i] = (char)(i >> 9);
  long s = 0;
  for (size_t i = 0; i < n; i += 512) s += big[i];
  return (void *)s;
}

static int block_pipe[2];
static void *blocking_reader(void *arg) {
  (void)arg;
  char buf[16] = {0};
  ssize_t n = read(block_pipe[0], buf, sizeof buf - 1);
  return (void *)(intptr_t)(n == 5 && strcmp(buf, "wake!") == 0);
}

static void test_ids_stacks(void) {
  printf("== ids, stacks, blocking\n");
  pthread_t t[8];
  pthread_barrier_init(&tid_barrier, NULL, 8);
  for (int i = 0; i < 8; i++) pthread_create(&t[i], NULL, tid_worker, (void *)(intptr_t)i);
  for (int i = 0; i < 8; i++) pthread_join(t[i], NULL);
  pthread_barrier_destroy(&tid_barrier);
  int distinct = 1;
  pid_t me = getpid();
  for (int i = 0; i < 8; i++) {
    if (tids[i] == me || tids[i] <= 0) distinct = 0;
    for (int j = 0; j < i; j++)
      if (tids[i] == tids[j]) distinct = 0;
  }
  check("thread ids distinct from each other and from the pid", distinct);

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 4 << 20);
  pthread_t st;
  pthread_create(&st, &attr, stack_worker, (void *)(intptr_t)(3 << 20));
  void *r;
  pthread_join(st, &r);
  printf("3 MiB stack array in a 4 MiB-stack thread: sum %ld\n", (long)r);
  size_t sz;
  pthread_attr_getstacksize(&attr, &sz);
  printf("attr stack size: %zu\n", sz);
  pthread_attr_destroy(&attr);

  pipe(block_pipe);
  pthread_t br;
  pthread_create(&br, NULL, blocking_reader, NULL);
  /* Main keeps computing while the reader is blocked in read(). */
  volatile uint64_t x = 1;
  for (int i = 0; i < 200000; i++) x = x * 3 + 1;
  usleep(20000);
  write(block_pipe[1], "wake!", 5);
  pthread_join(br, &r);
  check("blocked reader woke with the data", r == (void *)1);
  close(block_pipe[0]);
  close(block_pipe[1]);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  test_create_join();
  test_mutex();
  test_condvar();
  test_tls();
  test_atomics();
  test_sync();
  test_ids_stacks();
  printf("threads: %s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
