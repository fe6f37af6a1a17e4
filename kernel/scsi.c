/* scsi.c: Bulk-Only Transport wrappers (BOT 5.1-5.3, 6.3) and the SCSI commands and answers a USB
 * stick needs (SPC-4 6.4 INQUIRY, 6.37 REQUEST SENSE, 4.5 sense data; SBC-3 5.16 and 5.17 READ
 * CAPACITY, 5.11 READ(10), 5.38 WRITE(10), 5.24 SYNCHRONIZE CACHE(10)). No register access: usb.h.
 * BOT is little-endian, SCSI big-endian. */
#include "usb.h"

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int bot_cbw(uint8_t out[CBW_LEN], uint32_t tag, uint32_t data_len, int dir, uint8_t lun, const uint8_t *cdb,
	    uint8_t cdb_len)
{
	if (cdb_len < 1 || cdb_len > 16 || lun > 15)
		return -1;
	memset(out, 0, CBW_LEN);
	put_le32(out, CBW_SIGNATURE);
	put_le32(out + 4, tag);
	put_le32(out + 8, data_len);
	out[12] = dir == BOT_DIR_IN ? 0x80 : 0;   /* bmCBWFlags bit 7; ignored when no data moves */
	out[13] = lun;
	out[14] = cdb_len;
	memcpy(out + 15, cdb, cdb_len);
	return 0;
}

int bot_csw(const uint8_t *p, uint32_t len, uint32_t tag, uint32_t data_len, uint32_t *residue)
{
	uint8_t status;

	/* Valid (6.3.1): 13 bytes, the signature, our tag. */
	if (len != CSW_LEN || get_le32(p) != CSW_SIGNATURE || get_le32(p + 4) != tag)
		return CSW_INVALID;
	status = p[12];
	*residue = get_le32(p + 8);
	/* Meaningful (6.3.2): a known status; a residue no larger than what we asked to move. */
	if (status > CSW_PHASE_ERROR)
		return CSW_INVALID;
	if (status != CSW_PHASE_ERROR && *residue > data_len)
		return CSW_INVALID;
	return status;
}

int scsi_cdb_simple(uint8_t cdb[16], uint8_t op, uint8_t alloc_len)
{
	memset(cdb, 0, 16);
	cdb[0] = op;
	cdb[4] = op == SCSI_TEST_UNIT_READY ? 0 : alloc_len;
	return 6;
}

int scsi_cdb_rw10(uint8_t cdb[16], uint8_t op, uint32_t lba, uint16_t blocks)
{
	memset(cdb, 0, 16);
	cdb[0] = op;
	put_be32(cdb + 2, lba);
	cdb[7] = (uint8_t)(blocks >> 8);
	cdb[8] = (uint8_t)blocks;
	return 10;
}

int scsi_cdb_read_capacity10(uint8_t cdb[16])
{
	memset(cdb, 0, 16);
	cdb[0] = SCSI_READ_CAPACITY10;
	return 10;
}

int scsi_cdb_read_capacity16(uint8_t cdb[16], uint32_t alloc_len)
{
	memset(cdb, 0, 16);
	cdb[0] = SCSI_SERVICE_ACTION_IN16;
	cdb[1] = SCSI_SA_READ_CAPACITY16;
	put_be32(cdb + 10, alloc_len);
	return 16;
}

/* Copies an ASCII field, keeping printable characters only, trimming trailing spaces. */
static void field(char *dst, const uint8_t *src, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7F ? (char)src[i] : '?';
	while (i > 0 && dst[i - 1] == ' ')
		i--;
	dst[i] = 0;
}

int scsi_parse_inquiry(const uint8_t *p, uint32_t len, struct scsi_inquiry *out)
{
	memset(out, 0, sizeof *out);
	if (len < 5)
		return -1;
	out->peripheral = p[0];
	out->removable = !!(p[1] & 0x80);
	/* Bytes 8-15 vendor, 16-31 product, when the device sent that much. */
	if (len >= 16)
		field(out->vendor, p + 8, 8);
	if (len >= 32)
		field(out->product, p + 16, 16);
	return 0;
}

static int block_size_ok(uint32_t bs)
{
	return bs >= 512 && bs <= 4096 && !(bs & (bs - 1));
}

int scsi_parse_capacity10(const uint8_t *p, uint32_t len, uint64_t *blocks, uint32_t *block_size, int *need16)
{
	uint32_t last;

	if (len < 8)
		return -1;
	last = get_be32(p);
	*block_size = get_be32(p + 4);
	*need16 = last == 0xFFFFFFFFu;
	*blocks = (uint64_t)last + 1;
	return *need16 || block_size_ok(*block_size) ? 0 : -1;
}

int scsi_parse_capacity16(const uint8_t *p, uint32_t len, uint64_t *blocks, uint32_t *block_size)
{
	uint64_t last;

	if (len < 12)
		return -1;
	last = (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
	*block_size = get_be32(p + 8);
	if (last == UINT64_MAX || !block_size_ok(*block_size))
		return -1;
	*blocks = last + 1;
	return 0;
}

int scsi_parse_sense(const uint8_t *p, uint32_t len, struct scsi_sense *out)
{
	uint8_t code;

	memset(out, 0, sizeof *out);
	if (len < 1)
		return -1;
	code = p[0] & 0x7F;
	if (code == 0x70 || code == 0x71) {
		/* Fixed format: key in byte 2, ASC/ASCQ in 12/13 when the additional sense length
		 * (byte 7) and what arrived both reach them. */
		uint32_t have;

		if (len < 3)
			return -1;
		out->key = p[2] & 0x0F;
		have = len >= 8 ? 8u + p[7] : len;
		if (have > len)
			have = len;
		if (have >= 14)
			out->asc = p[12], out->ascq = p[13];
		return 0;
	}
	if (code == 0x72 || code == 0x73) {
		/* Descriptor format: key, ASC, ASCQ in bytes 1-3. */
		if (len < 4)
			return -1;
		out->key = p[1] & 0x0F;
		out->asc = p[2];
		out->ascq = p[3];
		return 0;
	}
	return -1;
}

int scsi_sense_action(const struct scsi_sense *s)
{
	switch (s->key) {
	case SENSE_RECOVERED:
		return SENSE_ACT_OK;          /* done, with the device's own retries */
	case SENSE_NOT_READY:
		/* 3A/xx: no medium; 04/03: needs manual intervention. Other not-ready states
		 * (04/01 becoming ready, 04/00 cause unknown) pass. */
		if (s->asc == 0x3A || (s->asc == 0x04 && s->ascq == 0x03))
			return SENSE_ACT_FAIL;
		return SENSE_ACT_RETRY;
	case SENSE_NO_SENSE:              /* failed without saying why: try again */
	case SENSE_UNIT_ATTENTION:        /* power on, reset, medium changed: reported once */
	case SENSE_ABORTED_COMMAND:
		return SENSE_ACT_RETRY;
	default:
		return SENSE_ACT_FAIL;
	}
}

const char *scsi_sense_key_name(uint8_t key)
{
	static const char *const names[16] = {
		"no sense", "recovered error", "not ready", "medium error", "hardware error", "illegal request",
		"unit attention", "data protect", "blank check", "vendor specific", "copy aborted", "aborted command",
		"reserved", "volume overflow", "miscompare", "completed",
	};
	return names[key & 0x0F];
}
