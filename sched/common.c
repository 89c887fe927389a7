// SPDX-License-Identifier: MIT
/*
 * Helpers shared by the scheduling algorithms: parameter parsing and
 * printing (see common.h).  All callers hold the coproc lock; nothing here
 * takes a lock.
 */
#include <vcoproc/errno.h>

#include "common.h"

/* ---- parameter values ---------------------------------------------------------- */

int vc_sched_parse_time(const char *val, vc_time_t default_unit, vc_time_t min,
			vc_time_t max, vc_time_t *out)
{
	vc_time_t t;

	if (vc_parse_duration(val, default_unit, &t) || t < min || t > max)
		return -VC_EINVAL;
	*out = t;
	return 0;
}

int vc_sched_parse_uint(const char *val, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t x;

	if (vc_parse_u64(val, &x) || x < min || x > max)
		return -VC_EINVAL;
	*out = x;
	return 0;
}

int vc_sched_parse_bool(const char *val, bool *out)
{
	static const char *const yes[] = { "1", "on", "yes", "true" };
	static const char *const no[] = { "0", "off", "no", "false" };

	if (!val)
		return -VC_EINVAL;
	for (size_t i = 0; i < VC_ARRAY_SIZE(yes); i++) {
		if (!vc_strcmp(val, yes[i])) {
			*out = true;
			return 0;
		}
		if (!vc_strcmp(val, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -VC_EINVAL;
}

uint32_t vc_sched_share(uint64_t part, uint64_t whole)
{
	if (!whole)
		return 0;
	if (part >= whole)
		return VC_SHARE_ONE;
	/* part * 10^9 must fit 64 bits: halve both (a ratio) until it does. */
	while (part > UINT64_MAX / VC_SHARE_ONE - 1) {
		part >>= 1;
		whole >>= 1;
	}
	return (uint32_t)((part * VC_SHARE_ONE + whole / 2) / whole);
}

const char *vc_sched_fmt_time(char buf[VC_SCHED_TIME_STR], vc_time_t t)
{
	static const struct {
		vc_time_t mult;
		const char *unit;
	} units[] = {
		{ VC_SEC(1), "s" }, { VC_MSEC(1), "ms" }, { VC_USEC(1), "us" },
	};
	size_t i;

	for (i = 0; i < VC_ARRAY_SIZE(units); i++)
		if (t && t % units[i].mult == 0)
			break;
	if (i == VC_ARRAY_SIZE(units))
		vc_snprintf(buf, VC_SCHED_TIME_STR, "%lluns", (unsigned long long)t);
	else
		vc_snprintf(buf, VC_SCHED_TIME_STR, "%llu%s",
			    (unsigned long long)(t / units[i].mult), units[i].unit);
	return buf;
}
