/*
 * A read of a file that is not in the host's page cache waits for the disk:
 * only the thread that reads may wait, the program's other threads run
 * meanwhile, and a signal that arrives during the read does not cut it
 * short (Linux's reads of regular files are not interrupted); an fsync
 * made meanwhile succeeds.
 *
 * Usage: slowread FILE   (FILE is written, SIZE bytes, synced, then dropped
 * from the page cache with posix_fadvise; prints "cached" and stops when
 * the host keeps it there anyway, e.g. on tmpfs)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#define SIZE (64L << 20)
#define CHUNK (1L << 20)
/* More spins than the main thread could make in one scheduler turn of tsemu (2^20 instructions) while the reader is between the store and its call. */
#define SPINS 500000L

static int fd;
static char *buf;
static int in_read, done;
static long got, failed, synced = -2;
static volatile sig_atomic_t alarms;

static void on_alarm(int sig) {
  (void)sig;
  alarms++;
}

static void *reader(void *arg) {
  (void)arg;
  long total = 0;
  while (total < SIZE) {
    __atomic_store_n(&in_read, 1, __ATOMIC_SEQ_CST);
    ssize_t n = read(fd, buf + total, SIZE - total);
    __atomic_store_n(&in_read, 0, __ATOMIC_SEQ_CST);
    if (n <= 0) {
      failed = n < 0 ? -1 : 0;
      break;
    }
    total += n;
  }
  got = total;
  /* With the other thread running: the host's fsync goes to a thread of its own too. */
  synced = fsync(fd);
  __atomic_store_n(&done, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: slowread FILE\n");
    return 2;
  }
  buf = malloc(SIZE);
  fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (buf == NULL || fd < 0) {
    perror("slowread");
    return 1;
  }
  uint64_t *words = (uint64_t *)buf;
  for (long i = 0; i < SIZE / 8; i++) words[i] = (uint64_t)i * 0x9e3779b97f4a7c15u;
  for (long off = 0; off < SIZE; off += CHUNK) {
    if (write(fd, buf + off, CHUNK) != CHUNK) {
      perror("write");
      return 1;
    }
  }
  /* Out of the page cache, and no read-ahead: each read waits for the disk. */
  if (fsync(fd) != 0 || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0 ||
      posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
    perror("fsync/fadvise");
    return 1;
  }
  char probe[4096];
  struct iovec iov = {probe, sizeof probe};
  if (preadv2(fd, &iov, 1, 0, RWF_NOWAIT) >= 0) {
    printf("cached\n");
    return 0;
  }
  memset(buf, 0, SIZE);

  /* SIGALRM every 5 ms, for the reader only, without SA_RESTART. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  pthread_t t;
  if (pthread_create(&t, NULL, reader, NULL) != 0) return 1;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  struct itimerval it = {{0, 5000}, {0, 5000}};
  setitimer(ITIMER_REAL, &it, NULL);

  long seen = 0;
  while (!__atomic_load_n(&done, __ATOMIC_SEQ_CST)) {
    if (__atomic_load_n(&in_read, __ATOMIC_SEQ_CST)) seen++;
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  pthread_join(t, NULL);

  long wrong = 0;
  for (long i = 0; i < got / 8; i++) wrong += words[i] != (uint64_t)i * 0x9e3779b97f4a7c15u;
  printf("read %ld of %ld bytes, %ld wrong, a read failed: %s\n", got, SIZE, wrong, failed ? "yes" : "no");
  printf("the other thread ran during the reads: %s\n", seen > SPINS ? "yes" : "no");
  printf("signals taken by the reader: %s\n", alarms > 0 ? "yes" : "no");
  printf("fsync: %ld\n", synced);
  return 0;
}
