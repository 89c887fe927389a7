/* SPDX-License-Identifier: MIT */
/*
 * DOC: vcoprocd - the reference host on Linux KVM
 *
 * One process hosts several domains.  Each domain is a KVM VM with its own
 * RAM (one memory slot from guest-physical 0), one thread per vCPU (one
 * by default, up to BOARD_MAX_CPUS), a 16550 console and the exit device
 * (guest/board.h is the machine).  The
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
 * every struct dom; a struct dom owns its VM, vCPUs, RAM, devices and
 * framework domain until dom__teardown(), and its record (name, final
 * statistics, exit status) until dom__free().
 *
 * The busy window: guests mark where their workload is (board.h,
 * BOARD_MARK_BUSY / BOARD_MARK_DONE).  The window opens when every domain
 * with a vcoproc has marked BUSY and closes at the first DONE mark, or
 * when one of them ends first; the framework's statistics of every domain
 * are taken at both ends, so shares over the window are measured while
 * every domain had work queued - start-up and draining left out.
 *
 * vmm.c builds and tears down the host (used by vcoprocd and by
 * bench-kvm); main.c is the daemon's command line and main loop.
 */
#ifndef VMM_VMM_H
#define VMM_VMM_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <vcoproc/vcoproc.h>

#include <hw/board.h>
#include "exitdev.h"
#include "iobus.h"
#include "kvm.h"
#include "serial.h"

#define VMM_MAX_DOMAINS   16
#define VMM_ERR_MAX       256
#define VMM_COPROC_BASE   0xfe000000ull  /* simcp0's window in every domain */
#define VMM_COPROC_GSI    16             /* first IOAPIC input no 8259 shares */

struct simcp;
struct dom;

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
	unsigned int vcpus;                       /* 1 .. BOARD_MAX_CPUS (0: 1) */
	/*
	 * Instead of vcoproc: build the framework domain (d->vd, with
	 * &d->iommu and d as host_dom) and its vcoprocs; at most one vcoproc,
	 * whose window and interrupt the domain then gets (vcoprocd --dtb).
	 * Returns 0, or < 0 with the reason in @err and nothing left.
	 */
	int (*build)(struct dom *d, void *arg, char *err, size_t errlen);
	void *build_arg;
	/* Each console line is also handed to console() (any vCPU thread). */
	void (*console)(void *opaque, const char *buf, size_t len);
	void *console_opaque;
};

enum dom_state {
	DOM_NEW,      /* built, vCPUs not started */
	DOM_RUNNING,  /* vCPU threads running */
	DOM_EXITED,   /* the guest wrote the exit device */
	DOM_FAILED,   /* a vCPU stopped on an error (see fail) */
	DOM_STOPPED,  /* stopped by the host: shutdown, timeout, destroy */
};

/** A domain's exit counters, all its vCPUs together; updated and read with atomics. */
struct dom_exits {
	_Atomic uint64_t mmio, pio, intr;
	_Atomic uint64_t irqs_raised;      /* irqfd signals (any thread) */
	/* Doorbell writes, by where the framework sent them. */
	_Atomic uint64_t doorbells_emulated, doorbells_forwarded;
};

/** One vCPU of a domain and its thread. */
struct dom_vcpu {
	struct dom *d;
	unsigned int id;                  /* CPU and local APIC ID; 0: the BSP */
	struct kvm_vcpu kv;
	pthread_t thread;
	bool thread_started;              /* main thread only */
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
	struct dom_vcpu vcpu[BOARD_MAX_CPUS];
	unsigned int nr_vcpus;
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

	/* The vCPU threads. */
	atomic_bool stop_req;             /* set by the main thread, then kicks */
	atomic_bool finished;             /* the domain has ended (state is final) */
	pthread_mutex_t end_lock;         /* ends the domain once: state, fail */
	pthread_mutex_t ap_lock;          /* APs wait for the BSP's BOARD_CPU_START */
	pthread_cond_t ap_cond;
	bool ap_go;                       /* protected by ap_lock */

	/* Host clock of the first write of each BOARD_MARK_*; 0: not yet (vCPU threads). */
	_Atomic uint64_t mark_ns[BOARD_MARK_MAX + 1];

	/*
	 * Outcome: written once, under end_lock, by the vCPU thread that ends
	 * the domain (the exit device, an error, or the first to see
	 * stop_req), before `finished`; read-only after that.
	 */
	enum dom_state state;
	char fail[VMM_ERR_MAX];
	struct dom_exits exits;

	/* Main thread only. */
	bool reaped;                      /* torn down after it finished */
	bool timed_out, destroyed;
	uint64_t started_ns, ended_ns;    /* host clock */
	struct vc_vcoproc_stats last;     /* last snapshot (final after teardown) */
	struct vc_vcoproc_stats prev;     /* at the previous table */
	struct vc_vcoproc_stats win0;     /* when the busy window opened */
	struct vc_vcoproc_stats win1;     /* when it closed */
	double expected;                  /* share the algorithm promises; < 0: none */
	char result[SERIAL_LINE_MAX];     /* the guest's "result:" line */
};

enum vmm_win_state {
	VMM_WIN_WAITING,  /* not every domain has marked BUSY yet */
	VMM_WIN_OPEN,
	VMM_WIN_CLOSED,
	VMM_WIN_NONE,     /* a domain ended before all were busy: no window */
};

/** The common busy window (main thread). */
struct vmm_window {
	enum vmm_win_state state;
	uint64_t t0, t1;                  /* host clock at opening and closing */
	char why[96];                     /* what closed it (or prevented it) */
};

