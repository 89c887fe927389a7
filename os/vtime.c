// SPDX-License-Identifier: MIT
/*
 * DOC: virtual-time OS layer
 *
 * include/vcoproc/os.h on a virtual clock (see include/vcoproc/vtime.h).
 * Armed timers sit in a binary min-heap ordered by (deadline, arming
 * sequence), so runs are deterministic.  Single-threaded by design: the
 * event loop runs callbacks on the caller's thread.  Locks are real mutexes
 * so code that also runs on os/posix.c keeps its locking exercised.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <vcoproc/os.h>
#include <vcoproc/vtime.h>

struct vc_os_timer {
	vc_os_timer_fn fn;
	void *arg;
	vc_time_t deadline;
	uint64_t seq;
	size_t heap_idx; /* SIZE_MAX when disarmed */
};

static vc_time_t now_ns;
static uint64_t next_seq;
static struct vc_os_timer **heap;
static size_t heap_len, heap_cap;
static enum vc_log_level log_level = VC_LOG_WARN;

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
	return now_ns;
}

/* ---- the timer heap ------------------------------------------------------ */

static bool before(const struct vc_os_timer *a, const struct vc_os_timer *b)
{
	return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_set(size_t i, struct vc_os_timer *t)
{
	heap[i] = t;
	t->heap_idx = i;
}

static void sift_up(size_t i)
{
	struct vc_os_timer *t = heap[i];

	while (i) {
		size_t parent = (i - 1) / 2;

		if (!before(t, heap[parent]))
			break;
		heap_set(i, heap[parent]);
		i = parent;
	}
	heap_set(i, t);
}

static void sift_down(size_t i)
{
	struct vc_os_timer *t = heap[i];

	for (;;) {
		size_t l = 2 * i + 1, m = i;
		struct vc_os_timer *best = t;

		if (l < heap_len && before(heap[l], best)) {
			m = l;
			best = heap[l];
		}
		if (l + 1 < heap_len && before(heap[l + 1], best)) {
			m = l + 1;
			best = heap[l + 1];
		}
		if (m == i)
			break;
		heap_set(i, best);
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

struct vc_os_timer *vc_os_timer_create(vc_os_timer_fn fn, void *arg)
{
	struct vc_os_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->fn = fn;
	t->arg = arg;
	t->heap_idx = SIZE_MAX;
	return t;
}

void vc_os_timer_arm(struct vc_os_timer *t, vc_time_t deadline)
{
	heap_remove(t);
	if (heap_len == heap_cap) {
		size_t cap = heap_cap ? heap_cap * 2 : 64;
		struct vc_os_timer **n = realloc(heap, cap * sizeof(*n));

		if (!n) {
			fprintf(stderr, "vtime: out of memory arming a timer\n");
			abort();
		}
		heap = n;
		heap_cap = cap;
	}
	t->deadline = deadline;
	t->seq = next_seq++;
	heap_set(heap_len++, t);
	sift_up(t->heap_idx);
}

void vc_os_timer_disarm(struct vc_os_timer *t)
{
	heap_remove(t);
}

void vc_os_timer_destroy(struct vc_os_timer *t)
{
	if (!t)
		return;
	heap_remove(t);
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
	heap_len = 0;
}

vc_time_t vc_vtime_next(void)
{
	return heap_len ? heap[0]->deadline : VC_TIME_INF;
}

bool vc_vtime_step(vc_time_t limit)
{
	struct vc_os_timer *t;

	if (!heap_len || heap[0]->deadline > limit)
		return false;
	t = heap[0];
	heap_remove(t);
	if (t->deadline > now_ns)
		now_ns = t->deadline;
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
