// SPDX-License-Identifier: MIT
/*
 * DOC: the busy window and shares (host.h)
 *
 * Guest threads only record the time of a guest's mark (dom_mark()) and
 * wake the loop; the loop thread calls host_window_update(), which takes
 * the framework's statistics of every domain when the window opens and
 * when it closes.  A share measured over the window is run_ns(window) /
 * the sum of every domain's run_ns(window).
 *
 * Expected shares are what the algorithm promises among vcoprocs that
 * always have work, from the parameters the scheduler reports
 * (vc_vcoproc_params(), vc_coproc_params()).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

static void snap(struct host *h, bool open, uint64_t now, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void snap(struct host *h, bool open, uint64_t now, const char *fmt, ...)
{
	va_list ap;

	for (unsigned int i = 0; i < h->nr_doms; i++) {
		struct dom *d = h->doms[i];

		if (d->nr_vv && !d->reaped)
			vc_vcoproc_stats(d->vv[0], open ? &d->win0 : &d->win1);
	}
	if (open) {
		h->win.state = HOST_WIN_OPEN;
		h->win.t0 = now;
	} else {
		h->win.state = HOST_WIN_CLOSED;
		h->win.t1 = now;
	}
	va_start(ap, fmt);
	vsnprintf(h->win.why, sizeof(h->win.why), fmt, ap);
	va_end(ap);
}

void host_window_start(struct host *h)
{
	host_expected_shares(h);
	h->win = (struct host_window){ .state = HOST_WIN_WAITING };
}

void host_window_update(struct host *h, uint64_t now)
{
	unsigned int busy = 0, members = 0;

	if (h->win.state == HOST_WIN_CLOSED || h->win.state == HOST_WIN_NONE)
		return;
	for (unsigned int i = 0; i < h->nr_doms; i++) {
		struct dom *d = h->doms[i];

		if (!d->nr_vv)
			continue;
		members++;
		if (d->reaped || atomic_load(&d->finished)) {
			if (h->win.state == HOST_WIN_OPEN) {
				snap(h, false, now, "%s ended", d->cfg.name);
			} else {
				h->win.state = HOST_WIN_NONE;
				snprintf(h->win.why, sizeof(h->win.why),
					 "%s ended before every domain was busy", d->cfg.name);
			}
			return;
		}
		if (h->win.state == HOST_WIN_OPEN && atomic_load(&d->mark_ns[BOARD_MARK_DONE])) {
			snap(h, false, now, "%s stopped submitting", d->cfg.name);
			return;
		}
		busy += atomic_load(&d->mark_ns[BOARD_MARK_BUSY]) != 0;
	}
	if (h->win.state == HOST_WIN_WAITING && members && busy == members)
		snap(h, true, now, "every domain busy");
}

void host_window_end(struct host *h, uint64_t now, const char *name, const char *why)
{
	if (h->win.state == HOST_WIN_OPEN) {
		snap(h, false, now, "%s %s", name, why);
	} else if (h->win.state == HOST_WIN_WAITING) {
		h->win.state = HOST_WIN_NONE;
		snprintf(h->win.why, sizeof(h->win.why), "%s %s before every domain was busy",
			 name, why);
	}
}

uint64_t host_window_ns(const struct host *h, uint64_t now)
{
	switch (h->win.state) {
	case HOST_WIN_OPEN: return now - h->win.t0;
	case HOST_WIN_CLOSED: return h->win.t1 - h->win.t0;
	default: return 0;
	}
}

void host_window_delta(struct host *h, struct dom *d, struct vc_vcoproc_stats *out)
{
	struct vc_vcoproc_stats end;
	const struct vc_vcoproc_stats *a = &d->win0;

	memset(out, 0, sizeof(*out));
	if (h->win.state == HOST_WIN_OPEN && d->nr_vv && !d->reaped)
		vc_vcoproc_stats(d->vv[0], &end);
	else if (h->win.state == HOST_WIN_CLOSED)
		end = d->win1;
	else
		return;
	*out = end;
#define DELTA(f) out->f = end.f - a->f
	DELTA(run_ns); DELTA(switches_in); DELTA(switches_out); DELTA(refusals);
	DELTA(refusal_wait_ns); DELTA(mmio_emulated); DELTA(mmio_forwarded); DELTA(irqs);
	DELTA(jobs); DELTA(resets); DELTA(wakeups); DELTA(deadline_misses); DELTA(jitter_ns);
#undef DELTA
}

/* ---- expected shares ------------------------------------------------------------ */

