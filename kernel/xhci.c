/* xhci.c: xHCI USB host controllers (eXtensible Host Controller Interface for Universal Serial Bus,
 * revision 1.2; section numbers below are from it), polled, enough to drive USB mass storage on the
 * root ports: the kernel's boot stick.
 *
 * One command ring, one event ring of one segment on interrupter 0 (never enabled: we poll its
 * cycle bits), one transfer ring per endpoint used. For each device on a root port: port reset,
 * Enable Slot, Address Device, the device and configuration descriptors; a device with a
 * Bulk-Only mass-storage interface is configured (SET_CONFIGURATION, Configure Endpoint for its
 * two bulk endpoints) and handed to usb_storage.c. Hubs and other classes are left alone.
 *
 * One transfer is in flight at a time, and every wait is bounded: a controller that stops
 * answering fails the request, and a request interrupted by a panic is cleaned up by
 * usb_quiesce before the core-dump writer's first request. Rings, contexts and buffers are
 * allocated while probing only; afterwards nothing allocates (blk.c). Rings, contexts and the
 * callers' buffers are identity-mapped, so virtual addresses are bus addresses. */
#include "defs.h"
#include "usb.h"
#include "x86.h"
#include "mmio.h"

#define MAX_HC 2
#define MAX_USBDEV 8
#define RING_TRBS 256            /* one page of TRBs per ring */
#define CMD_TIMEOUT_MS 5000
#define CTRL_TIMEOUT_MS 5000
#define HALT_TIMEOUT_MS 100      /* the spec's 16 ms for HCHalted, with room */
#define RESET_TIMEOUT_MS 1000
#define PORT_RESET_TIMEOUT_MS 500
#define HANDOFF_TIMEOUT_MS 1000  /* how long the firmware gets to give the controller up */
#define CONNECT_WAIT_MS 2000     /* for a boot stick to show up after the controller reset */

/* Capability registers (5.3). */
/* CAPLENGTH's dword also holds HCIVERSION in its upper half. */
enum { CAP_CAPLENGTH = 0x00, CAP_HCSPARAMS1 = 0x04, CAP_HCSPARAMS2 = 0x08,
       CAP_HCCPARAMS1 = 0x10, CAP_DBOFF = 0x14, CAP_RTSOFF = 0x18 };
/* Operational registers (5.4). */
enum { OP_USBCMD = 0x00, OP_USBSTS = 0x04, OP_PAGESIZE = 0x08, OP_CRCR = 0x18,
       OP_DCBAAP = 0x30, OP_CONFIG = 0x38, OP_PORTSC = 0x400 };
#define CMD_RUN (1u << 0)
#define CMD_HCRST (1u << 1)
#define STS_HCH (1u << 0)        /* halted */
#define STS_HSE (1u << 2)        /* host system error */
#define STS_CNR (1u << 11)       /* controller not ready */
/* PORTSC (5.4.8). PED and the change bits are write-1-to-clear (and writing PED disables the
 * port), so a write keeps only PP and sets what it means to. */
#define PORT_CCS (1u << 0)
#define PORT_PED (1u << 1)
#define PORT_PR (1u << 4)
#define PORT_PP (1u << 9)
#define PORT_SPEED(v) (((v) >> 10) & 0xF)
#define PORT_CHANGES (0x7Fu << 17)   /* CSC PEC WRC OCC PRC PLC CEC */
#define PORT_PRC (1u << 21)
#define PORT_WPR (1u << 31)
/* Interrupter 0's registers in the runtime space (5.5.2). */
enum { IR0 = 0x20, IR_IMAN = 0x00, IR_ERSTSZ = 0x08, IR_ERSTBA = 0x10, IR_ERDP = 0x18 };
#define ERDP_EHB (1ull << 3)
/* Extended capabilities (7.1, 7.2). */
enum { XCAP_LEGACY = 1, XCAP_PROTOCOL = 2 };
#define LEGSUP_BIOS_OWNED (1u << 16)
#define LEGSUP_OS_OWNED (1u << 24)
/* USBLEGCTLSTS (7.1.2): the SMI enables are bits 0, 4, 13-15; bits 29-31 are RW1C status. */
#define LEGCTL_SMI_ENABLES (1u << 0 | 1u << 4 | 7u << 13)
#define LEGCTL_SMI_STATUS (7u << 29)

/* Endpoint types and states in the endpoint context (6.2.3). */
enum { EP_BULK_OUT = 2, EP_CONTROL = 4, EP_BULK_IN = 6 };
enum { EPS_RUNNING = 1, EPS_HALTED = 2 };   /* also 0 disabled, 3 stopped, 4 error */

struct xhci {
	const struct pci_dev *pci;
	volatile uint8_t *cap, *op, *rt;
	volatile uint32_t *db;
	uint32_t max_slots, max_ports, ctx_size;
	uint64_t *dcbaa;
	struct trb_ring cmd;
	struct event_ring ev;
	uint8_t port_major[256];     /* USB major revision of each root port (1-based), 0 when unknown */
	int dead;                    /* a command timed out: the controller is not ours to use */
	char name[24];
};

