/* bootcfg.h: a bank's boot.cfg and SHA256SUMS (docs/boot-protocol.md), plain C. */
#ifndef BF_BOOTCFG_H
#define BF_BOOTCFG_H
#include "bftypes.h"
#include "bootinfo.h"

#define BOOTCFG_NAME_MAX    48     /* file names: at most 47 bytes + NUL */
#define BOOTCFG_TITLE_MAX   128
#define BOOTCFG_CMDLINE_MAX 1024
#define BOOTCFG_BUILD_MAX   32     /* the boot info's version field */
#define BOOTCFG_TIMEOUT_MAX 3600
#define BOOTCFG_WATCHDOG_MAX 600   /* seconds: within every watchdog's reach (docs/watchdog.md) */

struct bootcfg {
	char title[BOOTCFG_TITLE_MAX];
	char build[BOOTCFG_BUILD_MAX];
	char kernel[BOOTCFG_NAME_MAX];
	char kernelopt[BOOTCFG_CMDLINE_MAX];
	char initrd[BOOTCFG_NAME_MAX];   /* a Linux kernel's initramfs, or "" (docs/boot-protocol.md) */
	uint32_t timeout;            /* menu seconds; 0 = no menu */
	uint32_t watchdog;           /* seconds a trial may run before it is marked good; 0 = no watchdog */
	uint32_t nmodules;
	char modules[BF_MAX_MODULES][BOOTCFG_NAME_MAX];
};

/* Parse boot.cfg. Returns 0, or -1 with "boot.cfg line N: ..." in err. */
int bootcfg_parse(const char *text, size_t len, struct bootcfg *out, char *err, size_t errlen);

#define SUMS_MAX 32
struct sums {
	uint32_t n;
	struct {
		char name[BOOTCFG_NAME_MAX];
		uint8_t sha256[32];
	} e[SUMS_MAX];
};

/* Parse SHA256SUMS (`<64 hex>  <name>` or `<64 hex> *<name>` lines). Returns 0, or -1 with err. */
int sums_parse(const char *text, size_t len, struct sums *out, char *err, size_t errlen);
/* The expected hash of `name`, or NULL when SHA256SUMS does not list it. */
const uint8_t *sums_find(const struct sums *s, const char *name);

#endif
