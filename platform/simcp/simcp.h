/* SPDX-License-Identifier: MIT */
/*
 * DOC: simcp device model and platform glue - API for hosts and tests
 *
 * simcp is the reference coprocessor: a simulated device that executes
 * real commands (copy, fill, hash, compute, ...) on guest memory reached
 * through the running domain's IOMMU context, with a modeled duration per
 * command.  See simcp_hw.h for what a driver sees and docs/simcp.md for
 * the prose.
 *
 * A host creates a device with simcp_create(), registers it with the
 * framework using a description filled in by simcp_coproc_desc() (its
 * platform ops are simcp_platform_ops, its pdata the struct simcp), and
 * connects the two with simcp_attach() so that device events reach
 * vc_coproc_event().  Tests may instead drive the device directly through
 * the simcp_ctx_*() and simcp_*() calls below and receive events through
 * simcp_config.event.
 *
 * Execution back-ends, chosen at creation:
 *   SIMCP_MODE_VTIME   no thread; command retirement is scheduled with
 *                      vc_os_timer_*() on the OS layer's clock, which is
 *                      virtual time when linked with os/vtime.c.
 *   SIMCP_MODE_THREAD  a device thread does each command's work and then
 *                      sleeps on CLOCK_MONOTONIC until its modeled end.
 *
 * Locking: every function here takes the device lock itself, none calls
 * back into the caller, and all may be called from an event callback (the
 * framework calls the hooks while it handles an event) except
 * simcp_attach(s, NULL) and simcp_destroy(), which wait for the device's
 * own context.  Events are delivered from the device's own context (its
 * thread or its timer) without the device lock held.  Lock order: coproc
 * lock -> device lock.
 */
#ifndef SIMCP_H
#define SIMCP_H

#include <vcoproc/platform.h>

#include <hw/simcp_hw.h>

struct simcp;
struct simcp_ctx;

/* How long a device that refused a stop waits at the next boundary. */
#define SIMCP_STOP_HOLD_DEFAULT_NS VC_USEC(50)

enum simcp_mode {
	SIMCP_MODE_VTIME = 0,
	SIMCP_MODE_THREAD = 1,
};

/**
 * struct simcp_timing - the timing model.  Every command costs
 * @cmd_overhead_ns plus its data cost: bytes / bandwidth (rounded up to a
 * whole ns), or @a ns for COMPUTE.  A save, load or scrub costs
 * @switch_fixed_ns plus the bytes it moves (registers, key slots in use,
 * dirty bitmap, dirty scratch pages) at @ctx_bw.  A zero field means its
 * default.  Bandwidths are bytes per second.
 */
struct simcp_timing {
	vc_time_t cmd_overhead_ns; /* per command: 100 ns */
	uint64_t mem_bw;           /* COPY, FILL, LOAD, STORE: 4 GB/s */
	uint64_t crc32c_bw;        /* HASH CRC32C: 2 GB/s */
	uint64_t sha256_bw;        /* HASH SHA256: 0.5 GB/s */
	uint64_t aes_bw;           /* AES_CBC, both directions: 1 GB/s */
	uint64_t ctx_bw;           /* save, load, scrub of a context: 8 GB/s */
	vc_time_t wait_poll_ns;    /* WAIT re-polls: 1 us (vtime), 20 us (thread) */
	/*
	 * Fixed cost of each save, load and scrub besides the bytes it moves
	 * at ctx_bw (bookkeeping, pipeline drain).  0: none (the default).
	 */
	vc_time_t switch_fixed_ns;
};

#define SIMCP_DEF_CMD_OVERHEAD_NS 100
#define SIMCP_DEF_MEM_BW          4000000000ull
#define SIMCP_DEF_CRC32C_BW       2000000000ull
#define SIMCP_DEF_SHA256_BW       500000000ull
#define SIMCP_DEF_AES_BW          1000000000ull
#define SIMCP_DEF_CTX_BW          8000000000ull
#define SIMCP_DEF_WAIT_POLL_VTIME_NS  1000
#define SIMCP_DEF_WAIT_POLL_THREAD_NS 20000

/**
 * simcp_event_fn - receives device event @ev of the context tagged @tag.
 * Called from the device's thread or timer, never with the device lock
 * held and never from inside a simcp call.
 */
typedef void (*simcp_event_fn)(void *opaque, uint32_t tag, enum vc_event ev);

