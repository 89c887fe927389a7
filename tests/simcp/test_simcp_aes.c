// SPDX-License-Identifier: MIT
/*
 * simcp's key slots and AES-CBC on virtual time: NIST SP 800-38A F.2
 * vectors for AES-128/192/256, random requests against OpenSSL directly
 * (contiguous and scatter-gather with segments of any length, in place),
 * every fault before a byte is written, and the timing model's AES rate.
 * One context loaded and started, driven through its ring.
 */
#include <stdlib.h>
#include <string.h>

#include <vcoproc/vtime.h>

#include "simcp_test.h"

#define TAG_A 0x1001u
#define A_BASE 0x80000000ull
#define B_BASE 0x90000000ull
#define GUEST_SIZE (1u << 20)
#define DATA(g, off) ((g)->gpa + GUEST_DATA_OFF + (off))

/* Guest memory layout of the data area. */
#define SRC_OFF   0x00000u  /* source data (segments scattered in it) */
#define DST_OFF   0x40000u  /* destination */
#define STAB_OFF  0x80000u  /* source SG table */
#define DTAB_OFF  0x90000u  /* destination SG table */
#define KEY_OFF   0xa0000u
#define IV_OFF    0xa0100u
#define AREA      0x40000u  /* bytes of the source and destination areas */
#define POISON    0xcd

static struct {
	struct simcp *s;
	struct ev_log log;
	struct guest a;      /* loaded and started */
	struct guest b;      /* memory the device must never reach */
	vc_time_t ovh;
	uint64_t aes_bw;     /* simcp_config.timing.aes_bw of the next setup; 0 default */
} F;

static int setup(void **state)
{
	struct simcp_config cfg = {
		.mode = SIMCP_MODE_VTIME,
		.event = ev_sink,
		.event_opaque = &F.log,
	};
	struct simcp_timing t;
	uint64_t bw = F.aes_bw;

	vc_vtime_reset();
	memset(&F, 0, sizeof(F));
	cfg.timing.aes_bw = bw;
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
	vc_vtime_run_until(0);
	F.log.n = 0;
	return 0;
}

static int setup_slow(void **state)
{
	F.aes_bw = 100000000; /* 100 MB/s */
	return setup(state);
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
	vc_vtime_advance(VC_MSEC(100));
}

static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static void fill_random(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

static size_t hex(uint8_t *out, const char *h)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2)
		out[n++] = (uint8_t)strtoul((char[3]){ h[0], h[1], 0 }, NULL, 16);
	return n;
}

static uint32_t fault_code(void)
{
	return rd(F.a.x, SIMCP_REG_FAULT_CODE);
}

static uint64_t fault_addr(void)
{
	return rd(F.a.x, SIMCP_REG_FAULT_ADDR_LO) |
	       (uint64_t)rd(F.a.x, SIMCP_REG_FAULT_ADDR_HI) << 32;
}

static void resume(void)
{
	wr(F.a.x, SIMCP_REG_IRQ_ACK, SIMCP_IRQ_ERROR);
	wr(F.a.x, SIMCP_REG_CONTROL, SIMCP_CTRL_ENABLE | SIMCP_CTRL_RESUME);
}

static void set_key(unsigned int slot, const uint8_t *key, uint32_t len)
{
	struct guest *g = &F.a;

	memcpy(gp(g, DATA(g, KEY_OFF)), key, len);
	guest_submit(g, cmd_key(slot, DATA(g, KEY_OFF), len));
	run();
	assert_int_equal(fault_code(), 0);
	/* The driver's copy goes; the device has its own. */
	memset(gp(g, DATA(g, KEY_OFF)), 0, 32);
}

/* ---- NIST SP 800-38A F.2 ------------------------------------------------ */

static const char *const nist_pt =
	"6bc1bee22e409f96e93d7e117393172a" "ae2d8a571e03ac9c9eb76fac45af8e51"
	"30c81c46a35ce411e5fbc1191a0a52ef" "f69f2445df4f9b17ad2b417be66c3710";
