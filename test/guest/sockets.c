/*
 * Sockets between processes and threads: socket pairs of every type,
 * Unix-domain servers (a path in the working directory, the abstract
 * namespace, autobind), descriptors passed with SCM_RIGHTS, TCP and UDP over
 * the loopback, blocking calls that must leave other threads running,
 * timeouts, poll and epoll, shutdown, SIGPIPE, sendmmsg/recvmmsg, blocking
 * writes cut short by a signal.  Prints
 * only what is the same on every run (no ports, pids or timings).
 *
 * Usage: sockets   (every section in turn)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
  printf("FAIL %s: %s\n", what, strerror(errno));
  exit(1);
}

#define CHECK(x) do { if (!(x)) die(#x); } while (0)

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int wait_child(pid_t pid) {
  int st;
  CHECK(waitpid(pid, &st, 0) == pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Read exactly n bytes (a stream may deliver them in pieces). */
static void read_all(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r <= 0) die("read_all");
    got += (size_t)r;
  }
}

static void write_all(int fd, const void *buf, size_t n) {
  size_t put = 0;
  while (put < n) {
    ssize_t r = write(fd, (const char *)buf + put, n - put);
    if (r <= 0) die("write_all");
    put += (size_t)r;
  }
}

static void stream_pair(void) {
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  int type = 0, domain = 0;
  socklen_t len = sizeof type;
  CHECK(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &len) == 0);
  len = sizeof domain;
  CHECK(getsockopt(sv[0], SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0);
  struct stat st;
  CHECK(fstat(sv[0], &st) == 0);
  printf("socketpair: type %d domain %d, fstat says socket: %d\n", type, domain, S_ISSOCK(st.st_mode));
  pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    uint32_t v;
    for (;;) {
      ssize_t r = read(sv[1], &v, sizeof v);
      if (r == 0) _exit(0);
      if (r != sizeof v) _exit(2);
      v++;
      write_all(sv[1], &v, sizeof v);
    }
  }
  close(sv[1]);
  uint32_t v = 0;
  for (int i = 0; i < 20000; i++) {
    uint32_t sent = v;
    write_all(sv[0], &v, sizeof v);
    read_all(sv[0], &v, sizeof v);
    if (v != sent + 1) die("round trip value");
  }
  close(sv[0]);
  printf("socketpair stream: 20000 round trips with a child, last value %u, child status %d\n", v, wait_child(pid));
}

static void datagram_pair(int type, const char *name) {
  int sv[2];
  CHECK(socketpair(AF_UNIX, type, 0, sv) == 0);
  char buf[2000];
  memset(buf, 'x', sizeof buf);
  size_t sizes[] = { 1, 100, 1000, 0, 1500 };
  for (int i = 0; i < 5; i++) CHECK(send(sv[0], buf, sizes[i], 0) == (ssize_t)sizes[i]);
  printf("%s: received", name);
  for (int i = 0; i < 4; i++) printf(" %zd", recv(sv[1], buf, sizeof buf, 0));
  /* A message longer than the buffer: the rest is lost; recvmsg says MSG_TRUNC. */
  struct iovec iov = { buf, 10 };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
  ssize_t r = recvmsg(sv[1], &msg, 0);
  printf(", then %zd of a longer one (truncated: %d)", r, (msg.msg_flags & MSG_TRUNC) != 0);
  close(sv[0]);
  if (type == SOCK_SEQPACKET) printf(", after close: %zd\n", recv(sv[1], buf, sizeof buf, 0));
  else printf("\n");
  close(sv[1]);
}

static void fill_unix(struct sockaddr_un *sa, const char *path, int abstract) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  strcpy(sa->sun_path + (abstract ? 1 : 0), path);
}

/* The pid SO_PEERCRED names for fd (-1 when the call fails), and whether uid and gid are this process's. */
static pid_t peer_pid(int fd, int *same_ids) {
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) return -1;
  if (same_ids != NULL) *same_ids = cred.uid == getuid() && cred.gid == getgid();
  return cred.pid;
}

/*
 * SO_PEERCRED of a socket pair, made by a child (a process other than the first): both ends name
 * it, in its own child too; asked with room for 4 bytes, the pid alone.  The child's status has a bit
 * per check that failed.
 */
