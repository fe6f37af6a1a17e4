/* main.c: the loader's flow (docs/boot-state.md "Choosing a bank", docs/boot-protocol.md):
 * find the boot disk and its banks, choose a bank, write the state change, offer the menu,
 * load and verify the bank's kernel and modules, fall back to the other bank on any failure,
 * and hand over to the kernel. When no bank is bootable it says why on both consoles and waits. */
#include "loader.h"
#include "bootcfg.h"
#include "i6300esb.h"
#include "elf64.h"
#include "fmt.h"
#include "bfstring.h"
#include "sha256.h"

efi_handle g_image;
efi_system_table *g_st;
efi_boot_services *g_bs;

void *pages_alloc(uint64_t bytes)
{
	uint64_t addr;
	efi_status st = g_bs->allocate_pages(EFI_ALLOCATE_ANY_PAGES, EFI_LOADER_DATA, (bytes + 4095) / 4096, &addr);
	if (EFI_IS_ERROR(st)) {
		con_print("bankforge: out of memory for %llu bytes (status %llx)\n", bytes, st);
		return NULL;
	}
	return (void *)addr;
}

void pages_free(void *p, uint64_t bytes)
{
	g_bs->free_pages((uint64_t)p, (bytes + 4095) / 4096);
}

int guid_eq(const efi_guid *a, const efi_guid *b)
{
	return memcmp(a, b, sizeof *a) == 0;
}

static const char *state_name(uint8_t s)
{
	static const char *const names[] = { "valid", "new", "on trial", "invalid" };
	return s < 4 ? names[s] : "unknown state";
}

static const char *reason_name(uint8_t r)
{
	static const char *const names[] = { "no reason", "tries exhausted", "verification failed", "load failed",
					     "bad config", "upgrade started", "empty", "rolled back", "watchdog" };
	return r < 9 ? names[r] : "unknown reason";
}

/* A NUL-padded record string (not always terminated) as a C string. */
static void record_str(char *dst, const char *src, size_t n)
{
	size_t i = 0;
	for (; i < n && src[i]; i++)
		dst[i] = src[i];
	dst[i] = 0;
}

/* "invalid: kernel.elf: sha256 mismatch", "valid, updated 2, build 1.0.0", "no state record". */
static void describe(char *buf, size_t len, const struct bank *b)
{
	char text[BF_STATE_DETAIL_LEN + 1];
	const struct bf_bank_state *s = &b->view.state;
	if (!b->found) {
		bf_fmt(buf, len, "no state record");
	} else if (s->bootstate == BF_STATE_INVALID) {
		record_str(text, s->detail, BF_STATE_DETAIL_LEN);
		bf_fmt(buf, len, "invalid: %s", text[0] ? text : reason_name(s->reason));
	} else {
		record_str(text, s->version, BF_STATE_VERSION_LEN);
		bf_fmt(buf, len, "%s, updated %u, tries %u/%u, build %s", state_name(s->bootstate), s->updated,
		       s->tries_left, s->tries_max, text);
	}
}

static void halt_forever(void)
{
	for (;;)
		__asm__ volatile("hlt");
}

/* The selection's writes, in order, each followed by what it means. */
static void apply_writes(struct disk *d, struct layout *l, const struct bf_selection *sel)
{
	for (int i = 0; i < sel->nwrites; i++) {
		struct bank *b = &l->bank[sel->writes[i].bank];
		const struct bf_bank_state *s = &sel->writes[i].state;
		if (EFI_IS_ERROR(bank_write(d, b, sel->writes[i].slot, s)))
			b->view.state = *s;   /* keep deciding on what we meant to write: no loop on a read-only disk */
		if (s->bootstate == BF_STATE_TRYING)
			con_print("bank %c: on trial, try %u of %u\n", 'A' + sel->writes[i].bank,
				  s->tries_max - s->tries_left, s->tries_max);
		else if (s->bootstate == BF_STATE_INVALID)
			con_print("bank %c: %s, marked invalid\n", 'A' + sel->writes[i].bank, reason_name(s->reason));
	}
}

