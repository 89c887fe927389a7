// SPDX-License-Identifier: MIT
/*
 * DOC: vcoprocd - system device tree and control socket
 *
 *   vcoprocd --dtb build/examples/system.dtb --socket /tmp/vcoprocd.sock
 *   vcoproc -S /tmp/vcoprocd.sock create examples/dom1.cfg
 *
 * The coprocessors come from the device tree (sysdt_load(),
 * sysdt_register() with the simcp platform in THREAD mode): their windows
 * and IOAPIC inputs are the tree's, and must be ones the board has - a
 * window inside the coprocessor area below the IOAPIC (guest/board.h) and
 * an IOAPIC input from 16 to 23 (0 to 15 are the legacy ones).
 *
 * The control server (ctl_fw_ops) runs on the main thread, which owns the
 * topology: create builds a VM from the domain file (domcfg_parse(); the
 * kernel path is resolved against the file's directory; memory, vcpus and
 * extra - the guest's command line - as in docs/vcoproc.1.md), its
 * vcoprocs all or nothing (domcfg_build()), then starts its vCPUs; on any
 * error everything is undone and the message (FILE:LINE:COL where the file
 * is at fault) goes back to the client.  A guest drives one vcoproc (its
 * boot page lists one device), so a file with more is refused.  Consoles
 * are kept in a ring per domain (ctl_conlog) for console-read.  A domain
 * whose guest ends stays listed (state "exited", "failed") until
 * destroyed.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <vcoproc/errno.h>

#include "ctl_fw.h"
#include "daemon.h"
#include "domcfg.h"
#include "simcp.h"
#include "sysdt.h"

#define VCD_CONLOG_SIZE  (64u * 1024u)
#define VCD_GSI_MIN      16
#define VCD_GSI_MAX      23

struct vcd_dom {
	struct dom *d;
	struct domcfg *cfg;
	struct ctl_conlog *log;
};

static struct {
	struct vmm *vmm;
	uint64_t max_np_ns;
	struct vcd_dom dom[VMM_MAX_DOMAINS];
	unsigned int nr;
	uint32_t next_domid;
} V = { .next_domid = 1 };

/* ---- the simcp platform --------------------------------------------------------- */

static int simcp_make(void *opaque, const struct vc_sysconfig_coproc *cp,
		      struct vc_coproc_desc *desc, void **dev, char *err, size_t errlen)
{
	struct simcp_config sc = { .mode = SIMCP_MODE_THREAD, .max_nonpreempt = V.max_np_ns };
	uint64_t base = cp->mmio[0].base;
	struct simcp *s;
	int r;

	if (cp->mmio[0].size < SIMCP_MMIO_SIZE) {
		snprintf(err, errlen, "property \"reg\": expected a window of at least 0x%x bytes",
			 SIMCP_MMIO_SIZE);
		return -VC_EINVAL;
	}
	if (base < VMM_COPROC_BASE || base % 4096 ||
	    base + cp->mmio[0].size > BOARD_IOAPIC_GPA || base + cp->mmio[0].size < base) {
		snprintf(err, errlen, "property \"reg\": window 0x%llx+0x%llx is not one this board "
			 "has (page-aligned, within 0x%llx..0x%llx)", (unsigned long long)base,
			 (unsigned long long)cp->mmio[0].size, VMM_COPROC_BASE, BOARD_IOAPIC_GPA);
		return -VC_EINVAL;
	}
	if (!cp->nr_irqs || cp->irqs[0] < VCD_GSI_MIN || cp->irqs[0] > VCD_GSI_MAX) {
		snprintf(err, errlen, "property \"interrupts\": this board routes coprocessor "
			 "interrupts to IOAPIC inputs %d to %d only", VCD_GSI_MIN, VCD_GSI_MAX);
		return -VC_EINVAL;
	}
	r = simcp_create(&sc, &s);
	if (r) {
		snprintf(err, errlen, "cannot create the simcp device: %s", vc_strerror(r));
		return r;
	}
	simcp_coproc_desc(s, cp->name, base, cp->irqs[0], desc);
	*dev = s;
	return 0;
}

static void simcp_attach_cb(void *dev, struct vc_coproc *c)
{
	simcp_attach(dev, c);
}

static void simcp_destroy_cb(void *dev)
{
	simcp_destroy(dev);
}

static const struct sysdt_platform platforms[] = {
	{ .compatible = "vcoproc,simcp", .make = simcp_make, .attach = simcp_attach_cb,
	  .destroy = simcp_destroy_cb },
};

