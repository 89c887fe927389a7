// SPDX-License-Identifier: MIT
/*
 * DOC: vcoprocd - command line, main loop, statistics
 *
 *   vcoprocd --domain kernel=build/guest/hash.elf,memory=64,weight=256 \
 *            --domain kernel=build/guest/hash.elf,weight=512 \
 *            --algo credit --seconds 10
 *   vcoprocd --dtb build/examples/system.dtb --socket /tmp/vcoprocd.sock
 *
 * (The second form is the daemon: control.c; docs/kvm-host.md.)
 *
 * Both forms build the host (host.c: the coprocessors, simcp0 under --algo
 * or those of the device tree) and run the host's one event loop (loop.h).
 * A --domain run creates every domain through the same path as the
 * control socket's create (each --domain SPEC becomes a domain file), then
 * its loop waits for a domain to end or a guest to mark (an eventfd the
 * guest threads signal), SIGINT/SIGTERM (a signalfd; the signals are
 * blocked in every thread), the next statistics table, a scheduled
 * destroy or the time limit.  A finished domain is torn down at once - the
 * others go on.  At the end it prints a summary (and, with --json, writes
 * it as JSON) and exits:
 *
 *   0  every domain passed (exit status 0) or was destroyed as asked, and
 *      (--check-shares) the busy-window shares are within tolerance
 *   1  a domain failed, exited with a nonzero status or ran out of time,
 *      a share is off (--check-shares), or the host could not be set up
 *   2  bad arguments
 *   128+N  stopped by signal N (SIGINT, SIGTERM), after a clean shutdown
 *
 * Statistics and the busy window: report.c, window.c.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <vcoproc/errno.h>
#include <vcoproc/posix.h>
#include <vcoproc/util.h>

#include "control.h"
#include "host.h"
#include "report.h"
#if VCOPROCD_KVM
#include "kvm.h"
#include "vm.h"
#endif

#define DEF_SECONDS   10.0
#define DEF_GRACE_NS  VC_SEC(30)
#define DEF_RAM       (64ull << 20)
#define DEF_MAX_NP    VC_MSEC(1)

/* One --domain SPEC. */
struct dom_arg {
	char name[VC_NAME_MAX];
	char kernel[DOMCFG_PATH_MAX];
	uint64_t ram_size;                        /* bytes */
	char cmdline[DOMCFG_EXTRA_MAX];
	bool vcoproc;
	struct vc_param params[VC_VCOPROC_MAX_PARAMS];
	unsigned int nr_params;
	uint64_t destroy_at_ns;
	unsigned int vcpus;
};

struct opts {
	struct dom_arg dom[HOST_MAX_DOMAINS];
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
	uint64_t idle_timeout_ns;   /* --idle-timeout: control connections; 0: the default */
	const char *context_log;    /* --context-log FILE */
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
"  --idle-timeout DUR  close a control connection idle this long (default 60s)\n"
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
"  --max-nonpreempt DUR  longest non-preemptible section a guest may hold the\n"
"                        device for; longer ones fault (1ms)\n"
"  --log-dir DIR       write each console to DIR/NAME.log\n"
"  --no-echo           do not echo consoles on stdout as \"[NAME] line\"\n"
"  --quiet             no statistics table and no summary\n"
"  --json FILE         also write the summary to FILE as JSON (- = stdout)\n"
"  --check-shares TOL  fail unless every busy-window share is within TOL\n"
"                      (relative: 0.03 or 3%%) of what the algorithm promises\n"
"  --realtime          run the coprocessor's threads SCHED_FIFO (root or CAP_SYS_NICE)\n"
"  --context-log FILE  append a line for every device context made or freed\n"
"                      (\"alloc|free COPROC ID\"): what a refused domain undid\n"
"  --probe             check that KVM is usable here, print why not, and exit\n"
"  --help\n");
}

/* A duration: the project's syntax (vc_parse_duration()), a bare number in seconds. */
static int parse_dur(const char *s, uint64_t *out)
{
	return vc_parse_duration(s, VC_SEC(1), out);
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
	struct dom_arg *c;
	char *copy, *item, *save = NULL;
	int r = 0;

	if (o->nr_dom == HOST_MAX_DOMAINS) {
		fprintf(stderr, "vcoprocd: at most %d domains\n", HOST_MAX_DOMAINS);
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
			if (end == val || *end || errno || n < 1 || n > DOMCFG_MAX_VCPUS)
				r = -EINVAL;
			else
				c->vcpus = (unsigned int)n;
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
	OPT_MAX_NP, OPT_LOG_DIR, OPT_NO_ECHO, OPT_QUIET, OPT_PROBE, OPT_HELP, OPT_JSON,
	OPT_CHECK_SHARES, OPT_REALTIME, OPT_DTB, OPT_SOCKET, OPT_CONTEXT_LOG, OPT_IDLE_TIMEOUT,
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
		{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
		{ "context-log", required_argument, NULL, OPT_CONTEXT_LOG },
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
		case OPT_SECONDS: r = parse_dur(optarg, &o->run_ns); break;
		case OPT_TIMEOUT: r = parse_dur(optarg, &o->timeout_ns); break;
		case OPT_INTERVAL: r = parse_dur(optarg, &o->interval_ns); break;
		case OPT_MAX_NP: r = parse_dur(optarg, &o->max_np_ns); break;
		case OPT_LOG_DIR: o->log_dir = optarg; break;
		case OPT_NO_ECHO: o->echo = false; break;
		case OPT_QUIET: o->quiet = true; break;
		case OPT_PROBE: o->probe = true; break;
		case OPT_REALTIME: o->realtime = true; break;
		case OPT_DTB: o->dtb = optarg; break;
		case OPT_SOCKET: o->socket = optarg; break;
		case OPT_IDLE_TIMEOUT: r = parse_dur(optarg, &o->idle_timeout_ns); break;
		case OPT_CONTEXT_LOG: o->context_log = optarg; break;
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

/* ---- a --domain SPEC as a domain file --------------------------------------- */

/* Append @s to @buf as an xl.cfg string; false if it cannot be one. */
static bool put_str(char *buf, size_t len, const char *s)
{
	size_t o = strlen(buf);

	if (strpbrk(s, "\"\\\n\r"))
		return false;
	return (size_t)snprintf(buf + o, len - o, "\"%s\"", s) < len - o;
}

/*
 * The domain file a --domain SPEC stands for: the same parser and the same
 * creation path as the control socket's create.  Its messages name
 * "--domain NAME".
 */
static int dom_arg_cfg(const struct dom_arg *a, const char *coproc, struct domcfg *cfg)
{
	char text[DOMCFG_PATH_MAX + DOMCFG_EXTRA_MAX + 1024] = "", fname[VC_NAME_MAX + 16];
	char msg[DOMCFG_MSG_MAX];
	size_t o;
	bool ok;

	snprintf(fname, sizeof(fname), "--domain %s", a->name);
	snprintf(text, sizeof(text), "name = ");
	ok = put_str(text, sizeof(text), a->name);
	o = strlen(text);
	snprintf(text + o, sizeof(text) - o, "\nkernel = ");
	ok = ok && put_str(text, sizeof(text), a->kernel);
	o = strlen(text);
	snprintf(text + o, sizeof(text) - o, "\nmemory = %llu\nvcpus = %u\nextra = ",
		 (unsigned long long)((a->ram_size + (1u << 20) - 1) >> 20), a->vcpus);
	ok = ok && put_str(text, sizeof(text), a->cmdline);
	if (a->vcoproc && coproc) {
		char entry[VC_NAME_MAX + VC_VCOPROC_MAX_PARAMS * 64];

		o = (size_t)snprintf(entry, sizeof(entry), "%s", coproc);
		for (unsigned int i = 0; i < a->nr_params && o < sizeof(entry); i++)
			o += (size_t)snprintf(entry + o, sizeof(entry) - o, ",%s=%s", a->params[i].key,
					      a->params[i].val);
		o = strlen(text);
		snprintf(text + o, sizeof(text) - o, "\nvcoproc = [ ");
		ok = ok && put_str(text, sizeof(text), entry);
		o = strlen(text);
		snprintf(text + o, sizeof(text) - o, " ]");
	}
	o = strlen(text);
	if (!ok || o + 2 >= sizeof(text)) {
		fprintf(stderr, "vcoprocd: --domain %s: a value has quotes, backslashes or newlines, "
			"or is too long\n", a->name);
		return -EINVAL;
	}
	snprintf(text + o, sizeof(text) - o, "\n");
	if (domcfg_parse(text, strlen(text), fname, cfg, msg, sizeof(msg))) {
		fprintf(stderr, "vcoprocd: %s\n", msg);
		return -EINVAL;
	}
	return 0;
}

/* ---- a --domain run on the loop ------------------------------------------------- */

struct run {
	struct host *h;
	const struct opts *o;
	struct hloop_timer tick, deadline, destroy;
	uint64_t next_tick;
	int stop_sig;
};

static void on_destroy_timer(void *opaque, uint64_t now);

/* Reap what ended, carry out scheduled destroys; quit when nothing runs. */
static void run_check(struct run *r)
{
	struct host *h = r->h;
	uint64_t now = hloop_now(), next = UINT64_MAX;

	for (unsigned int i = 0; i < h->nr_doms; i++) {
		struct dom *d = h->doms[i];

		if (d->reaped || !d->destroy_at_ns || atomic_load(&d->finished))
			continue;
		if (now >= d->started_ns + d->destroy_at_ns) {
			host_log("%s: destroying it as asked", d->cfg.name);
			d->destroyed = true;
			host_reap(h, d, "destroyed");
		} else if (d->started_ns + d->destroy_at_ns < next) {
			next = d->started_ns + d->destroy_at_ns;
		}
	}
	if (!host_reap_ended(h)) {
		hloop_quit(h->loop, 0);
		return;
	}
	if (next != UINT64_MAX)
		hloop_timer(h->loop, &r->destroy, next, on_destroy_timer, r);
}

static void on_destroy_timer(void *opaque, uint64_t now)
{
	run_check(opaque);
}

static void on_notify(void *opaque, int fd, unsigned int revents)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		host_log("notify: %s", strerror(errno));
	run_check(opaque);
}

static void on_tick(void *opaque, uint64_t now)
{
	struct run *r = opaque;

	if (!r->o->quiet)
		report_table(r->h, now, r->o->interval_ns);
	r->next_tick += r->o->interval_ns;
	hloop_timer(r->h->loop, &r->tick, r->next_tick, on_tick, r);
}

static void on_deadline(void *opaque, uint64_t now)
{
	struct run *r = opaque;

	for (unsigned int i = 0; i < r->h->nr_doms; i++) {
		struct dom *d = r->h->doms[i];

		if (!d->reaped) {
			host_log("%s: still running after %.1f s: stopping it", d->cfg.name,
				 (double)r->o->timeout_ns / 1e9);
			d->timed_out = true;
			host_reap(r->h, d, "timed out");
		}
	}
	run_check(r);
}

static void on_signal(void *opaque, int fd, unsigned int revents)
{
	struct run *r = opaque;
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	r->stop_sig = (int)si.ssi_signo;
	host_log("%s: shutting down", strsignal(r->stop_sig));
	for (unsigned int i = 0; i < r->h->nr_doms; i++)
		host_reap(r->h, r->h->doms[i], "stopped");
	run_check(r);
}

/* Run until every domain is reaped; returns the signal that stopped us, 0, or -errno. */
static int run(struct host *h, const struct opts *o, int sigfd)
{
	struct run r = { .h = h, .o = o };
	int err;

	/* The destroy timer's callback is set here once; run_check() re-arms it. */
	hloop_timer(h->loop, &r.destroy, h->t0, on_destroy_timer, &r);
	hloop_timer(h->loop, &r.deadline, h->t0 + o->timeout_ns, on_deadline, &r);
	if (o->interval_ns) {
		r.next_tick = h->t0 + o->interval_ns;
		hloop_timer(h->loop, &r.tick, r.next_tick, on_tick, &r);
	}
	err = hloop_watch(h->loop, sigfd, HLOOP_IN, on_signal, &r);
	if (!err)
		err = hloop_watch(h->loop, h->notify_fd, HLOOP_IN, on_notify, &r);
	if (!err)
		err = hloop_run(h->loop);
	hloop_unwatch(h->loop, h->notify_fd);
	hloop_unwatch(h->loop, sigfd);
	hloop_cancel(h->loop, &r.tick);
	hloop_cancel(h->loop, &r.deadline);
	hloop_cancel(h->loop, &r.destroy);
	if (err < 0) {
		host_log("event loop: %s", strerror(-err));
		return err;
	}
	return r.stop_sig;
}

/* Build every --domain domain; false after logging why one failed. */
static bool add_domains(struct host *h, const struct opts *o)
{
	struct domcfg *cfg = calloc(1, sizeof(*cfg));
	char err[DOMCFG_MSG_MAX + DOM_ERR_MAX];
	bool ok = cfg != NULL;

	for (unsigned int i = 0; ok && i < o->nr_dom; i++) {
		const struct dom_arg *a = &o->dom[i];
		struct dom_opts dopt = { .ram_size = a->ram_size, .destroy_at_ns = a->destroy_at_ns };

		ok = !dom_arg_cfg(a, h->coproc ? vc_coproc_name(h->coproc) : NULL, cfg) &&
		     !host_add(h, cfg, &dopt, NULL, err, sizeof(err));
		if (!ok && err[0])
			host_log("%s", err);
		err[0] = '\0';
	}
	free(cfg);
	return ok;
}

static int probe(void)
{
#if VCOPROCD_KVM
	char err[DOM_ERR_MAX];

	if (kvm_sys__probe(err, sizeof(err))) {
		printf("vcoprocd: KVM is not usable: %s\n", err);
		return 1;
	}
	printf("vcoprocd: KVM is usable\n");
	return 0;
#else
	printf("vcoprocd: KVM is not usable: this vcoprocd was built without KVM support\n");
	return 1;
#endif
}

int main(int argc, char **argv)
{
	struct opts *o = calloc(1, sizeof(*o));
	struct report_shares sh;
	struct host_cfg cfg;
	struct host h;
	sigset_t stop_set;
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
		return probe();
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	/* Before any thread: every thread inherits the mask; only sigfd sees these. */
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGINT);
	sigaddset(&stop_set, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &stop_set, NULL)) {
		host_log("signals: %s", strerror(errno));
		goto out_opts;
	}
#if VCOPROCD_KVM
	if (kvm_dom_kick_init()) {
		host_log("signals: %s", strerror(errno));
		goto out_opts;
	}
#endif
	sigfd = signalfd(-1, &stop_set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0) {
		host_log("signalfd: %s", strerror(errno));
		goto out_opts;
	}
	cfg = (struct host_cfg){
		.dtb = o->dtb, .algo = o->algo, .params = o->params, .nr_params = o->nr_params,
		.run_ns = o->run_ns, .max_np_ns = o->max_np_ns, .log_dir = o->log_dir,
		.echo = o->echo, .realtime = o->realtime, .keep_ended = o->socket != NULL,
		.context_log = o->context_log,
	};
	if (host_create(&h, &cfg))
		goto out_sigfd;
	if (o->socket) {
		stop_sig = host_serve(&h, o->socket, sigfd, o->idle_timeout_ns);
		status = stop_sig < 0 ? 1 : 0;
		goto out_host;
	}
	if (!add_domains(&h, o))
		goto out_host;
	host_window_start(&h);
	h.t0 = hloop_now();
	for (unsigned int i = 0; i < h.nr_doms; i++)
		h.doms[i]->started_ns = h.t0;

	stop_sig = run(&h, o, sigfd);
	t1 = hloop_now();
	report_shares(&h, &sh);
	status = 0;
	for (unsigned int i = 0; i < h.nr_doms; i++)
		if (!report_dom_ok(h.doms[i]))
			status = 1;
	if (!o->quiet)
		report_summary(&h, &sh, t1);
	if (o->check_shares >= 0 && !report_check_shares(&h, &sh, o->check_shares))
		status = 1;
	if (stop_sig > 0)
		status = 128 + stop_sig;
	else if (stop_sig < 0)
		status = 1;
	if (o->json && report_json(&h, &sh, o->json, t1, status) && !status)
		status = 1;

out_host:
	host_destroy(&h);
out_sigfd:
	close(sigfd);
out_opts:
	free(o);
	return status;
}
