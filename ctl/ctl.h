/* SPDX-License-Identifier: MIT */
/*
 * DOC: control protocol - server, client and handler API
 *
 * A daemon hosting the framework (vcoprocd, the test daemon) is controlled
 * over a Unix stream socket with JSON messages in the manner of QEMU's QMP
 * (docs/control-protocol.md):
 *
 *   -> {"execute": "sched-get", "arguments": {"coproc": "gpu0"}, "id": 7}
 *   <- {"return": {"coproc": "gpu0", "algorithm": "credit", ...}, "id": 7}
 *   -> {"execute": "sched-get", "arguments": {"coproc": "gpu9"}}
 *   <- {"error": {"class": "DeviceNotFound", "desc": "no coprocessor \"gpu9\" (gpu0, gpu1)"}}
 *
 * Framing: one JSON document per line, newline-terminated, in both
 * directions; one reply per request, in order.  A request line may be at
 * most CTL_REQUEST_MAX bytes: a longer one gets an error reply and the
 * connection is closed.  Anything else malformed (bad JSON, bad UTF-8, not
 * an object, unknown members, wrong argument types) gets an error reply
 * and the connection stays open.  Input from a peer is never trusted.
 *
 * Pieces:
 *   struct ctl_ops      a backend: a table of named command handlers
 *                       (ctl_fw.h has the generic one over a struct vc_fw);
 *   ctl_handle_line()   one request line in, one reply out - the whole
 *                       protocol short of sockets (what the fuzzer drives);
 *   struct ctl_session  the framing of one byte stream over it;
 *   ctl_server_*()      the listening socket: credentials, epoll, sessions;
 *   ctl_client_*()      the other end, for the CLI and tests.
 *
 * Threads: the server has no thread of its own.  Every handler runs on the
 * thread that calls ctl_server_dispatch(); a host whose topology (domain
 * creation and destruction) belongs to one thread calls it there.
 *
 * Errors: functions return 0 or a negative VC_E* / errno value.  Memory
 * returned to the caller says who frees it.
 */
#ifndef VCOPROC_CTL_H
#define VCOPROC_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vcoproc/util.h>

struct json_object;

#define CTL_PROTOCOL_VERSION 1
#define CTL_REQUEST_MAX      (64u * 1024u)   /* bytes of a request line, newline included */
#define CTL_REPLY_MAX        (256u << 20)    /* bytes of a reply a client accepts */
#define CTL_REPLY_LIMIT      (16u << 20)     /* bytes of a reply a server sends */
#define CTL_DESC_MAX         320             /* an error description */
#define CTL_JSON_DEPTH       16              /* nesting a request may have */
#define CTL_MAX_CONNECTIONS  64
#define CTL_DEFAULT_SOCKET   "/run/vcoprocd.sock"

/*
 * Output limits of a server.  A connection is not read from (and its
 * buffered requests wait) while CTL_OUT_HIGH bytes of replies wait for it;
 * a reply of more than CTL_OUT_SMALL bytes is refused while the replies
 * waiting on all connections together pass CTL_OUT_TOTAL.  At most
 * CTL_LINES_PER_TURN requests of one connection are handled before the
 * others get their turn.
 */
#define CTL_OUT_HIGH         (1u << 20)
#define CTL_OUT_TOTAL        (64u << 20)
#define CTL_OUT_SMALL        (64u * 1024u)
#define CTL_LINES_PER_TURN   32

/*
 * Connections: one that has neither finished a request nor taken reply
 * bytes for CTL_IDLE_TIMEOUT_MS is closed (ctl_server_set_idle_timeout()
 * changes it).  When the table is full, a newcomer takes the place of the
 * connection idle longest, if that one has been idle CTL_EVICT_IDLE_MS.
 */
#define CTL_IDLE_TIMEOUT_MS  60000u
#define CTL_EVICT_IDLE_MS    1000u

/* ---- errors --------------------------------------------------------------- */

/** The error classes of a reply ({"error": {"class": ..., "desc": ...}}). */
enum ctl_err_class {
	CTL_ERR_GENERIC,           /* "GenericError": everything else */
	CTL_ERR_COMMAND_NOT_FOUND, /* "CommandNotFound": no such command here */
	CTL_ERR_DEVICE_NOT_FOUND,  /* "DeviceNotFound": no such coprocessor,
				    * domain or vcoproc */
	CTL_ERR_PERMISSION_DENIED, /* "PermissionDenied": the peer may not
				    * connect (then the connection closes) */
};

