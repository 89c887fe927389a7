// SPDX-License-Identifier: MIT
/*
 * End-to-end tests of the framework, the four algorithms, the simcp model
 * and the native driver through the simulator library: every scenario is
 * the real stack on virtual time, judged by the framework's statistics
 * (shares, refusals, resets) and by what the domains' drivers saw.
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

#include "sim.h"
#include "simcp.h"

static struct sim_scenario scn;
static struct sim_result res, res_a, res_b;

/* ---- helpers ------------------------------------------------------------------ */

/* An algorithm of the project that this build left out (-Dsched_NAME=false). */
static bool left_out(const char *algo)
{
	static const char *const known[] = { "rr", "credit", "rtds", "arinc653" };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(algo, known[i]))
			return !vc_sched_lookup(algo);
	return false;
}

/* Parse @text into scn; the test is skipped if it needs a missing algorithm. */
static void parse(const char *text)
{
	char err[SIM_ERR_MAX];

	sim_scenario_release(&scn);
	if (sim_scenario_parse(&scn, text, "test", err, sizeof(err)))
		fail_msg("scenario: %s", err);
	if (left_out(scn.algo))
		skip();
	for (unsigned int i = 0; i < scn.nr_events; i++)
		if (scn.ev[i].type == SIM_EV_SCHED && left_out(scn.ev[i].algo))
			skip();
}

static struct sim *start(void)
{
	char err[SIM_ERR_MAX];
	struct sim *sim;
	int r = sim_create(&scn, &sim, err, sizeof(err));

	if (r)
		fail_msg("sim_create: %d: %s", r, err);
	return sim;
}

static void run(struct sim_result *out)
{
	char err[SIM_ERR_MAX];

	if (sim_run_scenario(&scn, out, err, sizeof(err)))
		fail_msg("sim: %s", err);
}

static void assert_share(const struct sim_dom_result *r, double want, double tol)
{
	if (!(fabs(r->share - want) <= tol * want))
		fail_msg("%s: share %.6f, want %.6f within %.2f%%", r->name, r->share, want,
			 100 * tol);
}

/* Domain @i's share of the device time used between snapshots @a and @b. */
static double window_share(const struct sim_result *a, const struct sim_result *b,
			   unsigned int i)
{
	vc_time_t total = 0;

	for (unsigned int j = 0; j < b->nr_domains; j++)
		total += b->dom[j].st.run_ns - a->dom[j].st.run_ns;
	return (double)(b->dom[i].st.run_ns - a->dom[i].st.run_ns) / (double)total;
}

static void assert_window_share(unsigned int i, double want, double tol)
{
	double s = window_share(&res_a, &res_b, i);

	if (!(fabs(s - want) <= tol * want))
		fail_msg("%s: window share %.6f, want %.6f within %.2f%%", res_b.dom[i].name, s,
			 want, 100 * tol);
}

/* The isolation every run must keep. */
static void assert_clean(const struct sim_result *r)
{
	for (unsigned int i = 0; i < r->nr_domains; i++) {
		const struct sim_dom_result *d = &r->dom[i];

		if (d->create_err)
			continue;
		assert_int_equal(d->foreign_fences, 0);
		/* Every interrupt the framework delivered reached this domain. */
		assert_int_equal(d->st.irqs, d->irqs_raised);
		assert_int_equal(d->jobs_dropped, 0);
	}
}

/* A growing buffer behind a struct vc_printer. */
struct buf {
	char *p;
	size_t len, cap;
};

static int buf_write(void *opaque, const char *s, size_t n)
{
	struct buf *b = opaque;

	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static char *result_json(const struct sim_result *r)
{
	struct buf b = { 0 };
	struct vc_printer p = { buf_write, &b, 0 };

	assert_int_equal(sim_result_json(&scn, r, &p), 0);
	return b.p;
}

/* ---- fair shares ---------------------------------------------------------------- */

/* The headline: credit 1:2:4 over 10 s, a fifth of the work non-preemptible. */
static void test_credit_weights_np(void **state)
{
	(void)state;
	parse("algo credit\nseconds 10\n"
	      "domain name=d1 weight=1 job=1ms np=0.2\n"
	      "domain name=d2 weight=2 job=1ms np=0.2\n"
	      "domain name=d3 weight=4 job=1ms np=0.2\n");
	run(&res);
	assert_share(&res.dom[0], 1.0 / 7, 0.01);
	assert_share(&res.dom[1], 2.0 / 7, 0.01);
	assert_share(&res.dom[2], 4.0 / 7, 0.01);
	for (int i = 0; i < 3; i++) {
		assert_true(fabs((double)res.dom[i].np_ns / (double)res.dom[i].compute_ns - 0.2) <
			    0.005);
		assert_true(res.dom[i].expected_share > 0);
	}
	assert_true(res.coproc.refusals > 0); /* the NP work was felt */
	/* Always busy: working, or saving and loading contexts. */
	assert_true(res.coproc.busy_ns + res.coproc.switch_ns > VC_MSEC(9990));
	assert_true(sim_check(&scn, &res, 0.01, NULL));
	assert_clean(&res);
}

static void test_rr_equal(void **state)
{
	(void)state;
	parse("algo rr\nseconds 5\nparam slice=2ms\n"
	      "domain name=a job=300us np=0.2 chunk=50us\n"
	      "domain name=b job=2ms np=0.2\n"
	      "domain name=c job=500us..4ms\n"
	      "domain name=d job=1ms depth=2\n");
	run(&res);
	for (int i = 0; i < 4; i++)
		assert_share(&res.dom[i], 0.25, 0.01);
	assert_true(sim_check(&scn, &res, 0.01, NULL));
	assert_clean(&res);
}

/* ---- real time ---------------------------------------------------------------------- */

/* Three 3ms/10ms servers (90%), 2.5 ms jobs every 10 ms: never late. */
static void test_rtds_90_no_miss(void **state)
{
	(void)state;
	parse("algo rtds\nseconds 10\n"
	      "domain name=a budget=3ms period=10ms arrival=periodic job=2.5ms np=0.1 chunk=50us\n"
	      "domain name=b budget=3ms period=10ms arrival=periodic job=2.5ms np=0.1 chunk=50us\n"
	      "domain name=c budget=3ms period=10ms arrival=periodic job=2.5ms np=0.1 chunk=50us\n"
	      "domain name=bg budget=500us period=100ms arrival=saturate job=1ms np=0.1 chunk=50us\n");
	run(&res);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(res.dom[i].create_err, 0);
		assert_int_equal(res.dom[i].st.deadline_misses, 0);
		assert_int_equal(res.dom[i].job_misses, 0);
	}
	for (int i = 0; i < 3; i++) {
		assert_true(res.dom[i].jobs_completed >= 999);
		assert_true(res.dom[i].lat_max_ns <= VC_MSEC(10));
	}
	/* The background server gets its budget, and no more. */
	assert_true(res.dom[3].st.run_ns <= VC_MSEC(100 * 5 / 10 + 1));
	assert_true(sim_check(&scn, &res, 0.01, NULL));
	assert_clean(&res);
}

/* 120% asked for: admission control refuses the fourth, cleanly; later
 * changes that would break the guarantees are refused too. */
static void test_rtds_infeasible(void **state)
{
	char msg[512];
	struct buf b = { 0 };
	struct vc_printer p = { buf_write, &b, 0 };
	char *json;

	(void)state;
	parse("algo rtds\nseconds 1\n"
	      "domain name=a budget=3ms period=10ms arrival=periodic job=2ms\n"
	      "domain name=b budget=3ms period=10ms arrival=periodic job=2ms\n"
	      "domain name=c budget=3ms period=10ms arrival=periodic job=2ms\n"
	      "domain name=d budget=3ms period=10ms arrival=periodic job=2ms\n"
	      "at 500ms set a budget=5ms\n");
	run(&res);
	/* Raising a's budget at run time is refused the same way. */
	assert_int_equal(res.event_errors, 1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(res.dom[i].create_err, 0);
		assert_int_equal(res.dom[i].st.deadline_misses, 0);
		assert_int_equal(res.dom[i].jobs_completed, 100);
	}
	assert_int_equal(res.dom[3].create_err, -VC_ENOSPC);
	assert_int_equal(res.dom[3].jobs_submitted, 0);
	assert_int_equal(res.dom[3].st.run_ns, 0);
	assert_int_equal(res.coproc.nr_vcoprocs, 3);
	assert_false(sim_check(&scn, &res, 0.01, &p));
	snprintf(msg, sizeof(msg), "%s", b.p);
	assert_non_null(strstr(msg, "check: d: no vcoproc"));
	json = result_json(&res);
	assert_non_null(strstr(json, "\"domain\": \"d\", \"domid\": 4, \"params\": "
			       "{\"budget\": \"3ms\", \"period\": \"10ms\"}, "
			       "\"created\": false, \"error\": "));
	free(json);
	free(b.p);
}

/* ---- static partitioning -------------------------------------------------------------- */

static void run_a653(double np)
{
	char text[512];

	snprintf(text, sizeof(text),
		 "algo arinc653\nseconds 4\nparam frame=d1:10ms,d2:6ms,idle:2ms,d3:2ms\n"
		 "domain name=d1 job=500us..1500us chunk=20us np=%g\n"
		 "domain name=d2 job=500us..1500us chunk=20us np=%g\n"
		 "domain name=d3 job=500us..1500us chunk=20us np=%g\n", np, np, np);
	parse(text);
	run(&res);
}

/*
 * Shares follow the windows (10:6:2 of the 18 ms used in a 20 ms frame).
 * The windows keep their nominal times, so an occupant overruns its
 * window by the command in flight at its end (d3, after the idle window,
 * gains it without losing any), and a late start is jitter.  Without NP
 * work a window starts late by at most the command in flight; with it,
 * refusals are recorded and the lateness stays within one NP section.
 */
static void test_arinc653_frame(void **state)
{
	const vc_time_t chunk = VC_USEC(20);
	vc_time_t bound0, jit0 = 0, jit1 = 0;

	(void)state;
	run_a653(0);
	assert_share(&res.dom[0], 10.0 / 18, 0.01);
	assert_share(&res.dom[1], 6.0 / 18, 0.01);
	assert_share(&res.dom[2], 2.0 / 18, 0.01);
	/* The idle window stays idle: 90% of the device, plus the command
	 * in flight at its start. */
	assert_true(res.coproc.busy_ns <= VC_MSEC(4000 * 9 / 10) + 200 * chunk);
	assert_int_equal(res.coproc.refusals, 0);
	/* One command in flight: the chunk and its overhead.  (Save and load
	 * are device time after the switch; they delay no decision.) */
	bound0 = chunk + VC_USEC(1);
	for (int i = 0; i < 3; i++) {
		assert_in_range(res.dom[i].st.switches_in, 200, 201); /* once a frame */
		jit0 = VC_MAX(jit0, res.dom[i].st.jitter_max_ns);
	}
	assert_true(jit0 <= bound0);
	assert_true(sim_check(&scn, &res, 0.01, NULL));

	run_a653(0.3);
	assert_share(&res.dom[0], 10.0 / 18, 0.01);
	assert_share(&res.dom[1], 6.0 / 18, 0.01);
	assert_share(&res.dom[2], 2.0 / 18, 0.02);
	assert_true(res.coproc.refusals > 0);
	/* A flagged command with its overhead: stops wait that long. */
	assert_int_equal(res.max_nonpreempt, chunk + SIMCP_DEF_CMD_OVERHEAD_NS);
	for (int i = 0; i < 3; i++)
		jit1 = VC_MAX(jit1, res.dom[i].st.jitter_max_ns);
	/* simcp honours a refused stop at the next boundary, so a refusal
	 * delays a window by at most the NP command in flight.  (Not more
	 * than jit0: either run's lateness depends on where the chunks fall
	 * at the window boundaries, which the switch cost shifts.) */
	assert_true(jit1 <= bound0 + res.max_nonpreempt);
	assert_clean(&res);
}

