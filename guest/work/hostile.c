// SPDX-License-Identifier: MIT
/*
 * DOC: hostile - a guest that attacks its coprocessor window and ring
 *
 * Drives simcp through raw register accesses (no driver: a driver would
 * refuse most of what this guest does) in one of these modes, for the
 * run's time, beside well-behaved domains that check their own results and
 * memory (hash canaries=1):
 *
 * ring      garbage commands: random bytes, random opcodes and flags, valid
 *           opcodes with random lengths and addresses (outside RAM, in the
 *           MMIO holes, wrapping past 2^64, or in a sandbox of its own RAM),
 *           a few real COMPUTEs; every fault is resumed.
 * dma       one command per operand that touches memory, with an address
 *           past its RAM, straddling its end, in MMIO, far above, wrapping,
 *           or in the range where a larger neighbour's memory would be:
 *           each must fault (SIMCP_FAULT_DMA at exactly that address, or
 *           BAD_CMD) and write nothing - the sandbox at the end of its RAM
 *           keeps its pattern; a zero-length command at a bad address must
 *           not fault; a ring that runs off the end of RAM faults at the
 *           fetch.
 * np        non-preemptible work without end: chains (SIMCP_F_NOPREEMPT |
 *           SIMCP_F_CHAIN) longer than the device's bound, appended as
 *           fast as they run, must be cut (SIMCP_FAULT_NONPREEMPT); single
 *           flagged COMPUTEs over the bound fault, legal ones run; now and
 *           then a flagged WAIT that is never satisfied (a section that
 *           never ends: the framework must reset the context).
 * regs      every register and beyond: random offsets in and past the 4 KiB
 *           window, sizes 1, 2, 4 and 8, aligned or not, random values;
 *           between rounds the ID register must still read right and an
 *           offset with no register all ones.
 * doorbell  a doorbell storm: RING_TAIL written as fast as the guest can,
 *           one short COMPUTE per write, the same value again, misaligned
 *           and out-of-ring values (SIMCP_FAULT_BAD_RING, resumed).
 * long      queues long COMPUTEs (long=DUR each, default 1 s, the largest) and legal
 *           non-preemptible ones, then only keeps the ring full: a domain
 *           to destroy in the middle of a command.
 *
 * Every mode ends (except long, which runs until destroyed) with a check
 * that its own context still works: a reset, a fresh ring, a FENCE that
 * writes its value back.
 *
 * Command line: mode=NAME, seed=N (printed; the same seed gives the same
 * sequence of attacks), seconds=DUR (default: the host's --seconds),
 * wait=DUR (np: time between endless WAITs, 1 s; 0 none), long=DUR (long:
 * each long COMPUTE, 1 s).
 * Marks BUSY when it starts attacking and DONE when it stops.
 *
 * Prints "result: hostile MODE ok seed=N ..." with its counts and passes,
 * or "result: hostile MODE FAIL ..." and fails.
 */
#include "rt.h"
#include <hw/simcp_hw.h>

#define RING_SIZE    (64u << 10)
#define SANDBOX_SIZE (64u << 10)
#define PAD_SIZE     (16u << 10)
#define NCODES       8
#define WAIT_NS      2000000000ull

static struct {
	uint64_t base;           /* the register window */
	uint32_t gsi;
	uint8_t *ring;
	uint32_t tail;           /* where the next command goes */
	uint8_t *sandbox;        /* the last SANDBOX_SIZE bytes of RAM */
	uint8_t *pad;            /* a key, an SG table, write-backs: PAD_SIZE bytes */
	uint64_t ram, rng, seed;
	uint64_t fence_next;

	/* Written by the interrupt handler. */
	volatile uint64_t irqs, spurious, fences, errors;
	volatile uint64_t fence;
	volatile bool faulted;
	volatile uint32_t fault_code, fault_head;
	volatile uint64_t fault_addr;
	volatile uint64_t codes[NCODES];

	uint64_t cmds, resumes, resets, checks, bad;
} X;

/* ---- raw register access ------------------------------------------------ */

static uint32_t rd(uint32_t off)
{
	return mmio_read32(X.base + off);
}

static void wr(uint32_t off, uint32_t v)
{
	mmio_write32(X.base + off, v);
}

/* One access of exactly @size bytes at @addr (1, 2, 4 or 8), any alignment. */
static uint64_t raw_read(uint64_t addr, unsigned int size)
{
	uint64_t v = 0;

	switch (size) {
	case 1: __asm__ volatile("movb (%1), %b0" : "=q"(v) : "r"(addr) : "memory"); break;
	case 2: __asm__ volatile("movw (%1), %w0" : "=r"(v) : "r"(addr) : "memory"); break;
	case 4: __asm__ volatile("movl (%1), %k0" : "=r"(v) : "r"(addr) : "memory"); break;
	default: __asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(addr) : "memory"); break;
	}
	return size == 8 ? v : v & ((1ull << (size * 8)) - 1);
}

