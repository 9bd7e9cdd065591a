/*
 * fixture.h - facts for the pre-flight tests: a clean vSphere pair (one VM
 * that passes every rule) and a qemu pair shaped as gateway/dom_qemu.c
 * reports it, edited per test with small JSON path helpers, then read and
 * checked by netmap/.  Failures in the fixture itself bail out.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef FY_NETMAP_FIXTURE_H
#define FY_NETMAP_FIXTURE_H

#include <jansson.h>
#include "netmap/netmap.h"

#define GiB	((json_int_t)1 << 30)
#define TiB	((json_int_t)1 << 40)

/* JSON text with ' for " (readable literals); any value at the top. */
json_t *J(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The value at path ("vms[0].nics[0].mac"); bails out when it is not there. */
json_t *jat(json_t *root, const char *path);
/* Set (steals v) or delete the member at path; append v to the array at path. */
void jset(json_t *root, const char *path, json_t *v);
void jdel(json_t *root, const char *path);
void japp(json_t *root, const char *path, json_t *v);

struct fx {
	json_t *src, *dst;		/* edited by the test */
	struct netmap_link link;	/* 20 ms, 1 Gbit/s, no loss */
	int no_link;			/* pass no link at all */
	struct netmap_map *nmap, *dmap;
	struct netmap_options opt;
	struct netmap_facts *fs, *fd;
	struct netmap_report *r;
};

void fx_init(struct fx *);		/* the clean vSphere pair */
void fx_init_qemu(struct fx *);		/* a clean qemu pair */
void fx_nmap(struct fx *, const char *entry);
void fx_dmap(struct fx *, const char *entry);
/* Read both facts and check; bails out when the facts are refused. */
struct netmap_report *fx_run(struct fx *);
void fx_free(struct fx *);

/* Findings with code for vm (-1 site-level, -2 any). */
size_t fx_count(const struct netmap_report *, const char *code, int vm);
/* Codes of all findings, space-separated, for diagnostics and exact checks. */
const char *fx_codes(const struct netmap_report *);

#endif
