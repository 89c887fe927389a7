/* SPDX-License-Identifier: MIT */
/*
 * DOC: a domain of the host, and the kinds of domain
 *
 * A domain is one guest sharing the host's coprocessors: a name and id, a
 * framework domain (struct vc_domain) with its vcoprocs, a console, the
 * memory its DMA may reach (its IOMMU context), and what the guest itself
 * is - which depends on its kind:
 *
 *   kvm       a KVM VM booting a guest image (host/kvm/): its native driver
 *             touches the coprocessor's trapped register window
 *   builtin   a workload built into the host, one thread per vcoproc
 *             driving the window with the native driver (host/builtin/);
 *             needs nothing from the machine
 *   vhost-user  a guest in another VMM (QEMU) whose own kernel driver uses
 *             a virtio device (virtio-crypto) that vcoprocd serves over
 *             vhost-user (host/vhost/): requests become commands on the
 *             domain's vcoproc context, its DMA reaches the guest's own
 *             buffers through the memory table
 *
 * What differs per kind sits behind struct dom_kind (an ops table, as Xen's
 * struct sched_ops); everything else - the one creation path, the registry,
 * the console, the statistics and the end of a domain - is here, shared.
 *
 * Creation (dom_create()), all or nothing:
 *
 *   the domain file (struct domcfg) -> kind (probe: can this machine host
 *   it?) -> kind->create (the guest's machine and memory: d->iommu)
 *   -> domcfg_build (the framework domain, its vcoprocs, in file order)
 *   -> kind->attach (windows and interrupts of those vcoprocs) -> start
 *
 * and any failure undoes every step before it, so nothing is left.
 *
 * Ending: a domain ends once - its guest exits, fails, or the host stops
 * it - recorded by dom_end() from any thread; the host's loop is woken
 * (host->notify_fd) and reaps it (dom_teardown()): the kind stops the
 * guest, the framework domain is destroyed (its contexts leave the
 * device), then the kind frees the machine.  The record stays for the
 * summary and for listing until dom_free().
 *
 * Ownership: the host's registry owns every struct dom; a kind owns
 * d->kpriv between its create() and destroy().
 * Threads: topology (create, teardown, free) and the fields marked "loop"
 * belong to the host's loop thread; dom_end() and the counters may be used
 * from any thread (guest threads: vCPUs, builtin workers).
 */
#ifndef HOST_DOMAIN_H
#define HOST_DOMAIN_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <hw/board.h>
#include <vcoproc/vcoproc.h>

#include "domcfg.h"

#define DOM_ERR_MAX      320
#define DOM_LINE_MAX     256
#define DOM_MAX_VCOPROCS DOMCFG_MAX_VCOPROCS

struct dom;
struct host;
struct ctl_conlog;

/** What one kind of domain does.  Hooks run on the loop thread unless said. */
struct dom_kind {
	const char *name;                 /* "kvm", "builtin" */
	/**
	 * probe() - can this machine host domains of this kind?  Returns 0,
	 * or -errno with the reason in @err ("cannot open /dev/kvm: ...").
	 * Optional: NULL means always.
	 */
	int (*probe)(struct host *h, char *err, size_t errlen);
	/**
	 * create() - the guest's machine from d->cfg: its memory, which it
	 * describes in d->iommu (the only memory the coprocessor's DMA for
	 * this domain may reach), and whatever the guest runs on.  No
	 * framework domain yet.  Returns 0, or -errno with the reason in
	 * @err and nothing left.  Required.
	 */
	int (*create)(struct dom *d, char *err, size_t errlen);
	/**
	 * attach() - the framework domain d->vd and its vcoprocs d->vv[] exist:
	 * give the guest their register windows and interrupts.  Returns 0,
	 * or -errno with the reason in @err; either way destroy() frees what
	 * it made.  Optional.
	 */
	int (*attach)(struct dom *d, char *err, size_t errlen);
	/** start() - run the guest.  Returns 0, or -errno with nothing left running.  Required. */
	int (*start)(struct dom *d);
	/**
	 * stop() - stop the guest and wait until it touches nothing more
	 * (threads joined).  Idempotent; also called on a domain never
	 * started.  Required.
	 */
	void (*stop)(struct dom *d);
	/**
	 * destroy() - free everything create() and attach() made; the
	 * framework domain is gone by then.  Required.
	 */
	void (*destroy)(struct dom *d);
	/**
	 * irq_raise() - deliver coprocessor interrupt @irq to the guest.  Any
	 * thread, with a coproc lock held: must not block or call into the
	 * framework.  Required.
	 */
	void (*irq_raise)(struct dom *d, uint32_t irq);
};

extern const struct dom_kind dom_kind_kvm;
extern const struct dom_kind dom_kind_builtin;
extern const struct dom_kind dom_kind_vhost_user;

enum dom_state {
	DOM_NEW,      /* built, not started */
	DOM_RUNNING,
	DOM_EXITED,   /* the guest ended itself with a status */
	DOM_FAILED,   /* the guest could not go on (see fail) */
	DOM_STOPPED,  /* stopped by the host: shutdown, timeout, destroy */
};

/** What the host counts per domain; any thread, atomics. */
struct dom_counters {
	_Atomic uint64_t mmio, pio, intr;  /* exits (kvm), register accesses (builtin: mmio) */
	_Atomic uint64_t irqs_raised;      /* interrupts delivered to the guest */
	/* Doorbell writes, by where the framework sent them. */
	_Atomic uint64_t doorbells_emulated, doorbells_forwarded;
};

