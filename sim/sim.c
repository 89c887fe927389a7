// SPDX-License-Identifier: MIT
/*
 * DOC: vcoproc-sim engine
 *
 * Builds one framework instance with one simcp coprocessor ("simcp0") in
 * virtual-time mode and one domain per scenario domain, then runs the
 * virtual-time event loop.  Everything happens on the caller's thread, in
 * deadline order, so a run is a pure function of its scenario.
 *
 * A domain is what a guest would be:
 *
 *   - guest memory: a host buffer at SIM_MEM_GPA, the only region of its
 *     IOMMU context; the command ring sits at its start, a semaphore that
 *     nobody ever writes (for "hang") right after it;
 *   - the native simcp driver (driver/simcp), whose register accessors
 *     call vc_domain_mmio() - forwarded to the device or emulated on the
 *     saved context by the framework, the driver cannot tell which;
 *   - an interrupt handler: the host's irq_raise is called with the coproc
 *     lock held and must not re-enter the framework, so it only arms a
 *     zero-delay timer; the handler runs right after, at the same virtual
 *     time, like an interrupt taken when the lock is released;
 *   - a scripted workload: jobs of COMPUTE commands (a share of the
 *     compute time flagged SIMCP_F_NOPREEMPT) closed by a FENCE with an
 *     interrupt, released by an arrival model.
 *
 * Shares and every scheduling figure come from the framework's statistics;
 * the workload's bookkeeping (jobs, latencies, fences) is kept apart, as
 * the guest's own view.
 *
 * Ownership: struct sim owns everything it creates and sim_destroy()
 * releases it in reverse order.  Virtual time is global (os/vtime.c), so
 * one struct sim may exist at a time.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vcoproc/platform.h>
#include <vcoproc/sched.h>
#include <vcoproc/vtime.h>

#include "hist.h"
#include "simcp.h"
#include "simcp_drv.h"
#include "sim.h"

#define SIM_JOBQ_LEN   4096 /* released jobs a domain keeps before dropping */
#define SIM_RING_MIN   4096u
#define SIM_RING_MAX   (1u << 20)
#define SIM_FENCE_BASE(domid) ((uint64_t)(domid) << 40)

/* A released job; @fence is 0 until it is in the ring. */
struct sim_job {
	vc_time_t release;
	uint64_t fence;
};

struct sim_dom {
	struct sim *sim;
	unsigned int idx;
	const struct sim_domain_cfg *cfg;
	uint32_t domid;

	uint8_t *mem;                 /* guest memory, cfg->mem bytes */
	struct vc_iommu_region region;
	struct vc_iommu iommu;
	uint32_t ring_size;
	uint64_t sem_gpa;             /* 8 bytes nobody writes */

	struct vc_domain *vd;
	struct vc_vcoproc *vv;        /* NULL: refused, or destroyed */
	struct simcp_drv drv;
	int space;                    /* ring slots known free */

	struct vc_os_timer *irq_timer;
	struct vc_os_timer *arrival_timer;
	bool irq_armed;

	/*
	 * FIFO of released jobs, submitted ones first: a power of two of
	 * entries, @depth's worth for a saturating domain (it never holds
	 * more), SIM_JOBQ_LEN for the others.  Owned.
	 */
	struct sim_job *jobq;
	unsigned int jq_mask;
	unsigned int jq_head, jq_nr, jq_submitted;
	uint64_t rng;
	double np_debt;               /* NP compute time owed to the target share */
	vc_time_t deadline;           /* 0: none */

	struct sim_hist lat;          /* release -> completion; rows owned */
	/* The current window: run_ns at its start; whether the domain ran
	 * out of submitted jobs in it (even for an instant). */
	vc_time_t win_run0;
	bool win_idle;

	struct sim_dom_result res;
};

struct sim {
	struct sim_scenario scn;
	struct simcp *dev;
	struct vc_fw *fw;
	struct vc_coproc *coproc;
	vc_time_t switch_cost, max_np;
	struct vc_os_timer *ev_timer;
	unsigned int next_ev;
	bool draining;
	uint64_t timer_events;
	uint64_t event_errors;
	struct sim_dom *dom;          /* scn.nr_domains of them, owned */

	/*
	 * Windows (scn.window > 0): one row of nr_domains entries per
	 * complete window, window-major; rows grow by doubling.  Owned.
	 */
	struct vc_os_timer *win_timer;
	unsigned int nr_windows, win_cap;
	double *win_share, *win_exp;
	double *exp0;                 /* expected shares at the window's start */
	struct vc_vcoproc **vs;       /* scratch for vc_coproc_expected_shares() */
	struct vc_share *vsh;
	bool win_exp_ok;              /* exp0 defined */

	/* scn.switch_steps: the platform's hooks, timed (step_ops). */
	const struct vc_platform_ops *plat_ops;
	struct vc_platform_ops step_ops;
	struct sim_step_stats steps[SIM_STEPS];
	vc_time_t stop_since;         /* first stop request of this switch; 0: none */
};

/* Only one simulation at a time: virtual time is process-wide. */
static struct sim *the_sim;

static int VC_PRINTF(4, 5) sim_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* ---- randomness (splitmix64: tiny, seedable, good enough) --------------- */

uint64_t sim_rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(uint64_t *s)
{
	return (double)(sim_rng_next(s) >> 11) * 0x1.0p-53;
}

static vc_time_t rng_range(uint64_t *s, vc_time_t lo, vc_time_t hi)
{
	return hi > lo ? lo + sim_rng_next(s) % (hi - lo + 1) : lo;
}

/* ---- the driver's bus: every access through the framework --------------- */

static uint32_t bus_read32(void *opaque, uint32_t off)
{
	struct sim_dom *d = opaque;
	uint64_t v = ~0ull;

	(void)vc_domain_mmio(d->vd, SIM_MMIO_GPA + off, 4, false, &v);
	return (uint32_t)v;
}