/* The value of parameter @key in @p[0..@n) as a number, or -1. */
static double param_num(const struct vc_param *p, unsigned int n, const char *key, bool dur)
{
	for (unsigned int i = 0; i < n; i++) {
		char *end;
		double v;

		if (strcmp(p[i].key, key))
			continue;
		v = strtod(p[i].val, &end);
		if (!dur || !strcmp(end, "ns"))
			return v;
		if (!strcmp(end, "us") || !*end)
			return v * 1e3;
		if (!strcmp(end, "ms"))
			return v * 1e6;
		if (!strcmp(end, "s"))
			return v * 1e9;
		return -1;
	}
	return -1;
}

/* A vcoproc's weight under @algo (credit: weight; rtds: budget/period); < 0: none. */
static double weight_of(const char *algo, struct vc_vcoproc *v)
{
	struct vc_param p[VC_VCOPROC_MAX_PARAMS];
	unsigned int n = vc_vcoproc_params(v, p, VC_VCOPROC_MAX_PARAMS);
	double a, b;

	n = n < VC_VCOPROC_MAX_PARAMS ? n : VC_VCOPROC_MAX_PARAMS;
	if (!strcmp(algo, "rr"))
		return 1;
	if (!strcmp(algo, "credit")) {
		if (param_num(p, n, "cap", false) > 0)
			return -1;
		return param_num(p, n, "weight", false);
	}
	if (!strcmp(algo, "rtds")) {
		a = param_num(p, n, "budget", true);
		b = param_num(p, n, "period", true);
		return a > 0 && b > 0 ? a / b : -1;
	}
	return -1;
}

/* arinc653: each domain's windows in the frame; false if the frame is unknown. */
static bool frame_weights(struct host *h, struct vc_coproc *c, double *w)
{
	struct vc_param p[8];
	unsigned int n = vc_coproc_params(c, p, 8);
	const char *frame = NULL;
	char *copy, *item, *save = NULL;
	bool ok = true;

	for (unsigned int i = 0; i < n && i < 8; i++)
		if (!strcmp(p[i].key, "frame"))
			frame = p[i].val;
	if (!frame || strstr(frame, "..."))
		return false;
	for (unsigned int i = 0; i < h->nr_doms; i++)
		w[i] = h->doms[i]->nr_vv ? (strcmp(frame, "auto") ? 0 : 1) : -1;
	if (!strcmp(frame, "auto"))
		return true;
	copy = strdup(frame);
	if (!copy)
		return false;
	for (item = strtok_r(copy, ",", &save); item && ok; item = strtok_r(NULL, ",", &save)) {
		char *colon = strrchr(item, ':');
		struct vc_param dur;
		struct dom *d;

		if (!colon) {
			ok = false;
			break;
		}
		*colon = '\0';
		while (*item == ' ')
			item++;
		snprintf(dur.key, sizeof(dur.key), "t");
		snprintf(dur.val, sizeof(dur.val), "%s", colon + 1);
		/* A bare number in a frame is ms, as the scheduler reads it. */
		if (!strpbrk(dur.val, "nums"))
			snprintf(dur.val + strlen(dur.val), sizeof(dur.val) - strlen(dur.val), "ms");
		d = host_find(h, item);
		for (unsigned int i = 0; d && i < h->nr_doms; i++)
			if (h->doms[i] == d && d->nr_vv)
				w[i] += param_num(&dur, 1, "t", true);
	}
	free(copy);
	return ok;
}

void host_expected_shares(struct host *h)
{
	struct vc_coproc *c = h->coproc;
	const char *algo = c ? vc_coproc_sched_name(c) : "";
	double w[HOST_MAX_DOMAINS], sum = 0;
	bool known = c != NULL;

	if (known && !strcmp(algo, "arinc653")) {
		known = frame_weights(h, c, w);
	} else {
		for (unsigned int i = 0; known && i < h->nr_doms; i++) {
			struct dom *d = h->doms[i];

			w[i] = d->nr_vv && !d->reaped ? weight_of(algo, d->vv[0]) : -1;
			if (d->nr_vv && w[i] < 0)
				known = false;
		}
	}
	for (unsigned int i = 0; known && i < h->nr_doms; i++)
		if (w[i] > 0)
			sum += w[i];
	for (unsigned int i = 0; i < h->nr_doms; i++)
		h->doms[i]->expected = known && sum > 0 && w[i] >= 0 ? w[i] / sum : -1;
}