static const char *const nist_iv = "000102030405060708090a0b0c0d0e0f";
static const struct {
	const char *key, *ct;
} nist[] = {
	{ "2b7e151628aed2a6abf7158809cf4f3c",
	  "7649abac8119b246cee98e9b12e9197d" "5086cb9b507219ee95db113a917678b2"
	  "73bed6b8e3c1743b7116e69e22229516" "3ff1caa1681fac09120eca307586e1a7" },
	{ "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
	  "4f021db243bc633d7178183a9fa071e8" "b4d9ada9ad7dedf4e5e738763f69145a"
	  "571b242012fb7ae07fa9baac3df102e0" "08b0e27988598881d920a9e64f5615cd" },
	{ "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
	  "f58c4c04d6e5f1ba779eabfb5f7bfbd6" "9cfc4e967edb808d679f777bc6702c7d"
	  "39f23369a9d9bacfa530e26304231461" "b2eb05e2c39be9fcda6c19078c6a9d1b" },
};

static void test_caps(void **state)
{
	assert_true(rd(F.a.x, SIMCP_REG_CAPS) & SIMCP_CAP_AES);
	assert_int_equal(rd(F.a.x, SIMCP_REG_VERSION) >> 16, 1);
}

static void test_nist_vectors(void **state)
{
	struct guest *g = &F.a;
	uint8_t key[32], iv[16], pt[64], ct[64], ref[64];

	hex(iv, nist_iv);
	hex(pt, nist_pt);
	for (unsigned int k = 0; k < 3; k++) {
		size_t klen = hex(key, nist[k].key);
		unsigned int slot = 4 + k;

		hex(ct, nist[k].ct);
		/* OpenSSL agrees with the standard, and the device with both. */
		ref_cbc(key, klen, iv, false, pt, ref, 64);
		assert_memory_equal(ref, ct, 64);
		set_key(slot, key, (uint32_t)klen);
		memcpy(gp(g, DATA(g, IV_OFF)), iv, 16);
		memcpy(gp(g, DATA(g, SRC_OFF)), pt, 64);
		guest_submit(g, cmd_aes((uint16_t)slot, DATA(g, SRC_OFF), DATA(g, DST_OFF), 64,
					DATA(g, IV_OFF)));
		run();
		assert_int_equal(fault_code(), 0);
		assert_memory_equal(gp(g, DATA(g, DST_OFF)), ct, 64);
		/* Decrypt in place. */
		guest_submit(g, cmd_aes((uint16_t)(slot | SIMCP_AES_DECRYPT), DATA(g, DST_OFF),
					DATA(g, DST_OFF), 64, DATA(g, IV_OFF)));
		run();
		assert_int_equal(fault_code(), 0);
		assert_memory_equal(gp(g, DATA(g, DST_OFF)), pt, 64);
		/* Encrypt in place; the IV was read, not changed. */
		guest_submit(g, cmd_aes((uint16_t)slot, DATA(g, DST_OFF), DATA(g, DST_OFF), 64,
					DATA(g, IV_OFF)));
		run();
		assert_memory_equal(gp(g, DATA(g, DST_OFF)), ct, 64);
		assert_memory_equal(gp(g, DATA(g, IV_OFF)), iv, 16);
	}
	assert_int_equal(rd(g->x, SIMCP_REG_CMDS_DONE), 3 * 4);
}

/* ---- random requests ---------------------------------------------------- */

struct layout {
	unsigned int n;
	uint32_t off[SIMCP_SG_MAX_ENTRIES];  /* in the area */
	uint32_t len[SIMCP_SG_MAX_ENTRIES];
};

/*
 * Split @len bytes into random segments (any lengths, 0 included) laid out
 * in order with random gaps in an area of AREA bytes.
 */
static void random_layout(struct layout *l, uint32_t len, unsigned int max_segs)
{
	uint32_t left = len, at = rnd() % 64;

	l->n = 0;
	while (left) {
		uint32_t n;

		if (l->n == max_segs - 1) {
			n = left;
		} else {
			switch (rnd() % 4) {
			case 0: n = rnd() % 16 + 1; break;        /* less than a block */
			case 1: n = 0; break;                    /* empty entry */
			default: n = rnd() % (len / 2 + 1) + 1; break;
			}
			if (n > left)
				n = left;
		}
		l->off[l->n] = at;
		l->len[l->n] = n;
		l->n++;
		at += n + rnd() % 48;
		left -= n;
	}
	assert_true(at + 64 <= AREA);
}

static void write_table(struct guest *g, uint32_t tab_off, uint32_t area_off,
			const struct layout *l)
{
	uint8_t *t = gp(g, DATA(g, tab_off));

	for (unsigned int i = 0; i < l->n; i++) {
		struct simcp_sg_entry e = {
			.addr = DATA(g, area_off + l->off[i]), .len = l->len[i],
		};

		memcpy(t + i * SIMCP_SG_ENTRY_SIZE, &e, sizeof(e));
	}
}

