// SPDX-License-Identifier: MIT
/*
 * DOC: control protocol - requests, replies and the framing of a stream
 *
 * ctl_handle_line() is the whole protocol short of sockets.  A request
 * line goes through these checks, each failure an error reply:
 *
 *   1. the line holds no NUL byte;
 *   2. it is one JSON document (json-c, strict, UTF-8 validated, nesting
 *      at most CTL_JSON_DEPTH) and nothing but blank space follows it;
 *   3. it is an object whose members are "execute" (a string, required),
 *      "arguments" (an object, optional) and "id" (anything, echoed);
 *   4. the command exists (CommandNotFound) and every argument name is
 *      one it takes;
 *   5. the handler checks the argument values and runs.
 *
 * The framing (struct ctl_session) cuts a byte stream into lines of at
 * most CTL_REQUEST_MAX bytes; a line that outgrows the limit is answered
 * with an error and the session is marked closing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <vcoproc/errno.h>

#include "ctl.h"

#include "vcoproc-config.h"

static const char *const class_names[] = {
	[CTL_ERR_GENERIC] = "GenericError",
	[CTL_ERR_COMMAND_NOT_FOUND] = "CommandNotFound",
	[CTL_ERR_DEVICE_NOT_FOUND] = "DeviceNotFound",
	[CTL_ERR_PERMISSION_DENIED] = "PermissionDenied",
};

const char *ctl_err_class_name(enum ctl_err_class cls)
{
	if ((unsigned int)cls < VC_ARRAY_SIZE(class_names) && class_names[cls])
		return class_names[cls];
	return "GenericError";
}

int ctl_error_set(struct ctl_error *err, enum ctl_err_class cls, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->cls = cls;
		va_start(ap, fmt);
		vsnprintf(err->desc, sizeof(err->desc), fmt, ap);
		va_end(ap);
	}
	return -VC_EINVAL;
}

/* ---- arguments -------------------------------------------------------------- */

static const char *json_type_word(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a fractional number";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "something else";
}

int ctl_arg_string(struct json_object *args, const char *name, bool required,
		   const char **out, struct ctl_error *err)
{
	struct json_object *v;
	const char *s;

	*out = NULL;
	if (!json_object_object_get_ex(args, name, &v)) {
		if (required)
			return ctl_error_set(err, CTL_ERR_GENERIC, "missing argument \"%s\"", name);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return ctl_error_set(err, CTL_ERR_GENERIC, "argument \"%s\": expected a string, found %s",
				     name, json_type_word(v));
	s = json_object_get_string(v);
	/* "\u0000" decodes to a NUL byte that C strings cannot carry. */
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return ctl_error_set(err, CTL_ERR_GENERIC,
				     "argument \"%s\": expected a string, found one holding a NUL character",
				     name);
	*out = s;
	return 0;
}

int ctl_arg_uint(struct json_object *args, const char *name, bool required, uint64_t max,
		 uint64_t *out, struct ctl_error *err)
{
	struct json_object *v;
	uint64_t u;

	if (!json_object_object_get_ex(args, name, &v)) {
		if (required)
			return ctl_error_set(err, CTL_ERR_GENERIC, "missing argument \"%s\"", name);
		return 0;
	}
	if (!json_object_is_type(v, json_type_int))
		return ctl_error_set(err, CTL_ERR_GENERIC,
				     "argument \"%s\": expected an integer from 0 to %llu, found %s",
				     name, (unsigned long long)max, json_type_word(v));
	if (json_object_get_int64(v) < 0)
		return ctl_error_set(err, CTL_ERR_GENERIC,
				     "argument \"%s\": expected an integer from 0 to %llu, found %lld",
				     name, (unsigned long long)max,
				     (long long)json_object_get_int64(v));
	u = json_object_get_uint64(v);
	if (u > max)
		return ctl_error_set(err, CTL_ERR_GENERIC,
				     "argument \"%s\": expected an integer from 0 to %llu, found %llu",
				     name, (unsigned long long)max, (unsigned long long)u);
	*out = u;
	return 0;
}

int ctl_arg_domain(struct json_object *args, const char *name, char *buf, size_t len,
		   struct ctl_error *err)
{
	struct json_object *v = NULL;
	const char *s;
	int r;

	if (json_object_object_get_ex(args, name, &v) && json_object_is_type(v, json_type_int)) {
		uint64_t id = 0;

		r = ctl_arg_uint(args, name, true, UINT32_MAX, &id, err);
		if (r)
			return r;
		snprintf(buf, len, "%llu", (unsigned long long)id);
		return 0;
	}
	if (v && !json_object_is_type(v, json_type_string))
		return ctl_error_set(err, CTL_ERR_GENERIC,
				     "argument \"%s\": expected a domain name or id, found %s", name,
				     json_type_word(v));
	r = ctl_arg_string(args, name, true, &s, err);
	if (r)
		return r;
	if (!s[0] || strlen(s) >= len)
		return ctl_error_set(err, CTL_ERR_GENERIC,
				     "argument \"%s\": expected a domain name or id of 1 to %zu characters",
				     name, len - 1);
	memcpy(buf, s, strlen(s) + 1);
	return 0;
}

/* ---- one request -------------------------------------------------------------- */

/* @obj, with "id" when there is one, as a reply line; consumes @obj. */
static char *finish_reply(struct json_object *obj, struct json_object *id, size_t *reply_len)
{
	const char *text;
	size_t n;
	char *line = NULL;

	if (!obj)
		return NULL;
	if (id)
		json_object_object_add(obj, "id", json_object_get(id));
	text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text) {
		n = strlen(text);
		line = malloc(n + 2);
		if (line) {
			memcpy(line, text, n);
			line[n] = '\n';
			line[n + 1] = '\0';
			*reply_len = n + 1;
		}
	}
	json_object_put(obj);
	return line;
}

