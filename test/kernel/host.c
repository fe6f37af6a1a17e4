/* host.c: a host program around the kernel's pure parts (the formatter common/fmt.c, its kernel
 * name ksnprintf in kernel/libc.c, kernel/cmdline.c, kernel/mem.c, kernel/font.c) for
 * test/kernel/host.test.ts. Those units, and common/bfstring.c under them, are compiled with
 * their libc names renamed (-Dmemcpy=kmemcpy ...) so they run our code, not the host's. Commands:
 *   host fmt            stdin: lines "FORMAT<TAB>TYPE<TAB>VALUE"; bf_fmt and the C library's
 *                       snprintf both format it: prints "OURS<TAB>HOST<TAB>OURRET<TAB>HOSTRET"
 *   host trunc          ksnprintf into small buffers: prints "SIZE<TAB>RESULT<TAB>RET"
 *   host cmdline LINE KEY...   prints "KEY=VALUE" or "KEY absent"; kernel messages as "log: ..."
 *   host uint LINE KEY DEFAULT prints the number
 *   host mem            allocator scenario over a fake memory map; "ok ..." lines, then a double free
 *   host font           "glyphs N distinct N blank N" */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../kernel/defs.h"

char __kernel_start[1], __kernel_end[1];

/* The kernel's messages, formatted by the code under test, on stdout after `what`. */
static void say(const char *what, const char *fmt, va_list ap)
{
	char buf[512];

	bf_vfmt(buf, sizeof buf, fmt, ap);
	printf("%s%s", what, buf);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("log: ", fmt, ap);
	va_end(ap);
}

void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("panic: ", fmt, ap);
	va_end(ap);
	printf("\n");
	exit(70);
}

#pragma clang diagnostic ignored "-Wformat-nonliteral"
#pragma clang diagnostic ignored "-Wformat-security"

/* The same arguments through bf_fmt into `ours` and through the C library into `host`. */
#define BOTH(...) (ret = (int)bf_fmt(ours, sizeof ours, f, __VA_ARGS__), hret = snprintf(host, sizeof host, f, __VA_ARGS__))

static void fmt(void)
{
	char line[512], ours[512], host[512];

	while (fgets(line, sizeof line, stdin)) {
		char *f = strtok(line, "\t\n"), *type = strtok(NULL, "\t\n"), *val = strtok(NULL, "\n");
		int ret, hret;

		if (!f || !type)
			continue;
		if (!val)
			val = "";
		if (!strcmp(type, "d"))
			BOTH(atoi(val));
		else if (!strcmp(type, "ll"))
			BOTH(strtoll(val, NULL, 0));
		else if (!strcmp(type, "ull"))
			BOTH(strtoull(val, NULL, 0));
		else if (!strcmp(type, "u"))
			BOTH((unsigned)strtoul(val, NULL, 0));
		else if (!strcmp(type, "s"))
			BOTH(val);
		else if (!strcmp(type, "c"))
			BOTH(val[0]);
		else if (!strcmp(type, "p"))
			BOTH((void *)(uintptr_t)strtoull(val, NULL, 0));
		else if (!strcmp(type, "star"))   /* width or precision from an argument, then a string */
			BOTH(atoi(val), "abcdef");
		else
			BOTH(0);
		printf("%s\t%s\t%d\t%d\n", ours, host, ret, hret);
	}
}

static void trunc_(void)
{
	char buf[16];

	for (size_t size = 0; size <= 8; size++) {
		memset(buf, '#', sizeof buf);
		int r = ksnprintf(buf, size, "%s-%d", "abc", 42);
		buf[sizeof buf - 1] = 0;
		printf("%zu\t%s\t%d\n", size, buf, r);
	}
}

#define CHECK(cond, ...) do { if (!(cond)) { printf("FAIL line %d: ", __LINE__); printf(__VA_ARGS__); printf("\n"); exit(1); } } while (0)