int vcd_dtb_setup(struct vmm *vmm, const char *dtb, uint64_t max_np_ns, struct sysdt_fw **out)
{
	static struct vc_sysconfig sys;
	char err[SYSDT_ERR_MAX + 64];
	int r;

	V.vmm = vmm;
	V.max_np_ns = max_np_ns;
	r = sysdt_load(dtb, &sys, err, sizeof(err));
	if (r) {
		vmm__log("%s", err);
		return r;
	}
	r = sysdt_register(vmm->fw, &sys, platforms, VC_ARRAY_SIZE(platforms), NULL, out, err,
			   sizeof(err));
	if (r) {
		vmm__log("%s: %s", dtb, err);
		return r;
	}
	vmm->coproc = sysdt_coproc(*out, 0);
	for (unsigned int i = 0; sysdt_coproc(*out, i); i++) {
		struct vc_coproc *c = sysdt_coproc(*out, i);
		const struct vc_coproc_desc *d = vc_coproc_desc(c);

		vmm__log("%s: %s at 0x%llx, IOAPIC input %u, %s", vc_coproc_name(c),
			 d->compatible, (unsigned long long)d->mmio[0].base, d->irqs[0],
			 vc_coproc_sched_name(c));
		if (i + 1 >= sys.nr_coprocs)
			break;
	}
	return 0;
}

static void vcd_sync(struct vmm *vmm)
{
	for (unsigned int i = 0; i < V.nr; i++)
		vmm->doms[i] = V.dom[i].d;
	for (unsigned int i = V.nr; i < VMM_MAX_DOMAINS; i++)
		vmm->doms[i] = NULL;
	vmm->nr_doms = V.nr;
}

static void vcd_dom_free(unsigned int i)
{
	struct vcd_dom *x = &V.dom[i];

	if (x->d) {
		vmm__reap(V.vmm, x->d, "destroyed");
		dom__free(x->d);
	}
	ctl_conlog_destroy(x->log);
	free(x->cfg);
	memmove(&V.dom[i], &V.dom[i + 1], (V.nr - i - 1) * sizeof(V.dom[0]));
	V.nr--;
	memset(&V.dom[V.nr], 0, sizeof(V.dom[0]));
	vcd_sync(V.vmm);
}

void vcd_dtb_teardown(struct vmm *vmm, struct sysdt_fw *sf)
{
	while (V.nr)
		vcd_dom_free(V.nr - 1);
	for (unsigned int i = 0; i < vmm->nr_doms; i++) {
		dom__free(vmm->doms[i]);
		vmm->doms[i] = NULL;
	}
	vmm->nr_doms = 0;
	vmm->coproc = NULL;
	sysdt_unregister(sf);
}

/* ---- the host's commands ---------------------------------------------------------- */

static void vcd_console(void *opaque, const char *buf, size_t len)
{
	ctl_conlog_write(opaque, buf, len);
}

/* dom_cfg.build: the framework domain and its vcoproc from the domain file. */
static int vcd_build(struct dom *d, void *arg, char *err, size_t errlen)
{
	struct domcfg *cfg = arg;
	struct vc_vcoproc *arr[VMM_MAX_DOMAINS * 4];
	unsigned int n;
	int r;

	r = domcfg_build(d->vmm->fw, cfg, d->domid, &d->iommu, d, &d->vd, err, errlen);
	if (r)
		return r;
	d->vv = NULL;
	if (cfg->nr_vcoprocs) {
		struct vc_coproc *c = vc_coproc_find(d->vmm->fw, cfg->vcoproc[0].instance);

		n = c ? vc_coproc_vcoprocs(c, arr, VC_ARRAY_SIZE(arr)) : 0;
		for (unsigned int i = 0; i < n && i < VC_ARRAY_SIZE(arr); i++)
			if (vc_vcoproc_domain(arr[i]) == d->vd)
				d->vv = arr[i];
		if (!d->vv) {
			vc_domain_destroy(d->vd);
			d->vd = NULL;
			snprintf(err, errlen, "%s: its vcoproc on %s is not found", cfg->name,
				 cfg->vcoproc[0].instance);
			return -VC_ENOENT;
		}
		d->cfg.vcoproc = true;
	}
	return 0;
}

static int vcd_find(const char *name)
{
	char *end;
	unsigned long id;

	for (unsigned int i = 0; i < V.nr; i++)
		if (!strcmp(V.dom[i].cfg->name, name))
			return (int)i;
	if (name[0] < '0' || name[0] > '9')
		return -1;
	id = strtoul(name, &end, 10);
	if (*end)
		return -1;
	for (unsigned int i = 0; i < V.nr; i++)
		if (V.dom[i].d->domid == id)
			return (int)i;
	return -1;
}

static int vcd_create(void *opaque, const char *path, const char *text, size_t len,
		      struct ctl_created *out, struct ctl_error *err)
{
	struct vmm *vmm = opaque;
	char msg[DOMCFG_MSG_MAX + VMM_ERR_MAX];
	struct vcd_dom *x;
	struct dom_cfg *dc = NULL;
	int r;

