// SPDX-License-Identifier: MIT
/*
 * DOC: log-linear histogram (sim/hist.h)
 *
 * Value v >= 256 with its top bit at k (k >= 8) goes to row k - 7, bucket
 * (v >> (k - 7)) - 128: the 128 buckets of a row cover [2^k, 2^(k+1)) in
 * steps of 2^(k-7).  Row 0 holds the values below 256 (256 buckets: the
 * first 128 for 0..127, then 128..255 - the same layout with shift 0).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"

#define SUB (1u << SIM_HIST_SUB_BITS)

static unsigned int row_len(unsigned int r)
{
	return r ? SUB : 2 * SUB;
}

static void locate(uint64_t v, unsigned int *r, unsigned int *b)
{
	unsigned int k;

	if (v < 2 * SUB) {
		*r = 0;
		*b = (unsigned int)v;
		return;
	}
	k = 63u - (unsigned int)__builtin_clzll(v);
	*r = k - SIM_HIST_SUB_BITS;
	*b = (unsigned int)(v >> *r) - SUB;
}

/* The lowest value of bucket @b of row @r, and its width. */
static uint64_t bucket_lo(unsigned int r, unsigned int b, uint64_t *width)
{
	if (!r) {
		*width = 1;
		return b;
	}
	*width = 1ull << r;
	return ((uint64_t)b + SUB) << r;
}

void sim_hist_add(struct sim_hist *h, uint64_t v)
{
	unsigned int r, b;

	locate(v, &r, &b);
	if (!h->row[r]) {
		h->row[r] = calloc(row_len(r), sizeof(uint64_t));
		if (!h->row[r]) {
			h->oom++;
			return;
		}
	}
	h->row[r][b]++;
	if (!h->count || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->count++;
}

uint64_t sim_hist_quantile(const struct sim_hist *h, double q)
{
	uint64_t rank, seen = 0, width, lo, mid;

	if (!h->count)
		return 0;
	rank = (uint64_t)ceil(q * (double)h->count);
	if (rank < 1)
		rank = 1;
	if (rank > h->count)
		rank = h->count;
	for (unsigned int r = 0; r < SIM_HIST_ROWS; r++) {
		if (!h->row[r])
			continue;
		for (unsigned int b = 0; b < row_len(r); b++) {
			seen += h->row[r][b];
			if (seen < rank)
				continue;
			lo = bucket_lo(r, b, &width);
			mid = lo + width / 2;
			if (mid < h->min)
				mid = h->min;
			if (mid > h->max)
				mid = h->max;
			return mid;
		}
	}
	return h->max;
}

unsigned int sim_hist_foreach(const struct sim_hist *h,
			      void (*fn)(void *arg, uint64_t hi, uint64_t count), void *arg)
{
	unsigned int n = 0;
	uint64_t width, hi;

	for (unsigned int r = 0; r < SIM_HIST_ROWS; r++) {
		if (!h->row[r])
			continue;
		for (unsigned int b = 0; b < row_len(r); b++) {
			if (!h->row[r][b])
				continue;
			hi = bucket_lo(r, b, &width) + width - 1;
			if (hi > h->max)
				hi = h->max;
			if (fn)
				fn(arg, hi, h->row[r][b]);
			n++;
		}
	}
	return n;
}

void sim_hist_free(struct sim_hist *h)
{
	for (unsigned int r = 0; r < SIM_HIST_ROWS; r++)
		free(h->row[r]);
	memset(h, 0, sizeof(*h));
}
