/* bootcfg.c: parse a bank's boot.cfg (ESXi's key=value lines) and SHA256SUMS, plain C, by the
 * rules of docs/boot-protocol.md ("boot.cfg", "SHA256SUMS"); test/vectors/bootcfg.json and
 * sha256sums.json pin them for the TypeScript twin that checks bundles. Everything the loader
 * will act on is checked here, so a damaged file is refused with the line that is wrong (and
 * the bank marked BAD_CONFIG) instead of booting half of what it names. */
#include "bootcfg.h"
#include "fmt.h"
#include "bfstring.h"
#include "hex.h"

/* One line at a time: [*pos, end of line), without the line break and a trailing CR. */
static int next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *n)
{
	if (*pos >= len)
		return 0;
	size_t s = *pos, e = s;
	while (e < len && text[e] != '\n')
		e++;
	*pos = e + 1;
	*line = text + s;
	*n = e - s;
	if (*n && text[e - 1] == '\r')
		(*n)--;
	return 1;
}

static int is_space(char c) { return c == ' ' || c == '\t'; }

static void trim(const char **s, size_t *n)
{
	while (*n && is_space(**s))
		(*s)++, (*n)--;
	while (*n && is_space((*s)[*n - 1]))
		(*n)--;
}

/* Copy a value that must fit its field (with the NUL). */
static int copy_value(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		return -1;
	memcpy(dst, v, n);
	dst[n] = 0;
	return 0;
}

/* A file name in the bank's root: 1..47 printable ASCII bytes, no path separators. */
static int valid_name(const char *s, size_t n)
{
	if (n == 0 || n >= BOOTCFG_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '/' || s[i] == '\\')
			return 0;
	return 1;
}

static int key_is(const char *k, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(k, want, n) == 0;
}

static int parse_modules(const char *v, size_t n, struct bootcfg *out, char *err, size_t errlen, unsigned ln)
{
	static const char sep[] = " --- ";
	out->nmodules = 0;
	while (n) {
		size_t i = 0;
		while (i < n && !(i + 5 <= n && memcmp(v + i, sep, 5) == 0))
			i++;
		const char *name = v;
		size_t nn = i;
		trim(&name, &nn);
		if (!valid_name(name, nn))
			return bf_fmt(err, errlen, "boot.cfg line %u: bad module name", ln), -1;
		if (out->nmodules == BF_MAX_MODULES)
			return bf_fmt(err, errlen, "boot.cfg line %u: more than %d modules", ln, BF_MAX_MODULES), -1;
		copy_value(out->modules[out->nmodules++], BOOTCFG_NAME_MAX, name, nn);
		if (i == n)
			break;
		/* The value is trimmed, so a separator is never its end: a name always follows. */
		v += i + 5;
		n -= i + 5;
	}
	return 0;
}

/* A decimal number of seconds, 0..max. Returns 0, or 1 when the value is bad. */
static int seconds(const char *v, size_t vn, uint32_t max, uint32_t *out)
{
	uint32_t t = 0;
	if (vn == 0)
		return 1;
	for (size_t i = 0; i < vn; i++) {
		if (v[i] < '0' || v[i] > '9')
			return 1;
		t = t * 10 + (uint32_t)(v[i] - '0');
		if (t > max)
			return 1;
	}
	*out = t;
	return 0;
}