static struct json_object *error_object(enum ctl_err_class cls, const char *desc)
{
	struct json_object *e = json_object_new_object(), *reply = json_object_new_object();

	if (!e || !reply) {
		json_object_put(e);
		json_object_put(reply);
		return NULL;
	}
	json_object_object_add(e, "class", json_object_new_string(ctl_err_class_name(cls)));
	json_object_object_add(e, "desc", json_object_new_string(desc));
	json_object_object_add(reply, "error", e);
	return reply;
}

char *ctl_error_reply(enum ctl_err_class cls, const char *desc, size_t *reply_len)
{
	return finish_reply(error_object(cls, desc), NULL, reply_len);
}

static char *errorf_reply(struct json_object *id, size_t *reply_len, enum ctl_err_class cls,
			  const char *fmt, ...) VC_PRINTF(4, 5);

static char *errorf_reply(struct json_object *id, size_t *reply_len, enum ctl_err_class cls,
			  const char *fmt, ...)
{
	char desc[CTL_DESC_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	return finish_reply(error_object(cls, desc), id, reply_len);
}

static const struct ctl_command *find_command(const struct ctl_ops *ops, const char *name)
{
	for (const struct ctl_command *c = ops ? ops->commands : NULL; c && c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

/* The protocol's own commands. */
static struct json_object *query_version(void)
{
	struct json_object *r = json_object_new_object();

	json_object_object_add(r, "version", json_object_new_string(VC_VERSION));
	json_object_object_add(r, "protocol", json_object_new_int(CTL_PROTOCOL_VERSION));
	return r;
}

static struct json_object *query_commands(const struct ctl_ops *ops)
{
	struct json_object *arr = json_object_new_array();
	static const struct ctl_command own[] = {
		{ .name = "query-version", .help = "the daemon's version and protocol version" },
		{ .name = "query-commands", .help = "the commands this daemon answers" },
	};

	for (size_t i = 0; i < VC_ARRAY_SIZE(own); i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(own[i].name));
		json_object_object_add(o, "help", json_object_new_string(own[i].help));
		json_object_array_add(arr, o);
	}
	for (const struct ctl_command *c = ops ? ops->commands : NULL; c && c->name; c++) {
		struct json_object *o, *a;

		if (!c->handler)
			continue;
		o = json_object_new_object();
		a = json_object_new_array();
		for (const char *const *n = c->args; n && *n; n++)
			json_object_array_add(a, json_object_new_string(*n));
		json_object_object_add(o, "name", json_object_new_string(c->name));
		json_object_object_add(o, "arguments", a);
		if (c->help)
			json_object_object_add(o, "help", json_object_new_string(c->help));
		json_object_array_add(arr, o);
	}
	return arr;
}

static bool takes_arg(const struct ctl_command *c, const char *name)
{
	for (const char *const *n = c->args; n && *n; n++)
		if (!strcmp(*n, name))
			return true;
	return false;
}

/* Steps 3 to 5 of the DOC comment, on the parsed request @req. */
static char *run_request(const struct ctl_ops *ops, void *opaque, struct json_object *req,
			 size_t *reply_len)
{
	struct json_object *exec = NULL, *args = NULL, *id = NULL, *ret = NULL, *reply;
	struct ctl_error err = { .cls = CTL_ERR_GENERIC };
	const struct ctl_command *cmd;
	const char *name;
	bool own_args = false;
	char *line;
	int r;

	json_object_object_get_ex(req, "id", &id);
	{
		json_object_object_foreach(req, key, val) {
			(void)val;
			if (strcmp(key, "execute") && strcmp(key, "arguments") && strcmp(key, "id"))
				return errorf_reply(id, reply_len, CTL_ERR_GENERIC,
						    "unexpected member \"%.40s\" (a request has \"execute\", \"arguments\", \"id\")",
						    key);
		}
	}
	if (!json_object_object_get_ex(req, "execute", &exec))
		return errorf_reply(id, reply_len, CTL_ERR_GENERIC,
				    "expected member \"execute\" (the command), found none");
	if (!json_object_is_type(exec, json_type_string))
		return errorf_reply(id, reply_len, CTL_ERR_GENERIC,
				    "member \"execute\": expected a string, found %s",
				    json_type_word(exec));
	name = json_object_get_string(exec);
	if (json_object_object_get_ex(req, "arguments", &args) &&
	    !json_object_is_type(args, json_type_object))
		return errorf_reply(id, reply_len, CTL_ERR_GENERIC,
				    "member \"arguments\": expected an object, found %s",
				    json_type_word(args));

	if (!strcmp(name, "query-version") || !strcmp(name, "query-commands")) {
		if (args && json_object_object_length(args))
			return errorf_reply(id, reply_len, CTL_ERR_GENERIC,
					    "%s takes no arguments", name);
		reply = json_object_new_object();
		json_object_object_add(reply, "return", !strcmp(name, "query-version") ?
				       query_version() : query_commands(ops));
		return finish_reply(reply, id, reply_len);
	}
	cmd = find_command(ops, name);
	if (!cmd || !cmd->handler)
		return errorf_reply(id, reply_len, CTL_ERR_COMMAND_NOT_FOUND,
				    "the command \"%.60s\" has not been found", name);
	if (!args) {
		args = json_object_new_object();
		if (!args)
			return NULL;
		own_args = true;
	}
	{
		json_object_object_foreach(args, key, val) {
			(void)val;
			if (!takes_arg(cmd, key)) {
				if (own_args)
					json_object_put(args);
				return errorf_reply(id, reply_len, CTL_ERR_GENERIC,
						    "%s: unexpected argument \"%.40s\"", cmd->name, key);
			}
		}
	}
	err.desc[0] = '\0';
	r = cmd->handler(opaque, args, &ret, &err);
	if (own_args)
		json_object_put(args);
	if (r < 0) {
		json_object_put(ret);
		if (!err.desc[0])
			snprintf(err.desc, sizeof(err.desc), "%s: %s", cmd->name, vc_strerror(r));
		return finish_reply(error_object(err.cls, err.desc), id, reply_len);
	}
	reply = json_object_new_object();
	if (!reply) {
		json_object_put(ret);
		return NULL;
	}
	json_object_object_add(reply, "return", ret ? ret : json_object_new_object());
	line = finish_reply(reply, id, reply_len);
	return line;
}

char *ctl_handle_line(const struct ctl_ops *ops, void *opaque, const char *line, size_t len,
		      size_t *reply_len)
{
	struct json_tokener *tok;
	struct json_object *req;
	enum json_tokener_error jerr;
	size_t end;
	char *reply;

	if (memchr(line, '\0', len))
		return errorf_reply(NULL, reply_len, CTL_ERR_GENERIC,
				    "expected a JSON object, found a NUL byte");
	tok = json_tokener_new_ex(CTL_JSON_DEPTH);
	if (!tok)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS |
			       JSON_TOKENER_VALIDATE_UTF8);
	req = json_tokener_parse_ex(tok, line, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/* The end of the line ends a number or a literal ("null"). */
		req = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
	}
	json_tokener_free(tok);
	if (!req && jerr == json_tokener_success)
		return errorf_reply(NULL, reply_len, CTL_ERR_GENERIC,
				    "expected a JSON object, found null");
	if (!req || jerr != json_tokener_success) {
		json_object_put(req);
		if (jerr == json_tokener_continue || jerr == json_tokener_error_parse_eof)
			return errorf_reply(NULL, reply_len, CTL_ERR_GENERIC,
					    "expected a JSON object, found an incomplete one");
		return errorf_reply(NULL, reply_len, CTL_ERR_GENERIC,
				    "expected a JSON object, found bad JSON at byte %zu: %s", end,
				    json_tokener_error_desc(jerr));
	}
	for (; end < len; end++) {
		if (line[end] != ' ' && line[end] != '\t' && line[end] != '\r') {
			json_object_put(req);
			return errorf_reply(NULL, reply_len, CTL_ERR_GENERIC,
					    "expected one JSON object per line, found more at byte %zu",
					    end);
		}
	}
	if (!json_object_is_type(req, json_type_object)) {
		reply = errorf_reply(NULL, reply_len, CTL_ERR_GENERIC,
				     "expected a JSON object, found %s", json_type_word(req));
		json_object_put(req);
		return reply;
	}
	reply = run_request(ops, opaque, req, reply_len);
	json_object_put(req);
	return reply;
}

/* ---- framing ------------------------------------------------------------------- */

void ctl_session_init(struct ctl_session *s, const struct ctl_ops *ops, void *opaque)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->opaque = opaque;
}

