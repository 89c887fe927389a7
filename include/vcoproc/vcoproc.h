/* SPDX-License-Identifier: MIT */
/*
 * DOC: vcoproc framework - public API for hosts
 *
 * A host (the KVM VMM, the simulator, a hypervisor) builds one framework
 * instance (struct vc_fw), registers its physical coprocessors with the
 * platform code that drives them, creates domains, and gives each domain
 * virtual coprocessors (vcoprocs) on the coprocessors it may use.
 *
 * From then on the framework time-slices every coprocessor between its
 * vcoprocs with that coprocessor's scheduling algorithm, routes register
 * accesses (vc_domain_mmio()) to the device or to the platform's emulation
 * on a saved context, and delivers the device's interrupts to the domain
 * owning the context that raised them (struct vc_host_ops.irq_raise).
 *
 * Ownership: every object returned here is owned by the framework and lives
 * until the matching destroy call.  Topology calls (register/unregister,
 * create/destroy, vc_fw_destroy) and the listing functions must be
 * serialized by the host; everything else (MMIO, events, parameters, stats,
 * trace) may be called concurrently from any thread.
 *
 * Lock order: fw->lock (topology) -> coproc->lock -> platform device locks.
 */
#ifndef VCOPROC_VCOPROC_H
#define VCOPROC_VCOPROC_H

#include "errno.h"
#include "os.h"
#include "util.h"

struct vc_fw;
struct vc_coproc;
struct vc_domain;
struct vc_vcoproc;
struct vc_platform_ops;

#define VC_NAME_MAX        32  /* names incl. NUL */
#define VC_COPROC_MAX_MMIO 4
#define VC_COPROC_MAX_IRQS 4
#define VC_PARAM_KEY_MAX   24
#define VC_PARAM_VAL_MAX   96
#define VC_VCOPROC_MAX_PARAMS 8

/* ---- host interface -------------------------------------------------- */

/** What the framework asks of the host. */
struct vc_host_ops {
	/**
	 * irq_raise() - raise interrupt @irq (a coprocessor IRQ number from its
	 * description) in the domain whose host handle is @host_dom.
	 * Edge semantics: one call per event.  Called with a coproc lock held:
	 * must not call back into the framework.  Required.
	 */
	void (*irq_raise)(void *host_dom, uint32_t irq);
};

/**
 * vc_fw_create() - a framework instance with no coprocessors.
 * @hops must outlive the instance.  Returns 0 and *@out (free with
 * vc_fw_destroy()), or -VC_ENOMEM / -VC_EINVAL.
 */
VC_MUST_CHECK int vc_fw_create(const struct vc_host_ops *hops, struct vc_fw **out);

/** vc_fw_destroy() - destroy every domain, then every coprocessor, then @fw. */
void vc_fw_destroy(struct vc_fw *fw);

/* ---- IOMMU contexts ------------------------------------------------------ */

/** One guest-physical range mapped to host memory. */
struct vc_iommu_region {
	uint64_t gpa;
	uint64_t size;
	void *hva;
	bool writable;
};

/**
 * A domain's IOMMU context: what its DMA may reach.  Owned by the host; it
 * must outlive the domain and must not change while the domain exists.
 */
struct vc_iommu {
	const struct vc_iommu_region *regions;
	unsigned int nr_regions;
};

/**
 * vc_iommu_translate() - host address of [@gpa, @gpa+@len) in @io, or NULL
 * when any byte of it lies outside one region (or the region is read-only
 * and @write).  A NULL @io translates nothing.
 */
void *vc_iommu_translate(const struct vc_iommu *io, uint64_t gpa, uint64_t len,
			 bool write);

/* ---- coprocessors ---------------------------------------------------- */

struct vc_mmio_range {
	uint64_t base;
	uint64_t size;
};

