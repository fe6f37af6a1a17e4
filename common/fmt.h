/* fmt.h: snprintf for the loader and the kernel, which have no C library (fmt.c). A subset of
 * C's printf: flags '-' and '0', a width and a precision (a number or '*'), the length modifiers
 * hh h l ll z, and the conversions d i u x X p s c %. As in C, 'l' is the target's long: 32 bits
 * in the loader (MS ABI), 64 in the kernel, so code built into both writes ll for 64-bit values.
 * Output is cut at the buffer's end and always NUL-terminated (for len > 0); the result is the
 * length the whole output would have had, as snprintf's is. */
#ifndef BF_FMT_H
#define BF_FMT_H
#include <stdarg.h>
#include "bftypes.h"

size_t bf_vfmt(char *buf, size_t len, const char *fmt, va_list ap);
size_t bf_fmt(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
