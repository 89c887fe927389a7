// SPDX-License-Identifier: MIT
/*
 * simcp commands, faults, interrupts and registers on virtual time: one
 * context loaded and started, driven through its register window and its
 * ring like a driver would, with the device's events logged.
 */
#include <stdlib.h>
#include <string.h>

#include <vcoproc/vtime.h>

#include "crc32c.h"
#include "sha256.h"
#include "simcp_test.h"

#define TAG_A 0x1001u
#define A_BASE 0x80000000ull
#define B_BASE 0x90000000ull
#define GUEST_SIZE (1u << 20)
#define DATA(g, off) ((g)->gpa + GUEST_DATA_OFF + (off))

static struct {
	struct simcp *s;
	struct ev_log log;
	struct guest a;      /* loaded and started */
	struct guest b;      /* memory the device must never reach */
	vc_time_t t0;        /* when the first command can start */
	vc_time_t ovh;       /* per-command overhead */
} F;

static int setup(void **state)
{
	struct simcp_config cfg = {
		.mode = SIMCP_MODE_VTIME,
		.event = ev_sink,
		.event_opaque = &F.log,
	};
	struct simcp_timing t;

	vc_vtime_reset();
	memset(&F, 0, sizeof(F));
	assert_int_equal(simcp_create(&cfg, &F.s), 0);
	simcp_timing(F.s, &t);
	F.ovh = t.cmd_overhead_ns;
	guest_init(&F.a, A_BASE, GUEST_SIZE);
	guest_init(&F.b, B_BASE, GUEST_SIZE);
	assert_int_equal(simcp_ctx_alloc(F.s, TAG_A, &F.a.x), 0);
	assert_int_equal(simcp_set_iommu(F.s, &F.a.io), 0);
	assert_int_equal(simcp_load(F.a.x), 0);
	guest_ring_init(&F.a, SIMCP_IRQ_FENCE | SIMCP_IRQ_ERROR);
	assert_int_equal(simcp_start(F.a.x), 0);
	/* Settle at t = 0 (an empty ring reports idle) and start clean. */
	vc_vtime_run_until(0);
	F.log.n = 0;
	/* The load of a fresh context: registers, count and dirty bitmap. */
	F.t0 = ((72 + 8 + 2) * 1000000000ull + t.ctx_bw - 1) / t.ctx_bw;
	return 0;
}

static int teardown(void **state)
{
	simcp_ctx_free(F.a.x);
	simcp_destroy(F.s);
	guest_fini(&F.a);
	guest_fini(&F.b);
	return 0;
}

static void run(void)
{
	vc_vtime_advance(VC_MSEC(10));
}

static uint64_t rd64(struct simcp_ctx *x, uint64_t lo)
{
	return rd(x, lo) | (uint64_t)rd(x, lo + 4) << 32;
}

static void fill_random(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1664525u + 1013904223u;
		p[i] = (uint8_t)(seed >> 24);
	}
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void test_identity_and_reset_state(void **state)
{
	static const uint64_t zero_regs[] = {
		SIMCP_REG_CONTROL, SIMCP_REG_STATUS, SIMCP_REG_IRQ_STATUS,
		SIMCP_REG_IRQ_MASK, SIMCP_REG_IRQ_ACK, SIMCP_REG_RING_BASE_LO,
		SIMCP_REG_RING_BASE_HI, SIMCP_REG_RING_SIZE, SIMCP_REG_RING_HEAD,
		SIMCP_REG_RING_TAIL, SIMCP_REG_FENCE_LO, SIMCP_REG_FENCE_HI,
		SIMCP_REG_FAULT_CODE, SIMCP_REG_FAULT_ADDR_LO,
		SIMCP_REG_FAULT_ADDR_HI, SIMCP_REG_FAULT_HEAD, SIMCP_REG_CMDS_DONE,
	};
	struct simcp_ctx *x;

	assert_int_equal(simcp_ctx_alloc(F.s, 77, &x), 0);
	assert_int_equal(simcp_ctx_tag(x), 77);
	assert_int_equal(rd(x, SIMCP_REG_ID), SIMCP_ID_VALUE);
	assert_int_equal(rd(x, SIMCP_REG_VERSION), SIMCP_VERSION_VALUE);
	assert_int_equal(rd(x, SIMCP_REG_CAPS),
			 SIMCP_CAP_CRC32C | SIMCP_CAP_SHA256 | SIMCP_CAP_NOPREEMPT | SIMCP_CAP_AES);
	assert_int_equal(rd(x, SIMCP_REG_SCRATCH_SIZE), SIMCP_SCRATCH_SIZE);
	for (size_t i = 0; i < sizeof(zero_regs) / sizeof(zero_regs[0]); i++)
		assert_int_equal(rd(x, zero_regs[i]), 0);
	assert_false(simcp_has_work(x));
	assert_int_equal(simcp_progress(x), 0);
	simcp_ctx_free(x);
}

