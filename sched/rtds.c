// SPDX-License-Identifier: MIT
/*
 * DOC: rtds - real-time deferrable server, EDF on budgets and periods
 *
 * For domains with deadlines (media, control loops, automotive): each
 * vcoproc is guaranteed `budget` of device time in every `period`, and
 * admission control refuses a set that the device cannot guarantee.  The
 * model is Xen's RTDS scheduler.
 *
 * Each vcoproc runs in periods; a period ends at its current deadline,
 * where its budget is replenished and the next period begins (deadline +=
 * period).  Among the runnable vcoprocs with budget left, the one with the
 * earliest deadline runs (EDF).  One that has used its budget is not
 * runnable until its next period, even if the device would idle.
 *
 * Wake-up: a vcoproc that wakes after its deadline starts a new period at
 * once (deadline = now + period, full budget).  One that wakes before it
 * keeps its deadline and the budget it has left, unless that budget exceeds
 * what its bandwidth allows until the deadline (left * period > (deadline -
 * now) * budget), in which case it starts a new period now: the constant
 * bandwidth server rule, which keeps sleepers from breaking the guarantees
 * of the others.
 *
 * What a budget is: device time spent on the vcoproc's own work - its
 * commands, and the wait for the one in flight when it is stopped.  The
 * save and load of a switch are charged to nobody (the framework charges
 * an incoming vcoproc from the platform's ready_at()), so a job that needs
 * at most the budget of device time gets all of it within the period.
 *
 * Overruns: when the device refuses to stop a vcoproc whose budget is spent,
 * it keeps running and the framework charges it: the budget goes negative,
 * and that overrun is taken from its next period's budget (and counted).
 * A vcoproc whose jobs fit its budget never overruns.
 *
 * Expected share (expected_share): budget / period, what is guaranteed;
 * with every vcoproc busy that is also what each gets, as a vcoproc out of
 * budget waits for its next period even if the device would idle.
 *
 * Deadline misses: a miss is counted (vc_sched_note_miss) when a period
 * ends while the vcoproc is runnable and has received less than that
 * period's budget (budget left > 0); and once for every further period that
 * ended before the release could be processed.  A vcoproc that slept
 * through the end of its period has no miss.
 *
 * Admission control (alloc_vdata, set_param) accepts a set when, with S
 * the coprocessor's switch_cost (the worst save + load) and B its
 * max_nonpreempt (the longest time the device may refuse a stop or take
 * to reach a command boundary), n vcoprocs and Tmin the shortest period,
 *
 *   admission=on:        sum_i (budget_i + 2S) / period_i + (S + B) / Tmin <= 1
 *   admission=isolated:  the same plus n * B / Tmin
 *
 * This is the EDF demand bound with the switches and the blocking charged:
 * each job costs two switches (its start, and the resumption of the job it
 * preempted), and a window may open with one non-preemptible section of a
 * later-deadline vcoproc (B) and one switch (S).  The guarantee (on): every
 * job of every vcoproc whose jobs arrive at the start of its periods and
 * need at most its budget completes by the end of that period, as long as
 * the others keep to their budgets too.  A vcoproc that does not (work
 * beyond its budget, refused stops) overruns by at most B per period and
 * repays it from its next one, so within any window it takes at most B
 * more than its budgets: `isolated` reserves that for every vcoproc, and
 * the guarantee then holds for every well-behaved vcoproc whatever the
 * others do.  The test is sufficient, not necessary; a vcoproc that
 * sleeps and wakes within a period adds switches it does not count.
 * docs/schedulers.md states the guarantee; tests/sched/test_rtds_jobs.c
 * checks it on the simulator across random admitted sets.
 *
 * Timer: a decision's slice ends at the earliest of the chosen vcoproc's
 * budget exhaustion and the next release of any awake vcoproc, so a
 * released earlier-deadline vcoproc preempts on time.
 *
 * Parameters:
 *   instance  admission  on|isolated|off, default on
 *   vcoproc   budget     default 4ms, 10us..period, bare numbers in us
 *             period     default 10ms, 100us..4s, bare numbers in us
 * To raise both budget and period of a vcoproc, set the period first.
 *
 * Locking: every hook runs under the coproc lock; none takes a lock.
 * Cost: wake, sleep, charge and do_schedule are O(log n) (two binary heaps:
 * runnable by deadline, and awake by next release), plus O(log n) per
 * release processed.  Admission control is O(n), on control paths only.
 */
