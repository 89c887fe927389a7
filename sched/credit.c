// SPDX-License-Identifier: MIT
/*
 * DOC: credit - weighted fair share
 *
 * The default algorithm: each vcoproc gets device time in proportion to its
 * weight, over any interval in which it has work, and optionally no more
 * than a cap.  For general-purpose sharing (desktops, cloud tenants) where
 * throughput and fairness matter more than deadlines.
 *
 * Design: virtual time, as in Xen's credit2 (credits burnt at a rate that
 * depends on the weight) or Linux's CFS.  Each vcoproc has a virtual time
 * that advances by ran * 256 / weight for every ns it is charged; the
 * runnable vcoproc with the smallest virtual time runs.  Because the
 * framework charges every ns a vcoproc actually used - including overshoot
 * past its slice while the device refused to stop it, and the end of a
 * command during a stop - overshoot is debt by construction: the overrunner
 * simply waits longer for its next turn.  No credit is ever clipped or
 * refilled, so long-run shares converge exactly to the weights (the lag of
 * any vcoproc stays within one slice plus one overshoot).  The division
 * remainder is carried, so not even rounding drifts.
 *
 * Slices: a vcoproc of the mean weight of the runnable ones runs for
 * `slice`; lighter ones for proportionally less (never below `ratelimit`,
 * nor 100us), heavier ones no longer than `slice`.  Short turns for light
 * vcoprocs keep their relative lag as small as that of heavy ones.
 *
 * Sleepers do not bank credit: the instance keeps a monotonic virtual clock
 * (the smallest virtual time queued), and a waking vcoproc's virtual time is
 * raised to at least that clock minus one slice of its own service.  It
 * preempts the running vcoproc when it is behind it by more than
 * `ratelimit` of service; the running one keeps the device for at least
 * `ratelimit` in any case.
 *
 * Caps: a capped vcoproc may use cap% of each `cap_period`; once it has, it
 * is parked (off the run queue) until the next period begins; what it
 * overran is carried into that period.
 *
 * Expected share (expected_share, while all have work): weight over the
 * total weight of the vcoprocs on the coprocessor; a vcoproc whose part
 * would exceed its cap gets its cap, and the rest is shared by weight
 * among the others (water-filling).  When every vcoproc is capped the
 * shares may sum to less than the device: it idles.
 *
 * Refusals: nothing special - the intended next keeps the smallest virtual
 * time (the refused vcoproc's only grows), so it is chosen again at the retry.
 *
 * Parameters:
 *   instance  slice       default 10ms, 100us..10s, bare numbers in ms
 *             ratelimit   default 1ms, 0..100ms, bare numbers in us
 *             cap_period  default 100ms, 1ms..10s, bare numbers in ms
 *   vcoproc   weight      default 256, 1..65535
 *             cap         percent of the device, default 0 (none), 0..100
 *
 * Locking: every hook runs under the coproc lock; none takes a lock.
 * Cost: wake, sleep, charge and do_schedule are O(log n) (a binary min-heap
 * of virtual times); the start of a cap period is O(p log n) for p parked.
 * Virtual times are compared modulo 2^64, which is exact while a vcoproc
 * sleeps for less than about a year of device time at weight 1.
 */
#include <vcoproc/errno.h>
#include <vcoproc/sched.h>

#include "common.h"

#define CREDIT_W0                256 /* virtual time runs at 1 ns/ns at this weight */
#define CREDIT_WEIGHT_DEFAULT    256
#define CREDIT_WEIGHT_MAX        65535
#define CREDIT_SLICE_DEFAULT     VC_MSEC(10)
#define CREDIT_SLICE_MIN         VC_USEC(100)
#define CREDIT_SLICE_MAX         VC_SEC(10)
#define CREDIT_RATELIMIT_DEFAULT VC_MSEC(1)
#define CREDIT_RATELIMIT_MAX     VC_MSEC(100)
#define CREDIT_CAP_PERIOD_DEFAULT VC_MSEC(100)
#define CREDIT_CAP_PERIOD_MIN    VC_MSEC(1)
#define CREDIT_CAP_PERIOD_MAX    VC_SEC(10)
#define CREDIT_MIN_TIMER         VC_USEC(100) /* shortest slice handed out */

