// SPDX-License-Identifier: MIT
/*
 * DOC: vcoproc - the command-line client of the control socket
 *
 * In the spirit of Xen's xl: one subcommand per action, tables for people,
 * --json for scripts (the reply's "return" value, as the daemon sent it).
 * docs/vcoproc.1.md is the manual.
 *
 *   vcoproc [--socket PATH] [--json] [--timeout SECS] COMMAND [ARGS...]
 *
 * The socket is --socket, else $VCOPROC_SOCKET, else CTL_DEFAULT_SOCKET.
 * Exit status: 0 success, 1 failure (the daemon refused, or could not be
 * reached), 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <vcoproc/vcoproc.h>

#include "ctl.h"
#include "domcfg.h"

#include "vcoproc-config.h"

#define EXIT_USAGE 2
#define CFG_MAX    (CTL_REQUEST_MAX - 4096) /* a domain file that fits a request */

static struct {
	const char *socket;
	bool json;
	int timeout_ms;
	struct ctl_client *client;
} G = { .timeout_ms = 30000 };

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int fail(const char *fmt, ...) VC_PRINTF(1, 2);

static int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vcoproc: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAILURE;
}

/* ---- talking to the daemon ------------------------------------------------------- */

static int connect_daemon(void)
{
	char err[512];

	if (G.client)
		return 0;
	if (ctl_client_connect(G.socket, &G.client, err, sizeof(err))) {
		fail("cannot connect: %s (is the daemon running? see --socket, VCOPROC_SOCKET)", err);
		return -1;
	}
	return 0;
}

static char last_desc[CTL_DESC_MAX + 64]; /* the last error reply's description */

/*
 * Run @cmd with @args (consumed).  Returns the "return" value (a new
 * reference) or NULL.  Why is printed, unless @cls_out is given: then the
 * error class is stored there (NULL when the daemon could not be asked)
 * and the description in last_desc, for the caller to deal with.
 */
static struct json_object *call_cls(const char *cmd, struct json_object *args,
				    const char **cls_out)
{
	static char cls_buf[32];
	struct json_object *reply = NULL, *ret = NULL;
	const char *cls, *desc;
	char err[512];
	int r;

	if (cls_out)
		*cls_out = NULL;
	if (connect_daemon()) {
		json_object_put(args);
		return NULL;
	}
	r = ctl_client_call(G.client, cmd, args, G.timeout_ms, &reply, err, sizeof(err));
	json_object_put(args);
	if (r) {
		fail("%s: %s", cmd, err);
		return NULL;
	}
	if (ctl_reply_error(reply, &cls, &desc)) {
		snprintf(last_desc, sizeof(last_desc), "%s", desc);
		if (cls_out) {
			snprintf(cls_buf, sizeof(cls_buf), "%s", cls);
			*cls_out = cls_buf;
		} else {
			fail("%s", desc);
		}
		json_object_put(reply);
		return NULL;
	}
	if (json_object_object_get_ex(reply, "return", &ret))
		json_object_get(ret);
	else
		fail("%s: the reply has no \"return\"", cmd);
	json_object_put(reply);
	return ret;
}

static struct json_object *call(const char *cmd, struct json_object *args)
{
	return call_cls(cmd, args, NULL);
}

static void print_json(struct json_object *v)
{
	puts(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE |
					    JSON_C_TO_STRING_SPACED));
}

/* ---- reading replies ----------------------------------------------------------------- */

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return "?";
}

