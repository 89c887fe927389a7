// SPDX-License-Identifier: MIT
/*
 * DOC: simcp execution engine
 *
 * When things happen on simcp: the timing model, the engine that walks a
 * started context's ring, the two back-ends that drive the engine, and the
 * context-switch protocol (stop, save, IOMMU switch, load, start, reset).
 *
 * The engine, simcp_step(), is the same for both back-ends.  A command
 * goes through begin (simcp_begin(): fetch, check, translate; modeled end
 * = start + cost), its data work (simcp_work(), without the lock), a wait
 * until its modeled end, and retire (simcp_retire(): registers,
 * interrupts).  Commands run back to back: the next one starts when the
 * previous one ended in modeled time, even if the host woke up late, so
 * the modeled timeline does not drift with scheduling noise.
 *
 *   THREAD: a device thread loops over simcp_step() and sleeps on a
 *           CLOCK_MONOTONIC condition variable until the next deadline or
 *           a kick (doorbell, start, stop, reset, ...).
 *   VTIME:  a vc_os_timer fires at each deadline; a kick arms it at now.
 *           With os/vtime.c the whole device runs on virtual time,
 *           deterministically, on the caller's thread.
 *
 * Preemption happens only between commands.  A stop with no command in
 * flight (or only a WAIT that is polling) is immediate; during a
 * non-preemptible section (a command flagged SIMCP_F_NOPREEMPT, or a
 * chain of them linked by SIMCP_F_CHAIN, boundaries inside the chain
 * included) it is refused with the section's remaining modeled time as
 * far as the submitted commands tell; during any other command it is
 * accepted and completes when the command retires (registers and
 * interrupts first, then the stop), reported as VC_EV_STOPPED.  After a
 * refusal the device begins nothing for stop_hold_ns past the section's
 * end, so the retry finds it at a boundary.  No section is longer than
 * np_bound: a command that would pass it faults instead (simcp.c).
 *
 * Save, load and scrub each occupy the device for switch_fixed_ns plus
 * the bytes they move at ctx_bw: the registers, the key slots in use, the
 * dirty-page bitmap and the dirty pages of scratch.  The first command
 * after a switch starts only when the save and load are done, so a switch
 * costs modeled time, and what it costs is what it moved.
 *
 * The timeline also runs on across a switch.  Each switch step (save,
 * load, start) is placed on the device's timeline by simcp_clock(), and
 * the first command after the start begins when the save and load are
 * done (busy_until) and not before the start (resume_at) - not when the
 * device thread gets around to it.  In THREAD mode the framework switches
 * either from its own thread (a slice timer, a doorbell: the steps are at
 * the real time of the call, so a context never runs before it was put on
 * the device or before its work arrived) or from inside the device's
 * VC_EV_STOPPED / VC_EV_IDLE delivery.  There the device thread itself
 * may have reached the boundary late (it sleeps until each command's
 * modeled end and needs a CPU to wake), so the steps are placed at the
 * boundary's modeled time plus the time the receiver took: the thread's
 * lateness is not device time lost.  With no wake-up latency, which is
 * VTIME's case (the timer fires at the modeled time), both rules are the
 * plain clock, as before.
 *
 * Events are queued under the lock and delivered by the engine's own
 * context, the thread or the timer callback, after dropping the lock: the
 * receiver may call back into the device (the framework does).
 */
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "simcp_priv.h"

/* ---- timing model ---------------------------------------------------- */

/* Time to move @bytes at @bw bytes per second, rounded up to a whole ns. */
static vc_time_t xfer_ns(uint64_t bytes, uint64_t bw)
{
	/* bytes <= 2^25 (SIMCP_MAX_LEN, a whole context): no overflow of bytes * 10^9. */
	uint64_t b = bytes * 1000000000ull;

	return b / bw + (b % bw != 0);
}

