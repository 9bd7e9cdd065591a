/*
 * domain.c - choose the management domain named in ferryd.conf.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <string.h>
#include "config.h"
#include "domain.h"

/*
 * The vsphere domain is referenced weakly: programs that link the domain
 * code without the vim25 module (the unit tests and the spec fuzzer) do
 * not pull it in.  ferryd has it through preflight.c, which calls
 * vsphere_dns_lookup (same object).
 */
#pragma weak dom_vsphere_new

int
domain_init(struct site *s, struct domain **out, struct fy_error *err)
{
	*out = NULL;
	if (strcmp(s->conf.domain, "qemu") == 0)
		return dom_qemu_new(s, out, err);
	if (strcmp(s->conf.domain, "vsphere") == 0) {
		if (dom_vsphere_new == NULL)
			return fy_fail(err, FY_ERR_CONFIG, "domain vsphere: not linked into this program");
		return dom_vsphere_new(s, out, err);
	}
	return fy_fail(err, FY_ERR_CONFIG, "domain \"%.32s\": expected qemu or vsphere", s->conf.domain);
}

void
domain_fini(struct domain *d)
{
	if (d != NULL && d->ops->fini != NULL)
		d->ops->fini(d);
}
