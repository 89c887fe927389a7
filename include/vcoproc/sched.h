/* SPDX-License-Identifier: MIT */
/*
 * DOC: scheduling algorithms
 *
 * Every physical coprocessor has its own scheduler instance (struct
 * vc_sched): an ops table (one per algorithm, sched/<name>.c) plus the
 * instance's private data.  The framework calls the hooks with the coproc
 * lock held; algorithms take no locks of their own and never call back into
 * the framework except through the vc_sched_*() helpers below.
 *
 * The framework is the authority on device time: it charges each vcoproc
 * for the device time it actually used (charge()), including time past its
 * slice when the device refused to switch.  A do_schedule() decision is
 * provisional until switch_result() says whether the device took it.
 *
 * Times are ns (vc_time_t).  Parameters are strings; durations are read
 * with vc_parse_duration() (decimals, units ns, us, ms, s).
 */
#ifndef VCOPROC_SCHED_H
#define VCOPROC_SCHED_H

#include "vcoproc.h"

struct vc_sched;

/** What do_schedule() decided. */
struct vc_sched_decision {
	struct vc_vcoproc *next; /* runnable vcoproc to run, NULL: none */
	vc_time_t slice;         /* call do_schedule() again after this long
				  * (VC_TIME_INF: only on the next event) */
};

struct vc_sched_ops {
	const char *name;
	/*
	 * Per-vcoproc parameter keys the algorithm understands, NULL-
	 * terminated (NULL: none).  A vcoproc created with a key no built-in
	 * algorithm knows is refused, so a typo cannot pass unnoticed.
	 */
	const char *const *vcoproc_params;

	/** init() - set up s->priv.  0 or -errno.  Required. */
	int (*init)(struct vc_sched *s);
	/** deinit() - free s->priv; every vdata was freed before.  Required. */
	void (*deinit)(struct vc_sched *s);

	/**
	 * alloc_vdata() - admit @v (sleeping, not yet visible to other hooks):
	 * allocate its private data, reading its parameters with
	 * vc_vcoproc_param().  Returns 0 and *@vdata (freed by free_vdata()),
	 * -VC_EINVAL for a bad parameter value, -VC_ENOSPC when admission
	 * control refuses, -VC_ENOMEM.  Required.
	 */
	int (*alloc_vdata)(struct vc_sched *s, struct vc_vcoproc *v, void **vdata);
	/** free_vdata() - @v is asleep and leaves the scheduler.  Required. */
	void (*free_vdata)(struct vc_sched *s, struct vc_vcoproc *v, void *vdata);

	/**
	 * wake() - @v got work and is runnable.  Returns true when the current
	 * decision should be revisited at once (e.g. @v should preempt).  The
	 * framework also revisits whenever the device is idle.  Required.
	 */
	bool (*wake)(struct vc_sched *s, struct vc_vcoproc *v, vc_time_t now);
	/**
	 * sleep() - @v has no work (or is leaving).  This is also how a
	 * vcoproc gives the device up before its slice ends: its context went
	 * idle, and the framework decides again at once.  (There is no yield:
	 * a context cannot give the device up while it still has work.)
	 * Required.
	 */
	void (*sleep)(struct vc_sched *s, struct vc_vcoproc *v, vc_time_t now);

	/**
	 * charge() - @v used @ran ns of device time ending at @now.  Called for
	 * the running vcoproc before every do_schedule() and when it stops
	 * running.  Optional.
	 */
	void (*charge)(struct vc_sched *s, struct vc_vcoproc *v, vc_time_t ran,
		       vc_time_t now);

	/**
	 * do_schedule() - choose what runs next.  @curr is the vcoproc whose
	 * context is on the device (NULL if none; it may be asleep).  Must
	 * return a runnable vcoproc or NULL.  Required.
	 */
	struct vc_sched_decision (*do_schedule)(struct vc_sched *s, vc_time_t now,
						struct vc_vcoproc *curr);

	/**
	 * switch_result() - outcome of the last decision that named a @next
	 * other than @prev: 0 - @next's context now runs (@prev may be NULL);
	 * -VC_EAGAIN - the device refused, @prev keeps running and
	 * @retry_after later do_schedule() will be called again; other -errno
	 * - @prev was reset after a failure and @next runs.  Optional.
	 */
	void (*switch_result)(struct vc_sched *s, struct vc_vcoproc *prev,
			      struct vc_vcoproc *next, int result,
			      vc_time_t retry_after, vc_time_t now);

