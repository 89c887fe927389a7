// SPDX-License-Identifier: MIT
/*
 * DOC: vcoprocd - command line, main loop, statistics
 *
 *   vcoprocd --domain kernel=build/guest/hash.elf,memory=64,weight=256 \
 *            --domain kernel=build/guest/hash.elf,weight=512 \
 *            --algo credit --seconds 10
 *   vcoprocd --dtb build/examples/system.dtb --socket /tmp/vcoprocd.sock
 *
 * (The second form is the daemon: daemon.c; docs/kvm-host.md.)
 *
 * The main thread builds the host (vmm.c: simcp0, registered with the
 * framework under --algo, and every domain), starts the vCPUs, then waits
 * in poll() for a domain to end or a guest to mark (an eventfd the threads
 * signal), SIGINT/SIGTERM (a signalfd; the signals are blocked in every
 * thread), the next statistics table, a scheduled destroy or the time
 * limit.  A finished domain is torn down at once - the others go on.  At
 * the end it prints a summary (and, with --json, writes it as JSON) and
 * exits:
 *
 *   0  every domain passed (exit status 0) or was destroyed as asked, and
 *      (--check-shares) the busy-window shares are within tolerance
 *   1  a domain failed, exited with a nonzero status or ran out of time,
 *      a share is off (--check-shares), or the host could not be set up
 *   2  bad arguments
 *   128+N  stopped by signal N (SIGINT, SIGTERM), after a clean shutdown
 *
 * Statistics come from the framework (vc_vcoproc_stats()): a domain's
 * share is its vcoproc's run_ns over all vcoprocs' run_ns; jobs are the
 * commands the device completed for it.  Shares are given since the start,
 * over each table's interval, and over the busy window (vmm.h): the time
 * every domain had work queued, which is where an algorithm's promise
 * holds.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <vcoproc/posix.h>

#include "daemon.h"
#include "vmm.h"

#define DEF_SECONDS   10.0
#define DEF_GRACE_NS  VC_SEC(30)
#define DEF_RAM       (64ull << 20)
#define DEF_MAX_NP    VC_MSEC(1)

struct opts {
	struct dom_cfg dom[VMM_MAX_DOMAINS];
	unsigned int nr_dom;
	const char *algo;
	struct vc_param params[16];
	unsigned int nr_params;
	uint64_t run_ns;
	uint64_t timeout_ns;        /* 0: run_ns + DEF_GRACE_NS */
	uint64_t interval_ns;
	uint64_t max_np_ns;
	const char *log_dir;
	const char *json;           /* write the summary as JSON there */
	const char *dtb;            /* --dtb: coprocessors from the system device tree */
	const char *socket;         /* --socket: the control server, daemon mode */
	double check_shares;        /* relative tolerance; < 0: no check */
	bool echo, quiet, probe, realtime;
};

