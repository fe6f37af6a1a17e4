/* sha256.h: SHA-256 (FIPS 180-4), for verifying what the loader loads. */
#ifndef BF_SHA256_H
#define BF_SHA256_H
#include "bftypes.h"

struct bf_sha256 {
	uint32_t h[8];
	uint64_t len;          /* bytes hashed so far */
	uint8_t buf[64];
	size_t fill;
};

void bf_sha256_init(struct bf_sha256 *s);
void bf_sha256_update(struct bf_sha256 *s, const void *data, size_t len);
void bf_sha256_final(struct bf_sha256 *s, uint8_t out[32]);
/* One-shot convenience. */
void bf_sha256(const void *data, size_t len, uint8_t out[32]);

#endif
