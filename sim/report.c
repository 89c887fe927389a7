// SPDX-License-Identifier: MIT
/*
 * DOC: judging and reporting a run
 *
 * What each algorithm promises (the framework's expected shares, where
 * the run has a steady state), the verdict (--check), and the JSON document
 * the CLI prints (docs/sim.md).  Shares are always the framework's: a
 * vcoproc's run_ns over the run_ns of all vcoprocs.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "simcp.h"

/* ---- expected shares ---------------------------------------------------------- */

void sim_expected_shares(const struct sim_scenario *scn, struct sim *sim,
			 struct sim_result *res)
{
	struct vc_vcoproc **vs;
	struct vc_share *sh;
	unsigned int n;
	int nr;

	for (unsigned int i = 0; i < res->nr_domains; i++)
		res->dom[i].expected_share = -1;
	/* Only a steady state has one answer: no scripted changes. */
	if (scn->nr_events)
		return;
	for (unsigned int i = 0; i < res->nr_domains; i++) {
		const struct sim_domain_cfg *c = &scn->dom[i];

		/* A domain that leaves the device, even for an instant (one job
		 * in flight idles it at each completion), changes everyone's. */
		if (!res->dom[i].create_err &&
		    (c->arrival != SIM_ARRIVAL_SATURATE || c->depth < 2))
			return;
	}
	/* What the algorithm promises (its expected_share() hook), as a share
	 * of the run time of all vcoprocs: what .share measures.  All of them
	 * at one instant, in one call: the hook may be O(n) per vcoproc. */
	n = res->nr_domains;
	vs = calloc(VC_MAX(n, 1u), sizeof(*vs));
	sh = calloc(VC_MAX(n, 1u), sizeof(*sh));
	nr = vs && sh ? vc_coproc_expected_shares(sim_coproc(sim), vs, sh, n) : -VC_ENOMEM;
	/* Creation order is domain order; refused or destroyed ones are absent. */
	for (unsigned int i = 0, k = 0; nr > 0 && i < n && k < (unsigned int)nr; i++) {
		if (sim_vcoproc(sim, i) == vs[k])
			res->dom[i].expected_share = (double)sh[k++].run_ppb / VC_SHARE_ONE;
	}
	free(vs);
	free(sh);
}

/* ---- verdict ---------------------------------------------------------------------- */

static void VC_PRINTF(2, 3) note(struct vc_printer *p, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	if (!p)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && !p->err)
		p->err = p->write(p->opaque, buf, VC_MIN((size_t)n, sizeof(buf) - 1));
}

bool sim_check(const struct sim_scenario *scn, const struct sim_result *res, double tol,
	       struct vc_printer *p)
{
	bool deadlines = !strcmp(res->algo, "rtds");
	bool ok = true;

	(void)scn;
	for (unsigned int i = 0; i < res->nr_domains; i++) {
		const struct sim_dom_result *r = &res->dom[i];

		if (r->create_err) {
			note(p, "check: %s: no vcoproc (%s)\n", r->name,
			     vc_strerror(r->create_err));
			ok = false;
			continue;
		}
		if (r->foreign_fences) {
			note(p, "check: %s: saw %llu fence values it never emitted\n",
			     r->name, (unsigned long long)r->foreign_fences);
			ok = false;
		}
		if (r->expected_share >= 0 &&
		    fabs(r->share - r->expected_share) > tol * r->expected_share) {
			note(p, "check: %s: share %.6f, expected %.6f (off by %.2f%%, limit %.2f%%)\n",
			     r->name, r->share, r->expected_share,
			     100 * fabs(r->share - r->expected_share) / r->expected_share,
			     100 * tol);
			ok = false;
		}
		if (deadlines && (r->st.deadline_misses || r->job_misses)) {
			note(p, "check: %s: %llu deadline misses (scheduler), %llu late jobs\n",
			     r->name, (unsigned long long)r->st.deadline_misses,
			     (unsigned long long)r->job_misses);
			ok = false;
		}
	}
	return ok;
}

/* ---- JSON ------------------------------------------------------------------------- */

