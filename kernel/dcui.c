/* dcui.c: the Direct Console User Interface, ESXi's menu on the console, as a task. The same
 * text goes to the serial line and the screen (not to the kernel log: the DCUI's screens are
 * not events), and keys come from either the serial line or the PS/2 keyboard. It starts after
 * the ready line. Flow: the first boot (no root password in the configuration) asks for one;
 * then a login with the root password; then the System Customization menu: password, the
 * management network (DHCP or static IPv4, DNS, hostname), the system log (paged), restart the
 * agents, reset the configuration to its defaults (after typing "yes"), reboot, log out.
 * Every change is saved in the configuration record (config.c) before it is reported done. */
#include "system.h"

#define LINE_MAX 128
#define PAGE_LINES 20

static const struct bf_boot_info *boot;
static uint32_t fb_rows;         /* text rows of the screen, as fbcon.c lays them out */
static int after_cr;             /* the last serial byte was '\r': a following '\n' is the same Enter */
static int esc_state;            /* serial escape sequences: 1 after ESC, 2 after ESC [ */

static void say(const char *fmt, ...) PRINTF(1, 2);
static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = bf_vfmt(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n >= sizeof buf)
		n = sizeof buf - 1;
	for (size_t i = 0; i < n; i++) {
		serial_putc(buf[i]);
		if (buf[i] != '\b')   /* fbcon has no cursor to move back: leave the star */
			fbcon_putc(buf[i]);
	}
}

/* A fresh screen: the framebuffer scrolls the old one away; the serial line gets a blank line. */
static void clear(void)
{
	for (uint32_t i = 0; i < fb_rows; i++)
		fbcon_putc('\n');
	serial_putc('\n');
}

/* One key from the serial line, or -1. ESC [ A / ESC [ B are the arrows; a lone ESC counts once
 * the next byte shows it was not a sequence. */
static int serial_key(void)
{
	int c;

	while ((c = serial_getc()) >= 0) {
		if (esc_state == 1) {
			esc_state = c == '[' ? 2 : 0;
			if (esc_state == 0)
				return KEY_ESC;
			continue;
		}
		if (esc_state == 2) {
			esc_state = 0;
			if (c == 'A')
				return KEY_UP;
			if (c == 'B')
				return KEY_DOWN;
			continue;
		}
		if (c == 0x1b) {
			esc_state = 1;
			continue;
		}
		if (c == '\n' && after_cr) {
			after_cr = 0;
			continue;
		}
		after_cr = c == '\r';
		if (c == '\n')
			return '\r';
		if (c == 0x7f)
			return '\b';
		return c;
	}
	return -1;
}

/* Wait for a key from either console, letting the agents run meanwhile. */
static int getkey(void)
{
	int c;

	for (;;) {
		if ((c = serial_key()) >= 0 || (c = kbd_getc()) >= 0)
			return c;
		yield();
	}
}

/* Read a line, echoing it (as '*' when secret). Its length, or -1 when Esc cancelled it. */
static int readline(char *buf, int max, int secret)
{
	int n = 0, c;

	for (;;) {
		c = getkey();
		if (c == '\r') {
			buf[n] = 0;
			say("\n");
			return n;
		}
		if (c == KEY_ESC) {
			say("\n");
			return -1;
		}
		if (c == '\b') {
			if (n > 0) {
				n--;
				say("\b \b");
			}
			continue;
		}
		if (c < 0x20 || c > 0x7e || n >= max - 1)
			continue;
		buf[n++] = (char)c;
		say("%c", secret ? '*' : c);
	}
}

/* Ask with a default shown in brackets; an empty answer keeps `cur`. -1 on Esc. */
static int ask(const char *prompt, const char *cur, char *out)
{
	say("%s [%s]: ", prompt, cur);
	if (readline(out, LINE_MAX, 0) < 0)
		return -1;
	if (!out[0])
		ksnprintf(out, LINE_MAX, "%s", cur);
	return 0;
}

static int yes(const char *question)
{
	char a[LINE_MAX];

	say("%s (y/n): ", question);
	return readline(a, sizeof a, 0) > 0 && (a[0] == 'y' || a[0] == 'Y');
}

