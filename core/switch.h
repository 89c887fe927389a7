/* SPDX-License-Identifier: MIT */
/*
 * The scheduling engine (core/switch.c) as the rest of the core sees it.
 * Every function here is called with c->lock held.
 */
#ifndef VCOPROC_CORE_SCHEDULE_H
#define VCOPROC_CORE_SCHEDULE_H

#include "internal.h"

/**
 * vc_coproc_reschedule() - ask @c's algorithm what runs now and carry the
 * decision out (switch, refusal handling, timers).  Deferred while a stop
 * is under way.
 */
void vc_coproc_reschedule(struct vc_coproc *c, vc_time_t now);

/** vc_coproc_charge_curr() - charge the running vcoproc up to @now. */
void vc_coproc_charge_curr(struct vc_coproc *c, vc_time_t now);

/** vc_vcoproc_wake() - @v got work (doorbell); may reschedule. */
void vc_vcoproc_wake(struct vc_vcoproc *v, vc_time_t now);

/**
 * vc_coproc_evict() - take @v off the device for good (destroy): stop it,
 * resetting it if the device refuses, and save it.  @v is asleep after.
 */
void vc_coproc_evict(struct vc_coproc *c, struct vc_vcoproc *v, vc_time_t now);

/**
 * vc_coproc_own() - put the new owner @v of a passthrough coprocessor on
 * the device, for good: its context is loaded and started now, awake or
 * not, and stays until vc_coproc_evict().
 */
void vc_coproc_own(struct vc_coproc *c, struct vc_vcoproc *v, vc_time_t now);

/** vc_coproc_timer_fn() - the coprocessor's timer callback. */
void vc_coproc_timer_fn(void *arg);

#endif /* VCOPROC_CORE_SCHEDULE_H */
