/* SPDX-License-Identifier: MIT */
/*
 * DOC: vcoproc-sim engine - API for the CLI and the tests
 *
 * A deterministic simulation of several domains sharing one simcp
 * coprocessor on virtual time (os/vtime.c).  Everything below the domains
 * is the real code: the framework core, the scheduling algorithm, the simcp
 * device model with its timing model and platform glue.  The domains are
 * scripted workloads that drive the device with the native simcp driver
 * (driver/simcp) through vc_domain_mmio() only, and take its interrupts
 * through the host's irq_raise, exactly as a guest kernel would.
 *
 * A run is described by a struct sim_scenario (fill it by hand after
 * sim_scenario_init(), or parse the text format of docs/sim.md with
 * sim_scenario_parse()), then:
 *
 *   sim_create() -> sim_run() [or sim_run_until() steps] -> sim_result()
 *   [-> sim_drain() -> sim_result()] [-> sim_trace_export()] -> sim_destroy()
 *
 * sim_run_scenario() does the common case in one call.
 *
 * Virtual time is process-wide: one struct sim may exist at a time, and
 * sim_create() resets the clock to 0.  The library never prints or exits;
 * errors come back as -VC_E* codes with a message in a caller's buffer.
 */
#ifndef VCOPROC_SIM_H
#define VCOPROC_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vcoproc/vcoproc.h>

/*
 * Domains are allocated as the scenario grows; the bound only keeps domids
 * and memory sane.  Each domain costs its guest memory (1 MiB by default,
 * touched only where used) and a simcp context.
 */
#define SIM_MAX_DOMAINS 4096
#define SIM_MAX_EVENTS  128
#define SIM_MAX_PARAMS  VC_VCOPROC_MAX_PARAMS
#define SIM_ERR_MAX     320
#define SIM_SRC_MAX     128 /* a scenario's name in messages */

/* Where the simulator puts things in every domain's guest-physical space. */
#define SIM_MEM_GPA   0x40000000ull /* guest memory: ring, then semaphores */
#define SIM_MMIO_GPA  0xfe000000ull /* the simcp register window */
#define SIM_IRQ       32u

/* ---- scenarios ------------------------------------------------------------ */

enum sim_arrival {
	SIM_ARRIVAL_SATURATE, /* keep @depth jobs outstanding at all times */
	SIM_ARRIVAL_PERIODIC, /* one job every @every, from @offset */
	SIM_ARRIVAL_POISSON,  /* exponential gaps of mean @every, from @offset */
	SIM_ARRIVAL_IDLE,     /* no jobs */
};

/** One scripted domain: its vcoproc parameters and its workload. */
struct sim_domain_cfg {
	char name[VC_NAME_MAX];
	struct vc_param params[SIM_MAX_PARAMS]; /* for vc_vcoproc_create() */
	unsigned int nr_params;
	enum sim_arrival arrival;
	unsigned int depth;    /* saturate: jobs outstanding (default 4) */
	vc_time_t every;       /* periodic: period; poisson: mean gap */
	vc_time_t offset;      /* first release (default 0) */
	vc_time_t job_min;     /* COMPUTE time per job, uniform in */
	vc_time_t job_max;     /* [job_min, job_max] (default 1 ms) */
	vc_time_t chunk;       /* COMPUTE time per command (default 100 us) */
	double np;             /* share of COMPUTE time flagged NOPREEMPT */
	vc_time_t chain_min;   /* > 0: the NOPREEMPT time comes in chains */
	vc_time_t chain_max;   /* (SIMCP_F_CHAIN) of uniform length in [min, max] */
	uint32_t mem;          /* guest memory bytes (default 1 MiB) */
	vc_time_t deadline;    /* release -> completion allowed; 0: periodic:
				* @every (the next release), others: none */
	uint32_t scratch;      /* bytes of scratch memory the first COMPUTE of
				* each job runs over (and dirties, so every
				* switch moves them); 0: none, time only */
	/* Where it was declared, for messages; 0: not from a scenario text. */
	unsigned int line;
	unsigned int param_col[SIM_MAX_PARAMS]; /* column of each param's word */
};

