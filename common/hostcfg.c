/* hostcfg.c: the host settings' rules and the configuration record (hostcfg.h, docs/host.md),
 * plain C. One rule per key, used wherever a value comes in: the DCUI's answers, a record read
 * at boot, and (through the TypeScript twin and the shared vectors) `bankforge config set` and a
 * layout's host settings. A value that breaks its rule never reaches the running system. */
#include "hostcfg.h"
#include "bfstring.h"
#include "byteorder.h"
#include "crc32.h"
#include "fmt.h"

const struct hostcfg_key hostcfg_keys[HOSTCFG_NKEYS] = {
	{ "hostname", "localhost" },
	{ "net.mode", "dhcp" },          /* dhcp | static */
	{ "net.address", "" },           /* static IPv4 settings */
	{ "net.netmask", "" },
	{ "net.gateway", "" },
	{ "net.dns", "" },
	{ "root.password", "" },         /* a $6$ crypt hash */
};

enum { HOSTNAME, NET_MODE, NET_ADDRESS, NET_NETMASK, NET_GATEWAY, NET_DNS, ROOT_PASSWORD };

#define HOSTNAME_MAX 63
#define SALT_MAX 16
#define HASH_LEN 86
#define ROUNDS_MIN 1000u
#define ROUNDS_MAX 999999999u

static int find(const char *key, size_t n)
{
	for (int i = 0; i < HOSTCFG_NKEYS; i++)
		if (strlen(hostcfg_keys[i].name) == n && memcmp(hostcfg_keys[i].name, key, n) == 0)
			return i;
	return -1;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
/* crypt's base-64 alphabet: salts and hashes. */
static int is_b64(char c) { return is_alnum(c) || c == '.' || c == '/'; }

/* A decimal number of 1 to `maxdigits` digits without a leading zero ("0" itself is fine) at
 * *s, advanced past it. -1 when there is none. */
static int64_t number(const char **s, const char *end, int maxdigits)
{
	const char *p = *s;
	int64_t v = 0;

	while (p < end && is_digit(*p) && p - *s < maxdigits + 1)
		v = v * 10 + (*p++ - '0');
	if (p == *s || p - *s > maxdigits || (**s == '0' && p - *s > 1))
		return -1;
	*s = p;
	return v;
}

/* Dotted-quad IPv4: four decimal numbers 0-255 without leading zeros (inet_aton reads "010" as
 * octal 8: refusing it keeps every reader agreeing), separated by single dots, nothing else. */
static int ipv4(const char *s, size_t n, uint32_t *out)
{
	const char *end = s + n;
	uint32_t a = 0;

	for (int part = 0; part < 4; part++) {
		int64_t x = number(&s, end, 3);
		if (x < 0 || x > 255)
			return 0;
		a = a << 8 | (uint32_t)x;
		if (part < 3 && (s == end || *s++ != '.'))
			return 0;
	}
	*out = a;
	return s == end;
}

/* RFC 1123 host names, kept to one label's length in all: letters, digits, '-' and '.', each
 * dot-separated label non-empty and neither starting nor ending with '-'. */
static int hostname(const char *s, size_t n, char *err, size_t errlen)
{
	unsigned label = 1;

	if (n == 0)
		return bf_fmt(err, errlen, "hostname: empty"), -1;
	if (n > HOSTNAME_MAX)
		return bf_fmt(err, errlen, "hostname: %u bytes, at most %d", (unsigned)n, HOSTNAME_MAX), -1;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '.')
			return bf_fmt(err, errlen, "hostname: byte %u is not a letter, digit, '-' or '.'", (unsigned)i + 1), -1;
	for (size_t i = 0; i <= n; label++) {
		size_t e = i;
		while (e < n && s[e] != '.')
			e++;
		if (e == i)
			return bf_fmt(err, errlen, "hostname: label %u is empty", label), -1;
		if (s[i] == '-' || s[e - 1] == '-')
			return bf_fmt(err, errlen, "hostname: label %u starts or ends with '-'", label), -1;
		i = e + 1;
	}
	return 0;
}

/* A SHA-512 crypt hash as crypt(3) and `openssl passwd -6` print it:
 * "$6$" ["rounds=" N "$"] SALT "$" HASH, N 1000..999999999 without a leading zero (crypt prints
 * the clamped value), SALT 0-16 and HASH 86 characters of crypt's base 64. */
