// SPDX-License-Identifier: MIT
/*
 * DOC: the scheduling engine
 *
 * One engine per coprocessor carries out what its algorithm decides.  All
 * of it runs under coproc->lock, entered from four places: the coprocessor
 * timer, device events (vc_coproc_event), doorbells found by the MMIO
 * dispatch, and control calls (parameters, algorithm, create/destroy).
 *
 * Context switch (vc_coproc_reschedule -> do_switch -> finish_switch):
 *
 *   stop(prev) --0----------------------------> save(prev) -> iommu_switch
 *      |  \--EINPROGRESS: STOPPING, wait for     -> load(next) -> start(next)
 *      |     VC_EV_STOPPED (or stop_timeout:
 *      |     reset prev) ------------------------^
 *      |     (a wake-up or a change while STOPPING: next is decided
 *      |     again when the stop completes, never loaded just to be
 *      |     saved at once)
 *      \--EAGAIN (refused): prev keeps running, the algorithm is told and
 *         asked again after the device's retry hint.
 *
 * The framework is the authority on device time: the vcoproc whose context
 * runs work is "accounting" and is charged (algorithm charge() hook and
 * run_ns) for every ns until it goes idle or its context comes off the
 * device - including time past its slice while the device refused a stop,
 * and the wait for an accepted stop to reach a command boundary (its own
 * work).  The save and load themselves are charged to nobody: an incoming
 * vcoproc accounts from the platform's ready_at(), and the coprocessor
 * counts them in switch_ns.  (Slices stay on the clock: a budget-based
 * algorithm whose slice ends before the budget is used decides again and
 * keeps the vcoproc on, a time-partitioned one keeps its windows.)
 *
 * Hang detection: while a vcoproc accounts, its progress counter is
 * sampled every hang_timeout/4; running time without progress adds up
 * across slices, and at hang_timeout its context alone is reset (the
 * platform leaves an error status for its driver, the framework raises its
 * interrupt) while the other vcoprocs go on.
 *
 * Interrupts are routed by context tag, not by what is loaded now, so a
 * completion racing a switch reaches the domain that owned the context.
 */
#include "internal.h"
#include "switch.h"

/*
 * @now + @d, saturating at VC_TIME_INF ("never"): the durations added to
 * the clock come from the host (stop_timeout, hang_timeout), the algorithm
 * (slice) and the platform (retry hint), and "never" or anything close to
 * it must not wrap around into a deadline in the past.
 */
static vc_time_t deadline_after(vc_time_t now, vc_time_t d)
{
	return d >= VC_TIME_INF - now ? VC_TIME_INF : now + d;
}

static vc_time_t watch_period(const struct vc_coproc *c)
{
	vc_time_t p = c->desc.hang_timeout / 4;

	return p ? p : 1;
}

/*
 * When to look at running @v again: after a watch period, or sooner if
 * its stalled time (carried over from earlier slices) reaches the timeout
 * before that.
 */
static vc_time_t watch_deadline(const struct vc_coproc *c, const struct vc_vcoproc *v,
				vc_time_t now)
{
	vc_time_t left = v->stalled_ns < c->desc.hang_timeout ?
			 c->desc.hang_timeout - v->stalled_ns : 1;

	return deadline_after(now, VC_MIN(watch_period(c), left));
}

/*
 * The time from @since to @now that the device has seen (plat_seen()):
 * what it was not given by its host is forgiven.  Checked every watch
 * period, so a device that comes back after being starved is charged at
 * most one period it did not see.  (Deferring the unseen time instead, to
 * charge it once the device has run past it, takes a starved device that
 * does real work - an OpenCL kernel launched late - for hung.)
 */
static vc_time_t seen_since(struct vc_coproc *c, vc_time_t since, vc_time_t now)
{
	vc_time_t upto = plat_seen(c, now);

	return upto > since ? upto - since : 0;
}

/*
 * Add the running time since the last look to @v's stall, or clear it.
 * Only time the device has seen counts (plat_seen()), and it is read
 * before the progress: a device that runs between the two reads shows
 * its progress, never only the time it spent.
 */
