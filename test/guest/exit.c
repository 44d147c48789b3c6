/*
 * Exits with the status given as argv[1] (default 0). The line written to
 * stdout is still in the stdio buffer when exit() runs, so exit() must
 * flush it. An optional argv[2] selects how the program ends:
 *   exit        libc exit() (the default)
 *   _exit       _exit() after an explicit flush
 *   exit_group  the raw exit_group system call after an explicit flush
 *   sys_exit    the raw exit system call (only thread) after an explicit flush
 *   raise       raise(argv[1]): death by that signal, for signals whose
 *               default action terminates the process
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long status = argc > 1 ? strtol(argv[1], NULL, 0) : 0;
  const char *how = argc > 2 ? argv[2] : "exit";
  printf("exiting with %ld via %s\n", status, how);
  fprintf(stderr, "exit: status %ld\n", status);
  if (strcmp(how, "exit") == 0) exit((int)status);
  fflush(stdout);
  if (strcmp(how, "_exit") == 0) _exit((int)status);
  if (strcmp(how, "exit_group") == 0) syscall(SYS_exit_group, status);
  if (strcmp(how, "sys_exit") == 0) syscall(SYS_exit, status);
  if (strcmp(how, "raise") == 0) {
    raise((int)status);
    printf("survived signal %ld\n", status);
    return 0;
  }
  fprintf(stderr, "exit: unknown method %s\n", how);
  return 125;
}
