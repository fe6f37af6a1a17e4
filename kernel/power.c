/* power.c: resetting the machine, for a panic (panic.c) and for the DCUI's Restart (dcui.c), and
 * switching it off, for the DCUI's Shut Down. Each way of resetting may be missing or ignored on
 * a given board, so they are tried in turn, from the cleanest to the one that always works. */
#include "defs.h"
#include "x86.h"

NORETURN void machine_reset(void)
{
	static const struct dtr no_idt = { 0, 0 };

	/* The reset control register (0xCF9, PIIX and ICH chipsets, QEMU's q35): a full reset. */
	outb(0xCF9, 0x02);
	outb(0xCF9, 0x06);
	delay_ms(100);

	/* Pulse the reset line through the keyboard controller (command 0xFE): wait until its
	 * input buffer is empty (status bit 1) so the command is taken, then give the board a
	 * moment to act on it. */
	for (int i = 0; i < 100000 && (inb(0x64) & 0x02); i++)
		pause();
	outb(0x64, 0xFE);
	delay_ms(100);

	/* Neither did anything: with an empty IDT the next exception cannot be delivered, nor can
	 * the double fault that follows, and the CPU shuts down (a triple fault), which resets a PC. */
	__asm__ volatile("lidt %0; int3" : : "m"(no_idt));
	for (;;)
		hlt();
}

/* ACPI tables (ACPI 6.5): every one starts with a 36-byte header, signature and length first. */
#define TABLE_MAX (1u << 20)   /* no table of ours is near this; a larger length is damage */

static const uint8_t *table(uint64_t addr, const char *sig)
{
	const uint8_t *t = (const uint8_t *)(uintptr_t)addr;

	if (!addr || addr >= vm_top || memcmp(t, sig, 4) != 0)
		return 0;
	uint32_t len = (uint32_t)t[4] | (uint32_t)t[5] << 8 | (uint32_t)t[6] << 16 | (uint32_t)t[7] << 24;
	return len >= 36 && len <= TABLE_MAX ? t : 0;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* The FADT ("FACP"), through the XSDT (8-byte entries) when the RSDP has one, else the RSDT. */
static const uint8_t *find_fadt(uint64_t rsdp_addr)
{
	const uint8_t *rsdp = (const uint8_t *)(uintptr_t)rsdp_addr, *root;
	int wide;

	if (!rsdp_addr || rsdp_addr >= vm_top || memcmp(rsdp, "RSD PTR ", 8) != 0)
		return 0;
	wide = rsdp[15] >= 2 && le64(rsdp + 24);
	root = wide ? table(le64(rsdp + 24), "XSDT") : table(le32(rsdp + 16), "RSDT");
	if (!root)
		return 0;
	for (uint32_t at = 36; at + (wide ? 8 : 4) <= le32(root + 4); at += wide ? 8 : 4) {
		const uint8_t *t = table(wide ? le64(root + at) : le32(root + at), "FACP");
		if (t)
			return t;
	}
	return 0;
}

/* SLP_TYPa for S5, the first element of the DSDT's \_S5 package: Name (_S5, Package () { a, b,
 * ... }) is NameOp, "_S5_", PackageOp (0x12), PkgLength (1-4 bytes, the count of extra bytes
 * in bits 6-7 of the first), NumElements, then the element: ZeroOp, OneOp, or BytePrefix (0x0A)
 * and a byte (ACPI 6.5 section 20). Found by its name, as the AML is not interpreted here. */
static int s5_sleep_type(const uint8_t *dsdt)
{
	uint32_t len = le32(dsdt + 4);

	for (uint32_t i = 36; i + 12 <= len; i++) {
		const uint8_t *p = dsdt + i;

		if (memcmp(p, "_S5_", 4) != 0 || p[4] != 0x12)
			continue;
		p += 5 + 1 + (p[5] >> 6) + 1;   /* PackageOp, PkgLength, NumElements */
		if (p[0] == 0x0A)
			return p[1] & 7;
		if (p[0] == 0x00 || p[0] == 0x01)
			return p[0];
		return -1;
	}
	return -1;
}

/* S5 (soft off): SLP_TYPa and SLP_EN (bit 13) into PM1a's control register, and PM1b's when the
 * board has one. On QEMU's q35 that is the ICH9 PM1 control at PMBASE + 4, and QEMU exits. */
int machine_poweroff(const struct bf_boot_info *bi)
{
	const uint8_t *fadt = find_fadt(bi->acpi_rsdp), *dsdt = 0;
	uint32_t flen, pm1a, pm1b;
	int typ;

	if (!fadt) {
		kprintf("power: no ACPI FADT; cannot switch off\n");
		return -1;
	}
	flen = le32(fadt + 4);
	if (flen >= 148)
		dsdt = table(le64(fadt + 140), "DSDT");   /* X_DSDT */
	if (!dsdt)
		dsdt = table(le32(fadt + 40), "DSDT");
	pm1a = le32(fadt + 64);
	pm1b = le32(fadt + 68);
	if (!dsdt || (typ = s5_sleep_type(dsdt)) < 0 || !pm1a || pm1a > 0xFFFF || pm1b > 0xFFFF) {
		kprintf("power: no S5 sleep type or PM1 control block in the ACPI tables; cannot switch off\n");
		return -1;
	}
	kprintf("power: switching off (ACPI S5, PM1a control at port 0x%x)\n", pm1a);
	outw((uint16_t)pm1a, (uint16_t)(typ << 10 | 1 << 13));
	if (pm1b)
		outw((uint16_t)pm1b, (uint16_t)(typ << 10 | 1 << 13));
	delay_ms(500);
	kprintf("power: the machine is still running after ACPI S5\n");
	return -1;
}
