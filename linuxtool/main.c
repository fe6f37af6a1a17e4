/* main.c: bankforge-state, the mark-good tool for a stock Linux booted by the bankforge loader
 * (docs/linux.md). Static, no runtime dependencies: built with musl-gcc from this directory and
 * common/ (the loader's own state and GPT code).
 *
 *   bankforge-state [options] status | mark-good | rollback
 *
 * It learns which bank booted and from which disk from the words the loader appended to the
 * command line (/proc/cmdline), or, when they are not there, from the EFI variable BankforgeBoot
 * (efivarfs); it then looks at every whole disk in /sys/class/block, reads the GPT of its
 * /dev node and keeps the one disk whose GUID matches. No disk, or two, and it refuses.
 * Options, for tests and unusual systems:
 *   --cmdline FILE   read the words from FILE instead of /proc/cmdline and the EFI variable
 *   --disk PATH      use this device or image file instead of searching (its GUID must still match)
 *   --sys DIR, --dev DIR   where sysfs's block class and the device nodes are (default /sys, /dev)
 *   --sector-size N  with --disk on a regular file: its sector size (default 512)
 *   --log-writes     print "write OFFSET HEX" for every sector written (the power-cut tests) */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/mount.h>   /* BLKSSZGET, BLKGETSIZE64, BLKFLSBUF (musl and glibc alike) */
#include "statetool.h"

struct fd_dev {
	int fd;
	int is_block;
	int log_writes;
	uint32_t sector;
};

static int fd_read(void *ctx, uint64_t lba, uint32_t count, void *buf)
{
	struct fd_dev *f = ctx;
	size_t n = (size_t)count * f->sector;
	return pread(f->fd, buf, n, (off_t)(lba * f->sector)) == (ssize_t)n ? 0 : -1;
}

static int fd_write(void *ctx, uint64_t lba, uint32_t count, const void *buf)
{
	struct fd_dev *f = ctx;
	size_t n = (size_t)count * f->sector;
	if (pwrite(f->fd, buf, n, (off_t)(lba * f->sector)) != (ssize_t)n)
		return -1;
	if (f->log_writes) {
		printf("write %llu ", (unsigned long long)(lba * f->sector));
		for (size_t i = 0; i < n; i++)
			printf("%02x", ((const uint8_t *)buf)[i]);
		printf("\n");
	}
	return 0;
}

static int fd_flush(void *ctx)
{
	struct fd_dev *f = ctx;
	/* fsync on a block device flushes the page cache and sends the drive a cache flush. */
	return fsync(f->fd);
}

static int fd_drop_cache(void *ctx)
{
	struct fd_dev *f = ctx;
	/* Read back from the medium, not from the page cache that the write just filled. */
	if (f->is_block)
		return ioctl(f->fd, BLKFLSBUF, 0);
	return posix_fadvise(f->fd, 0, 0, POSIX_FADV_DONTNEED) ? -1 : 0;
}

/* A regular file's text (/proc, sysfs and efivarfs files are regular). Opened without blocking
 * and refused with EINVAL when it is anything else: a FIFO would wait for a writer for ever. */
static int read_text(const char *path, char *buf, size_t len, size_t *got)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	*got = (size_t)n;
	return 0;
}

/* The identity words: --cmdline FILE, else /proc/cmdline, else the EFI variable (efivarfs puts a
 * 4-byte attribute word before the value). */
static int find_ident(const char *file, const char *sys, struct bf_ident *id, char *err, size_t errlen)
{
	static char text[8192];
	size_t n;
	char perr[160];
	if (file) {
		if (read_text(file, text, sizeof text, &n))
			return snprintf(err, errlen, "%s: %s", file, errno == EINVAL ? "not a regular file" : strerror(errno)), -1;
		return bf_ident_parse(text, n, id, err, errlen);
	}
	if (read_text("/proc/cmdline", text, sizeof text, &n) == 0 && bf_ident_parse(text, n, id, perr, sizeof perr) == 0)
		return 0;
	char path[512];
	snprintf(path, sizeof path, "%s/firmware/efi/efivars/%s-%s", sys, BF_IDENT_VARIABLE, BF_VENDOR_GUID_TEXT);
	if (read_text(path, text, sizeof text, &n) != 0)
		return snprintf(err, errlen, "/proc/cmdline: %s (and no readable EFI variable %s)", perr, path), -1;
	if (n <= 4)
		return snprintf(err, errlen, "/proc/cmdline: %s; EFI variable %s: %zu bytes, no value after its 4 attribute bytes", perr, path, n), -1;
	char verr[160];
	if (bf_ident_parse(text + 4, n - 4, id, verr, sizeof verr) == 0)
		return 0;
	return snprintf(err, errlen, "/proc/cmdline: %s; EFI variable %s: %s", perr, path, verr), -1;
}