#include <vcoproc/errno.h>
#include <vcoproc/sched.h>

#include "common.h"

#define RTDS_BUDGET_DEFAULT VC_MSEC(4)
#define RTDS_PERIOD_DEFAULT VC_MSEC(10)
#define RTDS_BUDGET_MIN     VC_USEC(10)
#define RTDS_PERIOD_MIN     VC_USEC(100)
#define RTDS_PERIOD_MAX     VC_SEC(4) /* so that budget * period fits 64 bits */
#define RTDS_U_ONE          1000000000ull /* utilization 1.0, in ppb */

struct rtds_vdata {
	struct vc_vcoproc *v;
	/* Both heap nodes are keyed by deadline, ties broken by id. */
	struct vc_heap_node rnode; /* in runq: runnable with budget left */
	struct vc_heap_node qnode; /* in replq: runnable (awaiting its release) */
	struct vc_list node;       /* in rtds_priv.all */
	uint32_t id;
	vc_time_t budget;
	vc_time_t period;
	vc_time_t deadline;        /* end of the current period */
	int64_t left;              /* budget left; < 0: overrun to carry */
	bool runnable;
	uint64_t misses;
	uint64_t overruns;
	vc_time_t overrun_ns;
	vc_time_t overrun_max;
};

struct rtds_priv {
	struct vc_heap runq;  /* earliest deadline on top */
	struct vc_heap replq; /* earliest release on top */
	struct vc_list all;
	unsigned int nr_vdata;
	struct rtds_vdata *curr; /* last decision (undone by a refusal) */
	enum { RTDS_ADMIT_OFF, RTDS_ADMIT_ON, RTDS_ADMIT_ISOLATED } admission;
};

static const char *const rtds_admission_names[] = { "off", "on", "isolated" };

static inline struct rtds_priv *rtds_priv(const struct vc_sched *s)
{
	return s->priv;
}

static inline struct rtds_vdata *rtds_vdata(const struct vc_vcoproc *v)
{
	return vc_sched_vdata(v);
}

static struct rtds_vdata *rtds_runq_top(const struct rtds_priv *rp)
{
	struct vc_heap_node *n = vc_heap_top(&rp->runq);

	return n ? vc_container_of(n, struct rtds_vdata, rnode) : NULL;
}

static struct rtds_vdata *rtds_replq_top(const struct rtds_priv *rp)
{
	struct vc_heap_node *n = vc_heap_top(&rp->replq);

	return n ? vc_container_of(n, struct rtds_vdata, qnode) : NULL;
}

/* Put @vd in (or out of, or back in order in) the run queue. */
static void rtds_runq_update(struct rtds_priv *rp, struct rtds_vdata *vd)
{
	bool want = vd->runnable && vd->left > 0;

	vd->rnode.key = vd->deadline;
	if (want && vc_heap_queued(&vd->rnode))
		vc_heap_fix(&rp->runq, &vd->rnode);
	else if (want)
		vc_sched_heap_push(&rp->runq, &vd->rnode);
	else
		vc_heap_del(&rp->runq, &vd->rnode);
}

/* ---- admission control ----------------------------------------------------- */

static vc_time_t sat_add(vc_time_t a, vc_time_t b)
{
	return a + b < a ? VC_TIME_INF : a + b;
}

/* ceil(@c / @t) in RTDS_U_ONE units; more than 1.0 when @c > @t. */
static uint64_t rtds_util(vc_time_t c, vc_time_t t)
{
	if (c > t)
		return RTDS_U_ONE + 1;
	return (c * RTDS_U_ONE + t - 1) / t; /* c <= t <= 4 s: < 2^62 */
}

