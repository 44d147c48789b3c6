/*
 * iobench: 4 KiB direct I/O on a block device, timed inside the guest.
 *
 * Four phases over the first MIB MiB of DEVICE, opened with O_DIRECT so that
 * every request reaches the device (no guest page cache):
 *   seq-write   every 4 KiB block of the region in order, then fdatasync
 *   seq-read    every block of the region in order
 *   rand-write  W blocks picked by a seeded xorshift64 generator, then fdatasync
 *   rand-read   R blocks picked the same way (a different stream)
 * Each phase prints one line,
 *   PHASE ops=N bytes=N seconds=S.SSSSSS
 * timed with clock_gettime(CLOCK_MONOTONIC).  Every block written carries its
 * block number in its first 8 bytes; reads check it, so a device that returns
 * the wrong block (or nothing) fails the run instead of giving a figure.
 *
 * Usage: iobench [-m MIB] [-w RAND_WRITES] [-r RAND_READS] [-s SEED] DEVICE
 * (defaults: 16 MiB, 1024 random writes, 1024 random reads, seed 1).
 * Exit status: 0 on success, 2 on bad arguments, 1 on an I/O or check error.
 * THE DEVICE'S CONTENTS ARE OVERWRITTEN.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096u
/* Largest region accepted (MiB): keeps block numbers and byte counts far from overflow. */
#define MAX_MIB (1u << 20)
#define MAX_OPS 100000000ull

static const char *prog = "iobench";

#define USAGE "[-m MIB] [-w RAND_WRITES] [-r RAND_READS] [-s SEED] DEVICE"

/* One line on stderr for a bad command line, then exit 2. */
static void bad_usage(const char *why) {
  fprintf(stderr, "%s: %s (usage: %s " USAGE ")\n", prog, why, prog);
  exit(2);
}

static void bad_arg(const char *what, const char *text) {
  fprintf(stderr, "%s: %s must be a positive integer, not '%s'\n", prog, what, text);
  exit(2);
}

/* A decimal integer in 1..max, or exit 2. */
static uint64_t parse_count(const char *what, const char *text, uint64_t max) {
  char *end;
  unsigned long long v;
  if (text[0] < '0' || text[0] > '9') bad_arg(what, text);
  errno = 0;
  v = strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0' || v == 0) bad_arg(what, text);
  if (v > max) {
    fprintf(stderr, "%s: %s is %s; at most %" PRIu64 " is allowed\n", prog, what, text, max);
    exit(2);
  }
  return v;
}

static uint64_t rng_state;

/* xorshift64 (Marsaglia): a full-period generator over the nonzero 64-bit values. */
static uint64_t next_random(void) {
  uint64_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return rng_state = x;
}

static void seed_random(uint64_t seed) {
  /* Spread small seeds over the bits; the state must not be zero. */
  rng_state = seed * 0x9e3779b97f4a7c15ull;
  if (rng_state == 0) rng_state = 1;
  for (int i = 0; i < 4; i++) next_random();
}

