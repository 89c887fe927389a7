// SPDX-License-Identifier: MIT
/*
 * DOC: what vcoprocd reports about a run (report.h)
 *
 * Statistics come from the framework (vc_vcoproc_stats()): a domain's
 * share is its vcoproc's run_ns over all vcoprocs' run_ns; jobs are the
 * commands the device completed for it.  Shares are given since the start,
 * over each table's interval, and over the busy window (host.h): the time
 * every domain had work queued, which is where an algorithm's promise
 * holds.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <vcoproc/util.h>

#include "report.h"

/* ---- statistics --------------------------------------------------------------- */

static const char *dom_state(const struct dom *d)
{
	/* d->state is the vCPU thread's until it has finished. */
	return d->reaped ? (d->destroyed ? "destroyed" : "done") :
	       atomic_load(&d->finished) ? dom_state_name(d->state) : "running";
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0.0;
}

/*
 * The periodic table: per domain, the framework's figures over the last
 * interval (left of the bar) and since the start (right of it).
 */
void report_table(struct host *h, uint64_t now, uint64_t interval_ns)
{
	vc_time_t total = 0, dtotal = 0;
	char win[64] = "";

	for (unsigned int i = 0; i < h->nr_doms; i++) {
		struct dom *d = h->doms[i];

		dom_snapshot(d);
		total += d->last.run_ns;
		dtotal += d->last.run_ns - d->prev.run_ns;
	}
	if (h->win.state == HOST_WIN_OPEN)
		snprintf(win, sizeof(win), "; busy window open for %.1f s",
			 (double)host_window_ns(h, now) / 1e9);
	fprintf(stderr, "vcoprocd: t=%.1fs %s: last %.1f s | since the start%s\n",
		(double)(now - h->t0) / 1e9, vc_coproc_sched_name(h->coproc),
		(double)interval_ns / 1e9, win);
	fprintf(stderr, "  %-12s %-9s %7s %8s %8s %8s | %7s %9s %8s %8s %8s %10s\n", "domain",
		"state", "share", "jobs", "switches", "refusals", "share", "jobs", "switches",
		"refusals", "irqs", "mmio exits");
	for (unsigned int i = 0; i < h->nr_doms; i++) {
		struct dom *d = h->doms[i];
		const struct vc_vcoproc_stats *l = &d->last, *p = &d->prev;

		fprintf(stderr, "  %-12s %-9s %7.4f %8llu %8llu %8llu | %7.4f %9llu %8llu %8llu "
			"%8llu %10llu\n", d->cfg.name, dom_state(d),
			ratio((double)(l->run_ns - p->run_ns), (double)dtotal),
			(unsigned long long)(l->jobs - p->jobs),
			(unsigned long long)(l->switches_in - p->switches_in),
			(unsigned long long)(l->refusals - p->refusals),
			ratio((double)l->run_ns, (double)total), (unsigned long long)l->jobs,
			(unsigned long long)l->switches_in, (unsigned long long)l->refusals,
			(unsigned long long)l->irqs, (unsigned long long)atomic_load(&d->count.mmio));
		d->prev = d->last;
	}
}

static const char *dom_verdict(const struct dom *d)
{
	if (d->destroyed)
		return "destroyed";
	if (d->timed_out)
		return "timeout";
	switch (d->state) {
	case DOM_EXITED: return d->status == BOARD_EXIT_PASS ? "pass" : "fail";
	case DOM_FAILED: return "error";
	case DOM_STOPPED: return "stopped";
	default: return dom_state_name(d->state);
	}
}

bool report_dom_ok(const struct dom *d)
{
	return d->destroyed ||
	       (!d->timed_out && d->state == DOM_EXITED && d->status == BOARD_EXIT_PASS);
}


void report_shares(struct host *h, struct report_shares *sh)
{
	vc_time_t total = 0, wtotal = 0;
	struct vc_vcoproc_stats w[HOST_MAX_DOMAINS];

	for (unsigned int i = 0; i < h->nr_doms; i++) {
		host_window_delta(h, h->doms[i], &w[i]);
		total += h->doms[i]->last.run_ns;
		wtotal += w[i].run_ns;
	}
	for (unsigned int i = 0; i < h->nr_doms; i++) {
		bool has = h->doms[i]->nr_vv > 0;

		sh->total[i] = has && total ? (double)h->doms[i]->last.run_ns / (double)total : -1;
		sh->window[i] = has && wtotal && h->win.state == HOST_WIN_CLOSED ?
				(double)w[i].run_ns / (double)wtotal : -1;
	}
}

static void fmt_share(char *buf, size_t len, double v)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.4f", v);
}

/*
 * --check-shares: every domain the algorithm promises a share must get it
 * within @tol (relative) over the busy window.  Prints what is off;
 * returns true when all are within.
 */