/** One domain of the host. */
struct dom {
	struct host *host;
	const struct dom_kind *kind;
	void *kpriv;                      /* the kind's, between create() and destroy() */
	struct domcfg cfg;                /* the domain file, kernel path resolved */
	uint32_t domid;
	uint64_t ram_size;                /* bytes: cfg.memory_mib, or --domain memory= */
	uint64_t run_ns;                  /* how long the workload runs (0: the guest's own) */
	uint64_t destroy_at_ns;           /* 0: never; else destroy this long after start */

	/* Set by kind->create(): the memory the coprocessor's DMA may reach. */
	struct vc_iommu iommu;

	/* The framework's side (loop). */
	struct vc_domain *vd;
	struct vc_vcoproc *vv[DOM_MAX_VCOPROCS]; /* in domain-file order */
	unsigned int nr_vv;

	/* The console: lines from the guest, any thread (console_lock). */
	pthread_mutex_t console_lock;
	FILE *log;                        /* <log_dir>/<name>.log, or NULL */
	bool echo;                        /* "[name] line" on stdout */
	struct ctl_conlog *conlog;        /* daemon mode: for console-read; or NULL */
	char result[DOM_LINE_MAX];        /* the last "result:" line */

	/* The end, written once by dom_end() (end_lock), then read-only. */
	pthread_mutex_t end_lock;
	enum dom_state state;
	int status;                       /* DOM_EXITED: the guest's exit status */
	char fail[DOM_ERR_MAX];
	atomic_bool finished;

	struct dom_counters count;
	/* Host clock of the guest's first BOARD_MARK_* of each kind; 0: not yet. */
	_Atomic uint64_t mark_ns[BOARD_MARK_MAX + 1];

	/* Loop thread only. */
	bool reaped, timed_out, destroyed;
	uint64_t started_ns, ended_ns;    /* host clock */
	struct vc_vcoproc_stats last;     /* last snapshot of vv[0] (final after teardown) */
	struct vc_vcoproc_stats prev;     /* at the previous table */
	struct vc_vcoproc_stats win0;     /* when the busy window opened */
	struct vc_vcoproc_stats win1;     /* when it closed */
	double expected;                  /* share the algorithm promises; < 0: none */
};

/** Options of one domain beyond its domain file. */
struct dom_opts {
	uint64_t ram_size;                /* 0: cfg->memory_mib */
	uint64_t destroy_at_ns;
	bool paused;                      /* build it, but start it with dom_start() */
};

/**
 * dom_kind_of() - the kind a domain file asks for: type = "vhost-user",
 * else "builtin:NAME" kernels are builtin, everything else a kvm guest
 * image (domcfg_parse() has checked type and kernel agree).
 */
const struct dom_kind *dom_kind_of(const struct domcfg *cfg);

/**
 * dom_create() - build domain @domid from @cfg (see DOC: all or nothing)
 * and start it (unless @o->paused).  Returns 0 and *@out (owned by the caller, normally the
 * host's registry; release with dom_free()), or a negative code with the
 * message in @err: FILE:LINE:COL where the file is at fault, else
 * "FILE: reason".  -VC_ENOENT means a coprocessor the file names does not
 * exist.  Loop thread.
 */
int dom_create(struct host *h, const struct domcfg *cfg, const struct dom_opts *o,
	       uint32_t domid, struct dom **out, char *err, size_t errlen);

/** dom_start() - start a domain created paused.  Returns 0 or -errno (nothing running). */
int dom_start(struct dom *d);

/**
 * dom_end() - the domain ends with @st (DOM_EXITED: @status is the
 * guest's) unless it has ended already; @why (printf, NULL: none) becomes
 * d->fail.  Wakes the host's loop.  Any thread; returns whether this call
 * ended it.
 */
bool dom_end(struct dom *d, enum dom_state st, int status, const char *why, ...)
	__attribute__((format(printf, 4, 5)));

/** dom_vend() - dom_end() with a va_list. */
bool dom_vend(struct dom *d, enum dom_state st, int status, const char *why, va_list ap)
	__attribute__((format(printf, 4, 0)));

/**
 * dom_teardown() - stop the guest, take a last statistics snapshot,
 * destroy the framework domain (its vcoprocs; the others go on) and free
 * the guest's machine.  The record stays.  Idempotent; loop thread.
 */
void dom_teardown(struct dom *d);

/** dom_free() - dom_teardown() and free the record.  NULL is ignored. */
void dom_free(struct dom *d);

/** dom_snapshot() - refresh d->last from the framework (while it lives). */
void dom_snapshot(struct dom *d);

/** dom_state_name() - "new", "running", "exited", "failed", "stopped". */
const char *dom_state_name(enum dom_state s);

/**
 * dom_status_word() - what a listing says of @d: "running", "exited"
 * (ended with status 0), "failed", "stopped".  Loop thread.
 */
const char *dom_status_word(const struct dom *d);

/**
 * dom_console() - one line (@len bytes, no newline) from @d's guest: to
 * its log file, stdout ("[name] line") when echoing, and its conlog.  Any
 * thread.
 */
void dom_console(struct dom *d, const char *line, size_t len);

/** dom_printf() - dom_console() of a formatted line. */
void dom_printf(struct dom *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** dom_mark() - the guest's BOARD_MARK_@m: keep the time of the first; wakes the loop. */
void dom_mark(struct dom *d, uint32_t m);

#endif /* HOST_DOMAIN_H */
