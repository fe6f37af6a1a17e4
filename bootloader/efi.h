/* efi.h: the part of UEFI the loader uses, written from the UEFI 2.10 specification: base types,
 * the System Table, Boot Services, the text console protocols, Loaded Image, Device Path,
 * Block IO, Simple File System and File, Graphics Output and PCI IO (for the disk controller's
 * location). Protocol members the loader never calls are kept as untyped pointers so that the
 * layout stays right without declaring their signatures. */
#ifndef BF_EFI_H
#define BF_EFI_H
#include "bftypes.h"

/* UEFI calls use the Microsoft x64 convention; the loader is built for that target, so EFIAPI
 * is the default calling convention and needs no attribute. */
typedef uint64_t efi_status;
typedef void *efi_handle;
typedef void *efi_event;
typedef uint16_t char16;
typedef uint8_t efi_bool;

#define EFI_ERR(n)              (0x8000000000000000ull | (n))
#define EFI_SUCCESS             0
#define EFI_LOAD_ERROR          EFI_ERR(1)
#define EFI_INVALID_PARAMETER   EFI_ERR(2)
#define EFI_UNSUPPORTED         EFI_ERR(3)
#define EFI_BUFFER_TOO_SMALL    EFI_ERR(5)
#define EFI_DEVICE_ERROR        EFI_ERR(7)
#define EFI_OUT_OF_RESOURCES    EFI_ERR(9)
#define EFI_VOLUME_CORRUPTED    EFI_ERR(10)
#define EFI_NOT_FOUND           EFI_ERR(14)
#define EFI_ABORTED             EFI_ERR(21)
#define EFI_SECURITY_VIOLATION  EFI_ERR(26)
#define EFI_IS_ERROR(s)         (((s) >> 63) != 0)

typedef struct {
	uint32_t d1;
	uint16_t d2, d3;
	uint8_t d4[8];
} efi_guid;

typedef struct {
	uint64_t signature;
	uint32_t revision;
	uint32_t header_size;
	uint32_t crc32;
	uint32_t reserved;
} efi_table_header;

/* ---- Simple Text Input / Output ---- */
typedef struct {
	uint16_t scan_code;
	char16 unicode_char;
} efi_input_key;

typedef struct efi_simple_text_input efi_simple_text_input;
struct efi_simple_text_input {
	efi_status (*reset)(efi_simple_text_input *self, efi_bool extended);
	efi_status (*read_key_stroke)(efi_simple_text_input *self, efi_input_key *key);
	efi_event wait_for_key;
};

#define EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL_GUID {0x387477c2, 0x69c7, 0x11d2, {0x8e, 0x39, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b}}
typedef struct efi_simple_text_output efi_simple_text_output;
struct efi_simple_text_output {
	efi_status (*reset)(efi_simple_text_output *self, efi_bool extended);
	efi_status (*output_string)(efi_simple_text_output *self, const char16 *s);
	void *test_string, *query_mode, *set_mode, *set_attribute, *clear_screen, *set_cursor_position,
		*enable_cursor, *mode;
};

/* ---- Memory ---- */
enum efi_allocate_type { EFI_ALLOCATE_ANY_PAGES = 0, EFI_ALLOCATE_MAX_ADDRESS = 1, EFI_ALLOCATE_ADDRESS = 2 };

enum efi_memory_type {
	EFI_RESERVED_MEMORY = 0, EFI_LOADER_CODE = 1, EFI_LOADER_DATA = 2, EFI_BOOT_SERVICES_CODE = 3,
	EFI_BOOT_SERVICES_DATA = 4, EFI_RUNTIME_SERVICES_CODE = 5, EFI_RUNTIME_SERVICES_DATA = 6,
	EFI_CONVENTIONAL_MEMORY = 7, EFI_UNUSABLE_MEMORY = 8, EFI_ACPI_RECLAIM_MEMORY = 9,
	EFI_ACPI_MEMORY_NVS = 10, EFI_MEMORY_MAPPED_IO = 11, EFI_MEMORY_MAPPED_IO_PORT_SPACE = 12,
	EFI_PAL_CODE = 13, EFI_PERSISTENT_MEMORY = 14,
};

typedef struct {
	uint32_t type;
	uint64_t physical_start;
	uint64_t virtual_start;
	uint64_t number_of_pages;
	uint64_t attribute;
} efi_memory_descriptor;   /* walk with the descriptor size GetMemoryMap returns, not sizeof */

#define EFI_PAGE_SIZE 4096

enum efi_locate_search_type { EFI_ALL_HANDLES = 0, EFI_BY_REGISTER_NOTIFY = 1, EFI_BY_PROTOCOL = 2 };

typedef struct efi_device_path efi_device_path;

