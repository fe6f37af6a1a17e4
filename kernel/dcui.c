/* dcui.c: the Direct Console User Interface, ESXi's full-screen menu on the console, as a task.
 *
 * What it shows is a function of its state (struct ui) drawn into a text grid: the screen's DCUI
 * console (Alt+F2, console.c) and the serial line's grid (serial_tui.c), each painted by cells
 * that changed. Pages: the main page (the host's identity in the grey upper half, how to reach
 * it in the yellow lower half, <F2> and <F12> in the key bar), System Customization (a list on
 * the left with the selected item highlighted, its description and values on the right), and
 * the log viewer. Dialogs sit over a page: forms with fields (login, password, management
 * network) and confirmations that take one key. Results go to the status line above the key
 * bar; the kernel's log lines never reach the page (they go to the log console, Alt+F12).
 *
 * Keys come from the PS/2 keyboard and the serial line (either drives the same UI); Alt+F1,
 * Alt+F2 and Alt+F12 on the keyboard switch the screen's console, and while the screen shows
 * another console the keyboard's other keys are not the DCUI's. The first boot (no root
 * password) sets one before System Customization opens; later boots ask for it. Every change
 * is saved in the configuration record (config.c) before it is reported done. */
#include "system.h"
#include "x86.h"

#define FIELD_MAX 64
#define NFIELDS 6

enum page { P_MAIN, P_MENU, P_LOG, P_OFF };
enum { F_TEXT, F_SECRET, F_CHOICE };

struct field {
	const char *label;
	int kind;
	char val[FIELD_MAX];
	const char *choices[2];     /* F_CHOICE: the two values; val holds the chosen one */
};

struct dialog {
	const char *title;
	const char *text[3];        /* lines above the fields */
	struct field *f;
	int nf, focus;
	char err[FIELD_MAX + 32];   /* shown in red under the fields */
	const char *keys;           /* the dialog's key line */
};

static struct {
	enum page page;
	int sel;                    /* System Customization: the selected item */
	struct dialog *dlg;
	char status[STUI_COLS + 1];
	const char *off_text;       /* P_OFF: what is happening */
	/* P_LOG */
	const char *log_name;
	const char *text;
	int64_t text_len;
	uint64_t nlines, first;
	int screen;                 /* changes with the page or the dialog (serial_tui's plain mode) */
	int from_serial;            /* the last key came from the serial line, not the keyboard */
} ui;

static const struct bf_boot_info *boot;
static char cpu[49];
static uint64_t mem_mib;

/* Descriptions fit the right pane of an 80-column screen: 44 characters a line. */
static const struct item {
	const char *name;
	const char *help[4];
} items[] = {
	{ "Configure Password", { "Set the password of root, the user who logs", "in here and to the management agents." } },
	{ "Configure Management Network", { "The management network: IPv4 by DHCP or a", "static address, subnet mask and default", "gateway; the DNS server and the host name." } },
	{ "View System Logs", { "Read this boot's logs, a page at a time:", "<1> VMkernel (vmkernel.log)", "<2> Management agent (hostd.log)" } },
	{ "Restart Management Agents", { "Restart vmsyslogd and hostd. Remote", "management connections are interrupted", "while they restart." } },
	{ "Reset System Configuration", { "Return the root password, the management", "network and the host name to their", "defaults." } },
};
#define NITEMS ((int)(sizeof items / sizeof items[0]))
enum { I_PASSWORD, I_NETWORK, I_LOGS, I_AGENTS, I_RESET };

static void status(const char *fmt, ...) PRINTF(1, 2);
static void status(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bf_vfmt(ui.status, sizeof ui.status, fmt, ap);
	va_end(ap);
}

/* ---- drawing: everything below writes only into the grid it is given ---- */

