/* ata.h: the parts of SATA through AHCI that are plain arithmetic on memory (ata.c): building
 * the Register Host-to-Device FIS of a command, a command header, the PRD table for a buffer,
 * and reading IDENTIFY DEVICE data. No port or MMIO access, so test/kernel runs it on the host.
 * References: ACS-3 (ATA/ATAPI Command Set 3, T13/2161-D r5) 7.12 IDENTIFY DEVICE; Serial ATA
 * AHCI 1.3.1 4.2.2 (command header), 4.2.3 (command table, PRD entries); SATA 3.2 10.5.5
 * (Register Host to Device FIS). */
#ifndef KERNEL_ATA_H
#define KERNEL_ATA_H
#include "../common/bftypes.h"

/* ATA commands (ACS-3 7.x). */
enum {
	ATA_READ_DMA_EXT = 0x25,
	ATA_WRITE_DMA_EXT = 0x35,
	ATA_FLUSH_CACHE_EXT = 0xEA,
	ATA_IDENTIFY_DEVICE = 0xEC,
};

#define ATA_FIS_H2D_BYTES 20
#define ATA_MAX_SECTORS_EXT 65536u   /* a 16-bit count, 0 meaning 65536 (ACS-3 7.22.3) */
#define AHCI_PRD_MAX_BYTES (4u << 20) /* a PRD entry's 22-bit byte count (AHCI 4.2.3.3) */

struct ahci_prd {                    /* AHCI 4.2.3.3, 16 bytes */
	uint32_t dba, dbau, reserved, dbc;
};

/* A Register H2D FIS (type 0x27, C bit set: a command) for `command` with a 48-bit `lba` and a
 * sector `count` (1..65536; 65536 is sent as 0), LBA mode. Commands without LBA or count pass 0. */
void ata_fis_h2d(uint8_t fis[ATA_FIS_H2D_BYTES], uint8_t command, uint64_t lba, uint32_t count);

/* DW0 of a command header: a 5-dword FIS, W when data goes to the device, `prds` PRD entries. */
uint32_t ahci_cmd_dw0(int write, uint16_t prds);

/* Fills up to `max` PRD entries describing `bytes` (even, > 0) at physical address `addr`
 * (even); returns how many, or -1 when `max` are not enough or an argument is odd. */
int ahci_fill_prdt(struct ahci_prd *prd, int max, uint64_t addr, uint32_t bytes);

struct ata_identity {
	uint64_t sectors;        /* user-addressable logical sectors */
	uint32_t sector_size;    /* logical sector size in bytes */
	int lba48;               /* the 48-bit feature set is supported and enabled */
	int flush_ext;           /* FLUSH CACHE EXT is supported */
	char model[41];          /* words 27-46, trailing spaces dropped */
};

/* Parses IDENTIFY DEVICE data (256 little-endian words). 0, or -1 with `why` set when the data
 * is not an ATA device's or describes one we cannot drive (no 48-bit addressing, a logical
 * sector that is not 512..4096 bytes and a power of two). */
int ata_parse_identify(const uint8_t id[512], struct ata_identity *out, const char **why);

#endif
