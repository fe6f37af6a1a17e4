/* bankstate.c: decode, encode and update boot-bank state records, and choose the bank to boot,
 * exactly as docs/boot-state.md specifies. partitions/bankstate.ts is the TypeScript twin; the
 * host tests hold the two to the same bytes and the same decisions. */
#include "bankstate.h"
#include "bfstring.h"
#include "byteorder.h"
#include "crc32.h"
#include "fmt.h"

/* Record field offsets (docs/boot-state.md, "The record"). */
enum {
	OFF_MAGIC = 0, OFF_FORMAT = 8, OFF_SIZE = 10, OFF_SEQ = 12, OFF_BANK = 16, OFF_BOOTSTATE = 17,
	OFF_TRIES_LEFT = 18, OFF_TRIES_MAX = 19, OFF_UPDATED = 20, OFF_REASON = 24, OFF_FLAGS = 25, OFF_VERSION = 32,
	OFF_DETAIL = 64, OFF_HISTORY = 128, HISTORY_ENTRY = 8, OFF_CRC = 508,
};

int bf_state_decode(const uint8_t rec[BF_STATE_RECORD_SIZE], struct bf_bank_state *out)
{
	int i;

	if (memcmp(rec + OFF_MAGIC, BF_STATE_MAGIC, 8) != 0 || get16(rec + OFF_FORMAT) != BF_STATE_FORMAT ||
	    get16(rec + OFF_SIZE) != BF_STATE_RECORD_SIZE || get32(rec + OFF_CRC) != bf_crc32(0, rec, OFF_CRC))
		return -1;
	memset(out, 0, sizeof *out);
	out->seq = get32(rec + OFF_SEQ);
	out->bank = rec[OFF_BANK];
	out->bootstate = rec[OFF_BOOTSTATE];
	out->tries_left = rec[OFF_TRIES_LEFT];
	out->tries_max = rec[OFF_TRIES_MAX];
	out->updated = get32(rec + OFF_UPDATED);
	out->reason = rec[OFF_REASON];
	out->flags = rec[OFF_FLAGS];
	memcpy(out->version, rec + OFF_VERSION, BF_STATE_VERSION_LEN);
	memcpy(out->detail, rec + OFF_DETAIL, BF_STATE_DETAIL_LEN);
	for (i = 0; i < BF_STATE_HISTORY; i++) {
		const uint8_t *h = rec + OFF_HISTORY + i * HISTORY_ENTRY;
		out->history[i].seq = get32(h);
		out->history[i].event = h[4];
		out->history[i].bootstate = h[5];
		out->history[i].tries_left = h[6];
		out->history[i].reason = h[7];
	}
	return 0;
}

void bf_state_encode(const struct bf_bank_state *s, uint8_t rec[BF_STATE_RECORD_SIZE])
{
	int i;

	memset(rec, 0, BF_STATE_RECORD_SIZE);
	memcpy(rec + OFF_MAGIC, BF_STATE_MAGIC, 8);
	put16(rec + OFF_FORMAT, BF_STATE_FORMAT);
	put16(rec + OFF_SIZE, BF_STATE_RECORD_SIZE);
	put32(rec + OFF_SEQ, s->seq);
	rec[OFF_BANK] = s->bank;
	rec[OFF_BOOTSTATE] = s->bootstate;
	rec[OFF_TRIES_LEFT] = s->tries_left;
	rec[OFF_TRIES_MAX] = s->tries_max;
	put32(rec + OFF_UPDATED, s->updated);
	rec[OFF_REASON] = s->reason;
	rec[OFF_FLAGS] = s->flags;
	memcpy(rec + OFF_VERSION, s->version, BF_STATE_VERSION_LEN);
	memcpy(rec + OFF_DETAIL, s->detail, BF_STATE_DETAIL_LEN);
	for (i = 0; i < BF_STATE_HISTORY; i++) {
		uint8_t *h = rec + OFF_HISTORY + i * HISTORY_ENTRY;
		put32(h, s->history[i].seq);
		h[4] = s->history[i].event;
		h[5] = s->history[i].bootstate;
		h[6] = s->history[i].tries_left;
		h[7] = s->history[i].reason;
	}
	put32(rec + OFF_CRC, bf_crc32(0, rec, OFF_CRC));
}

int bf_state_read(const uint8_t slot0[BF_STATE_RECORD_SIZE], const uint8_t slot1[BF_STATE_RECORD_SIZE],
		  struct bf_bank_view *out)
{
	struct bf_bank_state s0, s1;
	int ok0 = bf_state_decode(slot0, &s0) == 0;
	int ok1 = bf_state_decode(slot1, &s1) == 0;

	memset(out, 0, sizeof *out);
	if (!ok0 && !ok1)
		return -1;
	out->present = 1;
	/* Newer by signed difference, so the sequence may wrap. */
	if (ok1 && (!ok0 || (int32_t)(s1.seq - s0.seq) > 0)) {
		out->current_slot = 1;
		out->state = s1;
	} else {
		out->current_slot = 0;
		out->state = s0;
	}
	return 0;
}

void bf_state_next(const struct bf_bank_view *view, struct bf_bank_state *next)
{
	*next = view->state;
	next->seq = view->state.seq + 1;
}

