/* byteorder.h: little-endian fields in on-disk and in-memory formats (GPT, ELF, bank state,
 * configuration record), read and written byte by byte so alignment and host byte order never
 * matter. Every C file that decodes such a field uses these, in the loader, the kernel and
 * the host builds alike. */
#ifndef BF_BYTEORDER_H
#define BF_BYTEORDER_H
#include "bftypes.h"

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

#endif
