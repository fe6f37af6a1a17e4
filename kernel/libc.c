/* libc.c: the C library functions the kernel and common/ call (memory and string helpers) and
 * the formatter behind kprintf. Freestanding: clang may emit calls to memcpy, memmove and
 * memset for struct copies, so they must exist under those names.
 *
 * The formatter takes a subset of C's printf: flags '-' and '0', width and precision (numbers
 * or '*'), length modifiers hh h l ll z, conversions d i u x X p s c %. It is also built for
 * the host by test/kernel, which checks it against the C library's snprintf. */
#include "defs.h"

void *memcpy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

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

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (uint8_t)*a - (uint8_t)*b;
}

/* Output that counts every byte but stores only what fits, as snprintf does. */
struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

struct spec {
	int left, zero;
	int width, prec;          /* prec < 0: none given */
};

/* One field: `prefix` (sign or 0x) and `body` (digits or text), padded to the width. */
static void field(struct out *o, const struct spec *sp, const char *prefix, const char *body, int blen, int zeros)
{
	int plen = (int)strlen(prefix);
	int padn = sp->width - plen - zeros - blen;

	if (!sp->left && !sp->zero)
		pad(o, ' ', padn);
	while (*prefix)
		put(o, *prefix++);
	if (!sp->left && sp->zero)
		pad(o, '0', padn);
	pad(o, '0', zeros);
	while (blen-- > 0)
		put(o, *body++);
	if (sp->left)
		pad(o, ' ', padn);
}

static void number(struct out *o, struct spec sp, unsigned long long v, int neg, unsigned base, int upper, const char *prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;

	/* C: with a precision, a zero value may print no digits and the '0' flag is ignored. */
	if (sp.prec >= 0)
		sp.zero = 0;
	while (v || (n == 0 && sp.prec != 0)) {
		tmp[sizeof tmp - 1 - n++] = digits[v % base];
		v /= base;
	}
	field(o, &sp, neg ? "-" : prefix, tmp + sizeof tmp - n, n, sp.prec > n ? sp.prec - n : 0);
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		struct spec sp = { 0, 0, 0, -1 };
		int lng = 0;           /* -2 hh, -1 h, 0 int, 1 long, 2 long long, 3 size_t */
		unsigned long long u;
		long long s;

		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		for (fmt++; *fmt == '-' || *fmt == '0'; fmt++)
			*(*fmt == '-' ? &sp.left : &sp.zero) = 1;
		if (*fmt == '*') {
			sp.width = va_arg(ap, int);
			if (sp.width < 0)
				sp.left = 1, sp.width = -sp.width;
			fmt++;
		}
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			sp.width = sp.width * 10 + (*fmt - '0');
		if (*fmt == '.') {
			sp.prec = 0;
			if (*++fmt == '*') {
				sp.prec = va_arg(ap, int);
				fmt++;
			}
			for (; *fmt >= '0' && *fmt <= '9'; fmt++)
				sp.prec = sp.prec * 10 + (*fmt - '0');
		}
		if (sp.left)
			sp.zero = 0;
		for (;; fmt++) {
			if (*fmt == 'l')
				lng = lng == 1 ? 2 : 1;
			else if (*fmt == 'h')
				lng = lng == -1 ? -2 : -1;
			else if (*fmt == 'z')
				lng = 3;
			else
				break;
		}

		switch (*fmt) {
		case 'd':
		case 'i':
			s = lng == 2 ? va_arg(ap, long long) : lng == 1 || lng == 3 ? va_arg(ap, long) : va_arg(ap, int);
			if (lng == -1)
				s = (short)s;
			else if (lng == -2)
				s = (signed char)s;
			/* Negate as unsigned so that LLONG_MIN does not overflow. */
			number(&o, sp, s < 0 ? 0ull - (unsigned long long)s : (unsigned long long)s, s < 0, 10, 0, "");
			break;
		case 'u':
		case 'x':
		case 'X':
			u = lng == 2 ? va_arg(ap, unsigned long long)
			    : lng == 1 || lng == 3 ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			if (lng == -1)
				u = (unsigned short)u;
			else if (lng == -2)
				u = (unsigned char)u;
			number(&o, sp, u, 0, *fmt == 'u' ? 10 : 16, *fmt == 'X', "");
			break;
		case 'p':
			number(&o, sp, (uintptr_t)va_arg(ap, void *), 0, 16, 0, "0x");
			break;
		case 'c': {
			char c = (char)va_arg(ap, int);
			sp.zero = 0;
			field(&o, &sp, "", &c, 1, 0);
			break;
		}
		case 's': {
			const char *str = va_arg(ap, const char *);
			int n = 0;
			if (!str)
				str = "(null)";
			/* Stop at the precision without reading further: fields need not be terminated. */
			while ((sp.prec < 0 || n < sp.prec) && str[n])
				n++;
			sp.zero = 0;
			field(&o, &sp, "", str, n, 0);
			break;
		}
		case '%':
			put(&o, '%');
			break;
		default:
			/* Unknown conversion: show it rather than guess at its argument. */
			put(&o, '%');
			if (!*fmt)
				fmt--;
			else
				put(&o, *fmt);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = 0;
	return (int)o.len;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