static void gather(struct guest *g, uint32_t area_off, const struct layout *l, uint8_t *out)
{
	for (unsigned int i = 0; i < l->n; i++) {
		memcpy(out, gp(g, DATA(g, area_off + l->off[i])), l->len[i]);
		out += l->len[i];
	}
}

enum shape {
	SH_CONTIG,        /* contiguous a -> b */
	SH_CONTIG_INPLACE,
	SH_SG_BOTH,
	SH_SG_SRC,
	SH_SG_DST,
	SH_SG_INPLACE,    /* one table for both */
	SH_SG_INPLACE2,   /* two tables, the same segments */
	SH_NR
};

static void test_random(void **state)
{
	static uint8_t src[AREA], ref[AREA], got[AREA], iv[16], keys[3][32];
	static struct layout ls, ld;
	struct guest *g = &F.a;
	unsigned int seen[SH_NR] = { 0 };

	for (unsigned int k = 0; k < 3; k++) {
		fill_random(keys[k], 32);
		set_key(k, keys[k], 16 + 8 * k);
	}
	for (unsigned int iter = 0; iter < 1000; iter++) {
		enum shape sh = (enum shape)(rnd() % SH_NR);
		unsigned int k = rnd() % 3;
		bool dec = rnd() & 1;
		uint32_t len = (rnd() % 512 + 1) * 16;
		uint16_t arg = (uint16_t)(k | (dec ? SIMCP_AES_DECRYPT : 0));
		uint64_t a, b;
		uint32_t dst_area = DST_OFF;

		seen[sh]++;
		if (iter % 7 == 0)
			len = (rnd() % 4 + 1) * 16; /* short ones: blocks across tiny segments */
		memset(gp(g, DATA(g, SRC_OFF)), POISON, AREA);
		memset(gp(g, DATA(g, DST_OFF)), POISON, AREA);
		fill_random(iv, 16);
		memcpy(gp(g, DATA(g, IV_OFF)), iv, 16);
		random_layout(&ls, len, sh == SH_CONTIG || sh == SH_CONTIG_INPLACE ||
					sh == SH_SG_DST ? 1 : 64);
		random_layout(&ld, len, sh == SH_CONTIG || sh == SH_CONTIG_INPLACE ||
					sh == SH_SG_SRC ? 1 : 64);
		if (sh == SH_CONTIG_INPLACE || sh == SH_SG_INPLACE || sh == SH_SG_INPLACE2) {
			ld = ls;
			dst_area = SRC_OFF;
		}
		for (unsigned int i = 0; i < ls.n; i++)
			fill_random(gp(g, DATA(g, SRC_OFF + ls.off[i])), ls.len[i]);
		gather(g, SRC_OFF, &ls, src);
		ref_cbc(keys[k], 16 + 8 * k, iv, dec, src, ref, len);

		a = DATA(g, SRC_OFF + ls.off[0]);
		b = DATA(g, dst_area + ld.off[0]);
		if (sh == SH_SG_BOTH || sh == SH_SG_SRC || sh == SH_SG_INPLACE ||
		    sh == SH_SG_INPLACE2) {
			write_table(g, STAB_OFF, SRC_OFF, &ls);
			a = DATA(g, STAB_OFF);
			arg |= SIMCP_AES_SG_SRC;
		}
		if (sh == SH_SG_BOTH || sh == SH_SG_DST || sh == SH_SG_INPLACE2) {
			write_table(g, DTAB_OFF, dst_area, &ld);
			b = DATA(g, DTAB_OFF);
			arg |= SIMCP_AES_SG_DST;
		}
		if (sh == SH_SG_INPLACE) {
			b = a;
			arg |= SIMCP_AES_SG_DST;
		}
		guest_submit(g, cmd_aes(arg, a, b, len, DATA(g, IV_OFF)));
		run();
		if (fault_code())
			fail_msg("iter %u shape %d: fault %u", iter, sh, fault_code());
		gather(g, dst_area, &ld, got);
		if (memcmp(got, ref, len))
			fail_msg("iter %u shape %d len %u: wrong result", iter, sh, len);
		/* Nothing written outside the destination segments. */
		if (dst_area == DST_OFF) {
			uint8_t *d = gp(g, DATA(g, DST_OFF));

			for (unsigned int i = 0; i < ld.n; i++)
				memset(d + ld.off[i], POISON, ld.len[i]);
			for (uint32_t i = 0; i < AREA; i++)
				if (d[i] != POISON)
					fail_msg("iter %u: byte %u of the destination area written", iter, i);
		}
	}
	for (unsigned int i = 0; i < SH_NR; i++)
		assert_true(seen[i] > 50);
}

