// SPDX-License-Identifier: MIT
/*
 * Helpers shared by the simcp tests; see simcp_test.h.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "simcp_test.h"

void guest_init(struct guest *g, uint64_t gpa, uint64_t size)
{
	memset(g, 0, sizeof(*g));
	g->mem = calloc(1, size);
	assert_non_null(g->mem);
	g->gpa = gpa;
	g->size = size;
	g->region = (struct vc_iommu_region){
		.gpa = gpa, .size = size, .hva = g->mem, .writable = true,
	};
	g->io.regions = &g->region;
	g->io.nr_regions = 1;
}

void guest_fini(struct guest *g)
{
	free(g->mem);
	g->mem = NULL;
}

void *gp(struct guest *g, uint64_t gpa)
{
	assert_true(gpa >= g->gpa && gpa - g->gpa < g->size);
	return g->mem + (gpa - g->gpa);
}

uint32_t rd(struct simcp_ctx *x, uint64_t off)
{
	uint64_t v = 0;

	assert_int_equal(simcp_mmio(x, off, 4, false, &v), VC_IO_OK);
	assert_true(v <= UINT32_MAX);
	return (uint32_t)v;
}

void wr(struct simcp_ctx *x, uint64_t off, uint32_t v)
{
	uint64_t val = v;

	assert_int_not_equal(simcp_mmio(x, off, 4, true, &val), VC_IO_BAD);
}

void guest_ring_init(struct guest *g, uint32_t irq_mask)
{
	g->ring_gpa = g->gpa + GUEST_RING_OFF;
	g->ring_size = GUEST_RING_SIZE;
	g->tail = 0;
	wr(g->x, SIMCP_REG_RING_BASE_LO, (uint32_t)g->ring_gpa);
	wr(g->x, SIMCP_REG_RING_BASE_HI, (uint32_t)(g->ring_gpa >> 32));
	wr(g->x, SIMCP_REG_RING_SIZE, g->ring_size);
	wr(g->x, SIMCP_REG_IRQ_MASK, irq_mask);
	wr(g->x, SIMCP_REG_CONTROL, SIMCP_CTRL_ENABLE);
}

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

uint32_t guest_push(struct guest *g, struct simcp_cmd c)
{
	uint8_t *p = gp(g, g->ring_gpa + g->tail);
	uint32_t off = g->tail;

	p[0] = c.op;
	p[1] = c.flags;
	put_le(p + 2, c.arg, 2);
	put_le(p + 4, c.len, 4);
	put_le(p + 8, c.a, 8);
	put_le(p + 16, c.b, 8);
	put_le(p + 24, c.c, 8);
	g->tail = (g->tail + SIMCP_CMD_SIZE) % g->ring_size;
	return off;
}

void guest_doorbell(struct guest *g)
{
	uint64_t v = g->tail;

	assert_int_equal(simcp_mmio(g->x, SIMCP_REG_RING_TAIL, 4, true, &v), VC_IO_WORK);
}

uint32_t guest_submit(struct guest *g, struct simcp_cmd c)
{
	uint32_t off = guest_push(g, c);

	guest_doorbell(g);
	return off;
}

struct simcp_cmd cmd_nop(void)
{
	return (struct simcp_cmd){ .op = SIMCP_OP_NOP };
}

struct simcp_cmd cmd_fence(uint64_t value, uint64_t wb, uint8_t flags)
{
	return (struct simcp_cmd){ .op = SIMCP_OP_FENCE, .flags = flags, .a = value, .b = wb };
}

struct simcp_cmd cmd_copy(uint64_t src, uint64_t dst, uint32_t len)
{
	return (struct simcp_cmd){ .op = SIMCP_OP_COPY, .len = len, .a = src, .b = dst };
}

struct simcp_cmd cmd_fill(uint64_t dst, uint32_t len, uint32_t pattern)
{
	return (struct simcp_cmd){ .op = SIMCP_OP_FILL, .len = len, .b = dst, .c = pattern };
}

struct simcp_cmd cmd_hash(uint16_t algo, uint64_t src, uint32_t len, uint64_t dst)
{
	return (struct simcp_cmd){ .op = SIMCP_OP_HASH, .arg = algo, .len = len,
				   .a = src, .b = dst };
}

struct simcp_cmd cmd_load(uint64_t src, uint32_t scratch_off, uint32_t len)
{
	return (struct simcp_cmd){ .op = SIMCP_OP_LOAD, .len = len, .a = src, .b = scratch_off };
}

struct simcp_cmd cmd_store(uint32_t scratch_off, uint64_t dst, uint32_t len)
{
	return (struct simcp_cmd){ .op = SIMCP_OP_STORE, .len = len, .a = scratch_off, .b = dst };
}

struct simcp_cmd cmd_compute(uint64_t ns, uint32_t len, uint8_t flags)
{
	return (struct simcp_cmd){ .op = SIMCP_OP_COMPUTE, .flags = flags, .len = len, .a = ns };
}

struct simcp_cmd cmd_wait(uint64_t sem, uint64_t value, uint8_t flags)
{
	return (struct simcp_cmd){ .op = SIMCP_OP_WAIT, .flags = flags, .a = sem, .c = value };
}

void ev_sink(void *opaque, uint32_t tag, enum vc_event ev)
{
	struct ev_log *l = opaque;

	if (l->n == EV_LOG_MAX) {
		l->overflow++;
		return;
	}
	l->e[l->n].tag = tag;
	l->e[l->n].ev = ev;
	l->e[l->n].at = vc_os_now();
	l->n++;
}

unsigned int ev_count(const struct ev_log *l, uint32_t tag, enum vc_event ev)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < l->n; i++)
		n += l->e[i].tag == tag && l->e[i].ev == ev;
	return n;
}

int ev_find(const struct ev_log *l, unsigned int from, uint32_t tag, enum vc_event ev)
{
	for (unsigned int i = from; i < l->n; i++)
		if (l->e[i].tag == tag && l->e[i].ev == ev)
			return (int)i;
	return -1;
}

struct simcp_cmd cmd_key(unsigned int slot, uint64_t key, uint32_t len)
{
	return (struct simcp_cmd){ .op = SIMCP_OP_KEY, .arg = (uint16_t)slot, .len = len, .a = key };
}

struct simcp_cmd cmd_aes(uint16_t arg, uint64_t src, uint64_t dst, uint32_t len, uint64_t iv)
{
	return (struct simcp_cmd){
		.op = SIMCP_OP_AES_CBC, .arg = arg, .len = len, .a = src, .b = dst, .c = iv,
	};
}

void ref_cbc(const uint8_t *key, size_t klen, const uint8_t *iv, bool dec,
	     const uint8_t *in, uint8_t *out, size_t len)
{
	const EVP_CIPHER *c = klen == 16 ? EVP_aes_128_cbc() :
			      klen == 24 ? EVP_aes_192_cbc() : EVP_aes_256_cbc();
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, m = 0;

	assert_non_null(ctx);
	assert_int_equal(EVP_CipherInit_ex(ctx, c, NULL, key, iv, !dec), 1);
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	assert_int_equal(EVP_CipherUpdate(ctx, out, &n, in, (int)len), 1);
	assert_int_equal(EVP_CipherFinal_ex(ctx, out + n, &m), 1);
	assert_int_equal((size_t)(n + m), len);
	EVP_CIPHER_CTX_free(ctx);
}
