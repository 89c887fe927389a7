/* SPDX-License-Identifier: MIT */
/*
 * DOC: guest runtime - API for workloads
 *
 * A tiny freestanding environment for the guests vcoprocd boots (see
 * guest/board.h for the machine).  rt_start() brings it up in this order -
 * console, traps (IDT), interrupt controllers (8259 PIC masked, local APIC
 * enabled, IOAPIC inputs masked), clock (TSC), heap, a 10 ms tick from the
 * local APIC timer (so that every halt ends and waits can time out) - then
 * calls the workload's guest_main() with interrupts enabled and leaves
 * through the exit device with its return value.
 *
 * Instructions to avoid (a software KVM may emulate guest code, and its
 * emulator stops the VM on what it does not know): software interrupts
 * (int $n, int3), cmpxchg16b, xrstor, SSE4.2 crc32, and any FPU/SSE
 * instruction (the runtime is built with -mgeneral-regs-only anyway).
 *
 * CPUs: everything runs on the boot CPU (the BSP).  When the board has
 * more (board_info.nr_cpus), rt_start() brings the others (APs) up before
 * guest_main(): each loads the IDT, enables its local APIC (LINT0/LINT1
 * masked, no timer), says it is up, and idles in hlt with interrupts
 * enabled - nothing is routed to it, so it takes none.  rt_cpus() and
 * rt_cpu_apic_id() tell which came up.
 *
 * Concurrency: one CPU runs code.  Interrupt handlers run with interrupts
 * off; mainline code that shares state with a handler brackets it with
 * irq_save()/irq_restore().  Nothing here may be called from a handler
 * except the MMIO/port accessors, apic__eoi() and the console (which may
 * interleave a line printed by mainline).
 */
#ifndef GUEST_RT_H
#define GUEST_RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hw/board.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define NORETURN __attribute__((noreturn))

/* ---- the workload's entry --------------------------------------------- */

/**
 * guest_main() - provided by each workload.  Runs with interrupts enabled
 * once the runtime is up.  Returns the exit status: BOARD_EXIT_PASS (0)
 * or a failure code.
 */
int guest_main(const struct board_info *bi);

/** The boot information the host gave (valid after rt_start()). */
extern const struct board_info *rt_board;

/**
 * rt_simcp_dev() - the board's last device with simcp's register window
 * (BOARD_SIMCP_COMPATIBLES) in @bi, or NULL.
 */
const struct board_dev *rt_simcp_dev(const struct board_info *bi);

/* ---- port and MMIO accessors --------------------------------------------- */

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint32_t mmio_read32(uint64_t addr)
{
	return *(volatile uint32_t *)(uintptr_t)addr;
}

static inline void mmio_write32(uint64_t addr, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)addr = v;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return (uint64_t)hi << 32 | lo;
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" : : : "memory");
}

/* ---- interrupts ------------------------------------------------------- */

static inline void irq_enable(void)
{
	__asm__ volatile("sti" : : : "memory");
}

static inline void irq_disable(void)
{
	__asm__ volatile("cli" : : : "memory");
}

/** irq_save() - disable interrupts; returns whether they were enabled. */
static inline bool irq_save(void)
{
	uint64_t flags;

	__asm__ volatile("pushfq; popq %0; cli" : "=r"(flags) : : "memory");
	return flags & (1u << 9);
}

static inline void irq_restore(bool enabled)
{
	if (enabled)
		irq_enable();
}

/**
 * irq_wait() - with interrupts disabled by the caller: enable them and halt
 * until the next interrupt, atomically (an interrupt that became pending
 * after the caller's check still wakes us: sti's one-instruction shadow).
 * Returns with interrupts enabled.
 */
static inline void irq_wait(void)
{
	__asm__ volatile("sti; hlt" : : : "memory");
}

/** Registers saved by the interrupt stubs (boot.S), lowest address first. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*trap_handler_fn)(struct trap_frame *f, void *arg);

/* First vector handed out for device interrupts; 0xff is the APIC's spurious one. */
#define TRAP_IRQ_BASE     0x30
#define TRAP_SPURIOUS     0xff

/** trap__init() - build and load an IDT with every vector; exceptions panic. */
void trap__init(void);

/** trap__load() - load the IDT trap__init() built (on an AP). */
void trap__load(void);

/**
 * trap__alloc_vector() - a free vector >= TRAP_IRQ_BASE now calling
 * @fn(@frame, @arg), the local APIC acknowledged (EOI) after it returns.
 * Returns the vector, or -1 when none is left.
 */
int trap__alloc_vector(trap_handler_fn fn, void *arg);

/** trap__count() - interrupts taken on @vector so far. */
uint64_t trap__count(unsigned int vector);

/** trap__unexpected() - interrupts taken on vectors with no handler (the first 4 printed). */
uint64_t trap__unexpected(void);

/* ---- interrupt controllers --------------------------------------------- */

/** pic__mask_all() - mask every input of both 8259s (they must never deliver). */
void pic__mask_all(void);

/** apic__init() - enable the local APIC, LINT0/LINT1 masked, TPR 0. */
void apic__init(void);
uint32_t apic__id(void);
void apic__eoi(void);

/**
 * apic__timer_periodic() - interrupt on @vector every @period_ns, from the
 * local APIC timer calibrated against the TSC (takes 1 ms).  Returns 0 or
 * -1 when the period cannot be programmed.
 */
