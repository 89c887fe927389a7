// SPDX-License-Identifier: MIT
/*
 * DOC: domains - the one creation path, the console, the end (domain.h)
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vcoproc/errno.h>

#include "ctl.h"
#include "host.h"

const struct dom_kind *dom_kind_of(const struct domcfg *cfg)
{
	if (!strcmp(cfg->type, "vhost-user"))
		return &dom_kind_vhost_user;
	return strncmp(cfg->kernel, "builtin:", 8) ? &dom_kind_kvm : &dom_kind_builtin;
}

const char *dom_state_name(enum dom_state s)
{
	switch (s) {
	case DOM_NEW: return "new";
	case DOM_RUNNING: return "running";
	case DOM_EXITED: return "exited";
	case DOM_FAILED: return "failed";
	case DOM_STOPPED: return "stopped";
	}
	return "?";
}

const char *dom_status_word(const struct dom *d)
{
	if (!d->reaped && !atomic_load(&d->finished))
		return "running";
	switch (d->state) {
	case DOM_EXITED: return d->status == BOARD_EXIT_PASS ? "exited" : "failed";
	case DOM_FAILED: return "failed";
	default: return "stopped";
	}
}

/* ---- the console ----------------------------------------------------------- */

void dom_console(struct dom *d, const char *line, size_t len)
{
	/* Drop carriage returns: the log is a text file. */
	while (len && line[len - 1] == '\r')
		len--;
	pthread_mutex_lock(&d->console_lock);
	if (d->log) {
		fwrite(line, 1, len, d->log);
		fputc('\n', d->log);
		fflush(d->log);
	}
	if (d->echo)
		fprintf(stdout, "[%s] %.*s\n", d->cfg.name, (int)len, line);
	if (len >= 7 && !strncmp(line, "result:", 7))
		snprintf(d->result, sizeof(d->result), "%.*s", (int)len, line);
	if (d->conlog) {
		ctl_conlog_write(d->conlog, line, len);
		ctl_conlog_write(d->conlog, "\n", 1);
	}
	pthread_mutex_unlock(&d->console_lock);
}

void dom_printf(struct dom *d, const char *fmt, ...)
{
	char line[DOM_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n >= 0)
		dom_console(d, line, VC_MIN((size_t)n, sizeof(line) - 1));
}

/* ---- the end ----------------------------------------------------------------- */

bool dom_vend(struct dom *d, enum dom_state st, int status, const char *why, va_list ap)
{
	bool ended = false;

	pthread_mutex_lock(&d->end_lock);
	if (d->state == DOM_RUNNING || d->state == DOM_NEW) {
		d->state = st;
		d->status = status;
		if (why)
			vsnprintf(d->fail, sizeof(d->fail), why, ap);
		ended = true;
	}
	pthread_mutex_unlock(&d->end_lock);
	if (!ended)
		return false;
	atomic_store(&d->finished, true);
	host_notify(d->host);
	return true;
}

bool dom_end(struct dom *d, enum dom_state st, int status, const char *why, ...)
{
	va_list ap;
	bool r;

	va_start(ap, why);
	r = dom_vend(d, st, status, why, ap);
	va_end(ap);
	return r;
}

void dom_mark(struct dom *d, uint32_t m)
{
	uint64_t expected = 0;

	if (!m || m > BOARD_MARK_MAX)
		return;
	if (atomic_compare_exchange_strong(&d->mark_ns[m], &expected, hloop_now()))
		host_notify(d->host);
}

/* ---- creation ------------------------------------------------------------------ */

/* The console's log file, when the host keeps them. */
static int dom_console_open(struct dom *d, char *err, size_t errlen)
{
	char path[DOMCFG_PATH_MAX + VC_NAME_MAX + 8];

	d->echo = d->host->cfg.echo;
	if (!d->host->cfg.log_dir)
		return 0;
	snprintf(path, sizeof(path), "%s/%s.log", d->host->cfg.log_dir, d->cfg.name);
	d->log = fopen(path, "we");
	if (!d->log)
		return host_errf(err, errlen, -errno, "%s: %s: %s", d->cfg.name, path,
			       strerror(errno));
	return 0;
}

static void dom_record_free(struct dom *d)
{
	if (d->log)
		fclose(d->log);
	ctl_conlog_destroy(d->conlog);
	pthread_mutex_destroy(&d->console_lock);
	pthread_mutex_destroy(&d->end_lock);
	free(d);
}

int dom_create(struct host *h, const struct domcfg *cfg, const struct dom_opts *o,
	       uint32_t domid, struct dom **out, char *err, size_t errlen)
{
	const struct dom_kind *kind = dom_kind_of(cfg);
	char why[DOM_ERR_MAX];
	struct dom *d;
	int r;

	if (kind->probe && (r = kind->probe(h, why, sizeof(why))))
		return host_errf(err, errlen, r, "%s: %s", cfg->fname, why);
	d = calloc(1, sizeof(*d));
	if (!d)
		return host_errf(err, errlen, -ENOMEM, "out of memory");
	d->host = h;
	d->kind = kind;
	d->cfg = *cfg;
	d->domid = domid;
	d->ram_size = o && o->ram_size ? o->ram_size : cfg->memory_mib << 20;
	d->destroy_at_ns = o ? o->destroy_at_ns : 0;
	d->run_ns = h->cfg.run_ns;
	d->expected = -1;
	pthread_mutex_init(&d->end_lock, NULL);
	pthread_mutex_init(&d->console_lock, NULL);
	r = dom_console_open(d, err, errlen);
	if (r)
		goto out_record;
	if (h->cfg.keep_ended) {
		r = ctl_conlog_create(64u * 1024u, &d->conlog);
		if (r) {
			host_errf(err, errlen, r, "out of memory");
			goto out_record;
		}
	}

	r = kind->create(d, err, errlen);
	if (r)
		goto out_record;
	r = domcfg_build(h->fw, &d->cfg, domid, &d->iommu, d, &d->vd, d->vv, err, errlen);
	if (r) {
		d->vd = NULL;
		goto out_kind;
	}
	d->nr_vv = d->cfg.nr_vcoprocs;
	/* Devices assigned exclusively (dtdev) come after the shared ones. */
	r = domcfg_assign(h->sf, &d->cfg, d->vd, d->vv + d->nr_vv, err, errlen);
	if (r)
		goto out_domain;
	d->nr_vv += d->cfg.nr_dtdev;
	/* d->cfg.warnings now holds domcfg_build()'s (keys kept for other algorithms). */
	r = kind->attach ? kind->attach(d, err, errlen) : 0;
	if (r)
		goto out_domain;
	r = o && o->paused ? 0 : dom_start(d);
	if (r) {
		host_errf(err, errlen, r, "%s: cannot start it: %s", cfg->fname, strerror(-r));
		goto out_domain;
	}
	*out = d;
	return 0;

out_domain:
	vc_domain_destroy(d->vd); /* and its vcoprocs */
	d->vd = NULL;
	d->nr_vv = 0;
out_kind:
	kind->destroy(d);
out_record:
	dom_record_free(d);
	return r;
}

int dom_start(struct dom *d)
{
	int r;

	d->state = DOM_RUNNING;
	d->started_ns = hloop_now();
	r = d->kind->start(d);
	if (r) {
		d->kind->stop(d);
		d->state = DOM_NEW;
	}
	return r;
}

/* ---- teardown ---------------------------------------------------------------------- */

void dom_snapshot(struct dom *d)
{
	if (d->nr_vv && d->vd)
		vc_vcoproc_stats(d->vv[0], &d->last);
}

void dom_teardown(struct dom *d)
{
	if (d->reaped)
		return;
	d->kind->stop(d);
	if (!d->ended_ns)
		d->ended_ns = hloop_now();
	dom_end(d, DOM_STOPPED, 0, NULL);
	dom_snapshot(d);
	vc_domain_destroy(d->vd); /* its vcoprocs first: no interrupt after this */
	d->vd = NULL;
	memset(d->vv, 0, sizeof(d->vv));
	d->kind->destroy(d);
	d->kpriv = NULL;
	d->reaped = true;
}

void dom_free(struct dom *d)
{
	if (!d)
		return;
	dom_teardown(d);
	dom_record_free(d);
}