	if (V.nr == VMM_MAX_DOMAINS)
		return ctl_error_set(err, CTL_ERR_GENERIC, "vcoprocd holds at most %d domains",
				     VMM_MAX_DOMAINS);
	x = &V.dom[V.nr];
	memset(x, 0, sizeof(*x));
	x->cfg = calloc(1, sizeof(*x->cfg));
	dc = calloc(1, sizeof(*dc));
	if (!x->cfg || !dc) {
		r = ctl_error_set(err, CTL_ERR_GENERIC, "out of memory");
		goto fail;
	}
	r = domcfg_parse(text, len, path[0] ? path : "<config>", x->cfg, msg, sizeof(msg));
	if (r) {
		ctl_error_set(err, CTL_ERR_GENERIC, "%s", msg);
		goto fail;
	}
	if (vcd_find(x->cfg->name) >= 0) {
		r = domcfg_errorf(x->cfg, x->cfg->pos.name, msg, sizeof(msg),
				  "expected a new domain name, found \"%s\" (it exists)",
				  x->cfg->name);
		ctl_error_set(err, CTL_ERR_GENERIC, "%s", msg);
		goto fail;
	}
	if (x->cfg->nr_vcoprocs > 1) {
		r = domcfg_errorf(x->cfg, x->cfg->vcoproc[1].pos, msg, sizeof(msg),
				  "vcoprocd gives a guest at most one vcoproc, found %u",
				  x->cfg->nr_vcoprocs);
		ctl_error_set(err, CTL_ERR_GENERIC, "%s", msg);
		goto fail;
	}
	snprintf(dc->name, sizeof(dc->name), "%s", x->cfg->name);
	if (strlen(x->cfg->name) >= sizeof(dc->name) ||
	    domcfg_resolve_path(x->cfg, x->cfg->kernel, dc->kernel, sizeof(dc->kernel)) ||
	    strlen(x->cfg->extra) >= sizeof(dc->cmdline)) {
		r = domcfg_errorf(x->cfg, x->cfg->pos.name, msg, sizeof(msg),
				  "name, kernel path or extra too long for this board");
		ctl_error_set(err, CTL_ERR_GENERIC, "%s", msg);
		goto fail;
	}
	snprintf(dc->cmdline, sizeof(dc->cmdline), "%s", x->cfg->extra);
	dc->ram_size = x->cfg->memory_mib << 20;
	dc->vcpus = x->cfg->vcpus;
	dc->vcoproc = false;
	dc->build = vcd_build;
	dc->build_arg = x->cfg;
	r = ctl_conlog_create(VCD_CONLOG_SIZE, &x->log);
	if (r) {
		x->log = NULL;
		ctl_error_set(err, CTL_ERR_GENERIC, "out of memory");
		goto fail;
	}
	dc->console = vcd_console;
	dc->console_opaque = x->log;
	r = dom__create(vmm, dc, V.next_domid, &x->d, msg, sizeof(msg));
	if (r) {
		x->d = NULL;
		/* domcfg_build()'s messages carry FILE:LINE:COL; the board's get the file. */
		if (!strncmp(msg, x->cfg->fname, strlen(x->cfg->fname)))
			ctl_error_set(err, r == -VC_ENOENT ? CTL_ERR_DEVICE_NOT_FOUND :
				      CTL_ERR_GENERIC, "%s", msg);
		else
			ctl_error_set(err, CTL_ERR_GENERIC, "%s: %s", x->cfg->fname, msg);
		goto fail;
	}
	r = dom__start(x->d);
	if (r) {
		ctl_error_set(err, CTL_ERR_GENERIC, "%s: vCPU thread: %s", x->cfg->name,
			      strerror(-r));
		dom__free(x->d);
		x->d = NULL;
		goto fail;
	}
	x->d->started_ns = vmm__now();
	V.nr++;
	V.next_domid++;
	vcd_sync(vmm);
	out->domid = x->d->domid;
	snprintf(out->name, sizeof(out->name), "%s", x->cfg->name);
	out->nr_warnings = VC_MIN(x->cfg->nr_warnings, (unsigned)CTL_MAX_WARNINGS);
	for (unsigned int i = 0; i < out->nr_warnings && i < DOMCFG_MAX_WARNINGS; i++)
		snprintf(out->warnings[i], sizeof(out->warnings[i]), "%s", x->cfg->warnings[i]);
	vmm__log("created %s (id %u): %s, %llu MiB, %u vCPU%s%s%s", x->cfg->name, x->d->domid,
		 dc->kernel, (unsigned long long)x->cfg->memory_mib, dc->vcpus,
		 dc->vcpus == 1 ? "" : "s", x->d->vv ? ", vcoproc on " : "",
		 x->d->vv ? vc_coproc_name(vc_vcoproc_coproc(x->d->vv)) : "");
	free(dc);
	return 0;

fail:
	ctl_conlog_destroy(x->log);
	free(x->cfg);
	free(dc);
	memset(x, 0, sizeof(*x));
	return r < 0 ? r : -VC_EINVAL;
}

