/* SPDX-License-Identifier: MIT */
/*
 * A mock coprocessor for framework tests, on virtual time (os/vtime.c):
 * each context holds a queue of identical jobs; the device runs the loaded
 * context's jobs one after another, each taking job_len of virtual time.
 * Tests advance time by hand (vc_vtime_advance) and look at what the
 * framework asked of the device.  In the manner of drm_sched's mock
 * scheduler tests.
 *
 * Register window (8-byte registers):
 *   MOCK_REG_DOORBELL  W: queue that many jobs (VC_IO_WORK)
 *   MOCK_REG_DONE      R: jobs completed
 *   MOCK_REG_ERROR     R: 1 after a reset
 *   MOCK_REG_QUEUED    R: jobs not yet completed
 */
#ifndef MOCK_PLATFORM_H
#define MOCK_PLATFORM_H

#include <vcoproc/platform.h>

#define MOCK_REG_DOORBELL 0x00
#define MOCK_REG_DONE     0x08
#define MOCK_REG_ERROR    0x10
#define MOCK_REG_QUEUED   0x18
#define MOCK_MMIO_BASE    0x10000000ULL
#define MOCK_MMIO_SIZE    0x1000ULL
#define MOCK_IRQ          5

struct mock_ctx {
	uint32_t tag;
	uint64_t queued;       /* jobs not yet completed */
	uint64_t done;
	bool error;
	bool hang;             /* jobs never complete */
	bool np;               /* jobs are non-preemptible */
	bool irq_per_job;      /* raise an interrupt per completed job */
	vc_time_t job_len;
	uint64_t loads, saves;
};

#define MOCK_LOG_MAX 256

struct mock_dev {
	struct vc_coproc *c;
	struct mock_ctx *loaded;
	const struct vc_iommu *iommu;
	bool started;
	bool in_job;
	bool stop_req;
	bool never_stop;       /* accept stops but never complete them */
	bool starved;          /* its host does not run it: it has seen time up
				* to starved_at only (vc_platform_ops.seen) */
	vc_time_t starved_at;
	vc_time_t job_end;
	struct vc_os_timer *timer;
	int fail_alloc;        /* ctx_alloc returns this when non-zero */
	unsigned int fail_saves; /* the next this many saves fail (-VC_EIO) */
	bool hold_stopped;     /* a completed stop stops the device, but its
				* VC_EV_STOPPED is held back (in flight) */
	unsigned int nr_held_stopped; /* events held back so far */
	uint32_t held_stopped_tag;     /* the last one's tag */
	bool hold_irqs;        /* interrupts are raised but reach the framework
				* only at mock_deliver_irqs() (in flight) */
	unsigned int nr_held_irqs;
	uint32_t held_irq_tags[MOCK_LOG_MAX];
	/* What the framework asked, with times. */
	unsigned int nr_stops;
	vc_time_t stop_at[MOCK_LOG_MAX];
	int stop_ret[MOCK_LOG_MAX];
	unsigned int nr_resets;
	unsigned int nr_iommu_null;
	struct vc_coproc_desc desc;
};

extern const struct vc_platform_ops mock_platform_ops;

/* A mock device, not yet registered; desc is filled for registration. */
struct mock_dev *mock_dev_new(const char *sched);
void mock_dev_free(struct mock_dev *m);

/* A framework + registered mock coproc; irqs recorded per host_dom. */
struct mock_host {
	struct vc_fw *fw;
	struct mock_dev *dev;
	struct vc_coproc *c;
};

struct mock_dom {
	struct vc_domain *d;
	struct vc_vcoproc *v;
	uint64_t irqs;         /* interrupts the host delivered to it */
	uint32_t last_irq;
};

/* @sched "passthrough": a coprocessor reserved for one domain (desc.passthrough). */
int mock_host_init(struct mock_host *h, const char *sched, vc_time_t hang_timeout);
/* As mock_host_init(), with a stop_timeout too. */
int mock_host_init_timeouts(struct mock_host *h, const char *sched, vc_time_t hang_timeout,
			    vc_time_t stop_timeout);
void mock_host_fini(struct mock_host *h);
/* Create domain @domid with one vcoproc on h->c (params "k=v" strings). */
int mock_dom_init(struct mock_host *h, struct mock_dom *md, uint32_t domid,
		  const char *const *params, unsigned int nr);

struct mock_ctx *mock_ctx_of(struct mock_dom *md);
/* Ring the doorbell of @md for @n jobs of @len each (through vc_domain_mmio). */
int mock_submit(struct mock_dom *md, uint64_t n, vc_time_t len, bool np);
uint64_t mock_reg_read(struct mock_dom *md, uint64_t reg);
/* Deliver the interrupts held back by hold_irqs, oldest first; returns how many. */
unsigned int mock_deliver_irqs(struct mock_dev *m);

#endif /* MOCK_PLATFORM_H */
