/* nvmeq.c: NVMe queue entries, PRPs and Identify data, built and read in memory (nvmeq.h says
 * what and where from). nvme.c puts them in front of the controller. */
#include "nvmeq.h"

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

uint64_t nvme_doorbell(unsigned dstrd, uint16_t qid, int cq)
{
	return 0x1000 + (2ull * qid + (cq ? 1 : 0)) * (4ull << dstrd);
}

int nvme_cq_take(struct nvme_cq *cq, struct nvme_cqe *out)
{
	volatile struct nvme_cqe *e = &cq->e[cq->head];

	if ((e->status & 1) != cq->phase)
		return 0;
	/* The phase tag is in the entry's last dword: read the rest only after it. */
	__asm__ volatile("" ::: "memory");
	out->dw0 = e->dw0;
	out->dw1 = e->dw1;
	out->sq_head = e->sq_head;
	out->sq_id = e->sq_id;
	out->cid = e->cid;
	out->status = e->status;
	if (++cq->head == cq->size) {
		cq->head = 0;
		cq->phase ^= 1;
	}
	return 1;
}

int nvme_prps(uint64_t addr, uint32_t bytes, uint32_t page, uint64_t *list, uint64_t list_addr, uint64_t *prp1,
	      uint64_t *prp2)
{
	/* The first page runs from addr to the next page boundary; each PRP after it names a
	 * whole page (4.3: only PRP1 may have an offset, and it must be dword aligned). */
	uint64_t first = page - (addr & (page - 1));
	uint64_t rest, pages;

	if (addr & 3 || bytes == 0)
		return -1;
	*prp1 = addr;
	*prp2 = 0;
	if (bytes <= first)
		return 0;
	rest = bytes - first;
	pages = (rest + page - 1) / page;
	if (pages == 1) {
		*prp2 = addr + first;
		return 0;
	}
	/* A list page holds page / 8 entries; using its last one as a chain to a next list is
	 * not needed for our transfers. */
	if (pages > page / 8)
		return -1;
	for (uint64_t i = 0; i < pages; i++)
		list[i] = addr + first + i * page;
	*prp2 = list_addr;
	return 0;
}

void nvme_parse_ctrl(const uint8_t id[4096], uint32_t min_page, struct nvme_ctrl_info *out)
{
	int end = 40;

	/* MDTS (byte 77): the largest transfer, as a power of two in units of CAP.MPSMIN; 0 means
	 * no limit. Capped at 2 GiB so the shift cannot overflow. */
	out->max_transfer = id[77] == 0 ? 0 : id[77] + __builtin_ctz(min_page) >= 31 ? 1u << 31 : min_page << id[77];
	out->namespaces = le32(id + 516);        /* NN */
	out->volatile_cache = id[525] & 1;       /* VWC */
	for (int i = 0; i < 40; i++) {           /* MN, bytes 24-63, ASCII padded with spaces */
		char c = (char)id[24 + i];
		out->model[i] = c >= 0x20 && c <= 0x7e ? c : '?';
	}
	while (end > 0 && out->model[end - 1] == ' ')
		end--;
	out->model[end] = 0;
}

int nvme_parse_ns(const uint8_t id[4096], struct nvme_ns_info *out, const char **why)
{
	uint8_t flbas = id[26], nlbaf = id[25];
	unsigned fmt = flbas & 0xF;
	const uint8_t *lbaf;
	uint32_t ms;
	uint8_t lbads;

	out->blocks = le64(id);                  /* NSZE */
	if (out->blocks == 0) {
		*why = "not an active namespace (NSZE 0)";
		return -1;
	}
	if (fmt > nlbaf) {
		*why = "FLBAS names an LBA format beyond NLBAF";
		return -1;
	}
	lbaf = id + 128 + 4 * fmt;               /* LBAF0..15: MS 15:0, LBADS 23:16, RP 25:24 */
	ms = (uint32_t)lbaf[0] | (uint32_t)lbaf[1] << 8;
	lbads = lbaf[2];
	if (ms != 0) {
		*why = "the LBA format in use carries metadata";
		return -1;
	}
	if (lbads < 9 || lbads > 12) {
		*why = "the LBA format's data size is not 512..4096 bytes";
		return -1;
	}
	out->block_size = 1u << lbads;
	return 0;
}