/** Description of a physical coprocessor; copied at registration. */
struct vc_coproc_desc {
	const char *name;       /* instance id, e.g. "gpu0"; unique */
	const char *compatible; /* e.g. "vcoproc,simcp" */
	const char *model;      /* what the device is, for people (an OpenCL
				 * device's name); NULL: nothing more to say */
	struct vc_mmio_range mmio[VC_COPROC_MAX_MMIO];
	unsigned int nr_mmio;
	uint32_t irqs[VC_COPROC_MAX_IRQS];
	unsigned int nr_irqs;
	const struct vc_platform_ops *ops; /* must outlive the coproc */
	void *pdata;                       /* platform's, see vc_coproc_pdata() */
	const char *sched;      /* algorithm name; NULL = "credit" */
	vc_time_t hang_timeout; /* no progress this long -> reset; 0 = 1 s */
	vc_time_t stop_timeout; /* accepted stop not done -> reset; 0 = 100 ms */
	/* Worst cases used by admission control (rtds): */
	vc_time_t switch_cost;     /* worst stop+save+load+start */
	vc_time_t max_nonpreempt;  /* longest non-preemptible section; a
				    * context refusing stops longer than this
				    * plus stop_timeout (hang_timeout plus
				    * stop_timeout when 0) is reset */
	/*
	 * Reserved for one domain (exclusive passthrough, core/passthrough.c):
	 * not shared, no algorithm (sched must be NULL or "passthrough"), one
	 * vcoproc whose context stays on the device while it exists.
	 */
	bool passthrough;
};

/**
 * vc_coproc_register() - add a physical coprocessor and start its
 * scheduler.  Returns 0 and *@out, -VC_EEXIST (name taken), -VC_ENOENT
 * (unknown algorithm), -VC_EINVAL or -VC_ENOMEM.
 */
VC_MUST_CHECK int vc_coproc_register(struct vc_fw *fw,
				     const struct vc_coproc_desc *desc,
				     struct vc_coproc **out);

/** vc_coproc_unregister() - remove @c; returns -VC_EBUSY while it has vcoprocs. */
int vc_coproc_unregister(struct vc_coproc *c);

/** vc_coproc_find() - the coprocessor named @name, or NULL. */
struct vc_coproc *vc_coproc_find(struct vc_fw *fw, const char *name);

const char *vc_coproc_name(const struct vc_coproc *c);
const char *vc_coproc_compatible(const struct vc_coproc *c);
/** vc_coproc_model() - desc.model ("" when none, at most 63 bytes). */
const char *vc_coproc_model(const struct vc_coproc *c);
void *vc_coproc_pdata(const struct vc_coproc *c);
const struct vc_coproc_desc *vc_coproc_desc(const struct vc_coproc *c);
/** vc_coproc_passthrough() - @c is reserved for one domain (desc.passthrough). */
bool vc_coproc_passthrough(const struct vc_coproc *c);

/**
 * vc_fw_coprocs() - fill @arr with up to @max coprocessors in registration
 * order; returns how many exist.
 */
unsigned int vc_fw_coprocs(struct vc_fw *fw, struct vc_coproc **arr, unsigned int max);

/** vc_coproc_vcoprocs() - likewise for the vcoprocs of @c, in creation order. */
unsigned int vc_coproc_vcoprocs(struct vc_coproc *c, struct vc_vcoproc **arr,
				unsigned int max);

/* ---- domains ----------------------------------------------------------- */

/**
 * vc_domain_create() - a domain with no vcoprocs.  @iommu (may be NULL:
 * no DMA at all) and @host_dom belong to the host and must outlive it.
 * Returns 0 and *@out, -VC_EEXIST (@domid taken), -VC_ENOMEM.
 */
VC_MUST_CHECK int vc_domain_create(struct vc_fw *fw, uint32_t domid, const char *name,
				   const struct vc_iommu *iommu, void *host_dom,
				   struct vc_domain **out);

/**
 * vc_domain_destroy() - destroy every vcoproc of @d (their contexts are
 * stopped, reset if they refuse, and freed), then @d.  Other domains go on.
 */
void vc_domain_destroy(struct vc_domain *d);

/** vc_domain_find() - the domain with id @domid, or NULL.  Takes fw->lock. */
struct vc_domain *vc_domain_find(struct vc_fw *fw, uint32_t domid);

/**
 * vc_domain_match() - whether @ref refers to @d, by the one rule every
 * "name or id" of the project follows (the control socket, the CLI, the
 * simulator, arinc653 frames): a @ref made only of decimal digits is a
 * domain id ("7", "007"; one above 2^32-1 matches no domain), anything else
 * is a name, compared exactly.  So a domain whose name is all digits is
 * reached by its id only (the xl.cfg parser refuses such names).  NULL or
 * empty @ref, or NULL @d: false.  Takes no lock: a domain's id and name
 * never change; @d must stay alive (see vc_domain_destroy()).
 */
bool vc_domain_match(const struct vc_domain *d, const char *ref);

/**
 * vc_domain_lookup() - the domain @ref refers to (vc_domain_match()), or
 * NULL.  Names need not be unique: when several domains share the name,
 * the one created first is returned.  Takes fw->lock; the domain is the
 * framework's and lives until vc_domain_destroy(), which the host
 * serializes with its own lookups.
 */