/* ---- command line ----------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: vcoprocd [options] --domain SPEC [--domain SPEC ...]\n"
"       vcoprocd --dtb FILE --socket PATH [options]\n"
"\n"
"Boots each domain as a KVM VM sharing the simcp coprocessor simcp0.\n"
"\n"
"  --dtb FILE          the coprocessors (simcp) from a system device tree\n"
"                      (docs/dt-binding.md); --domain domains use the first\n"
"  --socket PATH       daemon mode: serve the control socket at PATH (the vcoproc\n"
"                      CLI) until SIGINT/SIGTERM; domains come with create\n"
"  --domain SPEC       comma-separated key=value:\n"
"                        kernel=FILE     guest ELF image (required)\n"
"                        name=NAME       (default d1, d2, ...)\n"
"                        memory=N        RAM in MiB, or with a K/M/G suffix (default 64)\n"
"                        cmdline=ARGS    the guest's command line (no commas)\n"
"                        vcoproc=yes|no  a vcoproc on simcp0 (default yes)\n"
"                        vcpus=N         vCPUs, 1 to 8 (default 1)\n"
"                        destroy=DUR     destroy the domain this long after start\n"
"                        KEY=VAL         any other key: a scheduling parameter of\n"
"                                        its vcoproc, e.g. weight=256\n"
"  --algo NAME         simcp0's scheduling algorithm (default: the build's default)\n"
"  --param KEY=VAL     an algorithm parameter, e.g. slice=5ms (repeatable)\n"
"  --seconds DUR       how long workloads run (default 10; 2.5, 500ms work too)\n"
"  --timeout DUR       stop domains still running after this (default: seconds + 30 s)\n"
"  --interval DUR      period of the statistics table on stderr, 0 = none (default 1s)\n"
"  --max-nonpreempt DUR  longest non-preemptible command a guest may issue (1ms)\n"
"  --log-dir DIR       write each console to DIR/NAME.log\n"
"  --no-echo           do not echo consoles on stdout as \"[NAME] line\"\n"
"  --quiet             no statistics table and no summary\n"
"  --json FILE         also write the summary to FILE as JSON (- = stdout)\n"
"  --check-shares TOL  fail unless every busy-window share is within TOL\n"
"                      (relative: 0.03 or 3%%) of what the algorithm promises\n"
"  --realtime          run the coprocessor's threads SCHED_FIFO (root or CAP_SYS_NICE)\n"
"  --probe             check that KVM is usable here, print why not, and exit\n"
"  --help\n");
}

/* A size: N MiB, or N with a K/M/G suffix. */
static int parse_mem(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1ull << 20;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (end == s || errno || *s == '-')
		return -EINVAL;
	if (!strcmp(end, "K") || !strcmp(end, "k"))
		mult = 1ull << 10;
	else if (!strcmp(end, "G"))
		mult = 1ull << 30;
	else if (*end && strcmp(end, "M"))
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

static int set_param(struct vc_param *p, const char *key, size_t klen, const char *val)
{
	if (!klen || klen >= sizeof(p->key) || strlen(val) >= sizeof(p->val))
		return -EINVAL;
	memcpy(p->key, key, klen);
	p->key[klen] = '\0';
	snprintf(p->val, sizeof(p->val), "%s", val);
	return 0;
}

static int parse_domain(struct opts *o, const char *spec)
{
	struct dom_cfg *c;
	char *copy, *item, *save = NULL;
	int r = 0;

	if (o->nr_dom == VMM_MAX_DOMAINS) {
		fprintf(stderr, "vcoprocd: at most %d domains\n", VMM_MAX_DOMAINS);
		return -E2BIG;
	}
	c = &o->dom[o->nr_dom];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "d%u", o->nr_dom + 1);
	c->ram_size = DEF_RAM;
	c->vcoproc = true;
	c->vcpus = 1;
	copy = strdup(spec);
	if (!copy)
		return -ENOMEM;
	for (item = strtok_r(copy, ",", &save); item && !r; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		const char *val;

		if (!eq || eq == item) {
			fprintf(stderr, "vcoprocd: --domain: \"%s\" is not key=value\n", item);
			r = -EINVAL;
			break;
		}
		*eq = '\0';
		val = eq + 1;
		if (!strcmp(item, "kernel")) {
			if (snprintf(c->kernel, sizeof(c->kernel), "%s", val) >= (int)sizeof(c->kernel))
				r = -ENAMETOOLONG;
		} else if (!strcmp(item, "name")) {
			if (!*val || strlen(val) >= sizeof(c->name) || strchr(val, '/'))
				r = -EINVAL;
			else
				snprintf(c->name, sizeof(c->name), "%s", val);
		} else if (!strcmp(item, "memory")) {
			r = parse_mem(val, &c->ram_size);
		} else if (!strcmp(item, "cmdline")) {
			if (snprintf(c->cmdline, sizeof(c->cmdline), "%s", val) >=
			    (int)sizeof(c->cmdline))
				r = -E2BIG;
		} else if (!strcmp(item, "vcoproc")) {
			if (!strcmp(val, "yes"))
				c->vcoproc = true;
			else if (!strcmp(val, "no"))
				c->vcoproc = false;
			else
				r = -EINVAL;
		} else if (!strcmp(item, "vcpus")) {
			char *end;
			unsigned long n;

			errno = 0;
			n = strtoul(val, &end, 10);
			if (end == val || *end || errno || n < 1 || n > BOARD_MAX_CPUS)
				r = -EINVAL;
			else
				c->vcpus = (unsigned int)n;
		} else if (!strcmp(item, "destroy")) {
			r = vmm__parse_dur(val, &c->destroy_at_ns);
			if (!r && !c->destroy_at_ns)
				r = -EINVAL;
		} else if (c->nr_params == VC_VCOPROC_MAX_PARAMS) {
			r = -E2BIG;
		} else {
			r = set_param(&c->params[c->nr_params++], item, strlen(item), val);
		}
		if (r)
			fprintf(stderr, "vcoprocd: --domain: bad %s=%s: %s\n", item, val,
				strerror(-r));
	}
	free(copy);
	if (r)
		return r;
	if (!c->kernel[0]) {
		fprintf(stderr, "vcoprocd: --domain %s: no kernel=\n", spec);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < o->nr_dom; i++) {
		if (!strcmp(o->dom[i].name, c->name)) {
			fprintf(stderr, "vcoprocd: two domains named %s\n", c->name);
			return -EEXIST;
		}
	}
	o->nr_dom++;
	return 0;
}

enum {
	OPT_DOMAIN = 256, OPT_ALGO, OPT_PARAM, OPT_SECONDS, OPT_TIMEOUT, OPT_INTERVAL,
	OPT_MAX_NP, OPT_LOG_DIR, OPT_NO_ECHO, OPT_QUIET, OPT_PROBE, OPT_HELP, OPT_JSON,
	OPT_CHECK_SHARES, OPT_REALTIME, OPT_DTB, OPT_SOCKET,
};

/* A relative tolerance: 0.03 or 3%. */
static int parse_tol(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !(v >= 0))
		return -EINVAL;
	if (!strcmp(end, "%"))
		v /= 100;
	else if (*end)
		return -EINVAL;
	if (v > 1)
		return -ERANGE;
	*out = v;
	return 0;
}

/* Returns 0, 1 (--help: done) or -EINVAL. */
static int parse_args(struct opts *o, int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "domain", required_argument, NULL, OPT_DOMAIN },
		{ "algo", required_argument, NULL, OPT_ALGO },
		{ "param", required_argument, NULL, OPT_PARAM },
		{ "seconds", required_argument, NULL, OPT_SECONDS },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "max-nonpreempt", required_argument, NULL, OPT_MAX_NP },
		{ "log-dir", required_argument, NULL, OPT_LOG_DIR },
		{ "no-echo", no_argument, NULL, OPT_NO_ECHO },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "probe", no_argument, NULL, OPT_PROBE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "json", required_argument, NULL, OPT_JSON },
		{ "check-shares", required_argument, NULL, OPT_CHECK_SHARES },
		{ "realtime", no_argument, NULL, OPT_REALTIME },
		{ "dtb", required_argument, NULL, OPT_DTB },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->run_ns = (uint64_t)(DEF_SECONDS * 1e9);
	o->interval_ns = VC_SEC(1);
	o->max_np_ns = DEF_MAX_NP;
	o->echo = true;
	o->check_shares = -1;
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		int r = 0;
		char *eq;

		switch (c) {
		case OPT_DOMAIN: r = parse_domain(o, optarg); break;
		case OPT_ALGO: o->algo = optarg; break;
		case OPT_PARAM:
			eq = strchr(optarg, '=');
			if (!eq || o->nr_params == sizeof(o->params) / sizeof(o->params[0]))
				r = -EINVAL;
			else
				r = set_param(&o->params[o->nr_params++], optarg,
					      (size_t)(eq - optarg), eq + 1);
			break;
		case OPT_SECONDS: r = vmm__parse_dur(optarg, &o->run_ns); break;
		case OPT_TIMEOUT: r = vmm__parse_dur(optarg, &o->timeout_ns); break;
		case OPT_INTERVAL: r = vmm__parse_dur(optarg, &o->interval_ns); break;
		case OPT_MAX_NP: r = vmm__parse_dur(optarg, &o->max_np_ns); break;
		case OPT_LOG_DIR: o->log_dir = optarg; break;
		case OPT_NO_ECHO: o->echo = false; break;
		case OPT_QUIET: o->quiet = true; break;
		case OPT_PROBE: o->probe = true; break;
		case OPT_REALTIME: o->realtime = true; break;
		case OPT_DTB: o->dtb = optarg; break;
		case OPT_SOCKET: o->socket = optarg; break;
		case OPT_JSON: o->json = optarg; break;
		case OPT_CHECK_SHARES: r = parse_tol(optarg, &o->check_shares); break;
		case OPT_HELP: usage(stdout); return 1;
		default: usage(stderr); return -EINVAL;
		}
		if (r) {
			if (c != OPT_DOMAIN)
				fprintf(stderr, "vcoprocd: bad argument: %s\n", optarg);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vcoprocd: unexpected argument: %s\n", argv[optind]);
		return -EINVAL;
	}
	if (o->socket && (!o->dtb || o->nr_dom)) {
		fprintf(stderr, "vcoprocd: --socket needs --dtb, and takes no --domain "
			"(domains come with vcoproc create)\n");
		return -EINVAL;
	}
	if (o->dtb && (o->algo || o->nr_params)) {
		fprintf(stderr, "vcoprocd: with --dtb the device tree gives the algorithms "
			"(no --algo, --param)\n");
		return -EINVAL;
	}
	if (!o->probe && !o->nr_dom && !o->socket) {
		fprintf(stderr, "vcoprocd: no --domain given\n");
		usage(stderr);
		return -EINVAL;
	}
	if (!o->timeout_ns)
		o->timeout_ns = o->run_ns + DEF_GRACE_NS;
	return 0;
}

