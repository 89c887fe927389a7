// SPDX-License-Identifier: MIT
/*
 * DOC: rr - round robin
 *
 * The simplest fair policy, for devices shared by peers that need no
 * weights or guarantees, and the reference the other algorithms are
 * measured against.
 *
 * Runnable vcoprocs wait in one queue in the order they woke.  The head
 * owns the device for a turn of `slice` of charged device time, then goes
 * to the tail.  A vcoproc that goes to sleep leaves the queue and, when it
 * wakes, joins at the tail; sleeping vcoprocs are never picked.
 *
 * Refusals: a decision only moves the old head to the tail, so when the
 * device refuses to stop it the intended next stays at the head and is
 * chosen again at the retry; it then gets a whole turn.  Device time the
 * old head is charged after its turn (refused or slow stop) is taken off
 * its next turn, up to half a turn, so shares stay equal.
 *
 * Parameters (instance):
 *   slice  length of a turn; default 10ms, 100us..10s, bare numbers in ms
 * No per-vcoproc parameters.
 *
 * Locking: every hook runs under the coproc lock; none takes a lock.
 * Cost: every hook is O(1).
 */
#include <vcoproc/errno.h>
#include <vcoproc/sched.h>

#include "common.h"

#define RR_SLICE_DEFAULT VC_MSEC(10)
#define RR_SLICE_MIN     VC_USEC(100)
#define RR_SLICE_MAX     VC_SEC(10)

struct rr_vdata {
	struct vc_vcoproc *v;
	struct vc_list node; /* in rr_priv.runq while runnable */
	vc_time_t used;      /* charged during its turn (or debt towards it) */
	bool runnable;
};

struct rr_priv {
	struct vc_list runq; /* runnable vcoprocs; the head's turn now */
	unsigned int nr_runnable;
	unsigned int nr_vdata;  /* every vcoproc admitted */
	vc_time_t slice;
};

static inline struct rr_priv *rr_priv(const struct vc_sched *s)
{
	return s->priv;
}

static inline struct rr_vdata *rr_vdata(const struct vc_vcoproc *v)
{
	return vc_sched_vdata(v);
}

static int rr_init(struct vc_sched *s)
{
	struct rr_priv *rr = vc_os_zalloc(sizeof(*rr));

	VC_SCHED_ASSERT_LOCKED(s);
	if (!rr)
		return -VC_ENOMEM;
	vc_list_init(&rr->runq);
	rr->slice = RR_SLICE_DEFAULT;
	s->priv = rr;
	return 0;
}

static void rr_deinit(struct vc_sched *s)
{
	VC_SCHED_ASSERT_LOCKED(s);
	vc_os_free(s->priv);
	s->priv = NULL;
}

static int rr_alloc_vdata(struct vc_sched *s, struct vc_vcoproc *v, void **vdata)
{
	struct rr_vdata *vd = vc_os_zalloc(sizeof(*vd));

	VC_SCHED_ASSERT_LOCKED(s);
	if (!vd)
		return -VC_ENOMEM;
	vd->v = v;
	vc_list_init(&vd->node);
	rr_priv(s)->nr_vdata++;
	*vdata = vd;
	return 0;
}

static void rr_free_vdata(struct vc_sched *s, struct vc_vcoproc *v, void *vdata)
{
	struct rr_vdata *vd = vdata;

	VC_SCHED_ASSERT_LOCKED(s);
	if (!vd)
		return;
	if (vd->runnable) { /* not expected: v leaves asleep */
		vc_list_del(&vd->node);
		rr_priv(s)->nr_runnable--;
	}
	rr_priv(s)->nr_vdata--;
	vc_os_free(vd);
}

static bool rr_wake(struct vc_sched *s, struct vc_vcoproc *v, vc_time_t now)
{
	struct rr_priv *rr = rr_priv(s);
	struct rr_vdata *vd = rr_vdata(v);

	VC_SCHED_ASSERT_LOCKED(s);
	if (vd->runnable)
		return false;
	vd->runnable = true;
	vd->used = 0;
	vc_list_add_tail(&vd->node, &rr->runq);
	rr->nr_runnable++;
	/* Never preempt: its turn comes; an idle device is revisited anyway. */
	return false;
}