static void bus_write32(void *opaque, uint32_t off, uint32_t val)
{
	struct sim_dom *d = opaque;
	uint64_t v = val;

	(void)vc_domain_mmio(d->vd, SIM_MMIO_GPA + off, 4, true, &v);
}

/* ---- workload ---------------------------------------------------------------- */

static inline struct sim_job *jobq_at(struct sim_dom *d, unsigned int i)
{
	return &d->jobq[(d->jq_head + i) & d->jq_mask];
}

static void job_release(struct sim_dom *d, vc_time_t now)
{
	d->res.jobs_released++;
	if (d->jq_nr == d->jq_mask + 1) {
		d->res.jobs_dropped++; /* the guest's own queue overflows */
		return;
	}
	*jobq_at(d, d->jq_nr++) = (struct sim_job){ .release = now };
}

static void job_pop(struct sim_dom *d)
{
	d->jq_head = (d->jq_head + 1) & d->jq_mask;
	d->jq_nr--;
	if (!--d->jq_submitted)
		d->win_idle = true; /* the device has nothing of it now */
}

/* Commands a job of the largest size takes: its chunks and its fence. */
static unsigned int cmds_per_job(const struct sim_domain_cfg *c)
{
	vc_time_t n = (c->job_max + c->chunk - 1) / c->chunk + 1;

	/* Each chain may split a chunk at its start and at its end. */
	if (c->chain_min)
		n += 2 * (c->job_max / c->chain_min + 1);
	return (unsigned int)n;
}

/*
 * The most NOPREEMPT chunks @c puts back to back.  The device refuses a
 * stop for as long as flagged commands follow each other, so a run of them
 * is one non-preemptible section: at most one chunk while np <= 1/2 (a
 * preemptible chunk between any two), just enough for the share above.
 */
static unsigned int np_run_max(const struct sim_domain_cfg *c)
{
	if (c->np <= 0.5)
		return 1;
	if (c->np >= 1.0)
		return UINT32_MAX; /* the whole job */
	return (unsigned int)ceil(c->np / (1.0 - c->np));
}

/*
 * The longest non-preemptible section @c's jobs contain, as the device
 * holds it: a stop waits for the command in flight, so every command is
 * one, and a run of flagged ones is one; each command with its overhead.
 */
static vc_time_t np_section_max(const struct sim_domain_cfg *c)
{
	unsigned int run = c->np > 0 ? np_run_max(c) : 1;

	if (c->chain_min && c->job_max && c->arrival != SIM_ARRIVAL_IDLE) {
		/* A chain is its own section, cut at the end of its job. */
		vc_time_t len = VC_MIN(c->chain_max, c->job_max);
		vc_time_t cmds = (len + c->chunk - 1) / c->chunk;

		return VC_MAX(len, c->chunk) + cmds * SIMCP_DEF_CMD_OVERHEAD_NS;
	}
	vc_time_t cmds = (c->job_max + c->chunk - 1) / c->chunk;

	if (!c->job_max || c->arrival == SIM_ARRIVAL_IDLE)
		return 0;
	if (cmds > run)
		cmds = run;
	return VC_MIN(c->job_max, cmds * c->chunk) + cmds * SIMCP_DEF_CMD_OVERHEAD_NS;
}

/*
 * Queue the COMPUTE chunks and the fence of @job.  The NOPREEMPT flags
 * follow the target share by error diffusion with a random dither: the
 * time owed to it grows by np * chunk, and a chunk is flagged with
 * probability owed/chunk (runs bounded by np_run_max()) - the positions
 * are random, the share exact in the long run.
 *
 * With chains (chain_min > 0) the owed time is paid in chains instead:
 * whenever some is owed, a chain of uniform length in [chain_min,
 * chain_max] (cut at the job's end) is queued as chunk-sized commands
 * flagged NOPREEMPT | CHAIN, the last one NOPREEMPT only, so the device
 * runs it as one non-preemptible section.
 */
static int job_submit(struct sim_dom *d, struct sim_job *job)
{
	const struct sim_domain_cfg *c = d->cfg;
	vc_time_t left = rng_range(&d->rng, c->job_min, c->job_max), chain = 0;
	unsigned int run = 0, run_max = np_run_max(c);
	uint32_t scratch = c->scratch;
	int err;

	d->res.compute_ns += left;
	while (left) {
		vc_time_t len = VC_MIN(left, c->chunk);
		struct simcp_cmd cmd = { .op = SIMCP_OP_COMPUTE, .a = len, .len = scratch };

		scratch = 0; /* the job's working set: written once per job */
		if (c->chain_min && !chain && d->np_debt > 0) {
			chain = VC_MIN(rng_range(&d->rng, c->chain_min, c->chain_max), left);
			d->res.chains++;
		}
		if (chain) {
			len = VC_MIN(len, chain);
			cmd.a = len;
			chain -= len;
			cmd.flags = SIMCP_F_NOPREEMPT | (chain ? SIMCP_F_CHAIN : 0);
			d->np_debt += c->np * (double)len - (double)len;
			d->res.np_ns += len;
		} else if (c->chain_min) {
			d->np_debt += c->np * (double)len;
		} else {
			d->np_debt += c->np * (double)len;
			if (c->np > 0 && run < run_max &&
			    rng_unit(&d->rng) * (double)len < d->np_debt) {
				cmd.flags = SIMCP_F_NOPREEMPT;
				d->np_debt -= (double)len;
				d->res.np_ns += len;
				run++;
			} else {
				run = 0;
			}
		}
		err = simcp_drv_submit(&d->drv, &cmd);
		if (err)
			return err;
		left -= len;
	}
	return simcp_drv_fence(&d->drv, true, &job->fence);
}

