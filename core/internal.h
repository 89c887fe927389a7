/* SPDX-License-Identifier: MIT */
/*
 * Framework internals: the objects behind the opaque public types, and the
 * inline wrappers through which the core calls every scheduler and platform
 * hook.  Only core/ includes this file (and the white-box tests); algorithms
 * use include/vcoproc/sched.h.
 *
 * Locking (outermost first):
 *   fw->lock       coprocessor and domain lists
 *   dom->lock      the domain's vcoproc list (held across an MMIO dispatch)
 *   coproc->lock   everything under "protected by coproc->lock" below; all
 *                  scheduler and platform hooks run under it
 *   platform locks inside the hooks
 * Host callbacks (irq_raise) are called with coproc->lock held.
 * Functions documented "lock held" assert it (VC_ASSERT_LOCKED(), debug
 * builds).
 */
#ifndef VCOPROC_CORE_INTERNAL_H
#define VCOPROC_CORE_INTERNAL_H

#include <vcoproc/platform.h>
#include <vcoproc/sched.h>
#include <vcoproc/vcoproc.h>

/* The tag handed to the platform: generation << VC_TAG_SLOT_BITS | slot. */
#define VC_TAG_SLOT_BITS 12
#define VC_MAX_VCOPROCS_PER_COPROC (1u << VC_TAG_SLOT_BITS) /* 4096 */
#define VC_TAG_GEN_BITS (32 - VC_TAG_SLOT_BITS) /* a slot is reused 2^20 times before a tag repeats */

enum vc_cstate {
	VC_CS_READY,    /* no switch under way */
	VC_CS_STOPPING, /* an accepted stop is under way */
};

struct vc_fw {
	const struct vc_host_ops *hops;
	struct vc_os_lock *lock;
	struct vc_list coprocs; /* protected by lock */
	struct vc_list domains; /* protected by lock */
	uint32_t next_vcoproc_id;
};

struct vc_trace_ev {
	vc_time_t ts;
	uint32_t vid;  /* vcoproc id, 0 = the coprocessor */
	uint16_t type; /* enum vc_trace_type */
	uint16_t pad;
	uint64_t arg;
};

enum vc_trace_type {
	VC_TR_RUN_BEGIN,   /* vid's context started running work */
	VC_TR_RUN_END,     /* vid stopped running work */
	VC_TR_DECIDE,      /* arg: chosen vid (0 none) */
	VC_TR_REFUSE,      /* arg: retry_after */
	VC_TR_SWITCH,      /* arg: latency */
	VC_TR_IRQ,
	VC_TR_WAKE,
	VC_TR_SLEEP,
	VC_TR_RESET,
};

struct vc_trace {
	struct vc_trace_ev *ev; /* ring of cap events */
	unsigned int cap;
	uint64_t head;          /* events ever recorded */
	bool on;
};

/*
 * The most instance parameters a coprocessor remembers, over all its
 * algorithms: more than the built-in algorithms have keys together.
 */
#define VC_COPROC_MAX_INST_PARAMS 16

/* An instance parameter given to one algorithm, kept for its next instance. */
struct vc_inst_param {
	const struct vc_sched_ops *ops; /* the algorithm it was given to */
	char *kv;                       /* "key\0val", vc_os_zalloc()ed */
};

struct vc_coproc {
	struct vc_fw *fw;
	struct vc_list node;            /* in fw->coprocs */
	struct vc_coproc_desc desc;     /* name/compatible point into names below */
	char name[VC_NAME_MAX];
	char compatible[64];
	char model[64];                 /* desc.model, cut to fit */

	struct vc_os_lock *lock;
	struct vc_os_timer *timer;

	/* Everything below is protected by lock. */
	struct vc_sched sched;
	struct vc_list vcoprocs;        /* in creation order */
	struct vc_vcoproc *slots[VC_MAX_VCOPROCS_PER_COPROC];
	uint32_t slot_gen[VC_MAX_VCOPROCS_PER_COPROC]; /* VC_TAG_GEN_BITS used */
	unsigned int nr_vcoprocs;

	struct vc_vcoproc *curr;        /* context on the device, or NULL */
	struct vc_vcoproc *pending;     /* next, while STOPPING */
	enum vc_cstate cstate;
	bool dev_started;               /* curr's context was started */
	vc_time_t decided_at;           /* decision the pending switch serves */
	vc_time_t refused_since;        /* first refusal of the pending decision, 0 none */

	vc_time_t sched_deadline;       /* next do_schedule(), VC_TIME_INF none */
	vc_time_t watch_deadline;       /* next hang check, VC_TIME_INF none */
	vc_time_t stop_deadline;        /* accepted stop must be done by */
	bool redecide;                  /* asked to decide while STOPPING: decide
					 * again when the stop completes */
	vc_time_t stop_seen_ns;         /* device time seen since it was accepted */
	vc_time_t stop_check;           /* when stop_seen_ns was last brought up */
	vc_time_t armed;                /* deadline the timer is armed for */
	bool dead;                      /* unregistering: the timer stays disarmed */

	struct vc_coproc_stats stats;
	vc_time_t registered_at;
	struct vc_trace trace;

	/*
	 * Instance parameters accepted by vc_coproc_param_set(), the last
	 * value of each key per algorithm, in the order first given: a new
	 * instance of that algorithm gets them again (vc_coproc_sched_set).
	 */
	struct vc_inst_param inst[VC_COPROC_MAX_INST_PARAMS];
	unsigned int nr_inst;
};

struct vc_domain {
	struct vc_fw *fw;
	struct vc_list node;           /* in fw->domains */
	uint32_t domid;
	char name[VC_NAME_MAX];
	const struct vc_iommu *iommu;
	void *host_dom;
	struct vc_os_lock *lock;       /* vcoprocs; taken before coproc->lock */
	struct vc_list vcoprocs;       /* protected by lock (and fw->lock for writers) */
};

struct vc_vcoproc {
	uint32_t id;                   /* unique in the framework, >= 1 */
	uint32_t tag;                  /* the platform's name for ctx */
	unsigned int slot;
	struct vc_coproc *coproc;
	struct vc_domain *dom;
	struct vc_list cnode;          /* in coproc->vcoprocs (coproc->lock) */
	struct vc_list dnode;          /* in dom->vcoprocs (dom->lock) */
	void *ctx;                     /* platform's saved context */

	/* Protected by coproc->lock. */
	void *sched_priv;
	enum vc_vstate state;
	bool has_work;                 /* woken and not yet asleep */
	struct vc_param params[VC_VCOPROC_MAX_PARAMS];
	unsigned int nr_params;
	int refused_param;             /* vc_vcoproc_param_refused(): index, or -1 */

	bool accounting;               /* running: device time is charged to it */
	vc_time_t run_since;           /* charged up to here while accounting */
	vc_time_t refused_since;       /* first refusal of its stop, 0 none */
	uint64_t last_progress;        /* at the last hang check */
	vc_time_t stalled_ns;          /* running time without progress */
	vc_time_t last_check;
	uint64_t progress_base;        /* progress() at creation (stats.jobs) */

	struct vc_vcoproc_stats stats;
};

/* ---- hook wrappers (Xen style) --------------------------------------- */

/*
 * The core calls every scheduler and platform hook through these wrappers,
 * never through the ops table directly: each asserts the coproc lock the
 * hooks run under, and an optional hook is tested for NULL here, so callers
 * never test hooks themselves.  The return contracts are those of the hooks
 * (include/vcoproc/sched.h, include/vcoproc/platform.h).
 */

static inline int sched_init(struct vc_sched *s)
{
	VC_ASSERT_LOCKED(s->coproc->lock);
	return s->ops->init(s);
}

static inline void sched_deinit(struct vc_sched *s)
{
	VC_ASSERT_LOCKED(s->coproc->lock);
	s->ops->deinit(s);
}

static inline int sched_alloc_vdata(struct vc_sched *s, struct vc_vcoproc *v, void **vdata)
{
	VC_ASSERT_LOCKED(s->coproc->lock);
	return s->ops->alloc_vdata(s, v, vdata);
}

static inline void sched_free_vdata(struct vc_sched *s, struct vc_vcoproc *v, void *vdata)
{
	VC_ASSERT_LOCKED(s->coproc->lock);
	s->ops->free_vdata(s, v, vdata);
}

static inline bool sched_wake(struct vc_sched *s, struct vc_vcoproc *v, vc_time_t now)
{
	VC_ASSERT_LOCKED(s->coproc->lock);
	return s->ops->wake(s, v, now);
}

static inline void sched_sleep(struct vc_sched *s, struct vc_vcoproc *v, vc_time_t now)
{
	VC_ASSERT_LOCKED(s->coproc->lock);
	s->ops->sleep(s, v, now);
}

/* A zero @ran is not charged. */
static inline void sched_charge(struct vc_sched *s, struct vc_vcoproc *v,
				vc_time_t ran, vc_time_t now)
{
	VC_ASSERT_LOCKED(s->coproc->lock);
	if (s->ops->charge && ran)
		s->ops->charge(s, v, ran, now);
}

static inline struct vc_sched_decision sched_do_schedule(struct vc_sched *s, vc_time_t now,
							 struct vc_vcoproc *curr)
{
	VC_ASSERT_LOCKED(s->coproc->lock);
	return s->ops->do_schedule(s, now, curr);
}

static inline void sched_switch_result(struct vc_sched *s, struct vc_vcoproc *prev,
				       struct vc_vcoproc *next, int result,
				       vc_time_t retry_after, vc_time_t now)
{
	VC_ASSERT_LOCKED(s->coproc->lock);
	if (s->ops->switch_result)
		s->ops->switch_result(s, prev, next, result, retry_after, now);
}

/* Without a set_param() hook every key is unknown: -VC_ENOENT. */
static inline int sched_set_param(struct vc_sched *s, struct vc_vcoproc *v,
				  const char *key, const char *val)
{
	VC_ASSERT_LOCKED(s->coproc->lock);
	if (!s->ops->set_param)
		return -VC_ENOENT;
	return s->ops->set_param(s, v, key, val);
}