#define A_TOP ATTR(C_BLACK, C_GREY)
#define A_TOP_TITLE ATTR(C_BLUE, C_GREY)
#define A_LOW ATTR(C_BLACK, C_BROWN)
#define A_LOW_HI ATTR(C_WHITE, C_BROWN)
#define A_KEYS ATTR(C_BLACK, C_GREY)
#define A_SEL ATTR(C_YELLOW, C_BLACK)
#define A_BOX ATTR(C_BLACK, C_GREY)
#define A_FRAME ATTR(C_WHITE, C_DARKGREY)
#define A_INPUT ATTR(C_WHITE, C_BLACK)
#define A_FOCUS ATTR(C_YELLOW, C_BLUE)
#define A_CURSOR ATTR(C_BLACK, C_YELLOW)
#define A_ERR ATTR(C_RED, C_GREY)
#define A_LOGTEXT ATTR(C_GREY, C_BLACK)

static void textf(struct grid *g, int x, int y, uint8_t attr, const char *fmt, ...) PRINTF(5, 6);
static void textf(struct grid *g, int x, int y, uint8_t attr, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	bf_vfmt(buf, sizeof buf, fmt, ap);
	va_end(ap);
	grid_text(g, x, y, g->cols - x, attr, buf);
}

/* A key bar: the keys spread over the row, as ESXi's bottom line. */
static void keybar(struct grid *g, const char *left, const char *right)
{
	grid_fill(g, 0, g->rows - 1, g->cols, 1, A_KEYS);
	grid_text(g, 1, g->rows - 1, g->cols - 1, A_KEYS, left);
	if (right)
		grid_text(g, g->cols - 1 - (int)strlen(right), g->rows - 1, g->cols, A_KEYS, right);
}

/* Rows per line of text: a tall screen (the framebuffer's 50 rows) gets a blank row between
 * lines, as ESXi's DCUI is spaced; an 80x24 terminal gets none. */
static int spacing(const struct grid *g)
{
	return g->rows >= 40 ? 2 : 1;
}

static int static_net(void)
{
	return strcmp(config_get("net.mode"), "static") == 0 && config_get("net.address")[0];
}

static void draw_main(struct grid *g)
{
	int top = g->rows / 2, sp = spacing(g), y;

	grid_fill(g, 0, 0, g->cols, top, A_TOP);
	grid_fill(g, 0, top, g->cols, g->rows - top, A_LOW);
	textf(g, 2, 1 * sp, A_TOP_TITLE, "bankforge %.32s (bank %c)", boot->bank_version, boot->bank ? 'B' : 'A');
	textf(g, 2, 3 * sp, A_TOP, "%s", cpu);
	textf(g, 2, 4 * sp, A_TOP, "%lu MiB Memory", mem_mib);
	textf(g, 2, 6 * sp, A_TOP, "Host name: %s", config_get("hostname"));
	if (static_net())
		textf(g, 2, 7 * sp, A_TOP, "Management network: %s/%s (static), gateway %s", config_get("net.address"),
		      config_get("net.netmask"), config_get("net.gateway")[0] ? config_get("net.gateway") : "none");
	else
		textf(g, 2, 7 * sp, A_TOP, "Management network: DHCP, no address yet");
	y = top + sp;
	if (static_net()) {
		textf(g, 2, y, A_LOW, "To manage this host, go to:");
		textf(g, 2, y + sp, A_LOW_HI, "http://%s/", config_get("hostname"));
		textf(g, 2, y + 2 * sp, A_LOW_HI, "http://%s/ (STATIC)", config_get("net.address"));
	} else {
		textf(g, 2, y, A_LOW, "The management network has no address yet.");
		textf(g, 2, y + sp, A_LOW, "Press F2 to configure it.");
	}
	if (!users_password_set("root"))
		textf(g, 2, y + 4 * sp, A_LOW_HI, "The root password is not set: press F2 to set it.");
	keybar(g, "<F2> Customize System/View Logs", "<F12> Shut Down/Restart");
}