static void raw_write(uint64_t addr, unsigned int size, uint64_t v)
{
	switch (size) {
	case 1: __asm__ volatile("movb %b0, (%1)" : : "q"(v), "r"(addr) : "memory"); break;
	case 2: __asm__ volatile("movw %w0, (%1)" : : "r"(v), "r"(addr) : "memory"); break;
	case 4: __asm__ volatile("movl %k0, (%1)" : : "r"(v), "r"(addr) : "memory"); break;
	default: __asm__ volatile("movq %0, (%1)" : : "r"(v), "r"(addr) : "memory"); break;
	}
}

static uint64_t rnd(void)
{
	return rand__next(&X.rng);
}

/* ---- the interrupt and the ring ------------------------------------------- */

static void hx_irq(struct trap_frame *f, void *arg)
{
	uint32_t st = rd(SIMCP_REG_IRQ_STATUS);

	(void)f;
	(void)arg;
	X.irqs++;
	if (!st) {
		X.spurious++;
		return;
	}
	wr(SIMCP_REG_IRQ_ACK, st);
	if (st & SIMCP_IRQ_FENCE) {
		X.fences++;
		X.fence = rd(SIMCP_REG_FENCE_LO) | (uint64_t)rd(SIMCP_REG_FENCE_HI) << 32;
	}
	if (st & SIMCP_IRQ_ERROR) {
		uint32_t code = rd(SIMCP_REG_FAULT_CODE);

		X.errors++;
		X.fault_code = code;
		X.fault_addr = rd(SIMCP_REG_FAULT_ADDR_LO) |
			       (uint64_t)rd(SIMCP_REG_FAULT_ADDR_HI) << 32;
		X.fault_head = rd(SIMCP_REG_FAULT_HEAD);
		X.codes[code < NCODES ? code : 0]++;
		X.faulted = true;
	}
}

/* Reset the context and give it a fresh, empty ring. */
static void hx_reset(void)
{
	bool irqs = irq_save();

	wr(SIMCP_REG_CONTROL, SIMCP_CTRL_RESET);
	wr(SIMCP_REG_RING_BASE_LO, (uint32_t)virt_to_phys(X.ring));
	wr(SIMCP_REG_RING_BASE_HI, (uint32_t)(virt_to_phys(X.ring) >> 32));
	wr(SIMCP_REG_RING_SIZE, RING_SIZE);
	wr(SIMCP_REG_IRQ_ACK, ~0u);
	wr(SIMCP_REG_IRQ_MASK, SIMCP_IRQ_FENCE | SIMCP_IRQ_ERROR);
	wr(SIMCP_REG_CONTROL, SIMCP_CTRL_ENABLE);
	X.tail = 0;
	X.faulted = false;
	X.resets++;
	irq_restore(irqs);
}

/* Leave the halted state; the device skipped the faulting command. */
static void hx_resume(void)
{
	bool irqs = irq_save();

	X.faulted = false;
	wr(SIMCP_REG_CONTROL, SIMCP_CTRL_ENABLE | SIMCP_CTRL_RESUME);
	X.resumes++;
	irq_restore(irqs);
}

/* Commands the ring has room for now (one RING_HEAD read). */
static uint32_t hx_room(void)
{
	uint32_t head = rd(SIMCP_REG_RING_HEAD) & (RING_SIZE - 1) & ~(SIMCP_CMD_SIZE - 1);

	return ((head - X.tail - SIMCP_CMD_SIZE) & (RING_SIZE - 1)) / SIMCP_CMD_SIZE;
}

static void hx_put(const struct simcp_cmd *c)
{
	memcpy(X.ring + X.tail, c, SIMCP_CMD_SIZE);
	X.tail = (X.tail + SIMCP_CMD_SIZE) & (RING_SIZE - 1);
	X.cmds++;
}

static void hx_kick(void)
{
	wr(SIMCP_REG_RING_TAIL, X.tail);
}

/* Queue a FENCE (interrupting) with a fresh value; returns the value. */
static uint64_t hx_fence(uint64_t writeback)
{
	struct simcp_cmd c = { .op = SIMCP_OP_FENCE, .flags = SIMCP_F_IRQ,
			       .a = ++X.fence_next, .b = writeback };

	hx_put(&c);
	return c.a;
}

struct wait_arg {
	uint64_t value;
};

static bool fence_or_fault(void *arg)
{
	const struct wait_arg *w = arg;

	return X.fence >= w->value || X.faulted;
}

/*
 * Halt until fence @value completed, resuming after every fault (each one
 * counted), or @deadline.  Returns true when the fence completed; false at
 * the deadline or after a reset by the host (SIMCP_FAULT_HANG: the ring was
 * emptied, the fence will never come).
 */