static double now(void) {
  struct timespec t;
  if (clock_gettime(CLOCK_MONOTONIC, &t) != 0) {
    fprintf(stderr, "%s: clock_gettime: %s\n", prog, strerror(errno));
    exit(1);
  }
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static const char *device;
static int fd;
static unsigned char *buf;

static void fill(uint64_t block, uint64_t generation) {
  /* Block number first (checked on reads), then a pattern that changes per write. */
  memcpy(buf, &block, sizeof block);
  memcpy(buf + 8, &generation, sizeof generation);
  for (unsigned i = 16; i < BLOCK; i += 8) {
    uint64_t word = block * 0x100000001b3ull ^ generation ^ i;
    memcpy(buf + i, &word, sizeof word);
  }
}

static void write_block(uint64_t block, uint64_t generation) {
  ssize_t n;
  fill(block, generation);
  do {
    n = pwrite(fd, buf, BLOCK, (off_t)(block * BLOCK));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    fprintf(stderr, "%s: write of block %" PRIu64 " of %s: %s\n", prog, block, device, strerror(errno));
    exit(1);
  }
  if ((size_t)n != BLOCK) {
    fprintf(stderr, "%s: short write of block %" PRIu64 " of %s: %zd of %u bytes\n", prog, block, device, n, BLOCK);
    exit(1);
  }
}

static void read_block(uint64_t block) {
  ssize_t n;
  uint64_t stamp;
  do {
    n = pread(fd, buf, BLOCK, (off_t)(block * BLOCK));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    fprintf(stderr, "%s: read of block %" PRIu64 " of %s: %s\n", prog, block, device, strerror(errno));
    exit(1);
  }
  if ((size_t)n != BLOCK) {
    fprintf(stderr, "%s: short read of block %" PRIu64 " of %s: %zd of %u bytes\n", prog, block, device, n, BLOCK);
    exit(1);
  }
  memcpy(&stamp, buf, sizeof stamp);
  if (stamp != block) {
    fprintf(stderr, "%s: block %" PRIu64 " of %s holds block number %" PRIu64 ", not what was written\n", prog,
            block, device, stamp);
    exit(1);
  }
}

static void sync_device(void) {
  if (fdatasync(fd) != 0) {
    fprintf(stderr, "%s: fdatasync of %s: %s\n", prog, device, strerror(errno));
    exit(1);
  }
}

static void report(const char *phase, uint64_t ops, double start) {
  double seconds = now() - start;
  printf("%s ops=%" PRIu64 " bytes=%" PRIu64 " seconds=%.6f\n", phase, ops, ops * BLOCK, seconds);
  fflush(stdout);
}

int main(int argc, char **argv) {
  uint64_t mib = 16, rand_writes = 1024, rand_reads = 1024, seed = 1;
  uint64_t blocks, size;
  struct stat st;
  off_t end;
  double start;
  int opt, err;

  if (argc > 0 && argv[0][0] != '\0') {
    const char *slash = strrchr(argv[0], '/');
    prog = slash != NULL ? slash + 1 : argv[0];
  }
  opterr = 0;
  while ((opt = getopt(argc, argv, "m:w:r:s:h")) != -1) {
    switch (opt) {
    case 'm': mib = parse_count("MIB (-m)", optarg, MAX_MIB); break;
    case 'w': rand_writes = parse_count("RAND_WRITES (-w)", optarg, MAX_OPS); break;
    case 'r': rand_reads = parse_count("RAND_READS (-r)", optarg, MAX_OPS); break;
    case 's': seed = parse_count("SEED (-s)", optarg, UINT64_MAX); break;
    case 'h': printf("usage: %s " USAGE "\n", prog); return 0;
    default: {
      char why[40];
      if (optopt != 0 && strchr("mwrs", optopt) != NULL) {
        snprintf(why, sizeof why, "option -%c needs a value", optopt);
      } else {
        snprintf(why, sizeof why, "unknown option -%c", optopt);
      }
      bad_usage(why);
    }
    }
  }
  if (optind != argc - 1) bad_usage(optind >= argc ? "no DEVICE given" : "only one DEVICE may be given");
  device = argv[optind];
  blocks = mib * (1024 * 1024 / BLOCK);
  size = blocks * BLOCK;

  fd = open(device, O_RDWR | O_DIRECT);
  if (fd < 0) {
    fprintf(stderr, "%s: cannot open %s with O_DIRECT: %s\n", prog, device, strerror(errno));
    return 1;
  }
  if (fstat(fd, &st) != 0) {
    fprintf(stderr, "%s: fstat of %s: %s\n", prog, device, strerror(errno));
    return 1;
  }
  if (!S_ISBLK(st.st_mode)) {
    fprintf(stderr, "%s: %s is not a block device\n", prog, device);
    return 1;
  }
  end = lseek(fd, 0, SEEK_END);
  if (end < 0) {
    fprintf(stderr, "%s: cannot find the size of %s: %s\n", prog, device, strerror(errno));
    return 1;
  }
  if ((uint64_t)end < size) {
    fprintf(stderr, "%s: %s holds %lld bytes, fewer than the %" PRIu64 " MiB asked for\n", prog, device,
            (long long)end, mib);
    return 1;
  }
  err = posix_memalign((void **)&buf, BLOCK, BLOCK);
  if (err != 0) {
    fprintf(stderr, "%s: posix_memalign: %s\n", prog, strerror(err));
    return 1;
  }

  printf("iobench device=%s mib=%" PRIu64 " block=%u rand-writes=%" PRIu64 " rand-reads=%" PRIu64
         " seed=%" PRIu64 "\n", device, mib, BLOCK, rand_writes, rand_reads, seed);
  fflush(stdout);

  start = now();
  for (uint64_t b = 0; b < blocks; b++) write_block(b, 0);
  sync_device();
  report("seq-write", blocks, start);

  start = now();
  for (uint64_t b = 0; b < blocks; b++) read_block(b);
  report("seq-read", blocks, start);

  seed_random(seed);
  start = now();
  for (uint64_t i = 0; i < rand_writes; i++) write_block(next_random() % blocks, i + 1);
  sync_device();
  report("rand-write", rand_writes, start);

  seed_random(seed ^ 0x5bd1e995u);
  start = now();
  for (uint64_t i = 0; i < rand_reads; i++) read_block(next_random() % blocks);
  report("rand-read", rand_reads, start);

  if (close(fd) != 0) {
    fprintf(stderr, "%s: close of %s: %s\n", prog, device, strerror(errno));
    return 1;
  }
  return 0;
}