/*
 * The load of the admission test (RTDS_U_ONE = 1.0) of the current set with
 * @self's parameters replaced by @budget/@period (@self NULL: added).
 */
static uint64_t rtds_load(struct vc_sched *s, const struct rtds_vdata *self,
			  vc_time_t budget, vc_time_t period)
{
	const struct vc_coproc_desc *desc = s->coproc ? vc_coproc_desc(s->coproc) : NULL;
	vc_time_t sw = desc ? desc->switch_cost : 0;
	vc_time_t np = desc ? desc->max_nonpreempt : 0;
	vc_time_t extra = sat_add(sw, sw), block = sat_add(sw, np);
	struct rtds_vdata *vd;
	vc_time_t pmin = period;
	uint64_t load, n = 1;

	load = rtds_util(sat_add(budget, extra), period);
	vc_list_for_each_entry(vd, &rtds_priv(s)->all, struct rtds_vdata, node) {
		if (vd == self)
			continue;
		load += rtds_util(sat_add(vd->budget, extra), vd->period);
		pmin = VC_MIN(pmin, vd->period);
		n++;
	}
	if (rtds_priv(s)->admission == RTDS_ADMIT_ISOLATED)
		block = sat_add(block, np >= VC_TIME_INF / n ? VC_TIME_INF : n * np);
	return load + rtds_util(block, pmin);
}

static int rtds_admit(struct vc_sched *s, const struct rtds_vdata *self,
		      vc_time_t budget, vc_time_t period)
{
	if (rtds_priv(s)->admission == RTDS_ADMIT_OFF)
		return 0;
	return rtds_load(s, self, budget, period) <= RTDS_U_ONE ? 0 : -VC_ENOSPC;
}

/* ---- periods ---------------------------------------------------------------- */

/* Start a period of @vd at @start, carrying any overrun of the last one. */
static void rtds_new_period(struct rtds_vdata *vd, vc_time_t start)
{
	if (vd->left < 0) {
		vc_time_t over = (vc_time_t)-vd->left;

		vd->overruns++;
		vd->overrun_ns += over;
		vd->overrun_max = VC_MAX(vd->overrun_max, over);
	}
	vd->left = (int64_t)vd->budget + VC_MIN(vd->left, 0);
	vd->deadline = start + vd->period;
}

/* Runnable @vd's period ended at its deadline (<= @now): count, replenish. */
static void rtds_release(struct rtds_vdata *vd, vc_time_t now)
{
	uint64_t ended = (now - vd->deadline) / vd->period + 1;
	uint64_t missed = ended - 1 + (vd->left > 0);

	vd->misses += missed;
	while (missed--)
		vc_sched_note_miss(vd->v);
	rtds_new_period(vd, vd->deadline + (ended - 1) * vd->period);
}

/* Process every release due at @now. */
static void rtds_releases(struct rtds_priv *rp, vc_time_t now)
{
	struct rtds_vdata *vd;

	while ((vd = rtds_replq_top(rp)) && vd->deadline <= now) {
		rtds_release(vd, now);
		vd->qnode.key = vd->deadline;
		vc_heap_fix(&rp->replq, &vd->qnode);
		rtds_runq_update(rp, vd);
	}
}

/* ---- hooks ------------------------------------------------------------------- */

static int rtds_init(struct vc_sched *s)
{
	struct rtds_priv *rp = vc_os_zalloc(sizeof(*rp));

	VC_SCHED_ASSERT_LOCKED(s);
	if (!rp)
		return -VC_ENOMEM;
	vc_heap_init(&rp->runq);
	vc_heap_init(&rp->replq);
	vc_list_init(&rp->all);
	rp->admission = RTDS_ADMIT_ON;
	s->priv = rp;
	return 0;
}

