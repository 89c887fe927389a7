// SPDX-License-Identifier: MIT
/*
 * DOC: the host - coprocessors, KVM on demand, the registry (host.h)
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vcoproc/errno.h>
#include <vcoproc/posix.h>
#include <vcoproc/util.h>

#include "host.h"
#include "simcp.h"
#include "simcp_sysdt.h"
#include "sysdt.h"
#if VCOPROCD_KVM
#include "kvm.h"
#endif
#ifdef VCOPROCD_OPENCL
#include "oclcp_sysdt.h"
#endif

void host_log(const char *fmt, ...)
{
	char line[640];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vcoprocd: %s\n", line);
}

int host_errf(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code < 0 ? code : -code;
}

void host_notify(struct host *h)
{
	uint64_t one = 1;

	if (write(h->notify_fd, &one, sizeof(one)) != sizeof(one))
		host_log("notify: %s", strerror(errno));
}

/* vc_host_ops.irq_raise: @host_dom is the struct dom of the vcoproc's domain. */
static void host_irq_raise(void *host_dom, uint32_t irq)
{
	struct dom *d = host_dom;

	if (d)
		d->kind->irq_raise(d, irq);
}

static const struct vc_host_ops host_hops = {
	.irq_raise = host_irq_raise,
};

/* ---- KVM, on demand --------------------------------------------------------------- */

struct kvm_sys *host_kvm(struct host *h, char *err, size_t errlen)
{
#if VCOPROCD_KVM
	struct kvm_sys *k;

	if (h->kvm)
		return h->kvm;
	if (!h->kvm_err) {
		k = calloc(1, sizeof(*k));
		if (!k) {
			h->kvm_err = -ENOMEM;
			snprintf(h->kvm_why, sizeof(h->kvm_why), "out of memory");
		} else if ((h->kvm_err = kvm_sys__open(k, h->kvm_why, sizeof(h->kvm_why)))) {
			free(k);
		} else {
			h->kvm = k;
			return k;
		}
	}
#else
	h->kvm_err = -ENOSYS;
	snprintf(h->kvm_why, sizeof(h->kvm_why), "this vcoprocd was built without KVM support");
#endif
	snprintf(err, errlen, "%s", h->kvm_why);
	return NULL;
}

/* ---- coprocessors ------------------------------------------------------------------ */

/*
 * --context-log: every context a platform makes or frees for the
 * framework, one line each - "alloc COPROC ID" / "free COPROC ID", ID the
 * context's address - so that a test (or a person) can see a refused
 * domain file undo what it made, in order.  The platforms' hooks are
 * wrapped; they run under their coproc's lock, and each line is one stdio
 * call (stdio locks the stream).
 */
static struct {
	FILE *f;
	const struct vc_platform_ops *orig;   /* every coprocessor's: simcp's */
	struct vc_platform_ops ops;
} ctxlog;

static int ctxlog_alloc(struct vc_coproc *c, uint32_t tag, void **ctx)
{
	int r = ctxlog.orig->ctx_alloc(c, tag, ctx);

	if (!r) {
		fprintf(ctxlog.f, "alloc %s %p\n", vc_coproc_name(c), *ctx);
		fflush(ctxlog.f);
	}
	return r;
}

static void ctxlog_free(struct vc_coproc *c, void *ctx)
{
	fprintf(ctxlog.f, "free %s %p\n", vc_coproc_name(c), ctx);
	fflush(ctxlog.f);
	ctxlog.orig->ctx_free(c, ctx);
}

/* Make @desc's contexts logged, when the host keeps the log. */
static void ctxlog_wrap(struct host *h, struct vc_coproc_desc *desc)
{
	if (!h->context_log)
		return;
	ctxlog.f = h->context_log;
	ctxlog.orig = desc->ops;
	ctxlog.ops = *desc->ops;
	ctxlog.ops.ctx_alloc = ctxlog_alloc;
	ctxlog.ops.ctx_free = ctxlog_free;
	desc->ops = &ctxlog.ops;
}

/* What dt_make() gets: the host, and the board's limits for simcp's binding. */
struct dt_arg {
	struct host *h;
	struct simcp_sysdt_board board;
};

/* simcp's binding, with the context log wrapped around what it makes. */
static int dt_make(void *opaque, const struct vc_sysconfig_coproc *cp,
		   struct vc_coproc_desc *desc, void **dev, char *err, size_t errlen)
{
	struct dt_arg *a = opaque;
	int r = simcp_sysdt_platform.make(&a->board, cp, desc, dev, err, errlen);

	if (!r)
		ctxlog_wrap(a->h, desc);
	return r;
}

#ifdef VCOPROCD_OPENCL
/*
 * The OpenCL platform's binding ("vcoproc,opencl"): the same board limits
 * as simcp's.  Its contexts are not in --context-log, which wraps one
 * platform's hooks (simcp's).
 */
static int dt_make_opencl(void *opaque, const struct vc_sysconfig_coproc *cp,
			  struct vc_coproc_desc *desc, void **dev, char *err, size_t errlen)
{
	struct dt_arg *a = opaque;

	return oclcp_sysdt_platform.make(&a->board, cp, desc, dev, err, errlen);
}
#endif

/*
 * Real-time priority for the coprocessor's threads - simcp's device thread
 * and os/posix.c's timer thread - is opt-in (host_cfg.realtime).  It is
 * not needed for the device's throughput: simcp keeps its modeled timeline
 * across context switches, so a device thread that waits for a CPU loses
 * no device time.  What priority still buys is promptness in real time:
 * completions and interrupts when their modeled time is up, slices ended
 * when the timer says.  Where the process may (root or CAP_SYS_NICE), the
 * threads are created with SCHED_FIFO priority 1: the creating thread
 * takes that policy while it creates them, and threads inherit it.
 */
static bool rt_enter(int *policy, struct sched_param *param)
{
	struct sched_param rt = { .sched_priority = 1 };

	if (pthread_getschedparam(pthread_self(), policy, param))
		return false;
	return !pthread_setschedparam(pthread_self(), SCHED_FIFO, &rt);
}

static void rt_leave(bool entered, int policy, const struct sched_param *param)
{
	if (entered)
		(void)pthread_setschedparam(pthread_self(), policy, param);
}

/* simcp0 at HOST_COPROC_BASE under cfg->algo with cfg->params (--domain runs). */
static int coproc0_create(struct host *h)
{
	struct simcp_config scfg = { .mode = SIMCP_MODE_THREAD,
				     .max_nonpreempt = h->cfg.max_np_ns };
	struct vc_coproc_desc desc;
	int r;

	r = simcp_create(&scfg, &h->dev);
	if (r) {
		host_log("simcp: %s", vc_strerror(r));
		return r;
	}
	simcp_coproc_desc(h->dev, "simcp0", HOST_COPROC_BASE, HOST_COPROC_GSI, &desc);
	desc.sched = h->cfg.algo;
	ctxlog_wrap(h, &desc);
	r = vc_coproc_register(h->fw, &desc, &h->coproc0);
	if (r) {
		host_log("simcp0: %s%s", r == -VC_ENOENT ? "unknown algorithm " : "",
			 r == -VC_ENOENT ? h->cfg.algo : vc_strerror(r));
		return r;
	}
	simcp_attach(h->dev, h->coproc0);
	h->coproc = h->coproc0;
	for (unsigned int i = 0; i < h->cfg.nr_params; i++) {
		const struct vc_param *p = &h->cfg.params[i];

		r = vc_coproc_param_set(h->coproc0, p->key, p->val);
		if (r) {
			host_log("%s: parameter %s=%s: %s", vc_coproc_sched_name(h->coproc0), p->key,
				 p->val, r == -VC_ENOENT ? "unknown" : vc_strerror(r));
			return r;
		}
	}
	return 0;
}

