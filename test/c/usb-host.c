/* usb-host.c: the USB stack's pure parts (kernel/usb_proto.c: xHCI TRBs and rings, USB descriptors;
 * kernel/scsi.c: Bulk-Only Transport wrappers, SCSI commands and answers) built for the host with
 * ASan and UBSan and driven line by line from test/host/usb.test.ts. Every input a device would
 * send is copied into a heap block of exactly its length, so a parser that reads one byte past
 * what arrived is caught. One command per line, one JSON answer per line:
 *   cbw TAG LEN DIR LUN CDBHEX    {"cbw":HEX} or {"error":1}
 *   csw HEX TAG LEN               {"status":N,"residue":N}
 *   sense HEX                     {"key":N,"asc":N,"ascq":N,"action":N} or {"error":1}
 *   inquiry HEX                   {"peripheral":N,"removable":0|1,"vendor":S,"product":S} or {"error":1}
 *   cap10 HEX | cap16 HEX         {"blocks":N,"blockSize":N,"need16":0|1} or {"error":1}
 *   cdb rw10 OP LBA N | cdb cap10 | cdb cap16 ALLOC | cdb simple OP ALLOC     {"cdb":HEX}
 *   device HEX SPEED              {"bcdUsb":N,"mps0":N,"vendor":N,"product":N,"configs":N} or {"error":1}
 *   msc HEX                       {"config":N,"iface":N,"subclass":N,"in":N,"out":N,"mpsIn":N,"mpsOut":N,
 *                                  "burstIn":N,"burstOut":N} or {"error":1}
 *   td BUF LEN MPS MAX            {"trbs":[[PARAM,STATUS,CONTROL],...]} or {"error":1}
 *   ring SIZE CONTROL...          pushes one TRB per CONTROL word on a fresh ring of SIZE, then
 *                                 {"at":[INDEX...],"enq":N,"cycle":N,"deq":HEX,"trbs":[[PARAM,CONTROL],...]}
 *   events SIZE N                 a controller posts N events (in bursts that never overrun the
 *                                 consumer) on a ring of SIZE; {"popped":N,"inOrder":0|1,"deq":N,"cycle":N}
 *   fuzz SEED N                   N random and mutated inputs through every parser: {"runs":N}
 * Numbers are decimal except PARAM and BUF (hex). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "../../kernel/usb.h"
#include "hexio.h"

#define MAXIN 8192

static uint8_t inbuf[MAXIN];

/* The input as a heap block of exactly its length (NULL-safe for 0 bytes). */
static uint8_t *exact(const char *h, uint32_t *len)
{
	uint8_t *p;

	*len = (uint32_t)unhex(h, inbuf, sizeof inbuf);
	p = malloc(*len ? *len : 1);
	memcpy(p, inbuf, *len);
	return p;
}

static void json_str(const char *s)
{
	json_bytes(s, strlen(s));
}

static void cmd_td(char *args)
{
	uint64_t buf;
	unsigned len, mps;
	int max, n;
	struct trb t[64];

	if (sscanf(args, "%" SCNx64 " %u %u %d", &buf, &len, &mps, &max) != 4 || max > 64) {
		puts("{\"error\":1}");
		return;
	}
	n = trb_normal_td(t, max, buf, len, mps);
	if (n < 0) {
		puts("{\"error\":1}");
		return;
	}
	printf("{\"trbs\":[");
	for (int i = 0; i < n; i++)
		printf("%s[\"%" PRIx64 "\",%u,%u]", i ? "," : "", t[i].param, t[i].status, t[i].control);
	puts("]}");
}

static void cmd_ring(char *args)
{
	unsigned size;
	int off, k = 0, at;
	struct trb_ring r;
	struct trb *mem;
	uint64_t base = 0x100000;

	if (sscanf(args, "%u%n", &size, &off) != 1 || size < 2 || size > 4096) {
		puts("{\"error\":1}");
		return;
	}
	mem = malloc(size * sizeof *mem);
	ring_init(&r, mem, base, size);
	args += off;
	printf("{\"at\":[");
	for (;;) {
		unsigned control;
		if (sscanf(args, "%u%n", &control, &off) != 1)
			break;
		args += off;
		at = ring_index(&r, ring_push(&r, 0x1000u + (uint64_t)k, 0, control));
		printf("%s%d", k++ ? "," : "", at);
	}
	printf("],\"enq\":%u,\"cycle\":%u,\"deq\":\"%" PRIx64 "\",\"outside\":[%d,%d,%d],\"trbs\":[", r.enq, r.cycle,
	       ring_dequeue_ptr(&r), ring_index(&r, base - 16), ring_index(&r, base + 8),
	       ring_index(&r, base + 16ull * size));
	for (unsigned i = 0; i < size; i++)
		printf("%s[\"%" PRIx64 "\",%u]", i ? "," : "", mem[i].param, mem[i].control);
	puts("]}");
	free(mem);
}

