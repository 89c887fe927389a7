// SPDX-License-Identifier: MIT
/*
 * DOC: simcp platform glue
 *
 * Plugs simcp into the framework: simcp_platform_ops implements every
 * hook of include/vcoproc/platform.h on the device calls of simcp.h, and
 * simcp_attach() routes the device's events to vc_coproc_event().
 *
 * A host does:
 *
 *   simcp_create(&cfg, &s);
 *   simcp_coproc_desc(s, "simcp0", base, irq, &desc);
 *   vc_coproc_register(fw, &desc, &c);
 *   simcp_attach(s, c);
 *   ...                        (domains and vcoprocs come and go)
 *   simcp_attach(s, NULL);     (after the vcoprocs are gone; waits for a
 *                               delivery in progress, so no event can
 *                               reach c once it is unregistered)
 *   vc_coproc_unregister(c);
 *   simcp_destroy(s);
 *
 * The coproc's pdata is the struct simcp; every other hook finds the
 * device through its context.  The hooks run with the coproc lock held and
 * take the device lock (coproc lock -> device lock); events come from the
 * device's thread or timer with no device lock held.
 */
#include "simcp_priv.h"

static void glue_event(void *opaque, uint32_t tag, enum vc_event ev)
{
	vc_coproc_event(opaque, tag, ev);
}

void simcp_attach(struct simcp *s, struct vc_coproc *c)
{
	pthread_mutex_lock(&s->lock);
	s->coproc = c;
	if (!s->own_sink) {
		/* A delivery in progress must not outlive the detach. */
		while (!c && s->delivering)
			pthread_cond_wait(&s->cond, &s->lock);
		s->sink = c ? glue_event : NULL;
		s->sink_opaque = c;
	}
	pthread_mutex_unlock(&s->lock);
}

void simcp_coproc_desc(struct simcp *s, const char *name, uint64_t mmio_base,
		       uint32_t irq, struct vc_coproc_desc *d)
{
	*d = (struct vc_coproc_desc){
		.name = name,
		.compatible = "vcoproc,simcp",
		.mmio = { { .base = mmio_base, .size = SIMCP_MMIO_SIZE } },
		.nr_mmio = 1,
		.irqs = { irq },
		.nr_irqs = 1,
		.ops = &simcp_platform_ops,
		.pdata = s,
		.switch_cost = simcp_switch_cost(s),
		.max_nonpreempt = s->max_nonpreempt,
		/* The longest legal command must neither look hung nor
		 * overrun a stop: both timeouts exceed it. */
		.hang_timeout = 2 * SIMCP_MAX_COMPUTE_NS,
		.stop_timeout = SIMCP_MAX_COMPUTE_NS + VC_MSEC(100),
	};
}

/* ---- hooks ----------------------------------------------------------- */

static int simcp_op_ctx_alloc(struct vc_coproc *c, uint32_t tag, void **ctx)
{
	struct simcp *s = vc_coproc_pdata(c);
	struct simcp_ctx *x;
	int err;

	if (!s)
		return -VC_ENODEV;
	err = simcp_ctx_alloc(s, tag, &x);
	if (err)
		return err;
	*ctx = x;
	return 0;
}

static void simcp_op_ctx_free(struct vc_coproc *c, void *ctx)
{
	simcp_ctx_free(ctx);
}

static int simcp_op_stop(struct vc_coproc *c, void *ctx, vc_time_t *retry_after)
{
	return simcp_stop(ctx, retry_after);
}

static int simcp_op_save(struct vc_coproc *c, void *ctx)
{
	return simcp_save(ctx);
}

static int simcp_op_iommu_switch(struct vc_coproc *c, const struct vc_iommu *io)
{
	struct simcp *s = vc_coproc_pdata(c);

	if (!s)
		return -VC_ENODEV;
	return simcp_set_iommu(s, io);
}

static int simcp_op_load(struct vc_coproc *c, void *ctx)
{
	return simcp_load(ctx);
}

static int simcp_op_start(struct vc_coproc *c, void *ctx)
{
	return simcp_start(ctx);
}

/* Whether loaded or not, simcp_reset() finds where @ctx's state lives. */
static int simcp_op_reset(struct vc_coproc *c, void *ctx, bool loaded)
{
	return simcp_reset(ctx);
}

static int simcp_op_mmio(struct vc_coproc *c, void *ctx, uint64_t off,
			 unsigned int size, bool write, uint64_t *val)
{
	return (int)simcp_mmio(ctx, off, size, write, val);
}

static bool simcp_op_has_work(struct vc_coproc *c, void *ctx)
{
	return simcp_has_work(ctx);
}

static uint64_t simcp_op_progress(struct vc_coproc *c, void *ctx)
{
	return simcp_progress(ctx);
}

static vc_time_t simcp_op_seen(struct vc_coproc *c)
{
	struct simcp *s = vc_coproc_pdata(c);

	return s ? simcp_seen(s) : vc_os_now();
}

/* The first command after a start begins once the save and load are done. */
static vc_time_t simcp_op_ready_at(struct vc_coproc *c)
{
	struct simcp *s = vc_coproc_pdata(c);
	vc_time_t t;

	if (!s)
		return vc_os_now();
	pthread_mutex_lock(&s->lock);
	t = s->busy_until;
	pthread_mutex_unlock(&s->lock);
	return t;
}

/*
 * mmio_forward and mmio_emulate share one implementation: simcp_mmio()
 * acts on the live registers exactly when @ctx is the context on the
 * device, so a forward that races a switch can never reach another
 * domain's state, and an emulated access sees what the device would show.
 */
const struct vc_platform_ops simcp_platform_ops = {
	.name = "simcp",
	.ctx_alloc = simcp_op_ctx_alloc,
	.ctx_free = simcp_op_ctx_free,
	.stop = simcp_op_stop,
	.save = simcp_op_save,
	.iommu_switch = simcp_op_iommu_switch,
	.load = simcp_op_load,
	.start = simcp_op_start,
	.reset = simcp_op_reset,
	.mmio_forward = simcp_op_mmio,
	.mmio_emulate = simcp_op_mmio,
	.has_work = simcp_op_has_work,
	.progress = simcp_op_progress,
	.seen = simcp_op_seen,
	.ready_at = simcp_op_ready_at,
};
