/* bootident.h: how the loader tells a stock Linux kernel where it came from (docs/boot-protocol.md,
 * "What the loader hands to Linux"): three words appended to its command line and stored, the same
 * text, in the EFI variable BankforgeBoot under bankforge's vendor GUID:
 *   bankforge.bank=A bankforge.disk=<disk GUID> bankforge.part=<bank partition GUID>
 * The loader formats them; the mark-good tool (linuxtool/) parses them. Plain C. */
#ifndef BF_BOOTIDENT_H
#define BF_BOOTIDENT_H
#include "bftypes.h"

/* B6E1C4A2-7D3F-4E51-9A08-2C4B5D6E7F80: bankforge's own vendor GUID for EFI variables. */
#define BF_VENDOR_GUID_TEXT "b6e1c4a2-7d3f-4e51-9a08-2c4b5d6e7f80"
#define BF_IDENT_VARIABLE   "BankforgeBoot"
#define BF_IDENT_MAX        128   /* the three words with their spaces and a NUL fit */

struct bf_ident {
	int bank;                 /* 0 = A, 1 = B */
	uint8_t disk_guid[16];    /* on-disk (GPT) byte order */
	uint8_t part_guid[16];
};

/* A GUID in GPT byte order as text (36 characters, upper case) into out[37]. */
void bf_guid_text(const uint8_t guid[16], char out[37]);
/* Text (either case) to GPT byte order; 0, or -1 when it is not a GUID. */
int bf_guid_parse(const char *s, size_t n, uint8_t guid[16]);

/* The three words (no leading or trailing space). Returns their length. */
size_t bf_ident_format(const struct bf_ident *id, char *out, size_t len);

/* Find the three words in a command line (words separated by spaces, tabs or newlines; an EFI
 * variable's text is the same). Each must appear, well formed; a word given twice must have the
 * same value both times (anything else is ambiguous). Returns 0, or -1 with err. */
int bf_ident_parse(const char *text, size_t len, struct bf_ident *out, char *err, size_t errlen);

#endif
