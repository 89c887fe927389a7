// SPDX-License-Identifier: MIT
/*
 * DOC: vcoprocd's control socket - the host's side of the protocol
 *
 *   vcoprocd --dtb build/examples/system.dtb --socket /tmp/vcoprocd.sock
 *   vcoproc -S /tmp/vcoprocd.sock create examples/dom1.cfg
 *
 * The generic backend (ctl/ctl_fw.h) answers everything the framework can
 * by itself; this file supplies what only the host can do (struct
 * ctl_host_ops): create builds a domain from the domain file (one path:
 * host_add() -> dom_create(); the kernel path is resolved against the
 * file's directory), all or nothing, and starts it; destroy tears it down;
 * console-read reads a domain's console ring; domain-list lists the
 * registry.  A domain whose guest ends stays listed (state "exited",
 * "failed") until destroyed.
 *
 * Everything runs on the loop thread (host_serve() registers the server's
 * fd with the host's loop), which owns the topology, as ctl_fw_ops needs.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <vcoproc/errno.h>

#include "control.h"
#include "ctl_fw.h"

static int vcd_create(void *opaque, const char *path, const char *text, size_t len,
		      struct ctl_created *out, struct ctl_error *err)
{
	struct host *h = opaque;
	char msg[DOMCFG_MSG_MAX + DOM_ERR_MAX];
	struct domcfg *cfg;
	struct dom *d;
	int r;

	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return ctl_error_set(err, CTL_ERR_GENERIC, "out of memory");
	r = domcfg_parse(text, len, path[0] ? path : "<config>", cfg, msg, sizeof(msg));
	if (!r && strncmp(cfg->kernel, "builtin:", 8)) {
		char abs[DOMCFG_PATH_MAX];

		r = domcfg_resolve_path(cfg, cfg->kernel, abs, sizeof(abs));
		if (r)
			domcfg_errorf(cfg, cfg->pos.kernel, msg, sizeof(msg),
				      "kernel path too long");
		else
			memcpy(cfg->kernel, abs, sizeof(abs));
	}
	if (!r)
		r = host_add(h, cfg, NULL, &d, msg, sizeof(msg));
	if (r) {
		ctl_error_set(err, r == -VC_ENOENT ? CTL_ERR_DEVICE_NOT_FOUND : CTL_ERR_GENERIC,
			      "%s", msg);
		free(cfg);
		return r < 0 ? r : -VC_EINVAL;
	}
	out->domid = d->domid;
	snprintf(out->name, sizeof(out->name), "%s", d->cfg.name);
	out->nr_warnings = VC_MIN(d->cfg.nr_warnings, (unsigned int)CTL_MAX_WARNINGS);
	for (unsigned int i = 0; i < out->nr_warnings && i < DOMCFG_MAX_WARNINGS; i++)
		snprintf(out->warnings[i], sizeof(out->warnings[i]), "%s", d->cfg.warnings[i]);
	host_log("created %s (id %u): %s %s, %llu MiB, %u vCPU%s, %u vcoproc%s", d->cfg.name,
		 d->domid, d->kind->name, d->cfg.kernel, (unsigned long long)d->cfg.memory_mib,
		 d->cfg.vcpus, d->cfg.vcpus == 1 ? "" : "s", d->nr_vv, d->nr_vv == 1 ? "" : "s");
	free(cfg);
	return 0;
}

static int vcd_destroy(void *opaque, const char *name, struct ctl_error *err)
{
	struct host *h = opaque;
	struct dom *d = host_find(h, name);

	if (!d)
		return ctl_error_set(err, CTL_ERR_DEVICE_NOT_FOUND, "no domain \"%s\"", name);
	host_log("destroying %s (id %u)", d->cfg.name, d->domid);
	d->destroyed = true;
	host_remove(h, d);
	return 0;
}

static int vcd_console_read(void *opaque, const char *name, uint64_t offset, size_t max,
			    struct ctl_console_chunk *out, struct ctl_error *err)
{
	struct host *h = opaque;
	struct dom *d = host_find(h, name);

	if (!d)
		return ctl_error_set(err, CTL_ERR_DEVICE_NOT_FOUND, "no domain \"%s\"", name);
	out->len = ctl_conlog_read(d->conlog, offset, out->data, max, &out->start, &out->next);
	out->closed = d->reaped;
	return 0;
}

static unsigned int vcd_domain_list(void *opaque, struct ctl_domain_info *out, unsigned int max)
{
	struct host *h = opaque;

	for (unsigned int i = 0; i < h->nr_doms && i < max; i++) {
		const struct dom *d = h->doms[i];

		out[i].domid = d->domid;
		snprintf(out[i].name, sizeof(out[i].name), "%s", d->cfg.name);
		snprintf(out[i].state, sizeof(out[i].state), "%s", dom_status_word(d));
		out[i].memory_mib = d->ram_size >> 20;
		out[i].vcpus = d->cfg.vcpus;
		snprintf(out[i].kernel, sizeof(out[i].kernel), "%.255s", d->cfg.kernel);
	}
	return h->nr_doms;
}

static const struct ctl_host_ops vcd_host_ops = {
	.create = vcd_create,
	.destroy = vcd_destroy,
	.console_read = vcd_console_read,
	.domain_list = vcd_domain_list,
};

/* ---- on the loop ---------------------------------------------------------------- */