static void fail_bank(struct disk *d, struct bank *b, uint8_t reason, const char *detail)
{
	struct bf_bank_state next;
	con_print("bank %c: %s (%s), marked invalid\n", 'A' + b->view.state.bank, detail, reason_name(reason));
	bf_state_fail(&b->view, reason, detail, &next);
	if (EFI_IS_ERROR(bank_write(d, b, b->view.current_slot ^ 1, &next)))
		b->view.state = next;
}

/* Everything loaded from one bank, so that a failure part-way frees it all before the fallback
 * (the other bank's kernel needs the same addresses). */
struct loaded {
	struct bootcfg cfg;
	struct sums sums;
	struct kernel_span kernel;
	uint64_t entry;
	uint32_t nmodules;
	struct { uint8_t *data; uint64_t size; } mod[BF_MAX_MODULES];
	struct linux_payload linux;   /* a Linux bank's kernel and initramfs, else zeros */
};

static void unload(struct loaded *ld)
{
	for (uint32_t i = 0; i < ld->nmodules; i++)
		pages_free(ld->mod[i].data, ld->mod[i].size ? ld->mod[i].size : 1);
	ld->nmodules = 0;
	if (ld->linux.kernel)
		pages_free(ld->linux.kernel, ld->linux.kernel_size ? ld->linux.kernel_size : 1);
	if (ld->linux.initrd)
		pages_free(ld->linux.initrd, ld->linux.initrd_size ? ld->linux.initrd_size : 1);
	memset(&ld->linux, 0, sizeof ld->linux);
	if (ld->kernel.size)
		g_bs->free_pages(ld->kernel.staged ? ld->kernel.staged : ld->kernel.lo, ld->kernel.size / 4096);
	ld->kernel.size = 0;
}

/* Read a file and check it against SHA256SUMS. Returns 0 or the bf_reason, with err. */
static uint8_t read_verified(struct disk *d, const struct bank *b, const struct sums *sums, const char *name,
			     uint8_t **data, uint64_t *size, char *err, size_t errlen)
{
	const uint8_t *want = sums_find(sums, name);
	if (!want)
		return bf_fmt(err, errlen, "%s: not in SHA256SUMS", name), BF_REASON_VERIFY_FAILED;
	if (EFI_IS_ERROR(fat_read_file(d, &b->part, name, data, size, err, errlen)))
		return BF_REASON_LOAD_FAILED;
	uint8_t got[32];
	bf_sha256(*data, *size, got);
	if (memcmp(got, want, 32)) {
		pages_free(*data, *size ? *size : 1);
		return bf_fmt(err, errlen, "%s: sha256 mismatch", name), BF_REASON_VERIFY_FAILED;
	}
	return 0;
}

/* boot.cfg and SHA256SUMS. boot.cfg is checked against SHA256SUMS when listed there. */
static uint8_t load_config(struct disk *d, const struct bank *b, struct loaded *ld, char *err, size_t errlen)
{
	uint8_t *cfg, *sums;
	uint64_t cfg_size, sums_size;
	if (EFI_IS_ERROR(fat_read_file(d, &b->part, "boot.cfg", &cfg, &cfg_size, err, errlen)))
		return BF_REASON_BAD_CONFIG;
	if (EFI_IS_ERROR(fat_read_file(d, &b->part, "SHA256SUMS", &sums, &sums_size, err, errlen))) {
		pages_free(cfg, cfg_size ? cfg_size : 1);
		return BF_REASON_LOAD_FAILED;
	}
	uint8_t reason = 0;
	const uint8_t *want;
	uint8_t got[32];
	if (sums_parse((const char *)sums, sums_size, &ld->sums, err, errlen)) {
		reason = BF_REASON_VERIFY_FAILED;
	} else if ((want = sums_find(&ld->sums, "boot.cfg")) && (bf_sha256(cfg, cfg_size, got), memcmp(got, want, 32))) {
		bf_fmt(err, errlen, "boot.cfg: sha256 mismatch");
		reason = BF_REASON_VERIFY_FAILED;
	} else if (bootcfg_parse((const char *)cfg, cfg_size, &ld->cfg, err, errlen)) {
		reason = BF_REASON_BAD_CONFIG;
	}
	pages_free(cfg, cfg_size ? cfg_size : 1);
	pages_free(sums, sums_size ? sums_size : 1);
	return reason;
}

