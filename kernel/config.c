/* config.c: the host's persistent configuration (docs/host.md, "Configuration"): hostname,
 * management network, the root password hash. The settings, their rules and the record format
 * are common/hostcfg.h's; this file keeps the settings in effect and the two copies on disk. They
 * must outlive bank upgrades and rollbacks, so they live outside both banks: in the last 12 KiB
 * of the boot disk's partition whose GPT name is "store", which the builder leaves out of the
 * store's FAT and marks with "BFCFAREA" in its first 4 KiB (without the marker the kernel writes
 * nothing there: that store's FAT may own those sectors). Two 4 KiB slots follow the marker (a
 * sector each on a 4Kn disk); a save writes the record with seq + 1 into the slot that does not
 * hold the current copy, flushes and reads it back, so a power cut during a save leaves the
 * previous copy intact (the bank-state discipline of docs/boot-state.md). The first boot finds
 * no valid copy and writes the defaults; `bankforge config` (disk/config.ts) reads and preseeds
 * the same record. Without a driver for the boot disk the settings live in memory until the
 * next reboot. */
#include "system.h"

static struct hostcfg settings;   /* the values in effect */

static struct blkdev *disk;        /* NULL: nowhere to save */
static uint64_t slot_lba[2];
static int current = -1;         /* the slot holding the newest copy; -1: none */
static uint32_t seq;
static uint8_t *slotbuf;         /* HOSTCFG_SLOT_SIZE bytes */

const char *config_get(const char *key)
{
	const char *v = hostcfg_get(&settings, key);

	if (!v)
		panic("config: no setting named %s", key);
	return v;
}

/* -1 (with the reason in the log) for an unknown key or a value its rule refuses. */
int config_set(const char *key, const char *value)
{
	char err[160];

	if (hostcfg_set(&settings, key, value, err, sizeof err) < 0) {
		kprintf("config: %s\n", err);
		return -1;
	}
	return 0;
}

void config_defaults(void)
{
	hostcfg_defaults(&settings);
}

/* A record line hostcfg_parse skips: a newer kernel's key read by an older one, or damage. */
static void skipped(void *ctx, unsigned line, const char *why)
{
	(void)ctx;
	kprintf("config: line %u of the saved configuration skipped: %s\n", line, why);
}

/* The boot disk's store partition and its configuration area, when the builder made one. */
static void locate(void)
{
	const struct gpt_part *p;
	uint32_t bs;

	if (!bootdisk())
		return;
	if (!(p = gpt_find_name(bootdisk_gpt(), HOSTCFG_PARTITION))) {
		kprintf("config: the boot disk has no partition named \"%s\" to keep the configuration in\n",
			HOSTCFG_PARTITION);
		return;
	}
	bs = bootdisk()->block_size;
	if (p->last_lba + 1 - p->first_lba < 2 * HOSTCFG_AREA_SIZE / bs) {
		kprintf("config: the \"%s\" partition is too small for a configuration area\n", HOSTCFG_PARTITION);
		return;
	}
	if (blk_read(bootdisk(), p->last_lba + 1 - HOSTCFG_AREA_SIZE / bs, 1, slotbuf) < 0 ||
	    memcmp(slotbuf, HOSTCFG_MARKER, 8) != 0) {
		kprintf("config: the store has no configuration area (the image was built without room for one)\n");
		return;
	}
	disk = bootdisk();
	slot_lba[0] = p->last_lba + 1 - (HOSTCFG_AREA_SIZE - HOSTCFG_MARKER_SIZE) / bs;
	slot_lba[1] = slot_lba[0] + HOSTCFG_SLOT_SIZE / bs;
}

/* Read slot i into slotbuf; its seq and text when it holds a valid record. */
static int read_slot(int i, uint32_t *s, const char **text, uint32_t *n)
{
	char err[160];

	if (blk_read(disk, slot_lba[i], HOSTCFG_SLOT_SIZE / disk->block_size, slotbuf) < 0)
		return -1;
	return hostcfg_decode(slotbuf, HOSTCFG_SLOT_SIZE, s, text, n, err, sizeof err);
}

void config_init(void)
{
	uint32_t s[2], n;
	const char *text;
	int ok[2];
	char err[160];

	if (!(slotbuf = page_alloc(HOSTCFG_SLOT_SIZE / PAGE_SIZE)))
		panic("config: out of memory");
	config_defaults();
	locate();
	if (!disk) {
		kprintf("config: no store on a disk we drive; settings last until reboot\n");
		return;
	}
	for (int i = 0; i < 2; i++)
		ok[i] = read_slot(i, &s[i], &text, &n) == 0;
	current = hostcfg_current(ok[0], s[0], ok[1], s[1]);
	if (current < 0) {
		kprintf("config: no saved configuration (first boot); writing the defaults\n");
		if (config_save() < 0)
			kprintf("config: saving the defaults failed; settings last until reboot\n");
		return;
	}
	if (read_slot(current, &seq, &text, &n) < 0)
		panic("config: slot %d changed under us", current);
	/* hostcfg_decode has checked the lines, so only single settings can be skipped. */
	if (hostcfg_parse(&settings, text, n, skipped, NULL, err, sizeof err) < 0)
		panic("config: slot %d: %s", current, err);
	kprintf("config: loaded seq %u from slot %d: hostname %s, network %s\n", seq, current, config_get("hostname"),
		config_get("net.mode"));
}

/* Write the settings as the next copy. 0, or -1 when there is no store or the write failed. */
int config_save(void)
{
	static char text[HOSTCFG_TEXT_MAX];   /* static: too large for a task's stack frame */
	uint32_t rs, rn, bs;
	const char *rt;
	int n, target;
	size_t len;

	if (!disk || disk->read_only)
		return -1;
	if ((n = hostcfg_format(&settings, text, sizeof text)) < 0)
		panic("config: the settings do not fit in a record");
	bs = disk->block_size;
	target = current < 0 ? 0 : current ^ 1;
	memset(slotbuf, 0, HOSTCFG_SLOT_SIZE);
	len = hostcfg_encode(seq + 1, text, (uint32_t)n, slotbuf, HOSTCFG_SLOT_SIZE);
	if (blk_write(disk, slot_lba[target], (uint32_t)((len + bs - 1) / bs), slotbuf) < 0 || blk_flush(disk) < 0) {
		kprintf("config: writing slot %d failed\n", target);
		return -1;
	}
	if (read_slot(target, &rs, &rt, &rn) < 0 || rs != seq + 1 || rn != (uint32_t)n) {
		kprintf("config: slot %d does not read back what was written\n", target);
		return -1;
	}
	seq++;
	current = target;
	kprintf("config: saved seq %u to slot %d\n", seq, target);
	return 0;
}
