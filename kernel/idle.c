/* idle.c: sleeping when there is nothing to do. The kernel polls its devices with interrupts
 * off, so on its own an idle kernel spins, and a VM's host pays a whole core for it (under QEMU
 * with TCG, every machine at its ready line or DCUI did). Instead the scheduler halts the CPU
 * after each pass over its tasks until the local APIC timer's next tick: a task yields only to
 * wait (for a key, or in sleep_ms), so a pass that ends has nothing left to do.
 *
 * The only interrupts the kernel ever takes are these wake-ups: interrupts are enabled for one
 * `sti; hlt` at a time (the sti shadow keeps a tick from slipping in before the hlt, SDM vol. 2,
 * STI), and every vector from 32 up lands on irq_wake (trap.S), which acknowledges the local APIC
 * and returns. Without a usable local APIC the scheduler keeps polling, as before.
 *
 * Local APIC registers and timer: SDM vol. 3, chapter 11 (11.4.1 base MSR, 11.4.7.1 spurious
 * vector, 11.5.1 LVT, 11.5.4 timer, 11.8.5 EOI; x2APIC MSRs 0x800 + offset / 16, 11.12). */
#include "defs.h"
#include "x86.h"

#define IDLE_TICK_MS 10          /* wake-up period: key and serial polling latency while idle */
#define TICK_VECTOR 0x20
#define SPURIOUS_VECTOR 0xFF

#define MSR_APIC_BASE 0x1B
#define APIC_BASE_ENABLE (1ull << 11)
#define APIC_BASE_X2APIC (1ull << 10)
#define CPUID1_EDX_APIC (1u << 9)

enum {
	APIC_EOI = 0xB0,
	APIC_SVR = 0xF0,
	APIC_LVT_TIMER = 0x320,
	APIC_LVT_LINT0 = 0x350,
	APIC_LVT_ERROR = 0x370,
	APIC_TIMER_INITIAL = 0x380,
	APIC_TIMER_CURRENT = 0x390,
	APIC_TIMER_DIVIDE = 0x3E0,
};
#define SVR_ENABLE (1u << 8)
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)
#define DIVIDE_BY_16 0x3

static volatile uint32_t *xapic;   /* the registers in memory (xAPIC mode) */
static int x2apic;                 /* the registers as MSRs instead */
static int ticking;

static uint32_t apic_read(uint32_t reg)
{
	return x2apic ? (uint32_t)rdmsr(0x800 + reg / 16) : xapic[reg / 4];
}

static void apic_write(uint32_t reg, uint32_t v)
{
	if (x2apic)
		wrmsr(0x800 + reg / 16, v);
	else
		xapic[reg / 4] = v;
}

/* Called by irq_wake (trap.S) for every interrupt: the tick, or anything else that woke us. */
void idle_irq(void)
{
	apic_write(APIC_EOI, 0);
}

void idle_init(void)
{
	uint32_t r[4];
	uint64_t base, t0, per_ms;

	cpuid(1, r);
	base = (r[3] & CPUID1_EDX_APIC) ? rdmsr(MSR_APIC_BASE) : 0;
	if (!(base & APIC_BASE_ENABLE)) {
		kprintf("idle: no local APIC enabled; the scheduler polls without sleeping\n");
		return;
	}
	x2apic = (base & APIC_BASE_X2APIC) != 0;
	xapic = (volatile uint32_t *)(uintptr_t)(base & 0xFFFFFFFFFF000ull);

	/* 1. Mask the legacy 8259s: the firmware's timer must not keep waking us (OCW1, all set). */
	outb(0x21, 0xFF);
	outb(0xA1, 0xFF);
	/* 2. Mask what the firmware may have left pointed at its own vectors: LINT0 (ExtINT from the
	 * 8259s) and the error LVT. LINT1 stays as it is: NMI. */
	apic_write(APIC_LVT_LINT0, LVT_MASKED);
	apic_write(APIC_LVT_ERROR, LVT_MASKED);
	/* 3. Software-enable the APIC, with a spurious vector irq_wake also handles. */
	apic_write(APIC_SVR, SVR_ENABLE | SPURIOUS_VECTOR);
	/* 4. The timer's rate against the TSC: count down, masked, for 1 ms. */
	apic_write(APIC_LVT_TIMER, LVT_MASKED | TICK_VECTOR);
	apic_write(APIC_TIMER_DIVIDE, DIVIDE_BY_16);
	apic_write(APIC_TIMER_INITIAL, 0xFFFFFFFF);
	t0 = rdtsc();
	while (rdtsc() - t0 < tsc_hz / 1000)
		pause();
	per_ms = 0xFFFFFFFFu - apic_read(APIC_TIMER_CURRENT);
	if (per_ms == 0 || per_ms * IDLE_TICK_MS > 0xFFFFFFFFu) {
		apic_write(APIC_TIMER_INITIAL, 0);
		kprintf("idle: the local APIC timer counted %lu in 1 ms; the scheduler polls without sleeping\n", per_ms);
		return;
	}
	/* 5. Periodic, unmasked: a tick every IDLE_TICK_MS. */
	apic_write(APIC_LVT_TIMER, LVT_PERIODIC | TICK_VECTOR);
	apic_write(APIC_TIMER_INITIAL, (uint32_t)(per_ms * IDLE_TICK_MS));
	ticking = 1;
	kprintf("idle: halting between %d ms ticks of the local APIC timer (%s)\n", IDLE_TICK_MS, x2apic ? "x2APIC" : "xAPIC");
}

void idle(void)
{
	if (!ticking) {
		pause();
		return;
	}
	__asm__ volatile("sti\n\thlt\n\tcli" : : : "memory");
}
