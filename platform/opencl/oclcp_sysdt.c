// SPDX-License-Identifier: MIT
/*
 * DOC: the OpenCL platform's device-tree binding (oclcp_sysdt.h)
 *
 * make() checks the node against the board (a struct simcp_sysdt_board:
 * the window and interrupt rules are the same for every device with
 * simcp's register window), reads the "opencl,*" properties, creates the
 * device and fills the framework's description.
 */
#include <stdio.h>
#include <string.h>

#include <vcoproc/errno.h>

#include "oclcp.h"
#include "oclcp_sysdt.h"
#include "simcp_sysdt.h"

#ifndef OCLCP_CACHE_DIR
#define OCLCP_CACHE_DIR NULL
#endif

struct prop_rule {
	const char *name;
	uint64_t min, max;
	const char *what;
};

static const struct prop_rule rules[] = {
	{ "opencl,platform", 0, 15, "an OpenCL platform index" },
	{ "opencl,device", 0, 15, "a device index" },
	{ "opencl,ctx-size", 4096, 16u << 20, "bytes of scratch per context, a multiple of 4096" },
	{ "opencl,residency", 0, 2, "0 (auto), 1 (always) or 2 (never)" },
	{ "opencl,resident-bytes", 1, UINT64_MAX, "bytes of device memory" },
};

static int read_props(const struct vc_sysconfig_coproc *cp, struct oclcp_config *oc, char *err,
		      size_t errlen)
{
	for (unsigned int i = 0; i < cp->nr_props; i++) {
		const struct vc_sysconfig_prop *p = &cp->props[i];
		const struct prop_rule *r = NULL;

		if (strncmp(p->name, "opencl,", 7))
			continue;
		for (size_t k = 0; k < VC_ARRAY_SIZE(rules); k++)
			if (!strcmp(p->name, rules[k].name))
				r = &rules[k];
		if (!r) {
			snprintf(err, errlen, "property \"%s\": expected a property the OpenCL "
				 "platform knows (opencl,platform, opencl,device, opencl,ctx-size, "
				 "opencl,residency, opencl,resident-bytes), found an unknown one",
				 p->name);
			return -VC_EINVAL;
		}
		if ((p->len != 4 && p->len != 8) || p->value < r->min || p->value > r->max ||
		    (!strcmp(r->name, "opencl,ctx-size") && p->value % 4096)) {
			snprintf(err, errlen, "property \"%s\": expected %s in one or two cells, "
				 "found %llu (%u bytes)", p->name, r->what,
				 (unsigned long long)p->value, p->len);
			return -VC_EINVAL;
		}
		if (r == &rules[0])
			oc->platform_index = (unsigned int)p->value;
		else if (r == &rules[1])
			oc->device_index = (unsigned int)p->value;
		else if (r == &rules[2])
			oc->ctx_size = (uint32_t)p->value;
		else if (r == &rules[3])
			oc->residency = (enum oclcp_residency)p->value;
		else
			oc->resident_bytes = p->value;
	}
	return 0;
}

static int oclcp_sysdt_make(void *opaque, const struct vc_sysconfig_coproc *cp,
			    struct vc_coproc_desc *desc, void **dev, char *err, size_t errlen)
{
	const struct simcp_sysdt_board *b = opaque;
	struct oclcp_config oc = { .pocl_cache_dir = OCLCP_CACHE_DIR };
	uint64_t base = cp->mmio[0].base;
	struct oclcp_info info;
	struct oclcp *s;
	int r;

	r = simcp_sysdt_check_board(b, cp, err, errlen);
	if (r)
		return r;
	if (b)
		oc.max_nonpreempt = b->max_nonpreempt;
	r = read_props(cp, &oc, err, errlen);
	if (r)
		return r;
	r = oclcp_create(&oc, &s);
	if (r) {
		snprintf(err, errlen, "cannot open OpenCL platform %u device %u: %s",
			 oc.platform_index, oc.device_index,
			 r == -VC_ENODEV ? "no such device (clinfo -l lists them)" : vc_strerror(r));
		return r;
	}
	oclcp_info(s, &info);
	vc_log(VC_LOG_INFO, "%s: OpenCL device \"%s\" (%s, %s), switch %llu ns copied, "
	       "%llu ns resident", cp->name, info.device, info.platform, info.version,
	       (unsigned long long)info.switch_copied_ns,
	       (unsigned long long)info.switch_resident_ns);
	oclcp_coproc_desc(s, cp->name, base, cp->irqs[0], desc);
	*dev = s;
	return 0;
}

static void oclcp_sysdt_attach(void *dev, struct vc_coproc *c)
{
	oclcp_attach(dev, c);
}

static void oclcp_sysdt_destroy(void *dev)
{
	oclcp_destroy(dev);
}

const struct sysdt_platform oclcp_sysdt_platform = {
	.compatible = OCLCP_DT_COMPATIBLE,
	.make = oclcp_sysdt_make,
	.attach = oclcp_sysdt_attach,
	.destroy = oclcp_sysdt_destroy,
};
