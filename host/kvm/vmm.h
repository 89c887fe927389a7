/* SPDX-License-Identifier: MIT */
/*
 * DOC: vcoprocd - the reference host on Linux KVM
 *
 * One process hosts several domains.  Each domain is a KVM VM with its own
 * RAM (one memory slot from guest-physical 0), one vCPU thread, a 16550
 * console and the exit device (guest/board.h is the machine).  The
 * coprocessor - simcp in THREAD mode, a device thread doing real work on
 * guest memory - is registered once with the framework (core/), and every
 * domain with a vcoproc on it sees the coprocessor's register window at
 * the same guest-physical address:
 *
 *   guest access to the window -> KVM_EXIT_MMIO -> vc_domain_mmio()
 *   device event -> framework -> vc_host_ops.irq_raise -> eventfd -> irqfd
 *     -> the domain's IOAPIC input -> a real guest interrupt
 *   device DMA -> the domain's IOMMU context (struct vc_iommu over its RAM)
 *
 * Threads: the main thread owns the topology (creating and destroying
 * domains, as the framework requires: topology calls are serialized by
 * the host) and prints statistics; one thread per vCPU; simcp's device
 * thread; os/posix.c's timer thread.
 *
 * Ownership: struct vmm owns the coprocessor, the framework instance and
 * every struct dom; a struct dom owns its VM, vCPU, RAM, devices and
 * framework domain until dom__teardown(), and its record (name, final
 * statistics, exit status) until dom__free().
 */
#ifndef VMM_VMM_H
#define VMM_VMM_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <vcoproc/vcoproc.h>

#include "board.h"
#include "exitdev.h"
#include "iobus.h"
#include "kvm.h"
#include "serial.h"

#define VMM_MAX_DOMAINS   16
#define VMM_ERR_MAX       256
#define VMM_COPROC_BASE   0xfe000000ull  /* simcp0's window in every domain */
#define VMM_COPROC_GSI    16             /* first IOAPIC input no 8259 shares */

struct simcp;

/** What the command line says about one domain. */
struct dom_cfg {
	char name[BOARD_NAME_MAX];
	char kernel[PATH_MAX];
	uint64_t ram_size;                        /* bytes */
	char cmdline[BOARD_CMDLINE_MAX];          /* handed to the guest */
	bool vcoproc;                             /* give it a vcoproc on simcp0 */
	struct vc_param params[VC_VCOPROC_MAX_PARAMS]; /* scheduling parameters */
	unsigned int nr_params;
	uint64_t destroy_at_ns;                   /* 0: never; else destroy then */
};

enum dom_state {
	DOM_NEW,      /* built, vCPU not started */
	DOM_RUNNING,  /* vCPU thread running */
	DOM_EXITED,   /* the guest wrote the exit device */
	DOM_FAILED,   /* the vCPU stopped on an error (see fail) */
	DOM_STOPPED,  /* stopped by the host: shutdown, timeout, destroy */
};

/** A vCPU's exit counters; written by its thread, read with atomics. */
struct dom_exits {
	_Atomic uint64_t mmio, pio, intr, irqs_raised;
};

/** One domain of the host. */
struct dom {
	struct vmm *vmm;
	struct dom_cfg cfg;
	uint32_t domid;

	/* Resources, released by dom__teardown(). */
	void *ram;                        /* mmap, cfg.ram_size bytes */
	struct vc_iommu_region region;    /* all of RAM, writable */
	struct vc_iommu iommu;
	struct kvm_vm vm;
	struct kvm_vcpu vcpu;
	struct iobus pio, mmio;
	struct serial serial;
	struct exitdev exitdev;
	int irq_fd;                       /* eventfd bound to cfg gsi by irqfd; -1 */
	uint32_t irq_gsi;
	struct vc_domain *vd;             /* framework domain */
	struct vc_vcoproc *vv;            /* its vcoproc on simcp0, or NULL */
	struct dom_window {               /* MMIO handler data of a coproc window */
		struct dom *d;
		uint64_t base;
	} win[VC_COPROC_MAX_MMIO];

	/* The vCPU thread. */
	pthread_t thread;
	bool thread_started;              /* main thread only */
	atomic_bool stop_req;             /* set by the main thread, then a kick */
	atomic_bool finished;             /* the thread has left its loop */

	/* Outcome; written by the vCPU thread before `finished`, then read-only. */
	enum dom_state state;
	char fail[VMM_ERR_MAX];
	struct dom_exits exits;

	/* Main thread only. */
	bool reaped;                      /* torn down after it finished */
	bool timed_out, destroyed;
	uint64_t started_ns, ended_ns;    /* host clock */
	struct vc_vcoproc_stats last;     /* last snapshot (final after teardown) */
	struct vc_vcoproc_stats prev;     /* at the previous table */
	char result[SERIAL_LINE_MAX];     /* the guest's "result:" line */
};

/** The host. */
struct vmm {
	struct kvm_sys kvm;
	struct vc_fw *fw;
	struct simcp *dev;
	struct vc_coproc *coproc;         /* simcp0 */
	struct dom *doms[VMM_MAX_DOMAINS];
	unsigned int nr_doms;
	int notify_fd;                    /* eventfd: a vCPU thread finished */
	const char *log_dir;              /* NULL: no log files */
	bool echo;
	uint64_t run_ns;                  /* workloads' duration (board_info.run_ns) */
};

/* ---- domains (dom.c) --------------------------------------------------- */

/**
 * dom__create() - build domain @domid from @cfg: RAM, VM, guest image,
 * boot page, vCPU in long mode, console, exit device, framework domain,
 * and (cfg->vcoproc) a vcoproc on vmm->coproc with its window and irqfd.
 * Main thread.  Returns 0 and *@out, or -errno with the reason in @err
 * and nothing left behind.
 */
int dom__create(struct vmm *vmm, const struct dom_cfg *cfg, uint32_t domid,
		struct dom **out, char *err, size_t errlen);

/** dom__start() - start the vCPU thread.  Returns 0 or -errno. */
int dom__start(struct dom *d);

/**
 * dom__stop() - ask the vCPU to stop and wait for its thread.
 * Idempotent; main thread.
 */
void dom__stop(struct dom *d);

/**
 * dom__teardown() - stop the vCPU, take a last statistics snapshot,
 * destroy the framework domain (its vcoprocs are stopped and freed; the
 * others go on), unbind the irqfd, close the VM and free the RAM.  The
 * record stays for the summary.  Idempotent; main thread.
 */
void dom__teardown(struct dom *d);

/** dom__free() - teardown and free the record.  NULL is ignored. */
void dom__free(struct dom *d);

/** dom__snapshot() - refresh d->last from the framework (if it lives). */
void dom__snapshot(struct dom *d);

/** dom__state_name() - "new", "running", "exited", "failed", "stopped". */
const char *dom__state_name(enum dom_state s);

/** dom__kick_init() - install the vCPU kick signal handler (once, main thread). */
int dom__kick_init(void);

/**
 * dom__irq_raise() - vc_host_ops.irq_raise: signal the irqfd of domain
 * @host_dom (a struct dom) for coprocessor interrupt @irq.  Called with a
 * coproc lock held: only writes an eventfd.
 */
void dom__irq_raise(void *host_dom, uint32_t irq);

/* ---- the daemon (main.c) ------------------------------------------------ */

/** vmm__now() - CLOCK_MONOTONIC in ns. */
uint64_t vmm__now(void);

/** vmm__log() - "vcoprocd: " + a line on stderr; any thread. */
void vmm__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* VMM_VMM_H */