static void stall_account(struct vc_coproc *c, struct vc_vcoproc *v, vc_time_t now)
{
	vc_time_t seen = seen_since(c, v->last_check, now);
	uint64_t p = plat_progress(c, v->ctx);

	if (p != v->last_progress) {
		v->last_progress = p;
		v->stalled_ns = 0;
	} else {
		v->stalled_ns += seen;
	}
	v->last_check = now;
}

/* ---- timer ------------------------------------------------------------------ */

static void coproc_arm(struct vc_coproc *c)
{
	vc_time_t d = VC_MIN(c->sched_deadline, c->watch_deadline);

	if (c->cstate == VC_CS_STOPPING)
		d = VC_MIN(d, c->stop_deadline);
	if (d == c->armed)
		return;
	c->armed = d;
	if (d == VC_TIME_INF)
		vc_os_timer_disarm(c->timer);
	else
		vc_os_timer_arm(c->timer, d);
}

/* ---- accounting --------------------------------------------------------------- */

void vc_coproc_charge_curr(struct vc_coproc *c, vc_time_t now)
{
	struct vc_vcoproc *v = c->curr;
	vc_time_t ran;

	VC_ASSERT_LOCKED(c->lock);
	if (!v || !v->accounting || now <= v->run_since)
		return;
	ran = now - v->run_since;
	v->run_since = now;
	v->stats.run_ns += ran;
	c->stats.busy_ns += ran;
	sched_charge(&c->sched, v, ran, now);
}

static void run_begin(struct vc_coproc *c, struct vc_vcoproc *v, vc_time_t now)
{
	if (v->accounting)
		return;
	v->accounting = true;
	v->run_since = now;
	v->last_check = now;
	v->last_progress = plat_progress(c, v->ctx);
	c->watch_deadline = watch_deadline(c, v, now);
	vc_trace_record(c, VC_TR_RUN_BEGIN, v->id, 0);
}

static void run_end(struct vc_coproc *c, struct vc_vcoproc *v, vc_time_t now)
{
	if (!v->accounting)
		return;
	vc_coproc_charge_curr(c, now);
	/* A stall adds up across slices shorter than the watch period. */
	stall_account(c, v, now);
	v->accounting = false;
	c->watch_deadline = VC_TIME_INF;
	vc_trace_record(c, VC_TR_RUN_END, v->id, 0);
}

/* ---- state changes -------------------------------------------------------------- */

static void raise_irq(struct vc_coproc *c, struct vc_vcoproc *v)
{
	VC_ASSERT_LOCKED(c->lock);
	v->stats.irqs++;
	c->stats.irqs++;
	vc_trace_record(c, VC_TR_IRQ, v->id, 0);
	fw_irq_raise(c, v->dom, c->desc.nr_irqs ? c->desc.irqs[0] : 0);
}

/* @v has no more work. */
static void vcoproc_sleep(struct vc_coproc *c, struct vc_vcoproc *v, vc_time_t now)
{
	VC_ASSERT_LOCKED(c->lock);
	if (!v->has_work)
		return;
	if (c->curr == v)
		run_end(c, v, now);
	v->has_work = false;
	/* Out of work, so not hung: a stall must not carry over to new work. */
	v->stalled_ns = 0;
	v->state = VC_VS_SLEEPING;
	sched_sleep(&c->sched, v, now);
	vc_trace_record(c, VC_TR_SLEEP, v->id, 0);
}

void vc_vcoproc_wake(struct vc_vcoproc *v, vc_time_t now)
{
	struct vc_coproc *c = v->coproc;
	struct vc_vcoproc *curr = c->curr;
	bool tickle;

	VC_ASSERT_LOCKED(c->lock);
	if (v->has_work || !plat_has_work(c, v->ctx))
		return;
	v->has_work = true;
	v->stats.wakeups++;
	vc_trace_record(c, VC_TR_WAKE, v->id, 0);
	if (curr == v) {
		v->state = c->cstate == VC_CS_STOPPING ? VC_VS_SWITCHING_OUT : VC_VS_RUNNING;
		if (c->dev_started)
			run_begin(c, v, plat_ready_at(c, now));
	} else {
		v->state = VC_VS_WAITING;
	}
	tickle = sched_wake(&c->sched, v, now);
	if (tickle || !curr || curr == v || !curr->has_work)
		vc_coproc_reschedule(c, now);
}

/*
 * Reset @v after a hang or a device failure.  If its context is loaded the
 * device is left stopped with it loaded.  The platform leaves an error
 * status; the framework raises the domain's interrupt, once.
 */
static void reset_vcoproc(struct vc_coproc *c, struct vc_vcoproc *v, vc_time_t now,
			  const char *why)
{
	bool loaded = c->curr == v;
	int err;

	VC_ASSERT_LOCKED(c->lock);
	if (loaded) {
		run_end(c, v, now);
		c->dev_started = false;
	}
	err = plat_reset(c, v->ctx, loaded);
	if (err)
		vc_log(VC_LOG_ERR, "%s: reset of vcoproc %u failed: %s", c->name, v->id,
		       vc_strerror(err));
	vc_log(VC_LOG_WARN, "%s: vcoproc %u (domain %u) %s: context reset", c->name,
	       v->id, v->dom->domid, why);
	v->stats.resets++;
	c->stats.resets++;
	v->stalled_ns = 0;
	vc_trace_record(c, VC_TR_RESET, v->id, 0);
	vcoproc_sleep(c, v, now);
	raise_irq(c, v);
}

/* ---- context switch ------------------------------------------------------------- */

static void end_refusal_wait(struct vc_coproc *c, struct vc_vcoproc *prev, vc_time_t now)
{
	vc_time_t wait;

	if (!c->refused_since)
		return;
	wait = now - c->refused_since;
	c->stats.refusal_wait_ns += wait;
	if (prev)
		prev->stats.refusal_wait_ns += wait;
	c->refused_since = 0;
}

/* A platform step failed on @v's context: reset it, keep the device sane. */
static void step_failed(struct vc_coproc *c, struct vc_vcoproc *v, const char *step,
			int err, vc_time_t now)
{
	vc_log(VC_LOG_ERR, "%s: %s of vcoproc %u failed: %s", c->name, step, v->id,
	       vc_strerror(err));
	reset_vcoproc(c, v, now, "failed a context switch");
}

/*
 * The device is stopped (or was never started): save prev, load and start
 * next.  @next NULL leaves the device empty.  @result is what the algorithm
 * is told (0, or the error that made us reset prev).
 */
static void finish_switch(struct vc_coproc *c, struct vc_vcoproc *next, int result,
			  vc_time_t now)
{
	struct vc_vcoproc *prev = c->curr;
	vc_time_t lat, ready;
	int err;

	VC_ASSERT_LOCKED(c->lock);
	c->cstate = VC_CS_READY;
	c->pending = NULL;
	if (prev) {
		run_end(c, prev, now);
		err = plat_save(c, prev->ctx);
		if (err) {
			/*
			 * prev's context is still on the device: reset it as the
			 * loaded one (the device is left stopped with it loaded)
			 * and try again.  Never load next over it, nor let next
			 * pay for prev's failure.
			 */
			step_failed(c, prev, "save", err, now);
			err = plat_save(c, prev->ctx);
			if (err) {
				vc_log(VC_LOG_ERR, "%s: vcoproc %u stays on the device: %s",
				       c->name, prev->id, vc_strerror(err));
				return;
			}
		} else if (prev->has_work && !plat_has_work(c, prev->ctx)) {
			vcoproc_sleep(c, prev, now); /* finished as it stopped */
		}
		c->curr = NULL;
		c->dev_started = false;
		prev->state = prev->has_work ? VC_VS_WAITING : VC_VS_SLEEPING;
		prev->stats.switches_out++;
		end_refusal_wait(c, prev, now);
	}
	err = plat_iommu_switch(c, next ? next->dom->iommu : NULL);
	if (err) {
		vc_log(VC_LOG_ERR, "%s: IOMMU switch failed: %s", c->name, vc_strerror(err));
		next = NULL;
	}
	if (!next)
		return;
	err = plat_load(c, next->ctx);
	if (!err) {
		c->curr = next;
		err = plat_start(c, next->ctx);
		if (err) {
			step_failed(c, next, "start", err, now);
			return;
		}
	} else {
		step_failed(c, next, "load", err, now);
		(void)plat_iommu_switch(c, NULL);
		return;
	}
	c->dev_started = true;
	next->stats.switches_in++;
	/* The save and load are the switch's: next is charged from their end. */
	ready = plat_ready_at(c, now);
	c->stats.switch_ns += ready - now;
	if (next->has_work) {
		next->state = VC_VS_RUNNING;
		run_begin(c, next, ready);
	} else {
		next->state = VC_VS_SLEEPING;
	}
	lat = vc_os_now() - c->decided_at;
	c->stats.switches++;
	c->stats.switch_lat_total_ns += lat;
	if (lat > c->stats.switch_lat_max_ns)
		c->stats.switch_lat_max_ns = lat;
	vc_trace_record(c, VC_TR_SWITCH, next->id, lat);
	sched_switch_result(&c->sched, prev, next, result, 0, now);
}

