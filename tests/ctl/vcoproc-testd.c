// SPDX-License-Identifier: MIT
/*
 * DOC: vcoproc-testd - a control-socket daemon for the CLI tests, no KVM
 *
 *   vcoproc-testd --dtb FILE --socket PATH [--events FILE]
 *
 * Everything a real host does with the configuration and control layers,
 * with in-process domains instead of VMs:
 *
 *   - the system device tree (sysdt_load()) registers its shared
 *     coprocessors with a framework instance (sysdt_register()), each a
 *     simcp in THREAD mode (a device thread doing the work on real time,
 *     os/posix.c) - the same platform factory vcoprocd needs;
 *   - the control socket (ctl_server_*) with the generic backend
 *     (ctl_fw_ops) answers list, vcoproc-list, sched-*, vcoproc-set,
 *     trace-*; this file supplies create, destroy, console-read and
 *     domain-list (struct ctl_host_ops);
 *   - create parses the domain file (domcfg_parse()), builds the domain
 *     and its vcoprocs all or nothing (domcfg_build()), and starts one
 *     worker thread per vcoproc: the domain's "guest".  A worker drives the
 *     coprocessor's window with the native simcp driver through
 *     vc_domain_mmio() and takes its interrupts through irq_raise, as a
 *     guest kernel would, running the workload that "kernel" names:
 *
 *       builtin:compute  (or any other kernel: no image is booted here)
 *                        keep 4 jobs of 8 x 250 us COMPUTE queued: saturate
 *       builtin:idle     nothing
 *
 *     Its console reports progress once a second (console-read).
 *
 * --events FILE: every platform context the framework makes or frees is
 * appended to FILE as a line "alloc|free COPROC TAG", in order, so a test
 * can see what a refused domain file created before it was undone.
 *
 * The main thread owns the topology: it runs ctl_server_dispatch(), so
 * every create and destroy happens there.  Prints "ready" on stdout once
 * the socket listens; SIGINT or SIGTERM shuts it down cleanly.
 *
 * Lock order: a worker never holds its mutex while calling into the
 * framework, because irq_raise (called with the coproc lock held) takes it.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <vcoproc/errno.h>
#include <vcoproc/posix.h>

#include "ctl_fw.h"
#include "domcfg.h"
#include "simcp.h"
#include "simcp_sysdt.h"
#include "simcp_drv.h"
#include "sysdt.h"

#define TD_MAX_DOMAINS  32
#define TD_MEM_GPA      0x40000000ull
#define TD_MEM_SIZE     (1u << 20)     /* guest memory mapped: rings only */
#define TD_RING_SIZE    (16u * 1024u)
#define TD_DEPTH        4              /* jobs kept queued */
#define TD_CHUNKS       8              /* COMPUTE commands per job */
#define TD_CHUNK_NS     VC_USEC(250)
#define TD_CONLOG_SIZE  (64u * 1024u)
#define TD_MAX_NP       VC_MSEC(1)

struct td_dom;

/* One vcoproc's "guest": a thread running the workload on one coprocessor. */
struct td_worker {
	struct td_dom *dom;
	unsigned int idx;
	struct vc_coproc *coproc;
	uint64_t mmio;            /* the coprocessor's window */
	uint32_t irq;
	struct simcp_drv drv;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;     /* protects irq_pending */
	pthread_cond_t cond;
	bool irq_pending;
	uint64_t fences[TD_DEPTH];
	unsigned int nr_out;      /* jobs submitted, not complete */
	uint64_t jobs;            /* jobs completed */
};

struct td_dom {
	uint32_t domid;
	struct domcfg *cfg;       /* owned */
	bool compute;             /* the workload */
	uint8_t *mem;             /* TD_MEM_SIZE bytes at TD_MEM_GPA */
	struct vc_iommu_region region;
	struct vc_iommu iommu;
	struct vc_domain *vd;
	struct ctl_conlog *log;
	atomic_bool stop;
	struct td_worker w[DOMCFG_MAX_VCOPROCS];
	unsigned int nr_w;
};

