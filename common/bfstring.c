/* bfstring.c: memcpy, memset, memcmp and strlen (declared in bfstring.h) for the loader and the
 * kernel, which have no C library. clang also emits calls to memcpy and memset on its own (struct
 * copies, zeroing), so these must exist even where the source never names them. Byte loops: the
 * loader copies little, and the kernel's hot copies are page-sized and rare.
 *
 * Host programs link the C library's versions instead and must not list this file; the kernel's
 * host test builds it under other names (-Dmemcpy=kmemcpy ...) to run it. -ffreestanding keeps
 * clang from turning these loops back into calls to the functions they define. */
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
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}
