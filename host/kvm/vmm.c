// SPDX-License-Identifier: MIT
/*
 * DOC: the host - building it, the busy window, expected shares
 *
 * vmm__create() opens /dev/kvm and builds the framework instance and the
 * coprocessor simcp0 (simcp in THREAD mode, registered under the chosen
 * algorithm); vmm__add_domain() adds domains; vmm__start() starts their
 * vCPUs.  vcoprocd (main.c) and bench-kvm (bench/) both build their hosts
 * with these.
 *
 * The busy window (vmm.h) is kept here: vCPU threads only record the time
 * of a guest's mark and signal notify_fd; the main thread, woken, calls
 * vmm__window_update(), which takes the framework's statistics of every
 * domain when the window opens and when it closes.  A share measured over
 * the window is run_ns(window) / sum of every domain's run_ns(window).
 *
 * Expected shares are what the algorithm promises among vcoprocs that
 * always have work, from the parameters the scheduler reports
 * (vc_vcoproc_params(), vc_coproc_params()):
 *
 *   credit    weight / sum of weights (none when a cap is set)
 *   rr        1 / n
 *   rtds      (budget / period) / sum of the same
 *   arinc653  the domain's windows / all non-idle windows of the frame
 *             ("auto": 1 / n)
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vcoproc/posix.h>

#include "simcp.h"
#include "vmm.h"

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

int vmm__parse_dur(const char *s, uint64_t *out)
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

/* ---- building and tearing down ------------------------------------------------ */

static const struct vc_host_ops vmm_hops = {
	.irq_raise = dom__irq_raise,
};

/*
 * Real-time priority for the coprocessor's threads - simcp's device thread
 * and os/posix.c's timer thread - is opt-in (vmm_cfg.realtime, vcoprocd
 * --realtime).  It is not needed for the device's throughput: simcp keeps
 * its modeled timeline across context switches, so a device thread that
 * waits for a CPU (vCPU threads can keep every CPU busy; on a software KVM
 * they emulate the guests' instructions) loses no device time, within a
 * context or at a switch.  What priority still buys is promptness in real
 * time: completions and interrupts when their modeled time is up, slices
 * ended when the timer says.  Where the process may (root or
 * CAP_SYS_NICE), the threads are then created with SCHED_FIFO priority 1:
 * the creating thread takes that policy for the time it creates them, and
 * threads inherit it.  They sleep between commands; the kernel's RT
 * throttling bounds them if they did not.  Returns whether the policy was
 * taken (vmm_rt_leave() undoes it).
 */
static bool vmm_rt_enter(int *policy, struct sched_param *param)
{
	struct sched_param rt = { .sched_priority = 1 };

	if (pthread_getschedparam(pthread_self(), policy, param))
		return false;
	return !pthread_setschedparam(pthread_self(), SCHED_FIFO, &rt);
}

static void vmm_rt_leave(bool entered, int policy, const struct sched_param *param)
{
	if (entered)
		(void)pthread_setschedparam(pthread_self(), policy, param);
}

static int vmm_coproc_create(struct vmm *vmm, const struct vmm_cfg *cfg)
{
	struct simcp_config scfg = { .mode = SIMCP_MODE_THREAD, .max_nonpreempt = cfg->max_np_ns };
	struct vc_coproc_desc desc;
	struct sched_param param = { .sched_priority = 0 };
	int r, policy = SCHED_OTHER;
	bool rt = false;

	if (cfg->realtime) {
		rt = vmm_rt_enter(&policy, &param);
		if (!rt)
			vmm__log("--realtime: SCHED_FIFO is not permitted here (root or "
				 "CAP_SYS_NICE); the coprocessor's threads run at normal priority");
	}
	vmm->rt_device = rt;
	r = simcp_create(&scfg, &vmm->dev);
	if (r) {
		vmm_rt_leave(rt, policy, &param);
		vmm__log("simcp: %s", vc_strerror(r));
		return r;
	}
	simcp_coproc_desc(vmm->dev, "simcp0", VMM_COPROC_BASE, VMM_COPROC_GSI, &desc);
	desc.sched = cfg->algo;
	r = vc_coproc_register(vmm->fw, &desc, &vmm->coproc);
	vmm_rt_leave(rt, policy, &param);
	if (r) {
		vmm__log("simcp0: %s%s", r == -VC_ENOENT ? "unknown algorithm " : "",
			 r == -VC_ENOENT ? cfg->algo : vc_strerror(r));
		return r;
	}
	simcp_attach(vmm->dev, vmm->coproc);
	vmm->doorbell_off = SIMCP_REG_RING_TAIL;
	for (unsigned int i = 0; i < cfg->nr_params; i++) {
		r = vc_coproc_param_set(vmm->coproc, cfg->params[i].key, cfg->params[i].val);
		if (r) {
			vmm__log("%s: parameter %s=%s: %s", vc_coproc_sched_name(vmm->coproc),
				 cfg->params[i].key, cfg->params[i].val,
				 r == -VC_ENOENT ? "unknown" : vc_strerror(r));
			return r;
		}
	}
	return 0;
}