/* The longest command: SIMCP_MAX_LEN in one segment and across 1024 entries. */
static void test_max_len_and_entries(void **state)
{
	const uint64_t base = 0x100000000ull;
	const uint64_t src_at = base + 0x10000, dst_at = src_at + SIMCP_MAX_LEN;
	const uint64_t tab = dst_at + SIMCP_MAX_LEN, key_at = tab + 0x8000, iv_at = key_at + 32;
	uint32_t each = SIMCP_MAX_LEN / SIMCP_SG_MAX_ENTRIES;
	uint8_t key[16], iv[16];
	struct guest big;
	uint8_t *ref, *src;

	/* A guest big enough, switched in for this test. */
	guest_init(&big, base, tab - base + 0x10000);
	big.x = F.a.x;
	assert_int_equal(simcp_stop(F.a.x, &(vc_time_t){ 0 }), 0);
	assert_int_equal(simcp_save(F.a.x), 0);
	assert_int_equal(simcp_set_iommu(F.s, &big.io), 0);
	assert_int_equal(simcp_load(F.a.x), 0);
	guest_ring_init(&big, SIMCP_IRQ_ERROR);
	assert_int_equal(simcp_start(F.a.x), 0);

	fill_random(key, 16);
	fill_random(iv, 16);
	memcpy(gp(&big, key_at), key, 16);
	memcpy(gp(&big, iv_at), iv, 16);
	src = gp(&big, src_at);
	fill_random(src, SIMCP_MAX_LEN);
	ref = malloc(SIMCP_MAX_LEN);
	assert_non_null(ref);
	ref_cbc(key, 16, iv, false, src, ref, SIMCP_MAX_LEN);
	guest_submit(&big, cmd_key(9, key_at, 16));
	guest_submit(&big, cmd_aes(9, src_at, dst_at, SIMCP_MAX_LEN, iv_at));
	run();
	assert_int_equal(rd(F.a.x, SIMCP_REG_FAULT_CODE), 0);
	assert_memory_equal(gp(&big, dst_at), ref, SIMCP_MAX_LEN);

	/* Decrypt it in place through 1024 entries, one table for both. */
	for (uint32_t i = 0; i < SIMCP_SG_MAX_ENTRIES; i++) {
		struct simcp_sg_entry e = { .addr = dst_at + (uint64_t)i * each, .len = each };

		memcpy(gp(&big, tab + i * SIMCP_SG_ENTRY_SIZE), &e, sizeof(e));
	}
	guest_submit(&big, cmd_aes(9 | SIMCP_AES_DECRYPT | SIMCP_AES_SG, tab, tab,
				   SIMCP_MAX_LEN, iv_at));
	run();
	assert_int_equal(rd(F.a.x, SIMCP_REG_FAULT_CODE), 0);
	assert_memory_equal(gp(&big, dst_at), src, SIMCP_MAX_LEN);

	/* A table that would need 1025 entries: BAD_CMD, nothing written. */
	each = 16;
	for (uint32_t i = 0; i <= SIMCP_SG_MAX_ENTRIES; i++) {
		struct simcp_sg_entry e = { .addr = src_at + (uint64_t)i * each, .len = each };

		memcpy(gp(&big, tab + i * SIMCP_SG_ENTRY_SIZE), &e, sizeof(e));
	}
	memcpy(ref, src, (SIMCP_SG_MAX_ENTRIES + 1) * each);
	guest_submit(&big, cmd_aes(9 | SIMCP_AES_SG, tab, tab,
				   (SIMCP_SG_MAX_ENTRIES + 1) * each, iv_at));
	run();
	assert_int_equal(rd(F.a.x, SIMCP_REG_FAULT_CODE), SIMCP_FAULT_BAD_CMD);
	assert_memory_equal(src, ref, (SIMCP_SG_MAX_ENTRIES + 1) * each);

	free(ref);
	/* Back to the fixture's guest, as teardown expects. */
	assert_int_equal(simcp_stop(F.a.x, &(vc_time_t){ 0 }), 0);
	assert_int_equal(simcp_save(F.a.x), 0);
	assert_int_equal(simcp_set_iommu(F.s, &F.a.io), 0);
	guest_fini(&big);
}