static int open_dev(const char *path, int flags, struct fd_dev *f, uint32_t fallback_sector, uint64_t *sectors)
{
	struct stat st;
	/* Without blocking, until fstat says what it is: opening a FIFO would wait for a peer. */
	f->fd = open(path, flags | O_CLOEXEC | O_NONBLOCK);
	if (f->fd < 0 || fstat(f->fd, &st))
		return -1;
	f->is_block = S_ISBLK(st.st_mode);
	if (f->is_block) {
		int ss;
		uint64_t bytes;
		if (ioctl(f->fd, BLKSSZGET, &ss) || ioctl(f->fd, BLKGETSIZE64, &bytes))
			return -1;
		f->sector = (uint32_t)ss;
		*sectors = bytes / (uint32_t)ss;
	} else if (S_ISREG(st.st_mode)) {
		f->sector = fallback_sector;
		*sectors = (uint64_t)st.st_size / fallback_sector;
	} else {
		errno = ENODEV;
		return -1;
	}
	return fcntl(f->fd, F_SETFL, fcntl(f->fd, F_GETFL) & ~O_NONBLOCK);
}

static uint32_t sysfs_sector(const char *sys, const char *name)
{
	char path[512], text[32];
	size_t n;
	snprintf(path, sizeof path, "%s/class/block/%s/queue/logical_block_size", sys, name);
	if (read_text(path, text, sizeof text, &n))
		return 512;
	long v = strtol(text, NULL, 10);
	return v >= 512 && v <= 4096 ? (uint32_t)v : 512;
}

static uint8_t scratch[GPT_MAX_ENTRY_BYTES + 4096];

/* Every whole disk in SYS/class/block whose GPT has the loader's disk GUID; exactly one may. */
static int find_disk(const char *sys, const char *dev, const struct bf_ident *id, char *found, size_t flen, char *err,
		     size_t errlen)
{
	char dir[512], path[1024], other[600] = "";
	snprintf(dir, sizeof dir, "%s/class/block", sys);
	DIR *dp = opendir(dir);
	if (!dp)
		return snprintf(err, errlen, "%s: %s", dir, strerror(errno)), ST_REFUSED;
	struct dirent *e;
	int matches = 0;
	found[0] = 0;
	char names[256][64];
	int nnames = 0;
	while ((e = readdir(dp)) && nnames < 256) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= 64)
			continue;
		snprintf(path, sizeof path, "%s/%s/partition", dir, e->d_name);
		if (access(path, F_OK) == 0)
			continue;   /* a partition: the GPT is on its disk */
		snprintf(names[nnames++], 64, "%s", e->d_name);
	}
	closedir(dp);
	for (int i = 0; i < nnames; i++) {
		struct fd_dev f = { 0 };
		uint64_t sectors = 0;
		snprintf(path, sizeof path, "%s/%s", dev, names[i]);
		if (open_dev(path, O_RDONLY, &f, sysfs_sector(sys, names[i]), &sectors)) {
			if (f.fd >= 0)
				close(f.fd);
			continue;   /* no node, no medium (an empty card reader), or not a disk */
		}
		struct st_dev d = { &f, f.sector, sectors, fd_read, fd_write, fd_flush, fd_drop_cache };
		char why[160];
		int m = st_disk_matches(&d, id, scratch, why, sizeof why);
		close(f.fd);
		if (m != 1)
			continue;
		if (matches++)
			snprintf(other, sizeof other, "%s", path);
		else
			snprintf(found, flen, "%s", path);
	}
	char guid[37];
	bf_guid_text(id->disk_guid, guid);
	if (matches == 0)
		return snprintf(err, errlen, "no disk in %s has the GUID %s (is its driver loaded?)", dir, guid), ST_REFUSED;
	if (matches > 1)
		return snprintf(err, errlen, "%d disks have the GUID %s (%s, %s, ...): refusing to guess which one booted",
				matches, guid, found, other), ST_REFUSED;
	return ST_OK;
}

