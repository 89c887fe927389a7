/* SPDX-License-Identifier: MIT */
/*
 * DOC: helpers shared by the algorithms in sched/
 *
 * Private to sched/: the parsing and printing of parameter values.  The
 * run queues of credit and rtds are the core's min-heap
 * (include/vcoproc/heap.h).  Like the algorithms, it is part of the
 * embeddable core: no libc, no locks, no allocation.
 */
#ifndef VCOPROC_SCHED_COMMON_H
#define VCOPROC_SCHED_COMMON_H

#include <vcoproc/heap.h>
#include <vcoproc/sched.h>

/**
 * vc_sched_before() - @a < @b for counters that may wrap (virtual times):
 * correct while they are less than 2^63 apart.
 */
static inline bool vc_sched_before(uint64_t a, uint64_t b)
{
	return vc_key_before(a, b);
}

/* ---- locking --------------------------------------------------------------- */

/**
 * vc_sched_lock_held() - whether the caller holds the lock of the
 * coprocessor @s schedules, the lock every hook runs under (core/schedctl.c;
 * true when the OS layer does not track owners).
 */
bool vc_sched_lock_held(const struct vc_sched *s);

/* VC_SCHED_ASSERT_LOCKED() - first thing in every hook (debug builds). */
#define VC_SCHED_ASSERT_LOCKED(s) VC_ASSERT(vc_sched_lock_held(s))

/**
 * vc_sched_heap_push() - vc_heap_push() of a node whose room was reserved
 * when its vcoproc was admitted and that is not queued: a failure is a bug
 * of the algorithm, so it is asserted rather than returned.
 */
static inline void vc_sched_heap_push(struct vc_heap *h, struct vc_heap_node *n)
{
	int err = vc_heap_push(h, n);

	VC_ASSERT(!err);
	(void)err;
}

/* ---- parameter values ------------------------------------------------------ */

/**
 * vc_sched_parse_time() - parse duration @val with vc_parse_duration()
 * (bare numbers in @default_unit ns) and check it lies in [@min, @max].
 * Returns 0, or -VC_EINVAL for a bad or out-of-range value.
 */
int vc_sched_parse_time(const char *val, vc_time_t default_unit, vc_time_t min,
			vc_time_t max, vc_time_t *out);

/** vc_sched_parse_uint() - as vc_sched_parse_time() for a plain integer. */
int vc_sched_parse_uint(const char *val, uint64_t min, uint64_t max, uint64_t *out);

/** vc_sched_parse_bool() - "1"/"on"/"yes"/"true" or "0"/"off"/"no"/"false". */
int vc_sched_parse_bool(const char *val, bool *out);

/**
 * vc_sched_share() - @part of @whole in parts per billion (VC_SHARE_ONE),
 * rounded to nearest, for expected_share() hooks: VC_SHARE_ONE when @part
 * >= @whole, 0 when @whole is 0.  Any 64-bit values.
 */
uint32_t vc_sched_share(uint64_t part, uint64_t whole);

/** Room for any duration vc_sched_fmt_time() writes. */
#define VC_SCHED_TIME_STR 24

/**
 * vc_sched_fmt_time() - @t in the largest unit that shows it exactly
 * ("10ms", "2500us", "0ns"), so that vc_parse_duration() reads it back as is.
 * Returns @buf.
 */
const char *vc_sched_fmt_time(char buf[VC_SCHED_TIME_STR], vc_time_t t);

#endif /* VCOPROC_SCHED_COMMON_H */
