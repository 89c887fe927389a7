// SPDX-License-Identifier: MIT
/*
 * DOC: OpenCL platform glue
 *
 * oclcp_platform_ops: the hooks of include/vcoproc/platform.h on the calls
 * of oclcp.h, and oclcp_attach() routing the device's events to
 * vc_coproc_event().  The coproc's pdata is the struct oclcp; contexts
 * are struct oclcp_ctx.  Hooks run under the coproc lock and take the
 * device lock; events come from the device thread without it.
 */
#include "oclcp_priv.h"

static void glue_event(void *opaque, uint32_t tag, enum vc_event ev)
{
	vc_coproc_event(opaque, tag, ev);
}

void oclcp_attach(struct oclcp *s, struct vc_coproc *c)
{
	pthread_mutex_lock(&s->lock);
	if (!s->own_sink) {
		while (!c && s->delivering)
			pthread_cond_wait(&s->cond, &s->lock);
		s->sink_fn = c ? glue_event : NULL;
		s->sink_opaque = c;
	}
	pthread_mutex_unlock(&s->lock);
}

void oclcp_coproc_desc(struct oclcp *s, const char *name, uint64_t mmio_base, uint32_t irq,
		       struct vc_coproc_desc *d)
{
	*d = (struct vc_coproc_desc){
		.name = name,
		.compatible = "vcoproc,opencl",
		.model = s->info.device,
		.mmio = { { .base = mmio_base, .size = SIMCP_MMIO_SIZE } },
		.nr_mmio = 1,
		.irqs = { irq },
		.nr_irqs = 1,
		.ops = &oclcp_platform_ops,
		.pdata = s,
		.switch_cost = s->info.switch_cost,
		.max_nonpreempt = s->max_nonpreempt,
		/*
		 * Every kernel refuses stops: the refusal limit must cover the
		 * longest legal one, and neither timeout may take it for hung.
		 */
		.hang_timeout = 2 * SIMCP_MAX_COMPUTE_NS,
		.stop_timeout = SIMCP_MAX_COMPUTE_NS + VC_MSEC(100),
	};
}

static int op_ctx_alloc(struct vc_coproc *c, uint32_t tag, void **ctx)
{
	struct oclcp *s = vc_coproc_pdata(c);
	struct oclcp_ctx *x;
	int err;

	if (!s)
		return -VC_ENODEV;
	err = oclcp_ctx_alloc(s, tag, &x);
	if (!err)
		*ctx = x;
	return err;
}

static void op_ctx_free(struct vc_coproc *c, void *ctx)
{
	oclcp_ctx_free(ctx);
}

static int op_stop(struct vc_coproc *c, void *ctx, vc_time_t *retry_after)
{
	return oclcp_stop(ctx, retry_after);
}

static int op_save(struct vc_coproc *c, void *ctx)
{
	return oclcp_save(ctx);
}

static int op_iommu_switch(struct vc_coproc *c, const struct vc_iommu *io)
{
	struct oclcp *s = vc_coproc_pdata(c);

	return s ? oclcp_set_iommu(s, io) : -VC_ENODEV;
}

static int op_load(struct vc_coproc *c, void *ctx)
{
	return oclcp_load(ctx);
}

static int op_start(struct vc_coproc *c, void *ctx)
{
	return oclcp_start(ctx);
}

static int op_reset(struct vc_coproc *c, void *ctx, bool loaded)
{
	return oclcp_reset(ctx);
}

static int op_mmio(struct vc_coproc *c, void *ctx, uint64_t off, unsigned int size, bool write,
		   uint64_t *val)
{
	return (int)oclcp_mmio(ctx, off, size, write, val);
}

static bool op_has_work(struct vc_coproc *c, void *ctx)
{
	return oclcp_has_work(ctx);
}

static uint64_t op_progress(struct vc_coproc *c, void *ctx)
{
	return oclcp_progress(ctx);
}

static vc_time_t op_seen(struct vc_coproc *c)
{
	struct oclcp *s = vc_coproc_pdata(c);

	return s ? oclcp_seen(s) : vc_os_now();
}

/* A copied context's transfers run ahead of its first command: until about then. */
static vc_time_t op_ready_at(struct vc_coproc *c)
{
	struct oclcp *s = vc_coproc_pdata(c);

	return s ? oclcp_ready_at(s) : vc_os_now();
}

const struct vc_platform_ops oclcp_platform_ops = {
	.name = "opencl",
	.ctx_alloc = op_ctx_alloc,
	.ctx_free = op_ctx_free,
	.stop = op_stop,
	.save = op_save,
	.iommu_switch = op_iommu_switch,
	.load = op_load,
	.start = op_start,
	.reset = op_reset,
	.mmio_forward = op_mmio,
	.mmio_emulate = op_mmio,
	.has_work = op_has_work,
	.progress = op_progress,
	.seen = op_seen,
	.ready_at = op_ready_at,
};