/* ---- statistics --------------------------------------------------------------- */

static const char *dom_state(const struct dom *d)
{
	/* d->state is the vCPU thread's until it has finished. */
	return d->reaped ? (d->destroyed ? "destroyed" : "done") :
	       atomic_load(&d->finished) ? dom__state_name(d->state) : "running";
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0.0;
}

/*
 * The periodic table: per domain, the framework's figures over the last
 * interval (left of the bar) and since the start (right of it).
 */
static void print_table(struct vmm *vmm, uint64_t now, uint64_t interval_ns)
{
	vc_time_t total = 0, dtotal = 0;
	char win[64] = "";

	for (unsigned int i = 0; i < vmm->nr_doms; i++) {
		struct dom *d = vmm->doms[i];

		dom__snapshot(d);
		total += d->last.run_ns;
		dtotal += d->last.run_ns - d->prev.run_ns;
	}
	if (vmm->win.state == VMM_WIN_OPEN)
		snprintf(win, sizeof(win), "; busy window open for %.1f s",
			 (double)vmm__window_ns(vmm, now) / 1e9);
	fprintf(stderr, "vcoprocd: t=%.1fs %s: last %.1f s | since the start%s\n",
		(double)(now - vmm->t0) / 1e9, vc_coproc_sched_name(vmm->coproc),
		(double)interval_ns / 1e9, win);
	fprintf(stderr, "  %-12s %-9s %7s %8s %8s %8s | %7s %9s %8s %8s %8s %10s\n", "domain",
		"state", "share", "jobs", "switches", "refusals", "share", "jobs", "switches",
		"refusals", "irqs", "mmio exits");
	for (unsigned int i = 0; i < vmm->nr_doms; i++) {
		struct dom *d = vmm->doms[i];
		const struct vc_vcoproc_stats *l = &d->last, *p = &d->prev;

		fprintf(stderr, "  %-12s %-9s %7.4f %8llu %8llu %8llu | %7.4f %9llu %8llu %8llu "
			"%8llu %10llu\n", d->cfg.name, dom_state(d),
			ratio((double)(l->run_ns - p->run_ns), (double)dtotal),
			(unsigned long long)(l->jobs - p->jobs),
			(unsigned long long)(l->switches_in - p->switches_in),
			(unsigned long long)(l->refusals - p->refusals),
			ratio((double)l->run_ns, (double)total), (unsigned long long)l->jobs,
			(unsigned long long)l->switches_in, (unsigned long long)l->refusals,
			(unsigned long long)l->irqs, (unsigned long long)atomic_load(&d->exits.mmio));
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
	case DOM_EXITED: return d->exitdev.status == BOARD_EXIT_PASS ? "pass" : "fail";
	case DOM_FAILED: return "error";
	case DOM_STOPPED: return "stopped";
	default: return dom__state_name(d->state);
	}
}

static bool dom_ok(const struct dom *d)
{
	return d->destroyed ||
	       (!d->timed_out && d->state == DOM_EXITED && d->exitdev.status == BOARD_EXIT_PASS);
}

/* Shares of the whole run and of the busy window (< 0: none). */
struct shares {
	double total[VMM_MAX_DOMAINS];
	double window[VMM_MAX_DOMAINS];
};

static void compute_shares(struct vmm *vmm, struct shares *sh)
{
	vc_time_t total = 0, wtotal = 0;
	struct vc_vcoproc_stats w[VMM_MAX_DOMAINS];

	for (unsigned int i = 0; i < vmm->nr_doms; i++) {
		vmm__window_delta(vmm, vmm->doms[i], &w[i]);
		total += vmm->doms[i]->last.run_ns;
		wtotal += w[i].run_ns;
	}
	for (unsigned int i = 0; i < vmm->nr_doms; i++) {
		bool has = vmm->doms[i]->cfg.vcoproc;

		sh->total[i] = has && total ? (double)vmm->doms[i]->last.run_ns / (double)total : -1;
		sh->window[i] = has && wtotal && vmm->win.state == VMM_WIN_CLOSED ?
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
static bool check_shares(struct vmm *vmm, const struct shares *sh, double tol)
{
	bool ok = true, any = false;
	double worst = 0;
	const char *worst_name = "";

	if (vmm->win.state != VMM_WIN_CLOSED) {
		vmm__log("shares: no busy window (%s): nothing measured",
			 vmm->win.why[0] ? vmm->win.why : "some domain never marked BUSY");
		return false;
	}
	for (unsigned int i = 0; i < vmm->nr_doms; i++) {
		const struct dom *d = vmm->doms[i];
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
			vmm__log("%s: busy-window share %.4f is %+.1f%% off the expected %.4f "
				 "(tolerance %.1f%%): MISMATCH", d->cfg.name, sh->window[i],
				 100 * dev, d->expected, 100 * tol);
			ok = false;
		}
	}
	if (!any) {
		vmm__log("shares: %s promises no share to check", vc_coproc_sched_name(vmm->coproc));
		return false;
	}
	if (ok)
		vmm__log("busy-window shares within %.1f%% of the expected ones (worst: %s, %+.2f%%)",
			 100 * tol, worst_name, 100 * worst);
	return ok;
}

static void print_summary(struct vmm *vmm, const struct shares *sh, uint64_t t1)
{
	struct vc_coproc_stats cs;
	unsigned int ok = 0;

	vc_coproc_stats(vmm->coproc, &cs);
	fprintf(stderr, "vcoprocd: %s, %u domain%s, %.3f s\n", vc_coproc_sched_name(vmm->coproc),
		vmm->nr_doms, vmm->nr_doms == 1 ? "" : "s", (double)(t1 - vmm->t0) / 1e9);
	if (vmm->win.state == VMM_WIN_CLOSED)
		fprintf(stderr, "  busy window: %.3f s, t=%.3f s .. %.3f s (from every domain busy "
			"until %s)\n", (double)vmm__window_ns(vmm, t1) / 1e9,
			(double)(vmm->win.t0 - vmm->t0) / 1e9, (double)(vmm->win.t1 - vmm->t0) / 1e9,
			vmm->win.why);
	else
		fprintf(stderr, "  busy window: none (%s)\n",
			vmm->win.why[0] ? vmm->win.why : "not every domain marked BUSY");
	fprintf(stderr, "  %-12s %-9s %6s %7s %7s %8s %7s %10s %9s %9s %8s %10s  %s\n", "domain",
		"verdict", "status", "share", "window", "expected", "diff", "jobs", "switches",
		"refusals", "irqs", "mmio exits", "result");
	for (unsigned int i = 0; i < vmm->nr_doms; i++) {
		struct dom *d = vmm->doms[i];
		char tot[16], win[16], exp[16], diff[16] = "-";

		fmt_share(tot, sizeof(tot), sh->total[i]);
		fmt_share(win, sizeof(win), sh->window[i]);
		fmt_share(exp, sizeof(exp), d->expected);
		if (d->expected > 0 && sh->window[i] >= 0)
			snprintf(diff, sizeof(diff), "%+.1f%%",
				 100 * (sh->window[i] - d->expected) / d->expected);
		fprintf(stderr, "  %-12s %-9s %6d %7s %7s %8s %7s %10llu %9llu %9llu %8llu %10llu  %s\n",
			d->cfg.name, dom_verdict(d),
			d->state == DOM_EXITED ? (int)d->exitdev.status : -1, tot, win, exp, diff,
			(unsigned long long)d->last.jobs, (unsigned long long)d->last.switches_in,
			(unsigned long long)d->last.refusals, (unsigned long long)d->last.irqs,
			(unsigned long long)atomic_load(&d->exits.mmio),
			d->result[0] ? d->result : (d->fail[0] ? d->fail : ""));
		ok += dom_ok(d);
	}
	fprintf(stderr, "  coprocessor %s: %llu switches, %llu refusals, busy %.1f%%, "
		"mmio %llu emulated / %llu forwarded, %llu irqs, %llu resets\n",
		vc_coproc_name(vmm->coproc), (unsigned long long)cs.switches,
		(unsigned long long)cs.refusals,
		cs.uptime_ns ? 100.0 * (double)cs.busy_ns / (double)cs.uptime_ns : 0.0,
		(unsigned long long)cs.mmio_emulated, (unsigned long long)cs.mmio_forwarded,
		(unsigned long long)cs.irqs, (unsigned long long)cs.resets);
	fprintf(stderr, "vcoprocd: %u of %u domains passed\n", ok, vmm->nr_doms);
}

/* ---- JSON ------------------------------------------------------------------------ */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	if (v < 0 || !isfinite(v))
		fputs("null", f);
	else
		fprintf(f, "%.6f", v);
}

