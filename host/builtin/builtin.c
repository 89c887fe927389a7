// SPDX-License-Identifier: MIT
/*
 * DOC: the builtin kind of domain - workloads built into the host
 *
 * A builtin domain's guest is a workload that ships with vcoprocd
 * (kernel = "builtin:NAME"), run as one host thread per vcoproc.  It
 * needs nothing from the machine - no KVM - so every host can run it:
 * the control plane, the CLI suite and load on the device work
 * everywhere.  Each thread is a small guest kernel: it drives its
 * coprocessor's register window with the unmodified native simcp driver
 * through vc_domain_mmio() (so its accesses are forwarded or emulated
 * like a VM's), takes its interrupts through irq_raise, and keeps its
 * command ring in the domain's own memory, which is its IOMMU context.
 *
 *   builtin:compute  keep BI_DEPTH jobs of BI_CHUNKS x 250 us COMPUTE
 *                    queued: saturate the device; every job's fence is
 *                    checked to complete, in order
 *   builtin:idle     set the device up, then wait
 *   builtin:hang     submit a WAIT that is never satisfied (a preemptible
 *                    hang) and wait for the host to reset the context
 *                    (SIMCP_FAULT_HANG); then recover and hang again.
 *                    Each reset is told on the console: "hang N reset
 *                    after T ms", T from the doorbell to the interrupt
 *
 * "extra" takes seconds=N: the workload then ends after N seconds with
 * status 0 if every job it submitted completed and the device reported
 * no fault, else 1 (a domain without seconds= runs until destroyed).  A
 * hang workload passes if the host reset its context at least once and
 * the device reported no other fault.
 * The console gets a line when the workload starts, once a second with
 * the jobs done, and a "result:" line at the end.
 *
 * Lock order: a worker never holds its mutex while calling into the
 * framework, because irq_raise (called with the coproc lock held) takes it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vcoproc/errno.h>

#include "host.h"
#include "simcp_drv.h"

#define BI_MEM_GPA      0x40000000ull
#define BI_RING_SIZE    (16u * 1024u)
#define BI_HANG_OFF     (DOM_MAX_VCOPROCS * BI_RING_SIZE)  /* after the rings: */
#define BI_MEM_SIZE     (BI_HANG_OFF + 4096u)  /* a zero word per vcoproc for WAIT */
#define BI_DEPTH        4              /* jobs kept queued */
#define BI_CHUNKS       8              /* COMPUTE commands per job */
#define BI_CHUNK_NS     VC_USEC(250)

struct bi_dom;

enum bi_work { BI_COMPUTE, BI_IDLE, BI_HANG };

static const char *const bi_work_name[] = {
	[BI_COMPUTE] = "compute", [BI_IDLE] = "idle", [BI_HANG] = "hang",
};

/* One vcoproc's "guest": a thread running the workload on one coprocessor. */
struct bi_worker {
	struct bi_dom *b;
	unsigned int idx;
	uint64_t mmio;            /* the coprocessor's window */
	uint32_t irq;
	struct simcp_drv drv;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;     /* protects irq_pending */
	pthread_cond_t cond;
	bool irq_pending;
	uint64_t fences[BI_DEPTH];
	unsigned int nr_out;      /* jobs submitted, not complete */
	uint64_t jobs;            /* jobs completed */
	uint64_t faults;
	uint64_t hung_at;         /* hang: when the WAIT was kicked */
	uint64_t hangs;           /* hang: resets seen */
	uint64_t hang_max_ns;     /* hang: the longest kick-to-reset time */
	bool ok;                  /* set up, no error */
};

struct bi_dom {
	struct dom *d;
	enum bi_work work;
	uint64_t seconds;         /* 0: until stopped */
	uint8_t *mem;             /* BI_MEM_SIZE bytes at BI_MEM_GPA */
	struct vc_iommu_region region;
	atomic_bool stop;
	struct bi_worker w[DOM_MAX_VCOPROCS];
	unsigned int nr_w;
	atomic_uint running;      /* workers still going */
};

static void bi_irq_raise(struct dom *d, uint32_t irq)
{
	struct bi_dom *b = d->kpriv;

	if (!b)
		return;
	for (unsigned int i = 0; i < b->nr_w; i++) {
		struct bi_worker *w = &b->w[i];

		if (w->irq != irq)
			continue;
		atomic_fetch_add_explicit(&d->count.irqs_raised, 1, memory_order_relaxed);
		pthread_mutex_lock(&w->lock);
		w->irq_pending = true;
		pthread_cond_signal(&w->cond);
		pthread_mutex_unlock(&w->lock);
	}
}

static uint32_t bus_read32(void *opaque, uint32_t off)
{
	struct bi_worker *w = opaque;
	uint64_t v = ~0ull;

	atomic_fetch_add_explicit(&w->b->d->count.mmio, 1, memory_order_relaxed);
	(void)vc_domain_mmio(w->b->d->vd, w->mmio + off, 4, false, &v);
	return (uint32_t)v;
}

static void bus_write32(void *opaque, uint32_t off, uint32_t val)
{
	struct bi_worker *w = opaque;
	uint64_t v = val;

	atomic_fetch_add_explicit(&w->b->d->count.mmio, 1, memory_order_relaxed);
	(void)vc_domain_mmio(w->b->d->vd, w->mmio + off, 4, true, &v);
}

/* Queue jobs up to BI_DEPTH and ring the doorbell. */
static void submit_jobs(struct bi_worker *w)
{
	while (w->nr_out < BI_DEPTH && simcp_drv_space(&w->drv) >= BI_CHUNKS + 1) {
		struct simcp_cmd cmd = { .op = SIMCP_OP_COMPUTE, .a = BI_CHUNK_NS };
		uint64_t fence;

		for (int i = 0; i < BI_CHUNKS; i++)
			if (simcp_drv_submit(&w->drv, &cmd))
				return;
		if (simcp_drv_fence(&w->drv, true, &fence))
			return;
		w->fences[w->nr_out++] = fence;
	}
	simcp_drv_kick(&w->drv);
}

/*
 * Queue a WAIT for a word that stays 0 (never satisfied: the device polls
 * it and completes nothing) and a fence behind it, and ring the doorbell.
 */
static void submit_hang(struct bi_worker *w)
{
	struct simcp_cmd cmd = {
		.op = SIMCP_OP_WAIT, .a = BI_MEM_GPA + BI_HANG_OFF + w->idx * 8ull, .c = 1,
	};
	uint64_t fence;

	if (w->nr_out || simcp_drv_space(&w->drv) < 2)
		return;
	if (simcp_drv_submit(&w->drv, &cmd) || simcp_drv_fence(&w->drv, true, &fence))
		return;
	w->fences[w->nr_out++] = fence;
	w->hung_at = hloop_now();
	simcp_drv_kick(&w->drv);
}

static void complete_jobs(struct bi_worker *w, uint64_t done)
{
	unsigned int k = 0;

	while (k < w->nr_out && w->fences[k] <= done)
		k++;
	w->jobs += k;
	memmove(w->fences, w->fences + k, (w->nr_out - k) * sizeof(w->fences[0]));
	w->nr_out -= k;
}

/* Wait up to 20 ms for an interrupt; returns whether one came. */
static bool wait_irq(struct bi_worker *w)
{
	struct timespec dl;
	bool pending;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_nsec += 20 * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->lock);
	while (!w->irq_pending && !atomic_load(&w->b->stop))
		if (pthread_cond_timedwait(&w->cond, &w->lock, &dl))
			break;
	pending = w->irq_pending;
	w->irq_pending = false;
	pthread_mutex_unlock(&w->lock);
	return pending;
}

/* The end of the workload (seconds= elapsed): drain, then say how it went. */
static void finish(struct bi_worker *w)
{
	struct dom *d = w->b->d;
	uint64_t deadline = hloop_now() + VC_SEC(5);

	if (w->b->work == BI_HANG) {
		/* The WAIT never completes: what counts is that it was reset. */
		w->nr_out = 0;
		if (!w->hangs)
			w->ok = false;
		dom_printf(d, "result: %s hang on %s: %llu hangs reset, the longest after %.3f ms, "
			   "%llu other faults", w->ok ? "pass" : "FAIL",
			   vc_coproc_name(vc_vcoproc_coproc(d->vv[w->idx])),
			   (unsigned long long)w->hangs, (double)w->hang_max_ns / 1e6,
			   (unsigned long long)w->faults);
		goto out;
	}
	while (w->nr_out && hloop_now() < deadline && !atomic_load(&w->b->stop)) {
		(void)wait_irq(w);
		complete_jobs(w, simcp_drv_fence_done(&w->drv));
	}
	if (w->nr_out)
		w->ok = false;
	dom_printf(d, "result: %s %s on %s: %llu jobs, %u outstanding, %llu faults",
		   w->ok ? "pass" : "FAIL", bi_work_name[w->b->work],
		   vc_coproc_name(vc_vcoproc_coproc(d->vv[w->idx])),
		   (unsigned long long)w->jobs, w->nr_out, (unsigned long long)w->faults);
out:
	if (atomic_fetch_sub(&w->b->running, 1) == 1) {
		bool ok = true;

		for (unsigned int i = 0; i < w->b->nr_w; i++)
			ok &= w->b->w[i].ok;
		dom_end(d, DOM_EXITED, ok ? BOARD_EXIT_PASS : 1, NULL);
	}
}

static void *worker_main(void *arg)
{
	struct bi_worker *w = arg;
	struct bi_dom *b = w->b;
	struct dom *d = b->d;
	const char *cp = vc_coproc_name(vc_vcoproc_coproc(d->vv[w->idx]));
	struct simcp_drv_bus bus = { bus_read32, bus_write32, w };
	struct simcp_drv_ring ring = {
		.va = b->mem + w->idx * BI_RING_SIZE,
		.pa = BI_MEM_GPA + w->idx * BI_RING_SIZE,
		.size = BI_RING_SIZE,
	};
	uint64_t t0 = hloop_now(), next_report = t0 + VC_SEC(1);
	int r;

	r = simcp_drv_init(&w->drv, &bus, &ring, (uint64_t)d->domid << 40);
	if (r) {
		dom_printf(d, "%s: simcp driver on %s: %s", d->cfg.name, cp, simcp_drv_strerror(r));
		finish(w);
		return NULL;
	}
	w->ok = true;
	dom_printf(d, "%s: simcp on %s ready, workload %s", d->cfg.name, cp,
		   bi_work_name[b->work]);
	if (b->work == BI_COMPUTE)
		dom_mark(d, BOARD_MARK_BUSY);
	while (!atomic_load(&b->stop)) {
		struct simcp_drv_irq_info info;
		uint64_t now;

		if (b->work == BI_COMPUTE)
			submit_jobs(w);
		else if (b->work == BI_HANG)
			submit_hang(w);
		if (wait_irq(w) && simcp_drv_irq(&w->drv, &info)) {
			if ((info.status & SIMCP_IRQ_ERROR) && b->work == BI_HANG &&
			    info.fault.code == SIMCP_FAULT_HANG) {
				uint64_t took = hloop_now() - w->hung_at;

				w->hangs++;
				if (took > w->hang_max_ns)
					w->hang_max_ns = took;
				dom_printf(d, "%s: hang %llu reset after %.3f ms on %s", d->cfg.name,
					   (unsigned long long)w->hangs, (double)took / 1e6, cp);
				if (simcp_drv_recover(&w->drv, SIMCP_DRV_RESUME) >= 0)
					w->nr_out = 0;
			} else if (info.status & SIMCP_IRQ_ERROR) {
				w->faults++;
				w->ok = false;
				dom_printf(d, "%s: device error %u on %s, recovering", d->cfg.name,
					   info.fault.code, cp);
				if (simcp_drv_recover(&w->drv, SIMCP_DRV_RESUME) >= 0)
					w->nr_out = 0;
			}
			complete_jobs(w, info.fence);
		} else if (w->nr_out) {
			complete_jobs(w, simcp_drv_fence_done(&w->drv)); /* belt and braces */
		}
		now = hloop_now();
		if (now >= next_report) {
			next_report += VC_SEC(1);
			if (b->work == BI_HANG)
				dom_printf(d, "%s: %llu hangs reset on %s", d->cfg.name,
					   (unsigned long long)w->hangs, cp);
			else
				dom_printf(d, "%s: %llu jobs done on %s", d->cfg.name,
					   (unsigned long long)w->jobs, cp);
		}
		if (b->seconds && now - t0 >= b->seconds) {
			dom_mark(d, BOARD_MARK_DONE);
			finish(w);
			return NULL;
		}
	}
	return NULL;
}

static void bi_stop(struct dom *d)
{
	struct bi_dom *b = d->kpriv;

	if (!b)
		return;
	atomic_store(&b->stop, true);
	for (unsigned int i = 0; i < b->nr_w; i++) {
		struct bi_worker *w = &b->w[i];

		pthread_mutex_lock(&w->lock);
		pthread_cond_signal(&w->cond);
		pthread_mutex_unlock(&w->lock);
		if (w->started)
			pthread_join(w->thread, NULL);
		w->started = false;
	}
}

static int bi_start(struct dom *d)
{
	struct bi_dom *b = d->kpriv;
	int r;

	atomic_store(&b->running, b->nr_w);
	if (!b->nr_w && b->seconds)
		return 0; /* nothing to drive: it just exists */
	for (unsigned int i = 0; i < b->nr_w; i++) {
		r = -pthread_create(&b->w[i].thread, NULL, worker_main, &b->w[i]);
		if (r)
			return r;
		b->w[i].started = true;
	}
	return 0;
}

/* "seconds=N" in @extra, else 0. */
static int parse_extra(struct dom *d, uint64_t *seconds)
{
	const char *p = strstr(d->cfg.extra, "seconds=");
	char *end;
	unsigned long long v;

	*seconds = 0;
	if (!p)
		return 0;
	errno = 0;
	v = strtoull(p + 8, &end, 10);
	if (end == p + 8 || errno || (*end && *end != ' ') || v > 1000000)
		return -EINVAL;
	*seconds = VC_SEC(v);
	return 0;
}

static int bi_create(struct dom *d, char *err, size_t errlen)
{
	const char *work = d->cfg.kernel + 8;
	struct bi_dom *b;
	uint64_t seconds;

	enum bi_work kind;

	for (kind = 0; kind < VC_ARRAY_SIZE(bi_work_name); kind++)
		if (!strcmp(work, bi_work_name[kind]))
			break;
	if (kind == VC_ARRAY_SIZE(bi_work_name))
		return domcfg_errorf(&d->cfg, d->cfg.pos.kernel, err, errlen,
				     "expected a builtin workload (builtin:compute, builtin:idle, "
				     "builtin:hang), found \"%s\"", d->cfg.kernel);
	if (parse_extra(d, &seconds))
		return domcfg_errorf(&d->cfg, d->cfg.pos.extra, err, errlen,
				     "expected seconds=N (1 to 1000000) in extra, found \"%s\"",
				     d->cfg.extra);
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->mem = calloc(1, BI_MEM_SIZE);
	if (!b->mem) {
		free(b);
		return -ENOMEM;
	}
	b->d = d;
	b->work = kind;
	b->seconds = seconds;
	b->region = (struct vc_iommu_region){
		.gpa = BI_MEM_GPA, .size = BI_MEM_SIZE, .hva = b->mem, .writable = true,
	};
	d->iommu = (struct vc_iommu){ .regions = &b->region, .nr_regions = 1 };
	d->kpriv = b;
	return 0;
}

/* The guest threads are set up before irq_raise can look for them. */
static int bi_attach(struct dom *d, char *err, size_t errlen)
{
	struct bi_dom *b = d->kpriv;

	for (unsigned int i = 0; i < d->nr_vv; i++) {
		const struct vc_coproc_desc *desc = vc_coproc_desc(vc_vcoproc_coproc(d->vv[i]));
		struct bi_worker *w = &b->w[i];

		w->b = b;
		w->idx = i;
		w->mmio = desc->mmio[0].base;
		w->irq = desc->nr_irqs ? desc->irqs[0] : 0;
		pthread_mutex_init(&w->lock, NULL);
		pthread_cond_init(&w->cond, NULL);
		b->nr_w = i + 1;
	}
	return 0;
}

static void bi_destroy(struct dom *d)
{
	struct bi_dom *b = d->kpriv;

	if (!b)
		return;
	for (unsigned int i = 0; i < b->nr_w; i++) {
		pthread_cond_destroy(&b->w[i].cond);
		pthread_mutex_destroy(&b->w[i].lock);
	}
	d->iommu = (struct vc_iommu){ 0 };
	free(b->mem);
	free(b);
	d->kpriv = NULL;
}

const struct dom_kind dom_kind_builtin = {
	.name = "builtin",
	.create = bi_create,
	.attach = bi_attach,
	.start = bi_start,
	.stop = bi_stop,
	.destroy = bi_destroy,
	.irq_raise = bi_irq_raise,
};
