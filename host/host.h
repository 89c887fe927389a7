/* SPDX-License-Identifier: MIT */
/*
 * DOC: the host - vcoprocd's shell around the framework
 *
 * One process hosts the framework instance, its coprocessors and every
 * domain, around one event loop (loop.h) owned by the main thread:
 *
 *   coprocessors   from a system device tree (--dtb: sysdt_register() with
 *                  the platforms' bindings, e.g. simcp_sysdt_platform), or
 *                  one built-in simcp0 under --algo (--domain runs)
 *   domains        one registry (host->doms), created from domain files
 *                  through the one path of domain.h, each of a kind
 *                  (kvm, builtin) that must be able to run here
 *   the loop       signals (a signalfd), the guests' notifier (an eventfd
 *                  guest threads signal when a domain ends or marks), the
 *                  control socket in daemon mode, timers
 *
 * Nothing here needs /dev/kvm: KVM is opened when the first kvm domain is
 * created (host_kvm()), and a machine without it refuses kvm domains with
 * the reason while everything else works.
 *
 * Threads: the main thread runs the loop and owns the topology (creating
 * and destroying domains, as the framework requires: topology calls are
 * serialized by the host); guest threads (vCPUs, builtin workers), simcp's
 * device thread and os/posix.c's timer thread run beside it.
 *
 * Ownership: struct host owns the loop, the framework, the coprocessors,
 * the KVM handle and every struct dom in its registry.
 */
#ifndef HOST_HOST_H
#define HOST_HOST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <vcoproc/vcoproc.h>

#include "domain.h"
#include "loop.h"

#define HOST_MAX_DOMAINS  64
#define HOST_COPROC_BASE  0xfe000000ull  /* simcp0's window in every domain */
#define HOST_COPROC_GSI   16             /* first IOAPIC input no 8259 shares */
#define HOST_GSI_MAX      23

struct simcp;
struct sysdt_fw;
struct kvm_sys;

/** How to build the host, its domains apart. */
struct host_cfg {
	const char *dtb;                  /* coprocessors from this device tree; NULL: simcp0 */
	const char *algo;                 /* simcp0's algorithm (NULL: the build's default) */
	const struct vc_param *params;    /* simcp0's algorithm parameters */
	unsigned int nr_params;
	uint64_t run_ns;                  /* the workloads' duration (board_info.run_ns) */
	uint64_t max_np_ns;               /* longest non-preemptible command */
	const char *log_dir;              /* consoles to <log_dir>/<name>.log; NULL: none */
	bool echo;                        /* consoles on stdout as "[name] line" */
	bool realtime;                    /* SCHED_FIFO for the device's threads (opt-in) */
	bool keep_ended;                  /* ended domains stay listed until destroyed */
	const char *context_log;          /* log every platform context made or freed */
};

enum host_win_state {
	HOST_WIN_WAITING,  /* not every domain has marked BUSY yet */
	HOST_WIN_OPEN,
	HOST_WIN_CLOSED,
	HOST_WIN_NONE,     /* a domain ended before all were busy, or daemon mode */
};

/**
 * The common busy window: guests mark where their workload is
 * (BOARD_MARK_BUSY / BOARD_MARK_DONE); the window opens when every domain
 * with a vcoproc has marked BUSY and closes at the first DONE mark or when
 * one of them ends.  Shares measured over it were measured while every
 * domain had work queued: start-up and draining left out (window.c).
 */
struct host_window {
	enum host_win_state state;
	uint64_t t0, t1;                  /* host clock at opening and closing */
	char why[96];                     /* what closed it (or prevented it) */
};

/** The host. */
struct host {
	struct host_cfg cfg;
	struct hloop *loop;
	struct vc_fw *fw;

	/* Coprocessors: sf (--dtb) or dev + coproc0 (simcp0). */
	struct sysdt_fw *sf;
	struct simcp *dev;
	struct vc_coproc *coproc0;
	struct vc_coproc *coproc;         /* the first: what --domain vcoprocs use */
	bool rt_device;                   /* the device's threads run SCHED_FIFO */

