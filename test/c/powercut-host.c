/* powercut-host.c: the loader's and the kernel's state writes, made on the host against a disk
 * image file with the same C code (common/bankstate.c) and the same write discipline
 * (bootloader/banks.c bank_write, kernel/bank.c bank_mark_good): the new record into slot
 * current ^ 1, as a whole sector (the record, then zeros), then a flush. Each write is also
 * printed, so that the power-cut harness can replay every prefix of them.
 *
 *   powercut-host boot IMAGE SECTOR AOFF ASIZE BOFF BSIZE [WATCHDOG_RESET ARM]
 *       reads both banks' slots, runs bf_select (no menu; the last reset was the watchdog's when
 *       WATCHDOG_RESET is 1; the loader arms the watchdog for a trial when ARM is 1), makes its
 *       writes in order;
 *       prints "write OFFSET HEX" per write, then "boot BANK" (-1: none bootable)
 *   powercut-host mark-good IMAGE SECTOR OFF SIZE BANK
 *       the kernel's mark-good of the bank at OFF; prints its write if any, then "good BANK" or "valid BANK"
 * Offsets and sizes are bytes from the start of the image. */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bankstate.h"

static int fd;
static unsigned sector;

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static long long num(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	if (*end || v < 0) {
		fprintf(stderr, "not a byte count: %s\n", s);
		exit(2);
	}
	return v;
}

static long long slot_offset(long long part, long long size, int slot)
{
	return part + size - BF_STATE_AREA_SIZE + (long long)slot * BF_STATE_SLOT_SIZE;
}

static void read_view(long long part, long long size, struct bf_bank_view *v)
{
	uint8_t rec[2][BF_STATE_RECORD_SIZE];
	for (int i = 0; i < 2; i++)
		if (pread(fd, rec[i], BF_STATE_RECORD_SIZE, slot_offset(part, size, i)) != BF_STATE_RECORD_SIZE)
			die("reading a state slot");
	if (bf_state_read(rec[0], rec[1], v) < 0)
		memset(v, 0, sizeof *v);
}

/* One whole sector holding the record, into `slot`, flushed; and its log line. */
static void write_state(long long part, long long size, int slot, const struct bf_bank_state *s)
{
	unsigned bytes = sector > BF_STATE_RECORD_SIZE ? sector : BF_STATE_RECORD_SIZE;
	uint8_t *buf = calloc(1, bytes);
	long long at = slot_offset(part, size, slot);
	if (!buf)
		die("calloc");
	bf_state_encode(s, buf);
	if (pwrite(fd, buf, bytes, at) != (ssize_t)bytes || fsync(fd) < 0)
		die("writing a state slot");
	printf("write %lld ", at);
	for (unsigned i = 0; i < bytes; i++)
		printf("%02x", buf[i]);
	printf("\n");
	free(buf);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: powercut-host boot IMAGE SECTOR AOFF ASIZE BOFF BSIZE [WATCHDOG_RESET ARM] | mark-good IMAGE SECTOR OFF SIZE BANK\n");
		return 2;
	}
	fd = open(argv[2], O_RDWR);
	if (fd < 0)
		die(argv[2]);
	sector = (unsigned)num(argv[3]);
	if (!strcmp(argv[1], "boot") && (argc == 8 || argc == 10)) {
		long long off[2] = { num(argv[4]), num(argv[6]) }, size[2] = { num(argv[5]), num(argv[7]) };
		struct bf_bank_view v[2];
		struct bf_selection sel;
		read_view(off[0], size[0], &v[0]);
		read_view(off[1], size[1], &v[1]);
		bf_select(v, 0, argc == 10 && num(argv[8]), &sel);
		if (argc == 10 && num(argv[9]))
			bf_selection_arm(&sel);
		for (int i = 0; i < sel.nwrites; i++) {
			int b = sel.writes[i].bank;
			write_state(off[b], size[b], sel.writes[i].slot, &sel.writes[i].state);
		}
		printf("boot %d\n", sel.bank);
	} else if (!strcmp(argv[1], "mark-good") && argc == 7) {
		long long off = num(argv[4]), size = num(argv[5]);
		int bank = (int)num(argv[6]);
		struct bf_bank_view v;
		struct bf_bank_state next;
		read_view(off, size, &v);
		if (!v.present || v.state.bank != bank) {
			fprintf(stderr, "no state record of bank %d at %lld\n", bank, off);
			return 2;
		}
		if (bf_state_mark_good(&v, &next)) {
			write_state(off, size, v.current_slot ^ 1, &next);
			printf("good %d\n", bank);
		} else {
			printf("valid %d\n", bank);
		}
	} else {
		fprintf(stderr, "unknown command or wrong arguments: %s\n", argv[1]);
		return 2;
	}
	return close(fd) < 0;
}
