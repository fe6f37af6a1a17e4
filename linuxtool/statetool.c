/* statetool.c: the mark-good tool's core (statetool.h). Every decision comes from
 * common/bankstate.c, as in the loader and the kernel; what this file adds is finding the banks
 * by the loader's identity words and writing like bankforge does on the host: the new record into
 * the slot not holding the current copy, flush; the same record with seq + 1 into the other
 * slot, flush; then both read back from the medium and checked. */
#include "statetool.h"
#include "bfstring.h"
#include "fmt.h"

const char *st_state_name(uint8_t s)
{
	static const char *const names[] = { "valid", "new", "on trial", "invalid" };
	return s < 4 ? names[s] : "unknown state";
}

const char *st_reason_name(uint8_t r)
{
	static const char *const names[] = { "none", "tries exhausted", "verification failed", "load failed",
					     "bad config", "upgrade started", "empty", "rolled back" };
	return r < 8 ? names[r] : "unknown reason";
}

static const char *event_name(uint8_t e)
{
	static const char *const names[] = { "", "installed", "try", "good", "invalid", "rollback" };
	return e < 6 ? names[e] : "unknown event";
}

static int gpt_cb(void *ctx, uint64_t lba, uint32_t count, void *buf)
{
	struct st_dev *d = ctx;
	return d->read(d->ctx, lba, count, buf);
}

static uint64_t area_lba(const struct st_dev *d, const struct gpt_part *p)
{
	return p->last_lba + 1 - BF_STATE_AREA_SIZE / d->sector_size;
}

int st_disk_matches(struct st_dev *d, const struct bf_ident *id, uint8_t *scratch, char *err, size_t errlen)
{
	static struct gpt_disk g;
	if (d->sector_size < 512 || d->sector_size > BF_STATE_SLOT_SIZE || d->sectors < 3)
		return bf_fmt(err, errlen, "%u-byte sectors, %llu sectors: not a disk bankforge boots from", d->sector_size,
			      (unsigned long long)d->sectors), -1;
	if (gpt_read(gpt_cb, d, d->sector_size, d->sectors - 1, scratch, &g, err, errlen))
		return -1;
	return memcmp(g.disk_guid, id->disk_guid, 16) == 0;
}

/* Both slots of a partition's state area; 0 when a record decoded, 1 when none did, -1 on a read error. */
static int read_bank(struct st_dev *d, const struct gpt_part *p, uint8_t *buf, struct bf_bank_view *v)
{
	uint64_t n = BF_STATE_AREA_SIZE / d->sector_size;
	if (p->last_lba < p->first_lba || p->last_lba - p->first_lba + 1 < 2 * n)
		return 1;
	if (d->read(d->ctx, area_lba(d, p), (uint32_t)n, buf))
		return -1;
	return bf_state_read(buf, buf + BF_STATE_SLOT_SIZE, v) || v->state.bank > BF_BANK_B ? 1 : 0;
}

int st_disk_open(struct st_dev *d, const struct bf_ident *id, uint8_t *scratch, struct st_disk *out, char *err,
		 size_t errlen)
{
	char guid[37];
	memset(out, 0, sizeof *out);
	if (d->sector_size < 512 || d->sector_size > BF_STATE_SLOT_SIZE || d->sectors < 3)
		return bf_fmt(err, errlen, "%u-byte sectors: not a disk bankforge boots from", d->sector_size), ST_REFUSED;
	if (gpt_read(gpt_cb, d, d->sector_size, d->sectors - 1, scratch, &out->gpt, err, errlen))
		return ST_REFUSED;
	if (memcmp(out->gpt.disk_guid, id->disk_guid, 16)) {
		bf_guid_text(id->disk_guid, guid);
		return bf_fmt(err, errlen, "the disk's GUID is not %s", guid), ST_REFUSED;
	}
	out->booted = id->bank;
	const struct gpt_part *mine = NULL;
	for (uint32_t i = 0; i < out->gpt.nparts; i++) {
		if (memcmp(out->gpt.parts[i].guid, id->part_guid, 16))
			continue;
		if (mine) {
			bf_guid_text(id->part_guid, guid);
			return bf_fmt(err, errlen, "partitions %u and %u both have the GUID %s", mine->index + 1,
				      out->gpt.parts[i].index + 1, guid), ST_REFUSED;
		}
		mine = &out->gpt.parts[i];
	}
	if (!mine) {
		bf_guid_text(id->part_guid, guid);
		return bf_fmt(err, errlen, "no partition has the GUID %s", guid), ST_REFUSED;
	}
	uint8_t *buf = scratch;   /* the GPT is parsed: its scratch space is free again */
	for (uint32_t i = 0; i < out->gpt.nparts; i++) {
		const struct gpt_part *p = &out->gpt.parts[i];
		struct bf_bank_view v;
		int r = read_bank(d, p, buf, &v);
		if (r < 0)
			return bf_fmt(err, errlen, "cannot read the state area of partition %u", p->index + 1), ST_IO;
		if (r > 0) {
			if (p == mine)
				return bf_fmt(err, errlen, "partition %u (bankforge.part=) holds no valid state record",
					      p->index + 1), ST_REFUSED;
			continue;
		}
		struct st_bank *b = &out->bank[v.state.bank];
		if (b->found)
			return bf_fmt(err, errlen, "partitions %u and %u both hold bank %c", b->part.index + 1, p->index + 1,
				      'A' + v.state.bank), ST_REFUSED;
		if (p == mine && v.state.bank != id->bank)
			return bf_fmt(err, errlen, "partition %u holds bank %c, the command line says bank %c", p->index + 1,
				      'A' + v.state.bank, 'A' + id->bank), ST_REFUSED;
		b->found = 1;
		b->part = *p;
		b->view = v;
	}
	return ST_OK;
}

