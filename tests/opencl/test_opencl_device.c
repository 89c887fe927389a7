// SPDX-License-Identifier: MIT
/*
 * The OpenCL platform's device, driven without the framework on real
 * time, in both residencies: every command gives what simcp gives on the
 * same inputs (the whole guest memory and the registers compared, AES
 * also against OpenSSL, batched requests and in-place decryption
 * included); DMA outside the domain faults and touches nothing; a kernel
 * in flight refuses stops with its remaining time, and resetting its
 * context leaves another context's scratch and keys intact.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vcoproc/posix.h>

#include "oclcp_test.h"
#include "simcp.h"

#define BASE 0x80000000ull
#define MEM (1u << 20)
#define SRC(o) (BASE + 0x10000 + (o))
#define OUT(o) (BASE + 0x30000 + (o))
#define KEYS(o) (BASE + 0x28000 + (o))

static void fill_random(uint8_t *p, size_t n, unsigned int seed)
{
	srand(seed);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rand();
}

/* A guest whose memory is the middle of a bigger buffer: canaries around. */
struct fenced {
	uint8_t *all;
	struct guest g;
};

static void fenced_init(struct fenced *f)
{
	f->all = malloc(3 * MEM);
	assert_non_null(f->all);
	memset(f->all, 0xa5, 3 * MEM);
	memset(&f->g, 0, sizeof(f->g));
	f->g.mem = f->all + MEM;
	memset(f->g.mem, 0, MEM);
	f->g.gpa = BASE;
	f->g.size = MEM;
	f->g.region = (struct vc_iommu_region){ .gpa = BASE, .size = MEM, .hva = f->g.mem,
						.writable = true };
	f->g.io.regions = &f->g.region;
	f->g.io.nr_regions = 1;
}

static void fenced_check(const struct fenced *f)
{
	for (size_t i = 0; i < MEM; i++) {
		assert_int_equal(f->all[i], 0xa5);
		assert_int_equal(f->all[2 * MEM + i], 0xa5);
	}
}

static void put_sg(uint8_t *t, unsigned int i, uint64_t addr, uint32_t len)
{
	memcpy(t + 16 * i, &addr, 8);
	memcpy(t + 16 * i + 8, &len, 4);
	memset(t + 16 * i + 12, 0, 4);
}

/* The same memory image in @g: sources, keys, IVs and an SG table. */
static void image(struct guest *g)
{
	uint8_t *t = gp(g, KEYS(0x200));

	fill_random(gp(g, SRC(0)), 0x10000, 7);
	fill_random(gp(g, KEYS(0)), 0x200, 9);
	put_sg(t, 0, SRC(1000), 7);
	put_sg(t, 1, SRC(2000), 0);
	put_sg(t, 2, SRC(3001), 20);
	put_sg(t, 3, SRC(5003), 21);
	put_sg(t, 4, OUT(0x9100), 9);    /* a destination table: 48 bytes in 3 pieces */
	put_sg(t, 5, OUT(0x9200), 30);
	put_sg(t, 6, OUT(0x9300), 9);
}

