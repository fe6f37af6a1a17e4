/* usb_proto.c: xHCI rings and TRBs, and USB descriptors, with no register access (usb.h says
 * why). Section numbers are from xHCI 1.2 and USB 2.0 / USB 3.2 chapter 9. */
#include "usb.h"

#define COMPILER_BARRIER() __asm__ volatile("" ::: "memory")

void ring_init(struct trb_ring *r, struct trb *trbs, uint64_t phys, uint32_t size)
{
	memset(trbs, 0, (size_t)size * sizeof *trbs);
	*r = (struct trb_ring){ trbs, phys, size, 0, 1 };
}

/* A TRB is handed to the controller by its cycle bit (4.9.2.2), so the control word, which holds
 * it, is stored last and in one 32-bit store. */
static void put(struct trb *t, uint64_t param, uint32_t status, uint32_t control)
{
	volatile struct trb *v = t;

	v->param = param;
	v->status = status;
	COMPILER_BARRIER();
	v->control = control;
	COMPILER_BARRIER();
}

uint64_t ring_push(struct trb_ring *r, uint64_t param, uint32_t status, uint32_t control)
{
	uint64_t at = r->phys + (uint64_t)r->enq * sizeof(struct trb);

	put(&r->trbs[r->enq], param, status, (control & ~TRB_CYCLE) | r->cycle);
	if (++r->enq == r->size - 1) {
		/* The Link TRB: back to the start, toggling the cycle state (4.11.5.1); inside a TD
		 * it must carry the chain bit of the TRB before it (4.11.7). */
		put(&r->trbs[r->enq], r->phys, 0, TRB_TYPE(TRB_LINK) | TRB_TOGGLE | (control & TRB_CHAIN) | r->cycle);
		r->cycle ^= 1;
		r->enq = 0;
	}
	return at;
}

int ring_index(const struct trb_ring *r, uint64_t addr)
{
	if (addr < r->phys || (addr - r->phys) % sizeof(struct trb) || (addr - r->phys) / sizeof(struct trb) >= r->size)
		return -1;
	return (int)((addr - r->phys) / sizeof(struct trb));
}

uint64_t ring_dequeue_ptr(const struct trb_ring *r)
{
	return (r->phys + (uint64_t)r->enq * sizeof(struct trb)) | r->cycle;
}

void event_ring_init(struct event_ring *r, struct trb *trbs, uint64_t phys, uint32_t size)
{
	memset(trbs, 0, (size_t)size * sizeof *trbs);
	/* The controller's producer cycle state starts at 1 (4.9.4), and a zeroed ring holds none. */
	*r = (struct event_ring){ trbs, phys, size, 0, 1 };
}

int event_ring_pop(struct event_ring *r, struct trb *out)
{
	volatile struct trb *t = &r->trbs[r->deq];

	if ((t->control & TRB_CYCLE) != r->cycle)
		return 0;
	COMPILER_BARRIER();   /* the rest of the TRB only after its cycle bit said it is there */
	out->param = t->param;
	out->status = t->status;
	out->control = t->control;
	if (++r->deq == r->size) {
		r->deq = 0;
		r->cycle ^= 1;
	}
	return 1;
}

uint64_t event_ring_deq_phys(const struct event_ring *r)
{
	return r->phys + (uint64_t)r->deq * sizeof(struct trb);
}

int trb_normal_td(struct trb *out, int max, uint64_t buf, uint32_t len, uint32_t mps)
{
	int n = 0;
	uint32_t left = len;

	if (mps == 0 || max < 1)
		return -1;
	do {
		uint32_t room = TRB_MAX_BYTES - (uint32_t)(buf % TRB_MAX_BYTES);
		uint32_t piece = left < room ? left : room;
		uint32_t after = left - piece;
		/* TD Size: packets still to move after this TRB, at most 31 (4.11.2.4). */
		uint32_t tdsize = after ? (after + mps - 1) / mps : 0;

		if (n == max)
			return -1;
		if (tdsize > 31)
			tdsize = 31;
		out[n].param = buf;
		out[n].status = piece | tdsize << 17;
		out[n].control = TRB_TYPE(TRB_NORMAL) | TRB_ISP | (after ? TRB_CHAIN : TRB_IOC);
		n++;
		buf += piece;
		left = after;
	} while (left);
	return n;
}