static int sha512_crypt(const char *s, size_t n)
{
	const char *end = s + n, *p;

	if (n < 3 || memcmp(s, "$6$", 3) != 0)
		return 0;
	s += 3;
	if ((size_t)(end - s) >= 7 && memcmp(s, "rounds=", 7) == 0) {
		s += 7;
		int64_t r = number(&s, end, 9);
		if (r < ROUNDS_MIN || r > ROUNDS_MAX || s == end || *s++ != '$')
			return 0;
	}
	for (p = s; p < end && is_b64(*p); p++)
		;
	if (p - s > SALT_MAX || p == end || *p++ != '$' || end - p != HASH_LEN)
		return 0;
	for (; p < end; p++)
		if (!is_b64(*p))
			return 0;
	return 1;
}

/* The rule of key k for the n bytes at v. */
static int check(int k, const char *v, size_t n, char *err, size_t errlen)
{
	const char *key = hostcfg_keys[k].name;
	uint32_t a;

	if (n >= HOSTCFG_VALUE_MAX)
		return bf_fmt(err, errlen, "%s: %u bytes, at most %d", key, (unsigned)n, HOSTCFG_VALUE_MAX - 1), -1;
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)v[i] < 0x20 || v[i] == 0x7f)
			return bf_fmt(err, errlen, "%s: control character at byte %u", key, (unsigned)i + 1), -1;
	switch (k) {
	case HOSTNAME:
		return hostname(v, n, err, errlen);
	case NET_MODE:
		if ((n == 4 && memcmp(v, "dhcp", 4) == 0) || (n == 6 && memcmp(v, "static", 6) == 0))
			return 0;
		return bf_fmt(err, errlen, "net.mode: dhcp or static"), -1;
	case NET_ADDRESS:
	case NET_NETMASK:
	case NET_GATEWAY:
	case NET_DNS:
		/* Empty: not configured (DHCP, or no gateway or DNS server). */
		if (n == 0)
			return 0;
		if (!ipv4(v, n, &a))
			return bf_fmt(err, errlen, "%s: not an IPv4 address (four numbers 0-255 without leading zeros)", key), -1;
		/* A mask is ones from the top, then zeros: ~a + 1 is then a power of two. /0 is no network. */
		if (k == NET_NETMASK && (a == 0 || ((~a + 1) & ~a) != 0))
			return bf_fmt(err, errlen, "net.netmask: not a subnet mask (ones then zeros, /1 to /32)"), -1;
		return 0;
	case ROOT_PASSWORD:
		if (n && !sha512_crypt(v, n))
			return bf_fmt(err, errlen, "root.password: not a SHA-512 crypt hash ($6$[rounds=N$]SALT$HASH)"), -1;
		return 0;
	}
	return 0;
}

void hostcfg_defaults(struct hostcfg *c)
{
	for (int i = 0; i < HOSTCFG_NKEYS; i++)
		bf_fmt(c->val[i], HOSTCFG_VALUE_MAX, "%s", hostcfg_keys[i].def);
}

const char *hostcfg_get(const struct hostcfg *c, const char *key)
{
	int k = find(key, strlen(key));

	return k < 0 ? NULL : c->val[k];
}

int hostcfg_check(const char *key, const char *value, char *err, size_t errlen)
{
	int k = find(key, strlen(key));

	if (k < 0)
		return bf_fmt(err, errlen, "unknown setting %.40s", key), -1;
	return check(k, value, strlen(value), err, errlen);
}

int hostcfg_set(struct hostcfg *c, const char *key, const char *value, char *err, size_t errlen)
{
	if (hostcfg_check(key, value, err, errlen) < 0)
		return -1;
	memcpy(c->val[find(key, strlen(key))], value, strlen(value) + 1);
	return 0;
}

/* Is the text "key=value\n" lines? Checked whole before anything is applied. */
static int lines_ok(const char *text, size_t len, char *err, size_t errlen)
{
	unsigned ln = 1;
	int eq = 0;

	if (len && text[len - 1] != '\n')
		return bf_fmt(err, errlen, "config record: text does not end with a newline"), -1;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '=')
			eq = 1;
		if (text[i] != '\n')
			continue;
		if (!eq)
			return bf_fmt(err, errlen, "config record: line %u: no '='", ln), -1;
		ln++;
		eq = 0;
	}
	return 0;
}

