/* entry.S: the kernel's ELF entry point. The loader calls _start with the SysV ABI: %rdi holds
 * the struct bf_boot_info pointer, interrupts are off, paging is the loader's identity map.
 * We move to a stack of our own in .bss (the loader's stack is loader memory that the kernel
 * may later reuse), clear the direction flag (the ABI requires it clear at calls), end the
 * frame-pointer chain for backtraces, and call kmain, which never returns. */

	.section .text.entry, "ax"
	.globl _start
_start:
	cli
	cld
	leaq stack_top(%rip), %rsp
	xorl %ebp, %ebp
	call kmain
1:	hlt
	jmp 1b

	.section .bss
	.balign 16
stack:
	.skip 65536
stack_top:
