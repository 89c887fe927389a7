// SPDX-License-Identifier: MIT
/*
 * DOC: control protocol - the listening socket
 *
 * One listening Unix stream socket and its connections, all non-blocking
 * and registered with one epoll instance, whose descriptor is what
 * ctl_server_fd() hands the host for its own poll loop.
 * ctl_server_dispatch() then:
 *
 *   - accepts new peers and checks their credentials (SO_PEERCRED, plus
 *     SO_PEERGROUPS for supplementary groups) against the socket file's
 *     owner and group: a refused peer gets one PermissionDenied reply and
 *     is closed;
 *   - reads requests into each connection's struct ctl_session, which
 *     runs the handlers and queues the replies;
 *   - sends what it can and waits for EPOLLOUT for the rest.  A peer that
 *     does not read its replies stops being read from once CTL_OUT_HIGH
 *     bytes are queued for it (its requests already read wait in its
 *     session), so no peer can make the daemon buffer without bound; a
 *     large reply is refused while the replies of all peers together pass
 *     CTL_OUT_TOTAL; a closing session is closed once its replies are out;
 *   - takes at most CTL_LINES_PER_TURN requests of one peer per event; the
 *     rest waits for the next turn, which the kick eventfd (in the same
 *     epoll set) makes sure comes;
 *   - closes a connection idle for the idle timeout (the timerfd, in the
 *     same epoll set, fires at the earliest deadline): idle means no
 *     request finished and no reply byte taken; bytes that wait unread in
 *     the socket count as activity, so a request is never dropped by it;
 *   - when the table is full (CTL_MAX_CONNECTIONS), closes the connection
 *     idle longest to make room, if it has been idle CTL_EVICT_IDLE_MS and
 *     has nothing under way (no partial request, no reply waiting); else
 *     the newcomer is turned away.  A connection closed for idleness gets
 *     no reply (it asked nothing): the peer sees the end of the stream.
 *
 * Ownership: struct ctl_server owns its connections; a connection is
 * freed only by conn_close(), from the dispatching thread.
 */
#define _GNU_SOURCE /* accept4(), struct ucred */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <vcoproc/errno.h>

#include "ctl.h"

#define READ_CHUNK      (64u * 1024u)
#define READS_PER_EVENT 16         /* fairness between connections */
#define MAX_GROUPS      256

struct ctl_conn {
	struct ctl_server *srv;
	int fd;
	struct ctl_session s;
	uint32_t armed;      /* epoll events registered */
	bool eof;            /* the peer shut its side */
	uint64_t active_ns;  /* accepted, a request finished, or reply bytes taken */
	struct ctl_conn *prev, *next;
};