bool report_check_shares(struct host *h, const struct report_shares *sh, double tol)
{
	bool ok = true, any = false;
	double worst = 0;
	const char *worst_name = "";

	if (h->win.state != HOST_WIN_CLOSED) {
		host_log("shares: no busy window (%s): nothing measured",
			 h->win.why[0] ? h->win.why : "some domain never marked BUSY");
		return false;
	}
	for (unsigned int i = 0; i < h->nr_doms; i++) {
		const struct dom *d = h->doms[i];
		double dev;

		if (d->expected <= 0 || sh->window[i] < 0)
			continue;
		any = true;
		dev = (sh->window[i] - d->expected) / d->expected;
		if (fabs(dev) > fabs(worst) || !worst_name[0]) {
			worst = dev;
			worst_name = d->cfg.name;
		}
		if (fabs(dev) > tol) {
			host_log("%s: busy-window share %.4f is %+.1f%% off the expected %.4f "
				 "(tolerance %.1f%%): MISMATCH", d->cfg.name, sh->window[i],
				 100 * dev, d->expected, 100 * tol);
			ok = false;
		}
	}
	if (!any) {
		host_log("shares: %s promises no share to check", vc_coproc_sched_name(h->coproc));
		return false;
	}
	if (ok)
		host_log("busy-window shares within %.1f%% of the expected ones (worst: %s, %+.2f%%)",
			 100 * tol, worst_name, 100 * worst);
	return ok;
}

void report_summary(struct host *h, const struct report_shares *sh, uint64_t t1)
{
	struct vc_coproc_stats cs;
	unsigned int ok = 0;

	vc_coproc_stats(h->coproc, &cs);
	fprintf(stderr, "vcoprocd: %s, %u domain%s, %.3f s\n", vc_coproc_sched_name(h->coproc),
		h->nr_doms, h->nr_doms == 1 ? "" : "s", (double)(t1 - h->t0) / 1e9);
	if (h->win.state == HOST_WIN_CLOSED)
		fprintf(stderr, "  busy window: %.3f s, t=%.3f s .. %.3f s (from every domain busy "
			"until %s)\n", (double)host_window_ns(h, t1) / 1e9,
			(double)(h->win.t0 - h->t0) / 1e9, (double)(h->win.t1 - h->t0) / 1e9,
			h->win.why);
	else
		fprintf(stderr, "  busy window: none (%s)\n",
			h->win.why[0] ? h->win.why : "not every domain marked BUSY");
	fprintf(stderr, "  %-12s %-9s %6s %7s %7s %8s %7s %10s %9s %9s %8s %10s  %s\n", "domain",
		"verdict", "status", "share", "window", "expected", "diff", "jobs", "switches",
		"refusals", "irqs", "mmio exits", "result");
	for (unsigned int i = 0; i < h->nr_doms; i++) {
		struct dom *d = h->doms[i];
		char tot[16], win[16], exp[16], diff[16] = "-";

		fmt_share(tot, sizeof(tot), sh->total[i]);
		fmt_share(win, sizeof(win), sh->window[i]);
		fmt_share(exp, sizeof(exp), d->expected);
		if (d->expected > 0 && sh->window[i] >= 0)
			snprintf(diff, sizeof(diff), "%+.1f%%",
				 100 * (sh->window[i] - d->expected) / d->expected);
		fprintf(stderr, "  %-12s %-9s %6d %7s %7s %8s %7s %10llu %9llu %9llu %8llu %10llu  %s\n",
			d->cfg.name, dom_verdict(d),
			d->state == DOM_EXITED ? (int)d->status : -1, tot, win, exp, diff,
			(unsigned long long)d->last.jobs, (unsigned long long)d->last.switches_in,
			(unsigned long long)d->last.refusals, (unsigned long long)d->last.irqs,
			(unsigned long long)atomic_load(&d->count.mmio),
			d->result[0] ? d->result : (d->fail[0] ? d->fail : ""));
		ok += report_dom_ok(d);
	}
	fprintf(stderr, "  coprocessor %s: %llu switches, %llu refusals, busy %.1f%%, "
		"mmio %llu emulated / %llu forwarded, %llu irqs, %llu resets\n",
		vc_coproc_name(h->coproc), (unsigned long long)cs.switches,
		(unsigned long long)cs.refusals,
		cs.uptime_ns ? 100.0 * (double)cs.busy_ns / (double)cs.uptime_ns : 0.0,
		(unsigned long long)cs.mmio_emulated, (unsigned long long)cs.mmio_forwarded,
		(unsigned long long)cs.irqs, (unsigned long long)cs.resets);
	fprintf(stderr, "vcoprocd: %u of %u domains passed\n", ok, h->nr_doms);
}

/* ---- JSON ------------------------------------------------------------------------ */