static void json_vstats(FILE *f, const struct vc_vcoproc_stats *s)
{
	fprintf(f, "{\"run_ns\": %llu, \"switches_in\": %llu, \"switches_out\": %llu, "
		"\"refusals\": %llu, \"refusal_wait_ns\": %llu, \"mmio_emulated\": %llu, "
		"\"mmio_forwarded\": %llu, \"irqs\": %llu, \"jobs\": %llu, \"resets\": %llu, "
		"\"wakeups\": %llu, \"deadline_misses\": %llu, \"jitter_ns\": %llu, "
		"\"jitter_max_ns\": %llu}",
		(unsigned long long)s->run_ns, (unsigned long long)s->switches_in,
		(unsigned long long)s->switches_out, (unsigned long long)s->refusals,
		(unsigned long long)s->refusal_wait_ns, (unsigned long long)s->mmio_emulated,
		(unsigned long long)s->mmio_forwarded, (unsigned long long)s->irqs,
		(unsigned long long)s->jobs, (unsigned long long)s->resets,
		(unsigned long long)s->wakeups, (unsigned long long)s->deadline_misses,
		(unsigned long long)s->jitter_ns, (unsigned long long)s->jitter_max_ns);
}

/* The summary as one JSON object (docs/kvm-host.md lists the fields). */
static int write_json(struct vmm *vmm, const struct shares *sh, const char *path,
		      uint64_t t1, int status)
{
	struct vc_coproc_stats cs;
	FILE *f = strcmp(path, "-") ? fopen(path, "we") : stdout;

	if (!f) {
		vmm__log("%s: %s", path, strerror(errno));
		return -errno;
	}
	vc_coproc_stats(vmm->coproc, &cs);
	fprintf(f, "{\"algo\": ");
	json_str(f, vc_coproc_sched_name(vmm->coproc));
	fprintf(f, ", \"seconds\": %.6f, \"exit_status\": %d,\n \"window\": ",
		(double)(t1 - vmm->t0) / 1e9, status);
	if (vmm->win.state == VMM_WIN_CLOSED)
		fprintf(f, "{\"start_s\": %.6f, \"end_s\": %.6f, \"seconds\": %.6f, \"end\": ",
			(double)(vmm->win.t0 - vmm->t0) / 1e9, (double)(vmm->win.t1 - vmm->t0) / 1e9,
			(double)vmm__window_ns(vmm, t1) / 1e9);
	else
		fprintf(f, "{\"start_s\": null, \"end_s\": null, \"seconds\": 0, \"end\": ");
	json_str(f, vmm->win.why);
	fprintf(f, "},\n \"coproc\": {\"name\": ");
	json_str(f, vc_coproc_name(vmm->coproc));
	fprintf(f, ", \"uptime_ns\": %llu, \"busy_ns\": %llu, \"decisions\": %llu, "
		"\"decision_ns\": %llu, \"switches\": %llu, \"switch_lat_total_ns\": %llu, "
		"\"switch_lat_max_ns\": %llu, \"refusals\": %llu, \"refusal_wait_ns\": %llu, "
		"\"mmio_emulated\": %llu, \"mmio_forwarded\": %llu, \"irqs\": %llu, "
		"\"resets\": %llu, \"stale_events\": %llu},\n \"domains\": [",
		(unsigned long long)cs.uptime_ns, (unsigned long long)cs.busy_ns,
		(unsigned long long)cs.decisions, (unsigned long long)cs.decision_ns,
		(unsigned long long)cs.switches, (unsigned long long)cs.switch_lat_total_ns,
		(unsigned long long)cs.switch_lat_max_ns, (unsigned long long)cs.refusals,
		(unsigned long long)cs.refusal_wait_ns, (unsigned long long)cs.mmio_emulated,
		(unsigned long long)cs.mmio_forwarded, (unsigned long long)cs.irqs,
		(unsigned long long)cs.resets, (unsigned long long)cs.stale_events);
	for (unsigned int i = 0; i < vmm->nr_doms; i++) {
		struct dom *d = vmm->doms[i];
		struct vc_vcoproc_stats w;

		vmm__window_delta(vmm, d, &w);
		fprintf(f, "%s\n  {\"name\": ", i ? "," : "");
		json_str(f, d->cfg.name);
		fprintf(f, ", \"domid\": %u, \"verdict\": ", d->domid);
		json_str(f, dom_verdict(d));
		fprintf(f, ", \"status\": %d, \"vcoproc\": %s, \"vcpus\": %u, \"result\": ",
			d->state == DOM_EXITED ? (int)d->exitdev.status : -1,
			d->cfg.vcoproc ? "true" : "false", d->nr_vcpus);
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
			(unsigned long long)atomic_load(&d->exits.mmio),
			(unsigned long long)atomic_load(&d->exits.pio),
			(unsigned long long)atomic_load(&d->exits.irqs_raised),
			(unsigned long long)atomic_load(&d->exits.doorbells_emulated),
			(unsigned long long)atomic_load(&d->exits.doorbells_forwarded));
		json_vstats(f, &d->last);
		fprintf(f, ",\n   \"window_stats\": ");
		json_vstats(f, &w);
		fprintf(f, "}");
	}
	fprintf(f, "\n ]}\n");
	if (f != stdout && fclose(f)) {
		vmm__log("%s: %s", path, strerror(errno));
		return -EIO;
	}
	return 0;
}