static int vcd_destroy(void *opaque, const char *dom, struct ctl_error *err)
{
	int i = vcd_find(dom);

	if (i < 0)
		return ctl_error_set(err, CTL_ERR_DEVICE_NOT_FOUND, "no domain \"%s\"", dom);
	vmm__log("destroying %s (id %u)", V.dom[i].cfg->name, V.dom[i].d->domid);
	V.dom[i].d->destroyed = true;
	vcd_dom_free((unsigned int)i);
	return 0;
}

static int vcd_console_read(void *opaque, const char *dom, uint64_t offset, size_t max,
			    struct ctl_console_chunk *out, struct ctl_error *err)
{
	int i = vcd_find(dom);

	if (i < 0)
		return ctl_error_set(err, CTL_ERR_DEVICE_NOT_FOUND, "no domain \"%s\"", dom);
	out->len = ctl_conlog_read(V.dom[i].log, offset, out->data, max, &out->start, &out->next);
	out->closed = V.dom[i].d->reaped;
	return 0;
}

static const char *vcd_state(const struct dom *d)
{
	if (!d->reaped && !atomic_load(&d->finished))
		return "running";
	switch (d->state) {
	case DOM_EXITED: return d->exitdev.status == BOARD_EXIT_PASS ? "exited" : "failed";
	case DOM_FAILED: return "failed";
	default: return "stopped";
	}
}

static unsigned int vcd_domain_list(void *opaque, struct ctl_domain_info *out, unsigned int max)
{
	for (unsigned int i = 0; i < V.nr && i < max; i++) {
		const struct vcd_dom *x = &V.dom[i];

		out[i].domid = x->d->domid;
		snprintf(out[i].name, sizeof(out[i].name), "%s", x->cfg->name);
		snprintf(out[i].state, sizeof(out[i].state), "%s", vcd_state(x->d));
		out[i].memory_mib = x->cfg->memory_mib;
		out[i].vcpus = x->d->nr_vcpus;
		snprintf(out[i].kernel, sizeof(out[i].kernel), "%.255s", x->d->cfg.kernel);
	}
	return V.nr;
}

static const struct ctl_host_ops vcd_host_ops = {
	.create = vcd_create,
	.destroy = vcd_destroy,
	.console_read = vcd_console_read,
	.domain_list = vcd_domain_list,
};

/* ---- the main loop ------------------------------------------------------------------ */

int vcd_serve(struct vmm *vmm, const char *sock, int sigfd)
{
	struct ctl_server *srv;
	struct ctl_fw be;
	char err[512];
	int stop_sig = 0;

	V.vmm = vmm;
	/* No busy window in daemon mode: domains come and go. */
	vmm->win = (struct vmm_window){ .state = VMM_WIN_NONE, .why = "daemon mode" };
	vmm->t0 = vmm__now();
	ctl_fw_init(&be, vmm->fw, &vcd_host_ops, vmm);
	if (ctl_server_create(sock, &ctl_fw_ops, &be, &srv, err, sizeof(err))) {
		vmm__log("%s", err);
		return -1;
	}
	vmm__log("listening on %s", sock);
	printf("ready\n");
	fflush(stdout);
	while (!stop_sig) {
		struct pollfd pfd[3] = {
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = vmm->notify_fd, .events = POLLIN },
			{ .fd = ctl_server_fd(srv), .events = POLLIN },
		};

		/* Guests that ended are torn down; their records stay until destroy. */
		for (unsigned int i = 0; i < V.nr; i++) {
			struct dom *d = V.dom[i].d;

			if (!d->reaped && atomic_load(&d->finished)) {
				vmm__reap(vmm, d, "ended");
				vmm__log("%s: %s%s%s", d->cfg.name, vcd_state(d),
					 d->fail[0] ? ": " : "", d->fail);
			}
		}
		if (poll(pfd, 3, 1000) < 0) {
			if (errno == EINTR)
				continue;
			vmm__log("poll: %s", strerror(errno));
			stop_sig = SIGTERM;
			break;
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
			}
		}
		if (!stop_sig && pfd[2].revents)
			(void)ctl_server_dispatch(srv, 0);
	}
	ctl_server_destroy(srv);
	while (V.nr)
		vcd_dom_free(V.nr - 1);
	return stop_sig;
}
