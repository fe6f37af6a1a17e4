/* ramfs.c: the in-memory filesystem, filled at boot from the bank's module archives (ustar)
 * and used by the rest of the host system for /etc (configuration, users), /var/log/vmware (the
 * kernel's logs) and /tmp. Like VMware's visorfs it lives only in memory: what must survive a
 * reboot goes to the configuration record (config.c), never here.
 *
 * A small POSIX-like interface: paths are absolute ("/etc/passwd"; a relative path is taken
 * from the root), names at most FS_NAME_MAX bytes, no links. Inodes come from a fixed table and
 * file data from page runs that double as a file grows, up to FS_FILE_MAX. Calls return -1 on
 * a recoverable failure (no such file, table full, out of memory); broken invariants panic.
 * An open file cannot be unlinked (there are no orphans to reclaim later). Everything runs on
 * one CPU with cooperative tasks, so no locks. Also built for the host by test/c/system-host.c. */
#include "system.h"

#define NINODE 512
#define NFILE 32
#define FS_FILE_MAX (16ull << 20)

struct inode {
	int used;
	uint32_t mode;
	char name[FS_NAME_MAX + 1];
	int parent, child, next;   /* tree links: inode numbers, -1 for none */
	int opens;                 /* open file descriptors on it */
	uint8_t *data;             /* regular files: `pages` pages, `size` bytes in use */
	uint64_t size, pages;
};

struct file {
	int ino;                   /* -1: free */
	int flags;
	uint64_t off;
};

static struct inode inodes[NINODE];
static struct file files[NFILE];

static void drop_data(struct inode *ip);

/* An empty filesystem. Files of an earlier one are freed (the host tests start over often). */
void fs_init(void)
{
	for (int i = 0; i < NINODE; i++)
		if (inodes[i].used)
			drop_data(&inodes[i]);
	memset(inodes, 0, sizeof inodes);
	for (int i = 0; i < NFILE; i++)
		files[i].ino = -1;
	inodes[0] = (struct inode){ .used = 1, .mode = S_IFDIR | 0755, .name = "/", .parent = 0, .child = -1, .next = -1 };
}

static int child_named(int dir, const char *name, size_t n)
{
	for (int c = inodes[dir].child; c >= 0; c = inodes[c].next)
		if (strlen(inodes[c].name) == n && memcmp(inodes[c].name, name, n) == 0)
			return c;
	return -1;
}

/* Walk `path`. Returns the inode, or -1; *dir, *last and *lastn are set to the parent directory
 * and the final name whenever every component but the last exists (for creation). */
static int walk(const char *path, int *dir, const char **last, size_t *lastn)
{
	int cur = 0, parent = 0;
	const char *name = "";
	size_t n = 0;

	*dir = -1;
	while (*path) {
		while (*path == '/')
			path++;
		if (!*path)
			break;
		name = path;
		while (*path && *path != '/')
			path++;
		n = (size_t)(path - name);
		if (cur < 0 || !(inodes[cur].mode & S_IFDIR))
			return -1;   /* a component before the last is missing or not a directory */
		parent = cur;
		if (n > FS_NAME_MAX || (n == 1 && name[0] == '.') || (n == 2 && name[0] == '.' && name[1] == '.'))
			return -1;   /* no "." or "..": the archive loader and our callers use plain paths */
		cur = child_named(cur, name, n);
	}
	if (n == 0)
		return 0;    /* the root */
	*dir = parent;
	*last = name;
	*lastn = n;
	return cur;
}

static int inode_new(int dir, const char *name, size_t n, uint32_t mode)
{
	for (int i = 1; i < NINODE; i++) {
		struct inode *ip = &inodes[i];

		if (ip->used)
			continue;
		memset(ip, 0, sizeof *ip);
		ip->used = 1;
		ip->mode = mode;
		memcpy(ip->name, name, n);
		ip->name[n] = 0;
		ip->parent = dir;
		ip->child = -1;
		ip->next = inodes[dir].child;
		inodes[dir].child = i;
		return i;
	}
	kprintf("ramfs: out of inodes (%d)\n", NINODE);
	return -1;
}

/* Make room for `size` bytes in a regular file. */
static int reserve(struct inode *ip, uint64_t size)
{
	uint64_t want = ip->pages ? ip->pages : 1;
	uint8_t *p;

	if (size > FS_FILE_MAX)
		return -1;
	if (size <= ip->pages * PAGE_SIZE)
		return 0;
	while (want * PAGE_SIZE < size)
		want *= 2;
	if (!(p = page_alloc(want)))
		return -1;
	if (ip->data) {
		memcpy(p, ip->data, ip->size);
		page_free(ip->data, ip->pages);
	}
	ip->data = p;
	ip->pages = want;
	return 0;
}