enum sim_event_type {
	SIM_EV_SET,     /* vc_vcoproc_param_set() of @dom for each param */
	SIM_EV_SCHED,   /* vc_coproc_sched_set(@algo) */
	SIM_EV_PARAM,   /* vc_coproc_param_set() for each param */
	SIM_EV_HANG,    /* @dom submits a WAIT that is never satisfied */
	SIM_EV_DESTROY, /* @dom's domain (and vcoproc) is destroyed */
};

/** A scripted change at virtual time @at. */
struct sim_event {
	vc_time_t at;
	enum sim_event_type type;
	unsigned int dom;          /* index in sim_scenario.dom */
	char algo[VC_NAME_MAX];
	struct vc_param params[SIM_MAX_PARAMS];
	unsigned int nr_params;
	unsigned int line;         /* scenario line; 0: not from a text */
};

/**
 * struct sim_scenario - a whole run.  The domain array grows with
 * sim_scenario_add_domain() and belongs to the scenario: free it with
 * sim_scenario_release().  A struct copy shares the array; do not release
 * both.
 */
struct sim_scenario {
	char algo[VC_NAME_MAX];    /* "" = the build's default */
	vc_time_t duration;        /* default 10 s */
	uint64_t seed;             /* workload randomness (default 1) */
	struct vc_param params[SIM_MAX_PARAMS]; /* algorithm (instance) */
	unsigned int nr_params;
	unsigned int param_line[SIM_MAX_PARAMS]; /* where each was set; 0: not */
	unsigned int param_col[SIM_MAX_PARAMS];  /* from a scenario text */
	vc_time_t hang_timeout;    /* 0: framework default */
	vc_time_t stop_timeout;    /* 0: framework default */
	unsigned int trace_capacity; /* events; 0 = no trace */
	vc_time_t window;          /* per-window shares every @window; 0: none */
	/* The device (struct simcp_config); 0: simcp's default. */
	uint32_t ctx_size;         /* scratch bytes per context */
	uint64_t ctx_bw;           /* bytes/s of a save or load */
	vc_time_t switch_fixed;    /* fixed cost of each save and load */
	vc_time_t max_nonpreempt;  /* the device's bound on a NP section; 0:
				    * the longest the workloads issue */
	unsigned int dev_line;     /* last device directive, for messages */
	/* Extra results (sim_result()); off by default, they cost memory or CPU. */
	bool latency_cdf;          /* each domain's latency CDF (res.cdf) */
	bool switch_steps;         /* time every switch step (res.steps) */
	char src[SIM_SRC_MAX];     /* the text's name (sim_scenario_parse()) */
	struct sim_domain_cfg *dom; /* owned; see sim_scenario_add_domain() */
	unsigned int nr_domains;
	unsigned int dom_cap;      /* entries allocated at @dom */
	struct sim_event ev[SIM_MAX_EVENTS]; /* sorted by @at */
	unsigned int nr_events;
};

/**
 * sim_scenario_init() - an empty scenario with every default set.  @scn
 * may be uninitialised memory: whatever it held is not freed.
 */
void sim_scenario_init(struct sim_scenario *scn);

/**
 * sim_scenario_release() - free what @scn owns (its domains) and leave it
 * as sim_scenario_init() does.  @scn must have been initialised.
 */
void sim_scenario_release(struct sim_scenario *scn);

/**
 * sim_scenario_add_domain() - append a domain named @name with the
 * workload defaults (sim_domain_init()).  *@out points into the
 * scenario's array and stays valid until the next addition or the
 * release.  Returns 0, -VC_E2BIG (SIM_MAX_DOMAINS reached) or -VC_ENOMEM.
 */
int sim_scenario_add_domain(struct sim_scenario *scn, const char *name,
			    struct sim_domain_cfg **out);