struct simcp_config {
	enum simcp_mode mode;
	struct simcp_timing timing;
	/*
	 * The bound on a non-preemptible section (one command flagged
	 * SIMCP_F_NOPREEMPT, or a chain of them linked by SIMCP_F_CHAIN), in
	 * modeled time, command overheads included.  Enforced by the device:
	 * a command that would take its section past it is not run but
	 * faults with SIMCP_FAULT_NONPREEMPT.  Reported as it is for
	 * admission control by simcp_coproc_desc().  0: the device enforces
	 * SIMCP_MAX_COMPUTE_NS plus one command overhead (the longest
	 * COMPUTE) and reports 0 (the framework's default then applies).
	 */
	vc_time_t max_nonpreempt;
	/*
	 * After refusing a stop, begin no new command until this long past
	 * the end of the section that refused it, so that the retry finds the
	 * device at a boundary even when more SIMCP_F_NOPREEMPT commands
	 * follow: a guest cannot hold the device by queueing flagged
	 * commands back to back, only with one chain up to the bound.  0: the
	 * default, SIMCP_STOP_HOLD_DEFAULT_NS.
	 */
	vc_time_t stop_hold_ns;
	/*
	 * Bytes of scratch memory per context: a multiple of 4 KiB (the page
	 * of dirty tracking) from 4 KiB to 16 MiB; anything else makes
	 * simcp_create() fail with -VC_EINVAL.  0: SIMCP_SCRATCH_SIZE
	 * (64 KiB).  REG_SCRATCH_SIZE reports it.
	 */
	uint32_t ctx_size;
	/* Event sink; NULL: vc_coproc_event() of the attached coproc. */
	simcp_event_fn event;
	void *event_opaque;
};

/** Counters of one device since creation. */
struct simcp_stats {
	uint64_t cmds;          /* commands completed */
	uint64_t faults;        /* commands that faulted */
	uint64_t saves, loads, resets;
	uint64_t events;        /* events delivered */
	uint64_t events_dropped; /* no sink, or the queue overflowed */
	vc_time_t busy_ns;      /* modeled time spent executing commands */
	uint64_t ctx_bytes_moved; /* bytes moved by saves and loads (what they cost) */
	vc_time_t ctx_move_ns;  /* modeled time of those saves and loads */
};

/* ---- device ----------------------------------------------------------- */

/**
 * simcp_create() - a device with nothing loaded.  @cfg is copied.
 * Returns 0 and *@out (freed with simcp_destroy()), -VC_EINVAL (bad mode
 * or ctx_size),
 * -VC_ENOMEM, or -VC_EAGAIN when the device thread cannot be started.
 */
VC_MUST_CHECK int simcp_create(const struct simcp_config *cfg, struct simcp **out);

/**
 * simcp_destroy() - stop the device and free it.  Every context must have
 * been freed and the device detached (or its coproc unregistered).
 * NULL is ignored.
 */
void simcp_destroy(struct simcp *s);

/**
 * simcp_attach() - connect @s to the framework coprocessor @c registered
 * with simcp_coproc_desc(): events then go to vc_coproc_event(@c, ...)
 * unless the config named its own sink.  @c == NULL detaches, waiting for
 * an event delivery in progress to return.
 */
void simcp_attach(struct simcp *s, struct vc_coproc *c);

/**
 * simcp_coproc_desc() - fill @d for vc_coproc_register(): @name, one MMIO
 * window of SIMCP_MMIO_SIZE at @mmio_base, one interrupt @irq, ops
 * simcp_platform_ops, pdata @s, and the worst-case figures for admission
 * control (simcp_switch_cost(), the configured max_nonpreempt).  The
 * scheduler and timeouts are left 0/NULL (framework defaults).
 */
void simcp_coproc_desc(struct simcp *s, const char *name, uint64_t mmio_base,
		       uint32_t irq, struct vc_coproc_desc *d);

/**
 * simcp_switch_cost() - modeled worst cost of a context switch once the
 * device is at a command boundary: save + load of whole contexts (every
 * key slot, every scratch page dirty; stop and start cost nothing more).
 * A switch of contexts that wrote less costs less.  Waiting for the
 * boundary is bounded by the longest command, or the longest
 * non-preemptible section, which the device bounds by max_nonpreempt.
 */
vc_time_t simcp_switch_cost(const struct simcp *s);

/** simcp_timing() - the timing model in use, defaults filled in. */
void simcp_timing(const struct simcp *s, struct simcp_timing *out);

/**
 * simcp_cmd_cost() - the modeled duration of @cmd if it does not fault
 * (a WAIT: satisfied at once).  Pure: reads only the timing model.
 */
