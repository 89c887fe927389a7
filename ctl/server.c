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
 *     does not read its replies stops being read from once
 *     CTL_OUT_HIGH bytes are queued for it (so no peer can make the daemon
 *     buffer without bound), and a closing session is closed once its
 *     replies are out.
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <vcoproc/errno.h>

#include "ctl.h"

#define CTL_OUT_HIGH    (1u << 20) /* queued reply bytes that pause reading */
#define READ_CHUNK      (64u * 1024u)
#define READS_PER_EVENT 16         /* fairness between connections */
#define MAX_GROUPS      256

struct ctl_conn {
	struct ctl_server *srv;
	int fd;
	struct ctl_session s;
	uint32_t armed;      /* epoll events registered */
	bool eof;            /* the peer shut its side */
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
	char listen_tag;     /* &listen_tag marks the listener's epoll events */
};

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
	srv->lfd = srv->epfd = -1;
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
	*out = srv;
	return 0;

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
		if (srv->nr_conns >= CTL_MAX_CONNECTIONS) {
			snprintf(why, sizeof(why), "too many connections (at most %u)",
				 CTL_MAX_CONNECTIONS);
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
		ctl_session_init(&c->s, srv->ops, srv->opaque);
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

/* Read what is there; false when the connection must go. */
static bool conn_read(struct ctl_conn *c)
{
	char buf[READ_CHUNK];

	for (int i = 0; i < READS_PER_EVENT; i++) {
		ssize_t n;

		if (c->s.closing || c->eof || ctl_session_pending(&c->s) >= CTL_OUT_HIGH)
			return true;
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n > 0) {
			if (ctl_session_input(&c->s, buf, (size_t)n))
				return false;
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
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	}
	return true;
}

static void conn_event(struct ctl_conn *c, uint32_t events)
{
	struct epoll_event ev;
	uint32_t want;

	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !conn_read(c))
		goto out_close;
	if (!conn_flush(c))
		goto out_close;
	if ((c->s.closing || c->eof) && !ctl_session_pending(&c->s))
		goto out_close;
	if ((events & (EPOLLHUP | EPOLLERR)) && !(c->armed & EPOLLIN) &&
	    ctl_session_pending(&c->s))
		goto out_close; /* the peer is gone and will not read the rest */

	want = 0;
	if (!c->s.closing && !c->eof && ctl_session_pending(&c->s) < CTL_OUT_HIGH)
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

int ctl_server_dispatch(struct ctl_server *srv, int timeout_ms)
{
	struct epoll_event evs[32];
	int n = epoll_wait(srv->epfd, evs, (int)VC_ARRAY_SIZE(evs), timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		if (evs[i].data.ptr == &srv->listen_tag)
			accept_all(srv);
		else
			conn_event(evs[i].data.ptr, evs[i].events);
	}
	return n;
}

void ctl_server_destroy(struct ctl_server *srv)
{
	struct stat st;

	if (!srv)
		return;
	while (srv->conns)
		conn_close(srv->conns);
	close(srv->epfd);
	close(srv->lfd);
	if (!stat(srv->path, &st) && st.st_dev == srv->dev && st.st_ino == srv->ino)
		unlink(srv->path);
	free(srv);
}
