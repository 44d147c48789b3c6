/*
 * Time: clock_gettime on every common clock (monotonic never goes back,
 * realtime agrees with gettimeofday and time()), clock_getres, nanosleep
 * and clock_nanosleep (relative and absolute) sleep at least as asked,
 * poll/select timeouts, CPU-time clocks, times/getrusage, errno of invalid
 * requests, and calendar conversion of fixed timestamps.
 * Only comparisons are printed, never the current time.
 * Exits 1 if a check fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>

static int failures;

static void check(const char *what, int ok) {
  printf("%s: %s\n", what, ok ? "yes" : "NO");
  if (!ok) failures++;
}

static int64_t ns(const struct timespec *t) { return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec; }

static int64_t mono_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return ns(&t);
}

int main(void) {
  struct timespec a, b, res;

  /* Monotonic clock never goes backwards. */
  int monotonic = 1;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < 2000; i++) {
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (ns(&b) < ns(&a)) monotonic = 0;
    a = b;
  }
  check("monotonic non-decreasing over 2000 reads", monotonic);
  check("monotonic tv_nsec in range", a.tv_nsec >= 0 && a.tv_nsec < 1000000000);

  static const struct {
    clockid_t id;
    const char *name;
  } clocks[] = {
    {CLOCK_REALTIME, "REALTIME"},
    {CLOCK_MONOTONIC, "MONOTONIC"},
    {CLOCK_PROCESS_CPUTIME_ID, "PROCESS_CPUTIME_ID"},
    {CLOCK_THREAD_CPUTIME_ID, "THREAD_CPUTIME_ID"},
    {CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW"},
    {CLOCK_REALTIME_COARSE, "REALTIME_COARSE"},
    {CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE"},
    {CLOCK_BOOTTIME, "BOOTTIME"},
  };
  for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
    int r1 = clock_gettime(clocks[i].id, &a);
    int r2 = clock_getres(clocks[i].id, &res);
    printf("clock %s: gettime=%d getres=%d resolution<=10ms=%d\n", clocks[i].name, r1, r2,
           r2 == 0 && res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 10000000);
  }
  errno = 0;
  int bad = clock_gettime((clockid_t)12345, &a);
  printf("invalid clock: %d %s\n", bad, strerrorname_np(errno));

  /* Realtime agrees with gettimeofday and time(). */
  struct timeval tv;
  clock_gettime(CLOCK_REALTIME, &a);
  gettimeofday(&tv, NULL);
  time_t t = time(NULL);
  check("realtime after 2020", a.tv_sec > 1577836800);
  check("gettimeofday within 2 s of realtime", tv.tv_sec >= a.tv_sec && tv.tv_sec - a.tv_sec <= 2);
  check("tv_usec in range", tv.tv_usec >= 0 && tv.tv_usec < 1000000);
  /* glibc's time() reads CLOCK_REALTIME_COARSE, which may lag the fine clock by a
     tick, so it can be one second behind a just-read realtime. */
  check("time() within 2 s of realtime", t >= a.tv_sec - 1 && t - a.tv_sec <= 2);
  time_t t2;
  check("time(&t) stores and returns the same", time(&t2) == t2);

  /* nanosleep sleeps at least the requested time. */
  int64_t s0 = mono_ns();
  struct timespec req = {0, 50 * 1000 * 1000}, rem = {7, 7};
  int r = nanosleep(&req, &rem);
  int64_t el = mono_ns() - s0;
  check("nanosleep 50 ms returns 0", r == 0);
  check("nanosleep slept >= 50 ms", el >= 50000000);
  check("nanosleep slept < 5 s", el < 5000000000ll);
  struct timespec badreq = {0, 1000000000};
  errno = 0;
  r = nanosleep(&badreq, NULL);
  printf("nanosleep tv_nsec=1e9: %d %s\n", r, strerrorname_np(errno));
  badreq.tv_sec = -1;
  badreq.tv_nsec = 0;
  errno = 0;
  r = nanosleep(&badreq, NULL);
  printf("nanosleep negative: %d %s\n", r, strerrorname_np(errno));

  s0 = mono_ns();
  struct timespec rel = {0, 20 * 1000 * 1000};
  r = clock_nanosleep(CLOCK_MONOTONIC, 0, &rel, NULL);
  el = mono_ns() - s0;
  check("clock_nanosleep relative 20 ms", r == 0 && el >= 20000000);
  clock_gettime(CLOCK_MONOTONIC, &a);
  struct timespec abs_t = a;
  abs_t.tv_nsec += 30 * 1000 * 1000;
  if (abs_t.tv_nsec >= 1000000000) {
    abs_t.tv_sec++;
    abs_t.tv_nsec -= 1000000000;
  }
  r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs_t, NULL);
  clock_gettime(CLOCK_MONOTONIC, &b);
  check("clock_nanosleep absolute reaches the deadline", r == 0 && ns(&b) >= ns(&abs_t));
  abs_t.tv_sec -= 10;
  s0 = mono_ns();
  r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs_t, NULL);
  check("absolute deadline in the past returns at once", r == 0 && mono_ns() - s0 < 1000000000);
  r = clock_nanosleep((clockid_t)12345, 0, &rel, NULL);
  printf("clock_nanosleep invalid clock: %s\n", strerrorname_np(r));

  s0 = mono_ns();
  r = usleep(10000);
  check("usleep 10 ms", r == 0 && mono_ns() - s0 >= 10000000);

  /* Timeouts of poll and select. */
  s0 = mono_ns();
  r = poll(NULL, 0, 30);
  el = mono_ns() - s0;
  check("poll timeout 30 ms", r == 0 && el >= 30000000);
  s0 = mono_ns();
  struct timeval stv = {0, 25000};
  r = select(0, NULL, NULL, NULL, &stv);
  el = mono_ns() - s0;
  check("select timeout 25 ms", r == 0 && el >= 25000000);

  /* CPU-time clocks advance with work. */
  struct timespec c0, c1;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
  volatile uint64_t x = 1;
  for (int i = 0; i < 3000000; i++) x = x * 6364136223846793005ull + 1;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
  check("process cpu time non-decreasing", ns(&c1) >= ns(&c0));
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
  check("thread cpu time non-negative", ns(&c1) >= 0);
  clock_t ck = clock();
  check("clock() non-negative", ck >= 0);
  struct tms tm_s;
  clock_t tk = times(&tm_s);
  check("times() succeeds", tk != (clock_t)-1);
  check("tms fields non-negative", tm_s.tms_utime >= 0 && tm_s.tms_stime >= 0);
  struct rusage ru;
  check("getrusage self", getrusage(RUSAGE_SELF, &ru) == 0);
  check("ru_utime sane", ru.ru_utime.tv_sec >= 0 && ru.ru_utime.tv_usec >= 0 &&
                             ru.ru_utime.tv_usec < 1000000);
  check("sysconf(_SC_CLK_TCK) is 100", sysconf(_SC_CLK_TCK) == 100);

  /* Calendar conversions of fixed instants (TZ does not matter for gmtime). */
  time_t fixed = 1234567890;
  struct tm g;
  gmtime_r(&fixed, &g);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %a day %j", &g);
  printf("gmtime(1234567890) = %s\n", buf);
  fixed = 4102444800;
  gmtime_r(&fixed, &g);
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &g);
  printf("gmtime(4102444800) = %s\n", buf);
  struct tm back = {.tm_year = 100, .tm_mon = 1, .tm_mday = 29, .tm_hour = 12};
  printf("timegm(2000-02-29 12:00) = %lld\n", (long long)timegm(&back));

  printf("time: %s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
