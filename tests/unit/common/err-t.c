/*
 * err-t.c - the one error list: every code has a message, a name, and
 * fy_errcode() inverts fy_errname().
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <ctype.h>
#include <string.h>
#include "common.h"
#include "tests/tap.h"

static const int codes[] = {
#define CODE(name, val, str) name,
	FY_ERRORS(CODE)
#undef CODE
};
static const char *const strs[] = {
#define STR(name, val, str) str,
	FY_ERRORS(STR)
#undef STR
};

int
main(void)
{
	size_t i, j, n = sizeof(codes) / sizeof(codes[0]);
	const char *nm;
	int bad, lower;

	plan_lazy();
	is_int(FY_ERR_OK, 0, "FY_ERR_OK is 0");
	bad = 0;
	for (i = 1; i < n; i++)
		if (codes[i] >= 0)
			bad++;
	is_int(bad, 0, "every error is negative");
	bad = 0;
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (codes[i] == codes[j])
				bad++;
	is_int(bad, 0, "codes are unique");
	bad = 0;
	for (i = 0; i < n; i++)
		if (strcmp(fy_strerror(codes[i]), strs[i]) != 0)
			bad++;
	is_int(bad, 0, "fy_strerror matches the list for all %zu codes", n);
	is_str(fy_strerror(FY_ERR_REPLAY), "replayed token", "fy_strerror(FY_ERR_REPLAY)");
	is_str(fy_strerror(12345), "unknown error", "unknown code");
	is_str(fy_strerror(-999), "unknown error", "unknown negative code");

	bad = 0;
	for (i = 0; i < n; i++) {
		nm = fy_errname(codes[i]);
		if (fy_errcode(nm, strlen(nm)) != codes[i]) {
			diag("fy_errcode(fy_errname(%d) = \"%s\") != %d", codes[i], nm, codes[i]);
			bad++;
		}
	}
	is_int(bad, 0, "fy_errcode inverts fy_errname for all codes");
	is_int(fy_errcode("NOSUCH", 6), FY_ERR_PEER, "unknown name maps to FY_ERR_PEER");
	is_int(fy_errcode("", 0), FY_ERR_PEER, "empty name maps to FY_ERR_PEER");
	nm = fy_errname(FY_ERR_EXPIRED);
	is_int(fy_errcode(nm, strlen(nm) - 1), FY_ERR_PEER, "a prefix of a name is not that name");
	is_str(fy_errname(4242), "UNKNOWN", "unknown code name");

	/* common.h: stable code names ("PIN", "EXPIRED", ...), the enum name without FY_ERR_. */
	is_str(fy_errname(FY_ERR_PIN), "PIN", "fy_errname(FY_ERR_PIN) is \"PIN\"");
	is_str(fy_errname(FY_ERR_EXPIRED), "EXPIRED", "fy_errname(FY_ERR_EXPIRED) is \"EXPIRED\"");
	lower = 0;
	for (i = 0; i < n; i++)
		for (nm = fy_errname(codes[i]); *nm; nm++)
			if (islower((unsigned char)*nm))
				lower = 1;
	ok(!lower, "every code name is upper case");
	done_testing();
}
