// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the xl.cfg reader and the domain-file semantics on
 * top of it.  Any input must parse or be refused with a message, never
 * crash, hang, leak or read out of bounds; a refused input's message has
 * the FILE:LINE:COL form; every value of a parsed one can be described.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domcfg.h"
#include "xlcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct domcfg cfg;
	char err[XLCFG_ERR_MAX], desc[256];
	struct xlcfg *xc;
	int r;

	r = xlcfg_parse((const char *)data, size, "f.cfg", &xc, err, sizeof(err));
	if (r) {
		if (strncmp(err, "f.cfg:", 6))
			abort(); /* every syntax error is located */
	} else {
		for (unsigned int i = 0; i < xc->nr_settings; i++) {
			const struct xlcfg_value *v = xc->settings[i].value;

			xlcfg_describe(v, desc, sizeof(desc));
			if (v->type == XLCFG_STRING && strlen(v->str) != v->len)
				abort(); /* strings hold no NUL */
			for (unsigned int k = 0; v->type == XLCFG_LIST && k < v->nr_items; k++)
				xlcfg_describe(v->items[k], desc, sizeof(desc));
		}
		if (xc->nr_settings && !xlcfg_find(xc, xc->settings[0].key))
			abort();
		xlcfg_free(xc);
	}

	r = domcfg_parse((const char *)data, size, "f.cfg", &cfg, err, sizeof(err));
	if (r && strncmp(err, "f.cfg:", 6))
		abort();
	if (!r && (!cfg.name[0] || !cfg.kernel[0] || cfg.nr_vcoprocs > DOMCFG_MAX_VCOPROCS))
		abort();
	return 0;
}