static void test_nop_and_fence(void **state)
{
	struct guest *g = &F.a;
	uint8_t *wb = gp(g, DATA(g, 0x100));
	uint64_t v = 0x1122334455667788ull;

	guest_push(g, cmd_nop());
	guest_push(g, cmd_fence(v, DATA(g, 0x100), SIMCP_F_IRQ));
	guest_doorbell(g);
	assert_true(simcp_has_work(g->x));
	assert_int_equal(rd(g->x, SIMCP_REG_STATUS), SIMCP_STATUS_BUSY);

	run();
	assert_int_equal(rd64(g->x, SIMCP_REG_FENCE_LO), v);
	for (int i = 0; i < 8; i++)
		assert_int_equal(wb[i], (uint8_t)(v >> (8 * i))); /* little endian */
	assert_int_equal(rd(g->x, SIMCP_REG_RING_HEAD), g->tail);
	assert_int_equal(rd(g->x, SIMCP_REG_CMDS_DONE), 2);
	assert_int_equal(simcp_progress(g->x), 2);
	assert_int_equal(rd(g->x, SIMCP_REG_IRQ_STATUS), SIMCP_IRQ_FENCE);
	assert_int_equal(rd(g->x, SIMCP_REG_STATUS), SIMCP_STATUS_IDLE);
	assert_false(simcp_has_work(g->x));

	/* The interrupt when the fence retires, then idle. */
	assert_int_equal(F.log.n, 2);
	assert_int_equal(F.log.e[0].tag, TAG_A);
	assert_int_equal(F.log.e[0].ev, VC_EV_IRQ);
	assert_int_equal(F.log.e[0].at, F.t0 + 2 * F.ovh);
	assert_int_equal(F.log.e[1].ev, VC_EV_IDLE);

	/* A fence without IRQ flag or writeback: register only, no event. */
	wr(g->x, SIMCP_REG_IRQ_ACK, SIMCP_IRQ_FENCE);
	guest_submit(g, cmd_fence(5, 0, 0));
	run();
	assert_int_equal(rd64(g->x, SIMCP_REG_FENCE_LO), 5);
	assert_int_equal(rd(g->x, SIMCP_REG_IRQ_STATUS), 0);
	assert_int_equal(ev_count(&F.log, TAG_A, VC_EV_IRQ), 1);
}

/* Interrupts: only when masked in, one edge per newly pending bit. */
static void test_irq_mask_and_edges(void **state)
{
	struct guest *g = &F.a;

	wr(g->x, SIMCP_REG_IRQ_MASK, 0);
	guest_submit(g, cmd_fence(1, 0, SIMCP_F_IRQ));
	run();
	assert_int_equal(rd(g->x, SIMCP_REG_IRQ_STATUS), SIMCP_IRQ_FENCE);
	assert_int_equal(ev_count(&F.log, TAG_A, VC_EV_IRQ), 0);

	/* Unmasking a pending bit raises it. */
	wr(g->x, SIMCP_REG_IRQ_MASK, SIMCP_IRQ_FENCE);
	run();
	assert_int_equal(ev_count(&F.log, TAG_A, VC_EV_IRQ), 1);

	/* Still pending: a second fence is no new edge. */
	guest_submit(g, cmd_fence(2, 0, SIMCP_F_IRQ));
	run();
	assert_int_equal(ev_count(&F.log, TAG_A, VC_EV_IRQ), 1);

	/* Acknowledged: the next one is. */
	wr(g->x, SIMCP_REG_IRQ_ACK, SIMCP_IRQ_FENCE);
	assert_int_equal(rd(g->x, SIMCP_REG_IRQ_STATUS), 0);
	guest_submit(g, cmd_fence(3, 0, SIMCP_F_IRQ));
	run();
	assert_int_equal(ev_count(&F.log, TAG_A, VC_EV_IRQ), 2);
	assert_int_equal(rd(g->x, SIMCP_REG_IRQ_STATUS), SIMCP_IRQ_FENCE);
	/* Reserved mask bits do not stick. */
	wr(g->x, SIMCP_REG_IRQ_MASK, 0xffffffff);
	assert_int_equal(rd(g->x, SIMCP_REG_IRQ_MASK), SIMCP_IRQ_FENCE | SIMCP_IRQ_ERROR);
}