static void rtds_deinit(struct vc_sched *s)
{
	struct rtds_priv *rp = rtds_priv(s);

	VC_SCHED_ASSERT_LOCKED(s);
	vc_heap_fini(&rp->runq);
	vc_heap_fini(&rp->replq);
	vc_os_free(rp);
	s->priv = NULL;
}

/* Parse @budget_s and @period_s (NULL: keep) into *@budget and *@period. */
#define RTDS_BAD_PERIOD 1 /* rtds_parse(): the period is at fault */
#define RTDS_BAD_BUDGET 2 /* the budget (malformed, or above the period) */

/* Returns 0, RTDS_BAD_PERIOD or RTDS_BAD_BUDGET. */
static int rtds_parse(const char *budget_s, const char *period_s, vc_time_t *budget,
		      vc_time_t *period)
{
	if (period_s && vc_sched_parse_time(period_s, VC_USEC(1), RTDS_PERIOD_MIN,
					    RTDS_PERIOD_MAX, period))
		return RTDS_BAD_PERIOD;
	if (budget_s && vc_sched_parse_time(budget_s, VC_USEC(1), RTDS_BUDGET_MIN,
					    RTDS_PERIOD_MAX, budget))
		return RTDS_BAD_BUDGET;
	return *budget <= *period ? 0 : RTDS_BAD_BUDGET;
}

static int rtds_alloc_vdata(struct vc_sched *s, struct vc_vcoproc *v, void **vdata)
{
	struct rtds_priv *rp = rtds_priv(s);
	vc_time_t budget = RTDS_BUDGET_DEFAULT, period = RTDS_PERIOD_DEFAULT;
	struct rtds_vdata *vd;
	int err;

	VC_SCHED_ASSERT_LOCKED(s);
	err = rtds_parse(vc_vcoproc_param(v, "budget"), vc_vcoproc_param(v, "period"),
			 &budget, &period);
	if (err)
		return vc_vcoproc_param_refused(v, err == RTDS_BAD_PERIOD ? "period" : "budget");
	err = rtds_admit(s, NULL, budget, period);
	if (err)
		return err;
	if (vc_heap_reserve(&rp->runq, rp->nr_vdata + 1) ||
	    vc_heap_reserve(&rp->replq, rp->nr_vdata + 1))
		return -VC_ENOMEM;
	vd = vc_os_zalloc(sizeof(*vd));
	if (!vd)
		return -VC_ENOMEM;
	vd->v = v;
	vd->id = vc_vcoproc_id(v);
	vd->rnode.tie = vd->qnode.tie = vd->id;
	vd->budget = budget;
	vd->period = period;
	vc_list_add_tail(&vd->node, &rp->all);
	rp->nr_vdata++;
	*vdata = vd;
	return 0;
}

static void rtds_free_vdata(struct vc_sched *s, struct vc_vcoproc *v, void *vdata)
{
	struct rtds_priv *rp = rtds_priv(s);
	struct rtds_vdata *vd = vdata;

	VC_SCHED_ASSERT_LOCKED(s);
	if (!vd)
		return;
	vc_heap_del(&rp->runq, &vd->rnode); /* not expected: v leaves asleep */
	vc_heap_del(&rp->replq, &vd->qnode);
	vc_list_del(&vd->node);
	if (rp->curr == vd)
		rp->curr = NULL;
	rp->nr_vdata--;
	vc_os_free(vd);
}

static bool rtds_wake(struct vc_sched *s, struct vc_vcoproc *v, vc_time_t now)
{
	struct rtds_priv *rp = rtds_priv(s);
	struct rtds_vdata *vd = rtds_vdata(v);

	VC_SCHED_ASSERT_LOCKED(s);
	if (vd->runnable)
		return false;
	vd->runnable = true;
	if (now >= vd->deadline)
		rtds_new_period(vd, now);
	else if (vd->left > 0 &&
		 (vc_time_t)vd->left * vd->period > (vd->deadline - now) * vd->budget)
		rtds_new_period(vd, now); /* CBS: too much budget for the time left */
	vd->qnode.key = vd->deadline;
	vc_sched_heap_push(&rp->replq, &vd->qnode);
	rtds_runq_update(rp, vd);
	/* Preempt when it now has the earliest deadline. */
	return rtds_runq_top(rp) == vd && rp->curr != vd;
}