static void coproc0_destroy(struct host *h)
{
	if (h->coproc0) {
		(void)vc_coproc_unregister(h->coproc0);
		simcp_attach(h->dev, NULL);
		h->coproc0 = NULL;
	}
	simcp_destroy(h->dev);
	h->dev = NULL;
}

/* The coprocessors of the system device tree, each checked against the board. */
static int dtb_register(struct host *h)
{
	struct dt_arg arg = { h, {
		.win_lo = HOST_COPROC_BASE, .win_hi = BOARD_IOAPIC_GPA,
		.irq_lo = HOST_COPROC_GSI, .irq_hi = HOST_GSI_MAX, .irq_what = "IOAPIC inputs",
		.max_nonpreempt = h->cfg.max_np_ns,
	} };
	struct sysdt_platform plats[2] = { simcp_sysdt_platform };
	unsigned int nr_plats = 1;
	struct vc_sysconfig *sys = calloc(1, sizeof(*sys));
	char err[SYSDT_ERR_MAX + 64];
	int r;

	if (!sys)
		return -ENOMEM;
	r = sysdt_load(h->cfg.dtb, sys, err, sizeof(err));
	if (r) {
		host_log("%s", err);
		goto out_sys;
	}
	plats[0].make = dt_make;
#ifdef VCOPROCD_OPENCL
	plats[nr_plats] = oclcp_sysdt_platform;
	plats[nr_plats++].make = dt_make_opencl;
#endif
	r = sysdt_register(h->fw, sys, plats, nr_plats, &arg, &h->sf, err, sizeof(err));
	if (r) {
		host_log("%s: %s", h->cfg.dtb, err);
		goto out_sys;
	}
	h->coproc = sysdt_coproc(h->sf, 0);
	if (!h->coproc) {
		host_log("%s: no shared coprocessor (docs/dt-binding.md)", h->cfg.dtb);
		r = -VC_ENOENT;
		goto out_sys;
	}
	for (unsigned int i = 0; i < sys->nr_coprocs; i++) {
		struct vc_coproc *c = sysdt_coproc(h->sf, i);
		const struct vc_coproc_desc *d = vc_coproc_desc(c);

		host_log("%s: %s at 0x%llx, IOAPIC input %u, %s", vc_coproc_name(c), d->compatible,
			 (unsigned long long)d->mmio[0].base, d->irqs[0], vc_coproc_sched_name(c));
	}
out_sys:
	free(sys);
	return r;
}

/* ---- the host ----------------------------------------------------------------------- */

void host_destroy(struct host *h)
{
	while (h->nr_doms)
		host_remove(h, h->doms[h->nr_doms - 1]);
	sysdt_unregister(h->sf);
	h->sf = NULL;
	coproc0_destroy(h);
	h->coproc = NULL;
	vc_fw_destroy(h->fw);
	h->fw = NULL;
#if VCOPROCD_KVM
	if (h->kvm) {
		kvm_sys__close(h->kvm);
		free(h->kvm);
	}
#endif
	h->kvm = NULL;
	if (h->notify_fd >= 0)
		close(h->notify_fd);
	h->notify_fd = -1;
	if (h->context_log)
		fclose(h->context_log);
	h->context_log = NULL;
	hloop_destroy(h->loop);
	h->loop = NULL;
}

