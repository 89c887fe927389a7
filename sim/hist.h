/* SPDX-License-Identifier: MIT */
/*
 * DOC: latency histogram of the simulator
 *
 * A log-linear histogram of nanosecond values in bounded memory: values
 * below 256 have a bucket each; above, every power of two [2^k, 2^(k+1))
 * is split into 128 equal buckets, so a bucket is at most 1/128 of its
 * lower bound wide.  A percentile is reported as the middle of its bucket
 * (clamped to the exact minimum and maximum): within 0.4% of the exact
 * value.  Rows of buckets are allocated on first use (1 KiB each); a run
 * whose latencies span microseconds to seconds uses about 20 rows.
 *
 * Not thread-safe: the simulator owns one per domain.
 */
#ifndef VCOPROC_SIM_HIST_H
#define VCOPROC_SIM_HIST_H

#include <stdint.h>

#define SIM_HIST_SUB_BITS 7                       /* 128 buckets a row */
#define SIM_HIST_ROWS     (64 - SIM_HIST_SUB_BITS) /* row 0: values < 256 */

struct sim_hist {
	uint64_t *row[SIM_HIST_ROWS]; /* owned; NULL until used */
	uint64_t count;
	uint64_t min, max;
	int oom;                      /* samples lost for want of memory */
};

/** sim_hist_add() - count @v.  A row that cannot be allocated loses it (->oom). */
void sim_hist_add(struct sim_hist *h, uint64_t v);

/**
 * sim_hist_quantile() - the nearest-rank @q quantile (0 < q <= 1), as the
 * middle of its bucket; 0 when empty.
 */
uint64_t sim_hist_quantile(const struct sim_hist *h, double q);

/**
 * sim_hist_foreach() - call @fn for every non-empty bucket in rising
 * order with the bucket's highest value (at most the exact maximum) and
 * its count.  Returns the number of such buckets.  @fn may be NULL (count
 * only).
 */
unsigned int sim_hist_foreach(const struct sim_hist *h,
			      void (*fn)(void *arg, uint64_t hi, uint64_t count), void *arg);

/** sim_hist_free() - free the rows and zero @h. */
void sim_hist_free(struct sim_hist *h);

#endif /* VCOPROC_SIM_HIST_H */
