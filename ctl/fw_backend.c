// SPDX-License-Identifier: MIT
/*
 * DOC: control protocol - generic commands over a struct vc_fw
 *
 * Each handler reads its arguments with the ctl_arg_*() helpers, finds the
 * coprocessor / domain / vcoproc named (DeviceNotFound when there is
 * none), calls the framework, and builds the reply with json-c.  Figures
 * come from vc_coproc_stats() and vc_vcoproc_stats(); shares and
 * utilization are ratios of those counters since registration or
 * creation (clients that want a window, like "vcoproc top", take deltas of
 * the raw counters that are in every reply), keyed by their field names
 * (VC_*_STATS()).  Expected shares are the algorithm's own
 * (vc_coproc_expected_shares()); nothing here knows a scheduling policy.
 * Domains are named by vc_domain_lookup()'s rule.
 *
 * The host's commands (create, destroy, console-read, domain-list) check
 * their arguments here and call struct ctl_host_ops; guest console output
 * is made valid UTF-8 before it goes into a JSON string.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <vcoproc/errno.h>
#include <vcoproc/sched.h>

#include "ctl_fw.h"

#define MAX_COPROCS      64
#define MAX_VCOPROCS     256
#define MAX_SET_PARAMS   16
#define TRACE_CAP_MAX    (1u << 20)   /* events */
#define TEXT_MAX         CTL_REPLY_LIMIT /* bytes of a dump or trace */
#define CONSOLE_READ_MAX (64u * 1024u)
#define CONSOLE_READ_DEF (16u * 1024u)
#define CREATE_PATH_MAX  4095u        /* bytes of create's "path" */

void ctl_fw_init(struct ctl_fw *be, struct vc_fw *fw, const struct ctl_host_ops *host,
		 void *host_opaque)
{
	be->fw = fw;
	be->host = host;
	be->host_opaque = host_opaque;
}

/* ---- helpers ---------------------------------------------------------------------- */

static struct json_object *jdouble(double v)
{
	char s[32];

	if (!isfinite(v))
		return NULL; /* JSON has no NaN or Infinity: null */
	snprintf(s, sizeof(s), "%.4f", v);
	return json_object_new_double_s(v, s);
}

static struct json_object *params_object(const struct vc_param *p, unsigned int n)
{
	struct json_object *o = json_object_new_object();

	for (unsigned int i = 0; i < n; i++)
		json_object_object_add(o, p[i].key, json_object_new_string(p[i].val));
	return o;
}

/* "gpu0, gpu1" for messages. */
static void coproc_names(struct vc_fw *fw, char *buf, size_t len)
{
	struct vc_coproc *arr[MAX_COPROCS];
	unsigned int n = vc_fw_coprocs(fw, arr, MAX_COPROCS);
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < n && i < MAX_COPROCS; i++) {
		int w = snprintf(buf + o, len - o, "%s%s", i ? ", " : "", vc_coproc_name(arr[i]));

		if (w < 0 || (size_t)w >= len - o)
			break;
		o += (size_t)w;
	}
	if (!n)
		snprintf(buf, len, "there are none");
}

static void algo_names(char *buf, size_t len)
{
	const char *const *a = vc_sched_algos();
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; a[i]; i++) {
		int w = snprintf(buf + o, len - o, "%s%s", i ? ", " : "", a[i]);

		if (w < 0 || (size_t)w >= len - o)
			break;
		o += (size_t)w;
	}
}

static struct vc_coproc *find_coproc(struct vc_fw *fw, const char *name, struct ctl_error *err)
{
	struct vc_coproc *c = vc_coproc_find(fw, name);
	char names[256];

	if (!c) {
		coproc_names(fw, names, sizeof(names));
		ctl_error_set(err, CTL_ERR_DEVICE_NOT_FOUND, "no coprocessor \"%.*s\" (%s)",
			      ctl_utf8_prefix(name, 40), name, names);
	}
	return c;
}

static struct vc_coproc *arg_coproc(struct ctl_fw *be, struct json_object *args,
				    struct ctl_error *err)
{
	const char *name;

	if (ctl_arg_string(args, "coproc", true, &name, err))
		return NULL;
	return find_coproc(be->fw, name, err);
}

static struct vc_vcoproc *find_vcoproc(struct vc_coproc *c, struct vc_domain *d)
{
	struct vc_vcoproc *vs[MAX_VCOPROCS];
	unsigned int n = vc_coproc_vcoprocs(c, vs, MAX_VCOPROCS);

	for (unsigned int i = 0; i < n && i < MAX_VCOPROCS; i++)
		if (vc_vcoproc_domain(vs[i]) == d)
			return vs[i];
	return NULL;
}

/* The "params" argument: an object of string or integer values. */
static int arg_params(struct json_object *args, bool required, struct vc_param *out,
		      unsigned int *nr, struct ctl_error *err)
{
	struct json_object *o;

	*nr = 0;
	if (!json_object_object_get_ex(args, "params", &o)) {
		if (required)
			return ctl_error_set(err, CTL_ERR_GENERIC, "missing argument \"params\"");
		return 0;
	}
	if (!json_object_is_type(o, json_type_object))
		return ctl_error_set(err, CTL_ERR_GENERIC,
				     "argument \"params\": expected an object {\"key\": \"value\"}");
	if (required && !json_object_object_length(o))
		return ctl_error_set(err, CTL_ERR_GENERIC,
				     "argument \"params\": expected at least one parameter");
	{
		json_object_object_foreach(o, key, val) {
			const char *s;
			char num[32];

			if (*nr == MAX_SET_PARAMS)
				return ctl_error_set(err, CTL_ERR_GENERIC,
						     "argument \"params\": expected at most %u parameters",
						     MAX_SET_PARAMS);
			if (!key[0] || strlen(key) >= VC_PARAM_KEY_MAX)
				return ctl_error_set(err, CTL_ERR_GENERIC,
						     "argument \"params\": expected keys of 1 to %u bytes",
						     VC_PARAM_KEY_MAX - 1);
			if (json_object_is_type(val, json_type_int) && json_object_get_int64(val) >= 0) {
				snprintf(num, sizeof(num), "%llu",
					 (unsigned long long)json_object_get_uint64(val));
				s = num;
			} else if (json_object_is_type(val, json_type_string) &&
				   strlen(json_object_get_string(val)) ==
				   (size_t)json_object_get_string_len(val)) {
				s = json_object_get_string(val);
			} else {
				return ctl_error_set(err, CTL_ERR_GENERIC,
						     "argument \"params\": \"%.*s\": expected a string or a non-negative integer",
						     ctl_utf8_prefix(key, 23), key);
			}
			if (!s[0] || strlen(s) >= VC_PARAM_VAL_MAX)
				return ctl_error_set(err, CTL_ERR_GENERIC,
						     "argument \"params\": \"%.*s\": expected a value of 1 to %u bytes",
						     ctl_utf8_prefix(key, 23), key, VC_PARAM_VAL_MAX - 1);
			snprintf(out[*nr].key, sizeof(out[*nr].key), "%s", key);
			snprintf(out[*nr].val, sizeof(out[*nr].val), "%s", s);
			(*nr)++;
		}
	}
	return 0;
}

/* Why a parameter was refused, in words. */
static int param_error(struct ctl_error *err, int r, const char *algo, const char *where,
		       const struct vc_param *p, const struct vc_param *known, unsigned int nk)
{
	char keys[160] = "";
	size_t o = 0;

	for (unsigned int i = 0; i < nk; i++) {
		int w = snprintf(keys + o, sizeof(keys) - o, "%s%s", i ? ", " : "", known[i].key);

		if (w < 0 || (size_t)w >= sizeof(keys) - o)
			break;
		o += (size_t)w;
	}
	switch (r) {
	case -VC_ENOENT:
		return ctl_error_set(err, CTL_ERR_GENERIC, "%s on %s has no parameter \"%s\" (it has: %s)",
				     algo, where, p->key, nk ? keys : "none");
	case -VC_EINVAL:
		return ctl_error_set(err, CTL_ERR_GENERIC, "%s on %s: %s=%s: invalid value", algo,
				     where, p->key, p->val);
	case -VC_ENOSPC:
		return ctl_error_set(err, CTL_ERR_GENERIC,
				     "%s on %s: %s=%s: refused by admission control", algo, where,
				     p->key, p->val);
	default:
		return ctl_error_set(err, CTL_ERR_GENERIC, "%s on %s: %s=%s: %s", algo, where, p->key,
				     p->val, vc_strerror(r));
	}
}

/* ---- coprocessors -------------------------------------------------------------------- */

