/* SPDX-License-Identifier: MIT */
/*
 * DOC: OS abstraction
 *
 * The only interface the vcoproc core (framework + schedulers) uses to reach
 * its environment: memory, locks, time, timers, logging and assertions.
 * Everything else the core needs it carries itself (core/util.c).  The core is compiled with
 * -ffreestanding against this header plus the compiler's own freestanding
 * headers (stddef.h, stdint.h, stdbool.h, stdarg.h); as GCC documents for any
 * freestanding environment, memcpy, memmove, memset and memcmp must exist.
 *
 * Assertions: VC_ASSERT() calls vc_os_assert_fail() in debug builds and
 * is compiled out with NDEBUG, as is the owner tracking behind
 * vc_os_lock_held().
 *
 * Implementations shipped:
 *   os/posix.c  - pthreads, CLOCK_MONOTONIC, one timer thread (real hosts)
 *   os/vtime.c  - virtual time and a deterministic event loop (simulator,
 *                 unit tests); see include/vcoproc/vtime.h
 * An embedding hypervisor (Xen, ...) provides its own.
 *
 * Locking: these functions take no core lock.  A timer callback runs without
 * any lock of the timer implementation held, so it may take a core lock and
 * re-arm its own timer.
 */
#ifndef VCOPROC_OS_H
#define VCOPROC_OS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Monotonic time in nanoseconds. */
typedef uint64_t vc_time_t;

#define VC_TIME_INF   UINT64_MAX
#define VC_NSEC(x)    ((vc_time_t)(x))
#define VC_USEC(x)    ((vc_time_t)(x) * 1000ULL)
#define VC_MSEC(x)    ((vc_time_t)(x) * 1000000ULL)
#define VC_SEC(x)     ((vc_time_t)(x) * 1000000000ULL)

/* ---- memory --------------------------------------------------------- */

/**
 * vc_os_zalloc() - allocate @size zeroed bytes.
 * Returns the memory, owned by the caller and released with vc_os_free(),
 * or NULL when out of memory.
 */
void *vc_os_zalloc(size_t size);

/** vc_os_free() - release memory from vc_os_zalloc(); NULL is ignored. */
void vc_os_free(void *p);

/* ---- locks ---------------------------------------------------------- */

/** A non-recursive mutual-exclusion lock. */
struct vc_os_lock;

/** vc_os_lock_create() - returns a new lock owned by the caller, NULL on ENOMEM. */
struct vc_os_lock *vc_os_lock_create(void);
/** vc_os_lock_destroy() - free an unlocked lock; NULL is ignored. */
void vc_os_lock_destroy(struct vc_os_lock *l);
void vc_os_lock(struct vc_os_lock *l);
void vc_os_unlock(struct vc_os_lock *l);

/**
 * vc_os_lock_held() - whether the calling thread holds @l.  For assertions
 * only (VC_ASSERT_LOCKED()): an implementation built with NDEBUG, or one
 * that does not track owners, returns true.
 */
bool vc_os_lock_held(const struct vc_os_lock *l);

/* ---- assertions ----------------------------------------------------- */

#if defined(__GNUC__)
#define VC_NORETURN __attribute__((noreturn))
#else
#define VC_NORETURN
#endif

/**
 * vc_os_assert_fail() - VC_ASSERT(@expr) failed at @file:@line: a bug in
 * the core.  Does not return: the environment stops (os/posix.c and
 * os/vtime.c print the expression and abort(); a hypervisor panics).
 */
void vc_os_assert_fail(const char *expr, const char *file, unsigned int line) VC_NORETURN;

/*
 * VC_ASSERT() - check an invariant in debug builds; compiled out with
 * NDEBUG (the expression is then not evaluated).  VC_ASSERT_LOCKED() - the
 * calling thread holds @l, for functions documented "lock held".
 */
#ifdef NDEBUG
#define VC_ASSERT(e) ((void)sizeof(!(e)))
#else
#define VC_ASSERT(e) ((e) ? (void)0 : vc_os_assert_fail(#e, __FILE__, __LINE__))
#endif
#define VC_ASSERT_LOCKED(l) VC_ASSERT(vc_os_lock_held(l))

/* ---- time ----------------------------------------------------------- */

/** vc_os_now() - current monotonic (or virtual) time in ns. */
vc_time_t vc_os_now(void);

/* ---- timers --------------------------------------------------------- */

/** A one-shot timer that can be re-armed. */
struct vc_os_timer;
typedef void (*vc_os_timer_fn)(void *arg);

/**
 * vc_os_timer_create() - a disarmed timer that calls @fn(@arg) when it
 * expires.  Returns the timer, owned by the caller (vc_os_timer_destroy()),
 * or NULL on ENOMEM.
 */
struct vc_os_timer *vc_os_timer_create(vc_os_timer_fn fn, void *arg);

/**
 * vc_os_timer_arm() - (re)arm @t to expire at absolute time @deadline.
 * A deadline in the past expires as soon as possible.  Re-arming replaces
 * the previous deadline.  Callable from the timer's own callback.
 */
void vc_os_timer_arm(struct vc_os_timer *t, vc_time_t deadline);

/**
 * vc_os_timer_disarm() - cancel a pending expiry.  Does not wait for a
 * callback already running, so it may be called with locks the callback
 * takes; such a callback must tolerate running late (check its deadline).
 */
void vc_os_timer_disarm(struct vc_os_timer *t);

/**
 * vc_os_timer_destroy() - disarm, wait for a running callback to return,
 * and free.  Must not be called with a lock the callback takes, nor from
 * the callback itself.  NULL is ignored.
 */
void vc_os_timer_destroy(struct vc_os_timer *t);

/* ---- logging -------------------------------------------------------- */

enum vc_log_level {
	VC_LOG_ERR,
	VC_LOG_WARN,
	VC_LOG_INFO,
	VC_LOG_DEBUG,
};

/**
 * vc_os_log() - emit one already formatted line (no trailing newline).
 * Core code formats with vc_log() (core/util.c) which ends here.
 */
void vc_os_log(enum vc_log_level level, const char *line);

#endif /* VCOPROC_OS_H */
