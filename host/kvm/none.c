// SPDX-License-Identifier: MIT
/*
 * DOC: the kvm kind where vcoprocd is built without KVM support
 *
 * Every kvm domain is refused with the reason; the rest of the host works.
 */
#include <errno.h>
#include <stdio.h>

#include "host.h"

static int none_probe(struct host *h, char *err, size_t errlen)
{
	char why[DOM_ERR_MAX];

	(void)host_kvm(h, why, sizeof(why));
	snprintf(err, errlen, "KVM is not usable here: %s", why);
	return -ENOSYS;
}

static int none_create(struct dom *d, char *err, size_t errlen)
{
	return none_probe(d->host, err, errlen);
}

static int none_start(struct dom *d)
{
	return -ENOSYS;
}

static void none_nothing(struct dom *d)
{
}

static void none_irq_raise(struct dom *d, uint32_t irq)
{
}

const struct dom_kind dom_kind_kvm = {
	.name = "kvm",
	.probe = none_probe,
	.create = none_create,
	.start = none_start,
	.stop = none_nothing,
	.destroy = none_nothing,
	.irq_raise = none_irq_raise,
};