int bootcfg_parse(const char *text, size_t len, struct bootcfg *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	const char *line;
	size_t n, pos = 0;
	unsigned ln = 0;
	while (next_line(text, len, &pos, &line, &n)) {
		ln++;
		for (size_t i = 0; i < n; i++)
			if (line[i] == 0)
				return bf_fmt(err, errlen, "boot.cfg line %u: NUL byte", ln), -1;
		trim(&line, &n);
		if (n == 0 || line[0] == '#')
			continue;
		size_t eq = 0;
		while (eq < n && line[eq] != '=')
			eq++;
		if (eq == n)
			return bf_fmt(err, errlen, "boot.cfg line %u: no '='", ln), -1;
		const char *k = line, *v = line + eq + 1;
		size_t kn = eq, vn = n - eq - 1;
		trim(&k, &kn);
		trim(&v, &vn);
		int bad = 0;
		if (key_is(k, kn, "title")) {
			bad = copy_value(out->title, sizeof out->title, v, vn);
		} else if (key_is(k, kn, "build")) {
			bad = copy_value(out->build, sizeof out->build, v, vn);
		} else if (key_is(k, kn, "kernelopt")) {
			bad = copy_value(out->kernelopt, sizeof out->kernelopt, v, vn);
		} else if (key_is(k, kn, "kernel")) {
			bad = !valid_name(v, vn) || copy_value(out->kernel, sizeof out->kernel, v, vn);
		} else if (key_is(k, kn, "initrd")) {
			/* Empty: no initramfs (so a later line can take one back). */
			bad = vn && (!valid_name(v, vn) || copy_value(out->initrd, sizeof out->initrd, v, vn));
			if (!vn)
				out->initrd[0] = 0;
		} else if (key_is(k, kn, "modules")) {
			if (parse_modules(v, vn, out, err, errlen, ln))
				return -1;
		} else if (key_is(k, kn, "timeout")) {
			bad = seconds(v, vn, BOOTCFG_TIMEOUT_MAX, &out->timeout);
		} else if (key_is(k, kn, "watchdog")) {
			bad = seconds(v, vn, BOOTCFG_WATCHDOG_MAX, &out->watchdog);
		}
		/* Other keys (bootstate, updated: the state record decides; unknown ones) are ignored. */
		if (bad) {
			char key[16];
			copy_value(key, sizeof key, k, kn);   /* a key we know: always short */
			return bf_fmt(err, errlen, "boot.cfg line %u: bad value for %s", ln, key), -1;
		}
	}
	if (!out->kernel[0])
		return bf_fmt(err, errlen, "boot.cfg: no kernel="), -1;
	return 0;
}

int sums_parse(const char *text, size_t len, struct sums *out, char *err, size_t errlen)
{
	out->n = 0;
	const char *line;
	size_t n, pos = 0;
	unsigned ln = 0;
	while (next_line(text, len, &pos, &line, &n)) {
		ln++;
		if (n == 0)
			continue;
		/* sha256sum writes "<hash>  <name>" (text mode) or "<hash> *<name>" (binary mode). */
		if (n < 67 || line[64] != ' ' || (line[65] != ' ' && line[65] != '*'))
			return bf_fmt(err, errlen, "SHA256SUMS line %u: not '<sha256>  <name>'", ln), -1;
		if (!valid_name(line + 66, n - 66))
			return bf_fmt(err, errlen, "SHA256SUMS line %u: bad file name", ln), -1;
		if (out->n == SUMS_MAX)
			return bf_fmt(err, errlen, "SHA256SUMS: more than %d files", SUMS_MAX), -1;
		uint8_t *h = out->e[out->n].sha256;
		for (int i = 0; i < 32; i++) {
			int hi = bf_hexval(line[2 * i]), lo = bf_hexval(line[2 * i + 1]);
			if (hi < 0 || lo < 0)
				return bf_fmt(err, errlen, "SHA256SUMS line %u: bad hex", ln), -1;
			h[i] = (uint8_t)(hi << 4 | lo);
		}
		copy_value(out->e[out->n].name, BOOTCFG_NAME_MAX, line + 66, n - 66);
		out->n++;
	}
	return 0;
}

const uint8_t *sums_find(const struct sums *s, const char *name)
{
	/* The last line for a name wins, like a key given twice in boot.cfg. */
	for (uint32_t i = s->n; i-- > 0;)
		if (strlen(s->e[i].name) == strlen(name) && memcmp(s->e[i].name, name, strlen(name)) == 0)
			return s->e[i].sha256;
	return NULL;
}