static void peer_credentials(void) {
  pid_t maker = fork();
  if (maker == 0) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) _exit(64);
    int ids = 0, failed = 0;
    if (peer_pid(sv[0], &ids) != getpid() || peer_pid(sv[1], NULL) != getpid() || !ids) failed |= 1;
    pid_t kid = fork();
    if (kid == 0) _exit(peer_pid(sv[1], NULL) == getppid() ? 0 : 1);
    if (wait_child(kid) != 0) failed |= 2;
    struct ucred part;
    socklen_t len = 4;
    if (getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &part, &len) != 0 || len != 4 || part.pid != getpid()) failed |= 4;
    _exit(failed);
  }
  printf("peer credentials: a socket pair's ends name the process that made it (failed checks: %d)\n",
         wait_child(maker));
}

static void unix_server(void) {
  unlink("server.sock");
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(s >= 0);
  struct sockaddr_un sa;
  fill_unix(&sa, "server.sock", 0);
  CHECK(bind(s, (struct sockaddr *)&sa, sizeof sa) == 0);
  CHECK(listen(s, 8) == 0);
  struct stat st;
  CHECK(stat("server.sock", &st) == 0);
  int again = bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&sa, sizeof sa);
  printf("unix server: bound file is a socket: %d; binding it again: %d %s\n", S_ISSOCK(st.st_mode), again,
         strerrorname_np(errno));
  struct sockaddr_un got;
  socklen_t len = sizeof got;
  CHECK(getsockname(s, (struct sockaddr *)&got, &len) == 0);
  printf("unix server: getsockname %s (length %u)\n", got.sun_path, len);
  pid_t kids[4];
  for (int i = 0; i < 4; i++) {
    kids[i] = fork();
    if (kids[i] == 0) {
      int c = socket(AF_UNIX, SOCK_STREAM, 0);
      if (connect(c, (struct sockaddr *)&sa, sizeof sa) != 0) _exit(3);
      if (peer_pid(c, NULL) != getppid()) _exit(6);
      char msg[32];
      int n = snprintf(msg, sizeof msg, "hello from %d", i);
      write_all(c, msg, (size_t)n);
      shutdown(c, SHUT_WR);
      char reply[32];
      ssize_t r = read(c, reply, sizeof reply - 1);
      if (r <= 0) _exit(4);
      reply[r] = 0;
      _exit(strncmp(reply, "HELLO FROM", 10) == 0 ? 10 + i : 5);
    }
  }
  int named = 0;
  for (int i = 0; i < 4; i++) {
    struct sockaddr_un peer;
    socklen_t plen = sizeof peer;
    int c = accept4(s, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
    CHECK(c >= 0);
    pid_t who = peer_pid(c, NULL);
    for (int k = 0; k < 4; k++) if (kids[k] == who) named |= 1 << k;
    char msg[64];
    size_t n = 0;
    ssize_t r;
    while ((r = read(c, msg + n, sizeof msg - 1 - n)) > 0) n += (size_t)r;
    msg[n] = 0;
    for (size_t k = 0; k < n; k++) if (msg[k] >= 'a' && msg[k] <= 'z') msg[k] = (char)(msg[k] - 32);
    write_all(c, msg, n);
    if (i == 0) printf("unix server: an unnamed peer's address has length %u\n", plen);
    close(c);
  }
  int sum = 0;
  for (int i = 0; i < 4; i++) sum += wait_child(kids[i]);
  printf("unix server: 4 clients served, their statuses sum to %d; SO_PEERCRED named each client: %d\n", sum,
         named == 15);
  close(s);
  CHECK(unlink("server.sock") == 0);
  struct sockaddr_un none;
  fill_unix(&none, "no-such.sock", 0);
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  printf("unix client: connect to a missing path: %d %s\n", connect(c, (struct sockaddr *)&none, sizeof none),
         strerrorname_np(errno));
  close(c);
}

