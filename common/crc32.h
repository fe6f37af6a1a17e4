/* crc32.h: CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320), the CRC of GPT and of our records. */
#ifndef BF_CRC32_H
#define BF_CRC32_H
#include "bftypes.h"

/* Continue a CRC: start with crc = 0; the result of one call feeds the next. */
uint32_t bf_crc32(uint32_t crc, const void *data, size_t len);

#endif
