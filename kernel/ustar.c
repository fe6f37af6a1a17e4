/* ustar.c: reading POSIX ustar archives (IEEE Std 1003.1-2017, pax, "ustar Interchange Format"),
 * the format of the bank's module archives. The archive is untrusted input as far as this file
 * is concerned (the loader checked its sha256, but against a manifest the same builder wrote),
 * so every field is checked before use: the header checksum, the "ustar" magic, octal fields
 * that must be octal, a member size that must fit in what is left of the archive and under
 * USTAR_FILE_MAX, paths that must be NUL-terminated, relative after normalisation, and free of
 * ".." components. An archive ends with a zero block; running out of bytes before it is a
 * truncated archive. ustar_next returns 1 with the next entry, 0 at the end, -1 with t->err.
 * Also built for the host by test/c/system-host.c, which fuzzes it under ASan. */
#include "system.h"

#define BLOCK 512

/* Header field offsets and lengths (pax, "ustar Interchange Format", Table: ustar Header Block). */
enum {
	H_NAME = 0, H_MODE = 100, H_SIZE = 124, H_CHKSUM = 148, H_TYPEFLAG = 156,
	H_MAGIC = 257, H_PREFIX = 345,
};

void ustar_open(struct ustar *t, const void *buf, uint64_t len)
{
	t->buf = buf;
	t->len = len;
	t->off = 0;
	t->err[0] = 0;
}

static int fail(struct ustar *t, const char *why)
{
	ksnprintf(t->err, sizeof t->err, "at byte %lu: %s", t->off, why);
	return -1;
}

/* An octal field: digits, optionally led by spaces and ended by NUL or space. -1 if malformed. */
static int octal(const uint8_t *f, int n, uint64_t *out)
{
	uint64_t v = 0;
	int i = 0, digits = 0;

	while (i < n && f[i] == ' ')
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
		if (v >> 60)
			return -1;
		v = v << 3 | (uint64_t)(f[i] - '0');
	}
	if (!digits)
		return -1;
	for (; i < n; i++)
		if (f[i] != 0 && f[i] != ' ')
			return -1;
	*out = v;
	return 0;
}

/* Copy a field that may fill its whole width without a NUL; -1 if it has bytes after a NUL
 * that make no sense or characters we will not put in a path. */
static int field(const uint8_t *f, int n, char *out, int *len)
{
	int i;

	for (i = 0; i < n && f[i]; i++) {
		if (f[i] < 0x20 || f[i] == 0x7f)
			return -1;
		out[i] = (char)f[i];
	}
	*len = i;
	return 0;
}

/* Strip leading "/" and "./", trailing "/" and empty or "." components; refuse ".."
 * components and over-long names. An empty result is the archive's root ("./"). */
static int normalise(char *p)
{
	char *s = p, *d = p;
	size_t n;

	for (;;) {
		if (*s == '/')
			s++;
		else if (s[0] == '.' && s[1] == '/')
			s += 2;
		else
			break;
	}
	while (*s) {
		char *c = s;

		while (*s && *s != '/')
			s++;
		n = (size_t)(s - c);
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return -1;
		if (n == 0 || (n == 1 && c[0] == '.')) {   /* "a//b", "a/./b": skip the component */
			if (*s)
				s++;
			continue;
		}
		if (n > FS_NAME_MAX)
			return -1;
		if (d != p)
			*d++ = '/';
		memmove(d, c, n);
		d += n;
		if (*s)
			s++;
	}
	*d = 0;
	return 0;
}

int ustar_next(struct ustar *t, struct ustar_entry *e)
{
	const uint8_t *h;
	uint64_t size, sum, mode, have = 0;
	int i, nlen, plen;
	char name[101], prefix[156];

	if (t->off > t->len || t->len - t->off < BLOCK)
		return fail(t, "truncated: no end-of-archive block");
	h = t->buf + t->off;
	for (i = 0; i < BLOCK && !h[i]; i++)
		;
	if (i == BLOCK)
		return 0;   /* the end-of-archive marker; what follows (a second zero block, padding) is ignored */

	/* The checksum sums the header's bytes with the checksum field taken as spaces. */
	for (i = 0; i < BLOCK; i++)
		have += i >= H_CHKSUM && i < H_CHKSUM + 8 ? ' ' : h[i];
	if (octal(h + H_CHKSUM, 8, &sum) < 0 || sum != have)
		return fail(t, "bad header checksum");
	if (memcmp(h + H_MAGIC, "ustar", 5) != 0 || (h[H_MAGIC + 5] != 0 && h[H_MAGIC + 5] != ' '))
		return fail(t, "not a ustar header");
	if (octal(h + H_SIZE, 12, &size) < 0 || octal(h + H_MODE, 8, &mode) < 0)
		return fail(t, "bad size or mode field");

	memset(name, 0, sizeof name);
	memset(prefix, 0, sizeof prefix);
	if (field(h + H_NAME, 100, name, &nlen) < 0 || field(h + H_PREFIX, 155, prefix, &plen) < 0 || nlen == 0)
		return fail(t, "bad path");
	if (plen)
		ksnprintf(e->path, sizeof e->path, "%s/%s", prefix, name);
	else
		ksnprintf(e->path, sizeof e->path, "%s", name);
	if (normalise(e->path) < 0)
		return fail(t, "path has a name over 59 bytes or leaves the archive (\"..\")");

	if (!e->path[0] && h[H_TYPEFLAG] != '5')
		return fail(t, "a member that is not a directory has an empty path");

	switch (h[H_TYPEFLAG]) {
	case '0':
	case '7':   /* contiguous file: an ordinary file to us */
	case 0:
		e->type = USTAR_FILE;
		break;
	case '5':
		e->type = USTAR_DIR;
		break;
	default:
		e->type = USTAR_OTHER;
		break;
	}
	/* Links, devices, directories and FIFOs carry no data whatever their size field says; other
	 * types (pax 'x' and 'g', GNU 'L') do, and are skipped over as USTAR_OTHER. */
	if (h[H_TYPEFLAG] >= '1' && h[H_TYPEFLAG] <= '6')
		size = 0;
	if (size > USTAR_FILE_MAX)
		return fail(t, "member larger than 16 MiB");
	if (size > t->len - t->off - BLOCK)
		return fail(t, "truncated: member runs past the end of the archive");
	e->mode = (uint32_t)(mode & 07777);
	e->data = h + BLOCK;
	e->size = size;
	t->off += BLOCK + (size + BLOCK - 1) / BLOCK * BLOCK;
	return 1;
}
