/* statetool.h: the mark-good tool's plain-C core (docs/linux.md): find the banks on the disk the
 * loader named, report them, mark the booted bank good, roll back to the other one, with
 * bankforge's write discipline (docs/upgrade.md, "Mirrored state writes"). No system calls: the
 * caller gives a device as three functions, so the same code runs on a block device under Linux
 * and on an image file in the host tests (which also record every write for the power-cut
 * simulation). */
#ifndef BF_STATETOOL_H
#define BF_STATETOOL_H
#include "bftypes.h"
#include "bankstate.h"
#include "bootident.h"
#include "gpt.h"

struct st_dev {
	void *ctx;
	uint32_t sector_size;
	uint64_t sectors;
	/* Whole sectors; 0 on success. */
	int (*read)(void *ctx, uint64_t lba, uint32_t count, void *buf);
	int (*write)(void *ctx, uint64_t lba, uint32_t count, const void *buf);
	/* Everything written so far on stable storage; 0 on success. */
	int (*flush)(void *ctx);
	/* Forget cached sectors so that a read-back reads the medium; 0 on success (may do nothing). */
	int (*drop_cache)(void *ctx);
};

struct st_bank {
	int found;
	struct gpt_part part;
	struct bf_bank_view view;
};

struct st_disk {
	struct gpt_disk gpt;
	int booted;                 /* the bank the loader booted (bankforge.bank=) */
	struct st_bank bank[2];
};

/* Exit codes of the tool (docs/linux.md). */
enum { ST_OK = 0, ST_USAGE = 2, ST_REFUSED = 3, ST_IO = 4 };

/* Is this the disk the loader named? Reads its GPT; 1 when its disk GUID is id's, 0 when not,
 * -1 (with err) when it has no readable GPT. `scratch` holds GPT_MAX_ENTRY_BYTES + sector size. */
int st_disk_matches(struct st_dev *d, const struct bf_ident *id, uint8_t *scratch, char *err, size_t errlen);

/* Read the banks of the named disk: the partition with id's partition GUID must hold bank id->bank's
 * record; the other bank is the one other partition holding a record of the other letter. Refuses
 * (ST_REFUSED) anything ambiguous or contradicting; ST_IO on a read error. */
int st_disk_open(struct st_dev *d, const struct bf_ident *id, uint8_t *scratch, struct st_disk *out, char *err,
		 size_t errlen);

/* The state as text, one line a bank plus its history (a buffer of 4 KiB is enough). */
void st_status(const struct st_disk *disk, char *out, size_t len);

/* Mark the booted bank good. ST_OK with *written 0 when it was valid already. */
int st_mark_good(struct st_dev *d, struct st_disk *disk, int *written, char *err, size_t errlen);

/* Make the other bank (valid) the one that boots from the next boot on. */
int st_rollback(struct st_dev *d, struct st_disk *disk, char *err, size_t errlen);

const char *st_state_name(uint8_t s);
const char *st_reason_name(uint8_t r);

#endif