int host_create(struct host *h, const struct host_cfg *cfg)
{
	struct sched_param param = { .sched_priority = 0 };
	int r, policy = SCHED_OTHER;
	bool rt = false;

	memset(h, 0, sizeof(*h));
	h->cfg = *cfg;
	h->notify_fd = -1;
	h->next_domid = 1;
	h->unhandled_log = 8;
	h->win = (struct host_window){ .state = HOST_WIN_NONE, .why = "no domains yet" };
	r = hloop_create(&h->loop);
	if (r) {
		host_log("event loop: %s", strerror(-r));
		return r;
	}
	h->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->notify_fd < 0) {
		r = -errno;
		host_log("eventfd: %s", strerror(errno));
		goto out_destroy;
	}
	if (cfg->context_log && !(h->context_log = fopen(cfg->context_log, "ae"))) {
		r = -errno;
		host_log("%s: %s", cfg->context_log, strerror(errno));
		goto out_destroy;
	}
	if (cfg->log_dir && mkdir(cfg->log_dir, 0777) && errno != EEXIST) {
		r = -errno;
		host_log("%s: %s", cfg->log_dir, strerror(errno));
		goto out_destroy;
	}
	r = vc_fw_create(&host_hops, &h->fw);
	if (r) {
		host_log("framework: %s", vc_strerror(r));
		goto out_destroy;
	}
	if (cfg->realtime) {
		rt = rt_enter(&policy, &param);
		if (!rt)
			host_log("--realtime: SCHED_FIFO is not permitted here (root or "
				 "CAP_SYS_NICE); the coprocessor's threads run at normal priority");
	}
	h->rt_device = rt;
	r = cfg->dtb ? dtb_register(h) : coproc0_create(h);
	rt_leave(rt, policy, &param);
	if (r)
		goto out_destroy;
	h->t0 = hloop_now();
	return 0;

out_destroy:
	host_destroy(h);
	return r;
}

/* ---- the registry ------------------------------------------------------------------- */

/*
 * The project's one rule (vc_domain_match()): all decimal digits is an id,
 * anything else a name.  Ended domains have no framework domain any more,
 * so the rule is applied to the record.
 */
struct dom *host_find(struct host *h, const char *s)
{
	uint64_t id;
	bool is_id = *s && !vc_parse_u64(s, &id);

	for (const char *p = s; is_id && *p; p++)
		is_id = *p >= '0' && *p <= '9';
	for (unsigned int i = 0; i < h->nr_doms; i++) {
		struct dom *d = h->doms[i];

		if (is_id ? d->domid == id : !strcmp(d->cfg.name, s))
			return d;
	}
	return NULL;
}

int host_add(struct host *h, const struct domcfg *cfg, const struct dom_opts *o,
	     struct dom **out, char *err, size_t errlen)
{
	struct dom *d;
	int r;

	if (h->nr_doms == HOST_MAX_DOMAINS) {
		domcfg_errorf(cfg, cfg->pos.name, err, errlen, "this host holds at most %d domains",
			      HOST_MAX_DOMAINS);
		return -ENOSPC;
	}
	if (host_find(h, cfg->name))
		return domcfg_errorf(cfg, cfg->pos.name, err, errlen,
				     "expected a new domain name, found \"%s\" (it exists)", cfg->name);
	r = dom_create(h, cfg, o, h->next_domid, &d, err, errlen);
	if (r)
		return r;
	h->next_domid++;
	h->doms[h->nr_doms++] = d;
	if (out)
		*out = d;
	return 0;
}

void host_reap(struct host *h, struct dom *d, const char *why)
{
	uint64_t now = hloop_now();

	if (d->reaped)
		return;
	host_window_update(h, now);
	if (d->nr_vv)
		host_window_end(h, now, d->cfg.name, why);
	dom_teardown(d);
	if (d->state == DOM_FAILED)
		host_log("%s: %s", d->cfg.name, d->fail);
}

void host_remove(struct host *h, struct dom *d)
{
	unsigned int i;

	for (i = 0; i < h->nr_doms && h->doms[i] != d; i++)
		;
	if (i == h->nr_doms)
		return;
	host_reap(h, d, "destroyed");
	memmove(&h->doms[i], &h->doms[i + 1], (h->nr_doms - i - 1) * sizeof(h->doms[0]));
	h->nr_doms--;
	dom_free(d);
}

unsigned int host_reap_ended(struct host *h)
{
	unsigned int live = 0;

	host_window_update(h, hloop_now());
	for (unsigned int i = 0; i < h->nr_doms; i++) {
		struct dom *d = h->doms[i];

		if (d->reaped)
			continue;
		if (atomic_load(&d->finished)) {
			host_reap(h, d, "ended");
			continue;
		}
		live++;
	}
	return live;
}
