/*
 * Pages that share a TLB index (4 MiB apart), used in turns: every access
 * misses the first way and hits the second or the victim TLB, the path a
 * translator takes out of line.  Loads and stores of every size and
 * signedness, aligned and not, across page ends, on two pages at one index
 * (the second way holds the other), then three and five (the victim TLB).  The output must equal qemu-riscv64's.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define STRIDE (4u << 20)
#define PAGES 5

static unsigned char area[PAGES * STRIDE + 64];

static unsigned char *page(int k) { return area + (size_t)k * STRIDE; }

#define AT(type, k, at) (*(volatile type *)(page(k) + off + (at)))

/* One round over `n` pages: each access goes to the next page, so consecutive accesses share an index. */
static uint64_t round_of(int n, uint64_t seed, unsigned off) {
  uint64_t sum = seed;
  for (int k = 0; k < n; k++) sum += (uint64_t)(int64_t)AT(int8_t, k, 0);
  for (int k = 0; k < n; k++) sum += AT(uint8_t, k, 1);
  for (int k = 0; k < n; k++) sum += (uint64_t)(int64_t)AT(int16_t, k, 8);
  for (int k = 0; k < n; k++) sum += AT(uint16_t, k, 10);
  for (int k = 0; k < n; k++) sum += (uint64_t)(int64_t)AT(int32_t, k, 16);
  for (int k = 0; k < n; k++) sum += AT(uint32_t, k, 20);
  for (int k = 0; k < n; k++) sum += AT(uint64_t, k, 24);
  for (int k = 0; k < n; k++) AT(int8_t, k, 0) = (int8_t)((sum + (uint64_t)k) | 0x80);
  for (int k = 0; k < n; k++) AT(uint8_t, k, 3) = (uint8_t)(sum >> k);
  for (int k = 0; k < n; k++) AT(int16_t, k, 8) = (int16_t)(sum >> 3 | 0x8000);
  for (int k = 0; k < n; k++) AT(uint16_t, k, 14) = (uint16_t)(sum >> (k + 9));
  for (int k = 0; k < n; k++) AT(int32_t, k, 16) = (int32_t)(sum >> 7 | 0x80000000u);
  for (int k = 0; k < n; k++) AT(uint32_t, k, 20) = (uint32_t)(sum >> (k + 2));
  for (int k = 0; k < n; k++) AT(uint64_t, k, 24) = sum * 0x9e3779b97f4a7c15ull + (uint64_t)k;
  return sum;
}

static uint64_t ld_at(const unsigned char *p) { uint64_t v; __asm__ volatile("ld %0, 0(%1)" : "=r"(v) : "r"(p) : "memory"); return v; }
static int64_t lw_at(const unsigned char *p) { int64_t v; __asm__ volatile("lw %0, 0(%1)" : "=r"(v) : "r"(p) : "memory"); return v; }
static void sd_at(unsigned char *p, uint64_t v) { __asm__ volatile("sd %0, 0(%1)" : : "r"(v), "r"(p) : "memory"); }
static void sh_at(unsigned char *p, uint64_t v) { __asm__ volatile("sh %0, 0(%1)" : : "r"(v), "r"(p) : "memory"); }

/* Misaligned accesses, some across the end of a page, on pages of one index. */
static uint64_t crossing(int n, uint64_t seed) {
  uint64_t sum = seed;
  for (int k = 0; k < n; k++) {
    unsigned char *end = page(k) + 4096 - 3;
    uint64_t v = ld_at(end);
    int64_t u = lw_at(page(k) + 4093 + 4096 * (k & 1));
    sum = sum * 31 + v + (uint64_t)u + (uint64_t)lw_at(page(k) + 2 + 64 * k);
    sd_at(end, v ^ sum);
    sh_at(page(k) + 4095, sum >> 5);
  }
  return sum;
}

int main(void) {
  for (size_t i = 0; i < sizeof area; i++) area[i] = (unsigned char)(i * 7 + (i >> 12));
  uint64_t sum = 1;
  for (int i = 0; i < 20000; i++) sum = round_of(2, sum, (unsigned)(i % 64) * 32 % 4032);
  printf("two pages: %016llx\n", (unsigned long long)sum);
  for (int i = 0; i < 20000; i++) sum = round_of(3, sum, (unsigned)(i % 64) * 32 % 4032);
  printf("three pages: %016llx\n", (unsigned long long)sum);
  for (int i = 0; i < 20000; i++) sum = round_of(PAGES, sum, (unsigned)(i * 13 % 126) * 32);
  printf("five pages: %016llx\n", (unsigned long long)sum);
  for (int i = 0; i < 20000; i++) sum = crossing(3, sum);
  printf("crossing: %016llx\n", (unsigned long long)sum);
  uint64_t all = 0;
  for (size_t i = 0; i < sizeof area; i += 8) { uint64_t v; memcpy(&v, area + i, 8); all = all * 1099511628211ull + v; }
  printf("memory: %016llx\n", (unsigned long long)all);
  return 0;
}
