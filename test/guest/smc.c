/*
 * Self-modifying code, the case only a translator gets wrong: instructions
 * written into memory, run, rewritten and run again, hot enough to be
 * compiled in between; code sharing its page with data that the program
 * keeps writing; and a loop that rewrites the instruction it runs next.
 * The output must equal qemu-riscv64's.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

typedef long (*fn_t)(long);

/* addi a0, a0, imm */
static uint32_t addi_a0(int imm) { return ((uint32_t)(imm & 0xfff) << 20) | (10u << 15) | (10u << 7) | 0x13u; }
/* slli a0, a0, sh */
static uint32_t slli_a0(int sh) { return ((uint32_t)sh << 20) | (1u << 12) | (10u << 15) | (10u << 7) | 0x13u; }
static const uint32_t RET = 0x00008067u; /* jalr x0, 0(ra) */

static void fence_i(void) { __asm__ volatile("fence.i" ::: "memory"); }

/* Write a function "a0 = (a0 + imm) << sh" of n addis at code. */
static void emit(uint32_t *code, int imm, int sh, int n) {
  for (int i = 0; i < n; i++) code[i] = addi_a0(imm);
  code[n] = slli_a0(sh);
  code[n + 1] = RET;
  fence_i();
}

int main(void) {
  uint32_t *page = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) { perror("mmap"); return 1; }
  fn_t f = (fn_t)(void *)page;

  /* 1: rewrite between hot runs. */
  for (int round = 0; round < 6; round++) {
    emit(page, round + 1, round & 3, 8);
    long acc = 0;
    for (long i = 0; i < 5000; i++) acc += f(i) & 0xffff;
    printf("round %d: %ld\n", round, acc);
  }

  /* 2: data on the code's page, written while the code runs hot. */
  emit(page, 3, 1, 4);
  volatile long *data = (volatile long *)(page + 512);
  long acc = 0;
  for (long i = 0; i < 20000; i++) {
    data[i & 7] = i;
    acc += f(data[(i + 3) & 7]);
  }
  printf("shared page: %ld\n", acc);

  /* 3: each call rewrites the immediate of the first instruction for the next call. */
  emit(page, 0, 0, 2);
  acc = 0;
  for (int i = 0; i < 3000; i++) {
    acc += f(i);
    page[0] = addi_a0(i % 2000 - 1000);
    fence_i();
  }
  printf("rewrite each call: %ld\n", acc);

  /* 4: a longer straight run, patched in the middle. */
  emit(page, 1, 0, 200);
  long before = 0, after = 0;
  for (int i = 0; i < 2000; i++) before += f(i);
  page[100] = addi_a0(-50);
  fence_i();
  for (int i = 0; i < 2000; i++) after += f(i);
  printf("patched middle: %ld %ld\n", before, after);

  munmap(page, 4096);
  return 0;
}
