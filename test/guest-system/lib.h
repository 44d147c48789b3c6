/*
 * Shared support for the bare-metal test programs: CSR access, the UART,
 * formatted output, trap records, running code in a lower privilege mode
 * and the probe instructions of start.S.
 *
 * Every program prints what it observes (CSR values, trap causes) as hex so
 * that the serial output of QEMU and tsemu can be compared byte for byte.
 * Nothing printed may depend on time or on how fast the emulator is.
 */
#ifndef GUEST_SYSTEM_LIB_H
#define GUEST_SYSTEM_LIB_H

typedef unsigned long u64;
typedef long i64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef signed char i8;

/* The virt board's devices (QEMU's hw/riscv/virt.c memory map). */
#define UART0 0x10000000UL
#define SIFIVE_TEST 0x100000UL
#define CLINT 0x2000000UL
#define CLINT_MSIP(h) (CLINT + 4 * (h))
#define CLINT_MTIMECMP(h) (CLINT + 0x4000 + 8 * (h))
#define CLINT_MTIME (CLINT + 0xbff8)
#define DRAM 0x80000000UL

/* mstatus bits. */
#define MSTATUS_SIE (1UL << 1)
#define MSTATUS_MIE (1UL << 3)
#define MSTATUS_SPIE (1UL << 5)
#define MSTATUS_MPIE (1UL << 7)
#define MSTATUS_SPP (1UL << 8)
#define MSTATUS_MPP (3UL << 11)
#define MSTATUS_FS (3UL << 13)
#define MSTATUS_MPRV (1UL << 17)
#define MSTATUS_SUM (1UL << 18)
#define MSTATUS_MXR (1UL << 19)
#define MSTATUS_TVM (1UL << 20)
#define MSTATUS_TW (1UL << 21)
#define MSTATUS_TSR (1UL << 22)
#define MPP_SHIFT 11

/* Interrupt numbers (mip/mie bits and mcause codes). */
#define IRQ_SSI 1
#define IRQ_MSI 3
#define IRQ_STI 5
#define IRQ_MTI 7
#define IRQ_SEI 9
#define IRQ_MEI 11

#define PRV_U 0
#define PRV_S 1
#define PRV_M 3

#define STR_(x) #x
#define STR(x) STR_(x)
#define csr_read(csr) ({ u64 v_; __asm__ volatile("csrr %0, " STR(csr) : "=r"(v_) : : "memory"); v_; })
#define csr_write(csr, v) __asm__ volatile("csrw " STR(csr) ", %0" : : "r"((u64)(v)) : "memory")
#define csr_set(csr, v) __asm__ volatile("csrs " STR(csr) ", %0" : : "r"((u64)(v)) : "memory")
#define csr_clear(csr, v) __asm__ volatile("csrc " STR(csr) ", %0" : : "r"((u64)(v)) : "memory")
#define csr_swap(csr, v) \
  ({ u64 o_; __asm__ volatile("csrrw %0, " STR(csr) ", %1" : "=r"(o_) : "r"((u64)(v)) : "memory"); o_; })

/*
 * Instructions that may trap are written as 4-byte encodings (norvc) so that
 * the handlers can step over them by adding 4 (m_skip / s_skip).
 */
#define NORVC(insns) ".option push\n.option norvc\n" insns "\n.option pop\n"

static inline void mmio_write32(u64 addr, u32 v) { *(volatile u32 *)addr = v; }
static inline u32 mmio_read32(u64 addr) { return *(volatile u32 *)addr; }
static inline void mmio_write64(u64 addr, u64 v) { *(volatile u64 *)addr = v; }
static inline u64 mmio_read64(u64 addr) { return *(volatile u64 *)addr; }
static inline void fence(void) { __asm__ volatile("fence" : : : "memory"); }

/* Output on UART0 (polling LSR.THRE).  print: %s, %c, %d (long), %x (u64, no padding). */
void putch(char c);
void puts_(const char *s);
void print(const char *fmt, ...);
/* "label: 0x<16 hex digits>\n" */
void pv(const char *label, u64 v);
void section(const char *title);