static void banner(void)
{
	const char *mode = config_get("net.mode");

	clear();
	say("==========================================================================\n");
	say(" bankforge %.32s (bank %c)               host %s\n", boot->bank_version, boot->bank ? 'B' : 'A',
	    config_get("hostname"));
	if (strcmp(mode, "static") == 0)
		say(" Management network: static IPv4 %s/%s, gateway %s\n", config_get("net.address"),
		    config_get("net.netmask"), config_get("net.gateway"));
	else
		say(" Management network: IPv4 by DHCP\n");
	say("==========================================================================\n");
}

/* Ask for a new root password twice; 0 once it is saved, -1 on Esc. */
static int set_password(void)
{
	char a[LINE_MAX], b[LINE_MAX];

	for (;;) {
		say("New root password: ");
		if (readline(a, sizeof a, 1) < 0)
			return -1;
		say("Confirm root password: ");
		if (readline(b, sizeof b, 1) < 0)
			return -1;
		if (!a[0]) {
			say("DCUI: the password must not be empty\n");
		} else if (strcmp(a, b) != 0) {
			say("DCUI: the passwords do not match\n");
		} else if (users_set_password("root", a) < 0) {
			say("DCUI: the password could not be saved (no store partition on a disk the kernel drives)\n");
			return -1;
		} else {
			say("DCUI: root password set\n");
			return 0;
		}
	}
}

static void login(void)
{
	char pw[LINE_MAX];

	for (;;) {
		if (!users_password_set("root")) {
			say("DCUI: the root password is not set; set it now.\n");
			if (set_password() == 0)
				return;
			continue;
		}
		say("Login password for root: ");
		if (readline(pw, sizeof pw, 1) < 0)
			continue;
		if (users_check("root", pw)) {
			kprintf("dcui: root logged in\n");
			return;
		}
		kprintf("dcui: failed login for root\n");
		say("DCUI: login incorrect\n");
	}
}

/* Ask for `key` until the answer passes its rule (common/hostcfg.c, the rule a saved record is
 * read with) and, when `required`, is not empty; -1 on Esc. */
static int ask_valid(const char *prompt, const char *key, char *out, int required, const char *what)
{
	char err[160];

	for (;;) {
		if (ask(prompt, config_get(key), out) < 0)
			return -1;
		if ((out[0] || !required) && hostcfg_check(key, out, err, sizeof err) == 0)
			return 0;
		say("DCUI: not %s: %s\n", what, out);
	}
}

static void network(void)
{
	char mode[LINE_MAX], addr[LINE_MAX], mask[LINE_MAX], gw[LINE_MAX], dns[LINE_MAX], host[LINE_MAX];

	say("Configure Management Network (Esc cancels)\n");
	for (;;) {
		char err[160];

		if (ask("IPv4 configuration, dhcp or static", config_get("net.mode"), mode) < 0)
			return;
		if (hostcfg_check("net.mode", mode, err, sizeof err) == 0)
			break;
		say("DCUI: answer dhcp or static\n");
	}
	ksnprintf(addr, sizeof addr, "%s", config_get("net.address"));
	ksnprintf(mask, sizeof mask, "%s", config_get("net.netmask"));
	ksnprintf(gw, sizeof gw, "%s", config_get("net.gateway"));
	if (strcmp(mode, "static") == 0 &&
	    (ask_valid("IPv4 address", "net.address", addr, 1, "an IPv4 address") < 0 ||
	     ask_valid("Subnet mask", "net.netmask", mask, 1, "a subnet mask") < 0 ||
	     ask_valid("Default gateway", "net.gateway", gw, 0, "an IPv4 address") < 0))
		return;
	if (ask_valid("DNS server", "net.dns", dns, 0, "an IPv4 address") < 0 ||
	    ask_valid("Hostname", "hostname", host, 1, "a host name") < 0)
		return;
	config_set("net.mode", mode);
	config_set("net.address", addr);
	config_set("net.netmask", mask);
	config_set("net.gateway", gw);
	config_set("net.dns", dns);
	config_set("hostname", host);
	if (config_save() < 0)
		say("DCUI: saving failed; the settings last until reboot\n");
	if (strcmp(mode, "static") == 0)
		say("DCUI: management network saved: static %s/%s gateway %s dns %s hostname %s\n", addr, mask, gw, dns,
		    host);
	else
		say("DCUI: management network saved: dhcp dns %s hostname %s\n", dns, host);
	agents_restart();
}