static void test_copy_and_fill(void **state)
{
	struct guest *g = &F.a;
	uint8_t *src = gp(g, DATA(g, 0)), *dst = gp(g, DATA(g, 0x4000));
	uint8_t *fill = gp(g, DATA(g, 0x8000));
	struct simcp_timing t;

	simcp_timing(F.s, &t);
	fill_random(src, 4096, 1);
	guest_push(g, cmd_copy(DATA(g, 0), DATA(g, 0x4000), 4096));
	guest_push(g, cmd_fill(DATA(g, 0x8001), 1001, 0xa1b2c3d4));
	guest_push(g, cmd_fence(1, 0, SIMCP_F_IRQ));
	guest_doorbell(g);
	run();

	assert_memory_equal(src, dst, 4096);
	assert_int_equal(dst[4096], 0);
	assert_int_equal(fill[0], 0);
	for (int i = 0; i < 1001; i++)
		assert_int_equal(fill[1 + i], (uint8_t)(0xa1b2c3d4u >> (8 * (i % 4))));
	assert_int_equal(fill[1002], 0);

	/* Modeled time: overhead + bytes at 4 GB/s, back to back. */
	assert_int_equal(t.mem_bw, 4000000000ull);
	assert_int_equal(F.log.e[0].ev, VC_EV_IRQ);
	assert_int_equal(F.log.e[0].at,
			 F.t0 + (F.ovh + 1024) + (F.ovh + 251) + F.ovh);
}

