/* usb.h: the pure parts of the USB stack, with no register access, so that they build both into
 * the kernel and for the host (test/c/usb-host.c runs them under ASan and UBSan):
 *   usb_proto.c: xHCI transfer request blocks and ring arithmetic (eXtensible Host Controller
 *                Interface for USB, revision 1.2, "xHCI" below), USB descriptors (USB 2.0 ch. 9,
 *                USB 3.2 ch. 9);
 *   scsi.c:      the Bulk-Only Transport wrappers (USB Mass Storage Class Bulk-Only Transport 1.0,
 *                "BOT") and the SCSI commands a stick needs (SPC-4, SBC-3).
 * The drivers that use them are xhci.c and usb_storage.c. Everything that parses takes the length
 * of what the device sent and trusts no length field inside it. */
#ifndef KERNEL_USB_H
#define KERNEL_USB_H
#include "../common/bftypes.h"
#include "../common/bfstring.h"

/* ---- xHCI TRBs (xHCI 6.4) ---- */
struct trb {
	uint64_t param;
	uint32_t status;
	uint32_t control;
};

/* TRB types (xHCI table 6-91). */
enum {
	TRB_NORMAL = 1, TRB_SETUP = 2, TRB_DATA = 3, TRB_STATUS = 4, TRB_LINK = 6,
	TRB_ENABLE_SLOT = 9, TRB_ADDRESS_DEVICE = 11, TRB_CONFIGURE_EP = 12,
	TRB_EVALUATE_CONTEXT = 13, TRB_RESET_EP = 14, TRB_STOP_EP = 15, TRB_SET_TR_DEQUEUE = 16,
	TRB_TRANSFER_EVENT = 32, TRB_COMMAND_COMPLETION = 33,
};

/* Control-word bits (xHCI 6.4.1, 6.4.4.1). */
#define TRB_CYCLE (1u << 0)
#define TRB_TOGGLE (1u << 1)   /* Link TRB: toggle the cycle state */
#define TRB_ISP (1u << 2)      /* interrupt (here: an event) on short packet */
#define TRB_CHAIN (1u << 4)
#define TRB_IOC (1u << 5)
#define TRB_IDT (1u << 6)      /* Setup TRB: the 8 setup bytes are in the TRB itself */
#define TRB_DIR_IN (1u << 16)  /* Data and Status stage TRBs */
#define TRB_TYPE(t) ((uint32_t)(t) << 10)
#define TRB_TYPE_OF(c) (((c) >> 10) & 0x3F)
#define TRB_SLOT(s) ((uint32_t)(s) << 24)
#define TRB_EP(dci) ((uint32_t)(dci) << 16)

/* Completion codes (xHCI table 6-90). */
enum {
	CC_SUCCESS = 1, CC_DATA_BUFFER = 2, CC_BABBLE = 3, CC_TRANSACTION = 4, CC_TRB = 5, CC_STALL = 6,
	CC_SHORT_PACKET = 13, CC_CONTEXT_STATE = 19, CC_STOPPED = 26,
};

/* The largest transfer one TRB may carry; a TRB's buffer also must not cross a 64 KiB boundary
 * (xHCI 6.4.1.1). */
#define TRB_MAX_BYTES 65536u

/* A producer ring of `size` TRBs whose last slot is the Link TRB back to the start (xHCI 4.9.2):
 * the command ring and each transfer ring. The driver owns enqueue and its cycle state. */
struct trb_ring {
	struct trb *trbs;
	uint64_t phys;      /* bus address of trbs[0] (identity-mapped in the kernel) */
	uint32_t size;      /* TRBs, Link included */
	uint32_t enq;       /* index of the next TRB the driver writes */
	uint32_t cycle;     /* the producer cycle state, 0 or 1 */
};
void ring_init(struct trb_ring *r, struct trb *trbs, uint64_t phys, uint32_t size);
/* Writes one TRB at enqueue with the ring's cycle bit and advances, passing over the Link TRB
 * (handing it to the controller with the current cycle and toggling). Returns the bus address of
 * the TRB written. The cycle bit is written last, so a controller never sees half a TRB. */