struct ctl_server {
	int lfd, epfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;           /* our socket file, to recognise it later */
	ino_t ino;
	uid_t uid;           /* its owner at creation */
	gid_t gid;
	const struct ctl_ops *ops;
	void *opaque;
	struct ctl_conn *conns;
	unsigned int nr_conns;
	size_t out_total;    /* reply bytes waiting on every connection */
	uint64_t idle_ns;    /* the idle timeout */
	int timer_fd;        /* fires at the earliest idle deadline */
	int kick_fd;         /* an eventfd: a session has requests waiting */
	char listen_tag;     /* &listen_tag marks the listener's epoll events */
	char timer_tag;
	char kick_tag;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool ctl_cred_allowed(uid_t peer_uid, gid_t peer_gid, const gid_t *groups, int nr_groups,
		      uid_t owner_uid, gid_t owner_gid)
{
	if (peer_uid == owner_uid || peer_uid == 0 || peer_gid == owner_gid)
		return true;
	for (int i = 0; groups && i < nr_groups; i++)
		if (groups[i] == owner_gid)
			return true;
	return false;
}

static int set_err(char *err, size_t errlen, int r, const char *fmt, ...) VC_PRINTF(4, 5);

static int set_err(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* Remove a socket file nobody listens on; -VC_EBUSY if somebody does. */
static int clear_stale(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		return set_err(err, errlen, -errno, "%s: %s", path, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return set_err(err, errlen, -VC_EEXIST, "%s: exists and is not a socket", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return set_err(err, errlen, -errno, "socket: %s", strerror(errno));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (!r)
		return set_err(err, errlen, -VC_EBUSY, "%s: another daemon is listening there", path);
	if (errno != ECONNREFUSED)
		return set_err(err, errlen, -errno, "%s: %s", path, strerror(errno));
	if (unlink(path) && errno != ENOENT)
		return set_err(err, errlen, -errno, "%s: cannot remove the stale socket: %s", path,
			       strerror(errno));
	return 0;
}

int ctl_server_create(const char *path, const struct ctl_ops *ops, void *opaque,
		      struct ctl_server **out, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };
	struct ctl_server *srv;
	struct stat st;
	int r;

	*out = NULL;
	if (!path || !path[0] || strlen(path) >= sizeof(sa.sun_path))
		return set_err(err, errlen, -VC_EINVAL, "socket path must be 1 to %zu bytes",
			       sizeof(sa.sun_path) - 1);
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return set_err(err, errlen, -VC_ENOMEM, "out of memory");
	srv->lfd = srv->epfd = srv->timer_fd = srv->kick_fd = -1;
	srv->idle_ns = (uint64_t)CTL_IDLE_TIMEOUT_MS * 1000000u;
	srv->ops = ops;
	srv->opaque = opaque;
	memcpy(srv->path, path, strlen(path) + 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);

	r = clear_stale(path, err, errlen);
	if (r)
		goto out_free;
	srv->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->lfd < 0) {
		r = set_err(err, errlen, -errno, "socket: %s", strerror(errno));
		goto out_free;
	}
	/* Linux gives the socket file the socket inode's mode, less the umask. */
	(void)fchmod(srv->lfd, 0660);
	if (bind(srv->lfd, (struct sockaddr *)&sa, sizeof(sa))) {
		r = set_err(err, errlen, -errno, "%s: %s", path, strerror(errno));
		goto out_close;
	}
	if (chmod(path, 0660) || stat(path, &st)) {
		r = set_err(err, errlen, -errno, "%s: %s", path, strerror(errno));
		goto out_unlink;
	}
	srv->dev = st.st_dev;
	srv->ino = st.st_ino;
	srv->uid = st.st_uid;
	srv->gid = st.st_gid;
	if (listen(srv->lfd, 16)) {
		r = set_err(err, errlen, -errno, "listen: %s", strerror(errno));
		goto out_unlink;
	}
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (srv->epfd < 0) {
		r = set_err(err, errlen, -errno, "epoll: %s", strerror(errno));
		goto out_unlink;
	}
	ev.data.ptr = &srv->listen_tag;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->lfd, &ev)) {
		r = set_err(err, errlen, -errno, "epoll: %s", strerror(errno));
		goto out_close_ep;
	}
	srv->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ev.data.ptr = &srv->timer_tag;
	if (srv->timer_fd < 0 || epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->timer_fd, &ev)) {
		r = set_err(err, errlen, -errno, "timerfd: %s", strerror(errno));
		goto out_close_timer;
	}
	srv->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ev.data.ptr = &srv->kick_tag;
	if (srv->kick_fd < 0 || epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->kick_fd, &ev)) {
		r = set_err(err, errlen, -errno, "eventfd: %s", strerror(errno));
		goto out_close_kick;
	}
	*out = srv;
	return 0;

out_close_kick:
	if (srv->kick_fd >= 0)
		close(srv->kick_fd);
out_close_timer:
	if (srv->timer_fd >= 0)
		close(srv->timer_fd);
out_close_ep:
	close(srv->epfd);
out_unlink:
	unlink(path);
out_close:
	close(srv->lfd);
out_free:
	free(srv);
	return r;
}

int ctl_server_fd(const struct ctl_server *srv)
{
	return srv->epfd;
}

unsigned int ctl_server_connections(const struct ctl_server *srv)
{
	return srv->nr_conns;
}

void ctl_server_set_idle_timeout(struct ctl_server *srv, unsigned int ms)
{
	/* Fire at once: the next dispatch works out the deadlines anew. */
	struct itimerspec its = { { 0, 0 }, { 0, 1 } };

	srv->idle_ns = (uint64_t)VC_MAX(ms, 100u) * 1000000u;
	(void)timerfd_settime(srv->timer_fd, 0, &its, NULL);
}

/* ---- connections ------------------------------------------------------------------- */

static void conn_close(struct ctl_conn *c)
{
	struct ctl_server *srv = c->srv;

	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nr_conns--;
	ctl_session_fini(&c->s);
	free(c);
}

/* Send a last reply to a peer that is turned away, and close it. */
static void refuse(int fd, enum ctl_err_class cls, const char *desc)
{
	size_t len = 0;
	char *line = ctl_error_reply(cls, desc, &len);

	if (line)
		(void)send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	free(line);
	close(fd);
}

/* The socket file's owner now (an administrator may chgrp it), else at creation. */
static void owner(const struct ctl_server *srv, uid_t *uid, gid_t *gid)
{
	struct stat st;

	*uid = srv->uid;
	*gid = srv->gid;
	if (!stat(srv->path, &st) && st.st_dev == srv->dev && st.st_ino == srv->ino) {
		*uid = st.st_uid;
		*gid = st.st_gid;
	}
}