static int usage(void)
{
	fprintf(stderr, "usage: bankforge-state [--cmdline FILE] [--disk PATH [--sector-size N]] [--sys DIR] [--dev DIR] "
			"[--log-writes] status|mark-good|rollback\n");
	return ST_USAGE;
}

int main(int argc, char **argv)
{
	const char *cmdline = NULL, *disk = NULL, *sys = "/sys", *dev = "/dev", *cmd = NULL;
	uint32_t sector = 512;
	int log_writes = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--cmdline") && i + 1 < argc)
			cmdline = argv[++i];
		else if (!strcmp(a, "--disk") && i + 1 < argc)
			disk = argv[++i];
		else if (!strcmp(a, "--sys") && i + 1 < argc)
			sys = argv[++i];
		else if (!strcmp(a, "--dev") && i + 1 < argc)
			dev = argv[++i];
		else if (!strcmp(a, "--sector-size") && i + 1 < argc) {
			sector = (uint32_t)strtoul(argv[++i], NULL, 10);
			if (sector != 512 && sector != 4096)
				return usage();
		} else if (!strcmp(a, "--log-writes"))
			log_writes = 1;
		else if (!cmd && (!strcmp(a, "status") || !strcmp(a, "mark-good") || !strcmp(a, "rollback")))
			cmd = a;
		else
			return usage();
	}
	if (!cmd)
		return usage();

	char err[512];
	struct bf_ident id;
	if (find_ident(cmdline, sys, &id, err, sizeof err)) {
		fprintf(stderr, "bankforge-state: %s\n", err);
		return ST_REFUSED;
	}
	static char path[1024];
	int r;
	if (disk)
		snprintf(path, sizeof path, "%s", disk);
	else if ((r = find_disk(sys, dev, &id, path, sizeof path, err, sizeof err)) != ST_OK) {
		fprintf(stderr, "bankforge-state: %s\n", err);
		return r;
	}
	struct fd_dev f = { .log_writes = log_writes };
	uint64_t sectors = 0;
	if (open_dev(path, !strcmp(cmd, "status") ? O_RDONLY : O_RDWR, &f, sector, &sectors)) {
		if (errno == ENODEV || errno == EISDIR) {
			fprintf(stderr, "bankforge-state: %s: not a block device or a disk image\n", path);
			return ST_REFUSED;
		}
		fprintf(stderr, "bankforge-state: %s: %s\n", path, strerror(errno));
		return ST_IO;
	}
	struct st_dev d = { &f, f.sector, sectors, fd_read, fd_write, fd_flush, fd_drop_cache };
	static struct st_disk sd;
	if ((r = st_disk_open(&d, &id, scratch, &sd, err, sizeof err)) != ST_OK) {
		fprintf(stderr, "bankforge-state: %s: %s\n", path, err);
		return r;
	}
	if (!strcmp(cmd, "status")) {
		static char text[8192];
		st_status(&sd, text, sizeof text);
		printf("disk: %s\n%s", path, text);
	} else if (!strcmp(cmd, "mark-good")) {
		int written;
		r = st_mark_good(&d, &sd, &written, err, sizeof err);
		if (r == ST_OK)
			printf("bank %c: %s\n", 'A' + sd.booted, written ? "marked good" : "valid already, nothing written");
	} else {
		r = st_rollback(&d, &sd, err, sizeof err);
		if (r == ST_OK)
			printf("bank %c boots from the next boot on (rolled back from bank %c)\n", 'A' + (sd.booted ^ 1),
			       'A' + sd.booted);
	}
	if (r != ST_OK)
		fprintf(stderr, "bankforge-state: %s: %s\n", path, err);
	if (close(f.fd) && r == ST_OK) {
		fprintf(stderr, "bankforge-state: %s: %s\n", path, strerror(errno));
		return ST_IO;
	}
	return r;
}
