/*
 * config-fuzz.c - libFuzzer harness for fy_cfg_parse_buf(), the
 * configuration parser, with a small table holding every type.  Oracles:
 * an error is a NUL-terminated "fuzz.conf:LINE: ..." message; an accepted
 * value is within its range; the -T dump of an accepted config works.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"
#include "tests/fuzz/fuzz.h"

struct fz {
	char *site_name, *listen, *state_dir;
	long long token_lifetime, clock_skew, pair_max_attempts, max_message;
	int verbose, log_level;
};

#define O(f) offsetof(struct fz, f)
static const struct fy_cfg_ent tab[] = {
	{ "site_name", FY_CFG_STR, O(site_name), "", 0, 0, "" },
	{ "listen", FY_CFG_STR, O(listen), "127.0.0.1:7443", 0, 0, "" },
	{ "state_dir", FY_CFG_STR, O(state_dir), NULL, 0, 0, "" },
	{ "log_level", FY_CFG_LOGLEVEL, O(log_level), "info", 0, 0, "" },
	{ "token_lifetime", FY_CFG_DURATION, O(token_lifetime), "5m", 1, 600, "" },
	{ "clock_skew", FY_CFG_DURATION, O(clock_skew), "120s", 0, 600, "" },
	{ "pair_max_attempts", FY_CFG_INT, O(pair_max_attempts), "5", 1, 100, "" },
	{ "max_message", FY_CFG_INT, O(max_message), "1048576", 4096, 64 << 20, "" },
	{ "verbose", FY_CFG_BOOL, O(verbose), "no", 0, 0, "" },
};
#define NTAB (sizeof(tab) / sizeof(tab[0]))

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz c;
	char err[256];
	FILE *f;
	int r;

	memset(&c, 0, sizeof(c));
	memset(err, 'X', sizeof(err));
	if (fy_cfg_defaults(tab, NTAB, &c) != 0)
		abort();
	r = fy_cfg_parse_buf(tab, NTAB, &c, "fuzz.conf", (const char *)data, size, err, sizeof(err));
	if (r == FY_ERR_CONFIG) {
		if (memchr(err, '\0', sizeof(err)) == NULL || strncmp(err, "fuzz.conf:", 10) != 0)
			abort();
	} else if (r == 0) {
		if (c.token_lifetime < 1 || c.token_lifetime > 600 || c.clock_skew > 600 ||
		    c.pair_max_attempts < 1 || c.pair_max_attempts > 100 ||
		    c.max_message < 4096 || c.max_message > (64 << 20) ||
		    (c.verbose != 0 && c.verbose != 1) || c.site_name == NULL || c.listen == NULL)
			abort();
		if ((f = fopen("/dev/null", "w")) != NULL) {
			fy_cfg_dump(tab, NTAB, &c, f);
			fclose(f);
		}
	} else if (r != FY_ERR_NOMEM)
		abort();
	fy_cfg_free(tab, NTAB, &c);
	return 0;
}
