/* SPDX-License-Identifier: MIT */
/*
 * A mock device loop for scheduler unit tests.
 *
 * The harness drives one algorithm's hooks directly, on time that only the
 * test advances (like drm_sched's mock scheduler), without the framework
 * engine: it builds zeroed vcoproc, domain and coprocessor objects itself
 * (white box, core/internal.h) and plays the engine's part as
 * core/switch.c does - charge the running vcoproc before every decision,
 * carry the decision out, report the switch, revisit after a wake that
 * asks for it, put a vcoproc to sleep when its work runs out.  Switches
 * are instant unless the test sets a switch time, and the device refuses
 * stops as the test says (a random non-preemptible section, or a hook).
 */
#ifndef TESTS_SCHED_HARNESS_H
#define TESTS_SCHED_HARNESS_H

#include "internal.h"

#define H_MAX_VC   300
#define H_MAX_SEGS 4096
#define H_FOREVER  VC_TIME_INF /* work that never runs out */

#define MS(x) VC_MSEC(x)
#define US(x) VC_USEC(x)

/** One mock vcoproc and its domain. */
struct h_vc {
	struct vc_vcoproc v;
	struct vc_domain d;
	unsigned int idx;   /* in harness.vc[] */
	bool awake;         /* has work (woken, not asleep) */
	vc_time_t work;     /* device time its work still needs, H_FOREVER */
	vc_time_t run_ns;   /* device time it ran */
	uint64_t picks;     /* times it was switched in */
};

/** A run interval in the device's history. */
struct h_seg {
	int idx;            /* vcoproc index, -1 idle */
	vc_time_t from, to;
};

struct harness;

/**
 * Refusal hook: return the retry_after of a refused stop of @prev in
 * favour of @next (NULL: idle), or 0 to accept it.
 */
typedef vc_time_t (*h_refuse_fn)(struct harness *h, struct h_vc *prev, struct h_vc *next);

struct harness {
	struct vc_coproc *c;
	struct vc_sched s;
	vc_time_t now;
	struct h_vc *vc[H_MAX_VC];
	unsigned int nr;
	struct h_vc *curr;       /* whose context is on the device */
	vc_time_t run_since;     /* curr charged up to here */
	vc_time_t deadline;      /* next decision */

	/* Device model, set by the test. */
	unsigned int refuse_pct; /* chance that a stop is refused ... */
	vc_time_t refuse_max;    /* ... for a section of 1ns..refuse_max */
	h_refuse_fn refuse;      /* or this decides (when set) */
	bool refuse_again;       /* a retried stop may be refused again */
	vc_time_t switch_time;   /* an accepted stop takes this long (prev runs on) */
	uint64_t rng;

	/* What happened. */
	uint64_t decisions;
	uint64_t switches;
	uint64_t refusals;
	vc_time_t idle_ns;
	bool retrying;           /* the last stop was refused */
	struct h_seg seg[H_MAX_SEGS];
	unsigned int nr_seg;
};

/** h_init() - a coprocessor with @ops' instance; asserts success. */
void h_init(struct harness *h, const struct vc_sched_ops *ops, vc_time_t switch_cost,
	    vc_time_t max_nonpreempt);

/** h_fini() - put every vcoproc to sleep, free it, tear the instance down. */
void h_fini(struct harness *h);

/**
 * h_add() - admit a vcoproc for domain @domid called @name with parameters
 * given as "key=value" strings, NULL-terminated.  Returns alloc_vdata()'s
 * result; *@out is set on success.
 */
int h_add(struct harness *h, struct h_vc **out, uint32_t domid, const char *name, ...);

/** h_add_ok() - h_add() that must succeed; returns the vcoproc. */
struct h_vc *h_add_ok(struct harness *h, uint32_t domid, const char *name, ...);

/** h_remove() - put @x to sleep (taking it off the device) and free it. */
void h_remove(struct harness *h, struct h_vc *x);

/** h_wake() - @x gets @work ns of work (H_FOREVER: endless). */
void h_wake(struct harness *h, struct h_vc *x, vc_time_t work);

/** h_sleep() - @x has no more work. */
void h_sleep(struct harness *h, struct h_vc *x);

/** h_run() - run the device loop for @dt ns. */
void h_run(struct harness *h, vc_time_t dt);

/** h_reschedule() - ask for a decision now (as a parameter change does). */
void h_reschedule(struct harness *h);

/** h_set() - set_param() for the instance (@x NULL) or @x. */
int h_set(struct harness *h, struct h_vc *x, const char *key, const char *val);

/**
 * h_get() - the value get_params() reports for @key (instance when @x is
 * NULL), in a buffer of the harness; NULL when not reported.
 */
const char *h_get(struct harness *h, struct h_vc *x, const char *key);

/** h_nparams() - how many parameters get_params() reports. */
unsigned int h_nparams(struct harness *h, struct h_vc *x);

/**
 * h_share() - the expected_share() hook's answer for @x, in parts per
 * billion of the device; asserts the hook exists and succeeds.
 */
uint32_t h_share(struct harness *h, struct h_vc *x);

/** h_dump() - the algorithm's dump() output (a buffer of the harness). */
const char *h_dump(struct harness *h);

/** h_clear_stats() - forget run times, counters and the history. */
void h_clear_stats(struct harness *h);

/** h_rand() - deterministic pseudo-random numbers (xorshift64*). */
uint64_t h_rand(struct harness *h);

/** h_running_at() - index of the vcoproc that ran at time @t, -1 idle. */
int h_running_at(const struct harness *h, vc_time_t t);

#endif /* TESTS_SCHED_HARNESS_H */