/*
 * How long the device may keep refusing to stop one context before the
 * framework resets it: the platform's longest non-preemptible section (or,
 * unknown, the hang timeout) plus the stop timeout.
 */
static vc_time_t refusal_limit(const struct vc_coproc *c)
{
	vc_time_t np = c->desc.max_nonpreempt ? c->desc.max_nonpreempt
					      : c->desc.hang_timeout;

	return deadline_after(np, c->desc.stop_timeout);
}

/* Carry out a decision to run @next instead of c->curr. */
static void do_switch(struct vc_coproc *c, struct vc_vcoproc *next, vc_time_t now)
{
	struct vc_vcoproc *prev = c->curr;
	vc_time_t retry = 0;
	int r = 0;

	VC_ASSERT_LOCKED(c->lock);
	if (!c->refused_since)
		c->decided_at = now;
	if (prev && c->dev_started) {
		r = plat_stop(c, prev->ctx, &retry);
		if (r == -VC_EAGAIN) {
			if (!retry)
				retry = VC_USEC(1);
			prev->stats.refusals++;
			c->stats.refusals++;
			if (!c->refused_since)
				c->refused_since = now;
			vc_trace_record(c, VC_TR_REFUSE, prev->id, retry);
			if (now - c->refused_since > refusal_limit(c)) {
				/* Longer than any legitimate non-preemptible
				 * section: the context holds the device. */
				reset_vcoproc(c, prev, now, "kept refusing to stop");
				finish_switch(c, next, -VC_ETIMEDOUT, now);
				return;
			}
			/* Ask again at the hint, or when the limit runs out. */
			retry = VC_MIN(retry, refusal_limit(c) - (now - c->refused_since) + 1);
			sched_switch_result(&c->sched, prev, next, -VC_EAGAIN, retry, now);
			c->sched_deadline = deadline_after(now, retry);
			return;
		}
		if (r == -VC_EINPROGRESS) {
			c->cstate = VC_CS_STOPPING;
			c->redecide = false;
			c->pending = next;
			c->stop_deadline = deadline_after(now, c->desc.stop_timeout);
			c->stop_seen_ns = 0;
			c->stop_check = now;
			c->sched_deadline = VC_TIME_INF;
			if (prev->has_work)
				prev->state = VC_VS_SWITCHING_OUT;
			return;
		}
		if (r < 0) {
			vc_log(VC_LOG_ERR, "%s: stop of vcoproc %u failed: %s", c->name,
			       prev->id, vc_strerror(r));
			reset_vcoproc(c, prev, now, "could not be stopped");
		}
	}
	finish_switch(c, next, r, now);
}

