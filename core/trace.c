// SPDX-License-Identifier: MIT
/*
 * DOC: event trace
 *
 * A per-coprocessor ring of fixed-size events (decisions, run intervals,
 * switches, refusals, interrupts, resets) recorded under the coproc lock
 * when tracing is on, and exported as Chrome trace-event JSON: one process
 * per coprocessor, one thread (track) per vcoproc carrying its run
 * intervals as B/E pairs, and instant events for the rest.  Perfetto and
 * chrome://tracing open it.  Timestamps are microseconds with ns decimals.
 */
#include "internal.h"

void vc_trace_record(struct vc_coproc *c, enum vc_trace_type type, uint32_t vid,
		     uint64_t arg)
{
	struct vc_trace *t = &c->trace;
	struct vc_trace_ev *e;

	VC_ASSERT_LOCKED(c->lock);
	if (!t->on)
		return;
	e = &t->ev[t->head % t->cap];
	e->ts = vc_os_now();
	e->vid = vid;
	e->type = (uint16_t)type;
	e->arg = arg;
	t->head++;
}

void vc_trace_free(struct vc_trace *t)
{
	vc_os_free(t->ev);
	t->ev = NULL;
	t->cap = 0;
	t->head = 0;
	t->on = false;
}

int vc_coproc_trace_enable(struct vc_coproc *c, bool on, unsigned int capacity)
{
	struct vc_trace_ev *ev = NULL, *old = NULL;
	size_t bytes;

	if (!capacity)
		capacity = 65536;
	if (on) {
		bytes = sizeof(*ev) * (size_t)capacity;
		if (bytes / sizeof(*ev) != capacity)
			return -VC_ENOMEM; /* the ring's size overflows size_t (32-bit) */
		ev = vc_os_zalloc(bytes);
		if (!ev)
			return -VC_ENOMEM;
	}
	vc_os_lock(c->lock);
	if (on) {
		old = c->trace.ev;
		c->trace.ev = ev;
		c->trace.cap = capacity;
		c->trace.head = 0;
		/* Open the intervals already under way. */
		c->trace.on = true;
		if (c->curr && c->curr->accounting)
			vc_trace_record(c, VC_TR_RUN_BEGIN, c->curr->id, 0);
	} else {
		c->trace.on = false;
	}
	vc_os_unlock(c->lock);
	vc_os_free(old);
	return 0;
}

static const char *const ev_names[] = {
	[VC_TR_RUN_BEGIN] = "run",
	[VC_TR_RUN_END] = "run",
	[VC_TR_DECIDE] = "decide",
	[VC_TR_REFUSE] = "refused",
	[VC_TR_SWITCH] = "switch",
	[VC_TR_IRQ] = "irq",
	[VC_TR_WAKE] = "wake",
	[VC_TR_SLEEP] = "sleep",
	[VC_TR_RESET] = "reset",
};

static void pr_ts(struct vc_printer *p, vc_time_t ts)
{
	vc_pr(p, "%llu.%03u", (unsigned long long)(ts / 1000), (unsigned int)(ts % 1000));
}

/* One JSON event; @ph is B, E or i. */
static void pr_event(struct vc_printer *p, bool *first, const char *name, char ph,
		     vc_time_t ts, uint32_t vid, const char *argk, uint64_t argv)
{
	vc_pr(p, "%s\n{\"name\":\"%s\",\"ph\":\"%c\",\"pid\":1,\"tid\":%u,\"ts\":",
	      *first ? "" : ",", name, ph, vid);
	pr_ts(p, ts);
	if (ph == 'i')
		vc_pr(p, ",\"s\":\"t\"");
	if (argk)
		vc_pr(p, ",\"args\":{\"%s\":%llu}", argk, (unsigned long long)argv);
	vc_pr(p, "}");
	*first = false;
}

/*
 * Render @c's trace into @p; c->lock held.  Names come from configuration
 * and are escaped.
 */
static void trace_render(struct vc_coproc *c, struct vc_printer *p, uint32_t *open)
{
	struct vc_trace *t = &c->trace;
	struct vc_vcoproc *v;
	uint64_t start, i;
	bool first = true;
	vc_time_t last_ts = 0;

	VC_ASSERT_LOCKED(c->lock);
	vc_pr(p, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[");
	vc_pr(p, "\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,"
	      "\"args\":{\"name\":\"coproc ");
	vc_pr_json_str(p, c->name);
	vc_pr(p, " (%s)\"}}", c->sched.ops->name);
	first = false;
	vc_list_for_each_entry(v, &c->vcoprocs, struct vc_vcoproc, cnode) {
		vc_pr(p, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%u,"
		      "\"args\":{\"name\":\"vcoproc %u (domain ", v->id, v->id);
		vc_pr_json_str(p, v->dom->name);
		vc_pr(p, ")\"}}");
	}
	start = t->head > t->cap ? t->head - t->cap : 0;
	for (i = start; t->ev && i < t->head && !p->err; i++) {
		const struct vc_trace_ev *e = &t->ev[i % t->cap];
		unsigned int slot = e->vid % VC_MAX_VCOPROCS_PER_COPROC;

		last_ts = e->ts;
		switch (e->type) {
		case VC_TR_RUN_BEGIN:
			if (open[slot])
				break;
			open[slot] = e->vid;
			pr_event(p, &first, "run", 'B', e->ts, e->vid, NULL, 0);
			break;
		case VC_TR_RUN_END:
			if (!open[slot])
				break; /* began before the ring's oldest event */
			open[slot] = 0;
			pr_event(p, &first, "run", 'E', e->ts, e->vid, NULL, 0);
			break;
		case VC_TR_DECIDE:
			pr_event(p, &first, "decide", 'i', e->ts, 0, "next", e->arg);
			break;
		case VC_TR_REFUSE:
			pr_event(p, &first, "refused", 'i', e->ts, e->vid, "retry_after_ns", e->arg);
			break;
		case VC_TR_SWITCH:
			pr_event(p, &first, "switch", 'i', e->ts, e->vid, "latency_ns", e->arg);
			break;
		default:
			pr_event(p, &first, ev_names[e->type], 'i', e->ts, e->vid, NULL, 0);
			break;
		}
	}
	for (i = 0; i < VC_MAX_VCOPROCS_PER_COPROC; i++)
		if (open[i])
			pr_event(p, &first, "run", 'E', last_ts, open[i], NULL, 0);
	vc_pr(p, "\n]}\n");
}

int vc_coproc_trace_export(struct vc_coproc *c, struct vc_printer *p)
{
	return vc_coproc_trace_export_max(c, p, 0);
}

int vc_coproc_trace_export_max(struct vc_coproc *c, struct vc_printer *p, size_t max)
{
	/* The render stops at @max: a big ring costs no more than a refusal. */
	struct vc_strbuf sb = { .max = max };
	struct vc_printer bp = vc_strbuf_printer(&sb);
	uint32_t *open; /* vid of the open interval per slot, 0 none */
	int err;

	open = vc_os_zalloc(sizeof(*open) * VC_MAX_VCOPROCS_PER_COPROC);
	if (!open)
		return -VC_ENOMEM;
	/* Render under the lock; a slow printer must not stall the coproc. */
	vc_os_lock(c->lock);
	trace_render(c, &bp, open);
	vc_os_unlock(c->lock);
	vc_os_free(open);
	err = bp.err;
	if (!err && !p->err && sb.len)
		p->err = p->write(p->opaque, sb.buf, sb.len);
	vc_strbuf_free(&sb);
	return err ? err : p->err;
}
