// SPDX-License-Identifier: MIT
/*
 * DOC: vcoprocd - command line, main loop, statistics
 *
 *   vcoprocd --domain kernel=build/guest/hash.elf,memory=64,weight=256 \
 *            --domain kernel=build/guest/hash.elf,weight=512 \
 *            --algo credit --seconds 10
 *
 * The main thread builds the coprocessor (simcp0: simcp in THREAD mode,
 * registered with the framework under --algo) and every domain, starts
 * the vCPUs, then waits in poll() for a vCPU thread to finish (an eventfd
 * the threads signal), SIGINT/SIGTERM (a signalfd; the signals are blocked
 * in every thread), the next statistics table, a scheduled destroy or the
 * time limit.  A finished domain is torn down at once - the others go on.
 * At the end it prints a summary and exits:
 *
 *   0  every domain passed (exit status 0) or was destroyed as asked
 *   1  a domain failed, exited with a nonzero status or ran out of time,
 *      or the host could not be set up
 *   2  bad arguments
 *   128+N  stopped by signal N (SIGINT, SIGTERM), after a clean shutdown
 *
 * Statistics come from the framework (vc_vcoproc_stats()): a domain's
 * share is its vcoproc's run_ns over all vcoprocs' run_ns; jobs are the
 * commands the device completed for it.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vcoproc/posix.h>

#include "simcp.h"
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
	bool echo, quiet, probe;
};

uint64_t vmm__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void vmm__log(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vcoprocd: %s\n", line);
}

/* ---- command line ----------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: vcoprocd [options] --domain SPEC [--domain SPEC ...]\n"
"\n"
"Boots each domain as a KVM VM sharing the simcp coprocessor simcp0.\n"
"\n"
"  --domain SPEC       comma-separated key=value:\n"
"                        kernel=FILE     guest ELF image (required)\n"
"                        name=NAME       (default d1, d2, ...)\n"
"                        memory=N        RAM in MiB, or with a K/M/G suffix (default 64)\n"
"                        cmdline=ARGS    the guest's command line (no commas)\n"
"                        vcoproc=yes|no  a vcoproc on simcp0 (default yes)\n"
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
"  --probe             check that KVM is usable here, print why not, and exit\n"
"  --help\n");
}

/* A duration: a decimal number with ns, us, ms or s (bare: seconds). */
static int parse_dur(const char *s, uint64_t *out)
{
	static const struct { const char *sfx; double mult; } units[] = {
		{ "", 1e9 }, { "s", 1e9 }, { "ms", 1e6 }, { "us", 1e3 }, { "ns", 1 },
	};
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !(v >= 0))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcmp(end, units[i].sfx)) {
			v *= units[i].mult;
			if (v > 1e18)
				return -ERANGE;
			*out = (uint64_t)llround(v);
			return 0;
		}
	}
	return -EINVAL;
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
		} else if (!strcmp(item, "destroy")) {
			r = parse_dur(val, &c->destroy_at_ns);
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
	OPT_MAX_NP, OPT_LOG_DIR, OPT_NO_ECHO, OPT_QUIET, OPT_PROBE, OPT_HELP,
};

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
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->run_ns = (uint64_t)(DEF_SECONDS * 1e9);
	o->interval_ns = VC_SEC(1);
	o->max_np_ns = DEF_MAX_NP;
	o->echo = true;
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
		case OPT_SECONDS: r = parse_dur(optarg, &o->run_ns); break;
		case OPT_TIMEOUT: r = parse_dur(optarg, &o->timeout_ns); break;
		case OPT_INTERVAL: r = parse_dur(optarg, &o->interval_ns); break;
		case OPT_MAX_NP: r = parse_dur(optarg, &o->max_np_ns); break;
		case OPT_LOG_DIR: o->log_dir = optarg; break;
		case OPT_NO_ECHO: o->echo = false; break;
		case OPT_QUIET: o->quiet = true; break;
		case OPT_PROBE: o->probe = true; break;
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
	if (!o->probe && !o->nr_dom) {
		fprintf(stderr, "vcoprocd: no --domain given\n");
		usage(stderr);
		return -EINVAL;
	}
	if (!o->timeout_ns)
		o->timeout_ns = o->run_ns + DEF_GRACE_NS;
	return 0;
}

