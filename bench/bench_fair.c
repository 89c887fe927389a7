// SPDX-License-Identifier: MIT
/*
 * Fairness benchmark: how closely credit keeps every domain at its
 * entitlement in every 1 s window, measured in one run each on the
 * simulator (the real framework, credit and the simcp model on virtual
 * time; sim/sim.h).  Not a test: it prints the worst window errors next
 * to the targets and says MET or MISSED.
 *
 *   random16   16 saturating domains, weights uniform in 1..16 (seed 7):
 *              every share within 1% absolute and 10% relative of
 *              weight / sum of weights in every window;
 *   1:2:4      three domains: within 0.5% absolute in every window;
 *
 * both plain and with half of the compute in non-preemptible chains of
 * 100 us..1 ms (np=0.5 np_chain=100us..1ms).  A window counts when every
 * domain had work queued throughout it (always here: they saturate).
 *
 * Usage: bench-fair [--seconds N] [--param KEY=VAL]... [--verbose]
 * (--param: a credit parameter for every case, e.g. slice=2ms)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vcoproc/vtime.h>

#include "sim.h"

struct fair_case {
	const char *name;
	bool random16;
	bool chains;
	double max_abs, max_rel; /* targets; max_rel < 0: none */
};

static const struct fair_case cases[] = {
	{ "random16", true, false, 0.01, 0.10 },
	{ "random16+chains", true, true, 0.01, 0.10 },
	{ "1:2:4", false, false, 0.005, -1 },
	{ "1:2:4+chains", false, true, 0.005, -1 },
};

/* Weights uniform in 1..16 from a fixed seed (splitmix64). */
static unsigned int next_weight(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (unsigned int)((z ^ (z >> 31)) % 16) + 1;
}

/* Algorithm parameters from --param, for every case. */
static const char *params[SIM_MAX_PARAMS];
static unsigned int nr_params;

static int build(struct sim_scenario *scn, const struct fair_case *fc, unsigned int secs)
{
	static const unsigned int w124[] = { 1, 2, 4 };
	unsigned int n = fc->random16 ? 16 : 3;
	uint64_t seed = 7;

	sim_scenario_init(scn);
	snprintf(scn->algo, sizeof(scn->algo), "credit");
	scn->duration = VC_SEC(secs);
	scn->window = VC_SEC(1);
	for (unsigned int i = 0; i < nr_params; i++) {
		char kv[VC_PARAM_KEY_MAX + VC_PARAM_VAL_MAX], *eq;

		snprintf(kv, sizeof(kv), "%s", params[i]);
		eq = strchr(kv, '=');
		if (!eq || sim_param_add(scn->params, &scn->nr_params, kv, (*eq = '\0', eq + 1)))
			return -VC_EINVAL;
	}
	for (unsigned int i = 0; i < n; i++) {
		struct sim_domain_cfg *d;
		char name[16], w[16];
		int r;

		snprintf(name, sizeof(name), "d%u", i + 1);
		r = sim_scenario_add_domain(scn, name, &d);
		if (r)
			return r;
		snprintf(w, sizeof(w), "%u", fc->random16 ? next_weight(&seed) : w124[i]);
		r = sim_param_add(d->params, &d->nr_params, "weight", w);
		if (r)
			return r;
		if (fc->chains) {
			d->np = 0.5;
			d->chain_min = VC_USEC(100);
			d->chain_max = VC_MSEC(1);
		}
	}
	return 0;
}

static bool run_case(const struct fair_case *fc, unsigned int secs, bool verbose)
{
	struct sim_scenario scn;
	struct sim_result res = { 0 };
	char err[SIM_ERR_MAX];
	bool met;
	int r;

	r = build(&scn, fc, secs);
	if (!r)
		r = sim_run_scenario(&scn, &res, err, sizeof(err));
	if (r) {
		printf("%-16s  cannot run: %s\n", fc->name,
		       r == -VC_ENOMEM ? "out of memory" : r == -VC_EINVAL && !res.nr_domains ?
		       "bad --param" : err);
		sim_scenario_release(&scn);
		return false;
	}
	met = res.win_err_abs >= 0 && res.win_err_abs <= fc->max_abs &&
	      (fc->max_rel < 0 || res.win_err_rel <= fc->max_rel);
	printf("%-16s  %2u domains %3u windows  worst abs %6.3f%% (%-3s, target %.1f%%)  "
	       "worst rel %6.2f%% (%-3s, target %s)  %s\n",
	       fc->name, res.nr_domains, res.nr_windows, 100 * res.win_err_abs,
	       res.win_err_abs_dom >= 0 ? res.dom[res.win_err_abs_dom].name : "-",
	       100 * fc->max_abs, 100 * res.win_err_rel,
	       res.win_err_rel_dom >= 0 ? res.dom[res.win_err_rel_dom].name : "-",
	       fc->max_rel < 0 ? "none" : fc->max_rel == 0.10 ? "10%" : "?",
	       met ? "MET" : "MISSED");
	if (verbose) {
		for (unsigned int i = 0; i < res.nr_domains; i++) {
			const struct sim_dom_result *d = &res.dom[i];

			printf("    %-4s weight %-3s expected %.4f share %.4f  window worst "
			       "abs %.3f%% rel %.2f%%  refusals %llu  np_faults %llu\n",
			       d->name, sim_param_get(scn.dom[i].params, scn.dom[i].nr_params,
						      "weight"),
			       d->expected_share, d->share, 100 * d->win_err_abs,
			       100 * d->win_err_rel, (unsigned long long)d->st.refusals,
			       (unsigned long long)d->np_faults);
		}
	}
	sim_result_release(&res);
	sim_scenario_release(&scn);
	return met;
}

int main(int argc, char **argv)
{
	unsigned int secs = 30, missed = 0;
	bool verbose = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			secs = (unsigned int)strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--param") && i + 1 < argc &&
			   nr_params < SIM_MAX_PARAMS) {
			params[nr_params++] = argv[++i];
		} else if (!strcmp(argv[i], "--verbose")) {
			verbose = true;
		} else {
			fprintf(stderr, "usage: bench-fair [--seconds N] [--param KEY=VAL]... "
				"[--verbose]\n");
			return 2;
		}
	}
	if (!secs)
		secs = 1;
	vc_vtime_set_log_level(VC_LOG_ERR);
	printf("bench-fair: credit, saturating domains (1 ms jobs, 100 us commands), "
	       "%u s in 1 s windows\n", secs);
	/*
	 * A window's error is about one turn of the domain (credit's lag
	 * bound): slice / window absolute for the heavy ones, and for the
	 * light ones their turn (never below ratelimit) over what they are
	 * owed in a window.  So the defaults first, then shorter turns.
	 */
	for (int round = 0; round < (nr_params ? 1 : 2); round++) {
		if (round) {
			params[nr_params++] = "slice=2ms";
			params[nr_params++] = "ratelimit=100us";
		}
		printf("credit parameters:");
		for (unsigned int i = 0; i < nr_params; i++)
			printf(" %s", params[i]);
		printf("%s\n", nr_params ? "" : " defaults (slice=10ms ratelimit=1ms)");
		missed = 0;
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			missed += !run_case(&cases[i], secs, verbose);
		printf("bench-fair: %u of %zu targets met\n",
		       (unsigned int)(sizeof(cases) / sizeof(cases[0])) - missed,
		       sizeof(cases) / sizeof(cases[0]));
	}
	return 0;
}
