/* poll, select and epoll on pipes: readiness, timeouts, data arriving from a forked writer, EOF as hang-up. */
#include <stdio.h>
#include <poll.h>
#include <unistd.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <sys/epoll.h>
#include <string.h>
int main(void) {
  int fd[2]; pipe(fd);
  struct pollfd p = { fd[0], POLLIN, 0 };
  printf("empty poll: %d\n", poll(&p, 1, 50));
  pid_t c = fork();
  if (c == 0) { usleep(100000); write(fd[1], "hi!", 3); usleep(100000); _exit(0); }
  p.revents = 0;
  int r = poll(&p, 1, 2000);
  printf("poll: %d revents %x\n", r, p.revents);
  char b[16] = {0}; printf("read %zd %s\n", read(fd[0], b, sizeof b), b);
  fd_set rs; FD_ZERO(&rs); FD_SET(fd[0], &rs); struct timeval tv = {0, 50000};
  printf("select empty: %d set %d\n", select(fd[0] + 1, &rs, 0, 0, &tv), FD_ISSET(fd[0], &rs));
  int ep = epoll_create1(0); struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 42 };
  printf("ctl %d\n", epoll_ctl(ep, EPOLL_CTL_ADD, fd[0], &ev));
  close(fd[1]);
  waitpid(c, 0, 0);
  struct epoll_event out[2]; memset(out, 0, sizeof out);
  r = epoll_wait(ep, out, 2, 1000);
  printf("epoll after close: %d events %x data %lu\n", r, out[0].events, (unsigned long)out[0].data.u64);
  printf("read eof %zd\n", read(fd[0], b, sizeof b));
  return 0;
}
