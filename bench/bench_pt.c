// SPDX-License-Identifier: MIT
/*
 * The cost of sharing, against exclusive passthrough: the same workloads
 * on one simcp coprocessor time-sliced by the credit scheduler and on a
 * passthrough device that one domain owns (core/passthrough.c), on the
 * simulator (sim/sim.h: the real framework, schedulers and device model
 * on virtual time).  Every ratio is measured in one run of this program
 * and printed next to its target with MET or MISSED; it is a benchmark,
 * not a test (exit status 0 whatever the figures).
 *
 *   throughput  useful device time (simcp executing commands) per second
 *               of 1, 2, 4 and 8 saturating domains sharing under credit
 *               at slice=1ms, 2ms and 10ms, over that of one domain on a
 *               passthrough device.  Three contexts: every job writes
 *               64 KiB of scratch (the whole context: each switch saves
 *               and loads all of it - the one judged), no scratch (a
 *               switch moves only the registers), and 256 KiB with a
 *               5 us fixed cost per save and load.  Targets: 4 domains
 *               >= 0.98 at 2 ms, >= 0.95 at 1 ms.
 *   latency     release-to-completion latency (its fence's interrupt
 *               handled) of a light periodic domain (one 100 us job every
 *               2 ms) beside 3 saturating ones, against it alone on a
 *               passthrough device: p50, p99, p99.9.
 *   rtds        job deadline misses of random 4-domain rtds sets at 50% to
 *               110% of the device (admission=off; periodic jobs that need
 *               their whole budget of device time), and whether admission
 *               (admission=on) would have accepted each set.
 *   switch      each step of a switch (stop, save, IOMMU, load, start):
 *               modeled device time, and the host CPU of the platform hook
 *               (the device model's work).
 *
 * Usage: bench-pt [--seconds N] [--sets N] [--json FILE]
 *   --seconds  virtual seconds per run (default 10; rtds runs 4)
 *   --sets     random rtds task sets per utilization (default 8)
 *   --json     every figure, plus latency CDFs, for bench/report.py
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vcoproc/vtime.h>

#include "sim.h"

#define JOB      VC_MSEC(1)
#define CHUNK    VC_USEC(100)
#define CMD_NS   100 /* simcp's overhead per command (SIMCP_DEF_CMD_OVERHEAD_NS) */

static FILE *json;            /* --json, or NULL */
static unsigned int secs = 10;

/* ---- scenarios ------------------------------------------------------------------- */

/* The device and the work each job does: how heavy a switch is. */
struct context {
	const char *name;
	const char *what;
	uint32_t ctx_size;        /* 0: simcp's 64 KiB */
	uint32_t scratch;         /* written by each job */
	vc_time_t switch_fixed;
	bool judged;              /* the targets apply to this one */
};

static const struct context contexts[] = {
	{ "ctx64k", "each job writes all 64 KiB of scratch", 0, 64 * 1024, 0, true },
	{ "noscratch", "jobs write no scratch (registers only)", 0, 0, 0, false },
	{ "ctx256k+5us", "256 KiB scratch, all written, 5 us fixed per save and load",
	  256 * 1024, 256 * 1024, VC_USEC(5), false },
};

static int add_saturating(struct sim_scenario *scn, const struct context *cx,
			  unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct sim_domain_cfg *d;
		char name[16];
		int r;

		snprintf(name, sizeof(name), "d%u", scn->nr_domains + 1);
		r = sim_scenario_add_domain(scn, name, &d);
		if (r)
			return r;
		d->job_min = d->job_max = JOB;
		d->chunk = CHUNK;
		d->scratch = cx->scratch;
	}
	return 0;
}

static void scenario_base(struct sim_scenario *scn, const char *algo,
			  const struct context *cx, vc_time_t duration)
{
	sim_scenario_init(scn);
	snprintf(scn->algo, sizeof(scn->algo), "%s", algo);
	scn->duration = duration;
	scn->ctx_size = cx->ctx_size;
	scn->switch_fixed = cx->switch_fixed;
}

static int run(struct sim_scenario *scn, struct sim_result *res, const char *what)
{
	char err[SIM_ERR_MAX];
	int r = sim_run_scenario(scn, res, err, sizeof(err));

	if (r)
		fprintf(stderr, "bench-pt: %s: %s\n", what, res->nr_domains ? err :
			vc_strerror(r));
	return r;
}

