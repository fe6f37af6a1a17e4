/* menu.c: the boot menu with its countdown. Keys come from the firmware's ConIn (the screen's
 * keyboard, and on most firmware a serial terminal too) and straight from COM1, so a headless box
 * can be steered from its serial line whatever the firmware's console setup. Enter boots the
 * chosen bank now; 'o' or Shift+R (ESXi's rollback key) boots the other bank, for this boot only. */
#include "loader.h"

#define TICK_US 50000   /* key polling interval */

static int poll_key(void)
{
	efi_input_key key;
	if (g_st->con_in && !EFI_IS_ERROR(g_st->con_in->read_key_stroke(g_st->con_in, &key)) && key.unicode_char)
		return key.unicode_char;
	return con_serial_getc();
}

int menu_run(uint32_t timeout, int bank, int other_bootable)
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
			g_bs->stall(TICK_US);
		}
	}
	con_print("\n");
	return 0;
}