/* ---- main loop ------------------------------------------------------------------ */

/* Run until every domain is reaped; returns the signal that stopped us, or 0. */
static int run(struct vmm *vmm, const struct opts *o, int sigfd)
{
	uint64_t t0 = vmm->t0, deadline = t0 + o->timeout_ns;
	uint64_t next_tick = o->interval_ns ? t0 + o->interval_ns : UINT64_MAX;
	int stop_sig = 0;

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = vmm->notify_fd, .events = POLLIN },
		};
		uint64_t now = vmm__now(), wake = VC_MIN(deadline, next_tick), left = 0;
		unsigned int live = 0;

		/* Marks and ends move the busy window before anything is torn down. */
		vmm__window_update(vmm, now);
		/* Reap finished domains; carry out scheduled destroys. */
		for (unsigned int i = 0; i < vmm->nr_doms; i++) {
			struct dom *d = vmm->doms[i];

			if (d->reaped)
				continue;
			if (atomic_load(&d->finished)) {
				vmm__reap(vmm, d, "ended");
				continue;
			}
			if (d->cfg.destroy_at_ns && now >= d->started_ns + d->cfg.destroy_at_ns) {
				vmm__log("%s: destroying it as asked", d->cfg.name);
				d->destroyed = true;
				vmm__reap(vmm, d, "destroyed");
				continue;
			}
			if (d->cfg.destroy_at_ns)
				wake = VC_MIN(wake, d->started_ns + d->cfg.destroy_at_ns);
			live++;
		}
		if (!live)
			return stop_sig;
		if (now >= deadline) {
			for (unsigned int i = 0; i < vmm->nr_doms; i++) {
				struct dom *d = vmm->doms[i];

				if (!d->reaped) {
					vmm__log("%s: still running after %.1f s: stopping it",
						 d->cfg.name, (double)o->timeout_ns / 1e9);
					d->timed_out = true;
					vmm__reap(vmm, d, "timed out");
				}
			}
			continue;
		}
		if (now >= next_tick) {
			if (!o->quiet)
				print_table(vmm, now, o->interval_ns);
			next_tick += o->interval_ns;
			continue;
		}
		left = wake > now ? wake - now : 0;
		if (poll(pfd, 2, (int)VC_MIN((left + 999999) / 1000000, 1000000ull)) < 0 &&
		    errno != EINTR) {
			vmm__log("poll: %s", strerror(errno));
			return SIGTERM;
		}
		if (pfd[1].revents & POLLIN) {
			uint64_t v;

			if (read(vmm->notify_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				vmm__log("notify: %s", strerror(errno));
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
				stop_sig = (int)si.ssi_signo;
				vmm__log("%s: shutting down", strsignal(stop_sig));
				for (unsigned int i = 0; i < vmm->nr_doms; i++)
					vmm__reap(vmm, vmm->doms[i], "stopped");
			}
		}
	}
}

