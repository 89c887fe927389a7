// SPDX-License-Identifier: MIT
/*
 * DOC: hello - the smallest workload
 *
 * Proves the boot path: prints a greeting with what the runtime found,
 * exercises the heap and the clock, reports the CPUs that came up (cpus=
 * and their local APIC IDs, apic=, in its result line), and leaves with
 * the status given on the command line (status=N, default 0 = pass), so a
 * test can check that a failure status reaches the host.
 *
 * Command line: status=N, spin=DURATION (busy-wait before leaving, e.g.
 * to be destroyed while running; default 0), exits=N (measure the cost of
 * N exits of each kind: a read of the coprocessor's ID register, which
 * goes through vc_domain_mmio(); a read of an address nothing claims; a
 * port read of the UART's line status; and, for scale, N iterations of an
 * empty loop).
 */
#include "rt.h"

#define NO_DEVICE_GPA 0xfd000000ull /* in the MMIO hole, claimed by nobody */

static uint64_t ns_per(uint64_t t0, uint64_t n)
{
	return n ? (clock__ns() - t0) / n : 0;
}

static void measure_exits(const struct board_info *bi, uint64_t n)
{
	volatile uint32_t sink = 0;
	uint64_t t0, loop, cp = 0, hole, pio;

	t0 = clock__ns();
	for (uint64_t i = 0; i < n; i++)
		sink += (uint32_t)i;
	loop = ns_per(t0, n);
	for (uint32_t d = 0; d < bi->nr_devs && d < BOARD_MAX_DEVS; d++) {
		if (strncmp(bi->devs[d].compatible, "vcoproc,simcp", BOARD_NAME_MAX))
			continue;
		t0 = clock__ns();
		for (uint64_t i = 0; i < n; i++)
			sink += mmio_read32(bi->devs[d].base);
		cp = ns_per(t0, n);
	}
	t0 = clock__ns();
	for (uint64_t i = 0; i < n; i++)
		sink += mmio_read32(NO_DEVICE_GPA);
	hole = ns_per(t0, n);
	t0 = clock__ns();
	for (uint64_t i = 0; i < n; i++)
		sink += inb(BOARD_COM1_PORT + 5);
	pio = ns_per(t0, n);
	printf("hello: exit cost over %llu: coproc mmio %llu ns, unclaimed mmio %llu ns, "
	       "port %llu ns, loop iteration %llu ns\n", (unsigned long long)n,
	       (unsigned long long)cp, (unsigned long long)hole, (unsigned long long)pio,
	       (unsigned long long)loop);
}

int guest_main(const struct board_info *bi)
{
	uint64_t status = arg__u64("status", BOARD_EXIT_PASS);
	uint64_t spin = arg__time("spin", 1000000, 0);
	uint64_t exits = arg__u64("exits", 0);
	size_t before = mem__free_bytes();
	void *a = mem__alloc(1000, 16), *b = mem__alloc(4096, 4096), *c = mem__alloc(64, 64);
	uint64_t t0 = clock__ns();
	char apic[4 * BOARD_MAX_CPUS] = "";
	size_t len = 0;

	if (!a || !b || !c || (uintptr_t)b % 4096 || (uintptr_t)c % 64)
		panic("allocator: %p %p %p", a, b, c);
	mem__free(b);
	mem__free(a);
	mem__free(c);
	if (mem__free_bytes() != before)
		panic("allocator leaks: %zu free before, %zu after", before, mem__free_bytes());
	clock__delay_us(1000);
	if (clock__ns() - t0 < 1000000)
		panic("clock: 1 ms delay took %llu ns", (unsigned long long)(clock__ns() - t0));

	printf("hello from domain %u (%s): %zu KiB heap, APIC %u\n", bi->domid, bi->name,
	       before >> 10, apic__id());
	if (exits)
		measure_exits(bi, exits);
	if (spin) {
		uint64_t end = clock__ns() + spin;

		printf("hello: spinning for %llu ms\n", (unsigned long long)(spin / 1000000));
		while (clock__ns() < end)
			cpu_relax();
	}
	for (unsigned int i = 0; i < rt_cpus() && len < sizeof(apic); i++)
		len += (size_t)snprintf(apic + len, sizeof(apic) - len, "%s%u", i ? "," : "",
					rt_cpu_apic_id(i));
	printf("result: hello status=%llu cpus=%u apic=%s\n", (unsigned long long)status,
	       rt_cpus(), apic);
	return (int)status;
}