/* ---- the switch protocol --------------------------------------------------------------- */

struct trace_ev {
	char name[16];
	unsigned int tid;
	vc_time_t ts;
	uint64_t arg;
};

/* Parse the export's one-event-per-line JSON into @ev; returns the count. */
static unsigned int parse_trace(char *json, struct trace_ev *ev, unsigned int max)
{
	unsigned int n = 0;

	for (char *line = strtok(json, "\n"); line && n < max; line = strtok(NULL, "\n")) {
		unsigned long long us, arg = 0;
		unsigned int frac, tid;
		char name[16];
		char *args;

		/* {"name":"refused","ph":"i","pid":1,"tid":3,"ts":12.345,...},  */
		if (sscanf(line, "{\"name\":\"%15[^\"]\",\"ph\":\"%*c\",\"pid\":1,"
			   "\"tid\":%u,\"ts\":%llu.%u", name, &tid, &us, &frac) != 4)
			continue;
		args = strstr(line, "\"args\":{\"");
		if (args && (args = strchr(args + 9, ':')))
			arg = strtoull(args + 1, NULL, 10);
		snprintf(ev[n].name, sizeof(ev[n].name), "%s", name);
		ev[n].tid = tid;
		ev[n].ts = us * 1000 + frac;
		ev[n].arg = arg;
		n++;
	}
	return n;
}

/*
 * Every refused switch is retried exactly when the device said: the next
 * decision after a refusal at T with hint R comes at T + R.  (Saturating
 * domains: nothing else asks for a decision in between.)
 */
static void test_refusal_retry_at_hint(void **state)
{
	static struct trace_ev ev[200000];
	struct buf b = { 0 };
	struct vc_printer p = { buf_write, &b, 0 };
	unsigned int n, refusals = 0;
	struct sim *sim;

	(void)state;
	parse("algo credit\nseconds 1\ntrace 1000000\n"
	      "domain name=d1 weight=256 job=1ms np=0.5 chunk=200us\n"
	      "domain name=d2 weight=512 job=1ms np=0.5 chunk=200us\n");
	sim = start();
	sim_run(sim);
	sim_result(sim, &res);
	assert_int_equal(sim_trace_export(sim, &p), 0);
	sim_destroy(sim);

	n = parse_trace(b.p, ev, sizeof(ev) / sizeof(ev[0]));
	assert_true(n > 100);
	for (unsigned int i = 0; i < n; i++) {
		vc_time_t due;
		unsigned int j;

		if (strcmp(ev[i].name, "refused"))
			continue;
		refusals++;
		assert_true(ev[i].arg > 0 && ev[i].arg <= VC_USEC(200));
		due = ev[i].ts + ev[i].arg;
		for (j = i + 1; j < n && strcmp(ev[j].name, "decide"); j++)
			;
		if (j == n)
			continue; /* the run ended first */
		if (ev[j].ts != due)
			fail_msg("refusal at %llu (+%llu) retried at %llu",
				 (unsigned long long)ev[i].ts, (unsigned long long)ev[i].arg,
				 (unsigned long long)ev[j].ts);
	}
	assert_true(refusals > 10);
	assert_int_equal(refusals, res.coproc.refusals);
	assert_true(res.coproc.refusal_wait_ns > 0);
	assert_true(res.dom[0].st.refusals + res.dom[1].st.refusals == refusals);
	free(b.p);
}

/*
 * Completions racing switches: one job in flight per domain, so every
 * completion idles the context and the device switches at that instant -
 * the interrupt is handled after its context left the device (emulated
 * MMIO).  Every interrupt reaches its owner, no domain sees a fence it
 * did not emit, and after draining every submitted job is accounted for.
 */
static void test_racing_completions(void **state)
{
	struct sim *sim;

	(void)state;
	parse("algo rr\nseconds 2\nparam slice=100us\n"
	      "domain name=a job=20us..200us chunk=10us depth=1 np=0.3\n"
	      "domain name=b job=20us..200us chunk=10us depth=1 np=0.3\n"
	      "domain name=c job=20us..200us chunk=10us depth=2 np=0.3\n"
	      "domain name=d job=50us chunk=50us depth=1\n"
	      "domain name=e job=20us..200us chunk=10us depth=3\n"
	      "domain name=f job=5us depth=1\n"
	      "domain name=g arrival=poisson mean=300us job=10us..100us\n"
	      "domain name=h arrival=periodic every=1ms job=100us\n");
	sim = start();
	sim_run(sim);
	assert_int_equal(sim_drain(sim, VC_SEC(1)), 0);
	sim_result(sim, &res);
	sim_destroy(sim);

	assert_clean(&res);
	assert_int_equal(res.coproc.stale_events, 0);
	for (unsigned int i = 0; i < res.nr_domains; i++) {
		const struct sim_dom_result *d = &res.dom[i];

		assert_true(d->jobs_completed > 100);
		assert_int_equal(d->jobs_completed, d->jobs_submitted);
		assert_int_equal(d->jobs_lost, 0);
		assert_int_equal(d->errors, 0);
		/* Each fence it emitted came back, in order, to it. */
		assert_int_equal(d->fences_seen_max, d->fences_emitted);
		assert_int_equal(d->irq_handlers - d->irqs_spurious, d->jobs_completed);
		/* One job in flight: its interrupt always finds it switched out. */
		if (scn.dom[i].depth == 1)
			assert_true(d->st.mmio_emulated > d->jobs_completed);
	}
}