static void drop_data(struct inode *ip)
{
	if (ip->data)
		page_free(ip->data, ip->pages);
	ip->data = NULL;
	ip->pages = ip->size = 0;
}

int fs_open(const char *path, int flags)
{
	const char *name;
	size_t n;
	int dir, ino, fd;

	for (fd = 0; fd < NFILE && files[fd].ino >= 0; fd++)
		;
	if (fd == NFILE)
		return -1;
	ino = walk(path, &dir, &name, &n);
	if (ino < 0) {
		if (!(flags & O_CREAT) || dir < 0 || (ino = inode_new(dir, name, n, S_IFREG | 0644)) < 0)
			return -1;
	}
	if (inodes[ino].mode & S_IFDIR && (flags & O_ACCMODE) != O_RDONLY)
		return -1;
	if (flags & O_TRUNC && (flags & O_ACCMODE) != O_RDONLY)
		drop_data(&inodes[ino]);
	files[fd] = (struct file){ ino, flags, 0 };
	inodes[ino].opens++;
	return fd;
}

static struct file *fileof(int fd)
{
	if (fd < 0 || fd >= NFILE || files[fd].ino < 0)
		return NULL;
	return &files[fd];
}

int64_t fs_read(int fd, void *buf, uint64_t n)
{
	struct file *f = fileof(fd);
	struct inode *ip;

	if (!f || (f->flags & O_ACCMODE) == O_WRONLY)
		return -1;
	ip = &inodes[f->ino];
	if (ip->mode & S_IFDIR)
		return -1;
	if (f->off >= ip->size)
		return 0;
	if (n > ip->size - f->off)
		n = ip->size - f->off;
	memcpy(buf, ip->data + f->off, n);
	f->off += n;
	return (int64_t)n;
}

int64_t fs_write(int fd, const void *buf, uint64_t n)
{
	struct file *f = fileof(fd);
	struct inode *ip;

	if (!f || (f->flags & O_ACCMODE) == O_RDONLY)
		return -1;
	ip = &inodes[f->ino];
	if (f->flags & O_APPEND)
		f->off = ip->size;
	if (n == 0)
		return 0;   /* an empty file may have no data pages at all */
	if (n > FS_FILE_MAX || f->off > FS_FILE_MAX - n || reserve(ip, f->off + n) < 0)
		return -1;
	if (f->off > ip->size)   /* a write past the end leaves a hole of zeros */
		memset(ip->data + ip->size, 0, f->off - ip->size);
	memcpy(ip->data + f->off, buf, n);
	f->off += n;
	if (f->off > ip->size)
		ip->size = f->off;
	return (int64_t)n;
}

int fs_close(int fd)
{
	struct file *f = fileof(fd);

	if (!f)
		return -1;
	if (inodes[f->ino].opens <= 0)
		panic("ramfs: inode %d closed more often than opened", f->ino);
	inodes[f->ino].opens--;
	f->ino = -1;
	return 0;
}

int fs_mkdir(const char *path)
{
	const char *name;
	size_t n;
	int dir;

	if (walk(path, &dir, &name, &n) >= 0 || dir < 0)
		return -1;
	return inode_new(dir, name, n, S_IFDIR | 0755) < 0 ? -1 : 0;
}

static void statof(int ino, struct fs_stat *st)
{
	st->ino = (uint32_t)ino;
	st->mode = inodes[ino].mode;
	st->size = inodes[ino].size;
	memcpy(st->name, inodes[ino].name, sizeof st->name);
}

int fs_stat(const char *path, struct fs_stat *st)
{
	const char *name;
	size_t n;
	int dir, ino = walk(path, &dir, &name, &n);

	if (ino < 0)
		return -1;
	statof(ino, st);
	return 0;
}

/* The index-th entry of a directory (newest first); -1 past the last one. */
int fs_readdir(const char *path, int index, struct fs_stat *st)
{
	const char *name;
	size_t n;
	int dir, ino = walk(path, &dir, &name, &n), c;

	if (ino < 0 || !(inodes[ino].mode & S_IFDIR))
		return -1;
	for (c = inodes[ino].child; c >= 0 && index > 0; c = inodes[c].next)
		index--;
	if (c < 0)
		return -1;
	statof(c, st);
	return 0;
}

