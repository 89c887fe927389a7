// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the system device tree reader.  Any blob must be read
 * or refused with a message; what is read stays within its bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sysdt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vc_sysconfig cfg;
	char err[SYSDT_ERR_MAX];
	int r = sysdt_parse(data, size, &cfg, err, sizeof(err));

	if (r) {
		if (!err[0])
			abort(); /* every refusal says why */
		return 0;
	}
	if (!cfg.nr_coprocs || cfg.nr_coprocs > SYSDT_MAX_COPROCS)
		abort();
	for (unsigned int i = 0; i < cfg.nr_coprocs; i++) {
		const struct vc_sysconfig_coproc *c = &cfg.coproc[i];

		if (!c->name[0] || !c->nr_mmio || c->nr_mmio > VC_COPROC_MAX_MMIO ||
		    !c->nr_irqs || c->nr_irqs > VC_COPROC_MAX_IRQS ||
		    c->nr_params > SYSDT_MAX_PARAMS || strlen(c->compatible) >= SYSDT_COMPAT_STR_MAX)
			abort();
		for (unsigned int k = 0; k < c->nr_mmio; k++)
			if (!c->mmio[k].size || c->mmio[k].base + c->mmio[k].size - 1 < c->mmio[k].base)
				abort();
		(void)sysdt_is_compatible(c, "vcoproc,simcp");
	}
	return 0;
}
