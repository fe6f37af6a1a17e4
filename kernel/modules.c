/* modules.c: the bank's modules (boot.cfg modules=, loaded and sha256-checked by the loader,
 * listed in bootinfo) unpacked into the in-memory filesystem. A module named *.tar is a ustar
 * archive; other modules are left alone. A refused archive is logged and skipped: the host
 * still comes up (with the directories below, empty), so the DCUI can be reached to repair it. */
#include "system.h"

static int is_tar(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && memcmp(name + n - 4, ".tar", 4) == 0;
}

void modules_load(const struct bf_boot_info *bi)
{
	static const char *const dirs[] = { "/etc", "/etc/vmware", "/var", "/var/log", "/var/log/vmware", "/tmp" };
	struct fs_stat st;

	fs_init();
	if (bi->module_count > BF_MAX_MODULES)
		panic("modules: boot info lists %u modules (at most %d)", bi->module_count, BF_MAX_MODULES);
	for (uint32_t i = 0; i < bi->module_count; i++) {
		const struct bf_module *m = &bi->modules[i];
		char name[sizeof m->name + 1];

		memcpy(name, m->name, sizeof m->name);
		name[sizeof m->name] = 0;
		if (is_tar(name))
			fs_load_archive(name, (const void *)(uintptr_t)m->base, m->size);
		else
			kprintf("modules: %s (%lu bytes) is not an archive; ignored\n", name, m->size);
	}
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		if (fs_stat(dirs[i], &st) < 0 && fs_mkdir(dirs[i]) < 0)
			panic("modules: cannot create %s in an empty filesystem", dirs[i]);
}