/* Counters as JSON numbers, generated from VC_*_STATS(): key = field name. */
#define STATS_ADD(type, name, what) \
	json_object_object_add(o, #name, json_object_new_uint64(st->name));

static struct json_object *coproc_stats_object(const struct vc_coproc_stats *st)
{
	struct json_object *o = json_object_new_object();

	VC_COPROC_STATS(STATS_ADD)
	return o;
}

static struct json_object *vcoproc_stats_object(const struct vc_vcoproc_stats *st)
{
	struct json_object *o = json_object_new_object();

	VC_VCOPROC_STATS(STATS_ADD)
	return o;
}

static int cmd_list(void *opaque, struct json_object *args, struct json_object **ret,
		    struct ctl_error *err)
{
	struct ctl_fw *be = opaque;
	struct vc_coproc *cs[MAX_COPROCS];
	unsigned int n = vc_fw_coprocs(be->fw, cs, MAX_COPROCS);
	struct json_object *arr = json_object_new_array();

	for (unsigned int i = 0; i < n && i < MAX_COPROCS; i++) {
		const struct vc_coproc_desc *d = vc_coproc_desc(cs[i]);
		struct json_object *o = json_object_new_object(), *mmio, *irqs;
		struct vc_coproc_stats st;

		vc_coproc_stats(cs[i], &st);
		json_object_object_add(o, "id", json_object_new_string(vc_coproc_name(cs[i])));
		json_object_object_add(o, "compatible",
				       json_object_new_string(vc_coproc_compatible(cs[i])));
		if (vc_coproc_model(cs[i])[0])
			json_object_object_add(o, "model",
					       json_object_new_string(vc_coproc_model(cs[i])));
		json_object_object_add(o, "algorithm",
				       json_object_new_string(vc_coproc_sched_name(cs[i])));
		json_object_object_add(o, "vcoprocs", json_object_new_int64(st.nr_vcoprocs));
		/* A passthrough device and its owner (null while it has none). */
		json_object_object_add(o, "passthrough",
				       json_object_new_boolean(vc_coproc_passthrough(cs[i])));
		if (vc_coproc_passthrough(cs[i])) {
			struct vc_vcoproc *owner = NULL;

			vc_coproc_vcoprocs(cs[i], &owner, 1);
			json_object_object_add(o, "owner", owner ?
					       json_object_new_string(vc_domain_name(
						       vc_vcoproc_domain(owner))) : NULL);
		}
		json_object_object_add(o, "utilization",
				       jdouble(st.uptime_ns ? (double)st.busy_ns / (double)st.uptime_ns : 0));
		mmio = json_object_new_array();
		for (unsigned int k = 0; k < d->nr_mmio; k++) {
			struct json_object *m = json_object_new_object();

			json_object_object_add(m, "base", json_object_new_uint64(d->mmio[k].base));
			json_object_object_add(m, "size", json_object_new_uint64(d->mmio[k].size));
			json_object_array_add(mmio, m);
		}
		json_object_object_add(o, "mmio", mmio);
		irqs = json_object_new_array();
		for (unsigned int k = 0; k < d->nr_irqs; k++)
			json_object_array_add(irqs, json_object_new_int64(d->irqs[k]));
		json_object_object_add(o, "irqs", irqs);
		json_object_object_add(o, "stats", coproc_stats_object(&st));
		json_object_array_add(arr, o);
	}
	*ret = arr;
	return 0;
}

static int cmd_sched_get(void *opaque, struct json_object *args, struct json_object **ret,
			 struct ctl_error *err)
{
	struct ctl_fw *be = opaque;
	struct vc_coproc *c = arg_coproc(be, args, err);
	struct vc_param p[MAX_SET_PARAMS];
	const char *const *a = vc_sched_algos();
	struct json_object *o, *algos;
	unsigned int n;

	if (!c)
		return -VC_ENOENT;
	n = vc_coproc_params(c, p, MAX_SET_PARAMS);
	o = json_object_new_object();
	json_object_object_add(o, "coproc", json_object_new_string(vc_coproc_name(c)));
	json_object_object_add(o, "algorithm", json_object_new_string(vc_coproc_sched_name(c)));
	json_object_object_add(o, "params", params_object(p, VC_MIN(n, (unsigned)MAX_SET_PARAMS)));
	algos = json_object_new_array();
	for (unsigned int i = 0; a[i]; i++)
		json_object_array_add(algos, json_object_new_string(a[i]));
	json_object_object_add(o, "algorithms", algos);
	*ret = o;
	return 0;
}

/* Put @c back to algorithm @algo (when not NULL) and parameters @old. */
static void restore_coproc(struct vc_coproc *c, const char *algo, const struct vc_param *old,
			   unsigned int nr_old, const struct vc_param *set, unsigned int nr_set)
{
	if (algo)
		(void)vc_coproc_sched_set(c, algo);
	for (unsigned int i = 0; i < nr_old; i++) {
		bool touched = !!algo;

		for (unsigned int k = 0; k < nr_set && !touched; k++)
			touched = !strcmp(set[k].key, old[i].key);
		if (touched)
			(void)vc_coproc_param_set(c, old[i].key, old[i].val);
	}
}

static int cmd_sched_set(void *opaque, struct json_object *args, struct json_object **ret,
			 struct ctl_error *err)
{
	struct ctl_fw *be = opaque;
	struct vc_coproc *c = arg_coproc(be, args, err);
	struct vc_param set[MAX_SET_PARAMS], old[MAX_SET_PARAMS], known[MAX_SET_PARAMS];
	unsigned int nr_set, nr_old, nk;
	char old_algo[VC_NAME_MAX], names[128];
	const char *algo;
	bool switched = false;
	int r;

	if (!c)
		return -VC_ENOENT;
	if (ctl_arg_string(args, "algorithm", false, &algo, err) ||
	    arg_params(args, false, set, &nr_set, err))
		return -VC_EINVAL;
	if (!algo && !nr_set)
		return ctl_error_set(err, CTL_ERR_GENERIC,
				     "nothing to set: give \"algorithm\" or \"params\"");
	snprintf(old_algo, sizeof(old_algo), "%s", vc_coproc_sched_name(c));
	nr_old = VC_MIN(vc_coproc_params(c, old, MAX_SET_PARAMS), (unsigned)MAX_SET_PARAMS);

	if (algo && strcmp(algo, old_algo)) {
		r = vc_coproc_sched_set(c, algo);
		if (r == -VC_ENOENT) {
			algo_names(names, sizeof(names));
			return ctl_error_set(err, CTL_ERR_GENERIC,
					     "unknown algorithm \"%.*s\" (this build has: %s)",
					     ctl_utf8_prefix(algo, 31), algo, names);
		}
		if (r == -VC_ENOSPC)
			return ctl_error_set(err, CTL_ERR_GENERIC,
					     "%s refuses a vcoproc of %s: admission control (%s stays)",
					     algo, vc_coproc_name(c), old_algo);
		if (r)
			return ctl_error_set(err, CTL_ERR_GENERIC, "cannot switch %s to %s: %s",
					     vc_coproc_name(c), algo, vc_strerror(r));
		switched = true;
	}
	for (unsigned int i = 0; i < nr_set; i++) {
		r = vc_coproc_param_set(c, set[i].key, set[i].val);
		if (!r)
			continue;
		nk = VC_MIN(vc_coproc_params(c, known, MAX_SET_PARAMS), (unsigned)MAX_SET_PARAMS);
		param_error(err, r, vc_coproc_sched_name(c), vc_coproc_name(c), &set[i], known, nk);
		restore_coproc(c, switched ? old_algo : NULL, old, nr_old, set, i);
		return r;
	}
	return cmd_sched_get(opaque, args, ret, err);
}

static int cmd_sched_dump(void *opaque, struct json_object *args, struct json_object **ret,
			  struct ctl_error *err)
{
	struct ctl_fw *be = opaque;
	struct vc_coproc *c = arg_coproc(be, args, err);
	struct vc_strbuf m = { .max = TEXT_MAX };
	struct vc_printer p = vc_strbuf_printer(&m);
	int r;

	if (!c)
		return -VC_ENOENT;
	r = vc_coproc_dump(c, &p);
	if (!r) {
		*ret = json_object_new_object();
		json_object_object_add(*ret, "text", json_object_new_string(m.buf ? m.buf : ""));
	}
	vc_strbuf_free(&m);
	return r;
}

/* ---- vcoprocs --------------------------------------------------------------------------- */

/*
 * A vcoproc's entry: @total_run is the run time of all vcoprocs of its
 * coprocessor (0: no "share"), @exp what its algorithm promises it (NULL:
 * nothing, "expected_share" is null).
 */
static struct json_object *vcoproc_object(struct vc_vcoproc *v, vc_time_t total_run,
					  const struct vc_share *exp)
{
	struct vc_domain *d = vc_vcoproc_domain(v);
	struct vc_param p[MAX_SET_PARAMS];
	struct vc_vcoproc_stats st;
	struct json_object *o = json_object_new_object();
	unsigned int n;

	vc_vcoproc_stats(v, &st);
	n = VC_MIN(vc_vcoproc_params(v, p, MAX_SET_PARAMS), (unsigned)MAX_SET_PARAMS);
	json_object_object_add(o, "domain", json_object_new_string(vc_domain_name(d)));
	json_object_object_add(o, "domid", json_object_new_int64(vc_domain_id(d)));
	json_object_object_add(o, "coproc", json_object_new_string(vc_coproc_name(vc_vcoproc_coproc(v))));
	json_object_object_add(o, "id", json_object_new_int64(vc_vcoproc_id(v)));
	json_object_object_add(o, "state", json_object_new_string(vc_vstate_name(st.state)));
	json_object_object_add(o, "loaded", json_object_new_boolean(st.loaded));
	json_object_object_add(o, "share",
			       jdouble(total_run ? (double)st.run_ns / (double)total_run : 0));
	json_object_object_add(o, "expected_share",
			       exp ? jdouble((double)exp->run_ppb / VC_SHARE_ONE) : NULL);
	json_object_object_add(o, "params", params_object(p, n));
	json_object_object_add(o, "stats", vcoproc_stats_object(&st));
	return o;
}

static int arg_find_domain(struct ctl_fw *be, struct json_object *args, struct vc_domain **d,
			   struct ctl_error *err)
{
	char dom[VC_NAME_MAX + 16];
	int r = ctl_arg_domain(args, "domain", dom, sizeof(dom), err);

	if (r)
		return r;
	*d = vc_domain_lookup(be->fw, dom);
	if (!*d)
		return ctl_error_set(err, CTL_ERR_DEVICE_NOT_FOUND, "no domain \"%s\"", dom);
	return 0;
}

static int cmd_vcoproc_list(void *opaque, struct json_object *args, struct json_object **ret,
			    struct ctl_error *err)
{
	struct ctl_fw *be = opaque;
	struct vc_coproc *cs[MAX_COPROCS];
	struct vc_vcoproc *vs[MAX_VCOPROCS];
	struct vc_domain *dom = NULL;
	const char *cname = NULL;
	struct json_object *arr;
	unsigned int nc;

	if (json_object_object_get_ex(args, "domain", NULL) &&
	    arg_find_domain(be, args, &dom, err))
		return -VC_ENOENT;
	if (ctl_arg_string(args, "coproc", false, &cname, err))
		return -VC_EINVAL;
	if (cname) {
		cs[0] = find_coproc(be->fw, cname, err);
		if (!cs[0])
			return -VC_ENOENT;
		nc = 1;
	} else {
		nc = VC_MIN(vc_fw_coprocs(be->fw, cs, MAX_COPROCS), (unsigned)MAX_COPROCS);
	}
	arr = json_object_new_array();
	for (unsigned int i = 0; i < nc; i++) {
		struct vc_share sh[MAX_VCOPROCS];
		int ne = vc_coproc_expected_shares(cs[i], vs, sh, MAX_VCOPROCS);
		unsigned int nv;
		struct vc_vcoproc_stats st;
		vc_time_t total = 0;

		/* The same vcoprocs either way; without promises, list them alone. */
		if (ne < 0)
			nv = vc_coproc_vcoprocs(cs[i], vs, MAX_VCOPROCS);
		else
			nv = (unsigned int)ne;
		nv = VC_MIN(nv, (unsigned)MAX_VCOPROCS);
		for (unsigned int k = 0; k < nv; k++) {
			vc_vcoproc_stats(vs[k], &st);
			total += st.run_ns;
		}
		for (unsigned int k = 0; k < nv; k++)
			if (!dom || vc_vcoproc_domain(vs[k]) == dom)
				json_object_array_add(arr, vcoproc_object(vs[k], total,
									  ne < 0 ? NULL : &sh[k]));
	}
	*ret = arr;
	return 0;
}

static int cmd_vcoproc_set(void *opaque, struct json_object *args, struct json_object **ret,
			   struct ctl_error *err)
{
	struct ctl_fw *be = opaque;
	struct vc_param set[MAX_SET_PARAMS], old[MAX_SET_PARAMS], known[MAX_SET_PARAMS];
	unsigned int nr_set, nr_old, nk;
	struct vc_domain *d;
	struct vc_coproc *c;
	struct vc_vcoproc *v;
	struct vc_share sh;
	char where[2 * VC_NAME_MAX + 8];
	int r;

	r = arg_find_domain(be, args, &d, err);
	if (r)
		return r;
	c = arg_coproc(be, args, err);
	if (!c)
		return -VC_ENOENT;
	r = arg_params(args, true, set, &nr_set, err);
	if (r)
		return r;
	v = find_vcoproc(c, d);
	if (!v)
		return ctl_error_set(err, CTL_ERR_DEVICE_NOT_FOUND, "domain %s has no vcoproc on %s",
				     vc_domain_name(d), vc_coproc_name(c));
	snprintf(where, sizeof(where), "%s/%s", vc_domain_name(d), vc_coproc_name(c));
	nr_old = VC_MIN(vc_vcoproc_params(v, old, MAX_SET_PARAMS), (unsigned)MAX_SET_PARAMS);
	for (unsigned int i = 0; i < nr_set; i++) {
		r = vc_vcoproc_param_set(v, set[i].key, set[i].val);
		if (!r)
			continue;
		nk = VC_MIN(vc_vcoproc_params(v, known, MAX_SET_PARAMS), (unsigned)MAX_SET_PARAMS);
		param_error(err, r, vc_coproc_sched_name(c), where, &set[i], known, nk);
		for (unsigned int k = 0; k < i; k++)
			for (unsigned int o = 0; o < nr_old; o++)
				if (!strcmp(old[o].key, set[k].key))
					(void)vc_vcoproc_param_set(v, old[o].key, old[o].val);
		return r;
	}
	*ret = vcoproc_object(v, 0, vc_vcoproc_expected_share(v, &sh) ? NULL : &sh);
	json_object_object_del(*ret, "share");
	return 0;
}

/* ---- trace --------------------------------------------------------------------------- */

static int cmd_trace_start(void *opaque, struct json_object *args, struct json_object **ret,
			   struct ctl_error *err)
{
	struct ctl_fw *be = opaque;
	struct vc_coproc *c = arg_coproc(be, args, err);
	uint64_t cap = 0;
	int r;

	if (!c)
		return -VC_ENOENT;
	cap = 65536;
	r = ctl_arg_uint_range(args, "capacity", false, 1, TRACE_CAP_MAX, &cap, err);
	if (r)
		return r;
	r = vc_coproc_trace_enable(c, true, (unsigned int)cap);
	if (r)
		return ctl_error_set(err, CTL_ERR_GENERIC, "cannot trace %s: %s", vc_coproc_name(c),
				     vc_strerror(r));
	return 0;
}

static int cmd_trace_stop(void *opaque, struct json_object *args, struct json_object **ret,
			  struct ctl_error *err)
{
	struct ctl_fw *be = opaque;
	struct vc_coproc *c = arg_coproc(be, args, err);

	if (!c)
		return -VC_ENOENT;
	return vc_coproc_trace_enable(c, false, 0);
}

/*
 * The export's text, kept only while it fits @max bytes: the trace is
 * rendered in one piece and handed over in one write, so a trace too large
 * for a reply costs no copy, and its size is known for the message.
 */
struct capture {
	char *buf;
	size_t len, max;
	size_t seen;       /* bytes written, kept or not */
};

static int capture_write(void *opaque, const char *buf, size_t len)
{
	struct capture *c = opaque;
	char *nb;

	c->seen += len;
	if (c->seen > c->max) {
		free(c->buf);
		c->buf = NULL;
		c->len = 0;
		return 0; /* keep counting */
	}
	nb = realloc(c->buf, c->len + len + 1);
	if (!nb)
		return -VC_ENOMEM;
	memcpy(nb + c->len, buf, len);
	c->buf = nb;
	c->len += len;
	c->buf[c->len] = '\0';
	return 0;
}

/*
 * Make the exporter's text one line of JSON in place: newlines (between
 * events, never inside a string, where the exporter escapes every control
 * character) go; false if it holds anything a reply may not (another
 * control character, bytes that are not UTF-8) or is not an object.
 */
static bool trace_text_fix(char *t, size_t *len)
{
	size_t o = 0;

	for (size_t i = 0; i < *len;) {
		unsigned char c = (unsigned char)t[i];
		size_t n;

		if (c == '\n' || c == '\r') {
			i++;
			continue;
		}
		n = c >= 0x20 ? vc_utf8_seq(t + i, *len - i) : 0;
		if (!n)
			return false;
		memmove(t + o, t + i, n);
		o += n;
		i += n;
	}
	t[o] = '\0';
	*len = o;
	return o >= 2 && t[0] == '{' && t[o - 1] == '}';
}

static int cmd_trace_export(void *opaque, struct json_object *args, struct json_object **ret,
			    struct ctl_error *err)
{
	struct ctl_fw *be = opaque;
	struct vc_coproc *c = arg_coproc(be, args, err);
	/* Room for {"return":...,"id":...} around it. */
	struct capture cap = { .max = TEXT_MAX - CTL_REQUEST_MAX - 64 };
	struct vc_printer p = { .write = capture_write, .opaque = &cap };
	int r;

	if (!c)
		return -VC_ENOENT;
	/* Refused as soon as it outgrows a reply, not after rendering it all. */
	r = vc_coproc_trace_export_max(c, &p, cap.max);
	if (r == -VC_E2BIG || (!r && cap.seen > cap.max)) {
		free(cap.buf);
		return ctl_error_set(err, CTL_ERR_GENERIC,
				     "the trace of %s is more than a reply may carry (%zu bytes): trace-start it again with a smaller capacity, or export sooner",
				     vc_coproc_name(c), cap.max);
	}
	if (r) {
		free(cap.buf);
		return ctl_error_set(err, CTL_ERR_GENERIC, "cannot export the trace of %s: %s",
				     vc_coproc_name(c), vc_strerror(r));
	}
	if (!cap.buf || !trace_text_fix(cap.buf, &cap.len)) {
		free(cap.buf);
		return ctl_error_set(err, CTL_ERR_GENERIC, "the trace of %s is not valid JSON",
				     vc_coproc_name(c));
	}
	/* The exporter's JSON goes into the reply as it is, without a parse. */
	*ret = json_object_new_object();
	if (!*ret) {
		free(cap.buf);
		return -VC_ENOMEM;
	}
	json_object_set_serializer(*ret, json_object_userdata_to_json_string, cap.buf,
				   json_object_free_userdata);
	return 0;
}

/* ---- host commands ---------------------------------------------------------------------- */

static int no_host(const char *cmd, struct ctl_error *err)
{
	return ctl_error_set(err, CTL_ERR_COMMAND_NOT_FOUND,
			     "the command \"%s\" is not available in this daemon", cmd);
}

static int cmd_create(void *opaque, struct json_object *args, struct json_object **ret,
		      struct ctl_error *err)
{
	struct ctl_fw *be = opaque;
	struct ctl_created out;
	struct json_object *cfgv, *w;
	const char *path = NULL;
	int r;

	if (!be->host || !be->host->create)
		return no_host("create", err);
	if (!json_object_object_get_ex(args, "config", &cfgv))
		return ctl_error_set(err, CTL_ERR_GENERIC, "missing argument \"config\" (the domain file's text)");
	if (!json_object_is_type(cfgv, json_type_string))
		return ctl_error_set(err, CTL_ERR_GENERIC,
				     "argument \"config\": expected a string (the domain file's text)");
	r = ctl_arg_string(args, "path", false, &path, err);
	if (r)
		return r;
	if (path && strlen(path) > CREATE_PATH_MAX)
		return ctl_error_set(err, CTL_ERR_GENERIC,
				     "argument \"path\": expected at most %u bytes, found %zu",
				     CREATE_PATH_MAX, strlen(path));
	memset(&out, 0, sizeof(out));
	r = be->host->create(be->host_opaque, path ? path : "", json_object_get_string(cfgv),
			     (size_t)json_object_get_string_len(cfgv), &out, err);
	if (r)
		return r;
	*ret = json_object_new_object();
	json_object_object_add(*ret, "domid", json_object_new_int64(out.domid));
	json_object_object_add(*ret, "name", json_object_new_string(out.name));
	w = json_object_new_array();
	for (unsigned int i = 0; i < out.nr_warnings && i < CTL_MAX_WARNINGS; i++)
		json_object_array_add(w, json_object_new_string(out.warnings[i]));
	json_object_object_add(*ret, "warnings", w);
	return 0;
}

static int cmd_destroy(void *opaque, struct json_object *args, struct json_object **ret,
		       struct ctl_error *err)
{
	struct ctl_fw *be = opaque;
	char dom[VC_NAME_MAX + 16];
	int r;

	if (!be->host || !be->host->destroy)
		return no_host("destroy", err);
	r = ctl_arg_domain(args, "domain", dom, sizeof(dom), err);
	if (r)
		return r;
	return be->host->destroy(be->host_opaque, dom, err);
}

/* Replace bytes that are not valid UTF-8 (vc_utf8_seq()) and NULs by '?', in place. */
static void utf8_sanitize(char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t len = s[i] ? vc_utf8_seq(s + i, n - i) : 0;

		if (!len)
			s[i++] = '?';
		else
			i += len;
	}
}