static size_t put(char *out, size_t len, size_t at, const char *text)
{
	size_t n = strlen(text);
	for (size_t i = 0; i < n && at + 1 < len; i++)
		out[at++] = text[i];
	if (len)
		out[at < len ? at : len - 1] = 0;
	return at;
}

/* A NUL-padded record field as a C string, control bytes shown as '?'. */
static void field(char *dst, const char *src, size_t n)
{
	size_t i = 0;
	for (; i < n && src[i]; i++)
		dst[i] = (src[i] < 0x20 || src[i] == 0x7f) ? '?' : src[i];
	dst[i] = 0;
}

void st_status(const struct st_disk *disk, char *out, size_t len)
{
	char line[256], ver[BF_STATE_VERSION_LEN + 1], det[BF_STATE_DETAIL_LEN + 1];
	size_t at = 0;
	if (len)
		out[0] = 0;
	bf_fmt(line, sizeof line, "booted: bank %c\n", 'A' + disk->booted);
	at = put(out, len, at, line);
	for (int i = 0; i < 2; i++) {
		const struct st_bank *b = &disk->bank[i];
		if (!b->found) {
			bf_fmt(line, sizeof line, "bank %c: not found\n", 'A' + i);
			at = put(out, len, at, line);
			continue;
		}
		const struct bf_bank_state *s = &b->view.state;
		field(ver, s->version, BF_STATE_VERSION_LEN);
		field(det, s->detail, BF_STATE_DETAIL_LEN);
		bf_fmt(line, sizeof line, "bank %c: partition %u, %s, tries %u/%u, updated %u, version %s, reason %s%s%s%s\n",
		       'A' + i, b->part.index + 1, st_state_name(s->bootstate), s->tries_left, s->tries_max, s->updated, ver,
		       st_reason_name(s->reason), det[0] ? " (" : "", det, det[0] ? ")" : "");
		at = put(out, len, at, line);
		for (int h = 0; h < BF_STATE_HISTORY; h++) {
			const struct bf_state_event *e = &s->history[h];
			if (e->event == BF_EVENT_NONE)
				continue;
			bf_fmt(line, sizeof line, "  seq %u: %s -> %s, tries %u%s%s\n", e->seq, event_name(e->event),
			       st_state_name(e->bootstate), e->tries_left, e->reason ? ", reason " : "",
			       e->reason ? st_reason_name(e->reason) : "");
			at = put(out, len, at, line);
		}
	}
}

/* One record into one slot: the whole sector, then a flush. */
static int write_slot(struct st_dev *d, const struct st_bank *b, int slot, const struct bf_bank_state *s)
{
	static uint8_t sector[BF_STATE_SLOT_SIZE];
	memset(sector, 0, sizeof sector);
	bf_state_encode(s, sector);
	uint64_t lba = area_lba(d, &b->part) + (uint64_t)slot * BF_STATE_SLOT_SIZE / d->sector_size;
	uint32_t count = d->sector_size >= BF_STATE_RECORD_SIZE ? 1 : BF_STATE_RECORD_SIZE / d->sector_size;
	if (d->write(d->ctx, lba, count, sector))
		return -1;
	return d->flush(d->ctx);
}