/**
 * sim_scenario_copy() - @dst as a deep copy of @src (its own domain
 * array).  @dst is overwritten without being released.  0 or -VC_ENOMEM.
 */
int sim_scenario_copy(struct sim_scenario *dst, const struct sim_scenario *src);

/**
 * sim_scenario_where() - "src:line:col: " for a place in @scn's text (col
 * 0: "src:line: "), or "" when @line is 0 (not from a text), into @buf.
 * Returns @buf.
 */
const char *sim_scenario_where(const struct sim_scenario *scn, unsigned int line,
			       unsigned int col, char *buf, size_t len);

/** sim_domain_init() - @d with the workload defaults and @name. */
void sim_domain_init(struct sim_domain_cfg *d, const char *name);

/**
 * sim_scenario_parse() - add the scenario text @text (docs/sim.md) to
 * @scn, which must have been initialised.  @fname names it in messages.
 * Returns 0, or -VC_EINVAL with "fname:line: message" in @err.
 */
int sim_scenario_parse(struct sim_scenario *scn, const char *text, const char *fname,
		       char *err, size_t errlen);

/**
 * sim_rng_next() - the next number of the simulator's generator
 * (splitmix64) from state @s: the workloads' randomness, for callers that
 * want theirs drawn the same way.
 */
uint64_t sim_rng_next(uint64_t *s);

/** sim_param_add() - append key=@val to @arr (size SIM_MAX_PARAMS). -VC_E2BIG/-VC_EINVAL. */
int sim_param_add(struct vc_param *arr, unsigned int *nr, const char *key,
		  const char *val);

/** sim_param_get() - the value of @key in @arr, or NULL. */
const char *sim_param_get(const struct vc_param *arr, unsigned int nr, const char *key);

/* ---- results ----------------------------------------------------------------- */

/** One domain's outcome. */
struct sim_dom_result {
	char name[VC_NAME_MAX];
	uint32_t domid;
	int create_err;            /* vc_vcoproc_create()'s error; 0: created */
	bool destroyed;            /* by an event; @st is from just before */
	struct vc_vcoproc_stats st; /* the framework's counters */
	double share;              /* st.run_ns / all vcoprocs' run_ns */
	double expected_share;     /* < 0: not defined for this run */

	/* The workload's own view, through its driver. */
	uint64_t jobs_released;    /* jobs the workload wanted to run */
	uint64_t jobs_submitted;   /* ... that made it into the ring */
	uint64_t jobs_completed;   /* ... whose fence came back */
	uint64_t jobs_lost;        /* ... dropped by a device reset */
	uint64_t job_misses;       /* completed after the deadline (periodic:
				    * the next release, unless cfg deadline) */
	vc_time_t deadline;        /* the one judged; 0: none */
	vc_time_t lat_total_ns;    /* release -> completion, summed */
	vc_time_t lat_max_ns;      /* exact */
	vc_time_t lat_p50_ns;      /* from a log-linear histogram: within */
	vc_time_t lat_p99_ns;      /* 0.4% of the exact percentile; 0: no job */
	vc_time_t lat_p999_ns;
	vc_time_t compute_ns;      /* COMPUTE time submitted */
	vc_time_t np_ns;           /* ... of which flagged NOPREEMPT */
	uint64_t chains;           /* NP chains submitted (np_chain) */
	uint64_t np_faults;        /* ... SIMCP_FAULT_NONPREEMPT seen: a section
				    * cut at the device's bound */
	uint64_t fences_emitted;   /* fences the driver queued */
	uint64_t fences_seen_max;  /* highest fence the device reported */
	uint64_t foreign_fences;   /* fence values it never emitted: must be 0 */
	uint64_t irqs_raised;      /* irq_raise() calls for this domain */
	uint64_t irq_handlers;     /* handler runs (raises at one instant coalesce) */
	uint64_t irqs_spurious;    /* handler runs that found nothing pending */
	uint64_t errors;           /* SIMCP_IRQ_ERROR seen */
	uint64_t hang_faults;      /* ... with SIMCP_FAULT_HANG */
	uint64_t ring_full;        /* job submissions put off for lack of space */
	uint64_t jobs_dropped;     /* released while SIM_JOBQ_LEN were queued */