static void VC_PRINTF(2, 3) jpr(struct vc_printer *p, const char *fmt, ...)
{
	char small[256], *buf = small;
	va_list ap;
	int n;

	if (p->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		p->err = -VC_EINVAL;
		return;
	}
	if ((size_t)n >= sizeof(small)) {
		buf = malloc((size_t)n + 1);
		if (!buf) {
			p->err = -VC_ENOMEM;
			return;
		}
		va_start(ap, fmt);
		vsnprintf(buf, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	p->err = p->write(p->opaque, buf, (size_t)n);
	if (buf != small)
		free(buf);
}

/* A JSON string; names come from scenarios: the core's escaper. */
static void jstr(struct vc_printer *p, const char *s)
{
	jpr(p, "\"");
	vc_pr_json_str(p, s);
	jpr(p, "\"");
}

static void ju(struct vc_printer *p, const char *key, uint64_t v, bool comma)
{
	jpr(p, "\"%s\": %llu%s", key, (unsigned long long)v, comma ? ", " : "");
}

static void jf(struct vc_printer *p, const char *key, double v, bool comma)
{
	jpr(p, "\"%s\": %.6f%s", key, v, comma ? ", " : "");
}

static void json_params(struct vc_printer *p, const struct vc_param *a, unsigned int n)
{
	jpr(p, "{");
	for (unsigned int i = 0; i < n; i++) {
		jstr(p, a[i].key);
		jpr(p, ": ");
		jstr(p, a[i].val);
		if (i + 1 < n)
			jpr(p, ", ");
	}
	jpr(p, "}");
}

/* Counters, generated from VC_*_STATS(): the keys are the field names. */
#define JSON_STAT(type, name, what) \
	jpr(p, "%s\"" #name "\": %llu", sep, (unsigned long long)st->name), sep = ", ";

static void json_vstats(struct vc_printer *p, const struct vc_vcoproc_stats *st)
{
	const char *sep = "";

	jpr(p, "{");
	VC_VCOPROC_STATS(JSON_STAT)
	jpr(p, "}");
}

static void json_cstats(struct vc_printer *p, const struct vc_coproc_stats *st)
{
	const char *sep = "";

	jpr(p, "{");
	VC_COPROC_STATS(JSON_STAT)
	jpr(p, "}");
}

/* A figure that may be undefined (< 0): null then. */
static void jf_opt(struct vc_printer *p, const char *key, double v, bool comma)
{
	if (v < 0)
		jpr(p, "\"%s\": null%s", key, comma ? ", " : "");
	else
		jf(p, key, v, comma);
}

/* Domain @i's window figures (docs/sim.md, "Windows"). */
static void json_windows(struct vc_printer *p, const struct sim_result *res, unsigned int i)
{
	const struct sim_dom_result *r = &res->dom[i];
	double e;

	jpr(p, ",\n     ");
	ju(p, "windows_judged", r->windows_judged, true);
	jf_opt(p, "window_err_abs", r->win_err_abs, true);
	jf_opt(p, "window_err_rel", r->win_err_rel, true);
	jpr(p, "\n     \"window_shares\": [");
	for (unsigned int w = 0; w < res->nr_windows; w++)
		jpr(p, "%s%.6f", w ? ", " : "", sim_result_window(res, w, i, NULL));
	jpr(p, "],\n     \"window_expected\": [");
	for (unsigned int w = 0; w < res->nr_windows; w++) {
		(void)sim_result_window(res, w, i, &e);
		if (e < 0)
			jpr(p, "%snull", w ? ", " : "");
		else
			jpr(p, "%s%.6f", w ? ", " : "", e);
	}
	jpr(p, "]");
}

/* Domain @i's latency CDF: [ns, fraction completed within ns] per bucket. */
static void json_cdf(struct vc_printer *p, const struct sim_result *res, unsigned int i)
{
	const struct sim_dom_result *r = &res->dom[i];

	jpr(p, ",\n     \"latency_cdf\": [");
	for (unsigned int k = 0; k < r->nr_cdf; k++) {
		const struct sim_cdf_point *pt = &res->cdf[r->cdf_first + k];

		jpr(p, "%s[%llu, %.6f]", k ? ", " : "", (unsigned long long)pt->ns, pt->frac);
	}
	jpr(p, "]");
}

/* The timed switch steps (scenario switch_steps). */
static void json_steps(struct vc_printer *p, const struct sim_result *res)
{
	jpr(p, ",\n    \"switch_steps\": {");
	for (unsigned int st = 0; st < SIM_STEPS; st++) {
		const struct sim_step_stats *s = &res->steps[st];

		jpr(p, "%s\"%s\": {", st ? ", " : "", sim_step_name(st));
		ju(p, "calls", s->calls, true);
		ju(p, "cpu_ns", (uint64_t)s->cpu_ns, true);
		ju(p, "device_ns", s->dev_ns, st == SIM_STEP_STOP);
		if (st == SIM_STEP_STOP)
			ju(p, "switches", s->switches, false);
		jpr(p, "}");
	}
	jpr(p, "}");
}

static void json_vcoproc(struct vc_printer *p, const struct sim_scenario *scn,
			 const struct sim_result *res, unsigned int i)
{
	const struct sim_dom_result *r = &res->dom[i];
	const struct vc_vcoproc_stats *st = &r->st;
	double secs = (double)res->now / 1e9;

	jpr(p, "    {\"domain\": ");
	jstr(p, r->name);
	jpr(p, ", ");
	ju(p, "domid", r->domid, true);
	jpr(p, "\"params\": ");
	json_params(p, scn->dom[i].params, scn->dom[i].nr_params);
	jpr(p, ", \"created\": %s, ", r->create_err ? "false" : "true");
	if (r->create_err) {
		jpr(p, "\"error\": ");
		jstr(p, vc_strerror(r->create_err));
		jpr(p, ", ");
	}
	jpr(p, "\"destroyed\": %s,\n     ", r->destroyed ? "true" : "false");
	jf(p, "share", r->share, true);
	if (r->expected_share >= 0)
		jf(p, "expected_share", r->expected_share, true);
	else
		jpr(p, "\"expected_share\": null, ");
	jf(p, "device_fraction", res->now ? (double)st->run_ns / (double)res->now : 0, false);
	jpr(p, ",\n     ");
	ju(p, "jobs", r->jobs_completed, true);
	ju(p, "jobs_released", r->jobs_released, true);
	ju(p, "jobs_submitted", r->jobs_submitted, true);
	ju(p, "jobs_lost", r->jobs_lost, true);
	jf(p, "jobs_per_s", secs > 0 ? (double)r->jobs_completed / secs : 0, true);
	ju(p, "latency_mean_ns",
	   r->jobs_completed ? r->lat_total_ns / r->jobs_completed : 0, true);
	ju(p, "latency_max_ns", r->lat_max_ns, true);
	ju(p, "latency_p50_ns", r->lat_p50_ns, true);
	ju(p, "latency_p99_ns", r->lat_p99_ns, true);
	ju(p, "latency_p999_ns", r->lat_p999_ns, true);
	ju(p, "deadline_ns", r->deadline, true);
	ju(p, "job_deadline_misses", r->job_misses, false);
	jpr(p, ",\n     ");
	ju(p, "irq_handlers", r->irq_handlers, true);
	ju(p, "irqs_spurious", r->irqs_spurious, true);
	ju(p, "errors", r->errors, true);
	ju(p, "hang_faults", r->hang_faults, true);
	ju(p, "foreign_fences", r->foreign_fences, true);
	jf(p, "np_fraction", r->compute_ns ? (double)r->np_ns / (double)r->compute_ns : 0,
	   true);
	ju(p, "chains", r->chains, true);
	ju(p, "np_faults", r->np_faults, true);
	ju(p, "ring_full", r->ring_full, true);
	ju(p, "jobs_dropped", r->jobs_dropped, false);
	if (res->window)
		json_windows(p, res, i);
	if (scn->latency_cdf)
		json_cdf(p, res, i);
	/* The framework's counters, as the control socket's vcoproc-list has them. */
	jpr(p, ",\n     \"stats\": ");
	json_vstats(p, st);
	jpr(p, "}");
}

int sim_result_json(const struct sim_scenario *scn, const struct sim_result *res,
		    struct vc_printer *p)
{
	const struct vc_coproc_stats *cs = &res->coproc;

	jpr(p, "{\n  \"algo\": ");
	jstr(p, res->algo);
	jpr(p, ",\n  ");
	jf(p, "seconds", (double)res->now / 1e9, true);
	ju(p, "seed", scn->seed, false);
	jpr(p, ",\n  \"params\": ");
	json_params(p, scn->params, scn->nr_params);
	jpr(p, ",\n  \"coproc\": {\"name\": \"simcp0\", ");
	jf(p, "busy_fraction",
	   cs->uptime_ns ? (double)cs->busy_ns / (double)cs->uptime_ns : 0, true);
	ju(p, "switch_latency_mean_ns",
	   cs->switches ? cs->switch_lat_total_ns / cs->switches : 0, true);
	ju(p, "switch_cost_ns", res->switch_cost, true);
	ju(p, "max_nonpreempt_ns", res->max_nonpreempt, false);
	/* The framework's counters, as the control socket's list has them. */
	jpr(p, ",\n    \"stats\": ");
	json_cstats(p, cs);
	jpr(p, ",\n    \"device\": {");
	ju(p, "commands", res->dev_cmds, true);
	ju(p, "saves", res->dev_saves, true);
	ju(p, "loads", res->dev_loads, true);
	ju(p, "resets", res->dev_resets, true);
	ju(p, "faults", res->dev_faults, true);
	ju(p, "busy_ns", res->dev_busy_ns, true);
	/* The configured model (scenario ctx_size, ctx_bw, switch_fixed). */
	ju(p, "ctx_size", scn->ctx_size ? scn->ctx_size : SIMCP_SCRATCH_SIZE, true);
	ju(p, "ctx_bw", scn->ctx_bw ? scn->ctx_bw : SIMCP_DEF_CTX_BW, true);
	ju(p, "switch_fixed_ns", scn->switch_fixed, false);
	jpr(p, "}");
	if (res->has_steps)
		json_steps(p, res);
	jpr(p, "},\n  ");
	ju(p, "timer_events", res->timer_events, true);
	ju(p, "event_errors", res->event_errors, false);
	jpr(p, ",\n  \"window\": ");
	if (res->window) {
		unsigned int judged = 0;

		for (unsigned int w = 0; w < res->nr_windows; w++) {
			for (unsigned int i = 0; i < res->nr_domains; i++) {
				double e;

				(void)sim_result_window(res, w, i, &e);
				if (e >= 0) {
					judged++;
					break;
				}
			}
		}
		jpr(p, "{");
		ju(p, "ns", res->window, true);
		ju(p, "count", res->nr_windows, true);
		ju(p, "judged", judged, true);
		jf_opt(p, "worst_err_abs", res->win_err_abs, true);
		jpr(p, "\"worst_err_abs_domain\": ");
		if (res->win_err_abs_dom >= 0)
			jstr(p, res->dom[res->win_err_abs_dom].name);
		else
			jpr(p, "null");
		jpr(p, ", ");
		jf_opt(p, "worst_err_rel", res->win_err_rel, true);
		jpr(p, "\"worst_err_rel_domain\": ");
		if (res->win_err_rel_dom >= 0)
			jstr(p, res->dom[res->win_err_rel_dom].name);
		else
			jpr(p, "null");
		jpr(p, "}");
	} else {
		jpr(p, "null");
	}
	jpr(p, ",\n  \"vcoprocs\": [\n");
	for (unsigned int i = 0; i < res->nr_domains; i++) {
		json_vcoproc(p, scn, res, i);
		jpr(p, "%s\n", i + 1 < res->nr_domains ? "," : "");
	}
	jpr(p, "  ]\n}\n");
	return p->err;
}
