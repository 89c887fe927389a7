// SPDX-License-Identifier: MIT
/* The mock coprocessor of mock_platform.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vcoproc/vtime.h>

#include "internal.h"
#include "mock_platform.h"

static struct mock_dev *dev_of(struct vc_coproc *c)
{
	return vc_coproc_pdata(c);
}

static void begin_job(struct mock_dev *m)
{
	struct mock_ctx *x = m->loaded;

	if (!m->started || m->in_job || !x || !x->queued || x->error)
		return;
	m->in_job = true;
	if (x->hang) {
		m->job_end = VC_TIME_INF;
		return;
	}
	m->job_end = vc_os_now() + x->job_len;
	vc_os_timer_arm(m->timer, m->job_end);
}

/* Job completion, in the device's own (timer) context. */
static void job_done(void *arg)
{
	struct mock_dev *m = arg;
	struct mock_ctx *x = m->loaded;
	uint32_t tag = x->tag;
	bool irq = x->irq_per_job;

	m->in_job = false;
	x->queued--;
	x->done++;
	if (irq && m->hold_irqs && m->nr_held_irqs < MOCK_LOG_MAX)
		m->held_irq_tags[m->nr_held_irqs++] = tag; /* still on its way */
	else if (irq)
		vc_coproc_event(m->c, tag, VC_EV_IRQ);
	if (m->stop_req) {
		m->stop_req = false;
		m->started = false;
		if (m->hold_stopped) {
			m->nr_held_stopped++; /* still on its way */
			m->held_stopped_tag = tag;
		} else {
			vc_coproc_event(m->c, tag, VC_EV_STOPPED);
		}
		return;
	}
	if (m->loaded && m->loaded->queued)
		begin_job(m);
	else if (m->loaded)
		vc_coproc_event(m->c, tag, VC_EV_IDLE);
}

static int mock_ctx_alloc(struct vc_coproc *c, uint32_t tag, void **ctx)
{
	struct mock_dev *m = dev_of(c);
	struct mock_ctx *x;

	if (m->fail_alloc)
		return m->fail_alloc;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -VC_ENOMEM;
	x->tag = tag;
	x->job_len = VC_MSEC(1);
	*ctx = x;
	return 0;
}

static void mock_ctx_free(struct vc_coproc *c, void *ctx)
{
	struct mock_dev *m = dev_of(c);

	if (m->loaded == ctx)
		abort(); /* the framework must never free a loaded context */
	free(ctx);
}

static int mock_stop(struct vc_coproc *c, void *ctx, vc_time_t *retry_after)
{
	struct mock_dev *m = dev_of(c);
	struct mock_ctx *x = ctx;
	int r;

	if (m->loaded != x)
		abort();
	if (!m->in_job || (x->hang && !m->never_stop)) {
		/* A hung job waits at a boundary: it stops at once. */
		m->in_job = false;
		m->started = false;
		r = 0;
	} else if (x->np && !x->hang) {
		*retry_after = m->job_end - vc_os_now();
		r = -VC_EAGAIN;
	} else {
		m->stop_req = !m->never_stop;
		r = -VC_EINPROGRESS;
	}
	if (m->nr_stops < MOCK_LOG_MAX) {
		m->stop_at[m->nr_stops] = vc_os_now();
		m->stop_ret[m->nr_stops] = r;
	}
	m->nr_stops++;
	return r;
}

static int mock_save(struct vc_coproc *c, void *ctx)
{
	struct mock_dev *m = dev_of(c);
	struct mock_ctx *x = ctx;

	if (m->loaded != x || m->started)
		abort(); /* saving a running or foreign context */
	if (m->fail_saves) {
		m->fail_saves--;
		return -VC_EIO; /* the context stays on the device */
	}
	x->saves++;
	m->loaded = NULL;
	return 0;
}

static int mock_iommu_switch(struct vc_coproc *c, const struct vc_iommu *io)
{
	struct mock_dev *m = dev_of(c);

	m->iommu = io;
	if (!io)
		m->nr_iommu_null++;
	return 0;
}

static int mock_load(struct vc_coproc *c, void *ctx)
{
	struct mock_dev *m = dev_of(c);
	struct mock_ctx *x = ctx;

	if (m->loaded || m->started)
		abort(); /* loading over a live context */
	x->loads++;
	m->loaded = x;
	return 0;
}

static int mock_start(struct vc_coproc *c, void *ctx)
{
	struct mock_dev *m = dev_of(c);

	if (m->loaded != ctx)
		abort();
	m->started = true;
	begin_job(m);
	return 0;
}

static int mock_reset(struct vc_coproc *c, void *ctx, bool loaded)
{
	struct mock_dev *m = dev_of(c);
	struct mock_ctx *x = ctx;

	m->nr_resets++;
	x->queued = 0;
	x->error = true;

	if (loaded) {
		if (m->loaded != x)
			abort();
		vc_os_timer_disarm(m->timer);
		m->in_job = false;
		m->stop_req = false;
		m->started = false;
	}
	return 0;
}

static int mock_mmio(struct vc_coproc *c, void *ctx, uint64_t off, unsigned int size,
		     bool write, uint64_t *val)
{
	struct mock_dev *m = dev_of(c);
	struct mock_ctx *x = ctx;

	if (size != 8)
		return VC_IO_BAD;
	switch (off) {
	case MOCK_REG_DOORBELL:
		if (!write)
			return VC_IO_BAD;
		x->queued += *val;
		x->error = false;
		if (m->loaded == x)
			begin_job(m);
		return VC_IO_WORK;
	case MOCK_REG_DONE:
		*val = x->done;
		return write ? VC_IO_BAD : VC_IO_OK;
	case MOCK_REG_ERROR:
		*val = x->error;
		return write ? VC_IO_BAD : VC_IO_OK;
	case MOCK_REG_QUEUED:
		*val = x->queued;
		return write ? VC_IO_BAD : VC_IO_OK;
	}
	return VC_IO_BAD;
}

static bool mock_has_work(struct vc_coproc *c, void *ctx)
{
	struct mock_ctx *x = ctx;

	return x->queued && !x->error;
}

static uint64_t mock_progress(struct vc_coproc *c, void *ctx)
{
	return ((struct mock_ctx *)ctx)->done;
}

static vc_time_t mock_seen(struct vc_coproc *c)
{
	struct mock_dev *dev = vc_coproc_pdata(c);

	return dev->starved ? dev->starved_at : vc_os_now();
}

const struct vc_platform_ops mock_platform_ops = {
	.name = "mock",
	.ctx_alloc = mock_ctx_alloc,
	.ctx_free = mock_ctx_free,
	.stop = mock_stop,
	.save = mock_save,
	.iommu_switch = mock_iommu_switch,
	.load = mock_load,
	.start = mock_start,
	.reset = mock_reset,
	.mmio_forward = mock_mmio,
	.mmio_emulate = mock_mmio,
	.has_work = mock_has_work,
	.progress = mock_progress,
	.seen = mock_seen,
};

struct mock_dev *mock_dev_new(const char *sched)
{
	struct mock_dev *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->timer = vc_os_timer_create(job_done, m);
	m->desc = (struct vc_coproc_desc){
		.name = "mock0",
		.compatible = "vcoproc,mock",
		.mmio = { { MOCK_MMIO_BASE, MOCK_MMIO_SIZE } },
		.nr_mmio = 1,
		.irqs = { MOCK_IRQ },
		.nr_irqs = 1,
		.ops = &mock_platform_ops,
		.pdata = m,
		.sched = sched,
	};
	return m;
}

void mock_dev_free(struct mock_dev *m)
{
	if (!m)
		return;
	vc_os_timer_destroy(m->timer);
	free(m);
}

static void host_irq_raise(void *host_dom, uint32_t irq)
{
	struct mock_dom *md = host_dom;

	md->irqs++;
	md->last_irq = irq;
}

static const struct vc_host_ops host_ops = { .irq_raise = host_irq_raise };

int mock_host_init(struct mock_host *h, const char *sched, vc_time_t hang_timeout)
{
	return mock_host_init_timeouts(h, sched, hang_timeout, 0);
}

int mock_host_init_timeouts(struct mock_host *h, const char *sched, vc_time_t hang_timeout,
			    vc_time_t stop_timeout)
{
	int err;

	vc_vtime_reset();
	memset(h, 0, sizeof(*h));
	err = vc_fw_create(&host_ops, &h->fw);
	if (err)
		return err;
	h->dev = mock_dev_new(sched);
	if (!h->dev)
		return -VC_ENOMEM;
	h->dev->desc.hang_timeout = hang_timeout;
	h->dev->desc.stop_timeout = stop_timeout;
	if (sched && !strcmp(sched, "passthrough")) {
		h->dev->desc.passthrough = true;
		h->dev->desc.sched = NULL;
	}
	err = vc_coproc_register(h->fw, &h->dev->desc, &h->c);
	if (err)
		return err;
	h->dev->c = h->c;
	return 0;
}

void mock_host_fini(struct mock_host *h)
{
	vc_fw_destroy(h->fw);
	mock_dev_free(h->dev);
	h->fw = NULL;
	h->dev = NULL;
}

int mock_dom_init(struct mock_host *h, struct mock_dom *md, uint32_t domid,
		  const char *const *params, unsigned int nr)
{
	struct vc_param p[VC_VCOPROC_MAX_PARAMS];
	char name[16];
	int err;

	memset(md, 0, sizeof(*md));
	memset(p, 0, sizeof(p));
	for (unsigned int i = 0; i < nr && i < VC_VCOPROC_MAX_PARAMS; i++) {
		const char *eq = strchr(params[i], '=');

		if (!eq)
			return -VC_EINVAL;
		memcpy(p[i].key, params[i], (size_t)(eq - params[i]));
		strcpy(p[i].val, eq + 1);
	}
	snprintf(name, sizeof(name), "d%u", domid);
	err = vc_domain_create(h->fw, domid, name, NULL, md, &md->d);
	if (err)
		return err;
	return vc_vcoproc_create(md->d, h->c, p, nr, &md->v, NULL);
}

struct mock_ctx *mock_ctx_of(struct mock_dom *md)
{
	return md->v->ctx; /* white-box: the framework keeps ctx private */
}

int mock_submit(struct mock_dom *md, uint64_t n, vc_time_t len, bool np)
{
	struct mock_ctx *x = mock_ctx_of(md);
	uint64_t val = n;

	x->job_len = len;
	x->np = np;
	return vc_domain_mmio(md->d, MOCK_MMIO_BASE + MOCK_REG_DOORBELL, 8, true, &val);
}

uint64_t mock_reg_read(struct mock_dom *md, uint64_t reg)
{
	uint64_t val = 0;

	if (vc_domain_mmio(md->d, MOCK_MMIO_BASE + reg, 8, false, &val))
		return ~0ULL;
	return val;
}

unsigned int mock_deliver_irqs(struct mock_dev *m)
{
	unsigned int n = m->nr_held_irqs;

	m->nr_held_irqs = 0;
	for (unsigned int i = 0; i < n; i++)
		vc_coproc_event(m->c, m->held_irq_tags[i], VC_EV_IRQ);
	return n;
}
