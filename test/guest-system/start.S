/*
 * Start-up code and trap entry points shared by the bare-metal test programs.
 *
 * With -bios none the board's reset vector jumps to the ELF entry on every
 * hart, in M-mode, with a0 = mhartid and a1 = the device tree's address.
 * Hart 0 clears .bss and runs main(a0, a1); the others wait until .bss is
 * clear, then run secondary_main(a0) (lib.c parks them in wfi unless a
 * program gives them work).
 *
 * Traps: m_trap_entry / s_trap_entry are the direct-mode handlers,
 * m_vector_table / s_vector_table the vectored ones.  Each saves all the
 * integer registers in a struct trap_frame (lib.h) on the hart's trap stack
 * (whose top mscratch / sscratch holds while not in a handler), calls the C
 * handler, and returns with the frame's registers, which the handler may
 * have changed.  The frame's `vec` field tells which entry was used: -1 for
 * the direct entry, the slot number for a vectored one.
 */
#define FRAME (34 * 8)
#define VEC (32 * 8)

  .option norvc
  .section .text.start, "ax"
  .globl _start
_start:
  csrr a0, mhartid
  /* A stack per hart: 16 KiB each, hart 0 at the top. */
  la sp, __stack_top
  slli t0, a0, 14
  sub sp, sp, t0
  /* Trap stacks: 4 KiB per hart. */
  slli t0, a0, 12
  la t1, __mtrap_stack_top
  sub t1, t1, t0
  csrw mscratch, t1
  la t1, __strap_stack_top
  sub t1, t1, t0
  csrw sscratch, t1
  la t1, m_trap_entry
  csrw mtvec, t1
  bnez a0, 2f
  /* Hart 0 clears .bss (the loader zeroes it too; this makes no assumption). */
  la t0, __bss_start
  la t1, __bss_end
1:
  bgeu t0, t1, 3f
  sd zero, 0(t0)
  addi t0, t0, 8
  j 1b
3:
  /* Only now may the other harts touch .bss. */
  fence
  li t0, 1
  la t1, bss_ready
  sw t0, 0(t1)
  call main
  call exit_with
2:
  /* Other harts wait for hart 0 to clear .bss (in QEMU they run in parallel from the start). */
  la t1, bss_ready
5:
  lw t0, 0(t1)
  beqz t0, 5b
  fence
  call secondary_main
4:
  wfi
  j 4b

  .data
  .balign 4
bss_ready:
  .word 0

/* Save everything but sp and t0 (already saved) and call `handler`; \xscratch holds the trap stack top. */
.macro TRAP_BODY handler, xscratch, xret
  sd x1, 1*8(sp)
  sd x3, 3*8(sp)
  sd x4, 4*8(sp)
  .irp r, 6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  sd x\r, \r*8(sp)
  .endr
  csrr t0, \xscratch
  sd t0, 2*8(sp)
  mv a0, sp
  call \handler
  /* The trap stack is free again once we return. */
  addi t0, sp, FRAME
  csrw \xscratch, t0
  ld x1, 1*8(sp)
  ld x3, 3*8(sp)
  ld x4, 4*8(sp)
  .irp r, 5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  ld x\r, \r*8(sp)
  .endr
  ld sp, 2*8(sp)
  \xret
.endm

  .text
  .balign 4
  .globl m_trap_entry
m_trap_entry:
  csrrw sp, mscratch, sp
  addi sp, sp, -FRAME
  sd t0, 5*8(sp)
  li t0, -1
m_trap_common:
  sd t0, VEC(sp)
  TRAP_BODY m_trap_handler, mscratch, mret

  .balign 4
  .globl s_trap_entry
s_trap_entry:
  csrrw sp, sscratch, sp
  addi sp, sp, -FRAME
  sd t0, 5*8(sp)
  li t0, -1
s_trap_common:
  sd t0, VEC(sp)
  TRAP_BODY s_trap_handler, sscratch, sret

/* Vector tables: slot i (4 bytes each, hence norvc) jumps to a stub that records i. */
  .balign 256
  .globl m_vector_table
