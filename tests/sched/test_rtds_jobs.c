// SPDX-License-Identifier: MIT
/*
 * RTDS at the job level: for random task sets that admission control
 * accepts, the simulated domains' own jobs - periodic, released at the
 * start of each period, each needing up to its full budget of device time -
 * all complete by the next release.  The whole stack runs on virtual time
 * (the simulator: framework, rtds, the simcp model and the native driver),
 * so what is judged is when each job's fence came back to its domain, not
 * the scheduler's own miss counter (that one must agree, and is checked
 * too).
 *
 * The sweep: 3 to 64 tasks, harmonic and non-harmonic periods, the load
 * raised until admission refuses, with and without non-preemptible
 * sections up to the bound the device declares.  docs/schedulers.md states
 * the guarantee this checks.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vcoproc/sched.h>
#include <vcoproc/vtime.h>

#include "simcp.h"
#include "sim.h"

/* The simulator's generator: the sets are the same on every run. */
static uint64_t rnd(uint64_t *s)
{
	return sim_rng_next(s);
}

static double unit(uint64_t *s)
{
	return (double)(rnd(s) >> 11) * 0x1.0p-53;
}

struct task {
	vc_time_t budget, period, offset, chunk;
};

static bool isolated; /* the sweep runs admission=isolated with a rogue */

struct set {
	unsigned int n;
	bool np;                 /* non-preemptible sections in the jobs */
	bool chains;             /* ... as chains of commands up to 1 ms */
	struct task t[64];
};

#define CHAIN_MIN VC_USEC(200) /* np_chain=200us..1ms */

/*
 * The most device time a job of @compute takes on simcp: its COMPUTE
 * commands of at most @chunk each, and the closing fence, each with the
 * command overhead of the timing model.  Chains and the runs between them
 * each end wherever their length falls, splitting a chunk: two more
 * commands for each chain at most.
 */
static vc_time_t job_time(vc_time_t compute, vc_time_t chunk, bool chains)
{
	vc_time_t cmds = (compute + chunk - 1) / chunk + 1;

	if (chains)
		cmds += 2 * ((compute + CHAIN_MIN - 1) / CHAIN_MIN);
	return compute + cmds * SIMCP_DEF_CMD_OVERHEAD_NS;
}

static vc_time_t job_for_budget(vc_time_t budget, vc_time_t chunk, bool chains)
{
	vc_time_t lo = 0, hi = --budget;

	while (lo < hi) {
		vc_time_t mid = (lo + hi + 1) / 2;

		if (job_time(mid, chunk, chains) <= budget)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/*
 * A random set of @n tasks with utilizations from UUniFast summing to @u
 * (budgets only, what admission weighs against its switch and blocking
 * terms).  Harmonic periods are 2, 4, 8, 16 or 32 ms; others any of 2..40
 * ms to the microsecond.
 */
static void make_set(struct set *st, unsigned int n, double u, bool harmonic, bool np,
		     uint64_t *seed)
{
	double left = u;

	st->n = n;
	st->np = np;
	/* Chains of up to 1 ms: n of them (isolated) would not fit 2 ms periods. */
	st->chains = np && !isolated && rnd(seed) % 2;
	for (unsigned int i = 0; i < n; i++) {
		struct task *t = &st->t[i];
		double ui = left;

		if (i + 1 < n) {
			ui = left * (1.0 - pow(unit(seed), 1.0 / (double)(n - 1 - i)));
			left -= ui;
		}
		if (harmonic)
			t->period = VC_MSEC(2) << (rnd(seed) % 5);
		else
			t->period = VC_USEC(2000 + rnd(seed) % 38001);
		/* Whole microseconds, as the scenario gives them. */
		t->budget = (vc_time_t)(ui * (double)t->period) / 1000 * 1000;
		if (t->budget < VC_USEC(20))
			t->budget = VC_USEC(20);
		t->chunk = VC_USEC(20 + rnd(seed) % 81);
		t->offset = rnd(seed) % 2 ? 0 : rnd(seed) % t->period;
	}
}

static char text[64 * 256]; /* the last scenario, shown when a set fails */

/*
 * The scenario of @st, jobs of @job_frac of the budget.  When isolated,
 * admission=isolated, and the last task is a rogue: it always has work
 * (np as the others), so it exhausts its budget every period and overruns.
 */
static void scenario(const struct set *st, double job_frac, vc_time_t seconds,
		     struct sim_scenario *scn)
{
	char *p = text;
	char err[SIM_ERR_MAX];

	p += sprintf(p, "algo rtds\nseconds %llu\n%s", (unsigned long long)(seconds / VC_SEC(1)),
		     isolated ? "param admission=isolated\n" : "");
	for (unsigned int i = 0; i < st->n; i++) {
		if (isolated && i == st->n - 1) {
			p += sprintf(p, "domain name=rogue budget=%lluus period=%lluus "
				     "arrival=saturate job=5ms chunk=%lluns np=%s\n",
				     (unsigned long long)(st->t[i].budget / 1000),
				     (unsigned long long)(st->t[i].period / 1000),
				     (unsigned long long)st->t[i].chunk,
				     st->chains ? "0.5 np_chain=200us..1ms" : st->np ? "0.5" : "0");
			break;
		}
		const struct task *t = &st->t[i];
		vc_time_t job = job_for_budget((vc_time_t)(job_frac * (double)t->budget),
					       t->chunk, st->chains);

		p += sprintf(p, "domain name=t%u budget=%lluus period=%lluus arrival=periodic "
			     "job=%lluns chunk=%lluns offset=%lluns np=%s\n", i,
			     (unsigned long long)(t->budget / 1000),
			     (unsigned long long)(t->period / 1000),
			     (unsigned long long)(job ? job : 1),
			     (unsigned long long)t->chunk, (unsigned long long)t->offset,
			     st->chains ? "0.5 np_chain=200us..1ms" : st->np ? "0.5" : "0");
	}
	sim_scenario_release(scn);
	sim_scenario_init(scn);
	if (sim_scenario_parse(scn, text, "sweep", err, sizeof(err)))
		fail_msg("scenario: %s\n%s", err, text);
}

static struct sim_scenario scn;
static struct sim_result res;

/* Whether admission control accepts every task of @st. */
static bool admitted(const struct set *st)
{
	char err[SIM_ERR_MAX];
	struct sim *sim;

	scenario(st, 1.0, VC_SEC(1), &scn);
	if (sim_create(&scn, &sim, err, sizeof(err)))
		fail_msg("sim_create: %s", err);
	if (sim_result(sim, &res))
		fail_msg("sim_result: out of memory");
	sim_destroy(sim);
	for (unsigned int i = 0; i < res.nr_domains; i++)
		if (res.dom[i].create_err)
			return false;
	return true;
}

/*
 * Run @st with jobs of @job_frac of each budget and check every job met
 * its deadline.  Returns the jobs completed.
 */
static uint64_t run_set(const struct set *st, double job_frac, const char *what)
{
	char err[SIM_ERR_MAX];
	uint64_t jobs = 0, misses = 0;

	scenario(st, job_frac, VC_SEC(2), &scn);
	if (sim_run_scenario(&scn, &res, err, sizeof(err)))
		fail_msg("sim: %s", err);
	for (unsigned int i = 0; i < res.nr_domains; i++) {
		const struct sim_dom_result *d = &res.dom[i];

		assert_int_equal(d->create_err, 0);
		if (isolated && i == res.nr_domains - 1) {
			/* The rogue ran over its budgets, and paid for it. */
			assert_true(d->st.run_ns > 0);
			continue;
		}
		assert_true(d->jobs_completed > 0);
		assert_int_equal(d->jobs_lost, 0);
		assert_int_equal(d->errors, 0);
		assert_int_equal(d->np_faults, 0);
		jobs += d->jobs_completed;
		if (d->job_misses || d->st.deadline_misses) {
			misses += d->job_misses + d->st.deadline_misses;
			print_message("# %s: t%u budget %llu us period %llu us chunk %llu us: "
				      "%llu of %llu jobs late (max latency %llu us), "
				      "rtds counted %llu\n", what, i,
				      (unsigned long long)(st->t[i].budget / 1000),
				      (unsigned long long)(st->t[i].period / 1000),
				      (unsigned long long)(st->t[i].chunk / 1000),
				      (unsigned long long)d->job_misses,
				      (unsigned long long)d->jobs_completed,
				      (unsigned long long)(d->lat_max_ns / 1000),
				      (unsigned long long)d->st.deadline_misses);
		}
	}
	if (misses)
		fail_msg("%llu jobs late; the scenario:\n%s", (unsigned long long)misses, text);
	return jobs;
}

/*
 * One point of the sweep: the most loaded set admission accepts, found by
 * lowering the requested utilization from 1.0 in steps of 2%, then run
 * with jobs of the full budget.
 */
static void sweep_one(unsigned int n, bool harmonic, bool np, uint64_t seed)
{
	static struct set st;
	char what[96];
	double u;

	for (u = 1.0; u > 0.05; u -= 0.02) {
		uint64_t s = seed;

		make_set(&st, n, u, harmonic, np, &s);
		if (admitted(&st))
			break;
	}
	assert_true(u > 0.05);
	snprintf(what, sizeof(what), "%u tasks, %s periods, %s, budgets %.0f%% of the device",
		 n, harmonic ? "harmonic" : "non-harmonic",
		 st.chains ? "non-preemptible chains" : np ? "non-preemptible" : "preemptible",
		 u * 100);
	print_message("# %s: %llu jobs, none late\n", what,
		      (unsigned long long)run_set(&st, 1.0, what));
}

static void test_sweep_small(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 4; seed++) {
		sweep_one(3, seed % 2, false, seed);
		sweep_one(3 + (unsigned int)seed, seed % 2 == 0, true, seed * 7);
	}
}

static void test_sweep_medium(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 3; seed++) {
		sweep_one(8 + 4 * (unsigned int)seed, seed % 2, seed == 2, seed * 13);
		sweep_one(16, seed % 2 == 0, seed != 2, seed * 31);
	}
}

static void test_sweep_large(void **state)
{
	(void)state;
	sweep_one(32, true, false, 101);
	sweep_one(48, false, true, 103);
	sweep_one(64, false, false, 107);
	sweep_one(64, true, true, 109);
}

/* Forty more sets, everything drawn at random. */
static void test_sweep_random(void **state)
{
	uint64_t seed = 2026;

	(void)state;
	for (int i = 0; i < 40; i++) {
		unsigned int n = 3 + (unsigned int)(rnd(&seed) % 62);
		bool harmonic = rnd(&seed) % 2, np = rnd(&seed) % 2;

		sweep_one(n, harmonic, np, rnd(&seed));
	}
}

/*
 * admission=isolated: one vcoproc always has work and overruns its budget
 * at every period's end (by up to a command, or a non-preemptible section);
 * the others' jobs still all meet their deadlines.
 */
static void test_isolated_from_a_rogue(void **state)
{
	(void)state;
	isolated = true;
	sweep_one(4, true, false, 41);
	sweep_one(8, false, true, 43);
	sweep_one(6, true, true, 47);
	isolated = false;
}

/* Jobs shorter than the budget, same sets: no misses either. */
static void test_short_jobs(void **state)
{
	static struct set st;
	uint64_t seed = 5;

	(void)state;
	make_set(&st, 16, 0.6, false, true, &seed);
	assert_true(admitted(&st));
	run_set(&st, 0.8, "16 tasks, jobs of 0.8 budget");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_jobs),
		cmocka_unit_test(test_sweep_small),
		cmocka_unit_test(test_sweep_medium),
		cmocka_unit_test(test_sweep_large),
		cmocka_unit_test(test_sweep_random),
		cmocka_unit_test(test_isolated_from_a_rogue),
	};

	if (!vc_sched_lookup("rtds")) {
		printf("1..0 # SKIP rtds is not in this build\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