static const char *verdict(bool met)
{
	return met ? "MET" : "MISSED";
}

/* ---- throughput ------------------------------------------------------------------ */

struct tput {
	double useful;            /* device busy on commands / time */
	double jobs_per_s;
	uint64_t switches;
	double switch_ns;         /* device time per switch (save + load) */
};

static int tput_run(const struct context *cx, const char *algo, const char *slice,
		    unsigned int n, struct tput *t)
{
	struct sim_scenario scn;
	struct sim_result res = { 0 };
	uint64_t jobs = 0;
	int r;

	scenario_base(&scn, algo, cx, VC_SEC(secs));
	r = slice ? sim_param_add(scn.params, &scn.nr_params, "slice", slice) : 0;
	r = r ? r : add_saturating(&scn, cx, n);
	r = r ? r : run(&scn, &res, "throughput");
	if (!r) {
		for (unsigned int i = 0; i < res.nr_domains; i++)
			jobs += res.dom[i].jobs_completed;
		t->useful = (double)res.dev_busy_ns / (double)res.now;
		t->jobs_per_s = (double)jobs / ((double)res.now / 1e9);
		t->switches = res.coproc.switches;
		t->switch_ns = res.coproc.switches ?
			       (double)res.coproc.switch_ns / (double)res.coproc.switches : 0;
	}
	sim_result_release(&res);
	sim_scenario_release(&scn);
	return r;
}

static int bench_tput(void)
{
	static const char *const slices[] = { "1ms", "2ms", "10ms" };
	static const unsigned int doms[] = { 1, 2, 4, 8 };
	const size_t nc = sizeof(contexts) / sizeof(contexts[0]);
	int r;

	printf("== Throughput: useful device time per second, shared (credit) / passthrough\n"
	       "   saturating domains, 1 ms jobs of 100 us COMPUTE commands, 4 outstanding "
	       "each; %u s virtual per run\n", secs);
	if (json)
		fprintf(json, "  \"throughput\": {\"seconds\": %u, \"contexts\": [\n", secs);
	for (size_t c = 0; c < nc; c++) {
		const struct context *cx = &contexts[c];
		struct tput pt, t;
		double worst = 0;

		r = tput_run(cx, "passthrough", NULL, 1, &pt);
		if (r)
			return r;
		printf("\n-- context %s: %s\n", cx->name, cx->what);
		if (json)
			fprintf(json, "    %s{\"name\": \"%s\", \"what\": \"%s\", \"judged\": %s, "
				"\"passthrough\": {\"useful\": %.6f, \"jobs_per_s\": %.2f}, "
				"\"runs\": [", c ? "," : "", cx->name, cx->what,
				cx->judged ? "true" : "false", pt.useful, pt.jobs_per_s);
		printf("   passthrough, 1 domain: useful %.5f, %.1f jobs/s, %llu switches\n",
		       pt.useful, pt.jobs_per_s, (unsigned long long)pt.switches);
		printf("   %-7s", "slice");
		for (size_t d = 0; d < sizeof(doms) / sizeof(doms[0]); d++)
			printf("  %u domain%s ", doms[d], doms[d] > 1 ? "s" : " ");
		printf("\n");
		for (size_t s = 0; s < sizeof(slices) / sizeof(slices[0]); s++) {
			printf("   %-7s", slices[s]);
			for (size_t d = 0; d < sizeof(doms) / sizeof(doms[0]); d++) {
				r = tput_run(cx, "credit", slices[s], doms[d], &t);
				if (r)
					return r;
				printf("  %.5fx  ", t.useful / pt.useful);
				if (t.switch_ns > worst)
					worst = t.switch_ns;
				if (json)
					fprintf(json, "%s\n      {\"slice\": \"%s\", \"domains\": %u, "
						"\"useful\": %.6f, \"ratio\": %.6f, "
						"\"jobs_per_s\": %.2f, \"switches\": %llu, "
						"\"switch_device_ns\": %.1f}",
						s || d ? "," : "", slices[s], doms[d], t.useful,
						t.useful / pt.useful, t.jobs_per_s,
						(unsigned long long)t.switches, t.switch_ns);
				if (cx->judged && doms[d] == 4 && s < 2) {
					double target = s ? 0.98 : 0.95;

					printf("[4 domains at %s: %.4fx, target >= %.2fx: %s]  ",
					       slices[s], t.useful / pt.useful, target,
					       verdict(t.useful / pt.useful >= target));
				}
			}
			printf("\n");
		}
		printf("   device time per switch (save + load, charged to no domain): "
		       "%.2f us at most\n", worst / 1e3);
		if (json)
			fprintf(json, "], \"switch_device_ns_max\": %.1f}\n", worst);
	}
	if (json)
		fprintf(json, "  ]},\n");
	printf("\n");
	return 0;
}

/* ---- latency --------------------------------------------------------------------- */

static void json_cdf(const struct sim_result *res, unsigned int i)
{
	const struct sim_dom_result *d = &res->dom[i];

	fprintf(json, "\"cdf\": [");
	for (unsigned int k = 0; k < d->nr_cdf; k++) {
		const struct sim_cdf_point *p = &res->cdf[d->cdf_first + k];

		fprintf(json, "%s[%llu, %.6f]", k ? ", " : "", (unsigned long long)p->ns,
			p->frac);
	}
	fprintf(json, "]");
}

static int lat_run(const char *label, const char *algo, const char *slice, unsigned int others,
		   struct sim_result *res, bool last)
{
	const struct context *cx = &contexts[0];
	struct sim_scenario scn;
	struct sim_domain_cfg *d;
	int r;

	scenario_base(&scn, algo, cx, VC_SEC(secs));
	scn.latency_cdf = true;
	r = slice ? sim_param_add(scn.params, &scn.nr_params, "slice", slice) : 0;
	r = r ? r : sim_scenario_add_domain(&scn, "light", &d);
	if (!r) {
		d->arrival = SIM_ARRIVAL_PERIODIC;
		d->every = VC_MSEC(2);
		d->job_min = d->job_max = VC_USEC(100);
		d->chunk = CHUNK;
		d->scratch = 4096;
	}
	r = r ? r : add_saturating(&scn, cx, others);
	r = r ? r : run(&scn, res, "latency");
	if (!r && json) {
		const struct sim_dom_result *l = &res->dom[0];

		fprintf(json, "    {\"label\": \"%s\", \"algo\": \"%s\", \"slice\": %s%s%s, "
			"\"others\": %u, \"jobs\": %llu, \"p50_ns\": %llu, \"p99_ns\": %llu, "
			"\"p999_ns\": %llu, \"max_ns\": %llu, ", label, algo, slice ? "\"" : "",
			slice ? slice : "null", slice ? "\"" : "", others,
			(unsigned long long)l->jobs_completed, (unsigned long long)l->lat_p50_ns,
			(unsigned long long)l->lat_p99_ns, (unsigned long long)l->lat_p999_ns,
			(unsigned long long)l->lat_max_ns);
		json_cdf(res, 0);
		fprintf(json, "}%s\n", last ? "" : ",");
	}
	sim_scenario_release(&scn);
	return r;
}

static int bench_latency(void)
{
	static const struct { const char *label, *slice; } shared[] = {
		{ "shared, credit slice=10ms (default)", NULL },
		{ "shared, credit slice=2ms", "2ms" },
		{ "shared, credit slice=1ms", "1ms" },
	};
	struct sim_result pt = { 0 }, sh = { 0 };
	int r;

	printf("== Latency: a light periodic domain (100 us job every 2 ms, fence with an "
	       "interrupt),\n   release to completion; beside 3 saturating domains "
	       "(64 KiB contexts, equal weights) vs alone on passthrough; %u s virtual\n", secs);
	if (json)
		fprintf(json, "  \"latency\": [\n");
	r = lat_run("passthrough, alone", "passthrough", NULL, 0, &pt, false);
	if (r)
		goto out;
	printf("   %-38s p50 %9.1f us  p99 %9.1f us  p99.9 %9.1f us  (%llu jobs)\n",
	       "passthrough, alone", pt.dom[0].lat_p50_ns / 1e3, pt.dom[0].lat_p99_ns / 1e3,
	       pt.dom[0].lat_p999_ns / 1e3, (unsigned long long)pt.dom[0].jobs_completed);
	for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++) {
		const struct sim_dom_result *l, *p = &pt.dom[0];

		r = lat_run(shared[i].label, "credit", shared[i].slice, 3, &sh,
			    i + 1 == sizeof(shared) / sizeof(shared[0]));
		if (r)
			goto out;
		l = &sh.dom[0];
		printf("   %-38s p50 %9.1f us  p99 %9.1f us  p99.9 %9.1f us  (%llu jobs)\n"
		       "   %-38s x%.2f          x%.2f           x%.2f  of passthrough "
		       "(no target)\n", shared[i].label, l->lat_p50_ns / 1e3,
		       l->lat_p99_ns / 1e3, l->lat_p999_ns / 1e3,
		       (unsigned long long)l->jobs_completed, "",
		       (double)l->lat_p50_ns / (double)p->lat_p50_ns,
		       (double)l->lat_p99_ns / (double)p->lat_p99_ns,
		       (double)l->lat_p999_ns / (double)p->lat_p999_ns);
	}
	printf("\n");