static uint64_t jnum(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (json_object_object_get_ex(o, key, &v) &&
	    (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
		return json_object_get_uint64(v);
	return 0;
}

static double jdbl(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (json_object_object_get_ex(o, key, &v))
		return json_object_get_double(v);
	return 0;
}

/* A share as "12.5%" in @buf, or "-" when @key is null or missing. */
static const char *pct_text(struct json_object *o, const char *key, char *buf, size_t len)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return "-";
	snprintf(buf, len, "%.1f%%", 100 * json_object_get_double(v));
	return buf;
}

static struct json_object *jobj(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

/* "k=v k=v" of a params object. */
static void params_text(struct json_object *p, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	if (!p || !json_object_is_type(p, json_type_object))
		return;
	json_object_object_foreach(p, key, val) {
		int w = snprintf(buf + o, len - o, "%s%s=%s", o ? " " : "", key,
				 json_object_get_string(val));

		if (w < 0 || (size_t)w >= len - o)
			break;
		o += (size_t)w;
	}
}

/* key=value arguments into a params object; NULL (and a message) on a bad one. */
static struct json_object *params_from_argv(int argc, char **argv, const char *cmd)
{
	struct json_object *p = json_object_new_object();

	for (int i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		char key[64];

		if (!eq || eq == argv[i] || (size_t)(eq - argv[i]) >= sizeof(key) || !eq[1]) {
			fprintf(stderr, "vcoproc %s: expected param=value, found \"%s\"\n", cmd, argv[i]);
			json_object_put(p);
			return NULL;
		}
		memcpy(key, argv[i], (size_t)(eq - argv[i]));
		key[eq - argv[i]] = '\0';
		json_object_object_add(p, key, json_object_new_string(eq + 1));
	}
	return p;
}

/* ---- commands ------------------------------------------------------------------------- */

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;     /* synopsis after the name */
	const char *summary;
	const char *details;  /* for "vcoproc help COMMAND" */
};

static const struct command *find_cmd(const char *name);

static void cmd_usage(FILE *f, const struct command *c)
{
	fprintf(f, "usage: vcoproc %s %s\n\n%s.\n", c->name, c->args, c->summary);
	if (c->details)
		fprintf(f, "\n%s", c->details);
}

/*
 * The options every command takes (--json, --help) plus its own @extra
 * (getopt_long format, with @lopts); returns the option character, -1 at
 * the end, or EXIT_USAGE + 1000 after a usage message.
 */
static const struct command *cur;

static int next_opt(int argc, char **argv, const char *shortopts, const struct option *extra)
{
	struct option lopts[16];
	int n = 0, o;

	lopts[n++] = (struct option){ "json", no_argument, NULL, 'J' };
	lopts[n++] = (struct option){ "help", no_argument, NULL, 'H' };
	for (; extra && extra->name && n < 15; extra++)
		lopts[n++] = *extra;
	lopts[n] = (struct option){ NULL, 0, NULL, 0 };
	for (;;) {
		o = getopt_long(argc, argv, shortopts, lopts, NULL);
		if (o == 'J') {
			G.json = true;
			continue;
		}
		if (o == 'H') {
			cmd_usage(stdout, cur);
			exit(0);
		}
		if (o == '?') {
			cmd_usage(stderr, cur);
			exit(EXIT_USAGE);
		}
		return o;
	}
}

static int usage_error(const char *fmt, ...) VC_PRINTF(1, 2);

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vcoproc %s: ", cur->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cmd_usage(stderr, cur);
	return EXIT_USAGE;
}