static void draw_menu(struct grid *g)
{
	int split = g->cols * 2 / 5, sp = spacing(g);
	const struct item *it = &items[ui.sel];

	grid_fill(g, 0, 0, split, g->rows - 1, A_TOP);
	grid_fill(g, split, 0, g->cols - split, g->rows - 1, A_LOW);
	textf(g, 2, sp, A_TOP_TITLE, "System Customization");
	for (int i = 0; i < NITEMS; i++) {
		uint8_t a = i == ui.sel ? A_SEL : A_TOP;

		if (i == ui.sel)
			grid_fill(g, 1, (3 + i) * sp, split - 2, 1, a);
		grid_text(g, 2, (3 + i) * sp, split - 3, a, items[i].name);
	}
	textf(g, split + 2, sp, A_LOW_HI, "%s", it->name);
	for (int i = 0; i < 4 && it->help[i]; i++)
		grid_text(g, split + 2, (3 + i) * sp, g->cols - split - 3, A_LOW, it->help[i]);
	switch (ui.sel) {
	case I_PASSWORD:
		textf(g, split + 2, 8 * sp, A_LOW, "Root password: %s", users_password_set("root") ? "set" : "not set");
		break;
	case I_NETWORK:
		textf(g, split + 2, 8 * sp, A_LOW, "IPv4: %s", strcmp(config_get("net.mode"), "static") == 0 ? "static" : "DHCP");
		if (strcmp(config_get("net.mode"), "static") == 0) {
			textf(g, split + 2, 9 * sp, A_LOW, "Address: %s/%s", config_get("net.address"), config_get("net.netmask"));
			textf(g, split + 2, 10 * sp, A_LOW, "Gateway: %s", config_get("net.gateway"));
		}
		textf(g, split + 2, 11 * sp, A_LOW, "DNS server: %s", config_get("net.dns"));
		textf(g, split + 2, 12 * sp, A_LOW, "Host name: %s", config_get("hostname"));
		break;
	}
	keybar(g, "<Up/Down> Select   <Enter> Change   <Esc> Log Out", 0);
}

/* The start of line `n` of the log text (n < nlines). */
static const char *log_line(uint64_t n, int64_t *len)
{
	const char *p = ui.text, *end = ui.text + ui.text_len;

	for (uint64_t i = 0; i < n && p < end; p++)
		i += *p == '\n';
	*len = 0;
	while (p + *len < end && p[*len] != '\n')
		(*len)++;
	return p;
}

static uint64_t log_page(const struct grid *g)
{
	return g->rows > 4 ? (uint64_t)g->rows - 3 : 1;
}

static void draw_log(struct grid *g)
{
	uint64_t page = log_page(g), last = ui.first + page < ui.nlines ? ui.first + page : ui.nlines;

	grid_fill(g, 0, 0, g->cols, 1, A_KEYS);
	textf(g, 1, 0, A_KEYS, "%s   lines %lu-%lu of %lu", ui.log_name, ui.first + 1, last, ui.nlines);
	grid_fill(g, 0, 1, g->cols, g->rows - 2, A_LOGTEXT);
	for (uint64_t i = ui.first; i < last; i++) {
		int64_t len;
		const char *p = log_line(i, &len);

		for (int x = 0; x < len && x < g->cols; x++)
			g->cells[(int)(1 + i - ui.first) * g->cols + x] =
				(struct cell){ (uint8_t)(p[x] >= 0x20 && p[x] < 0x7f ? p[x] : ' '), A_LOGTEXT };
	}
	keybar(g, "<Enter/Down/PgDn> Next page   <Up/PgUp> Previous page   <Esc/q> Back", 0);
}