/* ---- set-up and tear-down ---------------------------------------------------- */

static const struct vc_host_ops vmm_hops = {
	.irq_raise = dom__irq_raise,
};

static int vmm_coproc_create(struct vmm *vmm, const struct opts *o)
{
	struct simcp_config cfg = { .mode = SIMCP_MODE_THREAD, .max_nonpreempt = o->max_np_ns };
	struct vc_coproc_desc desc;
	int r;

	r = simcp_create(&cfg, &vmm->dev);
	if (r) {
		vmm__log("simcp: %s", vc_strerror(r));
		return r;
	}
	simcp_coproc_desc(vmm->dev, "simcp0", VMM_COPROC_BASE, VMM_COPROC_GSI, &desc);
	desc.sched = o->algo;
	r = vc_coproc_register(vmm->fw, &desc, &vmm->coproc);
	if (r) {
		vmm__log("simcp0: %s%s", r == -VC_ENOENT ? "unknown algorithm " : "",
			 r == -VC_ENOENT ? o->algo : vc_strerror(r));
		return r;
	}
	simcp_attach(vmm->dev, vmm->coproc);
	for (unsigned int i = 0; i < o->nr_params; i++) {
		r = vc_coproc_param_set(vmm->coproc, o->params[i].key, o->params[i].val);
		if (r) {
			vmm__log("%s: parameter %s=%s: %s", vc_coproc_sched_name(vmm->coproc),
				 o->params[i].key, o->params[i].val,
				 r == -VC_ENOENT ? "unknown" : vc_strerror(r));
			return r;
		}
	}
	return 0;
}

static void vmm_destroy(struct vmm *vmm)
{
	for (unsigned int i = 0; i < vmm->nr_doms; i++) {
		dom__free(vmm->doms[i]);
		vmm->doms[i] = NULL;
	}
	if (vmm->coproc) {
		(void)vc_coproc_unregister(vmm->coproc);
		simcp_attach(vmm->dev, NULL);
		vmm->coproc = NULL;
	}
	vc_fw_destroy(vmm->fw);
	vmm->fw = NULL;
	simcp_destroy(vmm->dev);
	vmm->dev = NULL;
	if (vmm->notify_fd >= 0)
		close(vmm->notify_fd);
	vmm->notify_fd = -1;
	kvm_sys__close(&vmm->kvm);
}

static int vmm_create(struct vmm *vmm, const struct opts *o)
{
	char err[VMM_ERR_MAX];
	int r;

	memset(vmm, 0, sizeof(*vmm));
	vmm->kvm.fd = -1;
	vmm->notify_fd = -1;
	vmm->log_dir = o->log_dir;
	vmm->echo = o->echo;
	vmm->run_ns = o->run_ns;
	r = kvm_sys__open(&vmm->kvm, err, sizeof(err));
	if (r) {
		vmm__log("%s", err);
		return r;
	}
	vmm->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vmm->notify_fd < 0) {
		r = -errno;
		vmm__log("eventfd: %s", strerror(errno));
		goto out_destroy;
	}
	r = vc_fw_create(&vmm_hops, &vmm->fw);
	if (r) {
		vmm__log("framework: %s", vc_strerror(r));
		goto out_destroy;
	}
	r = vmm_coproc_create(vmm, o);
	if (r)
		goto out_destroy;
	if (o->log_dir && mkdir(o->log_dir, 0777) && errno != EEXIST) {
		r = -errno;
		vmm__log("%s: %s", o->log_dir, strerror(errno));
		goto out_destroy;
	}
	for (unsigned int i = 0; i < o->nr_dom; i++) {
		r = dom__create(vmm, &o->dom[i], i + 1, &vmm->doms[i], err, sizeof(err));
		if (r) {
			vmm__log("%s", err);
			goto out_destroy;
		}
		vmm->nr_doms++;
	}
	return 0;

