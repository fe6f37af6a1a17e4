/* linux.c: start a stock Linux kernel from a bank (docs/boot-protocol.md, "Linux payloads").
 *
 * The kernel is an x86_64 bzImage with the EFI stub, that is a PE32+ EFI application, and it is
 * started the way the UEFI specification starts any image: LoadImage from the buffer the loader
 * has already checked against SHA256SUMS (so the bytes verified are the bytes run: the file is
 * not read again), the command line as the image's LoadOptions (UCS-2), then StartImage. The
 * initramfs, verified the same way, is offered through the Linux initrd media device path
 * (a vendor media node, LINUX_EFI_INITRD_MEDIA_GUID) carrying the LoadFile2 protocol, which the
 * stub (Linux 5.8 and later) asks for by that path; nothing is placed at fixed addresses and
 * no x86 boot-protocol structure is filled in by us. The EFI stub then does its own
 * ExitBootServices. Before StartImage the loader appends bankforge.bank=, bankforge.disk= and
 * bankforge.part= to the command line and sets the volatile variable BankforgeBoot under
 * bankforge's vendor GUID to the same words (common/bootident.h). */
#include "loader.h"
#include "bootident.h"
#include "bfstring.h"
#include "fmt.h"

#define LINUX_EFI_INITRD_MEDIA_GUID {0x5568e427, 0x68fc, 0x4f3d, {0xac, 0x74, 0xca, 0x55, 0x52, 0x31, 0xcc, 0x68}}
#define EFI_LOAD_FILE2_PROTOCOL_GUID {0x4006c0c1, 0xfcb3, 0x403e, {0x99, 0x6d, 0x4a, 0x6c, 0x87, 0x24, 0xe0, 0x6d}}
#define BF_VENDOR_GUID {0xb6e1c4a2, 0x7d3f, 0x4e51, {0x9a, 0x08, 0x2c, 0x4b, 0x5d, 0x6e, 0x7f, 0x80}}
#define EFI_VARIABLE_BOOTSERVICE_ACCESS 2u
#define EFI_VARIABLE_RUNTIME_ACCESS     4u
#define DP_MEDIA_VENDOR 0x03

/* The members of the runtime services table up to SetVariable (UEFI 2.10, 4.5). */
typedef struct {
	efi_table_header hdr;
	void *get_time, *set_time, *get_wakeup_time, *set_wakeup_time;
	void *set_virtual_address_map, *convert_pointer;
	void *get_variable, *get_next_variable_name;
	efi_status (*set_variable)(const char16 *name, const efi_guid *vendor, uint32_t attributes, uint64_t size,
				   const void *data);
} efi_runtime_services;

typedef efi_status (*load_image_fn)(efi_bool boot_policy, efi_handle parent, efi_device_path *path,
				    void *source, uint64_t size, efi_handle *image);
typedef efi_status (*start_image_fn)(efi_handle image, uint64_t *exit_data_size, char16 **exit_data);
typedef efi_status (*unload_image_fn)(efi_handle image);
typedef efi_status (*install_protocol_fn)(efi_handle *handle, const efi_guid *protocol, uint32_t type, void *iface);
typedef efi_status (*uninstall_protocol_fn)(efi_handle handle, const efi_guid *protocol, void *iface);

struct load_file2 {
	efi_status (*load_file)(struct load_file2 *self, efi_device_path *path, efi_bool boot_policy,
				uint64_t *size, void *buffer);
};

/* The initrd device path: one vendor media node, then the end node. */
struct initrd_path {
	struct efi_device_path vendor;
	efi_guid guid;
	struct efi_device_path end;
} __attribute__((packed));

static struct {
	const uint8_t *data;
	uint64_t size;
} initrd;

/* LoadFile2.LoadFile for the initramfs: its size when asked with no or a small buffer, else its bytes. */
static efi_status initrd_load_file(struct load_file2 *self, efi_device_path *path, efi_bool boot_policy, uint64_t *size,
				   void *buffer)
{
	(void)self;
	(void)path;
	if (boot_policy)
		return EFI_UNSUPPORTED;   /* LoadFile2 never loads boot options */
	if (!size)
		return EFI_INVALID_PARAMETER;
	if (!buffer || *size < initrd.size) {
		*size = initrd.size;
		return EFI_BUFFER_TOO_SMALL;
	}
	memcpy(buffer, initrd.data, initrd.size);
	*size = initrd.size;
	return EFI_SUCCESS;
}

static struct load_file2 initrd_lf2 = { initrd_load_file };
static struct initrd_path initrd_dp = {
	{ DP_MEDIA, DP_MEDIA_VENDOR, { sizeof(struct efi_device_path) + sizeof(efi_guid), 0 } },
	LINUX_EFI_INITRD_MEDIA_GUID,
	{ DP_END, DP_END_ENTIRE, { sizeof(struct efi_device_path), 0 } },
};
static const efi_guid lf2_guid = EFI_LOAD_FILE2_PROTOCOL_GUID;
static const efi_guid dp_guid = EFI_DEVICE_PATH_PROTOCOL_GUID;

