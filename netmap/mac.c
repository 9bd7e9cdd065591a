/*
 * mac.c - what happens to the NICs' MAC addresses at the destination.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <string.h>
#include "netmap/netmap-int.h"

int
netmap_mac_policy_parse(const char *s, enum netmap_mac_policy *out, char *err, size_t errcap)
{
	if (s != NULL && strcmp(s, "keep") == 0)
		*out = NETMAP_MAC_KEEP;
	else if (s != NULL && strcmp(s, "generate") == 0)
		*out = NETMAP_MAC_GENERATE;
	else
		return netmap_fail(err, errcap, FY_ERR_INVAL, "MAC policy \"%.32s\": expected keep or generate",
		    s ? s : "");
	return 0;
}

const char *
netmap_mac_policy_name(enum netmap_mac_policy p)
{
	return p == NETMAP_MAC_GENERATE ? "generate" : "keep";
}