static bool hx_wait(uint64_t value, uint64_t deadline)
{
	struct wait_arg w = { value };

	for (;;) {
		if (!rt_wait(fence_or_fault, &w, deadline))
			return false;
		if (X.fence >= value)
			return true;
		if (X.fault_code == SIMCP_FAULT_HANG) {
			printf("hostile: reset by the host at %llu ms\n",
			       (unsigned long long)(clock__ns() / 1000000));
			hx_resume();
			return false;
		}
		hx_resume();
	}
}

static bool never(void *arg)
{
	(void)arg;
	return false;
}

/* ---- addresses a hostile command points at ---------------------------------- */

/*
 * An address that is not this domain's memory, of a random kind, for an
 * access of *@len bytes (at least 2 for the straddling and wrapping kinds
 * to mean anything); unless @fixed, *@len may grow for those kinds.
 */
static uint64_t bad_addr(uint64_t *len, bool fixed)
{
	switch (rnd() % 8) {
	case 0: return X.ram;                                    /* just past RAM */
	case 1:                                                  /* straddling its end */
		if (!fixed)
			*len = MAX(*len, 8192);
		return X.ram - *len / 2;
	case 2: return 0xfe000000ull + (rnd() % 0x2000);         /* the register window */
	case 3: return rnd() % 2 ? BOARD_IOAPIC_GPA : BOARD_LAPIC_GPA;
	case 4: return X.ram + (rnd() % (64ull << 20) & ~7ull);  /* a neighbour's RAM */
	case 5:                                                  /* wraps past 2^64 */
		if (!fixed)
			*len = MAX(*len, 0x2000);
		return 0ull - *len / 2;
	case 6: return 1ull << (32 + rnd() % 32);                /* far above */
	default: return rnd();
	}
}

/* An address in the sandbox with room for @len (clipped), or a bad one. */
static uint64_t some_addr(uint64_t *len)
{
	if (rnd() % 4)
		return bad_addr(len, false);
	*len %= SANDBOX_SIZE / 2;
	return virt_to_phys(X.sandbox) + (rnd() % (SANDBOX_SIZE / 2));
}

/* ---- mode ring: garbage commands ------------------------------------------------ */

static void garbage(struct simcp_cmd *c)
{
	uint64_t len;

	switch (rnd() % 10) {
	case 0: case 1: case 2: case 3: {          /* random bytes */
		uint64_t w[4] = { rnd(), rnd(), rnd(), rnd() };

		memcpy(c, w, sizeof(w));
		return;
	}
	case 4:                                    /* a real COMPUTE */
		*c = (struct simcp_cmd){ .op = SIMCP_OP_COMPUTE, .a = 100000, .len = 4096 };
		return;
	default:                                   /* a valid opcode, wrong operands */
		len = rnd() % 3 ? rnd() % 65536 : rnd() % (2ull * SIMCP_MAX_LEN);
		*c = (struct simcp_cmd){
			.op = (uint8_t)(rnd() % (SIMCP_OP_MAX + 2)),
			.flags = (uint8_t)(rnd() % 3 ? 0 : rnd()),
			.arg = (uint16_t)(rnd() % 2 ? rnd() % 4 : rnd()),
		};
		c->a = some_addr(&len);
		c->b = some_addr(&len);
		c->c = rnd() % 2 ? some_addr(&len) : rnd();
		c->len = (uint32_t)len;
		/* No hang: a WAIT gets what it waits for or a bad address. */
		if (c->op == SIMCP_OP_WAIT && c->a >= X.ram)
			c->c = 0;
		else if (c->op == SIMCP_OP_WAIT)
			c->op = SIMCP_OP_NOP;
		/* Long COMPUTEs are fine, but keep the run's pace. */
		if (c->op == SIMCP_OP_COMPUTE && c->a <= SIMCP_MAX_COMPUTE_NS)
			c->a %= 2000000;
		return;
	}
}

static bool mode_ring(uint64_t end)
{
	uint64_t batches = 0;

	while (clock__ns() < end) {
		unsigned int n = 1 + rnd() % 16;
		uint64_t v;

		if (hx_room() < n + 2)
			hx_reset();
		for (unsigned int i = 0; i < n; i++) {
			struct simcp_cmd c;

			garbage(&c);
			hx_put(&c);
		}
		v = hx_fence(0);
		hx_kick();
		if (!hx_wait(v, clock__ns() + 100000000ull)) {
			/* A garbage FENCE reported a larger value, or a long WAIT: start over. */
			hx_reset();
		}
		batches++;
	}
	printf("hostile: ring: %llu batches\n", (unsigned long long)batches);
	return X.codes[SIMCP_FAULT_BAD_CMD] + X.codes[SIMCP_FAULT_DMA] > 0;
}

/* ---- mode dma: every operand out of bounds ------------------------------------------- */

struct attack {
	uint8_t op;
	uint16_t arg;
	uint8_t which;   /* the bad operand: 'a', 'b', 'c' (or 's' SG table, 'e' SG entry) */
};

