// SPDX-License-Identifier: MIT
/*
 * DOC: scenario files
 *
 * The line format of docs/sim.md: one directive per line, words separated
 * by blanks, '#' starts a comment.
 *
 *   algo credit
 *   seconds 10
 *   seed 7
 *   param slice=5ms
 *   hang_timeout 200ms
 *   domain name=d1 weight=256 arrival=saturate job=2ms np=0.2
 *   domain name=rt1 budget=3ms period=10ms arrival=periodic job=2.5ms
 *   at 5s set d1 weight=1024
 *   at 3s sched rr
 *   at 2s hang d2
 *   at 4s destroy d3
 *
 * In a domain line the workload keys (name arrival depth every offset mean
 * job chunk np np_chain mem deadline) belong to the simulator; every other key=value is a
 * per-vcoproc scheduling parameter handed to vc_vcoproc_create(, NULL).
 * "period" is both: the scheduler's, and the default release period of a
 * periodic workload.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define LINE_MAX_WORDS 32

void sim_domain_init(struct sim_domain_cfg *d, const char *name)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->arrival = SIM_ARRIVAL_SATURATE;
	d->depth = 4;
	d->job_min = d->job_max = VC_MSEC(1);
	d->chunk = VC_USEC(100);
	d->mem = 1u << 20;
}

void sim_scenario_init(struct sim_scenario *scn)
{
	memset(scn, 0, sizeof(*scn));
	scn->duration = VC_SEC(10);
	scn->seed = 1;
}

void sim_scenario_release(struct sim_scenario *scn)
{
	free(scn->dom);
	sim_scenario_init(scn);
}

int sim_scenario_add_domain(struct sim_scenario *scn, const char *name,
			    struct sim_domain_cfg **out)
{
	if (scn->nr_domains == SIM_MAX_DOMAINS)
		return -VC_E2BIG;
	if (scn->nr_domains == scn->dom_cap) {
		unsigned int cap = scn->dom_cap ? 2 * scn->dom_cap : 16;
		struct sim_domain_cfg *a = realloc(scn->dom, cap * sizeof(*a));

		if (!a)
			return -VC_ENOMEM;
		scn->dom = a;
		scn->dom_cap = cap;
	}
	*out = &scn->dom[scn->nr_domains++];
	sim_domain_init(*out, name);
	return 0;
}

int sim_scenario_copy(struct sim_scenario *dst, const struct sim_scenario *src)
{
	struct sim_domain_cfg *a = NULL;

	if (src->nr_domains) {
		a = malloc(src->nr_domains * sizeof(*a));
		if (!a)
			return -VC_ENOMEM;
		memcpy(a, src->dom, src->nr_domains * sizeof(*a));
	}
	*dst = *src;
	dst->dom = a;
	dst->dom_cap = src->nr_domains;
	return 0;
}

const char *sim_scenario_where(const struct sim_scenario *scn, unsigned int line,
			       unsigned int col, char *buf, size_t len)
{
	if (!line)
		snprintf(buf, len, "%s", "");
	else if (col)
		snprintf(buf, len, "%s:%u:%u: ", scn->src, line, col);
	else
		snprintf(buf, len, "%s:%u: ", scn->src, line);
	return buf;
}

int sim_param_add(struct vc_param *arr, unsigned int *nr, const char *key, const char *val)
{
	unsigned int i;

	if (!key[0] || strlen(key) >= VC_PARAM_KEY_MAX || strlen(val) >= VC_PARAM_VAL_MAX)
		return -VC_EINVAL;
	for (i = 0; i < *nr; i++)
		if (!strcmp(arr[i].key, key))
			break;
	if (i == *nr) {
		if (*nr == SIM_MAX_PARAMS)
			return -VC_E2BIG;
		(*nr)++;
	}
	snprintf(arr[i].key, sizeof(arr[i].key), "%s", key);
	snprintf(arr[i].val, sizeof(arr[i].val), "%s", val);
	return 0;
}

const char *sim_param_get(const struct vc_param *arr, unsigned int nr, const char *key)
{
	for (unsigned int i = 0; i < nr; i++)
		if (!strcmp(arr[i].key, key))
			return arr[i].val;
	return NULL;
}

/* ---- values -------------------------------------------------------------------- */

/* A decimal "I[.F]" scaled by @unit exactly (sizes); *@end after it.  0 or -VC_EINVAL. */
static int parse_scaled(const char *s, uint64_t unit, uint64_t *out, const char **end)
{
	uint64_t ip = 0, frac = 0, div = 1;
	bool any = false;

	for (; *s >= '0' && *s <= '9'; s++, any = true) {
		if (ip > (UINT64_MAX - 9) / 10)
			return -VC_EINVAL;
		ip = ip * 10 + (uint64_t)(*s - '0');
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, any = true) {
			if (div < 1000000000ull) { /* ns resolution is all we keep */
				frac = frac * 10 + (uint64_t)(*s - '0');
				div *= 10;
			}
		}
	}
	if (!any || (unit && ip > UINT64_MAX / unit))
		return -VC_EINVAL;
	*out = ip * unit + frac * unit / div;
	*end = s;
	return 0;
}

/* "65536", "64K", "1M", "4MiB". */
static int parse_size(const char *s, uint64_t *out)
{
	const char *end;
	uint64_t unit = 1, v;
	size_t n = strspn(s, "0123456789");

	if (!strcmp(s + n, "K") || !strcmp(s + n, "KiB"))
		unit = 1024;
	else if (!strcmp(s + n, "M") || !strcmp(s + n, "MiB"))
		unit = 1024 * 1024;
	else if (s[n])
		return -VC_EINVAL;
	if (parse_scaled(s, unit, &v, &end) || end != s + n)
		return -VC_EINVAL;
	*out = v;
	return 0;
}

/* A rate in bytes/s: "8000000000", "8G", "1.5G", "500M", "64K" (powers of 1000). */
static int parse_rate(const char *s, uint64_t *out)
{
	static const struct { char c; uint64_t unit; } units[] = {
		{ 'K', 1000ull }, { 'M', 1000000ull }, { 'G', 1000000000ull },
	};
	const char *end;
	uint64_t unit = 1;
	size_t n = strspn(s, "0123456789.");

	for (size_t i = 0; s[n] && i < sizeof(units) / sizeof(units[0]); i++)
		if (s[n] == units[i].c && !s[n + 1])
			unit = units[i].unit;
	if ((s[n] && unit == 1) || parse_scaled(s, unit, out, &end) || end != s + n || !*out)
		return -VC_EINVAL;
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!*s || *s == '-')
		return -VC_EINVAL;
	*out = strtoull(s, &end, 0);
	return *end ? -VC_EINVAL : 0;
}

static int parse_fraction(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (!*s || *end || !(v >= 0.0 && v <= 1.0))
		return -VC_EINVAL;
	*out = v;
	return 0;
}

/* ---- the parser ------------------------------------------------------------------- */

struct parser {
	struct sim_scenario *scn;
	const char *fname;
	unsigned int line;
	const char *buf;    /* the line being parsed, for columns */
	char *err;
	size_t errlen;
};

/* The 1-based column of word @w of the current line. */
static unsigned int col_of(const struct parser *ps, const char *w)
{
	return (unsigned int)(w - ps->buf) + 1;
}

static int VC_PRINTF(3, 0) vfail_at(struct parser *ps, unsigned int col, const char *fmt,
				    va_list ap)
{
	int n;

	if (!ps->errlen)
		return -VC_EINVAL;
	n = col ? snprintf(ps->err, ps->errlen, "%s:%u:%u: ", ps->fname, ps->line, col) :
		  snprintf(ps->err, ps->errlen, "%s:%u: ", ps->fname, ps->line);
	if (n >= 0 && (size_t)n < ps->errlen)
		vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
	return -VC_EINVAL;
}

/* "file:line: message" */
static int VC_PRINTF(2, 3) fail(struct parser *ps, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail_at(ps, 0, fmt, ap);
	va_end(ap);
	return r;
}

/* "file:line:col: message" about word @w of the line */
static int VC_PRINTF(3, 4) fail_at(struct parser *ps, const char *w, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail_at(ps, col_of(ps, w), fmt, ap);
	va_end(ap);
	return r;
}

/* Split "key=value" in place; the value, or NULL without '='. */
static char *split_kv(char *w)
{
	char *eq = strchr(w, '=');

	if (!eq || eq == w)
		return NULL;
	*eq = '\0';
	return eq + 1;
}

static int find_domain(const struct sim_scenario *scn, const char *name)
{
	for (unsigned int i = 0; i < scn->nr_domains; i++)
		if (!strcmp(scn->dom[i].name, name))
			return (int)i;
	return -1;
}

static int parse_job(struct parser *ps, struct sim_domain_cfg *d, const char *k,
		     const char *v)
{
	char lo[48], *dots;

	snprintf(lo, sizeof(lo), "%s", v);
	dots = strstr(lo, "..");
	if (dots)
		*dots = '\0';
	if (vc_parse_duration(lo, VC_MSEC(1), &d->job_min) ||
	    vc_parse_duration(dots ? dots + 2 : lo, VC_MSEC(1), &d->job_max) ||
	    !d->job_min || d->job_max < d->job_min)
		return fail_at(ps, k, "bad job length '%s' (e.g. 2ms or 1ms..3ms)", v);
	return 0;
}

/* One key=value of a domain line. */
static int domain_kv(struct parser *ps, struct sim_domain_cfg *d, char *k, const char *v,
		     bool *every_set)
{
	uint64_t u;
	int err;

	if (!strcmp(k, "name"))
		return 0; /* taken already */
	if (!strcmp(k, "arrival")) {
		if (!strcmp(v, "saturate"))
			d->arrival = SIM_ARRIVAL_SATURATE;
		else if (!strcmp(v, "periodic"))
			d->arrival = SIM_ARRIVAL_PERIODIC;
		else if (!strcmp(v, "poisson"))
			d->arrival = SIM_ARRIVAL_POISSON;
		else if (!strcmp(v, "idle"))
			d->arrival = SIM_ARRIVAL_IDLE;
		else
			return fail_at(ps, k, "unknown arrival '%s' (saturate, periodic, poisson, idle)", v);
		return 0;
	}
	if (!strcmp(k, "depth")) {
		if (parse_u64(v, &u) || !u || u > 256)
			return fail_at(ps, k, "depth must be 1..256");
		d->depth = (unsigned int)u;
		return 0;
	}
	if (!strcmp(k, "every") || !strcmp(k, "mean")) {
		if (vc_parse_duration(v, VC_MSEC(1), &d->every) || !d->every)
			return fail_at(ps, k, "bad %s '%s'", k, v);
		*every_set = true;
		return 0;
	}
	if (!strcmp(k, "offset")) {
		if (vc_parse_duration(v, VC_MSEC(1), &d->offset))
			return fail_at(ps, k, "bad offset '%s'", v);
		return 0;
	}
	if (!strcmp(k, "job"))
		return parse_job(ps, d, k, v);
	if (!strcmp(k, "deadline")) {
		if (vc_parse_duration(v, VC_MSEC(1), &d->deadline) || !d->deadline)
			return fail_at(ps, k, "bad deadline '%s'", v);
		return 0;
	}
	if (!strcmp(k, "chunk")) {
		if (vc_parse_duration(v, VC_USEC(1), &d->chunk) || !d->chunk ||
		    d->chunk > VC_SEC(1))
			return fail_at(ps, k, "bad chunk '%s' (1ns..1s)", v);
		return 0;
	}
	if (!strcmp(k, "np_chain")) {
		char lo[48], *dots;

		snprintf(lo, sizeof(lo), "%s", v);
		dots = strstr(lo, "..");
		if (dots)
			*dots = '\0';
		if (vc_parse_duration(lo, VC_USEC(1), &d->chain_min) ||
		    vc_parse_duration(dots ? dots + 2 : lo, VC_USEC(1), &d->chain_max) ||
		    !d->chain_min || d->chain_max < d->chain_min || d->chain_max > VC_SEC(1))
			return fail_at(ps, k, "bad np_chain '%s' (e.g. 500us or 200us..1ms)", v);
		return 0;
	}
	if (!strcmp(k, "np")) {
		if (parse_fraction(v, &d->np))
			return fail_at(ps, k, "np must be a fraction in [0, 1]");
		return 0;
	}
	if (!strcmp(k, "mem")) {
		if (parse_size(v, &u) || u < 64 * 1024 || u > 64u * 1024 * 1024)
			return fail_at(ps, k, "mem must be 64K..64M");
		d->mem = (uint32_t)u;
		return 0;
	}
	if (!strcmp(k, "scratch")) {
		if (parse_size(v, &u) || u > 16u * 1024 * 1024)
			return fail_at(ps, k, "scratch must be 0..16M");
		d->scratch = (uint32_t)u;
		return 0;
	}
	/* Anything else is the scheduler's; "period" is also the release period. */
	if (!strcmp(k, "period") && !*every_set) {
		vc_time_t period;

		if (!vc_parse_duration(v, VC_MSEC(1), &period) && period)
			d->every = period;
	}
	err = sim_param_add(d->params, &d->nr_params, k, v);
	if (!err) {
		for (unsigned int i = 0; i < d->nr_params; i++)
			if (!strcmp(d->params[i].key, k))
				d->param_col[i] = col_of(ps, k);
	}
	if (err == -VC_E2BIG)
		return fail_at(ps, k, "more than %d scheduling parameters", SIM_MAX_PARAMS);
	if (err)
		return fail_at(ps, k, "bad parameter '%s=%s'", k, v);
	return 0;
}

static int parse_domain(struct parser *ps, char **w, unsigned int n)
{
	struct sim_scenario *scn = ps->scn;
	struct sim_domain_cfg *d;
	const char *name = NULL, *name_w = NULL;
	bool every_set = false;
	int err;

	for (unsigned int i = 1; i < n; i++)
		if (!strncmp(w[i], "name=", 5))
			name = w[i] + 5, name_w = w[i];
	if (!name || !name[0])
		return fail(ps, "domain needs name=");
	if (strlen(name) >= VC_NAME_MAX)
		return fail_at(ps, name_w, "domain name '%s' too long", name);
	if (find_domain(scn, name) >= 0)
		return fail_at(ps, name_w, "domain '%s' defined twice", name);
	err = sim_scenario_add_domain(scn, name, &d);
	if (err == -VC_E2BIG)
		return fail(ps, "more than %d domains", SIM_MAX_DOMAINS);
	if (err)
		return fail(ps, "out of memory");
	d->line = ps->line;
	for (unsigned int i = 1; i < n; i++) {
		char *v = split_kv(w[i]);

		if (!v)
			err = fail_at(ps, w[i], "expected key=value, got '%s'", w[i]);
		else
			err = domain_kv(ps, d, w[i], v, &every_set);
		if (err)
			goto out_drop;
	}
	if ((d->arrival == SIM_ARRIVAL_PERIODIC || d->arrival == SIM_ARRIVAL_POISSON) &&
	    !d->every) {
		err = fail(ps, "a %s domain needs every= (or period=)",
			   d->arrival == SIM_ARRIVAL_PERIODIC ? "periodic" : "poisson");
		goto out_drop;
	}
	if (d->chain_min && !(d->np > 0)) {
		err = fail(ps, "np_chain needs np > 0 (the share of compute in chains)");
		goto out_drop;
	}
	if (d->job_max / d->chunk > 4096) {
		err = fail(ps, "job/chunk > 4096 commands per job");
		goto out_drop;
	}
	return 0;

out_drop:
	scn->nr_domains--; /* the half-parsed domain goes */
	return err;
}

/* key=value words into @arr; @line and @col (may be NULL) record where each was. */
static int parse_params(struct parser *ps, struct vc_param *arr, unsigned int *nr,
			unsigned int *line, unsigned int *col, char **w, unsigned int n)
{
	if (!n)
		return fail(ps, "expected key=value");
	for (unsigned int i = 0; i < n; i++) {
		char *v = split_kv(w[i]);
		int err;

		if (!v)
			return fail_at(ps, w[i], "expected key=value, got '%s'", w[i]);
		err = sim_param_add(arr, nr, w[i], v);
		if (err)
			return fail_at(ps, w[i], err == -VC_E2BIG ? "too many parameters" :
				       "bad parameter '%s'", w[i]);
		for (unsigned int j = 0; line && j < *nr; j++) {
			if (!strcmp(arr[j].key, w[i])) {
				line[j] = ps->line;
				col[j] = col_of(ps, w[i]);
			}
		}
	}
	return 0;
}