/* Put released jobs into the ring while there is room, then ring the doorbell. */
static void dom_pump(struct sim_dom *d)
{
	int need = (int)cmds_per_job(d->cfg);

	if (!d->vv)
		return;
	while (d->jq_submitted < d->jq_nr) {
		if (d->space < need) {
			d->space = simcp_drv_space(&d->drv);
			if (d->space < need) {
				d->res.ring_full++;
				break;
			}
		}
		/* Fails only while the device is halted, before the first command. */
		if (job_submit(d, jobq_at(d, d->jq_submitted)))
			break;
		d->space -= need;
		d->jq_submitted++;
		d->res.jobs_submitted++;
	}
	d->res.fences_emitted = simcp_drv_fence_emitted(&d->drv) - SIM_FENCE_BASE(d->domid);
	simcp_drv_kick(&d->drv);
}

/* Saturating domains keep cfg->depth jobs outstanding. */
static void dom_top_up(struct sim_dom *d, vc_time_t now)
{
	if (d->cfg->arrival != SIM_ARRIVAL_SATURATE || d->sim->draining)
		return;
	while (d->jq_nr < d->cfg->depth)
		job_release(d, now);
}

/* Retire the submitted jobs whose fence is <= @fence. */
static void dom_complete(struct sim_dom *d, uint64_t fence, vc_time_t now)
{
	while (d->jq_submitted && jobq_at(d, 0)->fence <= fence) {
		struct sim_job *j = jobq_at(d, 0);
		vc_time_t lat = now - j->release;

		d->res.jobs_completed++;
		d->res.lat_total_ns += lat;
		if (lat > d->res.lat_max_ns)
			d->res.lat_max_ns = lat;
		sim_hist_add(&d->lat, lat);
		if (d->deadline && lat > d->deadline)
			d->res.job_misses++;
		job_pop(d);
	}
}

static void arrival_fn(void *arg)
{
	struct sim_dom *d = arg;
	vc_time_t now = vc_os_now(), gap;

	if (d->sim->draining || !d->vv)
		return;
	switch (d->cfg->arrival) {
	case SIM_ARRIVAL_SATURATE:
		dom_top_up(d, now);
		break;
	case SIM_ARRIVAL_PERIODIC:
		job_release(d, now);
		vc_os_timer_arm(d->arrival_timer, now + d->cfg->every);
		break;
	case SIM_ARRIVAL_POISSON:
		job_release(d, now);
		gap = (vc_time_t)llround(-log(1.0 - rng_unit(&d->rng)) * (double)d->cfg->every);
		vc_os_timer_arm(d->arrival_timer, now + VC_MAX(gap, (vc_time_t)1));
		break;
	case SIM_ARRIVAL_IDLE:
		break;
	}
	dom_pump(d);
}

/* ---- interrupts ------------------------------------------------------------------- */

/* vc_host_ops.irq_raise: coproc lock held, so only note it and defer. */
static void sim_irq_raise(void *host_dom, uint32_t irq)
{
	struct sim_dom *d = host_dom;

	(void)irq;
	d->res.irqs_raised++;
	if (!d->irq_armed) {
		d->irq_armed = true;
		vc_os_timer_arm(d->irq_timer, vc_os_now());
	}
}

static const struct vc_host_ops sim_hops = {
	.irq_raise = sim_irq_raise,
};

/* A fence value the device reported: must be one this domain emitted. */
static void check_fence(struct sim_dom *d, uint64_t raw)
{
	uint64_t base = SIM_FENCE_BASE(d->domid);

	if (raw == 0)
		return; /* the reset value, before the driver's seed retires */
	if (raw < base || raw > simcp_drv_fence_emitted(&d->drv)) {
		d->res.foreign_fences++;
		return;
	}
	if (raw - base > d->res.fences_seen_max)
		d->res.fences_seen_max = raw - base;
}

/* The domain's interrupt handler, as its kernel would run it. */
static void irq_fn(void *arg)
{
	struct sim_dom *d = arg;
	struct simcp_drv_irq_info info;
	vc_time_t now = vc_os_now();
	int lost;

	d->irq_armed = false;
	if (!d->vv)
		return;
	d->res.irq_handlers++;
	if (!simcp_drv_irq(&d->drv, &info)) {
		d->res.irqs_spurious++;
		return;
	}
	check_fence(d, info.fence_raw);
	dom_complete(d, info.fence, now);
	if (info.status & SIMCP_IRQ_ERROR) {
		d->res.errors++;
		if (info.fault.code == SIMCP_FAULT_HANG)
			d->res.hang_faults++;
		if (info.fault.code == SIMCP_FAULT_NONPREEMPT)
			d->res.np_faults++;
		/* Go on with the ring; whatever the fault dropped is lost. */
		lost = simcp_drv_recover(&d->drv, SIMCP_DRV_RESUME);
		if (lost > 0) {
			while (d->jq_submitted) {
				d->res.jobs_lost++;
				job_pop(d);
			}
		}
		d->space = 0;
	}
	dom_top_up(d, now);
	dom_pump(d);
}

/* ---- scenario events ----------------------------------------------------------------- */

static void dom_stop(struct sim_dom *d)
{
	vc_os_timer_destroy(d->irq_timer);
	vc_os_timer_destroy(d->arrival_timer);
	d->irq_timer = d->arrival_timer = NULL;
}

static void log_event_err(struct sim *sim, const struct sim_event *e, const char *what,
			  int err)
{
	char where[SIM_SRC_MAX + 32];

	sim->event_errors++;
	vc_log(VC_LOG_WARN, "sim: %sevent at %llu ns: %s failed: %s",
	       sim_scenario_where(&sim->scn, e->line, 0, where, sizeof(where)),
	       (unsigned long long)e->at, what, vc_strerror(err));
}

static void apply_event(struct sim *sim, const struct sim_event *e)
{
	struct sim_dom *d = &sim->dom[e->dom];
	struct simcp_cmd wait;
	int err;

	switch (e->type) {
	case SIM_EV_SET:
		for (unsigned int i = 0; d->vv && i < e->nr_params; i++) {
			err = vc_vcoproc_param_set(d->vv, e->params[i].key, e->params[i].val);
			if (err)
				log_event_err(sim, e, e->params[i].key, err);
		}
		break;
	case SIM_EV_SCHED:
		err = vc_coproc_sched_set(sim->coproc, e->algo);
		if (err)
			log_event_err(sim, e, e->algo, err);
		break;
	case SIM_EV_PARAM:
		for (unsigned int i = 0; i < e->nr_params; i++) {
			err = vc_coproc_param_set(sim->coproc, e->params[i].key,
						  e->params[i].val);
			if (err)
				log_event_err(sim, e, e->params[i].key, err);
		}
		break;
	case SIM_EV_HANG:
		if (!d->vv)
			break;
		/* Wait for a semaphore nobody will ever set. */
		wait = (struct simcp_cmd){ .op = SIMCP_OP_WAIT, .a = d->sem_gpa, .c = 1 };
		err = simcp_drv_submit(&d->drv, &wait);
		if (err) {
			vc_log(VC_LOG_WARN, "sim: %s: cannot queue the hang: %s",
			       d->cfg->name, simcp_drv_strerror(err));
			break;
		}
		d->space--;
		simcp_drv_kick(&d->drv);
		break;
	case SIM_EV_DESTROY:
		if (!d->vv)
			break;
		vc_vcoproc_stats(d->vv, &d->res.st);
		d->res.destroyed = true;
		d->win_idle = true;
		dom_stop(d);
		d->vv = NULL;
		vc_domain_destroy(d->vd);
		d->vd = NULL;
		break;
	}
}

static void ev_fn(void *arg)
{
	struct sim *sim = arg;
	vc_time_t now = vc_os_now();

	while (sim->next_ev < sim->scn.nr_events && sim->scn.ev[sim->next_ev].at <= now)
		apply_event(sim, &sim->scn.ev[sim->next_ev++]);
	if (sim->next_ev < sim->scn.nr_events)
		vc_os_timer_arm(sim->ev_timer, sim->scn.ev[sim->next_ev].at);
}

/* ---- windows ------------------------------------------------------------------------ */

/*
 * The algorithm's expected share of every domain now into @exp[] (-1 for a
 * domain without a vcoproc).  vc_coproc_expected_shares() lists vcoprocs
 * in creation order, which is domain order.  Returns false when the
 * algorithm promises no definite shares.
 */
static bool expected_now(struct sim *sim, double *exp)
{
	unsigned int n = sim->scn.nr_domains, k = 0;
	int nr = vc_coproc_expected_shares(sim->coproc, sim->vs, sim->vsh, n);

	for (unsigned int i = 0; i < n; i++)
		exp[i] = -1;
	if (nr < 0 || (unsigned int)nr > n)
		return false;
	for (unsigned int i = 0; i < n && k < (unsigned int)nr; i++) {
		if (sim->dom[i].vv == sim->vs[k])
			exp[i] = (double)sim->vsh[k++].run_ppb / VC_SHARE_ONE;
	}
	return k == (unsigned int)nr;
}

/* Room for one more row of window figures; false when memory ran out. */
static bool win_grow(struct sim *sim)
{
	size_t n = sim->scn.nr_domains;
	unsigned int cap = sim->win_cap ? 2 * sim->win_cap : 64;
	double *a, *b;

	if (sim->nr_windows < sim->win_cap)
		return true;
	a = realloc(sim->win_share, cap * n * sizeof(*a));
	if (!a)
		return false;
	sim->win_share = a;
	b = realloc(sim->win_exp, cap * n * sizeof(*b));
	if (!b)
		return false;
	sim->win_exp = b;
	sim->win_cap = cap;
	return true;
}

/*
 * A window ends: each domain's share of the vcoprocs' run_ns in it, and
 * its expected share where the window is judged - every vcoproc had
 * submitted work throughout, and the expected shares were defined and
 * the same at both ends.
 */
static void win_fn(void *arg)
{
	struct sim *sim = arg;
	unsigned int n = sim->scn.nr_domains;
	vc_time_t now = vc_os_now(), total = 0;
	double *share, *exp;
	bool steady, exp_ok;

	if (!win_grow(sim)) {
		vc_log(VC_LOG_WARN, "sim: out of memory: no more windows recorded");
		return;
	}
	share = &sim->win_share[(size_t)sim->nr_windows * n];
	exp = &sim->win_exp[(size_t)sim->nr_windows * n];
	exp_ok = expected_now(sim, exp);
	steady = exp_ok && sim->win_exp_ok;
	for (unsigned int i = 0; i < n; i++) {
		struct sim_dom *d = &sim->dom[i];
		vc_time_t run = d->res.st.run_ns; /* frozen once destroyed */

		if (d->vv) {
			struct vc_vcoproc_stats st;

			vc_vcoproc_stats(d->vv, &st);
			run = st.run_ns;
		}
		share[i] = (double)(run - d->win_run0); /* a share below */
		total += run - d->win_run0;
		d->win_run0 = run;
		if ((d->vv || d->res.destroyed) && d->win_idle)
			steady = false;
		if (exp[i] != sim->exp0[i])
			steady = false;
		sim->exp0[i] = exp[i];
		d->win_idle = d->vv && !d->jq_submitted;
	}
	for (unsigned int i = 0; i < n; i++) {
		share[i] = total ? share[i] / (double)total : 0;
		if (!steady)
			exp[i] = -1;
	}
	sim->win_exp_ok = exp_ok;
	sim->nr_windows++;
	vc_os_timer_arm(sim->win_timer, now + sim->scn.window);
}

static int win_setup(struct sim *sim, char *err, size_t errlen)
{
	unsigned int n = sim->scn.nr_domains;

	sim->exp0 = calloc(n, sizeof(*sim->exp0));
	sim->vs = calloc(n, sizeof(*sim->vs));
	sim->vsh = calloc(n, sizeof(*sim->vsh));
	sim->win_timer = vc_os_timer_create(win_fn, sim);
	if (!sim->exp0 || !sim->vs || !sim->vsh || !sim->win_timer)
		return sim_fail(err, errlen, -VC_ENOMEM, "out of memory");
	sim->win_exp_ok = expected_now(sim, sim->exp0);
	vc_os_timer_arm(sim->win_timer, sim->scn.window);
	return 0;
}

/* ---- set-up and tear-down ---------------------------------------------------------- */

static uint32_t ring_size_for(const struct sim_domain_cfg *c)
{
	unsigned int jobs = c->arrival == SIM_ARRIVAL_SATURATE ? c->depth : 16;
	uint64_t need = ((uint64_t)jobs * cmds_per_job(c) + 16) * SIMCP_CMD_SIZE;
	uint32_t size = SIM_RING_MIN;

	while (size < need && size < SIM_RING_MAX)
		size <<= 1;
	return size;
}

static int dom_setup(struct sim *sim, unsigned int i, char *err, size_t errlen)
{
	struct sim_dom *d = &sim->dom[i];
	const struct sim_domain_cfg *c = &sim->scn.dom[i];
	struct simcp_drv_bus bus = { bus_read32, bus_write32, d };
	struct simcp_drv_ring ring;
	char where[SIM_SRC_MAX + 32];
	unsigned int jq_len = SIM_JOBQ_LEN;
	int r, refused = -1;

	d->sim = sim;
	d->idx = i;
	d->cfg = c;
	d->domid = i + 1;
	vc_strlcpy(d->res.name, c->name, sizeof(d->res.name));
	d->res.domid = d->domid;
	d->res.expected_share = -1;
	d->res.win_err_abs = d->res.win_err_rel = -1;
	d->rng = sim->scn.seed * 0x100000001b3ull + d->domid;
	d->deadline = c->deadline ? c->deadline :
		      c->arrival == SIM_ARRIVAL_PERIODIC ? c->every : 0;
	d->res.deadline = d->deadline;
	d->win_idle = c->offset > 0 || c->arrival == SIM_ARRIVAL_IDLE;
	d->ring_size = ring_size_for(c);
	sim_scenario_where(&sim->scn, c->line, 0, where, sizeof(where));
	if ((uint64_t)d->ring_size + 64 > c->mem)
		return sim_fail(err, errlen, -VC_EINVAL,
				"%sdomain %s: mem %u too small for a %u-byte ring",
				where, c->name, c->mem, d->ring_size);
	if (c->scratch > (sim->scn.ctx_size ? sim->scn.ctx_size : SIMCP_SCRATCH_SIZE))
		return sim_fail(err, errlen, -VC_EINVAL,
				"%sdomain %s: scratch %u larger than the device's ctx_size %u",
				where, c->name, c->scratch,
				sim->scn.ctx_size ? sim->scn.ctx_size : SIMCP_SCRATCH_SIZE);
	d->sem_gpa = SIM_MEM_GPA + d->ring_size;

	if (c->arrival == SIM_ARRIVAL_SATURATE) {
		for (jq_len = 1; jq_len < c->depth; jq_len <<= 1)
			;
	}
	d->jobq = calloc(jq_len, sizeof(*d->jobq));
	d->jq_mask = jq_len - 1;
	d->mem = calloc(1, c->mem);
	if (!d->mem || !d->jobq)
		return sim_fail(err, errlen, -VC_ENOMEM, "out of memory");
	d->region = (struct vc_iommu_region){
		.gpa = SIM_MEM_GPA, .size = c->mem, .hva = d->mem, .writable = true,
	};
	d->iommu = (struct vc_iommu){ .regions = &d->region, .nr_regions = 1 };

	d->irq_timer = vc_os_timer_create(irq_fn, d);
	d->arrival_timer = vc_os_timer_create(arrival_fn, d);
	if (!d->irq_timer || !d->arrival_timer)
		return sim_fail(err, errlen, -VC_ENOMEM, "out of memory");

	r = vc_domain_create(sim->fw, d->domid, c->name, &d->iommu, d, &d->vd);
	if (r)
		return sim_fail(err, errlen, r, "%sdomain %s: %s", where, c->name,
				vc_strerror(r));
	r = vc_vcoproc_create(d->vd, sim->coproc, c->params, c->nr_params, &d->vv,
			      &refused);
	if (r == -VC_ENOSPC || (r == -VC_EBUSY && vc_coproc_passthrough(sim->coproc))) {
		/* Admission control said no, or a passthrough device has its
		 * owner: the domain runs nothing. */
		d->res.create_err = r;
		d->vv = NULL;
		return 0;
	}
	if (r && refused >= 0 && (unsigned int)refused < c->nr_params) {
		const struct vc_param *bad = &c->params[refused];

		sim_scenario_where(&sim->scn, c->line, c->param_col[refused], where,
				   sizeof(where));
		return sim_fail(err, errlen, r, "%sdomain %s: vcoproc: %s=%s: %s", where,
				c->name, bad->key, bad->val,
				r == -VC_ENOENT ? "unknown parameter" : vc_strerror(r));
	}
	if (r)
		return sim_fail(err, errlen, r, "%sdomain %s: vcoproc: %s", where, c->name,
				vc_strerror(r));

	ring = (struct simcp_drv_ring){
		.va = d->mem, .pa = SIM_MEM_GPA, .size = d->ring_size,
	};
	r = simcp_drv_init(&d->drv, &bus, &ring, SIM_FENCE_BASE(d->domid));
	if (r)
		return sim_fail(err, errlen, -VC_EIO, "%sdomain %s: driver: %s", where,
				c->name, simcp_drv_strerror(r));
	if (c->arrival != SIM_ARRIVAL_IDLE)
		vc_os_timer_arm(d->arrival_timer, c->offset);
	return 0;
}

/* What admission control must assume: the longest NP section of any domain. */
static vc_time_t largest_np_section(const struct sim_scenario *scn)
{
	vc_time_t m = 0;

	for (unsigned int i = 0; i < scn->nr_domains; i++)
		m = VC_MAX(m, np_section_max(&scn->dom[i]));
	return m;
}

/* ---- switch steps, timed (scenario switch_steps) ------------------------------ */

static const char *const step_names[SIM_STEPS] = {
	[SIM_STEP_STOP] = "stop", [SIM_STEP_SAVE] = "save", [SIM_STEP_IOMMU] = "iommu",
	[SIM_STEP_LOAD] = "load", [SIM_STEP_START] = "start",
};

const char *sim_step_name(enum sim_step st)
{
	return (unsigned int)st < SIM_STEPS ? step_names[st] : "?";
}

static double cpu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/*
 * Around a hook: host CPU, and the modeled time simcp added for moving
 * contexts (saves and loads; the other steps add none).  The hooks run
 * with the coproc lock held, on the simulation's thread (the_sim).
 */
struct step_mark {
	double t0;
	vc_time_t move0;
};

static void step_begin(struct step_mark *m)
{
	struct simcp_stats ds;

	simcp_stats(the_sim->dev, &ds);
	m->move0 = ds.ctx_move_ns;
	m->t0 = cpu_now_ns();
}

static void step_end(enum sim_step st, const struct step_mark *m)
{
	struct sim_step_stats *s = &the_sim->steps[st];
	double t1 = cpu_now_ns();
	struct simcp_stats ds;

	simcp_stats(the_sim->dev, &ds);
	s->calls++;
	s->cpu_ns += t1 - m->t0;
	s->dev_ns += ds.ctx_move_ns - m->move0;
}

static int step_stop(struct vc_coproc *c, void *ctx, vc_time_t *retry)
{
	struct step_mark m;
	int r;

	if (!the_sim->stop_since)
		the_sim->stop_since = vc_os_now() + 1; /* 0 means none */
	step_begin(&m);
	r = the_sim->plat_ops->stop(c, ctx, retry);
	step_end(SIM_STEP_STOP, &m);
	return r;
}

static int step_save(struct vc_coproc *c, void *ctx)
{
	struct sim_step_stats *stop = &the_sim->steps[SIM_STEP_STOP];
	struct step_mark m;
	int r;

	if (the_sim->stop_since) {
		stop->dev_ns += vc_os_now() + 1 - the_sim->stop_since;
		stop->switches++;
		the_sim->stop_since = 0;
	}
	step_begin(&m);
	r = the_sim->plat_ops->save(c, ctx);
	step_end(SIM_STEP_SAVE, &m);
	return r;
}

static int step_iommu(struct vc_coproc *c, const struct vc_iommu *io)
{
	struct step_mark m;
	int r;

	step_begin(&m);
	r = the_sim->plat_ops->iommu_switch(c, io);
	step_end(SIM_STEP_IOMMU, &m);
	return r;
}

static int step_load(struct vc_coproc *c, void *ctx)
{
	struct step_mark m;
	int r;

	step_begin(&m);
	r = the_sim->plat_ops->load(c, ctx);
	step_end(SIM_STEP_LOAD, &m);
	return r;
}

static int step_start(struct vc_coproc *c, void *ctx)
{
	struct step_mark m;
	int r;

	step_begin(&m);
	r = the_sim->plat_ops->start(c, ctx);
	step_end(SIM_STEP_START, &m);
	return r;
}

/* The platform's ops with the five switch steps timed; the rest as they are. */
static const struct vc_platform_ops *step_ops(struct sim *sim,
					      const struct vc_platform_ops *ops)
{
	sim->plat_ops = ops;
	sim->step_ops = *ops;
	sim->step_ops.stop = step_stop;
	sim->step_ops.save = step_save;
	sim->step_ops.iommu_switch = step_iommu;
	sim->step_ops.load = step_load;
	sim->step_ops.start = step_start;
	return &sim->step_ops;
}

int sim_create(const struct sim_scenario *scn, struct sim **out, char *err, size_t errlen)
{
	struct simcp_config cfg = { .mode = SIMCP_MODE_VTIME };
	struct vc_coproc_desc desc;
	struct sim *sim;
	int r;

	if (the_sim)
		return sim_fail(err, errlen, -VC_EBUSY, "a simulation exists already");
	sim = calloc(1, sizeof(*sim));
	if (!sim)
		return sim_fail(err, errlen, -VC_ENOMEM, "out of memory");
	if (sim_scenario_copy(&sim->scn, scn)) {
		free(sim);
		return sim_fail(err, errlen, -VC_ENOMEM, "out of memory");
	}
	scn = &sim->scn; /* the copy: what the run keeps */
	the_sim = sim;
	vc_vtime_reset();
	sim->dom = calloc(VC_MAX(scn->nr_domains, 1u), sizeof(*sim->dom));
	if (!sim->dom) {
		r = sim_fail(err, errlen, -VC_ENOMEM, "out of memory");
		goto out_destroy;
	}

	cfg.max_nonpreempt = scn->max_nonpreempt ? scn->max_nonpreempt :
			     largest_np_section(scn);
	cfg.ctx_size = scn->ctx_size;
	cfg.timing.ctx_bw = scn->ctx_bw;
	cfg.timing.switch_fixed_ns = scn->switch_fixed;
	r = simcp_create(&cfg, &sim->dev);
	if (r) {
		char where[SIM_SRC_MAX + 32];

		sim_fail(err, errlen, r, "%ssimcp: %s",
			 sim_scenario_where(scn, scn->dev_line, 0, where, sizeof(where)),
			 vc_strerror(r));
		goto out_destroy;
	}
	r = vc_fw_create(&sim_hops, &sim->fw);
	if (r) {
		sim_fail(err, errlen, r, "framework: %s", vc_strerror(r));
		goto out_destroy;
	}
	simcp_coproc_desc(sim->dev, "simcp0", SIM_MMIO_GPA, SIM_IRQ, &desc);
	desc.sched = sim->scn.algo[0] ? sim->scn.algo : NULL;
	if (desc.sched && !strcmp(desc.sched, vc_sched_passthrough_ops.name)) {
		/* The device is the first domain's alone (core/passthrough.c). */
		desc.passthrough = true;
		desc.sched = NULL;
	}
	desc.hang_timeout = scn->hang_timeout;
	desc.stop_timeout = scn->stop_timeout;
	if (scn->switch_steps)
		desc.ops = step_ops(sim, desc.ops);
	sim->switch_cost = desc.switch_cost;
	sim->max_np = desc.max_nonpreempt;
	r = vc_coproc_register(sim->fw, &desc, &sim->coproc);
	if (r == -VC_ENOENT) {
		sim_fail(err, errlen, r, "unknown algorithm '%s'", sim->scn.algo);
		goto out_destroy;
	} else if (r) {
		sim_fail(err, errlen, r, "cannot register the coprocessor: %s",
			 vc_strerror(r));
		goto out_destroy;
	}
	simcp_attach(sim->dev, sim->coproc);
	for (unsigned int i = 0; i < scn->nr_params; i++) {
		char where[SIM_SRC_MAX + 32];

		r = vc_coproc_param_set(sim->coproc, scn->params[i].key, scn->params[i].val);
		if (r) {
			sim_fail(err, errlen, r, "%s%s: parameter %s=%s: %s",
				 sim_scenario_where(scn, scn->param_line[i], scn->param_col[i],
						    where, sizeof(where)),
				 vc_coproc_sched_name(sim->coproc), scn->params[i].key,
				 scn->params[i].val,
				 r == -VC_ENOENT ? "unknown" : vc_strerror(r));
			goto out_destroy;
		}
	}
	if (scn->trace_capacity) {
		r = vc_coproc_trace_enable(sim->coproc, true, scn->trace_capacity);
		if (r) {
			sim_fail(err, errlen, r, "trace: %s", vc_strerror(r));
			goto out_destroy;
		}
	}
	for (unsigned int i = 0; i < scn->nr_domains; i++) {
		r = dom_setup(sim, i, err, errlen);
		if (r)
			goto out_destroy;
	}
	sim->ev_timer = vc_os_timer_create(ev_fn, sim);
	if (!sim->ev_timer) {
		r = sim_fail(err, errlen, -VC_ENOMEM, "out of memory");
		goto out_destroy;
	}
	if (scn->nr_events)
		vc_os_timer_arm(sim->ev_timer, scn->ev[0].at);
	if (scn->window) {
		r = win_setup(sim, err, errlen);
		if (r)
			goto out_destroy;
	}
	*out = sim;
	return 0;

out_destroy:
	sim_destroy(sim);
	return r;
}