static void test_hash_commands(void **state)
{
	struct guest *g = &F.a;
	static const uint8_t sha_abc[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
		0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
		0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	static const uint8_t sha_empty_head[4] = { 0xe3, 0xb0, 0xc4, 0x42 };
	uint8_t *crc = gp(g, DATA(g, 0x1000));
	uint8_t *big = gp(g, DATA(g, 0x10000));
	uint8_t want[32];

	memcpy(gp(g, DATA(g, 0)), "123456789", 9);
	memcpy(gp(g, DATA(g, 0x20)), "abc", 3);
	fill_random(big, 65536, 7);
	guest_push(g, cmd_hash(SIMCP_HASH_CRC32C, DATA(g, 0), 9, DATA(g, 0x1000)));
	guest_push(g, cmd_hash(SIMCP_HASH_SHA256, DATA(g, 0x20), 3, DATA(g, 0x1100)));
	guest_push(g, cmd_hash(SIMCP_HASH_SHA256, 0, 0, DATA(g, 0x1200)));
	guest_push(g, cmd_hash(SIMCP_HASH_SHA256, DATA(g, 0x10000), 65536, DATA(g, 0x1300)));
	guest_push(g, cmd_hash(SIMCP_HASH_CRC32C, DATA(g, 0x10000), 65536, DATA(g, 0x1400)));
	guest_push(g, cmd_fence(1, 0, SIMCP_F_IRQ));
	guest_doorbell(g);
	run();

	assert_int_equal(rd(g->x, SIMCP_REG_FAULT_CODE), 0);
	assert_int_equal(crc[0] | crc[1] << 8 | crc[2] << 16 | (uint32_t)crc[3] << 24,
			 0xe3069283);
	assert_int_equal(crc[4], 0); /* exactly 4 bytes */
	assert_memory_equal(gp(g, DATA(g, 0x1100)), sha_abc, 32);
	assert_memory_equal(gp(g, DATA(g, 0x1200)), sha_empty_head, 4);
	simcp_sha256(big, 65536, want);
	assert_memory_equal(gp(g, DATA(g, 0x1300)), want, 32);
	{
		uint32_t c = simcp_crc32c(0, big, 65536);
		uint8_t *p = gp(g, DATA(g, 0x1400));

		assert_int_equal(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24, c);
	}
	/* CRC at 2 GB/s, SHA-256 at 0.5 GB/s. */
	assert_int_equal(F.log.e[0].at, F.t0 + 6 * F.ovh + 5 + 6 + 0 +
			 2 * 65536 + 65536 / 2);
}

static void test_load_store_scratch(void **state)
{
	struct guest *g = &F.a;
	uint8_t *in = gp(g, DATA(g, 0)), *out = gp(g, DATA(g, 0x8000));

	fill_random(in, 3000, 3);
	/* Up to the very end of scratch, and back out. */
	guest_push(g, cmd_load(DATA(g, 0), SIMCP_SCRATCH_SIZE - 3000, 3000));
	guest_push(g, cmd_store(SIMCP_SCRATCH_SIZE - 3000, DATA(g, 0x8000), 3000));
	guest_push(g, cmd_fence(1, 0, 0));
	guest_doorbell(g);
	run();
	assert_int_equal(rd(g->x, SIMCP_REG_FAULT_CODE), 0);
	assert_int_equal(rd(g->x, SIMCP_REG_CMDS_DONE), 3);
	assert_memory_equal(in, out, 3000);
}

/* Reference of the COMPUTE mix as docs/simcp.md specifies it. */
static uint64_t ref_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void ref_compute(uint8_t *p, uint64_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len;

	for (uint64_t i = 0; i < len; i += 8) {
		uint64_t w = 0;
		unsigned int n = len - i < 8 ? (unsigned int)(len - i) : 8;

		for (unsigned int k = 0; k < n; k++)
			w |= (uint64_t)p[i + k] << (8 * k);
		h = ref_mix64(h ^ w);
		for (unsigned int k = 0; k < n; k++)
			p[i + k] = (uint8_t)(h >> (8 * k));
	}
}

static void test_compute(void **state)
{
	struct guest *g = &F.a;
	uint8_t *in = gp(g, DATA(g, 0)), *out = gp(g, DATA(g, 0x4000));
	uint8_t want[1003];

	fill_random(in, sizeof(want), 9);
	memcpy(want, in, sizeof(want));
	ref_compute(want, sizeof(want));

	guest_push(g, cmd_load(DATA(g, 0), 0, sizeof(want)));
	guest_push(g, cmd_compute(VC_USEC(50), sizeof(want), 0));
	guest_push(g, cmd_compute(VC_USEC(7), 0, 0)); /* time only */
	guest_push(g, cmd_store(0, DATA(g, 0x4000), sizeof(want)));
	guest_push(g, cmd_fence(1, 0, SIMCP_F_IRQ));
	guest_doorbell(g);
	run();
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(F.log.e[0].at,
			 F.t0 + 5 * F.ovh + 2 * ((sizeof(want) + 3) / 4) + VC_USEC(57));
}

static void test_wait_semaphore(void **state)
{
	struct guest *g = &F.a;
	uint8_t *sem = gp(g, DATA(g, 0x40));
	uint32_t off;
	vc_time_t set_at;
	int i;

	off = guest_push(g, cmd_wait(DATA(g, 0x40), 5, 0));
	guest_push(g, cmd_fence(9, 0, SIMCP_F_IRQ));
	guest_doorbell(g);

	/* Unsatisfied: no progress however long it waits. */
	vc_vtime_advance(VC_USEC(200));
	assert_int_equal(simcp_progress(g->x), 0);
	assert_int_equal(rd(g->x, SIMCP_REG_RING_HEAD), off);
	assert_true(simcp_has_work(g->x));
	assert_int_equal(rd(g->x, SIMCP_REG_STATUS), SIMCP_STATUS_BUSY);
	assert_int_equal(F.log.n, 0);

	sem[0] = 4; /* not yet */
	vc_vtime_advance(VC_USEC(10));
	assert_int_equal(simcp_progress(g->x), 0);

	sem[0] = 5;
	set_at = vc_os_now();
	run();
	assert_int_equal(rd64(g->x, SIMCP_REG_FENCE_LO), 9);
	assert_int_equal(simcp_progress(g->x), 2);
	i = ev_find(&F.log, 0, TAG_A, VC_EV_IRQ);
	assert_true(i >= 0);
	/* Seen at the next poll (1 us), then the fence. */
	assert_true(F.log.e[i].at > set_at);
	assert_true(F.log.e[i].at <= set_at + VC_USEC(1) + F.ovh);
}

/* A copy whose destination is outside the domain: fault, nothing moves. */
static void test_dma_fault_isolation(void **state)
{
	struct guest *g = &F.a;
	uint8_t *src = gp(g, DATA(g, 0));
	uint32_t off;
	int i;

	fill_random(src, 256, 5);
	memset(gp(g, DATA(g, 0x1000)), 0, 256);
	off = guest_push(g, cmd_copy(DATA(g, 0), B_BASE + 0x100, 256));
	guest_push(g, cmd_fence(1, DATA(g, 0x800), SIMCP_F_IRQ));
	guest_doorbell(g);
	run();

	assert_int_equal(rd(g->x, SIMCP_REG_FAULT_CODE), SIMCP_FAULT_DMA);
	assert_int_equal(rd64(g->x, SIMCP_REG_FAULT_ADDR_LO), B_BASE + 0x100);
	assert_int_equal(rd(g->x, SIMCP_REG_FAULT_HEAD), off);
	assert_int_equal(rd(g->x, SIMCP_REG_RING_HEAD), off + SIMCP_CMD_SIZE);
	assert_int_equal(rd(g->x, SIMCP_REG_STATUS), SIMCP_STATUS_HALTED);
	assert_int_equal(rd(g->x, SIMCP_REG_IRQ_STATUS), SIMCP_IRQ_ERROR);
	assert_int_equal(rd(g->x, SIMCP_REG_CMDS_DONE), 0);
	assert_int_equal(rd64(g->x, SIMCP_REG_FENCE_LO), 0);
	assert_false(simcp_has_work(g->x));
	assert_true(all_zero(F.b.mem, GUEST_SIZE));
	assert_true(all_zero(gp(g, DATA(g, 0x800)), 8));
	i = ev_find(&F.log, 0, TAG_A, VC_EV_IRQ);
	assert_int_equal(i, 0);
	assert_int_equal(F.log.e[0].at, F.t0 + F.ovh);
	assert_true(ev_find(&F.log, 1, TAG_A, VC_EV_IDLE) > 0);

	/* Halted until RESUME, then it goes on with the next command. */
	vc_vtime_advance(VC_MSEC(1));
	assert_int_equal(rd(g->x, SIMCP_REG_CMDS_DONE), 0);
	wr(g->x, SIMCP_REG_IRQ_ACK, SIMCP_IRQ_ERROR);
	{
		uint64_t v = SIMCP_CTRL_ENABLE | SIMCP_CTRL_RESUME;

		assert_int_equal(simcp_mmio(g->x, SIMCP_REG_CONTROL, 4, true, &v), VC_IO_WORK);
	}
	assert_int_equal(rd(g->x, SIMCP_REG_FAULT_CODE), 0);
	run();
	assert_int_equal(rd64(g->x, SIMCP_REG_FENCE_LO), 1);
	assert_int_equal(*(uint8_t *)gp(g, DATA(g, 0x800)), 1);
	assert_int_equal(rd(g->x, SIMCP_REG_CMDS_DONE), 1);
}

/*
 * Ranges checked whole: one straddling the domain's end, one into a
 * read-only region, a source outside: each faults with no byte written.
 */
static void test_dma_partial_and_readonly(void **state)
{
	struct guest *g = &F.a;
	struct vc_iommu_region regions[2];
	struct vc_iommu io = { .regions = regions, .nr_regions = 2 };
	uint8_t ro[4096];
	uint64_t end = A_BASE + GUEST_SIZE;
	vc_time_t ra = 0;
	const struct {
		struct simcp_cmd cmd;
		uint64_t fault_addr;
	} cases[] = {
		{ cmd_copy(DATA(g, 0), end - 100, 256), end - 100 },
		{ cmd_fill(end - 16, 32, 0xffffffff), end - 16 },
		{ cmd_copy(DATA(g, 0), 0x70000000, 64), 0x70000000 },
		{ cmd_copy(B_BASE, DATA(g, 0x2000), 64), B_BASE },
		{ cmd_hash(SIMCP_HASH_SHA256, DATA(g, 0), 64, end - 31), end - 31 },
		{ cmd_load(end - 8, 0, 16), end - 8 },
		{ cmd_wait(end - 4, 0, 0), end - 4 },
		{ cmd_fence(1, end - 4, 0), end - 4 },
	};

	/* The device now sees A's memory plus a read-only page. */
	memset(ro, 0, sizeof(ro));
	regions[0] = g->region;
	regions[1] = (struct vc_iommu_region){
		.gpa = 0x70000000, .size = sizeof(ro), .hva = ro, .writable = false,
	};
	assert_int_equal(simcp_stop(g->x, &ra), 0);
	assert_int_equal(simcp_save(g->x), 0);
	assert_int_equal(simcp_set_iommu(F.s, &io), 0);
	assert_int_equal(simcp_load(g->x), 0);
	assert_int_equal(simcp_start(g->x), 0);

	memset(gp(g, DATA(g, 0)), 0x5a, 64);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t off = guest_submit(g, cases[i].cmd);

		run();
		assert_int_equal(rd(g->x, SIMCP_REG_FAULT_CODE), SIMCP_FAULT_DMA);
		assert_int_equal(rd64(g->x, SIMCP_REG_FAULT_ADDR_LO), cases[i].fault_addr);
		assert_int_equal(rd(g->x, SIMCP_REG_FAULT_HEAD), off);
		wr(g->x, SIMCP_REG_CONTROL, SIMCP_CTRL_ENABLE | SIMCP_CTRL_RESUME);
	}
	assert_true(all_zero(gp(g, end - 256), 256));
	assert_true(all_zero(gp(g, DATA(g, 0x2000)), 64));
	assert_true(all_zero(ro, sizeof(ro)));
	assert_int_equal(rd(g->x, SIMCP_REG_CMDS_DONE), 0);

	/* Reading the read-only region is fine. */
	ro[0] = 0x42;
	guest_submit(g, cmd_copy(0x70000000, DATA(g, 0x3000), 16));
	run();
	assert_int_equal(rd(g->x, SIMCP_REG_FAULT_CODE), 0);
	assert_int_equal(*(uint8_t *)gp(g, DATA(g, 0x3000)), 0x42);
	/* The stack region must not outlive its use. */
	assert_int_equal(simcp_stop(g->x, &ra), 0);
	assert_int_equal(simcp_save(g->x), 0);
	assert_int_equal(simcp_set_iommu(F.s, &g->io), 0);
	assert_int_equal(simcp_load(g->x), 0);
}