static struct {
	struct vc_fw *fw;
	struct sysdt_fw *sf;
	struct ctl_server *srv;
	struct ctl_fw be;
	struct td_dom *dom[TD_MAX_DOMAINS];
	uint32_t next_domid;
	FILE *events;                        /* --events, or NULL */
	const struct vc_platform_ops *simcp_ops;
	struct vc_platform_ops counted_ops;  /* simcp's, contexts logged */
} T = { .next_domid = 1 };

static void die(const char *fmt, ...) VC_PRINTF(1, 2);

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vcoproc-testd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* ---- the simcp platform: simcp's binding (simcp_sysdt.h) ---------------------- */

/* The platform hooks run under the coproc lock; the event file has its own. */
static void log_event(const char *what, struct vc_coproc *c, uint32_t tag)
{
	if (!T.events)
		return;
	fprintf(T.events, "%s %s %u\n", what, vc_coproc_name(c), tag);
	fflush(T.events);
}

static int counted_ctx_alloc(struct vc_coproc *c, uint32_t tag, void **ctx)
{
	int r = T.simcp_ops->ctx_alloc(c, tag, ctx);

	if (!r)
		log_event("alloc", c, tag);
	return r;
}

static void counted_ctx_free(struct vc_coproc *c, void *ctx)
{
	log_event("free", c, simcp_ctx_tag(ctx));
	T.simcp_ops->ctx_free(c, ctx);
}

/* simcp's own device-tree binding, with the context log wrapped around it. */
static int simcp_make(void *opaque, const struct vc_sysconfig_coproc *cp,
		      struct vc_coproc_desc *desc, void **dev, char *err, size_t errlen)
{
	int r = simcp_sysdt_platform.make(opaque, cp, desc, dev, err, errlen);

	if (!r && T.events) {
		T.simcp_ops = desc->ops;
		T.counted_ops = *desc->ops;
		T.counted_ops.ctx_alloc = counted_ctx_alloc;
		T.counted_ops.ctx_free = counted_ctx_free;
		desc->ops = &T.counted_ops;
	}
	return r;
}

/* simcp_sysdt_platform with make() wrapped (filled in by main()). */
static struct sysdt_platform platform;

/* No board limits: the test daemon's domains are threads, not VMs. */
static const struct simcp_sysdt_board board = { .max_nonpreempt = TD_MAX_NP };

/* ---- guests -------------------------------------------------------------------- */

static void irq_raise(void *host_dom, uint32_t irq)
{
	struct td_dom *d = host_dom;

	for (unsigned int i = 0; i < d->nr_w; i++) {
		struct td_worker *w = &d->w[i];

		if (w->irq != irq)
			continue;
		pthread_mutex_lock(&w->lock);
		w->irq_pending = true;
		pthread_cond_signal(&w->cond);
		pthread_mutex_unlock(&w->lock);
	}
}

static const struct vc_host_ops hops = { .irq_raise = irq_raise };

static uint32_t bus_read32(void *opaque, uint32_t off)
{
	struct td_worker *w = opaque;
	uint64_t v = ~0ull;

	(void)vc_domain_mmio(w->dom->vd, w->mmio + off, 4, false, &v);
	return (uint32_t)v;
}

static void bus_write32(void *opaque, uint32_t off, uint32_t val)
{
	struct td_worker *w = opaque;
	uint64_t v = val;

	(void)vc_domain_mmio(w->dom->vd, w->mmio + off, 4, true, &v);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Queue jobs up to TD_DEPTH and ring the doorbell. */
static void submit_jobs(struct td_worker *w)
{
	while (w->nr_out < TD_DEPTH && simcp_drv_space(&w->drv) >= TD_CHUNKS + 1) {
		struct simcp_cmd cmd = { .op = SIMCP_OP_COMPUTE, .a = TD_CHUNK_NS };
		uint64_t fence;

		for (int i = 0; i < TD_CHUNKS; i++)
			if (simcp_drv_submit(&w->drv, &cmd))
				return;
		if (simcp_drv_fence(&w->drv, true, &fence))
			return;
		w->fences[w->nr_out++] = fence;
	}
	simcp_drv_kick(&w->drv);
}

static void complete_jobs(struct td_worker *w, uint64_t done)
{
	unsigned int k = 0;

	while (k < w->nr_out && w->fences[k] <= done)
		k++;
	w->jobs += k;
	memmove(w->fences, w->fences + k, (w->nr_out - k) * sizeof(w->fences[0]));
	w->nr_out -= k;
}

static void *worker_main(void *arg)
{
	struct td_worker *w = arg;
	struct td_dom *d = w->dom;
	struct simcp_drv_bus bus = { bus_read32, bus_write32, w };
	struct simcp_drv_ring ring = {
		.va = d->mem + w->idx * TD_RING_SIZE,
		.pa = TD_MEM_GPA + w->idx * TD_RING_SIZE,
		.size = TD_RING_SIZE,
	};
	uint64_t next_report = mono_ns() + VC_SEC(1);
	int r;

	r = simcp_drv_init(&w->drv, &bus, &ring, (uint64_t)d->domid << 40);
	if (r) {
		ctl_conlog_printf(d->log, "%s: simcp driver on %s: %s\n", d->cfg->name,
				  vc_coproc_name(w->coproc), simcp_drv_strerror(r));
		return NULL;
	}
	ctl_conlog_printf(d->log, "%s: simcp on %s ready, workload %s\n", d->cfg->name,
			  vc_coproc_name(w->coproc), d->compute ? "compute" : "idle");
	while (!atomic_load(&d->stop)) {
		struct simcp_drv_irq_info info;
		struct timespec dl;
		bool pending;

		if (d->compute)
			submit_jobs(w);
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_nsec += 20 * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&w->lock);
		while (!w->irq_pending && !atomic_load(&d->stop))
			if (pthread_cond_timedwait(&w->cond, &w->lock, &dl))
				break;
		pending = w->irq_pending;
		w->irq_pending = false;
		pthread_mutex_unlock(&w->lock);

		if (pending && simcp_drv_irq(&w->drv, &info)) {
			if (info.status & SIMCP_IRQ_ERROR) {
				ctl_conlog_printf(d->log, "%s: device error %u on %s, recovering\n",
						  d->cfg->name, info.fault.code,
						  vc_coproc_name(w->coproc));
				if (simcp_drv_recover(&w->drv, SIMCP_DRV_RESUME) >= 0)
					w->nr_out = 0;
			}
			complete_jobs(w, info.fence);
		} else if (w->nr_out) {
			complete_jobs(w, simcp_drv_fence_done(&w->drv)); /* belt and braces */
		}
		if (mono_ns() >= next_report) {
			next_report += VC_SEC(1);
			ctl_conlog_printf(d->log, "%s: %llu jobs done on %s\n", d->cfg->name,
					  (unsigned long long)w->jobs, vc_coproc_name(w->coproc));
		}
	}
	return NULL;
}

/* Stop and join every worker of @d, destroy its framework domain, free it. */
static void dom_free(struct td_dom *d)
{
	if (!d)
		return;
	atomic_store(&d->stop, true);
	for (unsigned int i = 0; i < d->nr_w; i++) {
		struct td_worker *w = &d->w[i];

		pthread_mutex_lock(&w->lock);
		pthread_cond_signal(&w->cond);
		pthread_mutex_unlock(&w->lock);
		if (w->started)
			pthread_join(w->thread, NULL);
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
	}
	vc_domain_destroy(d->vd); /* NULL ok */
	ctl_conlog_destroy(d->log);
	free(d->mem);
	free(d->cfg);
	free(d);
}

/* The slot of the domain @dom names or numbers (vc_domain_match()), -1 if none. */
static int find_slot(const char *dom)
{
	for (int i = 0; i < TD_MAX_DOMAINS; i++)
		if (T.dom[i] && vc_domain_match(T.dom[i]->vd, dom))
			return i;
	return -1;
}

static int td_create(void *opaque, const char *path, const char *text, size_t len,
		     struct ctl_created *out, struct ctl_error *err)
{
	char msg[DOMCFG_MSG_MAX];
	struct td_dom *d;
	int slot = -1, r;

	for (int i = 0; i < TD_MAX_DOMAINS && slot < 0; i++)
		if (!T.dom[i])
			slot = i;
	if (slot < 0)
		return ctl_error_set(err, CTL_ERR_GENERIC, "the test daemon holds at most %d domains",
				     TD_MAX_DOMAINS);
	d = calloc(1, sizeof(*d));
	if (!d)
		return -VC_ENOMEM;
	d->cfg = calloc(1, sizeof(*d->cfg));
	if (!d->cfg) {
		r = -VC_ENOMEM;
		goto out_free;
	}
	r = domcfg_parse(text, len, path[0] ? path : "<config>", d->cfg, msg, sizeof(msg));
	if (r) {
		ctl_error_set(err, CTL_ERR_GENERIC, "%s", msg);
		goto out_free;
	}
	if (find_slot(d->cfg->name) >= 0) {
		r = -VC_EEXIST;
		domcfg_errorf(d->cfg, d->cfg->pos.name, msg, sizeof(msg),
			      "expected a new domain name, found \"%s\" (it exists)", d->cfg->name);
		ctl_error_set(err, CTL_ERR_GENERIC, "%s", msg);
		goto out_free;
	}
	d->compute = strcmp(d->cfg->kernel, "builtin:idle") != 0;
	d->domid = T.next_domid;
	d->mem = calloc(1, TD_MEM_SIZE);
	r = d->mem ? ctl_conlog_create(TD_CONLOG_SIZE, &d->log) : -VC_ENOMEM;
	if (r)
		goto out_free;
	d->region = (struct vc_iommu_region){
		.gpa = TD_MEM_GPA, .size = TD_MEM_SIZE, .hva = d->mem, .writable = true,
	};
	d->iommu = (struct vc_iommu){ .regions = &d->region, .nr_regions = 1 };

	/* The guests' threads are set up before irq_raise can look for them. */
	for (unsigned int i = 0; i < d->cfg->nr_vcoprocs; i++) {
		struct td_worker *w = &d->w[i];
		const struct vc_coproc_desc *desc;

		w->dom = d;
		w->idx = i;
		w->coproc = vc_coproc_find(T.fw, d->cfg->vcoproc[i].instance);
		if (w->coproc) { /* else domcfg_build() says so */
			desc = vc_coproc_desc(w->coproc);
			w->mmio = desc->mmio[0].base;
			w->irq = desc->nr_irqs ? desc->irqs[0] : 0;
		}
		pthread_mutex_init(&w->lock, NULL);
		pthread_cond_init(&w->cond, NULL);
		d->nr_w = i + 1;
	}
	r = domcfg_build(T.fw, d->cfg, d->domid, &d->iommu, d, &d->vd, NULL, msg, sizeof(msg));
	if (r) {
		ctl_error_set(err, r == -VC_ENOENT ? CTL_ERR_DEVICE_NOT_FOUND : CTL_ERR_GENERIC,
			      "%s", msg);
		d->vd = NULL;
		goto out_free;
	}
	ctl_conlog_printf(d->log, "vcoproc-testd: domain %s (id %u): kernel %s%s, %llu MiB, %u vCPU%s%s%s%s\n",
			  d->cfg->name, d->domid, d->cfg->kernel,
			  d->compute && strncmp(d->cfg->kernel, "builtin:", 8) ?
			  " (not booted here: builtin:compute runs instead)" : "",
			  (unsigned long long)d->cfg->memory_mib, d->cfg->vcpus,
			  d->cfg->vcpus > 1 ? "s" : "", d->cfg->extra[0] ? ", extra \"" : "",
			  d->cfg->extra, d->cfg->extra[0] ? "\"" : "");
	for (unsigned int i = 0; i < d->nr_w; i++) {
		r = -pthread_create(&d->w[i].thread, NULL, worker_main, &d->w[i]);
		if (r) {
			ctl_error_set(err, CTL_ERR_GENERIC, "cannot start a guest thread: %s",
				      strerror(-r));
			goto out_free;
		}
		d->w[i].started = true;
	}
	T.dom[slot] = d;
	T.next_domid++;
	out->domid = d->domid;
	snprintf(out->name, sizeof(out->name), "%s", d->cfg->name);
	out->nr_warnings = VC_MIN(d->cfg->nr_warnings, (unsigned)CTL_MAX_WARNINGS);
	for (unsigned int i = 0; i < out->nr_warnings && i < DOMCFG_MAX_WARNINGS; i++)
		snprintf(out->warnings[i], sizeof(out->warnings[i]), "%s", d->cfg->warnings[i]);
	fprintf(stderr, "vcoproc-testd: created %s (id %u)\n", d->cfg->name, d->domid);
	return 0;

out_free:
	dom_free(d);
	return r;
}

static int td_destroy(void *opaque, const char *dom, struct ctl_error *err)
{
	int slot = find_slot(dom);

	if (slot < 0)
		return ctl_error_set(err, CTL_ERR_DEVICE_NOT_FOUND, "no domain \"%s\"", dom);
	fprintf(stderr, "vcoproc-testd: destroying %s (id %u)\n", T.dom[slot]->cfg->name,
		T.dom[slot]->domid);
	dom_free(T.dom[slot]);
	T.dom[slot] = NULL;
	return 0;
}

static int td_console_read(void *opaque, const char *dom, uint64_t offset, size_t max,
			   struct ctl_console_chunk *out, struct ctl_error *err)
{
	int slot = find_slot(dom);

	if (slot < 0)
		return ctl_error_set(err, CTL_ERR_DEVICE_NOT_FOUND, "no domain \"%s\"", dom);
	out->len = ctl_conlog_read(T.dom[slot]->log, offset, out->data, max, &out->start,
				   &out->next);
	out->closed = false;
	return 0;
}

static unsigned int td_domain_list(void *opaque, struct ctl_domain_info *out, unsigned int max)
{
	unsigned int n = 0;

	for (int i = 0; i < TD_MAX_DOMAINS; i++) {
		struct td_dom *d = T.dom[i];

		if (!d)
			continue;
		if (n < max) {
			out[n].domid = d->domid;
			snprintf(out[n].name, sizeof(out[n].name), "%s", d->cfg->name);
			snprintf(out[n].state, sizeof(out[n].state), "running");
			out[n].memory_mib = d->cfg->memory_mib;
			out[n].vcpus = d->cfg->vcpus;
			snprintf(out[n].kernel, sizeof(out[n].kernel), "%.255s", d->cfg->kernel);
		}
		n++;
	}
	return n;
}

static const struct ctl_host_ops td_host_ops = {
	.create = td_create,
	.destroy = td_destroy,
	.console_read = td_console_read,
	.domain_list = td_domain_list,
};

/* ---- main ------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "usage: vcoproc-testd --dtb FILE --socket PATH [--events FILE]\n"
		   "\n"
		   "A vcoproc control daemon with in-process domains (no KVM), for tests.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dtb", required_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' },
		{ "events", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct vc_sysconfig sys;
	const char *dtb = NULL, *sock = NULL;
	char err[512];
	sigset_t sigs;
	int o, sfd, r;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
			dtb = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'e':
			T.events = fopen(optarg, "a");
			if (!T.events)
				die("%s: %s", optarg, strerror(errno));
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!dtb || !sock || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!getenv("VCOPROC_LOG"))
		vc_posix_set_log_level(VC_LOG_WARN);

	/* Signals arrive through a signalfd, on the main thread only. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0)
		die("signalfd: %s", strerror(errno));

	if (sysdt_load(dtb, &sys, err, sizeof(err)))
		die("%s", err);
	r = vc_fw_create(&hops, &T.fw);
	if (r)
		die("framework: %s", vc_strerror(r));
	platform = simcp_sysdt_platform;
	platform.make = simcp_make;
	if (sysdt_register(T.fw, &sys, &platform, 1, (void *)&board, &T.sf, err, sizeof(err)))
		die("%s: %s", dtb, err);
	ctl_fw_init(&T.be, T.fw, &td_host_ops, NULL);
	if (ctl_server_create(sock, &ctl_fw_ops, &T.be, &T.srv, err, sizeof(err)))
		die("%s", err);
	printf("ready\n");
	fflush(stdout);

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = ctl_server_fd(T.srv), .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (pfd[1].revents)
			break;
		if (pfd[0].revents)
			(void)ctl_server_dispatch(T.srv, 0);
	}

	ctl_server_destroy(T.srv);
	for (int i = 0; i < TD_MAX_DOMAINS; i++)
		dom_free(T.dom[i]);
	sysdt_unregister(T.sf);
	vc_fw_destroy(T.fw);
	close(sfd);
	if (T.events)
		fclose(T.events);
	fprintf(stderr, "vcoproc-testd: stopped\n");
	return 0;
}
