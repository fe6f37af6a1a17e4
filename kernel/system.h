/* system.h: the host system above the machine layer (docs/host.md): the in-memory filesystem
 * and the archives that fill it, users and password hashes, the persistent configuration, the
 * cooperative scheduler and its agents, the keyboard and the DCUI. One section per .c file, as
 * in defs.h; kept apart from defs.h so the machine layer does not change with them. */
#ifndef KERNEL_SYSTEM_H
#define KERNEL_SYSTEM_H
#include "defs.h"
#include "../common/hostcfg.h"

/* sha512.c */
struct sha512 {
	uint64_t h[8];
	uint64_t len;          /* bytes hashed so far */
	uint8_t buf[128];
};
void sha512_init(struct sha512 *c);
void sha512_update(struct sha512 *c, const void *data, size_t n);
void sha512_final(struct sha512 *c, uint8_t out[64]);

/* crypt.c: SHA-crypt with SHA-512 ("$6$"). */
#define CRYPT_MAX 128          /* "$6$rounds=999999999$" + 16 salt + "$" + 86 + NUL fits */
int crypt_sha512(const char *key, const char *setting, char out[CRYPT_MAX]);

/* ustar.c: POSIX ustar archives (IEEE Std 1003.1, pax "ustar Interchange Format"). */
#define USTAR_PATH_MAX 256     /* prefix (155) + '/' + name (100) + NUL */
#define USTAR_FILE_MAX (16u << 20)   /* larger members are refused as absurd */
enum { USTAR_FILE = 1, USTAR_DIR = 2, USTAR_OTHER = 3 };
struct ustar_entry {
	char path[USTAR_PATH_MAX];   /* normalised: no leading "/" or "./", no trailing "/"; "" = root */
	int type;                    /* USTAR_FILE, USTAR_DIR, or USTAR_OTHER (links, devices: skipped) */
	uint32_t mode;
	const uint8_t *data;         /* USTAR_FILE: the member's bytes, inside the archive */
	uint64_t size;
};
struct ustar {
	const uint8_t *buf;
	uint64_t len, off;
	char err[96];                /* why ustar_next failed */
};
void ustar_open(struct ustar *t, const void *buf, uint64_t len);
int ustar_next(struct ustar *t, struct ustar_entry *e);

/* ramfs.c: the in-memory filesystem. */
enum { O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_ACCMODE = 3, O_CREAT = 0x40, O_TRUNC = 0x200, O_APPEND = 0x400 };
enum { S_IFDIR = 0040000, S_IFREG = 0100000 };
#define FS_NAME_MAX 59
struct fs_stat {
	uint32_t ino;
	uint32_t mode;               /* S_IFDIR or S_IFREG | permission bits */
	uint64_t size;
	char name[FS_NAME_MAX + 1];  /* readdir's entry name */
};
void fs_init(void);
int fs_open(const char *path, int flags);
int64_t fs_read(int fd, void *buf, uint64_t n);
int64_t fs_write(int fd, const void *buf, uint64_t n);
int fs_close(int fd);
int fs_mkdir(const char *path);
int fs_readdir(const char *path, int index, struct fs_stat *st);
int fs_stat(const char *path, struct fs_stat *st);
int fs_unlink(const char *path);
int fs_chmod(const char *path, uint32_t perm);
int fs_load_archive(const char *name, const void *buf, uint64_t len);
int64_t fs_read_file(const char *path, char *buf, uint64_t max);
int fs_write_file(const char *path, const void *buf, uint64_t n, uint32_t perm);
int fs_append_file(const char *path, const void *buf, uint64_t n);

/* modules.c */
void modules_load(const struct bf_boot_info *bi);

/* config.c: the persistent configuration (docs/host.md, "Configuration"); the settings' rules
 * and the record are common/hostcfg.h's. */
void config_init(void);
const char *config_get(const char *key);
int config_set(const char *key, const char *value);
void config_defaults(void);
int config_save(void);

/* users.c */
void users_init(void);
int users_check(const char *user, const char *password);
int users_set_password(const char *user, const char *password);
int users_password_set(const char *user);

/* swtch.S */
void swtch(uint64_t *save_rsp, uint64_t load_rsp);

/* sched.c: cooperative tasks; a task runs until it calls yield(). */
struct task;
struct task *task_create(const char *name, void (*fn)(void));
void task_restart(struct task *t);
const char *task_name(const struct task *t);
uint32_t task_starts(const struct task *t);
void yield(void);
void sleep_ms(uint64_t ms);
NORETURN void sched_run(void);

/* agents.c */
void agents_start(void);
void agents_restart(void);
void log_sync(void);

/* kbd.c: keys as tui.h defines them. */
void kbd_init(void);
int kbd_getc(void);

/* serial_tui.c: the DCUI's side of the serial line. */
enum { STUI_OFF, STUI_PLAIN, STUI_ANSI };
#define STUI_COLS 80
#define STUI_ROWS 24
int stui_start(void);            /* chooses the mode (kernelopt dcui.serial, else detected) */
int stui_mode(void);
struct grid *stui_grid(void);    /* what the DCUI draws for the serial line */
void stui_present(int screen);   /* sends it; `screen` changes when the page or dialog does */
int stui_key(void);              /* the next key typed on the serial line, or -1 */

/* dcui.c */
void dcui_start(const struct bf_boot_info *bi);

#endif
