/* config.c: the host's persistent configuration (docs/host.md, "Configuration"): hostname,
 * management network, the root password hash. It must outlive bank upgrades and rollbacks, so
 * it lives outside both banks: in the last 12 KiB of the partition whose GPT name is "store",
 * which the builder leaves out of the store's FAT and marks with "BFCFAREA" in its first 4 KiB
 * (without the marker the kernel writes nothing there: that store's FAT may own those
 * sectors). Two 4 KiB slots follow the marker (a sector each on a 4Kn disk); a save
 * writes the record with seq + 1 into the slot that does not hold the current copy, flushes and
 * reads it back, so a power cut during a save leaves the previous copy intact (the bank-state
 * discipline of docs/boot-state.md). A record:
 *
 *   0  "BFHOSTCF"   8  u32 format (1)   12  u32 seq   16  u32 text length   20  u32 CRC-32
 *   24 text: "key=value\n" lines
 *
 * little-endian; the CRC covers bytes 0-19 and the text. The first boot finds no valid copy and
 * writes the defaults; `bankforge config` (builder/config/) reads and preseeds the same record.
 * Without a driver for the boot disk the settings live in memory until the next reboot. */
#include "system.h"
#include "../common/crc32.h"

#define AREA_SIZE 12288u
#define MARKER_SIZE 4096u
#define SLOT_SIZE 4096u
#define HDR 24u
#define TEXT_MAX (SLOT_SIZE - HDR)
#define FORMAT 1

static const char magic[8] = { 'B', 'F', 'H', 'O', 'S', 'T', 'C', 'F' };

/* The keys, their defaults, and the values in effect. An empty root.password means "not set". */
static struct setting {
	const char *key, *def;
	char val[CONFIG_VAL_MAX];
} settings[] = {
	{ "hostname", "localhost", "" },
	{ "net.mode", "dhcp", "" },        /* dhcp | static */
	{ "net.address", "", "" },         /* static IPv4 settings */
	{ "net.netmask", "", "" },
	{ "net.gateway", "", "" },
	{ "net.dns", "", "" },
	{ "root.password", "", "" },       /* a $6$ crypt hash */
};
#define NSETTINGS ((int)(sizeof settings / sizeof settings[0]))

static struct vblk *disk;        /* NULL: nowhere to save */
static uint64_t slot_lba[2];
static int current = -1;         /* the slot holding the newest copy; -1: none */
static uint32_t seq;
static uint8_t *slotbuf;         /* SLOT_SIZE bytes */

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> 8 * i);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* 0 with the record's seq and text when `rec` holds a valid record, else -1. */
int config_decode(const uint8_t *rec, uint64_t len, uint32_t *seqp, const char **text, uint32_t *textlen)
{
	uint32_t n, crc;

	if (len < HDR || memcmp(rec, magic, 8) != 0 || get32(rec + 8) != FORMAT)
		return -1;
	n = get32(rec + 16);
	if (n > TEXT_MAX || n > len - HDR)
		return -1;
	crc = bf_crc32(bf_crc32(0, rec, 20), rec + HDR, n);
	if (crc != get32(rec + 20))
		return -1;
	*seqp = get32(rec + 12);
	*text = (const char *)rec + HDR;
	*textlen = n;
	return 0;
}

/* The record's length, or 0 when it does not fit in `max`. */
uint64_t config_encode(uint32_t s, const char *text, uint32_t textlen, uint8_t *rec, uint64_t max)
{
	if (textlen > TEXT_MAX || max < HDR + textlen)
		return 0;
	memcpy(rec, magic, 8);
	put32(rec + 8, FORMAT);
	put32(rec + 12, s);
	put32(rec + 16, textlen);
	memcpy(rec + HDR, text, textlen);
	put32(rec + 20, bf_crc32(bf_crc32(0, rec, 20), rec + HDR, textlen));
	return HDR + textlen;
}

static struct setting *find(const char *key, size_t n)
{
	for (int i = 0; i < NSETTINGS; i++)
		if (strlen(settings[i].key) == n && memcmp(settings[i].key, key, n) == 0)
			return &settings[i];
	return NULL;
}

const char *config_get(const char *key)
{
	struct setting *s = find(key, strlen(key));

	if (!s)
		panic("config: no setting named %s", key);
	return s->val;
}