void ctl_session_fini(struct ctl_session *s)
{
	free(s->in);
	free(s->out);
	memset(s, 0, sizeof(*s));
}

static int buf_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
	if (*len + n > *cap) {
		size_t ncap = *cap ? *cap : 4096;
		char *nb;

		while (ncap < *len + n)
			ncap *= 2;
		nb = realloc(*buf, ncap);
		if (!nb)
			return -VC_ENOMEM;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	return 0;
}

static int queue_reply(struct ctl_session *s, char *reply, size_t n)
{
	int r;

	if (!reply)
		return -VC_ENOMEM;
	r = buf_append(&s->out, &s->out_len, &s->out_cap, reply, n);
	free(reply);
	return r;
}

static bool blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

static int handle(struct ctl_session *s, const char *line, size_t n)
{
	size_t rlen = 0;
	char *reply;

	if (blank(line, n))
		return 0;
	s->requests++;
	reply = ctl_handle_line(s->ops, s->opaque, line, n, &rlen);
	return queue_reply(s, reply, rlen);
}

static int too_large(struct ctl_session *s)
{
	char desc[CTL_DESC_MAX], *reply;
	size_t rlen = 0;

	snprintf(desc, sizeof(desc), "request too large: expected at most %u bytes per line",
		 CTL_REQUEST_MAX);
	s->closing = true;
	s->in_len = 0;
	reply = ctl_error_reply(CTL_ERR_GENERIC, desc, &rlen);
	return queue_reply(s, reply, rlen);
}

