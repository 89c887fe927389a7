/* SPDX-License-Identifier: MIT */
/*
 * DOC: what vcoprocd reports about a run (report.c)
 *
 * The periodic table on stderr, the summary at the end, --check-shares and
 * the --json summary (docs/kvm-host.md lists its fields).  Loop thread.
 */
#ifndef HOST_REPORT_H
#define HOST_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "host.h"

/** Shares of the whole run and of the busy window, per domain (< 0: none). */
struct report_shares {
	double total[HOST_MAX_DOMAINS];
	double window[HOST_MAX_DOMAINS];
};

/** report_table() - per domain, the last @interval_ns and since the start. */
void report_table(struct host *h, uint64_t now, uint64_t interval_ns);

/** report_dom_ok() - @d passed (exit status 0) or was destroyed as asked. */
bool report_dom_ok(const struct dom *d);

/** report_shares() - fill @sh from every domain's statistics. */
void report_shares(struct host *h, struct report_shares *sh);

/**
 * report_check_shares() - every domain the algorithm promises a share must
 * get it within @tol (relative) over the busy window.  Logs what is off;
 * returns true when all are within.
 */
bool report_check_shares(struct host *h, const struct report_shares *sh, double tol);

/** report_summary() - the closing table on stderr. */
void report_summary(struct host *h, const struct report_shares *sh, uint64_t t1);

/** report_json() - the summary as one JSON object to @path ("-": stdout). */
int report_json(struct host *h, const struct report_shares *sh, const char *path, uint64_t t1,
		int status);

#endif /* HOST_REPORT_H */