void vc_coproc_reschedule(struct vc_coproc *c, vc_time_t now)
{
	struct vc_sched_decision d;
	struct vc_vcoproc *curr;
	vc_time_t t0;

	VC_ASSERT_LOCKED(c->lock);
	if (c->cstate == VC_CS_STOPPING) {
		/* Decided already: VC_EV_STOPPED continues, and decides again. */
		c->redecide = true;
		return;
	}
	vc_coproc_charge_curr(c, now);
	curr = c->curr;
	t0 = vc_os_now();
	d = sched_do_schedule(&c->sched, now, curr);
	c->stats.decisions++;
	c->stats.decision_ns += vc_os_now() - t0;
	vc_trace_record(c, VC_TR_DECIDE, 0, d.next ? d.next->id : 0);
	c->sched_deadline = deadline_after(now, d.slice);

	if (d.next && !d.next->has_work) {
		vc_log(VC_LOG_ERR, "%s: %s chose sleeping vcoproc %u", c->name,
		       c->sched.ops->name, d.next->id);
		d.next = NULL;
	}
	if (d.next == curr || (!d.next && (!curr || !curr->has_work))) {
		/* Keep what is loaded; a decision that was refused is dropped. */
		end_refusal_wait(c, curr, now);
		if (curr && curr->has_work && !c->dev_started) {
			int err = plat_start(c, curr->ctx);

			if (err) {
				step_failed(c, curr, "start", err, now);
			} else {
				c->dev_started = true;
				curr->state = VC_VS_RUNNING;
				run_begin(c, curr, plat_ready_at(c, now));
			}
		}
	} else {
		/* Another vcoproc, or nothing runnable while curr still has work
		 * (its budget is out): take curr off the device. */
		do_switch(c, d.next, now);
	}
	coproc_arm(c);
}

/* ---- device events, timers --------------------------------------------------- */

/*
 * What to switch to now that the stop is done: the choice made when it
 * began, unless something the algorithm decides by changed meanwhile (a
 * vcoproc woke, a parameter or the algorithm changed): then it is asked
 * again, so that a vcoproc is never loaded only to be saved at once.
 */
static struct vc_vcoproc *stop_next(struct vc_coproc *c, vc_time_t now)
{
	struct vc_vcoproc *next = c->pending;
	struct vc_sched_decision d;

	if (next && !next->has_work)
		next = NULL;
	if (!c->redecide)
		return next;
	c->redecide = false;
	vc_coproc_charge_curr(c, now);
	d = sched_do_schedule(&c->sched, now, c->curr);
	c->stats.decisions++;
	vc_trace_record(c, VC_TR_DECIDE, 0, d.next ? d.next->id : 0);
	c->sched_deadline = deadline_after(now, d.slice);
	if (!d.next || !d.next->has_work || d.next == c->curr)
		return NULL; /* curr goes on, or nothing: as below */
	return d.next;
}

static void stop_done(struct vc_coproc *c, vc_time_t now)
{
	struct vc_vcoproc *next;

	VC_ASSERT_LOCKED(c->lock);
	next = stop_next(c, now); /* NULL: nothing to switch to (decided again below) */
	if (next) {
		finish_switch(c, next, 0, now);
	} else {
		/* Nothing to switch to any more: let curr go on. */
		c->cstate = VC_CS_READY;
		c->pending = NULL;
		c->dev_started = false;
		if (c->curr && c->curr->has_work) {
			/*
			 * As in finish_switch(): the device reported the stop, not
			 * the idleness, when both came at once; look for ourselves.
			 */
			if (!plat_has_work(c, c->curr->ctx))
				vcoproc_sleep(c, c->curr, now); /* finished as it stopped */
			else
				c->curr->state = VC_VS_RUNNING;
		}
	}
	vc_coproc_reschedule(c, now);
}

static struct vc_vcoproc *lookup_tag(struct vc_coproc *c, uint32_t tag)
{
	unsigned int slot = tag & (VC_MAX_VCOPROCS_PER_COPROC - 1);
	struct vc_vcoproc *v = c->slots[slot];

	return v && v->tag == tag ? v : NULL;
}

void vc_coproc_event(struct vc_coproc *c, uint32_t tag, enum vc_event ev)
{
	struct vc_vcoproc *v;
	vc_time_t now;

	vc_os_lock(c->lock);
	now = vc_os_now();
	v = lookup_tag(c, tag);
	if (!v) {
		c->stats.stale_events++;
		goto out_unlock;
	}
	switch (ev) {
	case VC_EV_IRQ:
		raise_irq(c, v);
		break;
	case VC_EV_IDLE:
		if (c->curr == v && v->has_work && !plat_has_work(c, v->ctx)) {
			vcoproc_sleep(c, v, now);
			vc_coproc_reschedule(c, now); /* yield early */
		}
		break;
	case VC_EV_STOPPED:
		if (c->cstate == VC_CS_STOPPING && c->curr == v)
			stop_done(c, now);
		else
			c->stats.stale_events++;
		break;
	}
	coproc_arm(c);
out_unlock:
	vc_os_unlock(c->lock);
}

