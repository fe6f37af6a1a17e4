/* fmt.c: the formatter behind the loader's messages and the kernel's kprintf (see fmt.h). The
 * host build in test/kernel checks it against the C library's snprintf, format by format. */
#include "fmt.h"
#include "bfstring.h"

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

size_t bf_vfmt(char *buf, size_t len, const char *fmt, va_list ap)
{
	struct out o = { buf, len, 0 };

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

		/* Each argument is read at its own type: long and size_t differ between the loader's
		 * ABI and the kernel's, and only va_arg at the right type reads the right bytes. */
		switch (*fmt) {
		case 'd':
		case 'i':
			s = lng == 3 ? va_arg(ap, ptrdiff_t) : lng == 2 ? va_arg(ap, long long)
			    : lng == 1 ? va_arg(ap, long) : va_arg(ap, int);
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
			u = lng == 3 ? va_arg(ap, size_t) : lng == 2 ? va_arg(ap, unsigned long long)
			    : lng == 1 ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
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
	if (len)
		buf[o.len < len ? o.len : len - 1] = 0;
	return o.len;
}

size_t bf_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = bf_vfmt(buf, len, fmt, ap);
	va_end(ap);
	return n;
}
