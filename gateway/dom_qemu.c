/* dom_qemu.c - placeholder until the qemu domain lands (not committed). */
#include "config.h"
#include "domain.h"
int
dom_qemu_new(struct site *s, struct domain **out, struct fy_error *err)
{
	(void)s; (void)err;
	*out = NULL;
	return 0;
}