/*
 * Let S and U reach all memory through PMP entry 0 (pmpcfg0 = NAPOT RWX,
 * pmpaddr0 = all ones).  QEMU 7.2 refuses an mret to S or U (illegal
 * instruction) while no PMP entry is set, so every program that drops to a
 * lower mode sets one first.
 */
void pmp_allow_all(void);

/* Power off through sifive_test: 0 passes, anything else exits with that status. */
void exit_with(long code) __attribute__((noreturn));

/* The registers a trap entry saved (x0 unused), and which vector slot it came through (-1: direct). */
struct trap_frame {
  u64 x[32];
  i64 vec;
  u64 pad;
};

/* What a handler does after recording a synchronous exception. */
enum trap_action {
  ACT_SKIP = 0,      /* continue after the trapping instruction (epc + m_skip / s_skip) */
  ACT_RESUME_RA = 1, /* continue at ra: for a fetch fault, "return" from probe_exec */
};

/* The last trap a handler saw, and how many it saw. */
struct trap_record {
  u64 count;
  u64 cause;
  u64 epc;
  u64 tval;
  u64 status;
  i64 vec;
};
extern volatile struct trap_record mtrap, strap;
extern volatile int m_action, s_action;
extern volatile int m_skip, s_skip;

/* Forget earlier traps (counts to 0) and go back to the default actions. */
void trap_reset(void);
/* Print the last M (S) trap as "label: mcause=... mepc=... mtval=... mstatus=...", or that none happened. */
void show_mtrap(const char *label);
void show_strap(const char *label);
/* Print both records (for tests where the trap may go either way). */
void show_traps(const char *label);

/*
 * Interrupt hooks, called with the cause code (without the interrupt bit).
 * The defaults record the interrupt in irq_log and clear its enable bit in
 * mie (sie) so it cannot fire again; a program may define its own.
 */
void m_irq(struct trap_frame *f, u64 code);
void s_irq(struct trap_frame *f, u64 code);
#define IRQ_LOG_SIZE 32
extern volatile u64 irq_log[IRQ_LOG_SIZE];
extern volatile u64 irq_log_len;
void show_irq_log(const char *label);

/* Optional hooks called before the default action on each exception (may change the frame and m_action). */
extern void (*volatile m_hook)(struct trap_frame *f, u64 cause);
extern void (*volatile s_hook)(struct trap_frame *f, u64 cause);

/* Work for the harts other than 0 (lib.c's default parks them). */
void secondary_main(long hartid);

/* start.S */
long run_in_mode(long mode, long (*fn)(long), long arg, u64 sp, long offset);
void lower_return(void);
void m_trap_entry(void);
void s_trap_entry(void);
void m_vector_table(void);
void s_vector_table(void);
long probe_ld(u64 addr);
long probe_lw(u64 addr);
long probe_lh(u64 addr);
long probe_lb(u64 addr);
long probe_lbu(u64 addr);
long probe_sd(u64 addr, u64 v);
long probe_sw(u64 addr, u64 v);
long probe_sb(u64 addr, u64 v);
long probe_amoadd_d(u64 addr, u64 v);
long probe_amoadd_w(u64 addr, u64 v);
long probe_amoswap_w(u64 addr, u64 v);
long probe_lr_d(u64 addr);
long probe_lr_w(u64 addr);
long probe_sc_d(u64 addr, u64 v);
long probe_exec(u64 addr);
extern char ret_1234[], ret_1234_end[];

/* ecalls from S or U that M-mode's handler answers (see lib.c). */
#define RETURN_MAGIC6 0x52455455UL
#define RETURN_MAGIC7 0x524e4d21UL

/* Set when s_trap_handler must pass a lower_return on by an illegal instruction instead of ecall (ecall from S delegated). */
extern volatile int s_forward_by_illegal;

/* Linker symbols. */
extern char __text_end[], __bss_start[], __bss_end[], __stack_top[], __image_end[];

#endif