/** ctl_err_class_name() - "GenericError", "CommandNotFound", ... */
const char *ctl_err_class_name(enum ctl_err_class cls);

/** A handler's error: its class and a one-line description. */
struct ctl_error {
	enum ctl_err_class cls;
	char desc[CTL_DESC_MAX];
};

/**
 * ctl_error_set() - fill @err (may be NULL).  Returns -VC_EINVAL, so that
 * a handler can "return ctl_error_set(...)".
 */
int ctl_error_set(struct ctl_error *err, enum ctl_err_class cls, const char *fmt, ...)
	VC_PRINTF(3, 4);

/* ---- backends: tables of command handlers ---------------------------------- */

/**
 * ctl_handler_fn - carry out one command.  @args is the request's
 * "arguments" object ({} when it had none), with every member name one
 * of the command's @args (checked before the call); the handler checks
 * the values (ctl_arg_*()).  On success it returns 0 and sets *@ret to the
 * "return" value (a new reference handed to the caller; NULL means {}).
 * On failure it returns < 0 and fills @err (ctl_error_set()); a failure
 * without a description is reported as GenericError with vc_strerror().
 */
typedef int (*ctl_handler_fn)(void *opaque, struct json_object *args,
			      struct json_object **ret, struct ctl_error *err);

/** One command of a backend. */
struct ctl_command {
	const char *name;            /* "vcoproc-list" */
	ctl_handler_fn handler;      /* NULL: reported as CommandNotFound */
	const char *const *args;     /* argument names it takes, NULL-terminated;
				      * NULL: none */
	const char *help;            /* one line, for query-commands */
};

/**
 * A backend: its commands, looked up by name.  The protocol itself adds
 * "query-version" and "query-commands".
 */
struct ctl_ops {
	const char *name;
	const struct ctl_command *commands; /* ends with an entry whose name is NULL */
};

/* ---- argument helpers for handlers ------------------------------------------ */

/**
 * ctl_arg_string() - argument @name of @args as a string: 0 and *@out
 * (borrowed from @args), or an error in @err.  An absent optional
 * argument leaves *@out NULL.
 */
int ctl_arg_string(struct json_object *args, const char *name, bool required,
		   const char **out, struct ctl_error *err);

/**
 * ctl_arg_uint() - argument @name as an integer from 0 to @max.  An absent
 * optional argument leaves *@out unchanged.
 */
int ctl_arg_uint(struct json_object *args, const char *name, bool required, uint64_t max,
		 uint64_t *out, struct ctl_error *err);

/**
 * ctl_arg_uint_range() - argument @name as an integer from @min to @max.
 * An absent optional argument leaves *@out unchanged.
 */
int ctl_arg_uint_range(struct json_object *args, const char *name, bool required, uint64_t min,
		       uint64_t max, uint64_t *out, struct ctl_error *err);

/**
 * ctl_arg_domain() - a domain argument: a name (string) or an id (number
 * or string of digits), written to @buf as text.
 */
int ctl_arg_domain(struct json_object *args, const char *name, char *buf, size_t len,
		   struct ctl_error *err);

/**
 * ctl_utf8_prefix() - the length of the longest prefix of @s of at most
 * @max bytes that does not cut a UTF-8 character in two, for quoting a
 * name in a description: printf("%.*s", ctl_utf8_prefix(s, 40), s).
 */
int ctl_utf8_prefix(const char *s, int max);

/* ---- one request ----------------------------------------------------------- */

/**
 * ctl_handle_line() - parse request line @line (@len bytes, without the
 * newline), run the command with @ops and @opaque, and return the reply
 * line, newline-terminated and NUL-terminated, in a malloc()ed buffer the
 * caller free()s (its length, newline included, in *@reply_len).  Never
 * fails short of memory: every malformed request yields an error reply.
 * Returns NULL only when out of memory.
 */
char *ctl_handle_line(const struct ctl_ops *ops, void *opaque, const char *line, size_t len,
		      size_t *reply_len);

/**
 * ctl_error_reply() - the reply line for an error of class @cls, as
 * ctl_handle_line() returns it.  NULL when out of memory.
 */
char *ctl_error_reply(enum ctl_err_class cls, const char *desc, size_t *reply_len);

/* ---- framing of a byte stream ------------------------------------------------ */

