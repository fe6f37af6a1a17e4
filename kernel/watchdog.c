/* watchdog.c: keeping the loader's hardware watchdog fed (docs/watchdog.md). The loader arms the
 * i6300esb for a trial boot; from then on the kernel has boot.cfg's watchdog= seconds between
 * feeds. The kernel feeds it between the steps of its initialisation and, once it has reached
 * mark-good (written, or not needed), disarms it: the watchdog guards the trial, and the host
 * that runs after the ready line is not reset for being slow. A kernel that hangs before then,
 * with interrupts off or not, is reset by the hardware, and the loader records reason
 * `watchdog`. The panic path feeds it once more so that the core dump and panic.delay have a
 * whole period, and disarms it for panic.wait=1, which waits for a person. */
#include "defs.h"
#include "../common/i6300esb.h"

static struct esb wd;
static int running;

void watchdog_init(void)
{
	if (esb_find(&wd) < 0 || !esb_running(&wd))
		return;
	running = 1;
	esb_feed(&wd);
	kprintf("watchdog: i6300esb %02x:%02x.%x running (armed by the loader); fed until the bank is marked good\n",
		wd.bus, wd.dev, wd.fn);
}

void watchdog_feed(void)
{
	if (running)
		esb_feed(&wd);
}

void watchdog_disarm(const char *why)
{
	if (!running)
		return;
	esb_disarm(&wd);
	running = 0;
	kprintf("watchdog: disarmed (%s)\n", why);
}