struct credit_vdata {
	struct vc_vcoproc *v;
	struct vc_heap_node hnode; /* in runq while runnable and not parked;
				    * key: vtime, tie: id */
	struct vc_list node;       /* in credit_priv.all */
	struct vc_list pnode;      /* in credit_priv.parked while parked */
	uint32_t id;
	unsigned int weight;
	unsigned int cap;          /* percent, 0 = none */
	uint64_t vtime;            /* virtual time */
	uint64_t vrem;             /* remainder of ran * W0 / weight */
	vc_time_t stint;           /* charged since it was switched in */
	vc_time_t cap_used;        /* charged in cap period cap_epoch */
	uint64_t cap_epoch;
	bool share_capped;         /* scratch of credit_expected_share() */
	bool runnable;             /* woken and not asleep */
	bool parked;               /* runnable, but used its cap this period */
};

struct credit_priv {
	struct vc_heap runq;         /* queued vcoprocs, smallest vtime on top */
	struct vc_list all;          /* every vcoproc, in admission order */
	struct vc_list parked;
	unsigned int nr_vdata;
	uint64_t sum_weight;         /* of the queued */
	uint64_t vnow;               /* virtual clock: never goes backwards */
	struct credit_vdata *curr;   /* last decision (undone by a refusal) */
	vc_time_t slice;
	vc_time_t ratelimit;
	vc_time_t cap_period;
	vc_time_t cap_next;          /* end of the current cap period, 0 none yet */
	uint64_t cap_epoch;          /* number of the current cap period */
};

static inline struct credit_priv *credit_priv(const struct vc_sched *s)
{
	return s->priv;
}

static inline struct credit_vdata *credit_vdata(const struct vc_vcoproc *v)
{
	return vc_sched_vdata(v);
}

static inline struct credit_vdata *hnode_vdata(struct vc_heap_node *n)
{
	return vc_container_of(n, struct credit_vdata, hnode);
}

static struct credit_vdata *credit_top(const struct credit_priv *cp)
{
	struct vc_heap_node *n = vc_heap_top(&cp->runq);

	return n ? hnode_vdata(n) : NULL;
}

/* Virtual time worth @t ns of device time to @vd. */
static inline uint64_t credit_vt(const struct credit_vdata *vd, vc_time_t t)
{
	return t * CREDIT_W0 / vd->weight;
}

static void credit_update_vnow(struct credit_priv *cp)
{
	struct credit_vdata *top = credit_top(cp);

	if (top && vc_sched_before(cp->vnow, top->vtime))
		cp->vnow = top->vtime;
}

/* Queue runnable @vd, no further ahead than one slice of its service. */
static void credit_enqueue(struct credit_priv *cp, struct credit_vdata *vd)
{
	uint64_t floor;

	credit_update_vnow(cp);
	floor = cp->vnow - credit_vt(vd, cp->slice);
	if (vc_sched_before(vd->vtime, floor))
		vd->vtime = floor;
	vd->hnode.key = vd->vtime;
	vc_sched_heap_push(&cp->runq, &vd->hnode);
	cp->sum_weight += vd->weight;
}

static void credit_dequeue(struct credit_priv *cp, struct credit_vdata *vd)
{
	if (!vc_heap_queued(&vd->hnode))
		return;
	vc_heap_del(&cp->runq, &vd->hnode);
	cp->sum_weight -= vd->weight;
}

/* ---- caps ----------------------------------------------------------------- */

static vc_time_t credit_cap_budget(const struct credit_priv *cp,
				   const struct credit_vdata *vd)
{
	return cp->cap_period / 100 * vd->cap;
}

/* Bring @vd's cap usage into the current period, carrying any overrun. */
static void credit_cap_sync(struct credit_priv *cp, struct credit_vdata *vd)
{
	vc_time_t budget = credit_cap_budget(cp, vd);

	if (vd->cap_epoch == cp->cap_epoch)
		return;
	if (cp->cap_epoch - vd->cap_epoch == 1 && vd->cap_used > budget)
		vd->cap_used -= budget;
	else
		vd->cap_used = 0;
	vd->cap_epoch = cp->cap_epoch;
}

