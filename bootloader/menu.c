/* menu.c: the boot menu with its countdown. Keys come from the firmware's ConIn (the screen's
 * keyboard, and on most firmware a serial terminal too) and straight from COM1, so a headless box
 * can be steered from its serial line whatever the firmware's console setup. Enter boots the
 * chosen bank now; 'o' or Shift+R (ESXi's rollback key) boots the other bank, for this boot only. */
#include "loader.h"

#define TICK_US 50000   /* key polling interval */

#define EVT_TIMER 0x80000000u
#define TIMER_RELATIVE 2
#define TPL_APPLICATION 4

typedef efi_status (*create_event_fn)(uint32_t type, uint64_t tpl, void *notify, void *context, efi_event *event);
typedef efi_status (*set_timer_fn)(efi_event event, uint32_t type, uint64_t trigger_100ns);
typedef efi_status (*wait_for_event_fn)(uint64_t count, efi_event *events, uint64_t *index);
typedef efi_status (*close_event_fn)(efi_event event);

/* Waits a polling interval with the CPU idle: WaitForEvent on a timer lets the firmware halt
 * until the timer fires (UEFI 2.10, 7.1), where Stall() spins, which in a VM costs the host a
 * core for the whole countdown. Stall() is the fallback when no timer can be made. */
static void nap(efi_event *timer)
{
	uint64_t index;

	if (!*timer && EFI_IS_ERROR(((create_event_fn)g_bs->create_event)(EVT_TIMER, TPL_APPLICATION, NULL, NULL, timer)))
		*timer = NULL;
	if (*timer && !EFI_IS_ERROR(((set_timer_fn)g_bs->set_timer)(*timer, TIMER_RELATIVE, TICK_US * 10ull)) &&
	    !EFI_IS_ERROR(((wait_for_event_fn)g_bs->wait_for_event)(1, timer, &index)))
		return;
	g_bs->stall(TICK_US);
}

static int poll_key(void)
{
	efi_input_key key;
	if (g_st->con_in && !EFI_IS_ERROR(g_st->con_in->read_key_stroke(g_st->con_in, &key)) && key.unicode_char)
		return key.unicode_char;
	return con_serial_getc();
}

static int countdown(uint32_t timeout, int bank, int other_bootable, efi_event *timer)
{
	con_print("Press Enter to boot bank %c now, 'o' (or Shift+R) to boot the other bank\n", 'A' + bank);
	for (uint32_t left = timeout; left > 0; left--) {
		con_print("\rbooting bank %c in %u s ", 'A' + bank, left);
		for (int t = 0; t < 1000000 / TICK_US; t++) {
			int k = poll_key();
			if (k == '\r' || k == '\n') {
				con_print("\n");
				return 0;
			}
			if (k == 'o' || k == 'O' || k == 'R') {
				if (other_bootable) {
					con_print("\nbank %c: chosen at the menu instead of bank %c\n", 'A' + (bank ^ 1), 'A' + bank);
					return 1;
				}
				con_print("\nbank %c is not bootable; staying with bank %c\n", 'A' + (bank ^ 1), 'A' + bank);
			}
			nap(timer);
		}
	}
	con_print("\n");
	return 0;
}

int menu_run(uint32_t timeout, int bank, int other_bootable)
{
	efi_event timer = NULL;
	int chosen = countdown(timeout, bank, other_bootable, &timer);

	if (timer)
		((close_event_fn)g_bs->close_event)(timer);
	return chosen;
}
