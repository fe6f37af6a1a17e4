/* loader-host.c: the plain-C formats of common/ (gpt.c, bootcfg.c, hostcfg.c, bankstate.c, with
 * fmt.c for their messages) and the loader's elf.c, built for the host, for the tests in
 * test/bootloader and for the shared vectors in test/vectors (bootcfg.json, sha256sums.json,
 * host-settings.json, config-record.json), which the TypeScript twins must pass too. Each
 * command prints its result as one JSON object on stdout, or {"error": "..."} with the C's own
 * message; "fuzz" feeds a parser random mutations of a valid input and must end without a crash
 * (it runs under ASan/UBSan). Strings in answers are bytes, one char per byte (latin1): bytes
 * below 0x20 and from 0x7f up as \u00XX.
 *
 *   loader-host gpt IMAGE SECTOR_SIZE
 *   loader-host bootcfg FILE       {"title","build","kernel","kernelopt","timeout","watchdog","modules":[...]}
 *   loader-host sums FILE [NAME...]
 *               {"count":lines,"files":{name:sha256 a lookup gives},"lookup":{NAME:sha256|null}}
 *   loader-host elf FILE
 *   loader-host setting KEY VALUE  {"ok":true}
 *   loader-host record-decode FILE {"seq","text","settings":{every key},"skipped":[{"line","why"}]}
 *                                  (FILE: the record's bytes, exactly: no padding is assumed)
 *   loader-host record-encode SEQ TEXTFILE   {"hex":record} for the text as it is
 *   loader-host slots FILE FILE    {"current":0|1|null,"seq","settings"} (each FILE one slot)
 *   loader-host state OUT BANK BOOTSTATE TRIES_LEFT TRIES_MAX UPDATED VERSION   (a test record)
 *   loader-host readstate IMAGE BYTE_OFFSET    (the state area at that offset, both slots)
 *   loader-host esb-preload SECONDS   {"preload"}: the i6300esb's value per stage (common/i6300esb.c)
 *   loader-host fuzz gpt|bootcfg|sums|elf|record FILE ITERATIONS SEED [SECTOR_SIZE]
 *   loader-host serve   the commands above, one a line on stdin, each word in hex (words
 *                       separated by spaces: a value may hold any byte but NUL); each answer is
 *                       followed by the line "end STATUS", STATUS what the command alone would
 *                       have exited with. One process for hundreds of questions: ASan's start-up
 *                       (60 ms here) and a fork per question were most of the vectors' test time.
 *                       Under LeakSanitizer every command is checked for leaks on its own
 *                       (a leak makes its STATUS 23, as LSan's exit would).
 */
#define _POSIX_C_SOURCE 200809L   /* getline, for serve */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bankstate.h"
#include "bootcfg.h"
#include "bootinfo.h"
#include "i6300esb.h"
#include "byteorder.h"
#include "crc32.h"
#include "elf64.h"
#include "gpt.h"
#include "hexio.h"
#include "hostcfg.h"

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *p = malloc(*len ? *len : 1);
	if (fread(p, 1, *len, f) != *len) {
		perror(path);
		exit(2);
	}
	fclose(f);
	return p;
}

static void json_str(const char *s)
{
	json_bytes(s, strlen(s));
}

/* n bytes as a JSON string of hex digits. */
static void hex_str(const uint8_t *p, size_t n)
{
	putchar('"');
	hex(p, n);
	putchar('"');
}

/* `lead` ("{" or ","), then "key":"value" with the value escaped. */
static void str_field(const char *lead, const char *key, const char *value)
{
	printf("%s\"%s\":", lead, key);
	json_str(value);
}

/* How every parser command ends or goes on: in a fuzz loop (!print) and after a failure, which it
 * reports as {"error": ...}, there is nothing more to print. Returns 1 when the result follows. */
static int result_follows(int r, int print, const char *err)
{
	if (print && r) {
		printf("{\"error\":");
		json_str(err);
		printf("}\n");
	}
	return print && !r;
}

/* ---- GPT over a memory image ---- */
struct mem_disk {
	const uint8_t *data;
	size_t len;
	uint32_t ss;
};

static int mem_read(void *ctx, uint64_t lba, uint32_t count, void *buf)
{
	struct mem_disk *d = ctx;
	if (lba > d->len / d->ss || count > d->len / d->ss - lba)
		return -1;
	memcpy(buf, d->data + lba * d->ss, (size_t)count * d->ss);
	return 0;
}

static uint8_t gpt_scratch[GPT_MAX_ENTRY_BYTES + 65536];