struct vc_domain *vc_domain_lookup(struct vc_fw *fw, const char *ref);

uint32_t vc_domain_id(const struct vc_domain *d);
const char *vc_domain_name(const struct vc_domain *d);

/**
 * vc_domain_mmio() - a register access by domain @d at guest-physical
 * @gpa.  Finds the vcoproc whose coprocessor window holds @gpa and hands
 * the access to the device (its context is loaded) or to the platform's
 * emulation on its saved context (it is not).  @size is 1, 2, 4 or 8.
 * A read stores the value in *@val.
 * Returns 0 when handled, -VC_ENOENT when no window of @d holds @gpa,
 * -VC_EINVAL for a bad size or offset (reads then return all ones).
 */
int vc_domain_mmio(struct vc_domain *d, uint64_t gpa, unsigned int size,
		   bool write, uint64_t *val);

/* ---- vcoprocs ---------------------------------------------------------- */

/** A "key=value" parameter. */
struct vc_param {
	char key[VC_PARAM_KEY_MAX];
	char val[VC_PARAM_VAL_MAX];
};

enum vc_vstate {
	VC_VS_SLEEPING,      /* no work */
	VC_VS_WAITING,       /* has work, context not on the device */
	VC_VS_RUNNING,       /* has work, context on the device and started */
	VC_VS_SWITCHING_OUT, /* has work, a stop of its context is under way */
};

/** vc_vstate_name() - "sleeping", "waiting", "running" or "switching-out". */
const char *vc_vstate_name(enum vc_vstate s);

/**
 * vc_vcoproc_create() - give domain @d a vcoproc on @c with the per-vcoproc
 * scheduling parameters @params[0..@nr_params) (e.g. weight=512).
 * The platform allocates a fresh, scrubbed context and the scheduler
 * admits the vcoproc.  Returns 0 and *@out, or the first error: -VC_EEXIST
 * (@d has one on @c), -VC_ENOENT (a key no built-in algorithm knows),
 * -VC_EINVAL (bad parameter, or any on a passthrough coprocessor), -VC_EBUSY
 * (@c is a passthrough coprocessor with an owner), -VC_ENOSPC (admission
 * refused), -VC_ENOMEM,
 * or the platform's error; nothing is left behind.  Keys another
 * algorithm knows are kept for when @c switches to it.  When @refused is
 * not NULL it says which parameter failed: on -VC_ENOENT or -VC_EINVAL
 * the index in @params of the key that is unknown, malformed or whose
 * value the algorithm refused, else (and when no single one is at fault)
 * -1.
 */
VC_MUST_CHECK int vc_vcoproc_create(struct vc_domain *d, struct vc_coproc *c,
				    const struct vc_param *params,
				    unsigned int nr_params, struct vc_vcoproc **out,
				    int *refused);

/** vc_vcoproc_destroy() - stop (or reset) and free @v; the others go on. */
void vc_vcoproc_destroy(struct vc_vcoproc *v);

uint32_t vc_vcoproc_id(const struct vc_vcoproc *v);
struct vc_domain *vc_vcoproc_domain(const struct vc_vcoproc *v);
struct vc_coproc *vc_vcoproc_coproc(const struct vc_vcoproc *v);
enum vc_vstate vc_vcoproc_state(struct vc_vcoproc *v);

/* ---- scheduling control --------------------------------------------------- */

/**
 * vc_coproc_sched_set() - switch @c to algorithm @algo at run time.  Every
 * vcoproc and its work is kept; per-vcoproc parameters the new algorithm
 * knows are taken from each vcoproc's parameter list, and the instance
 * parameters given to @algo before (vc_coproc_param_set(), e.g. from the
 * device tree) are set again, so a round trip through other algorithms
 * keeps them; an algorithm @c never ran starts at its defaults.  Returns
 * 0, -VC_ENOENT (unknown algorithm), -VC_EPERM (@c is a passthrough
 * coprocessor), -VC_ENOSPC (admission refused: the
 * old algorithm stays), -VC_ENOMEM, or the error of a remembered parameter
 * @algo refuses now.
 */
int vc_coproc_sched_set(struct vc_coproc *c, const char *algo);

/** vc_coproc_sched_name() - name of @c's current algorithm. */
const char *vc_coproc_sched_name(struct vc_coproc *c);