static const struct attack attacks[] = {
	{ SIMCP_OP_FENCE, 0, 'b' },
	{ SIMCP_OP_COPY, 0, 'a' }, { SIMCP_OP_COPY, 0, 'b' },
	{ SIMCP_OP_FILL, 0, 'b' },
	{ SIMCP_OP_HASH, SIMCP_HASH_CRC32C, 'a' }, { SIMCP_OP_HASH, SIMCP_HASH_CRC32C, 'b' },
	{ SIMCP_OP_HASH, SIMCP_HASH_SHA256, 'b' },
	{ SIMCP_OP_LOAD, 0, 'a' }, { SIMCP_OP_STORE, 0, 'b' },
	{ SIMCP_OP_WAIT, 0, 'a' },
	{ SIMCP_OP_KEY, 0, 'a' },
	{ SIMCP_OP_AES_CBC, 0, 'a' }, { SIMCP_OP_AES_CBC, 0, 'b' }, { SIMCP_OP_AES_CBC, 0, 'c' },
	{ SIMCP_OP_AES_CBC, SIMCP_AES_SG_SRC, 's' }, { SIMCP_OP_AES_CBC, SIMCP_AES_SG_DST, 'e' },
};

static void sandbox_fill(void)
{
	for (uint64_t i = 0; i < SANDBOX_SIZE; i += 8) {
		uint64_t v = X.seed ^ (virt_to_phys(X.sandbox) + i);

		memcpy(X.sandbox + i, &v, 8);
	}
}

/* The sandbox's first @upto bytes still hold their pattern (CPU: every 64th word). */
static bool sandbox_intact(uint64_t upto)
{
	for (uint64_t i = 0; i < upto; i += 64) {
		uint64_t v;

		memcpy(&v, X.sandbox + i, 8);
		if (v != (X.seed ^ (virt_to_phys(X.sandbox) + i))) {
			printf("hostile: sandbox changed at %p\n", (void *)(X.sandbox + i));
			return false;
		}
	}
	return true;
}

/*
 * Submit @c, which must fault with @code at @addr (addr checked for DMA
 * faults only), then a fence; the fault is resumed and the fence must
 * complete.  Returns false (and says why) otherwise.
 */
static bool expect_fault(const struct simcp_cmd *c, uint32_t code, uint64_t addr,
			 const char *what)
{
	struct wait_arg w;
	uint64_t v, errors = X.errors;
	uint32_t at = X.tail;

	hx_put(c);
	v = hx_fence(0);
	w.value = v;
	hx_kick();
	X.checks++;
	if (!rt_wait(fence_or_fault, &w, clock__ns() + WAIT_NS) || X.errors != errors + 1 ||
	    !X.faulted) {
		printf("hostile: %s: no fault (fence %#llx of %#llx, %llu errors)\n", what,
		       (unsigned long long)X.fence, (unsigned long long)v,
		       (unsigned long long)(X.errors - errors));
		return false;
	}
	if (X.fault_code != code || X.fault_head != at ||
	    (code == SIMCP_FAULT_DMA && X.fault_addr != addr)) {
		printf("hostile: %s: fault %u at %#llx (head %#x), expected %u at %#llx (head %#x)\n",
		       what, X.fault_code, (unsigned long long)X.fault_addr, X.fault_head, code,
		       (unsigned long long)addr, at);
		return false;
	}
	hx_resume();
	if (!hx_wait(v, clock__ns() + WAIT_NS) || X.errors != errors + 1) {
		printf("hostile: %s: the ring did not go on after the fault\n", what);
		return false;
	}
	return true;
}

/* @c, which must complete without a fault. */
static bool expect_ok(const struct simcp_cmd *c, const char *what)
{
	uint64_t v, errors = X.errors;

	hx_put(c);
	v = hx_fence(0);
	hx_kick();
	X.checks++;
	if (!hx_wait(v, clock__ns() + WAIT_NS) || X.errors != errors) {
		printf("hostile: %s: faulted (code %u at %#llx)\n", what, X.fault_code,
		       (unsigned long long)X.fault_addr);
		return false;
	}
	return true;
}

/* How many bytes operand @which of @t touches for a command of @len bytes. */
static uint64_t operand_size(const struct attack *t, uint64_t len)
{
	switch (t->op) {
	case SIMCP_OP_FENCE: case SIMCP_OP_WAIT: return 8;
	case SIMCP_OP_KEY: return 16;
	case SIMCP_OP_HASH:
		if (t->which == 'b')
			return t->arg == SIMCP_HASH_CRC32C ? 4 : 32;
		return len;
	case SIMCP_OP_AES_CBC:
		return t->which == 'c' || t->which == 's' ? 16 : len;
	default: return len;
	}
}

/*
 * One attack: operand @t->which at a bad address of a random kind, every
 * other operand good.  It must fault with SIMCP_FAULT_DMA at that address
 * (an SG table that would wrap is refused as a bad command first).
 */