static void test_bad_commands(void **state)
{
	struct guest *g = &F.a;
	const struct simcp_cmd cases[] = {
		{ .op = SIMCP_OP_MAX },
		{ .op = 0xff },
		{ .op = SIMCP_OP_NOP, .flags = 0x80 },
		cmd_copy(DATA(g, 0), DATA(g, 0x100000), SIMCP_MAX_LEN + 1),
		cmd_copy(DATA(g, 0), DATA(g, 0x80), 0x100),        /* overlap */
		cmd_fill(DATA(g, 0), SIMCP_MAX_LEN + 1, 0),
		cmd_hash(2, DATA(g, 0), 16, DATA(g, 0x100)),
		cmd_load(DATA(g, 0), SIMCP_SCRATCH_SIZE - 8, 16),
		{ .op = SIMCP_OP_LOAD, .len = 0x10000, .a = DATA(g, 0),
		  .b = 0xffffffffffff0000ull },                      /* wraps */
		cmd_store(SIMCP_SCRATCH_SIZE + 1, DATA(g, 0), 0),
		cmd_compute(10, SIMCP_SCRATCH_SIZE + 8, 0),
		cmd_compute(SIMCP_MAX_COMPUTE_NS + 1, 0, 0),
	};
	uint8_t before[4096];

	fill_random(gp(g, DATA(g, 0)), sizeof(before), 11);
	memcpy(before, gp(g, DATA(g, 0)), sizeof(before));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t off = guest_submit(g, cases[i]);

		run();
		assert_int_equal(rd(g->x, SIMCP_REG_FAULT_CODE), SIMCP_FAULT_BAD_CMD);
		assert_int_equal(rd(g->x, SIMCP_REG_FAULT_HEAD), off);
		assert_int_equal(rd(g->x, SIMCP_REG_RING_HEAD), g->tail);
		assert_int_equal(rd(g->x, SIMCP_REG_STATUS) & SIMCP_STATUS_HALTED,
				 SIMCP_STATUS_HALTED);
		wr(g->x, SIMCP_REG_CONTROL, SIMCP_CTRL_ENABLE | SIMCP_CTRL_RESUME);
		wr(g->x, SIMCP_REG_IRQ_ACK, SIMCP_IRQ_ERROR);
	}
	assert_memory_equal(gp(g, DATA(g, 0)), before, sizeof(before));
	assert_int_equal(rd(g->x, SIMCP_REG_CMDS_DONE), 0);
	assert_int_equal(ev_count(&F.log, TAG_A, VC_EV_IRQ),
			 sizeof(cases) / sizeof(cases[0]));

	/* Zero lengths and the largest valid operands are fine. */
	guest_push(g, cmd_copy(0, 0, 0));
	guest_push(g, cmd_store(SIMCP_SCRATCH_SIZE, DATA(g, 0), 0));
	guest_push(g, cmd_compute(SIMCP_MAX_COMPUTE_NS, SIMCP_SCRATCH_SIZE, 0));
	guest_doorbell(g);
	vc_vtime_advance(VC_SEC(2));
	assert_int_equal(rd(g->x, SIMCP_REG_FAULT_CODE), 0);
	assert_int_equal(rd(g->x, SIMCP_REG_CMDS_DONE), 3);
}