/* The controller's side of an event ring (xHCI 4.9.4): it writes with its producer cycle state,
 * toggling that at the end of the segment, and never overtakes the consumer's dequeue. */
static void cmd_events(char *args)
{
	unsigned size, n, pcs = 1, penq = 0, posted = 0, popped = 0, in_order = 1, burst = 1;
	struct event_ring r;
	struct trb *mem, ev;

	if (sscanf(args, "%u %u", &size, &n) != 2 || size < 2 || size > 4096) {
		puts("{\"error\":1}");
		return;
	}
	mem = malloc(size * sizeof *mem);
	event_ring_init(&r, mem, 0x200000, size);
	while (popped < n) {
		/* A burst of 1..size-1 events (a full ring is one short of its size). */
		for (unsigned b = 0; b < burst && posted < n; b++, posted++) {
			mem[penq] = (struct trb){ posted, 0, TRB_TYPE(TRB_TRANSFER_EVENT) | pcs };
			if (++penq == size)
				penq = 0, pcs ^= 1;
		}
		burst = burst % (size - 1) + 1;
		if (event_ring_pop(&r, &ev)) {
			if (ev.param != popped)
				in_order = 0;
			popped++;
		}
		while (event_ring_pop(&r, &ev)) {
			if (ev.param != popped)
				in_order = 0;
			popped++;
		}
		if (event_ring_pop(&r, &ev))   /* nothing new: the stale entries must not read as new */
			in_order = 0;
	}
	printf("{\"popped\":%u,\"inOrder\":%u,\"deq\":%u,\"cycle\":%u,\"deqPhys\":\"%" PRIx64 "\"}\n", popped, in_order,
	       r.deq, r.cycle, event_ring_deq_phys(&r));
	free(mem);
}

static void print_msc(const struct usb_msc_iface *m)
{
	printf("{\"config\":%u,\"iface\":%u,\"subclass\":%u,\"in\":%u,\"out\":%u,\"mpsIn\":%u,\"mpsOut\":%u,"
	       "\"burstIn\":%u,\"burstOut\":%u}\n",
	       m->config_value, m->iface, m->subclass, m->ep_in, m->ep_out, m->mps_in, m->mps_out, m->burst_in,
	       m->burst_out);
}

/* Every parser on `p`, `len` bytes exactly; the answers are not checked, the memory is. */
static void all_parsers(const uint8_t *p, uint32_t len)
{
	struct scsi_sense s;
	struct scsi_inquiry q;
	struct usb_device_desc d;
	struct usb_msc_iface m;
	uint64_t blocks;
	uint32_t bs, res;
	int need16;

	scsi_parse_sense(p, len, &s);
	scsi_parse_inquiry(p, len, &q);
	scsi_parse_capacity10(p, len, &blocks, &bs, &need16);
	scsi_parse_capacity16(p, len, &blocks, &bs);
	bot_csw(p, len, 1, 512, &res);
	usb_parse_device(p, len, USB_SPEED_HIGH, &d);
	usb_parse_device(p, len, USB_SPEED_SUPER, &d);
	usb_find_msc(p, len, &m);
}

static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Random bytes, and configuration descriptor sets with a plausible header and random lengths
 * inside (the shape that walks furthest). */
static void cmd_fuzz(char *args)
{
	uint32_t seed, n;

	if (sscanf(args, "%u %u", &seed, &n) != 2 || !seed) {
		puts("{\"error\":1}");
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = xorshift(&seed) % 300;
		uint8_t *p = malloc(len ? len : 1);

		for (uint32_t k = 0; k < len; k++)
			p[k] = (uint8_t)xorshift(&seed);
		if (len >= 9 && i % 2) {
			p[0] = 9, p[1] = USB_DESC_CONFIGURATION;
			p[2] = (uint8_t)(xorshift(&seed) % 400), p[3] = 0;
			for (uint32_t k = 9; k + 1 < len; k += 2 + xorshift(&seed) % 12) {
				p[k] = (uint8_t)(xorshift(&seed) % 16);
				p[k + 1] = (uint8_t)(4 + xorshift(&seed) % 2);
			}
		}
		all_parsers(p, len);
		free(p);
	}
	printf("{\"runs\":%u}\n", n);
}

