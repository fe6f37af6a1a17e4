/* ata.c: ATA commands as AHCI carries them, built and parsed in memory (ata.h says what and
 * where from). ahci.c puts the results into the controller's command lists. */
#include "ata.h"

static uint16_t word(const uint8_t *id, int w)
{
	return (uint16_t)(id[2 * w] | id[2 * w + 1] << 8);
}

void ata_fis_h2d(uint8_t fis[ATA_FIS_H2D_BYTES], uint8_t command, uint64_t lba, uint32_t count)
{
	uint16_t n = (uint16_t)count;   /* 65536 becomes 0, as the count field means it */

	for (int i = 0; i < ATA_FIS_H2D_BYTES; i++)
		fis[i] = 0;
	fis[0] = 0x27;                  /* FIS type: Register Host to Device */
	fis[1] = 0x80;                  /* C: the Command register is updated; PM port 0 */
	fis[2] = command;
	fis[4] = (uint8_t)lba;          /* LBA 7:0 */
	fis[5] = (uint8_t)(lba >> 8);   /* LBA 15:8 */
	fis[6] = (uint8_t)(lba >> 16);  /* LBA 23:16 */
	fis[7] = 0x40;                  /* Device: bit 6, the LBA is a logical block address */
	fis[8] = (uint8_t)(lba >> 24);  /* LBA 31:24 */
	fis[9] = (uint8_t)(lba >> 32);  /* LBA 39:32 */
	fis[10] = (uint8_t)(lba >> 40); /* LBA 47:40 */
	fis[12] = (uint8_t)n;           /* Count 7:0 */
	fis[13] = (uint8_t)(n >> 8);    /* Count 15:8 */
}

uint32_t ahci_cmd_dw0(int write, uint16_t prds)
{
	/* CFL (4:0) in dwords; W is bit 6; PRDTL is 31:16. A, P, R, B, C and the PM port stay 0. */
	return (uint32_t)prds << 16 | (write ? 1u << 6 : 0) | ATA_FIS_H2D_BYTES / 4;
}

int ahci_fill_prdt(struct ahci_prd *prd, int max, uint64_t addr, uint32_t bytes)
{
	int n = 0;

	if ((addr | bytes) & 1 || bytes == 0)
		return -1;
	while (bytes) {
		uint32_t len = bytes < AHCI_PRD_MAX_BYTES ? bytes : AHCI_PRD_MAX_BYTES;
		if (n == max)
			return -1;
		/* DBC holds the byte count minus one (bit 0 always 1: an even count); I (bit 31,
		 * interrupt on completion) stays clear, we poll. */
		prd[n++] = (struct ahci_prd){ (uint32_t)addr, (uint32_t)(addr >> 32), 0, len - 1 };
		addr += len;
		bytes -= len;
	}
	return n;
}

int ata_parse_identify(const uint8_t id[512], struct ata_identity *out, const char **why)
{
	uint16_t w106 = word(id, 106);
	int end = 40;

	/* Word 0 bit 15: 0 for an ATA device (1 would be ATAPI, a packet device). */
	if (word(id, 0) & 0x8000) {
		*why = "not an ATA device (IDENTIFY word 0 bit 15 is set)";
		return -1;
	}
	/* Word 83 bit 10: the 48-bit Address feature set is supported; word 86 bit 10: enabled.
	 * READ/WRITE DMA EXT need it. Words 100-103 then count the user-addressable sectors. */
	out->lba48 = (word(id, 83) & 0xC000) == 0x4000 && word(id, 83) & (1 << 10) && word(id, 86) & (1 << 10);
	if (!out->lba48) {
		*why = "no 48-bit addressing (IDENTIFY words 83 and 86, bit 10)";
		return -1;
	}
	out->sectors = (uint64_t)word(id, 100) | (uint64_t)word(id, 101) << 16 | (uint64_t)word(id, 102) << 32 |
		       (uint64_t)word(id, 103) << 48;
	/* Word 83 bit 13: FLUSH CACHE EXT is supported (word 83 is valid: bits 15:14 are 01). */
	out->flush_ext = !!(word(id, 83) & (1 << 13));
	/* Word 106 is valid when bits 15:14 are 01; then bit 12 says the logical sector is longer
	 * than 256 words, and words 117-118 give its length in words. */
	out->sector_size = 512;
	if ((w106 & 0xC000) == 0x4000 && w106 & (1 << 12))
		out->sector_size = ((uint32_t)word(id, 117) | (uint32_t)word(id, 118) << 16) * 2;
	if (out->sector_size < 512 || out->sector_size > 4096 || out->sector_size & (out->sector_size - 1)) {
		*why = "logical sector size is not 512, 1024, 2048 or 4096 bytes (IDENTIFY words 117-118)";
		return -1;
	}
	if (out->sectors == 0) {
		*why = "no user-addressable sectors (IDENTIFY words 100-103)";
		return -1;
	}
	/* Words 27-46: the model, 40 ASCII characters, each word's two bytes swapped. */
	for (int i = 0; i < 20; i++) {
		out->model[2 * i] = (char)id[2 * (27 + i) + 1];
		out->model[2 * i + 1] = (char)id[2 * (27 + i)];
	}
	while (end > 0 && (out->model[end - 1] == ' ' || out->model[end - 1] == 0))
		end--;
	out->model[end] = 0;
	for (int i = 0; i < end; i++)
		if (out->model[i] < 0x20 || out->model[i] > 0x7e)
			out->model[i] = '?';
	return 0;
}