static int cmd_console_read(void *opaque, struct json_object *args, struct json_object **ret,
			    struct ctl_error *err)
{
	struct ctl_fw *be = opaque;
	struct ctl_console_chunk ch;
	char dom[VC_NAME_MAX + 16];
	uint64_t offset = 0, max = CONSOLE_READ_DEF;
	int r;

	if (!be->host || !be->host->console_read)
		return no_host("console-read", err);
	r = ctl_arg_domain(args, "domain", dom, sizeof(dom), err);
	if (!r)
		r = ctl_arg_uint(args, "offset", false, UINT64_MAX, &offset, err);
	if (!r)
		r = ctl_arg_uint_range(args, "max", false, 1, CONSOLE_READ_MAX, &max, err);
	if (r)
		return r;
	memset(&ch, 0, sizeof(ch));
	ch.data = malloc(max + 1);
	if (!ch.data)
		return -VC_ENOMEM;
	r = be->host->console_read(be->host_opaque, dom, offset, (size_t)max, &ch, err);
	if (!r) {
		if (ch.len > max)
			ch.len = (size_t)max;
		/* A character cut in two by the chunk's end comes whole next time. */
		for (size_t k = 1; k <= 3 && k <= ch.len; k++) {
			unsigned char c = (unsigned char)ch.data[ch.len - k];
			size_t want = c > 0xf4 ? 0 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;

			if ((c & 0xc0) == 0x80)
				continue;
			if (want > k && ch.next >= k) {
				ch.len -= k;
				ch.next -= k;
			}
			break;
		}
		utf8_sanitize(ch.data, ch.len);
		*ret = json_object_new_object();
		json_object_object_add(*ret, "data", json_object_new_string_len(ch.data, (int)ch.len));
		json_object_object_add(*ret, "offset", json_object_new_uint64(ch.next));
		json_object_object_add(*ret, "start", json_object_new_uint64(ch.start));
		json_object_object_add(*ret, "lost",
				       json_object_new_uint64(ch.start > offset ? ch.start - offset : 0));
		json_object_object_add(*ret, "closed", json_object_new_boolean(ch.closed));
	}
	free(ch.data);
	return r;
}

