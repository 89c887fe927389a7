// SPDX-License-Identifier: MIT
/*
 * DOC: vcoproc-sim - command line
 *
 * Builds a scenario from the options (or a scenario file), runs it on
 * virtual time, prints the JSON result on stdout and a short table on
 * stderr.  Exit status: 0 ok, 1 --check failed or the run could not be
 * set up, 2 bad arguments or scenario.  See docs/sim.md.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vcoproc/sched.h>
#include <vcoproc/vtime.h>

#include "sim.h"

static const char usage_text[] =
	"usage: vcoproc-sim [options]\n"
	"\n"
	"Simulate domains sharing one simcp coprocessor on virtual time with the\n"
	"real framework, scheduler and device model; print JSON on stdout.\n"
	"\n"
	"  --algo NAME            scheduling algorithm (%s)\n"
	"  --weights W1,W2,...    one saturating domain per weight (weight=W)\n"
	"  --nonpreemptible F     with --weights: fraction of compute time that is\n"
	"                         non-preemptible, 0..1 (default 0)\n"
	"  --job DUR[..DUR]       with --weights: compute per job (default 1ms)\n"
	"  --chunk DUR            with --weights: compute per command (default 100us)\n"
	"  --depth N              with --weights: jobs kept outstanding (default 4)\n"
	"  --scratch BYTES        with --weights: scratch memory each job writes\n"
	"                         (e.g. 64K; every switch then moves it; default 0)\n"
	"  --scenario FILE        read domains and events from FILE (docs/sim.md)\n"
	"  --seconds S            virtual time to simulate (default 10; also 500ms)\n"
	"  --slice DUR            algorithm parameter slice=DUR\n"
	"  --param KEY=VAL        any algorithm parameter (repeatable)\n"
	"  --seed N               workload randomness (default 1)\n"
	"  --device KEY=VAL       the device model: ctx_size=256K, ctx_bw=8G,\n"
	"                         switch_fixed=5us, max_nonpreempt=1ms (repeatable;\n"
	"                         overrides the scenario)\n"
	"  --np-chain DUR[..DUR]  with --weights: non-preemptible time in chains of\n"
	"                         this length (default: single commands)\n"
	"  --window DUR           per-window shares and their worst error against\n"
	"                         the expected share (e.g. 1s; scenario: window)\n"
	"  --latency-cdf          each domain's latency CDF in the JSON (latency_cdf)\n"
	"  --switch-steps         time each switch step (switch_steps in the JSON)\n"
	"  --trace FILE.json      write a Chrome trace (Perfetto, chrome://tracing)\n"
	"  --trace-events N       trace ring size in events (default 1048576)\n"
	"  --check                exit 1 unless the algorithm kept its promise:\n"
	"                         shares within --tolerance of the expected ones\n"
	"                         (credit weight/sum, rr equal, arinc653 window\n"
	"                         share), no deadline miss (rtds)\n"
	"  --tolerance F          relative tolerance of --check (default 0.01)\n"
	"  --quiet                no table and no warnings on stderr\n"
	"  --verbose              framework log lines down to info\n"
	"  --help                 this text\n";

enum {
	OPT_ALGO = 256, OPT_WEIGHTS, OPT_NP, OPT_JOB, OPT_CHUNK, OPT_DEPTH, OPT_SCENARIO,
	OPT_SECONDS, OPT_SLICE, OPT_PARAM, OPT_SEED, OPT_TRACE, OPT_TRACE_EVENTS,
	OPT_CHECK, OPT_TOLERANCE, OPT_QUIET, OPT_VERBOSE, OPT_HELP, OPT_WINDOW,
	OPT_DEVICE, OPT_NP_CHAIN, OPT_SCRATCH, OPT_LATENCY_CDF, OPT_SWITCH_STEPS,
};

static const struct option long_opts[] = {
	{ "algo", required_argument, NULL, OPT_ALGO },
	{ "weights", required_argument, NULL, OPT_WEIGHTS },
	{ "nonpreemptible", required_argument, NULL, OPT_NP },
	{ "job", required_argument, NULL, OPT_JOB },
	{ "chunk", required_argument, NULL, OPT_CHUNK },
	{ "depth", required_argument, NULL, OPT_DEPTH },
	{ "scenario", required_argument, NULL, OPT_SCENARIO },
	{ "seconds", required_argument, NULL, OPT_SECONDS },
	{ "slice", required_argument, NULL, OPT_SLICE },
	{ "param", required_argument, NULL, OPT_PARAM },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "trace-events", required_argument, NULL, OPT_TRACE_EVENTS },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "tolerance", required_argument, NULL, OPT_TOLERANCE },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "np-chain", required_argument, NULL, OPT_NP_CHAIN },
	{ "scratch", required_argument, NULL, OPT_SCRATCH },
	{ "latency-cdf", no_argument, NULL, OPT_LATENCY_CDF },
	{ "switch-steps", no_argument, NULL, OPT_SWITCH_STEPS },
	{ NULL, 0, NULL, 0 },
};

struct opts {
	const char *algo, *weights, *np, *job, *chunk, *depth, *scenario, *seconds;
	const char *seed, *trace, *trace_events, *tolerance, *slice, *window;
	const char *params[SIM_MAX_PARAMS];
	unsigned int nr_params;
	const char *device[8];
	unsigned int nr_device;
	const char *np_chain, *scratch;
	bool check, quiet, verbose, latency_cdf, switch_steps;
};

static void VC_PRINTF(1, 2) die_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("vcoproc-sim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'vcoproc-sim --help'.\n", stderr);
	exit(2);
}

static void usage(void)
{
	char algos[128] = "";

	for (const char *const *a = vc_sched_algos(); *a; a++) {
		if (algos[0])
			strncat(algos, ", ", sizeof(algos) - strlen(algos) - 1);
		strncat(algos, *a, sizeof(algos) - strlen(algos) - 1);
	}
	printf(usage_text, algos);
	exit(0);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		die_usage("%s: %s", path, strerror(errno));
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			if (!buf) {
				fprintf(stderr, "vcoproc-sim: out of memory\n");
				exit(1);
			}
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n);
	if (ferror(f))
		die_usage("%s: read error", path);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

static uint64_t num_arg(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (!*s || *s == '-' || *end || errno || v < min || v > max)
		die_usage("%s: expected a number in %llu..%llu, got '%s'", opt,
			  (unsigned long long)min, (unsigned long long)max, s);
	return v;
}

static double frac_arg(const char *opt, const char *s, double min, double max)
{
	char *end;
	double v = strtod(s, &end);

	if (!*s || *end || !(v >= min && v <= max))
		die_usage("%s: expected a number in [%g, %g], got '%s'", opt, min, max, s);
	return v;
}

static vc_time_t dur_arg(const char *opt, const char *s, vc_time_t unit)
{
	vc_time_t t;

	if (vc_parse_duration(s, unit, &t) || !t)
		die_usage("%s: expected a duration (e.g. 10, 2.5ms, 100us), got '%s'", opt, s);
	return t;
}

/* --weights and its companions: one saturating domain per weight. */
static void weights_scenario(struct sim_scenario *scn, const struct opts *o)
{
	char list[16384], *tok, *save;
	vc_time_t job_min = VC_MSEC(1), job_max = VC_MSEC(1), chunk = VC_USEC(100);
	vc_time_t chain_min = 0, chain_max = 0;
	unsigned int depth = 4;
	uint32_t scratch = 0;
	double np = 0;

	if (o->scratch) {
		char *end;
		unsigned long long v = strtoull(o->scratch, &end, 10);

		if (end == o->scratch)
			die_usage("--scratch: bad size '%s'", o->scratch);
		if (*end == 'K' || *end == 'k')
			v *= 1024, end++;
		else if (*end == 'M' || *end == 'm')
			v *= 1024 * 1024, end++;
		if (*end || v > 16u * 1024 * 1024)
			die_usage("--scratch: bad size '%s' (0..16M)", o->scratch);
		scratch = (uint32_t)v;
	}
	if (o->np)
		np = frac_arg("--nonpreemptible", o->np, 0, 1);
	if (o->chunk)
		chunk = dur_arg("--chunk", o->chunk, VC_USEC(1));
	if (o->depth)
		depth = (unsigned int)num_arg("--depth", o->depth, 1, 256);
	if (o->job) {
		const char *dots = strstr(o->job, "..");
		char lo[64];

		snprintf(lo, sizeof(lo), "%.*s", dots ? (int)(dots - o->job) : 63, o->job);
		job_min = dur_arg("--job", lo, VC_MSEC(1));
		job_max = dots ? dur_arg("--job", dots + 2, VC_MSEC(1)) : job_min;
		if (job_max < job_min)
			die_usage("--job: empty range '%s'", o->job);
	}
	if (job_max / chunk > 4096)
		die_usage("--job/--chunk: more than 4096 commands per job");
	if (o->np_chain) {
		const char *dots = strstr(o->np_chain, "..");
		char lo[64];

		snprintf(lo, sizeof(lo), "%.*s", dots ? (int)(dots - o->np_chain) : 63,
			 o->np_chain);
		chain_min = dur_arg("--np-chain", lo, VC_USEC(1));
		chain_max = dots ? dur_arg("--np-chain", dots + 2, VC_USEC(1)) : chain_min;
		if (chain_max < chain_min)
			die_usage("--np-chain: empty range '%s'", o->np_chain);
		if (!(np > 0))
			die_usage("--np-chain needs --nonpreemptible > 0");
	}
	if (strlen(o->weights) >= sizeof(list))
		die_usage("--weights: list too long");
	snprintf(list, sizeof(list), "%s", o->weights);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct sim_domain_cfg *d;
		char name[16];
		int r;

		(void)num_arg("--weights", tok, 1, 65535);
		snprintf(name, sizeof(name), "d%u", scn->nr_domains + 1);
		r = sim_scenario_add_domain(scn, name, &d);
		if (r == -VC_E2BIG)
			die_usage("--weights: at most %d domains", SIM_MAX_DOMAINS);
		if (r) {
			fprintf(stderr, "vcoproc-sim: out of memory\n");
			exit(1);
		}
		(void)sim_param_add(d->params, &d->nr_params, "weight", tok);
		d->np = np;
		d->job_min = job_min;
		d->job_max = job_max;
		d->chunk = chunk;
		d->depth = depth;
		d->chain_min = chain_min;
		d->chain_max = chain_max;
		d->scratch = scratch;
	}
	if (!scn->nr_domains)
		die_usage("--weights: no weights in '%s'", o->weights);
}