static void draw_dialog(struct grid *g, const struct dialog *d)
{
	int w = g->cols - 8 < 64 ? g->cols - 8 : 64, nt = 0, sp = spacing(g), h, x, y, first;

	while (nt < 3 && d->text[nt])
		nt++;
	/* Lines from the third row: the text, a blank line, the fields, a blank line, the error,
	 * the keys; then the frame. */
	first = nt + (nt ? 1 : 0);
	h = 2 + (first + d->nf + 2) * sp + 2;
	x = (g->cols - w) / 2;
	y = (g->rows - h) / 2;
	grid_fill(g, x, y, w, h, A_FRAME);
	grid_fill(g, x + 1, y + 1, w - 2, h - 2, A_BOX);
	textf(g, x + 2, y, A_FRAME, " %s ", d->title);
	for (int i = 0; i < nt; i++)
		grid_text(g, x + 2, y + 2 + i * sp, w - 4, A_BOX, d->text[i]);
	for (int i = 0; i < d->nf; i++) {
		const struct field *f = &d->f[i];
		int fy = y + 2 + (first + i) * sp, fx = x + 2 + 22, fw = w - 4 - 22, n = (int)strlen(f->val);
		uint8_t a = i == d->focus ? A_FOCUS : A_INPUT;
		char shown[FIELD_MAX + 8];

		grid_text(g, x + 2, fy, 21, A_BOX, f->label);
		grid_fill(g, fx, fy, fw, 1, a);
		if (f->kind == F_SECRET) {
			for (int j = 0; j < n; j++)
				shown[j] = '*';
			shown[n] = 0;
		} else if (f->kind == F_CHOICE) {
			ksnprintf(shown, sizeof shown, "< %s >", f->val);
			n = -1;   /* no cursor: Space or Left/Right change it */
		} else {
			ksnprintf(shown, sizeof shown, "%s", f->val);
		}
		grid_text(g, fx + 1, fy, fw - 2, a, shown);
		if (i == d->focus && n >= 0 && n < fw - 2)
			grid_fill(g, fx + 1 + n, fy, 1, 1, A_CURSOR);
	}
	if (d->err[0])
		grid_text(g, x + 2, y + 2 + (first + d->nf + 1) * sp - (sp > 1), w - 4, A_ERR, d->err);
	grid_text(g, x + 2, y + 2 + (first + d->nf + 2) * sp - (sp > 1), w - 4, A_BOX, d->keys);
}

static void draw(struct grid *g)
{
	switch (ui.page) {
	case P_MAIN:
		draw_main(g);
		break;
	case P_MENU:
		draw_menu(g);
		break;
	case P_LOG:
		draw_log(g);
		break;
	case P_OFF:
		grid_fill(g, 0, 0, g->cols, g->rows, A_TOP);
		textf(g, 2, g->rows / 2, A_TOP_TITLE, "%s", ui.off_text);
		return;
	}
	if (ui.dlg)
		draw_dialog(g, ui.dlg);
	if (ui.page != P_LOG || ui.status[0]) {
		grid_fill(g, 0, g->rows - 2, g->cols, 1, A_LOW);
		grid_text(g, 1, g->rows - 2, g->cols - 2, A_LOW, ui.status);
	}
}

/* Draws the UI into each console that shows it and paints what changed. */
static void present(void)
{
	struct grid *s = stui_grid();

	draw(vc_grid(VC_DCUI));
	vc_present(VC_DCUI);
	if (s) {
		draw(s);
		stui_present(ui.screen);
	}
}

static void set_page(enum page p)
{
	ui.page = p;
	ui.screen++;
}

/* ---- keys ---- */

/* The next key for the DCUI, letting the agents run meanwhile. Alt+F1/F2/F12 on the keyboard
 * switch the screen's console. */
static int getkey(void)
{
	for (;;) {
		int c;

		while ((c = kbd_getc()) >= 0) {
			if (c == (KEY_ALT | KEY_F(1)) || c == (KEY_ALT | KEY_F(2)) || c == (KEY_ALT | KEY_F(12))) {
				vc_switch(c == (KEY_ALT | KEY_F(1)) ? VC_SHELL : c == (KEY_ALT | KEY_F(2)) ? VC_DCUI : VC_LOG);
				if (vc_active() == VC_DCUI)
					present();
				continue;
			}
			if (vc_active() == VC_DCUI && !(c & KEY_ALT)) {
				ui.from_serial = 0;
				return c;
			}
		}
		if ((c = stui_key()) >= 0 && !(c & KEY_ALT)) {
			ui.from_serial = 1;
			return c;
		}
		yield();
	}
}

/* ---- dialogs ---- */

/* Runs a form until Enter (1) or Esc (0). Tab and the arrows move between fields. */
static int form(struct dialog *d)
{
	ui.dlg = d;
	ui.screen++;
	for (;;) {
		struct field *f = &d->f[d->focus];
		int n = (int)strlen(f->val), c;

		present();
		c = getkey();
		if (c == '\r' || c == KEY_ESC) {
			ui.dlg = 0;
			ui.screen++;
			return c == '\r';
		}
		if ((c == '\t' || c == KEY_DOWN) && d->nf)
			d->focus = (d->focus + 1) % d->nf;
		else if (c == KEY_UP && d->nf)
			d->focus = (d->focus + d->nf - 1) % d->nf;
		else if (f->kind == F_CHOICE && (c == ' ' || c == KEY_LEFT || c == KEY_RIGHT))
			ksnprintf(f->val, sizeof f->val, "%s", strcmp(f->val, f->choices[0]) == 0 ? f->choices[1] : f->choices[0]);
		else if (f->kind != F_CHOICE && c == '\b' && n > 0)
			f->val[n - 1] = 0;
		else if (f->kind != F_CHOICE && c >= 0x20 && c < 0x7f && n < FIELD_MAX - 1)
			f->val[n] = (char)c, f->val[n + 1] = 0;
	}
}

