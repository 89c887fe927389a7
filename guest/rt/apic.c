// SPDX-License-Identifier: MIT
/*
 * DOC: interrupt controllers - 8259 PIC, local APIC, IOAPIC
 *
 * The board's interrupts come through the IOAPIC to the local APIC.  The
 * legacy 8259 pair must never deliver: KVM wires the boot CPU's LINT0 to
 * it (ExtINT), so a line raised below 16 would also reach it and arrive on
 * a legacy vector.  Both are closed off: every 8259 input masked, LINT0
 * and LINT1 masked in the local APIC.
 *
 * The APICs are at their architectural addresses (board.h); KVM's
 * in-kernel irqchip emulates them, so these accesses never leave the
 * kernel.
 */
#include "rt.h"

#define PIC1_DATA 0x21
#define PIC2_DATA 0xa1

#define LAPIC_ID    0x020
#define LAPIC_TPR   0x080
#define LAPIC_EOI   0x0b0
#define LAPIC_SVR   0x0f0
#define LAPIC_TIMER 0x320
#define LAPIC_LINT0 0x350
#define LAPIC_LINT1 0x360
#define LAPIC_TMR_INIT 0x380
#define LAPIC_TMR_CUR  0x390
#define LAPIC_TMR_DIV  0x3e0
#define LAPIC_SVR_ENABLE (1u << 8)
#define LVT_PERIODIC     (1u << 17)
#define TMR_DIV_16       0x3
#define LVT_MASKED       (1u << 16)

#define IOAPIC_REGSEL 0x00
#define IOAPIC_WIN    0x10
#define IOAPIC_VER    0x01
#define IOAPIC_REDTBL(n) (0x10 + 2 * (n))
#define IOAPIC_MASKED (1u << 16)

static unsigned int ioapic_pins;

void pic__mask_all(void)
{
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
}

static inline uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(BOARD_LAPIC_GPA + reg);
}

static inline void lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(BOARD_LAPIC_GPA + reg, v);
}

void apic__init(void)
{
	lapic_write(LAPIC_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LINT1, LVT_MASKED);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | TRAP_SPURIOUS);
}

uint32_t apic__id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void apic__eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

int apic__timer_periodic(unsigned int vector, uint64_t period_ns)
{
	uint64_t ticks_per_ms, count;

	/* Calibrate the timer's input clock against the TSC over 1 ms. */
	lapic_write(LAPIC_TMR_DIV, TMR_DIV_16);
	lapic_write(LAPIC_TIMER, LVT_MASKED | vector);
	lapic_write(LAPIC_TMR_INIT, 0xffffffffu);
	clock__delay_us(1000);
	ticks_per_ms = 0xffffffffu - lapic_read(LAPIC_TMR_CUR);
	lapic_write(LAPIC_TMR_INIT, 0);
	count = ticks_per_ms * period_ns / 1000000;
	if (!ticks_per_ms || !count || count > 0xffffffffu)
		return -1;
	lapic_write(LAPIC_TIMER, LVT_PERIODIC | vector);
	lapic_write(LAPIC_TMR_INIT, (uint32_t)count);
	return 0;
}

static uint32_t ioapic_read(uint32_t reg)
{
	mmio_write32(BOARD_IOAPIC_GPA + IOAPIC_REGSEL, reg);
	return mmio_read32(BOARD_IOAPIC_GPA + IOAPIC_WIN);
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(BOARD_IOAPIC_GPA + IOAPIC_REGSEL, reg);
	mmio_write32(BOARD_IOAPIC_GPA + IOAPIC_WIN, v);
}

void ioapic__init(void)
{
	ioapic_pins = ((ioapic_read(IOAPIC_VER) >> 16) & 0xff) + 1;
	for (unsigned int i = 0; i < ioapic_pins; i++) {
		ioapic_write(IOAPIC_REDTBL(i), IOAPIC_MASKED);
		ioapic_write(IOAPIC_REDTBL(i) + 1, 0);
	}
}

int ioapic__route(uint32_t gsi, unsigned int vector)
{
	if (gsi >= ioapic_pins || vector < 32 || vector > 0xfe)
		return -1;
	/* Destination first, then the low word: unmasking comes last. */
	ioapic_write(IOAPIC_REDTBL(gsi) + 1, apic__id() << 24);
	ioapic_write(IOAPIC_REDTBL(gsi), vector); /* fixed, physical, high, edge */
	return 0;
}
