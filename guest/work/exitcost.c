// SPDX-License-Identifier: MIT
/*
 * DOC: exitcost - the cost of a trapped register access, for bench-kvm
 *
 * Times @n accesses of each kind with the TSC, in 20 rounds that
 * interleave the kinds (so a change in the host's load hits them alike),
 * and prints each kind's median round:
 *
 *   loop       an empty loop iteration (a volatile add): the loop's own
 *              cost, which every figure below includes
 *   raw        a 32-bit read of an address nothing claims: a KVM MMIO exit
 *              the host answers at once (its bus has no handler there)
 *   emulated   a read of simcp's ID register before this domain ever
 *              queued work: its context is not on the device, so the read
 *              goes through vc_domain_mmio() to the platform's emulation
 *              on the saved context
 *   forwarded  the same read after one fence round trip: the context is
 *              on the device (and stays there, idle, while nobody else
 *              wants it), so the read is forwarded to the live registers;
 *              interleaved with raw reads again (raw2)
 *
 * With another domain keeping the device busy, the context leaves the
 * device as soon as the fence is done, and the last figure is emulated
 * too; delay=DUR halts that long first, so such a neighbour has started.
 * bench-kvm checks which path each access took from the framework's
 * counters.
 *
 * Prints "result: exitcost n=N loop=..ns raw=..ns emulated=..ns
 * raw2=..ns forwarded=..ns".
 */
#include "cp.h"
#include "rt.h"

#define NO_DEVICE_GPA 0xfd000000ull /* in the MMIO hole, claimed by nobody */

static bool never(void *arg)
{
	(void)arg;
	return false;
}

static uint64_t per(uint64_t t0, uint64_t n)
{
	return n ? (clock__ns() - t0) / n : 0;
}

/* Kinds of access measured. */
enum { K_LOOP, K_RAW, K_EMU, K_RAW2, K_FWD, K_MAX };

#define ROUNDS 20

static uint64_t ns[K_MAX][ROUNDS];

/* Time @n/ROUNDS accesses of kind @k in round @r. */
static void measure(unsigned int k, unsigned int r, uint64_t n, uint64_t addr)
{
	volatile uint32_t sink = 0;
	uint64_t t0 = clock__ns();

	for (uint64_t i = 0; i < n; i++)
		sink += k == K_LOOP ? (uint32_t)i : mmio_read32(addr);
	ns[k][r] = per(t0, n);
	(void)sink;
}

static uint64_t median(unsigned int k)
{
	sort__u64(ns[k], ROUNDS);
	return ns[k][ROUNDS / 2];
}

int guest_main(const struct board_info *bi)
{
	static struct cp cp;
	uint64_t n = arg__u64("n", 20000), delay = arg__time("delay", 1, 0);
	uint64_t id, fence, m = n / ROUNDS ? n / ROUNDS : 1;
	const struct board_dev *dev = NULL;

	dev = rt_simcp_dev(bi);
	if (!dev)
		panic("no simcp on this board");
	id = dev->base + SIMCP_REG_ID;
	if (delay)
		rt_wait(never, NULL, clock__ns() + delay);

	/* Interleaved rounds, medians: a change of load hits every kind alike. */
	for (unsigned int r = 0; r < ROUNDS; r++) {
		measure(K_LOOP, r, m, 0);
		measure(K_RAW, r, m, NO_DEVICE_GPA);
		measure(K_EMU, r, m, id);
	}
	/* One round trip puts this domain's context on the device. */
	if (cp__init(&cp, 4096) || cp__fence(&cp, true, &fence, clock__ns() + 5000000000ull))
		return BOARD_EXIT_FAIL;
	cp__kick(&cp);
	if (cp__wait(&cp, fence, clock__ns() + 5000000000ull))
		panic("the fence did not complete");
	for (unsigned int r = 0; r < ROUNDS; r++) {
		measure(K_RAW2, r, m, NO_DEVICE_GPA);
		measure(K_FWD, r, m, id);
	}
	printf("result: exitcost n=%llu loop=%lluns raw=%lluns emulated=%lluns raw2=%lluns "
	       "forwarded=%lluns\n", (unsigned long long)(m * ROUNDS),
	       (unsigned long long)median(K_LOOP), (unsigned long long)median(K_RAW),
	       (unsigned long long)median(K_EMU), (unsigned long long)median(K_RAW2),
	       (unsigned long long)median(K_FWD));
	return BOARD_EXIT_PASS;
}