/* --device KEY=VAL: the scenario's device directive KEY, parsed as one. */
static void device_arg(struct sim_scenario *scn, const char *kv)
{
	static const char *const keys[] = { "ctx_size", "ctx_bw", "switch_fixed",
					    "max_nonpreempt" };
	char line[128], err[SIM_ERR_MAX], src[SIM_SRC_MAX], *eq;
	bool known = false;

	if (strlen(kv) >= sizeof(line) - 1)
		die_usage("--device: '%s' too long", kv);
	snprintf(line, sizeof(line), "%s", kv);
	eq = strchr(line, '=');
	if (!eq)
		die_usage("--device: expected KEY=VALUE, got '%s'", kv);
	*eq = '\0';
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		known |= !strcmp(line, keys[i]);
	if (!known)
		die_usage("--device: unknown key '%s' (ctx_size, ctx_bw, switch_fixed, "
			  "max_nonpreempt)", line);
	*eq = ' ';
	/* The scenario keeps its own name for its messages. */
	memcpy(src, scn->src, sizeof(src));
	if (sim_scenario_parse(scn, line, "--device", err, sizeof(err)))
		die_usage("%s", err);
	memcpy(scn->src, src, sizeof(src));
	scn->dev_line = 0;
}

static void build_scenario(struct sim_scenario *scn, const struct opts *o)
{
	char err[SIM_ERR_MAX];

	sim_scenario_init(scn);
	if (o->scenario && o->weights)
		die_usage("--scenario and --weights exclude each other");
	if (!o->weights && (o->np || o->job || o->chunk || o->depth || o->np_chain ||
			    o->scratch))
		die_usage("--nonpreemptible, --job, --chunk, --depth, --np-chain and --scratch "
			  "go with --weights (use np=, job=, chunk=, depth=, np_chain=, scratch= "
			  "in a scenario)");
	if (o->scenario) {
		char *text = read_file(o->scenario);

		if (sim_scenario_parse(scn, text, o->scenario, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			free(text);
			exit(2);
		}
		free(text);
	} else if (o->weights) {
		weights_scenario(scn, o);
	} else {
		die_usage("nothing to simulate: give --weights or --scenario");
	}
	if (!scn->nr_domains)
		die_usage("the scenario has no domains");
	if (o->algo) {
		if (strlen(o->algo) >= sizeof(scn->algo))
			die_usage("--algo: name too long");
		snprintf(scn->algo, sizeof(scn->algo), "%s", o->algo);
	}
	if (o->seconds)
		scn->duration = dur_arg("--seconds", o->seconds, VC_SEC(1));
	if (o->seed)
		scn->seed = num_arg("--seed", o->seed, 0, UINT64_MAX);
	if (o->window)
		scn->window = dur_arg("--window", o->window, VC_SEC(1));
	for (unsigned int i = 0; i < o->nr_device; i++)
		device_arg(scn, o->device[i]);
	if (o->slice && sim_param_add(scn->params, &scn->nr_params, "slice", o->slice))
		die_usage("--slice: bad value '%s'", o->slice);
	for (unsigned int i = 0; i < o->nr_params; i++) {
		char kv[VC_PARAM_KEY_MAX + VC_PARAM_VAL_MAX], *eq;

		snprintf(kv, sizeof(kv), "%s", o->params[i]);
		eq = strchr(kv, '=');
		if (!eq || eq == kv)
			die_usage("--param: expected KEY=VALUE, got '%s'", o->params[i]);
		*eq = '\0';
		if (sim_param_add(scn->params, &scn->nr_params, kv, eq + 1))
			die_usage("--param: bad or too many parameters at '%s'", o->params[i]);
	}
	scn->latency_cdf = o->latency_cdf;
	scn->switch_steps = o->switch_steps;
	if (o->trace)
		scn->trace_capacity = o->trace_events ?
			(unsigned int)num_arg("--trace-events", o->trace_events, 1024, 1u << 24) :
			1u << 20;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_ALGO: o->algo = optarg; break;
		case OPT_WEIGHTS: o->weights = optarg; break;
		case OPT_NP: o->np = optarg; break;
		case OPT_JOB: o->job = optarg; break;
		case OPT_CHUNK: o->chunk = optarg; break;
		case OPT_DEPTH: o->depth = optarg; break;
		case OPT_SCENARIO: o->scenario = optarg; break;
		case OPT_SECONDS: o->seconds = optarg; break;
		case OPT_SEED: o->seed = optarg; break;
		case OPT_TRACE: o->trace = optarg; break;
		case OPT_TRACE_EVENTS: o->trace_events = optarg; break;
		case OPT_TOLERANCE: o->tolerance = optarg; break;
		case OPT_CHECK: o->check = true; break;
		case OPT_QUIET: o->quiet = true; break;
		case OPT_VERBOSE: o->verbose = true; break;
		case OPT_HELP: usage(); break;
		case OPT_SLICE: o->slice = optarg; break;
		case OPT_WINDOW: o->window = optarg; break;
		case OPT_NP_CHAIN: o->np_chain = optarg; break;
		case OPT_SCRATCH: o->scratch = optarg; break;
		case OPT_LATENCY_CDF: o->latency_cdf = true; break;
		case OPT_SWITCH_STEPS: o->switch_steps = true; break;
		case OPT_DEVICE:
			if (o->nr_device == sizeof(o->device) / sizeof(o->device[0]))
				die_usage("too many --device settings");
			o->device[o->nr_device++] = optarg;
			break;
		case OPT_PARAM:
			if (o->nr_params == SIM_MAX_PARAMS)
				die_usage("too many algorithm parameters");
			o->params[o->nr_params++] = optarg;
			break;
		case ':':
			die_usage("option '%s' needs a value", argv[optind - 1]);
			break;
		default:
			die_usage("unknown option '%s'", argv[optind - 1]);
			break;
		}
	}
	if (optind < argc)
		die_usage("unexpected argument '%s'", argv[optind]);
}

