/* bftypes.h: fixed-width types for code built three ways: into the UEFI loader (MS ABI,
 * freestanding), into the kernel (SysV, freestanding) and for the host (unit tests). */
#ifndef BF_TYPES_H
#define BF_TYPES_H

#include <stdint.h>
#include <stddef.h>

#endif
