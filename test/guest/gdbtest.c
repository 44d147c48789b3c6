/*
 * The program the gdbstub tests debug (test/gdbstub/): gdb breaks in main,
 * prints a local, watches a global, steps and finishes a call.  Its
 * functions are built without optimisation, whatever the build flags, so
 * that lines and variables are where a debugger expects them.
 *
 *   gdbtest          the calls below, then exit 0
 *   gdbtest thread   also runs worker() on a second thread
 *   gdbtest segv     stores through a null pointer (SIGSEGV)
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define PLAIN __attribute__((noinline, optimize("O0")))

/* Written by bump(): the tests watch it. */
volatile long counter;
/* Read by main. */
volatile double ratio = 1.5;
/* Set by the second thread. */
volatile int worker_ran;

PLAIN static long bump(long by) {
  counter += by;
  return counter;
}

PLAIN static void *worker(void *arg) {
  worker_ran = 1;
  return arg;
}

PLAIN static void crash(volatile int *p) {
  *p = 1;
}

PLAIN int main(int argc, char **argv) {
  volatile int local = 42;
  long total = 0;
  if (argc > 1 && strcmp(argv[1], "segv") == 0) crash(0);
  if (argc > 1 && strcmp(argv[1], "thread") == 0) {
    pthread_t t;
    pthread_create(&t, 0, worker, 0);
    pthread_join(t, 0);
  }
  for (int i = 0; i < 3; i++) total += bump(local + i);
  printf("total %ld counter %ld ratio %g worker %d\n", total, counter, ratio, worker_ran);
  return 0;
}