out:
	if (json)
		fprintf(json, "  ],\n");
	sim_result_release(&pt);
	sim_result_release(&sh);
	return r;
}

/* ---- rtds ------------------------------------------------------------------------ */

static double unit(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}

#define RT_TASKS 4

/*
 * A random set of RT_TASKS servers with utilizations summing to @u
 * (UUniFast, a set with any one above 0.9 drawn again) and periods
 * uniform in 4..40 ms; budgets rounded to 10 us.
 */
static void rt_set(uint64_t *seed, double u, vc_time_t *budget, vc_time_t *period)
{
	double ui[RT_TASKS];
	bool ok;

	do {
		double sum = u;

		ok = true;
		for (unsigned int i = 0; i < RT_TASKS - 1; i++) {
			double next = sum * pow(unit(seed), 1.0 / (RT_TASKS - 1 - i));

			ui[i] = sum - next;
			sum = next;
		}
		ui[RT_TASKS - 1] = sum;
		for (unsigned int i = 0; i < RT_TASKS; i++)
			ok = ok && ui[i] <= 0.9 && ui[i] >= 0.02;
	} while (!ok);
	for (unsigned int i = 0; i < RT_TASKS; i++) {
		period[i] = VC_MSEC(4 + (vc_time_t)(unit(seed) * 37));
		budget[i] = (vc_time_t)(ui[i] * (double)period[i] / 1e4 + 0.5) * VC_USEC(10);
	}
}

static int rt_scenario(struct sim_scenario *scn, const struct context *cx, const char *admission,
		       const vc_time_t *budget, const vc_time_t *period, vc_time_t duration)
{
	int r;

	scenario_base(scn, "rtds", cx, duration);
	r = sim_param_add(scn->params, &scn->nr_params, "admission", admission);
	for (unsigned int i = 0; i < RT_TASKS && !r; i++) {
		struct sim_domain_cfg *d;
		char name[16], b[32], p[32];
		vc_time_t cmds = (budget[i] + CHUNK - 1) / CHUNK + 1; /* + the fence */

		snprintf(name, sizeof(name), "r%u", i + 1);
		r = sim_scenario_add_domain(scn, name, &d);
		if (r)
			break;
		/*
		 * A job needs its whole budget: compute plus command overheads,
		 * 1 ns short - a job ending at the very nanosecond its budget runs
		 * out ties with the budget timer, which virtual time orders
		 * arbitrarily (on a real clock the tie does not occur).
		 */
		d->arrival = SIM_ARRIVAL_PERIODIC;
		d->every = period[i];
		d->job_min = d->job_max = budget[i] - cmds * CMD_NS - 1;
		d->chunk = CHUNK;
		d->scratch = cx->scratch;
		snprintf(b, sizeof(b), "%lluus", (unsigned long long)(budget[i] / 1000));
		snprintf(p, sizeof(p), "%lluus", (unsigned long long)(period[i] / 1000));
		r = sim_param_add(d->params, &d->nr_params, "budget", b);
		r = r ? r : sim_param_add(d->params, &d->nr_params, "period", p);
	}
	return r;
}

/* Would admission=on accept the set?  Created only, not run. */
static int rt_admitted(const struct context *cx, const vc_time_t *budget,
		       const vc_time_t *period, bool *admitted)
{
	struct sim_scenario scn;
	struct sim_result res = { 0 };
	char err[SIM_ERR_MAX];
	struct sim *sim;
	int r;

	r = rt_scenario(&scn, cx, "on", budget, period, VC_MSEC(1));
	r = r ? r : sim_create(&scn, &sim, err, sizeof(err));
	if (!r) {
		r = sim_result(sim, &res);
		*admitted = true;
		for (unsigned int i = 0; !r && i < res.nr_domains; i++)
			*admitted = *admitted && !res.dom[i].create_err;
		sim_destroy(sim);
	}
	sim_result_release(&res);
	sim_scenario_release(&scn);
	return r;
}