static void abstract_datagrams(void) {
  char name[64];
  snprintf(name, sizeof name, "tsemu-sockets-test-%d", (int)getpid());
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct sockaddr_un sa;
  fill_unix(&sa, name, 1);
  socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
  CHECK(bind(s, (struct sockaddr *)&sa, salen) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    int c = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un any = { .sun_family = AF_UNIX };
    if (bind(c, (struct sockaddr *)&any, sizeof(sa_family_t)) != 0) _exit(2); /* autobind */
    for (int i = 0; i < 3; i++) {
      char m[16];
      int n = snprintf(m, sizeof m, "datagram %d", i);
      if (sendto(c, m, (size_t)n, 0, (struct sockaddr *)&sa, salen) != n) _exit(3);
    }
    char r[16];
    _exit(recv(c, r, sizeof r, 0) == 2 && memcmp(r, "ok", 2) == 0 ? 0 : 4);
  }
  struct sockaddr_un from;
  socklen_t flen = 0;
  for (int i = 0; i < 3; i++) {
    char m[32];
    flen = sizeof from;
    ssize_t n = recvfrom(s, m, sizeof m - 1, 0, (struct sockaddr *)&from, &flen);
    CHECK(n > 0);
    m[n] = 0;
    printf("abstract: got \"%s\"\n", m);
  }
  printf("abstract: the autobound sender's address has length %u and starts with a zero byte: %d\n", flen,
         from.sun_path[0] == 0);
  CHECK(sendto(s, "ok", 2, 0, (struct sockaddr *)&from, flen) == 2);
  printf("abstract: child status %d\n", wait_child(pid));
  close(s);
}

static void pass_descriptor(void) {
  int sv[2], pfd[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  CHECK(pipe(pfd) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    close(pfd[0]);
    close(pfd[1]);
    char byte;
    char cbuf[CMSG_SPACE(2 * sizeof(int))];
    struct iovec iov = { &byte, 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
    if (recvmsg(sv[1], &msg, MSG_CMSG_CLOEXEC) != 1) _exit(2);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c == NULL || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) _exit(3);
    int fds[2];
    memcpy(fds, CMSG_DATA(c), sizeof fds);
    int cloexec = fcntl(fds[0], F_GETFD) & FD_CLOEXEC;
    char text[64];
    ssize_t n = read(fds[0], text, sizeof text - 1);
    if (n <= 0) _exit(4);
    text[n] = 0;
    /* The second descriptor is the other end of the socket pair: write back through it. */
    char reply[96];
    int len = snprintf(reply, sizeof reply, "child read \"%s\" (cloexec %d)", text, cloexec != 0);
    write_all(fds[1], reply, (size_t)len);
    _exit(0);
  }
  char byte = 'F';
  int fds[2] = { pfd[0], sv[1] };
  char cbuf[CMSG_SPACE(sizeof fds)];
  memset(cbuf, 0, sizeof cbuf);
  struct iovec iov = { &byte, 1 };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof fds);
  memcpy(CMSG_DATA(c), fds, sizeof fds);
  CHECK(sendmsg(sv[0], &msg, 0) == 1);
  close(pfd[0]);
  close(sv[1]);
  write_all(pfd[1], "through a passed pipe", 21);
  close(pfd[1]);
  char reply[128];
  ssize_t n = read(sv[0], reply, sizeof reply - 1);
  CHECK(n > 0);
  reply[n] = 0;
  printf("SCM_RIGHTS: %s; child status %d\n", reply, wait_child(pid));
  close(sv[0]);
  int bad = 12345;
  memcpy(CMSG_DATA(c), &bad, sizeof bad);
  c->cmsg_len = CMSG_LEN(sizeof bad);
  msg.msg_controllen = CMSG_SPACE(sizeof bad);
  CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
  printf("SCM_RIGHTS of a descriptor not open: %zd %s\n", sendmsg(sv[0], &msg, 0), strerrorname_np(errno));
  close(sv[0]);
  close(sv[1]);
}

