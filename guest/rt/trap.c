// SPDX-License-Identifier: MIT
/*
 * DOC: traps - IDT and interrupt dispatch
 *
 * Every vector of the IDT points at its stub in boot.S; the stubs end in
 * trap_dispatch().  Exceptions (vectors 0..31) are fatal: the runtime
 * prints the frame and leaves with BOARD_EXIT_PANIC.  Device interrupts go
 * to the handler registered for their vector, then the local APIC gets
 * its EOI.  The APIC's spurious vector needs neither.
 *
 * Locking: handlers are registered before their interrupt source is
 * unmasked, and never removed; dispatch runs with interrupts off.  The
 * APs share the IDT (trap__load()); interrupts reach them only if
 * something is routed to them, which nothing is by default.
 */
#include "rt.h"

struct idt_entry {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;      /* present, DPL 0, 64-bit interrupt gate: 0x8e */
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));

struct idt_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

struct trap_slot {
	trap_handler_fn fn;
	void *arg;
};

extern const char isr_stubs[];
void trap_dispatch(struct trap_frame *f);

static struct idt_entry idt[256] __attribute__((aligned(16)));
static struct trap_slot slots[256];
static uint64_t counts[256];
static unsigned int next_vector = TRAP_IRQ_BASE;
static uint64_t unexpected;

static const char *const exc_names[32] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow", "bound range",
	"invalid opcode", "device not available", "double fault",
	"coprocessor overrun", "invalid TSS", "segment not present",
	"stack fault", "general protection", "page fault", "reserved",
	"x87 error", "alignment check", "machine check", "SIMD error",
	"virtualization", "control protection",
};

void trap__load(void)
{
	struct idt_ptr p = { .limit = sizeof(idt) - 1, .base = (uint64_t)(uintptr_t)idt };

	__asm__ volatile("lidt %0" : : "m"(p));
}

void trap__init(void)
{
	for (unsigned int v = 0; v < 256; v++) {
		uint64_t a = (uint64_t)(uintptr_t)(isr_stubs + 16 * v);

		idt[v] = (struct idt_entry){
			.off_lo = (uint16_t)a,
			.sel = BOARD_SEL_CODE64,
			.type = 0x8e,
			.off_mid = (uint16_t)(a >> 16),
			.off_hi = (uint32_t)(a >> 32),
		};
	}
	trap__load();
}

int trap__alloc_vector(trap_handler_fn fn, void *arg)
{
	if (next_vector >= TRAP_SPURIOUS)
		return -1;
	slots[next_vector] = (struct trap_slot){ fn, arg };
	return (int)next_vector++;
}

uint64_t trap__count(unsigned int vector)
{
	return vector < 256 ? counts[vector] : 0;
}

uint64_t trap__unexpected(void)
{
	return unexpected;
}

static NORETURN void trap_fatal(const struct trap_frame *f)
{
	uint64_t cr2;

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	printf("exception %llu (%s) error %#llx at rip %#llx rsp %#llx cr2 %#llx\n",
	       (unsigned long long)f->vector,
	       f->vector < 32 && exc_names[f->vector] ? exc_names[f->vector] : "?",
	       (unsigned long long)f->error, (unsigned long long)f->rip,
	       (unsigned long long)f->rsp, (unsigned long long)cr2);
	printf("rax %#llx rbx %#llx rcx %#llx rdx %#llx rsi %#llx rdi %#llx\n",
	       (unsigned long long)f->rax, (unsigned long long)f->rbx,
	       (unsigned long long)f->rcx, (unsigned long long)f->rdx,
	       (unsigned long long)f->rsi, (unsigned long long)f->rdi);
	board__exit(BOARD_EXIT_PANIC);
}

void trap_dispatch(struct trap_frame *f)
{
	unsigned int v = (unsigned int)f->vector & 0xff;

	counts[v]++;
	if (v < 32)
		trap_fatal(f);
	if (v == TRAP_SPURIOUS)
		return;
	if (slots[v].fn)
		slots[v].fn(f, slots[v].arg);
	else if (unexpected++ < 4)
		printf("unexpected interrupt on vector %u\n", v);
	apic__eoi();
}
