/*
 * domain.c - choose the management domain named in ferryd.conf.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <string.h>
#include "config.h"
#include "domain.h"

int
domain_init(struct site *s, struct domain **out, struct fy_error *err)
{
	*out = NULL;
	if (strcmp(s->conf.domain, "qemu") == 0)
		return dom_qemu_new(s, out, err);
	return fy_fail(err, FY_ERR_CONFIG, "domain \"%.32s\": this ferryd knows only \"qemu\"", s->conf.domain);
}

void
domain_fini(struct domain *d)
{
	if (d != NULL && d->ops->fini != NULL)
		d->ops->fini(d);
}
