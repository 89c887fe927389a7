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
 * always have work: the scheduler says (vc_vcoproc_expected_share()); the
 * host only compares.
 */
#include <stdarg.h>
#include <stdio.h>
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
#define X(type, name, what) out->name = end.name - a->name;
	VC_VCOPROC_STATS(X)
#undef X
	out->jitter_max_ns = end.jitter_max_ns; /* a maximum, not a count */
}

/* ---- expected shares ------------------------------------------------------------ */

/*
 * What the algorithm promises each domain's vcoproc among all vcoprocs on
 * its coprocessor (the scheduler's expected_share hook, through the core):
 * run_ppb is comparable with a share measured as run_ns over all run_ns.
 */
void host_expected_shares(struct host *h)
{
	for (unsigned int i = 0; i < h->nr_doms; i++) {
		struct dom *d = h->doms[i];
		struct vc_share sh;

		d->expected = -1;
		if (d->nr_vv && !d->reaped && !vc_vcoproc_expected_share(d->vv[0], &sh))
			d->expected = (double)sh.run_ppb / (double)VC_SHARE_ONE;
	}
}