/* ---- faults ------------------------------------------------------------- */

/* Submit @c; it must fault with @code (and @addr for DMA) and change no byte of @g's memory. */
static void expect_fault(struct simcp_cmd c, uint32_t code, uint64_t addr)
{
	struct guest *g = &F.a;
	static uint8_t before[GUEST_SIZE];
	uint32_t head = guest_push(g, c);

	/* The whole of memory but the ring slot, which the push just wrote. */
	memcpy(before, g->mem, GUEST_SIZE);
	guest_doorbell(g);
	run();
	assert_int_equal(fault_code(), code);
	assert_int_equal(rd(g->x, SIMCP_REG_FAULT_HEAD), head);
	if (code == SIMCP_FAULT_DMA)
		assert_int_equal(fault_addr(), addr);
	else
		assert_int_equal(fault_addr(), 0);
	assert_memory_equal(before, g->mem, GUEST_SIZE);
	resume();
}

static void test_faults(void **state)
{
	struct guest *g = &F.a;
	uint64_t src = DATA(g, SRC_OFF), dst = DATA(g, DST_OFF), iv = DATA(g, IV_OFF);
	uint64_t stab = DATA(g, STAB_OFF), dtab = DATA(g, DTAB_OFF);
	uint8_t key[32];
	uint8_t *t;

	fill_random(gp(g, DATA(g, 0)), 0x80000);
	fill_random(key, 32);

	/* Empty slot; every slot starts empty. */
	for (unsigned int s = 0; s < SIMCP_KEY_SLOTS; s++)
		expect_fault(cmd_aes((uint16_t)s, src, dst, 64, iv), SIMCP_FAULT_BAD_CMD, 0);
	/* Bad key lengths, bad KEY args. */
	memcpy(gp(g, DATA(g, KEY_OFF)), key, 32);
	expect_fault(cmd_key(1, DATA(g, KEY_OFF), 0), SIMCP_FAULT_BAD_CMD, 0);
	expect_fault(cmd_key(1, DATA(g, KEY_OFF), 15), SIMCP_FAULT_BAD_CMD, 0);
	expect_fault(cmd_key(1, DATA(g, KEY_OFF), 33), SIMCP_FAULT_BAD_CMD, 0);
	expect_fault(cmd_key(1 | 0x10, DATA(g, KEY_OFF), 16), SIMCP_FAULT_BAD_CMD, 0);
	expect_fault(cmd_key(1 | SIMCP_KEY_CLEAR, 0, 16), SIMCP_FAULT_BAD_CMD, 0);
	expect_fault(cmd_key(1, B_BASE, 16), SIMCP_FAULT_DMA, B_BASE);
	/* None of those loaded anything. */
	expect_fault(cmd_aes(1, src, dst, 64, iv), SIMCP_FAULT_BAD_CMD, 0);

	set_key(1, key, 32);
	/* Bad lengths, reserved bits, overlap. */
	expect_fault(cmd_aes(1, src, dst, 63, iv), SIMCP_FAULT_BAD_CMD, 0);
	expect_fault(cmd_aes(1, src, dst, 8, iv), SIMCP_FAULT_BAD_CMD, 0);
	expect_fault(cmd_aes(1, src, dst, SIMCP_MAX_LEN + 16, iv), SIMCP_FAULT_BAD_CMD, 0);
	expect_fault(cmd_aes(1 | 0x800, src, dst, 64, iv), SIMCP_FAULT_BAD_CMD, 0);
	expect_fault(cmd_aes(1 | 0x10, src, dst, 64, iv), SIMCP_FAULT_BAD_CMD, 0);
	expect_fault(cmd_aes(1, src, src + 16, 64, iv), SIMCP_FAULT_BAD_CMD, 0);
	expect_fault(cmd_aes(1, src + 16, src, 64, iv), SIMCP_FAULT_BAD_CMD, 0);
	/* DMA: IV, source, destination outside the domain or partly outside. */
	expect_fault(cmd_aes(1, src, dst, 64, B_BASE), SIMCP_FAULT_DMA, B_BASE);
	expect_fault(cmd_aes(1, B_BASE, dst, 64, iv), SIMCP_FAULT_DMA, B_BASE);
	expect_fault(cmd_aes(1, src, B_BASE + 64, 64, iv), SIMCP_FAULT_DMA, B_BASE + 64);
	expect_fault(cmd_aes(1, src, A_BASE + GUEST_SIZE - 32, 64, iv), SIMCP_FAULT_DMA,
		     A_BASE + GUEST_SIZE - 32);

	/* SG: entries 0..2 good, entry 3 of the destination outside the domain. */
	t = gp(g, stab);
	for (unsigned int i = 0; i < 4; i++) {
		struct simcp_sg_entry e = { .addr = src + i * 100, .len = i < 3 ? 17 : 64 - 51 };

		memcpy(t + i * 16, &e, 16);
	}
	t = gp(g, dtab);
	for (unsigned int i = 0; i < 4; i++) {
		struct simcp_sg_entry e = { .addr = dst + i * 100, .len = i < 3 ? 17 : 64 - 51 };

		if (i == 3)
			e.addr = B_BASE + 0x123;
		memcpy(t + i * 16, &e, 16);
	}
	expect_fault(cmd_aes(1 | SIMCP_AES_SG, stab, dtab, 64, iv), SIMCP_FAULT_DMA,
		     B_BASE + 0x123);
	/* The same in the source table. */
	expect_fault(cmd_aes(1 | SIMCP_AES_SG, dtab, stab, 64, iv), SIMCP_FAULT_DMA,
		     B_BASE + 0x123);
	/* A destination entry running past the end of the domain's memory. */
	{
		struct simcp_sg_entry e = { .addr = A_BASE + GUEST_SIZE - 5, .len = 13 };

		memcpy(t + 3 * 16, &e, 16);
		expect_fault(cmd_aes(1 | SIMCP_AES_SG, stab, dtab, 64, iv), SIMCP_FAULT_DMA,
			     A_BASE + GUEST_SIZE - 5);
	}
	/* The table itself outside, misaligned, or running off the domain. */
	expect_fault(cmd_aes(1 | SIMCP_AES_SG_SRC, B_BASE, dst, 64, iv), SIMCP_FAULT_DMA, B_BASE);
	expect_fault(cmd_aes(1 | SIMCP_AES_SG_DST, src, B_BASE, 64, iv), SIMCP_FAULT_DMA, B_BASE);
	expect_fault(cmd_aes(1 | SIMCP_AES_SG_SRC, stab + 8, dst, 64, iv), SIMCP_FAULT_BAD_CMD, 0);
	{
		uint64_t last = A_BASE + GUEST_SIZE - 16;
		struct simcp_sg_entry e = { .addr = src, .len = 16 };

		memcpy(gp(g, last), &e, 16);
		expect_fault(cmd_aes(1 | SIMCP_AES_SG_SRC, last, dst, 64, iv), SIMCP_FAULT_DMA,
			     A_BASE + GUEST_SIZE);
	}
	/* Entries adding up to more than len, reserved word set. */
	t = gp(g, stab);
	{
		struct simcp_sg_entry e = { .addr = src, .len = 80 };

		memcpy(t, &e, 16);
		expect_fault(cmd_aes(1 | SIMCP_AES_SG_SRC, stab, dst, 64, iv),
			     SIMCP_FAULT_BAD_CMD, 0);
		e.len = 64;
		e.reserved = 1;
		memcpy(t, &e, 16);
		expect_fault(cmd_aes(1 | SIMCP_AES_SG_SRC, stab, dst, 64, iv),
			     SIMCP_FAULT_BAD_CMD, 0);
		e.reserved = 0;
		memcpy(t, &e, 16);
	}
	/* That table now works. */
	guest_submit(g, cmd_aes(1 | SIMCP_AES_SG_SRC, stab, dst, 64, iv));
	run();
	assert_int_equal(fault_code(), 0);

	/* A cleared slot is empty again; len 0 checks the slot only. */
	guest_submit(g, cmd_aes(1, 0, 0, 0, 0));
	run();
	assert_int_equal(fault_code(), 0);
	guest_submit(g, cmd_key(1 | SIMCP_KEY_CLEAR, 0, 0));
	run();
	assert_int_equal(fault_code(), 0);
	expect_fault(cmd_aes(1, src, dst, 64, iv), SIMCP_FAULT_BAD_CMD, 0);
	expect_fault(cmd_aes(1, 0, 0, 0, 0), SIMCP_FAULT_BAD_CMD, 0);
}