	/* KVM, opened by the first kvm domain (host_kvm()). */
	struct kvm_sys *kvm;
	int kvm_err;                      /* 0: not tried or open; else why not */
	char kvm_why[DOM_ERR_MAX];

	/* The registry: domains in creation order. */
	struct dom *doms[HOST_MAX_DOMAINS];
	unsigned int nr_doms;
	uint32_t next_domid;

	int notify_fd;                    /* eventfd: a domain ended or a guest marked */
	FILE *context_log;                /* host_cfg.context_log, or NULL */
	unsigned int unhandled_log;       /* unhandled guest accesses logged per domain */
	uint64_t t0;                      /* host clock at the start */
	struct host_window win;
};

/**
 * host_create() - the loop, the framework and the coprocessors of @cfg.
 * No domain, no KVM.  Returns 0, or a negative code after logging why
 * (device-tree errors with FILE and node), with nothing left.
 */
int host_create(struct host *h, const struct host_cfg *cfg);

/** host_destroy() - free every domain, the coprocessors, the framework, KVM, the loop. */
void host_destroy(struct host *h);

/**
 * host_kvm() - the KVM handle, opened on first use.  Returns it, or NULL
 * with the reason (kept for later calls) in @err.
 */
struct kvm_sys *host_kvm(struct host *h, char *err, size_t errlen);

/**
 * host_add() - create domain @cfg (dom_create()) with the next domain id
 * and a name no domain has, start it and add it to the registry.
 * Returns 0 and *@out (the registry's), or a negative code with the
 * message in @err and nothing left.
 */
int host_add(struct host *h, const struct domcfg *cfg, const struct dom_opts *o,
	     struct dom **out, char *err, size_t errlen);

/**
 * host_find() - the domain whose id @s spells when @s is all decimal
 * digits, else the one named @s (vc_domain_match()'s rule); NULL if none.
 */
struct dom *host_find(struct host *h, const char *s);

/** host_remove() - tear @d down (closing the window first if it is in it), free it. */
void host_remove(struct host *h, struct dom *d);

/**
 * host_reap() - tear domain @d down (dom_teardown()), closing the busy
 * window first if @d was one of its domains; @why says what happened to
 * it ("ended", "destroyed", "stopped", "timed out").  Idempotent.
 */
void host_reap(struct host *h, struct dom *d, const char *why);

/**
 * host_reap_ended() - reap every domain whose guest ended; returns how
 * many domains are still running.  Also moves the busy window.
 */
unsigned int host_reap_ended(struct host *h);

/** host_notify() - wake the loop (any thread). */
void host_notify(struct host *h);

/**
 * host_errf() - write the message to @err (@errlen bytes) and return @code
 * as a negative error (-errno or -VC_E*, whichever sign it came with).
 */
int host_errf(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/** host_log() - "vcoprocd: " + a line on stderr; any thread. */
void host_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- the busy window and shares (window.c) ------------------------------ */

/** host_window_start() - note every domain's expected share; the window waits. */
void host_window_start(struct host *h);

/** host_window_update() - open or close the window from the marks and ends. */
void host_window_update(struct host *h, uint64_t now);

/**
 * host_window_end() - domain @name is going (@why): close an open window
 * (statistics taken now) or give up on one still waiting.
 */
void host_window_end(struct host *h, uint64_t now, const char *name, const char *why);

/** host_window_ns() - the window's length so far (0 before it opens). */
uint64_t host_window_ns(const struct host *h, uint64_t now);

/**
 * host_window_delta() - @d's statistics over the window (counters:
 * end - start); zero before it opened; up to now while it is open.
 */
void host_window_delta(struct host *h, struct dom *d, struct vc_vcoproc_stats *out);

/** host_expected_shares() - d->expected of every domain (< 0: none promised). */
void host_expected_shares(struct host *h);

#endif /* HOST_HOST_H */