static bool dma_attack(const struct attack *t, uint64_t len)
{
	uint64_t good = virt_to_phys(X.sandbox), pad = virt_to_phys(X.pad);
	struct simcp_cmd c = { .op = t->op, .arg = t->arg };
	uint32_t code = SIMCP_FAULT_DMA;
	uint64_t addr, size;
	uint8_t e[SIMCP_SG_ENTRY_SIZE];
	char what[112];

	/* A KEY needs a length the device accepts; AES whole blocks; LOAD/STORE scratch. */
	if (t->op == SIMCP_OP_KEY)
		len = 16;
	if (t->op == SIMCP_OP_AES_CBC)
		len = ALIGN_UP(len, (uint64_t)SIMCP_AES_BLOCK);
	if (t->op == SIMCP_OP_LOAD || t->op == SIMCP_OP_STORE)
		len = MIN(len, (uint64_t)SIMCP_SCRATCH_SIZE);
	size = operand_size(t, len);
	addr = bad_addr(&size, size != len || t->which == 'e' || t->op == SIMCP_OP_KEY);
	if (size != operand_size(t, len))
		len = size; /* grown to straddle or wrap */
	/* Good operands: data from the sandbox's first half, results into its second. */
	c.len = (uint32_t)len;
	c.a = good;
	c.b = good + SANDBOX_SIZE / 2;
	c.c = pad;                 /* the AES IV (the key's bytes) */
	if (t->op == SIMCP_OP_LOAD)
		c.b = 0;           /* scratch offset */
	if (t->op == SIMCP_OP_STORE)
		c.a = 0;
	if (t->op == SIMCP_OP_FENCE)
		c.a = ++X.fence_next;
	if (t->op == SIMCP_OP_WAIT)
		c.c = 0;
	switch (t->which) {
	case 'a': c.a = addr; break;
	case 'b': c.b = addr; break;
	case 'c': c.c = addr; break;
	case 's':
		addr &= ~15ull;
		if (addr < X.ram && addr + 16 <= X.ram)
			addr = X.ram;
		c.a = addr;
		if (addr > UINT64_MAX - (uint64_t)SIMCP_SG_MAX_ENTRIES * SIMCP_SG_ENTRY_SIZE)
			code = SIMCP_FAULT_BAD_CMD;
		break;
	case 'e':
		/* One entry, in the pad, pointing at @addr for all @len bytes. */
		memcpy(e, &addr, 8);
		memcpy(e + 8, &len, 4);
		memset(e + 12, 0, 4);
		memcpy(X.pad + 4096, e, sizeof(e));
		c.b = pad + 4096;
		break;
	}
	snprintf(what, sizeof(what), "op %u arg %#x operand %c at %#llx len %#llx", t->op,
		 t->arg, t->which, (unsigned long long)addr, (unsigned long long)len);
	return expect_fault(&c, code, addr, what);
}

static bool mode_dma(uint64_t end)
{
	bool aes = rd(SIMCP_REG_CAPS) & SIMCP_CAP_AES;
	uint64_t rounds = 0;
	struct simcp_cmd c;

	sandbox_fill();
	if (aes) {
		/* A key in slot 0 for the AES attacks (its bytes: the sandbox's). */
		c = (struct simcp_cmd){ .op = SIMCP_OP_KEY, .len = 16, .a = virt_to_phys(X.pad) };
		if (!expect_ok(&c, "key load"))
			return false;
	}
	while (clock__ns() < end) {
		for (unsigned int i = 0; i < ARRAY_SIZE(attacks); i++) {
			const struct attack *t = &attacks[i];

			if ((t->op == SIMCP_OP_KEY || t->op == SIMCP_OP_AES_CBC) && !aes)
				continue;
			if (!dma_attack(t, 2 + rnd() % 4096))
				return false;
		}
		/* Nothing at a bad address is read or written when there is nothing to move. */
		c = (struct simcp_cmd){ .op = SIMCP_OP_FILL, .len = 0, .b = X.ram, .c = 0xdeadbeef };
		if (!expect_ok(&c, "zero-length FILL past RAM"))
			return false;
		if (!sandbox_intact(SANDBOX_SIZE))
			return false;
		rounds++;
	}
	/*
	 * A ring whose end lies past RAM: two NOPs in the last 64 bytes of RAM,
	 * then the third fetch is at the end of RAM and must fault there.
	 */
	{
		uint8_t *last = X.sandbox + SANDBOX_SIZE - 64;
		struct wait_arg w = { ~0ull };
		uint64_t errors = X.errors;
		bool irqs;

		memset(last, 0, 64);
		irqs = irq_save();
		wr(SIMCP_REG_CONTROL, SIMCP_CTRL_RESET);
		wr(SIMCP_REG_RING_BASE_LO, (uint32_t)virt_to_phys(last));
		wr(SIMCP_REG_RING_BASE_HI, (uint32_t)(virt_to_phys(last) >> 32));
		wr(SIMCP_REG_RING_SIZE, 4096);
		wr(SIMCP_REG_IRQ_MASK, SIMCP_IRQ_FENCE | SIMCP_IRQ_ERROR);
		wr(SIMCP_REG_CONTROL, SIMCP_CTRL_ENABLE);
		wr(SIMCP_REG_RING_TAIL, 96);
		irq_restore(irqs);
		X.checks++;
		if (!rt_wait(fence_or_fault, &w, clock__ns() + WAIT_NS) ||
		    X.errors != errors + 1 || X.fault_code != SIMCP_FAULT_DMA ||
		    X.fault_addr != X.ram || X.fault_head != 64) {
			printf("hostile: a ring past the end of RAM: fault %u at %#llx head %#x\n",
			       X.fault_code, (unsigned long long)X.fault_addr, X.fault_head);
			return false;
		}
		hx_reset();
	}
	printf("hostile: dma: %llu rounds of %u attacks\n", (unsigned long long)rounds,
	       (unsigned int)ARRAY_SIZE(attacks));
	return sandbox_intact(SANDBOX_SIZE - 64) && rounds > 0;
}