int hostcfg_parse(struct hostcfg *c, const char *text, size_t len,
		  void (*skip)(void *ctx, unsigned line, const char *why), void *ctx, char *err, size_t errlen)
{
	char why[160];
	unsigned ln = 0;
	int applied = 0;

	if (lines_ok(text, len, err, errlen) < 0)
		return -1;
	hostcfg_defaults(c);
	for (size_t i = 0; i < len; i++) {
		size_t eq = i, nl;
		int k;

		ln++;
		while (text[eq] != '=')
			eq++;
		for (nl = eq; text[nl] != '\n'; nl++)
			;
		k = find(text + i, eq - i);
		if (k < 0)
			bf_fmt(why, sizeof why, "unknown setting %.*s", (int)(eq - i < 40 ? eq - i : 40), text + i);
		if (k >= 0 && check(k, text + eq + 1, nl - eq - 1, why, sizeof why) == 0) {
			memcpy(c->val[k], text + eq + 1, nl - eq - 1);
			c->val[k][nl - eq - 1] = 0;
			applied++;
		} else if (skip) {
			skip(ctx, ln, why);
		}
		i = nl;
	}
	return applied;
}

int hostcfg_format(const struct hostcfg *c, char *out, size_t max)
{
	size_t n = 0;

	for (int i = 0; i < HOSTCFG_NKEYS; i++) {
		size_t w = bf_fmt(out + n, max - n, "%s=%s\n", hostcfg_keys[i].name, c->val[i]);
		if (w >= max - n)
			return -1;
		n += w;
	}
	return (int)n;
}

static uint32_t record_crc(const uint8_t *rec, const char *text, uint32_t n)
{
	return bf_crc32(bf_crc32(0, rec, 20), text, n);
}

int hostcfg_decode(const uint8_t *rec, size_t len, uint32_t *seq, const char **text, uint32_t *textlen, char *err,
		   size_t errlen)
{
	uint32_t n, format;

	if (len < HOSTCFG_HEADER_SIZE)
		return bf_fmt(err, errlen, "config record: %u bytes, shorter than its %u-byte header", (unsigned)len,
			      HOSTCFG_HEADER_SIZE), -1;
	if (memcmp(rec, HOSTCFG_MAGIC, 8) != 0)
		return bf_fmt(err, errlen, "config record: no magic %s", HOSTCFG_MAGIC), -1;
	if ((format = get32(rec + 8)) != HOSTCFG_FORMAT)
		return bf_fmt(err, errlen, "config record: format %u, expected %d", format, HOSTCFG_FORMAT), -1;
	n = get32(rec + 16);
	if (n > HOSTCFG_TEXT_MAX)
		return bf_fmt(err, errlen, "config record: text length %u over %u", n, HOSTCFG_TEXT_MAX), -1;
	if (n > len - HOSTCFG_HEADER_SIZE)
		return bf_fmt(err, errlen, "config record: text length %u runs past its %u bytes", n, (unsigned)len), -1;
	if (record_crc(rec, (const char *)rec + HOSTCFG_HEADER_SIZE, n) != get32(rec + 20))
		return bf_fmt(err, errlen, "config record: CRC mismatch"), -1;
	if (lines_ok((const char *)rec + HOSTCFG_HEADER_SIZE, n, err, errlen) < 0)
		return -1;
	*seq = get32(rec + 12);
	*text = (const char *)rec + HOSTCFG_HEADER_SIZE;
	*textlen = n;
	return 0;
}

size_t hostcfg_encode(uint32_t seq, const char *text, uint32_t textlen, uint8_t *rec, size_t max)
{
	if (textlen > HOSTCFG_TEXT_MAX || max < HOSTCFG_HEADER_SIZE + (size_t)textlen)
		return 0;
	memcpy(rec, HOSTCFG_MAGIC, 8);
	put32(rec + 8, HOSTCFG_FORMAT);
	put32(rec + 12, seq);
	put32(rec + 16, textlen);
	memcpy(rec + HOSTCFG_HEADER_SIZE, text, textlen);
	put32(rec + 20, record_crc(rec, text, textlen));
	return HOSTCFG_HEADER_SIZE + textlen;
}

int hostcfg_current(int valid0, uint32_t seq0, int valid1, uint32_t seq1)
{
	if (valid0 && valid1)
		return (int32_t)(seq1 - seq0) > 0;
	return valid0 ? 0 : valid1 ? 1 : -1;
}