uint64_t ring_push(struct trb_ring *r, uint64_t param, uint32_t status, uint32_t control);
/* The index of the TRB at bus address `addr` on the ring, or -1 when it is not one of its TRBs. */
int ring_index(const struct trb_ring *r, uint64_t addr);
/* Where the next TRB goes, with the dequeue cycle state in bit 0 (for Set TR Dequeue Pointer). */
uint64_t ring_dequeue_ptr(const struct trb_ring *r);

/* The consumer side: one event ring segment (xHCI 4.9.4). */
struct event_ring {
	struct trb *trbs;
	uint64_t phys;
	uint32_t size;
	uint32_t deq;
	uint32_t cycle;     /* the consumer cycle state: an event is new when its cycle bit equals it */
};
void event_ring_init(struct event_ring *r, struct trb *trbs, uint64_t phys, uint32_t size);
/* Copies out the event at dequeue and advances when there is a new one (1), else 0. */
int event_ring_pop(struct event_ring *r, struct trb *out);
uint64_t event_ring_deq_phys(const struct event_ring *r);

/* Normal TRBs for `len` bytes at bus address `buf`, split where a TRB would exceed 64 KiB or
 * cross a 64 KiB boundary, chained, each with ISP and the last with IOC; TD Size as xHCI 4.11.2.4
 * counts it for `mps`-byte packets. Fills at most `max` and returns how many, or -1. */
int trb_normal_td(struct trb *out, int max, uint64_t buf, uint32_t len, uint32_t mps);

/* ---- USB descriptors and requests (USB 2.0 9.3, 9.4, 9.6; USB 3.2 9.6.7) ---- */
enum { USB_DESC_DEVICE = 1, USB_DESC_CONFIGURATION = 2, USB_DESC_INTERFACE = 4, USB_DESC_ENDPOINT = 5,
       USB_DESC_SS_EP_COMPANION = 0x30 };
enum { USB_REQ_CLEAR_FEATURE = 1, USB_REQ_GET_DESCRIPTOR = 6, USB_REQ_SET_CONFIGURATION = 9 };
enum { USB_FEATURE_ENDPOINT_HALT = 0 };
/* bmRequestType: direction, type, recipient. */
#define USB_RT_IN 0x80
#define USB_RT_CLASS 0x20
#define USB_RT_INTERFACE 0x01
#define USB_RT_ENDPOINT 0x02

/* Port speeds as xHCI's default Protocol Speed IDs number them (xHCI 7.2.2.1.1). */
enum { USB_SPEED_FULL = 1, USB_SPEED_LOW = 2, USB_SPEED_HIGH = 3, USB_SPEED_SUPER = 4, USB_SPEED_SUPER_PLUS = 5 };
const char *usb_speed_name(uint32_t speed);
/* EP0's max packet size before the device descriptor says otherwise (USB 2.0 5.5.3, USB 3.2 9.6.1). */
uint32_t usb_default_mps0(uint32_t speed);

struct usb_device_desc {
	uint16_t bcd_usb;
	uint8_t dev_class;
	uint32_t mps0;          /* EP0 max packet size in bytes (SuperSpeed's exponent decoded) */
	uint16_t vendor, product;
	uint8_t nconfigs;
};
/* 0, or -1 when `len` bytes are not a device descriptor. */
int usb_parse_device(const uint8_t *p, uint32_t len, uint32_t speed, struct usb_device_desc *d);

/* A Bulk-Only mass-storage interface found in a configuration descriptor set. */
struct usb_msc_iface {
	uint8_t config_value;   /* for SET_CONFIGURATION */
	uint8_t iface;          /* bInterfaceNumber, wIndex of the class requests */
	uint8_t subclass;       /* 6: SCSI transparent command set */
	uint8_t ep_in, ep_out;  /* endpoint addresses (ep_in has bit 7 set) */
	uint16_t mps_in, mps_out;
	uint8_t burst_in, burst_out;   /* SuperSpeed bMaxBurst, 0 otherwise */
};
/* Walks a whole configuration descriptor set (`len` bytes as read) for the first interface of
 * class 8 (mass storage) with protocol 0x50 (Bulk-Only) and one bulk IN and one bulk OUT
 * endpoint. 0 when found; -1 when there is none or the set is malformed. */
int usb_find_msc(const uint8_t *p, uint32_t len, struct usb_msc_iface *out);

