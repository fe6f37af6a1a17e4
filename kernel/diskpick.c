/* diskpick.c: choosing the boot disk among the registered disks (diskpick.h). The GPT disk GUID
 * alone is not enough: `flash` writes the image's GUIDs, so two sticks (or a stick and an
 * internal disk) made from one image carry the same ones, and a disk we drive could be a copy
 * of a boot disk we have no driver for. The loader's device path names the transport and the PCI
 * function of the controller; a disk elsewhere is never the boot disk, and two copies behind
 * the one controller cannot be told apart with what bootinfo carries, so neither is chosen. */
#include "diskpick.h"
#include "../common/bootinfo.h"

int diskpick_located(const struct disk_candidate *c, uint32_t boot_transport, uint32_t boot_pci_location)
{
	return (boot_transport == BF_DISK_UNKNOWN || c->transport == boot_transport) &&
	       (boot_pci_location == ~0u || c->pci_location == boot_pci_location);
}

int diskpick(const struct disk_candidate *c, int n, uint32_t boot_transport, uint32_t boot_pci_location)
{
	int found = DISKPICK_NONE;

	for (int i = 0; i < n; i++) {
		if (!c[i].guid_match || !diskpick_located(&c[i], boot_transport, boot_pci_location))
			continue;
		if (found != DISKPICK_NONE)
			return DISKPICK_AMBIGUOUS;
		found = i;
	}
	return found;
}