/* A Linux bank: the kernel (already verified, in kf) and its initramfs, both kept in loader pages
 * for linux_boot; bankforge's modules make no sense to Linux and are refused. */
static uint8_t load_linux(struct disk *d, const struct bank *b, struct loaded *ld, uint8_t *kf, uint64_t ksize, char *err,
			  size_t errlen)
{
	ld->linux.kernel = kf;
	ld->linux.kernel_size = ksize;
	uint8_t reason = 0;
	if (ld->cfg.nmodules) {
		bf_fmt(err, errlen, "%s: a Linux kernel takes initrd=, not modules=", ld->cfg.kernel);
		reason = BF_REASON_BAD_CONFIG;
	} else if (ld->cfg.initrd[0]) {
		reason = read_verified(d, b, &ld->sums, ld->cfg.initrd, &ld->linux.initrd, &ld->linux.initrd_size, err, errlen);
		if (reason)
			ld->linux.initrd = NULL;   /* freed by read_verified, or never allocated */
	}
	if (reason)
		unload(ld);
	return reason;
}

/* The kernel at its linked address and the modules in loader pages, all verified. */
static uint8_t load_bank(struct disk *d, const struct bank *b, struct loaded *ld, char *err, size_t errlen)
{
	uint8_t *kf;
	uint64_t ksize;
	uint8_t reason = read_verified(d, b, &ld->sums, ld->cfg.kernel, &kf, &ksize, err, errlen);
	if (reason)
		return reason;
	if (linux_is_kernel(kf, ksize))
		return load_linux(d, b, ld, kf, ksize, err, errlen);
	if (ld->cfg.initrd[0]) {
		pages_free(kf, ksize ? ksize : 1);
		return bf_fmt(err, errlen, "%s: initrd= needs a Linux kernel", ld->cfg.kernel), BF_REASON_BAD_CONFIG;
	}
	for (uint32_t i = 0; i < ld->cfg.nmodules && !reason; i++) {
		reason = read_verified(d, b, &ld->sums, ld->cfg.modules[i], &ld->mod[i].data, &ld->mod[i].size, err, errlen);
		if (!reason)
			ld->nmodules++;
	}
	struct elf_image img;
	char why[96];
	if (!reason && elf_check(kf, ksize, BF_KERNEL_BASE, &img, why, sizeof why)) {
		bf_fmt(err, errlen, "%s: %s", ld->cfg.kernel, why);
		reason = BF_REASON_LOAD_FAILED;
	}
	if (!reason) {
		/* At its address when that memory is free; else staged in loader pages and moved there
		 * after ExitBootServices, which is allowed when the firmware only uses it for boot
		 * services (OVMF keeps boot-services data from 9 to 21 MiB, across BF_KERNEL_BASE). */
		uint64_t addr = img.lo, size = img.hi - img.lo;
		if (!EFI_IS_ERROR(g_bs->allocate_pages(EFI_ALLOCATE_ADDRESS, EFI_LOADER_CODE, size / 4096, &addr))) {
			ld->kernel = (struct kernel_span){ img.lo, size, 0 };
		} else if (!span_reclaimable(img.lo, img.hi)) {
			bf_fmt(err, errlen, "%s: memory at %llx is the firmware's", ld->cfg.kernel, img.lo);
			reason = BF_REASON_LOAD_FAILED;
		} else if ((addr = (uint64_t)pages_alloc(size)) != 0) {
			ld->kernel = (struct kernel_span){ img.lo, size, addr };
		} else {
			bf_fmt(err, errlen, "%s: out of memory", ld->cfg.kernel);
			reason = BF_REASON_LOAD_FAILED;
		}
		if (!reason) {
			elf_copy(kf, &img, (uint8_t *)addr);
			ld->entry = img.entry;
		}
	}
	pages_free(kf, ksize ? ksize : 1);
	if (reason)
		unload(ld);
	return reason;
}

