/*
 * CPU-bound integer benchmark. Each iteration runs four kernels and folds
 * their results into a checksum:
 *   sieve   primes below 200000 (byte array, strided stores)
 *   sort    quicksort of 20000 pseudo-random 32-bit keys (branches, calls)
 *   matrix  64x64 integer matrix product (multiply-add, nested loops)
 *   hash    CRC-32 (bitwise) and FNV-1a over a 16 KiB buffer (shifts, xor)
 * Usage: cpubench [iterations] (default 500, about 1-3 s under qemu-riscv64). Prints the checksum, which
 * depends only on the iteration count. No floating point, no system calls
 * inside the timed work.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng_state;
static uint32_t rng(void) {
  uint32_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return rng_state = x;
}

#define SIEVE_N 200000
static uint8_t composite[SIEVE_N];

static uint32_t sieve(void) {
  memset(composite, 0, sizeof composite);
  uint32_t count = 0, sum = 0;
  for (uint32_t i = 2; i < SIEVE_N; i++) {
    if (composite[i]) continue;
    count++;
    sum += i;
    for (uint32_t j = i * 2; j < SIEVE_N; j += i) composite[j] = 1;
  }
  return count * 31 + sum;
}

#define SORT_N 20000
static uint32_t keys[SORT_N];

static void quicksort(uint32_t *a, long lo, long hi) {
  while (lo < hi) {
    if (hi - lo < 16) {
      for (long i = lo + 1; i <= hi; i++) {
        uint32_t v = a[i];
        long j = i - 1;
        while (j >= lo && a[j] > v) {
          a[j + 1] = a[j];
          j--;
        }
        a[j + 1] = v;
      }
      return;
    }
    uint32_t pivot = a[lo + (hi - lo) / 2];
    long i = lo, j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        uint32_t t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (j - lo < hi - i) {
      quicksort(a, lo, j);
      lo = i;
    } else {
      quicksort(a, i, hi);
      hi = j;
    }
  }
}

static uint32_t sort_kernel(void) {
  for (int i = 0; i < SORT_N; i++) keys[i] = rng();
  quicksort(keys, 0, SORT_N - 1);
  uint32_t h = 0;
  for (int i = 0; i < SORT_N; i += 97) h = h * 16777619u ^ keys[i];
  for (int i = 1; i < SORT_N; i++)
    if (keys[i - 1] > keys[i]) return 0xdeadu;
  return h;
}

#define MN 64
static int32_t ma[MN][MN], mb[MN][MN], mc[MN][MN];

static uint32_t matrix(void) {
  for (int i = 0; i < MN; i++)
    for (int j = 0; j < MN; j++) {
      ma[i][j] = (int32_t)(rng() % 2001) - 1000;
      mb[i][j] = (int32_t)(rng() % 2001) - 1000;
    }
  for (int i = 0; i < MN; i++)
    for (int j = 0; j < MN; j++) {
      int64_t s = 0;
      for (int k = 0; k < MN; k++) s += (int64_t)ma[i][k] * mb[k][j];
      mc[i][j] = (int32_t)s;
    }
  uint32_t h = 0;
  for (int i = 0; i < MN; i++) h = h * 31 + (uint32_t)mc[i][(i * 7) % MN];
  return h;
}

#define HASH_N 16384
static uint8_t hbuf[HASH_N];

static uint32_t hash_kernel(void) {
  for (int i = 0; i < HASH_N; i += 4) {
    uint32_t r = rng();
    memcpy(hbuf + i, &r, 4);
  }
  uint32_t crc = 0xffffffffu;
  for (int i = 0; i < HASH_N; i++) {
    crc ^= hbuf[i];
    for (int b = 0; b < 8; b++) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
  }
  uint64_t fnv = 0xcbf29ce484222325ull;
  for (int i = 0; i < HASH_N; i++) {
    fnv ^= hbuf[i];
    fnv *= 0x100000001b3ull;
  }
  return ~crc ^ (uint32_t)(fnv >> 32) ^ (uint32_t)fnv;
}

int main(int argc, char **argv) {
  long iterations = argc > 1 ? strtol(argv[1], NULL, 10) : 500;
  if (iterations < 1) iterations = 1;
  rng_state = 2463534242u;
  uint32_t checksum = 0;
  for (long it = 0; it < iterations; it++) {
    uint32_t s = sieve();
    uint32_t q = sort_kernel();
    uint32_t m = matrix();
    uint32_t h = hash_kernel();
    checksum = (checksum * 1000003u) ^ s ^ (q << 1) ^ (m << 2) ^ (h << 3);
  }
  printf("cpubench: iterations=%ld checksum=%08" PRIx32 "\n", iterations, checksum);
  return 0;
}
