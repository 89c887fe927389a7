// SPDX-License-Identifier: MIT
/*
 * DOC: clock - nanoseconds from the TSC
 *
 * The host tells the TSC frequency in board_info.tsc_khz (KVM's
 * KVM_GET_TSC_KHZ).  Conversion is a 32.32 fixed-point multiply, so no
 * 128-bit division (no libgcc) is needed: ns = cycles * mult >> 32 with
 * mult = 10^6 * 2^32 / khz.
 */
#include "rt.h"

static uint64_t tsc0;
static uint64_t mult;

int clock__init(uint64_t tsc_khz)
{
	if (!tsc_khz)
		return -1;
	mult = (1000000ull << 32) / tsc_khz;
	tsc0 = rdtsc();
	return 0;
}

uint64_t clock__ns(void)
{
	unsigned __int128 c = rdtsc() - tsc0;

	return (uint64_t)((c * mult) >> 32);
}

void clock__delay_us(uint64_t us)
{
	uint64_t end = clock__ns() + us * 1000;

	while (clock__ns() < end)
		cpu_relax();
}