/* Every command kind, batches and their hazards, and a final fault. */
static unsigned int program(struct guest *g)
{
	unsigned int n = 0;

#define P(c) (guest_push(g, (c)), n++)
	P(cmd_fill(OUT(0), 1000, 0xdeadbeef));
	P(cmd_fill(OUT(0x400), 37, 0x01020304));
	P(cmd_copy(SRC(0), OUT(0x1000), 5000));
	P(cmd_copy(SRC(0), OUT(0x3000), 0));
	P(cmd_hash(SIMCP_HASH_CRC32C, SRC(0), 10007, OUT(0x4000)));
	P(cmd_hash(SIMCP_HASH_CRC32C, SRC(5), 0, OUT(0x4008)));
	P(cmd_hash(SIMCP_HASH_SHA256, SRC(0), 10007, OUT(0x4020)));
	P(cmd_hash(SIMCP_HASH_SHA256, SRC(0), 0, OUT(0x4040)));
	P(cmd_hash(SIMCP_HASH_SHA256, SRC(1), 55, OUT(0x4060)));
	P(cmd_hash(SIMCP_HASH_SHA256, SRC(2), 56, OUT(0x4080)));
	P(cmd_hash(SIMCP_HASH_SHA256, SRC(3), 64, OUT(0x40a0)));
	P(cmd_hash(SIMCP_HASH_SHA256, SRC(3), 0x10000 - 3, OUT(0x40c0)));
	P(cmd_load(SRC(100), 100, 9000));
	P(cmd_compute(VC_USEC(1), 9101, 0));
	P(cmd_store(0, OUT(0x5000), 12000));
	P(cmd_key(3, KEYS(0), 16));
	P(cmd_key(5, KEYS(0x20), 32));
	P(cmd_key(7, KEYS(0x40), 24));
	P(cmd_aes(3, SRC(0), OUT(0x8000), 4096, KEYS(0x100)));
	P(cmd_aes(3 | SIMCP_AES_DECRYPT, OUT(0x8000), OUT(0x8000), 4096, KEYS(0x100)));
	P(cmd_aes(5 | SIMCP_AES_SG, KEYS(0x200), KEYS(0x240), 48, KEYS(0x110)));
	for (unsigned int k = 0; k < 6; k++)  /* one batch */
		P(cmd_aes((uint16_t)(3 + 2 * (k % 3)), SRC(k * 1024), OUT(0xa000 + k * 1024),
			  1024, KEYS(0x100 + 16 * k)));
	/* Each reads what the one before writes: no batch may reorder them. */
	P(cmd_aes(3, SRC(0), OUT(0xc000), 512, KEYS(0x100)));
	P(cmd_aes(5, OUT(0xc000), OUT(0xc400), 512, KEYS(0x110)));
	P(cmd_aes(7, OUT(0xc400), OUT(0xc800), 256, OUT(0xc000 + 496)));
	for (unsigned int k = 0; k < 4; k++)  /* a decryption batch, one work-item per block */
		P(cmd_aes((uint16_t)((3 + 2 * (k % 3)) | SIMCP_AES_DECRYPT), OUT(0xa000 + k * 1024),
			  OUT(0xd000 + k * 1024), 1024, KEYS(0x100 + 16 * k)));
	guest_push(g, (struct simcp_cmd){ .op = SIMCP_OP_KEY, .arg = 7 | SIMCP_KEY_CLEAR });
	n++;
	P(cmd_fence(77, OUT(0xf000), SIMCP_F_IRQ));
	P(cmd_aes(7, SRC(0), OUT(0xe000), 16, KEYS(0x100)));  /* slot 7 is empty: BAD_CMD */
#undef P
	return n;
}

static const uint32_t regs[] = {
	SIMCP_REG_STATUS, SIMCP_REG_IRQ_STATUS, SIMCP_REG_RING_HEAD, SIMCP_REG_FENCE_LO,
	SIMCP_REG_FAULT_CODE, SIMCP_REG_FAULT_ADDR_LO, SIMCP_REG_FAULT_HEAD, SIMCP_REG_CMDS_DONE,
};