static inline unsigned int sched_get_params(struct vc_sched *s, struct vc_vcoproc *v,
					    struct vc_param *out, unsigned int max)
{
	VC_ASSERT_LOCKED(s->coproc->lock);
	if (!s->ops->get_params)
		return 0;
	return s->ops->get_params(s, v, out, max);
}

static inline void sched_dump(struct vc_sched *s, struct vc_printer *p)
{
	VC_ASSERT_LOCKED(s->coproc->lock);
	if (s->ops->dump)
		s->ops->dump(s, p);
}

/* Without an expected_share() hook the algorithm promises nothing: -VC_ENOENT. */
static inline int sched_expected_share(struct vc_sched *s, struct vc_vcoproc *v,
				       uint32_t *ppb)
{
	VC_ASSERT_LOCKED(s->coproc->lock);
	if (!s->ops->expected_share)
		return -VC_ENOENT;
	return s->ops->expected_share(s, v, ppb);
}

/* The host's interrupt hook (required, vc_fw_create() checks), under c->lock. */
static inline void fw_irq_raise(struct vc_coproc *c, struct vc_domain *d, uint32_t irq)
{
	VC_ASSERT_LOCKED(c->lock);
	c->fw->hops->irq_raise(d->host_dom, irq);
}

/* Platform hooks: all required (vc_coproc_register() checks), all under c->lock. */

static inline const struct vc_platform_ops *plat_ops(const struct vc_coproc *c)
{
	VC_ASSERT_LOCKED(c->lock);
	return c->desc.ops;
}

static inline int plat_ctx_alloc(struct vc_coproc *c, uint32_t tag, void **ctx)
{
	return plat_ops(c)->ctx_alloc(c, tag, ctx);
}

static inline void plat_ctx_free(struct vc_coproc *c, void *ctx)
{
	plat_ops(c)->ctx_free(c, ctx);
}

static inline int plat_stop(struct vc_coproc *c, void *ctx, vc_time_t *retry_after)
{
	return plat_ops(c)->stop(c, ctx, retry_after);
}

static inline int plat_save(struct vc_coproc *c, void *ctx)
{
	return plat_ops(c)->save(c, ctx);
}

static inline int plat_iommu_switch(struct vc_coproc *c, const struct vc_iommu *io)
{
	return plat_ops(c)->iommu_switch(c, io);
}

static inline int plat_load(struct vc_coproc *c, void *ctx)
{
	return plat_ops(c)->load(c, ctx);
}

static inline int plat_start(struct vc_coproc *c, void *ctx)
{
	return plat_ops(c)->start(c, ctx);
}

static inline int plat_reset(struct vc_coproc *c, void *ctx, bool loaded)
{
	return plat_ops(c)->reset(c, ctx, loaded);
}

static inline int plat_mmio_forward(struct vc_coproc *c, void *ctx, uint64_t off,
				    unsigned int size, bool write, uint64_t *val)
{
	return plat_ops(c)->mmio_forward(c, ctx, off, size, write, val);
}

static inline int plat_mmio_emulate(struct vc_coproc *c, void *ctx, uint64_t off,
				    unsigned int size, bool write, uint64_t *val)
{
	return plat_ops(c)->mmio_emulate(c, ctx, off, size, write, val);
}

static inline bool plat_has_work(struct vc_coproc *c, void *ctx)
{
	return plat_ops(c)->has_work(c, ctx);
}

static inline uint64_t plat_progress(struct vc_coproc *c, void *ctx)
{
	return plat_ops(c)->progress(c, ctx);
}

/* The time up to which the device has had the chance to work, at most @now. */
static inline vc_time_t plat_seen(struct vc_coproc *c, vc_time_t now)
{
	vc_time_t t = plat_ops(c)->seen ? plat_ops(c)->seen(c) : now;

	return t < now ? t : now;
}

static inline vc_time_t plat_ready_at(struct vc_coproc *c, vc_time_t now)
{
	vc_time_t t = plat_ops(c)->ready_at ? plat_ops(c)->ready_at(c) : now;

	return t > now ? t : now;
}

/* ---- core-internal functions ---------------------------------------- */

/* core/trace.c; c->lock held */
void vc_trace_record(struct vc_coproc *c, enum vc_trace_type type, uint32_t vid,
		     uint64_t arg);
void vc_trace_free(struct vc_trace *t);

/* core/domain.c, core/vcoproc.c; fw->lock held */
struct vc_domain *vc_domain_find_locked(struct vc_fw *fw, uint32_t domid);

/* core/schedctl.c; c->lock held */
int vc_sched_instance_init(struct vc_sched *s, struct vc_coproc *c,
			   const struct vc_sched_ops *ops);
/* core/schedctl.c; @c is unregistered (no lock needed) */
void vc_coproc_inst_params_free(struct vc_coproc *c);

#endif /* VCOPROC_CORE_INTERNAL_H */
