/*
 * Dies of an uncaught SIGSEGV: a write through a NULL pointer. Output
 * written before the fault has been flushed.  It prints its core file size
 * limit first: the one it was started with, as the emulator's own (which
 * must leave no core file of itself) is not the guest's business.
 */
#include <stdio.h>
#include <sys/resource.h>

int main(void) {
  struct rlimit core;
  if (getrlimit(RLIMIT_CORE, &core) == 0) {
    printf("core file size limit: %lld, hard %lld\n", (long long)core.rlim_cur, (long long)core.rlim_max);
  }
  printf("about to write through NULL\n");
  fflush(stdout);
  volatile int *volatile p = NULL;
  *p = 42;
  printf("still alive?\n");
  return 0;
}
