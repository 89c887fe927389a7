// SPDX-License-Identifier: MIT
/*
 * DOC: IOMMU contexts
 *
 * A domain's IOMMU context is the list of guest-physical ranges its DMA may
 * reach and where they live in host memory.  Platforms translate every DMA
 * address through the context of the domain whose vcoproc context is
 * running; a range that leaves one region is refused as a whole.
 */
#include <vcoproc/vcoproc.h>

void *vc_iommu_translate(const struct vc_iommu *io, uint64_t gpa, uint64_t len,
			 bool write)
{
	if (!io || !len)
		return NULL;
	for (unsigned int i = 0; i < io->nr_regions; i++) {
		const struct vc_iommu_region *r = &io->regions[i];

		/* Written to be overflow-proof for guest-chosen gpa and len. */
		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		if (write && !r->writable)
			return NULL;
		return (char *)r->hva + (gpa - r->gpa);
	}
	return NULL;
}
