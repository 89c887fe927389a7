// SPDX-License-Identifier: MIT
/*
 * Context-switch benchmark for simcp, on virtual time (os/vtime.c):
 *
 *   cost       - modeled device time of a switch (save + load) of a
 *                context that wrote one 4 KiB page of scratch, through
 *                simcp's own API, against the whole-context worst case
 *                (simcp_switch_cost(), what admission control is told);
 *                target: at most 1/8 of it.
 *   aggregate  - useful device time (busy on commands / virtual wall time)
 *                of 4 domains sharing the device at 1 ms slices (rr and
 *                credit), on the simulator (real framework, real simcp),
 *                against one domain alone; target: at least 0.995 of it.
 *   CPU        - host CPU time (CLOCK_MONOTONIC) per save + load of the
 *                model itself, for 4 KiB and whole 64 KiB contexts, and
 *                per switch in the 4-domain runs (the whole simulator).
 *
 * Prints figures measured in one run; not a test.
 *
 * Usage: bench-switch [--seconds N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vcoproc/vtime.h>

#include "sim.h"
#include "simcp.h"

#define GUEST_GPA  0x80000000ull
#define GUEST_SIZE (1u << 20)
#define RING_SIZE  4096u
#define DATA_OFF   0x10000u

struct bguest {
	uint8_t *mem;
	struct vc_iommu_region region;
	struct vc_iommu io;
	struct simcp_ctx *x;
	uint32_t tail;
};

static double mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int wr(struct simcp_ctx *x, uint64_t off, uint64_t v)
{
	return simcp_mmio(x, off, 4, true, &v) == VC_IO_BAD ? -VC_EINVAL : 0;
}

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Queue one command and ring the doorbell. */
static int submit(struct bguest *g, const struct simcp_cmd *c)
{
	uint8_t *p = g->mem + g->tail;

	p[0] = c->op;
	p[1] = c->flags;
	put_le(p + 2, c->arg, 2);
	put_le(p + 4, c->len, 4);
	put_le(p + 8, c->a, 8);
	put_le(p + 16, c->b, 8);
	put_le(p + 24, c->c, 8);
	g->tail = (g->tail + SIMCP_CMD_SIZE) % RING_SIZE;
	return wr(g->x, SIMCP_REG_RING_TAIL, g->tail);
}

static int guest_init(struct simcp *s, struct bguest *g, uint32_t tag)
{
	int r;

	memset(g, 0, sizeof(*g));
	g->mem = calloc(1, GUEST_SIZE);
	if (!g->mem)
		return -VC_ENOMEM;
	memset(g->mem + DATA_OFF, 0xa5, SIMCP_SCRATCH_SIZE);
	g->region = (struct vc_iommu_region){ .gpa = GUEST_GPA, .size = GUEST_SIZE,
					      .hva = g->mem, .writable = true };
	g->io.regions = &g->region;
	g->io.nr_regions = 1;
	r = simcp_ctx_alloc(s, tag, &g->x);
	if (r)
		return r;
	r = wr(g->x, SIMCP_REG_RING_BASE_LO, (uint32_t)GUEST_GPA);
	r = r ? r : wr(g->x, SIMCP_REG_RING_BASE_HI, GUEST_GPA >> 32);
	r = r ? r : wr(g->x, SIMCP_REG_RING_SIZE, RING_SIZE);
	return r ? r : wr(g->x, SIMCP_REG_CONTROL, SIMCP_CTRL_ENABLE);
}

static void guest_fini(struct bguest *g)
{
	simcp_ctx_free(g->x);
	free(g->mem);
}

/* Put @g on the device, let it write @bytes of scratch, take it off. */
static int dirty(struct simcp *s, struct bguest *g, uint32_t bytes)
{
	struct simcp_cmd load = { .op = SIMCP_OP_LOAD, .a = GUEST_GPA + DATA_OFF, .len = bytes };
	vc_time_t ra;
	int r;

	r = simcp_set_iommu(s, &g->io);
	r = r ? r : simcp_load(g->x);
	r = r ? r : simcp_start(g->x);
	r = r ? r : submit(g, &load);
	if (r)
		return r;
	vc_vtime_advance(VC_MSEC(1));
	r = simcp_stop(g->x, &ra);
	return r ? r : simcp_save(g->x);
}

/* Modeled time of one save + load of @g (already saved), and CPU time per pair. */
static int switch_cost(struct simcp *s, struct bguest *g, unsigned int iters,
		       vc_time_t *model, double *cpu_ns)
{
	struct simcp_stats a, b;
	double t0;
	int r = 0;

	simcp_stats(s, &a);
	t0 = mono_ns();
	for (unsigned int i = 0; i < iters && !r; i++) {
		r = simcp_load(g->x);
		r = r ? r : simcp_save(g->x);
	}
	*cpu_ns = (mono_ns() - t0) / iters;
	simcp_stats(s, &b);
	*model = (b.ctx_move_ns - a.ctx_move_ns) / iters;
	vc_vtime_advance(VC_MSEC(1));
	return r;
}