static int run_gpt(const uint8_t *data, size_t len, uint32_t ss, int print)
{
	struct mem_disk d = { data, len, ss };
	static struct gpt_disk g;
	char err[160];
	uint64_t sectors = len / ss;
	int r = gpt_read(mem_read, &d, ss, sectors ? sectors - 1 : 0, gpt_scratch, &g, err, sizeof err);
	if (!result_follows(r, print, err))
		return r;
	printf("{\"diskGuid\":");
	hex_str(g.disk_guid, 16);
	printf(",\"firstUsable\":%llu,\"lastUsable\":%llu,\"usedBackup\":%s,\"primaryError\":",
	       (unsigned long long)g.first_usable, (unsigned long long)g.last_usable, g.used_backup ? "true" : "false");
	json_str(g.primary_error);
	printf(",\"partitions\":[");
	for (uint32_t i = 0; i < g.nparts; i++) {
		printf("%s{\"index\":%u,\"type\":", i ? "," : "", g.parts[i].index);
		hex_str(g.parts[i].type_guid, 16);
		printf(",\"guid\":");
		hex_str(g.parts[i].guid, 16);
		printf(",\"firstLba\":%llu,\"lastLba\":%llu}", (unsigned long long)g.parts[i].first_lba,
		       (unsigned long long)g.parts[i].last_lba);
	}
	printf("]}\n");
	return 0;
}

static int run_bootcfg(const uint8_t *data, size_t len, int print)
{
	static struct bootcfg c;
	char err[160];
	int r = bootcfg_parse((const char *)data, len, &c, err, sizeof err);
	if (!result_follows(r, print, err))
		return r;
	str_field("{", "title", c.title);
	str_field(",", "build", c.build);
	str_field(",", "kernel", c.kernel);
	str_field(",", "kernelopt", c.kernelopt);
	str_field(",", "initrd", c.initrd);
	printf(",\"timeout\":%u,\"watchdog\":%u,\"modules\":[", c.timeout, c.watchdog);
	for (uint32_t i = 0; i < c.nmodules; i++) {
		printf(i ? "," : "");
		json_str(c.modules[i]);
	}
	printf("]}\n");
	return 0;
}

/* A hash as a lookup gives it, or null. */
static void lookup(const struct sums *s, const char *name)
{
	const uint8_t *h = sums_find(s, name);
	if (h)
		hex_str(h, 32);
	else
		printf("null");
}

static int run_sums(const uint8_t *data, size_t len, int print, char **names, int nnames)
{
	static struct sums s;
	char err[160];
	int r = sums_parse((const char *)data, len, &s, err, sizeof err);
	if (!result_follows(r, print, err))
		return r;
	printf("{\"count\":%u,\"files\":{", s.n);
	/* Each name once, at its first line, with what a lookup gives (its last line's hash). */
	for (uint32_t i = 0, first = 1; i < s.n; i++) {
		uint32_t j = 0;
		while (strcmp(s.e[j].name, s.e[i].name) != 0)
			j++;
		if (j < i)
			continue;
		printf(first ? "" : ",");
		first = 0;
		json_str(s.e[i].name);
		putchar(':');
		lookup(&s, s.e[i].name);
	}
	printf("},\"lookup\":{");
	for (int i = 0; i < nnames; i++) {
		printf(i ? "," : "");
		json_str(names[i]);
		putchar(':');
		lookup(&s, names[i]);
	}
	printf("}}\n");
	return 0;
}

/* ---- the host configuration (common/hostcfg.c) ---- */
static int run_setting(const char *key, const char *value)
{
	char err[160];
	int r = hostcfg_check(key, value, err, sizeof err);
	if (result_follows(r, 1, err))
		printf("{\"ok\":true}\n");
	return 0;
}

static void settings_json(const struct hostcfg *c)
{
	printf("{");
	for (int i = 0; i < HOSTCFG_NKEYS; i++) {
		str_field(i ? "," : "", hostcfg_keys[i].name, c->val[i]);
	}
	printf("}");
}

/* What hostcfg_parse skipped, as JSON array elements. */
static void print_skip(void *ctx, unsigned line, const char *why)
{
	int *n = ctx;
	printf("%s{\"line\":%u,\"why\":", (*n)++ ? "," : "", line);
	json_str(why);
	printf("}");
}

