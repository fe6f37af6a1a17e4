/* sched.c: a cooperative scheduler for the host's agents and the DCUI. The kernel runs with
 * interrupts off on one CPU, so a task runs until it calls yield() (or sleep_ms, which yields
 * until its time has come); tasks take turns round-robin, and after each round the CPU halts
 * until the idle tick (idle.c). A task yields only to wait, never in the middle of work. Each
 * task has its own 16 KiB stack.
 * Restarting a task (the DCUI's "Restart management agents") rebuilds its stack so that its
 * next turn starts its function from the beginning; the running task cannot restart itself.
 * A task whose function returns stays stopped until restarted. */
#include "system.h"
#include "x86.h"

#define NTASK 8
#define STACK_PAGES 4

struct task {
	const char *name;
	void (*fn)(void);
	uint8_t *stack;
	uint64_t rsp;
	int used, stopped;
	uint32_t starts;      /* times started: 1 + restarts */
};

static struct task tasks[NTASK];
static struct task *cur;         /* NULL: the scheduler loop itself */
static uint64_t sched_rsp;       /* the scheduler loop's saved stack pointer */

/* Where a new or restarted task begins: its own function, then stop for good. */
static NORETURN void task_entry(void)
{
	cur->fn();
	kprintf("sched: task %s returned; stopped\n", cur->name);
	cur->stopped = 1;
	for (;;)
		yield();
}

/* A stack that swtch's pops and ret turn into a call of task_entry: six zero registers (rbp =
 * 0 ends backtraces), then task_entry as the return address, then a zero return address for
 * task_entry itself, which leaves rsp + 8 16-byte aligned at its entry as the ABI wants. */
static void build_frame(struct task *t)
{
	uint64_t *top = (uint64_t *)(t->stack + STACK_PAGES * PAGE_SIZE);

	*--top = 0;
	*--top = (uint64_t)(uintptr_t)task_entry;
	for (int i = 0; i < 6; i++)
		*--top = 0;
	t->rsp = (uint64_t)(uintptr_t)top;
	t->stopped = 0;
	t->starts++;
}

struct task *task_create(const char *name, void (*fn)(void))
{
	struct task *t = NULL;

	for (int i = 0; i < NTASK && !t; i++)
		if (!tasks[i].used)
			t = &tasks[i];
	if (!t)
		panic("sched: more than %d tasks", NTASK);
	if (!(t->stack = page_alloc(STACK_PAGES)))
		panic("sched: no memory for the stack of %s", name);
	t->name = name;
	t->fn = fn;
	t->used = 1;
	build_frame(t);
	return t;
}

void task_restart(struct task *t)
{
	if (t == cur)
		panic("sched: task %s restarting itself", t->name);
	build_frame(t);
	kprintf("sched: task %s restarted (start %u)\n", t->name, t->starts);
}

const char *task_name(const struct task *t)
{
	return t->name;
}

uint32_t task_starts(const struct task *t)
{
	return t->starts;
}

/* Give the CPU to the scheduler loop, which runs the next task. */
void yield(void)
{
	struct task *t = cur;

	if (!t)
		panic("sched: yield outside a task");
	swtch(&t->rsp, sched_rsp);
}

void sleep_ms(uint64_t ms)
{
	uint64_t start = rdtsc();

	while (tsc_ms(start, rdtsc()) < ms)
		yield();
}

NORETURN void sched_run(void)
{
	for (;;) {
		for (int i = 0; i < NTASK; i++) {
			if (!tasks[i].used || tasks[i].stopped)
				continue;
			cur = &tasks[i];
			swtch(&sched_rsp, cur->rsp);
			cur = NULL;
		}
		/* Every task has yielded to wait: sleep until the next tick (idle.c). */
		idle();
	}
}