static void test_bad_ring(void **state)
{
	struct guest *g = &F.a;
	const struct {
		uint64_t base;
		uint32_t size;
		uint32_t tail;
	} cases[] = {
		{ A_BASE, 100, 32 },          /* not a power of two */
		{ A_BASE, 32, 32 },           /* too small */
		{ A_BASE, 2u << 20, 32 },     /* too large */
		{ A_BASE + 16, 4096, 32 },    /* misaligned */
		{ A_BASE, 4096, 4096 },       /* tail past the end */
		{ A_BASE, 4096, 48 },         /* tail not a command boundary */
		{ UINT64_MAX - 31, 64, 32 },  /* ring wraps the address space */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = cases[i].base;

		assert_int_equal(simcp_mmio(g->x, SIMCP_REG_RING_BASE_LO, 8, true, &v), VC_IO_OK);
		wr(g->x, SIMCP_REG_RING_SIZE, cases[i].size);
		assert_int_equal(rd(g->x, SIMCP_REG_RING_HEAD), 0);
		wr(g->x, SIMCP_REG_RING_TAIL, cases[i].tail);
		run();
		assert_int_equal(rd(g->x, SIMCP_REG_FAULT_CODE), SIMCP_FAULT_BAD_RING);
		assert_int_equal(rd(g->x, SIMCP_REG_RING_HEAD), 0); /* nothing skipped */
		assert_int_equal(rd(g->x, SIMCP_REG_STATUS) & SIMCP_STATUS_HALTED,
				 SIMCP_STATUS_HALTED);
		/* Reprogramming the ring and resuming recovers. */
		guest_ring_init(g, SIMCP_IRQ_ERROR);
		wr(g->x, SIMCP_REG_CONTROL, SIMCP_CTRL_ENABLE | SIMCP_CTRL_RESUME);
		guest_submit(g, cmd_fence(i + 1, 0, 0));
		run();
		assert_int_equal(rd(g->x, SIMCP_REG_FAULT_CODE), 0);
		assert_int_equal(rd64(g->x, SIMCP_REG_FENCE_LO), i + 1);
		wr(g->x, SIMCP_REG_IRQ_ACK, SIMCP_IRQ_ERROR);
	}
}