vc_time_t simcp_cmd_cost(const struct simcp *s, const struct simcp_cmd *cmd);

/** simcp_stats() - a snapshot of the device's counters. */
void simcp_stats(struct simcp *s, struct simcp_stats *out);

/* ---- contexts and the switch protocol (see platform.h) --------------- */

/**
 * simcp_ctx_alloc() - a zeroed context in the reset state, named @tag in
 * events.  Returns 0 and *@out (freed with simcp_ctx_free()) or -VC_ENOMEM.
 */
VC_MUST_CHECK int simcp_ctx_alloc(struct simcp *s, uint32_t tag, struct simcp_ctx **out);

/** simcp_ctx_free() - scrub and free @x (unloading it first if loaded). NULL ok. */
void simcp_ctx_free(struct simcp_ctx *x);

/** simcp_ctx_tag() - the tag @x was allocated with. */
uint32_t simcp_ctx_tag(const struct simcp_ctx *x);

/**
 * simcp_stop() - stop the loaded @x at a command boundary.  Returns 0
 * (stopped, or @x not running), -VC_EINPROGRESS (it stops when the
 * command in flight retires and reports VC_EV_STOPPED), or -VC_EAGAIN
 * (a non-preemptible section is under way; *@retry_after = its remaining
 * modeled time as far as the commands submitted up to TAIL tell, > 0;
 * see also simcp_config.stop_hold_ns).
 * Idempotent.
 */
int simcp_stop(struct simcp_ctx *x, vc_time_t *retry_after);

/**
 * simcp_save() - copy the stopped device's state into @x; the device then
 * holds no context.  0, -VC_EINVAL (@x not loaded), -VC_EBUSY (running).
 */
int simcp_save(struct simcp_ctx *x);

/**
 * simcp_set_iommu() - DMA of the next loaded context goes through @io
 * (NULL: every DMA faults).  @io must outlive its use.  0, or -VC_EBUSY
 * while a context runs.
 */
int simcp_set_iommu(struct simcp *s, const struct vc_iommu *io);

/**
 * simcp_load() - put @x on the stopped device (not started).  0, or
 * -VC_EBUSY while another context is loaded and not saved.
 */
int simcp_load(struct simcp_ctx *x);

/** simcp_start() - run the loaded @x.  0, or -VC_EINVAL when @x is not loaded. */
int simcp_start(struct simcp_ctx *x);

/**
 * simcp_reset() - hang recovery of @x: abort its work (a command in
 * flight is dropped), FAULT_CODE := SIMCP_FAULT_HANG, FAULT_HEAD := HEAD,
 * HEAD := TAIL, halted, IRQ_STATUS.ERROR pending.  Scratch is kept.  If @x
 * is loaded it stays loaded and stopped.  No VC_EV_IRQ is reported: the
 * caller (the framework) raises the domain's interrupt.  Returns 0.
 */
int simcp_reset(struct simcp_ctx *x);

/**
 * simcp_mmio() - a register access to @x: on the live registers when @x is
 * loaded, else on its saved copy (writes latch there and take effect when
 * it is loaded).  @size 4, or 8 at RING_BASE_LO / FENCE_LO /
 * FAULT_ADDR_LO.  Returns VC_IO_OK, VC_IO_WORK (a TAIL write, or a CONTROL
 * write after which @x has work) or VC_IO_BAD (reads yield all ones).
 */
enum vc_io simcp_mmio(struct simcp_ctx *x, uint64_t off, unsigned int size,
		      bool write, uint64_t *val);

/** simcp_has_work() - HEAD != TAIL, enabled and not halted. */
bool simcp_has_work(struct simcp_ctx *x);

/**
 * simcp_seen() - the time up to which the device has had the chance to
 * work (vc_platform_ops.seen): now on virtual time; in THREAD mode what its
 * engine thread has seen, so a thread the host starves is not taken for a
 * hung device.
 */
vc_time_t simcp_seen(struct simcp *s);

/** simcp_progress() - commands @x has completed (64 bits). */
uint64_t simcp_progress(struct simcp_ctx *x);

/* ---- platform glue ---------------------------------------------------- */

/**
 * The framework's hooks for simcp.  The coproc's pdata must be the struct
 * simcp (simcp_coproc_desc()); contexts are struct simcp_ctx.
 */
extern const struct vc_platform_ops simcp_platform_ops;

#endif /* SIMCP_H */
