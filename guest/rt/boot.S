/* SPDX-License-Identifier: MIT */
/*
 * DOC: guest entry and interrupt stubs
 *
 * _start is where the host starts every vCPU: 64-bit long mode, interrupts
 * off, identity paging, RDI = the boot information page, RSI = the CPU's
 * index (include/hw/board.h).  On the BSP (0) it sets up the boot stack, clears
 * the bss and calls rt_start(); an AP enters only once the BSP's runtime
 * is up and asked for it, on the stack the host gave it, and calls
 * rt_ap_start(bi, cpu).  Neither returns.
 *
 * isr_stubs holds one 16-byte stub per vector (0..255).  Each pushes a
 * zero error code where the CPU pushes none, then its vector number, and
 * jumps to isr_common, which saves the general registers into a struct
 * trap_frame (rt.h), calls trap_dispatch(frame) and returns with iretq.
 * Only hardware exceptions and external interrupts arrive here: software
 * interrupts (int $n, int3) are not used by the runtime.
 */
#define BOOT_STACK_SIZE 65536

	.section .text.boot, "ax"
	.code64
	.globl _start
	.type _start, @function
_start:
	cli
	cld
	xor	%ebp, %ebp
	test	%esi, %esi
	jnz	ap_start
	lea	boot_stack_top(%rip), %rsp
	mov	%rdi, %r12		/* callee-saved: the boot info */
	lea	__bss_start(%rip), %rdi
	lea	__bss_end(%rip), %rcx
	sub	%rdi, %rcx
	xor	%eax, %eax
	rep stosb
	mov	%r12, %rdi
	call	rt_start
1:	cli
	hlt
	jmp	1b
ap_start:				/* RSP: the host's 16-byte aligned stack top */
	call	rt_ap_start
	jmp	1b
	.size _start, . - _start

	.text
	.align 16
	.globl isr_stubs
isr_stubs:
	.set vec, 0
	.rept 256
	.align 16
	/* The CPU pushes an error code for 8, 10-14, 17, 21, 29 and 30. */
	.if !(vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30)
	pushq	$0
	.endif
	pushq	$vec
	jmp	isr_common
	.set vec, vec + 1
	.endr

	.type isr_common, @function
isr_common:
	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	cld
	mov	%rsp, %rdi
	mov	%rsp, %rbx		/* callee-saved: the frame */
	and	$-16, %rsp
	call	trap_dispatch
	mov	%rbx, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rbp
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rbx
	pop	%rax
	add	$16, %rsp		/* vector and error code */
	iretq
	.size isr_common, . - isr_common

	.bss
	.align 16
boot_stack:
	.skip BOOT_STACK_SIZE
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