/* The ring itself outside the domain: a DMA fault on the fetch. */
static void test_ring_fetch_fault(void **state)
{
	struct guest *g = &F.a;
	uint64_t v = B_BASE;

	assert_int_equal(simcp_mmio(g->x, SIMCP_REG_RING_BASE_LO, 8, true, &v), VC_IO_OK);
	v = 0;
	assert_int_equal(simcp_mmio(g->x, SIMCP_REG_RING_BASE_LO, 8, false, &v), VC_IO_OK);
	assert_int_equal(v, B_BASE);
	wr(g->x, SIMCP_REG_RING_TAIL, 64);
	run();
	assert_int_equal(rd(g->x, SIMCP_REG_FAULT_CODE), SIMCP_FAULT_DMA);
	assert_int_equal(rd64(g->x, SIMCP_REG_FAULT_ADDR_LO), B_BASE);
	assert_int_equal(rd(g->x, SIMCP_REG_FAULT_HEAD), 0);
	assert_int_equal(rd(g->x, SIMCP_REG_RING_HEAD), 32);
	/* Resumed, the next slot faults the same way at its own address. */
	wr(g->x, SIMCP_REG_CONTROL, SIMCP_CTRL_ENABLE | SIMCP_CTRL_RESUME);
	run();
	assert_int_equal(rd64(g->x, SIMCP_REG_FAULT_ADDR_LO), B_BASE + 32);
	assert_int_equal(rd(g->x, SIMCP_REG_RING_HEAD), 64);
	assert_true(all_zero(F.b.mem, GUEST_SIZE));
}