int fs_unlink(const char *path)
{
	const char *name;
	size_t n;
	int dir, ino = walk(path, &dir, &name, &n), *link;
	struct inode *ip;

	if (ino <= 0)
		return -1;   /* missing, or the root */
	ip = &inodes[ino];
	if (ip->opens || ip->child >= 0)
		return -1;
	for (link = &inodes[dir].child; *link != ino; link = &inodes[*link].next)
		if (*link < 0)
			panic("ramfs: inode %d is not in its directory %d", ino, dir);
	*link = ip->next;
	drop_data(ip);
	ip->used = 0;
	return 0;
}

int fs_chmod(const char *path, uint32_t perm)
{
	const char *name;
	size_t n;
	int dir, ino = walk(path, &dir, &name, &n);

	if (ino < 0)
		return -1;
	inodes[ino].mode = (inodes[ino].mode & ~07777u) | (perm & 07777);
	return 0;
}

/* mkdir -p of the directories leading to `path` (and of `path` itself when `self`). */
static int mkdirs(const char *path, int self)
{
	char buf[USTAR_PATH_MAX];
	struct fs_stat st;
	size_t n = strlen(path);

	if (n >= sizeof buf)
		return -1;
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && !(i == n && self))
			continue;
		buf[i] = 0;
		if (fs_stat(buf, &st) < 0 ? fs_mkdir(buf) < 0 : !(st.mode & S_IFDIR))
			return -1;
		if (i < n)
			buf[i] = '/';
	}
	return 0;
}

int fs_write_file(const char *path, const void *buf, uint64_t n, uint32_t perm)
{
	int fd = fs_open(path, O_WRONLY | O_CREAT | O_TRUNC);
	int64_t w;

	if (fd < 0)
		return -1;
	w = fs_write(fd, buf, n);
	fs_close(fd);
	if (w != (int64_t)n)
		return -1;
	return fs_chmod(path, perm);
}

int fs_append_file(const char *path, const void *buf, uint64_t n)
{
	int fd = fs_open(path, O_WRONLY | O_CREAT | O_APPEND);
	int64_t w;

	if (fd < 0)
		return -1;
	w = fs_write(fd, buf, n);
	fs_close(fd);
	return w == (int64_t)n ? 0 : -1;
}

/* Up to max - 1 bytes of a file, NUL-terminated; the byte count or -1. */
int64_t fs_read_file(const char *path, char *buf, uint64_t max)
{
	int64_t n;
	int fd;

	if (max == 0 || (fd = fs_open(path, O_RDONLY)) < 0)
		return -1;
	n = fs_read(fd, buf, max - 1);
	fs_close(fd);
	buf[n < 0 ? 0 : n] = 0;
	return n;
}

/* Unpack an archive into the tree: all or nothing, so a damaged archive is checked whole
 * before the first file is made. Later archives overwrite earlier ones' files. */
int fs_load_archive(const char *name, const void *buf, uint64_t len)
{
	struct ustar t;
	struct ustar_entry e;
	char path[USTAR_PATH_MAX + 1];
	uint64_t bytes = 0;
	int r, nfiles = 0, ndirs = 0, skipped = 0;

	ustar_open(&t, buf, len);
	while ((r = ustar_next(&t, &e)) > 0)
		;
	if (r < 0) {
		kprintf("ramfs: module %s refused: %s\n", name, t.err);
		return -1;
	}
	ustar_open(&t, buf, len);
	while (ustar_next(&t, &e) > 0) {
		if (!e.path[0])
			continue;   /* the archive's "./": our root, which exists */
		ksnprintf(path, sizeof path, "/%s", e.path);
		if (e.type == USTAR_DIR) {
			if (mkdirs(path, 1) < 0 || fs_chmod(path, e.mode) < 0)
				goto fail;
			ndirs++;
		} else if (e.type == USTAR_FILE) {
			if (mkdirs(path, 0) < 0 || fs_write_file(path, e.data, e.size, e.mode) < 0)
				goto fail;
			nfiles++;
			bytes += e.size;
		} else {
			skipped++;
		}
	}
	kprintf("ramfs: module %s: %d files (%lu bytes), %d directories%s\n", name, nfiles, bytes, ndirs,
		skipped ? ", links and special files skipped" : "");
	return 0;
fail:
	kprintf("ramfs: module %s: cannot create %s (out of inodes or memory, or a file where a directory goes)\n",
		name, path);
	return -1;
}
