/* fmt.h: a small snprintf for one-line messages, plain C (the loader has no libc).
 * Conversions: %s, %c, %d, %u, %x (with an optional 0-padded width, e.g. %08x), and the same
 * with an l or ll prefix for 64-bit values; %% prints '%'. Output is always NUL-terminated and
 * cut at the buffer's end. */
#ifndef BF_FMT_H
#define BF_FMT_H
#include <stdarg.h>
#include "bftypes.h"

size_t bf_vfmt(char *buf, size_t len, const char *fmt, va_list ap);
size_t bf_fmt(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