static int run_record(const uint8_t *data, size_t len, int print)
{
	static struct hostcfg c;
	char err[160];
	uint32_t seq, n;
	const char *text;
	int r = hostcfg_decode(data, len, &seq, &text, &n, err, sizeof err);
	if (!result_follows(r, print, err)) {
		if (r == 0 && hostcfg_parse(&c, text, n, NULL, NULL, err, sizeof err) < 0)
			abort();   /* hostcfg_decode accepted lines hostcfg_parse refuses */
		return r;
	}
	printf("{\"seq\":%u,\"text\":", seq);
	json_bytes(text, n);
	printf(",\"skipped\":[");
	int skipped = 0;
	if (hostcfg_parse(&c, text, n, print_skip, &skipped, err, sizeof err) < 0)
		abort();
	printf("],\"settings\":");
	settings_json(&c);
	printf("}\n");
	return 0;
}

static int run_encode(uint32_t seq, const uint8_t *text, size_t len)
{
	static uint8_t rec[HOSTCFG_SLOT_SIZE];
	size_t n = len > HOSTCFG_TEXT_MAX ? 0 : hostcfg_encode(seq, (const char *)text, (uint32_t)len, rec, sizeof rec);
	if (!n) {
		printf("{\"error\":\"config record: text of %zu bytes, at most %u\"}\n", len, HOSTCFG_TEXT_MAX);
		return 0;
	}
	printf("{\"hex\":");
	hex_str(rec, n);
	printf("}\n");
	return 0;
}

static int run_slots(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	static struct hostcfg c;
	char err[160];
	uint32_t seq[2] = { 0, 0 }, n[2];
	const char *text[2];
	int ok0 = hostcfg_decode(a, alen, &seq[0], &text[0], &n[0], err, sizeof err) == 0;
	int ok1 = hostcfg_decode(b, blen, &seq[1], &text[1], &n[1], err, sizeof err) == 0;
	int cur = hostcfg_current(ok0, seq[0], ok1, seq[1]);
	if (cur < 0) {
		printf("{\"current\":null}\n");
		return 0;
	}
	if (hostcfg_parse(&c, text[cur], n[cur], NULL, NULL, err, sizeof err) < 0)
		abort();
	printf("{\"current\":%d,\"seq\":%u,\"settings\":", cur, seq[cur]);
	settings_json(&c);
	printf("}\n");
	return 0;
}

static int run_elf(const uint8_t *data, size_t len, int print)
{
	struct elf_image img;
	char err[160];
	int r = elf_check(data, len, BF_KERNEL_BASE, &img, err, sizeof err);
	if (!r) {
		/* Copy as the loader does, into a host buffer standing for [lo, hi). */
		uint8_t *span = malloc(img.hi - img.lo);
		elf_copy(data, &img, span);
		free(span);
	}
	if (!result_follows(r, print, err))
		return r;
	printf("{\"entry\":%llu,\"lo\":%llu,\"hi\":%llu,\"segments\":[", (unsigned long long)img.entry,
	       (unsigned long long)img.lo, (unsigned long long)img.hi);
	for (uint32_t i = 0; i < img.nsegments; i++)
		printf("%s{\"paddr\":%llu,\"filesz\":%llu,\"memsz\":%llu}", i ? "," : "",
		       (unsigned long long)img.seg[i].paddr, (unsigned long long)img.seg[i].filesz,
		       (unsigned long long)img.seg[i].memsz);
	printf("]}\n");
	return 0;
}

/* xorshift64*: reproducible from the seed the test prints on failure. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* Byte flips, random bytes, interesting values, truncation and CRC-blind damage: the parsers
 * must refuse or accept every one of them without reading or writing outside their buffers. */
static size_t mutate(uint8_t *buf, size_t len, size_t cap)
{
	static const uint8_t interesting[] = { 0x00, 0x01, 0x7f, 0x80, 0xff, '\n', '=', ' ', '-', '#', 0 };
	int n = 1 + (int)(rnd() % 8);
	for (int i = 0; i < n && len; i++) {
		size_t at = rnd() % len;
		switch (rnd() % 6) {
		case 0: buf[at] ^= (uint8_t)(1u << (rnd() % 8)); break;
		case 1: buf[at] = (uint8_t)rnd(); break;
		case 2: buf[at] = interesting[rnd() % sizeof interesting]; break;
		case 3: len = at + 1; break;
		case 4: if (len < cap) buf[len++] = (uint8_t)rnd(); break;
		case 5: {   /* a random 32/64-bit field value */
			uint64_t v = rnd() % 3 == 0 ? ~0ull : rnd() % 3 == 0 ? 0 : rnd();
			size_t w = rnd() % 2 ? 4 : 8;
			if (at + w <= len)
				memcpy(buf + at, &v, w);
			break;
		}
		}
	}
	return len;
}