m_vector_table:
  .irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
  j m_vec_\i
  .endr
  .irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
m_vec_\i:
  csrrw sp, mscratch, sp
  addi sp, sp, -FRAME
  sd t0, 5*8(sp)
  li t0, \i
  j m_trap_common
  .endr

  .balign 256
  .globl s_vector_table
s_vector_table:
  .irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
  j s_vec_\i
  .endr
  .irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
s_vec_\i:
  csrrw sp, sscratch, sp
  addi sp, sp, -FRAME
  sd t0, 5*8(sp)
  li t0, \i
  j s_trap_common
  .endr

/*
 * long run_in_mode(long mode, long (*fn)(long), long arg, long sp, long offset)
 *
 * Runs fn(arg) in privilege `mode` (0 = U, 1 = S) and returns its result in
 * M-mode.  sp != 0 gives the lower mode a stack of its own; `offset` is added
 * to the return address (code running through an alias mapping in mmu.c).
 * The M context is saved in run_ctx; fn returns to lower_return, which asks
 * M-mode to come back here with an ecall carrying RETURN_MAGIC in a6 and a7
 * (lib.c's m_trap_handler, or s_trap_handler forwarding it when ecalls are
 * delegated).  Runs with MPIE clear, so MIE is 0 again when back in M-mode.
 */
  .globl run_in_mode
run_in_mode:
  la t0, run_ctx
  sd ra, 0(t0)
  sd sp, 8(t0)
  .irp i, 0,1,2,3,4,5,6,7,8,9,10,11
  sd s\i, (16 + \i * 8)(t0)
  .endr
  li t1, (3 << 11) | (1 << 7)
  csrc mstatus, t1
  andi a0, a0, 3
  slli a0, a0, 11
  csrs mstatus, a0
  csrw mepc, a1
  /* A fresh S trap stack for each run (a forwarded return abandons one). */
  csrr t0, mhartid
  slli t0, t0, 12
  la t1, __strap_stack_top
  sub t1, t1, t0
  csrw sscratch, t1
  mv a0, a2
  li a6, 0
  li a7, 0
  beqz a3, 1f
  mv sp, a3
1:
  la ra, lower_return
  add ra, ra, a4
  mret

  .globl lower_return
lower_return:
  mv a1, a0
  li a6, 0x52455455
  li a7, 0x524e4d21
  ecall
  /* Not reached. */
  j lower_return

/*
 * Probes: one 4-byte instruction that may trap, so that a handler can skip it
 * by adding 4 to the exception pc.  A trapping probe returns its first
 * argument (or whatever a0 held).
 */
  .globl probe_ld, probe_lw, probe_lh, probe_lb, probe_lbu, probe_sd, probe_sw, probe_sb
  .globl probe_amoadd_d, probe_amoadd_w, probe_amoswap_w, probe_lr_d, probe_sc_d, probe_lr_w, probe_exec
probe_ld: ld a0, 0(a0); ret
probe_lw: lw a0, 0(a0); ret
probe_lh: lh a0, 0(a0); ret
probe_lb: lb a0, 0(a0); ret
probe_lbu: lbu a0, 0(a0); ret
probe_sd: sd a1, 0(a0); ret
probe_sw: sw a1, 0(a0); ret
probe_sb: sb a1, 0(a0); ret
probe_amoadd_d: amoadd.d a0, a1, (a0); ret
probe_amoadd_w: amoadd.w a0, a1, (a0); ret
probe_amoswap_w: amoswap.w a0, a1, (a0); ret
probe_lr_d: lr.d a0, (a0); ret
probe_lr_w: lr.w a0, (a0); ret
probe_sc_d: sc.d a0, a1, (a0); ret
/* Jump to a0; a fetch fault there resumes at ra (the handler's RESUME_RA action). */
probe_exec: jr a0

/* Code that may be executed at any address (copied or mapped by mmu.c): returns 0x1234 in a0. */
  .balign 16
  .globl ret_1234, ret_1234_end
ret_1234:
  li a0, 0x1234
  ret
ret_1234_end:
