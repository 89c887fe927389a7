// SPDX-License-Identifier: MIT
/*
 * Scheduler benchmark: for 4, 64 and 256 vcoprocs under each algorithm,
 *
 *   decision  - CPU time of one charge() + do_schedule() pair, called on the
 *               algorithm instance directly;
 *   switch    - framework CPU per context switch: the whole path from the
 *               coprocessor timer to the new context started (charge,
 *               decision, stop/save/IOMMU/load/start bookkeeping, timer
 *               re-arm), on a null platform whose hooks cost nothing, so the
 *               device's own save/load is excluded.
 *
 * Scheduling runs on virtual time (os/vtime.c) so every algorithm sees the
 * same deterministic sequence; CPU time is measured with CLOCK_MONOTONIC
 * over batches and the best batch kept (the machines are shared).  Prints a table and, per algorithm, the growth of the
 * decision cost from 4 to 256 vcoprocs next to log2(256)/log2(4) = 4,
 * and the worst switch cost against the 2 us target.
 *
 * Usage: bench-sched [--iters N] [--algo NAME]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vcoproc/vtime.h>

#include "internal.h"

#define STEP VC_USEC(100)

/* ---- a null platform: every hook succeeds at once ------------------------ */

struct null_ctx {
	uint64_t progress;
};

static int null_ctx_alloc(struct vc_coproc *c, uint32_t tag, void **ctx)
{
	*ctx = calloc(1, sizeof(struct null_ctx));
	return *ctx ? 0 : -VC_ENOMEM;
}

static void null_ctx_free(struct vc_coproc *c, void *ctx)
{
	free(ctx);
}

static int null_stop(struct vc_coproc *c, void *ctx, vc_time_t *retry)
{
	return 0;
}

static int null_step(struct vc_coproc *c, void *ctx)
{
	return 0;
}

static int null_iommu(struct vc_coproc *c, const struct vc_iommu *io)
{
	return 0;
}

static int null_reset(struct vc_coproc *c, void *ctx, bool loaded)
{
	return 0;
}

static int null_mmio(struct vc_coproc *c, void *ctx, uint64_t off, unsigned int size,
		     bool write, uint64_t *val)
{
	return VC_IO_WORK;
}

static bool null_has_work(struct vc_coproc *c, void *ctx)
{
	return true;
}

static uint64_t null_progress(struct vc_coproc *c, void *ctx)
{
	return ++((struct null_ctx *)ctx)->progress; /* never hangs */
}

static const struct vc_platform_ops null_ops = {
	.name = "null",
	.ctx_alloc = null_ctx_alloc,
	.ctx_free = null_ctx_free,
	.stop = null_stop,
	.save = null_step,
	.iommu_switch = null_iommu,
	.load = null_step,
	.start = null_step,
	.reset = null_reset,
	.mmio_forward = null_mmio,
	.mmio_emulate = null_mmio,
	.has_work = null_has_work,
	.progress = null_progress,
};

static void null_irq(void *host_dom, uint32_t irq)
{
}

static const struct vc_host_ops hops = { .irq_raise = null_irq };

static double wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct setup {
	struct vc_fw *fw;
	struct vc_coproc *c;
	struct vc_domain **doms;
	unsigned int n;
};

static void die(const char *what, int err)
{
	fprintf(stderr, "bench-sched: %s: %s\n", what, vc_strerror(err));
	exit(1);
}

/* Per-algorithm parameters making every STEP end in a decision and a switch. */
static void params_for(const char *algo, unsigned int i, unsigned int n,
		       struct vc_param *p, unsigned int *nr)
{
	*nr = 0;
	if (!strcmp(algo, "credit")) {
		snprintf(p[0].key, sizeof(p[0].key), "weight");
		snprintf(p[0].val, sizeof(p[0].val), "%u", 128 + (i % 4) * 128);
		*nr = 1;
	} else if (!strcmp(algo, "rtds")) {
		/* Budget of one step, all admitted with room to spare. */
		snprintf(p[0].key, sizeof(p[0].key), "budget");
		snprintf(p[0].val, sizeof(p[0].val), "%lluns", (unsigned long long)STEP);
		snprintf(p[1].key, sizeof(p[1].key), "period");
		snprintf(p[1].val, sizeof(p[1].val), "%lluns",
			 (unsigned long long)(STEP * n * 5 / 4));
		*nr = 2;
	}
}

static void build(struct setup *s, const char *algo, unsigned int n)
{
	struct vc_coproc_desc desc = {
		.name = "bench0", .compatible = "vcoproc,null",
		.mmio = { { 0x10000000, 0x1000 } }, .nr_mmio = 1,
		.irqs = { 1 }, .nr_irqs = 1, .ops = &null_ops, .sched = algo,
		.hang_timeout = VC_SEC(3600),
	};
	char slice[32], frame[8192];
	size_t off = 0;
	int err;

	vc_vtime_reset();
	s->n = n;
	err = vc_fw_create(&hops, &s->fw);
	if (err)
		die("fw", err);
	err = vc_coproc_register(s->fw, &desc, &s->c);
	if (err)
		die("register", err);
	snprintf(slice, sizeof(slice), "%lluns", (unsigned long long)STEP);
	if (!strcmp(algo, "rr") || !strcmp(algo, "credit"))
		if ((err = vc_coproc_param_set(s->c, "slice", slice)))
			die("slice", err);
	s->doms = calloc(n, sizeof(*s->doms));
	for (unsigned int i = 0; i < n; i++) {
		struct vc_param p[2];
		struct vc_vcoproc *v;
		unsigned int nr;
		uint64_t one = 1;

		memset(p, 0, sizeof(p));
		params_for(algo, i, n, p, &nr);
		if ((err = vc_domain_create(s->fw, i + 1, NULL, NULL, NULL, &s->doms[i])))
			die("domain", err);
		if ((err = vc_vcoproc_create(s->doms[i], s->c, p, nr, &v, NULL)))
			die("vcoproc", err);
		if (vc_domain_mmio(s->doms[i], 0x10000000, 4, true, &one))
			die("doorbell", -VC_EIO);
		off += (size_t)snprintf(frame + off, sizeof(frame) - off, "%s%u:%lluns",
					i ? "," : "", i + 1, (unsigned long long)STEP);
	}
	if (!strcmp(algo, "arinc653") && (err = vc_coproc_param_set(s->c, "frame", frame)))
		die("frame", err);
}

static void teardown(struct setup *s)
{
	vc_fw_destroy(s->fw);
	free(s->doms);
}

#define BATCHES 20

/*
 * Mean ns of charge() + do_schedule() on the instance itself: the best
 * batch of BATCHES, so that other load on a shared machine does not count.
 */
static double bench_decision(struct setup *s, unsigned long iters)
{
	struct vc_sched *sch = &s->c->sched;
	struct vc_vcoproc *curr = s->c->curr;
	vc_time_t now = vc_os_now();
	unsigned long per = iters / BATCHES ? iters / BATCHES : 1;
	double best = INFINITY;

	vc_os_lock(s->c->lock);
	for (int b = 0; b < BATCHES; b++) {
		double t0 = wall_ns(), t;

		for (unsigned long i = 0; i < per; i++) {
			struct vc_sched_decision d;

			now += STEP;
			if (curr && sch->ops->charge)
				sch->ops->charge(sch, curr, STEP, now);
			d = sch->ops->do_schedule(sch, now, curr);
			curr = d.next;
		}
		t = (wall_ns() - t0) / per;
		if (t < best)
			best = t;
	}
	vc_os_unlock(s->c->lock);
	return best;
}

/*
 * Mean ns of framework CPU per completed switch, timer to new context
 * started (best batch); *@per_decision gets decisions per switch.
 */
static double bench_switch(struct setup *s, unsigned long iters, double *per_decision)
{
	unsigned long per = iters / BATCHES ? iters / BATCHES : 1;
	double best = INFINITY;

	for (int b = 0; b < BATCHES; b++) {
		struct vc_coproc_stats s0, s1;
		double t0, t;

		vc_coproc_stats(s->c, &s0);
		t0 = wall_ns();
		for (unsigned long i = 0; i < per; i++)
			vc_vtime_advance(STEP);
		t = wall_ns() - t0;
		vc_coproc_stats(s->c, &s1);
		if (s1.switches == s0.switches)
			return NAN;
		*per_decision = (double)(s1.decisions - s0.decisions) /
				(s1.switches - s0.switches);
		t /= s1.switches - s0.switches;
		if (t < best)
			best = t;
	}
	return best;
}

int main(int argc, char **argv)
{
	static const unsigned int sizes[] = { 4, 64, 256 };
	const char *only = NULL;
	unsigned long iters = 200000;
	const char *const *algo;
	double worst_switch = 0;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--iters") && i + 1 < argc) {
			iters = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--algo") && i + 1 < argc) {
			only = argv[++i];
		} else {
			fprintf(stderr, "usage: %s [--iters N] [--algo NAME]\n", argv[0]);
			return 2;
		}
	}
	if (!iters)
		iters = 1;

	printf("%-9s %6s %14s %14s %12s\n", "algorithm", "n", "decision ns",
	       "switch ns", "dec/switch");
	for (algo = vc_sched_algos(); *algo; algo++) {
		double dec[3] = { 0 };

		if (only && strcmp(only, *algo))
			continue;
		for (unsigned int k = 0; k < 3; k++) {
			struct setup s;
			double sw, dps = 0;

			build(&s, *algo, sizes[k]);
			bench_switch(&s, iters / 10, &dps); /* warm up */
			sw = bench_switch(&s, iters, &dps);
			dec[k] = bench_decision(&s, iters);
			teardown(&s);
			printf("%-9s %6u %14.1f %14.1f %12.2f\n", *algo, sizes[k], dec[k], sw, dps);
			if (sw > worst_switch)
				worst_switch = sw;
		}
		printf("%-9s decision growth 4 -> 256: %.2fx (O(log n) would be %.2fx, O(n) %.0fx)\n",
		       *algo, dec[2] / dec[0], log2(256) / log2(4), 256.0 / 4);
	}
	printf("worst framework CPU per switch: %.1f ns (target <= 2000 ns): %s\n",
	       worst_switch, worst_switch <= 2000 ? "met" : "MISSED");
	return rc;
}