const char *usb_speed_name(uint32_t speed)
{
	switch (speed) {
	case USB_SPEED_LOW: return "low speed";
	case USB_SPEED_FULL: return "full speed";
	case USB_SPEED_HIGH: return "high speed (USB 2)";
	case USB_SPEED_SUPER: return "SuperSpeed (USB 3)";
	case USB_SPEED_SUPER_PLUS: return "SuperSpeedPlus (USB 3)";
	default: return "unknown speed";
	}
}

uint32_t usb_default_mps0(uint32_t speed)
{
	switch (speed) {
	case USB_SPEED_LOW: return 8;
	case USB_SPEED_FULL: return 8;     /* the smallest allowed; the descriptor tells the truth */
	case USB_SPEED_HIGH: return 64;
	default: return 512;               /* SuperSpeed and up */
	}
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

int usb_parse_device(const uint8_t *p, uint32_t len, uint32_t speed, struct usb_device_desc *d)
{
	uint8_t m = 0;

	if (len < 18 || p[0] < 18 || p[1] != USB_DESC_DEVICE)
		return -1;
	memset(d, 0, sizeof *d);
	d->bcd_usb = le16(p + 2);
	d->dev_class = p[4];
	/* bMaxPacketSize0 is a byte count below SuperSpeed (8, 16, 32 or 64; 8 at low speed) and an
	 * exponent from SuperSpeed on (9: 512 bytes). */
	if (speed >= USB_SPEED_SUPER) {
		if (p[7] != 9)
			return -1;
		d->mps0 = 512;
	} else {
		m = p[7];
		if (m != 8 && m != 16 && m != 32 && m != 64)
			return -1;
		d->mps0 = m;
	}
	d->vendor = le16(p + 8);
	d->product = le16(p + 10);
	d->nconfigs = p[17];
	return 0;
}

int usb_find_msc(const uint8_t *p, uint32_t len, struct usb_msc_iface *out)
{
	struct usb_msc_iface c;
	uint32_t total, off;
	int in_candidate = 0, found = 0;
	uint8_t *last_burst = NULL;

	if (len < 9 || p[0] < 9 || p[1] != USB_DESC_CONFIGURATION)
		return -1;
	total = le16(p + 2);
	if (total > len)
		total = len;   /* read short: walk what we have */
	memset(&c, 0, sizeof c);
	c.config_value = p[5];
	for (off = 0; off + 2 <= total; off += p[off]) {
		uint8_t dl = p[off], type = p[off + 1];

		if (dl < 2 || dl > total - off)
			return -1;   /* a zero length would loop; one past the end would read past it */
		if (type == USB_DESC_INTERFACE && dl >= 9) {
			if (in_candidate && c.ep_in && c.ep_out) {
				found = 1;
				break;
			}
			/* Alternate setting 0, class 8 (mass storage), protocol 0x50 (Bulk-Only). */
			in_candidate = p[off + 3] == 0 && p[off + 5] == 8 && p[off + 7] == 0x50;
			c.iface = p[off + 2];
			c.subclass = p[off + 6];
			c.ep_in = c.ep_out = 0;
			last_burst = NULL;
		} else if (type == USB_DESC_ENDPOINT && dl >= 7 && in_candidate) {
			uint8_t addr = p[off + 2];
			uint16_t mps = le16(p + off + 4) & 0x7FF;

			last_burst = NULL;
			if ((p[off + 3] & 3) != 2 || mps == 0 || (addr & 0x0F) == 0)
				continue;   /* not a bulk endpoint (or a nonsense one) */
			if (addr & 0x80 && !c.ep_in) {
				c.ep_in = addr, c.mps_in = mps;
				last_burst = &c.burst_in;
			} else if (!(addr & 0x80) && !c.ep_out) {
				c.ep_out = addr, c.mps_out = mps;
				last_burst = &c.burst_out;
			}
		} else if (type == USB_DESC_SS_EP_COMPANION && dl >= 6 && last_burst) {
			*last_burst = p[off + 2] <= 15 ? p[off + 2] : 15;
			last_burst = NULL;
		}
	}
	if (!found && !(in_candidate && c.ep_in && c.ep_out))
		return -1;
	*out = c;
	return 0;
}
