// SPDX-License-Identifier: MIT
/*
 * DOC: control protocol - the client side
 *
 * A blocking connection for the CLI and the tests: ctl_client_call()
 * writes one request line and reads until a newline, keeping anything
 * after it (there is nothing after it: one request, one reply) for the
 * next call.  The daemon is trusted no more than a peer: replies are
 * bounded (CTL_REPLY_MAX), must be one JSON object each, and are parsed
 * with the same strict json-c settings as requests.
 *
 * The daemon closes a connection that stayed idle (its idle timeout, or
 * to make room for a newcomer) without a word; before a request goes out
 * on a connection that has been used, a client that finds it closed that
 * way connects again, so a CLI that waits between requests (top, trace)
 * goes on.  A request is never sent twice: only a connection that was
 * already closed before the request is replaced.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <vcoproc/errno.h>

#include "ctl.h"

struct ctl_client {
	int fd;
	char *buf;         /* bytes received, not yet part of a reply */
	size_t len, cap;
	bool used;         /* a reply came on this connection */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

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

int ctl_client_connect(const char *path, struct ctl_client **out, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ctl_client *c;
	int r;

	*out = NULL;
	if (!path || !path[0] || strlen(path) >= sizeof(sa.sun_path))
		return set_err(err, errlen, -VC_EINVAL, "socket path must be 1 to %zu bytes",
			       sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c = calloc(1, sizeof(*c));
	if (!c)
		return set_err(err, errlen, -VC_ENOMEM, "out of memory");
	memcpy(c->path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		r = set_err(err, errlen, -errno, "socket: %s", strerror(errno));
		goto out_free;
	}
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		r = set_err(err, errlen, -errno, "%s: %s", path, strerror(errno));
		goto out_close;
	}
	*out = c;
	return 0;

out_close:
	close(c->fd);
out_free:
	free(c);
	return r;
}

void ctl_client_close(struct ctl_client *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c->buf);
	free(c);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read until c->buf holds a newline; its index in *@nl. */
static int read_line(struct ctl_client *c, int timeout_ms, size_t *nl, char *err, size_t errlen)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	size_t scanned = 0;

	for (;;) {
		char *p = scanned < c->len ? memchr(c->buf + scanned, '\n', c->len - scanned) : NULL;
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int wait = -1, pr;
		ssize_t n;

		if (p) {
			*nl = (size_t)(p - c->buf);
			return 0;
		}
		scanned = c->len;
		if (c->len >= CTL_REPLY_MAX)
			return set_err(err, errlen, -VC_E2BIG, "reply larger than %u bytes",
				       CTL_REPLY_MAX);
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return set_err(err, errlen, -VC_ETIMEDOUT,
					       "no reply within %d ms", timeout_ms);
			wait = (int)left;
		}
		pr = poll(&pfd, 1, wait);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return set_err(err, errlen, -errno, "poll: %s", strerror(errno));
		if (pr == 0)
			continue;
		if (c->cap - c->len < 65536) {
			size_t ncap = c->cap ? c->cap * 2 : 131072;
			char *nb = realloc(c->buf, ncap);

			if (!nb)
				return set_err(err, errlen, -VC_ENOMEM, "out of memory");
			c->buf = nb;
			c->cap = ncap;
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return set_err(err, errlen, -errno, "receive: %s", strerror(errno));
		if (n == 0)
			return set_err(err, errlen, -VC_EIO,
				       "the daemon closed the connection without a reply");
		c->len += (size_t)n;
	}
}

/* Whether the daemon closed @c's connection while it was idle. */
static bool closed_while_idle(const struct ctl_client *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	char b;

	if (!c->used || c->len || poll(&pfd, 1, 0) != 1)
		return false;
	return recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0 ||
	       (pfd.revents & (POLLHUP | POLLERR));
}

/* Replace @c's connection by a new one to the same socket. */
static int reconnect(struct ctl_client *c, char *err, size_t errlen)
{
	struct ctl_client *n;
	int r = ctl_client_connect(c->path, &n, err, errlen);

	if (r)
		return r;
	close(c->fd);
	c->fd = n->fd;
	c->used = false;
	free(n->buf);
	free(n);
	return 0;
}

int ctl_client_call(struct ctl_client *c, const char *cmd, struct json_object *args,
		    int timeout_ms, struct json_object **reply, char *err, size_t errlen)
{
	struct json_object *req = json_object_new_object(), *obj;
	struct json_tokener *tok;
	const char *text;
	char *line;
	size_t n, nl = 0;
	int r;

	*reply = NULL;
	if (!req)
		return set_err(err, errlen, -VC_ENOMEM, "out of memory");
	if (closed_while_idle(c)) {
		r = reconnect(c, err, errlen);
		if (r) {
			json_object_put(req);
			return r;
		}
	}
	json_object_object_add(req, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(req, "arguments", json_object_get(args));
	text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	n = strlen(text);
	line = malloc(n + 1);
	if (!line) {
		json_object_put(req);
		return set_err(err, errlen, -VC_ENOMEM, "out of memory");
	}
	memcpy(line, text, n);
	line[n] = '\n';
	json_object_put(req);
	r = send_all(c->fd, line, n + 1);
	free(line);
	if (r) {
		/*
		 * A daemon that turns a peer away sends its reason and closes
		 * at once, maybe before the request went out: read the reason.
		 */
		if ((r == -EPIPE || r == -ECONNRESET) && !read_line(c, 1000, &nl, NULL, 0)) {
			r = 0;
			goto out_parse;
		}
		return set_err(err, errlen, r, "send: %s", strerror(-r));
	}

	r = read_line(c, timeout_ms, &nl, err, errlen);
	if (r)
		return r;
out_parse:
	tok = json_tokener_new_ex(64);
	if (!tok)
		return set_err(err, errlen, -VC_ENOMEM, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, c->buf, (int)nl);
	if (!obj || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(obj, json_type_object)) {
		r = set_err(err, errlen, -VC_EIO, "the daemon's reply is not a JSON object");
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	memmove(c->buf, c->buf + nl + 1, c->len - nl - 1);
	c->len -= nl + 1;
	c->used = true;
	*reply = obj;
	return r;
}

bool ctl_reply_error(struct json_object *reply, const char **cls, const char **desc)
{
	struct json_object *e, *v;

	if (!json_object_object_get_ex(reply, "error", &e))
		return false;
	*cls = "GenericError";
	*desc = "(no description)";
	if (json_object_object_get_ex(e, "class", &v) && json_object_is_type(v, json_type_string))
		*cls = json_object_get_string(v);
	if (json_object_object_get_ex(e, "desc", &v) && json_object_is_type(v, json_type_string))
		*desc = json_object_get_string(v);
	return true;
}
