/*
 * catalogue.c - every finding code, its severity, summary and default fix,
 * from the one list in netmap-int.h.  ferry-findings(7) documents the same
 * list (a unit test checks that every code is in it).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "netmap/netmap-int.h"

static const struct netmap_code codes[NM_NCODES] = {
#define NETMAP_CODE_ROW(id, code, sev, sum, fix) [NM_##id] = { code, NETMAP_##sev, sum },
	NETMAP_CODES(NETMAP_CODE_ROW)
#undef NETMAP_CODE_ROW
};

static const char *const fixes[NM_NCODES] = {
#define NETMAP_CODE_FIX(id, code, sev, sum, fix) [NM_##id] = fix,
	NETMAP_CODES(NETMAP_CODE_FIX)
#undef NETMAP_CODE_FIX
};

const struct netmap_code *
netmap_catalogue(size_t *n)
{
	*n = NM_NCODES;
	return codes;
}

const char *
netmap_catalogue_code(enum netmap_code_id id)
{
	return codes[id].code;
}

enum netmap_severity
netmap_catalogue_severity(enum netmap_code_id id)
{
	return codes[id].severity;
}

const char *
netmap_catalogue_fix(enum netmap_code_id id)
{
	return fixes[id];
}

const char *
netmap_severity_name(enum netmap_severity s)
{
	switch (s) {
	case NETMAP_ERROR:
		return "error";
	case NETMAP_WARNING:
		return "warning";
	default:
		return "info";
	}
}

const char *
netmap_verdict_name(enum netmap_verdict v)
{
	switch (v) {
	case NETMAP_BLOCKED:
		return "blocked";
	case NETMAP_WARNINGS:
		return "warnings";
	default:
		return "clear";
	}
}