struct serve {
	struct host *h;
	struct ctl_server *srv;
	int sigfd;
	int stop_sig;
};

static void on_ctl(void *opaque, int fd, unsigned int revents)
{
	struct serve *s = opaque;

	(void)ctl_server_dispatch(s->srv, 0);
}

/* Guests that ended are torn down; their records stay until destroy. */
static void on_notify(void *opaque, int fd, unsigned int revents)
{
	struct serve *s = opaque;
	struct host *h = s->h;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		host_log("notify: %s", strerror(errno));
	for (unsigned int i = 0; i < h->nr_doms; i++) {
		struct dom *d = h->doms[i];

		if (!d->reaped && atomic_load(&d->finished)) {
			host_reap(h, d, "ended");
			host_log("%s: %s%s%s", d->cfg.name, dom_status_word(d), d->fail[0] ? ": " : "",
				 d->fail);
		}
	}
}

static void on_signal(void *opaque, int fd, unsigned int revents)
{
	struct serve *s = opaque;
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	s->stop_sig = (int)si.ssi_signo;
	host_log("%s: shutting down", strsignal(s->stop_sig));
	hloop_quit(s->h->loop, 0);
}

int host_serve(struct host *h, const char *sock, int sigfd, uint64_t idle_timeout_ns)
{
	struct serve s = { .h = h, .sigfd = sigfd };
	struct ctl_fw be;
	char err[512];
	int r;

	ctl_fw_init(&be, h->fw, &vcd_host_ops, h);
	if (ctl_server_create(sock, &ctl_fw_ops, &be, &s.srv, err, sizeof(err))) {
		host_log("%s", err);
		return -1;
	}
	if (idle_timeout_ns)
		ctl_server_set_idle_timeout(s.srv, (unsigned int)VC_MIN(idle_timeout_ns / 1000000u,
									(uint64_t)UINT32_MAX));
	r = hloop_watch(h->loop, sigfd, HLOOP_IN, on_signal, &s);
	if (!r)
		r = hloop_watch(h->loop, h->notify_fd, HLOOP_IN, on_notify, &s);
	if (!r)
		r = hloop_watch(h->loop, ctl_server_fd(s.srv), HLOOP_IN, on_ctl, &s);
	if (r) {
		host_log("event loop: %s", strerror(-r));
		goto out_server;
	}
	host_log("listening on %s", sock);
	printf("ready\n");
	fflush(stdout);
	r = hloop_run(h->loop);
	if (r < 0)
		host_log("event loop: %s", strerror(-r));

out_server:
	hloop_unwatch(h->loop, ctl_server_fd(s.srv));
	hloop_unwatch(h->loop, h->notify_fd);
	hloop_unwatch(h->loop, sigfd);
	ctl_server_destroy(s.srv);
	while (h->nr_doms)
		host_remove(h, h->doms[h->nr_doms - 1]);
	return r < 0 ? -1 : s.stop_sig;
}
