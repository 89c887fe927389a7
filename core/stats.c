// SPDX-License-Identifier: MIT
/*
 * DOC: statistics
 *
 * Snapshots of the per-vcoproc and per-coprocessor counters, taken under
 * the coproc lock.  Run time includes the current, not yet charged,
 * interval, so successive snapshots are monotonic without disturbing the
 * algorithm's accounting.
 */
#include "internal.h"

const char *vc_vstate_name(enum vc_vstate s)
{
	switch (s) {
	case VC_VS_SLEEPING: return "sleeping";
	case VC_VS_WAITING: return "waiting";
	case VC_VS_RUNNING: return "running";
	case VC_VS_SWITCHING_OUT: return "switching-out";
	}
	return "?";
}

void vc_vcoproc_stats(struct vc_vcoproc *v, struct vc_vcoproc_stats *out)
{
	struct vc_coproc *c = v->coproc;
	vc_time_t now;

	vc_os_lock(c->lock);
	now = vc_os_now();
	*out = v->stats;
	out->state = v->state;
	out->loaded = c->curr == v;
	if (v->accounting && now > v->run_since)
		out->run_ns += now - v->run_since;
	out->jobs = plat_progress(c, v->ctx) - v->progress_base;
	vc_os_unlock(c->lock);
}

void vc_coproc_stats(struct vc_coproc *c, struct vc_coproc_stats *out)
{
	vc_time_t now;

	vc_os_lock(c->lock);
	now = vc_os_now();
	*out = c->stats;
	out->uptime_ns = now - c->registered_at;
	if (c->curr && c->curr->accounting && now > c->curr->run_since)
		out->busy_ns += now - c->curr->run_since;
	out->nr_vcoprocs = c->nr_vcoprocs;
	vc_os_unlock(c->lock);
}
