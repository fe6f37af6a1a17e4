/* trap.S: entry stubs for exceptions 0-31, and irq_wake for every other vector. Each exception
 * stub makes the stack look the same whatever the vector: the CPU pushed SS, RSP, RFLAGS, CS,
 * RIP and, for some vectors, an error code; stubs of vectors without one push a zero (SDM vol. 3,
 * 6.13 and table 6-1), then every stub pushes its vector number. trap_common saves the general
 * registers and hands the frame (struct trapframe in x86.h) to trap() in idt.c, which reports
 * and never returns. */

	.macro TRAP_NOERR n
	.balign 16
vector\n:
	pushq $0
	pushq $\n
	jmp trap_common
	.endm

	.macro TRAP_ERR n
	.balign 16
vector\n:
	pushq $\n
	jmp trap_common
	.endm

	.text
	TRAP_NOERR 0
	TRAP_NOERR 1
	TRAP_NOERR 2
	TRAP_NOERR 3
	TRAP_NOERR 4
	TRAP_NOERR 5
	TRAP_NOERR 6
	TRAP_NOERR 7
	TRAP_ERR 8
	TRAP_NOERR 9
	TRAP_ERR 10
	TRAP_ERR 11
	TRAP_ERR 12
	TRAP_ERR 13
	TRAP_ERR 14
	TRAP_NOERR 15
	TRAP_NOERR 16
	TRAP_ERR 17
	TRAP_NOERR 18
	TRAP_NOERR 19
	TRAP_NOERR 20
	TRAP_ERR 21
	TRAP_NOERR 22
	TRAP_NOERR 23
	TRAP_NOERR 24
	TRAP_NOERR 25
	TRAP_NOERR 26
	TRAP_NOERR 27
	TRAP_NOERR 28
	TRAP_ERR 29
	TRAP_ERR 30
	TRAP_NOERR 31

	/* The CPU aligned RSP to 16 before its pushes; 7 quadwords of frame plus 15 registers
	 * leave it 16-aligned for the call, as the ABI wants. */
trap_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	cld
	movq %rsp, %rdi
	call trap
1:	hlt
	jmp 1b

	/* Vectors 32-255: the idle tick (idle.c) or whatever else interrupted a `sti; hlt`. Saves
	 * the registers a C call may change; nine pushes on the CPU's five quadwords leave RSP
	 * 16-aligned for the call. An interrupt gate entered with interrupts off, so never nested. */
	.balign 16
	.globl irq_wake
irq_wake:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	cld
	call idle_irq
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
	iretq

	.section .rodata
	.balign 8
	.globl trap_vectors
trap_vectors:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad vector\n
	.endr