vc_time_t simcp_cmd_cost(const struct simcp *s, const struct simcp_cmd *cmd)
{
	const struct simcp_timing *t = &s->t;
	uint64_t len = cmd->len > SIMCP_MAX_LEN ? SIMCP_MAX_LEN : cmd->len;

	switch (cmd->op) {
	case SIMCP_OP_COPY: case SIMCP_OP_FILL:
	case SIMCP_OP_LOAD: case SIMCP_OP_STORE:
		return t->cmd_overhead_ns + xfer_ns(len, t->mem_bw);
	case SIMCP_OP_HASH:
		return t->cmd_overhead_ns +
		       xfer_ns(len, cmd->arg == SIMCP_HASH_SHA256 ? t->sha256_bw : t->crc32c_bw);
	case SIMCP_OP_COMPUTE:
		return t->cmd_overhead_ns +
		       (cmd->a > SIMCP_MAX_COMPUTE_NS ? SIMCP_MAX_COMPUTE_NS : cmd->a);
	case SIMCP_OP_KEY:
		return t->cmd_overhead_ns +
		       xfer_ns(cmd->arg & SIMCP_KEY_CLEAR ? 0 : len, t->mem_bw);
	case SIMCP_OP_AES_CBC:
		/* The device's crypto rate; SG tables and key expansion: overhead. */
		return t->cmd_overhead_ns + xfer_ns(len, t->aes_bw);
	default:
		return t->cmd_overhead_ns;
	}
}

vc_time_t simcp_move_ns(const struct simcp *s, uint64_t bytes)
{
	return s->t.switch_fixed_ns + xfer_ns(bytes, s->t.ctx_bw);
}

vc_time_t simcp_switch_cost(const struct simcp *s)
{
	return 2 * s->ctx_ns;
}

void simcp_timing(const struct simcp *s, struct simcp_timing *out)
{
	*out = s->t;
}

void simcp_stats(struct simcp *s, struct simcp_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
}

vc_time_t simcp_now(const struct simcp *s)
{
	struct timespec ts;

	if (s->mode == SIMCP_MODE_VTIME)
		return vc_os_now();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (vc_time_t)ts.tv_sec * 1000000000ull + (vc_time_t)ts.tv_nsec;
}

static vc_time_t later(vc_time_t a, vc_time_t b)
{
	return a > b ? a : b;
}

/* THREAD: the device whose events this thread is delivering, or NULL. */
static __thread const struct simcp *tls_delivering;

/*
 * The time of a switch step (save, load, start) on the device's timeline:
 * simcp_now(), less the device thread's lateness in reaching the boundary
 * whose events it is delivering when the step is called from inside that
 * delivery.  s->lock held.
 */
static vc_time_t simcp_clock(const struct simcp *s)
{
	vc_time_t now = simcp_now(s);

	/* s->lag is stable while its events are out: only the thread sets it. */
	if (tls_delivering == s && now > s->lag)
		return now - s->lag;
	return now;
}

/* ---- the engine (s->lock held) --------------------------------------- */

void simcp_kick_mark(struct simcp *s)
{
	if (s->mode == SIMCP_MODE_THREAD && s->sleep_until && s->kicked_at == VC_TIME_INF)
		s->kicked_at = simcp_now(s);
}

void simcp_kick_wake(struct simcp *s)
{
	if (s->mode == SIMCP_MODE_THREAD)
		pthread_cond_broadcast(&s->cond);
	else
		vc_os_timer_arm(s->timer, vc_os_now());
}

void simcp_kick(struct simcp *s)
{
	simcp_kick_mark(s);
	simcp_kick_wake(s);
}

/*
 * The device's own view of time (vc_platform_ops.seen): while the engine
 * thread runs, now; while it sleeps until a time of its own (a command's
 * modeled end), up to that time; after a kick it has not woken for, up to
 * the kick.  A thread the host does not run sees nothing past that.
 */
vc_time_t simcp_seen(struct simcp *s)
{
	vc_time_t now, seen, limit;

	if (s->mode != SIMCP_MODE_THREAD)
		return vc_os_now();
	pthread_mutex_lock(&s->lock);
	now = simcp_now(s);
	if (!s->sleep_until) {
		seen = now;
	} else {
		limit = s->sleep_until < s->kicked_at ? s->sleep_until : s->kicked_at;
		seen = now < limit ? now : limit;
		if (seen < s->run_at)
			seen = s->run_at;
	}
	pthread_mutex_unlock(&s->lock);
	return seen;
}

void simcp_wait_work(struct simcp *s)
{
	while (s->cur.phase == SIMCP_PH_WORK)
		pthread_cond_wait(&s->cond, &s->lock);
}