/* ---- recovery and control ------------------------------------------------------------ */

/*
 * d2 waits forever at 1 s.  The framework resets its context after
 * hang_timeout of its own running time; its driver sees SIMCP_FAULT_HANG
 * and goes on; d1 and d3 keep their pace throughout.
 */
static void test_hang_reset_others_continue(void **state)
{
	struct sim_result *r0 = &res_a, *r1 = &res_b, *r2 = &res;
	struct sim *sim;

	(void)state;
	parse("algo credit\nseconds 4\nhang_timeout 200ms\n"
	      "domain name=d1 job=1ms np=0.2\n"
	      "domain name=d2 job=1ms np=0.2\n"
	      "domain name=d3 job=1ms np=0.2\n"
	      "at 1s hang d2\n");
	sim = start();
	sim_run_until(sim, VC_SEC(1));
	sim_result(sim, r0);
	sim_run_until(sim, VC_SEC(2));
	sim_result(sim, r1);
	sim_run(sim);
	sim_result(sim, r2);
	sim_destroy(sim);

	/* The hang is found after 200 ms of d2's time: ~0.6 s at a third. */
	assert_int_equal(r1->dom[1].st.resets, 1);
	assert_int_equal(r1->dom[1].hang_faults, 1);
	assert_int_equal(r1->dom[1].errors, 1);
	assert_true(r1->dom[1].jobs_lost >= 1);
	assert_int_equal(r1->coproc.resets, 1);
	for (int i = 0; i < 3; i += 2) {
		uint64_t before = r0->dom[i].jobs_completed;
		uint64_t during = r1->dom[i].jobs_completed - before;

		assert_int_equal(r2->dom[i].st.resets, 0);
		assert_int_equal(r2->dom[i].errors, 0);
		assert_int_equal(r2->dom[i].jobs_lost, 0);
		/* A third of the device in every second, hang or not. */
		assert_true(during >= before * 95 / 100);
	}
	/* d2 is back to work after its reset. */
	assert_true(r2->dom[1].jobs_completed - r1->dom[1].jobs_completed >= 600);
	assert_clean(r2);
}

/* A weight raised at run time moves the shares at once. */
static void test_weight_change(void **state)
{
	struct sim *sim;

	(void)state;
	parse("algo credit\nseconds 4\n"
	      "domain name=d1 weight=256 job=1ms np=0.2\n"
	      "domain name=d2 weight=256 job=1ms np=0.2\n"
	      "at 2s set d1 weight=768\n");
	sim = start();
	sim_run_until(sim, VC_MSEC(100));
	sim_result(sim, &res_a);
	sim_run_until(sim, VC_SEC(2));
	sim_result(sim, &res_b);
	assert_window_share(0, 0.5, 0.02);
	sim_run_until(sim, VC_MSEC(2100));
	sim_result(sim, &res_a);
	sim_run(sim);
	sim_result(sim, &res_b);
	assert_window_share(0, 0.75, 0.02);
	assert_window_share(1, 0.25, 0.02);
	assert_string_equal(vc_vcoproc_param(sim_vcoproc(sim, 0), "weight"), "768");
	sim_destroy(sim);
	assert_clean(&res_b);
}

/* credit -> rr at run time: every vcoproc and all its work is kept. */
static void test_sched_switch_keeps_work(void **state)
{
	struct sim *sim;

	(void)state;
	parse("algo credit\nseconds 4\n"
	      "domain name=d1 weight=1 job=1ms np=0.2\n"
	      "domain name=d2 weight=2 job=1ms np=0.2\n"
	      "domain name=d3 weight=4 job=1ms..2ms np=0.2\n"
	      "at 2s sched rr\n");
	sim = start();
	sim_run_until(sim, VC_MSEC(100));
	sim_result(sim, &res_a);
	sim_run_until(sim, VC_SEC(2));
	sim_result(sim, &res_b);
	assert_window_share(0, 1.0 / 7, 0.02);
	assert_window_share(2, 4.0 / 7, 0.02);
	sim_run_until(sim, VC_MSEC(2100));
	sim_result(sim, &res_a);
	assert_string_equal(res_a.algo, "rr");
	assert_int_equal(res_a.coproc.nr_vcoprocs, 3);
	sim_run(sim);
	sim_result(sim, &res_b);
	for (int i = 0; i < 3; i++)
		assert_window_share((unsigned int)i, 1.0 / 3, 0.02);
	assert_int_equal(sim_drain(sim, VC_SEC(1)), 0);
	sim_result(sim, &res);
	sim_destroy(sim);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(res.dom[i].jobs_completed, res.dom[i].jobs_submitted);
		assert_int_equal(res.dom[i].jobs_lost, 0);
	}
	assert_clean(&res);
}

/* A domain destroyed mid-run: its counters freeze, the others share its time. */
static void test_destroy_domain(void **state)
{
	struct sim *sim;

	(void)state;
	parse("algo credit\nseconds 3\n"
	      "domain name=d1 job=1ms np=0.2\n"
	      "domain name=d2 job=1ms np=0.2\n"
	      "domain name=d3 job=1ms np=0.2\n"
	      "at 1s destroy d3\n");
	sim = start();
	sim_run_until(sim, VC_MSEC(1500));
	sim_result(sim, &res_a);
	assert_null(sim_vcoproc(sim, 2));
	sim_run(sim);
	sim_result(sim, &res_b);
	sim_destroy(sim);
	assert_true(res_b.dom[2].destroyed);
	assert_int_equal(res_b.dom[2].st.run_ns, res_a.dom[2].st.run_ns);
	assert_true(res_b.dom[2].st.run_ns > VC_MSEC(300));
	assert_int_equal(res_b.coproc.nr_vcoprocs, 2);
	assert_window_share(0, 0.5, 0.01);
	assert_window_share(1, 0.5, 0.01);
	assert_clean(&res_b);
}

