/*
 * The cost of starting processes, timed inside the guest (bench/process-bench.sh):
 *
 *   forkbench fork N            N times: fork, the child _exits, the parent waits
 *   forkbench exec N [LAUNCHER] N times: fork, the child execs this program
 *                               (through LAUNCHER when given: qemu-riscv64, as
 *                               binfmt_misc would run it), which exits; wait
 *   forkbench exit              exit at once (what exec runs)
 *
 * Prints the mode, N and the milliseconds each round took on average.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "exit") == 0) return 0;
  if (argc < 3 || (strcmp(argv[1], "fork") != 0 && strcmp(argv[1], "exec") != 0)) {
    fprintf(stderr, "usage: forkbench fork|exec N [LAUNCHER]\n");
    return 2;
  }
  int exec = strcmp(argv[1], "exec") == 0;
  int n = atoi(argv[2]);
  const char *launcher = argc > 3 ? argv[3] : NULL;
  double t0 = now_ms();
  for (int i = 0; i < n; i++) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      if (exec) {
        if (launcher != NULL) execl(launcher, launcher, argv[0], "exit", (char *)NULL);
        else execl(argv[0], argv[0], "exit", (char *)NULL);
        _exit(127);
      }
      _exit(0);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fprintf(stderr, "forkbench: round %d failed\n", i);
      return 1;
    }
  }
  printf("%s %d %.3f\n", argv[1], n, (now_ms() - t0) / n);
  return 0;
}