static void same_as_simcp(enum oclcp_residency res)
{
	struct simcp_config scfg = { .mode = SIMCP_MODE_THREAD };
	struct guest gs, go;
	struct oclcp_ctx *x;
	struct simcp *sim;
	struct oclcp *ocl;
	uint8_t ref[4096], key[32], iv[16];

	guest_init(&gs, BASE, MEM);
	guest_init(&go, BASE, MEM);
	image(&gs);
	image(&go);
	assert_int_equal(simcp_create(&scfg, &sim), 0);
	assert_int_equal(simcp_ctx_alloc(sim, 1, &gs.x), 0);
	assert_int_equal(simcp_set_iommu(sim, &gs.io), 0);
	assert_int_equal(simcp_load(gs.x), 0);
	assert_int_equal(simcp_start(gs.x), 0);
	guest_ring_init(&gs, SIMCP_IRQ_FENCE | SIMCP_IRQ_ERROR);

	ocl = ocl_open(res, NULL);
	assert_int_equal(oclcp_ctx_alloc(ocl, 1, &x), 0);
	assert_int_equal(oclcp_ctx_resident(x), res != OCLCP_RES_NEVER);
	assert_int_equal(oclcp_set_iommu(ocl, &go.io), 0);
	assert_int_equal(oclcp_load(x), 0);
	assert_int_equal(oclcp_start(x), 0);
	oring_init(&go, x);

	program(&gs);
	program(&go);
	guest_doorbell(&gs);
	odoorbell(&go, x);
	assert_true(swait_done(&gs, 20000));
	assert_true(owait_done(&go, x, 20000));

	for (size_t i = 0; i < VC_ARRAY_SIZE(regs); i++)
		assert_int_equal(ord(x, regs[i]), rd(gs.x, regs[i]));
	assert_int_equal(ord(x, SIMCP_REG_FAULT_CODE), SIMCP_FAULT_BAD_CMD);
	assert_int_equal(ord(x, SIMCP_REG_FENCE_LO), 77);
	for (size_t i = 0; i < MEM; i += 4096)
		if (memcmp(gs.mem + i, go.mem + i, 4096)) {
			for (size_t k = i; k < i + 4096; k++)
				if (gs.mem[k] != go.mem[k])
					fail_msg("guest memory differs first at gpa 0x%llx: simcp %02x, "
						 "opencl %02x", (unsigned long long)(BASE + k),
						 gs.mem[k], go.mem[k]);
		}
	/* And against OpenSSL, not only against simcp. */
	memcpy(key, gp(&go, KEYS(0x20)), 32);
	memcpy(iv, gp(&go, KEYS(0x110)), 16);
	ref_cbc(key, 32, iv, false, gp(&go, SRC(1024)), ref, 1024);
	assert_memory_equal(gp(&go, OUT(0xa000 + 1024)), ref, 1024);
	assert_memory_equal(gp(&go, OUT(0x8000)), gp(&go, SRC(0)), 4096);
	assert_memory_equal(gp(&go, OUT(0xd000)), gp(&go, SRC(0)), 4096);

	{
		struct oclcp_stats st;

		oclcp_stats(ocl, &st);
		assert_true(st.batches >= 2);   /* the encryption and decryption batches */
		assert_true(st.batched_reqs >= 10);
	}
	assert_int_equal(oclcp_stop(x, &(vc_time_t){ 0 }), 0);
	oclcp_ctx_free(x);
	oclcp_destroy(ocl);
	assert_int_equal(simcp_stop(gs.x, &(vc_time_t){ 0 }), 0);
	assert_int_equal(simcp_save(gs.x), 0);
	simcp_ctx_free(gs.x);
	simcp_destroy(sim);
	guest_fini(&gs);
	guest_fini(&go);
}

static void test_same_as_simcp_resident(void **state)
{
	same_as_simcp(OCLCP_RES_ALWAYS);
}

static void test_same_as_simcp_copied(void **state)
{
	same_as_simcp(OCLCP_RES_NEVER);
}

static void resume(struct guest *g, struct oclcp_ctx *x)
{
	owr(x, SIMCP_REG_IRQ_ACK, SIMCP_IRQ_ERROR);
	owr(x, SIMCP_REG_CONTROL, SIMCP_CTRL_ENABLE | SIMCP_CTRL_RESUME);
}