static bool credit_cap_spent(struct credit_priv *cp, struct credit_vdata *vd)
{
	if (!vd->cap)
		return false;
	credit_cap_sync(cp, vd);
	return vd->cap_used >= credit_cap_budget(cp, vd);
}

static void credit_park(struct credit_priv *cp, struct credit_vdata *vd)
{
	credit_dequeue(cp, vd);
	vd->parked = true;
	vc_list_add_tail(&vd->pnode, &cp->parked);
}

static void credit_unpark(struct credit_priv *cp, struct credit_vdata *vd)
{
	vd->parked = false;
	vc_list_del(&vd->pnode);
	credit_enqueue(cp, vd);
}

/* Start the cap period that holds @now, unparking whoever may run again. */
static void credit_cap_roll(struct credit_priv *cp, vc_time_t now)
{
	struct credit_vdata *vd, *tmp;
	uint64_t k;

	if (!cp->cap_next) {
		cp->cap_next = now + cp->cap_period;
		return;
	}
	if (now < cp->cap_next)
		return;
	k = (now - cp->cap_next) / cp->cap_period + 1;
	cp->cap_next += k * cp->cap_period;
	cp->cap_epoch += k;
	vc_list_for_each_entry_safe(vd, tmp, &cp->parked, struct credit_vdata, pnode)
		if (!credit_cap_spent(cp, vd))
			credit_unpark(cp, vd);
}

/* ---- hooks -------------------------------------------------------------------- */

static int credit_init(struct vc_sched *s)
{
	struct credit_priv *cp = vc_os_zalloc(sizeof(*cp));

	VC_SCHED_ASSERT_LOCKED(s);
	if (!cp)
		return -VC_ENOMEM;
	vc_heap_init(&cp->runq);
	vc_list_init(&cp->all);
	vc_list_init(&cp->parked);
	cp->slice = CREDIT_SLICE_DEFAULT;
	cp->ratelimit = CREDIT_RATELIMIT_DEFAULT;
	cp->cap_period = CREDIT_CAP_PERIOD_DEFAULT;
	s->priv = cp;
	return 0;
}

static void credit_deinit(struct vc_sched *s)
{
	struct credit_priv *cp = credit_priv(s);

	VC_SCHED_ASSERT_LOCKED(s);
	vc_heap_fini(&cp->runq);
	vc_os_free(cp);
	s->priv = NULL;
}

static int credit_parse_weight(const char *val, unsigned int *out)
{
	uint64_t x;
	int err = vc_sched_parse_uint(val, 1, CREDIT_WEIGHT_MAX, &x);

	if (!err)
		*out = (unsigned int)x;
	return err;
}

static int credit_parse_cap(const char *val, unsigned int *out)
{
	uint64_t x;
	int err = vc_sched_parse_uint(val, 0, 100, &x);

	if (!err)
		*out = (unsigned int)x;
	return err;
}

static int credit_alloc_vdata(struct vc_sched *s, struct vc_vcoproc *v, void **vdata)
{
	struct credit_priv *cp = credit_priv(s);
	struct credit_vdata *vd;
	const char *val;
	int err;

	VC_SCHED_ASSERT_LOCKED(s);
	vd = vc_os_zalloc(sizeof(*vd));
	if (!vd)
		return -VC_ENOMEM;
	vd->v = v;
	vd->id = vc_vcoproc_id(v);
	vd->hnode.tie = vd->id;
	vd->weight = CREDIT_WEIGHT_DEFAULT;
	val = vc_vcoproc_param(v, "weight");
	if (val && credit_parse_weight(val, &vd->weight)) {
		err = vc_vcoproc_param_refused(v, "weight");
		goto out_free;
	}
	val = vc_vcoproc_param(v, "cap");
	if (val && credit_parse_cap(val, &vd->cap)) {
		err = vc_vcoproc_param_refused(v, "cap");
		goto out_free;
	}
	err = vc_heap_reserve(&cp->runq, cp->nr_vdata + 1);
	if (err)
		goto out_free;
	vd->vtime = cp->vnow;
	vd->cap_epoch = cp->cap_epoch;
	vc_list_init(&vd->pnode);
	vc_list_add_tail(&vd->node, &cp->all);
	cp->nr_vdata++;
	*vdata = vd;
	return 0;

out_free:
	vc_os_free(vd);
	return err;
}