int main(void)
{
	static char line[2 * MAXIN + 256];

	while (fgets(line, sizeof line, stdin)) {
		char cmd[16], a[2 * MAXIN + 1];
		int off = 0;
		uint32_t len;
		uint8_t *p;

		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "%15s%n", cmd, &off) != 1)
			continue;
		if (strcmp(cmd, "cbw") == 0) {
			unsigned tag, dlen, dir, lun;
			uint8_t out[CBW_LEN], cdb[64];
			size_t n;
			if (sscanf(line + off, "%u %u %u %u %s", &tag, &dlen, &dir, &lun, a) != 5)
				return 2;
			n = unhex(a, cdb, sizeof cdb);
			if (bot_cbw(out, tag, dlen, (int)dir, (uint8_t)lun, cdb, (uint8_t)(n > 255 ? 255 : n)) < 0) {
				puts("{\"error\":1}");
			} else {
				printf("{\"cbw\":\"");
				hex(out, CBW_LEN);
				puts("\"}");
			}
		} else if (strcmp(cmd, "csw") == 0) {
			unsigned tag, dlen;
			uint32_t residue = 0;
			int st;
			if (sscanf(line + off, "%s %u %u", a, &tag, &dlen) != 3)
				return 2;
			p = exact(a, &len);
			st = bot_csw(p, len, tag, dlen, &residue);
			printf("{\"status\":%d,\"residue\":%u}\n", st, residue);
			free(p);
		} else if (strcmp(cmd, "sense") == 0) {
			struct scsi_sense s;
			if (sscanf(line + off, "%s", a) != 1)
				return 2;
			p = exact(a, &len);
			if (scsi_parse_sense(p, len, &s) < 0)
				puts("{\"error\":1}");
			else
				printf("{\"key\":%u,\"asc\":%u,\"ascq\":%u,\"action\":%d,\"name\":\"%s\"}\n", s.key, s.asc, s.ascq,
				       scsi_sense_action(&s), scsi_sense_key_name(s.key));
			free(p);
		} else if (strcmp(cmd, "inquiry") == 0) {
			struct scsi_inquiry q;
			if (sscanf(line + off, "%s", a) != 1)
				return 2;
			p = exact(a, &len);
			if (scsi_parse_inquiry(p, len, &q) < 0) {
				puts("{\"error\":1}");
			} else {
				printf("{\"peripheral\":%u,\"removable\":%d,\"vendor\":", q.peripheral, q.removable);
				json_str(q.vendor);
				printf(",\"product\":");
				json_str(q.product);
				puts("}");
			}
			free(p);
		} else if (strcmp(cmd, "cap10") == 0 || strcmp(cmd, "cap16") == 0) {
			uint64_t blocks = 0;
			uint32_t bs = 0;
			int need16 = 0, r;
			if (sscanf(line + off, "%s", a) != 1)
				return 2;
			p = exact(a, &len);
			r = cmd[4] == '0' ? scsi_parse_capacity10(p, len, &blocks, &bs, &need16)
					  : scsi_parse_capacity16(p, len, &blocks, &bs);
			if (r < 0)
				puts("{\"error\":1}");
			else
				printf("{\"blocks\":%" PRIu64 ",\"blockSize\":%u,\"need16\":%d}\n", blocks, bs, need16);
			free(p);
		} else if (strcmp(cmd, "cdb") == 0) {
			char kind[16];
			unsigned x = 0, y = 0, z = 0;
			uint8_t cdb[16];
			int n = -1;
			if (sscanf(line + off, "%15s %u %u %u", kind, &x, &y, &z) < 1)
				return 2;
			if (strcmp(kind, "rw10") == 0)
				n = scsi_cdb_rw10(cdb, (uint8_t)x, y, (uint16_t)z);
			else if (strcmp(kind, "cap10") == 0)
				n = scsi_cdb_read_capacity10(cdb);
			else if (strcmp(kind, "cap16") == 0)
				n = scsi_cdb_read_capacity16(cdb, x);
			else if (strcmp(kind, "simple") == 0)
				n = scsi_cdb_simple(cdb, (uint8_t)x, (uint8_t)y);
			if (n < 0)
				return 2;
			printf("{\"cdb\":\"");
			hex(cdb, (size_t)n);
			puts("\"}");
		} else if (strcmp(cmd, "device") == 0) {
			struct usb_device_desc d;
			unsigned speed;
			if (sscanf(line + off, "%s %u", a, &speed) != 2)
				return 2;
			p = exact(a, &len);
			if (usb_parse_device(p, len, speed, &d) < 0)
				puts("{\"error\":1}");
			else
				printf("{\"bcdUsb\":%u,\"mps0\":%u,\"vendor\":%u,\"product\":%u,\"configs\":%u}\n", d.bcd_usb,
				       d.mps0, d.vendor, d.product, d.nconfigs);
			free(p);
		} else if (strcmp(cmd, "msc") == 0) {
			struct usb_msc_iface m;
			if (sscanf(line + off, "%s", a) != 1)
				return 2;
			p = exact(a, &len);
			if (usb_find_msc(p, len, &m) < 0)
				puts("{\"error\":1}");
			else
				print_msc(&m);
			free(p);
		} else if (strcmp(cmd, "td") == 0) {
			cmd_td(line + off);
		} else if (strcmp(cmd, "ring") == 0) {
			cmd_ring(line + off);
		} else if (strcmp(cmd, "events") == 0) {
			cmd_events(line + off);
		} else if (strcmp(cmd, "fuzz") == 0) {
			cmd_fuzz(line + off);
		} else {
			fprintf(stderr, "unknown command %s\n", cmd);
			return 2;
		}
		fflush(stdout);
	}
	return 0;
}