static void dma_faults(enum oclcp_residency res)
{
	struct fenced f;
	struct oclcp *ocl = ocl_open(res, NULL);
	struct oclcp_ctx *x;
	uint8_t *before = malloc(MEM);
	uint64_t end = BASE + MEM;
	uint8_t *t;

	assert_non_null(before);
	fenced_init(&f);
	image(&f.g);
	assert_int_equal(oclcp_ctx_alloc(ocl, 1, &x), 0);
	assert_int_equal(oclcp_set_iommu(ocl, &f.g.io), 0);
	assert_int_equal(oclcp_load(x), 0);
	assert_int_equal(oclcp_start(x), 0);
	oring_init(&f.g, x);
	memcpy(before, f.g.mem, MEM);

	/* A copy whose destination runs past the end: nothing of it lands. */
	guest_push(&f.g, cmd_copy(SRC(0), end - 4096, 8192));
	odoorbell(&f.g, x);
	assert_true(owait_done(&f.g, x, 5000));
	assert_int_equal(ord(x, SIMCP_REG_FAULT_CODE), SIMCP_FAULT_DMA);
	assert_int_equal(ord(x, SIMCP_REG_FAULT_ADDR_LO), (uint32_t)(end - 4096));
	assert_memory_equal(f.g.mem + MEM - 4096, before + MEM - 4096, 4096);

	/* A load from below the domain: scratch keeps nothing of it. */
	resume(&f.g, x);
	guest_push(&f.g, cmd_load(BASE - 4096, 0, 8192));
	odoorbell(&f.g, x);
	assert_true(owait_done(&f.g, x, 5000));
	assert_int_equal(ord(x, SIMCP_REG_FAULT_CODE), SIMCP_FAULT_DMA);
	resume(&f.g, x);
	guest_push(&f.g, cmd_store(0, OUT(0x2000), 8192));
	odoorbell(&f.g, x);
	assert_true(owait_done(&f.g, x, 5000));
	assert_int_equal(ord(x, SIMCP_REG_FAULT_CODE), 0);
	for (unsigned int i = 0; i < 8192; i++)
		assert_int_equal(*(uint8_t *)gp(&f.g, OUT(0x2000 + i)), 0);

	/* AES with a destination table whose last piece is outside: no piece written. */
	t = gp(&f.g, KEYS(0x300));
	put_sg(t, 0, OUT(0x100), 16);
	put_sg(t, 1, OUT(0x200), 16);
	put_sg(t, 2, end - 8, 16);
	guest_push(&f.g, cmd_key(1, KEYS(0), 16));
	guest_push(&f.g, cmd_aes(1 | SIMCP_AES_SG_DST, SRC(0), KEYS(0x300), 48, KEYS(0x100)));
	memcpy(before, f.g.mem, MEM);
	odoorbell(&f.g, x);
	assert_true(owait_done(&f.g, x, 5000));
	assert_int_equal(ord(x, SIMCP_REG_FAULT_CODE), SIMCP_FAULT_DMA);
	assert_int_equal(ord(x, SIMCP_REG_FAULT_ADDR_LO), (uint32_t)(end - 8));
	assert_memory_equal(f.g.mem, before, MEM);
	fenced_check(&f);

	oclcp_ctx_free(x);
	oclcp_destroy(ocl);
	free(f.all);
	free(before);
}

static void test_dma_faults_resident(void **state)
{
	dma_faults(OCLCP_RES_ALWAYS);
}

static void test_dma_faults_copied(void **state)
{
	dma_faults(OCLCP_RES_NEVER);
}

static void ms_sleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/*
 * A kernel in flight refuses stops with about its remaining time; its
 * context is reset (the kernel abandoned) and another context's scratch
 * and keys come through intact; the reset one works again after RESUME.
 */