static void credit_free_vdata(struct vc_sched *s, struct vc_vcoproc *v, void *vdata)
{
	struct credit_priv *cp = credit_priv(s);
	struct credit_vdata *vd = vdata;

	VC_SCHED_ASSERT_LOCKED(s);
	if (!vd)
		return;
	credit_dequeue(cp, vd); /* not expected: v leaves asleep */
	vc_list_del(&vd->pnode);
	vc_list_del(&vd->node);
	if (cp->curr == vd)
		cp->curr = NULL;
	cp->nr_vdata--;
	vc_os_free(vd);
}

static bool credit_wake(struct vc_sched *s, struct vc_vcoproc *v, vc_time_t now)
{
	struct credit_priv *cp = credit_priv(s);
	struct credit_vdata *vd = credit_vdata(v), *curr = cp->curr;

	VC_SCHED_ASSERT_LOCKED(s);
	if (vd->runnable)
		return false;
	vd->runnable = true;
	vd->stint = 0; /* a new burst, even if its context stayed loaded */
	if (credit_cap_spent(cp, vd)) {
		credit_park(cp, vd);
		return false;
	}
	credit_enqueue(cp, vd);
	if (curr == vd)
		return false;
	if (!curr || !vc_heap_queued(&curr->hnode))
		return true;
	/* Preempt only for a real difference: more than ratelimit of service. */
	return vc_sched_before(vd->vtime + credit_vt(vd, cp->ratelimit), curr->vtime);
}

static void credit_sleep(struct vc_sched *s, struct vc_vcoproc *v, vc_time_t now)
{
	struct credit_priv *cp = credit_priv(s);
	struct credit_vdata *vd = credit_vdata(v);

	VC_SCHED_ASSERT_LOCKED(s);
	if (!vd->runnable)
		return;
	vd->runnable = false;
	if (vd->parked) {
		vd->parked = false;
		vc_list_del(&vd->pnode);
	}
	credit_dequeue(cp, vd);
	credit_update_vnow(cp);
}

static void credit_charge(struct vc_sched *s, struct vc_vcoproc *v, vc_time_t ran,
			  vc_time_t now)
{
	struct credit_priv *cp = credit_priv(s);
	struct credit_vdata *vd = credit_vdata(v);
	uint64_t num = ran * CREDIT_W0 + vd->vrem;

	VC_SCHED_ASSERT_LOCKED(s);
	vd->stint += ran;
	vd->vtime += num / vd->weight;
	vd->vrem = num % vd->weight;
	if (vc_heap_queued(&vd->hnode)) {
		vd->hnode.key = vd->vtime;
		vc_heap_fix(&cp->runq, &vd->hnode);
	}
	if (vd->cap) {
		credit_cap_roll(cp, now);
		credit_cap_sync(cp, vd);
		vd->cap_used += ran;
		if (vd->runnable && !vd->parked && credit_cap_spent(cp, vd))
			credit_park(cp, vd);
	}
	credit_update_vnow(cp);
}

/* The slice of queued @vd: `slice` scaled by its weight over the mean. */
static vc_time_t credit_slice(const struct credit_priv *cp, const struct credit_vdata *vd)
{
	vc_time_t floor = VC_MIN(cp->slice, VC_MAX(cp->ratelimit, CREDIT_MIN_TIMER));
	vc_time_t t;

	if (!cp->sum_weight)
		return cp->slice;
	t = cp->slice * vd->weight * cp->runq.nr / cp->sum_weight;
	return VC_MIN(VC_MAX(t, floor), cp->slice);
}

static struct vc_sched_decision credit_do_schedule(struct vc_sched *s, vc_time_t now,
						   struct vc_vcoproc *curr)
{
	struct credit_priv *cp = credit_priv(s);
	struct credit_vdata *cvd = curr ? credit_vdata(curr) : NULL;
	struct credit_vdata *next;
	vc_time_t slice = VC_TIME_INF, full;

