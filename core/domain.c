// SPDX-License-Identifier: MIT
/*
 * DOC: domains
 *
 * The framework's registry of domains: create, look up (by id, or by a
 * "name or id" reference with the one number rule of vc_domain_match()),
 * destroy (which destroys the domain's vcoprocs, core/vcoproc.c).
 * Topology calls are serialized by the host; the registry itself is under
 * fw->lock.
 */
#include "internal.h"
#include "switch.h"

int vc_domain_create(struct vc_fw *fw, uint32_t domid, const char *name,
		     const struct vc_iommu *iommu, void *host_dom, struct vc_domain **out)
{
	struct vc_domain *d;

	if (!fw || !out || (name && vc_strlen(name) >= VC_NAME_MAX))
		return -VC_EINVAL;
	d = vc_os_zalloc(sizeof(*d));
	if (!d)
		return -VC_ENOMEM;
	d->lock = vc_os_lock_create();
	if (!d->lock) {
		vc_os_free(d);
		return -VC_ENOMEM;
	}
	d->fw = fw;
	d->domid = domid;
	if (name)
		vc_strlcpy(d->name, name, sizeof(d->name));
	else
		vc_snprintf(d->name, sizeof(d->name), "dom%u", domid);
	d->iommu = iommu;
	d->host_dom = host_dom;
	vc_list_init(&d->vcoprocs);

	vc_os_lock(fw->lock);
	if (vc_domain_find_locked(fw, domid)) {
		vc_os_unlock(fw->lock);
		vc_os_lock_destroy(d->lock);
		vc_os_free(d);
		return -VC_EEXIST;
	}
	vc_list_add_tail(&d->node, &fw->domains);
	vc_os_unlock(fw->lock);
	*out = d;
	return 0;
}

struct vc_domain *vc_domain_find_locked(struct vc_fw *fw, uint32_t domid)
{
	struct vc_domain *d;

	VC_ASSERT_LOCKED(fw->lock);
	vc_list_for_each_entry(d, &fw->domains, struct vc_domain, node)
		if (d->domid == domid)
			return d;
	return NULL;
}

/* @ref as a domain id: true when it is made only of decimal digits. */
static bool ref_is_id(const char *ref, uint64_t *id)
{
	const char *p;

	for (p = ref; *p >= '0' && *p <= '9'; p++)
		;
	if (p == ref || *p)
		return false;
	if (vc_parse_u64(ref, id) || *id > UINT32_MAX)
		*id = (uint64_t)UINT32_MAX + 1; /* an id no domain has */
	return true;
}

bool vc_domain_match(const struct vc_domain *d, const char *ref)
{
	uint64_t id;

	if (!d || !ref || !*ref)
		return false;
	if (ref_is_id(ref, &id))
		return d->domid == id;
	return !vc_strcmp(d->name, ref);
}

struct vc_domain *vc_domain_lookup(struct vc_fw *fw, const char *ref)
{
	struct vc_domain *d, *found = NULL;

	if (!fw || !ref)
		return NULL;
	vc_os_lock(fw->lock);
	vc_list_for_each_entry(d, &fw->domains, struct vc_domain, node) {
		if (vc_domain_match(d, ref)) {
			found = d; /* the first created, for a shared name */
			break;
		}
	}
	vc_os_unlock(fw->lock);
	return found;
}

struct vc_domain *vc_domain_find(struct vc_fw *fw, uint32_t domid)
{
	struct vc_domain *d;

	vc_os_lock(fw->lock);
	d = vc_domain_find_locked(fw, domid);
	vc_os_unlock(fw->lock);
	return d;
}

void vc_domain_destroy(struct vc_domain *d)
{
	struct vc_vcoproc *v, *n;

	if (!d)
		return;
	vc_list_for_each_entry_safe(v, n, &d->vcoprocs, struct vc_vcoproc, dnode)
		vc_vcoproc_destroy(v);
	vc_os_lock(d->fw->lock);
	vc_list_del(&d->node);
	vc_os_unlock(d->fw->lock);
	vc_os_lock_destroy(d->lock);
	vc_os_free(d);
}

uint32_t vc_domain_id(const struct vc_domain *d)
{
	return d->domid;
}

const char *vc_domain_name(const struct vc_domain *d)
{
	return d->name;
}