/* -1 for an unknown key or a value that is too long or holds a control character. */
int config_set(const char *key, const char *value)
{
	struct setting *s = find(key, strlen(key));
	size_t n = strlen(value);

	if (!s || n >= CONFIG_VAL_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)value[i] < 0x20 || value[i] == 0x7f)
			return -1;
	memcpy(s->val, value, n + 1);
	return 0;
}

void config_defaults(void)
{
	for (int i = 0; i < NSETTINGS; i++)
		ksnprintf(settings[i].val, CONFIG_VAL_MAX, "%s", settings[i].def);
}

/* Apply "key=value" lines over the defaults. Unknown keys and bad values are skipped with a
 * log line (a newer kernel's record read by an older one); the number applied, or -1 when the
 * text is not lines of key=value. */
int config_parse(const char *text, uint64_t len)
{
	const char *p = text, *end = text + len;
	int applied = 0;

	config_defaults();
	while (p < end) {
		const char *nl = p, *eq = NULL;
		char val[CONFIG_VAL_MAX];
		struct setting *s;

		while (nl < end && *nl != '\n') {
			if (!eq && *nl == '=')
				eq = nl;
			nl++;
		}
		if (nl == end || !eq)
			return -1;
		s = find(p, (size_t)(eq - p));
		if (!s || (size_t)(nl - eq - 1) >= CONFIG_VAL_MAX) {
			kprintf("config: skipping unknown or oversized setting \"%.*s\"\n", (int)(eq - p), p);
		} else {
			memcpy(val, eq + 1, (size_t)(nl - eq - 1));
			val[nl - eq - 1] = 0;
			if (config_set(s->key, val) < 0)
				kprintf("config: skipping bad value of %s\n", s->key);
			else
				applied++;
		}
		p = nl + 1;
	}
	return applied;
}

/* The settings as record text; its length, or -1 when it does not fit. */
int config_format(char *out, uint64_t max)
{
	uint64_t n = 0;

	for (int i = 0; i < NSETTINGS; i++) {
		int w = ksnprintf(out + n, max - n, "%s=%s\n", settings[i].key, settings[i].val);

		if (w < 0 || (uint64_t)w >= max - n)
			return -1;
		n += (uint64_t)w;
	}
	return (int)n;
}

/* Does LBA 1 of `d` hold a GPT header with this disk GUID? Then the entry array's place. */
static int gpt_header(struct vblk *d, const uint8_t guid[16], uint8_t *buf, uint64_t *elba, uint32_t *count,
		      uint32_t *esize, uint32_t *ecrc)
{
	uint32_t hsize, crc;

	if (vblk_read(d, 1, 1, buf) < 0 || memcmp(buf, "EFI PART", 8) != 0)
		return 0;
	hsize = get32(buf + 12);
	crc = get32(buf + 16);
	if (hsize < 92 || hsize > d->block_size || memcmp(buf + 56, guid, 16) != 0)
		return 0;
	memset(buf + 16, 0, 4);
	if (bf_crc32(0, buf, hsize) != crc)
		return 0;
	*elba = (uint64_t)get32(buf + 72) | (uint64_t)get32(buf + 76) << 32;
	*count = get32(buf + 80);
	*esize = get32(buf + 84);
	*ecrc = get32(buf + 88);
	return 1;
}

/* Is the UTF-16LE GPT name `n` (36 units) "store"? */
static int named_store(const uint8_t *n)
{
	static const char want[] = "store";

	for (int i = 0; i < 36; i++) {
		uint16_t c = (uint16_t)(n[2 * i] | n[2 * i + 1] << 8);

		if (c != (i < 5 ? (uint8_t)want[i] : 0))
			return 0;
		if (c == 0)
			return 1;
	}
	return 1;
}

