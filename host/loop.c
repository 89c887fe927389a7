// SPDX-License-Identifier: MIT
/*
 * DOC: the host's event loop - poll(2) over a table of watches
 *
 * A turn: run the timers that are due (earliest first), then poll() every
 * watched fd with a timeout up to the next deadline, then call the
 * callback of each ready fd.  A host has a handful of fds (signals, the
 * vCPU notifier, the control socket and its clients, vhost-user sockets
 * and kicks), so a flat table and poll() are enough; the table keeps its
 * order, so callbacks run in the order fds were first watched.
 *
 * A callback may change the table: watches are looked up again by fd
 * after each callback, and a generation number per entry keeps a watch
 * that was removed and re-added in the same turn from being called with
 * the old turn's events.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loop.h"

struct hloop_watch {
	int fd;
	unsigned int events;
	hloop_fd_cb *cb;
	void *opaque;
	uint64_t gen;                 /* when it was (re)added */
};

struct hloop {
	struct hloop_watch *w;
	unsigned int nr, cap;
	struct pollfd *pfd;           /* cap entries, rebuilt every turn */
	uint64_t gen;
	struct hloop_timer *timers;   /* armed, unsorted */
	bool quit;
	int code;
};

uint64_t hloop_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int hloop_create(struct hloop **out)
{
	struct hloop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	*out = l;
	return 0;
}

void hloop_destroy(struct hloop *l)
{
	if (!l)
		return;
	free(l->w);
	free(l->pfd);
	free(l);
}

static int find(const struct hloop *l, int fd)
{
	for (unsigned int i = 0; i < l->nr; i++)
		if (l->w[i].fd == fd)
			return (int)i;
	return -1;
}

int hloop_watch(struct hloop *l, int fd, unsigned int events, hloop_fd_cb *cb, void *opaque)
{
	int i;

	if (fd < 0 || !cb || !(events & (HLOOP_IN | HLOOP_OUT)))
		return -EINVAL;
	i = find(l, fd);
	if (i < 0) {
		if (l->nr == l->cap) {
			unsigned int cap = l->cap ? 2 * l->cap : 8;
			struct hloop_watch *w = realloc(l->w, cap * sizeof(*w));
			struct pollfd *p;

			if (!w)
				return -ENOMEM;
			l->w = w;
			p = realloc(l->pfd, cap * sizeof(*p));
			if (!p)
				return -ENOMEM;
			l->pfd = p;
			l->cap = cap;
		}
		i = (int)l->nr++;
		l->w[i].gen = ++l->gen;
	}
	l->w[i].fd = fd;
	l->w[i].events = events & (HLOOP_IN | HLOOP_OUT);
	l->w[i].cb = cb;
	l->w[i].opaque = opaque;
	return 0;
}

void hloop_unwatch(struct hloop *l, int fd)
{
	int i = find(l, fd);

	if (i < 0)
		return;
	memmove(&l->w[i], &l->w[i + 1], (l->nr - (unsigned int)i - 1) * sizeof(l->w[0]));
	l->nr--;
}

void hloop_timer(struct hloop *l, struct hloop_timer *t, uint64_t deadline,
		 hloop_timer_cb *cb, void *opaque)
{
	if (!t->armed) {
		t->next = l->timers;
		l->timers = t;
		t->armed = true;
	}
	t->deadline = deadline;
	t->cb = cb;
	t->opaque = opaque;
}

void hloop_cancel(struct hloop *l, struct hloop_timer *t)
{
	if (!t->armed)
		return;
	for (struct hloop_timer **p = &l->timers; *p; p = &(*p)->next) {
		if (*p == t) {
			*p = t->next;
			break;
		}
	}
	t->armed = false;
	t->next = NULL;
}

void hloop_quit(struct hloop *l, int code)
{
	l->quit = true;
	l->code = code;
}

/* Run the timers due at @now, earliest first; returns the next deadline. */
static uint64_t run_timers(struct hloop *l, uint64_t now)
{
	for (;;) {
		struct hloop_timer *due = NULL;

		for (struct hloop_timer *t = l->timers; t; t = t->next)
			if (t->deadline <= now && (!due || t->deadline < due->deadline))
				due = t;
		if (!due || l->quit)
			break;
		hloop_cancel(l, due);
		due->cb(due->opaque, now);
	}
	uint64_t next = UINT64_MAX;

	for (struct hloop_timer *t = l->timers; t; t = t->next)
		if (t->deadline < next)
			next = t->deadline;
	return next;
}

int hloop_run(struct hloop *l)
{
	l->quit = false;
	while (!l->quit) {
		uint64_t now = hloop_now(), next = run_timers(l, now), gen = l->gen;
		unsigned int n = l->nr;
		int timeout = -1;

		if (l->quit)
			break;
		if (next != UINT64_MAX) {
			uint64_t ms = next > now ? (next - now + 999999) / 1000000 : 0;

			timeout = ms > 60000 ? 60000 : (int)ms;
		}
		for (unsigned int i = 0; i < n; i++)
			l->pfd[i] = (struct pollfd){ .fd = l->w[i].fd, .events = (short)l->w[i].events };
		if (poll(l->pfd, n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (unsigned int i = 0; i < n && !l->quit; i++) {
			unsigned int rev = (unsigned int)l->pfd[i].revents, mask = 0;
			int k;

			if (!rev)
				continue;
			k = find(l, l->pfd[i].fd);
			/* Gone, or removed and watched again since the poll. */
			if (k < 0 || l->w[k].gen > gen)
				continue;
			mask = rev & (POLLIN | POLLOUT);
			if (rev & (POLLERR | POLLHUP | POLLNVAL))
				mask |= HLOOP_ERR;
			l->w[k].cb(l->w[k].opaque, l->w[k].fd, mask);
		}
	}
	return l->code;
}