/* A question answered with one key: F11 (or y) says yes; Esc, Enter or n say no. */
static int confirm(const char *title, const char *l1, const char *l2, const char *keys)
{
	struct dialog d = { .title = title, .text = { l1, l2 }, .keys = keys };
	int c, yes;

	ui.dlg = &d;
	ui.screen++;
	present();
	do
		c = getkey();
	while (c != KEY_F(11) && c != 'y' && c != 'Y' && c != KEY_ESC && c != '\r' && c != 'n' && c != 'N');
	yes = c == KEY_F(11) || c == 'y' || c == 'Y';
	ui.dlg = 0;
	ui.screen++;
	return yes;
}

/* ---- actions ---- */

/* A new root password, typed twice; 1 once it is saved, 0 on Esc. */
static int set_password(const char *why)
{
	struct field f[2] = { { "New password:", F_SECRET, "", { 0 } }, { "Confirm password:", F_SECRET, "", { 0 } } };
	struct dialog d = { .title = "Configure Password", .text = { why }, .f = f, .nf = 2,
			    .keys = "<Enter> OK   <Esc> Cancel" };

	for (;;) {
		if (!form(&d))
			return 0;
		if (!f[0].val[0]) {
			ksnprintf(d.err, sizeof d.err, "The password must not be empty.");
		} else if (strcmp(f[0].val, f[1].val) != 0) {
			ksnprintf(d.err, sizeof d.err, "The passwords do not match.");
		} else if (users_set_password("root", f[0].val) < 0) {
			ksnprintf(d.err, sizeof d.err, "Not saved: no store partition on a disk the kernel drives.");
		} else {
			status("Root password set.");
			return 1;
		}
		f[0].val[0] = f[1].val[0] = 0;
		d.focus = 0;
	}
}

/* 1 when the person at the console may customize: the root password is right, or there is none
 * yet and they have just set it. */
static int authenticate(void)
{
	struct field f[2] = { { "Login Name:", F_TEXT, "root", { 0 } }, { "Password:", F_SECRET, "", { 0 } } };
	struct dialog d = { .title = "Authentication Required", .f = f, .nf = 2, .focus = 1,
			    .keys = "<Enter> OK   <Esc> Cancel" };
	char prompt[96];

	if (!users_password_set("root"))
		return set_password("The root password is not set. Set it now:");
	ksnprintf(prompt, sizeof prompt, "Enter an authorized login name and password for %.40s.", config_get("hostname"));
	d.text[0] = prompt;
	for (;;) {
		if (!form(&d))
			return 0;
		if (strcmp(f[0].val, "root") == 0 && users_check("root", f[1].val)) {
			kprintf("dcui: root logged in\n");
			status("%s", "");
			return 1;
		}
		kprintf("dcui: failed login for %.32s\n", f[0].val);
		ksnprintf(d.err, sizeof d.err, "Login incorrect.");
		f[1].val[0] = 0;
		d.focus = 1;
	}
}

