/*
 * Dies of an uncaught SIGSEGV: a write through a NULL pointer. Output
 * written before the fault has been flushed.
 */
#include <stdio.h>

int main(void) {
  printf("about to write through NULL\n");
  fflush(stdout);
  volatile int *volatile p = NULL;
  *p = 42;
  printf("still alive?\n");
  return 0;
}