/* ---- Boot Services (members in specification order) ---- */
typedef struct {
	efi_table_header hdr;
	void *raise_tpl, *restore_tpl;
	efi_status (*allocate_pages)(uint32_t type, uint32_t memory_type, uint64_t pages, uint64_t *memory);
	efi_status (*free_pages)(uint64_t memory, uint64_t pages);
	efi_status (*get_memory_map)(uint64_t *size, efi_memory_descriptor *map, uint64_t *key,
				     uint64_t *descriptor_size, uint32_t *descriptor_version);
	efi_status (*allocate_pool)(uint32_t memory_type, uint64_t size, void **buffer);
	efi_status (*free_pool)(void *buffer);
	void *create_event, *set_timer, *wait_for_event, *signal_event, *close_event, *check_event;
	void *install_protocol_interface, *reinstall_protocol_interface, *uninstall_protocol_interface;
	efi_status (*handle_protocol)(efi_handle handle, const efi_guid *protocol, void **interface);
	void *reserved;
	void *register_protocol_notify, *locate_handle;
	efi_status (*locate_device_path)(const efi_guid *protocol, efi_device_path **path, efi_handle *device);
	void *install_configuration_table;
	void *load_image, *start_image, *exit, *unload_image;
	efi_status (*exit_boot_services)(efi_handle image, uint64_t map_key);
	void *get_next_monotonic_count;
	efi_status (*stall)(uint64_t microseconds);
	efi_status (*set_watchdog_timer)(uint64_t timeout, uint64_t code, uint64_t data_size, char16 *data);
	efi_status (*connect_controller)(efi_handle controller, efi_handle *driver, efi_device_path *remaining,
					 efi_bool recursive);
	void *disconnect_controller;
	void *open_protocol, *close_protocol, *open_protocol_information;
	void *protocols_per_handle;
	efi_status (*locate_handle_buffer)(uint32_t search_type, const efi_guid *protocol, void *search_key,
					   uint64_t *count, efi_handle **buffer);
	efi_status (*locate_protocol)(const efi_guid *protocol, void *registration, void **interface);
	void *install_multiple_protocol_interfaces, *uninstall_multiple_protocol_interfaces;
	void *calculate_crc32, *copy_mem, *set_mem, *create_event_ex;
} efi_boot_services;

typedef struct {
	efi_guid vendor_guid;
	void *vendor_table;
} efi_configuration_table;

typedef struct {
	efi_table_header hdr;
	char16 *firmware_vendor;
	uint32_t firmware_revision;
	efi_handle console_in_handle;
	efi_simple_text_input *con_in;
	efi_handle console_out_handle;
	efi_simple_text_output *con_out;
	efi_handle standard_error_handle;
	efi_simple_text_output *std_err;
	void *runtime_services;
	efi_boot_services *boot_services;
	uint64_t number_of_table_entries;
	efi_configuration_table *configuration_table;
} efi_system_table;

/* ---- Loaded Image ---- */
#define EFI_LOADED_IMAGE_PROTOCOL_GUID {0x5b1b31a1, 0x9562, 0x11d2, {0x8e, 0x3f, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b}}
typedef struct {
	uint32_t revision;
	efi_handle parent_handle;
	efi_system_table *system_table;
	efi_handle device_handle;   /* the partition the loader was read from */
	efi_device_path *file_path;
	void *reserved;
	uint32_t load_options_size;
	void *load_options;
	void *image_base;
	uint64_t image_size;
	uint32_t image_code_type, image_data_type;
	void *unload;
} efi_loaded_image;

/* ---- Device Path: a packed list of nodes, each with its own length, ended by an End node ---- */
#define EFI_DEVICE_PATH_PROTOCOL_GUID {0x09576e91, 0x6d3f, 0x11d2, {0x8e, 0x39, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b}}
struct efi_device_path {
	uint8_t type;
	uint8_t subtype;
	uint8_t length[2];   /* little-endian, whole node; nodes are not aligned */
};

#define DP_HARDWARE      0x01
#define   DP_HW_PCI      0x01        /* u8 function, u8 device */
#define DP_ACPI          0x02
#define DP_MESSAGING     0x03
#define   DP_MSG_ATAPI   0x01
#define   DP_MSG_SCSI    0x02
#define   DP_MSG_USB     0x05
#define   DP_MSG_USB_CLASS 0x0f
#define   DP_MSG_UART    0x0e
#define   DP_MSG_USB_WWID 0x10
#define   DP_MSG_SATA    0x12
#define   DP_MSG_NVME    0x17
#define   DP_MSG_UFS     0x19
#define DP_MEDIA         0x04
#define   DP_MEDIA_HARDDRIVE 0x01
#define DP_END           0x7f
#define   DP_END_ENTIRE  0xff

/* Media / Hard Drive node: one partition. Read its fields with memcpy: the node is unaligned. */
#define DP_HD_PARTITION_NUMBER 4    /* u32, 1-based GPT entry index + 1 */
#define DP_HD_SIGNATURE        24   /* 16 bytes: the partition's unique GUID for GPT */
#define DP_HD_SIGNATURE_TYPE   41   /* u8: 2 = GUID */
#define DP_HD_LENGTH           42