/**
 * The protocol over one byte stream: input goes in by ctl_session_input()
 * (or ctl_session_append() and ctl_session_process()), replies collect in
 * @out (to be sent from @out + @out_off, then ctl_session_consumed()).
 *
 * Backpressure: requests are handled only while fewer than CTL_OUT_HIGH
 * bytes of replies wait; the lines after that stay in @in until the
 * replies are sent and ctl_session_process() is called again.  The owner
 * stops reading the stream while ctl_session_wants_input() is false, so
 * @in holds at most one read more than a request line.
 *
 * After an oversized request, or once the stream ended and every request
 * was handled, @closing is set: further input is ignored, and the
 * connection should close once @out is sent.
 *
 * @shared, when not NULL, counts the reply bytes waiting on every session
 * that shares it (a server's connections); a reply of more than
 * CTL_OUT_SMALL bytes that would take it past CTL_OUT_TOTAL is refused.
 */
struct ctl_session {
	const struct ctl_ops *ops;
	void *opaque;
	char *in;           /* input not handled yet: from @in_off to @in_len */
	size_t in_len, in_cap, in_off;
	char *out;          /* replies not yet sent */
	size_t out_len, out_cap, out_off;
	size_t *shared;     /* replies waiting on all sessions; NULL: not counted */
	bool eof;           /* the peer ended the stream */
	bool closing;
	uint64_t requests;  /* lines handled */
};

/** ctl_session_init() - an empty session dispatching to @ops with @opaque. */
void ctl_session_init(struct ctl_session *s, const struct ctl_ops *ops, void *opaque);

/** ctl_session_fini() - free the session's buffers (and uncount its replies). */
void ctl_session_fini(struct ctl_session *s);

/**
 * ctl_session_append() - @len bytes received: keep them for
 * ctl_session_process().  Ignored once closing.  Returns 0 or -VC_ENOMEM.
 */
int ctl_session_append(struct ctl_session *s, const char *data, size_t len);

/**
 * ctl_session_process() - handle complete lines kept, in order, while
 * replies waiting stay under CTL_OUT_HIGH, at most @max_lines of them (0:
 * no limit); a line over CTL_REQUEST_MAX is refused and closes the
 * session; at the end of the stream the last partial line is a request
 * of its own.  Blank lines are ignored.  Returns 0, or -VC_ENOMEM.
 */
int ctl_session_process(struct ctl_session *s, unsigned int max_lines);

/** ctl_session_input() - ctl_session_append() then ctl_session_process(s, 0). */
int ctl_session_input(struct ctl_session *s, const char *data, size_t len);

/**
 * ctl_session_eof() - the peer closed its side: what is kept is handled
 * (ctl_session_process(s, 0)); a partial line left over is a request of
 * its own (so "printf '{...}' | socat" works).
 */
int ctl_session_eof(struct ctl_session *s);

/**
 * ctl_session_backlog() - whether ctl_session_process() has work now: a
 * complete line kept (or the end of the stream reached) while the
 * replies waiting are under CTL_OUT_HIGH.
 */
bool ctl_session_backlog(const struct ctl_session *s);

/**
 * ctl_session_wants_input() - whether the owner should read more: not
 * closing, not at the end of the stream, no backlog, and under
 * CTL_OUT_HIGH bytes of replies waiting.
 */
bool ctl_session_wants_input(const struct ctl_session *s);

/** ctl_session_pending() - bytes of replies waiting to be sent. */
size_t ctl_session_pending(const struct ctl_session *s);

/** ctl_session_consumed() - @n bytes of the pending replies were sent. */
void ctl_session_consumed(struct ctl_session *s, size_t n);

/* ---- the server -------------------------------------------------------------- */

struct ctl_server;

/**
 * ctl_cred_allowed() - the connection policy: a peer may connect when it
 * runs as the socket's owner (@peer_uid == @owner_uid), in its group
 * (@peer_gid or one of @groups[0..@nr_groups) == @owner_gid), or as root.
 */
bool ctl_cred_allowed(uid_t peer_uid, gid_t peer_gid, const gid_t *groups, int nr_groups,
		      uid_t owner_uid, gid_t owner_gid);

/**
 * ctl_server_create() - listen on the Unix socket @path (mode 0660, owned
 * by the caller's effective uid and gid; a stale socket file left by a
 * dead daemon is replaced, a live one is -VC_EBUSY, anything else at
 * @path is -VC_EEXIST).  Commands go to @ops with @opaque.
 * Returns 0 and *@out (free with ctl_server_destroy()) or a negative
 * errno value with a message in @err.
 */