/* A periodic domain starved by a heavier neighbour misses deadlines, and says so. */
static void test_periodic_misses_counted(void **state)
{
	(void)state;
	parse("algo credit\nseconds 2\n"
	      "domain name=video weight=256 arrival=periodic every=10ms job=8ms\n"
	      "domain name=batch weight=768 job=2ms\n");
	run(&res);
	assert_true(res.dom[0].job_misses > 50);
	assert_true(res.dom[0].lat_max_ns > VC_MSEC(10));
	assert_true(res.dom[0].expected_share < 0); /* not a steady state */
	assert_int_equal(res.dom[1].job_misses, 0);
	assert_clean(&res);
}

/* ---- non-preemptible chains and the device model -------------------------------------- */

static void run_chains(const char *extra)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "algo credit\nseconds 5\nwindow 1s\n%s"
		 "domain name=a weight=1 job=2ms np=0.5 np_chain=200us..1ms\n"
		 "domain name=b weight=2 job=2ms np=0.5 np_chain=200us..1ms\n"
		 "domain name=c weight=4 job=2ms np=0.5 np_chain=200us..400us\n", extra);
	parse(text);
	run(&res);
}

/*
 * Half of the compute in chains of 200 us..1 ms: the device is told the
 * longest (1 ms and ten command overheads) and refuses stops inside
 * them; the share in chains is exact and credit keeps 1:2:4.  With the
 * device's bound at 500 us, the longer chains are cut with
 * SIMCP_FAULT_NONPREEMPT, counted by the domain that issued them, and
 * never for c, whose chains all fit.
 */
static void test_np_chains(void **state)
{
	uint64_t faults = 0;

	(void)state;
	run_chains("");
	assert_int_equal(res.max_nonpreempt, VC_MSEC(1) + 10 * SIMCP_DEF_CMD_OVERHEAD_NS);
	for (int i = 0; i < 3; i++) {
		const struct sim_dom_result *d = &res.dom[i];

		assert_true(fabs((double)d->np_ns / (double)d->compute_ns - 0.5) < 0.005);
		assert_true(d->chains > 100);
		assert_int_equal(d->np_faults, 0);
		assert_int_equal(d->errors, 0);
		assert_true(d->st.refusals > 0);
	}
	assert_share(&res.dom[0], 1.0 / 7, 0.02);
	assert_share(&res.dom[2], 4.0 / 7, 0.01);
	assert_int_equal(res.dev_faults, 0);
	assert_clean(&res);

	run_chains("max_nonpreempt 500us\n");
	assert_int_equal(res.max_nonpreempt, VC_USEC(500));
	for (int i = 0; i < 3; i++)
		faults += res.dom[i].np_faults;
	assert_true(res.dom[0].np_faults > 50);
	assert_true(res.dom[1].np_faults > 50);
	assert_int_equal(res.dom[2].np_faults, 0);
	assert_int_equal(faults, res.dev_faults);
	assert_int_equal(res.dom[0].errors, res.dom[0].np_faults);
	assert_clean(&res);
}

/* Scenario device knobs reach simcp, and admission sees the switch cost they make. */
static void test_device_knobs(void **state)
{
	vc_time_t base, big, fixed;

	(void)state;
	parse("seconds 100ms\ndomain name=a\ndomain name=b\n");
	run(&res);
	base = res.switch_cost;
	parse("seconds 100ms\nctx_size 256K\ndomain name=a\ndomain name=b\n");
	run(&res);
	big = res.switch_cost;
	/* A save and a load each move 192 KiB more at 8 GB/s: 24.6 us each. */
	assert_in_range(big - base, 2 * 24576 - 4, 2 * 24576 + 4);
	parse("seconds 100ms\nctx_size 256K\nctx_bw 4G\nswitch_fixed 5us\n"
	      "domain name=a\ndomain name=b\n");
	run(&res);
	fixed = res.switch_cost;
	/* Half the bandwidth doubles the transfer; 5 us more per save and load. */
	assert_in_range(fixed, 2 * big + 2 * VC_USEC(5) - 8, 2 * big + 2 * VC_USEC(5) + 8);
	assert_true(res.dom[0].jobs_completed > 0 && res.dom[1].jobs_completed > 0);
}

/* ---- many domains ------------------------------------------------------------------------ */

