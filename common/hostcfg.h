/* hostcfg.h: the host configuration (docs/host.md, "Configuration"), plain C: the settings, the
 * rule each value must pass, and the record that keeps them in the store partition. The kernel
 * (config.c, and the DCUI through it) applies these rules; partitions/config-record.ts is the
 * TypeScript twin, held to the same answers by test/vectors/host-settings.json and
 * config-record.json. */
#ifndef BF_HOSTCFG_H
#define BF_HOSTCFG_H
#include "bftypes.h"

/* Where: the last HOSTCFG_AREA_SIZE bytes of the partition with this GPT name, a marker
 * sector then two slots. Without the marker nobody writes there. */
#define HOSTCFG_PARTITION   "store"
#define HOSTCFG_AREA_SIZE   12288u
#define HOSTCFG_MARKER      "BFCFAREA"
#define HOSTCFG_MARKER_SIZE 4096u
#define HOSTCFG_SLOT_SIZE   4096u

/* The record, little-endian, at the start of a slot:
 *   0 magic "BFHOSTCF"   8 u32 format   12 u32 seq   16 u32 text length   20 u32 CRC-32
 *   24 text: "key=value\n" lines
 * The CRC covers bytes 0-19 and the text. */
#define HOSTCFG_MAGIC       "BFHOSTCF"
#define HOSTCFG_FORMAT      1
#define HOSTCFG_HEADER_SIZE 24u
#define HOSTCFG_TEXT_MAX    (HOSTCFG_SLOT_SIZE - HOSTCFG_HEADER_SIZE)

/* A value: at most HOSTCFG_VALUE_MAX - 1 bytes (the array holds the NUL too). */
#define HOSTCFG_VALUE_MAX   128
#define HOSTCFG_NKEYS       7

/* The keys in record order, with their defaults; an empty root.password means "not set". */
extern const struct hostcfg_key {
	const char *name, *def;
} hostcfg_keys[HOSTCFG_NKEYS];

struct hostcfg {
	char val[HOSTCFG_NKEYS][HOSTCFG_VALUE_MAX];
};

void hostcfg_defaults(struct hostcfg *c);
/* The value of `key`, or NULL when there is no such setting. */
const char *hostcfg_get(const struct hostcfg *c, const char *key);
/* Does `value` pass `key`'s rule? 0, or -1 with "KEY: why" (or "unknown setting KEY") in err. */
int hostcfg_check(const char *key, const char *value, char *err, size_t errlen);
/* hostcfg_check, then store the value. */
int hostcfg_set(struct hostcfg *c, const char *key, const char *value, char *err, size_t errlen);

/* Apply record text over the defaults, line by line (a later line for a key wins). A line whose
 * key is unknown or whose value fails its rule is skipped: `skip` (may be NULL) hears its line
 * number and why. The number of lines applied, or -1 with err when the text is not
 * "key=value\n" lines. */
int hostcfg_parse(struct hostcfg *c, const char *text, size_t len,
		  void (*skip)(void *ctx, unsigned line, const char *why), void *ctx, char *err, size_t errlen);
/* The settings as record text, every key in hostcfg_keys order; its length, or -1 when it does
 * not fit in max bytes. */
int hostcfg_format(const struct hostcfg *c, char *out, size_t max);

/* A valid record in rec[0, len): header, CRC and text lines (hostcfg_parse's structure). 0 with
 * its seq and text, or -1 with err. */
int hostcfg_decode(const uint8_t *rec, size_t len, uint32_t *seq, const char **text, uint32_t *textlen, char *err,
		   size_t errlen);
/* The record for `text`; its length, or 0 when it does not fit in max bytes or in a slot. */
size_t hostcfg_encode(uint32_t seq, const char *text, uint32_t textlen, uint8_t *rec, size_t max);
/* Which of two slots is current: the valid one, or of two valid ones the newer, seq compared as
 * (int32_t)(seq1 - seq0) > 0 so it may wrap. 0, 1, or -1 when neither is valid. */
int hostcfg_current(int valid0, uint32_t seq0, int valid1, uint32_t seq1);

#endif