/* The kernel log of this boot, PAGE_LINES lines at a time. */
static void view_logs(void)
{
	static const char path[] = "/var/log/vmware/vmkernel.log";
	struct fs_stat st;
	uint64_t pages, nlines = 0, first = 0;
	char *text;
	int64_t n;

	log_sync();
	if (fs_stat(path, &st) < 0) {
		say("DCUI: %s is missing\n", path);
		return;
	}
	pages = (st.size + 1 + PAGE_SIZE - 1) / PAGE_SIZE;
	if (!(text = page_alloc(pages))) {
		say("DCUI: not enough memory to show %s\n", path);
		return;
	}
	n = fs_read_file(path, text, pages * PAGE_SIZE);
	for (int64_t i = 0; i < n; i++)
		nlines += text[i] == '\n';
	for (;;) {
		uint64_t line = 0, last = first + PAGE_LINES < nlines ? first + PAGE_LINES : nlines;
		int c;

		clear();
		say("--- %s, lines %lu-%lu of %lu ---\n", path, first + 1, last, nlines);
		for (int64_t i = 0; i < n && line < last; i++) {
			if (line >= first && text[i] != '\n')
				say("%c", text[i]);
			if (text[i] == '\n' && line++ >= first)
				say("\n");
		}
		say("--- Enter/Down: next page, Up: previous page, q: quit ---\n");
		c = getkey();
		if (c == 'q' || c == KEY_ESC || ((c == '\r' || c == ' ' || c == KEY_DOWN) && last >= nlines))
			break;
		if (c == KEY_UP || c == 'b')
			first = first >= PAGE_LINES ? first - PAGE_LINES : 0;
		else if (c == '\r' || c == ' ' || c == KEY_DOWN)
			first = last;
	}
	page_free(text, pages);
}

static void reset_config(void)
{
	char a[LINE_MAX];

	say("Reset System Configuration: the root password, management network and hostname return to their\n"
	    "defaults. Type yes to confirm: ");
	if (readline(a, sizeof a, 0) < 0 || strcmp(a, "yes") != 0) {
		say("DCUI: reset cancelled\n");
		return;
	}
	config_defaults();
	if (config_save() < 0)
		say("DCUI: saving failed; the defaults last until reboot\n");
	users_init();
	kprintf("dcui: system configuration reset to defaults\n");
	say("DCUI: configuration reset to defaults\n");
	agents_restart();
}

/* The menu until the user logs out. */
static void menu(void)
{
	for (;;) {
		char a[LINE_MAX];

		banner();
		say(" System Customization\n"
		    "   1  Configure Password\n"
		    "   2  Configure Management Network\n"
		    "   3  View System Logs\n"
		    "   4  Restart Management Agents\n"
		    "   5  Reset System Configuration\n"
		    "   6  Reboot\n"
		    "   0  Log Out\n"
		    "Select [0-6]: ");
		if (readline(a, sizeof a, 0) < 0)
			continue;
		switch (a[0]) {
		case '1':
			set_password();
			break;
		case '2':
			network();
			break;
		case '3':
			view_logs();
			break;
		case '4':
			if (yes("Restart the management agents?")) {
				agents_restart();
				say("DCUI: management agents restarted\n");
			}
			break;
		case '5':
			reset_config();
			if (!users_password_set("root"))
				return;
			break;
		case '6':
			if (yes("Reboot the host?")) {
				say("DCUI: rebooting\n");
				kprintf("dcui: reboot requested\n");
				machine_reset();
			}
			break;
		case '0':
			return;
		default:
			say("DCUI: choose 0 to 6\n");
		}
	}
}

static void dcui(void)
{
	for (;;) {
		banner();
		login();
		menu();
	}
}

void dcui_start(const struct bf_boot_info *bi)
{
	uint32_t scale;

	boot = bi;
	/* fbcon.c's rule: 2x glyphs when the screen holds 80x30 of them. */
	scale = bi->fb.width / 16 >= 80 && bi->fb.height / 16 >= 30 ? 2 : 1;
	fb_rows = bi->fb.height / (8 * scale);
	kbd_init();
	task_create("dcui", dcui);
}
