/* SPDX-License-Identifier: MIT */
/*
 * DOC: the OpenCL platform - API for hosts, tests and benchmarks
 *
 * oclcp is a coprocessor whose engine is an OpenCL device (PoCL's CPU
 * device everywhere, a GPU's OpenCL driver where there is one) and whose
 * register window, ring and command set are simcp's (include/hw/simcp_hw.h,
 * docs/simcp.md): the native simcp driver and the virtio-crypto backend
 * drive it unchanged.  Each command runs as an OpenCL kernel on device
 * buffers (docs/opencl.md): guest data is moved into the device's staging
 * buffers through the running domain's IOMMU context, every range checked
 * before anything moves, and results are moved back the same way.
 *
 * Each context owns its state on the device: scratch memory and key slots
 * (device buffers), the register file and the ring (the ring lives in
 * guest memory).  A context is *resident* (its buffers stay on the device
 * across switches: a switch moves nothing) or *copied* (its buffers live
 * in host memory while it is not loaded; a switch moves what it wrote),
 * chosen per context at allocation from oclcp_config.residency and the
 * device memory the configuration allows.
 *
 * A kernel in flight is never preempted: stop() refuses with the time the
 * kernel should still take (measured at creation per command kind) and the
 * device begins no new command until the retry.  A kernel far past its
 * expected time makes stop() fail, and the framework resets that context
 * alone: its kernel is abandoned on a command queue of its own, and the
 * device goes on with fresh ones.
 *
 * Locking: every function takes the device lock itself and none calls
 * back into the caller; events are delivered from the device thread
 * without the lock.  Lock order: coproc lock -> device lock.
 * oclcp_attach(s, NULL) and oclcp_destroy() wait for the device thread.
 */
#ifndef OCLCP_H
#define OCLCP_H

#include <vcoproc/platform.h>

#include <hw/simcp_hw.h>

struct oclcp;
struct oclcp_ctx;

/** Where a context's buffers live while it is not loaded. */
enum oclcp_residency {
	OCLCP_RES_AUTO = 0,  /* resident while resident_bytes allows, then copied */
	OCLCP_RES_ALWAYS,    /* resident; ctx_alloc fails (-VC_ENOSPC) beyond the budget */
	OCLCP_RES_NEVER,     /* copied: one set of live buffers on the device */
};

/** Event sink for tests that drive the device without the framework. */
typedef void (*oclcp_event_fn)(void *opaque, uint32_t tag, enum vc_event ev);

struct oclcp_config {
	/* The OpenCL platform and device: indexes, or a name to look for. */
	unsigned int platform_index;
	unsigned int device_index;
	const char *device_name;   /* substring of CL_DEVICE_NAME; NULL: by index */
	/*
	 * Bytes of scratch per context: a multiple of 4 KiB from 4 KiB to
	 * 16 MiB; 0: SIMCP_SCRATCH_SIZE (64 KiB).
	 */
	uint32_t ctx_size;
	enum oclcp_residency residency;
	/*
	 * Device memory the resident contexts may take; 0: a quarter of the
	 * device's global memory.
	 */
	uint64_t resident_bytes;
	/*
	 * The bound on a non-preemptible section (commands flagged
	 * SIMCP_F_NOPREEMPT), by the expected time of its commands; a
	 * command that would pass it faults with SIMCP_FAULT_NONPREEMPT.
	 * 0: SIMCP_MAX_COMPUTE_NS plus a command's overhead.
	 */
	vc_time_t max_nonpreempt;
	/*
	 * A kernel running longer than overrun_factor times its expected
	 * time plus overrun_slack is taken for hung: stop() fails and the
	 * framework resets its context.  0: 4 and 100 ms.
	 */
	unsigned int overrun_factor;
	vc_time_t overrun_slack;
	/*
	 * Where PoCL keeps compiled kernels when POCL_CACHE_DIR is not set:
	 * created if missing and exported as POCL_CACHE_DIR before OpenCL is
	 * first used.  NULL: leave PoCL's default.
	 */
	const char *pocl_cache_dir;
	oclcp_event_fn event;      /* NULL: vc_coproc_event() of the attached coproc */
	void *event_opaque;
};