static int file_write(void *opaque, const char *buf, size_t len)
{
	return fwrite(buf, 1, len, opaque) == len ? 0 : -EIO;
}

/* @s as a JSON string: the project's one escaper (valid UTF-8 kept). */
static void json_str(FILE *f, const char *s)
{
	struct vc_printer p = { .write = file_write, .opaque = f };

	fputc('"', f);
	(void)vc_pr_json_str(&p, s);
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	if (v < 0 || !isfinite(v))
		fputs("null", f);
	else
		fprintf(f, "%.6f", v);
}

/* The counters as a JSON object, keys and order from VC_VCOPROC_STATS(). */
static void json_vstats(FILE *f, const struct vc_vcoproc_stats *s)
{
	const char *sep = "{";

#define X(type, name, what) \
	fprintf(f, "%s\"%s\": %llu", sep, #name, (unsigned long long)s->name); sep = ", ";
	VC_VCOPROC_STATS(X)
#undef X
	fputc('}', f);
}

/* ... and of the coprocessor, from VC_COPROC_STATS(). */
static void json_cstats(FILE *f, const struct vc_coproc_stats *s)
{
#define X(type, name, what) fprintf(f, ", \"%s\": %llu", #name, (unsigned long long)s->name);
	VC_COPROC_STATS(X)
#undef X
}

/* The summary as one JSON object (docs/kvm-host.md lists the fields). */
int report_json(struct host *h, const struct report_shares *sh, const char *path,
		      uint64_t t1, int status)
{
	struct vc_coproc_stats cs;
	FILE *f = strcmp(path, "-") ? fopen(path, "we") : stdout;

	if (!f) {
		host_log("%s: %s", path, strerror(errno));
		return -errno;
	}
	vc_coproc_stats(h->coproc, &cs);
	fprintf(f, "{\"algo\": ");
	json_str(f, vc_coproc_sched_name(h->coproc));
	fprintf(f, ", \"seconds\": %.6f, \"exit_status\": %d,\n \"window\": ",
		(double)(t1 - h->t0) / 1e9, status);
	if (h->win.state == HOST_WIN_CLOSED)
		fprintf(f, "{\"start_s\": %.6f, \"end_s\": %.6f, \"seconds\": %.6f, \"end\": ",
			(double)(h->win.t0 - h->t0) / 1e9, (double)(h->win.t1 - h->t0) / 1e9,
			(double)host_window_ns(h, t1) / 1e9);
	else
		fprintf(f, "{\"start_s\": null, \"end_s\": null, \"seconds\": 0, \"end\": ");
	json_str(f, h->win.why);
	fprintf(f, "},\n \"coproc\": {\"name\": ");
	json_str(f, vc_coproc_name(h->coproc));
	json_cstats(f, &cs);
	fprintf(f, "},\n \"domains\": [");
	for (unsigned int i = 0; i < h->nr_doms; i++) {
		struct dom *d = h->doms[i];
		struct vc_vcoproc_stats w;

		host_window_delta(h, d, &w);
		fprintf(f, "%s\n  {\"name\": ", i ? "," : "");
		json_str(f, d->cfg.name);
		fprintf(f, ", \"domid\": %u, \"verdict\": ", d->domid);
		json_str(f, dom_verdict(d));
		fprintf(f, ", \"status\": %d, \"vcoproc\": %s, \"vcpus\": %u, \"result\": ",
			d->state == DOM_EXITED ? (int)d->status : -1,
			d->nr_vv ? "true" : "false", d->cfg.vcpus);
		json_str(f, d->result);
		fprintf(f, ", \"fail\": ");
		json_str(f, d->fail);
		fprintf(f, ",\n   \"share\": ");
		json_num(f, sh->total[i]);
		fprintf(f, ", \"window_share\": ");
		json_num(f, sh->window[i]);
		fprintf(f, ", \"expected_share\": ");
		json_num(f, d->expected);
		fprintf(f, ",\n   \"host\": {\"mmio_exits\": %llu, \"pio_exits\": %llu, "
			"\"irqs_raised\": %llu, \"doorbells_emulated\": %llu, "
			"\"doorbells_forwarded\": %llu},\n   \"stats\": ",
			(unsigned long long)atomic_load(&d->count.mmio),
			(unsigned long long)atomic_load(&d->count.pio),
			(unsigned long long)atomic_load(&d->count.irqs_raised),
			(unsigned long long)atomic_load(&d->count.doorbells_emulated),
			(unsigned long long)atomic_load(&d->count.doorbells_forwarded));
		json_vstats(f, &d->last);
		fprintf(f, ",\n   \"window_stats\": ");
		json_vstats(f, &w);
		fprintf(f, "}");
	}
	fprintf(f, "\n ]}\n");
	if (f != stdout && fclose(f)) {
		host_log("%s: %s", path, strerror(errno));
		return -EIO;
	}
	return 0;
}