int main(int argc, char **argv)
{
	struct opts *o = calloc(1, sizeof(*o));
	struct vmm_cfg cfg;
	struct shares sh;
	struct vmm vmm;
	struct sysdt_fw *sf = NULL;
	sigset_t stop_set;
	char err[VMM_ERR_MAX];
	uint64_t t1;
	int sigfd, r, stop_sig, status = 1;

	if (!o)
		return 1;
	r = parse_args(o, argc, argv);
	if (r) {
		free(o);
		return r > 0 ? 0 : 2;
	}
	if (o->probe) {
		free(o);
		if (vmm__probe(err, sizeof(err))) {
			printf("vcoprocd: KVM is not usable: %s\n", err);
			return 1;
		}
		printf("vcoprocd: KVM is usable\n");
		return 0;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	/* Before any thread: every thread inherits the mask; only sigfd sees these. */
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGINT);
	sigaddset(&stop_set, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &stop_set, NULL) || dom__kick_init()) {
		vmm__log("signals: %s", strerror(errno));
		goto out_opts;
	}
	sigfd = signalfd(-1, &stop_set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0) {
		vmm__log("signalfd: %s", strerror(errno));
		goto out_opts;
	}
	cfg = (struct vmm_cfg){
		.algo = o->algo, .params = o->params, .nr_params = o->nr_params,
		.run_ns = o->run_ns, .max_np_ns = o->max_np_ns, .log_dir = o->log_dir,
		.echo = o->echo, .realtime = o->realtime, .no_coproc = o->dtb != NULL,
	};
	if (vmm__create(&vmm, &cfg))
		goto out_sigfd;
	if (o->dtb && vcd_dtb_setup(&vmm, o->dtb, o->max_np_ns, &sf))
		goto out_vmm;
	if (o->socket) {
		stop_sig = vcd_serve(&vmm, o->socket, sigfd);
		status = stop_sig < 0 ? 1 : 0;
		goto out_vmm;
	}
	for (unsigned int i = 0; i < o->nr_dom; i++)
		if (vmm__add_domain(&vmm, &o->dom[i]))
			goto out_vmm;
	if (vmm__start(&vmm))
		goto out_vmm;

	stop_sig = run(&vmm, o, sigfd);
	t1 = vmm__now();
	compute_shares(&vmm, &sh);
	status = 0;
	for (unsigned int i = 0; i < vmm.nr_doms; i++)
		if (!dom_ok(vmm.doms[i]))
			status = 1;
	if (!o->quiet)
		print_summary(&vmm, &sh, t1);
	if (o->check_shares >= 0 && !check_shares(&vmm, &sh, o->check_shares))
		status = 1;
	if (stop_sig)
		status = 128 + stop_sig;
	if (o->json && write_json(&vmm, &sh, o->json, t1, status) && !status)
		status = 1;

out_vmm:
	if (sf)
		vcd_dtb_teardown(&vmm, sf);
	vmm__destroy(&vmm);
out_sigfd:
	close(sigfd);
out_opts:
	free(o);
	return status;
}
