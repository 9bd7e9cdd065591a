/*
 * map.c - network and datastore maps: "SOURCE=DESTINATION" entries as
 * given to --network-map and --datastore-map (and, later, runbooks).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include "netmap/netmap-int.h"

#define ENTRY_MAX	(2 * NETMAP_NAME_MAX + 64)	/* with blanks around '=' */

struct map_ent {
	char *src, *dst;
};

struct netmap_map {
	enum netmap_map_kind kind;
	struct map_ent *ents;
	size_t n, cap;
};

static const char *
kind_name(enum netmap_map_kind k)
{
	return k == NETMAP_MAP_DATASTORE ? "datastore map" : "network map";
}

struct netmap_map *
netmap_map_new(enum netmap_map_kind kind)
{
	struct netmap_map *m;

	if ((m = calloc(1, sizeof(*m))) != NULL)
		m->kind = kind;
	return m;
}

void
netmap_map_free(struct netmap_map *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		free(m->ents[i].src);
		free(m->ents[i].dst);
	}
	free(m->ents);
	free(m);
}

static int
blank(char c)
{
	return c == ' ';	/* a tab is a control character, refused before */
}

/* Copy [b, e) without surrounding blanks into a new string. */
static char *
trimmed(const char *b, const char *e, size_t *len)
{
	char *s;

	while (b < e && blank(*b))
		b++;
	while (e > b && blank(e[-1]))
		e--;
	*len = (size_t)(e - b);
	if ((s = malloc(*len + 1)) == NULL)
		return NULL;
	memcpy(s, b, *len);
	s[*len] = '\0';
	return s;
}

int
netmap_map_add(struct netmap_map *m, const char *entry, char *err, size_t errcap)
{
	const char *what = kind_name(m->kind), *eq;
	char *src = NULL, *dst = NULL;
	size_t i, n, slen, dlen;
	struct map_ent *ne;
	int r;

	if (entry == NULL)
		return netmap_fail(err, errcap, FY_ERR_INVAL, "%s: no entry given", what);
	n = strnlen(entry, ENTRY_MAX + 1);
	if (n > ENTRY_MAX)
		return netmap_fail(err, errcap, FY_ERR_LIMIT, "%s \"%.40s...\": longer than %d bytes",
		    what, entry, ENTRY_MAX);
	for (i = 0; i < n; i++)
		if ((unsigned char)entry[i] < 0x20 || entry[i] == 0x7f)
			return netmap_fail(err, errcap, FY_ERR_INVAL,
			    "%s \"%s\": contains a control character", what, entry);
	if ((eq = strchr(entry, '=')) == NULL)
		return netmap_fail(err, errcap, FY_ERR_INVAL,
		    "%s \"%s\": expected SOURCE=DESTINATION (no '=')", what, entry);
	if (strchr(eq + 1, '=') != NULL)
		return netmap_fail(err, errcap, FY_ERR_INVAL,
		    "%s \"%s\": more than one '=' (names cannot contain '=')", what, entry);
	if ((src = trimmed(entry, eq, &slen)) == NULL || (dst = trimmed(eq + 1, entry + n, &dlen)) == NULL) {
		r = netmap_fail(err, errcap, FY_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	if (slen == 0 || dlen == 0) {
		r = netmap_fail(err, errcap, FY_ERR_INVAL, "%s \"%s\": the %s (%s of '=') is empty", what, entry,
		    slen == 0 ? "source" : "destination", slen == 0 ? "left" : "right");
		goto out;
	}
	if (slen > NETMAP_NAME_MAX || dlen > NETMAP_NAME_MAX) {
		r = netmap_fail(err, errcap, FY_ERR_LIMIT, "%s \"%.40s...\": the %s is longer than %d bytes",
		    what, entry, slen > NETMAP_NAME_MAX ? "source" : "destination", NETMAP_NAME_MAX);
		goto out;
	}
	for (i = 0; i < m->n; i++) {
		if (strcmp(m->ents[i].src, src) != 0)
			continue;
		if (strcmp(m->ents[i].dst, dst) == 0) {
			r = 0;		/* the same entry again */
			goto out;
		}
		r = netmap_fail(err, errcap, FY_ERR_INVAL, "%s \"%s\": \"%s\" is already mapped to \"%s\"; "
		    "a source maps to one destination", what, entry, src, m->ents[i].dst);
		goto out;
	}
	if (m->n >= NETMAP_MAP_MAX) {
		r = netmap_fail(err, errcap, FY_ERR_LIMIT, "%s \"%s\": more than %d entries", what, entry,
		    NETMAP_MAP_MAX);
		goto out;
	}
	if (m->n == m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 8;
		if ((ne = realloc(m->ents, nc * sizeof(*ne))) == NULL) {
			r = netmap_fail(err, errcap, FY_ERR_NOMEM, "%s: out of memory", what);
			goto out;
		}
		m->ents = ne;
		m->cap = nc;
	}
	m->ents[m->n].src = src;
	m->ents[m->n].dst = dst;
	m->n++;
	src = dst = NULL;
	r = 0;
out:
	free(src);
	free(dst);
	return r;
}

const char *
netmap_map_lookup(const struct netmap_map *m, const char *source)
{
	size_t i;

	if (m == NULL || source == NULL)
		return NULL;
	for (i = 0; i < m->n; i++)
		if (strcmp(m->ents[i].src, source) == 0)
			return m->ents[i].dst;
	return NULL;
}

size_t
netmap_map_count(const struct netmap_map *m)
{
	return m == NULL ? 0 : m->n;
}

int
netmap_map_entry(const struct netmap_map *m, size_t i, const char **source, const char **dest)
{
	if (m == NULL || i >= m->n)
		return FY_ERR_INVAL;
	*source = m->ents[i].src;
	*dest = m->ents[i].dst;
	return 0;
}

enum netmap_map_kind
netmap_map_kind(const struct netmap_map *m)
{
	return m->kind;
}