static int bench_cost(void)
{
	struct simcp_config cfg = { .mode = SIMCP_MODE_VTIME };
	struct bguest small, full;
	vc_time_t m_small, m_full, worst;
	double c_small, c_full, ratio;
	struct simcp *s;
	int r;

	vc_vtime_reset();
	r = simcp_create(&cfg, &s);
	if (r)
		return r;
	r = guest_init(s, &small, 1);
	r = r ? r : guest_init(s, &full, 2);
	r = r ? r : dirty(s, &small, 4096);
	r = r ? r : dirty(s, &full, SIMCP_SCRATCH_SIZE);
	r = r ? r : switch_cost(s, &small, 20000, &m_small, &c_small);
	r = r ? r : switch_cost(s, &full, 20000, &m_full, &c_full);
	if (!r) {
		worst = simcp_switch_cost(s);
		ratio = (double)m_small / (double)worst;
		printf("switch cost (save + load, modeled):\n");
		printf("  context that wrote 4 KiB   %7.3f us\n", m_small / 1e3);
		printf("  context that wrote 64 KiB  %7.3f us\n", m_full / 1e3);
		printf("  worst case (admission)     %7.3f us\n", worst / 1e3);
		printf("  4 KiB / worst = %.4f  (target <= %.4f: %s)\n", ratio, 1.0 / 8,
		       ratio <= 1.0 / 8 ? "MET" : "MISSED");
		printf("host CPU per save + load of the model: %.0f ns (4 KiB), %.0f ns (64 KiB)\n",
		       c_small, c_full);
	}
	guest_fini(&small);
	guest_fini(&full);
	simcp_destroy(s);
	return r;
}

/* Device busy time on commands over virtual wall time, and CPU per switch. */
static int run_share(const char *algo, unsigned int domains, unsigned int secs,
		     double *useful, uint64_t *switches, double *cpu_per_switch)
{
	struct sim_scenario scn;
	struct sim_result res = { 0 };
	char err[SIM_ERR_MAX];
	double t0;
	int r;

	sim_scenario_init(&scn);
	snprintf(scn.algo, sizeof(scn.algo), "%s", algo);
	scn.duration = VC_SEC(secs);
	r = sim_param_add(scn.params, &scn.nr_params, "slice", "1ms");
	for (unsigned int i = 0; i < domains && !r; i++) {
		struct sim_domain_cfg *d;
		char name[16];

		snprintf(name, sizeof(name), "d%u", i + 1);
		r = sim_scenario_add_domain(&scn, name, &d);
	}
	t0 = mono_ns();
	if (!r)
		r = sim_run_scenario(&scn, &res, err, sizeof(err));
	if (r) {
		fprintf(stderr, "bench-switch: %s: %s\n", algo, res.nr_domains ? err : vc_strerror(r));
	} else {
		*useful = (double)res.dev_busy_ns / (double)res.now;
		*switches = res.coproc.switches;
		*cpu_per_switch = res.coproc.switches ?
				  (mono_ns() - t0) / (double)res.coproc.switches : 0;
	}
	sim_result_release(&res);
	sim_scenario_release(&scn);
	return r;
}

static int bench_aggregate(unsigned int secs)
{
	static const char *const algos[] = { "rr", "credit" };

	printf("aggregate useful device time, 1 ms slices, %u s virtual:\n", secs);
	for (unsigned int i = 0; i < 2; i++) {
		double u1, u4, cpu1, cpu4, ratio;
		uint64_t sw1, sw4;
		int r;

		r = run_share(algos[i], 1, secs, &u1, &sw1, &cpu1);
		r = r ? r : run_share(algos[i], 4, secs, &u4, &sw4, &cpu4);
		if (r)
			return r;
		ratio = u4 / u1;
		printf("  %-6s 1 domain %.5f, 4 domains %.5f (%llu switches): ratio %.5f "
		       "(target >= 0.995: %s); simulator CPU per switch %.2f us\n",
		       algos[i], u1, u4, (unsigned long long)sw4, ratio,
		       ratio >= 0.995 ? "MET" : "MISSED", cpu4 / 1e3);
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int secs = 10;
	int r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			secs = (unsigned int)strtoul(argv[++i], NULL, 0);
		} else {
			fprintf(stderr, "usage: bench-switch [--seconds N]\n");
			return 2;
		}
	}
	if (!secs)
		secs = 1;
	r = bench_cost();
	if (!r)
		r = bench_aggregate(secs);
	if (r) {
		fprintf(stderr, "bench-switch: %s\n", vc_strerror(r));
		return 1;
	}
	return 0;
}
