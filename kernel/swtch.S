/* swtch.S: switch from one kernel task to another (sched.c). Saves the callee-saved registers
 * of the SysV ABI on the current stack, stores the stack pointer in *save_rsp (rdi), loads
 * load_rsp (rsi) and pops the next task's registers; its `ret` resumes that task where it last
 * called swtch, or enters a new task through the frame sched.c built. No FPU or SSE state: the
 * kernel is built with -mgeneral-regs-only. */
	.text
	.globl swtch
swtch:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