/* ---- mode np: non-preemptible work without end ------------------------------------------------ */

#define NP_CHAIN (SIMCP_F_NOPREEMPT | SIMCP_F_CHAIN)

static bool mode_np(uint64_t end)
{
	uint64_t every = arg__time("wait", 1, 1000000000ull);
	uint64_t t_wait = every ? clock__ns() + every / 2 : ~0ull;
	uint64_t chained = 0, singles = 0, waits = 0, prev = 0;
	uint64_t np_faults0 = X.codes[SIMCP_FAULT_NONPREEMPT];

	while (clock__ns() < end) {
		struct simcp_cmd c = { .op = SIMCP_OP_COMPUTE, .len = 4096 };
		uint64_t v;
		unsigned int n;

		switch (rnd() % 4) {
		case 0: case 1:
			/* A chain of 200-400 us commands over several ms, appended as it runs. */
			n = 8 + rnd() % 24;
			for (unsigned int i = 0; i < n; i++) {
				c.flags = NP_CHAIN;
				c.a = 200000 + rnd() % 200000;
				hx_put(&c);
				if (i % 4 == 3)
					hx_kick();
			}
			chained += n;
			break;
		case 2:
			/* One flagged COMPUTE, over the bound or just under it. */
			c.flags = SIMCP_F_NOPREEMPT;
			c.a = rnd() % 2 ? 5000000 : 900000;
			hx_put(&c);
			singles++;
			break;
		default:
			/* Plain work, so the context has preemptible work too. */
			c.a = 500000;
			hx_put(&c);
			break;
		}
		if (clock__ns() >= t_wait) {
			/* A section that never ends: a flagged WAIT nothing satisfies. */
			struct simcp_cmd w = { .op = SIMCP_OP_WAIT, .flags = SIMCP_F_NOPREEMPT,
					       .a = virt_to_phys(X.sandbox), .c = ~0ull };

			memset(X.sandbox, 0, 8);
			hx_put(&w);
			waits++;
			printf("hostile: np: an endless WAIT at %llu ms\n",
			       (unsigned long long)(clock__ns() / 1000000));
			t_wait = clock__ns() + every;
		}
		/* Two batches in flight: the context always has work, slices end inside sections. */
		v = hx_fence(0);
		hx_kick();
		if (prev && !hx_wait(prev, clock__ns() + WAIT_NS)) {
			hx_reset();
			v = 0;
		}
		prev = v;
	}
	printf("hostile: np: %llu chained, %llu single, %llu endless WAITs; %llu cut\n",
	       (unsigned long long)chained, (unsigned long long)singles, (unsigned long long)waits,
	       (unsigned long long)(X.codes[SIMCP_FAULT_NONPREEMPT] - np_faults0));
	return X.codes[SIMCP_FAULT_NONPREEMPT] > np_faults0;
}

/* ---- mode regs: fuzz the window ------------------------------------------------------------ */

static const uint32_t regs[] = {
	SIMCP_REG_ID, SIMCP_REG_VERSION, SIMCP_REG_CAPS, SIMCP_REG_SCRATCH_SIZE,
	SIMCP_REG_CONTROL, SIMCP_REG_STATUS, SIMCP_REG_IRQ_STATUS, SIMCP_REG_IRQ_MASK,
	SIMCP_REG_IRQ_ACK, SIMCP_REG_RING_BASE_LO, SIMCP_REG_RING_BASE_HI, SIMCP_REG_RING_SIZE,
	SIMCP_REG_RING_HEAD, SIMCP_REG_RING_TAIL, SIMCP_REG_FENCE_LO, SIMCP_REG_FENCE_HI,
	SIMCP_REG_FAULT_CODE, SIMCP_REG_FAULT_ADDR_LO, SIMCP_REG_FAULT_ADDR_HI,
	SIMCP_REG_FAULT_HEAD, SIMCP_REG_CMDS_DONE,
};

