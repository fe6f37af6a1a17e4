/* bootident.c: the bankforge.bank/disk/part words (bootident.h), formatted by the loader for a
 * Linux kernel and parsed by the mark-good tool. Parsing refuses every doubt: the tool writes to
 * the disk these words name, so a missing, malformed or contradicting word stops it. */
#include "bootident.h"
#include "bfstring.h"
#include "hex.h"
#include "fmt.h"

static const char hexdig[] = "0123456789ABCDEF";
/* Byte order of the text's 16 bytes in the GPT's mixed-endian GUID (UEFI 2.10 appendix A). */
static const uint8_t guid_order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

void bf_guid_text(const uint8_t guid[16], char out[37])
{
	size_t o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		uint8_t b = guid[guid_order[i]];
		out[o++] = hexdig[b >> 4];
		out[o++] = hexdig[b & 15];
	}
	out[o] = 0;
}

int bf_guid_parse(const char *s, size_t n, uint8_t guid[16])
{
	if (n != 36)
		return -1;
	size_t p = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10) {
			if (s[p++] != '-')
				return -1;
		}
		int hi = bf_hexval(s[p]), lo = bf_hexval(s[p + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		guid[guid_order[i]] = (uint8_t)(hi << 4 | lo);
		p += 2;
	}
	return 0;
}

size_t bf_ident_format(const struct bf_ident *id, char *out, size_t len)
{
	char disk[37], part[37];
	bf_guid_text(id->disk_guid, disk);
	bf_guid_text(id->part_guid, part);
	return bf_fmt(out, len, "bankforge.bank=%c bankforge.disk=%s bankforge.part=%s", 'A' + id->bank, disk, part);
}

static int is_sep(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0; }

static int prefix(const char *w, size_t n, const char *p)
{
	size_t pn = strlen(p);
	return n >= pn && memcmp(w, p, pn) == 0;
}

int bf_ident_parse(const char *text, size_t len, struct bf_ident *out, char *err, size_t errlen)
{
	static const char *const keys[3] = { "bankforge.bank=", "bankforge.disk=", "bankforge.part=" };
	int seen[3] = { 0, 0, 0 };
	struct bf_ident got;
	memset(&got, 0, sizeof got);
	size_t i = 0;
	while (i < len) {
		while (i < len && is_sep(text[i]))
			i++;
		size_t s = i;
		while (i < len && !is_sep(text[i]))
			i++;
		const char *w = text + s;
		size_t n = i - s;
		for (int k = 0; k < 3; k++) {
			if (!prefix(w, n, keys[k]))
				continue;
			const char *v = w + strlen(keys[k]);
			size_t vn = n - strlen(keys[k]);
			struct bf_ident one = got;
			if (k == 0) {
				if (vn != 1 || (v[0] != 'A' && v[0] != 'B'))
					return bf_fmt(err, errlen, "bankforge.bank=%.*s: expected A or B", (int)(vn > 40 ? 40 : vn), v), -1;
				one.bank = v[0] - 'A';
			} else if (bf_guid_parse(v, vn, k == 1 ? one.disk_guid : one.part_guid)) {
				return bf_fmt(err, errlen, "%.*s%.*s: not a GUID", (int)strlen(keys[k]), keys[k], (int)(vn > 40 ? 40 : vn), v), -1;
			}
			if (seen[k] && memcmp(&one, &got, sizeof one))
				return bf_fmt(err, errlen, "%.*s given twice with different values", (int)strlen(keys[k]) - 1, keys[k]), -1;
			seen[k] = 1;
			got = one;
		}
	}
	for (int k = 0; k < 3; k++)
		if (!seen[k])
			return bf_fmt(err, errlen, "no %.*s on the command line: not booted by the bankforge loader", (int)strlen(keys[k]) - 1, keys[k]), -1;
	*out = got;
	return 0;
}