	VC_SCHED_ASSERT_LOCKED(s);
	credit_cap_roll(cp, now);
	next = credit_top(cp);
	if (cvd && !vc_heap_queued(&cvd->hnode))
		cvd = NULL; /* asleep or parked: not a candidate */

	if (cvd && cvd != next && cvd->stint < cp->ratelimit) {
		next = cvd; /* not preempted before ratelimit */
		slice = cp->ratelimit - cvd->stint;
	} else if (cvd && cvd == next) {
		/* Still the furthest behind: the rest of its slice, or a new one. */
		full = credit_slice(cp, cvd);
		slice = full - cvd->stint % full;
	}
	if (next && next != cvd) {
		next->stint = 0;
		slice = credit_slice(cp, next);
	}
	if (next && next->cap && !credit_cap_spent(cp, next))
		slice = VC_MIN(slice, credit_cap_budget(cp, next) - next->cap_used);
	if (!vc_list_empty(&cp->parked))
		slice = VC_MIN(slice, cp->cap_next - now);
	cp->curr = next;
	return (struct vc_sched_decision){ next ? next->v : NULL, slice };
}

static void credit_switch_result(struct vc_sched *s, struct vc_vcoproc *prev,
				 struct vc_vcoproc *next, int result,
				 vc_time_t retry_after, vc_time_t now)
{
	struct credit_priv *cp = credit_priv(s);
	struct vc_vcoproc *runs = result == -VC_EAGAIN ? prev : next;

	VC_SCHED_ASSERT_LOCKED(s);
	/* On a refusal the intended next stays the smallest: nothing to undo. */
	cp->curr = runs ? credit_vdata(runs) : NULL;
}

static int credit_set_param(struct vc_sched *s, struct vc_vcoproc *v, const char *key,
			    const char *val)
{
	struct credit_priv *cp = credit_priv(s);
	struct credit_vdata *vd;
	unsigned int x;
	int err;

	VC_SCHED_ASSERT_LOCKED(s);
	if (!v) {
		if (!vc_strcmp(key, "slice"))
			return vc_sched_parse_time(val, VC_MSEC(1), CREDIT_SLICE_MIN,
						   CREDIT_SLICE_MAX, &cp->slice);
		if (!vc_strcmp(key, "ratelimit"))
			return vc_sched_parse_time(val, VC_USEC(1), 0,
						   CREDIT_RATELIMIT_MAX, &cp->ratelimit);
		if (!vc_strcmp(key, "cap_period"))
			return vc_sched_parse_time(val, VC_MSEC(1), CREDIT_CAP_PERIOD_MIN,
						   CREDIT_CAP_PERIOD_MAX, &cp->cap_period);
		return -VC_ENOENT;
	}

	vd = credit_vdata(v);
	if (!vc_strcmp(key, "weight")) {
		err = credit_parse_weight(val, &x);
		if (err)
			return err;
		if (vc_heap_queued(&vd->hnode))
			cp->sum_weight = cp->sum_weight - vd->weight + x;
		vd->weight = x; /* past service stays accounted at the old weight */
		return 0;
	}
	if (!vc_strcmp(key, "cap")) {
		err = credit_parse_cap(val, &x);
		if (err)
			return err;
		vd->cap = x;
		if (vd->parked && !credit_cap_spent(cp, vd))
			credit_unpark(cp, vd);
		else if (vc_heap_queued(&vd->hnode) && credit_cap_spent(cp, vd))
			credit_park(cp, vd);
		return 0;
	}
	return -VC_ENOENT;
}

static unsigned int credit_get_params(struct vc_sched *s, struct vc_vcoproc *v,
				      struct vc_param *out, unsigned int max)
{
	struct credit_priv *cp = credit_priv(s);
	char t[VC_SCHED_TIME_STR];
	unsigned int i = 0;

	VC_SCHED_ASSERT_LOCKED(s);
	if (v) {
		i = vc_param_put(out, max, i, "weight", "%u", credit_vdata(v)->weight);
		return vc_param_put(out, max, i, "cap", "%u", credit_vdata(v)->cap);
	}
	i = vc_param_put(out, max, i, "slice", "%s", vc_sched_fmt_time(t, cp->slice));
	i = vc_param_put(out, max, i, "ratelimit", "%s",
			 vc_sched_fmt_time(t, cp->ratelimit));
	return vc_param_put(out, max, i, "cap_period", "%s",
			    vc_sched_fmt_time(t, cp->cap_period));
}