/** What the device is and what was measured at creation. */
struct oclcp_info {
	char platform[128];
	char device[128];
	char version[128];         /* CL_DEVICE_VERSION */
	char driver[64];           /* CL_DRIVER_VERSION */
	uint64_t global_mem;
	uint32_t ctx_size;
	uint64_t resident_bytes;   /* the budget for resident contexts */
	/* Measured at creation: */
	vc_time_t cmd_overhead_ns; /* a command with no data, end to end */
	uint64_t spin_per_us;      /* COMPUTE's chain rounds per microsecond */
	vc_time_t switch_copied_ns;  /* save + load of a whole copied context */
	vc_time_t switch_resident_ns; /* save + load of resident contexts */
	vc_time_t switch_cost;     /* reported to the framework */
};

/** Counters since creation. */
struct oclcp_stats {
	uint64_t cmds, faults, kernels, batches, batched_reqs;
	uint64_t saves, loads, resets, abandoned;
	uint64_t ctx_bytes_moved;
	vc_time_t ctx_move_ns;      /* measured time of the copied switch steps */
	uint64_t events, events_dropped;
};

/**
 * oclcp_create() - open the OpenCL device, build the kernels, allocate the
 * staging buffers, and measure the command overhead, the rates of each
 * command kind and the switch costs.  Returns 0 and *@out (freed with
 * oclcp_destroy()), -VC_EINVAL (bad ctx_size), -VC_ENODEV (no such
 * OpenCL platform or device, or one not usable: big endian, no 64-bit
 * integers), -VC_EIO (kernels do not build), -VC_ENOMEM.
 */
VC_MUST_CHECK int oclcp_create(const struct oclcp_config *cfg, struct oclcp **out);

/** oclcp_destroy() - every context freed, detached; waits for abandoned kernels. */
void oclcp_destroy(struct oclcp *s);

/** oclcp_attach() - events to vc_coproc_event(@c); NULL detaches (waits). */
void oclcp_attach(struct oclcp *s, struct vc_coproc *c);

/**
 * oclcp_coproc_desc() - @d for vc_coproc_register(): one SIMCP_MMIO_SIZE
 * window at @mmio_base, interrupt @irq, oclcp_platform_ops, pdata @s, the
 * measured switch cost, the configured max_nonpreempt, and timeouts above
 * the longest legal kernel.
 */
void oclcp_coproc_desc(struct oclcp *s, const char *name, uint64_t mmio_base, uint32_t irq,
		       struct vc_coproc_desc *d);

void oclcp_info(const struct oclcp *s, struct oclcp_info *out);
void oclcp_stats(struct oclcp *s, struct oclcp_stats *out);

/**
 * oclcp_expected_ns() - how long @cmd is expected to take on this device
 * (measured rates; COMPUTE: its a plus the overhead).
 */
vc_time_t oclcp_expected_ns(const struct oclcp *s, const struct simcp_cmd *cmd);

/* ---- contexts and the switch protocol (see platform.h) --------------- */

/** A zeroed context in the reset state; -VC_ENOMEM, -VC_ENOSPC (ALWAYS, full). */
VC_MUST_CHECK int oclcp_ctx_alloc(struct oclcp *s, uint32_t tag, struct oclcp_ctx **out);
/** Scrub and free @x (taking it off the device if loaded).  NULL ok. */
void oclcp_ctx_free(struct oclcp_ctx *x);
/** Whether @x's buffers stay on the device across switches. */
bool oclcp_ctx_resident(const struct oclcp_ctx *x);

/**
 * oclcp_stop() - 0 (stopped or not running), -VC_EAGAIN (a kernel or a
 * non-preemptible section in flight; *@retry_after > 0), or -VC_ETIMEDOUT
 * (a kernel far past its expected time: reset the context).
 */
int oclcp_stop(struct oclcp_ctx *x, vc_time_t *retry_after);
int oclcp_save(struct oclcp_ctx *x);
int oclcp_set_iommu(struct oclcp *s, const struct vc_iommu *io);
int oclcp_load(struct oclcp_ctx *x);
int oclcp_start(struct oclcp_ctx *x);
/** Hang reset (platform.h): a kernel in flight is abandoned. */
int oclcp_reset(struct oclcp_ctx *x);
enum vc_io oclcp_mmio(struct oclcp_ctx *x, uint64_t off, unsigned int size, bool write,
		      uint64_t *val);
bool oclcp_has_work(struct oclcp_ctx *x);
uint64_t oclcp_progress(struct oclcp_ctx *x);
vc_time_t oclcp_seen(struct oclcp *s);
vc_time_t oclcp_ready_at(struct oclcp *s);

/** The framework's hooks; pdata is the struct oclcp. */
extern const struct vc_platform_ops oclcp_platform_ops;

#endif /* OCLCP_H */