void simcp_abort(struct simcp *s, bool report_stop)
{
	s->cur.phase = SIMCP_PH_NONE;
	s->chain = false;
	s->np_open = false;
	if (s->stop_pending) {
		s->stop_pending = false;
		s->started = false;
		if (report_stop)
			simcp_queue_event(s, s->owner->tag, VC_EV_STOPPED);
	}
}

/*
 * The command @f of a non-preemptible section has retired: the section
 * goes on when @f is flagged SIMCP_F_CHAIN, did not fault, and the next
 * command is already submitted; else it ends here, and the device holds
 * at this boundary if a stop was refused during it.
 */
static void np_retired(struct simcp *s, const struct simcp_inflight *f)
{
	if (!s->np_open)
		return;
	if (!f->fault && (f->cmd.flags & SIMCP_F_CHAIN) && !s->stop_pending &&
	    s->started && s->loaded && simcp_state_has_work(&s->live))
		return;
	s->np_open = false;
	if (s->np_refused) {
		s->np_refused = false;
		s->hold_until = f->end + s->stop_hold_ns;
	}
}

/*
 * A flagged WAIT still polling once its section has run to the device's
 * bound is cut there, as a command that would pass the bound is
 * (SIMCP_FAULT_NONPREEMPT, not completed): a non-preemptible section never
 * holds the device longer than max_nonpreempt, whatever it waits for.
 * Returns whether @f was cut.
 */
static bool np_wait_cut(struct simcp *s, struct simcp_inflight *f)
{
	vc_time_t before;

	if (!(f->cmd.flags & SIMCP_F_NOPREEMPT) || !s->np_open)
		return false;
	/* The section's time before this WAIT (np_spent counts it as satisfied at once). */
	before = s->np_spent - simcp_cmd_cost(s, &f->cmd);
	if (f->end - f->start <= s->np_bound - before)
		return false;
	f->fault = SIMCP_FAULT_NONPREEMPT;
	f->fault_addr = 0;
	f->src = NULL;
	return true;
}

/*
 * simcp_step() - advance the device to @now: retire what is due, begin
 * what can begin.  Returns the next time it must run (VC_TIME_INF: only
 * on a kick), or @now when the caller must first do the data work of
 * s->cur (phase SIMCP_PH_WORK: simcp_run_work()) or deliver the queued
 * events (simcp_deliver()), and then call it again.
 */
static vc_time_t simcp_step(struct simcp *s, vc_time_t now)
{
	struct simcp_inflight *f = &s->cur;

	/* Events queued from here on left the device at a boundary @now. */
	s->lag = 0;
	for (;;) {
		vc_time_t t;

		if (f->phase == SIMCP_PH_WORK)
			return now;
		if (f->phase == SIMCP_PH_TIMED) {
			if (now < f->end)
				return f->end;
			if (f->poll) {
				if (!simcp_wait_satisfied(s) && !np_wait_cut(s, f)) {
					/* No progress: look again a poll period later. */
					f->end = later(f->end, now) + s->t.wait_poll_ns;
					return f->end;
				}
				f->poll = false;
			}
			s->chain = true;
			s->chain_end = f->end;
			s->lag = now - f->end;
			simcp_retire(s);
			np_retired(s, f);
			if (s->stop_pending) {
				/* The boundary a stop was waiting for. */
				s->stop_pending = false;
				s->started = false;
				s->chain = false;
				simcp_queue_event(s, s->owner->tag, VC_EV_STOPPED);
				return VC_TIME_INF;
			}
		}

		if (!s->started || !s->loaded) {
			s->chain = false;
			s->resume = false;
			return VC_TIME_INF;
		}
		if (!simcp_state_has_work(&s->live)) {
			/* Idle since the last command's end, if it ran up to now. */
			s->lag = s->chain ? now - s->chain_end : 0;
			s->chain = false;
			s->resume = false;
			if (!s->idle_reported) {
				s->idle_reported = true;
				simcp_queue_event(s, s->owner->tag, VC_EV_IDLE);
			}
			return VC_TIME_INF;
		}
		/* Events of the last retire go out before the next begins. */
		if (s->nr_ev)
			return now;
		/*
		 * Back to back with the previous command (or, first after a
		 * start, from the start), after any save/load, and not while
		 * holding for the retry of a refused stop.
		 */
		t = s->chain ? s->chain_end : s->resume ? s->resume_at : now;
		t = later(later(t, s->busy_until), s->hold_until);
		if (t > now)
			return t;
		s->chain = false;
		s->resume = false;
		s->idle_reported = false;
		simcp_begin(s, t);
	}
}