static void rr_sleep(struct vc_sched *s, struct vc_vcoproc *v, vc_time_t now)
{
	struct rr_vdata *vd = rr_vdata(v);

	VC_SCHED_ASSERT_LOCKED(s);
	if (!vd->runnable)
		return;
	vd->runnable = false;
	vc_list_del(&vd->node);
	rr_priv(s)->nr_runnable--;
}

static void rr_charge(struct vc_sched *s, struct vc_vcoproc *v, vc_time_t ran,
		      vc_time_t now)
{
	struct rr_priv *rr = rr_priv(s);
	struct rr_vdata *vd = rr_vdata(v);

	VC_SCHED_ASSERT_LOCKED(s);
	vd->used += ran;
	/* Past its turn (it is no longer the head): carry half a turn at most. */
	if (rr->runq.next != &vd->node && vd->used > rr->slice / 2)
		vd->used = rr->slice / 2;
}

static struct vc_sched_decision rr_do_schedule(struct vc_sched *s, vc_time_t now,
					       struct vc_vcoproc *curr)
{
	struct rr_priv *rr = rr_priv(s);
	struct rr_vdata *head;

	VC_SCHED_ASSERT_LOCKED(s);
	if (vc_list_empty(&rr->runq))
		return (struct vc_sched_decision){ NULL, VC_TIME_INF };
	head = vc_list_first_entry(&rr->runq, struct rr_vdata, node);
	if (head->used >= rr->slice) {
		/* Its turn is over.  The new head owes at most half a turn. */
		head->used = 0;
		vc_list_del(&head->node);
		vc_list_add_tail(&head->node, &rr->runq);
		head = vc_list_first_entry(&rr->runq, struct rr_vdata, node);
		if (head->used > rr->slice / 2) /* the slice shrank meanwhile */
			head->used = rr->slice / 2;
	}
	return (struct vc_sched_decision){ head->v, rr->slice - head->used };
}

static int rr_set_param(struct vc_sched *s, struct vc_vcoproc *v, const char *key,
			const char *val)
{
	struct rr_priv *rr = rr_priv(s);

	VC_SCHED_ASSERT_LOCKED(s);
	if (v || vc_strcmp(key, "slice"))
		return -VC_ENOENT;
	return vc_sched_parse_time(val, VC_MSEC(1), RR_SLICE_MIN, RR_SLICE_MAX,
				   &rr->slice);
}

static unsigned int rr_get_params(struct vc_sched *s, struct vc_vcoproc *v,
				  struct vc_param *out, unsigned int max)
{
	char t[VC_SCHED_TIME_STR];

	VC_SCHED_ASSERT_LOCKED(s);
	if (v)
		return 0;
	return vc_param_put(out, max, 0, "slice", "%s",
			    vc_sched_fmt_time(t, rr_priv(s)->slice));
}

static void rr_dump(struct vc_sched *s, struct vc_printer *p)
{
	struct rr_priv *rr = rr_priv(s);
	struct rr_vdata *vd;
	char t[VC_SCHED_TIME_STR];

	VC_SCHED_ASSERT_LOCKED(s);
	vc_pr(p, "rr: slice %s, %u runnable, queue (head first):\n",
	      vc_sched_fmt_time(t, rr->slice), rr->nr_runnable);
	vc_list_for_each_entry(vd, &rr->runq, struct rr_vdata, node)
		vc_pr(p, "  vcoproc %u  used %s\n", vc_vcoproc_id(vd->v),
		      vc_sched_fmt_time(t, vd->used));
}

/* Equal turns: 1/n of the device each. */
static int rr_expected_share(struct vc_sched *s, struct vc_vcoproc *v, uint32_t *ppb)
{
	VC_SCHED_ASSERT_LOCKED(s);
	*ppb = vc_sched_share(1, rr_priv(s)->nr_vdata);
	return 0;
}

const struct vc_sched_ops vc_sched_rr_ops = {
	.name = "rr",
	.init = rr_init,
	.deinit = rr_deinit,
	.alloc_vdata = rr_alloc_vdata,
	.free_vdata = rr_free_vdata,
	.wake = rr_wake,
	.sleep = rr_sleep,
	.charge = rr_charge,
	.do_schedule = rr_do_schedule,
	.set_param = rr_set_param,
	.get_params = rr_get_params,
	.dump = rr_dump,
	.expected_share = rr_expected_share,
};