static void tcp_loopback(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(s >= 0);
  int one = 1;
  CHECK(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  CHECK(bind(s, (struct sockaddr *)&sa, sizeof sa) == 0);
  CHECK(listen(s, 4) == 0);
  socklen_t len = sizeof sa;
  CHECK(getsockname(s, (struct sockaddr *)&sa, &len) == 0);
  printf("tcp: listening on %s, a port was given: %d\n", inet_ntoa(sa.sin_addr), ntohs(sa.sin_port) != 0);
  enum { TOTAL = 4 << 20 };
  pid_t pid = fork();
  if (pid == 0) {
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int r = connect(c, (struct sockaddr *)&sa, sizeof sa);
    if (r != 0 && errno != EINPROGRESS) _exit(2);
    struct pollfd p = { c, POLLOUT, 0 };
    if (poll(&p, 1, 5000) != 1) _exit(3);
    int err = -1;
    socklen_t el = sizeof err;
    if (getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) _exit(4);
    int fl = fcntl(c, F_GETFL);
    fcntl(c, F_SETFL, fl & ~O_NONBLOCK);
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char *buf = malloc(TOTAL);
    for (int i = 0; i < TOTAL; i++) buf[i] = (char)(i * 7 + (i >> 11));
    write_all(c, buf, TOTAL);
    shutdown(c, SHUT_WR);
    uint32_t sum;
    read_all(c, &sum, sizeof sum);
    char extra;
    _exit(read(c, &extra, 1) == 0 ? 0 : 5);
  }
  struct sockaddr_in peer;
  socklen_t plen = sizeof peer;
  int c = accept(s, (struct sockaddr *)&peer, &plen);
  CHECK(c >= 0);
  printf("tcp: accepted a peer from %s\n", inet_ntoa(peer.sin_addr));
  char *buf = malloc(65536);
  uint32_t sum = 2166136261u;
  size_t total = 0;
  ssize_t n;
  while ((n = read(c, buf, 65536)) > 0) {
    for (ssize_t i = 0; i < n; i++) sum = (sum ^ (unsigned char)buf[i]) * 16777619u;
    total += (size_t)n;
  }
  write_all(c, &sum, sizeof sum);
  close(c);
  printf("tcp: %zu bytes, checksum %08x, child status %d\n", total, sum, wait_child(pid));
  free(buf);
  close(s);
  /* A port nobody listens on: the one just closed. */
  int r = socket(AF_INET, SOCK_STREAM, 0);
  printf("tcp: connect to a closed port: %d %s\n", connect(r, (struct sockaddr *)&sa, sizeof sa), strerrorname_np(errno));
  close(r);
}

static void udp_loopback(void) {
  int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  CHECK(bind(a, (struct sockaddr *)&sa, sizeof sa) == 0);
  CHECK(bind(b, (struct sockaddr *)&sa, sizeof sa) == 0);
  struct sockaddr_in aa, ba;
  socklen_t len = sizeof aa;
  CHECK(getsockname(a, (struct sockaddr *)&aa, &len) == 0);
  len = sizeof ba;
  CHECK(getsockname(b, (struct sockaddr *)&ba, &len) == 0);
  CHECK(sendto(b, "over udp", 8, 0, (struct sockaddr *)&aa, sizeof aa) == 8);
  char m[16] = { 0 };
  struct sockaddr_in from;
  len = sizeof from;
  ssize_t n = recvfrom(a, m, sizeof m - 1, 0, (struct sockaddr *)&from, &len);
  printf("udp: %zd bytes \"%s\", from the sender's port: %d\n", n, m, from.sin_port == ba.sin_port);
  close(a);
  close(b);
}

static int thread_sock;
static void *late_writer(void *arg) {
  (void)arg;
  /* Spin for a while: the main thread's blocking recv must not stop this thread. */
  volatile uint64_t x = 0;
  for (uint64_t i = 0; i < 3000000; i++) x += i;
  write_all(thread_sock, "from a thread", 13);
  return NULL;
}

static void blocking_with_threads(void) {
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  thread_sock = sv[1];
  pthread_t th;
  CHECK(pthread_create(&th, NULL, late_writer, NULL) == 0);
  char m[32] = { 0 };
  ssize_t n = recv(sv[0], m, sizeof m - 1, 0);
  pthread_join(th, NULL);
  printf("threads: a blocking recv got %zd bytes \"%s\" while the other thread ran\n", n, m);
  close(sv[0]);
  close(sv[1]);
}

static void timeouts_and_nonblocking(void) {
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
  char c;
  printf("nonblocking: recv on an empty socket: %zd %s\n", recv(sv[0], &c, 1, 0), strerrorname_np(errno));
  int fl = fcntl(sv[0], F_GETFL);
  printf("nonblocking: F_GETFL has O_NONBLOCK: %d, O_RDWR: %d\n", (fl & O_NONBLOCK) != 0, (fl & O_ACCMODE) == O_RDWR);
  CHECK(fcntl(sv[0], F_SETFL, fl & ~O_NONBLOCK) == 0);
  struct timeval tv = { 0, 60000 };
  CHECK(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
  double t0 = now_ms();
  ssize_t r = recv(sv[0], &c, 1, 0);
  int e = errno;
  double waited = now_ms() - t0;
  printf("SO_RCVTIMEO 60 ms: recv %zd %s after at least 50 ms: %d\n", r, strerrorname_np(e), waited >= 50);
  printf("MSG_DONTWAIT on a blocking socket: %zd %s\n", recv(sv[0], &c, 1, MSG_DONTWAIT), strerrorname_np(errno));
  close(sv[0]);
  close(sv[1]);
}

static int pipes_seen;
static void on_sigpipe(int sig) {
  (void)sig;
  pipes_seen++;
}

static void shutdown_and_sigpipe(void) {
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  CHECK(write(sv[0], "abc", 3) == 3);
  CHECK(shutdown(sv[0], SHUT_WR) == 0);
  char m[8];
  ssize_t a = read(sv[1], m, sizeof m), b = read(sv[1], m, sizeof m);
  printf("shutdown: the peer reads %zd then %zd (EOF)\n", a, b);
  signal(SIGPIPE, on_sigpipe);
  close(sv[1]);
  ssize_t r1 = send(sv[0], "x", 1, MSG_NOSIGNAL);
  int e1 = errno;
  int sv2[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv2) == 0);
  close(sv2[1]);
  ssize_t r2 = write(sv2[0], "x", 1);
  int e2 = errno;
  printf("SIGPIPE: send(MSG_NOSIGNAL) %zd %s, write %zd %s, signals seen %d\n", r1, strerrorname_np(e1), r2,
         strerrorname_np(e2), pipes_seen);
  signal(SIGPIPE, SIG_DFL);
  close(sv[0]);
  close(sv2[0]);
}

static void readiness(void) {
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  struct pollfd p[2] = { { sv[0], POLLIN | POLLOUT, 0 }, { sv[1], POLLIN, 0 } };
  int n = poll(p, 2, 0);
  printf("poll: %d ready, revents %#x %#x\n", n, p[0].revents, p[1].revents);
  CHECK(write(sv[0], "z", 1) == 1);
  n = poll(p, 2, 0);
  printf("poll after a write: %d ready, revents %#x %#x\n", n, p[0].revents, p[1].revents);
  char c;
  CHECK(read(sv[1], &c, 1) == 1);
  close(sv[0]);
  p[1].events = POLLIN;
  n = poll(&p[1], 1, 0);
  printf("poll after the peer closed: %d ready, revents %#x\n", n, p[1].revents);
  close(sv[1]);
  /* epoll: a child writes after a delay; the parent's epoll_wait waits for it. */
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 77 };
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    usleep(30000);
    write_all(sv[1], "late", 4);
    _exit(0);
  }
  struct epoll_event out;
  n = epoll_wait(ep, &out, 1, 5000);
  printf("epoll: %d event, data %u, EPOLLIN %d; child status %d\n", n, out.data.u32, (out.events & EPOLLIN) != 0,
         wait_child(pid));
  close(ep);
  close(sv[0]);
  close(sv[1]);
}

