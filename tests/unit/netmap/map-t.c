/*
 * map-t.c - network and datastore maps ("VM Network=Prod-A", as given to
 * --network-map and --datastore-map) and the MAC policy: what is accepted,
 * how names are trimmed, and one refusal for every rule, each checked for
 * its error code and for a message that names what was wrong.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "netmap/netmap.h"
#include "tests/tap.h"

static char err[1024];

/* Adding entry fails with code and an error containing each of want[] (NULL-terminated). */
static void
refused(struct netmap_map *m, const char *entry, int code, const char *const *want, const char *what)
{
	size_t before = netmap_map_count(m), i;
	int r, good;

	memset(err, 'X', sizeof(err));
	r = netmap_map_add(m, entry, err, sizeof(err));
	good = r == code && memchr(err, '\0', sizeof(err)) != NULL;
	for (i = 0; good && want[i] != NULL; i++)
		good = strstr(err, want[i]) != NULL;
	ok(good && netmap_map_count(m) == before, "refused: %s", what);
	if (!good)
		diag("r=%d err=%.200s", r, err);
}

#define W(...) ((const char *const[]){ __VA_ARGS__, NULL })

static char *
rep(char c, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		bail("out of memory");
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
t_good(void)
{
	struct netmap_map *m = netmap_map_new(NETMAP_MAP_NETWORK);
	const char *s, *d;

	if (m == NULL)
		bail("out of memory");
	ok(netmap_map_add(m, "VM Network=Prod-A", err, sizeof(err)) == 0, "VM Network=Prod-A");
	is_str(netmap_map_lookup(m, "VM Network"), "Prod-A", "lookup gives the destination");
	ok(netmap_map_lookup(m, "VM network") == NULL, "names are case-sensitive");
	ok(netmap_map_lookup(m, "Other") == NULL, "an unmapped name gives NULL");
	ok(netmap_map_add(m, "  DMZ 2 =  Prod DMZ  ", err, sizeof(err)) == 0, "blanks around the sides");
	is_str(netmap_map_lookup(m, "DMZ 2"), "Prod DMZ", "blanks trimmed, inner spaces kept");
	ok(netmap_map_add(m, "dvPG (10.0.0.0/24) #1=Prod/B:1, 'x'", err, sizeof(err)) == 0,
	    "punctuation other than '='");
	is_str(netmap_map_lookup(m, "dvPG (10.0.0.0/24) #1"), "Prod/B:1, 'x'", "punctuation kept");
	ok(netmap_map_add(m, "VM Network=Prod-A", err, sizeof(err)) == 0, "the same entry again");
	ok(netmap_map_add(m, "Backup Net=Prod-A", err, sizeof(err)) == 0, "two sources onto one destination");
	is_int(netmap_map_count(m), 4, "four entries");
	ok(netmap_map_entry(m, 2, &s, &d) == 0 && strcmp(s, "dvPG (10.0.0.0/24) #1") == 0 &&
	    strcmp(d, "Prod/B:1, 'x'") == 0, "entries in the order added");
	ok(netmap_map_entry(m, 4, &s, &d) == FY_ERR_INVAL, "entry out of range");
	ok(netmap_map_lookup(NULL, "x") == NULL && netmap_map_count(NULL) == 0, "a NULL map is empty");
	netmap_map_free(m);
	netmap_map_free(NULL);
}

static void
t_bad(void)
{
	struct netmap_map *m = netmap_map_new(NETMAP_MAP_NETWORK);
	struct netmap_map *dm = netmap_map_new(NETMAP_MAP_DATASTORE);
	char *long_name, *entry;
	size_t i;

	if (m == NULL || dm == NULL)
		bail("out of memory");
	refused(m, "Prod-A", FY_ERR_INVAL, W("network map", "\"Prod-A\"", "SOURCE=DESTINATION"), "no '='");
	refused(m, "a=b=c", FY_ERR_INVAL, W("\"a=b=c\"", "more than one '='"), "two '='");
	refused(m, "=Prod-A", FY_ERR_INVAL, W("source", "empty"), "empty source");
	refused(m, "VM Network=", FY_ERR_INVAL, W("destination", "empty"), "empty destination");
	refused(m, "  =  ", FY_ERR_INVAL, W("source", "empty"), "only blanks");
	refused(m, "", FY_ERR_INVAL, W("SOURCE=DESTINATION"), "empty entry");
	refused(m, "VM\nNetwork=Prod", FY_ERR_INVAL, W("control character"), "a newline in a name");
	refused(m, NULL, FY_ERR_INVAL, W("network map", "no entry"), "NULL");

	ok(netmap_map_add(m, "VM Network=Prod-A", err, sizeof(err)) == 0, "VM Network=Prod-A");
	refused(m, "VM Network=Prod-B", FY_ERR_INVAL, W("\"VM Network\"", "Prod-A", "Prod-B"),
	    "one source, two destinations: both named");
	is_str(netmap_map_lookup(m, "VM Network"), "Prod-A", "the first mapping stays");

	long_name = rep('n', NETMAP_NAME_MAX + 1);
	if (asprintf(&entry, "%s=x", long_name) < 0)
		bail("out of memory");
	refused(m, entry, FY_ERR_LIMIT, W("source", "longer than 255 bytes"), "a 256-byte source");
	free(entry);
	if (asprintf(&entry, "x=%s", long_name) < 0)
		bail("out of memory");
	refused(m, entry, FY_ERR_LIMIT, W("destination", "longer than 255 bytes"), "a 256-byte destination");
	free(entry);
	long_name[NETMAP_NAME_MAX] = '\0';
	if (asprintf(&entry, "%s=%s", long_name, long_name) < 0)
		bail("out of memory");
	ok(netmap_map_add(m, entry, err, sizeof(err)) == 0, "255 bytes on both sides");
	free(entry);
	free(long_name);
	entry = rep('e', 2000);
	refused(m, entry, FY_ERR_LIMIT, W("longer than"), "a 2000-byte entry");
	free(entry);

	/* The count: NETMAP_MAP_MAX entries, not one more. */
	for (i = netmap_map_count(m); i < NETMAP_MAP_MAX; i++) {
		char e[64];
		snprintf(e, sizeof(e), "net%zu=dst%zu", i, i);
		if (netmap_map_add(m, e, err, sizeof(err)) != 0)
			break;
	}
	is_int(netmap_map_count(m), NETMAP_MAP_MAX, "256 entries fit");
	refused(m, "one more=x", FY_ERR_LIMIT, W("more than 256 entries"), "the 257th entry");
	ok(netmap_map_add(m, "VM Network=Prod-A", err, sizeof(err)) == 0, "a repeat still passes when full");

	refused(dm, "LocalDS_0", FY_ERR_INVAL, W("datastore map", "LocalDS_0"), "a datastore map says so");
	netmap_map_free(m);
	netmap_map_free(dm);
}

static void
t_mac(void)
{
	enum netmap_mac_policy p = NETMAP_MAC_GENERATE;

	ok(netmap_mac_policy_parse("keep", &p, err, sizeof(err)) == 0 && p == NETMAP_MAC_KEEP, "keep");
	ok(netmap_mac_policy_parse("generate", &p, err, sizeof(err)) == 0 && p == NETMAP_MAC_GENERATE, "generate");
	is_str(netmap_mac_policy_name(NETMAP_MAC_KEEP), "keep", "name of keep");
	is_str(netmap_mac_policy_name(NETMAP_MAC_GENERATE), "generate", "name of generate");
	ok(netmap_mac_policy_parse("Keep", &p, err, sizeof(err)) == FY_ERR_INVAL &&
	    strstr(err, "\"Keep\"") != NULL && strstr(err, "keep or generate") != NULL, "Keep is refused: %s", err);
	ok(netmap_mac_policy_parse("", &p, err, sizeof(err)) == FY_ERR_INVAL, "empty is refused");
	ok(netmap_mac_policy_parse(NULL, &p, err, sizeof(err)) == FY_ERR_INVAL, "NULL is refused");
}

int
main(void)
{
	plan_lazy();
	t_good();
	t_bad();
	t_mac();
	done_testing();
}