static struct bf_boot_info *boot_info(struct disk *d, struct layout *l, int bank, struct loaded *ld, uint64_t tsc_entry)
{
	struct bf_boot_info *bi = pages_alloc(sizeof *bi);
	size_t optlen = strlen(ld->cfg.kernelopt);
	char *cmdline = pages_alloc(optlen + 1);
	if (!bi || !cmdline)
		return NULL;
	memset(bi, 0, sizeof *bi);
	memcpy(cmdline, ld->cfg.kernelopt, optlen + 1);
	bi->magic = BF_BOOTINFO_MAGIC;
	bi->version = BF_BOOTINFO_VERSION;
	bi->size = sizeof *bi;
	bi->cmdline = (uint64_t)cmdline;
	bi->bank = (uint32_t)bank;
	bi->bank_bootstate = l->bank[bank].view.state.bootstate;
	memcpy(bi->bank_version, ld->cfg.build, sizeof ld->cfg.build);
	bi->disk_sector_size = d->sector_size;
	bi->disk_transport = d->transport;
	bi->disk_sectors = d->last_lba + 1;
	memcpy(bi->disk_guid, l->gpt.disk_guid, 16);
	bi->pci_location = d->pci_location;
	for (int i = 0; i < 2; i++)
		if (l->bank[i].found)
			bi->banks[i] = (struct bf_partition_ref){ l->bank[i].part.first_lba, l->bank[i].part.last_lba };
	if (l->has_coredump)
		bi->coredump = (struct bf_partition_ref){ l->coredump.first_lba, l->coredump.last_lba };
	bi->tsc_loader_entry = tsc_entry;
	bi->module_count = ld->nmodules;
	for (uint32_t i = 0; i < ld->nmodules; i++) {
		bi->modules[i].base = (uint64_t)ld->mod[i].data;
		bi->modules[i].size = ld->mod[i].size;
		memcpy(bi->modules[i].name, ld->cfg.modules[i], sizeof bi->modules[i].name);
	}
	return bi;
}