void vmm__destroy(struct vmm *vmm)
{
	for (unsigned int i = 0; i < vmm->nr_doms; i++) {
		dom__free(vmm->doms[i]);
		vmm->doms[i] = NULL;
	}
	vmm->nr_doms = 0;
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

int vmm__create(struct vmm *vmm, const struct vmm_cfg *cfg)
{
	char err[VMM_ERR_MAX];
	int r;

	memset(vmm, 0, sizeof(*vmm));
	vmm->kvm.fd = -1;
	vmm->notify_fd = -1;
	vmm->log_dir = cfg->log_dir;
	vmm->echo = cfg->echo;
	vmm->run_ns = cfg->run_ns;
	vmm->unhandled_log = 8;
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
	vmm->doorbell_off = SIMCP_REG_RING_TAIL;
	vmm->no_coproc = cfg->no_coproc;
	r = cfg->no_coproc ? 0 : vmm_coproc_create(vmm, cfg);
	if (r)
		goto out_destroy;
	if (cfg->log_dir && mkdir(cfg->log_dir, 0777) && errno != EEXIST) {
		r = -errno;
		vmm__log("%s: %s", cfg->log_dir, strerror(errno));
		goto out_destroy;
	}
	return 0;

out_destroy:
	vmm__destroy(vmm);
	return r;
}

int vmm__add_domain(struct vmm *vmm, const struct dom_cfg *cfg)
{
	char err[VMM_ERR_MAX];
	int r;

	if (vmm->nr_doms == VMM_MAX_DOMAINS) {
		vmm__log("%s: at most %d domains", cfg->name, VMM_MAX_DOMAINS);
		return -E2BIG;
	}
	r = dom__create(vmm, cfg, vmm->nr_doms + 1, &vmm->doms[vmm->nr_doms], err, sizeof(err));
	if (r) {
		vmm__log("%s", err);
		return r;
	}
	vmm->nr_doms++;
	return 0;
}

int vmm__probe(char *err, size_t errlen)
{
	struct kvm_sys sys;
	struct kvm_vm vm;
	int r;

	r = kvm_sys__open(&sys, err, errlen);
	if (r)
		return r;
	r = kvm_vm__create(&sys, &vm, err, errlen);
	if (!r)
		kvm_vm__close(&vm);
	kvm_sys__close(&sys);
	return r;
}

/* ---- expected shares ------------------------------------------------------------ */

/* The value of parameter @key in @p[0..@n) as a number, or -1. */
static double param_num(const struct vc_param *p, unsigned int n, const char *key, bool dur)
{
	uint64_t ns;

	for (unsigned int i = 0; i < n; i++) {
		if (strcmp(p[i].key, key))
			continue;
		if (dur)
			return vmm__parse_dur(p[i].val, &ns) ? -1 : (double)ns;
		return atof(p[i].val);
	}
	return -1;
}

/* A vcoproc's weight under @algo (credit: weight; rtds: budget/period); < 0: none. */
static double vmm_weight(const char *algo, struct vc_vcoproc *v)
{
	struct vc_param p[VC_VCOPROC_MAX_PARAMS];
	unsigned int n = vc_vcoproc_params(v, p, VC_VCOPROC_MAX_PARAMS);
	double a, b;

	n = n < VC_VCOPROC_MAX_PARAMS ? n : VC_VCOPROC_MAX_PARAMS;
	if (!strcmp(algo, "rr"))
		return 1;
	if (!strcmp(algo, "credit")) {
		if (param_num(p, n, "cap", false) > 0)
			return -1;
		return param_num(p, n, "weight", false);
	}
	if (!strcmp(algo, "rtds")) {
		a = param_num(p, n, "budget", true);
		b = param_num(p, n, "period", true);
		return a > 0 && b > 0 ? a / b : -1;
	}
	return -1;
}

/* arinc653: each domain's windows in the frame; false if the frame is unknown. */
static bool vmm_frame_weights(struct vmm *vmm, double *w)
{
	struct vc_param p[8];
	unsigned int n = vc_coproc_params(vmm->coproc, p, 8);
	const char *frame = NULL;
	char *copy, *item, *save = NULL;
	bool ok = true;

	for (unsigned int i = 0; i < n && i < 8; i++)
		if (!strcmp(p[i].key, "frame"))
			frame = p[i].val;
	if (!frame || strstr(frame, "..."))
		return false;
	for (unsigned int i = 0; i < vmm->nr_doms; i++)
		w[i] = vmm->doms[i]->vv ? (strcmp(frame, "auto") ? 0 : 1) : -1;
	if (!strcmp(frame, "auto"))
		return true;
	copy = strdup(frame);
	if (!copy)
		return false;
	for (item = strtok_r(copy, ",", &save); item && ok; item = strtok_r(NULL, ",", &save)) {
		char *colon = strrchr(item, ':');
		uint64_t ns;
		int who = -1;

		if (!colon || vmm__parse_dur(colon + 1, &ns)) {
			ok = false;
			break;
		}
		*colon = '\0';
		while (*item == ' ')
			item++;
		for (unsigned int i = 0; i < vmm->nr_doms && who < 0; i++)
			if (!strcmp(vmm->doms[i]->cfg.name, item))
				who = (int)i;
		for (unsigned int i = 0; i < vmm->nr_doms && who < 0; i++)
			if (strtoul(item, NULL, 10) == vmm->doms[i]->domid && *item >= '0' &&
			    *item <= '9')
				who = (int)i;
		if (who >= 0 && vmm->doms[who]->vv)
			w[who] += (double)ns;
	}
	free(copy);
	return ok;
}

/* d->expected of every domain (< 0 where the algorithm promises no share). */
static void vmm_expected_shares(struct vmm *vmm)
{
	const char *algo = vc_coproc_sched_name(vmm->coproc);
	double w[VMM_MAX_DOMAINS], sum = 0;
	bool known = true;

	if (!strcmp(algo, "arinc653")) {
		known = vmm_frame_weights(vmm, w);
	} else {
		for (unsigned int i = 0; i < vmm->nr_doms; i++) {
			struct dom *d = vmm->doms[i];

			w[i] = d->vv ? vmm_weight(algo, d->vv) : -1;
			if (d->vv && w[i] < 0)
				known = false;
		}
	}
	for (unsigned int i = 0; known && i < vmm->nr_doms; i++)
		if (w[i] > 0)
			sum += w[i];
	for (unsigned int i = 0; i < vmm->nr_doms; i++)
		vmm->doms[i]->expected = known && sum > 0 && w[i] >= 0 ? w[i] / sum : -1;
}

/* ---- running ---------------------------------------------------------------------- */

int vmm__start(struct vmm *vmm)
{
	int r;

	vmm_expected_shares(vmm);
	vmm->win = (struct vmm_window){ .state = VMM_WIN_WAITING };
	vmm->t0 = vmm__now();
	for (unsigned int i = 0; i < vmm->nr_doms; i++) {
		r = dom__start(vmm->doms[i]);
		if (r) {
			vmm__log("%s: vCPU thread: %s", vmm->doms[i]->cfg.name, strerror(-r));
			for (unsigned int j = 0; j < i; j++)
				dom__stop(vmm->doms[j]);
			return r;
		}
	}
	return 0;
}

static void vmm_window_snap(struct vmm *vmm, bool open, uint64_t now, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void vmm_window_snap(struct vmm *vmm, bool open, uint64_t now, const char *fmt, ...)
{
	va_list ap;

	for (unsigned int i = 0; i < vmm->nr_doms; i++) {
		struct dom *d = vmm->doms[i];

		if (!d->vv)
			continue;
		vc_vcoproc_stats(d->vv, open ? &d->win0 : &d->win1);
	}
	if (open) {
		vmm->win.state = VMM_WIN_OPEN;
		vmm->win.t0 = now;
	} else {
		vmm->win.state = VMM_WIN_CLOSED;
		vmm->win.t1 = now;
	}
	va_start(ap, fmt);
	vsnprintf(vmm->win.why, sizeof(vmm->win.why), fmt, ap);
	va_end(ap);
}

void vmm__window_update(struct vmm *vmm, uint64_t now)
{
	unsigned int busy = 0, members = 0;

	if (vmm->win.state == VMM_WIN_CLOSED || vmm->win.state == VMM_WIN_NONE)
		return;
	for (unsigned int i = 0; i < vmm->nr_doms; i++) {
		struct dom *d = vmm->doms[i];

		if (!d->cfg.vcoproc)
			continue;
		members++;
		if (d->reaped || !d->vv || atomic_load(&d->finished)) {
			if (vmm->win.state == VMM_WIN_OPEN) {
				vmm_window_snap(vmm, false, now, "%s ended", d->cfg.name);
			} else {
				vmm->win.state = VMM_WIN_NONE;
				snprintf(vmm->win.why, sizeof(vmm->win.why),
					 "%s ended before every domain was busy", d->cfg.name);
			}
			return;
		}
		if (vmm->win.state == VMM_WIN_OPEN && atomic_load(&d->mark_ns[BOARD_MARK_DONE])) {
			vmm_window_snap(vmm, false, now, "%s stopped submitting", d->cfg.name);
			return;
		}
		busy += atomic_load(&d->mark_ns[BOARD_MARK_BUSY]) != 0;
	}
	if (vmm->win.state == VMM_WIN_WAITING && members && busy == members)
		vmm_window_snap(vmm, true, now, "every domain busy");
}

uint64_t vmm__window_ns(const struct vmm *vmm, uint64_t now)
{
	switch (vmm->win.state) {
	case VMM_WIN_OPEN: return now - vmm->win.t0;
	case VMM_WIN_CLOSED: return vmm->win.t1 - vmm->win.t0;
	default: return 0;
	}
}

void vmm__window_delta(struct vmm *vmm, struct dom *d, struct vc_vcoproc_stats *out)
{
	struct vc_vcoproc_stats end;
	const struct vc_vcoproc_stats *a = &d->win0;

	memset(out, 0, sizeof(*out));
	if (vmm->win.state == VMM_WIN_OPEN && d->vv)
		vc_vcoproc_stats(d->vv, &end);
	else if (vmm->win.state == VMM_WIN_CLOSED)
		end = d->win1;
	else
		return;
	*out = end;
#define DELTA(f) out->f = end.f - a->f
	DELTA(run_ns); DELTA(switches_in); DELTA(switches_out); DELTA(refusals);
	DELTA(refusal_wait_ns); DELTA(mmio_emulated); DELTA(mmio_forwarded); DELTA(irqs);
	DELTA(jobs); DELTA(resets); DELTA(wakeups); DELTA(deadline_misses); DELTA(jitter_ns);
#undef DELTA
}

void vmm__reap(struct vmm *vmm, struct dom *d, const char *why)
{
	if (d->reaped)
		return;
	vmm__window_update(vmm, vmm__now());
	if (vmm->win.state == VMM_WIN_OPEN && d->vv) {
		vmm_window_snap(vmm, false, vmm__now(), "%s %s", d->cfg.name, why);
	} else if (vmm->win.state == VMM_WIN_WAITING && d->vv) {
		vmm->win.state = VMM_WIN_NONE;
		snprintf(vmm->win.why, sizeof(vmm->win.why), "%s %s before every domain was busy",
			 d->cfg.name, why);
	}
	dom__teardown(d);
	if (d->state == DOM_FAILED)
		vmm__log("%s: %s", d->cfg.name, d->fail);
}
