/*
 * matrix.c - what Ferry knows about product versions: vSphere release
 * lines (cross-vCenter vMotion, newest VM hardware version per ESXi
 * release) and the EVC modes in their order.  ferry-findings(7), VERSION
 * MATRIX, prints the same tables; change both together.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <ctype.h>
#include <string.h>
#include "netmap/netmap-int.h"

/*
 * vSphere releases, oldest first.  An update that raised the hardware
 * version gets its own row when the version string shows it (7.0.1 is
 * 7.0 U1).  6.7 U2 runs vmx-15 but still reports 6.7.0: the row keeps
 * 14 and host_runs_hw() (check.c) reads the build for vmx-15; a host that
 * reports hw_versions overrides both.
 */
static const struct release {
	int major, minor, patch;	/* first version of the row */
	const char *name;
	int hw_max;			/* newest VM hardware version an ESXi of it runs */
	int xvc;			/* a vCenter of it does cross-vCenter vMotion */
} releases[] = {
	{ 5, 5, 0, "5.5",    10, 0 },
	{ 6, 0, 0, "6.0",    11, 1 },
	{ 6, 5, 0, "6.5",    13, 1 },
	{ 6, 7, 0, "6.7",    14, 1 },
	{ 7, 0, 0, "7.0",    17, 1 },
	{ 7, 0, 1, "7.0 U1", 18, 1 },
	{ 7, 0, 2, "7.0 U2", 19, 1 },
	{ 8, 0, 0, "8.0",    20, 1 },
	{ 8, 0, 2, "8.0 U2", 21, 1 },
};
#define NRELEASES (sizeof(releases) / sizeof(releases[0]))

/*
 * EVC modes by vendor, oldest baseline first: a host or cluster at mode
 * M runs VMs that require any earlier mode of the same vendor.  AMD's
 * "greyhound" keeps 3DNow!, which later AMD baselines dropped: it fits
 * only itself (dead end); "greyhound-no3dnow" is the one on the line.
 */
static const struct evc {
	const char *key, *vendor;
	int rank, dead_end;
} evcs[] = {
	{ "intel-merom", "intel", 1, 0 },
	{ "intel-penryn", "intel", 2, 0 },
	{ "intel-nehalem", "intel", 3, 0 },
	{ "intel-westmere", "intel", 4, 0 },
	{ "intel-sandybridge", "intel", 5, 0 },
	{ "intel-ivybridge", "intel", 6, 0 },
	{ "intel-haswell", "intel", 7, 0 },
	{ "intel-broadwell", "intel", 8, 0 },
	{ "intel-skylake", "intel", 9, 0 },
	{ "intel-cascadelake", "intel", 10, 0 },
	{ "intel-icelake", "intel", 11, 0 },
	{ "intel-sapphirerapids", "intel", 12, 0 },
	{ "amd-rev-e", "amd", 1, 0 },
	{ "amd-rev-f", "amd", 2, 0 },
	{ "amd-greyhound-no3dnow", "amd", 3, 0 },
	{ "amd-greyhound", "amd", 3, 1 },
	{ "amd-bulldozer", "amd", 4, 0 },
	{ "amd-piledriver", "amd", 5, 0 },
	{ "amd-steamroller", "amd", 6, 0 },
	{ "amd-zen", "amd", 7, 0 },
	{ "amd-zen2", "amd", 8, 0 },
	{ "amd-zen3", "amd", 9, 0 },
	{ "amd-zen4", "amd", 10, 0 },
};
#define NEVCS (sizeof(evcs) / sizeof(evcs[0]))

/* Up to 4 digits; advances *s. */
static int
num(const char **s, int *out)
{
	const char *p = *s;
	int v = 0, n = 0;

	while (isdigit((unsigned char)*p) && n < 4) {
		v = v * 10 + (*p - '0');
		p++;
		n++;
	}
	if (n == 0 || isdigit((unsigned char)*p))
		return 0;
	*s = p;
	*out = v;
	return 1;
}

int
netmap_matrix_parse_version(const char *s, struct netmap_version *v, int need_minor)
{
	memset(v, 0, sizeof(*v));
	if (s == NULL || !num(&s, &v->major))
		return 0;
	if (*s == '.') {
		s++;
		if (!num(&s, &v->minor))
			return 0;
		if (*s == '.') {
			s++;
			if (!num(&s, &v->patch))
				return 0;
		}
	} else if (need_minor)
		return 0;
	/* What follows a complete version ("7.2.22+dfsg", "8.0.2 build") is ignored. */
	return *s == '\0' || *s == '+' || *s == '-' || *s == ' ' || *s == '~';
}

int
netmap_matrix_vcmp(const struct netmap_version *a, const struct netmap_version *b)
{
	if (a->major != b->major)
		return a->major < b->major ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor < b->minor ? -1 : 1;
	if (a->patch != b->patch)
		return a->patch < b->patch ? -1 : 1;
	return 0;
}

static const struct release *
find_release(const struct netmap_version *v)
{
	const struct release *best = NULL;
	size_t i;

	for (i = 0; i < NRELEASES; i++)
		if (releases[i].major == v->major && releases[i].minor == v->minor &&
		    releases[i].patch <= v->patch)
			best = &releases[i];
	return best;
}

const char *
netmap_matrix_release(const struct netmap_version *v)
{
	const struct release *r = find_release(v);

	return r ? r->name : NULL;
}

int
netmap_matrix_hw_max(const struct netmap_version *v)
{
	const struct release *r = find_release(v);

	return r ? r->hw_max : 0;
}

int
netmap_matrix_xvc(const struct netmap_version *v)
{
	const struct release *r = find_release(v);

	return r ? r->xvc : 0;
}

int
netmap_matrix_evc(const char *key, const char **vendor, int *rank, int *dead_end)
{
	size_t i;

	for (i = 0; key != NULL && i < NEVCS; i++)
		if (strcmp(evcs[i].key, key) == 0) {
			*vendor = evcs[i].vendor;
			*rank = evcs[i].rank;
			*dead_end = evcs[i].dead_end;
			return 1;
		}
	return 0;
}

int
netmap_matrix_evc_fits(const char *req, const char *ceiling)
{
	const char *rv, *cv;
	int rr, cr, rd, cd;

	(void)cd;	/* a dead-end ceiling still runs everything below it */

	if (!netmap_matrix_evc(req, &rv, &rr, &rd) || !netmap_matrix_evc(ceiling, &cv, &cr, &cd))
		return 0;
	if (strcmp(req, ceiling) == 0)
		return 1;
	if (strcmp(rv, cv) != 0 || rd)
		return 0;
	return cr >= rr;
}