/* ---- Bulk-Only Transport (BOT 5.1, 5.2, 5.3) ---- */
#define CBW_LEN 31
#define CSW_LEN 13
#define CBW_SIGNATURE 0x43425355u
#define CSW_SIGNATURE 0x53425355u
enum { BOT_DIR_OUT = 0, BOT_DIR_IN = 1 };
enum { BOT_REQ_RESET = 0xFF, BOT_REQ_GET_MAX_LUN = 0xFE };
/* Fills a 31-byte CBW; -1 when the command block is not 1-16 bytes or the LUN is over 15. */
int bot_cbw(uint8_t out[CBW_LEN], uint32_t tag, uint32_t data_len, int dir, uint8_t lun, const uint8_t *cdb,
	    uint8_t cdb_len);
/* What a CSW says (BOT 6.3): a CSW that is not valid and meaningful (wrong length, signature or
 * tag, a status over 2, a residue over the expected length) calls for reset recovery. */
enum { CSW_PASSED = 0, CSW_FAILED = 1, CSW_PHASE_ERROR = 2, CSW_INVALID = 3 };
int bot_csw(const uint8_t *p, uint32_t len, uint32_t tag, uint32_t data_len, uint32_t *residue);

/* ---- SCSI (SPC-4, SBC-3) ---- */
enum {
	SCSI_TEST_UNIT_READY = 0x00, SCSI_REQUEST_SENSE = 0x03, SCSI_INQUIRY = 0x12, SCSI_READ_CAPACITY10 = 0x25,
	SCSI_READ10 = 0x28, SCSI_WRITE10 = 0x2A, SCSI_SYNC_CACHE10 = 0x35, SCSI_SERVICE_ACTION_IN16 = 0x9E,
};
#define SCSI_SA_READ_CAPACITY16 0x10
/* Fill a CDB; return its length. */
int scsi_cdb_simple(uint8_t cdb[16], uint8_t op, uint8_t alloc_len);   /* TUR, REQUEST SENSE, INQUIRY */
int scsi_cdb_rw10(uint8_t cdb[16], uint8_t op, uint32_t lba, uint16_t blocks);   /* READ/WRITE/SYNC CACHE(10) */
int scsi_cdb_read_capacity10(uint8_t cdb[16]);
int scsi_cdb_read_capacity16(uint8_t cdb[16], uint32_t alloc_len);

struct scsi_inquiry {
	uint8_t peripheral;     /* qualifier and device type (0 = direct access) */
	int removable;
	char vendor[9], product[17];   /* printable ASCII, trailing spaces trimmed */
};
int scsi_parse_inquiry(const uint8_t *p, uint32_t len, struct scsi_inquiry *out);

/* READ CAPACITY (10) and (16) parameter data: blocks = last LBA + 1. The (10) form reports a last
 * LBA of 0xFFFFFFFF when the disk is too large for it: *need16 is set then. */
int scsi_parse_capacity10(const uint8_t *p, uint32_t len, uint64_t *blocks, uint32_t *block_size, int *need16);
int scsi_parse_capacity16(const uint8_t *p, uint32_t len, uint64_t *blocks, uint32_t *block_size);

/* Sense data, fixed (0x70/0x71) or descriptor (0x72/0x73) format (SPC-4 4.5). */
enum { SENSE_NO_SENSE = 0, SENSE_RECOVERED = 1, SENSE_NOT_READY = 2, SENSE_MEDIUM_ERROR = 3,
       SENSE_HARDWARE_ERROR = 4, SENSE_ILLEGAL_REQUEST = 5, SENSE_UNIT_ATTENTION = 6, SENSE_DATA_PROTECT = 7,
       SENSE_ABORTED_COMMAND = 0xB };
struct scsi_sense {
	uint8_t key, asc, ascq;
};
/* 0, or -1 when `len` bytes are not sense data we can read. */
int scsi_parse_sense(const uint8_t *p, uint32_t len, struct scsi_sense *out);
/* What to do about a failed command with this sense. */
enum { SENSE_ACT_RETRY = 0, SENSE_ACT_FAIL = 1, SENSE_ACT_OK = 2 };
int scsi_sense_action(const struct scsi_sense *s);
const char *scsi_sense_key_name(uint8_t key);

#endif