void bf_state_push_event(struct bf_bank_state *s, uint8_t event)
{
	int i;

	for (i = BF_STATE_HISTORY - 1; i > 0; i--)
		s->history[i] = s->history[i - 1];
	s->history[0].seq = s->seq;
	s->history[0].event = event;
	s->history[0].bootstate = s->bootstate;
	s->history[0].tries_left = s->tries_left;
	s->history[0].reason = s->reason;
}

int bf_state_bootable(const struct bf_bank_view *v)
{
	if (!v->present)
		return 0;
	switch (v->state.bootstate) {
	case BF_STATE_VALID:
		return 1;
	case BF_STATE_NEW:
	case BF_STATE_TRYING:
		return v->state.tries_left > 0;
	default:
		return 0;
	}
}

static void set_detail(struct bf_bank_state *s, const char *detail)
{
	size_t n = detail ? strlen(detail) : 0;

	if (n > BF_STATE_DETAIL_LEN)
		n = BF_STATE_DETAIL_LEN;
	memset(s->detail, 0, BF_STATE_DETAIL_LEN);
	memcpy(s->detail, detail ? detail : "", n);
}

void bf_state_fail(const struct bf_bank_view *view, uint8_t reason, const char *detail, struct bf_bank_state *next)
{
	bf_state_next(view, next);
	next->bootstate = BF_STATE_INVALID;
	next->reason = reason;
	next->flags = 0;
	set_detail(next, detail);
	bf_state_push_event(next, BF_EVENT_INVALID);
}

int bf_state_mark_good(const struct bf_bank_view *view, struct bf_bank_state *next)
{
	if (!view->present || (view->state.bootstate != BF_STATE_NEW && view->state.bootstate != BF_STATE_TRYING))
		return 0;
	bf_state_next(view, next);
	next->bootstate = BF_STATE_VALID;
	next->tries_left = next->tries_max;
	next->reason = BF_REASON_NONE;
	next->flags = 0;
	set_detail(next, "");
	bf_state_push_event(next, BF_EVENT_GOOD);
	return 1;
}

static void add_write(struct bf_selection *out, struct bf_bank_view *v, int bank, const struct bf_bank_state *next)
{
	out->writes[out->nwrites].bank = bank;
	out->writes[out->nwrites].slot = v->current_slot ^ 1;
	out->writes[out->nwrites].state = *next;
	out->nwrites++;
	/* Later decisions see the bank as it will be once the write is made. */
	v->state = *next;
	v->current_slot ^= 1;
}

static int on_armed_trial(const struct bf_bank_view *v)
{
	return v->present && v->state.bootstate == BF_STATE_TRYING && (v->state.flags & BF_STATE_FLAG_WATCHDOG);
}

void bf_select(const struct bf_bank_view banks[2], int prefer_other, int watchdog_reset, struct bf_selection *out)
{
	struct bf_bank_view v[2];
	struct bf_bank_state next;
	int i, winner, hung = -1;
	char detail[BF_STATE_DETAIL_LEN + 1];

	memset(out, 0, sizeof *out);
	out->bank = -1;
	v[0] = banks[0];
	v[1] = banks[1];

	/* Whose try the watchdog ended: the one bank whose try ran armed. With two (both banks new
	 * and tried in turn) the records cannot say which booted last, so neither is blamed. */
	if (watchdog_reset && on_armed_trial(&v[0]) != on_armed_trial(&v[1]))
		hung = on_armed_trial(&v[0]) ? 0 : 1;

	for (i = 0; i < 2; i++) {
		const struct bf_bank_state *s = &v[i].state;
		if (v[i].present && (s->bootstate == BF_STATE_NEW || s->bootstate == BF_STATE_TRYING) && s->tries_left == 0) {
			if (i == hung)
				bf_state_fail(&v[i], BF_REASON_WATCHDOG, "watchdog reset in its last try: never marked good", &next);
			else
				bf_state_fail(&v[i], BF_REASON_TRIES_EXHAUSTED, "no tries left: never marked good", &next);
			add_write(out, &v[i], i, &next);
		}
	}

	if (bf_state_bootable(&v[0]) && bf_state_bootable(&v[1])) {
		winner = v[1].state.updated > v[0].state.updated ? 1 : 0;
		if (prefer_other)
			winner ^= 1;
	} else if (bf_state_bootable(&v[0])) {
		winner = 0;
	} else if (bf_state_bootable(&v[1])) {
		winner = 1;
	} else {
		return;
	}

	if (v[winner].state.bootstate != BF_STATE_VALID) {
		bf_state_next(&v[winner], &next);
		if (winner == hung) {
			/* The try that just ended is tries_max - tries_left. */
			next.reason = BF_REASON_WATCHDOG;
			bf_fmt(detail, sizeof detail, "watchdog reset in try %d of %d", next.tries_max - next.tries_left,
			       next.tries_max);
			set_detail(&next, detail);
		}
		next.bootstate = BF_STATE_TRYING;
		next.tries_left--;
		next.flags &= (uint8_t)~BF_STATE_FLAG_WATCHDOG;
		bf_state_push_event(&next, BF_EVENT_TRY);
		add_write(out, &v[winner], winner, &next);
	}
	out->bank = winner;
}

void bf_selection_arm(struct bf_selection *sel)
{
	for (int i = 0; i < sel->nwrites; i++)
		if (sel->writes[i].bank == sel->bank && sel->writes[i].state.bootstate == BF_STATE_TRYING)
			sel->writes[i].state.flags |= BF_STATE_FLAG_WATCHDOG;
}