struct usbdev {
	struct xhci *hc;
	uint32_t slot, port, speed;
	uint8_t *out_ctx, *in_ctx;   /* device context (the controller's) and input context (ours) */
	struct trb_ring ep0;
	struct trb_ring bulk[2];     /* [0] OUT, [1] IN */
	uint8_t bulk_dci[2], bulk_addr[2];
	uint16_t bulk_mps[2];
	uint8_t *buf;                /* a page for descriptors */
	char name[48];
};

static struct xhci hcs[MAX_HC];
static int nhcs;
static struct usbdev devs[MAX_USBDEV];
static int ndevs;

/* 64-bit registers as two 32-bit writes, low half first (5.1: controllers without 64-bit
 * access must take them so). */
static void wr64(volatile uint8_t *base, uint32_t off, uint64_t v)
{
	mmio_wr32(base, off, (uint32_t)v);
	mmio_wr32(base, off + 4, (uint32_t)(v >> 32));
}

static uint64_t phys(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* The next event, and the controller told how far we have read (ERDP, clearing Event Handler
 * Busy). 0, or -1 when none arrives within `ms`. */
static int next_event(struct xhci *hc, struct trb *ev, uint64_t ms)
{
	uint64_t start = rdtsc();

	while (!event_ring_pop(&hc->ev, ev)) {
		if (tsc_ms(start, rdtsc()) > ms)
			return -1;
		pause();
	}
	wr64(hc->rt, IR0 + IR_ERDP, event_ring_deq_phys(&hc->ev) | ERDP_EHB);
	return 0;
}

/* One command on the command ring (4.6), waited for. Returns the completion code (CC_*), 0 when
 * no completion came; the slot ID the completion names goes to *slot. */
static uint32_t command(struct xhci *hc, uint64_t param, uint32_t control, uint32_t *slot)
{
	uint64_t start = rdtsc(), at;
	struct trb ev;

	if (hc->dead)
		return 0;
	at = ring_push(&hc->cmd, param, 0, control);
	hc->db[0] = 0;   /* doorbell 0 is the command ring's (5.6) */
	for (;;) {
		uint64_t spent = tsc_ms(start, rdtsc());

		if (spent > CMD_TIMEOUT_MS || next_event(hc, &ev, CMD_TIMEOUT_MS - spent) < 0) {
			kprintf("%s: command %u got no completion; giving the controller up\n", hc->name,
				TRB_TYPE_OF(control));
			hc->dead = 1;
			return 0;
		}
		/* Other events (port changes, the tail of an abandoned transfer) are not ours. */
		if (TRB_TYPE_OF(ev.control) == TRB_COMMAND_COMPLETION && ev.param == at) {
			if (slot)
				*slot = ev.control >> 24;
			return ev.status >> 24;
		}
	}
}

/* ---- contexts (6.2) ---- */

static uint32_t *out_ep(struct usbdev *u, uint32_t dci)
{
	return (uint32_t *)(u->out_ctx + dci * u->hc->ctx_size);
}

/* Input context: the input control context, then the slot context, then endpoint contexts by DCI. */
static uint32_t *in_ctl(struct usbdev *u)
{
	return (uint32_t *)u->in_ctx;
}

static uint32_t *in_slot(struct usbdev *u)
{
	return (uint32_t *)(u->in_ctx + u->hc->ctx_size);
}

static uint32_t *in_ep(struct usbdev *u, uint32_t dci)
{
	return (uint32_t *)(u->in_ctx + (dci + 1) * u->hc->ctx_size);
}

/* An endpoint context: CErr 3 (retry errors three times), type, max burst, max packet size, the
 * ring with its dequeue cycle state, and an average TRB length (4.14.1.1). */
static void fill_ep(uint32_t *ep, uint32_t type, uint32_t mps, uint32_t burst, const struct trb_ring *r,
		    uint32_t avg)
{
	memset(ep, 0, 32);
	ep[1] = 3u << 1 | type << 3 | burst << 8 | mps << 16;
	ep[2] = (uint32_t)(r->phys | 1);
	ep[3] = (uint32_t)(r->phys >> 32);
	ep[4] = avg;
}

/* ---- transfers ---- */

static const char *cc_name(uint32_t cc)
{
	switch (cc) {
	case CC_SUCCESS: return "success";
	case CC_DATA_BUFFER: return "data buffer error";
	case CC_BABBLE: return "babble";
	case CC_TRANSACTION: return "transaction error";
	case CC_TRB: return "TRB error";
	case CC_STALL: return "stall";
	case CC_SHORT_PACKET: return "short packet";
	case CC_CONTEXT_STATE: return "context state error";
	case CC_STOPPED: return "stopped";
	default: return "error";
	}
}

/* Waits for the end of the TD whose TRBs are at `at[0..n-1]`, carrying `len[]` data bytes each,
 * on endpoint `dci`. A short packet ends a bulk TD (4.10.1.1: the controller moves on to the next
 * TD) but not a control transfer, whose status stage still runs (`control`). Returns the
 * completion code, CC_SHORT_PACKET when the data came up short, 0 on timeout; *done: data bytes
 * moved. */
static uint32_t wait_td(struct usbdev *u, uint32_t dci, const uint64_t *at, const uint32_t *len, int n, int control,
			uint32_t *done, uint64_t ms)
{
	uint64_t start = rdtsc();
	int short_seen = 0;
	struct trb ev;

	*done = 0;
	for (;;) {
		uint64_t spent = tsc_ms(start, rdtsc());
		uint32_t cc, residue;
		int i;

		if (spent > ms || next_event(u->hc, &ev, ms - spent) < 0)
			return 0;
		if (TRB_TYPE_OF(ev.control) != TRB_TRANSFER_EVENT || ev.control >> 24 != u->slot ||
		    (ev.control >> 16 & 0x1F) != dci)
			continue;
		for (i = 0; i < n && at[i] != ev.param; i++)
			;
		if (i == n)
			continue;   /* the tail of an earlier, abandoned TD */
		cc = ev.status >> 24;
		residue = ev.status & 0xFFFFFF;
		if (cc == CC_SHORT_PACKET) {
			/* Every data TRB before this one moved whole, this one less the residue. */
			*done = len[i] > residue ? len[i] - residue : 0;
			for (int k = 0; k < i; k++)
				*done += len[k];
			short_seen = 1;
			if (!control || i == n - 1)
				return CC_SHORT_PACKET;
			continue;
		}
		if (cc != CC_SUCCESS)
			return cc;
		if (i == n - 1) {
			if (!short_seen)
				for (int k = 0; k < n; k++)
					*done += len[k];
			return short_seen ? CC_SHORT_PACKET : CC_SUCCESS;
		}
	}
}

static int usb_status(struct usbdev *u, const char *what, uint32_t cc)
{
	if (cc == CC_SUCCESS || cc == CC_SHORT_PACKET)
		return USB_OK;
	if (cc == CC_STALL)
		return USB_STALL;
	if (cc == 0) {
		kprintf("%s: %s timed out\n", u->name, what);
		return USB_TIMEOUT;
	}
	kprintf("%s: %s failed: %s (completion code %u)\n", u->name, what, cc_name(cc), cc);
	return USB_ERROR;
}

/* Takes endpoint `dci` to the Stopped state, whatever it was in (a halted endpoint needs Reset
 * Endpoint, a running one Stop Endpoint: 4.6.8, 4.6.9), then moves its dequeue pointer to where
 * the driver enqueues next (Set TR Dequeue Pointer, 4.6.10): whatever was queued is dropped. */
static int rewind_ep(struct usbdev *u, uint32_t dci, struct trb_ring *r)
{
	uint32_t state = out_ep(u, dci)[0] & 7, cc;
	uint32_t target = TRB_SLOT(u->slot) | TRB_EP(dci);

	if (state == EPS_HALTED) {
		cc = command(u->hc, 0, TRB_TYPE(TRB_RESET_EP) | target, NULL);
		if (cc != CC_SUCCESS && cc != CC_CONTEXT_STATE)
			return -1;
	} else if (state == EPS_RUNNING) {
		cc = command(u->hc, 0, TRB_TYPE(TRB_STOP_EP) | target, NULL);
		if (cc != CC_SUCCESS && cc != CC_CONTEXT_STATE)
			return -1;
	}
	cc = command(u->hc, ring_dequeue_ptr(r), TRB_TYPE(TRB_SET_TR_DEQUEUE) | target, NULL);
	return cc == CC_SUCCESS ? 0 : -1;
}

int usb_control(struct usbdev *u, uint8_t type, uint8_t req, uint16_t value, uint16_t index, void *buf,
		uint16_t len, uint32_t *done)
{
	uint64_t setup = (uint64_t)type | (uint64_t)req << 8 | (uint64_t)value << 16 | (uint64_t)index << 32 |
			 (uint64_t)len << 48;
	int in = type & USB_RT_IN;
	uint64_t at[3];
	uint32_t lens[3] = { 0, len, 0 }, cc, moved;
	int n = 0, r;

	if (len && (phys(buf) % TRB_MAX_BYTES) + len > TRB_MAX_BYTES)
		panic("%s: control buffer %p crosses a 64 KiB boundary", u->name, buf);
	/* Setup stage with the request in the TRB, data stage if any, status stage in the other
	 * direction (4.11.2.2, 6.4.1.2). Transfer Type: 0 none, 2 OUT, 3 IN. */
	at[n++] = ring_push(&u->ep0, setup, 8,
			    TRB_TYPE(TRB_SETUP) | TRB_IDT | (len ? (in ? 3u : 2u) << 16 : 0));
	if (len)
		at[n++] = ring_push(&u->ep0, phys(buf), len, TRB_TYPE(TRB_DATA) | TRB_ISP | (in ? TRB_DIR_IN : 0));
	else
		lens[1] = 0;
	at[n++] = ring_push(&u->ep0, 0, 0, TRB_TYPE(TRB_STATUS) | TRB_IOC | (len && in ? 0 : TRB_DIR_IN));
	u->hc->db[u->slot] = 1;   /* EP0 is DCI 1 */
	cc = wait_td(u, 1, at, lens, n, 1, &moved, CTRL_TIMEOUT_MS);
	if (done)
		*done = moved;
	r = usb_status(u, "control transfer", cc);
	if (r == USB_STALL || r == USB_TIMEOUT) {
		/* A stalled control endpoint clears on the next SETUP (USB 2.0 8.5.3.4); the
		 * controller's EP0 still has to be reset and its ring moved on. */
		if (rewind_ep(u, 1, &u->ep0) < 0)
			return USB_ERROR;
	}
	return r;
}

int usb_bulk(struct usbdev *u, int in, void *buf, uint32_t len, uint32_t *done, uint32_t timeout_ms)
{
	struct trb td[4];
	uint64_t at[4];
	uint32_t lens[4], cc;
	int n = trb_normal_td(td, 4, phys(buf), len, u->bulk_mps[in]);
	uint32_t dci = u->bulk_dci[in];

	if (n < 0)
		panic("%s: bulk transfer of %u bytes needs more than 4 TRBs", u->name, len);
	for (int i = 0; i < n; i++) {
		lens[i] = td[i].status & 0x1FFFF;
		at[i] = ring_push(&u->bulk[in], td[i].param, td[i].status, td[i].control);
	}
	u->hc->db[u->slot] = dci;
	cc = wait_td(u, dci, at, lens, n, 0, done, timeout_ms);
	if (cc == 0) {
		/* The TD is still queued: stop the endpoint and move past it, so nothing arrives
		 * later into a buffer the caller has moved on from. */
		kprintf("%s: bulk %s of %u bytes timed out\n", u->name, in ? "IN" : "OUT", len);
		rewind_ep(u, dci, &u->bulk[in]);
		return USB_TIMEOUT;
	}
	return usb_status(u, in ? "bulk IN" : "bulk OUT", cc);
}

int usb_clear_halt(struct usbdev *u, int in)
{
	uint32_t done;

	if (rewind_ep(u, u->bulk_dci[in], &u->bulk[in]) < 0) {
		kprintf("%s: cannot reset the bulk %s endpoint\n", u->name, in ? "IN" : "OUT");
		return -1;
	}
	return usb_control(u, USB_RT_ENDPOINT, USB_REQ_CLEAR_FEATURE, USB_FEATURE_ENDPOINT_HALT, u->bulk_addr[in],
			   NULL, 0, &done) == USB_OK ? 0 : -1;
}

int usb_quiesce(struct usbdev *u)
{
	struct trb ev;
	int r = 0;

	if (u->hc->dead)
		return -1;
	/* Whatever was posted before the panic (completions nobody collected) goes first. */
	while (next_event(u->hc, &ev, 50) == 0)
		;
	/* Stop every endpoint we use and move its ring past whatever is queued there. */
	if (rewind_ep(u, 1, &u->ep0) < 0)
		r = -1;
	for (int in = 0; in < 2; in++)
		if (rewind_ep(u, u->bulk_dci[in], &u->bulk[in]) < 0)
			r = -1;
	return r;
}

/* ---- enumeration ---- */

static int get_descriptor(struct usbdev *u, uint8_t type, uint16_t len, uint32_t *got)
{
	return usb_control(u, USB_RT_IN, USB_REQ_GET_DESCRIPTOR, (uint16_t)(type << 8), 0, u->buf, len, got);
}

/* Port reset (4.3.1): USB 2 ports need one to enable the port; USB 3 ports enable themselves
 * when the link trains, and are reset here only when that did not happen. Returns the port's
 * speed, or 0 when it did not end up enabled. */
static uint32_t reset_port(struct xhci *hc, uint32_t port)
{
	uint32_t off = OP_PORTSC + 0x10 * (port - 1), v = mmio_rd32(hc->op, off);

	if (!(v & PORT_CCS))
		return 0;
	if (!(v & PORT_PED) || hc->port_major[port - 1] != 3) {
		/* A USB 3 port whose link did not come up gets a warm reset, which also retrains
		 * the link (4.19.5.1); a USB 2 port the ordinary one. */
		mmio_wr32(hc->op, off, PORT_PP | (hc->port_major[port - 1] == 3 ? PORT_WPR : PORT_PR));
		if (mmio_wait32(hc->op, off, PORT_PRC, PORT_PRC, PORT_RESET_TIMEOUT_MS) < 0) {
			kprintf("%s: port %u: reset did not complete\n", hc->name, port);
			return 0;
		}
		delay_ms(10);   /* reset recovery (USB 2.0 7.1.7.5, TRSTRCY) */
	}
	v = mmio_rd32(hc->op, off);
	mmio_wr32(hc->op, off, PORT_PP | (v & PORT_CHANGES));   /* acknowledge the changes */
	if (!(v & PORT_PED)) {
		kprintf("%s: port %u: not enabled after reset\n", hc->name, port);
		return 0;
	}
	return PORT_SPEED(v);
}

static void *pages(int n)
{
	return page_alloc((size_t)n);
}

/* 1 when the port's device was configured as mass storage, else 0. */
static int probe_port(struct xhci *hc, uint32_t port)
{
	struct usbdev *u = &devs[ndevs];
	struct usb_device_desc dd;
	struct usb_msc_iface ifc;
	uint32_t speed, slot = 0, cc, got, mps0, total;
	uint8_t *mem;

	if (!(speed = reset_port(hc, port)))
		return 0;
	if (ndevs == MAX_USBDEV) {
		kprintf("%s: port %u: more than %d USB devices; left alone\n", hc->name, port, MAX_USBDEV);
		return 0;
	}
	/* Enable Slot (4.3.2). */
	cc = command(hc, 0, TRB_TYPE(TRB_ENABLE_SLOT), &slot);
	if (cc != CC_SUCCESS || slot == 0 || slot > hc->max_slots) {
		kprintf("%s: port %u: Enable Slot failed (%s)\n", hc->name, port, cc_name(cc));
		return 0;
	}
	/* Device context, input context, EP0 ring, bulk rings, descriptor buffer: one page each. */
	if (!(mem = pages(6)))
		panic("xhci: out of memory for a USB device");
	memset(u, 0, sizeof *u);
	u->hc = hc, u->slot = slot, u->port = port, u->speed = speed;
	u->out_ctx = mem;
	u->in_ctx = mem + PAGE_SIZE;
	ring_init(&u->ep0, (struct trb *)(mem + 2 * PAGE_SIZE), phys(mem + 2 * PAGE_SIZE), RING_TRBS);
	ring_init(&u->bulk[0], (struct trb *)(mem + 3 * PAGE_SIZE), phys(mem + 3 * PAGE_SIZE), RING_TRBS);
	ring_init(&u->bulk[1], (struct trb *)(mem + 4 * PAGE_SIZE), phys(mem + 4 * PAGE_SIZE), RING_TRBS);
	u->buf = mem + 5 * PAGE_SIZE;
	ksnprintf(u->name, sizeof u->name, "%s port %u", hc->name, port);
	hc->dcbaa[slot] = phys(u->out_ctx);

	/* Address Device (4.3.3): the input context adds the slot and EP0. Slot context: speed,
	 * one context entry, the root port (route string 0: no hubs). */
	mps0 = usb_default_mps0(speed);
	in_ctl(u)[1] = 1u << 0 | 1u << 1;
	in_slot(u)[0] = speed << 20 | 1u << 27;
	in_slot(u)[1] = port << 16;
	fill_ep(in_ep(u, 1), EP_CONTROL, mps0, 0, &u->ep0, 8);
	cc = command(hc, phys(u->in_ctx), TRB_TYPE(TRB_ADDRESS_DEVICE) | TRB_SLOT(slot), NULL);
	if (cc != CC_SUCCESS) {
		kprintf("%s: Address Device failed (%s)\n", u->name, cc_name(cc));
		return 0;
	}
	delay_ms(2);   /* SET_ADDRESS recovery (USB 2.0 9.2.6.3) */

	/* The first 8 bytes of the device descriptor hold EP0's real max packet size; below
	 * SuperSpeed it may differ from the default, and EP0 is told (Evaluate Context, 4.6.7). */
	if (get_descriptor(u, USB_DESC_DEVICE, 8, &got) != USB_OK || got < 8) {
		kprintf("%s: no device descriptor\n", u->name);
		return 0;
	}
	if (speed < USB_SPEED_SUPER && u->buf[7] != mps0) {
		if (u->buf[7] != 8 && u->buf[7] != 16 && u->buf[7] != 32 && u->buf[7] != 64) {
			kprintf("%s: EP0 max packet size %u is not a USB 2 one\n", u->name, u->buf[7]);
			return 0;
		}
		mps0 = u->buf[7];
		memset(u->in_ctx, 0, PAGE_SIZE);
		in_ctl(u)[1] = 1u << 1;
		fill_ep(in_ep(u, 1), EP_CONTROL, mps0, 0, &u->ep0, 8);
		if (command(hc, phys(u->in_ctx), TRB_TYPE(TRB_EVALUATE_CONTEXT) | TRB_SLOT(slot), NULL) != CC_SUCCESS) {
			kprintf("%s: Evaluate Context failed\n", u->name);
			return 0;
		}
	}
	if (get_descriptor(u, USB_DESC_DEVICE, 18, &got) != USB_OK || usb_parse_device(u->buf, got, speed, &dd) < 0) {
		kprintf("%s: device descriptor unreadable\n", u->name);
		return 0;
	}
	kprintf("%s: %04x:%04x USB %x.%02x, %s, slot %u\n", u->name, dd.vendor, dd.product, dd.bcd_usb >> 8,
		dd.bcd_usb & 0xFF, usb_speed_name(speed), slot);

	/* Configuration 0: its header for the total length, then the whole set (up to a page). */
	if (get_descriptor(u, USB_DESC_CONFIGURATION, 9, &got) != USB_OK || got < 9) {
		kprintf("%s: no configuration descriptor\n", u->name);
		return 0;
	}
	total = (uint32_t)(u->buf[2] | u->buf[3] << 8);
	if (total > PAGE_SIZE)
		total = PAGE_SIZE;
	if (total < 9 || get_descriptor(u, USB_DESC_CONFIGURATION, (uint16_t)total, &got) != USB_OK) {
		kprintf("%s: configuration descriptors unreadable\n", u->name);
		return 0;
	}
	if (usb_find_msc(u->buf, got, &ifc) < 0) {
		kprintf("%s: class %02x, no Bulk-Only mass-storage interface; left alone\n", u->name, dd.dev_class);
		return 0;
	}
	if (usb_control(u, 0, USB_REQ_SET_CONFIGURATION, ifc.config_value, 0, NULL, 0, &got) != USB_OK) {
		kprintf("%s: SET_CONFIGURATION %u failed\n", u->name, ifc.config_value);
		return 0;
	}

	/* Configure Endpoint (4.3.5, 4.6.6): add the two bulk endpoints; the slot context's
	 * Context Entries must reach the larger DCI. DCI = endpoint number * 2 + direction. */
	u->bulk_addr[0] = ifc.ep_out, u->bulk_addr[1] = ifc.ep_in;
	u->bulk_mps[0] = ifc.mps_out, u->bulk_mps[1] = ifc.mps_in;
	u->bulk_dci[0] = (uint8_t)((ifc.ep_out & 0x0F) * 2);
	u->bulk_dci[1] = (uint8_t)((ifc.ep_in & 0x0F) * 2 + 1);
	memset(u->in_ctx, 0, PAGE_SIZE);
	{
		uint32_t maxdci = u->bulk_dci[0] > u->bulk_dci[1] ? u->bulk_dci[0] : u->bulk_dci[1];
		in_ctl(u)[1] = 1u << 0 | 1u << u->bulk_dci[0] | 1u << u->bulk_dci[1];
		in_slot(u)[0] = speed << 20 | maxdci << 27;
		in_slot(u)[1] = port << 16;
	}
	fill_ep(in_ep(u, u->bulk_dci[0]), EP_BULK_OUT, ifc.mps_out, ifc.burst_out, &u->bulk[0], 3072);
	fill_ep(in_ep(u, u->bulk_dci[1]), EP_BULK_IN, ifc.mps_in, ifc.burst_in, &u->bulk[1], 3072);
	cc = command(hc, phys(u->in_ctx), TRB_TYPE(TRB_CONFIGURE_EP) | TRB_SLOT(slot), NULL);
	if (cc != CC_SUCCESS) {
		kprintf("%s: Configure Endpoint failed (%s)\n", u->name, cc_name(cc));
		return 0;
	}
	ndevs++;
	usb_storage_probe(u, &ifc, (uint32_t)hc->pci->bus << 8 | (uint32_t)hc->pci->slot << 3 | hc->pci->fn,
			  u->name);
	return 1;
}

/* USB Legacy Support (7.1): firmware that drives USB (OVMF's keyboard and disk drivers, a BIOS's
 * legacy emulation) owns the controller until the OS asks for it by setting OS Owned and waiting
 * for BIOS Owned to clear. Its SMIs are then switched off, so no SMI handler touches the
 * controller behind our back. Also records which ports speak which USB revision (7.2). */
static void extended_caps(struct xhci *hc)
{
	uint32_t off = (mmio_rd32(hc->cap, CAP_HCCPARAMS1) >> 16) * 4;

	for (int n = 0; off && n < 64; n++) {
		uint32_t v = mmio_rd32(hc->cap, off), id = v & 0xFF, next = (v >> 8 & 0xFF) * 4;

		if (id == XCAP_LEGACY) {
			if (v & LEGSUP_BIOS_OWNED) {
				mmio_wr32(hc->cap, off, v | LEGSUP_OS_OWNED);
				if (mmio_wait32(hc->cap, off, LEGSUP_BIOS_OWNED, 0, HANDOFF_TIMEOUT_MS) < 0) {
					/* The firmware did not let go: take it (as every OS does) and say so. */
					kprintf("%s: firmware kept ownership for %u ms; taking the controller anyway\n",
						hc->name, HANDOFF_TIMEOUT_MS);
					mmio_wr32(hc->cap, off, (mmio_rd32(hc->cap, off) & ~LEGSUP_BIOS_OWNED) | LEGSUP_OS_OWNED);
				} else {
					kprintf("%s: firmware handed the controller over\n", hc->name);
				}
			} else {
				mmio_wr32(hc->cap, off, v | LEGSUP_OS_OWNED);
			}
			mmio_wr32(hc->cap, off + 4, (mmio_rd32(hc->cap, off + 4) & ~LEGCTL_SMI_ENABLES) | LEGCTL_SMI_STATUS);
		} else if (id == XCAP_PROTOCOL) {
			uint32_t major = v >> 24, w2 = mmio_rd32(hc->cap, off + 8);
			uint32_t first = w2 & 0xFF, count = w2 >> 8 & 0xFF;
			for (uint32_t p = first; p < first + count && p >= 1 && p <= 255; p++)
				hc->port_major[p - 1] = (uint8_t)major;
		}
		if (!next)
			break;
		off += next;
	}
}

static void probe(const struct pci_dev *p, const struct bf_boot_info *bi)
{
	struct xhci *hc = &hcs[nhcs];
	uint64_t base, size, start;
	uint32_t hcs1, hcs2, hcc1, nscratch;
	uint8_t probed[256] = { 0 };
	int found = 0;
	uint8_t *mem;
	struct trb *erst;

	memset(hc, 0, sizeof *hc);
	hc->pci = p;
	ksnprintf(hc->name, sizeof hc->name, "xhci %02x:%02x.%x", p->bus, p->slot, p->fn);
	if (pci_bar_mem(p, 0, &base, &size) < 0 || size < 0x1000) {
		kprintf("%s: BAR 0 is not a memory BAR; skipped\n", hc->name);
		return;
	}
	/* PCI command register: memory space on, bus mastering on (the controller DMAs rings,
	 * contexts and data), INTx off (we poll). */
	if (vm_map_mmio(base, size) < 0) {
		kprintf("%s: BAR 0 at %lx cannot be mapped; skipped\n", hc->name, base);
		return;
	}
	pci_write16(p, 0x04, (uint16_t)(pci_read16(p, 0x04) | 0x0002 | 0x0004 | 0x0400));
	hc->cap = (volatile uint8_t *)(uintptr_t)base;
	hc->op = hc->cap + (mmio_rd32(hc->cap, CAP_CAPLENGTH) & 0xFF);
	hc->rt = hc->cap + (mmio_rd32(hc->cap, CAP_RTSOFF) & ~0x1Fu);
	hc->db = (volatile uint32_t *)(hc->cap + (mmio_rd32(hc->cap, CAP_DBOFF) & ~0x3u));
	hcs1 = mmio_rd32(hc->cap, CAP_HCSPARAMS1);
	hcs2 = mmio_rd32(hc->cap, CAP_HCSPARAMS2);
	hcc1 = mmio_rd32(hc->cap, CAP_HCCPARAMS1);
	hc->max_slots = hcs1 & 0xFF;
	hc->max_ports = hcs1 >> 24;
	hc->ctx_size = hcc1 & (1u << 2) ? 64 : 32;
	nscratch = (hcs2 >> 27 & 0x1F) | (hcs2 >> 21 & 0x1F) << 5;
	/* Without 64-bit addressing (HCCPARAMS1.AC64) every ring, context and buffer would have
	 * to lie below 4 GiB, which neither page_alloc nor the block layer's callers promise. */
	if (!(hcc1 & 1)) {
		kprintf("%s: no 64-bit addressing; not supported, skipped\n", hc->name);
		return;
	}
	if (!(mmio_rd32(hc->op, OP_PAGESIZE) & 1)) {
		kprintf("%s: does not support 4 KiB pages; skipped\n", hc->name);
		return;
	}

	/* Take the controller from the firmware (7.1), then halt it: clear Run/Stop and wait
	 * for HCHalted (5.4.1), which a reset requires. */
	extended_caps(hc);
	mmio_wr32(hc->op, OP_USBCMD, mmio_rd32(hc->op, OP_USBCMD) & ~CMD_RUN);
	if (mmio_wait32(hc->op, OP_USBSTS, STS_HCH, STS_HCH, HALT_TIMEOUT_MS) < 0) {
		kprintf("%s: does not halt; skipped\n", hc->name);
		return;
	}
	/* Reset (4.2): HCRST, wait until it and Controller Not Ready clear. Everything the
	 * firmware set up (its rings, slots, port states) is gone after this. */
	mmio_wr32(hc->op, OP_USBCMD, CMD_HCRST);
	if (mmio_wait32(hc->op, OP_USBCMD, CMD_HCRST, 0, RESET_TIMEOUT_MS) < 0 ||
	    mmio_wait32(hc->op, OP_USBSTS, STS_CNR, 0, RESET_TIMEOUT_MS) < 0) {
		kprintf("%s: reset does not complete; skipped\n", hc->name);
		return;
	}

	/* Memory (4.2): DCBAA, scratchpad array, command ring, event ring and its segment table. */
	if (hc->max_slots > MAX_USBDEV)
		hc->max_slots = MAX_USBDEV;
	if (!(mem = pages(4)))
		panic("xhci: out of memory for the controller");
	hc->dcbaa = (uint64_t *)mem;
	ring_init(&hc->cmd, (struct trb *)(mem + PAGE_SIZE), phys(mem + PAGE_SIZE), RING_TRBS);
	event_ring_init(&hc->ev, (struct trb *)(mem + 2 * PAGE_SIZE), phys(mem + 2 * PAGE_SIZE), RING_TRBS);
	erst = (struct trb *)(mem + 3 * PAGE_SIZE);
	if (nscratch) {
		/* Scratchpad buffers (4.20): pages the controller keeps for itself, listed in an
		 * array that DCBAA entry 0 points to. */
		uint64_t *array = pages((int)((nscratch * 8 + PAGE_SIZE - 1) / PAGE_SIZE));
		uint8_t *bufs = pages((int)nscratch);

		if (!array || !bufs)
			panic("xhci: out of memory for %u scratchpad buffers", nscratch);
		for (uint32_t i = 0; i < nscratch; i++)
			array[i] = phys(bufs + i * PAGE_SIZE);
		hc->dcbaa[0] = phys(array);
	}
	/* CONFIG: how many slots we use. DCBAAP. CRCR with the ring's cycle state (5.4.5). */
	mmio_wr32(hc->op, OP_CONFIG, (mmio_rd32(hc->op, OP_CONFIG) & ~0xFFu) | hc->max_slots);
	wr64(hc->op, OP_DCBAAP, phys(hc->dcbaa));
	wr64(hc->op, OP_CRCR, hc->cmd.phys | hc->cmd.cycle);
	/* Interrupter 0: a one-entry segment table (6.5) for the event ring; ERSTSZ first, then
	 * ERDP, then ERSTBA, whose write starts the ring (4.9.4). Interrupts stay off (IMAN.IE 0). */
	erst[0].param = hc->ev.phys;
	erst[0].status = RING_TRBS;
	erst[0].control = 0;
	mmio_wr32(hc->rt, IR0 + IR_ERSTSZ, 1);
	wr64(hc->rt, IR0 + IR_ERDP, hc->ev.phys);
	wr64(hc->rt, IR0 + IR_ERSTBA, phys(erst));
	mmio_wr32(hc->rt, IR0 + IR_IMAN, 1);   /* clear any pending IP (RW1C), IE stays 0 */

	/* Run (4.2 last step) and wait for HCHalted to clear. */
	mmio_wr32(hc->op, OP_USBCMD, CMD_RUN);
	if (mmio_wait32(hc->op, OP_USBSTS, STS_HCH, 0, HALT_TIMEOUT_MS) < 0) {
		kprintf("%s: does not start; skipped\n", hc->name);
		return;
	}
	nhcs++;
	kprintf("%s: xHCI %x.%02x, %u ports, %u slots, %u scratchpad pages, %u-byte contexts\n", hc->name,
		mmio_rd32(hc->cap, CAP_CAPLENGTH) >> 24, mmio_rd32(hc->cap, CAP_CAPLENGTH) >> 16 & 0xFF, hc->max_ports,
		hc->max_slots, nscratch, hc->ctx_size);

	/* Ports whose power is off by default (HCCPARAMS1.PPC) are powered on. A device connected
	 * before the reset shows up again once the port has come back; when we booted from USB we
	 * wait (bounded) for one, since our boot stick is surely there. */
	for (uint32_t port = 1; port <= hc->max_ports; port++) {
		uint32_t off = OP_PORTSC + 0x10 * (port - 1);
		if (!(mmio_rd32(hc->op, off) & PORT_PP))
			mmio_wr32(hc->op, off, PORT_PP);
	}
	/* A port's connection shows some time after the reset (USB 3 link training, USB 2 connect
	 * debounce): when we booted from USB, keep looking (bounded) until a mass-storage device
	 * is configured, probing each port once, when its device first shows. */
	start = rdtsc();
	for (;;) {
		for (uint32_t port = 1; port <= hc->max_ports && !hc->dead; port++) {
			if (probed[port - 1] || !(mmio_rd32(hc->op, OP_PORTSC + 0x10 * (port - 1)) & PORT_CCS))
				continue;
			probed[port - 1] = 1;
			kprintf("%s: port %u (USB %u): device connected\n", hc->name, port, hc->port_major[port - 1]);
			found += probe_port(hc, port);
		}
		if (found || hc->dead || bi->disk_transport != BF_DISK_USB || tsc_ms(start, rdtsc()) > CONNECT_WAIT_MS)
			break;
		delay_ms(10);
	}
	if (mmio_rd32(hc->op, OP_USBSTS) & STS_HSE)
		kprintf("%s: host system error\n", hc->name);
}

void xhci_init(const struct bf_boot_info *bi)
{
	for (int i = 0; i < pci_ndevs && nhcs < MAX_HC; i++) {
		const struct pci_dev *p = &pci_devs[i];
		/* Serial bus controller, USB, programming interface 0x30: xHCI (PCI code and ID
		 * assignment, class 0Ch subclass 03h). */
		if (p->class == 0x0C && p->subclass == 0x03 && (pci_read32(p, 0x08) >> 8 & 0xFF) == 0x30)
			probe(p, bi);
	}
}
