// SPDX-License-Identifier: MIT
/*
 * DOC: virtual-time OS layer
 *
 * include/vcoproc/os.h on a virtual clock (see include/vcoproc/vtime.h).
 * Armed timers sit in the core's min-heap (include/vcoproc/heap.h) ordered
 * by (deadline, arming sequence), so runs are deterministic.
 * Single-threaded by design: the event loop runs callbacks on the caller's
 * thread.  Locks are real mutexes
 * so code that also runs on os/posix.c keeps its locking exercised.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <vcoproc/heap.h>
#include <vcoproc/os.h>
#include <vcoproc/util.h>
#include <vcoproc/vtime.h>

struct vc_os_timer {
	vc_os_timer_fn fn;
	void *arg;
	struct vc_heap_node hnode; /* in timers while armed; key: deadline, tie: arming sequence */
};

static vc_time_t now_ns;
static uint64_t next_seq;
static struct vc_heap timers = { .absolute = true };
static enum vc_log_level log_level = VC_LOG_WARN;

void *vc_os_zalloc(size_t size)
{
	return calloc(1, size ? size : 1);
}

void vc_os_free(void *p)
{
	free(p);
}

/*
 * In debug builds a lock remembers its owner for vc_os_lock_held(): the
 * address of a thread-local variable names the thread.  The owner is one
 * word written with atomics, so a thread that does not hold the lock reads
 * some other thread's name or 0, never its own.
 */
struct vc_os_lock {
	pthread_mutex_t m;
#ifndef NDEBUG
	uintptr_t owner; /* the holder's self_name(), 0 when free */
#endif
};

#ifndef NDEBUG
static _Thread_local char self_anchor;

static uintptr_t self_name(void)
{
	return (uintptr_t)&self_anchor;
}
#endif

struct vc_os_lock *vc_os_lock_create(void)
{
	struct vc_os_lock *l = calloc(1, sizeof(*l));

	if (l)
		pthread_mutex_init(&l->m, NULL);
	return l;
}

void vc_os_lock_destroy(struct vc_os_lock *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->m);
	free(l);
}

void vc_os_lock(struct vc_os_lock *l)
{
	pthread_mutex_lock(&l->m);
#ifndef NDEBUG
	__atomic_store_n(&l->owner, self_name(), __ATOMIC_RELAXED);
#endif
}

void vc_os_unlock(struct vc_os_lock *l)
{
#ifndef NDEBUG
	__atomic_store_n(&l->owner, 0, __ATOMIC_RELAXED);
#endif
	pthread_mutex_unlock(&l->m);
}

bool vc_os_lock_held(const struct vc_os_lock *l)
{
#ifndef NDEBUG
	return __atomic_load_n(&l->owner, __ATOMIC_RELAXED) == self_name();
#else
	return true;
#endif
}

void vc_os_assert_fail(const char *expr, const char *file, unsigned int line)
{
	fprintf(stderr, "vcoproc: assertion failed: %s (%s:%u)\n", expr, file, line);
	abort();
}

vc_time_t vc_os_now(void)
{
	return now_ns;
}

/* ---- timers ------------------------------------------------------------- */

static struct vc_os_timer *timers_top(void)
{
	struct vc_heap_node *n = vc_heap_top(&timers);

	return n ? vc_container_of(n, struct vc_os_timer, hnode) : NULL;
}

struct vc_os_timer *vc_os_timer_create(vc_os_timer_fn fn, void *arg)
{
	struct vc_os_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->fn = fn;
	t->arg = arg;
	return t;
}

void vc_os_timer_arm(struct vc_os_timer *t, vc_time_t deadline)
{
	vc_heap_del(&timers, &t->hnode);
	if (vc_heap_reserve(&timers, timers.nr + 1)) {
		fprintf(stderr, "vtime: out of memory arming a timer\n");
		abort();
	}
	t->hnode.key = deadline;
	t->hnode.tie = next_seq++;
	vc_heap_push(&timers, &t->hnode);
}

void vc_os_timer_disarm(struct vc_os_timer *t)
{
	vc_heap_del(&timers, &t->hnode);
}

void vc_os_timer_destroy(struct vc_os_timer *t)
{
	if (!t)
		return;
	vc_heap_del(&timers, &t->hnode);
	free(t);
}

void vc_os_log(enum vc_log_level level, const char *line)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };

	if (level <= log_level)
		fprintf(stderr, "[%10.6f] %s: %s\n", (double)now_ns / 1e9, names[level], line);
}

/* ---- the event loop ------------------------------------------------------ */

void vc_vtime_set_log_level(enum vc_log_level level)
{
	log_level = level;
}

void vc_vtime_reset(void)
{
	now_ns = 0;
	next_seq = 0;
	vc_heap_fini(&timers);
}

vc_time_t vc_vtime_next(void)
{
	struct vc_os_timer *t = timers_top();

	return t ? t->hnode.key : VC_TIME_INF;
}

bool vc_vtime_step(vc_time_t limit)
{
	struct vc_os_timer *t = timers_top();

	if (!t || t->hnode.key > limit)
		return false;
	vc_heap_del(&timers, &t->hnode);
	if (t->hnode.key > now_ns)
		now_ns = t->hnode.key;
	t->fn(t->arg);
	return true;
}

uint64_t vc_vtime_run_until(vc_time_t t)
{
	uint64_t n = 0;

	while (vc_vtime_step(t))
		n++;
	if (t > now_ns && t != VC_TIME_INF)
		now_ns = t;
	return n;
}

uint64_t vc_vtime_advance(vc_time_t delta)
{
	return vc_vtime_run_until(now_ns + delta);
}