/* Do s->cur's data work without the lock (phase WORK keeps others off). */
static void simcp_run_work(struct simcp *s)
{
	pthread_mutex_unlock(&s->lock);
	simcp_work(s);
	pthread_mutex_lock(&s->lock);
	s->cur.phase = SIMCP_PH_TIMED;
	pthread_cond_broadcast(&s->cond);
}

/* Deliver the queued events without the lock; returns with it held. */
static void simcp_deliver(struct simcp *s)
{
	struct simcp_event ev[SIMCP_EVQ_LEN];
	simcp_event_fn sink = s->sink;
	void *opaque = s->sink_opaque;
	unsigned int n = s->nr_ev;

	memcpy(ev, s->evq, n * sizeof(ev[0]));
	s->nr_ev = 0;
	if (!sink) {
		s->stats.events_dropped += n;
		return;
	}
	s->stats.events += n;
	s->delivering++;
	if (s->mode == SIMCP_MODE_THREAD)
		tls_delivering = s;
	pthread_mutex_unlock(&s->lock);
	for (unsigned int i = 0; i < n; i++)
		sink(opaque, ev[i].tag, ev[i].ev);
	pthread_mutex_lock(&s->lock);
	tls_delivering = NULL;
	s->delivering--;
	pthread_cond_broadcast(&s->cond);
}

/* ---- back-ends ------------------------------------------------------- */