static void rtds_sleep(struct vc_sched *s, struct vc_vcoproc *v, vc_time_t now)
{
	struct rtds_priv *rp = rtds_priv(s);
	struct rtds_vdata *vd = rtds_vdata(v);

	VC_SCHED_ASSERT_LOCKED(s);
	if (!vd->runnable)
		return;
	vd->runnable = false;
	vc_heap_del(&rp->runq, &vd->rnode);
	vc_heap_del(&rp->replq, &vd->qnode);
}

static void rtds_charge(struct vc_sched *s, struct vc_vcoproc *v, vc_time_t ran,
			vc_time_t now)
{
	struct rtds_vdata *vd = rtds_vdata(v);

	VC_SCHED_ASSERT_LOCKED(s);
	vd->left -= (int64_t)ran;
	if (vd->left <= 0)
		rtds_runq_update(rtds_priv(s), vd);
}

static struct vc_sched_decision rtds_do_schedule(struct vc_sched *s, vc_time_t now,
						 struct vc_vcoproc *curr)
{
	struct rtds_priv *rp = rtds_priv(s);
	struct rtds_vdata *next, *rel;
	vc_time_t slice = VC_TIME_INF;

	VC_SCHED_ASSERT_LOCKED(s);
	rtds_releases(rp, now);
	next = rtds_runq_top(rp);
	rel = rtds_replq_top(rp);
	if (next)
		slice = (vc_time_t)next->left;
	if (rel)
		slice = VC_MIN(slice, rel->deadline - now);
	rp->curr = next;
	return (struct vc_sched_decision){ next ? next->v : NULL, slice };
}

static void rtds_switch_result(struct vc_sched *s, struct vc_vcoproc *prev,
			       struct vc_vcoproc *next, int result,
			       vc_time_t retry_after, vc_time_t now)
{
	struct vc_vcoproc *runs = result == -VC_EAGAIN ? prev : next;

	VC_SCHED_ASSERT_LOCKED(s);
	/* A refused vcoproc runs on and is charged: its overrun is carried. */
	rtds_priv(s)->curr = runs ? rtds_vdata(runs) : NULL;
}

static int rtds_set_param(struct vc_sched *s, struct vc_vcoproc *v, const char *key,
			  const char *val)
{
	struct rtds_priv *rp = rtds_priv(s);
	struct rtds_vdata *vd;
	vc_time_t budget, period;
	int err, mode, old;
	bool on;

	VC_SCHED_ASSERT_LOCKED(s);
	if (!v) {
		struct rtds_vdata *first;

		if (vc_strcmp(key, "admission"))
			return -VC_ENOENT;
		if (!vc_strcmp(val, "isolated"))
			mode = RTDS_ADMIT_ISOLATED;
		else if (!vc_sched_parse_bool(val, &on))
			mode = on ? RTDS_ADMIT_ON : RTDS_ADMIT_OFF;
		else
			return -VC_EINVAL;
		/* The current set must pass the test before it is enforced. */
		old = rp->admission;
		rp->admission = mode;
		first = vc_list_empty(&rp->all) ? NULL :
			vc_list_first_entry(&rp->all, struct rtds_vdata, node);
		if (first && rtds_admit(s, first, first->budget, first->period)) {
			rp->admission = old;
			return -VC_ENOSPC;
		}
		return 0;
	}

	vd = rtds_vdata(v);
	budget = vd->budget;
	period = vd->period;
	if (!vc_strcmp(key, "budget"))
		err = rtds_parse(val, NULL, &budget, &period);
	else if (!vc_strcmp(key, "period"))
		err = rtds_parse(NULL, val, &budget, &period);
	else
		return -VC_ENOENT;
	if (err)
		return -VC_EINVAL;
	err = rtds_admit(s, vd, budget, period);
	if (err)
		return err;
	/* The current period keeps its deadline; the new values rule from the next. */
	vd->budget = budget;
	vd->period = period;
	if (vd->left > (int64_t)budget)
		vd->left = (int64_t)budget;
	return 0;
}