/* Damage the primary header and entry array, then (every other time) recompute their CRCs from
 * the damaged fields, so that the checks behind the CRCs are reached too; every other time the
 * backup header is wiped, so the damaged primary is all there is. */
static void mutate_gpt(uint8_t *img, size_t len, uint32_t ss)
{
	size_t window = ss + 16384;
	if (len < ss + window)
		return;
	mutate(img + ss, window, window);
	if (rnd() % 2)
		memset(img + len - ss, 0, ss);
	if (rnd() % 2)
		return;
	uint8_t *h = img + ss;
	uint64_t elba = get64(h + 72), bytes = (uint64_t)get32(h + 80) * get32(h + 84);
	if (bytes <= GPT_MAX_ENTRY_BYTES && elba < len / ss && bytes <= len - elba * ss) {
		put32(h + 88, bf_crc32(0, img + elba * ss, bytes));
	}
	uint32_t hsize = get32(h + 12);
	if (hsize >= 92 && hsize <= ss) {
		memset(h + 16, 0, 4);
		put32(h + 16, bf_crc32(0, h, hsize));
	}
}

/* Damage a configuration record, then (every other time) make its length and CRC agree with the
 * damage, so that the text rules behind the CRC are reached too. */
static size_t mutate_record(uint8_t *buf, size_t len, size_t cap)
{
	len = mutate(buf, len, cap);
	if (len >= HOSTCFG_HEADER_SIZE && len - HOSTCFG_HEADER_SIZE <= HOSTCFG_TEXT_MAX && rnd() % 2) {
		put32(buf + 16, (uint32_t)(len - HOSTCFG_HEADER_SIZE));
		put32(buf + 20, bf_crc32(bf_crc32(0, buf, 20), buf + HOSTCFG_HEADER_SIZE, len - HOSTCFG_HEADER_SIZE));
	}
	return len;
}

static int fuzz(const char *kind, const uint8_t *seed, size_t len, long iters, uint32_t ss)
{
	size_t cap = len + 64;
	uint8_t *buf = malloc(cap);
	long accepted = 0;
	int gpt = !strcmp(kind, "gpt");
	for (long i = 0; i < iters; i++) {
		memcpy(buf, seed, len);
		size_t n = len;
		if (gpt)
			mutate_gpt(buf, len, ss);
		else if (!strcmp(kind, "record"))
			n = mutate_record(buf, len, cap);
		else
			n = mutate(buf, len, cap);
		/* Shrink the allocation to the exact size so ASan sees any read past the end. */
		uint8_t *exact = malloc(n ? n : 1);
		memcpy(exact, buf, n);
		int r;
		if (gpt)
			r = run_gpt(exact, n, ss, 0);
		else if (!strcmp(kind, "bootcfg"))
			r = run_bootcfg(exact, n, 0);
		else if (!strcmp(kind, "sums"))
			r = run_sums(exact, n, 0, NULL, 0);
		else if (!strcmp(kind, "record"))
			r = run_record(exact, n, 0);
		else
			r = run_elf(exact, n, 0);
		accepted += r == 0;
		free(exact);
	}
	free(buf);
	printf("{\"iterations\":%ld,\"accepted\":%ld}\n", iters, accepted);
	return 0;
}

static int write_state(int argc, char **argv)
{
	if (argc != 9)
		return fprintf(stderr, "state OUT BANK BOOTSTATE TRIES_LEFT TRIES_MAX UPDATED VERSION\n"), 2;
	struct bf_bank_state s;
	memset(&s, 0, sizeof s);
	s.seq = 1;
	s.bank = argv[3][0] == 'B';
	s.bootstate = (uint8_t)atoi(argv[4]);
	s.tries_left = (uint8_t)atoi(argv[5]);
	s.tries_max = (uint8_t)atoi(argv[6]);
	s.updated = (uint32_t)atoi(argv[7]);
	strncpy(s.version, argv[8], sizeof s.version);
	bf_state_push_event(&s, BF_EVENT_INSTALLED);
	uint8_t rec[BF_STATE_RECORD_SIZE];
	bf_state_encode(&s, rec);
	FILE *f = fopen(argv[2], "wb");
	if (!f || fwrite(rec, 1, sizeof rec, f) != sizeof rec)
		return perror(argv[2]), 2;
	fclose(f);
	return 0;
}