static void multiple_messages(void) {
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
  char bufs[3][16] = { "one", "two two", "three three" };
  struct iovec iov[3];
  struct mmsghdr mm[3];
  memset(mm, 0, sizeof mm);
  for (int i = 0; i < 3; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = strlen(bufs[i]);
    mm[i].msg_hdr.msg_iov = &iov[i];
    mm[i].msg_hdr.msg_iovlen = 1;
  }
  printf("sendmmsg: %d", sendmmsg(sv[0], mm, 3, 0));
  char in[3][16];
  memset(in, 0, sizeof in);
  for (int i = 0; i < 3; i++) {
    iov[i].iov_base = in[i];
    iov[i].iov_len = sizeof in[i];
  }
  int n = recvmmsg(sv[1], mm, 3, MSG_DONTWAIT, NULL);
  printf("; recvmmsg: %d:", n);
  for (int i = 0; i < n; i++) printf(" %u \"%s\"", mm[i].msg_len, in[i]);
  printf("\n");
  /* A vector of buffers through writev/readv and sendmsg with two pieces. */
  struct iovec two[2] = { { "gath", 4 }, { "ered", 4 } };
  struct msghdr msg = { .msg_iov = two, .msg_iovlen = 2 };
  CHECK(sendmsg(sv[0], &msg, 0) == 8);
  char x[4], y[8];
  struct iovec scatter[2] = { { x, sizeof x }, { y, sizeof y } };
  ssize_t r = readv(sv[1], scatter, 2);
  printf("sendmsg of two pieces, readv into two: %zd \"%.4s\" \"%.4s\"\n", r, x, y);
  /*
   * A blocking recvmmsg waits for every message (each recvmsg blocks), and
   * MSG_WAITFORONE only for the first.  The child sends one, waits for a go,
   * then sends two with a pause between.
   */
  int go[2];
  CHECK(pipe(go) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    CHECK(send(sv[0], "first", 5, 0) == 5);
    char c;
    read_all(go[0], &c, 1);
    CHECK(send(sv[0], "second", 6, 0) == 6);
    usleep(100000);
    CHECK(send(sv[0], "third", 5, 0) == 5);
    _exit(0);
  }
  memset(in, 0, sizeof in);
  n = recvmmsg(sv[1], mm, 3, MSG_WAITFORONE, NULL);
  printf("recvmmsg MSG_WAITFORONE with one message sent: %d \"%s\"\n", n, in[0]);
  CHECK(write(go[1], "g", 1) == 1);
  memset(in, 0, sizeof in);
  struct timespec limit = {5, 0};
  n = recvmmsg(sv[1], mm, 2, 0, &limit);
  printf("blocking recvmmsg of 2, the second 100 ms after the first: %d \"%s\" \"%s\"; child status %d\n", n, in[0], in[1],
         wait_child(pid));
  close(go[0]);
  close(go[1]);
  close(sv[0]);
  close(sv[1]);
}