static unsigned int rtds_get_params(struct vc_sched *s, struct vc_vcoproc *v,
				    struct vc_param *out, unsigned int max)
{
	char t[VC_SCHED_TIME_STR];
	unsigned int i = 0;

	VC_SCHED_ASSERT_LOCKED(s);
	if (!v)
		return vc_param_put(out, max, 0, "admission", "%s",
				    rtds_admission_names[rtds_priv(s)->admission]);
	i = vc_param_put(out, max, i, "budget", "%s",
			 vc_sched_fmt_time(t, rtds_vdata(v)->budget));
	return vc_param_put(out, max, i, "period", "%s",
			    vc_sched_fmt_time(t, rtds_vdata(v)->period));
}

static void rtds_dump(struct vc_sched *s, struct vc_printer *p)
{
	struct rtds_priv *rp = rtds_priv(s);
	struct rtds_vdata *vd, *top = rtds_runq_top(rp);
	char t1[VC_SCHED_TIME_STR], t2[VC_SCHED_TIME_STR];
	char t3[VC_SCHED_TIME_STR], t4[VC_SCHED_TIME_STR];
	uint64_t load = 0;

	VC_SCHED_ASSERT_LOCKED(s);
	if (!vc_list_empty(&rp->all)) {
		vd = vc_list_first_entry(&rp->all, struct rtds_vdata, node);
		load = rtds_load(s, vd, vd->budget, vd->period);
	}
	vc_pr(p, "rtds: admission %s, load %llu.%03llu of the admission test, "
	      "%u runnable with budget, next %u\n",
	      rtds_admission_names[rp->admission],
	      (unsigned long long)(load / RTDS_U_ONE),
	      (unsigned long long)(load % RTDS_U_ONE * 1000 / RTDS_U_ONE),
	      rp->runq.nr, top ? top->id : 0);
	vc_list_for_each_entry(vd, &rp->all, struct rtds_vdata, node)
		vc_pr(p, "  vcoproc %u  budget %s period %s  %-8s deadline %llu "
		      "left %lldns  misses %llu overruns %llu (%s, max %s)\n",
		      vd->id, vc_sched_fmt_time(t1, vd->budget),
		      vc_sched_fmt_time(t2, vd->period),
		      !vd->runnable ? "asleep" : vd->left > 0 ? "ready" : "depleted",
		      (unsigned long long)vd->deadline, (long long)vd->left,
		      (unsigned long long)vd->misses, (unsigned long long)vd->overruns,
		      vc_sched_fmt_time(t3, vd->overrun_ns),
		      vc_sched_fmt_time(t4, vd->overrun_max));
}

/* The guarantee: budget in every period (spare time is not handed out). */
static int rtds_expected_share(struct vc_sched *s, struct vc_vcoproc *v, uint32_t *ppb)
{
	struct rtds_vdata *vd = rtds_vdata(v);

	VC_SCHED_ASSERT_LOCKED(s);
	*ppb = vc_sched_share(vd->budget, vd->period);
	return 0;
}

const struct vc_sched_ops vc_sched_rtds_ops = {
	.name = "rtds",
	.init = rtds_init,
	.deinit = rtds_deinit,
	.alloc_vdata = rtds_alloc_vdata,
	.free_vdata = rtds_free_vdata,
	.wake = rtds_wake,
	.sleep = rtds_sleep,
	.charge = rtds_charge,
	.do_schedule = rtds_do_schedule,
	.switch_result = rtds_switch_result,
	.set_param = rtds_set_param,
	.vcoproc_params = (const char *const[]){ "budget", "period", NULL },
	.get_params = rtds_get_params,
	.dump = rtds_dump,
	.expected_share = rtds_expected_share,
};