/* ---- Block IO ---- */
#define EFI_BLOCK_IO_PROTOCOL_GUID {0x964e5b21, 0x6459, 0x11d2, {0x8e, 0x39, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b}}
typedef struct {
	uint32_t media_id;
	efi_bool removable_media;
	efi_bool media_present;
	efi_bool logical_partition;   /* 1 for a partition's Block IO, 0 for the whole disk */
	efi_bool read_only;
	efi_bool write_caching;
	uint32_t block_size;
	uint32_t io_align;            /* buffers must be aligned to this (0 or 1: any) */
	uint64_t last_block;
} efi_block_io_media;

typedef struct efi_block_io efi_block_io;
struct efi_block_io {
	uint64_t revision;
	efi_block_io_media *media;
	efi_status (*reset)(efi_block_io *self, efi_bool extended);
	efi_status (*read_blocks)(efi_block_io *self, uint32_t media_id, uint64_t lba, uint64_t size, void *buf);
	efi_status (*write_blocks)(efi_block_io *self, uint32_t media_id, uint64_t lba, uint64_t size, const void *buf);
	efi_status (*flush_blocks)(efi_block_io *self);
};

/* ---- Simple File System and File ---- */
#define EFI_SIMPLE_FILE_SYSTEM_PROTOCOL_GUID {0x964e5b22, 0x6459, 0x11d2, {0x8e, 0x39, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b}}
#define EFI_FILE_INFO_GUID {0x09576e92, 0x6d3f, 0x11d2, {0x8e, 0x39, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b}}
#define EFI_FILE_MODE_READ 1ull

typedef struct efi_file efi_file;
struct efi_file {
	uint64_t revision;
	efi_status (*open)(efi_file *self, efi_file **out, const char16 *name, uint64_t mode, uint64_t attributes);
	efi_status (*close)(efi_file *self);
	void *delete_file;
	efi_status (*read)(efi_file *self, uint64_t *size, void *buf);
	void *write, *get_position, *set_position;
	efi_status (*get_info)(efi_file *self, const efi_guid *type, uint64_t *size, void *buf);
	void *set_info, *flush;
};

typedef struct {
	uint64_t size;            /* of this structure, name included */
	uint64_t file_size;
	uint64_t physical_size;
	uint8_t create_time[16], last_access_time[16], modification_time[16];
	uint64_t attribute;
	char16 file_name[];
} efi_file_info;
#define EFI_FILE_DIRECTORY 0x10ull

typedef struct efi_simple_file_system efi_simple_file_system;
struct efi_simple_file_system {
	uint64_t revision;
	efi_status (*open_volume)(efi_simple_file_system *self, efi_file **root);
};

/* ---- Graphics Output ---- */
#define EFI_GRAPHICS_OUTPUT_PROTOCOL_GUID {0x9042a9de, 0x23dc, 0x4a38, {0x96, 0xfb, 0x7a, 0xde, 0xd0, 0x80, 0x51, 0x6a}}
enum efi_pixel_format { EFI_PIXEL_RGBX = 0, EFI_PIXEL_BGRX = 1, EFI_PIXEL_BITMASK = 2, EFI_PIXEL_BLT_ONLY = 3 };
typedef struct {
	uint32_t version;
	uint32_t width, height;
	uint32_t pixel_format;
	uint32_t pixel_masks[4];
	uint32_t pixels_per_scan_line;
} efi_gop_mode_info;
typedef struct {
	uint32_t max_mode, mode;
	efi_gop_mode_info *info;
	uint64_t size_of_info;
	uint64_t frame_buffer_base;
	uint64_t frame_buffer_size;
} efi_gop_mode;
typedef struct {
	void *query_mode, *set_mode, *blt;
	efi_gop_mode *mode;
} efi_graphics_output;

/* ---- PCI IO: only the configuration read and the location ---- */
#define EFI_PCI_IO_PROTOCOL_GUID {0x4cf5b200, 0x68b8, 0x4ca5, {0x9e, 0xec, 0xb2, 0x3e, 0x3f, 0x50, 0x02, 0x9a}}
typedef struct efi_pci_io efi_pci_io;
struct efi_pci_io {
	void *poll_mem, *poll_io;
	void *mem_read, *mem_write, *io_read, *io_write;
	efi_status (*pci_read)(efi_pci_io *self, uint32_t width, uint32_t offset, uint64_t count, void *buf);
	void *pci_write;
	void *copy_mem, *map, *unmap, *allocate_buffer, *free_buffer, *flush;
	efi_status (*get_location)(efi_pci_io *self, uint64_t *segment, uint64_t *bus, uint64_t *device,
				   uint64_t *function);
	void *attributes, *get_bar_attributes, *set_bar_attributes;
	uint64_t rom_size;
	void *rom_image;
};
#define EFI_PCI_IO_WIDTH_UINT16 1

/* ---- Configuration table entries ---- */
#define EFI_ACPI_20_TABLE_GUID {0x8868e871, 0xe4f1, 0x11d3, {0xbc, 0x22, 0x00, 0x80, 0xc7, 0x3c, 0x88, 0x81}}
#define EFI_ACPI_10_TABLE_GUID {0xeb9d2d30, 0x2d88, 0x11d3, {0x9a, 0x16, 0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d}}

#endif