/* ---- output -------------------------------------------------------------------- */

static int file_write(void *opaque, const char *buf, size_t len)
{
	return fwrite(buf, 1, len, opaque) == len ? 0 : -VC_EIO;
}

/* Domains listed one a line; beyond, the table says how many it left out. */
#define SUMMARY_ROWS 64

static void summary(const struct sim_result *res, double wall)
{
	fprintf(stderr, "vcoproc-sim: %s, %u domains, %.3f s virtual in %.3f s wall "
		"(%llu timer events)\n", res->algo, res->nr_domains, (double)res->now / 1e9,
		wall, (unsigned long long)res->timer_events);
	fprintf(stderr, "  %-12s %9s %9s %12s %9s %9s %9s %7s %10s %10s", "domain", "share",
		"expected", "run_ms", "jobs", "switches", "refusals", "misses", "p50_ms",
		"p99_ms");
	if (res->window)
		fprintf(stderr, " %8s %8s", "win_abs", "win_rel");
	fputc('\n', stderr);
	for (unsigned int i = 0; i < res->nr_domains && i < SUMMARY_ROWS; i++) {
		const struct sim_dom_result *r = &res->dom[i];
		char exp[16] = "-";

		if (r->create_err) {
			fprintf(stderr, "  %-12s refused: %s\n", r->name,
				vc_strerror(r->create_err));
			continue;
		}
		if (r->expected_share >= 0)
			snprintf(exp, sizeof(exp), "%.6f", r->expected_share);
		fprintf(stderr, "  %-12s %9.6f %9s %12.3f %9llu %9llu %9llu %7llu %10.3f %10.3f",
			r->name, r->share, exp, (double)r->st.run_ns / 1e6,
			(unsigned long long)r->jobs_completed,
			(unsigned long long)r->st.switches_in,
			(unsigned long long)r->st.refusals,
			(unsigned long long)(r->st.deadline_misses + r->job_misses),
			(double)r->lat_p50_ns / 1e6, (double)r->lat_p99_ns / 1e6);
		if (res->window && r->win_err_abs >= 0)
			fprintf(stderr, " %7.3f%% %7.2f%%", 100 * r->win_err_abs,
				100 * r->win_err_rel);
		else if (res->window)
			fprintf(stderr, " %8s %8s", "-", "-");
		fputc('\n', stderr);
	}
	if (res->nr_domains > SUMMARY_ROWS)
		fprintf(stderr, "  ... %u more domains in the JSON\n",
			res->nr_domains - SUMMARY_ROWS);
	if (!res->window)
		return;
	if (res->win_err_abs < 0) {
		fprintf(stderr, "  windows: %u of %.3f s, none judged (a vcoproc ran out of "
			"work, or no expected share)\n", res->nr_windows,
			(double)res->window / 1e9);
		return;
	}
	fprintf(stderr, "  windows: %u of %.3f s; worst error %.3f%% absolute (%s), "
		"%.2f%% relative (%s)\n", res->nr_windows, (double)res->window / 1e9,
		100 * res->win_err_abs, res->dom[res->win_err_abs_dom].name,
		100 * res->win_err_rel, res->dom[res->win_err_rel_dom].name);
}