/* No register shows a key, before or after it is loaded. */
static void test_key_not_readable(void **state)
{
	static const uint64_t regs[] = {
		SIMCP_REG_CONTROL, SIMCP_REG_STATUS, SIMCP_REG_IRQ_STATUS,
		SIMCP_REG_IRQ_MASK, SIMCP_REG_IRQ_ACK, SIMCP_REG_RING_BASE_LO,
		SIMCP_REG_RING_BASE_HI, SIMCP_REG_RING_SIZE, SIMCP_REG_RING_HEAD,
		SIMCP_REG_RING_TAIL, SIMCP_REG_FENCE_LO, SIMCP_REG_FENCE_HI,
		SIMCP_REG_FAULT_CODE, SIMCP_REG_FAULT_ADDR_LO,
		SIMCP_REG_FAULT_ADDR_HI, SIMCP_REG_FAULT_HEAD, SIMCP_REG_CMDS_DONE,
	};
	uint32_t before[sizeof(regs) / sizeof(regs[0])];
	uint8_t key[32];

	memset(key, 0xa5, sizeof(key));
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		before[i] = rd(F.a.x, regs[i]);
	set_key(0, key, 32);
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		uint32_t v = rd(F.a.x, regs[i]);

		assert_int_not_equal(v, 0xa5a5a5a5u);
		if (regs[i] != SIMCP_REG_RING_HEAD && regs[i] != SIMCP_REG_RING_TAIL &&
		    regs[i] != SIMCP_REG_CMDS_DONE)
			assert_int_equal(v, before[i]);
	}
	/* Every other register offset is refused. */
	for (uint64_t off = 0; off < SIMCP_MMIO_SIZE; off += 4) {
		uint64_t v;

		if (simcp_mmio(F.a.x, off, 4, false, &v) == VC_IO_OK)
			assert_int_not_equal((uint32_t)v, 0xa5a5a5a5u);
	}
}