static void credit_dump(struct vc_sched *s, struct vc_printer *p)
{
	struct credit_priv *cp = credit_priv(s);
	struct credit_vdata *vd, *top = credit_top(cp);
	char t1[VC_SCHED_TIME_STR], t2[VC_SCHED_TIME_STR], t3[VC_SCHED_TIME_STR];

	VC_SCHED_ASSERT_LOCKED(s);
	vc_pr(p, "credit: slice %s, ratelimit %s, cap_period %s; %u queued "
	      "(weight %llu), vnow %llu, next %u\n",
	      vc_sched_fmt_time(t1, cp->slice), vc_sched_fmt_time(t2, cp->ratelimit),
	      vc_sched_fmt_time(t3, cp->cap_period), cp->runq.nr,
	      (unsigned long long)cp->sum_weight, (unsigned long long)cp->vnow,
	      top ? top->id : 0);
	vc_list_for_each_entry(vd, &cp->all, struct credit_vdata, node)
		vc_pr(p, "  vcoproc %u  weight %u cap %u%%  %-7s lag %lld stint %s "
		      "cap_used %s\n",
		      vd->id, vd->weight, vd->cap,
		      !vd->runnable ? "asleep" : vd->parked ? "parked" : "queued",
		      (long long)(int64_t)(vd->vtime - cp->vnow),
		      vc_sched_fmt_time(t1, vd->stint), vc_sched_fmt_time(t2, vd->cap_used));
}

/*
 * Shares by weight, no vcoproc above its cap (water-filling): a capped
 * vcoproc whose weighted part of what is left exceeds its cap gets its cap;
 * the rest is shared again by the others' weights, until no part exceeds a
 * cap.  Capping one only raises the others' parts, so each round caps at
 * least one or ends: O(n) rounds of O(n).  In parts per billion.
 */
static int credit_expected_share(struct vc_sched *s, struct vc_vcoproc *v, uint32_t *ppb)
{
	struct credit_priv *cp = credit_priv(s);
	struct credit_vdata *vd, *me = credit_vdata(v);
	uint64_t left = VC_SHARE_ONE, wsum;
	bool again = true;

	VC_SCHED_ASSERT_LOCKED(s);
	vc_list_for_each_entry(vd, &cp->all, struct credit_vdata, node)
		vd->share_capped = false;
	while (again) {
		again = false;
		wsum = 0;
		vc_list_for_each_entry(vd, &cp->all, struct credit_vdata, node)
			if (!vd->share_capped)
				wsum += vd->weight;
		vc_list_for_each_entry(vd, &cp->all, struct credit_vdata, node) {
			uint64_t cap = (uint64_t)vd->cap * (VC_SHARE_ONE / 100);

			/* left * weight / wsum > cap, without dividing */
			if (vd->share_capped || !vd->cap || left * vd->weight <= cap * wsum)
				continue;
			vd->share_capped = true;
			left -= VC_MIN(cap, left);
			again = true;
		}
	}
	if (me->share_capped) {
		*ppb = me->cap * (VC_SHARE_ONE / 100);
		return 0;
	}
	wsum = 0;
	vc_list_for_each_entry(vd, &cp->all, struct credit_vdata, node)
		if (!vd->share_capped)
			wsum += vd->weight;
	*ppb = wsum ? (uint32_t)((left * me->weight + wsum / 2) / wsum) : 0;
	return 0;
}

const struct vc_sched_ops vc_sched_credit_ops = {
	.name = "credit",
	.init = credit_init,
	.deinit = credit_deinit,
	.alloc_vdata = credit_alloc_vdata,
	.free_vdata = credit_free_vdata,
	.wake = credit_wake,
	.sleep = credit_sleep,
	.charge = credit_charge,
	.do_schedule = credit_do_schedule,
	.switch_result = credit_switch_result,
	.set_param = credit_set_param,
	.vcoproc_params = (const char *const[]){ "weight", "cap", NULL },
	.get_params = credit_get_params,
	.dump = credit_dump,
	.expected_share = credit_expected_share,
};