static void hang_check(struct vc_coproc *c, vc_time_t now)
{
	struct vc_vcoproc *v = c->curr;

	VC_ASSERT_LOCKED(c->lock);
	c->watch_deadline = VC_TIME_INF;
	if (!v || !v->accounting)
		return;
	stall_account(c, v, now);
	if (v->stalled_ns >= c->desc.hang_timeout) {
		reset_vcoproc(c, v, now, "made no progress (hang)");
		if (c->cstate == VC_CS_STOPPING)
			stop_done(c, now); /* the reset stopped the device */
		else
			vc_coproc_reschedule(c, now);
		return;
	}
	c->watch_deadline = watch_deadline(c, v, now);
}

void vc_coproc_timer_fn(void *arg)
{
	struct vc_coproc *c = arg;
	vc_time_t now;

	vc_os_lock(c->lock);
	if (c->dead) {
		/* Unregistering: a late callback must not re-arm the timer. */
		vc_os_unlock(c->lock);
		return;
	}
	now = vc_os_now();
	c->armed = VC_TIME_INF;
	if (c->cstate == VC_CS_STOPPING && now >= c->stop_deadline) {
		/* Only the time the device has seen counts: a starved one gets the rest. */
		c->stop_seen_ns += seen_since(c, c->stop_check, now);
		c->stop_check = now;
		if (c->stop_seen_ns < c->desc.stop_timeout)
			c->stop_deadline = deadline_after(now, VC_MIN(c->desc.stop_timeout -
								      c->stop_seen_ns,
								      watch_period(c)));
	}
	if (c->cstate == VC_CS_STOPPING && now >= c->stop_deadline) {
		vc_time_t retry;

		/*
		 * The stop may have completed with its VC_EV_STOPPED still on
		 * its way (the device delivers events from its own context):
		 * ask again - stop() is idempotent and answers 0 once the
		 * device has stopped - and reset only a context still running.
		 */
		if (plat_stop(c, c->curr->ctx, &retry))
			reset_vcoproc(c, c->curr, now, "did not stop in time");
		stop_done(c, now);
	}
	if (now >= c->watch_deadline)
		hang_check(c, now);
	if (now >= c->sched_deadline)
		vc_coproc_reschedule(c, now);
	coproc_arm(c);
	vc_os_unlock(c->lock);
}

void vc_coproc_own(struct vc_coproc *c, struct vc_vcoproc *v, vc_time_t now)
{
	VC_ASSERT_LOCKED(c->lock);
	if (c->curr)
		return;
	finish_switch(c, v, 0, now);
	coproc_arm(c);
}

void vc_coproc_evict(struct vc_coproc *c, struct vc_vcoproc *v, vc_time_t now)
{
	vc_time_t retry;
	int r = 0;

	VC_ASSERT_LOCKED(c->lock);
	if (c->curr != v)
		return;
	vcoproc_sleep(c, v, now);
	if (c->cstate == VC_CS_STOPPING)
		r = -VC_EINPROGRESS;
	else if (c->dev_started)
		r = plat_stop(c, v->ctx, &retry);
	/*
	 * Cannot wait: the owner is going away.  A passthrough device is
	 * reset whatever its state: its next owner must find nothing of this
	 * one's (the platform scrubs the context when it is freed).
	 */
	if (r || c->desc.passthrough)
		(void)plat_reset(c, v->ctx, true);
	/* The device lets go of the context before it is freed. */
	(void)plat_save(c, v->ctx);
	c->cstate = VC_CS_READY;
	c->pending = NULL;
	c->curr = NULL;
	c->dev_started = false;
	end_refusal_wait(c, v, now); /* a refused decision ends with v */
	/* No DMA through the departing domain's IOMMU context from now on. */
	(void)plat_iommu_switch(c, NULL);
	v->stats.switches_out++;
}