void sim_destroy(struct sim *sim)
{
	if (!sim)
		return;
	vc_os_timer_destroy(sim->ev_timer);
	vc_os_timer_destroy(sim->win_timer);
	for (unsigned int i = 0; sim->dom && i < sim->scn.nr_domains; i++) {
		struct sim_dom *d = &sim->dom[i];

		dom_stop(d);
		vc_domain_destroy(d->vd); /* its vcoproc first; NULL ok */
		d->vd = NULL;
		d->vv = NULL;
		free(d->mem);
		d->mem = NULL;
		free(d->jobq);
		d->jobq = NULL;
		sim_hist_free(&d->lat);
	}
	if (sim->coproc) {
		simcp_attach(sim->dev, NULL); /* no event may reach a freed coproc */
		(void)vc_coproc_unregister(sim->coproc);
	}
	vc_fw_destroy(sim->fw);
	simcp_destroy(sim->dev);
	if (the_sim == sim)
		the_sim = NULL;
	free(sim->win_share);
	free(sim->win_exp);
	free(sim->exp0);
	free(sim->vs);
	free(sim->vsh);
	free(sim->dom);
	sim_scenario_release(&sim->scn);
	free(sim);
}

/* ---- running ------------------------------------------------------------------------- */

void sim_run_until(struct sim *sim, vc_time_t t)
{
	sim->timer_events += vc_vtime_run_until(t);
}

void sim_run(struct sim *sim)
{
	sim_run_until(sim, sim->scn.duration);
}

static bool all_drained(const struct sim *sim)
{
	for (unsigned int i = 0; i < sim->scn.nr_domains; i++)
		if (sim->dom[i].vv && sim->dom[i].jq_submitted)
			return false;
	return true;
}

int sim_drain(struct sim *sim, vc_time_t limit)
{
	vc_time_t end = vc_os_now() + limit;

	sim->draining = true;
	for (unsigned int i = 0; i < sim->scn.nr_domains; i++) {
		struct sim_dom *d = &sim->dom[i];

		if (d->arrival_timer)
			vc_os_timer_disarm(d->arrival_timer);
		/* Released jobs that never reached the ring are not run. */
		d->jq_nr = d->jq_submitted;
	}
	while (!all_drained(sim) && vc_vtime_step(end))
		sim->timer_events++;
	return all_drained(sim) ? 0 : -VC_ETIMEDOUT;
}

struct vc_coproc *sim_coproc(struct sim *sim)
{
	return sim->coproc;
}

struct vc_vcoproc *sim_vcoproc(struct sim *sim, unsigned int i)
{
	return i < sim->scn.nr_domains ? sim->dom[i].vv : NULL;
}

int sim_trace_export(struct sim *sim, struct vc_printer *p)
{
	return vc_coproc_trace_export(sim->coproc, p);
}

void sim_result_release(struct sim_result *res)
{
	free(res->dom);
	free(res->win_share);
	free(res->win_expected);
	free(res->cdf);
	memset(res, 0, sizeof(*res));
}

double sim_result_window(const struct sim_result *res, unsigned int w, unsigned int i,
			 double *expected)
{
	size_t k = (size_t)w * res->nr_domains + i;

	if (expected)
		*expected = res->win_expected[k];
	return res->win_share[k];
}