	/* Latency CDF (scenario latency_cdf): res.cdf[cdf_first, +nr_cdf). */
	size_t cdf_first;
	unsigned int nr_cdf;

	/* Windows (scenario window > 0), over those judged (docs/sim.md). */
	unsigned int windows_judged;
	double win_err_abs;        /* worst |share - expected|; -1: none judged */
	double win_err_rel;        /* worst |share - expected| / expected */
};

/**
 * struct sim_cdf_point - one non-empty bucket of a latency histogram:
 * @frac of the jobs completed within @ns (the bucket's upper end, at most
 * the exact maximum).  Points rise in both fields; the last has @frac 1.
 */
struct sim_cdf_point {
	vc_time_t ns;
	double frac;
};

/* The steps of a context switch, in the order the framework takes them. */
enum sim_step {
	SIM_STEP_STOP,   /* stop(): until the device is at a command boundary */
	SIM_STEP_SAVE,
	SIM_STEP_IOMMU,  /* iommu_switch() */
	SIM_STEP_LOAD,
	SIM_STEP_START,
	SIM_STEPS,
};

/** What the simcp platform hook of one switch step cost (scenario switch_steps). */
struct sim_step_stats {
	uint64_t calls;            /* hook calls */
	double cpu_ns;             /* host CPU in the hook (the device model's
				    * work, CLOCK_MONOTONIC), summed */
	vc_time_t dev_ns;          /* modeled device time, summed: save, load,
				    * iommu, start: simcp's ctx_move_ns they
				    * added; stop: virtual time from the first
				    * stop request of a switch to the save
				    * (the command in flight finishing, and
				    * refusals), charged to the outgoing
				    * vcoproc as its own work */
	uint64_t switches;         /* stop: switches whose stop was waited for */
};

/** sim_step_name() - "stop", "save", "iommu", "load", "start". */
const char *sim_step_name(enum sim_step s);

struct sim_result {
	char algo[VC_NAME_MAX];    /* algorithm at the end */
	vc_time_t now;             /* virtual time of the snapshot */
	vc_time_t switch_cost;     /* what admission control was told */
	vc_time_t max_nonpreempt;
	struct vc_coproc_stats coproc;
	uint64_t dev_cmds;         /* commands simcp completed */
	uint64_t dev_saves, dev_loads, dev_resets, dev_faults;
	vc_time_t dev_busy_ns;
	uint64_t timer_events;     /* virtual-time callbacks run */
	uint64_t event_errors;     /* scripted events the framework refused */

	/*
	 * Windows: every complete one so far, window-major, use
	 * sim_result_window().  A window is judged when every vcoproc had
	 * work throughout it and the algorithm's expected shares were
	 * defined and did not change in it (docs/sim.md).
	 */
	vc_time_t window;          /* the scenario's; 0: none */
	unsigned int nr_windows;
	double *win_share;         /* [w * nr_domains + i], owned */
	double *win_expected;      /* same shape; < 0: window not judged */
	double win_err_abs;        /* worst over all domains; -1: none judged */
	double win_err_rel;
	int win_err_abs_dom;       /* whose (index in @dom); -1: none */
	int win_err_rel_dom;

	unsigned int nr_domains;
	struct sim_dom_result *dom; /* @nr_domains of them, owned */
	unsigned int dom_cap;

	/* Scenario latency_cdf: every domain's points (dom[i].cdf_first). Owned. */
	struct sim_cdf_point *cdf;
	size_t nr_cdf, cdf_cap;

	/* Scenario switch_steps: per step; all zero otherwise. */
	bool has_steps;
	struct sim_step_stats steps[SIM_STEPS];
};

