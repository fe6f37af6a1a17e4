/* libc.c: freestanding memcpy/memset/memcmp/strlen (declared in common/bfstring.h) for the
 * loader. clang also emits calls to memcpy and memset on its own (struct copies, zeroing), so
 * these must exist even where the source never names them. Byte loops: the loader copies
 * little; the kernel and modules are read by the firmware straight into their pages. */
#include "bfstring.h"

void *memcpy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	uint8_t *d = dst;
	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}