/* Find the boot disk and its store partition's config area. */
static void locate(const struct bf_boot_info *bi)
{
	uint64_t elba = 0, first = 0, last = 0;
	uint32_t count = 0, esize = 0, ecrc = 0, bs;
	uint64_t bytes, sectors;
	uint8_t *buf;

	if (bi->disk_transport != BF_DISK_VIRTIO)
		return;
	for (int i = 0; i < nvblks && !disk; i++)
		if (gpt_header(&vblks[i], bi->disk_guid, slotbuf, &elba, &count, &esize, &ecrc))
			disk = &vblks[i];
	if (!disk)
		return;
	bs = disk->block_size;
	if (esize < 128 || esize > 4096 || esize % 8 || count == 0 || count > 1024) {
		kprintf("config: the GPT's entry array (%u entries of %u bytes) is not one we read\n", count, esize);
		disk = NULL;
		return;
	}
	bytes = (uint64_t)count * esize;
	sectors = (bytes + bs - 1) / bs;
	if (!(buf = page_alloc((sectors * bs + PAGE_SIZE - 1) / PAGE_SIZE)))
		panic("config: out of memory for the GPT entries");
	if (vblk_read(disk, elba, (uint32_t)sectors, buf) < 0 || bf_crc32(0, buf, bytes) != ecrc) {
		kprintf("config: cannot read the GPT's partition entries\n");
		disk = NULL;
	}
	for (uint32_t i = 0; disk && i < count && !last; i++) {
		const uint8_t *e = buf + (uint64_t)i * esize;

		if (named_store(e + 56) && memcmp(e, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16) != 0) {
			first = (uint64_t)get32(e + 32) | (uint64_t)get32(e + 36) << 32;
			last = (uint64_t)get32(e + 40) | (uint64_t)get32(e + 44) << 32;
		}
	}
	page_free(buf, (sectors * bs + PAGE_SIZE - 1) / PAGE_SIZE);
	if (!disk)
		return;
	if (!last || last >= disk->blocks || last + 1 - first < 2 * AREA_SIZE / bs) {
		kprintf("config: the boot disk has no partition named \"store\" to keep the configuration in\n");
		disk = NULL;
		return;
	}
	if (vblk_read(disk, last + 1 - AREA_SIZE / bs, 1, slotbuf) < 0 || memcmp(slotbuf, "BFCFAREA", 8) != 0) {
		kprintf("config: the store has no configuration area (the image was built without room for one)\n");
		disk = NULL;
		return;
	}
	slot_lba[0] = last + 1 - (AREA_SIZE - MARKER_SIZE) / bs;
	slot_lba[1] = slot_lba[0] + SLOT_SIZE / bs;
}

/* Read slot i into slotbuf; its seq and text when valid. */
static int read_slot(int i, uint32_t *s, const char **text, uint32_t *n)
{
	if (vblk_read(disk, slot_lba[i], SLOT_SIZE / disk->block_size, slotbuf) < 0)
		return -1;
	return config_decode(slotbuf, SLOT_SIZE, s, text, n);
}

void config_init(const struct bf_boot_info *bi)
{
	uint32_t s[2], n;
	const char *text;
	int ok[2];

	if (!(slotbuf = page_alloc(SLOT_SIZE / PAGE_SIZE)))
		panic("config: out of memory");
	config_defaults();
	locate(bi);
	if (!disk) {
		kprintf("config: no store on a disk we drive; settings last until reboot\n");
		return;
	}
	for (int i = 0; i < 2; i++)
		ok[i] = read_slot(i, &s[i], &text, &n) == 0;
	/* The newer valid copy wins; seq wraps, so compare by difference. */
	if (ok[0] && ok[1])
		current = (int32_t)(s[1] - s[0]) > 0;
	else
		current = ok[0] ? 0 : ok[1] ? 1 : -1;
	if (current < 0) {
		kprintf("config: no saved configuration (first boot); writing the defaults\n");
		if (config_save() < 0)
			kprintf("config: saving the defaults failed; settings last until reboot\n");
		return;
	}
	if (read_slot(current, &seq, &text, &n) < 0)
		panic("config: slot %d changed under us", current);
	if (config_parse(text, n) < 0) {
		kprintf("config: the saved configuration (seq %u) is not key=value lines; using the defaults\n", seq);
		config_defaults();
		return;
	}
	kprintf("config: loaded seq %u from slot %d: hostname %s, network %s\n", seq, current, config_get("hostname"),
		config_get("net.mode"));
}

/* Write the settings as the next copy. 0, or -1 when there is no store or the write failed. */
int config_save(void)
{
	static char text[TEXT_MAX];   /* static: too large for a task's stack frame */
	uint32_t rs, rn, bs;
	const char *rt;
	int n, target;
	uint64_t len;

	if (!disk || disk->read_only)
		return -1;
	if ((n = config_format(text, sizeof text)) < 0)
		panic("config: the settings do not fit in a record");
	bs = disk->block_size;
	target = current < 0 ? 0 : current ^ 1;
	memset(slotbuf, 0, SLOT_SIZE);
	len = config_encode(seq + 1, text, (uint32_t)n, slotbuf, SLOT_SIZE);
	if (vblk_write(disk, slot_lba[target], (uint32_t)((len + bs - 1) / bs), slotbuf) < 0 || vblk_flush(disk) < 0) {
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
