/* bank.c: marking the booted bank good (docs/boot-state.md, "Marking good"). Once the kernel is
 * initialised it takes the boot disk (bootdisk.c: the disk whose GPT carries bootinfo's disk
 * GUID), checks that the loader's bank partition is one of its GPT's partitions, reads its own
 * bank's two state slots from the last 8 KiB of the bank partition, and, when the bank is new or
 * on trial, writes the valid record with seq + 1 into the slot that does not hold the current
 * copy, as a whole sector, then flushes and reads it back. A failed write panics: a kernel that
 * cannot record its health is not healthy, and the reset spends the next try as a hang would.
 * Without a driver for the boot disk the kernel says so and writes nothing; the trial then runs
 * out and the bank rolls back, which is the safe outcome. */
#include "defs.h"
#include "../common/bankstate.h"

static const char *const states[] = { "valid", "new", "trying", "invalid" };

static const char *state_name(uint8_t s)
{
	return s < 4 ? states[s] : "corrupt";
}

static NORETURN void fail(const char *what, char bank)
{
	panic("bank: %s the state of bank %c failed", what, bank);
}

void bank_mark_good(const struct bf_boot_info *bi)
{
	const struct bf_partition_ref *part = &bi->banks[bi->bank];
	char letter = bi->bank ? 'B' : 'A';
	struct blkdev *d = bootdisk();
	struct bf_bank_view view;
	struct bf_bank_state next, check;
	uint8_t *slot[2];
	uint64_t area, slot_lba[2];
	uint32_t bs;
	int target;

	if (!d) {
		kprintf("bankforge: %s (%s); bank state is not updated\n", bootdisk_why(),
			blk_transport_name(bi->disk_transport));
		return;
	}
	bs = d->block_size;
	/* Two pages: a block for each slot (bootdisk.c takes no disk with blocks over a page). */
	slot[0] = page_alloc(2);
	if (!slot[0])
		panic("bank: out of memory");
	slot[1] = slot[0] + PAGE_SIZE;

	/* The state area is the partition's last 8 KiB; each slot starts a 4 KiB half of it. The
	 * GPT reader has checked every partition against the disk's usable range. */
	if (!gpt_find_range(bootdisk_gpt(), part->first_lba, part->last_lba) ||
	    part->last_lba - part->first_lba + 1 <= BF_STATE_AREA_SIZE / bs)
		panic("bank: bank %c's LBA %lu-%lu is not a boot disk partition with a state area", letter,
		      part->first_lba, part->last_lba);
	area = part->last_lba + 1 - BF_STATE_AREA_SIZE / bs;
	for (int i = 0; i < 2; i++) {
		slot_lba[i] = area + (uint64_t)i * BF_STATE_SLOT_SIZE / bs;
		if (blk_read(d, slot_lba[i], 1, slot[i]) < 0)
			fail("reading", letter);
	}
	if (bf_state_read(slot[0], slot[1], &view) < 0)
		panic("bank: bank %c has no valid state record", letter);
	if (view.state.bank != bi->bank)
		panic("bank: the state record in bank %c's partition says bank %c", letter, view.state.bank ? 'B' : 'A');
	kprintf("bank: %c is %s, tries %u/%u, seq %u in slot %d, updated %u, version %.32s\n", letter,
		state_name(view.state.bootstate), view.state.tries_left, view.state.tries_max, view.state.seq,
		view.current_slot, view.state.updated, view.state.version);

	if (!bf_state_mark_good(&view, &next)) {
		kprintf("bank: %c is %s; nothing to write\n", letter, state_name(view.state.bootstate));
		page_free(slot[0], 2);
		return;
	}

	/* The whole sector: the record, then zeros (docs/boot-state.md, "Where it lives"). */
	target = view.current_slot ^ 1;
	memset(slot[target], 0, bs);
	bf_state_encode(&next, slot[target]);
	if (blk_write(d, slot_lba[target], 1, slot[target]) < 0 || blk_flush(d) < 0)
		fail("writing", letter);
	if (blk_read(d, slot_lba[target], 1, slot[target]) < 0)
		fail("reading back", letter);
	if (bf_state_decode(slot[target], &check) < 0 || check.seq != next.seq || check.bootstate != BF_STATE_VALID)
		fail("verifying", letter);
	kprintf("bank: %c marked good: seq %u in slot %d\n", letter, next.seq, target);
	page_free(slot[0], 2);
}
