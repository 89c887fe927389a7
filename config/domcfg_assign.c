// SPDX-License-Identifier: MIT
/*
 * DOC: domain configuration files - exclusive passthrough
 *
 * domcfg_assign() gives a domain the coprocessors its dtdev list names,
 * checked against the system device tree as the host registered it
 * (sysdt_fw): each must be reserved for passthrough, and iomem and irqs
 * must list exactly its register pages and its interrupts, as xl's
 * iomem and irqs would for the same device.  Everything is checked
 * before one vcoproc is made on each device (core/passthrough.c).
 */
#include <stdio.h>
#include <string.h>

#include <vcoproc/errno.h>

#include "domcfg.h"
#include "sysdt.h"

/* Whether @cfg's iomem has the pages of window @w exactly; marks the entry in @used. */
static bool iomem_has(const struct domcfg *cfg, const struct vc_mmio_range *w, uint32_t *used)
{
	for (unsigned int i = 0; i < cfg->nr_iomem; i++) {
		const struct domcfg_iomem *m = &cfg->iomem[i];

		if (!(w->base & 0xfff) && !(w->size & 0xfff) && m->pfn == w->base >> 12 &&
		    m->nr == w->size >> 12) {
			*used |= 1u << i;
			return true;
		}
	}
	return false;
}

static bool irqs_has(const struct domcfg *cfg, uint32_t irq, uint32_t *used)
{
	for (unsigned int i = 0; i < cfg->nr_irqs; i++) {
		if (cfg->irqs[i] == irq) {
			*used |= 1u << i;
			return true;
		}
	}
	return false;
}

int domcfg_assign(const struct sysdt_fw *sf, struct domcfg *cfg, struct vc_domain *d,
		  struct vc_vcoproc **vv, char *err, size_t errlen)
{
	struct vc_coproc *cps[DOMCFG_MAX_DTDEV];
	uint32_t used_io = 0, used_irq = 0;
	int r;

	/* Everything is checked before anything is assigned. */
	for (unsigned int i = 0; i < cfg->nr_dtdev; i++) {
		const struct vc_sysconfig_coproc *cp;
		int idx = sysdt_find_node(sf, cfg->dtdev[i]);

		if (idx < 0)
			return domcfg_errorf(cfg, cfg->dtdev_pos[i], err, errlen,
					     "expected the node of a coprocessor of the system device "
					     "tree reserved for passthrough, found \"%s\"",
					     cfg->dtdev[i]);
		cp = sysdt_config(sf, (unsigned int)idx);
		cps[i] = sysdt_coproc(sf, (unsigned int)idx);
		if (!cp->passthrough)
			return domcfg_errorf(cfg, cfg->dtdev_pos[i], err, errlen,
					     "expected a coprocessor reserved for passthrough, found %s, "
					     "shared as \"%s\" (vcoproc = [ \"%s\" ])",
					     cp->node, cp->name, cp->name);
		for (unsigned int k = 0; k < i; k++)
			if (cps[k] == cps[i])
				return domcfg_errorf(cfg, cfg->dtdev_pos[i], err, errlen,
						     "expected each device once, found %s again",
						     cp->node);
		for (unsigned int w = 0; w < cp->nr_mmio; w++)
			if (!iomem_has(cfg, &cp->mmio[w], &used_io))
				return domcfg_errorf(cfg, cfg->pos.iomem, err, errlen,
						     "expected \"%llx,%llx\" in iomem (the registers of %s "
						     "at 0x%llx, %llu bytes), found %s",
						     (unsigned long long)(cp->mmio[w].base >> 12),
						     (unsigned long long)((cp->mmio[w].size + 0xfff) >> 12),
						     cp->node, (unsigned long long)cp->mmio[w].base,
						     (unsigned long long)cp->mmio[w].size,
						     cfg->nr_iomem ? "other pages" : "no iomem");
		for (unsigned int q = 0; q < cp->nr_irqs; q++)
			if (!irqs_has(cfg, cp->irqs[q], &used_irq))
				return domcfg_errorf(cfg, cfg->pos.irqs, err, errlen,
						     "expected %u in irqs (an interrupt of %s), found %s",
						     cp->irqs[q], cp->node,
						     cfg->nr_irqs ? "other interrupts" : "no irqs");
	}
	for (unsigned int i = 0; i < cfg->nr_iomem; i++)
		if (!(used_io & 1u << i))
			return domcfg_errorf(cfg, cfg->iomem[i].pos, err, errlen,
					     "expected the registers of an assigned device, found "
					     "pages %llx..%llx, which are not",
					     (unsigned long long)cfg->iomem[i].pfn,
					     (unsigned long long)(cfg->iomem[i].pfn + cfg->iomem[i].nr - 1));
	for (unsigned int i = 0; i < cfg->nr_irqs; i++)
		if (!(used_irq & 1u << i))
			return domcfg_errorf(cfg, cfg->irq_pos[i], err, errlen,
					     "expected an interrupt of an assigned device, found %u",
					     cfg->irqs[i]);

	for (unsigned int i = 0; i < cfg->nr_dtdev; i++) {
		r = vc_vcoproc_create(d, cps[i], NULL, 0, &vv[i], NULL);
		if (r == -VC_EBUSY) {
			struct vc_vcoproc *owner = NULL;

			vc_coproc_vcoprocs(cps[i], &owner, 1);
			domcfg_errorf(cfg, cfg->dtdev_pos[i], err, errlen,
				      "expected a free device, found %s assigned to domain \"%s\"",
				      cfg->dtdev[i],
				      owner ? vc_domain_name(vc_vcoproc_domain(owner)) : "?");
			return r;
		}
		if (r) {
			domcfg_errorf(cfg, cfg->dtdev_pos[i], err, errlen, "cannot assign %s: %s",
				      cfg->dtdev[i], vc_strerror(r));
			return r;
		}
	}
	return 0;
}