/* bankforge's mirrored write (docs/upgrade.md): next (seq + 1) into the slot not holding the
 * current copy, flush; the same with seq + 2 into the other slot, flush; both read back. */
static int write_mirrored(struct st_dev *d, struct st_bank *b, const struct bf_bank_state *next, char *err, size_t errlen)
{
	int slot = b->view.current_slot ^ 1;
	struct bf_bank_state again = *next;
	again.seq = next->seq + 1;
	if (write_slot(d, b, slot, next))
		return bf_fmt(err, errlen, "bank %c: writing state slot %d failed", 'A' + next->bank, slot), ST_IO;
	if (write_slot(d, b, slot ^ 1, &again))
		return bf_fmt(err, errlen, "bank %c: writing state slot %d failed (slot %d holds the new state)",
			      'A' + next->bank, slot ^ 1, slot), ST_IO;
	static uint8_t buf[BF_STATE_AREA_SIZE];
	static struct bf_bank_state first, second;
	uint8_t *area = buf;
	if (d->drop_cache(d->ctx) ||
	    d->read(d->ctx, area_lba(d, &b->part), BF_STATE_AREA_SIZE / d->sector_size, area) ||
	    bf_state_decode(area + (size_t)slot * BF_STATE_SLOT_SIZE, &first) ||
	    bf_state_decode(area + (size_t)(slot ^ 1) * BF_STATE_SLOT_SIZE, &second) ||
	    first.seq != next->seq || second.seq != again.seq || first.bootstate != next->bootstate ||
	    second.bootstate != next->bootstate || second.updated != next->updated)
		return bf_fmt(err, errlen, "bank %c: the state read back is not the one written; the disk may be failing",
			      'A' + next->bank), ST_IO;
	b->view.current_slot = slot ^ 1;
	b->view.state = again;
	return ST_OK;
}

int st_mark_good(struct st_dev *d, struct st_disk *disk, int *written, char *err, size_t errlen)
{
	struct st_bank *b = &disk->bank[disk->booted];
	struct bf_bank_state next;
	*written = 0;
	if (b->view.state.bootstate == BF_STATE_INVALID) {
		char det[BF_STATE_DETAIL_LEN + 1];
		field(det, b->view.state.detail, BF_STATE_DETAIL_LEN);
		return bf_fmt(err, errlen, "bank %c is invalid (%s%s%s%s); it is not marked good", 'A' + disk->booted,
			      st_reason_name(b->view.state.reason), det[0] ? ": " : "", det, ""), ST_REFUSED;
	}
	if (!bf_state_mark_good(&b->view, &next))
		return ST_OK;   /* valid already: no write, no wear */
	int r = write_mirrored(d, b, &next, err, errlen);
	*written = r == ST_OK;
	return r;
}

int st_rollback(struct st_dev *d, struct st_disk *disk, char *err, size_t errlen)
{
	struct st_bank *cur = &disk->bank[disk->booted], *other = &disk->bank[disk->booted ^ 1];
	char ver[BF_STATE_VERSION_LEN + 1];
	if (!other->found)
		return bf_fmt(err, errlen, "bank %c: not found; there is nothing to roll back to", 'A' + (disk->booted ^ 1)), ST_REFUSED;
	if (other->view.state.bootstate != BF_STATE_VALID)
		return bf_fmt(err, errlen, "bank %c is %s (reason %s); only a valid bank can be rolled back to",
			      'A' + (disk->booted ^ 1), st_state_name(other->view.state.bootstate),
			      st_reason_name(other->view.state.reason)), ST_REFUSED;
	struct bf_bank_state next;
	bf_state_next(&other->view, &next);
	next.updated = cur->view.state.updated + 1;
	next.reason = BF_REASON_ROLLED_BACK;
	field(ver, cur->view.state.version, BF_STATE_VERSION_LEN);
	char detail[BF_STATE_DETAIL_LEN + 1];
	memset(next.detail, 0, sizeof next.detail);
	size_t n = bf_fmt(detail, sizeof detail, "rolled back from bank %c (%s)", 'A' + disk->booted, ver);
	memcpy(next.detail, detail, n < BF_STATE_DETAIL_LEN ? n : BF_STATE_DETAIL_LEN);
	bf_state_push_event(&next, BF_EVENT_ROLLBACK);
	return write_mirrored(d, other, &next, err, errlen);
}
