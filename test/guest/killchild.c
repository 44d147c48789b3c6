/* Signals sent to forked children: a handler in the child runs, a default action ends it, a busy child is reached too. */
#include <stdio.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>
static volatile sig_atomic_t got;
static void h(int s) { got = s; }
int main(void) {
  int fd[2]; pipe(fd);
  pid_t c = fork();
  if (c == 0) {
    /* SIGTERM stays blocked until sigsuspend, so it cannot land between the test of got and the wait. */
    sigset_t block, old;
    sigemptyset(&block); sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &old);
    signal(SIGTERM, h); write(fd[1], "r", 1);
    while (!got) sigsuspend(&old);
    printf("child got %d\n", got); fflush(stdout); _exit(3);
  }
  char b; read(fd[0], &b, 1);
  kill(c, SIGTERM);
  int st; waitpid(c, &st, 0);
  printf("handled: exited %d code %d\n", WIFEXITED(st), WEXITSTATUS(st));
  c = fork();
  if (c == 0) { write(fd[1], "r", 1); for (;;) pause(); }
  read(fd[0], &b, 1);
  kill(c, SIGUSR2);
  waitpid(c, &st, 0);
  printf("default: signaled %d sig %d\n", WIFSIGNALED(st), WTERMSIG(st));
  c = fork();
  if (c == 0) { write(fd[1], "r", 1); for (;;) {} }
  read(fd[0], &b, 1);
  kill(c, SIGINT);
  waitpid(c, &st, 0);
  printf("busy child: signaled %d sig %d\n", WIFSIGNALED(st), WTERMSIG(st));
  return 0;
}