/* The text of the shipped scenario @name (sim/scenarios; SIM_SCENARIOS says where). */
static char *scenario_text(const char *name)
{
	const char *dir = getenv("SIM_SCENARIOS");
	char path[512];
	char *buf;
	long len;
	FILE *f;

	if (!dir)
		skip();
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		fail_msg("%s: cannot open", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/*
 * 1024 saturating domains, weights 1, 2, 4, 8 in turn (sum 3840): every
 * one is created, served, and gets its weight's share within 10% over
 * 10 s (a weight-1 domain is owed 2.6 ms of it; its lag is bounded by
 * about one turn of 0.1..0.25 ms).  Each window is judged and recorded.
 */
static void test_1024_domains(void **state)
{
	char *text = scenario_text("credit-1024.scn");
	double worst = 0;

	(void)state;
	parse(text);
	free(text);
	assert_int_equal(scn.nr_domains, 1024);
	assert_int_equal(scn.window, VC_SEC(1));
	run(&res);
	assert_int_equal(res.nr_domains, 1024);
	assert_int_equal(res.coproc.nr_vcoprocs, 1024);
	assert_int_equal(res.nr_windows, 10);
	for (unsigned int i = 0; i < res.nr_domains; i++) {
		const struct sim_dom_result *d = &res.dom[i];
		double want = (double)(1u << (i % 4)) / 3840;

		assert_int_equal(d->create_err, 0);
		assert_true(fabs(d->expected_share - want) < 1e-6);
		assert_share(d, want, 0.10);
		worst = VC_MAX(worst, fabs(d->share - want) / want);
		assert_true(d->jobs_completed > 0);
		assert_true(d->lat_p50_ns > 0 && d->lat_p50_ns <= d->lat_p99_ns &&
			    d->lat_p99_ns <= d->lat_max_ns);
		/* Every window judged: all saturate with depth 2. */
		assert_int_equal(d->windows_judged, 10);
		assert_true(d->win_err_abs >= 0);
	}
	/* Always busy: working, or saving and loading contexts. */
	assert_true(res.coproc.busy_ns + res.coproc.switch_ns > VC_MSEC(9990));
	assert_clean(&res);
	print_message("# 1024 domains: worst share error %.2f%% relative\n", 100 * worst);
}

/* ---- determinism ------------------------------------------------------------------------ */

static char *run_json_and_trace(char **trace)
{
	struct buf b = { 0 };
	struct vc_printer p = { buf_write, &b, 0 };
	struct sim *sim;

	parse("algo credit\nseconds 2\nseed 9\ntrace 100000\n"
	      "domain name=d1 weight=100 job=200us..2ms np=0.3\n"
	      "domain name=d2 weight=300 arrival=poisson mean=2ms job=1ms np=0.5\n"
	      "domain name=d3 weight=200 arrival=periodic every=5ms job=1ms\n"
	      "at 1s sched rr\n");
	sim = start();
	sim_run(sim);
	sim_result(sim, &res);
	assert_int_equal(sim_trace_export(sim, &p), 0);
	sim_destroy(sim);
	*trace = b.p;
	return result_json(&res);
}

static void test_determinism(void **state)
{
	char *t1, *t2, *j1 = run_json_and_trace(&t1), *j2 = run_json_and_trace(&t2);

	(void)state;
	assert_string_equal(j1, j2);
	assert_string_equal(t1, t2);
	assert_true(strlen(t1) > 10000);
	free(j1);
	free(j2);
	free(t1);
	free(t2);
}

/* ---- scenarios and set-up errors -------------------------------------------------------- */

static void test_scenario_parse(void **state)
{
	const struct sim_domain_cfg *d;
	vc_time_t t;

	(void)state;
	/* Durations: the core's parser (vc_parse_duration(), tests/core). */
	assert_int_equal(vc_parse_duration("2.5ms", VC_SEC(1), &t), 0);
	assert_int_equal(t, 2500000);

	parse("# a comment\n"
	      "algo rtds   # trailing comment\n"
	      "seconds 2.5\n"
	      "seed 0x10\n"
	      "param admission=on\n"
	      "hang_timeout 300ms\n"
	      "domain name=rt budget=3ms period=10ms arrival=periodic job=1ms..2ms np=0.25 "
	      "chunk=20us offset=1.5ms mem=2M\n"
	      "domain name=p arrival=poisson mean=4ms depth=8\n"
	      "at 2s hang p\n"
	      "at 1s set rt budget=2ms\n"
	      "at 1s destroy p\n");
	assert_string_equal(scn.algo, "rtds");
	assert_int_equal(scn.duration, VC_MSEC(2500));
	assert_int_equal(scn.seed, 16);
	assert_int_equal(scn.hang_timeout, VC_MSEC(300));
	assert_int_equal(scn.nr_params, 1);
	assert_int_equal(scn.nr_domains, 2);
	d = &scn.dom[0];
	assert_int_equal(d->arrival, SIM_ARRIVAL_PERIODIC);
	assert_int_equal(d->every, VC_MSEC(10)); /* from period= */
	assert_int_equal(d->job_min, VC_MSEC(1));
	assert_int_equal(d->job_max, VC_MSEC(2));
	assert_int_equal(d->chunk, VC_USEC(20));
	assert_int_equal(d->offset, VC_USEC(1500));
	assert_int_equal(d->mem, 2u << 20);
	assert_true(d->np == 0.25);
	assert_int_equal(d->nr_params, 2);
	assert_string_equal(sim_param_get(d->params, d->nr_params, "budget"), "3ms");
	assert_int_equal(scn.dom[1].arrival, SIM_ARRIVAL_POISSON);
	assert_int_equal(scn.dom[1].every, VC_MSEC(4));
	assert_int_equal(scn.dom[1].depth, 8);
	/* Events sorted by time, file order kept at equal times. */
	assert_int_equal(scn.nr_events, 3);
	assert_int_equal(scn.ev[0].type, SIM_EV_SET);
	assert_int_equal(scn.ev[1].type, SIM_EV_DESTROY);
	assert_int_equal(scn.ev[2].type, SIM_EV_HANG);
	assert_int_equal(scn.ev[2].at, VC_SEC(2));
}

static void test_scenario_errors(void **state)
{
	static const struct { const char *text, *msg; } cases[] = {
		{ "algo", "test:1: 'algo' takes one value" },
		{ "frobnicate 3", "test:1:1: unknown directive 'frobnicate'" },
		{ "# c\n\nseconds x", "test:3:9: bad duration 'x'" },
		{ "domain weight=1", "test:1: domain needs name=" },
		{ "domain name=a\ndomain name=a", "test:2:8: domain 'a' defined twice" },
		{ "domain name=a np=1.5", "test:1:15: np must be a fraction in [0, 1]" },
		{ "domain name=a arrival=periodic", "test:1: a periodic domain needs every= (or period=)" },
		{ "domain name=a arrival=sometimes", "test:1:15: unknown arrival 'sometimes' (saturate, periodic, poisson, idle)" },
		{ "domain name=a job=3ms..1ms", "test:1:15: bad job length '3ms..1ms' (e.g. 2ms or 1ms..3ms)" },
		{ "domain name=a  weight", "test:1:16: expected key=value, got 'weight'" },
		{ "domain name=a deadline=0", "test:1:15: bad deadline '0'" },
		{ "domain name=a\nat 1s hang b", "test:2:12: unknown domain 'b'" },
		{ "at 1s", "test:1: expected: at TIME set|sched|param|hang|destroy ..." },
		{ "at 1s reboot now", "test:1:7: unknown event 'reboot' (set, sched, param, hang, destroy)" },
		{ "at soon sched rr", "test:1:4: bad time 'soon'" },
		{ "at 1.2.3s sched rr", "test:1:4: bad time '1.2.3s'" },
		{ "seconds 10h", "test:1:9: bad duration '10h'" },
		{ "window 0", "test:1:8: bad window '0'" },
		{ "ctx_size 5000", "test:1:10: ctx_size must be a multiple of 4K in 4K..16M" },
		{ "ctx_bw 8X", "test:1:8: bad ctx_bw '8X' (bytes/s: 8G, 500M, ...)" },
		{ "switch_fixed 2s", "test:1:14: bad switch_fixed '2s' (0..1s)" },
		{ "domain name=a np_chain=1ms..100us np=0.5",
		  "test:1:15: bad np_chain '1ms..100us' (e.g. 500us or 200us..1ms)" },
		{ "domain name=a np_chain=1ms", "test:1: np_chain needs np > 0 (the share of compute in chains)" },
		{ "param\tslice", "test:1:7: expected key=value, got 'slice'" },
		{ "domain name=a job=1s chunk=1us", "test:1: job/chunk > 4096 commands per job" },
	};
	char err[SIM_ERR_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sim_scenario_release(&scn);
		err[0] = '\0';
		assert_int_equal(sim_scenario_parse(&scn, cases[i].text, "test", err,
						    sizeof(err)), -VC_EINVAL);
		assert_string_equal(err, cases[i].msg);
	}
	/* A domain line that fails leaves no half-parsed domain behind. */
	assert_int_equal(scn.nr_domains, 0);
}

/*
 * Errors found when the run is set up point at the scenario line (and the
 * word) that asked for what was refused.
 */
/*
 * `algo passthrough`: the first domain owns the device - its context loaded
 * once and never switched, every access forwarded - and the next one is
 * refused (-VC_EBUSY) and runs nothing; scheduling parameters are refused
 * with the scenario's line.
 */
static void test_passthrough(void **state)
{
	char err[SIM_ERR_MAX];
	struct sim *sim;

	(void)state;
	parse("algo passthrough\nseconds 2\n"
	      "domain name=owner job=1ms\n"
	      "domain name=late job=1ms\n");
	run(&res);
	assert_string_equal(res.algo, "passthrough");
	assert_int_equal(res.dom[0].create_err, 0);
	assert_int_equal(res.dom[1].create_err, -VC_EBUSY);
	assert_int_equal(res.dom[1].jobs_completed, 0);
	assert_int_equal(res.dom[0].st.switches_in, 1);
	assert_int_equal(res.dom[0].st.switches_out, 0);
	assert_int_equal(res.dom[0].st.mmio_emulated, 0);
	assert_true(res.dom[0].st.mmio_forwarded > 1000);
	assert_true(res.coproc.busy_ns > VC_MSEC(1999));
	assert_true(res.dom[0].jobs_completed > 1900);
	assert_clean(&res);

	parse("algo passthrough\nseconds 1\n"
	      "domain name=owner weight=512 job=1ms\n");
	assert_int_not_equal(sim_create(&scn, &sim, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "test:3:"));
	assert_non_null(strstr(err, "weight=512"));
}

static void test_setup_errors(void **state)
{
	static const struct { const char *text, *msg; int err; } cases[] = {
		{ "algo nosuch\ndomain name=a\n", "unknown algorithm 'nosuch'", -VC_ENOENT },
		{ "algo credit\n# a comment\ndomain name=a\ndomain name=b  weight=0\n",
		  "test:4:16: domain b: vcoproc: weight=0: invalid argument", -VC_EINVAL },
		{ "algo credit\ndomain name=a cap=20 weight=9x\n",
		  "test:2:22: domain a: vcoproc: weight=9x: invalid argument", -VC_EINVAL },
		{ "algo credit\ndomain name=a bogus=1\n",
		  "test:2:15: domain a: vcoproc: bogus=1: unknown parameter", -VC_ENOENT },
		{ "algo rtds\ndomain name=a budget=20ms period=10ms\n",
		  "test:2:15: domain a: vcoproc: budget=20ms: invalid argument", -VC_EINVAL },
		{ "algo credit\nseconds 1\nparam ratelimit=1ms slice=1h\ndomain name=a\n",
		  "test:3:21: credit: parameter slice=1h: invalid argument", -VC_EINVAL },
		{ "algo credit\nparam bogus=1\ndomain name=a\n",
		  "test:2:7: credit: parameter bogus=1: unknown", -VC_ENOENT },
		{ "domain name=a mem=64K depth=256 job=1ms chunk=1us\n",
		  "test:1: domain a: mem 65536 too small for a", -VC_EINVAL },
	};
	char err[SIM_ERR_MAX];
	struct sim *sim;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse(cases[i].text);
		err[0] = '\0';
		assert_int_equal(sim_create(&scn, &sim, err, sizeof(err)), cases[i].err);
		if (strncmp(err, cases[i].msg, strlen(cases[i].msg)))
			fail_msg("case %zu: '%s', want '%s'", i, err, cases[i].msg);
	}
	/* Built by hand (no text): no location, the same message. */
	sim_scenario_release(&scn);
	scn.algo[0] = '\0';
	{
		struct sim_domain_cfg *d;

		assert_int_equal(sim_scenario_add_domain(&scn, "h", &d), 0);
		assert_int_equal(sim_param_add(d->params, &d->nr_params, "weight", "0"), 0);
	}
	if (!left_out("credit")) {
		assert_int_equal(sim_create(&scn, &sim, err, sizeof(err)), -VC_EINVAL);
		assert_string_equal(err, "domain h: vcoproc: weight=0: invalid argument");
	}
	/* After all that, a good one still runs. */
	parse("seconds 100ms\ndomain name=a\n");
	run(&res);
	assert_true(res.dom[0].jobs_completed >= 95);
}

/* ---- expected shares: the schedulers' promises, kept -------------------------------- */

/* Expected shares come from each algorithm's hook, and --check holds them. */
static void test_expected_shares_caps(void **state)
{
	(void)state;
	/* A cap binds: 20%, the rest by weight 1:2. */
	parse("algo credit\nseconds 5\n"
	      "domain name=a cap=20\ndomain name=b\ndomain name=c weight=512\n");
	run(&res);
	assert_true(fabs(res.dom[0].expected_share - 0.2) < 1e-9);
	assert_true(fabs(res.dom[1].expected_share - 0.8 / 3) < 1e-9);
	assert_true(fabs(res.dom[2].expected_share - 1.6 / 3) < 1e-9);
	assert_share(&res.dom[0], 0.2, 0.01);
	assert_true(sim_check(&scn, &res, 0.01, NULL));
}

static void test_expected_shares_rtds(void **state)
{
	(void)state;
	/* (budget / period) over the sum: 0.2 : 0.3 : 0.2. */
	parse("algo rtds\nseconds 5\n"
	      "domain name=a budget=2ms period=10ms\n"
	      "domain name=b budget=3ms period=10ms\n"
	      "domain name=c budget=1ms period=5ms\n");
	run(&res);
	assert_true(fabs(res.dom[1].expected_share - 3.0 / 7) < 1e-9);
	assert_share(&res.dom[1], 3.0 / 7, 0.01);
	assert_true(sim_check(&scn, &res, 0.01, NULL));
}

static void test_expected_shares_frame(void **state)
{
	(void)state;
	/* Windows by name and by id (all digits), idle time nobody's. */
	parse("algo arinc653\nseconds 5\nparam frame=a:5,b:2.5,idle:2.5,1:5\n"
	      "domain name=a\ndomain name=b\n");
	run(&res);
	assert_true(fabs(res.dom[0].expected_share - 0.8) < 1e-9);
	assert_true(fabs(res.dom[1].expected_share - 0.2) < 1e-9);
	assert_true(sim_check(&scn, &res, 0.01, NULL));
}

/* Every algorithm named in the blank-separated @list is built in. */
static bool built(const char *list)
{
	char buf[64], *tok, *save;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (left_out(tok))
			return false;
	return true;
}

int main(void)
{
	static const struct {
		struct CMUnitTest t;
		const char *algos; /* the test needs these built in */
	} all[] = {
		{ cmocka_unit_test(test_credit_weights_np), "credit" },
		{ cmocka_unit_test(test_rr_equal), "rr" },
		{ cmocka_unit_test(test_rtds_90_no_miss), "rtds" },
		{ cmocka_unit_test(test_rtds_infeasible), "rtds" },
		{ cmocka_unit_test(test_arinc653_frame), "arinc653" },
		{ cmocka_unit_test(test_refusal_retry_at_hint), "credit" },
		{ cmocka_unit_test(test_racing_completions), "rr" },
		{ cmocka_unit_test(test_hang_reset_others_continue), "credit" },
		{ cmocka_unit_test(test_weight_change), "credit" },
		{ cmocka_unit_test(test_sched_switch_keeps_work), "credit rr" },
		{ cmocka_unit_test(test_destroy_domain), "credit" },
		{ cmocka_unit_test(test_periodic_misses_counted), "credit" },
		{ cmocka_unit_test(test_1024_domains), "credit" },
		{ cmocka_unit_test(test_np_chains), "credit" },
		{ cmocka_unit_test(test_device_knobs), "credit" },
		{ cmocka_unit_test(test_expected_shares_caps), "credit" },
		{ cmocka_unit_test(test_expected_shares_rtds), "rtds" },
		{ cmocka_unit_test(test_expected_shares_frame), "arinc653" },
		{ cmocka_unit_test(test_determinism), "credit rr" },
		{ cmocka_unit_test(test_scenario_parse), "rtds" }, /* parses an rtds scenario */
		{ cmocka_unit_test(test_scenario_errors), "" },
		{ cmocka_unit_test(test_setup_errors), "credit" },
		{ cmocka_unit_test(test_passthrough), "" },
	};
	struct CMUnitTest tests[sizeof(all) / sizeof(all[0])];
	size_t n = 0;

	/* A build without some algorithm runs what it can (-Dsched_NAME=false). */
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (built(all[i].algos))
			tests[n++] = all[i].t;
		else
			printf("# %s left out: needs %s\n", all[i].t.name, all[i].algos);
	}
	vc_vtime_set_log_level(VC_LOG_ERR); /* expected warnings: hangs, refusals */
	return _cmocka_run_group_tests("sim", tests, n, NULL, NULL);
}