/* at TIME set|sched|param|hang|destroy ... */
static int parse_at(struct parser *ps, char **w, unsigned int n)
{
	struct sim_scenario *scn = ps->scn;
	struct sim_event *e;
	int dom = -1;

	if (n < 3)
		return fail(ps, "expected: at TIME set|sched|param|hang|destroy ...");
	if (scn->nr_events == SIM_MAX_EVENTS)
		return fail(ps, "more than %d events", SIM_MAX_EVENTS);
	e = &scn->ev[scn->nr_events];
	memset(e, 0, sizeof(*e));
	e->line = ps->line;
	if (vc_parse_duration(w[1], VC_SEC(1), &e->at))
		return fail_at(ps, w[1], "bad time '%s'", w[1]);
	if (!strcmp(w[2], "sched")) {
		if (n != 4 || strlen(w[3]) >= VC_NAME_MAX)
			return fail(ps, "expected: at TIME sched ALGO");
		e->type = SIM_EV_SCHED;
		snprintf(e->algo, sizeof(e->algo), "%s", w[3]);
	} else if (!strcmp(w[2], "param")) {
		e->type = SIM_EV_PARAM;
		if (parse_params(ps, e->params, &e->nr_params, NULL, NULL, w + 3, n - 3))
			return -VC_EINVAL;
	} else if (!strcmp(w[2], "set") || !strcmp(w[2], "hang") ||
		   !strcmp(w[2], "destroy")) {
		if (n < 4)
			return fail(ps, "expected a domain name after '%s'", w[2]);
		dom = find_domain(scn, w[3]);
		if (dom < 0)
			return fail_at(ps, w[3], "unknown domain '%s'", w[3]);
		e->dom = (unsigned int)dom;
		if (!strcmp(w[2], "set")) {
			e->type = SIM_EV_SET;
			if (parse_params(ps, e->params, &e->nr_params, NULL, NULL, w + 4,
					 n - 4))
				return -VC_EINVAL;
		} else {
			if (n != 4)
				return fail_at(ps, w[4], "unexpected '%s'", w[4]);
			e->type = !strcmp(w[2], "hang") ? SIM_EV_HANG : SIM_EV_DESTROY;
		}
	} else {
		return fail_at(ps, w[2], "unknown event '%s' (set, sched, param, hang, destroy)",
			       w[2]);
	}
	/* Keep events sorted by time, in file order at equal times. */
	for (unsigned int i = scn->nr_events; i > 0 && scn->ev[i - 1].at > e->at; i--) {
		struct sim_event t = scn->ev[i - 1];

		scn->ev[i - 1] = scn->ev[i];
		scn->ev[i] = t;
		e = &scn->ev[i - 1];
	}
	scn->nr_events++;
	return 0;
}