/* ---- timing ------------------------------------------------------------- */

static vc_time_t expect_ns(uint64_t bytes, uint64_t bw)
{
	return (bytes * 1000000000ull + bw - 1) / bw;
}

static void check_rate(uint64_t bw)
{
	struct guest *g = &F.a;
	struct simcp_timing t;
	uint8_t key[16] = { 1 };
	const uint32_t len = AREA;
	struct simcp_cmd c = cmd_aes(2, DATA(g, SRC_OFF), DATA(g, SRC_OFF), len, DATA(g, IV_OFF));
	struct simcp_cmd k = cmd_key(2, DATA(g, KEY_OFF), 16);
	vc_time_t t0;
	int i;

	simcp_timing(F.s, &t);
	assert_int_equal(t.aes_bw, bw);
	assert_int_equal(simcp_cmd_cost(F.s, &c), F.ovh + expect_ns(len, bw));
	assert_int_equal(simcp_cmd_cost(F.s, &k), F.ovh + expect_ns(16, t.mem_bw));
	c.len = 48;
	assert_int_equal(simcp_cmd_cost(F.s, &c), F.ovh + expect_ns(48, bw));
	c.len = len;

	/*
	 * On the timeline: KEY, AES, FENCE back to back; the fence's interrupt
	 * comes at the sum of their costs.  In place, to fit the guest.
	 */
	memcpy(gp(g, DATA(g, KEY_OFF)), key, 16);
	guest_submit(g, cmd_nop()); /* past the load of the context */
	run();
	t0 = vc_os_now();
	F.log.n = 0;
	guest_push(g, k);
	guest_push(g, c);
	guest_push(g, cmd_fence(7, 0, SIMCP_F_IRQ));
	guest_doorbell(g);
	run();
	assert_int_equal(fault_code(), 0);
	i = ev_find(&F.log, 0, TAG_A, VC_EV_IRQ);
	assert_true(i >= 0);
	assert_int_equal(F.log.e[i].at, t0 + F.ovh + expect_ns(16, t.mem_bw) +
			 F.ovh + expect_ns(len, bw) + F.ovh);
}

static void test_timing_default(void **state)
{
	check_rate(SIMCP_DEF_AES_BW);
}

static void test_timing_configured(void **state)
{
	check_rate(100000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nist_vectors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_len_and_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_not_readable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timing_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timing_configured, setup_slow, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