static int read_state(const char *path, long offset)
{
	uint8_t area[BF_STATE_AREA_SIZE];
	FILE *f = fopen(path, "rb");
	if (!f || fseek(f, offset, SEEK_SET) || fread(area, 1, sizeof area, f) != sizeof area)
		return perror(path), 2;
	fclose(f);
	struct bf_bank_view v;
	if (bf_state_read(area, area + BF_STATE_SLOT_SIZE, &v)) {
		printf("{\"present\":false}\n");
		return 0;
	}
	char detail[BF_STATE_DETAIL_LEN + 1] = { 0 };
	memcpy(detail, v.state.detail, BF_STATE_DETAIL_LEN);
	printf("{\"present\":true,\"slot\":%d,\"seq\":%u,\"bank\":%u,\"bootstate\":%u,\"triesLeft\":%u,"
	       "\"reason\":%u,\"detail\":", v.current_slot, v.state.seq, v.state.bank, v.state.bootstate,
	       v.state.tries_left, v.state.reason);
	json_str(detail);
	printf("}\n");
	return 0;
}

static int command(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "state"))
		return write_state(argc, argv);
	if (argc == 4 && !strcmp(argv[1], "readstate"))
		return read_state(argv[2], atol(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "esb-preload"))
		return printf("{\"preload\":%u}\n", esb_preload((uint32_t)strtoul(argv[2], NULL, 10))), 0;
	if (argc < 3)
		return fprintf(stderr, "usage: see the comment at the top of loader-host.c\n"), 2;
	size_t len;
	if (!strcmp(argv[1], "fuzz") && argc >= 6) {
		uint8_t *seed = slurp(argv[3], &len);
		rng_state = strtoull(argv[5], NULL, 0) | 1;
		int r = fuzz(argv[2], seed, len, atol(argv[4]), argc > 6 ? (uint32_t)atoi(argv[6]) : 512);
		free(seed);
		return r;
	}
	if (!strcmp(argv[1], "setting") && argc == 4)
		return run_setting(argv[2], argv[3]);
	if (!strcmp(argv[1], "record-encode") && argc == 4) {
		uint8_t *text = slurp(argv[3], &len);
		run_encode((uint32_t)strtoul(argv[2], NULL, 0), text, len);
		free(text);
		return 0;
	}
	uint8_t *data = slurp(argv[2], &len);
	if (!strcmp(argv[1], "slots") && argc == 4) {
		size_t blen;
		uint8_t *b = slurp(argv[3], &blen);
		run_slots(data, len, b, blen);
		free(b);
	} else if (!strcmp(argv[1], "gpt") && argc == 4)
		run_gpt(data, len, (uint32_t)atoi(argv[3]), 1);
	else if (!strcmp(argv[1], "bootcfg"))
		run_bootcfg(data, len, 1);
	else if (!strcmp(argv[1], "sums"))
		run_sums(data, len, 1, argv + 3, argc - 3);
	else if (!strcmp(argv[1], "record-decode"))
		run_record(data, len, 1);
	else if (!strcmp(argv[1], "elf"))
		run_elf(data, len, 1);
	else
		return fprintf(stderr, "unknown command %s\n", argv[1]), 2;
	free(data);
	return 0;
}

/* Present only when built with ASan/LSan (a weak reference is null otherwise). */
extern int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

#define SERVE_ARGS 64

/* `serve`: read "HEX HEX ..." lines, run each as the command line it spells, answer "end STATUS". */
static int serve(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;

	while ((got = getline(&line, &cap, stdin)) > 0) {
		char *argv[SERVE_ARGS + 1];
		int argc = 0;
		argv[argc++] = "loader-host";
		for (char *w = strtok(line, " \n"); w; w = strtok(NULL, " \n")) {
			if (argc == SERVE_ARGS)
				return fprintf(stderr, "serve: more than %d words\n", SERVE_ARGS - 1), 2;
			size_t n = strlen(w) / 2;
			uint8_t *word = malloc(n + 1);
			if (!word || unhex(w, word, n) != n)
				return fprintf(stderr, "serve: bad word %s\n", w), 2;
			word[n] = 0;
			argv[argc++] = (char *)word;
		}
		argv[argc] = NULL;
		int status = argc > 1 ? command(argc, argv) : 2;
		for (int i = 1; i < argc; i++)
			free(argv[i]);
		if (__lsan_do_recoverable_leak_check && __lsan_do_recoverable_leak_check())
			status = 23;
		printf("end %d\n", status);
		fflush(stdout);
	}
	free(line);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "serve"))
		return serve();
	return command(argc, argv);
}