static int parse_line(struct parser *ps, char **w, unsigned int n)
{
	struct sim_scenario *scn = ps->scn;
	uint64_t u;

	if (!strcmp(w[0], "domain"))
		return parse_domain(ps, w, n);
	if (!strcmp(w[0], "at"))
		return parse_at(ps, w, n);
	if (!strcmp(w[0], "param"))
		return parse_params(ps, scn->params, &scn->nr_params, scn->param_line,
				    scn->param_col, w + 1, n - 1);
	if (n != 2)
		return fail(ps, "'%s' takes one value", w[0]);
	if (!strcmp(w[0], "algo")) {
		if (strlen(w[1]) >= sizeof(scn->algo))
			return fail(ps, "algorithm name too long");
		snprintf(scn->algo, sizeof(scn->algo), "%s", w[1]);
	} else if (!strcmp(w[0], "seconds")) {
		if (vc_parse_duration(w[1], VC_SEC(1), &scn->duration) || !scn->duration)
			return fail_at(ps, w[1], "bad duration '%s'", w[1]);
	} else if (!strcmp(w[0], "seed")) {
		if (parse_u64(w[1], &scn->seed))
			return fail_at(ps, w[1], "bad seed '%s'", w[1]);
	} else if (!strcmp(w[0], "hang_timeout")) {
		if (vc_parse_duration(w[1], VC_MSEC(1), &scn->hang_timeout) ||
		    !scn->hang_timeout)
			return fail_at(ps, w[1], "bad hang_timeout '%s'", w[1]);
	} else if (!strcmp(w[0], "stop_timeout")) {
		if (vc_parse_duration(w[1], VC_MSEC(1), &scn->stop_timeout) ||
		    !scn->stop_timeout)
			return fail_at(ps, w[1], "bad stop_timeout '%s'", w[1]);
	} else if (!strcmp(w[0], "ctx_size")) {
		if (parse_size(w[1], &u) || u < 4096 || u > 16u * 1024 * 1024 || u % 4096)
			return fail_at(ps, w[1], "ctx_size must be a multiple of 4K in 4K..16M");
		scn->ctx_size = (uint32_t)u;
		scn->dev_line = ps->line;
	} else if (!strcmp(w[0], "ctx_bw")) {
		if (parse_rate(w[1], &scn->ctx_bw))
			return fail_at(ps, w[1], "bad ctx_bw '%s' (bytes/s: 8G, 500M, ...)", w[1]);
		scn->dev_line = ps->line;
	} else if (!strcmp(w[0], "switch_fixed")) {
		if (vc_parse_duration(w[1], VC_USEC(1), &scn->switch_fixed) ||
		    scn->switch_fixed > VC_SEC(1))
			return fail_at(ps, w[1], "bad switch_fixed '%s' (0..1s)", w[1]);
		scn->dev_line = ps->line;
	} else if (!strcmp(w[0], "max_nonpreempt")) {
		if (vc_parse_duration(w[1], VC_USEC(1), &scn->max_nonpreempt) ||
		    !scn->max_nonpreempt || scn->max_nonpreempt > VC_SEC(10))
			return fail_at(ps, w[1], "bad max_nonpreempt '%s' (1ns..10s)", w[1]);
		scn->dev_line = ps->line;
	} else if (!strcmp(w[0], "window")) {
		if (vc_parse_duration(w[1], VC_SEC(1), &scn->window) || !scn->window)
			return fail_at(ps, w[1], "bad window '%s'", w[1]);
	} else if (!strcmp(w[0], "trace")) {
		if (parse_u64(w[1], &u) || u > (1u << 24))
			return fail_at(ps, w[1], "trace takes an event count up to 16M");
		scn->trace_capacity = (unsigned int)u;
	} else {
		return fail_at(ps, w[0], "unknown directive '%s'", w[0]);
	}
	return 0;
}

int sim_scenario_parse(struct sim_scenario *scn, const char *text, const char *fname,
		       char *err, size_t errlen)
{
	struct parser ps = { scn, fname, 0, NULL, err, errlen };
	const char *p = text;

	snprintf(scn->src, sizeof(scn->src), "%s", fname);
	while (*p) {
		char buf[1024], *w[LINE_MAX_WORDS], *s, *hash, *save;
		size_t len = strcspn(p, "\n");
		unsigned int n = 0;
		int r;

		ps.line++;
		ps.buf = buf;
		if (len >= sizeof(buf))
			return fail(&ps, "line too long");
		memcpy(buf, p, len);
		buf[len] = '\0';
		p += len + (p[len] == '\n');
		hash = strchr(buf, '#');
		if (hash)
			*hash = '\0';
		for (s = strtok_r(buf, " \t\r", &save); s; s = strtok_r(NULL, " \t\r", &save)) {
			if (n == LINE_MAX_WORDS)
				return fail(&ps, "too many words");
			w[n++] = s;
		}
		if (!n)
			continue;
		r = parse_line(&ps, w, n);
		if (r)
			return r;
	}
	return 0;
}
