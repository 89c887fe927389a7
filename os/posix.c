// SPDX-License-Identifier: MIT
/*
 * DOC: POSIX OS layer
 *
 * include/vcoproc/os.h for Linux user space (see include/vcoproc/posix.h).
 * Timers: one thread, started on the first timer, sleeps on a condition
 * variable (CLOCK_MONOTONIC) until the earliest deadline of the core's
 * min-heap (include/vcoproc/heap.h) and runs due callbacks with the timer
 * lock dropped.  A callback that is
 * running is remembered so vc_os_timer_destroy() can wait for it.
 *
 * Lock order: callbacks take core locks; tlock is never held while a
 * callback runs, and core code may arm/disarm with its own locks held.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vcoproc/heap.h>
#include <vcoproc/os.h>
#include <vcoproc/posix.h>
#include <vcoproc/util.h>

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
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (vc_time_t)ts.tv_sec * 1000000000ULL + (vc_time_t)ts.tv_nsec;
}

/* ---- timers ----------------------------------------------------------------- */

struct vc_os_timer {
	vc_os_timer_fn fn;
	void *arg;
	struct vc_heap_node hnode; /* in timers while armed; key: deadline */
};

static pthread_mutex_t tlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tcond;         /* new earliest deadline */
static pthread_cond_t tdone;         /* a callback returned */
static pthread_t tthread;
static bool tthread_started;
static struct vc_heap timers = { .absolute = true }; /* protected by tlock */
static struct vc_os_timer *running;  /* callback in progress */

/*
 * What the timer thread waits for: the deadline it sleeps until,
 * VC_TIME_INF while it waits for any timer, 0 while it is awake (it reads
 * the heap again before it sleeps).  An arm wakes it only when the new
 * deadline is earlier than that, so re-arming a timer that goes on and off
 * with the work (every request of a device that idles between them) does
 * not wake it each time.  tlock.
 */
static vc_time_t tsleep;

static struct vc_os_timer *timers_top(void)
{
	struct vc_heap_node *n = vc_heap_top(&timers);

	return n ? vc_container_of(n, struct vc_os_timer, hnode) : NULL;
}

static void *timer_thread(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&tlock);
	for (;;) {
		struct vc_os_timer *t;
		vc_time_t now = vc_os_now();

		t = timers_top();
		if (!t) {
			tsleep = VC_TIME_INF;
			pthread_cond_wait(&tcond, &tlock);
			tsleep = 0;
			continue;
		}
		if (t->hnode.key > now) {
			struct timespec ts = {
				.tv_sec = (time_t)(t->hnode.key / 1000000000ULL),
				.tv_nsec = (long)(t->hnode.key % 1000000000ULL),
			};

			tsleep = t->hnode.key;
			pthread_cond_timedwait(&tcond, &tlock, &ts);
			tsleep = 0;
			continue;
		}
		vc_heap_del(&timers, &t->hnode);
		running = t;
		pthread_mutex_unlock(&tlock);
		t->fn(t->arg);
		pthread_mutex_lock(&tlock);
		running = NULL;
		pthread_cond_broadcast(&tdone);
	}
	return NULL;
}

/* Start the timer thread once; tlock held. */
static int start_thread(void)
{
	pthread_condattr_t attr;
	int err;

	if (tthread_started)
		return 0;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&tcond, &attr);
	pthread_cond_init(&tdone, &attr);
	pthread_condattr_destroy(&attr);
	err = pthread_create(&tthread, NULL, timer_thread, NULL);
	if (err)
		return -err;
	pthread_detach(tthread);
	tthread_started = true;
	return 0;
}

struct vc_os_timer *vc_os_timer_create(vc_os_timer_fn fn, void *arg)
{
	struct vc_os_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->fn = fn;
	t->arg = arg;
	pthread_mutex_lock(&tlock);
	if (start_thread()) {
		pthread_mutex_unlock(&tlock);
		free(t);
		return NULL;
	}
	pthread_mutex_unlock(&tlock);
	return t;
}

void vc_os_timer_arm(struct vc_os_timer *t, vc_time_t deadline)
{
	pthread_mutex_lock(&tlock);
	vc_heap_del(&timers, &t->hnode);
	if (vc_heap_reserve(&timers, timers.nr + 1)) {
		pthread_mutex_unlock(&tlock);
		vc_os_log(VC_LOG_ERR, "timer: out of memory; timer not armed");
		return;
	}
	t->hnode.key = deadline;
	vc_heap_push(&timers, &t->hnode);
	if (timers_top() == t && deadline < tsleep)
		pthread_cond_signal(&tcond);
	pthread_mutex_unlock(&tlock);
}

void vc_os_timer_disarm(struct vc_os_timer *t)
{
	pthread_mutex_lock(&tlock);
	vc_heap_del(&timers, &t->hnode);
	pthread_mutex_unlock(&tlock);
}

void vc_os_timer_destroy(struct vc_os_timer *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&tlock);
	vc_heap_del(&timers, &t->hnode);
	while (running == t && !pthread_equal(pthread_self(), tthread))
		pthread_cond_wait(&tdone, &tlock);
	pthread_mutex_unlock(&tlock);
	free(t);
}

/* ---- logging ------------------------------------------------------------------ */

static enum vc_log_level log_level = VC_LOG_INFO;
static bool log_level_set;
static void (*log_sink)(enum vc_log_level, const char *);

void vc_posix_set_log_level(enum vc_log_level level)
{
	log_level = level;
	log_level_set = true;
}

void vc_posix_set_log_sink(void (*fn)(enum vc_log_level, const char *line))
{
	log_sink = fn;
}

static enum vc_log_level env_level(void)
{
	static const char *const names[] = { "err", "warn", "info", "debug" };
	const char *e = getenv("VCOPROC_LOG");

	if (e)
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(e, names[i]))
				return (enum vc_log_level)i;
	return log_level;
}

void vc_os_log(enum vc_log_level level, const char *line)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };

	if (!log_level_set) {
		log_level = env_level();
		log_level_set = true;
	}
	if (level > log_level)
		return;
	if (log_sink) {
		log_sink(level, line);
		return;
	}
	fprintf(stderr, "vcoproc: %s: %s\n", names[level], line);
}
