/* idt.c: the interrupt descriptor table. The CPU exceptions (vectors 0-31) get the one thing the
 * kernel does with them: report, write a core dump with the registers, and panic. The kernel
 * runs with interrupts off and polls its devices; it enables them only to halt until the idle
 * tick (idle.c), so every other vector is a wake-up and goes to irq_wake. Gate format: SDM
 * vol. 3, 6.14.1. */
#include "defs.h"
#include "x86.h"

struct gate {
	uint16_t off_lo;
	uint16_t selector;
	uint8_t ist;          /* 0: stay on the current stack */
	uint8_t type;         /* present, DPL 0, 64-bit interrupt gate */
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));

#define GATE_INTERRUPT 0x8E

extern const uint64_t trap_vectors[32];   /* trap.S */
extern const char irq_wake[];             /* trap.S */
static struct gate idt[256];

/* SDM vol. 3, table 6-1. */
static const char *const names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range exceeded", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor segment overrun", "#TS invalid TSS", "#NP segment not present",
	"#SS stack-segment fault", "#GP general protection", "#PF page fault", "reserved 15",
	"#MF x87 floating-point error", "#AC alignment check", "#MC machine check",
	"#XM SIMD floating-point exception", "#VE virtualization exception", "#CP control protection",
	"reserved 22", "reserved 23", "reserved 24", "reserved 25", "reserved 26", "reserved 27",
	"#HV hypervisor injection", "#VC VMM communication", "#SX security exception", "reserved 31",
};

void idt_init(void)
{
	struct dtr d = { sizeof idt - 1, (uint64_t)(uintptr_t)idt };

	/* The gates name vm.c's code segment, so this runs after vm_init loaded its GDT. */
	for (int i = 0; i < 256; i++) {
		uint64_t a = i < 32 ? trap_vectors[i] : (uint64_t)(uintptr_t)irq_wake;
		idt[i] = (struct gate){ (uint16_t)a, KERNEL_CS, 0, GATE_INTERRUPT, (uint16_t)(a >> 16),
					(uint32_t)(a >> 32), 0 };
	}
	__asm__ volatile("lidt %0" : : "m"(d));
}

NORETURN void trap(struct trapframe *tf)
{
	panic_begin();
	kprintf("\npanic: exception %lu: %s, error code 0x%lx\n", tf->vector,
		tf->vector < 32 ? names[tf->vector] : "?", tf->error);
	if (tf->vector == 14)
		/* Page-fault error code: SDM vol. 3, 4.7. */
		kprintf("page fault at %016lx: %s, %s, %s\n", read_cr2(),
			tf->error & 1 ? "protection violation" : "page not present",
			tf->error & 2 ? "write" : tf->error & 16 ? "instruction fetch" : "read",
			tf->error & 4 ? "user mode" : "kernel mode");
	kprintf("rax %016lx rbx %016lx rcx %016lx rdx %016lx\n", tf->rax, tf->rbx, tf->rcx, tf->rdx);
	kprintf("rsi %016lx rdi %016lx rbp %016lx rsp %016lx\n", tf->rsi, tf->rdi, tf->rbp, tf->rsp);
	kprintf("r8  %016lx r9  %016lx r10 %016lx r11 %016lx\n", tf->r8, tf->r9, tf->r10, tf->r11);
	kprintf("r12 %016lx r13 %016lx r14 %016lx r15 %016lx\n", tf->r12, tf->r13, tf->r14, tf->r15);
	kprintf("rip %016lx rflags %016lx cr2 %016lx cs %04lx ss %04lx\n", tf->rip, tf->rflags,
		read_cr2(), tf->cs, tf->ss);
	backtrace(tf->rip, tf->rbp);
	coredump_trap(tf, tf->vector < 32 ? names[tf->vector] : "?");
	panic_end();
}
