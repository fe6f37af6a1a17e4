/* disk-host.c: the disk drivers' memory-only parts (kernel/ata.c, kernel/nvmeq.c,
 * kernel/diskpick.c) on the host, for test/kernel/disk.test.ts. One command per stdin line,
 * one JSON answer per line:
 *   fis CMD LBA COUNT                 the H2D FIS as hex
 *   dw0 WRITE PRDS                    a command header's DW0
 *   prdt ADDR BYTES MAX               {"n":N,"prd":[[dba,dbau,dbc],...]}
 *   identify HEX512                   {"sectors":..,"sectorSize":..,"flushExt":..,"model":".."} or {"error":".."}
 *   doorbell DSTRD QID CQ             the register offset
 *   prps ADDR BYTES                   {"ok":0|-1,"prp1":..,"prp2":..,"list":[...]} (list page at 0x7000000)
 *   cq SIZE SCRIPT                    a completion queue of SIZE entries; SCRIPT is a string of 'p'
 *                                     (the controller posts the next command id, with its phase)
 *                                     and 't' (the host takes): {"taken":[cid or -1,...]}
 *   ctrl HEX4096 MINPAGE              Identify Controller: {"maxTransfer":..,"namespaces":..,"vwc":..,"model":".."}
 *   ns HEX4096                        Identify Namespace: {"blocks":..,"blockSize":..} or {"error":".."}
 *   pick TRANSPORT PCI G:T:P/G:T:P/...  diskpick over candidates (guid match, transport, pci location)
 * Numbers are decimal or 0x hex. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../kernel/ata.h"
#include "../../kernel/nvmeq.h"
#include "../../kernel/diskpick.h"
#include "hexio.h"

static uint64_t num(const char *s)
{
	return s ? strtoull(s, NULL, 0) : 0;
}

static void model(const char *m)
{
	json_bytes(m, strlen(m));
}

static void cq(unsigned size, const char *script)
{
	struct nvme_cqe ring[64];
	struct nvme_cq q = { ring, (uint16_t)size, 0, 1 };
	unsigned tail = 0, phase = 1, cid = 0;   /* the controller's side (NVMe 4.6) */
	int first = 1;

	memset(ring, 0, sizeof ring);
	printf("{\"taken\":[");
	for (const char *s = script; *s; s++) {
		if (*s == 'p') {
			ring[tail] = (struct nvme_cqe){ 0, 0, 0, 0, (uint16_t)++cid, (uint16_t)phase };
			if (++tail == size) {
				tail = 0;
				phase ^= 1;
			}
		} else {
			struct nvme_cqe out;
			printf("%s%d", first ? "" : ",", nvme_cq_take(&q, &out) ? out.cid : -1);
			first = 0;
		}
	}
	printf("]}\n");
}

int main(void)
{
	static char line[20000];
	static uint8_t buf[4096];

	while (fgets(line, sizeof line, stdin)) {
		char *cmd = strtok(line, " \n");
		char *a = strtok(NULL, " \n"), *b = strtok(NULL, " \n"), *c = strtok(NULL, " \n");
		const char *why = "";

		if (!cmd)
			continue;
		if (!strcmp(cmd, "fis")) {
			uint8_t fis[ATA_FIS_H2D_BYTES];
			ata_fis_h2d(fis, (uint8_t)num(a), num(b), (uint32_t)num(c));
			printf("\"");
			hex(fis, sizeof fis);
			printf("\"\n");
		} else if (!strcmp(cmd, "dw0")) {
			printf("%u\n", ahci_cmd_dw0((int)num(a), (uint16_t)num(b)));
		} else if (!strcmp(cmd, "prdt")) {
			struct ahci_prd prd[16];
			int n = ahci_fill_prdt(prd, (int)num(c), num(a), (uint32_t)num(b));
			printf("{\"n\":%d,\"prd\":[", n);
			for (int i = 0; i < n; i++)
				printf("%s[%u,%u,%u]", i ? "," : "", prd[i].dba, prd[i].dbau, prd[i].dbc);
			printf("]}\n");
		} else if (!strcmp(cmd, "identify")) {
			struct ata_identity id;
			memset(buf, 0, sizeof buf);
			unhex(a, buf, 512);
			if (ata_parse_identify(buf, &id, &why) < 0) {
				printf("{\"error\":");
				model(why);
				printf("}\n");
			} else {
				printf("{\"sectors\":%llu,\"sectorSize\":%u,\"flushExt\":%d,\"model\":", (unsigned long long)id.sectors,
				       id.sector_size, id.flush_ext);
				model(id.model);
				printf("}\n");
			}
		} else if (!strcmp(cmd, "doorbell")) {
			printf("%llu\n", (unsigned long long)nvme_doorbell((unsigned)num(a), (uint16_t)num(b), (int)num(c)));
		} else if (!strcmp(cmd, "prps")) {
			uint64_t list[512] = { 0 }, prp1 = 0, prp2 = 0;
			int ok = nvme_prps(num(a), (uint32_t)num(b), 4096, list, 0x7000000, &prp1, &prp2);
			printf("{\"ok\":%d,\"prp1\":%llu,\"prp2\":%llu,\"list\":[", ok, (unsigned long long)prp1,
			       (unsigned long long)prp2);
			for (int i = 0; ok == 0 && prp2 == 0x7000000 && i < 512 && list[i]; i++)
				printf("%s%llu", i ? "," : "", (unsigned long long)list[i]);
			printf("]}\n");
		} else if (!strcmp(cmd, "cq")) {
			cq((unsigned)num(a), b ? b : "");
		} else if (!strcmp(cmd, "ctrl")) {
			struct nvme_ctrl_info info;
			memset(buf, 0, sizeof buf);
			unhex(a, buf, 4096);
			nvme_parse_ctrl(buf, (uint32_t)num(b), &info);
			printf("{\"maxTransfer\":%u,\"namespaces\":%u,\"vwc\":%d,\"model\":", info.max_transfer, info.namespaces,
			       info.volatile_cache);
			model(info.model);
			printf("}\n");
		} else if (!strcmp(cmd, "ns")) {
			struct nvme_ns_info info;
			memset(buf, 0, sizeof buf);
			unhex(a, buf, 4096);
			if (nvme_parse_ns(buf, &info, &why) < 0) {
				printf("{\"error\":");
				model(why);
				printf("}\n");
			} else {
				printf("{\"blocks\":%llu,\"blockSize\":%u}\n", (unsigned long long)info.blocks, info.block_size);
			}
		} else if (!strcmp(cmd, "pick")) {
			struct disk_candidate cand[16];
			int n = 0, used;
			unsigned g, t, p;
			for (const char *s = c ? c : ""; n < 16 && sscanf(s, "%u:%u:%i%n", &g, &t, &p, &used) == 3; s += used) {
				cand[n++] = (struct disk_candidate){ (int)g, t, p };
				if (s[used] == '/')
					used++;
			}
			printf("%d\n", diskpick(cand, n, (uint32_t)num(a), (uint32_t)num(b)));
		} else {
			printf("{\"error\":\"unknown command\"}\n");
		}
		fflush(stdout);
	}
	return 0;
}
