/* libc.c: the C library functions only the kernel calls (fbcon.c scrolls with memmove, options
 * are compared with strcmp). memcpy, memset, memcmp and strlen are shared with the loader
 * (common/bfstring.c), and so is the formatter (common/fmt.c). */
#include "defs.h"

void *memmove(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (uint8_t)*a - (uint8_t)*b;
}

/* snprintf under the kernel's name and with C's int result, for the callers that count on it
 * (p += ksnprintf(...)); the work is bf_vfmt's. */
int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = (int)bf_vfmt(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