static int cmd_domain_list(void *opaque, struct json_object *args, struct json_object **ret,
			   struct ctl_error *err)
{
	struct ctl_fw *be = opaque;
	struct ctl_domain_info *info;
	unsigned int n, max = 256;
	struct json_object *arr;

	if (!be->host || !be->host->domain_list)
		return no_host("domain-list", err);
	info = calloc(max, sizeof(*info));
	if (!info)
		return -VC_ENOMEM;
	n = VC_MIN(be->host->domain_list(be->host_opaque, info, max), max);
	arr = json_object_new_array();
	for (unsigned int i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		info[i].name[sizeof(info[i].name) - 1] = '\0';
		info[i].state[sizeof(info[i].state) - 1] = '\0';
		info[i].kernel[sizeof(info[i].kernel) - 1] = '\0';
		json_object_object_add(o, "domid", json_object_new_int64(info[i].domid));
		json_object_object_add(o, "name", json_object_new_string(info[i].name));
		json_object_object_add(o, "state", json_object_new_string(info[i].state));
		json_object_object_add(o, "memory", json_object_new_uint64(info[i].memory_mib));
		json_object_object_add(o, "vcpus", json_object_new_int64(info[i].vcpus));
		json_object_object_add(o, "kernel", json_object_new_string(info[i].kernel));
		json_object_array_add(arr, o);
	}
	free(info);
	*ret = arr;
	return 0;
}

