/* hex.h: one hexadecimal digit's value, for the parsers that read hex text (SHA256SUMS digests,
 * GUIDs on the Linux command line). Inline, so every build (loader, kernel, host tools) has it
 * without another unit to link. */
#ifndef BF_HEX_H
#define BF_HEX_H

/* 0-15, or -1 when c is not a hex digit (either case). */
static inline int bf_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
