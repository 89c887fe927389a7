/* SPDX-License-Identifier: MIT */
/*
 * DOC: virtual time
 *
 * os/vtime.c implements include/vcoproc/os.h on virtual time for the
 * simulator and the unit tests: vc_os_now() returns a clock that moves only
 * when the caller runs the event loop below, timers fire in deadline order
 * (ties in arming order), and everything happens on the caller's thread, so
 * a run is fully deterministic.  Locks are real (cheap) mutexes.
 */
#ifndef VCOPROC_VTIME_H
#define VCOPROC_VTIME_H

#include "os.h"

/**
 * vc_vtime_reset() - set the clock back to 0.  Every timer must have been
 * destroyed.  For tests that run several scenarios in one process.
 */
void vc_vtime_reset(void);

/** vc_vtime_next() - deadline of the earliest armed timer, VC_TIME_INF if none. */
vc_time_t vc_vtime_next(void);

/**
 * vc_vtime_step() - if the earliest armed timer's deadline is <= @limit,
 * move the clock to it (never backwards) and run its callback; returns
 * true.  Otherwise returns false and leaves the clock alone.
 */
bool vc_vtime_step(vc_time_t limit);

/**
 * vc_vtime_run_until() - run every timer due up to @t in order (including
 * those armed meanwhile), then set the clock to @t (if later).  Returns the
 * number of callbacks run.
 */
uint64_t vc_vtime_run_until(vc_time_t t);

/** vc_vtime_advance() - vc_vtime_run_until(vc_os_now() + @delta). */
uint64_t vc_vtime_advance(vc_time_t delta);

/** vc_vtime_set_log_level() - lines above @level are dropped (default WARN). */
void vc_vtime_set_log_level(enum vc_log_level level);

#endif /* VCOPROC_VTIME_H */