static const unsigned int utils[] = { 50, 60, 70, 80, 90, 95, 100, 105, 110 };

static int rtds_sweep(const struct context *cx, unsigned int sets, vc_time_t dur, bool last)
{
	int r = 0;

	printf("-- context %s: %s\n", cx->name, cx->what);
	printf("   %6s  %10s  %12s  %14s  %s\n", "util", "miss ratio", "sets missing",
	       "worst set", "admission=on would accept");
	if (json)
		fprintf(json, "    {\"context\": \"%s\", \"what\": \"%s\", \"points\": [\n",
			cx->name, cx->what);
	for (size_t k = 0; k < sizeof(utils) / sizeof(utils[0]); k++) {
		uint64_t seed = 0x5eed0000ull + utils[k], misses = 0, due = 0;
		unsigned int admitted = 0, missing = 0, adm_missing = 0;
		double worst = 0;

		for (unsigned int s = 0; s < sets; s++) {
			vc_time_t budget[RT_TASKS], period[RT_TASKS];
			struct sim_scenario scn;
			struct sim_result res = { 0 };
			uint64_t m = 0, n = 0;
			bool adm = false;

			rt_set(&seed, utils[k] / 100.0, budget, period);
			r = rt_admitted(cx, budget, period, &adm);
			r = r ? r : rt_scenario(&scn, cx, "off", budget, period, dur);
			r = r ? r : run(&scn, &res, "rtds");
			for (unsigned int i = 0; !r && i < res.nr_domains; i++) {
				const struct sim_dom_result *d = &res.dom[i];
				/* Jobs never completed are late too, but for the
				 * newest, which may not be due yet. */
				uint64_t pending = d->jobs_released - d->jobs_completed;

				m += d->job_misses + (pending > 1 ? pending - 1 : 0);
				n += d->jobs_released ? d->jobs_released - 1 : 0;
			}
			sim_result_release(&res);
			sim_scenario_release(&scn);
			if (r)
				return r;
			admitted += adm;
			missing += m > 0;
			adm_missing += adm && m > 0;
			misses += m;
			due += n;
			if (n && (double)m / (double)n > worst)
				worst = (double)m / (double)n;
		}
		printf("   %5u%%  %10.5f  %6u of %-3u  %14.5f  %2u of %-3u", utils[k],
		       due ? (double)misses / (double)due : 0, missing, sets, worst, admitted,
		       sets);
		if (admitted)
			printf("  admitted sets with misses: %u (target 0: %s)\n", adm_missing,
			       verdict(!adm_missing));
		else
			printf("  (admission refuses every set)\n");
		if (json)
			fprintf(json, "    %s{\"util\": %u, \"miss_ratio\": %.6f, \"sets_missing\": "
				"%u, \"worst_set\": %.6f, \"admitted\": %u, \"admitted_missing\": %u}\n",
				k ? "," : "", utils[k], due ? (double)misses / (double)due : 0,
				missing, worst, admitted, adm_missing);
	}
	if (json)
		fprintf(json, "    ]}%s\n", last ? "" : ",");
	return 0;
}

static int bench_rtds(unsigned int sets)
{
	const vc_time_t dur = VC_SEC(4);
	int r;

	printf("== RTDS: job deadline misses vs utilization, admission=off; %u random sets "
	       "of %d servers\n   per utilization (periods 4..40 ms), periodic jobs needing "
	       "their whole budget (compute + command\n   overheads); %llu s virtual each; miss "
	       "ratio = late or never completed jobs / jobs due (target: 0 where admitted)\n",
	       sets, RT_TASKS, (unsigned long long)(dur / VC_SEC(1)));
	if (json)
		fprintf(json, "  \"rtds\": {\"sets\": %u, \"tasks\": %d, \"seconds\": %llu, "
			"\"contexts\": [\n", sets, RT_TASKS, (unsigned long long)(dur / VC_SEC(1)));
	r = rtds_sweep(&contexts[0], sets, dur, false);
	r = r ? r : rtds_sweep(&contexts[1], sets, dur, true);
	if (json)
		fprintf(json, "  ]},\n");
	printf("   (admission=on charges every job two worst-case switches and one "
	       "non-preemptible section: sched/rtds.c)\n\n");
	return r;
}