out_destroy:
	vmm_destroy(vmm);
	return r;
}

/* --probe: can this process run a VM with an irqchip here? */
static int probe(void)
{
	struct kvm_sys sys;
	struct kvm_vm vm;
	char err[VMM_ERR_MAX];

	if (kvm_sys__open(&sys, err, sizeof(err)) ||
	    kvm_vm__create(&sys, &vm, err, sizeof(err))) {
		if (sys.fd >= 0)
			kvm_sys__close(&sys);
		printf("vcoprocd: KVM is not usable: %s\n", err);
		return 1;
	}
	kvm_vm__close(&vm);
	kvm_sys__close(&sys);
	printf("vcoprocd: KVM is usable\n");
	return 0;
}

/* ---- statistics --------------------------------------------------------------- */

static void print_table(struct vmm *vmm, uint64_t now, uint64_t t0)
{
	vc_time_t total = 0, dtotal = 0;

	for (unsigned int i = 0; i < vmm->nr_doms; i++) {
		struct dom *d = vmm->doms[i];

		dom__snapshot(d);
		total += d->last.run_ns;
		dtotal += d->last.run_ns - d->prev.run_ns;
	}
	fprintf(stderr, "vcoprocd: t=%.1fs %s\n", (double)(now - t0) / 1e9,
		vc_coproc_sched_name(vmm->coproc));
	fprintf(stderr, "  %-12s %-8s %7s %7s %10s %9s %9s %8s %10s\n", "domain", "state",
		"share", "total", "jobs", "switches", "refusals", "irqs", "mmio exits");
	for (unsigned int i = 0; i < vmm->nr_doms; i++) {
		struct dom *d = vmm->doms[i];
		vc_time_t dr = d->last.run_ns - d->prev.run_ns;
		/* d->state is the vCPU thread's until it has finished. */
		const char *state = d->reaped ? (d->destroyed ? "destroyed" : "done") :
				    atomic_load(&d->finished) ? dom__state_name(d->state) :
				    "running";

		fprintf(stderr, "  %-12s %-8s %7.4f %7.4f %10llu %9llu %9llu %8llu %10llu\n",
			d->cfg.name, state, dtotal ? (double)dr / (double)dtotal : 0.0,
			total ? (double)d->last.run_ns / (double)total : 0.0,
			(unsigned long long)d->last.jobs, (unsigned long long)d->last.switches_in,
			(unsigned long long)d->last.refusals, (unsigned long long)d->last.irqs,
			(unsigned long long)atomic_load(&d->exits.mmio));
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

/* Expected share under credit: weight / sum of weights (default 256). */
static double expected_share(struct vmm *vmm, const struct dom *d)
{
	double sum = 0, mine = 0;

	if (strcmp(vc_coproc_sched_name(vmm->coproc), "credit"))
		return -1;
	for (unsigned int i = 0; i < vmm->nr_doms; i++) {
		const struct dom *o = vmm->doms[i];
		double w = 256;

		if (!o->cfg.vcoproc)
			continue;
		for (unsigned int j = 0; j < o->cfg.nr_params; j++) {
			if (!strcmp(o->cfg.params[j].key, "cap"))
				return -1;
			if (!strcmp(o->cfg.params[j].key, "weight"))
				w = atof(o->cfg.params[j].val);
		}
		sum += w;
		if (o == d)
			mine = w;
	}
	return d->cfg.vcoproc && sum > 0 ? mine / sum : -1;
}

static void print_summary(struct vmm *vmm, uint64_t t0, uint64_t t1)
{
	struct vc_coproc_stats cs;
	vc_time_t total = 0;
	unsigned int ok = 0;

	for (unsigned int i = 0; i < vmm->nr_doms; i++)
		total += vmm->doms[i]->last.run_ns;
	vc_coproc_stats(vmm->coproc, &cs);
	fprintf(stderr, "vcoprocd: %s, %u domain%s, %.3f s\n", vc_coproc_sched_name(vmm->coproc),
		vmm->nr_doms, vmm->nr_doms == 1 ? "" : "s", (double)(t1 - t0) / 1e9);
	fprintf(stderr, "  %-12s %-9s %6s %7s %8s %10s %9s %9s %8s %10s  %s\n", "domain",
		"verdict", "status", "share", "expected", "jobs", "switches", "refusals",
		"irqs", "mmio exits", "result");
	for (unsigned int i = 0; i < vmm->nr_doms; i++) {
		struct dom *d = vmm->doms[i];
		double exp = expected_share(vmm, d);
		char expbuf[16] = "-";

		if (exp >= 0)
			snprintf(expbuf, sizeof(expbuf), "%.4f", exp);
		fprintf(stderr, "  %-12s %-9s %6d %7.4f %8s %10llu %9llu %9llu %8llu %10llu  %s\n",
			d->cfg.name, dom_verdict(d),
			d->state == DOM_EXITED ? (int)d->exitdev.status : -1,
			total ? (double)d->last.run_ns / (double)total : 0.0, expbuf,
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

/* ---- main loop ------------------------------------------------------------------ */

static void reap(struct dom *d)
{
	if (d->reaped)
		return;
	dom__teardown(d);
	if (d->state == DOM_FAILED)
		vmm__log("%s: %s", d->cfg.name, d->fail);
}

/* Run until every domain is reaped; returns the signal that stopped us, or 0. */
static int run(struct vmm *vmm, const struct opts *o, int sigfd, uint64_t t0)
{
	uint64_t deadline = t0 + o->timeout_ns;
	uint64_t next_tick = o->interval_ns ? t0 + o->interval_ns : UINT64_MAX;
	int stop_sig = 0;

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = vmm->notify_fd, .events = POLLIN },
		};
		uint64_t now = vmm__now(), wake = VC_MIN(deadline, next_tick), left = 0;
		unsigned int live = 0;

		/* Reap finished domains; carry out scheduled destroys. */
		for (unsigned int i = 0; i < vmm->nr_doms; i++) {
			struct dom *d = vmm->doms[i];

			if (d->reaped)
				continue;
			if (atomic_load(&d->finished)) {
				reap(d);
				continue;
			}
			if (d->cfg.destroy_at_ns && now >= d->started_ns + d->cfg.destroy_at_ns) {
				vmm__log("%s: destroying it as asked", d->cfg.name);
				d->destroyed = true;
				reap(d);
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
					reap(d);
				}
			}
			continue;
		}
		if (now >= next_tick) {
			if (!o->quiet)
				print_table(vmm, now, t0);
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
					reap(vmm->doms[i]);
			}
		}
	}
}

int main(int argc, char **argv)
{
	struct opts *o = calloc(1, sizeof(*o));
	struct vmm vmm;
	sigset_t stop_set;
	uint64_t t0, t1;
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
		return probe();
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
	if (vmm_create(&vmm, o))
		goto out_sigfd;

	t0 = vmm__now();
	for (unsigned int i = 0; i < vmm.nr_doms; i++) {
		r = dom__start(vmm.doms[i]);
		if (r) {
			vmm__log("%s: vCPU thread: %s", vmm.doms[i]->cfg.name, strerror(-r));
			for (unsigned int j = 0; j < i; j++)
				dom__stop(vmm.doms[j]);
			goto out_vmm;
		}
	}
	stop_sig = run(&vmm, o, sigfd, t0);
	t1 = vmm__now();
	if (!o->quiet)
		print_summary(&vmm, t0, t1);
	status = 0;
	for (unsigned int i = 0; i < vmm.nr_doms; i++)
		if (!dom_ok(vmm.doms[i]))
			status = 1;
	if (stop_sig)
		status = 128 + stop_sig;

out_vmm:
	vmm_destroy(&vmm);
out_sigfd:
	close(sigfd);
out_opts:
	free(o);
	return status;
}
