// SPDX-License-Identifier: MIT
/*
 * DOC: simcp's device-tree binding (simcp_sysdt.h)
 *
 * make() checks the node against what simcp needs (a window of
 * SIMCP_MMIO_SIZE, an interrupt) and what the board allows, reads simcp's
 * own properties ("simcp,*": the device's timing, simcp_sysdt.h), then
 * creates the device and fills the framework's description; attach() and
 * destroy() are simcp_attach() and simcp_destroy().
 */
#include <stdio.h>
#include <string.h>

#include <vcoproc/errno.h>

#include "simcp.h"
#include "simcp_sysdt.h"

/*
 * The node's "simcp,*" properties into @sc.  Other vendors' properties are
 * not simcp's business; an unknown "simcp," one is refused (a misspelt
 * property must not be silently ignored).
 */
static int read_simcp_props(const struct vc_sysconfig_coproc *cp, struct simcp_config *sc,
			    char *err, size_t errlen)
{
	for (unsigned int i = 0; i < cp->nr_props; i++) {
		const struct vc_sysconfig_prop *p = &cp->props[i];

		if (strncmp(p->name, "simcp,", 6))
			continue;
		if (strcmp(p->name, SIMCP_DT_AES_RATE)) {
			snprintf(err, errlen, "property \"%s\": expected a property simcp knows (%s), "
				 "found an unknown one", p->name, SIMCP_DT_AES_RATE);
			return -VC_EINVAL;
		}
		if (p->len != 4 && p->len != 8) {
			snprintf(err, errlen, "property \"%s\": expected bytes per second in one or two "
				 "cells (4 or 8 bytes), found %u bytes", p->name, p->len);
			return -VC_EINVAL;
		}
		if (p->value < SIMCP_DT_AES_RATE_MIN || p->value > SIMCP_DT_AES_RATE_MAX) {
			snprintf(err, errlen, "property \"%s\": expected bytes per second, %llu to "
				 "%llu, found %llu", p->name, SIMCP_DT_AES_RATE_MIN,
				 SIMCP_DT_AES_RATE_MAX, (unsigned long long)p->value);
			return -VC_EINVAL;
		}
		sc->timing.aes_bw = p->value;
	}
	return 0;
}

int simcp_sysdt_check_board(const struct simcp_sysdt_board *b,
			    const struct vc_sysconfig_coproc *cp, char *err, size_t errlen)
{
	uint64_t base = cp->mmio[0].base, size = cp->mmio[0].size;

	if (!cp->nr_mmio || size < SIMCP_MMIO_SIZE) {
		snprintf(err, errlen, "property \"reg\": expected a window of at least 0x%x bytes",
			 SIMCP_MMIO_SIZE);
		return -VC_EINVAL;
	}
	if (b && b->win_hi && (base < b->win_lo || base % 4096 || base + size > b->win_hi ||
			       base + size < base)) {
		snprintf(err, errlen, "property \"reg\": window 0x%llx+0x%llx is not one this board "
			 "has (page-aligned, within 0x%llx..0x%llx)", (unsigned long long)base,
			 (unsigned long long)size, (unsigned long long)b->win_lo,
			 (unsigned long long)b->win_hi);
		return -VC_EINVAL;
	}
	if (!cp->nr_irqs) {
		snprintf(err, errlen, "property \"interrupts\": expected an interrupt");
		return -VC_EINVAL;
	}
	if (b && b->irq_hi && (cp->irqs[0] < b->irq_lo || cp->irqs[0] > b->irq_hi)) {
		snprintf(err, errlen, "property \"interrupts\": this board routes coprocessor "
			 "interrupts to %s %u to %u only", b->irq_what ? b->irq_what : "inputs",
			 b->irq_lo, b->irq_hi);
		return -VC_EINVAL;
	}
	return 0;
}

static int simcp_sysdt_make(void *opaque, const struct vc_sysconfig_coproc *cp,
			    struct vc_coproc_desc *desc, void **dev, char *err, size_t errlen)
{
	const struct simcp_sysdt_board *b = opaque;
	struct simcp_config sc = { .mode = SIMCP_MODE_THREAD };
	uint64_t base = cp->mmio[0].base;
	struct simcp *s;
	int r;

	r = simcp_sysdt_check_board(b, cp, err, errlen);
	if (r)
		return r;
	if (b)
		sc.max_nonpreempt = b->max_nonpreempt;
	r = read_simcp_props(cp, &sc, err, errlen);
	if (r)
		return r;
	r = simcp_create(&sc, &s);
	if (r) {
		snprintf(err, errlen, "cannot create the simcp device: %s", vc_strerror(r));
		return r;
	}
	simcp_coproc_desc(s, cp->name, base, cp->irqs[0], desc);
	*dev = s;
	return 0;
}

static void simcp_sysdt_attach(void *dev, struct vc_coproc *c)
{
	simcp_attach(dev, c);
}

static void simcp_sysdt_destroy(void *dev)
{
	simcp_destroy(dev);
}

const struct sysdt_platform simcp_sysdt_platform = {
	.compatible = "vcoproc,simcp",
	.make = simcp_sysdt_make,
	.attach = simcp_sysdt_attach,
	.destroy = simcp_sysdt_destroy,
};
