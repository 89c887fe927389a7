// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the split-virtqueue walker over random guest memory.
 *
 * The input is a 32-byte set-up and a memory image:
 *
 *   0  u8  log2 of the ring size (mod 16)      1  u8  bit 0: EVENT_IDX
 *   2  u16 the first available index            4  u32 bytes of region A
 *   8  u32 region B's gpa                       12 u32 desc uva
 *   16 u32 avail uva                            20 u32 used uva
 *   24 u16 segments an element has room for     26 reserved
 *
 * Region A (gpa 0, uva 0x1000000) and region B (uva 0x2000000) are the
 * image split in two, each in its own heap block so that any read or
 * write past a region is an AddressSanitizer report.  The rings are
 * mapped and started, then chains are popped (up to 64) and pushed back
 * with notifications in between.  Every element's segments must lie in
 * one region; every bad chain must keep its head.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtq.h"

#define UVA_A 0x1000000u
#define UVA_B 0x2000000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(const struct vu_mem *m, const struct vu_seg *s, bool write)
{
	for (unsigned int i = 0; i < m->nregions; i++) {
		const struct vu_mem_region *r = &m->regions[i];
		const uint8_t *h = s->host;

		if (h >= r->host && h + s->len <= r->host + r->size &&
		    s->gpa == r->gpa + (uint64_t)(h - r->host))
			return !write || r->writable;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int call_fd = -1;
	struct vu_mem mem;
	struct vu_virtq vq;
	struct vu_seg segs[1024];
	struct vu_elem e = { .segs = segs };
	uint32_t a_size, b_gpa, d, av, u;
	uint16_t last, max_segs;
	uint8_t *a = NULL, *b = NULL;
	size_t img;

	if (size < 32)
		return 0;
	if (call_fd < 0) {
		call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (call_fd < 0)
			abort();
	}
	img = size - 32;
	memcpy(&last, data + 2, 2);
	memcpy(&a_size, data + 4, 4);
	memcpy(&b_gpa, data + 8, 4);
	memcpy(&d, data + 12, 4);
	memcpy(&av, data + 16, 4);
	memcpy(&u, data + 20, 4);
	memcpy(&max_segs, data + 24, 2);
	a_size = img ? a_size % (uint32_t)(img + 1) : 0;

	memset(&mem, 0, sizeof(mem));
	if (a_size) {
		a = malloc(a_size);
		if (!a)
			abort();
		memcpy(a, data + 32, a_size);
		mem.regions[mem.nregions++] = (struct vu_mem_region){
			.gpa = 0, .size = a_size, .uva = UVA_A, .host = a, .writable = true,
			.fd = -1 };
	}
	if (img - a_size) {
		b = malloc(img - a_size);
		if (!b)
			abort();
		memcpy(b, data + 32 + a_size, img - a_size);
		if (b_gpa < a_size)
			b_gpa = a_size; /* disjoint, as the connection guarantees */
		mem.regions[mem.nregions++] = (struct vu_mem_region){
			.gpa = b_gpa, .size = img - a_size, .uva = UVA_B, .host = b,
			.writable = !(data[1] & 2), .fd = -1 };
	}

	memset(&vq, 0, sizeof(vq));
	vq.mem = &mem;
	vq.num = 1u << (data[0] % 16);
	vq.desc_uva = d;
	vq.avail_uva = av;
	vq.used_uva = u;
	vq.addr_set = true;
	vq.kick_fd = vq.err_fd = -1;
	vq.call_fd = call_fd;
	vq.enabled = true;
	if (vu_virtq_map(&vq))
		goto out_free;
	vu_virtq_start(&vq, last, data[1] & 1);
	e.max_segs = max_segs % (sizeof(segs) / sizeof(segs[0]) + 1);
	for (int i = 0; i < 64; i++) {
		int r = vu_virtq_pop(&vq, &e);

		if (r == 0 || r == -EIO)
			break;
		if (e.head >= vq.num)
			abort(); /* a chain given back must be the driver's */
		if (r == 1) {
			uint64_t in = 0, out = 0;

			if (e.n_out + e.n_in > e.max_segs)
				abort();
			for (unsigned int k = 0; k < e.n_out + e.n_in; k++) {
				bool w = k >= e.n_out;

				if (segs[k].len && !inside(&mem, &segs[k], w))
					abort();
				if (segs[k].len) {
					volatile uint8_t *h = segs[k].host;

					(void)h[0];
					(void)h[segs[k].len - 1];
					if (w)
						h[segs[k].len - 1] = 0;
				}
				*(w ? &in : &out) += segs[k].len;
			}
			if (in != e.in_len || out != e.out_len || in + out > UINT32_MAX)
				abort();
		} else if (r != -ELOOP && r != -EINVAL && r != -EFAULT && r != -EOVERFLOW &&
			   r != -E2BIG) {
			abort();
		}
		if (vu_virtq_push(&vq, &e, r == 1 ? e.in_len : 0))
			abort();
		if (i & 1)
			vu_virtq_notify(&vq);
	}
	vu_virtq_notify(&vq);
	{
		uint64_t v;

		(void)read(call_fd, &v, sizeof(v));
	}
out_free:
	free(a);
	free(b);
	return 0;
}