int apic__timer_periodic(unsigned int vector, uint64_t period_ns);

/** ioapic__init() - mask every IOAPIC input. */
void ioapic__init(void);

/**
 * ioapic__route() - deliver IOAPIC input @gsi, edge-triggered, active
 * high, as @vector to this CPU, and unmask it.  Returns 0 or -1 (no such
 * input).
 */
int ioapic__route(uint32_t gsi, unsigned int vector);

/* ---- clock -------------------------------------------------------------- */

/** clock__init() - use the TSC at @tsc_khz.  Returns 0, or -1 if @tsc_khz is 0. */
int clock__init(uint64_t tsc_khz);

/** clock__ns() - nanoseconds since clock__init(). */
uint64_t clock__ns(void);

/** clock__delay_us() - busy-wait @us microseconds. */
void clock__delay_us(uint64_t us);

/* The runtime's periodic tick: it bounds every halt, so waits can time out. */
#define RT_TICK_NS 10000000ull

/** rt_ticks() - ticks taken since start-up. */
uint64_t rt_ticks(void);

/* How long rt_start() waits for the APs to come up. */
#define RT_CPU_TIMEOUT_NS 2000000000ull

/** rt_cpus() - CPUs up (the BSP included): CPUs 0 .. rt_cpus() - 1. */
unsigned int rt_cpus(void);

/** rt_cpu_apic_id() - the local APIC ID CPU @cpu reported (< rt_cpus()). */
uint32_t rt_cpu_apic_id(unsigned int cpu);

/**
 * rt_wait() - halt until @done(@arg) is true or the clock passes
 * @deadline_ns.  @done is called with interrupts disabled (it may look at
 * what handlers write) and must not enable them.  Called with interrupts
 * enabled; returns true when @done, false at the deadline.
 */
bool rt_wait(bool (*done)(void *arg), void *arg, uint64_t deadline_ns);

/* ---- console ------------------------------------------------------------- */

/** console__init() - program the 16550 at BOARD_COM1_PORT (8N1, FIFO on). */
void console__init(void);
void console__write(const char *s, size_t len);

int printf(const char *fmt, ...) PRINTF_LIKE(1, 2);
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);
/*
 * C99 subset: %d %i %u %x %X %s %c %p %%, length modifiers hh h l ll z,
 * flags '-' '0', field width and precision on strings ('*' for both).
 * Always NUL-terminates when @size > 0; returns the full output's length.
 */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* ---- ending ---------------------------------------------------------------- */

/** board__exit() - leave through the exit device with @status. */
NORETURN void board__exit(uint32_t status);

/**
 * board__mark() - tell the host where the workload is (BOARD_MARK_BUSY,
 * BOARD_MARK_DONE); one port write.  The host measures shares over the
 * time every domain is between BUSY and DONE.
 */
static inline void board__mark(uint32_t mark)
{
	outl(BOARD_MARK_PORT, mark);
}

/** panic() - print "panic: ..." and leave with BOARD_EXIT_PANIC. */
NORETURN void panic(const char *fmt, ...) PRINTF_LIKE(1, 2);

#define BUG_ON(cond)                                                           \
	do {                                                                   \
		if (cond)                                                      \
			panic("%s:%d: %s", __FILE__, __LINE__, #cond);         \
	} while (0)

/* ---- memory ------------------------------------------------------------------ */

/** mem__init() - the heap is [@start, @end); called by rt_start(). */
void mem__init(uintptr_t start, uintptr_t end);

/**
 * mem__alloc() - @size bytes aligned to @align (a power of two; 16 at
 * least), not zeroed.  First fit from an address-ordered free list.
 * Returns NULL when no free block fits.  Freed with mem__free().
 */
void *mem__alloc(size_t size, size_t align);

/**
 * mem__alloc_at() - the @size bytes at address @p (16-byte aligned), if
 * they are free with room for a header before them; else NULL.  Freed
 * with mem__free().
 */
void *mem__alloc_at(uintptr_t p, size_t size);

/** mem__zalloc() - mem__alloc() and zero. */
void *mem__zalloc(size_t size, size_t align);

/** mem__free() - give back a block from mem__alloc(); NULL is ignored. */
void mem__free(void *p);

/** mem__free_bytes() - bytes in free blocks (headers excluded). */
size_t mem__free_bytes(void);

/* Guest RAM is identity-mapped: a pointer is its guest-physical address. */
static inline uint64_t virt_to_phys(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* ---- command line ---------------------------------------------------------- */

/**
 * arg__str() - the value of "@key=value" in the boot command line, copied
 * into @buf (NUL-terminated); NULL when @key is absent.
 */
const char *arg__str(const char *key, char *buf, size_t size);

/**
 * arg__u64() - "@key=N" with an optional suffix K, M, G (binary) or, for
 * durations, ns, us, ms, s (then the result is in ns and a bare number is
 * @unit ns).  @def when absent; panics on a malformed value.
 */
uint64_t arg__u64(const char *key, uint64_t def);
uint64_t arg__time(const char *key, uint64_t unit, uint64_t def);

/* ---- small utilities ---------------------------------------------------------- */

/** A splitmix64 step: fast, seedable pseudo-random numbers. */
static inline uint64_t rand__next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/** sort__u64() - sort @n values ascending (heapsort: no recursion, no malloc). */
void sort__u64(uint64_t *v, size_t n);

#endif /* GUEST_RT_H */