static bool peer_allowed(const struct ctl_server *srv, int fd, char *why, size_t len)
{
	struct ucred cred;
	socklen_t sl = sizeof(cred);
	gid_t groups[MAX_GROUPS];
	socklen_t gl = sizeof(groups);
	int ng = 0;
	uid_t ouid;
	gid_t ogid;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &sl) || sl != sizeof(cred)) {
		snprintf(why, len, "cannot read the peer's credentials: %s", strerror(errno));
		return false;
	}
#ifdef SO_PEERGROUPS
	if (!getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &gl))
		ng = (int)(gl / sizeof(gid_t));
#endif
	owner(srv, &ouid, &ogid);
	if (ctl_cred_allowed(cred.uid, cred.gid, groups, ng, ouid, ogid))
		return true;
	snprintf(why, len,
		 "uid %u (gid %u) may not use this socket: only its owner (uid %u) and group (gid %u) may",
		 (unsigned)cred.uid, (unsigned)cred.gid, (unsigned)ouid, (unsigned)ogid);
	return false;
}

/* Whether @c has nothing under way: no partial request, no reply waiting. */
static bool conn_quiet(const struct ctl_conn *c)
{
	return !ctl_session_pending(&c->s) && c->s.in_len == c->s.in_off;
}

/* Close the connection idle longest to make room; false when none may go. */
static bool evict_idlest(struct ctl_server *srv)
{
	uint64_t now = now_ns();
	struct ctl_conn *victim = NULL;

	for (struct ctl_conn *c = srv->conns; c; c = c->next)
		if (conn_quiet(c) && (!victim || c->active_ns < victim->active_ns))
			victim = c;
	if (!victim || now - victim->active_ns < (uint64_t)CTL_EVICT_IDLE_MS * 1000000u)
		return false;
	conn_close(victim);
	return true;
}

static void accept_all(struct ctl_server *srv)
{
	char why[CTL_DESC_MAX];

	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct ctl_conn *c;
		int fd = accept4(srv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return; /* EAGAIN, or out of descriptors: try again later */
		}
		if (!peer_allowed(srv, fd, why, sizeof(why))) {
			refuse(fd, CTL_ERR_PERMISSION_DENIED, why);
			continue;
		}
		if (srv->nr_conns >= CTL_MAX_CONNECTIONS && !evict_idlest(srv)) {
			snprintf(why, sizeof(why),
				 "too many connections (at most %u, none idle for %u ms)",
				 CTL_MAX_CONNECTIONS, CTL_EVICT_IDLE_MS);
			refuse(fd, CTL_ERR_GENERIC, why);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->srv = srv;
		c->fd = fd;
		c->active_ns = now_ns();
		ctl_session_init(&c->s, srv->ops, srv->opaque);
		c->s.shared = &srv->out_total;
		ev.data.ptr = c;
		if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			ctl_session_fini(&c->s);
			free(c);
			close(fd);
			continue;
		}
		c->armed = EPOLLIN;
		c->next = srv->conns;
		if (srv->conns)
			srv->conns->prev = c;
		srv->conns = c;
		srv->nr_conns++;
	}
}

/* Read what is there and handle it; false when the connection must go. */
static bool conn_read(struct ctl_conn *c)
{
	char buf[READ_CHUNK];

	for (int i = 0; i < READS_PER_EVENT; i++) {
		ssize_t n;

		if (!ctl_session_wants_input(&c->s))
			return true;
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n > 0) {
			uint64_t before = c->s.requests;

			if (ctl_session_append(&c->s, buf, (size_t)n) ||
			    ctl_session_process(&c->s, CTL_LINES_PER_TURN))
				return false;
			if (c->s.requests != before)
				c->active_ns = now_ns();
			continue;
		}
		if (n == 0) {
			c->eof = true;
			return !ctl_session_eof(&c->s);
		}
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK;
	}
	return true;
}

