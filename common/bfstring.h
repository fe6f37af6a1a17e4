/* bfstring.h: the few libc functions the shared code calls. The loader and the kernel share the
 * freestanding implementations in bfstring.c; host builds link libc's instead. */
#ifndef BF_STRING_H
#define BF_STRING_H
#include "bftypes.h"

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif
