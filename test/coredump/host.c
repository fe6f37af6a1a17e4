/* host.c: common/coredump.h on the host, so the tests can hold the C side and
 * partitions/coredump.ts to the same bytes and the same verdicts.
 *
 *   host layout                      field offsets and sizes, as JSON
 *   host scan PART                   the geometry, then each slot's verdict, one JSON line each
 *   host write PART SEQ STATE REASON a dump as the kernel writes it (state 1 writing, 2 complete)
 *
 * PART is a file holding just the partition. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "coredump.h"

#define OFF(t, f) printf("\"%s\":%zu,", #f, offsetof(struct t, f))

static unsigned char *load(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b;

	if (!f || fseek(f, 0, SEEK_END) != 0)
		exit(2);
	*size = (size_t)ftell(f);
	rewind(f);
	b = malloc(*size);
	if (!b || fread(b, 1, *size, f) != *size)
		exit(2);
	fclose(f);
	return b;
}

static void save(const char *path, const unsigned char *b, size_t size)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(b, 1, size, f) != size)
		exit(2);
	fclose(f);
}

static void layout(void)
{
	printf("{\"part\":{");
	OFF(bf_cd_part_header, slot_size); OFF(bf_cd_part_header, slot_count); OFF(bf_cd_part_header, slots_offset);
	OFF(bf_cd_part_header, cleared_seq); OFF(bf_cd_part_header, crc);
	printf("\"size\":%zu},\"dump\":{", sizeof(struct bf_cd_part_header));
	OFF(bf_cd_header, seq); OFF(bf_cd_header, slot); OFF(bf_cd_header, state); OFF(bf_cd_header, rtc_time);
	OFF(bf_cd_header, bank); OFF(bf_cd_header, build); OFF(bf_cd_header, kernel_end); OFF(bf_cd_header, panic_addr);
	OFF(bf_cd_header, cause); OFF(bf_cd_header, fault_addr); OFF(bf_cd_header, reason); OFF(bf_cd_header, sections);
	OFF(bf_cd_header, log_written); OFF(bf_cd_header, body_size); OFF(bf_cd_header, body_crc);
	OFF(bf_cd_header, header_crc);
	printf("\"size\":%zu},\"regs\":{", sizeof(struct bf_cd_header));
	OFF(bf_cd_regs, rip); OFF(bf_cd_regs, cr4); OFF(bf_cd_regs, flags);
	printf("\"size\":%zu}}\n", sizeof(struct bf_cd_regs));
}

static void scan(const char *path)
{
	size_t size;
	unsigned char *p = load(path, &size);
	struct bf_cd_geometry g;
	struct bf_cd_header h;

	if (bf_cd_geometry(p, size, &g) < 0) {
		printf("{\"error\":\"too small\"}\n");
		return;
	}
	printf("{\"slotSize\":%u,\"slotCount\":%u,\"slotsOffset\":%llu,\"clearedSeq\":%llu,\"formatted\":%s}\n", g.slot_size,
	       g.slot_count, (unsigned long long)g.slots_offset, (unsigned long long)g.cleared_seq,
	       g.formatted ? "true" : "false");
	for (uint32_t i = 0; i < g.slot_count; i++) {
		const unsigned char *at = p + bf_cd_slot_offset(&g, i);
		int valid = bf_cd_header_valid(at, &g, i, &h), body = 0;
		if (!valid) {
			printf("{\"slot\":%u,\"valid\":false}\n", i);
			continue;
		}
		body = h.state == BF_CD_COMPLETE && bf_crc32(0, at + BF_CD_BLOCK, h.body_size) == h.body_crc;
		printf("{\"slot\":%u,\"valid\":true,\"seq\":%llu,\"state\":%u,\"bodyOk\":%s,\"reason\":\"%s\"}\n", i,
		       (unsigned long long)h.seq, h.state, body ? "true" : "false", h.reason);
	}
	free(p);
}

/* A dump with a small log, written in the kernel's order of fields (not of writes: the order
 * of writes is the kernel's business, the bytes are what the tests compare). */
static void write_dump(const char *path, uint64_t seq, uint32_t state, const char *reason)
{
	size_t size;
	unsigned char *p = load(path, &size);
	struct bf_cd_geometry g;
	struct bf_cd_header h;
	struct bf_cd_regs r;
	uint64_t bt[2] = { 0x1001234, 0x1005678 };
	static const char log[] = "hello from the host\n";
	unsigned char bi[64];
	unsigned char *slot, *body;

	if (bf_cd_geometry(p, size, &g) < 0)
		exit(2);
	memset(&h, 0, sizeof h);
	memset(&r, 0, sizeof r);
	memset(bi, 0xB1, sizeof bi);
	r.rip = 0x1001234;
	r.rax = 0xAAAA;
	r.flags = BF_CD_REGS_ALL;
	memcpy(h.magic, BF_CD_DUMP_MAGIC, 8);
	h.version = BF_CD_VERSION;
	h.header_size = sizeof h;
	h.seq = seq;
	h.slot = bf_cd_slot_of(&g, seq);
	h.state = state;
	h.rtc_time = 1700000000;
	h.bank = 1;
	memcpy(h.build, "7.0.3-host", 10);
	h.cause = BF_CD_EXCEPTION;
	h.vector = 14;
	h.fault_addr = 0x7ff000000000ull;
	snprintf(h.reason, sizeof h.reason, "%s", reason);
	h.sections[BF_CD_SEC_REGS] = (struct bf_cd_section){ 0, sizeof r };
	h.sections[BF_CD_SEC_BACKTRACE] = (struct bf_cd_section){ sizeof r, sizeof bt };
	h.sections[BF_CD_SEC_LOG] = (struct bf_cd_section){ sizeof r + sizeof bt, sizeof log - 1 };
	h.sections[BF_CD_SEC_BOOTINFO] = (struct bf_cd_section){ sizeof r + sizeof bt + sizeof log - 1, sizeof bi };
	h.body_size = h.sections[BF_CD_SEC_BOOTINFO].offset + sizeof bi;
	h.log_written = sizeof log - 1;

	slot = p + bf_cd_slot_offset(&g, h.slot);
	body = slot + BF_CD_BLOCK;
	memcpy(body, &r, sizeof r);
	memcpy(body + sizeof r, bt, sizeof bt);
	memcpy(body + sizeof r + sizeof bt, log, sizeof log - 1);
	memcpy(body + h.sections[BF_CD_SEC_BOOTINFO].offset, bi, sizeof bi);
	h.body_crc = state == BF_CD_COMPLETE ? bf_crc32(0, body, h.body_size) : 0;
	bf_cd_seal(&h);
	memset(slot, 0, BF_CD_BLOCK);
	memcpy(slot, &h, sizeof h);
	save(path, p, size);
	free(p);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "layout") == 0)
		layout();
	else if (argc == 3 && strcmp(argv[1], "scan") == 0)
		scan(argv[2]);
	else if (argc == 6 && strcmp(argv[1], "write") == 0)
		write_dump(argv[2], strtoull(argv[3], NULL, 10), (uint32_t)atoi(argv[4]), argv[5]);
	else
		return fprintf(stderr, "usage: host layout | scan PART | write PART SEQ STATE REASON\n"), 2;
	return 0;
}
