/* bftypes.h: fixed-width types for code built four ways: into the UEFI loader (MS ABI,
 * freestanding), into the kernel (SysV, freestanding), for the host (unit tests), and crc32.c
 * as WebAssembly for the TypeScript side (scripts/crc32-wasm.mjs). */
#ifndef BF_TYPES_H
#define BF_TYPES_H

#include <stdint.h>
#include <stddef.h>

#endif