/* The worst window errors of every domain and over all, from the rows. */
static void window_errors(struct sim_result *res)
{
	res->win_err_abs = res->win_err_rel = -1;
	res->win_err_abs_dom = res->win_err_rel_dom = -1;
	for (unsigned int w = 0; w < res->nr_windows; w++) {
		for (unsigned int i = 0; i < res->nr_domains; i++) {
			struct sim_dom_result *r = &res->dom[i];
			double e, s = sim_result_window(res, w, i, &e), abs_err, rel_err;

			if (e < 0)
				continue;
			abs_err = fabs(s - e);
			rel_err = e > 0 ? abs_err / e : 0;
			r->windows_judged++;
			if (abs_err > r->win_err_abs)
				r->win_err_abs = abs_err;
			if (rel_err > r->win_err_rel)
				r->win_err_rel = rel_err;
			if (abs_err > res->win_err_abs) {
				res->win_err_abs = abs_err;
				res->win_err_abs_dom = (int)i;
			}
			if (rel_err > res->win_err_rel) {
				res->win_err_rel = rel_err;
				res->win_err_rel_dom = (int)i;
			}
		}
	}
}

/* Latency CDF points of one domain, appended to res->cdf (room made). */
struct cdf_fill {
	struct sim_cdf_point *pt;
	uint64_t count, seen;
};

static void cdf_point(void *arg, uint64_t hi, uint64_t count)
{
	struct cdf_fill *f = arg;

	f->seen += count;
	f->pt->ns = hi;
	f->pt->frac = (double)f->seen / (double)f->count;
	f->pt++;
}

/* Every domain's CDF into res->cdf; 0 or -VC_ENOMEM. */
static int result_cdf(struct sim *sim, struct sim_result *res)
{
	size_t total = 0;

	for (unsigned int i = 0; i < res->nr_domains; i++) {
		res->dom[i].nr_cdf = sim_hist_foreach(&sim->dom[i].lat, NULL, NULL);
		res->dom[i].cdf_first = total;
		total += res->dom[i].nr_cdf;
	}
	if (total > res->cdf_cap) {
		struct sim_cdf_point *p = realloc(res->cdf, total * sizeof(*p));

		if (!p)
			return -VC_ENOMEM;
		res->cdf = p;
		res->cdf_cap = total;
	}
	for (unsigned int i = 0; i < res->nr_domains; i++) {
		struct cdf_fill f = { res->cdf + res->dom[i].cdf_first,
				      sim->dom[i].lat.count, 0 };

		sim_hist_foreach(&sim->dom[i].lat, cdf_point, &f);
	}
	res->nr_cdf = total;
	return 0;
}

int sim_result(struct sim *sim, struct sim_result *res)
{
	unsigned int n = sim->scn.nr_domains;
	size_t cells = (size_t)sim->nr_windows * n;
	struct sim_dom_result *dom = res->dom;
	double *wshare = res->win_share, *wexp = res->win_expected;
	unsigned int cap = res->dom_cap;
	struct sim_cdf_point *cdf = res->cdf;
	size_t cdf_cap = res->cdf_cap;
	struct simcp_stats ds;
	vc_time_t total = 0;

	if (cap < n) {
		dom = realloc(dom, n * sizeof(*dom));
		if (!dom)
			goto out_release;
		res->dom = dom;
		cap = n;
	}
	wshare = realloc(wshare, VC_MAX(cells, (size_t)1) * sizeof(*wshare));
	if (wshare)
		res->win_share = wshare;
	wexp = realloc(wexp, VC_MAX(cells, (size_t)1) * sizeof(*wexp));
	if (wexp)
		res->win_expected = wexp;
	if (!wshare || !wexp)
		goto out_release;

	memset(res, 0, sizeof(*res));
	res->dom = dom;
	res->dom_cap = cap;
	res->win_share = wshare;
	res->win_expected = wexp;
	res->cdf = cdf;
	res->cdf_cap = cdf_cap;
	snprintf(res->algo, sizeof(res->algo), "%s", vc_coproc_sched_name(sim->coproc));
	res->now = vc_os_now();
	res->switch_cost = sim->switch_cost;
	res->max_nonpreempt = sim->max_np;
	vc_coproc_stats(sim->coproc, &res->coproc);
	simcp_stats(sim->dev, &ds);
	res->dev_cmds = ds.cmds;
	res->dev_saves = ds.saves;
	res->dev_loads = ds.loads;
	res->dev_resets = ds.resets;
	res->dev_faults = ds.faults;
	res->dev_busy_ns = ds.busy_ns;
	res->timer_events = sim->timer_events;
	res->event_errors = sim->event_errors;
	res->nr_domains = n;
	for (unsigned int i = 0; i < n; i++) {
		struct sim_dom *d = &sim->dom[i];
		struct sim_dom_result *r = &res->dom[i];

		*r = d->res;
		if (d->vv)
			vc_vcoproc_stats(d->vv, &r->st);
		r->lat_p50_ns = sim_hist_quantile(&d->lat, 0.50);
		r->lat_p99_ns = sim_hist_quantile(&d->lat, 0.99);
		r->lat_p999_ns = sim_hist_quantile(&d->lat, 0.999);
		r->windows_judged = 0;
		r->win_err_abs = r->win_err_rel = -1;
		total += r->st.run_ns;
	}
	for (unsigned int i = 0; i < n; i++)
		res->dom[i].share = total ? (double)res->dom[i].st.run_ns / (double)total : 0;
	res->window = sim->scn.window;
	res->nr_windows = sim->nr_windows;
	if (cells) {
		memcpy(res->win_share, sim->win_share, cells * sizeof(double));
		memcpy(res->win_expected, sim->win_exp, cells * sizeof(double));
	}
	window_errors(res);
	sim_expected_shares(&sim->scn, sim, res);
	if (sim->scn.switch_steps) {
		res->has_steps = true;
		memcpy(res->steps, sim->steps, sizeof(res->steps));
	}
	if (sim->scn.latency_cdf && result_cdf(sim, res))
		goto out_release;
	return 0;

out_release:
	sim_result_release(res);
	return -VC_ENOMEM;
}

int sim_run_scenario(const struct sim_scenario *scn, struct sim_result *res,
		     char *err, size_t errlen)
{
	struct sim *sim;
	int r = sim_create(scn, &sim, err, errlen);

	if (r)
		return r;
	sim_run(sim);
	r = sim_result(sim, res);
	if (r)
		sim_fail(err, errlen, r, "out of memory");
	sim_destroy(sim);
	return r;
}