static void *simcp_thread(void *arg)
{
	struct simcp *s = arg;

	/*
	 * The device sleeps until each command's modeled end: without this,
	 * Linux adds its default 50 us of timer slack to every such wait, on
	 * commands that model a few microseconds.
	 */
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	pthread_mutex_lock(&s->lock);
	while (!s->exiting) {
		vc_time_t now = simcp_now(s), next;
		struct timespec ts;

		s->run_at = now;
		s->sleep_until = 0;
		s->kicked_at = VC_TIME_INF;
		next = simcp_step(s, now);
		if (s->cur.phase == SIMCP_PH_WORK) {
			simcp_run_work(s);
			continue;
		}
		if (s->nr_ev) {
			simcp_deliver(s);
			continue;
		}
		if (next == VC_TIME_INF) {
			s->sleep_until = VC_TIME_INF;
			pthread_cond_wait(&s->cond, &s->lock);
			continue;
		}
		if (next <= now)
			continue;
		ts.tv_sec = (time_t)(next / 1000000000ull);
		ts.tv_nsec = (long)(next % 1000000000ull);
		s->sleep_until = next;
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static void simcp_timer_fn(void *arg)
{
	struct simcp *s = arg;
	vc_time_t next;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		next = simcp_step(s, vc_os_now());
		if (s->cur.phase == SIMCP_PH_WORK)
			simcp_run_work(s);
		else if (s->nr_ev)
			simcp_deliver(s);
		else
			break;
	}
	/* Re-armed from the state alone, so early or repeated calls are harmless. */
	if (next != VC_TIME_INF)
		vc_os_timer_arm(s->timer, next);
	pthread_mutex_unlock(&s->lock);
}

/* ---- creation -------------------------------------------------------- */

static void timing_defaults(struct simcp_timing *t, enum simcp_mode mode)
{
	if (!t->cmd_overhead_ns)
		t->cmd_overhead_ns = SIMCP_DEF_CMD_OVERHEAD_NS;
	if (!t->mem_bw)
		t->mem_bw = SIMCP_DEF_MEM_BW;
	if (!t->crc32c_bw)
		t->crc32c_bw = SIMCP_DEF_CRC32C_BW;
	if (!t->sha256_bw)
		t->sha256_bw = SIMCP_DEF_SHA256_BW;
	if (!t->aes_bw)
		t->aes_bw = SIMCP_DEF_AES_BW;
	if (!t->ctx_bw)
		t->ctx_bw = SIMCP_DEF_CTX_BW;
	if (!t->wait_poll_ns)
		t->wait_poll_ns = mode == SIMCP_MODE_THREAD ? SIMCP_DEF_WAIT_POLL_THREAD_NS
							     : SIMCP_DEF_WAIT_POLL_VTIME_NS;
}

int simcp_create(const struct simcp_config *cfg, struct simcp **out)
{
	pthread_condattr_t ca;
	struct simcp *s;
	int err;

	if (cfg->mode != SIMCP_MODE_VTIME && cfg->mode != SIMCP_MODE_THREAD)
		return -VC_EINVAL;
	if (cfg->ctx_size && (cfg->ctx_size < SIMCP_CTX_SIZE_MIN ||
			      cfg->ctx_size > SIMCP_CTX_SIZE_MAX ||
			      cfg->ctx_size % SIMCP_PAGE_SIZE))
		return -VC_EINVAL;
	s = vc_os_zalloc(sizeof(*s));
	if (!s)
		return -VC_ENOMEM;
	err = -VC_ENOMEM;
	s->mode = cfg->mode;
	s->t = cfg->timing;
	timing_defaults(&s->t, s->mode);
	s->ctx_size = cfg->ctx_size ? cfg->ctx_size : SIMCP_SCRATCH_SIZE;
	s->nr_pages = s->ctx_size / SIMCP_PAGE_SIZE;
	/* The worst case: every key slot and every page. */
	s->ctx_ns = simcp_move_ns(s, sizeof(struct simcp_regs) + sizeof(uint64_t) +
				  (s->nr_pages + 7) / 8 +
				  SIMCP_KEY_SLOTS * sizeof(struct simcp_keyslot) +
				  s->ctx_size);
	s->max_nonpreempt = cfg->max_nonpreempt;
	s->np_bound = cfg->max_nonpreempt ? cfg->max_nonpreempt
					  : SIMCP_MAX_COMPUTE_NS + s->t.cmd_overhead_ns;
	s->stop_hold_ns = cfg->stop_hold_ns ? cfg->stop_hold_ns : SIMCP_STOP_HOLD_DEFAULT_NS;
	s->sink = cfg->event;
	s->sink_opaque = cfg->event_opaque;
	s->own_sink = cfg->event != NULL;

	s->live.scratch = vc_os_zalloc(s->ctx_size);
	if (!s->live.scratch)
		goto out_free;
	err = simcp_aes_init(s);
	if (err)
		goto out_scratch;
	err = -VC_ENOMEM;
	if (pthread_mutex_init(&s->lock, NULL))
		goto out_aes;
	if (pthread_condattr_init(&ca))
		goto out_lock;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
	    pthread_cond_init(&s->cond, &ca)) {
		pthread_condattr_destroy(&ca);
		goto out_lock;
	}
	pthread_condattr_destroy(&ca);

	if (s->mode == SIMCP_MODE_VTIME) {
		s->timer = vc_os_timer_create(simcp_timer_fn, s);
		if (!s->timer)
			goto out_cond;
	} else if (pthread_create(&s->thread, NULL, simcp_thread, s)) {
		err = -VC_EAGAIN;
		goto out_cond;
	}
	*out = s;
	return 0;

out_cond:
	pthread_cond_destroy(&s->cond);
out_lock:
	pthread_mutex_destroy(&s->lock);
out_aes:
	simcp_aes_fini(s);
out_scratch:
	vc_os_free(s->live.scratch);
out_free:
	vc_os_free(s);
	return err;
}

void simcp_destroy(struct simcp *s)
{
	if (!s)
		return;
	if (s->mode == SIMCP_MODE_THREAD) {
		pthread_mutex_lock(&s->lock);
		s->exiting = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	} else {
		vc_os_timer_destroy(s->timer);
	}
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	simcp_aes_fini(s);
	simcp_state_scrub(s, &s->live);
	vc_os_free(s->live.scratch);
	vc_os_free(s);
}

/* ---- the switch protocol (platform.h) -------------------------------- */