static void test_mmio_bad_accesses(void **state)
{
	struct simcp_ctx *x = F.a.x;
	static const uint64_t holes[] = {
		0x024, 0x028, 0x02c, 0x044, 0x064, 0x100, 0xffc, 0x1000, 0x10000,
		0x002, 0x011, UINT64_MAX,
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(holes) / sizeof(holes[0]); i++) {
		v = 0;
		assert_int_equal(simcp_mmio(x, holes[i], 4, false, &v), VC_IO_BAD);
		assert_int_equal(v, ~0ull);
		v = 0;
		assert_int_equal(simcp_mmio(x, holes[i], 4, true, &v), VC_IO_BAD);
	}
	for (unsigned int size = 0; size <= 16; size++) {
		if (size == 4 || size == 8)
			continue;
		v = 0;
		assert_int_equal(simcp_mmio(x, SIMCP_REG_CONTROL, size, false, &v), VC_IO_BAD);
		assert_int_equal(v, ~0ull);
		assert_int_equal(simcp_mmio(x, SIMCP_REG_RING_TAIL, size, true, &v), VC_IO_BAD);
	}
	/* 64-bit only on the LO half of a 64-bit pair. */
	assert_int_equal(simcp_mmio(x, SIMCP_REG_CONTROL, 8, false, &v), VC_IO_BAD);
	assert_int_equal(simcp_mmio(x, SIMCP_REG_RING_BASE_HI, 8, false, &v), VC_IO_BAD);
	assert_int_equal(simcp_mmio(x, SIMCP_REG_FENCE_LO, 8, false, &v), VC_IO_OK);
	assert_int_equal(simcp_mmio(x, SIMCP_REG_FAULT_ADDR_LO, 8, false, &v), VC_IO_OK);

	/* Read-only registers ignore writes; IRQ_ACK reads as 0. */
	wr(x, SIMCP_REG_ID, 0);
	wr(x, SIMCP_REG_RING_HEAD, 64);
	wr(x, SIMCP_REG_CMDS_DONE, 9);
	wr(x, SIMCP_REG_FAULT_CODE, 2);
	assert_int_equal(rd(x, SIMCP_REG_ID), SIMCP_ID_VALUE);
	assert_int_equal(rd(x, SIMCP_REG_RING_HEAD), 0);
	assert_int_equal(rd(x, SIMCP_REG_CMDS_DONE), 0);
	assert_int_equal(rd(x, SIMCP_REG_FAULT_CODE), 0);
	assert_int_equal(rd(x, SIMCP_REG_IRQ_ACK), 0);
	/* CONTROL keeps only ENABLE. */
	wr(x, SIMCP_REG_CONTROL, 0xfffffff9);
	assert_int_equal(rd(x, SIMCP_REG_CONTROL), SIMCP_CTRL_ENABLE);
	assert_int_equal(F.log.n, 0);
}

/* A small ring wraps; work arriving later restarts an idle device. */
static void test_ring_wrap_and_idle(void **state)
{
	struct guest *g = &F.a;

	wr(g->x, SIMCP_REG_RING_SIZE, 128); /* 3 commands at most */
	g->ring_size = 128;
	g->tail = 0;
	for (uint64_t i = 1; i <= 10; i++) {
		guest_push(g, cmd_fence(i, 0, 0));
		guest_push(g, cmd_nop());
		guest_doorbell(g);
		run();
		assert_int_equal(rd64(g->x, SIMCP_REG_FENCE_LO), i);
		assert_int_equal(rd(g->x, SIMCP_REG_RING_HEAD), g->tail);
		assert_int_equal(ev_count(&F.log, TAG_A, VC_EV_IDLE), i);
	}
	assert_int_equal(rd(g->x, SIMCP_REG_CMDS_DONE), 20);
	/* Disabled: work is latched but not run. */
	wr(g->x, SIMCP_REG_CONTROL, 0);
	guest_submit(g, cmd_fence(99, 0, 0));
	assert_false(simcp_has_work(g->x));
	run();
	assert_int_equal(rd64(g->x, SIMCP_REG_FENCE_LO), 10);
	{
		uint64_t v = SIMCP_CTRL_ENABLE;

		assert_int_equal(simcp_mmio(g->x, SIMCP_REG_CONTROL, 4, true, &v), VC_IO_WORK);
	}
	run();
	assert_int_equal(rd64(g->x, SIMCP_REG_FENCE_LO), 99);

	/* Writing the ring's base re-initialises it. */
	assert_int_not_equal(rd(g->x, SIMCP_REG_RING_HEAD), 0);
	wr(g->x, SIMCP_REG_RING_BASE_LO, (uint32_t)g->ring_gpa);
	assert_int_equal(rd(g->x, SIMCP_REG_RING_HEAD), 0);
	assert_int_equal(rd(g->x, SIMCP_REG_RING_TAIL), 0);
	guest_push(g, cmd_nop()); /* wrong: the driver's tail is stale */
	g->tail = 0;
	guest_submit(g, cmd_fence(100, 0, 0));
	run();
	assert_int_equal(rd64(g->x, SIMCP_REG_FENCE_LO), 100);
	assert_int_equal(rd(g->x, SIMCP_REG_RING_HEAD), 32);
	/* So does writing its size. */
	wr(g->x, SIMCP_REG_RING_SIZE, g->ring_size);
	assert_int_equal(rd(g->x, SIMCP_REG_RING_HEAD), 0);
	assert_int_equal(rd(g->x, SIMCP_REG_RING_TAIL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_and_reset_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nop_and_fence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_mask_and_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_and_fill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hash_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_store_scratch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_semaphore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_fault_isolation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_partial_and_readonly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_fetch_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_bad_accesses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_wrap_and_idle, setup, teardown),
	};

	return cmocka_run_group_tests_name("simcp-device", tests, NULL, NULL);
}
