/* hexio.h: hex arguments in, hex and JSON-string answers out, for the host test programs the
 * TypeScript tests drive (see test/helpers/c-host.ts). Host-only; static inline, so a program
 * that uses only some of them still builds with -Werror. */
#ifndef BF_TEST_HEXIO_H
#define BF_TEST_HEXIO_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decode `s` ("-" for empty) into at most `max` bytes; exits 2 on a non-hex digit. */
static inline size_t unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;

	if (strcmp(s, "-") == 0)
		return 0;
	for (; s[0] && s[1] && n < max; s += 2) {
		unsigned v;
		if (sscanf(s, "%2x", &v) != 1) {
			fprintf(stderr, "bad hex\n");
			exit(2);
		}
		out[n++] = (uint8_t)v;
	}
	return n;
}

static inline void hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

/* n bytes as a JSON string, one char per byte: the TypeScript side reads them back as latin1. */
static inline void json_bytes(const char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

#endif