	/**
	 * set_param() - set @key to @val for the instance (@v NULL) or for
	 * vcoproc @v.  Returns 0, -VC_ENOENT (unknown key), -VC_EINVAL (bad
	 * value), -VC_ENOSPC (admission control refuses).  Optional (every key
	 * is then unknown).
	 */
	int (*set_param)(struct vc_sched *s, struct vc_vcoproc *v, const char *key,
			 const char *val);

	/**
	 * get_params() - write up to @max current parameters of the instance
	 * (@v NULL) or of @v; returns how many there are.  Optional.
	 */
	unsigned int (*get_params)(struct vc_sched *s, struct vc_vcoproc *v,
				   struct vc_param *out, unsigned int max);

	/** dump() - human-readable state, for debugging.  Optional. */
	void (*dump)(struct vc_sched *s, struct vc_printer *p);

	/**
	 * expected_share() - the share of the device's time @v is entitled
	 * to under the current parameters while every vcoproc of the
	 * coprocessor has work, in parts per billion (VC_SHARE_ONE is the
	 * whole device): the algorithm's promise, not a measurement (e.g.
	 * weight over the total weight, budget over period).  Vcoprocs the
	 * algorithm gives nothing have 0.  The core sums it over the
	 * vcoprocs (vc_vcoproc_expected_share()), so it should be cheap.
	 * Returns 0 and *@ppb (at most VC_SHARE_ONE), or -VC_ENOENT when the
	 * algorithm promises @v no definite share.  Optional (none: no share
	 * is promised to anyone).
	 */
	int (*expected_share)(struct vc_sched *s, struct vc_vcoproc *v, uint32_t *ppb);
};

/** A scheduler instance: one per coprocessor. */
struct vc_sched {
	const struct vc_sched_ops *ops;
	void *priv;               /* the algorithm's */
	struct vc_coproc *coproc; /* the coprocessor it schedules */
};

/* ---- helpers for algorithms --------------------------------------------- */

/** vc_sched_vdata() - @v's private data of the current algorithm. */
void *vc_sched_vdata(const struct vc_vcoproc *v);

/**
 * vc_vcoproc_param() - the value of @v's per-vcoproc parameter @key
 * (from its creation or a later vc_vcoproc_param_set()), or NULL.
 */
const char *vc_vcoproc_param(const struct vc_vcoproc *v, const char *key);

/**
 * vc_vcoproc_param_refused() - for alloc_vdata(): the value of @v's
 * parameter @key is the one refused.  Records which it was, so that
 * vc_vcoproc_create() can tell its caller, and returns -VC_EINVAL, the
 * code alloc_vdata() then returns.  Coproc lock held.
 */
int vc_vcoproc_param_refused(struct vc_vcoproc *v, const char *key);

/** vc_sched_note_miss() - count a missed deadline of @v. */
void vc_sched_note_miss(struct vc_vcoproc *v);
/** vc_sched_note_jitter() - record that @v started @late ns after its slot. */
void vc_sched_note_jitter(struct vc_vcoproc *v, vc_time_t late);

/**
 * vc_param_put() - helper for get_params(): fill @out[@i] (when @i < @max)
 * with @key and the formatted value; returns @i + 1.
 */
unsigned int vc_param_put(struct vc_param *out, unsigned int max, unsigned int i,
			  const char *key, const char *fmt, ...) VC_PRINTF(5, 6);

/* ---- registry -------------------------------------------------------------- */

/** vc_sched_lookup() - the built-in algorithm called @name, or NULL. */
const struct vc_sched_ops *vc_sched_lookup(const char *name);

/**
 * vc_sched_algos() - names of the built-in algorithms (those enabled at
 * build time), NULL-terminated, static.
 */
const char *const *vc_sched_algos(void);

/**
 * vc_sched_vcoproc_key_known() - whether some built-in algorithm has the
 * per-vcoproc parameter @key.
 */
bool vc_sched_vcoproc_key_known(const char *key);

/* Algorithms built in (each behind a build option). */
extern const struct vc_sched_ops vc_sched_rr_ops;
extern const struct vc_sched_ops vc_sched_credit_ops;
extern const struct vc_sched_ops vc_sched_rtds_ops;
extern const struct vc_sched_ops vc_sched_arinc653_ops;
/* The scheduler of passthrough coprocessors (core/passthrough.c): not an
 * algorithm a shared coprocessor can be given. */
extern const struct vc_sched_ops vc_sched_passthrough_ops;

#endif /* VCOPROC_SCHED_H */