efi_status efi_main(efi_handle image, efi_system_table *st)
{
	uint64_t tsc_entry = rdtsc();
	g_image = image;
	g_st = st;
	g_bs = st->boot_services;
	con_init();
	con_print("bankforge loader %s\n", BF_LOADER_VERSION);
	/* The firmware's 5-minute watchdog would reset the machine in a long menu or in the
	 * "no bootable bank" wait, which must stay on screen. */
	g_bs->set_watchdog_timer(0, 0, 0, NULL);

	static const char *const transports[] = { "unknown", "virtio", "usb", "sata", "nvme", "scsi" };
	static struct disk disk;
	static struct layout layout;
	efi_status est = disk_open(&disk);
	if (EFI_IS_ERROR(est))
		return est;
	con_print("disk: %s, %u-byte sectors, %llu sectors\n", transports[disk.transport], disk.sector_size,
		  disk.last_lba + 1);
	est = banks_find(&disk, &layout);
	if (EFI_IS_ERROR(est))
		return est;

	char line[160];
	for (int i = 0; i < 2; i++) {
		describe(line, sizeof line, &layout.bank[i]);
		if (layout.bank[i].found)
			con_print("bank %c: partition %u, %s\n", 'A' + i, layout.bank[i].part.index + 1, line);
		else
			con_print("bank %c: not found (no partition holds its state record)\n", 'A' + i);
	}

	/* The watchdog (docs/watchdog.md): did it end the last boot? Its flag survives the reset it
	 * caused and is cleared here, so that it speaks of one reset only. A warm reset has stopped
	 * the timer; a trial arms it again below. */
	static struct esb wd;
	int have_wd = esb_find(&wd) == 0, wd_reset = 0, wd_arm = 0;
	if (have_wd) {
		wd_reset = esb_fired(&wd);
		esb_disarm(&wd);
		if (wd_reset) {
			con_print("watchdog: the last reset was the watchdog's\n");
			esb_clear_fired(&wd);
		}
	}

	static struct loaded ld;
	struct bf_selection sel;
	int prefer_other = 0, menu_done = 0;
	char err[160];
	for (;;) {
		struct bf_bank_view views[2] = { layout.bank[0].view, layout.bank[1].view };
		bf_select(views, prefer_other, wd_reset, &sel);
		if (sel.bank < 0) {
			apply_writes(&disk, &layout, &sel);
			char a[120], b[120];
			describe(a, sizeof a, &layout.bank[0]);
			describe(b, sizeof b, &layout.bank[1]);
			con_print("bankforge: no bootable bank (A: %s; B: %s)\n", a, b);
			halt_forever();
		}
		struct bank *b = &layout.bank[sel.bank];
		uint8_t reason = load_config(&disk, b, &ld, err, sizeof err);
		if (!reason && !menu_done) {
			menu_done = 1;
			if (ld.cfg.timeout &&
			    menu_run(ld.cfg.timeout, sel.bank, bf_state_bootable(&layout.bank[sel.bank ^ 1].view))) {
				prefer_other = 1;
				continue;
			}
		}
		if (!reason) {
			/* A trial runs with the watchdog armed when boot.cfg asks and the machine has one;
			 * the try's record says so (docs/boot-state.md, "The watchdog"). */
			wd_arm = 0;
			if (b->view.state.bootstate != BF_STATE_VALID && ld.cfg.watchdog) {
				if (have_wd) {
					bf_selection_arm(&sel);
					wd_arm = 1;
				} else {
					con_print("watchdog: boot.cfg asks for %u s, but this machine has no watchdog the loader "
						  "drives (i6300esb); the trial runs unguarded\n", ld.cfg.watchdog);
				}
			}
			/* The try is spent before anything is loaded: a kernel that hangs still used it. */
			apply_writes(&disk, &layout, &sel);
			char build[BF_STATE_VERSION_LEN + 1];
			record_str(build, ld.cfg.build, sizeof ld.cfg.build);
			con_print("booting bank %c (%s, updated %u, build %s)\n", 'A' + sel.bank,
				  state_name(b->view.state.bootstate), b->view.state.updated, build);
			reason = load_bank(&disk, b, &ld, err, sizeof err);
			if (!reason && ld.linux.kernel) {
				reason = linux_boot(&layout, sel.bank, &ld.linux, ld.cfg.kernelopt, err, sizeof err);
				unload(&ld);   /* only a kernel that could not start comes back */
			}
		}
		if (!reason)
			break;
		fail_bank(&disk, b, reason, err);
		prefer_other = 0;   /* the menu's choice failed or was never made: the best remaining bank */
	}

	struct bf_boot_info *bi = boot_info(&disk, &layout, sel.bank, &ld, tsc_entry);
	if (!bi)
		return EFI_OUT_OF_RESOURCES;
	if (wd_arm) {
		/* Last, so that loading and verifying do not count against the kernel's time. */
		esb_arm(&wd, ld.cfg.watchdog);
		con_print("watchdog: armed, %u s until bank %c is marked good (i6300esb %02x:%02x.%x)\n", ld.cfg.watchdog,
			  'A' + sel.bank, wd.bus, wd.dev, wd.fn);
	}
	con_print("starting kernel at %llx: %u modules, command line \"%s\"\n", ld.entry, ld.nmodules, ld.cfg.kernelopt);
	return handoff(bi, ld.entry, &ld.kernel);
}
