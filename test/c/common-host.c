/* common-host.c: the shared C code (common/) built for the host and driven line by line from
 * the TypeScript tests, which compare every answer with partitions/bankstate.ts, node:crypto
 * and crc-32. One command per input line, one JSON answer per output line:
 *   crc32 HEX | sha256 HEX | decode REC | read SLOT0 SLOT1
 *   select A0 A1 B0 B1 PREFER_OTHER [WATCHDOG_RESET ARM] | fail SLOT0 SLOT1 REASON DETAILHEX | markgood SLOT0 SLOT1
 * HEX arguments may be "-" for empty; records are 512 bytes (1024 hex digits). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bankstate.h"
#include "crc32.h"
#include "sha256.h"
#include "hexio.h"

static void record(const char *s, uint8_t rec[BF_STATE_RECORD_SIZE])
{
	memset(rec, 0, BF_STATE_RECORD_SIZE);
	unhex(s, rec, BF_STATE_RECORD_SIZE);
}

static void print_state_record(const struct bf_bank_state *s)
{
	uint8_t rec[BF_STATE_RECORD_SIZE];
	bf_state_encode(s, rec);
	printf("\"");
	hex(rec, sizeof rec);
	printf("\"");
}

static int view_of(char **argv, struct bf_bank_view *v)
{
	static uint8_t a[BF_STATE_RECORD_SIZE], b[BF_STATE_RECORD_SIZE];
	record(argv[0], a);
	record(argv[1], b);
	return bf_state_read(a, b, v);
}

int main(void)
{
	static char line[1 << 20];
	static uint8_t buf[1 << 19];

	while (fgets(line, sizeof line, stdin)) {
		char *argv[8] = { 0 };
		int argc = 0;
		for (char *t = strtok(line, " \n"); t && argc < 8; t = strtok(NULL, " \n"))
			argv[argc++] = t;
		if (argc == 0)
			continue;
		if (!strcmp(argv[0], "crc32") && argc == 2) {
			size_t n = unhex(argv[1], buf, sizeof buf);
			printf("{\"crc32\":%u}\n", bf_crc32(0, buf, n));
		} else if (!strcmp(argv[0], "sha256") && argc == 2) {
			uint8_t d[32];
			size_t n = unhex(argv[1], buf, sizeof buf);
			bf_sha256(buf, n, d);
			printf("{\"sha256\":\"");
			hex(d, 32);
			printf("\"}\n");
		} else if (!strcmp(argv[0], "decode") && argc == 2) {
			uint8_t rec[BF_STATE_RECORD_SIZE];
			struct bf_bank_state s;
			record(argv[1], rec);
			if (bf_state_decode(rec, &s)) {
				printf("{\"valid\":false}\n");
			} else {
				printf("{\"valid\":true,\"reencoded\":");
				print_state_record(&s);
				printf("}\n");
			}
		} else if (!strcmp(argv[0], "read") && argc == 3) {
			struct bf_bank_view v;
			int r = view_of(argv + 1, &v);
			printf("{\"present\":%s,\"slot\":%d,\"record\":", r == 0 ? "true" : "false", v.current_slot);
			if (r == 0)
				print_state_record(&v.state);
			else
				printf("null");
			printf("}\n");
		} else if (!strcmp(argv[0], "select") && (argc == 6 || argc == 8)) {
			struct bf_bank_view v[2];
			struct bf_selection sel;
			view_of(argv + 1, &v[0]);
			view_of(argv + 3, &v[1]);
			bf_select(v, atoi(argv[5]), argc == 8 && atoi(argv[6]), &sel);
			if (argc == 8 && atoi(argv[7]))
				bf_selection_arm(&sel);
			printf("{\"bank\":%d,\"writes\":[", sel.bank);
			for (int i = 0; i < sel.nwrites; i++) {
				printf("%s{\"bank\":%d,\"slot\":%d,\"record\":", i ? "," : "", sel.writes[i].bank, sel.writes[i].slot);
				print_state_record(&sel.writes[i].state);
				printf("}");
			}
			printf("]}\n");
		} else if (!strcmp(argv[0], "fail") && argc == 5) {
			struct bf_bank_view v;
			struct bf_bank_state next;
			char detail[256] = { 0 };
			unhex(argv[4], (uint8_t *)detail, sizeof detail - 1);
			view_of(argv + 1, &v);
			bf_state_fail(&v, (uint8_t)atoi(argv[3]), detail, &next);
			printf("{\"slot\":%d,\"record\":", v.current_slot ^ 1);
			print_state_record(&next);
			printf("}\n");
		} else if (!strcmp(argv[0], "markgood") && argc == 3) {
			struct bf_bank_view v;
			struct bf_bank_state next;
			view_of(argv + 1, &v);
			int w = bf_state_mark_good(&v, &next);
			printf("{\"write\":%s,\"slot\":%d,\"record\":", w ? "true" : "false", v.current_slot ^ 1);
			if (w)
				print_state_record(&next);
			else
				printf("null");
			printf("}\n");
		} else {
			printf("{\"error\":\"unknown command %s/%d\"}\n", argv[0], argc);
		}
		fflush(stdout);
	}
	return 0;
}