static void reset_isolated(enum oclcp_residency res)
{
	struct oclcp *ocl = ocl_open(res, NULL);
	struct guest a, b;
	struct oclcp_ctx *xa, *xb;
	struct oclcp_stats st;
	vc_time_t retry = 0;
	uint8_t ref[1024];
	int r;

	guest_init(&a, BASE, MEM);
	guest_init(&b, BASE, MEM);
	image(&a);
	assert_int_equal(oclcp_ctx_alloc(ocl, 1, &xa), 0);
	assert_int_equal(oclcp_ctx_alloc(ocl, 2, &xb), 0);

	assert_int_equal(oclcp_set_iommu(ocl, &a.io), 0);
	assert_int_equal(oclcp_load(xa), 0);
	assert_int_equal(oclcp_start(xa), 0);
	oring_init(&a, xa);
	guest_push(&a, cmd_load(SRC(0), 0, 0x10000));
	guest_push(&a, cmd_key(1, KEYS(0x20), 32));
	odoorbell(&a, xa);
	assert_true(owait_done(&a, xa, 5000));
	assert_int_equal(oclcp_stop(xa, &retry), 0);
	assert_int_equal(oclcp_save(xa), 0);

	/* b: a 400 ms kernel, stopped and then reset while it runs. */
	assert_int_equal(oclcp_set_iommu(ocl, &b.io), 0);
	assert_int_equal(oclcp_load(xb), 0);
	assert_int_equal(oclcp_start(xb), 0);
	oring_init(&b, xb);
	guest_push(&b, cmd_load(SRC(0), 0, 4096));
	guest_push(&b, cmd_compute(VC_MSEC(400), 4096, 0));
	guest_push(&b, cmd_fence(5, 0, 0));
	odoorbell(&b, xb);
	/*
	 * Until the LOAD is done, so the long kernel is the one in flight:
	 * PoCL may take long to launch it on a loaded machine (it compiles it
	 * first), and a stop before that would find the device at a boundary.
	 */
	for (int i = 0; i < 1000 && ord(xb, SIMCP_REG_CMDS_DONE) < 1; i++)
		ms_sleep(10);
	ms_sleep(100);
	r = oclcp_stop(xb, &retry);
	assert_int_equal(r, -VC_EAGAIN);
	printf("# refused with retry_after %llu us\n", (unsigned long long)retry / 1000);
	/*
	 * What is left of the kernel: about 300 ms, or up to all 400 when the
	 * kernel began late (PoCL compiles it first; slow under a sanitizer
	 * or beside other work) - never more than the kernel, never nothing.
	 */
	assert_true(retry > 0 && retry <= VC_MSEC(400));
	assert_int_equal(oclcp_reset(xb), 0);
	assert_int_equal(ord(xb, SIMCP_REG_FAULT_CODE), SIMCP_FAULT_HANG);
	assert_int_equal(ord(xb, SIMCP_REG_CMDS_DONE), 1);
	assert_int_equal(oclcp_stop(xb, &retry), 0);
	assert_int_equal(oclcp_save(xb), 0);

	/* a again, while b's abandoned kernel may still run. */
	assert_int_equal(oclcp_set_iommu(ocl, &a.io), 0);
	assert_int_equal(oclcp_load(xa), 0);
	assert_int_equal(oclcp_start(xa), 0);
	guest_push(&a, cmd_store(0, OUT(0), 0x10000));
	guest_push(&a, cmd_aes(1, SRC(0), OUT(0x10000), 1024, KEYS(0x100)));
	odoorbell(&a, xa);
	assert_true(owait_done(&a, xa, 5000));
	assert_int_equal(ord(xa, SIMCP_REG_FAULT_CODE), 0);
	assert_memory_equal(gp(&a, OUT(0)), gp(&a, SRC(0)), 0x10000);
	ref_cbc(gp(&a, KEYS(0x20)), 32, gp(&a, KEYS(0x100)), false, gp(&a, SRC(0)), ref, 1024);
	assert_memory_equal(gp(&a, OUT(0x10000)), ref, 1024);
	assert_int_equal(oclcp_stop(xa, &retry), 0);
	assert_int_equal(oclcp_save(xa), 0);

	/* b carries on after RESUME. */
	assert_int_equal(oclcp_set_iommu(ocl, &b.io), 0);
	assert_int_equal(oclcp_load(xb), 0);
	assert_int_equal(oclcp_start(xb), 0);
	resume(&b, xb);
	guest_push(&b, cmd_fill(OUT(0), 64, 0x11223344));
	guest_push(&b, cmd_fence(6, 0, 0));
	odoorbell(&b, xb);
	assert_true(owait_done(&b, xb, 5000));
	assert_int_equal(ord(xb, SIMCP_REG_FENCE_LO), 6);
	assert_int_equal(*(uint32_t *)gp(&b, OUT(60)), 0x11223344);
	oclcp_stats(ocl, &st);
	assert_int_equal(st.abandoned, 1);
	assert_int_equal(st.resets, 1);
	assert_int_equal(oclcp_stop(xb, &retry), 0);
	oclcp_ctx_free(xa);
	oclcp_ctx_free(xb);
	oclcp_destroy(ocl);
	guest_fini(&a);
	guest_fini(&b);
}

static void test_reset_isolated_resident(void **state)
{
	reset_isolated(OCLCP_RES_ALWAYS);
}

static void test_reset_isolated_copied(void **state)
{
	reset_isolated(OCLCP_RES_NEVER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_simcp_resident),
		cmocka_unit_test(test_same_as_simcp_copied),
		cmocka_unit_test(test_dma_faults_resident),
		cmocka_unit_test(test_dma_faults_copied),
		cmocka_unit_test(test_reset_isolated_resident),
		cmocka_unit_test(test_reset_isolated_copied),
	};

	return cmocka_run_group_tests_name("opencl-device", tests, NULL, NULL);
}
