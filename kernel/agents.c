/* agents.c: the host's agents, tasks under sched.c that the DCUI can restart:
 *   vmsyslogd  copies the kernel log (console.c's ring) into /var/log/vmware/vmkernel.log,
 *              so the DCUI and anything else reading files sees this boot's log;
 *   hostd      the management agent's stand-in: brings up the management network settings
 *              from the configuration and logs a heartbeat to /var/log/vmware/hostd.log.
 * A restart starts each agent's function again from the beginning, as ESXi's services.sh
 * restart does with its daemons. */
#include "system.h"

#define VMKLOG "/var/log/vmware/vmkernel.log"
#define HOSTDLOG "/var/log/vmware/hostd.log"
#define HEARTBEAT_MS 10000

static struct task *agents[2];
static uint64_t synced;          /* klog_written() up to which vmkernel.log is complete */

/* Append what the kernel logged since the last sync. When the ring overtook us (more than its
 * size since), the file gets a marker and the oldest bytes the ring still has. */
void log_sync(void)
{
	uint64_t w = klog_written(), from = synced, n;

	if (w - from > KLOG_SIZE) {
		static const char gap[] = "[vmsyslogd: older lines were lost]\n";
		fs_append_file(VMKLOG, gap, sizeof gap - 1);
		from = w - KLOG_SIZE;
	}
	while (from < w) {
		const char *piece = klog_piece(from, w, &n);

		if (fs_append_file(VMKLOG, piece, n) < 0)
			break;
		from += n;
	}
	synced = from;
}

static void vmsyslogd(void)
{
	/* A (re)start writes the file afresh from what the ring holds. */
	fs_unlink(VMKLOG);
	synced = 0;
	kprintf("vmsyslogd: started, logging to %s\n", VMKLOG);
	for (;;) {
		log_sync();
		sleep_ms(500);
	}
}

static void hostd_log(const char *fmt, ...) PRINTF(1, 2);
static void hostd_log(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = bf_vfmt(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n >= sizeof line)
		n = sizeof line - 1;
	fs_append_file(HOSTDLOG, line, (uint64_t)n);
}

static void hostd(void)
{
	uint64_t beats = 0;
	const char *mode = config_get("net.mode");

	if (strcmp(mode, "static") == 0)
		kprintf("hostd: started (start %u): hostname %s, management network static %s/%s gateway %s dns %s\n",
			task_starts(agents[1]), config_get("hostname"), config_get("net.address"), config_get("net.netmask"),
			config_get("net.gateway"), config_get("net.dns"));
	else
		kprintf("hostd: started (start %u): hostname %s, management network by DHCP\n", task_starts(agents[1]),
			config_get("hostname"));
	hostd_log("hostd started (start %u)\n", task_starts(agents[1]));
	for (;;) {
		sleep_ms(HEARTBEAT_MS);
		hostd_log("hostd heartbeat %lu\n", ++beats);
	}
}

void agents_start(void)
{
	agents[0] = task_create("vmsyslogd", vmsyslogd);
	agents[1] = task_create("hostd", hostd);
}

void agents_restart(void)
{
	for (int i = 0; i < 2; i++)
		task_restart(agents[i]);
}
