/*
 * Dies of SIGABRT via abort(), after writing to stdout and stderr.
 */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  printf("about to abort\n");
  fflush(stdout);
  fprintf(stderr, "abort: calling abort()\n");
  abort();
}