int simcp_stop(struct simcp_ctx *x, vc_time_t *retry_after)
{
	struct simcp *s = x->dev;
	struct simcp_inflight *f = &s->cur;
	vc_time_t now, rest = 0;
	bool np;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (!s->loaded || s->owner != x || !s->started)
		goto out; /* not running: stopped already */
	if (s->stop_pending) {
		ret = -VC_EINPROGRESS;
		goto out;
	}
	now = simcp_now(s);
	/* A command that faults runs nothing: it is never non-preemptible. */
	np = f->phase != SIMCP_PH_NONE && (f->cmd.flags & SIMCP_F_NOPREEMPT) && !f->fault;
	if (f->phase == SIMCP_PH_NONE && s->np_open) {
		/* Between two commands of a chain: inside the section. */
		rest = simcp_np_rest(s);
	} else if (np && f->end > now) {
		rest = f->end - now + simcp_np_rest(s);
	} else if (np && (f->cmd.flags & SIMCP_F_CHAIN)) {
		/* At its end (the thread is late): the rest of the chain, if any. */
		rest = simcp_np_rest(s);
	}
	if (rest) {
		*retry_after = rest;
		/* Keep the boundary after the section for the retry (np_retired()). */
		s->np_refused = true;
		ret = -VC_EAGAIN;
	} else if (f->phase == SIMCP_PH_NONE ||
		   (f->phase == SIMCP_PH_TIMED && f->poll && !np)) {
		/* At a boundary; a polling WAIT has done nothing and restarts. */
		f->phase = SIMCP_PH_NONE;
		s->chain = false;
		s->started = false;
		s->np_open = false;
		s->hold_until = 0;
	} else {
		s->stop_pending = true;
		ret = -VC_EINPROGRESS;
	}
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int simcp_save(struct simcp_ctx *x)
{
	struct simcp *s = x->dev;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (!s->loaded || s->owner != x) {
		ret = -VC_EINVAL;
	} else if (s->started || s->cur.phase != SIMCP_PH_NONE) {
		ret = -VC_EBUSY;
	} else {
		uint64_t bytes = simcp_state_move(s, &x->st, &s->live);

		/* The live copy stays until the next load replaces or zeroes it. */
		s->loaded = false;
		s->busy_until = later(s->busy_until, simcp_clock(s)) + simcp_move_ns(s, bytes);
		s->stats.saves++;
		s->stats.ctx_bytes_moved += bytes;
		s->stats.ctx_move_ns += simcp_move_ns(s, bytes);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int simcp_set_iommu(struct simcp *s, const struct vc_iommu *io)
{
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (s->started || s->cur.phase != SIMCP_PH_NONE)
		ret = -VC_EBUSY;
	else
		s->iommu = io;
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int simcp_load(struct simcp_ctx *x)
{
	struct simcp *s = x->dev;
	uint64_t bytes;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (s->loaded) {
		/* Reloading the loaded context is a no-op; another is an error. */
		if (s->owner != x || s->started)
			ret = -VC_EBUSY;
		goto out;
	}
	/* Pages the previous owner dirtied and @x did not are zeroed here. */
	bytes = simcp_state_move(s, &s->live, &x->st);
	s->owner = x;
	s->loaded = true;
	s->started = false;
	s->stop_pending = false;
	s->idle_reported = false;
	s->np_open = false;
	s->np_refused = false;
	s->busy_until = later(s->busy_until, simcp_clock(s)) + simcp_move_ns(s, bytes);
	s->stats.loads++;
	s->stats.ctx_bytes_moved += bytes;
	s->stats.ctx_move_ns += simcp_move_ns(s, bytes);
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int simcp_start(struct simcp_ctx *x)
{
	struct simcp *s = x->dev;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (!s->loaded || s->owner != x) {
		ret = -VC_EINVAL;
	} else if (!s->started) {
		s->started = true;
		s->idle_reported = false;
		s->chain = false;
		s->hold_until = 0;
		/*
		 * Work it has now runs from the start on the device's timeline,
		 * never before the work arrived; work that arrives later runs
		 * from its doorbell.
		 */
		s->resume = simcp_state_has_work(&s->live);
		s->resume_at = later(simcp_clock(s), x->work_at);
		simcp_kick(s);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int simcp_reset(struct simcp_ctx *x)
{
	struct simcp *s = x->dev;
	struct simcp_state *st = &x->st;

	pthread_mutex_lock(&s->lock);
	simcp_wait_work(s);
	if (s->loaded && s->owner == x) {
		/* The framework gave up on the stop: no VC_EV_STOPPED. */
		simcp_abort(s, false);
		s->started = false;
		st = &s->live;
	}
	simcp_hang_reset(st);
	s->stats.resets++;
	pthread_mutex_unlock(&s->lock);
	return 0;
}