/** How to build the host, its domains apart. */
struct vmm_cfg {
	const char *algo;                 /* NULL: the build's default */
	const struct vc_param *params;    /* algorithm parameters */
	unsigned int nr_params;
	uint64_t run_ns;                  /* board_info.run_ns of every guest */
	uint64_t max_np_ns;               /* longest non-preemptible command */
	const char *log_dir;              /* NULL: no log files */
	bool echo;                        /* consoles on stdout */
	bool realtime;                    /* SCHED_FIFO for the device's threads (opt-in) */
	bool no_coproc;                   /* no simcp0: the caller registers coprocessors
					   * (vcoprocd --dtb) */
};

/** The host. */
struct vmm {
	struct kvm_sys kvm;
	struct vc_fw *fw;
	struct simcp *dev;
	struct vc_coproc *coproc;         /* simcp0 */
	struct dom *doms[VMM_MAX_DOMAINS];
	unsigned int nr_doms;
	int notify_fd;                    /* eventfd: a domain ended or a guest marked */
	const char *log_dir;              /* NULL: no log files */
	bool echo;
	uint64_t run_ns;                  /* workloads' duration (board_info.run_ns) */
	uint32_t doorbell_off;            /* the doorbell register in the window */
	unsigned int unhandled_log;       /* unhandled accesses logged per domain (8) */
	bool rt_device;                   /* the device's threads run SCHED_FIFO (realtime) */
	uint64_t t0;                      /* host clock when the vCPUs started */
	struct vmm_window win;
	bool no_coproc;                   /* vmm_cfg.no_coproc: coproc stays NULL */
};

/* ---- domains (dom.c) --------------------------------------------------- */

/**
 * dom__create() - build domain @domid from @cfg: RAM, VM, guest image,
 * boot page, vCPUs in long mode, console, exit device, framework domain,
 * and (cfg->vcoproc) a vcoproc on vmm->coproc with its window and irqfd.
 * Main thread.  Returns 0 and *@out, or -errno with the reason in @err
 * and nothing left behind.
 */
int dom__create(struct vmm *vmm, const struct dom_cfg *cfg, uint32_t domid,
		struct dom **out, char *err, size_t errlen);

/**
 * dom__start() - start a thread per vCPU: the BSP runs, the APs wait for
 * the guest's BOARD_CPU_START.  Returns 0, or -errno with none left
 * running.
 */
int dom__start(struct dom *d);

/**
 * dom__stop() - ask every vCPU to stop and wait for their threads.
 * Idempotent; main thread.
 */
void dom__stop(struct dom *d);

/**
 * dom__teardown() - stop the vCPUs, take a last statistics snapshot,
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

/* ---- the host (vmm.c) --------------------------------------------------- */

/**
 * vmm__create() - open /dev/kvm, create the framework and simcp0 (THREAD
 * mode) under @cfg->algo with @cfg->params.  No domain yet.  Returns 0, or
 * -errno / a negative VC_E* code after logging why, with nothing left.
 */
int vmm__create(struct vmm *vmm, const struct vmm_cfg *cfg);

/**
 * vmm__add_domain() - build a domain from @cfg (dom__create()) with the
 * next domain id.  Returns 0, or a negative code after logging why.
 */
int vmm__add_domain(struct vmm *vmm, const struct dom_cfg *cfg);

/**
 * vmm__start() - note the expected shares, then start every domain's vCPUs
 * (vmm->t0 is the start).  On failure the vCPUs already started are
 * stopped.  Returns 0 or -errno.
 */
int vmm__start(struct vmm *vmm);

/**
 * vmm__reap() - tear domain @d down (dom__teardown()), closing the busy
 * window first if @d was one of its domains (@why says what happened to
 * it: "ended", "destroyed", "stopped").  Idempotent.
 */
void vmm__reap(struct vmm *vmm, struct dom *d, const char *why);

/** vmm__destroy() - free every domain, the coprocessor, the framework, KVM. */
void vmm__destroy(struct vmm *vmm);

/**
 * vmm__window_update() - open the busy window once every domain with a
 * vcoproc has marked BUSY, close it at the first DONE mark or ended
 * domain; takes the statistics snapshots.  Main thread, often (the vCPU
 * threads signal notify_fd on every mark).
 */
void vmm__window_update(struct vmm *vmm, uint64_t now);

/** vmm__window_ns() - the window's length so far (0 before it opens). */
uint64_t vmm__window_ns(const struct vmm *vmm, uint64_t now);

/**
 * vmm__window_delta() - @d's statistics over the window: win1 - win0 for
 * the counters (state and loaded from win1).  Zero before it opened; up
 * to now (a fresh snapshot) while it is open.
 */
void vmm__window_delta(struct vmm *vmm, struct dom *d, struct vc_vcoproc_stats *out);

/**
 * vmm__probe() - can this process run a VM with an irqchip here?  Returns
 * 0, or -errno with the reason in @err.
 */
int vmm__probe(char *err, size_t errlen);

/**
 * vmm__parse_dur() - a duration: a decimal number with ns, us, ms or s
 * (bare: seconds).  Returns 0 or -EINVAL / -ERANGE.
 */
int vmm__parse_dur(const char *s, uint64_t *out);

/** vmm__now() - CLOCK_MONOTONIC in ns. */
uint64_t vmm__now(void);

/** vmm__log() - "vcoprocd: " + a line on stderr; any thread. */
void vmm__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* VMM_VMM_H */