/* One blocking write of 4 MiB, to a pipe and to a stream socket, read by a child in small pieces: all of it is written. */
static void big_writes(void) {
  enum { SIZE = 4 << 20 };
  char *buf = malloc(SIZE);
  for (int i = 0; i < SIZE; i++) buf[i] = (char)(i ^ (i >> 9));
  for (int kind = 0; kind < 2; kind++) {
    int fds[2];
    if (kind == 0) CHECK(pipe(fds) == 0);
    else CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[1]);
      char piece[3000];
      uint32_t sum = 2166136261u;
      size_t total = 0;
      ssize_t n;
      while ((n = read(fds[0], piece, sizeof piece)) > 0) {
        for (ssize_t i = 0; i < n; i++) sum = (sum ^ (unsigned char)piece[i]) * 16777619u;
        total += (size_t)n;
      }
      printf("%s: the reader got %zu bytes, checksum %08x\n", kind == 0 ? "pipe" : "stream socket", total, sum);
      _exit(0);
    }
    close(fds[0]);
    ssize_t w = write(fds[1], buf, SIZE);
    close(fds[1]);
    int st = wait_child(pid);
    printf("%s: one write of %d bytes returned %zd; reader status %d\n", kind == 0 ? "pipe" : "stream socket", SIZE, w, st);
  }
  free(buf);
}

/* A child that reads a descriptor to its end and prints how much and a checksum. */
static pid_t reader(int fd, int other, const char *what) {
  pid_t pid = fork();
  if (pid == 0) {
    close(other);
    char piece[5000];
    uint32_t sum = 2166136261u;
    size_t total = 0;
    ssize_t n;
    while ((n = read(fd, piece, sizeof piece)) > 0) {
      for (ssize_t i = 0; i < n; i++) sum = (sum ^ (unsigned char)piece[i]) * 16777619u;
      total += (size_t)n;
    }
    printf("%s: the reader got %zu bytes, checksum %08x\n", what, total, sum);
    _exit(0);
  }
  return pid;
}

