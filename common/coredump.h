/* coredump.h: the on-disk format of the core-dump partition (docs/coredump.md is the spec;
 * partitions/coredump.ts is its TypeScript twin). The kernel writes dumps in it when it dies;
 * `bankforge coredump` reads and clears them; host tests check both sides against each other.
 *
 * The partition starts with a partition header (in a BF_CD_BLOCK of its own) naming the slot
 * size; the rest is fixed-size slots used round-robin by sequence number: dump `seq` goes to
 * slot (seq - 1) % slot_count. A slot is a dump header (one 512-byte record at the start of a
 * BF_CD_BLOCK) followed by the body at slot offset BF_CD_BLOCK. The writer puts a header in
 * state WRITING first, then the body, then the header again in state COMPLETE with the body's
 * CRC, so a dump cut short is either WRITING or fails its body CRC: both read as incomplete.
 *
 * Offsets are in bytes; every field is little-endian. BF_CD_BLOCK (4096) is a whole number of
 * sectors at both sector sizes we build for, so every piece is written as whole sectors. */
#ifndef BF_COREDUMP_H
#define BF_COREDUMP_H
#include "bftypes.h"
#include "bfstring.h"
#include "crc32.h"

#define BF_CD_PART_MAGIC "BFCDPART"
#define BF_CD_DUMP_MAGIC "BFCDDUMP"
#define BF_CD_VERSION 1
#define BF_CD_BLOCK 4096u                       /* header areas, body start, unit of writes */
#define BF_CD_DEFAULT_SLOT_SIZE (1024u * 1024u) /* used when the partition has no valid header */
#define BF_CD_MIN_SLOT_SIZE (128u * 1024u)      /* a header block, the 64 KiB log and the rest */
#define BF_CD_MAX_SLOTS 4096u                   /* bounds the boot-time scan */

/* The partition header, at partition offset 0. Absent or invalid (a fresh partition is zeros):
 * the default geometry of bf_cd_geometry() with cleared_seq 0. */
struct bf_cd_part_header {
	char magic[8];          /* BF_CD_PART_MAGIC */
	uint32_t version;       /* BF_CD_VERSION */
	uint32_t header_size;   /* sizeof(struct bf_cd_part_header) */
	uint32_t slot_size;     /* bytes, a multiple of BF_CD_BLOCK, at least BF_CD_MIN_SLOT_SIZE */
	uint32_t slot_count;    /* slots that fit after slots_offset */
	uint64_t slots_offset;  /* partition offset of slot 0, a multiple of BF_CD_BLOCK */
	uint64_t cleared_seq;   /* dumps with seq <= cleared_seq are cleared (free); new ones go above */
	uint8_t reserved[20];
	uint32_t crc;           /* CRC-32 of the bytes before it */
};

enum bf_cd_state { BF_CD_WRITING = 1, BF_CD_COMPLETE = 2 };
enum bf_cd_cause { BF_CD_PANIC = 1, BF_CD_EXCEPTION = 2 };

/* Body sections, in this order, each at the offset and with the length the header gives. */
enum bf_cd_section_id {
	BF_CD_SEC_REGS = 0,      /* struct bf_cd_regs */
	BF_CD_SEC_BACKTRACE = 1, /* uint64_t addresses, innermost first (see `cause`) */
	BF_CD_SEC_LOG = 2,       /* the kernel log, oldest byte first */
	BF_CD_SEC_BOOTINFO = 3,  /* struct bf_boot_info as the loader handed it over */
	BF_CD_SECTIONS = 4,
};

struct bf_cd_section {
	uint32_t offset;        /* from the start of the body */
	uint32_t length;
};

/* A dump header: the first 512 bytes of its slot. */
struct bf_cd_header {
	char magic[8];          /* BF_CD_DUMP_MAGIC */
	uint32_t version;       /* BF_CD_VERSION */
	uint32_t header_size;   /* sizeof(struct bf_cd_header) */
	uint64_t seq;           /* 1, 2, 3...: decides the slot and which dump is newest */
	uint32_t slot;          /* the slot it was written to: a header found elsewhere is stale */
	uint32_t state;         /* enum bf_cd_state */
	uint64_t rtc_time;      /* seconds since 1970 (UTC) from the CMOS RTC; 0 when unreadable */
	uint64_t uptime_ms;     /* since the loader started (TSC) */
	uint64_t tsc;           /* TSC at the dump */
	uint64_t tsc_hz;        /* the TSC rate the loader measured */
	uint32_t bank;          /* enum bf_bank: the bank that was running */
	uint32_t bootstate;     /* that bank's bootstate as the loader left it */
	char build[32];         /* the bank's build (boot.cfg build=), NUL-padded */
	uint64_t kernel_start;  /* the kernel's link range and the address of panic(): a kernel ELF */
	uint64_t kernel_end;    /*   whose symbols give the same values is taken to be this build */
	uint64_t panic_addr;
	uint32_t cause;         /* enum bf_cd_cause; for EXCEPTION backtrace[0] is the faulting rip,
	                         * every other address is a return address */
	uint32_t vector;        /* exception vector (EXCEPTION only) */
	uint64_t error_code;    /* exception error code (EXCEPTION only) */
	uint64_t fault_addr;    /* CR2 for a page fault, else 0 */
	char reason[192];       /* the panic message or the exception's name, NUL-padded */
	struct bf_cd_section sections[BF_CD_SECTIONS];
	uint64_t log_written;   /* bytes ever written to the log; more than its length = older text lost */
	uint32_t body_size;     /* bytes of body (the sections, back to back) */
	uint32_t body_crc;      /* CRC-32 of the body; 0 while WRITING */
	uint8_t reserved[116];
	uint32_t header_crc;    /* CRC-32 of the bytes before it */
};