/* Send what can be sent; false when the connection must go. */
static bool conn_flush(struct ctl_conn *c)
{
	while (ctl_session_pending(&c->s)) {
		ssize_t n = send(c->fd, c->s.out + c->s.out_off, ctl_session_pending(&c->s),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			ctl_session_consumed(&c->s, (size_t)n);
			c->active_ns = now_ns();
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	}
	return true;
}

static void kick(struct ctl_server *srv)
{
	uint64_t one = 1;

	(void)!write(srv->kick_fd, &one, sizeof(one));
}

/*
 * Handle what @c has (@events from epoll, 0 for a turn of its backlog),
 * send what it can and register the events it waits for next.
 */
static void conn_event(struct ctl_conn *c, uint32_t events)
{
	struct epoll_event ev;
	uint64_t before = c->s.requests;
	uint32_t want;

	if (ctl_session_backlog(&c->s) && ctl_session_process(&c->s, CTL_LINES_PER_TURN))
		goto out_close;
	if (c->s.requests != before)
		c->active_ns = now_ns();
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !conn_read(c))
		goto out_close;
	if (!conn_flush(c))
		goto out_close;
	/* Replies were taken: requests that waited for room may go on. */
	if (ctl_session_backlog(&c->s)) {
		before = c->s.requests;
		if (ctl_session_process(&c->s, CTL_LINES_PER_TURN) || !conn_flush(c))
			goto out_close;
		if (c->s.requests != before)
			c->active_ns = now_ns();
	}
	if (c->s.closing && !ctl_session_pending(&c->s))
		goto out_close;
	if ((events & (EPOLLHUP | EPOLLERR)) && !(c->armed & EPOLLIN) &&
	    ctl_session_pending(&c->s))
		goto out_close; /* the peer is gone and will not read the rest */
	if (ctl_session_backlog(&c->s))
		kick(c->srv);

	want = 0;
	if (ctl_session_wants_input(&c->s))
		want |= EPOLLIN;
	if (ctl_session_pending(&c->s))
		want |= EPOLLOUT;
	if (want != c->armed) {
		ev.events = want;
		ev.data.ptr = c;
		if (epoll_ctl(c->srv->epfd, EPOLL_CTL_MOD, c->fd, &ev))
			goto out_close;
		c->armed = want;
	}
	return;

out_close:
	conn_close(c);
}

/* Bytes a peer sent that wait unread in the socket. */
static int unread(const struct ctl_conn *c)
{
	int n = 0;

	return ioctl(c->fd, FIONREAD, &n) ? 0 : n;
}

/* Close the connections idle past the timeout; arm the timer for the next. */
static void expire_idle(struct ctl_server *srv)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };
	uint64_t now = now_ns(), next = 0, expiry;
	struct ctl_conn *c, *n;
	uint64_t ticks;

	(void)!read(srv->timer_fd, &ticks, sizeof(ticks));
	for (c = srv->conns; c; c = n) {
		n = c->next;
		if (now - c->active_ns >= srv->idle_ns && unread(c) > 0 &&
		    ctl_session_wants_input(&c->s))
			c->active_ns = now; /* a request is in the socket: read it */
		expiry = c->active_ns + srv->idle_ns;
		if (expiry <= now) {
			conn_close(c);
			continue;
		}
		if (!next || expiry < next)
			next = expiry;
	}
	if (next) {
		its.it_value.tv_sec = (time_t)(next / 1000000000u);
		its.it_value.tv_nsec = (long)(next % 1000000000u);
	}
	(void)timerfd_settime(srv->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

int ctl_server_dispatch(struct ctl_server *srv, int timeout_ms)
{
	struct epoll_event evs[32];
	bool timer = false, backlog = false;
	uint64_t ticks;
	int n = epoll_wait(srv->epfd, evs, (int)VC_ARRAY_SIZE(evs), timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		if (evs[i].data.ptr == &srv->listen_tag) {
			accept_all(srv);
			timer = true; /* a first connection needs a deadline */
		} else if (evs[i].data.ptr == &srv->timer_tag) {
			timer = true;
		} else if (evs[i].data.ptr == &srv->kick_tag) {
			(void)!read(srv->kick_fd, &ticks, sizeof(ticks));
			backlog = true;
		} else {
			/*
			 * A connection closed earlier in this turn (evicted by
			 * accept_all()) may still have an event in @evs: only
			 * one still in the list is handled.
			 */
			for (struct ctl_conn *c = srv->conns; c; c = c->next) {
				if (c == evs[i].data.ptr) {
					conn_event(c, evs[i].events);
					break;
				}
			}
		}
	}
	if (backlog) {
		struct ctl_conn *c, *next;

		for (c = srv->conns; c; c = next) {
			next = c->next;
			if (ctl_session_backlog(&c->s))
				conn_event(c, 0);
		}
	}
	if (timer)
		expire_idle(srv);
	return n;
}

void ctl_server_destroy(struct ctl_server *srv)
{
	struct stat st;

	if (!srv)
		return;
	while (srv->conns)
		conn_close(srv->conns);
	close(srv->kick_fd);
	close(srv->timer_fd);
	close(srv->epfd);
	close(srv->lfd);
	if (!stat(srv->path, &st) && st.st_dev == srv->dev && st.st_ino == srv->ino)
		unlink(srv->path);
	free(srv);
}
