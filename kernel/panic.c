/* panic.c: the end of the road. panic() and fatal traps print the cause and a frame-pointer
 * backtrace on both consoles (and so into the kernel log), write a core dump (coredump.c),
 * wait `panic.delay=N` seconds (default 5) so a person can read the screen, and reset the
 * machine: the loader then spends the bank's next try or rolls back. `panic.wait=1` waits
 * forever instead, for debugging.
 *
 * The backtrace prints return addresses only; `bankforge coredump` (or `llvm-symbolizer -e
 * kernel.elf ADDR`) turns them into functions and lines on the host. */
#include "defs.h"
#include "x86.h"

static uint64_t panic_delay = 5;
static int panic_wait;
static int panicking;

extern char __kernel_start[], __kernel_end[];

/* Read the options; until this runs (early boot), the defaults apply. */
void panic_init(void)
{
	panic_delay = cmdline_uint("panic.delay", 5);
	panic_wait = cmdline_uint("panic.wait", 0) != 0;
}

/* Disables interrupts and marks the panic. A fault while a panic is being reported would
 * report again and again; print one line on the serial port (the least likely part to be
 * broken) and reset. */
void panic_begin(void)
{
	const char *msg = "\npanic: fault while panicking; resetting\n";

	cli();
	if (panicking++) {
		while (*msg)
			serial_putc(*msg++);
		machine_reset();
	}
	/* A whole watchdog period for the report, the core dump and panic.delay. */
	watchdog_feed();
	console_emergency();
}

/* A frame is a saved frame pointer followed by a return address. The chain ends at entry.S's
 * zero; stop early on anything that cannot be a frame: the only stack the kernel runs on is
 * entry.S's, inside the image, and it grows down, so callers' frames lie higher. Fills `pcs`
 * with `rip` (when not 0) and the return addresses, at most `max`; returns how many. */
int backtrace_pcs(uint64_t rip, uint64_t rbp, uint64_t *pcs, int max)
{
	int n = 0;

	if (rip && n < max)
		pcs[n++] = rip;
	while (n < max && rbp % 8 == 0 && rbp >= (uint64_t)__kernel_start && rbp + 16 <= (uint64_t)__kernel_end) {
		uint64_t *frame = (uint64_t *)(uintptr_t)rbp;
		uint64_t ret = frame[1];

		if (ret < (uint64_t)__kernel_start || ret >= (uint64_t)__kernel_end)
			break;
		pcs[n++] = ret;
		if (frame[0] <= rbp)
			break;
		rbp = frame[0];
	}
	return n;
}

void backtrace(uint64_t rip, uint64_t rbp)
{
	uint64_t pcs[BACKTRACE_MAX];
	int n = backtrace_pcs(rip, rbp, pcs, BACKTRACE_MAX);

	kprintf("backtrace:\n");
	for (int i = 0; i < n; i++)
		kprintf("  %016lx\n", pcs[i]);
}

NORETURN void panic_end(void)
{
	if (panic_wait) {
		watchdog_disarm("panic.wait=1");
		kprintf("panic: waiting forever (panic.wait=1)\n");
		for (;;)
			hlt();
	}
	watchdog_feed();
	kprintf("panic: resetting in %lu s\n", panic_delay);
	delay_ms(panic_delay * 1000);
	machine_reset();
}

NORETURN void panic(const char *fmt, ...)
{
	va_list ap;

	panic_begin();
	kprintf("\npanic: ");
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
	backtrace(0, (uint64_t)(uintptr_t)__builtin_frame_address(0));
	va_start(ap, fmt);
	coredump_panic((uint64_t)(uintptr_t)__builtin_frame_address(0), fmt, ap);
	va_end(ap);
	panic_end();
}