VC_MUST_CHECK int ctl_server_create(const char *path, const struct ctl_ops *ops,
				    void *opaque, struct ctl_server **out, char *err,
				    size_t errlen);

/**
 * ctl_server_fd() - a file descriptor that polls readable (POLLIN) when
 * ctl_server_dispatch() has work: add it to the host's poll()/epoll set.
 */
int ctl_server_fd(const struct ctl_server *srv);

/**
 * ctl_server_dispatch() - wait up to @timeout_ms (0: do not wait, -1:
 * forever) for socket activity and handle it: accept and check new peers,
 * read requests, run their handlers on this thread, send replies.
 * Returns the number of events handled, or a negative errno (EINTR is
 * returned as 0).
 */
int ctl_server_dispatch(struct ctl_server *srv, int timeout_ms);

/**
 * ctl_server_set_idle_timeout() - close a connection that has neither
 * finished a request nor taken reply bytes for @ms milliseconds (at least
 * 100; the default is CTL_IDLE_TIMEOUT_MS).  Call it on the dispatching
 * thread, or before dispatching starts.
 */
void ctl_server_set_idle_timeout(struct ctl_server *srv, unsigned int ms);

/** ctl_server_connections() - peers connected now. */
unsigned int ctl_server_connections(const struct ctl_server *srv);

/**
 * ctl_server_destroy() - close every connection and the socket, and remove
 * the socket file (if it is still ours).  NULL is ignored.
 */
void ctl_server_destroy(struct ctl_server *srv);

/* ---- the client ----------------------------------------------------------------- */

struct ctl_client;

/**
 * ctl_client_connect() - connect to the daemon at @path.  Returns 0 and
 * *@out (ctl_client_close()), or a negative errno with a message in @err.
 */
VC_MUST_CHECK int ctl_client_connect(const char *path, struct ctl_client **out, char *err,
				     size_t errlen);

/**
 * ctl_client_call() - send {"execute": @cmd, "arguments": @args} (@args
 * may be NULL; it is borrowed) and wait for the reply (at most
 * @timeout_ms, -1: forever).  Returns 0 with the whole reply object in
 * *@reply (json_object_put() it), or a negative errno with a message in
 * @err (no connection, a timeout, a reply that is not JSON).  Whether the
 * command succeeded is in the reply: see ctl_reply_error().
 */
VC_MUST_CHECK int ctl_client_call(struct ctl_client *c, const char *cmd,
				  struct json_object *args, int timeout_ms,
				  struct json_object **reply, char *err, size_t errlen);

/**
 * ctl_reply_error() - if @reply is an error reply, its class name and
 * description (borrowed from @reply) and true; else false.
 */
bool ctl_reply_error(struct json_object *reply, const char **cls, const char **desc);

/** ctl_client_close() - close the connection.  NULL is ignored. */
void ctl_client_close(struct ctl_client *c);

/* ---- console logs ---------------------------------------------------------------- */

struct ctl_conlog;

/**
 * ctl_conlog_create() - a ring of the last @capacity bytes of a domain's
 * console output, with absolute offsets (the first byte ever written is
 * offset 0).  Returns 0 and *@out (ctl_conlog_destroy()) or -VC_ENOMEM.
 */
VC_MUST_CHECK int ctl_conlog_create(size_t capacity, struct ctl_conlog **out);

/** ctl_conlog_destroy() - free @log.  NULL is ignored. */
void ctl_conlog_destroy(struct ctl_conlog *log);

/** ctl_conlog_write() - append @len bytes; any thread, any time. */
void ctl_conlog_write(struct ctl_conlog *log, const char *buf, size_t len);

/** ctl_conlog_printf() - append formatted text. */
void ctl_conlog_printf(struct ctl_conlog *log, const char *fmt, ...) VC_PRINTF(2, 3);

/**
 * ctl_conlog_read() - copy up to @max bytes from absolute @offset into
 * @buf.  An offset already overwritten starts at the oldest byte kept,
 * one past the end reads nothing.  Stores the offset of the oldest byte
 * kept in *@start and the offset after the bytes copied in *@next;
 * returns how many bytes were copied.
 */
size_t ctl_conlog_read(struct ctl_conlog *log, uint64_t offset, char *buf, size_t max,
		       uint64_t *start, uint64_t *next);

#endif /* VCOPROC_CTL_H */
