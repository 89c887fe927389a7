// SPDX-License-Identifier: MIT
/*
 * DOC: latency - small fence round trips
 *
 * Each round queues one FENCE that interrupts, rings the doorbell and
 * halts until the interrupt handler has seen that fence complete; the
 * round trip (doorbell to the guest knowing its work is done) is timed
 * with the TSC.  Nothing else is queued, so the time is what it costs to
 * get the device's attention: the doorbell's trap, the scheduler switching
 * this domain's context in when another holds the device, the command, the
 * interrupt's way back.  Prints the percentiles.
 *
 * gap=DUR halts between rounds (the runtime's 10 ms tick bounds a halt, so
 * a gap lasts at least until the next tick), long enough for the
 * scheduler to give the device to another domain: the next doorbell then
 * reaches a saved context (emulated) and must still wake it.
 *
 * rounds=0 makes an idle domain: the driver is set up, nothing is ever
 * queued, and any interrupt it gets for the run's time fails it - the
 * coprocessor's interrupts must reach only the domain whose work raised
 * them.
 *
 * Command line: seconds=DUR (default: the host's --seconds), rounds=N
 * (stop after N; default: until the time is up, at most 65536), gap=DUR
 * (0).  Every completed fence must be one this domain emitted, and every
 * interrupt one it expects (foreign=, unknown=).
 *
 * Prints "result: latency ok rounds=N min=.. p50=.. p90=.. p99=.. max=..us
 * ..." and passes, or "result: latency FAIL ..." and fails.
 */
#include "cp.h"
#include "rt.h"

#define MAX_ROUNDS 65536ull
#define WAIT_NS 5000000000ull /* a fence not done after 5 s is lost */

static bool never(void *arg)
{
	(void)arg;
	return false;
}

/* Halt until @ns from now (or the next tick after it). */
static void halt_for(uint64_t ns)
{
	rt_wait(never, NULL, clock__ns() + ns);
}

static uint64_t pct(const uint64_t *v, uint64_t n, unsigned int p)
{
	return n ? v[(n - 1) * p / 100] : 0;
}

int guest_main(const struct board_info *bi)
{
	static struct cp cp;
	uint64_t run_ns, rounds, gap, t_end, n = 0, *lat;
	uint64_t unknown;
	bool ok = true;

	run_ns = arg__time("seconds", 1000000000ull, bi->run_ns ? bi->run_ns : 1000000000ull);
	rounds = arg__u64("rounds", MAX_ROUNDS);
	gap = arg__time("gap", 1, 0);
	if (rounds > MAX_ROUNDS)
		panic("rounds=%llu: at most %llu", (unsigned long long)rounds, MAX_ROUNDS);
	lat = mem__alloc((rounds ? rounds : 1) * sizeof(*lat), 16);
	if (!lat)
		panic("no memory for %llu samples", (unsigned long long)rounds);
	if (cp__init(&cp, 4096))
		return BOARD_EXIT_FAIL;
	printf("latency: %s, gap %llu us, %llu ms\n", rounds ? "fence round trips" : "idle",
	       (unsigned long long)(gap / 1000), (unsigned long long)(run_ns / 1000000));

	t_end = clock__ns() + run_ns;
	if (!rounds)
		halt_for(run_ns);
	while (n < rounds && clock__ns() < t_end) {
		uint64_t t0 = clock__ns(), fence;
		int r = cp__fence(&cp, true, &fence, t0 + WAIT_NS);

		if (r) {
			printf("latency: fence: %s\n", simcp_drv_strerror(r));
			ok = false;
			break;
		}
		cp__kick(&cp);
		r = cp__wait(&cp, fence, t0 + WAIT_NS);
		if (r) {
			printf("latency: round %llu: %s\n", (unsigned long long)n,
			       r == -1 ? "no completion within 5 s" : "device fault");
			ok = false;
			break;
		}
		lat[n++] = clock__ns() - t0;
		if (gap)
			halt_for(gap);
	}
	unknown = trap__unexpected();
	if (cp.foreign || unknown || cp.errors)
		ok = false;
	if (!rounds && cp.irqs) {
		printf("latency: idle, yet %llu coprocessor interrupts arrived\n",
		       (unsigned long long)cp.irqs);
		ok = false;
	}
	if (!ok) {
		printf("result: latency FAIL rounds=%llu irqs=%llu foreign=%llu unknown=%llu "
		       "errors=%llu\n", (unsigned long long)n, (unsigned long long)cp.irqs,
		       (unsigned long long)cp.foreign, (unsigned long long)unknown,
		       (unsigned long long)cp.errors);
		return BOARD_EXIT_FAIL;
	}
	sort__u64(lat, n);
	printf("result: latency ok rounds=%llu min=%lluus p50=%lluus p90=%lluus p99=%lluus "
	       "max=%lluus irqs=%llu foreign=0 unknown=0 spurious=%llu\n",
	       (unsigned long long)n, (unsigned long long)(n ? lat[0] / 1000 : 0),
	       (unsigned long long)(pct(lat, n, 50) / 1000),
	       (unsigned long long)(pct(lat, n, 90) / 1000),
	       (unsigned long long)(pct(lat, n, 99) / 1000),
	       (unsigned long long)(n ? lat[n - 1] / 1000 : 0), (unsigned long long)cp.irqs,
	       (unsigned long long)cp.spurious);
	return BOARD_EXIT_PASS;
}