static bool mode_regs(uint64_t end)
{
	static const unsigned int sizes[] = { 1, 2, 4, 8 };
	uint64_t accesses = 0, rounds = 0;

	while (clock__ns() < end) {
		for (unsigned int i = 0; i < 256; i++) {
			unsigned int size = sizes[rnd() % 4];
			uint64_t off, v = rnd();

			switch (rnd() % 4) {
			case 0: off = regs[rnd() % ARRAY_SIZE(regs)] + rnd() % 8; break;
			case 1: off = rnd() % SIMCP_MMIO_SIZE; break;
			case 2: off = SIMCP_MMIO_SIZE - 8 + rnd() % 16; break; /* across the end */
			default: off = rnd() % (2 * SIMCP_MMIO_SIZE); break;
			}
			if (rnd() % 2)
				off &= ~(uint64_t)(size - 1);
			/* A register's bits of interest, now and then. */
			if (rnd() % 4 == 0)
				v &= 0xff;
			if (rnd() % 2) {
				raw_write(X.base + off, size, v);
			} else {
				(void)raw_read(X.base + off, size);
			}
			accesses++;
		}
		/* The window still answers as simcp's: ID, VERSION, nothing at 0x100. */
		X.checks++;
		if (rd(SIMCP_REG_ID) != SIMCP_ID_VALUE || rd(SIMCP_REG_VERSION) !=
		    SIMCP_VERSION_VALUE || rd(0x100) != 0xffffffffu ||
		    raw_read(X.base + SIMCP_REG_ID, 8) != 0xffffffffffffffffull) {
			printf("hostile: regs: the window reads ID %#x VERSION %#x [0x100] %#x\n",
			       rd(SIMCP_REG_ID), rd(SIMCP_REG_VERSION), rd(0x100));
			return false;
		}
		rounds++;
	}
	printf("hostile: regs: %llu accesses in %llu rounds\n", (unsigned long long)accesses,
	       (unsigned long long)rounds);
	return rounds > 0;
}

/* ---- mode doorbell: a storm of RING_TAIL writes ----------------------------------------------- */

static bool mode_doorbell(uint64_t end)
{
	uint64_t rings = 0, bad = 0, bad_faults0 = X.codes[SIMCP_FAULT_BAD_RING];

	while (clock__ns() < end) {
		struct simcp_cmd c = { .op = SIMCP_OP_COMPUTE, .a = 20000 };
		uint32_t room = hx_room();

		if (X.faulted)
			hx_resume();
		for (unsigned int i = 0; i < 32 && room > 2; i++, room--) {
			hx_put(&c);
			hx_kick();
			hx_kick(); /* the same value again */
			rings += 2;
		}
		if (rnd() % 16 == 0) {
			/*
			 * Once the ring is drained: a misaligned or out-of-ring
			 * RING_TAIL, which the fetch must refuse (BAD_RING), then
			 * the right one and RESUME.
			 */
			uint64_t v = hx_fence(0), errors;
			struct wait_arg w = { ~0ull };

			hx_kick();
			if (!hx_wait(v, clock__ns() + WAIT_NS))
				continue;
			errors = X.errors;
			wr(SIMCP_REG_RING_TAIL, rnd() % 2 ? X.tail + 8 : RING_SIZE + X.tail);
			bad++;
			X.checks++;
			if (!rt_wait(fence_or_fault, &w, clock__ns() + WAIT_NS) ||
			    X.errors != errors + 1 || X.fault_code != SIMCP_FAULT_BAD_RING) {
				printf("hostile: doorbell: a bad RING_TAIL: fault %u\n", X.fault_code);
				return false;
			}
			hx_kick();
			hx_resume();
		}
	}
	{
		uint64_t v = hx_fence(0);

		hx_kick();
		if (!hx_wait(v, clock__ns() + WAIT_NS)) {
			printf("hostile: doorbell: the ring never drained\n");
			return false;
		}
	}
	printf("hostile: doorbell: %llu doorbells, %llu bad, %llu BAD_RING faults\n",
	       (unsigned long long)rings, (unsigned long long)bad,
	       (unsigned long long)(X.codes[SIMCP_FAULT_BAD_RING] - bad_faults0));
	return rings > 0 && X.codes[SIMCP_FAULT_BAD_RING] - bad_faults0 == bad;
}

/* ---- mode long: to be destroyed mid-command --------------------------------------------------- */

static NORETURN void mode_long(void)
{
	uint64_t ns = arg__time("long", 1, SIMCP_MAX_COMPUTE_NS);
	struct simcp_cmd c;
	bool marked = false;

	if (!ns || ns > SIMCP_MAX_COMPUTE_NS)
		panic("long=%llu ns: 1 ns to 1 s", (unsigned long long)ns);
	for (;;) {
		uint32_t room = hx_room();

		for (; room > 1; room--) {
			if (rnd() % 4)
				c = (struct simcp_cmd){ .op = SIMCP_OP_COMPUTE, .len = 16384,
							.a = ns };
			else
				c = (struct simcp_cmd){ .op = SIMCP_OP_COMPUTE, .len = 4096,
							.flags = SIMCP_F_NOPREEMPT, .a = 900000 };
			hx_put(&c);
		}
		hx_kick();
		if (!marked) {
			printf("hostile: long: ring full of long commands\n");
			board__mark(BOARD_MARK_BUSY);
			marked = true;
		}
		if (X.faulted)
			hx_resume();
		rt_wait(never, NULL, clock__ns() + 100000000ull);
	}
}