static void mem(void)
{
	enum { PAGES = 1024 };
	uint8_t *arena = aligned_alloc(4096, PAGES * 4096);
	uint64_t a = (uint64_t)(uintptr_t)arena;
	/* usable 256 pages (the bitmap takes the first), reserved 256, usable 512 with a
	 * ragged start and end that must be rounded inwards, sorted by base. */
	struct bf_mem_region map[3] = {
		{ a, 256 * 4096, BF_MEM_USABLE, 0 },
		{ a + 256 * 4096, 256 * 4096, BF_MEM_RESERVED, 0 },
		{ a + 512 * 4096 - 100, 512 * 4096 + 50, BF_MEM_USABLE, 0 },
	};
	struct bf_boot_info bi;
	static uint8_t *got[PAGES];
	int n = 0;

	memset(&bi, 0, sizeof bi);
	bi.memory_map = (uint64_t)(uintptr_t)map;
	bi.memory_map_count = 3;
	mem_init(&bi, UINT64_MAX);

	/* Every page once, none reserved, none outside, all zeroed. */
	for (;;) {
		uint8_t *p = page_alloc(1);
		if (!p)
			break;
		CHECK(n < PAGES, "too many pages");
		uint64_t off = (uint64_t)(uintptr_t)p - a;
		CHECK(off % 4096 == 0, "unaligned %p", (void *)p);
		CHECK(off >= 4096 && off < 1024 * 4096 && (off < 256 * 4096 || off >= 512 * 4096), "page %llx outside usable",
		      (unsigned long long)off);
		for (int i = 0; i < 4096; i++)
			CHECK(p[i] == 0, "page %llx not zeroed", (unsigned long long)off);
		for (int j = 0; j < n; j++)
			CHECK(got[j] != p, "page %llx handed out twice", (unsigned long long)off);
		memset(p, 0xAA, 4096);
		got[n++] = p;
	}
	/* 255 in the first run (page 0 of the arena holds the bitmap); in the third, the
	 * partial first and last pages do not count: 511 - 1. */
	printf("ok single pages %d\n", n);
	for (int j = 0; j < n; j++)
		page_free(got[j], 1);

	/* A contiguous run longer than the first usable run comes from the second. */
	uint8_t *run = page_alloc(300);
	CHECK(run, "no 300-page run");
	CHECK((uint64_t)(uintptr_t)run - a >= 512 * 4096, "300-page run at %llx crosses the reserved hole",
	      (unsigned long long)((uint64_t)(uintptr_t)run - a));
	for (int i = 0; i < 300 * 4096; i++)
		CHECK(run[i] == 0, "run not zeroed at %d", i);
	printf("ok run of 300\n");
	CHECK(page_alloc(300) == NULL, "a second 300-page run cannot fit");
	printf("ok no second run\n");
	page_free(run, 300);
	printf("ok freed\n");
	fflush(stdout);
	page_free(run + 4096, 1);   /* already free: must panic */
	printf("FAIL double free accepted\n");
}

static void font(void)
{
	int n = FONT_LAST - FONT_FIRST + 1, distinct = 0, blank = 0;

	for (int i = 0; i < n; i++) {
		int same = 0, empty = 1;
		for (int j = 0; j < i; j++)
			same |= !memcmp(font_glyphs[i], font_glyphs[j], 8);
		for (int r = 0; r < 8; r++)
			empty &= font_glyphs[i][r] == 0;
		distinct += !same;
		blank += empty;
	}
	printf("glyphs %d distinct %d blank %d\n", n, distinct, blank);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "fmt"))
		fmt();
	else if (argc >= 2 && !strcmp(argv[1], "trunc"))
		trunc_();
	else if (argc >= 3 && !strcmp(argv[1], "cmdline")) {
		cmdline_init(argv[2]);
		for (int i = 3; i < argc; i++) {
			const char *v = cmdline_get(argv[i]);
			if (v)
				printf("%s=%s\n", argv[i], v);
			else
				printf("%s absent\n", argv[i]);
		}
	} else if (argc == 5 && !strcmp(argv[1], "uint")) {
		cmdline_init(argv[2]);
		printf("%llu\n", (unsigned long long)cmdline_uint(argv[3], strtoull(argv[4], NULL, 0)));
	} else if (argc >= 2 && !strcmp(argv[1], "mem"))
		mem();
	else if (argc >= 2 && !strcmp(argv[1], "font"))
		font();
	else {
		fprintf(stderr, "usage: see host.c\n");
		return 2;
	}
	return 0;
}
