/* diskpick.h: which registered disk is the boot disk (diskpick.c), as a pure function of what
 * each disk is and what the loader handed over, so the host tests run every case. */
#ifndef KERNEL_DISKPICK_H
#define KERNEL_DISKPICK_H
#include "../common/bftypes.h"

struct disk_candidate {
	int guid_match;          /* its GPT (read through our driver) carries bootinfo's disk GUID */
	uint32_t transport;      /* enum bf_transport of the driver */
	uint32_t pci_location;   /* of its controller, as bootinfo counts it */
};

enum { DISKPICK_NONE = -1, DISKPICK_AMBIGUOUS = -2 };

/* The index of the one disk that carries the boot disk's GUID and sits where the loader booted
 * from: on the loader's transport (unless that is BF_DISK_UNKNOWN) behind the loader's PCI
 * function (unless that is ~0). DISKPICK_NONE when no disk qualifies; DISKPICK_AMBIGUOUS when
 * more than one does (copies of one image behind one controller: two ports of an AHCI HBA, two
 * namespaces, two sticks on one xHCI), since then any choice could be the wrong disk. */
int diskpick(const struct disk_candidate *c, int n, uint32_t boot_transport, uint32_t boot_pci_location);

/* Whether c sits where the loader booted from (the test diskpick makes after the GUID). */
int diskpick_located(const struct disk_candidate *c, uint32_t boot_transport, uint32_t boot_pci_location);

#endif