static void write_trace(struct sim *sim, const char *path)
{
	FILE *f = fopen(path, "w");
	struct vc_printer p = { file_write, f, 0 };
	int err;

	if (!f) {
		fprintf(stderr, "vcoproc-sim: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	err = sim_trace_export(sim, &p);
	if (fclose(f) || err) {
		fprintf(stderr, "vcoproc-sim: %s: write error\n", path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	static struct sim_scenario scn;
	static struct sim_result res;
	struct vc_printer out = { file_write, stdout, 0 };
	struct vc_printer errp = { file_write, stderr, 0 };
	char err[SIM_ERR_MAX];
	struct timespec t0, t1;
	struct opts o;
	struct sim *sim;
	double tol = 0.01, wall;
	bool ok = true;
	int r;

	parse_args(argc, argv, &o);
	build_scenario(&scn, &o);
	if (o.tolerance)
		tol = frac_arg("--tolerance", o.tolerance, 0, 1);
	vc_vtime_set_log_level(o.quiet ? VC_LOG_ERR : o.verbose ? VC_LOG_INFO : VC_LOG_WARN);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = sim_create(&scn, &sim, err, sizeof(err));
	if (r) {
		fprintf(stderr, "vcoproc-sim: %s\n", err);
		return r == -VC_EINVAL || r == -VC_ENOENT ? 2 : 1;
	}
	sim_run(sim);
	if (sim_result(sim, &res)) {
		fprintf(stderr, "vcoproc-sim: out of memory\n");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (o.trace)
		write_trace(sim, o.trace);
	sim_destroy(sim);

	if (sim_result_json(&scn, &res, &out) || fflush(stdout)) {
		fprintf(stderr, "vcoproc-sim: cannot write the result\n");
		return 1;
	}
	if (!o.quiet)
		summary(&res, wall);
	if (o.check) {
		ok = sim_check(&scn, &res, tol, &errp);
		if (!o.quiet || !ok)
			fprintf(stderr, "vcoproc-sim: check %s\n", ok ? "passed" : "FAILED");
	}
	sim_result_release(&res);
	sim_scenario_release(&scn);
	return ok ? 0 : 1;
}
