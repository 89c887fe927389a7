/* SPDX-License-Identifier: MIT */
/*
 * DOC: the host's event loop
 *
 * vcoprocd has one loop, owned by the host's main thread; every part of
 * the host registers the file descriptors it waits on with it and gets a
 * callback when one is ready - the control socket and its clients, the
 * signalfd, the eventfd the vCPU threads signal, and (later kinds) a
 * vhost-user socket and its kick eventfds.  Parts never run a loop of their
 * own (libvhost-user's model: the library hands its fds to the caller's
 * loop through set_watch/remove_watch).  Timers are deadlines on the host
 * clock (CLOCK_MONOTONIC ns) checked on every turn.
 *
 *   struct hloop *l;
 *   hloop_create(&l);
 *   hloop_watch(l, fd, HLOOP_IN, on_ready, me);
 *   hloop_timer(l, &t, deadline_ns, on_timer, me);
 *   code = hloop_run(l);            (until a callback calls hloop_quit())
 *   hloop_destroy(l);
 *
 * Callbacks run on the loop's thread and may add or remove watches and
 * timers, their own included; a watch removed during a turn is not called
 * again in that turn.
 *
 * Ownership: the loop never owns or closes the fds it watches; a struct
 * hloop_timer is the caller's memory, linked into the loop while armed.
 * Locking: none - the loop and every call on it belong to one thread.
 */
#ifndef HOST_LOOP_H
#define HOST_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#define HLOOP_IN   0x1u
#define HLOOP_OUT  0x4u   /* as POLLIN / POLLOUT */
#define HLOOP_ERR  0x8u   /* error or hang-up (reported, never asked for) */

struct hloop;

/** A callback for a ready fd: @revents is a mask of HLOOP_*. */
typedef void hloop_fd_cb(void *opaque, int fd, unsigned int revents);

/** A callback for a timer that expired at (or after) its deadline @now. */
typedef void hloop_timer_cb(void *opaque, uint64_t now);

/** A one-shot timer; the caller's memory (zero it before first use). */
struct hloop_timer {
	uint64_t deadline;
	hloop_timer_cb *cb;
	void *opaque;
	struct hloop_timer *next;     /* in the loop's list while armed */
	bool armed;
};

/** hloop_create() - a loop with nothing to watch.  Returns 0 or -errno. */
int hloop_create(struct hloop **out);

/** hloop_destroy() - free @l (its fds are the callers'); NULL is ignored. */
void hloop_destroy(struct hloop *l);

/**
 * hloop_watch() - call @cb when @fd is ready for @events (HLOOP_IN and/or
 * HLOOP_OUT); a second call for the same fd changes events, callback and
 * opaque.  Returns 0, -EINVAL (@fd < 0, no events) or -ENOMEM.
 */
int hloop_watch(struct hloop *l, int fd, unsigned int events, hloop_fd_cb *cb, void *opaque);

/** hloop_unwatch() - stop watching @fd (before closing it).  Unknown fds are ignored. */
void hloop_unwatch(struct hloop *l, int fd);

/**
 * hloop_timer() - arm (or re-arm) @t to call @cb once at host clock
 * @deadline (ns, CLOCK_MONOTONIC).
 */
void hloop_timer(struct hloop *l, struct hloop_timer *t, uint64_t deadline,
		 hloop_timer_cb *cb, void *opaque);

/** hloop_cancel() - disarm @t; idempotent. */
void hloop_cancel(struct hloop *l, struct hloop_timer *t);

/**
 * hloop_run() - wait and dispatch until a callback calls hloop_quit();
 * returns the code given there, or -errno if waiting itself failed.
 */
int hloop_run(struct hloop *l);

/** hloop_quit() - make hloop_run() return @code after the current callback. */
void hloop_quit(struct hloop *l, int code);

/** hloop_now() - the host clock: CLOCK_MONOTONIC in ns. */
uint64_t hloop_now(void);

#endif /* HOST_LOOP_H */
