/* SPDX-License-Identifier: MIT */
/*
 * DOC: platform hooks
 *
 * The device-specific part of vcoproc.  A platform drives one kind of
 * physical coprocessor: it owns the per-vcoproc saved contexts, carries out
 * each step of a context switch, emulates the register window on a saved
 * context, and reports device events back with vc_coproc_event().
 *
 * Context-switch protocol, run by the framework with the coproc lock held:
 *
 *   stop(prev) -> save(prev) -> iommu_switch(next's domain) -> load(next)
 *   -> start(next)
 *
 * stop() may refuse (the device is in a non-preemptible section) and say
 * how long to wait; the switch is then abandoned, prev keeps running and
 * the scheduler is told.  stop() may also accept and finish later: the
 * device reaches a command boundary and the platform calls
 * vc_coproc_event(VC_EV_STOPPED); meanwhile prev is "switching out".
 *
 * Locking: every hook is called with the coproc lock held and must not
 * call into the framework.  vc_coproc_event() is called from the device's
 * own context (its thread, its timer), never from inside a hook, and
 * without platform locks that hooks take.
 *
 * Contexts are named to the framework by a 32-bit tag it hands to
 * ctx_alloc(); events carry that tag, so an event racing a switch or a
 * destroy always reaches the right vcoproc, or nobody.
 */
#ifndef VCOPROC_PLATFORM_H
#define VCOPROC_PLATFORM_H

#include "vcoproc.h"

struct vc_platform_ops {
	const char *name;

	/**
	 * ctx_alloc() - a fresh context for a new vcoproc, scrubbed (no data
	 * of an earlier user), in the device's reset state.  @tag names it in
	 * events.  Returns 0 and *@ctx (freed with ctx_free()), or -errno.
	 * Required.
	 */
	int (*ctx_alloc)(struct vc_coproc *c, uint32_t tag, void **ctx);

	/** ctx_free() - free a context that is not loaded.  Required. */
	void (*ctx_free)(struct vc_coproc *c, void *ctx);

	/**
	 * stop() - ask the device to stop the loaded @ctx at a command
	 * boundary.  Returns 0 when stopped now, -VC_EINPROGRESS when it will
	 * stop and report VC_EV_STOPPED, -VC_EAGAIN when refused (then
	 * *@retry_after holds how long to wait before asking again, > 0), or
	 * another -errno when the device failed (the framework resets @ctx).
	 * Idempotent while a stop is under way.  Required.
	 */
	int (*stop)(struct vc_coproc *c, void *ctx, vc_time_t *retry_after);

	/** save() - copy the stopped device's state into @ctx.  0 or -errno. Required. */
	int (*save)(struct vc_coproc *c, void *ctx);

	/**
	 * iommu_switch() - make the device's DMA go through @io (NULL: no
	 * DMA may succeed).  0 or -errno.  Required.
	 */
	int (*iommu_switch)(struct vc_coproc *c, const struct vc_iommu *io);

	/** load() - put @ctx's state on the stopped device.  0 or -errno. Required. */
	int (*load)(struct vc_coproc *c, void *ctx);

	/**
	 * start() - let the device run the loaded @ctx: it executes whatever
	 * work @ctx has and whatever the domain submits later, and reports
	 * VC_EV_IDLE when out of work.  0 or -errno.  Required.
	 */
	int (*start)(struct vc_coproc *c, void *ctx);

	/**
	 * reset() - recover @ctx from a hang: abort its work, leave an error
	 * status its driver can see, drop its pending work.  When @loaded the
	 * device must be left stopped with @ctx loaded.  Other contexts are
	 * untouched.  Returns 0 or -errno.  Required.
	 */
	int (*reset)(struct vc_coproc *c, void *ctx, bool loaded);

	/**
	 * mmio_forward() - an access by the domain whose @ctx is loaded, on
	 * the live device registers.  mmio_emulate() - the same on the saved
	 * @ctx: writes latch in @ctx and take effect when it is loaded; reads
	 * return what the device would.  @off is relative to the window.
	 * Return VC_IO_OK, VC_IO_WORK (handled, and the access may have given
	 * the device new work - a doorbell), or VC_IO_BAD (no such register
	 * or size; reads then yield all ones).  Required.
	 */
	int (*mmio_forward)(struct vc_coproc *c, void *ctx, uint64_t off,
			    unsigned int size, bool write, uint64_t *val);
	int (*mmio_emulate)(struct vc_coproc *c, void *ctx, uint64_t off,
			    unsigned int size, bool write, uint64_t *val);

	/**
	 * has_work() - @ctx has commands not yet completed (and is not
	 * halted by an error).  Required.
	 */
	bool (*has_work)(struct vc_coproc *c, void *ctx);

	/**
	 * progress() - a counter that grows whenever @ctx completes work
	 * (commands completed).  Drives hang detection and job statistics.
	 * Required.
	 */
	uint64_t (*progress)(struct vc_coproc *c, void *ctx);

	/**
	 * seen() - the latest time, on vc_os_now()'s clock, up to which the
	 * device has had the chance to work: its engine was running then, or
	 * was waiting for a later time of its own (a command's end).  Hang
	 * and stop timeouts count only time the device has seen, so a device
	 * the host does not run - its thread starved on a loaded machine - is
	 * not taken for hung, while one that runs and makes no progress is.
	 * Times after the caller's now are read as now.  Optional: NULL means
	 * the device sees all time (hardware, a model on virtual time).
	 */
	vc_time_t (*seen)(struct vc_coproc *c);

	/**
	 * ready_at() - the time, on vc_os_now()'s clock, at which the device
	 * is done with the switch steps it was last given (save, load) and
	 * the context started last begins to run.  The framework charges the
	 * incoming vcoproc from then: a switch's own cost falls on no
	 * vcoproc's budget or share (the coprocessor counts it in switch_ns),
	 * so a budget is time spent on the vcoproc's own work.  Times before
	 * the caller's now are read as now.  Optional: NULL means the steps
	 * take no device time of their own (they are done when the hooks
	 * return).
	 */
	vc_time_t (*ready_at)(struct vc_coproc *c);
};

/** Results of mmio_forward() / mmio_emulate(). */
enum vc_io {
	VC_IO_OK = 0,
	VC_IO_WORK = 1,
	VC_IO_BAD = 2,
};

/** Device events, see vc_coproc_event(). */
enum vc_event {
	VC_EV_IRQ,     /* the context raised its interrupt */
	VC_EV_IDLE,    /* the context ran out of work */
	VC_EV_STOPPED, /* an accepted stop() completed */
};

/**
 * vc_coproc_event() - report device event @ev for the context tagged @tag.
 * Called by the platform from the device's own context, never from inside a
 * hook; takes the coproc lock.  Events for a destroyed context are counted
 * as stale and dropped.
 */
void vc_coproc_event(struct vc_coproc *c, uint32_t tag, enum vc_event ev);

#endif /* VCOPROC_PLATFORM_H */
