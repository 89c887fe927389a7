// SPDX-License-Identifier: MIT
/*
 * DOC: MMIO dispatch
 *
 * Every register access a domain makes to a coprocessor window traps and
 * arrives here.  If the domain's context is the one on the device the
 * access is forwarded to the live registers; otherwise the platform
 * emulates it on the saved context, so the guest driver cannot tell.  A
 * doorbell (VC_IO_WORK) wakes the vcoproc.
 *
 * Locking: dom->lock keeps the vcoproc alive across the access;
 * coproc->lock serializes it against switches.
 */
#include "internal.h"
#include "switch.h"

/* The vcoproc of @d whose window holds [@gpa, @gpa+@size); dom->lock held. */
static struct vc_vcoproc *find_window(struct vc_domain *d, uint64_t gpa,
				      unsigned int size, uint64_t *off)
{
	struct vc_vcoproc *v;

	VC_ASSERT_LOCKED(d->lock);
	vc_list_for_each_entry(v, &d->vcoprocs, struct vc_vcoproc, dnode) {
		const struct vc_coproc_desc *desc = &v->coproc->desc;

		for (unsigned int i = 0; i < desc->nr_mmio; i++) {
			const struct vc_mmio_range *r = &desc->mmio[i];

			if (gpa >= r->base && gpa - r->base < r->size &&
			    size <= r->size - (gpa - r->base)) {
				*off = gpa - r->base;
				return v;
			}
		}
	}
	return NULL;
}

int vc_domain_mmio(struct vc_domain *d, uint64_t gpa, unsigned int size,
		   bool write, uint64_t *val)
{
	struct vc_vcoproc *v;
	struct vc_coproc *c;
	uint64_t off;
	int r, ret = 0;

	if (size != 1 && size != 2 && size != 4 && size != 8) {
		if (!write)
			*val = ~0ULL;
		return -VC_EINVAL;
	}
	vc_os_lock(d->lock);
	v = find_window(d, gpa, size, &off);
	if (!v) {
		vc_os_unlock(d->lock);
		if (!write)
			*val = ~0ULL;
		return -VC_ENOENT;
	}
	c = v->coproc;
	vc_os_lock(c->lock);
	if (c->curr == v) {
		r = plat_mmio_forward(c, v->ctx, off, size, write, val);
		v->stats.mmio_forwarded++;
		c->stats.mmio_forwarded++;
	} else {
		r = plat_mmio_emulate(c, v->ctx, off, size, write, val);
		v->stats.mmio_emulated++;
		c->stats.mmio_emulated++;
	}
	if (r == VC_IO_WORK) {
		vc_vcoproc_wake(v, vc_os_now());
	} else if (r == VC_IO_BAD) {
		if (!write)
			*val = ~0ULL;
		ret = -VC_EINVAL;
	}
	vc_os_unlock(c->lock);
	vc_os_unlock(d->lock);
	return ret;
}