/* Registers of the dying context. */
#define BF_CD_REGS_ALL 1        /* every field is the faulting context's (an exception); without
                                 * it only rip, rsp, rbp and the control registers are (a panic) */
struct bf_cd_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags, cs, ss;
	uint64_t cr0, cr2, cr3, cr4;
	uint32_t flags;         /* BF_CD_REGS_* */
	uint32_t reserved;
};

_Static_assert(sizeof(struct bf_cd_part_header) == 64, "partition header layout");
_Static_assert(sizeof(struct bf_cd_header) == 512, "dump header layout");
_Static_assert(sizeof(struct bf_cd_regs) == 200, "register section layout");

/* Where the slots are. */
struct bf_cd_geometry {
	uint32_t slot_size, slot_count;
	uint64_t slots_offset, cleared_seq;
	int formatted;          /* 1: from a valid partition header; 0: the defaults */
};

/* The geometry of a partition of `part_bytes` whose first bytes are `hdr` (at least the
 * partition header's size): the header's when it is valid and fits, else the default (slots
 * of BF_CD_DEFAULT_SLOT_SIZE after one block, or one slot of all the space when that is less,
 * but at least BF_CD_MIN_SLOT_SIZE). Returns -1 when not even one slot fits. */
static inline int bf_cd_geometry(const void *hdr, uint64_t part_bytes, struct bf_cd_geometry *g)
{
	struct bf_cd_part_header h;

	memcpy(&h, hdr, sizeof h);
	if (memcmp(h.magic, BF_CD_PART_MAGIC, 8) == 0 && h.version == BF_CD_VERSION && h.header_size == sizeof h &&
	    bf_crc32(0, &h, offsetof(struct bf_cd_part_header, crc)) == h.crc && h.slot_size % BF_CD_BLOCK == 0 &&
	    h.slot_size >= BF_CD_MIN_SLOT_SIZE && h.slot_count >= 1 && h.slot_count <= BF_CD_MAX_SLOTS &&
	    h.slots_offset % BF_CD_BLOCK == 0 && h.slots_offset >= BF_CD_BLOCK &&
	    h.slots_offset + (uint64_t)h.slot_size * h.slot_count <= part_bytes) {
		*g = (struct bf_cd_geometry){ h.slot_size, h.slot_count, h.slots_offset, h.cleared_seq, 1 };
		return 0;
	}
	if (part_bytes < BF_CD_BLOCK + BF_CD_MIN_SLOT_SIZE)
		return -1;
	g->slots_offset = BF_CD_BLOCK;
	g->slot_size = BF_CD_DEFAULT_SLOT_SIZE;
	if (part_bytes - BF_CD_BLOCK < BF_CD_DEFAULT_SLOT_SIZE)
		g->slot_size = (uint32_t)((part_bytes - BF_CD_BLOCK) / BF_CD_BLOCK * BF_CD_BLOCK);
	g->slot_count = (uint32_t)((part_bytes - BF_CD_BLOCK) / g->slot_size);
	if (g->slot_count > BF_CD_MAX_SLOTS)
		g->slot_count = BF_CD_MAX_SLOTS;
	g->cleared_seq = 0;
	g->formatted = 0;
	return 0;
}

/* Partition offset of slot `i`'s header; the body follows at + BF_CD_BLOCK. */
static inline uint64_t bf_cd_slot_offset(const struct bf_cd_geometry *g, uint32_t i)
{
	return g->slots_offset + (uint64_t)i * g->slot_size;
}

static inline uint32_t bf_cd_slot_of(const struct bf_cd_geometry *g, uint64_t seq)
{
	return (uint32_t)((seq - 1) % g->slot_count);
}

/* Fills in the header CRC. */
static inline void bf_cd_seal(struct bf_cd_header *h)
{
	h->header_crc = bf_crc32(0, h, offsetof(struct bf_cd_header, header_crc));
}

/* Is `buf` (512 bytes) a valid dump header for slot `slot` of geometry `g`? Copies it to `h`.
 * Checks the header only: a COMPLETE dump's body still has to match body_crc. */
static inline int bf_cd_header_valid(const void *buf, const struct bf_cd_geometry *g, uint32_t slot,
				     struct bf_cd_header *h)
{
	uint64_t end = 0;

	memcpy(h, buf, sizeof *h);
	if (memcmp(h->magic, BF_CD_DUMP_MAGIC, 8) != 0 || h->version != BF_CD_VERSION || h->header_size != sizeof *h ||
	    bf_crc32(0, h, offsetof(struct bf_cd_header, header_crc)) != h->header_crc)
		return 0;
	if (h->seq == 0 || h->slot != slot || bf_cd_slot_of(g, h->seq) != slot ||
	    (h->state != BF_CD_WRITING && h->state != BF_CD_COMPLETE) || h->body_size > g->slot_size - BF_CD_BLOCK)
		return 0;
	for (int i = 0; i < BF_CD_SECTIONS; i++) {
		const struct bf_cd_section *s = &h->sections[i];
		if (s->offset != end || (uint64_t)s->offset + s->length > h->body_size)
			return 0;
		end = (uint64_t)s->offset + s->length;
	}
	return end == h->body_size;
}

#endif