/* sendfile into a pipe and a socket whose readers are other processes, at an offset and at the file's own, and out of a pipe. */
static void sendfile_between_processes(void) {
  enum { SIZE = 3000000 };
  int f = open("sendfile.data", O_RDWR | O_CREAT | O_TRUNC, 0600);
  CHECK(f >= 0);
  char *buf = malloc(SIZE);
  for (int i = 0; i < SIZE; i++) buf[i] = (char)(i * 13 ^ (i >> 10));
  write_all(f, buf, SIZE);
  free(buf);
  CHECK(lseek(f, 0, SEEK_SET) == 0);
  int fds[2];
  CHECK(pipe(fds) == 0);
  pid_t pid = reader(fds[0], fds[1], "sendfile to a pipe");
  close(fds[0]);
  size_t total = 0;
  ssize_t n;
  while ((n = sendfile(fds[1], f, NULL, SIZE)) > 0) total += (size_t)n;
  close(fds[1]);
  int st = wait_child(pid);
  printf("sendfile to a pipe: sent %zu, file position %ld, reader status %d\n", total, (long)lseek(f, 0, SEEK_CUR), st);
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
  pid = reader(fds[0], fds[1], "sendfile to a socket");
  close(fds[0]);
  off_t off = 1000;
  total = 0;
  while ((n = sendfile(fds[1], f, &off, SIZE)) > 0) total += (size_t)n;
  close(fds[1]);
  st = wait_child(pid);
  printf("sendfile to a socket from offset 1000: sent %zu, offset now %ld, file position %ld, reader status %d\n", total,
         (long)off, (long)lseek(f, 0, SEEK_CUR), st);
  close(f);
  unlink("sendfile.data");
  CHECK(pipe(fds) == 0);
  CHECK(write(fds[1], "from a pipe", 11) == 11);
  int out = open("sendfile.out", O_RDWR | O_CREAT | O_TRUNC, 0600);
  n = sendfile(out, fds[0], NULL, 100);
  printf("sendfile out of a pipe holding 11 bytes: %zd %s\n", n, n < 0 ? strerrorname_np(errno) : "");
  close(fds[0]);
  close(fds[1]);
  close(out);
  unlink("sendfile.out");
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) {
  (void)sig;
  alarms++;
}

/*
 * A blocking write, send or sendfile that a signal handler (no SA_RESTART)
 * interrupts after part of the data went returns that part, as Linux's do
 * (EINTR only when nothing went).  The reader waits for a word on a control
 * pipe before it reads, so the channel stays full until the alarm has come,
 * whatever the machine's speed; it then reports how much it got.  The alarm
 * repeats until the call returns: on a host slow enough that the first one
 * comes before the call blocks, the next one cuts it short (a single alarm
 * left the call blocked for good), and a call cut short before it moved
 * anything is made again, a few times at most.  (For
 * sendfile qemu-riscv64 7.2 returns the part but never runs the handler, so
 * the alarms are not printed there; tsemu runs it, as Linux does.)
 */
