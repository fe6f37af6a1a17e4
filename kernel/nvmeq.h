/* nvmeq.h: the parts of NVMe that are plain arithmetic on memory (nvmeq.c): submission entries,
 * PRP entries for a buffer, doorbell offsets, taking completions by the phase tag, and reading
 * Identify data. No MMIO, so test/kernel runs it on the host. References: NVM Express Base
 * Specification 1.4 ("NVMe"): 3.1 (controller registers, doorbells), 4.2 (submission queue
 * entry), 4.3 (PRP entries and lists), 4.6 (completion queue entry, phase tag), 5.15 (Identify). */
#ifndef KERNEL_NVMEQ_H
#define KERNEL_NVMEQ_H
#include "../common/bftypes.h"

/* Opcodes: admin (NVMe 5) and NVM I/O (NVM command set 6). */
enum {
	NVME_ADMIN_CREATE_SQ = 0x01, NVME_ADMIN_CREATE_CQ = 0x05, NVME_ADMIN_IDENTIFY = 0x06,
	NVME_ADMIN_SET_FEATURES = 0x09,
	NVME_IO_FLUSH = 0x00, NVME_IO_WRITE = 0x01, NVME_IO_READ = 0x02,
};
enum { NVME_CNS_NAMESPACE = 0x00, NVME_CNS_CONTROLLER = 0x01, NVME_CNS_ACTIVE_NSIDS = 0x02 };
#define NVME_FEAT_NUM_QUEUES 0x07

struct nvme_sqe {                 /* NVMe 4.2, 64 bytes */
	uint32_t cdw0;            /* opcode 7:0, command identifier 31:16 */
	uint32_t nsid;
	uint32_t cdw2, cdw3;
	uint64_t mptr;
	uint64_t prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct nvme_cqe {                 /* NVMe 4.6, 16 bytes */
	uint32_t dw0;             /* command specific */
	uint32_t dw1;
	uint16_t sq_head, sq_id;
	uint16_t cid;
	uint16_t status;          /* phase tag in bit 0, status field in 15:1 */
};

/* A completion queue as its consumer sees it: entries in memory the controller writes, the
 * next entry to look at, and the phase tag that marks a new entry there. The queue memory
 * starts zeroed and the phase at 1 (NVMe 4.6: the controller inverts the tag on each pass). */
struct nvme_cq {
	volatile struct nvme_cqe *e;
	uint16_t size, head;
	uint16_t phase;
};

/* The doorbell register of queue `qid` (NVMe 3.1.24, 3.1.25): the submission queue's tail, or
 * the completion queue's head, at 0x1000 + (2 qid + cq) * (4 << CAP.DSTRD). */
uint64_t nvme_doorbell(unsigned dstrd, uint16_t qid, int cq);

/* Takes the entry at the head when its phase tag is the current one: copies it to *out,
 * advances the head (inverting the expected phase on wrapping) and returns 1; 0 when the
 * controller has not posted it yet. */
int nvme_cq_take(struct nvme_cq *cq, struct nvme_cqe *out);

/* The status field of a completion (bits 15:1: DNR, M, CRD, SCT, SC), 0 for success. */
static inline uint16_t nvme_status(const struct nvme_cqe *c)
{
	return (uint16_t)(c->status >> 1);
}

/* PRP1 and PRP2 for `bytes` (> 0) at physical `addr` (dword aligned) with memory pages of
 * `page` bytes (NVMe 4.3): PRP1 is the address (with its offset); PRP2 is the next page when the
 * transfer ends there, or else the address of a PRP list that this fills in `list` (one page,
 * at physical address `list_addr`; a transfer that would need a second list page is refused).
 * 0, or -1 when the buffer is not dword aligned or too long for one list. */
int nvme_prps(uint64_t addr, uint32_t bytes, uint32_t page, uint64_t *list, uint64_t list_addr, uint64_t *prp1,
	      uint64_t *prp2);

struct nvme_ctrl_info {
	uint32_t max_transfer;    /* bytes per command (MDTS), 0 for no limit */
	uint32_t namespaces;      /* NN */
	int volatile_cache;       /* VWC bit 0: Flush does something */
	char model[41];
};

struct nvme_ns_info {
	uint64_t blocks;          /* NSZE */
	uint32_t block_size;      /* of the format in use (FLBAS) */
};

/* Identify Controller data (4096 bytes; NVMe Figure 247), with CAP.MPSMIN's page size in bytes. */
void nvme_parse_ctrl(const uint8_t id[4096], uint32_t min_page, struct nvme_ctrl_info *out);

/* Identify Namespace data (NVM command set Figure 245). 0, or -1 with `why` set for a namespace
 * we cannot drive: none allocated, metadata with the data, or a block size not 512..4096. */
int nvme_parse_ns(const uint8_t id[4096], struct nvme_ns_info *out, const char **why);

#endif
