/* main.c: kmain, called by entry.S with the loader's boot info. Brings the machine up in
 * dependency order, runs the test switches (kernelopt test.*, for the A/B trial tests), marks
 * the bank good, and prints the ready line that tests and people wait for:
 *
 *   bankforge: ready version=V bank=A|B loader_ms=N kernel_ms=N
 *
 * loader_ms runs from the loader's entry to just before ExitBootServices, kernel_ms from
 * there to the ready line (TSC readings from bootinfo, at bootinfo's TSC rate). */
#include "defs.h"
#include "system.h"
#include "x86.h"

/* The test switches' failures, each in a function of its own that is never inlined, so that a
 * core dump's backtrace names it (test/coredump checks the name). */
static __attribute__((noinline)) void test_fault_pagefault(void)
{
	/* Canonical but outside vm.c's identity map: not present. */
	(void)*(volatile uint64_t *)0x00007ff000000000ull;
}

static __attribute__((noinline)) void test_fault_divide(void)
{
	/* In assembly: a C division by zero is undefined and the compiler may drop it. */
	__asm__ volatile("xorl %%ecx, %%ecx; divl %%ecx" : : : "eax", "ecx", "edx");
}

static __attribute__((noinline)) void test_panic_before_ready(void)
{
	panic("test.panic=before-ready");
}

/* kernelopt test.*: make this boot fail before it is marked good, the ways real kernels do. */
static void test_switches(void)
{
	const char *fault = cmdline_get("test.fault");
	const char *hang = cmdline_get("test.hang");
	const char *pan = cmdline_get("test.panic");

	usb_storage_test();

	if (fault && strcmp(fault, "pagefault") == 0) {
		kprintf("test: page fault before ready (test.fault=pagefault)\n");
		test_fault_pagefault();
	} else if (fault && strcmp(fault, "divide") == 0) {
		kprintf("test: divide error before ready (test.fault=divide)\n");
		test_fault_divide();
	} else if (fault) {
		kprintf("test: unknown test.fault=%s (pagefault or divide)\n", fault);
	}
	if (hang && strcmp(hang, "before-ready") == 0) {
		/* Interrupts off and nothing fed: only a hardware watchdog (or a person) ends this. */
		kprintf("test: hanging before ready (test.hang=before-ready), interrupts off\n");
		cli();
		for (;;)
			hlt();
	} else if (hang) {
		kprintf("test: unknown test.hang=%s (before-ready)\n", hang);
	}
	if (pan && strcmp(pan, "before-ready") == 0)
		test_panic_before_ready();
}

NORETURN void kmain(struct bf_boot_info *bi);

NORETURN void kmain(struct bf_boot_info *bi)
{
	uint64_t ready;

	serial_init();
	console_init();
	if (bi->magic != BF_BOOTINFO_MAGIC || bi->version != BF_BOOTINFO_VERSION || bi->size != sizeof *bi)
		panic("boot info: magic %lx version %u size %u; this kernel takes version %u size %zu", bi->magic,
		      bi->version, bi->size, BF_BOOTINFO_VERSION, sizeof *bi);
	if (bi->bank > 1)
		panic("boot info: bank %u", bi->bank);
	console_screen_init(&bi->fb);
	time_init(bi->tsc_hz);
	kprintf("bankforge kernel: version %.32s, bank %c, framebuffer %ux%u\n", bi->bank_version, bi->bank ? 'B' : 'A',
		bi->fb.width, bi->fb.height);
	cmdline_init(bi->cmdline ? (const char *)(uintptr_t)bi->cmdline : "");
	kprintf("cmdline: %s\n", bi->cmdline ? (const char *)(uintptr_t)bi->cmdline : "");
	panic_init();
	watchdog_init();
	vm_init(bi);
	idt_init();
	mem_init(bi, vm_top);
	watchdog_feed();
	pci_init();
	virtio_blk_init();
	ahci_init();
	nvme_init();
	xhci_init(bi);
	watchdog_feed();
	bootdisk_init(bi);
	coredump_init(bi);
	watchdog_feed();

	test_switches();
	bank_mark_good(bi);
	watchdog_disarm("mark-good reached");

	ready = rdtsc();
	kprintf("bankforge: ready version=%.32s bank=%c loader_ms=%lu kernel_ms=%lu\n", bi->bank_version,
		bi->bank ? 'B' : 'A', tsc_ms(bi->tsc_loader_entry, bi->tsc_kernel_loaded),
		tsc_ms(bi->tsc_kernel_loaded, ready));
	/* The host system after the ready line, so it never delays it (system.h, docs/host.md). */
	modules_load(bi);
	config_init();
	users_init();
	agents_start();
	dcui_start(bi);
	idle_init();
	sched_run();
}