int linux_is_kernel(const uint8_t *data, uint64_t size)
{
	/* "MZ" (a PE image) and the x86 boot protocol's "HdrS" at 0x202: a bzImage. */
	return size >= 0x400 && data[0] == 'M' && data[1] == 'Z' && memcmp(data + 0x202, "HdrS", 4) == 0;
}

static void ident_of(struct layout *l, int bank, struct bf_ident *id)
{
	id->bank = bank;
	memcpy(id->disk_guid, l->gpt.disk_guid, 16);
	memcpy(id->part_guid, l->bank[bank].part.guid, 16);
}

uint8_t linux_boot(struct layout *l, int bank, const struct linux_payload *lx, const char *kernelopt, char *err,
		   size_t errlen)
{
	efi_status st;
	struct bf_ident id;
	char words[BF_IDENT_MAX];
	ident_of(l, bank, &id);
	size_t wn = bf_ident_format(&id, words, sizeof words);

	/* The command line: kernelopt, a space, the three words; as UCS-2 with its NUL (ASCII in,
	 * so one code unit a byte; a byte above 0x7f is kept as its Latin-1 code point). */
	size_t on = strlen(kernelopt);
	uint64_t units = on + (on ? 1 : 0) + wn + 1;
	char16 *opts = pages_alloc(units * 2);
	if (!opts)
		return bf_fmt(err, errlen, "out of memory for the command line"), BF_REASON_LOAD_FAILED;
	size_t u = 0;
	for (size_t i = 0; i < on; i++)
		opts[u++] = (uint8_t)kernelopt[i];
	if (on)
		opts[u++] = ' ';
	for (size_t i = 0; i < wn; i++)
		opts[u++] = (uint8_t)words[i];
	opts[u] = 0;

	/* The variable first: a firmware that refuses it must not stop the boot, the command line
	 * says the same. */
	static const efi_guid vendor = BF_VENDOR_GUID;
	static const char16 var_name[] = u"BankforgeBoot";
	efi_runtime_services *rt = g_st->runtime_services;
	st = rt->set_variable(var_name, &vendor, EFI_VARIABLE_BOOTSERVICE_ACCESS | EFI_VARIABLE_RUNTIME_ACCESS, wn, words);
	if (EFI_IS_ERROR(st))
		con_print("bankforge: setting the EFI variable %s failed (status %llx); the command line still says it\n",
			  BF_IDENT_VARIABLE, st);

	efi_handle image = NULL;
	st = ((load_image_fn)g_bs->load_image)(0, g_image, NULL, lx->kernel, lx->kernel_size, &image);
	if (EFI_IS_ERROR(st)) {
		pages_free(opts, units * 2);
		if (st == EFI_SECURITY_VIOLATION)
			return bf_fmt(err, errlen, "vmlinuz: refused by Secure Boot"), BF_REASON_LOAD_FAILED;
		return bf_fmt(err, errlen, "vmlinuz: LoadImage failed (status %llx)", st), BF_REASON_LOAD_FAILED;
	}
	static const efi_guid li_guid = EFI_LOADED_IMAGE_PROTOCOL_GUID;
	efi_loaded_image *li;
	if (EFI_IS_ERROR(g_bs->handle_protocol(image, &li_guid, (void **)&li))) {
		((unload_image_fn)g_bs->unload_image)(image);
		pages_free(opts, units * 2);
		return bf_fmt(err, errlen, "vmlinuz: no loaded-image protocol"), BF_REASON_LOAD_FAILED;
	}
	li->load_options = opts;
	li->load_options_size = (uint32_t)(units * 2);

	efi_handle initrd_handle = NULL;
	if (lx->initrd) {
		initrd.data = lx->initrd;
		initrd.size = lx->initrd_size;
		install_protocol_fn install = (install_protocol_fn)g_bs->install_protocol_interface;
		st = install(&initrd_handle, &dp_guid, 0, &initrd_dp);
		if (!EFI_IS_ERROR(st))
			st = install(&initrd_handle, &lf2_guid, 0, &initrd_lf2);
		if (EFI_IS_ERROR(st)) {
			((unload_image_fn)g_bs->unload_image)(image);
			pages_free(opts, units * 2);
			return bf_fmt(err, errlen, "initrd: cannot offer it to the kernel (status %llx)", st), BF_REASON_LOAD_FAILED;
		}
	}

	con_print("starting Linux: %llu-byte kernel, %llu-byte initramfs, command line \"%s%s%s\"\n", lx->kernel_size,
		  lx->initrd_size, kernelopt, on ? " " : "", words);
	st = ((start_image_fn)g_bs->start_image)(image, NULL, NULL);
	/* Only a kernel that could not start (or exited) comes back. */
	if (initrd_handle) {
		uninstall_protocol_fn uninstall = (uninstall_protocol_fn)g_bs->uninstall_protocol_interface;
		uninstall(initrd_handle, &lf2_guid, &initrd_lf2);
		uninstall(initrd_handle, &dp_guid, &initrd_dp);
	}
	/* An application that returns is unloaded by the firmware (UEFI 2.10, 7.4 Exit): no UnloadImage here. */
	pages_free(opts, units * 2);
	return bf_fmt(err, errlen, "vmlinuz: the kernel returned (status %llx)", st), BF_REASON_LOAD_FAILED;
}