static void network(void)
{
	static const char *const keys[] = { "net.address", "net.netmask", "net.gateway", "net.dns", "hostname" };
	static const char *const what[] = { "an IPv4 address", "a subnet mask", "an IPv4 address", "an IPv4 address", "a host name" };
	struct field f[NFIELDS] = {
		{ "IPv4 configuration:", F_CHOICE, "", { "dhcp", "static" } },
		{ "IPv4 address:", F_TEXT, "", { 0 } },
		{ "Subnet mask:", F_TEXT, "", { 0 } },
		{ "Default gateway:", F_TEXT, "", { 0 } },
		{ "DNS server:", F_TEXT, "", { 0 } },
		{ "Host name:", F_TEXT, "", { 0 } },
	};
	struct dialog d = { .title = "Configure Management Network",
			    .text = { "Space changes DHCP/static; Tab and the arrows move." }, .f = f, .nf = NFIELDS,
			    .keys = "<Enter> OK   <Esc> Cancel" };
	int stat;

	ksnprintf(f[0].val, FIELD_MAX, "%s", config_get("net.mode"));
	for (int i = 0; i < 5; i++)
		ksnprintf(f[1 + i].val, FIELD_MAX, "%s", config_get(keys[i]));
	for (;;) {
		int bad = -1;
		char err[160];

		if (!form(&d))
			return;
		stat = strcmp(f[0].val, "static") == 0;
		/* The rules a saved record is read with (common/hostcfg.c); the address and mask are
		 * needed for static, the host name always. */
		for (int i = 0; i < 5 && bad < 0; i++) {
			const char *v = f[1 + i].val;
			int required = i == 4 || (stat && i < 2);

			if (!stat && i < 3)
				continue;
			if ((required && !v[0]) || hostcfg_check(keys[i], v, err, sizeof err) != 0)
				bad = i;
		}
		if (bad < 0)
			break;
		ksnprintf(d.err, sizeof d.err, "Not %s: %.40s", what[bad], f[1 + bad].val);
		d.focus = 1 + bad;
	}
	config_set("net.mode", f[0].val);
	for (int i = 0; i < 5; i++)
		config_set(keys[i], f[1 + i].val);
	if (config_save() < 0)
		status("Saving failed: the settings last until reboot.");
	else if (stat)
		status("Management network saved: static %s/%s, host name %s.", f[1].val, f[2].val, f[5].val);
	else
		status("Management network saved: DHCP, host name %s.", f[5].val);
	kprintf("dcui: management network changed\n");
	agents_restart();
}

/* A log file of this boot, a page at a time. */
static void view_log(const char *name, const char *path)
{
	struct fs_stat st;
	uint64_t pages;
	char *text;
	int64_t n;
	struct grid *s = stui_grid();

	log_sync();
	if (fs_stat(path, &st) < 0) {
		status("%s is missing.", path);
		return;
	}
	pages = (st.size + 1 + PAGE_SIZE - 1) / PAGE_SIZE;
	if (!(text = page_alloc(pages))) {
		status("Not enough memory to show %s.", path);
		return;
	}
	n = fs_read_file(path, text, pages * PAGE_SIZE);
	ui.text = text;
	ui.text_len = n > 0 ? n : 0;
	ui.log_name = name;
	ui.nlines = 0;
	for (int64_t i = 0; i < ui.text_len; i++)
		ui.nlines += text[i] == '\n';
	if (ui.text_len && text[ui.text_len - 1] != '\n')
		ui.nlines++;
	ui.first = 0;
	status("%s", "");
	set_page(P_LOG);
	for (;;) {
		int c;

		uint64_t step;

		present();
		c = getkey();
		/* A page is what the console the key came from holds. */
		step = log_page(ui.from_serial && s ? s : vc_grid(VC_DCUI));
		if (c == 'q' || c == KEY_ESC)
			break;
		if (c == KEY_UP || c == KEY_PGUP || c == 'b')
			ui.first = ui.first >= step ? ui.first - step : 0;
		else if ((c == '\r' || c == ' ' || c == KEY_DOWN || c == KEY_PGDN) && ui.first + step < ui.nlines)
			ui.first += step;
		else if (c == '\r' || c == ' ' || c == KEY_DOWN || c == KEY_PGDN)
			break;   /* past the last page: back */
	}
	page_free(text, pages);
	ui.text = 0;
	set_page(P_MENU);
}