static void interrupted_writes(void) {
  enum { SIZE = 1 << 20 };
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
  const struct itimerval off = {{0, 0}, {0, 0}};
  char *buf = malloc(SIZE);
  for (int i = 0; i < SIZE; i++) buf[i] = (char)(i * 7 ^ (i >> 11));
  int f = open("interrupted.data", O_RDWR | O_CREAT | O_TRUNC, 0600);
  CHECK(f >= 0);
  write_all(f, buf, SIZE);
  CHECK(lseek(f, 0, SEEK_SET) == 0);
  const char *names[] = {"pipe", "stream socket", "sendfile to a pipe"};
  for (int kind = 0; kind < 3; kind++) {
    int fds[2], ctl[2], res[2];
    if (kind == 1) CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    else CHECK(pipe(fds) == 0);
    CHECK(pipe(ctl) == 0 && pipe(res) == 0);
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[1]);
      close(ctl[1]);
      close(res[0]);
      char go;
      read_all(ctl[0], &go, 1);
      char piece[4096];
      size_t total = 0;
      ssize_t n;
      while ((n = read(fds[0], piece, sizeof piece)) > 0) total += (size_t)n;
      write_all(res[1], &total, sizeof total);
      _exit(0);
    }
    close(fds[0]);
    close(ctl[0]);
    close(res[1]);
    alarms = 0;
    struct itimerval it = {{0, 100000}, {0, 100000}};
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    ssize_t n;
    int e, tries = 0;
    do {
      n = kind == 2 ? sendfile(fds[1], f, NULL, SIZE) : write(fds[1], buf, SIZE);
      e = errno;
    } while (n < 0 && e == EINTR && ++tries < 4);
    CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
    /* qemu-riscv64 holds the alarm that cut its sendfile short back until a later blocking call: blocked here, it comes at the unblock below. */
    sigset_t alrm;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    CHECK(sigprocmask(SIG_BLOCK, &alrm, NULL) == 0);
    off_t pos = lseek(f, 0, SEEK_CUR);
    close(fds[1]);
    write_all(ctl[1], "g", 1);
    size_t got = 0;
    read_all(res[0], &got, sizeof got);
    int st = wait_child(pid);
    const char *ran = alarms > 0 ? "yes" : "no";
    if (n < 0) printf("%s: failed with %s, the handler ran: %s\n", names[kind], strerrorname_np(e), ran);
    else if (kind == 1) printf("%s: returned a part: %s, the handler ran: %s, the reader got that part: %s, status %d\n",
                               names[kind], n > 0 && n < SIZE ? "yes" : "no", ran, got == (size_t)n ? "yes" : "no", st);
    else if (kind == 0) printf("%s: returned %zd of %d, the handler ran: %s, the reader got %zu, status %d\n", names[kind], n,
                               SIZE, ran, got, st);
    else printf("%s: returned %zd of %d, the reader got %zu, status %d, the file position moved by the part: %s\n",
                names[kind], n, SIZE, got, st, pos == n ? "yes" : "no");
    CHECK(sigprocmask(SIG_UNBLOCK, &alrm, NULL) == 0);
    close(ctl[1]);
    close(res[0]);
  }
  close(f);
  unlink("interrupted.data");
  free(buf);
  /*
   * A poll cut short by a handler, then another from the same call site
   * (libc's): the second has its own timeout.  The alarm repeats until the
   * first poll returns, so that one comes while it waits however late it starts.
   */
  int p2[2];
  CHECK(pipe(p2) == 0);
  struct pollfd pf = {p2[0], POLLIN, 0};
  alarms = 0;
  struct itimerval soon = {{0, 50000}, {0, 50000}};
  CHECK(setitimer(ITIMER_REAL, &soon, NULL) == 0);
  double t0 = now_ms();
  int r1 = poll(&pf, 1, 400);
  int e1 = errno;
  CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
  while (now_ms() < t0 + 450) continue; /* past the first poll's deadline, with no other waiting call between */
  pid_t pid = fork();
  if (pid == 0) {
    usleep(100000);
    CHECK(write(p2[1], "x", 1) == 1);
    _exit(0);
  }
  int r2 = poll(&pf, 1, 5000);
  printf("poll cut short by a handler: %d %s, the handler ran: %s; the next poll: %d, revents 0x%x; writer status %d\n",
         r1, r1 < 0 ? strerrorname_np(e1) : "", alarms > 0 ? "yes" : "no", r2, pf.revents, wait_child(pid));
  close(p2[0]);
  close(p2[1]);
  signal(SIGALRM, SIG_DFL);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  stream_pair();
  datagram_pair(SOCK_DGRAM, "socketpair dgram");
  datagram_pair(SOCK_SEQPACKET, "socketpair seqpacket");
  peer_credentials();
  unix_server();
  abstract_datagrams();
  pass_descriptor();
  tcp_loopback();
  udp_loopback();
  blocking_with_threads();
  timeouts_and_nonblocking();
  shutdown_and_sigpipe();
  readiness();
  multiple_messages();
  big_writes();
  sendfile_between_processes();
  interrupted_writes();
  printf("done\n");
  return 0;
}