static int no_more_args(int argc, char **argv)
{
	if (optind < argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	return 0;
}

/*
 * For commands with only the common options: parse them and require
 * exactly @n operands (@what names them in the usage error).  Returns 0,
 * or the usage exit status after saying what was wrong.
 */
static int plain_args(int argc, char **argv, int n, const char *what)
{
	while (next_opt(argc, argv, "", NULL) != -1)
		;
	if (!n)
		return no_more_args(argc, argv);
	if (argc - optind != n)
		return usage_error("expected %s", what);
	return 0;
}

static int do_list(int argc, char **argv)
{
	struct json_object *ret;
	int r;

	r = plain_args(argc, argv, 0, NULL);
	if (r)
		return r;
	ret = call("list", NULL);
	if (!ret)
		return EXIT_FAILURE;
	if (G.json) {
		print_json(ret);
	} else {
		printf("%-12s %-20s %-11s %8s %7s  %s\n", "ID", "COMPATIBLE", "ALGORITHM",
		       "VCOPROCS", "UTIL", "ASSIGNED");
		for (size_t i = 0; i < json_object_array_length(ret); i++) {
			struct json_object *c = json_object_array_get_idx(ret, i), *pt, *owner = NULL;
			bool excl = json_object_object_get_ex(c, "passthrough", &pt) &&
				    json_object_get_boolean(pt);
			const char *to = "shared";

			if (excl)
				to = json_object_object_get_ex(c, "owner", &owner) && owner ?
				     json_object_get_string(owner) : "passthrough, free";
			printf("%-12s %-20s %-11s %8llu %6.1f%%  %s%s\n", jstr(c, "id"),
			       jstr(c, "compatible"), jstr(c, "algorithm"),
			       (unsigned long long)jnum(c, "vcoprocs"), 100 * jdbl(c, "utilization"),
			       excl && owner ? "passthrough to " : "", to);
			/* What the device is, when it says (an OpenCL device's name). */
			if (json_object_object_get_ex(c, "model", &pt))
				printf("%12s %s\n", "", json_object_get_string(pt));
		}
	}
	json_object_put(ret);
	return 0;
}

static int do_vcoproc_list(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "domain", required_argument, NULL, 'd' },
		{ "coproc", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *args = json_object_new_object(), *ret;
	char params[256];
	int o, r;

	while ((o = next_opt(argc, argv, "d:c:", lo)) != -1) {
		if (o == 'd')
			json_object_object_add(args, "domain", json_object_new_string(optarg));
		else if (o == 'c')
			json_object_object_add(args, "coproc", json_object_new_string(optarg));
	}
	r = no_more_args(argc, argv);
	if (r) {
		json_object_put(args);
		return r;
	}
	ret = call("vcoproc-list", args);
	if (!ret)
		return EXIT_FAILURE;
	if (G.json) {
		print_json(ret);
	} else {
		printf("%-12s %5s %-8s %-13s %7s %8s %10s %10s  %s\n", "DOMAIN", "DOMID", "COPROC",
		       "STATE", "SHARE", "EXPECTED", "RUN(s)", "JOBS", "PARAMS");
		for (size_t i = 0; i < json_object_array_length(ret); i++) {
			struct json_object *v = json_object_array_get_idx(ret, i);
			struct json_object *st = jobj(v, "stats");
			char exp[16];

			params_text(jobj(v, "params"), params, sizeof(params));
			printf("%-12s %5llu %-8s %-13s %6.1f%% %8s %10.3f %10llu  %s\n",
			       jstr(v, "domain"), (unsigned long long)jnum(v, "domid"),
			       jstr(v, "coproc"), jstr(v, "state"), 100 * jdbl(v, "share"),
			       pct_text(v, "expected_share", exp, sizeof(exp)),
			       (double)jnum(st, VC_VCOPROC_STAT_KEY(run_ns)) / 1e9,
			       (unsigned long long)jnum(st, VC_VCOPROC_STAT_KEY(jobs)), params);
		}
	}
	json_object_put(ret);
	return 0;
}

static int do_domain_list(int argc, char **argv)
{
	struct json_object *ret;
	int r;

	r = plain_args(argc, argv, 0, NULL);
	if (r)
		return r;
	ret = call("domain-list", NULL);
	if (!ret)
		return EXIT_FAILURE;
	if (G.json) {
		print_json(ret);
	} else {
		printf("%5s %-16s %-9s %8s %5s  %s\n", "DOMID", "NAME", "STATE", "MEM(MiB)", "VCPUS",
		       "KERNEL");
		for (size_t i = 0; i < json_object_array_length(ret); i++) {
			struct json_object *d = json_object_array_get_idx(ret, i);

			printf("%5llu %-16s %-9s %8llu %5llu  %s\n", (unsigned long long)jnum(d, "domid"),
			       jstr(d, "name"), jstr(d, "state"), (unsigned long long)jnum(d, "memory"),
			       (unsigned long long)jnum(d, "vcpus"), jstr(d, "kernel"));
		}
	}
	json_object_put(ret);
	return 0;
}

/*
 * The domain file's own errors, located, before the daemon sees it: the
 * file travels as a JSON string, so bytes that are not UTF-8 would
 * otherwise come back as a JSON error about the request.  The daemon reads
 * the file again, against its coprocessors.
 */
static int check_domain_file(const char *path, const char *text, size_t len)
{
	char err[DOMCFG_MSG_MAX];
	struct domcfg *cfg;
	int r;

	cfg = malloc(sizeof(*cfg));
	if (!cfg)
		return fail("out of memory");
	r = domcfg_parse(text, len, path, cfg, err, sizeof(err));
	free(cfg);
	if (r == -VC_ENOMEM)
		return fail("%s: out of memory", path);
	if (r)
		return fail("%s", err);
	return 0;
}

static int do_create(int argc, char **argv)
{
	struct json_object *args, *ret, *w;
	char *text, abspath[PATH_MAX];
	const char *path;
	struct stat st;
	size_t len = 0;
	FILE *f;
	int r;

	if (plain_args(argc, argv, 1, "one domain file"))
		return EXIT_USAGE;
	path = argv[optind];
	f = fopen(path, "r");
	if (!f)
		return fail("%s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st)) {
		r = errno;
		fclose(f);
		return fail("%s: %s", path, strerror(r));
	}
	if (!S_ISREG(st.st_mode)) {
		fclose(f);
		return fail("%s: not a regular file", path);
	}
	text = malloc(CFG_MAX + 1);
	if (!text) {
		fclose(f);
		return fail("out of memory");
	}
	errno = 0;
	len = fread(text, 1, CFG_MAX + 1, f);
	r = ferror(f) ? (errno ? errno : EIO) : 0;
	fclose(f);
	if (r) {
		free(text);
		return fail("%s: %s", path, strerror(r));
	}
	if (len > CFG_MAX) {
		free(text);
		return fail("%s:1:1: expected at most %u bytes (what a request to the daemon "
			    "carries), found more", path, CFG_MAX);
	}
	r = check_domain_file(path, text, len);
	if (r) {
		free(text);
		return r;
	}
	args = json_object_new_object();
	json_object_object_add(args, "config", json_object_new_string_len(text, (int)len));
	free(text);
	/* The daemon resolves relative paths in the file against its directory. */
	json_object_object_add(args, "path", json_object_new_string(
		realpath(path, abspath) ? abspath : path));
	ret = call("create", args);
	if (!ret)
		return EXIT_FAILURE;
	w = jobj(ret, "warnings");
	for (size_t i = 0; w && i < json_object_array_length(w); i++)
		fprintf(stderr, "%s\n", json_object_get_string(json_object_array_get_idx(w, i)));
	if (G.json)
		print_json(ret);
	else
		printf("created domain %s (id %llu)\n", jstr(ret, "name"),
		       (unsigned long long)jnum(ret, "domid"));
	json_object_put(ret);
	return 0;
}

static int do_destroy(int argc, char **argv)
{
	struct json_object *args, *ret;

	if (plain_args(argc, argv, 1, "one domain (name or id)"))
		return EXIT_USAGE;
	args = json_object_new_object();
	json_object_object_add(args, "domain", json_object_new_string(argv[optind]));
	ret = call("destroy", args);
	if (!ret)
		return EXIT_FAILURE;
	if (G.json)
		print_json(ret);
	json_object_put(ret);
	return 0;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int do_console(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "no-follow", no_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	bool follow = true, attached = false;
	uint64_t offset = 0;
	const char *dom;
	int o;

	while ((o = next_opt(argc, argv, "", lo)) != -1)
		if (o == 'N')
			follow = false;
	if (optind + 1 != argc)
		return usage_error("expected one domain (name or id)");
	dom = argv[optind];
	while (!interrupted) {
		struct json_object *args = json_object_new_object(), *ret;
		const char *cls;
		size_t n;

		json_object_object_add(args, "domain", json_object_new_string(dom));
		json_object_object_add(args, "offset", json_object_new_uint64(offset));
		ret = call_cls("console-read", args, &cls);
		if (!ret) {
			/* The domain went away while we followed it: that is the end. */
			if (attached && cls && !strcmp(cls, "DeviceNotFound")) {
				fprintf(stderr, "[domain %s is gone]\n", dom);
				return 0;
			}
			return cls ? fail("%s", last_desc) : EXIT_FAILURE;
		}
		attached = true;
		if (jnum(ret, "lost"))
			fprintf(stderr, "[%llu bytes of console output lost]\n",
				(unsigned long long)jnum(ret, "lost"));
		n = (size_t)json_object_get_string_len(jobj(ret, "data"));
		fwrite(json_object_get_string(jobj(ret, "data")), 1, n, stdout);
		fflush(stdout);
		offset = jnum(ret, "offset");
		if (json_object_get_boolean(jobj(ret, "closed")) || (!follow && !n)) {
			json_object_put(ret);
			return 0;
		}
		json_object_put(ret);
		if (!n)
			sleep_ms(100);
	}
	return 0;
}

static void print_sched(struct json_object *ret)
{
	struct json_object *algos = jobj(ret, "algorithms"), *p = jobj(ret, "params");

	printf("%s: %s", jstr(ret, "coproc"), jstr(ret, "algorithm"));
	if (algos && json_object_array_length(algos)) {
		printf(" (available: ");
		for (size_t i = 0; i < json_object_array_length(algos); i++)
			printf("%s%s", i ? ", " : "",
			       json_object_get_string(json_object_array_get_idx(algos, i)));
		printf(")");
	}
	printf("\n");
	if (p && json_object_is_type(p, json_type_object)) {
		json_object_object_foreach(p, key, val)
			printf("  %s=%s\n", key, json_object_get_string(val));
	}
}

static int do_sched_get(int argc, char **argv)
{
	struct json_object *args, *ret;

	if (plain_args(argc, argv, 1, "one coprocessor"))
		return EXIT_USAGE;
	args = json_object_new_object();
	json_object_object_add(args, "coproc", json_object_new_string(argv[optind]));
	ret = call("sched-get", args);
	if (!ret)
		return EXIT_FAILURE;
	if (G.json)
		print_json(ret);
	else
		print_sched(ret);
	json_object_put(ret);
	return 0;
}

static int do_sched_set(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "algo", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *args, *ret, *p;
	const char *algo = NULL;
	int o;

	while ((o = next_opt(argc, argv, "a:", lo)) != -1)
		if (o == 'a')
			algo = optarg;
	if (optind >= argc)
		return usage_error("expected a coprocessor");
	if (!algo && optind + 1 == argc)
		return usage_error("nothing to set: give --algo and/or param=value");
	p = params_from_argv(argc - optind - 1, argv + optind + 1, cur->name);
	if (!p)
		return EXIT_USAGE;
	args = json_object_new_object();
	json_object_object_add(args, "coproc", json_object_new_string(argv[optind]));
	if (algo)
		json_object_object_add(args, "algorithm", json_object_new_string(algo));
	if (json_object_object_length(p))
		json_object_object_add(args, "params", p);
	else
		json_object_put(p);
	ret = call("sched-set", args);
	if (!ret)
		return EXIT_FAILURE;
	if (G.json)
		print_json(ret);
	else
		print_sched(ret);
	json_object_put(ret);
	return 0;
}

static int do_vcoproc_set(int argc, char **argv)
{
	struct json_object *args, *ret, *p;
	char params[256];

	while (next_opt(argc, argv, "", NULL) != -1)
		;
	if (argc - optind < 3)
		return usage_error("expected a domain, a coprocessor and param=value");
	p = params_from_argv(argc - optind - 2, argv + optind + 2, cur->name);
	if (!p)
		return EXIT_USAGE;
	args = json_object_new_object();
	json_object_object_add(args, "domain", json_object_new_string(argv[optind]));
	json_object_object_add(args, "coproc", json_object_new_string(argv[optind + 1]));
	json_object_object_add(args, "params", p);
	ret = call("vcoproc-set", args);
	if (!ret)
		return EXIT_FAILURE;
	if (G.json) {
		print_json(ret);
	} else {
		params_text(jobj(ret, "params"), params, sizeof(params));
		printf("%s/%s: %s\n", jstr(ret, "domain"), jstr(ret, "coproc"), params);
	}
	json_object_put(ret);
	return 0;
}

/*
 * A duration option: seconds by default ("1.5", "500ms"), in
 * [@min, @max] ns; *@out in ns.  0, or -1 when it is not one.
 */
static int secs_arg(const char *s, vc_time_t min, vc_time_t max, vc_time_t *out)
{
	vc_time_t t;

	if (vc_parse_duration(s, VC_SEC(1), &t) || t < min || t > max)
		return -1;
	*out = t;
	return 0;
}

/* ---- top --------------------------------------------------------------------------------- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The same entry (by "id", or domain+coproc) in the previous sample. */
static struct json_object *find_prev(struct json_object *prev, struct json_object *cur_e,
				     bool vcoproc)
{
	for (size_t i = 0; prev && i < json_object_array_length(prev); i++) {
		struct json_object *e = json_object_array_get_idx(prev, i);

		if (vcoproc ? (jnum(e, "domid") == jnum(cur_e, "domid") &&
			       !strcmp(jstr(e, "coproc"), jstr(cur_e, "coproc"))) :
			      !strcmp(jstr(e, "id"), jstr(cur_e, "id")))
			return e;
	}
	return NULL;
}

static uint64_t delta(struct json_object *now, struct json_object *before, const char *key)
{
	uint64_t a = jnum(now, key), b = before ? jnum(before, key) : 0;

	return a >= b ? a - b : 0;
}

/* Every counter of VC_*_STATS() over the interval, under its own key. */
#define TOP_DELTA(type, name, what) \
	json_object_object_add(o, #name, json_object_new_uint64(delta(now, before, #name)));

static struct json_object *vcoproc_deltas(struct json_object *now, struct json_object *before)
{
	struct json_object *o = json_object_new_object();

	VC_VCOPROC_STATS(TOP_DELTA)
	return o;
}

static struct json_object *coproc_deltas(struct json_object *now, struct json_object *before)
{
	struct json_object *o = json_object_new_object();

	VC_COPROC_STATS(TOP_DELTA)
	return o;
}

static void top_sample(struct json_object *cl, struct json_object *vl, struct json_object *pcl,
		       struct json_object *pvl, double secs, bool tty)
{
	struct json_object *out = NULL, *oc = NULL, *ov = NULL;
	char params[256];

	if (G.json) {
		out = json_object_new_object();
		oc = json_object_new_array();
		ov = json_object_new_array();
		json_object_object_add(out, "interval", json_object_new_double(secs));
	} else {
		if (tty)
			printf("\033[H\033[2J");
		printf("vcoproc top - %zu coprocessors, %zu vcoprocs, over %.1f s\n\n",
		       json_object_array_length(cl), json_object_array_length(vl), secs);
		printf("%-12s %-10s %7s %8s %10s %10s\n", "COPROC", "ALGORITHM", "UTIL", "VCOPROCS",
		       "SWITCH/s", "REFUSE/s");
	}
	for (size_t i = 0; i < json_object_array_length(cl); i++) {
		struct json_object *c = json_object_array_get_idx(cl, i), *p, *st, *pst;
		uint64_t up, busy;
		double util;

		p = find_prev(pcl, c, false);
		st = jobj(c, "stats");
		pst = p ? jobj(p, "stats") : NULL;
		up = delta(st, pst, VC_COPROC_STAT_KEY(uptime_ns));
		busy = delta(st, pst, VC_COPROC_STAT_KEY(busy_ns));
		util = up ? (double)busy / (double)up : 0;
		if (G.json) {
			struct json_object *e = json_object_new_object();

			json_object_object_add(e, "id", json_object_new_string(jstr(c, "id")));
			json_object_object_add(e, "algorithm", json_object_new_string(jstr(c, "algorithm")));
			json_object_object_add(e, "utilization", json_object_new_double(util));
			json_object_object_add(e, "stats", coproc_deltas(st, pst));
			json_object_array_add(oc, e);
			continue;
		}
		printf("%-12s %-10s %6.1f%% %8llu %10.1f %10.1f\n", jstr(c, "id"),
		       jstr(c, "algorithm"), 100 * util, (unsigned long long)jnum(c, "vcoprocs"),
		       (double)delta(st, pst, VC_COPROC_STAT_KEY(switches)) / secs,
		       (double)delta(st, pst, VC_COPROC_STAT_KEY(refusals)) / secs);
	}
	if (!G.json)
		printf("\n%-12s %-8s %-13s %7s %8s %10s %10s  %s\n", "DOMAIN", "COPROC", "STATE",
		       "SHARE", "EXPECTED", "JOBS/s", "IRQS/s", "PARAMS");
	for (size_t i = 0; i < json_object_array_length(vl); i++) {
		struct json_object *v = json_object_array_get_idx(vl, i), *p, *st, *pst;
		uint64_t run, total = 0;
		double share;
		char exp[16];

		p = find_prev(pvl, v, true);
		st = jobj(v, "stats");
		pst = p ? jobj(p, "stats") : NULL;
		run = delta(st, pst, VC_VCOPROC_STAT_KEY(run_ns));
		/* The share of this coprocessor's run time over the interval. */
		for (size_t k = 0; k < json_object_array_length(vl); k++) {
			struct json_object *o = json_object_array_get_idx(vl, k), *po;

			if (strcmp(jstr(o, "coproc"), jstr(v, "coproc")))
				continue;
			po = find_prev(pvl, o, true);
			total += delta(jobj(o, "stats"), po ? jobj(po, "stats") : NULL,
				       VC_VCOPROC_STAT_KEY(run_ns));
		}
		share = total ? (double)run / (double)total : 0;
		if (G.json) {
			struct json_object *e = json_object_new_object();

			json_object_object_add(e, "domain", json_object_new_string(jstr(v, "domain")));
			json_object_object_add(e, "coproc", json_object_new_string(jstr(v, "coproc")));
			json_object_object_add(e, "share", json_object_new_double(share));
			json_object_object_add(e, "expected_share",
					       json_object_get(jobj(v, "expected_share")));
			json_object_object_add(e, "jobs_per_s",
					       json_object_new_double((double)delta(st, pst, VC_VCOPROC_STAT_KEY(jobs)) / secs));
			json_object_object_add(e, "stats", vcoproc_deltas(st, pst));
			json_object_array_add(ov, e);
			continue;
		}
		params_text(jobj(v, "params"), params, sizeof(params));
		printf("%-12s %-8s %-13s %6.1f%% %8s %10.1f %10.1f  %s\n", jstr(v, "domain"),
		       jstr(v, "coproc"), jstr(v, "state"), 100 * share,
		       pct_text(v, "expected_share", exp, sizeof(exp)),
		       (double)delta(st, pst, VC_VCOPROC_STAT_KEY(jobs)) / secs,
		       (double)delta(st, pst, VC_VCOPROC_STAT_KEY(irqs)) / secs,
		       params);
	}
	if (G.json) {
		json_object_object_add(out, "coprocs", oc);
		json_object_object_add(out, "vcoprocs", ov);
		puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
		json_object_put(out);
	}
	fflush(stdout);
}

static int do_top(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "delay", required_argument, NULL, 'd' },
		{ "iterations", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *pcl = NULL, *pvl = NULL;
	vc_time_t delay = VC_SEC(1);
	long iters = -1;
	uint64_t t_prev;
	bool tty = isatty(STDOUT_FILENO);
	char *end;
	int o, rc = 0;

	while ((o = next_opt(argc, argv, "d:n:", lo)) != -1) {
		if (o == 'd') {
			if (secs_arg(optarg, VC_MSEC(50), VC_SEC(3600), &delay))
				return usage_error("-d: expected seconds from 0.05 to 3600, found \"%s\"",
						   optarg);
		} else if (o == 'n') {
			iters = strtol(optarg, &end, 10);
			if (*end || iters < 1)
				return usage_error("-n: expected a positive count, found \"%s\"", optarg);
		}
	}
	if (no_more_args(argc, argv))
		return EXIT_USAGE;
	/* A first sample to take differences against. */
	pcl = call("list", NULL);
	pvl = pcl ? call("vcoproc-list", NULL) : NULL;
	if (!pvl) {
		json_object_put(pcl);
		return EXIT_FAILURE;
	}
	t_prev = mono_ns();
	for (long i = 0; (iters < 0 || i < iters) && !interrupted; i++) {
		struct json_object *cl, *vl;
		uint64_t t;

		sleep_ms((unsigned int)(delay / VC_MSEC(1)));
		if (interrupted)
			break;
		cl = call("list", NULL);
		vl = cl ? call("vcoproc-list", NULL) : NULL;
		if (!vl) {
			json_object_put(cl);
			rc = EXIT_FAILURE;
			break;
		}
		t = mono_ns();
		top_sample(cl, vl, pcl, pvl, (double)(t - t_prev) / 1e9, tty);
		json_object_put(pcl);
		json_object_put(pvl);
		pcl = cl;
		pvl = vl;
		t_prev = t;
	}
	json_object_put(pcl);
	json_object_put(pvl);
	return rc;
}

/* ---- trace -------------------------------------------------------------------------------- */

static int do_trace(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "time", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *args, *ret, *ev;
	const char *out = NULL, *coproc;
	vc_time_t secs = VC_SEC(1);
	long size = 0;
	char *end;
	int o, rc = 0;

	while ((o = next_opt(argc, argv, "o:t:s:", lo)) != -1) {
		if (o == 'o') {
			out = optarg;
		} else if (o == 't') {
			if (secs_arg(optarg, 0, VC_SEC(3600), &secs))
				return usage_error("-t: expected seconds from 0 to 3600, found \"%s\"",
						   optarg);
		} else if (o == 's') {
			size = strtol(optarg, &end, 10);
			if (*end || size < 1 || size > (1 << 20))
				return usage_error("-s: expected events from 1 to 1048576, found \"%s\"",
						   optarg);
		}
	}
	if (optind + 1 != argc)
		return usage_error("expected one coprocessor");
	if (!out)
		return usage_error("expected -o FILE.json");
	coproc = argv[optind];

	args = json_object_new_object();
	json_object_object_add(args, "coproc", json_object_new_string(coproc));
	if (size)
		json_object_object_add(args, "capacity", json_object_new_int64(size));
	ret = call("trace-start", args);
	if (!ret)
		return EXIT_FAILURE;
	json_object_put(ret);
	if (!G.json)
		fprintf(stderr, "tracing %s for %.1f s...\n", coproc, (double)secs / 1e9);
	sleep_ms((unsigned int)(secs / VC_MSEC(1)));

	args = json_object_new_object();
	json_object_object_add(args, "coproc", json_object_new_string(coproc));
	ret = call("trace-export", args);
	if (ret) {
		if (json_object_to_file_ext(out, ret, JSON_C_TO_STRING_PLAIN)) {
			rc = fail("%s: %s", out, json_util_get_last_err());
		} else {
			ev = jobj(ret, "traceEvents");
			if (G.json)
				printf("{\"file\": \"%s\", \"events\": %zu}\n", out,
				       ev ? json_object_array_length(ev) : 0);
			else
				printf("wrote %zu trace events of %s to %s (open in ui.perfetto.dev)\n",
				       ev ? json_object_array_length(ev) : 0, coproc, out);
		}
		json_object_put(ret);
	} else {
		rc = EXIT_FAILURE;
	}
	args = json_object_new_object();
	json_object_object_add(args, "coproc", json_object_new_string(coproc));
	ret = call("trace-stop", args);
	if (!ret)
		rc = EXIT_FAILURE;
	json_object_put(ret);
	return rc;
}

/* ---- help and main -------------------------------------------------------------------------- */

static int do_help(int argc, char **argv);

static const struct command commands[] = {
	{ "list", do_list, "[--json]", "List the coprocessors: id, compatible, algorithm, "
	  "vcoprocs, utilization (busy time over time since registration)", NULL },
	{ "vcoproc-list", do_vcoproc_list, "[-d DOM] [-c COPROC] [--json]",
	  "List vcoprocs: domain, coprocessor, state, share of the coprocessor's run time, "
	  "jobs, parameters",
	  "  -d, --domain DOM     only the vcoprocs of domain DOM (name or id)\n"
	  "  -c, --coproc COPROC  only those on coprocessor COPROC\n" },
	{ "domain-list", do_domain_list, "[--json]", "List the daemon's domains", NULL },
	{ "create", do_create, "CFG", "Create a domain from the domain file CFG (xl.cfg syntax)",
	  "The file names the domain, its kernel, memory, vCPUs, guest arguments and\n"
	  "its vcoprocs: vcoproc = [ \"gpu0\", \"gpu1,weight=512\" ].  If any vcoproc\n"
	  "cannot be created, nothing is.  Errors point at FILE:LINE:COLUMN.\n" },
	{ "destroy", do_destroy, "DOM", "Destroy domain DOM (name or id)", NULL },
	{ "console", do_console, "DOM [--no-follow]",
	  "Print domain DOM's console output and follow it (Ctrl-C ends)",
	  "  --no-follow  print what there is and exit\n" },
	{ "sched-get", do_sched_get, "COPROC [--json]",
	  "Show a coprocessor's scheduling algorithm and its parameters", NULL },
	{ "sched-set", do_sched_set, "COPROC [--algo ALGO] [PARAM=VALUE...]",
	  "Change a coprocessor's algorithm and/or parameters, live",
	  "  -a, --algo ALGO  switch to ALGO (credit, rr, rtds, arinc653): every vcoproc\n"
	  "                   and its work is kept\n"
	  "  PARAM=VALUE      an algorithm parameter, e.g. slice=5ms (docs/schedulers.md)\n" },
	{ "vcoproc-set", do_vcoproc_set, "DOM COPROC PARAM=VALUE...",
	  "Change the scheduling parameters of DOM's vcoproc on COPROC, live",
	  "  e.g. vcoproc vcoproc-set dom1 gpu0 weight=512 cap=50\n" },
	{ "top", do_top, "[-d SECS] [-n N] [--json]",
	  "Live view: utilization and shares over each interval, redrawn until Ctrl-C",
	  "  -d, --delay SECS      interval (default 1)\n"
	  "  -n, --iterations N    stop after N intervals\n"
	  "  --json                one JSON object per interval instead of a table\n" },
	{ "trace", do_trace, "COPROC -o FILE.json [-t SECS] [-s EVENTS]",
	  "Record a coprocessor's scheduling events and write them as Chrome trace-event "
	  "JSON (opens in ui.perfetto.dev)",
	  "  -o, --output FILE  where to write the trace (required)\n"
	  "  -t, --time SECS    how long to record (default 1)\n"
	  "  -s, --size EVENTS  ring size (default 65536; older events are dropped)\n" },
	{ "help", do_help, "[COMMAND]", "Show help for vcoproc or for COMMAND", NULL },
};

static const struct command *find_cmd(const char *name)
{
	for (size_t i = 0; i < VC_ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vcoproc [--socket PATH] [--json] [--timeout SECS] COMMAND [ARGS...]\n"
		"\n"
		"Control a vcoproc daemon (vcoprocd) over its control socket.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < VC_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].args);
	fprintf(f,
		"\n"
		"Options:\n"
		"  -S, --socket PATH  the daemon's socket (default: $VCOPROC_SOCKET, else %s)\n"
		"  -j, --json         listings as JSON (the daemon's reply) instead of tables\n"
		"  --timeout SECS     how long to wait for a reply (default 30)\n"
		"  -h, --help         this text; \"vcoproc help COMMAND\" for a command\n"
		"  -V, --version\n"
		"\n"
		"Exit status: 0 success, 1 failure, 2 usage error.  See vcoproc(1).\n",
		CTL_DEFAULT_SOCKET);
}

static int do_help(int argc, char **argv)
{
	const struct command *c;

	while (next_opt(argc, argv, "", NULL) != -1)
		;
	if (optind >= argc) {
		usage(stdout);
		return 0;
	}
	c = find_cmd(argv[optind]);
	if (!c)
		return usage_error("no command \"%s\"", argv[optind]);
	cmd_usage(stdout, c);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_signal };
	const struct command *c;
	vc_time_t t;
	int o, rc;

	G.socket = getenv("VCOPROC_SOCKET");
	if (!G.socket || !G.socket[0])
		G.socket = CTL_DEFAULT_SOCKET;
	/* "+": stop at the command; its own options follow it. */
	while ((o = getopt_long(argc, argv, "+S:jhV", lo, NULL)) != -1) {
		switch (o) {
		case 'S':
			G.socket = optarg;
			break;
		case 'j':
			G.json = true;
			break;
		case 'T':
			if (secs_arg(optarg, VC_MSEC(1), VC_SEC(86400), &t)) {
				fprintf(stderr, "vcoproc: --timeout: expected seconds, found \"%s\"\n",
					optarg);
				return EXIT_USAGE;
			}
			G.timeout_ms = (int)(t / VC_MSEC(1));
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("vcoproc %s (control protocol %d)\n", VC_VERSION, CTL_PROTOCOL_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	c = find_cmd(argv[optind]);
	if (!c) {
		fprintf(stderr, "vcoproc: no command \"%s\" (see vcoproc --help)\n", argv[optind]);
		return EXIT_USAGE;
	}
	cur = c;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* The command's own options: argv from the command name, getopt reset. */
	argc -= optind;
	argv += optind;
	optind = 0;
	rc = c->fn(argc, argv);
	ctl_client_close(G.client);
	return rc;
}