/* System Customization, until Esc logs out. */
static void customize(void)
{
	set_page(P_MENU);
	for (;;) {
		int c;

		present();
		c = getkey();
		if (c == KEY_ESC) {
			kprintf("dcui: root logged out\n");
			status("%s", "");
			return;
		}
		if (c == KEY_UP)
			ui.sel = (ui.sel + NITEMS - 1) % NITEMS;
		else if (c == KEY_DOWN)
			ui.sel = (ui.sel + 1) % NITEMS;
		else if (ui.sel == I_LOGS && (c == '1' || c == '2' || c == '\r'))
			c == '2' ? view_log("hostd.log", "/var/log/vmware/hostd.log")
				 : view_log("vmkernel.log", "/var/log/vmware/vmkernel.log");
		else if (c != '\r')
			continue;
		else if (ui.sel == I_PASSWORD)
			set_password("Type the new root password twice.");
		else if (ui.sel == I_NETWORK)
			network();
		else if (ui.sel == I_AGENTS &&
			 confirm("Restart Management Agents", "Restart vmsyslogd and hostd now?", 0,
				 "<F11> Restart   <Esc> Cancel")) {
			agents_restart();
			kprintf("dcui: management agents restarted\n");
			status("Management agents restarted.");
		} else if (ui.sel == I_RESET &&
			   confirm("Reset System Configuration", "The root password, management network and host",
				   "name return to their defaults.", "<F11> Reset   <Esc> Cancel")) {
			config_defaults();
			if (config_save() < 0)
				status("Saving failed: the defaults last until reboot.");
			else
				status("Configuration reset to defaults.");
			users_init();
			kprintf("dcui: system configuration reset to defaults\n");
			agents_restart();
			return;   /* no password now: back to the main page */
		}
	}
}

/* F12: shut down or restart, after the password when one is set. */
static void shutdown(void)
{
	struct dialog d = { .title = "Shut Down/Restart", .text = { "Shut down or restart this host?" },
			    .keys = "<F2> Shut Down   <F11> Restart   <Esc> Cancel" };
	int c;

	if (users_password_set("root") && !authenticate())
		return;
	ui.dlg = &d;
	ui.screen++;
	present();
	do
		c = getkey();
	while (c != KEY_F(2) && c != KEY_F(11) && c != KEY_ESC);
	ui.dlg = 0;
	ui.screen++;
	if (c == KEY_ESC)
		return;
	ui.off_text = c == KEY_F(2) ? "Shutting down..." : "Restarting...";
	set_page(P_OFF);
	present();
	kprintf("dcui: %s requested\n", c == KEY_F(2) ? "shut down" : "restart");
	log_sync();
	if (c == KEY_F(11))
		machine_reset();
	machine_poweroff(boot);
	status("Shut down failed: see the kernel log (Alt+F12).");
	set_page(P_MAIN);
}

static void dcui(void)
{
	stui_start();
	vc_switch(VC_DCUI);
	for (;;) {
		int c;

		set_page(P_MAIN);
		present();
		c = getkey();
		/* A dumb terminal has no F2: Enter does the same there. */
		if (c == KEY_F(2) || (c == '\r' && stui_mode() == STUI_PLAIN)) {
			if (authenticate())
				customize();
		} else if (c == KEY_F(12)) {
			shutdown();
		}
	}
}

/* The CPU's brand string (CPUID 0x80000002-4), else its vendor. */
static void cpu_name(void)
{
	uint32_t r[4];

	cpuid(0x80000000, r);
	if (r[0] >= 0x80000004) {
		for (uint32_t i = 0; i < 3; i++)
			cpuid(0x80000002 + i, (uint32_t *)(cpu + 16 * i));
		cpu[48] = 0;
	} else {
		cpuid(0, r);
		memcpy(cpu, &r[1], 4);
		memcpy(cpu + 4, &r[3], 4);
		memcpy(cpu + 8, &r[2], 4);
		cpu[12] = 0;
	}
	/* Brand strings are padded with leading spaces on some CPUs. */
	while (cpu[0] == ' ')
		memmove(cpu, cpu + 1, strlen(cpu));
}

void dcui_start(const struct bf_boot_info *bi)
{
	const struct bf_mem_region *r = (const struct bf_mem_region *)(uintptr_t)bi->memory_map;
	uint64_t bytes = 0;

	boot = bi;
	for (uint32_t i = 0; i < bi->memory_map_count; i++)
		if (r[i].type != BF_MEM_RESERVED)
			bytes += r[i].length;
	mem_mib = bytes >> 20;
	cpu_name();
	kbd_init();
	task_create("dcui", dcui);
}