/* ---- switch steps ---------------------------------------------------------------- */

static int bench_steps(void)
{
	const struct context *cx = &contexts[0];
	struct sim_scenario scn;
	struct sim_result res = { 0 };
	int r;

	scenario_base(&scn, "credit", cx, VC_SEC(secs));
	scn.switch_steps = true;
	r = sim_param_add(scn.params, &scn.nr_params, "slice", "1ms");
	r = r ? r : add_saturating(&scn, cx, 4);
	r = r ? r : run(&scn, &res, "switch steps");
	if (r)
		goto out;
	printf("== Switch steps: 4 saturating domains, credit slice=1ms, 64 KiB contexts; "
	       "%llu switches\n   per call: modeled device time, host CPU of the simcp "
	       "platform hook (median of none: mean of all calls)\n",
	       (unsigned long long)res.coproc.switches);
	if (json)
		fprintf(json, "  \"switch_steps\": {\"switches\": %llu, \"switch_cost_ns\": %llu, "
			"\"steps\": [", (unsigned long long)res.coproc.switches,
			(unsigned long long)res.switch_cost);
	for (unsigned int s = 0; s < SIM_STEPS; s++) {
		const struct sim_step_stats *st = &res.steps[s];
		uint64_t n = s == SIM_STEP_STOP ? st->switches : st->calls;
		double dev = n ? (double)st->dev_ns / (double)n : 0;
		double cpu = st->calls ? st->cpu_ns / (double)st->calls : 0;

		printf("   %-6s %8llu calls  device %9.3f us  CPU %8.3f us%s\n", sim_step_name(s),
		       (unsigned long long)st->calls, dev / 1e3, cpu / 1e3,
		       s == SIM_STEP_STOP ? "  (device: until the command in flight ends; "
		       "the outgoing domain's own work)" : "");
		if (json)
			fprintf(json, "%s{\"step\": \"%s\", \"calls\": %llu, \"device_ns\": %.1f, "
				"\"cpu_ns\": %.1f}", s ? ", " : "", sim_step_name(s),
				(unsigned long long)st->calls, dev, cpu);
	}
	printf("   save + load: %.3f us of device time per switch, charged to no domain "
	       "(switch_cost for admission: %.3f us)\n",
	       res.coproc.switches ? (double)res.coproc.switch_ns / res.coproc.switches / 1e3 : 0,
	       res.switch_cost / 1e3);
	printf("   the framework's own CPU per switch without the hooks: bench-sched "
	       "(null platform)\n\n");
	if (json)
		fprintf(json, "]},\n");
out:
	sim_result_release(&res);
	sim_scenario_release(&scn);
	return r;
}

int main(int argc, char **argv)
{
	const char *json_path = NULL;
	unsigned int sets = 8;
	struct timespec t0, t1;
	int r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			secs = (unsigned int)strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--sets") && i + 1 < argc) {
			sets = (unsigned int)strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--json") && i + 1 < argc) {
			json_path = argv[++i];
		} else {
			fprintf(stderr, "usage: bench-pt [--seconds N] [--sets N] [--json FILE]\n");
			return 2;
		}
	}
	if (!secs)
		secs = 1;
	if (!sets)
		sets = 1;
	if (json_path) {
		json = fopen(json_path, "w");
		if (!json) {
			perror(json_path);
			return 1;
		}
		fprintf(json, "{\n");
	}
	vc_vtime_set_log_level(VC_LOG_ERR);
	setvbuf(stdout, NULL, _IOLBF, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	printf("bench-pt: sharing (credit, rtds) against exclusive passthrough, on the "
	       "simulator (virtual time)\n\n");
	r = bench_tput();
	r = r ? r : bench_latency();
	r = r ? r : bench_rtds(sets);
	r = r ? r : bench_steps();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (json) {
		fprintf(json, "  \"wall_s\": %.3f\n}\n", (double)(t1.tv_sec - t0.tv_sec) +
			(double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		if (fclose(json) && !r) {
			perror(json_path);
			return 1;
		}
	}
	if (r) {
		fprintf(stderr, "bench-pt: %s\n", vc_strerror(r));
		return 1;
	}
	printf("bench-pt: %.1f s wall\n", (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