/**
 * vc_coproc_param_set() - set algorithm parameter @key of @c (e.g.
 * slice=10ms).  An accepted value is remembered for the current algorithm
 * (see vc_coproc_sched_set()).  Returns 0, -VC_ENOENT (unknown key),
 * -VC_EINVAL (bad value), -VC_ENOSPC (rejected by admission control),
 * -VC_E2BIG (too many parameters remembered), -VC_ENOMEM.
 */
int vc_coproc_param_set(struct vc_coproc *c, const char *key, const char *val);

/**
 * vc_coproc_params() - up to @max current algorithm parameters of @c;
 * returns how many the algorithm has.
 */
unsigned int vc_coproc_params(struct vc_coproc *c, struct vc_param *out, unsigned int max);

/**
 * vc_vcoproc_param_set() - set per-vcoproc parameter @key (e.g. weight=512)
 * for the current algorithm, and keep it in @v's list for later ones.
 * Returns as vc_coproc_param_set(); -VC_ENOSPC also when the list is full,
 * -VC_E2BIG when @key or @val is too long.
 */
int vc_vcoproc_param_set(struct vc_vcoproc *v, const char *key, const char *val);

/** vc_vcoproc_params() - as vc_coproc_params(), for @v under the current algorithm. */
unsigned int vc_vcoproc_params(struct vc_vcoproc *v, struct vc_param *out, unsigned int max);

/** A whole device, in the parts per billion of struct vc_share. */
#define VC_SHARE_ONE 1000000000u

/**
 * What a vcoproc is entitled to while every vcoproc of its coprocessor has
 * work, from its algorithm's current parameters, in parts per billion
 * (VC_SHARE_ONE = 1.0):
 *   credit    weight / total weight; a capped vcoproc gets no more than its
 *             cap, and what it leaves is shared by the others' weights
 *   rr        1 / number of vcoprocs
 *   rtds      budget / period
 *   arinc653  the time of its domain's windows / the major frame
 */
struct vc_share {
	/* Of all the device's time; the shares of a coprocessor sum to at
	 * most VC_SHARE_ONE (less when the algorithm lets the device idle). */
	uint32_t device_ppb;
	/* Of the time the device runs this coprocessor's vcoprocs:
	 * device_ppb over the sum of every vcoproc's, so these sum to
	 * VC_SHARE_ONE (0 all round when that sum is 0).  This is what a
	 * measured share - run_ns over all the vcoprocs' run_ns - is compared
	 * with. */
	uint32_t run_ppb;
};

/**
 * vc_vcoproc_expected_share() - *@out for @v (see struct vc_share), taken
 * under the coproc lock with the algorithm's expected_share() hook.  It
 * follows every change of parameters or of algorithm at once.  Returns 0,
 * or -VC_ENOENT when the algorithm promises no definite share (*@out is
 * then zeroed).
 */
int vc_vcoproc_expected_share(struct vc_vcoproc *v, struct vc_share *out);

/**
 * vc_coproc_expected_shares() - vc_vcoproc_expected_share() of every
 * vcoproc of @c at one instant: the first @max vcoprocs in creation order
 * into @vs[] and their shares into @out[].  Returns how many vcoprocs @c
 * has (as vc_coproc_vcoprocs()), -VC_ENOENT as above, or -VC_ENOMEM.
 */
int vc_coproc_expected_shares(struct vc_coproc *c, struct vc_vcoproc **vs,
			      struct vc_share *out, unsigned int max);

/**
 * vc_coproc_dump() - the scheduler's human-readable state of @c.
 * Returns 0 or the printer's first error.
 */
int vc_coproc_dump(struct vc_coproc *c, struct vc_printer *p);

/* ---- statistics ----------------------------------------------------------- */

/*
 * The counters of struct vc_vcoproc_stats, listed once, as
 * X(type, name, what): every serializer - the control socket (ctl/), the
 * simulator's JSON (sim/), the CLI (cli/) - is generated from this list, and
 * the field's name is its key everywhere.  Times are ns.
 */
#define VC_VCOPROC_STATS(X)                                                            \
	X(vc_time_t, run_ns, "device time while it had work")                          \
	X(uint64_t, switches_in, "times its context was loaded")                       \
	X(uint64_t, switches_out, "times its context was saved")                       \
	X(uint64_t, refusals, "stops of its context the device refused")               \
	X(vc_time_t, refusal_wait_ns, "time from a first refusal to the switch")       \
	X(uint64_t, mmio_emulated, "accesses emulated on its saved context")           \
	X(uint64_t, mmio_forwarded, "accesses forwarded to the device")                \
	X(uint64_t, irqs, "interrupts delivered to its domain")                        \
	X(uint64_t, jobs, "commands the device completed for it")                      \
	X(uint64_t, resets, "hang resets")                                             \
	X(uint64_t, wakeups, "times it got work")                                      \
	X(uint64_t, deadline_misses, "kept by deadline-aware algorithms")              \
	X(vc_time_t, jitter_ns, "late starts, summed (arinc653)")                      \
	X(vc_time_t, jitter_max_ns, "the latest start (arinc653)")