/* ---- the end: its own context still works ---------------------------------------------------- */

static bool final_check(void)
{
	volatile uint64_t *wb = (volatile uint64_t *)(X.pad + 8192);
	uint64_t v;
	bool ok;

	hx_reset();
	*wb = 0;
	v = hx_fence(virt_to_phys(X.pad + 8192));
	hx_kick();
	X.checks++;
	ok = hx_wait(v, clock__ns() + WAIT_NS) && *wb == v;
	if (!ok)
		printf("hostile: after a reset, a FENCE wrote %#llx, not %#llx\n",
		       (unsigned long long)*wb, (unsigned long long)v);
	return ok;
}

int guest_main(const struct board_info *bi)
{
	char mode[16] = "";
	uint64_t run_ns, t0;
	int vector = -1;
	bool ok;

	run_ns = arg__time("seconds", 1000000000ull, bi->run_ns ? bi->run_ns : 1000000000ull);
	X.seed = arg__u64("seed", 1);
	X.rng = X.seed * 0x100000001b3ull + bi->domid;
	X.ram = bi->ram_size;
	X.fence_next = (uint64_t)bi->domid << 40;
	if (!arg__str("mode", mode, sizeof(mode)))
		panic("mode= is required");
	if (rt_simcp_dev(bi)) {
		X.base = rt_simcp_dev(bi)->base;
		X.gsi = rt_simcp_dev(bi)->gsi;
	}
	if (!X.base)
		panic("the board has no simcp");
	X.ring = mem__zalloc(RING_SIZE, 4096);
	X.sandbox = mem__alloc_at((uintptr_t)(X.ram - SANDBOX_SIZE), SANDBOX_SIZE);
	X.pad = mem__zalloc(PAD_SIZE, 4096);
	if (!X.ring || !X.sandbox || !X.pad)
		panic("no memory for the ring or the sandbox");
	vector = trap__alloc_vector(hx_irq, NULL);
	if (vector < 0)
		panic("no vector");
	hx_reset();
	X.resets = 0;
	if (ioapic__route(X.gsi, (unsigned int)vector))
		panic("no IOAPIC input %u", X.gsi);
	printf("hostile: mode %s, seed %llu, %llu ms\n", mode, (unsigned long long)X.seed,
	       (unsigned long long)(run_ns / 1000000));

	t0 = clock__ns();
	if (!strcmp(mode, "long"))
		mode_long();
	board__mark(BOARD_MARK_BUSY);
	if (!strcmp(mode, "ring"))
		ok = mode_ring(t0 + run_ns);
	else if (!strcmp(mode, "dma"))
		ok = mode_dma(t0 + run_ns);
	else if (!strcmp(mode, "np"))
		ok = mode_np(t0 + run_ns);
	else if (!strcmp(mode, "regs"))
		ok = mode_regs(t0 + run_ns);
	else if (!strcmp(mode, "doorbell"))
		ok = mode_doorbell(t0 + run_ns);
	else
		panic("mode=%s: not ring, dma, np, regs, doorbell or long", mode);
	board__mark(BOARD_MARK_DONE);
	ok = final_check() && ok;
	printf("result: hostile %s %s seed=%llu cmds=%llu checks=%llu irqs=%llu faults=%llu "
	       "dma=%llu bad_cmd=%llu hang=%llu bad_ring=%llu nonpreempt=%llu resumes=%llu "
	       "resets=%llu unknown=%llu\n", mode, ok ? "ok" : "FAIL",
	       (unsigned long long)X.seed, (unsigned long long)X.cmds,
	       (unsigned long long)X.checks, (unsigned long long)X.irqs,
	       (unsigned long long)(X.codes[1] + X.codes[2] + X.codes[3] + X.codes[4] +
				    X.codes[5] + X.codes[0]),
	       (unsigned long long)X.codes[SIMCP_FAULT_DMA],
	       (unsigned long long)X.codes[SIMCP_FAULT_BAD_CMD],
	       (unsigned long long)X.codes[SIMCP_FAULT_HANG],
	       (unsigned long long)X.codes[SIMCP_FAULT_BAD_RING],
	       (unsigned long long)X.codes[SIMCP_FAULT_NONPREEMPT],
	       (unsigned long long)X.resumes, (unsigned long long)X.resets,
	       (unsigned long long)trap__unexpected());
	return ok && !trap__unexpected() ? BOARD_EXIT_PASS : BOARD_EXIT_FAIL;
}
