// SPDX-License-Identifier: MIT
/*
 * DOC: POSIX OS layer
 *
 * include/vcoproc/os.h for Linux user space (see include/vcoproc/posix.h).
 * Timers: one thread, started on the first timer, sleeps on a condition
 * variable (CLOCK_MONOTONIC) until the earliest deadline of a min-heap and
 * runs due callbacks with the timer lock dropped.  A callback that is
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

#include <vcoproc/os.h>
#include <vcoproc/posix.h>

void *vc_os_zalloc(size_t size)
{
	return calloc(1, size ? size : 1);
}

void vc_os_free(void *p)
{
	free(p);
}

struct vc_os_lock {
	pthread_mutex_t m;
};

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
}

void vc_os_unlock(struct vc_os_lock *l)
{
	pthread_mutex_unlock(&l->m);
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
	vc_time_t deadline;
	size_t heap_idx; /* SIZE_MAX when disarmed */
};

static pthread_mutex_t tlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tcond;         /* new earliest deadline */
static pthread_cond_t tdone;         /* a callback returned */
static pthread_t tthread;
static bool tthread_started;
static struct vc_os_timer **heap;    /* protected by tlock */
static size_t heap_len, heap_cap;
static struct vc_os_timer *running;  /* callback in progress */

static void heap_set(size_t i, struct vc_os_timer *t)
{
	heap[i] = t;
	t->heap_idx = i;
}

static void sift_up(size_t i)
{
	struct vc_os_timer *t = heap[i];

	while (i && t->deadline < heap[(i - 1) / 2]->deadline) {
		heap_set(i, heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(i, t);
}

static void sift_down(size_t i)
{
	struct vc_os_timer *t = heap[i];

	for (;;) {
		size_t l = 2 * i + 1, m = i;
		vc_time_t best = t->deadline;

		if (l < heap_len && heap[l]->deadline < best) {
			m = l;
			best = heap[l]->deadline;
		}
		if (l + 1 < heap_len && heap[l + 1]->deadline < best)
			m = l + 1;
		if (m == i)
			break;
		heap_set(i, heap[m]);
		i = m;
	}
	heap_set(i, t);
}

static void heap_remove(struct vc_os_timer *t)
{
	size_t i = t->heap_idx;
	struct vc_os_timer *last;

	if (i == SIZE_MAX)
		return;
	t->heap_idx = SIZE_MAX;
	last = heap[--heap_len];
	if (i == heap_len)
		return;
	heap_set(i, last);
	sift_down(i);
	sift_up(last->heap_idx);
}

static void *timer_thread(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&tlock);
	for (;;) {
		struct vc_os_timer *t;
		vc_time_t now = vc_os_now();

		if (!heap_len) {
			pthread_cond_wait(&tcond, &tlock);
			continue;
		}
		t = heap[0];
		if (t->deadline > now) {
			struct timespec ts = {
				.tv_sec = (time_t)(t->deadline / 1000000000ULL),
				.tv_nsec = (long)(t->deadline % 1000000000ULL),
			};

			pthread_cond_timedwait(&tcond, &tlock, &ts);
			continue;
		}
		heap_remove(t);
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
	t->heap_idx = SIZE_MAX;
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
	heap_remove(t);
	if (heap_len == heap_cap) {
		size_t cap = heap_cap ? heap_cap * 2 : 64;
		struct vc_os_timer **n = realloc(heap, cap * sizeof(*n));

		if (!n) {
			pthread_mutex_unlock(&tlock);
			vc_os_log(VC_LOG_ERR, "timer: out of memory; timer not armed");
			return;
		}
		heap = n;
		heap_cap = cap;
	}
	t->deadline = deadline;
	heap_set(heap_len++, t);
	sift_up(t->heap_idx);
	if (heap[0] == t)
		pthread_cond_signal(&tcond);
	pthread_mutex_unlock(&tlock);
}

void vc_os_timer_disarm(struct vc_os_timer *t)
{
	pthread_mutex_lock(&tlock);
	heap_remove(t);
	pthread_mutex_unlock(&tlock);
}

void vc_os_timer_destroy(struct vc_os_timer *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&tlock);
	heap_remove(t);
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