/* ---- the table --------------------------------------------------------------------------- */

static const char *const args_none[] = { NULL };
static const char *const args_coproc[] = { "coproc", NULL };
static const char *const args_vlist[] = { "domain", "coproc", NULL };
static const char *const args_sched_set[] = { "coproc", "algorithm", "params", NULL };
static const char *const args_vset[] = { "domain", "coproc", "params", NULL };
static const char *const args_trace[] = { "coproc", "capacity", NULL };
static const char *const args_create[] = { "config", "path", NULL };
static const char *const args_domain[] = { "domain", NULL };
static const char *const args_console[] = { "domain", "offset", "max", NULL };

const struct ctl_command ctl_fw_commands[] = {
	{ "list", cmd_list, args_none,
	  "coprocessors: id, compatible, algorithm, vcoprocs, utilization, counters" },
	{ "vcoproc-list", cmd_vcoproc_list, args_vlist,
	  "vcoprocs (of a domain, on a coprocessor): state, share, expected share, parameters, counters" },
	{ "sched-get", cmd_sched_get, args_coproc,
	  "a coprocessor's algorithm and its parameters" },
	{ "sched-set", cmd_sched_set, args_sched_set,
	  "change a coprocessor's algorithm and/or parameters, live" },
	{ "vcoproc-set", cmd_vcoproc_set, args_vset,
	  "change a vcoproc's scheduling parameters, live" },
	{ "sched-dump", cmd_sched_dump, args_coproc, "the scheduler's state in words" },
	{ "trace-start", cmd_trace_start, args_trace,
	  "start recording a coprocessor's events (capacity: ring size in events)" },
	{ "trace-stop", cmd_trace_stop, args_coproc, "stop recording" },
	{ "trace-export", cmd_trace_export, args_coproc,
	  "the events recorded, as Chrome trace-event JSON (Perfetto)" },
	{ "create", cmd_create, args_create, "create a domain from a domain file's text" },
	{ "destroy", cmd_destroy, args_domain, "destroy a domain" },
	{ "console-read", cmd_console_read, args_console,
	  "a domain's console output from an offset" },
	{ "domain-list", cmd_domain_list, args_none, "the host's domains" },
	{ NULL, NULL, NULL, NULL },
};

const struct ctl_ops ctl_fw_ops = {
	.name = "vcoproc-fw",
	.commands = ctl_fw_commands,
};
