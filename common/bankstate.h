/* bankstate.h: the boot-bank state record and the bank selection rules, shared by the UEFI
 * loader, the kernel, the host tests and (as a TypeScript twin) the builder. The byte layout
 * and the rules are specified in docs/boot-state.md; this header is the C side of that spec.
 *
 * Plain C, no firmware or kernel calls: callers read and write the sectors, this code only
 * decodes, decides and encodes. */
#ifndef BF_BANKSTATE_H
#define BF_BANKSTATE_H
#include "bftypes.h"

#define BF_STATE_MAGIC        "BFBANKST"   /* 8 bytes, no NUL on disk */
#define BF_STATE_FORMAT       1
#define BF_STATE_RECORD_SIZE  512          /* bytes of a record; the rest of its sector is zero */
#define BF_STATE_SLOT_SIZE    4096         /* each copy starts a 4 KiB slot of its own */
#define BF_STATE_AREA_SIZE    8192         /* two slots: the last 8 KiB of a bank partition */
#define BF_STATE_VERSION_LEN  32
#define BF_STATE_DETAIL_LEN   64
#define BF_STATE_HISTORY      16
#define BF_DEFAULT_TRIES      3

enum bf_bank { BF_BANK_A = 0, BF_BANK_B = 1 };

/* ESXi's bootstate values, same numbers and meanings. */
enum bf_bootstate {
	BF_STATE_VALID = 0,     /* booted and marked good */
	BF_STATE_NEW = 1,       /* freshly written, never booted */
	BF_STATE_TRYING = 2,    /* on trial: the loader has spent at least one try */
	BF_STATE_INVALID = 3,   /* not bootable; `reason` says why */
};

enum bf_reason {
	BF_REASON_NONE = 0,
	BF_REASON_TRIES_EXHAUSTED = 1,   /* on trial, never marked good within its tries */
	BF_REASON_VERIFY_FAILED = 2,     /* a file's sha256 differs from SHA256SUMS */
	BF_REASON_LOAD_FAILED = 3,       /* a file is missing or unreadable, or the ELF is bad */
	BF_REASON_BAD_CONFIG = 4,        /* boot.cfg missing or unparsable */
	BF_REASON_UPGRADE_STARTED = 5,   /* an upgrade is writing this bank */
	BF_REASON_EMPTY = 6,             /* the bank holds nothing (fresh image, as ESXi leaves bank B) */
	BF_REASON_ROLLED_BACK = 7,       /* the user made the other bank the one that boots */
	BF_REASON_WATCHDOG = 8,          /* a try ended in a watchdog reset: the kernel hung before it was marked good */
};

/* Record flags (the `flags` byte). */
#define BF_STATE_FLAG_WATCHDOG 0x01   /* the current try runs with the hardware watchdog armed */

/* History events, newest first in the record. */
enum bf_event {
	BF_EVENT_NONE = 0,
	BF_EVENT_INSTALLED = 1,   /* written by build or upgrade */
	BF_EVENT_TRY = 2,         /* the loader spent a try */
	BF_EVENT_GOOD = 3,        /* the kernel (or mark-good) marked it valid */
	BF_EVENT_INVALID = 4,     /* made invalid; the entry's reason says why */
	BF_EVENT_ROLLBACK = 5,    /* made the bank that boots by a rollback */
};

struct bf_state_event {
	uint32_t seq;             /* the record sequence number at which it happened */
	uint8_t event;
	uint8_t bootstate;        /* after the event */
	uint8_t tries_left;       /* after the event */
	uint8_t reason;
};

struct bf_bank_state {
	uint32_t seq;             /* higher (mod 2^32) is newer */
	uint8_t bank;             /* enum bf_bank */
	uint8_t bootstate;        /* enum bf_bootstate */
	uint8_t tries_left;
	uint8_t tries_max;
	uint32_t updated;         /* ESXi's generation: among bootable banks the highest wins */
	uint8_t reason;           /* enum bf_reason: the last failure */
	uint8_t flags;            /* BF_STATE_FLAG_* */
	char version[BF_STATE_VERSION_LEN];   /* build string, NUL-padded (not always terminated) */
	char detail[BF_STATE_DETAIL_LEN];     /* failure detail, NUL-padded (not always terminated) */
	struct bf_state_event history[BF_STATE_HISTORY];
};

/* Record <-> struct. decode returns 0, or -1 when magic, format, size or CRC is wrong. */
int bf_state_decode(const uint8_t rec[BF_STATE_RECORD_SIZE], struct bf_bank_state *out);
void bf_state_encode(const struct bf_bank_state *s, uint8_t rec[BF_STATE_RECORD_SIZE]);

/* The two copies of one bank. `valid[i]` says whether slot i decoded. */
struct bf_bank_view {
	int present;                  /* at least one copy decoded */
	int current_slot;             /* the slot holding `state` (the newer valid copy) */
	struct bf_bank_state state;
};
/* Decode both slots and keep the newer valid copy. Returns 0 when one decoded, -1 when none did. */
int bf_state_read(const uint8_t slot0[BF_STATE_RECORD_SIZE], const uint8_t slot1[BF_STATE_RECORD_SIZE],
		  struct bf_bank_view *out);

/* The start of the next version of `view->state`: a copy with seq + 1. The caller changes
 * fields, records the event with bf_state_push_event, and writes the result to slot
 * (view->current_slot ^ 1), never over the current copy. */
void bf_state_next(const struct bf_bank_view *view, struct bf_bank_state *next);
/* Push `event` onto the history (newest first), stamped with the record's seq and fields. */
void bf_state_push_event(struct bf_bank_state *s, uint8_t event);

/* Is the bank bootable as it stands: valid, or new / on trial with tries left? */
int bf_state_bootable(const struct bf_bank_view *v);

/* The decision the loader takes before loading anything. */
struct bf_selection {
	int bank;                     /* bank to boot, or -1 when none is bootable */
	int nwrites;                  /* state writes to make, in order, before booting */
	struct {
		int bank;
		int slot;
		struct bf_bank_state state;
	} writes[2];
};

/* Selection per docs/boot-state.md: among bootable banks the highest `updated` wins (bank A on a
 * tie); `prefer_other` (the menu's "boot the other bank") picks the bootable bank that would not
 * have won. A bank on trial with no tries left is made invalid (TRIES_EXHAUSTED) in the writes;
 * the bank chosen, when new or on trial, spends a try (TRYING, tries_left - 1) in the writes.
 * `watchdog_reset` says the watchdog caused the last reset (its hardware says so); it is laid to
 * the one bank on trial whose record says its try ran armed, whose try then ended in reason
 * WATCHDOG instead of an unknown end (docs/boot-state.md, "The watchdog"). */
void bf_select(const struct bf_bank_view banks[2], int prefer_other, int watchdog_reset, struct bf_selection *out);

/* The loader will arm the watchdog for this boot: the chosen bank's try write says so
 * (BF_STATE_FLAG_WATCHDOG). No effect when the selection spends no try (a valid bank). */
void bf_selection_arm(struct bf_selection *sel);

/* The state after a failure found while loading (verify, load, config): invalid with reason and
 * detail. The caller writes it to slot (view->current_slot ^ 1), updates its view and selects again. */
void bf_state_fail(const struct bf_bank_view *view, uint8_t reason, const char *detail,
		   struct bf_bank_state *next);

/* Mark good (the kernel, once initialised): VALID, tries_left = tries_max, reason NONE. Returns 1
 * when a write is needed (the bank was NEW or TRYING), 0 when it was already valid. */
int bf_state_mark_good(const struct bf_bank_view *view, struct bf_bank_state *next);

#endif