/**
 * sim_result_release() - free what @res owns and zero it.  A zeroed
 * struct sim_result is valid (empty).
 */
void sim_result_release(struct sim_result *res);

/**
 * sim_result_window() - domain @i's share in window @w and, in
 * *@expected (may be NULL), its expected share there (< 0: not judged).
 * Both must be in range.
 */
double sim_result_window(const struct sim_result *res, unsigned int w, unsigned int i,
			 double *expected);

/* ---- running ------------------------------------------------------------------ */

struct sim;
struct vc_printer;

/**
 * sim_create() - build the framework, the device and every domain of
 * @scn (copied) at virtual time 0, and start the workloads.  A vcoproc
 * refused by admission control (-VC_ENOSPC) is not an error: the domain
 * is recorded with create_err and runs nothing.  Returns 0 and *@out
 * (free with sim_destroy()), or -VC_E* with a message in @err.
 */
int sim_create(const struct sim_scenario *scn, struct sim **out, char *err, size_t errlen);

/** sim_run_until() - run virtual time up to @t (absolute), events included. */
void sim_run_until(struct sim *sim, vc_time_t t);

/** sim_run() - sim_run_until() the scenario's duration. */
void sim_run(struct sim *sim);

/**
 * sim_drain() - stop releasing jobs and run until every submitted job is
 * complete or lost, for at most @limit more virtual time.
 * Returns 0, or -VC_ETIMEDOUT with jobs still outstanding.
 */
int sim_drain(struct sim *sim, vc_time_t limit);

/**
 * sim_result() - a snapshot of every counter now, shares computed.  @res
 * must be zeroed or hold an earlier result, whose memory is reused; it
 * owns its arrays (sim_result_release()).  Returns 0, or -VC_ENOMEM with
 * @res released.
 */
int sim_result(struct sim *sim, struct sim_result *res);

/** sim_coproc() - the simulated coprocessor, for direct framework calls. */
struct vc_coproc *sim_coproc(struct sim *sim);

/** sim_vcoproc() - domain @i's vcoproc, NULL if it has none (any more). */
struct vc_vcoproc *sim_vcoproc(struct sim *sim, unsigned int i);

/**
 * sim_trace_export() - the coprocessor's trace (scenario trace_capacity
 * > 0) as Chrome trace-event JSON.  Returns 0 or the printer's error.
 */
int sim_trace_export(struct sim *sim, struct vc_printer *p);

/** sim_destroy() - tear everything down; the clock is left as it is. NULL ok. */
void sim_destroy(struct sim *sim);

/**
 * sim_run_scenario() - create, run for the duration, snapshot into @res
 * (as sim_result()), destroy.  Returns as sim_create().
 */
int sim_run_scenario(const struct sim_scenario *scn, struct sim_result *res,
		     char *err, size_t errlen);

/* ---- judging ------------------------------------------------------------------- */

/**
 * sim_expected_shares() - fill every dom[].expected_share of @res (from
 * @sim, running @scn) with what the algorithm promises - the framework's
 * vc_vcoproc_expected_share(), as a share of all vcoprocs' run time - only
 * for runs where every created domain saturates and no event changes the
 * schedule; -1 elsewhere.  Called by sim_result().
 */
void sim_expected_shares(const struct sim_scenario *scn, struct sim *sim,
			 struct sim_result *res);

/**
 * sim_check() - the --check verdict: every defined expected share met
 * within @tol relative, and for deadline-based algorithms no deadline
 * miss.  Writes one line per problem to @p (may be NULL).  Returns true
 * when all is well.
 */
bool sim_check(const struct sim_scenario *scn, const struct sim_result *res, double tol,
	       struct vc_printer *p);

/**
 * sim_result_json() - @res as the JSON document of docs/sim.md.
 * Returns 0 or the printer's error.
 */
int sim_result_json(const struct sim_scenario *scn, const struct sim_result *res,
		    struct vc_printer *p);

#endif /* VCOPROC_SIM_H */