/*
 * The counters of struct vc_coproc_stats, listed once, as
 * VC_VCOPROC_STATS() is.
 */
#define VC_COPROC_STATS(X)                                                             \
	X(vc_time_t, uptime_ns, "since registration")                                  \
	X(vc_time_t, busy_ns, "a vcoproc with work was loaded")                        \
	X(uint64_t, decisions, "do_schedule() calls")                                  \
	X(vc_time_t, decision_ns, "OS time spent in do_schedule()")                    \
	X(uint64_t, switches, "completed context switches")                            \
	X(uint64_t, refusals, "stops the device refused")                              \
	X(vc_time_t, refusal_wait_ns, "time from first refusals to the switches")      \
	X(vc_time_t, switch_lat_total_ns, "decision to new context started, summed")   \
	X(vc_time_t, switch_lat_max_ns, "the longest of those")                        \
	X(vc_time_t, switch_ns, "device time in save and load, charged to no vcoproc") \
	X(uint64_t, mmio_emulated, "accesses emulated on saved contexts")              \
	X(uint64_t, mmio_forwarded, "accesses forwarded to the device")                \
	X(uint64_t, irqs, "interrupts delivered")                                      \
	X(uint64_t, resets, "contexts reset")                                          \
	X(uint64_t, stale_events, "events for contexts that no longer exist")

/* A struct member of a VC_*_STATS() entry. */
#define VC_STATS_MEMBER(type, name, what) type name;

/** A snapshot of one vcoproc's counters (VC_VCOPROC_STATS()); times in ns. */
struct vc_vcoproc_stats {
	enum vc_vstate state;
	bool loaded;            /* its context is on the device */
	VC_VCOPROC_STATS(VC_STATS_MEMBER)
};

/** A snapshot of one coprocessor's counters (VC_COPROC_STATS()). */
struct vc_coproc_stats {
	VC_COPROC_STATS(VC_STATS_MEMBER)
	unsigned int nr_vcoprocs;
};

/**
 * VC_VCOPROC_STAT_KEY() - the key of counter @name of struct
 * vc_vcoproc_stats, "name", for code that reads serialized counters back:
 * it does not compile unless @name is a field of the struct.
 */
#define VC_VCOPROC_STAT_KEY(name) \
	((void)sizeof(((struct vc_vcoproc_stats *)0)->name), #name)

/** VC_COPROC_STAT_KEY() - likewise for struct vc_coproc_stats. */
#define VC_COPROC_STAT_KEY(name) \
	((void)sizeof(((struct vc_coproc_stats *)0)->name), #name)

void vc_vcoproc_stats(struct vc_vcoproc *v, struct vc_vcoproc_stats *out);
void vc_coproc_stats(struct vc_coproc *c, struct vc_coproc_stats *out);

/* ---- event trace ---------------------------------------------------------- */

/**
 * vc_coproc_trace_enable() - start (clearing the buffer) or stop recording
 * @c's decisions, switches, refusals and interrupts into a ring of
 * @capacity events (0 = 65536; older events are overwritten).
 * Returns 0 or -VC_ENOMEM.
 */
int vc_coproc_trace_enable(struct vc_coproc *c, bool on, unsigned int capacity);

/**
 * vc_coproc_trace_export() - write the recorded events as Chrome
 * trace-event JSON (opens in Perfetto and chrome://tracing): one track
 * per vcoproc with its run intervals, instant events for refusals,
 * interrupts, resets and decisions.  Returns 0 or the printer's error.
 */
int vc_coproc_trace_export(struct vc_coproc *c, struct vc_printer *p);

/**
 * vc_coproc_trace_export_max() - vc_coproc_trace_export() of at most @max
 * bytes (0: no limit): rendering stops, under the coprocessor lock, as
 * soon as the export would be longer, and nothing is written to @p.
 * Returns 0, -VC_E2BIG (longer than @max) or the printer's error.
 */
int vc_coproc_trace_export_max(struct vc_coproc *c, struct vc_printer *p, size_t max);

#endif /* VCOPROC_VCOPROC_H */