int ctl_session_input(struct ctl_session *s, const char *data, size_t len)
{
	int r;

	while (len && !s->closing) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len;

		/* A line longer than the limit is refused before it is stored. */
		if (s->in_len + take + (nl ? 1 : 0) > CTL_REQUEST_MAX)
			return too_large(s);
		if (!nl)
			return buf_append(&s->in, &s->in_len, &s->in_cap, data, take);
		if (s->in_len) {
			r = buf_append(&s->in, &s->in_len, &s->in_cap, data, take);
			if (r)
				return r;
			r = handle(s, s->in, s->in_len);
			s->in_len = 0;
		} else {
			r = handle(s, data, take);
		}
		if (r)
			return r;
		data += take + 1;
		len -= take + 1;
	}
	return 0;
}

int ctl_session_eof(struct ctl_session *s)
{
	int r = 0;

	if (!s->closing && s->in_len)
		r = handle(s, s->in, s->in_len);
	s->in_len = 0;
	s->closing = true;
	return r;
}

size_t ctl_session_pending(const struct ctl_session *s)
{
	return s->out_len - s->out_off;
}

void ctl_session_consumed(struct ctl_session *s, size_t n)
{
	s->out_off += n;
	if (s->out_off >= s->out_len) {
		s->out_off = s->out_len = 0;
		/* Give back a big buffer once it is drained (a trace export). */
		if (s->out_cap > (1u << 20)) {
			free(s->out);
			s->out = NULL;
			s->out_cap = 0;
		}
	}
}
