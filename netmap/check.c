/*
 * check.c - the pre-flight rules: source facts, destination facts, the
 * link, the maps and the options in; findings out.  Each rule is a pure
 * function over the context; what a rule cannot judge because a domain
 * does not report it becomes an explicit "not applicable" (FY-xxx-000).
 * ferry-findings(7) describes every code.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "netmap/netmap-int.h"

#define VAL_MAX		512		/* one compared value as text */
#define LIST_SHOWN	4		/* names listed in a value before "and N more" */

struct idx {				/* a sorted index of names for lookups */
	const char *key;
	size_t at;
};

struct ctx {
	const struct netmap_facts *src, *dst;
	const struct netmap_link *link;
	const struct netmap_map *nmap, *dmap;
	struct netmap_options opt;
	struct netmap_report *r;
	struct netmap_arena *a;		/* scratch, freed with the context */
	const struct netmap_host **cand;	/* destination hosts that can take VMs */
	const char **ceil;		/* each candidate's EVC ceiling (NULL: unknown) */
	size_t ncand;
	struct idx *snet, *dnet, *dds;	/* networks and datastores by name */
	unsigned char *nmap_used, *dmap_used;
	int rc;				/* first failure; rules stop adding after it */
};

/* Add a finding unless an earlier add failed. */
#define ADD(c, ...) do {							\
	if ((c)->rc == 0)							\
		(c)->rc = netmap_report_add((c)->r, __VA_ARGS__);		\
} while (0)

void
netmap_options_init(struct netmap_options *o)
{
	memset(o, 0, sizeof(*o));
	o->mac = NETMAP_MAC_KEEP;
	o->margin_bytes = 0;
	o->margin_pct = 5;
	o->rtt_max_ms = 150;
	o->loss_max_pct = 1;
}

/* ---- small helpers ---- */

static int64_t
sat_add(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static const char *
or_dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "not reported";
}

/* DNS names compare without case and without a trailing dot. */
static int
same_dns(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

static const struct netmap_host *
find_host(const struct netmap_facts *f, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < f->nhosts; i++)
		if (strcmp(f->hosts[i].name, name) == 0)
			return &f->hosts[i];
	return NULL;
}

static const struct netmap_cluster *
find_cluster(const struct netmap_facts *f, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < f->nclusters; i++)
		if (strcmp(f->clusters[i].name, name) == 0)
			return &f->clusters[i];
	return NULL;
}

static const struct netmap_dns *
find_dns(const struct netmap_facts *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->ndns; i++)
		if (same_dns(f->dns[i].name, name))
			return &f->dns[i];
	return NULL;
}

/* Index of the map entry for source, marking it used; the destination name or NULL. */
static const char *
map_lookup(const struct netmap_map *m, unsigned char *used, const char *source)
{
	const char *s, *d;
	size_t i, n = netmap_map_count(m);

	for (i = 0; i < n; i++)
		if (netmap_map_entry(m, i, &s, &d) == 0 && strcmp(s, source) == 0) {
			used[i] = 1;
			return d;
		}
	return NULL;
}

static int
cmp_idx(const void *a, const void *b)
{
	const struct idx *x = a, *y = b;
	int c = strcasecmp(x->key, y->key);

	if (c != 0)
		return c;
	return x->at < y->at ? -1 : x->at > y->at;
}

static int
cmp_idx_exact(const void *a, const void *b)
{
	const struct idx *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* Find key in a sorted index (first of equals); NULL if absent. */
static const struct idx *
idx_find(const struct idx *ix, size_t n, const char *key, int exact)
{
	size_t lo = 0, hi = n;
	int c;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		c = exact ? strcmp(ix[mid].key, key) : strcasecmp(ix[mid].key, key);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < n && (exact ? strcmp(ix[lo].key, key) : strcasecmp(ix[lo].key, key)) == 0)
		return &ix[lo];
	return NULL;
}

/* Sorted index of n names taken from elements of size elsize at base (name first member offset off). */
static struct idx *
index_names(struct ctx *c, const void *base, size_t n, size_t elsize, size_t off)
{
	struct idx *ix;
	size_t i;

	if ((ix = netmap_arena_array(c->a, n + 1, sizeof(*ix))) == NULL) {
		c->rc = FY_ERR_NOMEM;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		ix[i].key = *(const char *const *)((const char *)base + i * elsize + off);
		ix[i].at = i;
	}
	qsort(ix, n, sizeof(*ix), cmp_idx_exact);
	return ix;
}

/* First network of that name (in the facts' order); *count says how many have it. */
static const struct netmap_network *
find_network(const struct netmap_facts *f, const struct idx *ix, const char *name, size_t *count)
{
	const struct idx *hit = ix ? idx_find(ix, f->nnetworks, name, 1) : NULL;
	size_t n = 0;

	if (count != NULL)
		*count = 0;
	if (hit == NULL)
		return NULL;
	while (hit + n < ix + f->nnetworks && strcmp(hit[n].key, name) == 0)
		n++;
	if (count != NULL)
		*count = n;
	return &f->networks[hit->at];	/* ties sort by position: hit is the first */
}

static long
find_ds(const struct ctx *c, const char *name)
{
	const struct idx *hit = c->dds ? idx_find(c->dds, c->dst->ndatastores, name, 1) : NULL;

	return hit ? (long)hit->at : -1;
}

static const char *
nic_name(const struct netmap_nic *nic, size_t i, char *buf, size_t cap)
{
	if (nic->label != NULL && nic->label[0] != '\0')
		snprintf(buf, cap, "%s", nic->label);
	else
		snprintf(buf, cap, "nics[%zu]", i);
	return buf;
}

static const char *
kind_name(enum netmap_kind k)
{
	switch (k) {
	case NETMAP_KIND_STANDARD:
		return "standard";
	case NETMAP_KIND_DISTRIBUTED:
		return "distributed";
	case NETMAP_KIND_OPAQUE:
		return "opaque";
	default:
		return "not reported";
	}
}

/* "VLAN 10", or "VLAN trunk" for 4095 (all VLANs: a trunk, the guest tags its frames). */
static void
vlan_name(char *out, size_t cap, int vlan)
{
	if (vlan == 4095)
		snprintf(out, cap, "VLAN trunk");
	else
		snprintf(out, cap, "VLAN %d", vlan);
}

static void
fmt_rate(char *out, size_t cap, double bps)
{
	if (bps >= 1e9)
		snprintf(out, cap, "%.2f Gbit/s", bps / 1e9);
	else
		snprintf(out, cap, "%.1f Mbit/s", bps / 1e6);
}

/* ---- the candidates: destination hosts that can take the VMs ---- */

static int
usable(const struct netmap_host *h)
{
	return h->connection != NETMAP_CONN_DISCONNECTED && h->connection != NETMAP_CONN_NOT_RESPONDING &&
	    h->maintenance != NETMAP_TRI_YES;
}

static const char *
conn_name(enum netmap_conn c)
{
	switch (c) {
	case NETMAP_CONN_CONNECTED:
		return "connected";
	case NETMAP_CONN_DISCONNECTED:
		return "disconnected";
	case NETMAP_CONN_NOT_RESPONDING:
		return "notResponding";
	default:
		return "not reported";
	}
}

/* The EVC mode a candidate offers: its cluster's when EVC is on there, else its own maximum. */
static const char *
ceiling_of(const struct ctx *c, const struct netmap_host *h)
{
	const struct netmap_cluster *cl = find_cluster(c->dst, h->cluster);

	if (cl != NULL && cl->has_evc && cl->evc_mode != NULL)
		return cl->evc_mode;
	if (h->has_max_evc && h->max_evc != NULL)
		return h->max_evc;
	return NULL;
}

/* FY-HOST-*: the state of the hosts on both sides, and the candidates. */
static void
rule_hosts(struct ctx *c)
{
	const struct netmap_facts *d = c->dst;
	const struct netmap_host *h;
	size_t i, n = 0;
	int found_target = 0;

	if (!c->src->has_hosts || !d->has_hosts)
		ADD(c, NM_HOST_000, -1, "hosts", c->src->has_hosts ? "reported" : "not reported",
		    d->has_hosts ? "reported" : "not reported", NULL,
		    "The %s site does not report hosts (a %s domain), so host connection, maintenance "
		    "mode and host versions are not checked there.", !d->has_hosts ? "destination" : "source",
		    !d->has_hosts ? d->type : c->src->type);
	if ((c->cand = netmap_arena_array(c->a, d->nhosts + 1, sizeof(*c->cand))) == NULL) {
		c->rc = FY_ERR_NOMEM;
		return;
	}
	for (i = 0; i < d->nhosts; i++) {
		h = &d->hosts[i];
		/* Hosts outside the target, if one is named, do not matter. */
		if (c->opt.target_host != NULL && strcmp(h->name, c->opt.target_host) != 0)
			continue;
		if (c->opt.target_cluster != NULL &&
		    (h->cluster == NULL || strcmp(h->cluster, c->opt.target_cluster) != 0))
			continue;
		if (h->connection == NETMAP_CONN_DISCONNECTED || h->connection == NETMAP_CONN_NOT_RESPONDING)
			ADD(c, NM_HOST_002, -1, h->name, "", conn_name(h->connection), NULL,
			    "Destination host %s is %s; it cannot receive VMs.", h->name, conn_name(h->connection));
		if (h->maintenance == NETMAP_TRI_YES)
			ADD(c, NM_HOST_003, -1, h->name, "", "in maintenance mode", NULL,
			    "Destination host %s is in maintenance mode; it cannot receive VMs.", h->name);
		found_target = 1;
		if (usable(h))
			c->cand[n++] = h;
	}
	c->ncand = n;
	if ((c->ceil = netmap_arena_array(c->a, n + 1, sizeof(*c->ceil))) == NULL) {
		c->rc = FY_ERR_NOMEM;
		return;
	}
	for (i = 0; i < n; i++)
		c->ceil[i] = ceiling_of(c, c->cand[i]);
	if (!d->has_hosts) {
		/* Nothing to judge there (FY-HOST-000 above); a target named is said not checked. */
		if (c->opt.target_host != NULL)
			ADD(c, NM_HOST_000, -1, "target host", c->opt.target_host, "hosts not reported", NULL,
			    "The destination reports no hosts (a %s domain), so the target host %s is not "
			    "checked there.", d->type, c->opt.target_host);
		if (c->opt.target_cluster != NULL)
			ADD(c, NM_HOST_000, -1, "target cluster", c->opt.target_cluster, "clusters not reported",
			    NULL, "The destination reports no clusters (a %s domain), so the target cluster %s is "
			    "not checked there.", d->type, c->opt.target_cluster);
	} else if (c->opt.target_host != NULL && find_host(d, c->opt.target_host) == NULL)
		ADD(c, NM_HOST_005, -1, "target host", c->opt.target_host, "", NULL,
		    "The target host %s does not exist at the destination.", c->opt.target_host);
	else if (c->opt.target_cluster != NULL && find_cluster(d, c->opt.target_cluster) == NULL &&
	    !found_target)
		ADD(c, NM_HOST_005, -1, "target cluster", c->opt.target_cluster, "", NULL,
		    "The target cluster %s does not exist at the destination (or has no hosts).",
		    c->opt.target_cluster);
	else if (n == 0)
		ADD(c, NM_HOST_004, -1, "destination hosts", "", found_target ? "none usable" : "no hosts",
		    NULL, "No destination host%s can receive VMs: %s.",
		    c->opt.target_host || c->opt.target_cluster ? " of the target" : "",
		    d->nhosts == 0 ? "the destination has no hosts" : !found_target ? "the target has no hosts" :
		    "each is disconnected, not responding or in maintenance mode");

	for (i = 0; i < c->src->nvms; i++) {
		const struct netmap_vm *vm = &c->src->vms[i];
		h = find_host(c->src, vm->host);
		if (h != NULL && (h->connection == NETMAP_CONN_DISCONNECTED ||
		    h->connection == NETMAP_CONN_NOT_RESPONDING))
			ADD(c, NM_HOST_001, (int)i, h->name, conn_name(h->connection), "", NULL,
			    "%s runs on source host %s, which is %s; vCenter cannot move it.", vm->name, h->name,
			    conn_name(h->connection));
	}
}

/* ---- FY-SITE-*, FY-VER-* ---- */

static void
rule_site(struct ctx *c)
{
	if (strcmp(c->src->type, c->dst->type) != 0)
		ADD(c, NM_SITE_001, -1, "domain type", c->src->type, c->dst->type, NULL,
		    "The source is a %s domain and the destination a %s domain; Ferry moves VMs only "
		    "between domains of the same kind.", c->src->type, c->dst->type);
}

static void
vcenter_versions(struct ctx *c)
{
	const char *sv = c->src->vc_version, *dv = c->dst->vc_version;
	struct netmap_version s, d;
	int sok, dok;
	static const struct netmap_version six = { 6, 0, 0 };

	sok = netmap_matrix_parse_version(sv, &s, 1);
	dok = netmap_matrix_parse_version(dv, &d, 1);
	if ((sok && netmap_matrix_vcmp(&s, &six) < 0) || (dok && netmap_matrix_vcmp(&d, &six) < 0)) {
		int src_old = sok && netmap_matrix_vcmp(&s, &six) < 0;
		ADD(c, NM_VER_001, -1, "vCenter", sv, dv, NULL,
		    "The %s vCenter runs %s; cross-vCenter vMotion needs vCenter 6.0 or later at both ends.",
		    src_old ? "source" : "destination", src_old ? sv : dv);
		return;
	}
	if (!sok || !dok || netmap_matrix_release(&s) == NULL || netmap_matrix_release(&d) == NULL) {
		int sbad = !sok || netmap_matrix_release(&s) == NULL;
		ADD(c, NM_VER_003, -1, "vCenter", sv, dv, NULL,
		    "vCenter version \"%s\" (%s) is not in Ferry's matrix; this pair is not judged.",
		    sbad ? sv : dv, sbad ? "source" : "destination");
		return;
	}
	if (netmap_matrix_vcmp(&d, &s) < 0)
		ADD(c, NM_VER_002, -1, "vCenter", sv, dv, NULL,
		    "The destination vCenter (%s, %s) is older than the source's (%s, %s).", dv,
		    netmap_matrix_release(&d), sv, netmap_matrix_release(&s));
}

static void
qemu_versions(struct ctx *c)
{
	const char *sv = c->src->qemu_version, *dv = c->dst->qemu_version;
	struct netmap_version s, d;

	if (!netmap_matrix_parse_version(sv, &s, 0) || !netmap_matrix_parse_version(dv, &d, 0)) {
		int sbad = !netmap_matrix_parse_version(sv, &s, 0);
		ADD(c, NM_VER_003, -1, "QEMU", sv, dv, NULL,
		    "QEMU version \"%s\" (%s) cannot be read; the pair is not judged.", sbad ? sv : dv,
		    sbad ? "source" : "destination");
		return;
	}
	if (d.major < s.major)
		ADD(c, NM_VER_005, -1, "QEMU", sv, dv, NULL,
		    "QEMU %s at the destination is of an older major version than %s at the source; "
		    "it may not accept the migration stream.", dv, sv);
}

/* FY-VER-*: management server and host versions. */
static void
rule_versions(struct ctx *c)
{
	const struct netmap_facts *s = c->src, *d = c->dst;
	struct netmap_version vv, hv, ov;
	char dval[VAL_MAX];
	size_t i, k, older, known;
	const char *oldest;

	if (s->vc_version != NULL && d->vc_version != NULL)
		vcenter_versions(c);
	else if (s->qemu_version != NULL && d->qemu_version != NULL)
		qemu_versions(c);
	else
		ADD(c, NM_VER_000, -1, "management server", or_dash(s->vc_version ? s->vc_version : s->qemu_version),
		    or_dash(d->vc_version ? d->vc_version : d->qemu_version), NULL,
		    "A management server version (vCenter or QEMU) is not reported by both sites; "
		    "versions are not compared.");

	if (!s->has_hosts || !d->has_hosts) {
		ADD(c, NM_VER_000, -1, "host versions", s->has_hosts ? "reported" : "not reported",
		    d->has_hosts ? "reported" : "not reported", NULL,
		    "Host (ESXi) versions are not reported by both sites; they are not compared.");
		return;
	}
	for (i = 0; i < s->nvms; i++) {
		const struct netmap_host *h = find_host(s, s->vms[i].host);
		if (h == NULL || !netmap_matrix_parse_version(h->version, &vv, 1))
			continue;
		older = known = 0;
		oldest = NULL;
		for (k = 0; k < c->ncand; k++) {
			if (!netmap_matrix_parse_version(c->cand[k]->version, &hv, 1))
				continue;
			known++;
			if (netmap_matrix_vcmp(&hv, &vv) >= 0)
				continue;
			older++;
			if (oldest == NULL || netmap_matrix_vcmp(&hv, &ov) < 0) {
				oldest = c->cand[k]->version;
				ov = hv;
			}
		}
		if (older > 0) {
			snprintf(dval, sizeof(dval), "%zu of %zu hosts older (oldest %s)", older, known, oldest);
			ADD(c, NM_VER_004, (int)i, "ESXi", h->version, dval, NULL,
			    "%s runs on ESXi %s; %zu of the %zu usable destination hosts run an older ESXi "
			    "(the oldest %s).", s->vms[i].name, h->version, older, known, oldest);
		}
	}
}

/* ---- FY-HW-* ---- */

/* 1 runs it, 0 does not, -1 unknown; *max: the newest it runs (0 unknown). */
static int
host_runs_hw(const struct netmap_host *h, int hw, int *max)
{
	struct netmap_version v;
	size_t i;
	int found = 0;

	*max = 0;
	if (h->hw_versions != NULL) {
		for (i = 0; i < h->nhw_versions; i++) {
			if (h->hw_versions[i] > *max)
				*max = h->hw_versions[i];
			if (h->hw_versions[i] == hw)
				found = 1;
		}
		return found;
	}
	if (!netmap_matrix_parse_version(h->version, &v, 1) || (*max = netmap_matrix_hw_max(&v)) == 0)
		return -1;
	/*
	 * ESXi 6.7 Update 2 and later (build 13006603) run vmx-15 yet still
	 * report 6.7.0: the build tells; without one, vmx-15 is not judged.
	 */
	if (v.major == 6 && v.minor == 7 && hw == 15) {
		long long build = h->build != NULL ? strtoll(h->build, NULL, 10) : 0;
		if (build >= 13006603) {
			*max = 15;
			return 1;
		}
		if (build <= 0)
			return -1;
	}
	return hw <= *max;
}

static void
rule_hw(struct ctx *c)
{
	const struct netmap_facts *s = c->src;
	char sval[32], dval[VAL_MAX];
	size_t i, k, yes, no, unknown;
	int newest, m;

	for (i = 0; i < s->nvms; i++) {
		const struct netmap_vm *vm = &s->vms[i];
		if (vm->hw_version == NETMAP_UNSET) {
			ADD(c, NM_HW_000, (int)i, "hardware version", "not reported", "", NULL,
			    "%s has no VM hardware version in the facts (a %s domain); not checked.", vm->name, s->type);
			continue;
		}
		snprintf(sval, sizeof(sval), "vmx-%d", vm->hw_version);
		if (!c->dst->has_hosts) {
			ADD(c, NM_HW_000, (int)i, "hardware version", sval, "no hosts reported", NULL,
			    "The destination reports no hosts; %s's hardware version %s is not checked.", vm->name, sval);
			continue;
		}
		yes = no = unknown = 0;
		newest = 0;
		for (k = 0; k < c->ncand; k++) {
			switch (host_runs_hw(c->cand[k], vm->hw_version, &m)) {
			case 1:
				yes++;
				break;
			case 0:
				no++;
				break;
			default:
				unknown++;
			}
			if (m > newest)
				newest = m;
		}
		if (yes == 0 && no > 0 && unknown == 0) {
			snprintf(dval, sizeof(dval), "newest vmx-%d", newest);
			ADD(c, NM_HW_001, (int)i, "hardware version", sval, dval, NULL,
			    "%s has hardware version %s; no usable destination host runs it (the newest runs vmx-%d).",
			    vm->name, sval, newest);
		} else if (yes == 0 && unknown > 0) {
			snprintf(dval, sizeof(dval), "%zu host%s unknown", unknown, unknown == 1 ? "" : "s");
			ADD(c, NM_HW_003, (int)i, "hardware version", sval, dval, NULL,
			    "%s has hardware version %s; %zu destination host%s report%s neither its supported "
			    "hardware versions nor an ESXi version in Ferry's matrix.", vm->name, sval, unknown,
			    unknown == 1 ? "" : "s", unknown == 1 ? "s" : "");
		} else if (yes > 0 && no > 0) {
			snprintf(dval, sizeof(dval), "%zu of %zu hosts cannot", no, yes + no + unknown);
			ADD(c, NM_HW_002, (int)i, "hardware version", sval, dval, NULL,
			    "%s has hardware version %s; %zu of the %zu usable destination hosts cannot run it.",
			    vm->name, sval, no, yes + no + unknown);
		}
	}
}

/* ---- FY-CPU-* ---- */

static void
accel_check(struct ctx *c, size_t i)
{
	const struct netmap_vm *vm = &c->src->vms[i];
	char dval[VAL_MAX];
	size_t k, off = 0;

	if (vm->accel == NULL)
		return;
	if (!c->dst->has_accelerators) {
		ADD(c, NM_CPU_000, (int)i, "accelerator", vm->accel, "not reported", NULL,
		    "The destination does not report its accelerators; %s's accelerator %s is not checked.",
		    vm->name, vm->accel);
		return;
	}
	dval[0] = '\0';
	for (k = 0; k < c->dst->naccelerators; k++) {
		if (strcmp(c->dst->accelerators[k], vm->accel) == 0)
			return;
		if (off < sizeof(dval))
			off += (size_t)snprintf(dval + off, sizeof(dval) - off, "%s%s", k ? ", " : "",
			    c->dst->accelerators[k]);
	}
	ADD(c, NM_CPU_003, (int)i, "accelerator", vm->accel, dval[0] ? dval : "none", NULL,
	    "%s runs with the %s accelerator, which the destination does not offer.", vm->name, vm->accel);
}

static void
rule_cpu(struct ctx *c)
{
	const struct netmap_facts *s = c->src;
	const char *vendor, *ceil, *best;
	char dval[VAL_MAX];
	size_t i, k, yes, no, unknown;
	int rank, dead, brank;

	for (i = 0; i < s->nvms; i++) {
		const struct netmap_vm *vm = &s->vms[i];
		accel_check(c, i);
		if (!vm->has_min_evc) {
			ADD(c, NM_CPU_000, (int)i, "EVC mode", "not reported", "", NULL,
			    "%s has no EVC requirement in the facts (a %s domain); CPU compatibility is not "
			    "checked by EVC mode.", vm->name, s->type);
			continue;
		}
		if (vm->min_evc == NULL)
			continue;	/* no requirement (powered off, or no EVC baseline) */
		if (!netmap_matrix_evc(vm->min_evc, &vendor, &rank, &dead)) {
			ADD(c, NM_CPU_002, (int)i, "EVC mode", vm->min_evc, "", NULL,
			    "%s requires EVC mode %s, which Ferry does not know; not judged.", vm->name, vm->min_evc);
			continue;
		}
		if (!c->dst->has_hosts) {
			ADD(c, NM_CPU_000, (int)i, "EVC mode", vm->min_evc, "no hosts reported", NULL,
			    "The destination reports no hosts; %s's EVC mode %s is not checked.", vm->name,
			    vm->min_evc);
			continue;
		}
		yes = no = unknown = 0;
		best = NULL;
		brank = 0;
		for (k = 0; k < c->ncand; k++) {
			ceil = c->ceil[k];
			if (ceil == NULL || !netmap_matrix_evc(ceil, &vendor, &rank, &dead)) {
				unknown++;
				continue;
			}
			if (best == NULL || rank > brank) {
				best = ceil;
				brank = rank;
			}
			if (netmap_matrix_evc_fits(vm->min_evc, ceil))
				yes++;
			else
				no++;
		}
		if (yes == 0 && no > 0 && unknown == 0)
			ADD(c, NM_CPU_001, (int)i, "EVC mode", vm->min_evc, best, NULL,
			    "%s requires EVC mode %s; no usable destination host or cluster offers it "
			    "(the best is %s).", vm->name, vm->min_evc, best);
		else if (yes == 0 && unknown > 0)
			ADD(c, NM_CPU_002, (int)i, "EVC mode", vm->min_evc, "not reported", NULL,
			    "%s requires EVC mode %s; %zu destination host%s report%s no EVC mode Ferry knows.",
			    vm->name, vm->min_evc, unknown, unknown == 1 ? "" : "s", unknown == 1 ? "s" : "");
		else if (yes > 0 && no > 0) {
			snprintf(dval, sizeof(dval), "%zu of %zu hosts cannot", no, yes + no + unknown);
			ADD(c, NM_CPU_004, (int)i, "EVC mode", vm->min_evc, dval, NULL,
			    "%s requires EVC mode %s; %zu of the %zu usable destination hosts cannot offer it.",
			    vm->name, vm->min_evc, no, yes + no + unknown);
		}
	}
}

/* ---- FY-PWR-*, FY-ENC-* ---- */

static void
rule_power(struct ctx *c)
{
	size_t i;

	for (i = 0; i < c->src->nvms; i++) {
		const struct netmap_vm *vm = &c->src->vms[i];
		switch (vm->power) {
		case NETMAP_POWER_ABSENT:
			ADD(c, NM_PWR_000, (int)i, "power state", "not reported", "", NULL,
			    "%s's power state is not reported; not checked.", vm->name);
			break;
		case NETMAP_POWER_ON:
			break;
		case NETMAP_POWER_OFF:
			ADD(c, NM_PWR_002, (int)i, "power state", vm->power_state, "", NULL,
			    "%s is powered off; it moves cold, without a live migration.", vm->name);
			break;
		case NETMAP_POWER_SUSPENDED:
		case NETMAP_POWER_PAUSED:
			ADD(c, NM_PWR_003, (int)i, "power state", vm->power_state, "", NULL,
			    "%s is %s; it arrives %s at the destination.", vm->name, vm->power_state, vm->power_state);
			break;
		default:
			ADD(c, NM_PWR_001, (int)i, "power state", vm->power_state, "", NULL,
			    "%s is %s, a state from which it cannot be moved.", vm->name, vm->power_state);
		}
	}
}

/*
 * ---- FY-IMG-*: a qemu VM's read-only boot image must be at the same path
 * at the destination, with the same content (Prepare checks its SHA-256).
 */
static void
rule_boot(struct ctx *c)
{
	size_t i, k;

	for (i = 0; i < c->src->nvms; i++) {
		const struct netmap_vm *vm = &c->src->vms[i];
		const struct netmap_image *im = NULL;

		if (vm->boot_path == NULL)
			continue;
		if (!c->dst->has_boot_images) {
			ADD(c, NM_IMG_000, (int)i, "boot image", vm->boot_path, "not reported", NULL,
			    "The destination did not report whether it has %s's boot image %s; not checked.",
			    vm->name, vm->boot_path);
			continue;
		}
		for (k = 0; k < c->dst->nboot_images && im == NULL; k++)
			if (strcmp(c->dst->boot_images[k].path, vm->boot_path) == 0)
				im = &c->dst->boot_images[k];
		if (im == NULL || im->error != NULL || im->same == NETMAP_TRI_ABSENT) {
			ADD(c, NM_IMG_001, (int)i, "boot image", vm->boot_path,
			    im != NULL && im->error != NULL ? im->error : "missing", NULL,
			    "%s boots from %s, which the destination does not have (%s).", vm->name, vm->boot_path,
			    im != NULL && im->error != NULL ? im->error : "not reported there");
			continue;
		}
		if (im->same == NETMAP_TRI_NO)
			ADD(c, NM_IMG_002, (int)i, "boot image", vm->boot_sha256 != NULL ? vm->boot_sha256 : vm->boot_path,
			    "other content", NULL, "%s's boot image %s has other content at the destination than "
			    "here (SHA-256 %.16s...).", vm->name, vm->boot_path, vm->boot_sha256 != NULL ?
			    vm->boot_sha256 : "?");
	}
}

/* Add k's provider to the list of n unique names (cap entries). */
static void
add_provider(const char **list, size_t *n, size_t cap, const struct netmap_key *k)
{
	const char *p = k->provider != NULL ? k->provider : "(unnamed)";
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(list[i], p) == 0)
			return;
	if (*n < cap)
		list[(*n)++] = p;
}

static void
rule_encryption(struct ctx *c)
{
	const char *provs[NETMAP_DISKS_MAX + 1];
	char prov[VAL_MAX], what[VAL_MAX];
	size_t i, k, ndisks, np, off;

	for (i = 0; i < c->src->nvms; i++) {
		const struct netmap_vm *vm = &c->src->vms[i];
		np = ndisks = 0;
		if (vm->encryption != NULL)
			add_provider(provs, &np, sizeof(provs) / sizeof(provs[0]), vm->encryption);
		for (k = 0; k < vm->ndisks; k++)
			if (vm->disks[k].encryption != NULL) {
				add_provider(provs, &np, sizeof(provs) / sizeof(provs[0]), vm->disks[k].encryption);
				ndisks++;
			}
		if (np == 0) {
			if (!vm->has_encryption)
				ADD(c, NM_ENC_000, (int)i, "encryption", "not reported", "", NULL,
				    "%s's encryption is not reported (a %s domain); not checked.", vm->name,
				    c->src->type);
			continue;
		}
		prov[0] = '\0';
		for (k = off = 0; k < np && off < sizeof(prov); k++)
			off += (size_t)snprintf(prov + off, sizeof(prov) - off, "%s%s", k ? ", " : "", provs[k]);
		if (vm->encryption != NULL && ndisks > 0)
			snprintf(what, sizeof(what), "%s and %zu of its disks are", vm->name, ndisks);
		else if (vm->encryption != NULL)
			snprintf(what, sizeof(what), "%s is", vm->name);
		else
			snprintf(what, sizeof(what), "%zu disk%s of %s %s", ndisks, ndisks == 1 ? "" : "s", vm->name,
			    ndisks == 1 ? "is" : "are");
		ADD(c, NM_ENC_001, (int)i, "encryption", prov, "", NULL,
		    "%s encrypted with keys from key provider %s; Ferry refuses encrypted VMs.", what, prov);
	}
}

/* ---- FY-DUP-* ---- */

static struct idx *
index_vms(struct ctx *c, const struct netmap_facts *f, int which, size_t *n)
{
	struct idx *ix;
	size_t i;
	const char *k;

	*n = 0;
	if ((ix = netmap_arena_array(c->a, f->nvms + 1, sizeof(*ix))) == NULL) {
		c->rc = FY_ERR_NOMEM;
		return NULL;
	}
	for (i = 0; i < f->nvms; i++) {
		k = which == 0 ? f->vms[i].name : which == 1 ? f->vms[i].instance_uuid : f->vms[i].bios_uuid;
		if (k == NULL)
			continue;
		ix[*n].key = k;
		ix[*n].at = i;
		(*n)++;
	}
	qsort(ix, *n, sizeof(*ix), which == 0 ? cmp_idx_exact : cmp_idx);
	return ix;
}

static void
rule_conflicts(struct ctx *c)
{
	const struct netmap_facts *s = c->src, *d = c->dst;
	struct idx *names, *iu, *bu, *sn;
	const struct idx *hit;
	size_t nn, niu, nbu, nsn, i;

	if (!d->has_vms) {
		ADD(c, NM_DUP_000, -1, "destination VMs", "", "not reported", NULL,
		    "The destination did not report its VMs; name, UUID and MAC conflicts are not checked.");
	} else if ((names = index_vms(c, d, 0, &nn)) != NULL && (iu = index_vms(c, d, 1, &niu)) != NULL &&
	    (bu = index_vms(c, d, 2, &nbu)) != NULL) {
		for (i = 0; i < s->nvms; i++) {
			const struct netmap_vm *vm = &s->vms[i];
			if ((hit = idx_find(names, nn, vm->name, 1)) != NULL)
				ADD(c, NM_DUP_001, (int)i, "name", vm->name, d->vms[hit->at].name, NULL,
				    "A VM named %s already exists at the destination%s%s%s.", vm->name,
				    d->vms[hit->at].instance_uuid ? " (instance UUID " : "",
				    d->vms[hit->at].instance_uuid ? d->vms[hit->at].instance_uuid : "",
				    d->vms[hit->at].instance_uuid ? ")" : "");
			if (vm->instance_uuid != NULL && (hit = idx_find(iu, niu, vm->instance_uuid, 0)) != NULL)
				ADD(c, NM_DUP_002, (int)i, "instance UUID", vm->instance_uuid,
				    d->vms[hit->at].instance_uuid, NULL,
				    "The destination already has a VM with %s's instance UUID %s (named %s there).",
				    vm->name, vm->instance_uuid, d->vms[hit->at].name);
			if (vm->bios_uuid != NULL && (hit = idx_find(bu, nbu, vm->bios_uuid, 0)) != NULL)
				ADD(c, NM_DUP_003, (int)i, "BIOS UUID", vm->bios_uuid, d->vms[hit->at].bios_uuid, NULL,
				    "The destination already has a VM with %s's BIOS UUID %s (named %s there).",
				    vm->name, vm->bios_uuid, d->vms[hit->at].name);
		}
	}
	/* Two VMs of this request with one name would collide at the destination. */
	if ((sn = index_vms(c, s, 0, &nsn)) == NULL)
		return;
	for (i = 1; i < nsn; i++)
		if (strcmp(sn[i].key, sn[i - 1].key) == 0)
			ADD(c, NM_DUP_004, (int)sn[i].at, "name", sn[i].key, "", NULL,
			    "Another VM of this pre-flight (number %zu) is also named %s.", sn[i - 1].at + 1, sn[i].key);
}

/* ---- FY-NET-* ---- */

static void
rule_networks(struct ctx *c)
{
	const struct netmap_facts *s = c->src, *d = c->dst;
	const struct netmap_network *dn, *sn;
	struct idx *macs = NULL, *smacs = NULL;
	const struct idx *hit;
	const char *mapped, *target;
	char nb[NETMAP_NAME_MAX + 16], sval[VAL_MAX], dval[VAL_MAX];
	enum netmap_kind sk, dk;
	size_t i, k, count, nmacs = 0, nsmacs = 0, total = 0;
	int kind_unknown;

	/* The MACs in use at the destination, for the keep policy. */
	if (c->opt.mac == NETMAP_MAC_KEEP && d->has_vms) {
		for (i = 0; i < d->nvms; i++)
			total += d->vms[i].nnics;
		if ((macs = netmap_arena_array(c->a, total + 1, sizeof(*macs))) == NULL) {
			c->rc = FY_ERR_NOMEM;
			return;
		}
		for (i = 0; i < d->nvms; i++)
			for (k = 0; k < d->vms[i].nnics; k++)
				if (d->vms[i].nics[k].mac != NULL) {
					macs[nmacs].key = d->vms[i].nics[k].mac;
					macs[nmacs++].at = i;
				}
		qsort(macs, nmacs, sizeof(*macs), cmp_idx);
	}
	if (c->opt.mac == NETMAP_MAC_KEEP) {
		for (i = total = 0; i < s->nvms; i++)
			total += s->vms[i].nnics;
		if ((smacs = netmap_arena_array(c->a, total + 1, sizeof(*smacs))) == NULL) {
			c->rc = FY_ERR_NOMEM;
			return;
		}
		for (i = 0; i < s->nvms; i++)
			for (k = 0; k < s->vms[i].nnics; k++)
				if (s->vms[i].nics[k].mac != NULL) {
					smacs[nsmacs].key = s->vms[i].nics[k].mac;
					smacs[nsmacs++].at = i;
				}
		qsort(smacs, nsmacs, sizeof(*smacs), cmp_idx);
	}
	if ((c->snet = index_names(c, s->networks, s->nnetworks, sizeof(*s->networks),
	    offsetof(struct netmap_network, name))) == NULL ||
	    (c->dnet = index_names(c, d->networks, d->nnetworks, sizeof(*d->networks),
	    offsetof(struct netmap_network, name))) == NULL)
		return;

	for (i = 0; i < s->nvms; i++) {
		const struct netmap_vm *vm = &s->vms[i];
		if (vm->nnics == 0)
			continue;
		if (!d->has_networks) {
			ADD(c, NM_NET_000, (int)i, "networks", "", "not reported", NULL,
			    "The destination does not report its networks; %s's NICs are not checked.", vm->name);
			continue;
		}
		kind_unknown = 0;
		for (k = 0; k < vm->nnics; k++) {
			const struct netmap_nic *nic = &vm->nics[k];
			nic_name(nic, k, nb, sizeof(nb));
			if (macs != NULL && nic->mac != NULL && (hit = idx_find(macs, nmacs, nic->mac, 0)) != NULL)
				ADD(c, NM_NET_006, (int)i, nb, nic->mac, d->vms[hit->at].name, NULL,
				    "%s of %s keeps MAC %s, which VM %s already uses at the destination.", nb, vm->name,
				    nic->mac, d->vms[hit->at].name);
			/* The same MAC twice in this request: the first VM that has it is the other. */
			if (smacs != NULL && nic->mac != NULL && (hit = idx_find(smacs, nsmacs, nic->mac, 0)) != NULL &&
			    hit->at < i)
				ADD(c, NM_NET_006, (int)i, nb, nic->mac, s->vms[hit->at].name, NULL,
				    "%s of %s keeps MAC %s, which %s of this pre-flight also has.", nb, vm->name,
				    nic->mac, s->vms[hit->at].name);
			mapped = map_lookup(c->nmap, c->nmap_used, nic->network);
			target = mapped != NULL ? mapped : nic->network;
			if ((dn = find_network(d, c->dnet, target, &count)) == NULL) {
				if (mapped != NULL) {
					snprintf(sval, sizeof(sval), "%s -> %s", nic->network, mapped);
					ADD(c, NM_NET_002, (int)i, nb, sval, "missing", NULL,
					    "%s of %s is mapped from %s to %s, which the destination does not have.",
					    nb, vm->name, nic->network, mapped);
				} else
					ADD(c, NM_NET_001, (int)i, nb, nic->network, "missing", NULL,
					    "%s of %s is on %s, which the destination does not have and no network "
					    "map names.", nb, vm->name, nic->network);
				continue;
			}
			if (count > 1) {
				snprintf(dval, sizeof(dval), "%zu networks", count);
				ADD(c, NM_NET_004, (int)i, nb, target, dval, NULL,
				    "%s of %s would join %s, a name %zu destination networks share; which one it "
				    "gets is not defined.", nb, vm->name, target, count);
			}
			sn = find_network(s, c->snet, nic->network, NULL);
			sk = nic->kind != NETMAP_KIND_ABSENT ? nic->kind : sn != NULL ? sn->kind : NETMAP_KIND_ABSENT;
			dk = dn->kind;
			if (sk == NETMAP_KIND_ABSENT || dk == NETMAP_KIND_ABSENT)
				kind_unknown = 1;
			else if ((sk == NETMAP_KIND_DISTRIBUTED && dk == NETMAP_KIND_STANDARD) ||
			    (sk == NETMAP_KIND_STANDARD && dk == NETMAP_KIND_DISTRIBUTED)) {
				snprintf(sval, sizeof(sval), "%s (%s)", nic->network, kind_name(sk));
				snprintf(dval, sizeof(dval), "%s (%s)", target, kind_name(dk));
				ADD(c, NM_NET_003, (int)i, nb, sval, dval, NULL,
				    "%s of %s moves from a %s switch (%s) to a %s switch (%s); security, teaming "
				    "and traffic shaping policies differ between them.", nb, vm->name, kind_name(sk),
				    nic->network, kind_name(dk), target);
			}
			if (sn != NULL && sn->vlan != NETMAP_UNSET && dn->vlan != NETMAP_UNSET && sn->vlan != dn->vlan) {
				char sv[24], dv[24];
				vlan_name(sv, sizeof(sv), sn->vlan);
				vlan_name(dv, sizeof(dv), dn->vlan);
				snprintf(sval, sizeof(sval), "%s (%s)", nic->network, sv);
				snprintf(dval, sizeof(dval), "%s (%s)", target, dv);
				ADD(c, NM_NET_005, (int)i, nb, sval, dval, NULL,
				    "%s of %s moves from %s to %s, another broadcast domain; the guest's "
				    "addresses may not work there.", nb, vm->name, sv, dv);
			}
		}
		if (kind_unknown)
			ADD(c, NM_NET_000, (int)i, "switch type", "", "", NULL,
			    "The switch type (standard or distributed) of some of %s's networks is not reported; "
			    "a change between them is not checked.", vm->name);
		if (c->opt.mac == NETMAP_MAC_GENERATE)
			ADD(c, NM_NET_007, (int)i, "MAC addresses", "keep", "generate", NULL,
			    "%s's %zu NIC%s get new MAC addresses at the destination.", vm->name, vm->nnics,
			    vm->nnics == 1 ? "" : "s");
	}
}

/* FY-NET-008, FY-DS-004: map entries nothing used (typos). */
static void
rule_unused_maps(struct ctx *c)
{
	const char *s, *d;
	char val[2 * NETMAP_NAME_MAX + 8];
	size_t i;

	for (i = 0; i < netmap_map_count(c->nmap); i++)
		if (!c->nmap_used[i] && netmap_map_entry(c->nmap, i, &s, &d) == 0) {
			snprintf(val, sizeof(val), "%s=%s", s, d);
			ADD(c, NM_NET_008, -1, "network map", val, "", NULL,
			    "The network map entry %s=%s matches no NIC of the VMs checked.", s, d);
		}
	for (i = 0; i < netmap_map_count(c->dmap); i++)
		if (!c->dmap_used[i] && netmap_map_entry(c->dmap, i, &s, &d) == 0) {
			snprintf(val, sizeof(val), "%s=%s", s, d);
			ADD(c, NM_DS_004, -1, "datastore map", val, "", NULL,
			    "The datastore map entry %s=%s matches no disk of the VMs checked.", s, d);
		}
}

/* ---- FY-DNS-* ---- */

struct dnsname {
	const char *name, *role;
};

static void
dns_side(struct ctx *c, const struct netmap_facts *f, const char *side, const struct dnsname *names, size_t n)
{
	const struct netmap_dns *o;
	char val[VAL_MAX], who[32];
	size_t i, k;

	if (!f->has_dns) {
		snprintf(val, sizeof(val), "no lookups (%zu name%s)", n, n == 1 ? "" : "s");
		snprintf(who, sizeof(who), "%s gateway", side);
		ADD(c, NM_DNS_004, -1, "DNS", who, val, NULL,
		    "The %s gateway reported no DNS lookups; %zu name%s %s not checked from there.", side, n,
		    n == 1 ? "" : "s", n == 1 ? "is" : "are");
		return;
	}
	for (i = 0; i < n; i++) {
		if ((o = find_dns(f, names[i].name)) == NULL) {
			ADD(c, NM_DNS_004, -1, names[i].name, names[i].name, "not looked up", NULL,
			    "The %s gateway did not report a lookup of %s (%s).", side, names[i].name, names[i].role);
			continue;
		}
		if (o->nforward == 0) {
			ADD(c, NM_DNS_001, -1, names[i].name, names[i].name, o->error ? o->error : "no address", NULL,
			    "From the %s gateway, %s (%s) does not resolve%s%s.", side, names[i].name, names[i].role,
			    o->error ? ": " : "", o->error ? o->error : "");
			continue;
		}
		if (o->nreverse == 0) {
			ADD(c, NM_DNS_002, -1, names[i].name, o->forward[0], o->error ? o->error : "no name", NULL,
			    "From the %s gateway, %s (%s, address %s) has no reverse (PTR) name.", side, names[i].name,
			    names[i].role, o->forward[0]);
			continue;
		}
		for (k = 0; k < o->nreverse; k++)
			if (same_dns(o->reverse[k], names[i].name))
				break;
		if (k == o->nreverse)
			ADD(c, NM_DNS_003, -1, names[i].name, names[i].name, o->reverse[0], NULL,
			    "From the %s gateway, %s (%s) resolves back to %s, not to itself.", side, names[i].name,
			    names[i].role, o->reverse[0]);
	}
}

static void
rule_dns(struct ctx *c)
{
	struct dnsname *names;
	size_t n = 0, i;

	if ((names = netmap_arena_array(c->a, c->ncand + 2, sizeof(*names))) == NULL) {
		c->rc = FY_ERR_NOMEM;
		return;
	}
	if (c->src->vc_name != NULL)
		names[n++] = (struct dnsname){ c->src->vc_name, "the source vCenter" };
	if (c->dst->vc_name != NULL && (n == 0 || !same_dns(c->dst->vc_name, c->src->vc_name)))
		names[n++] = (struct dnsname){ c->dst->vc_name, "the destination vCenter" };
	for (i = 0; i < c->ncand; i++)
		names[n++] = (struct dnsname){ c->cand[i]->name, "a destination host" };
	if (n == 0) {
		ADD(c, NM_DNS_000, -1, "DNS", "", "", NULL,
		    "Neither site names a management server or destination hosts (%s to %s); DNS is not checked.",
		    c->src->type, c->dst->type);
		return;
	}
	dns_side(c, c->src, "source", names, n);
	dns_side(c, c->dst, "destination", names, n);
}

/* ---- FY-DS-* ---- */

struct need {
	const char *src;		/* source datastore */
	long dst;			/* destination datastore index */
	int64_t bytes;			/* NETMAP_UNSET: unknown */
};

static void
rule_datastores(struct ctx *c)
{
	const struct netmap_facts *s = c->src, *d = c->dst;
	struct need *nd;
	int64_t *used, margin, need, have;
	size_t *nvms_on, i, k, j, n;
	int fits;
	const char *mapped, *target;
	char sval[VAL_MAX], dval[VAL_MAX], b1[32], b2[32], b3[32], b4[32];
	long di;

	used = netmap_arena_array(c->a, d->ndatastores + 1, sizeof(*used));
	nvms_on = netmap_arena_array(c->a, d->ndatastores + 1, sizeof(*nvms_on));
	nd = netmap_arena_array(c->a, 2 * NETMAP_DISKS_MAX, sizeof(*nd));
	if (used == NULL || nvms_on == NULL || nd == NULL) {
		c->rc = FY_ERR_NOMEM;
		return;
	}
	if ((c->dds = index_names(c, d->datastores, d->ndatastores, sizeof(*d->datastores),
	    offsetof(struct netmap_datastore, name))) == NULL)
		return;
	for (i = 0; i < s->nvms; i++) {
		const struct netmap_vm *vm = &s->vms[i];
		/* What the VM needs on each of its source datastores. */
		n = 0;
		for (k = 0; k < vm->nstorage; k++) {
			nd[n].src = vm->storage[k].datastore;
			nd[n++].bytes = sat_add(vm->storage[k].committed_bytes, vm->storage[k].uncommitted_bytes);
		}
		for (k = 0; k < vm->ndisks; k++) {
			for (j = 0; j < n && strcmp(nd[j].src, vm->disks[k].datastore) != 0; j++)
				;
			if (j < n) {
				if (!vm->has_storage && nd[j].bytes != NETMAP_UNSET)
					nd[j].bytes = vm->disks[k].capacity_bytes == NETMAP_UNSET ? NETMAP_UNSET :
					    sat_add(nd[j].bytes, vm->disks[k].capacity_bytes);
				continue;
			}
			nd[n].src = vm->disks[k].datastore;
			nd[n++].bytes = vm->has_storage ? 0 : vm->disks[k].capacity_bytes;
		}
		if (n == 0) {
			if (!vm->has_storage)
				ADD(c, NM_DS_000, (int)i, "storage", "not reported", "", NULL,
				    "%s reports neither storage use nor disks; datastores are not checked.", vm->name);
			continue;
		}
		if (!d->has_datastores) {
			ADD(c, NM_DS_000, (int)i, "datastores", "", "not reported", NULL,
			    "The destination does not report its datastores; %s's storage is not checked.", vm->name);
			continue;
		}
		/* Map each to a destination datastore. */
		for (k = 0; k < n; k++) {
			mapped = map_lookup(c->dmap, c->dmap_used, nd[k].src);
			target = mapped != NULL ? mapped : nd[k].src;
			nd[k].dst = -1;
			if ((di = find_ds(c, target)) < 0) {
				if (mapped != NULL) {
					snprintf(sval, sizeof(sval), "%s -> %s", nd[k].src, mapped);
					ADD(c, NM_DS_002, (int)i, nd[k].src, sval, "missing", NULL,
					    "%s's storage on %s is mapped to %s, which the destination does not have.",
					    vm->name, nd[k].src, mapped);
				} else
					ADD(c, NM_DS_001, (int)i, nd[k].src, nd[k].src, "missing", NULL,
					    "%s has storage on %s, which the destination does not have and no datastore "
					    "map names.", vm->name, nd[k].src);
				continue;
			}
			if (d->datastores[di].error != NULL) {
				ADD(c, NM_DS_005, (int)i, target, nd[k].src, d->datastores[di].error, NULL,
				    "The destination could not measure datastore %s: %s.", target,
				    d->datastores[di].error);
				continue;
			}
			if (nd[k].bytes == NETMAP_UNSET || d->datastores[di].free_bytes == NETMAP_UNSET) {
				ADD(c, NM_DS_000, (int)i, target, nd[k].bytes == NETMAP_UNSET ? "not reported" : "",
				    d->datastores[di].free_bytes == NETMAP_UNSET ? "not reported" : "", NULL,
				    "The size of %s's storage on %s or the free space of %s is not reported; "
				    "space is not checked.", vm->name, nd[k].src, target);
				continue;
			}
			nd[k].dst = di;
		}
		/* Sum per destination datastore (two sources may map to one). */
		for (k = 0; k < n; k++) {
			if (nd[k].dst < 0)
				continue;
			for (j = k + 1; j < n; j++)
				if (nd[j].dst == nd[k].dst) {
					nd[k].bytes = sat_add(nd[k].bytes, nd[j].bytes);
					nd[j].dst = -1;
				}
		}
		/*
		 * The VM takes its space only where it fits everywhere: a VM that
		 * is refused is not counted against the VMs after it.
		 */
		fits = 1;
		for (k = 0; k < n; k++) {
			if (nd[k].dst < 0)
				continue;
			di = nd[k].dst;
			need = nd[k].bytes;
			have = d->datastores[di].free_bytes;
			margin = c->opt.margin_bytes;
			if (d->datastores[di].capacity_bytes > 0)
				margin = sat_add(margin, d->datastores[di].capacity_bytes / 100 * c->opt.margin_pct);
			if (sat_add(sat_add(used[di], need), margin) <= have)
				continue;
			fits = 0;
			netmap_fmt_bytes(b1, sizeof(b1), need);
			netmap_fmt_bytes(b2, sizeof(b2), used[di]);
			netmap_fmt_bytes(b3, sizeof(b3), margin);
			netmap_fmt_bytes(b4, sizeof(b4), have);
			if (nvms_on[di] > 0)
				snprintf(sval, sizeof(sval), "%s + %s for %zu VM%s before it + %s margin", b1, b2,
				    nvms_on[di], nvms_on[di] == 1 ? "" : "s", b3);
			else
				snprintf(sval, sizeof(sval), "%s + %s margin", b1, b3);
			snprintf(dval, sizeof(dval), "%s free on %s", b4, d->datastores[di].name);
			ADD(c, NM_DS_003, (int)i, d->datastores[di].name, sval, dval, NULL,
			    "%s needs %s on destination datastore %s (committed and uncommitted)%s%s%s, with a "
			    "margin of %s, but it has %s free.", vm->name, b1, d->datastores[di].name,
			    nvms_on[di] > 0 ? ", after " : "", nvms_on[di] > 0 ? b2 : "",
			    nvms_on[di] > 0 ? " for the VMs before it" : "", b3, b4);
		}
		for (k = 0; fits && k < n; k++) {
			if (nd[k].dst < 0)
				continue;
			used[nd[k].dst] = sat_add(used[nd[k].dst], nd[k].bytes);
			nvms_on[nd[k].dst]++;
		}
	}
}

/* ---- FY-LINK-* ---- */

static int64_t
vm_disk_bytes(const struct netmap_vm *vm, int *known)
{
	int64_t b = 0;
	size_t k;

	*known = 1;
	if (vm->has_storage) {
		for (k = 0; k < vm->nstorage; k++)
			b = sat_add(b, vm->storage[k].committed_bytes);
		return b;
	}
	for (k = 0; k < vm->ndisks; k++) {
		if (vm->disks[k].capacity_bytes == NETMAP_UNSET) {
			*known = 0;
			return 0;
		}
		b = sat_add(b, vm->disks[k].capacity_bytes);
	}
	if (vm->ndisks == 0)
		*known = 0;
	return b;
}

static void
rule_link(struct ctx *c)
{
	const struct netmap_link *l = c->link;
	const struct netmap_facts *s = c->src;
	char sval[VAL_MAX], dval[VAL_MAX], rate[32], eta[48], bm[32], bd[32];
	int64_t mem, disk, bytes, total = 0;
	size_t i;
	int known;

	if (l == NULL || (l->rtt_ms < 0 && l->goodput_bps < 0)) {
		ADD(c, NM_LINK_000, -1, "link", "", "not measured", NULL,
		    "The link between the gateways was not measured; transfer times are not estimated.");
		return;
	}
	if (l->rtt_ms > c->opt.rtt_max_ms) {
		snprintf(sval, sizeof(sval), "%.1f ms", l->rtt_ms);
		snprintf(dval, sizeof(dval), "limit %.0f ms", c->opt.rtt_max_ms);
		ADD(c, NM_LINK_001, -1, "round trip", sval, dval, NULL,
		    "The round trip between the gateways is %.1f ms, above the %.0f ms that vMotion supports.",
		    l->rtt_ms, c->opt.rtt_max_ms);
	}
	if (l->loss_pct > c->opt.loss_max_pct) {
		snprintf(sval, sizeof(sval), "%.2f %%", l->loss_pct);
		snprintf(dval, sizeof(dval), "limit %.2f %%", c->opt.loss_max_pct);
		ADD(c, NM_LINK_004, -1, "loss", sval, dval, NULL,
		    "The link lost (or resent) %.2f %% of its segments, above the %.2f %% limit.", l->loss_pct,
		    c->opt.loss_max_pct);
	}
	if (l->goodput_bps < 0) {
		ADD(c, NM_LINK_000, -1, "goodput", "", "not measured", NULL,
		    "The link's goodput was not measured; transfer times are not estimated.");
		return;
	}
	if (l->goodput_bps < 1) {
		ADD(c, NM_LINK_003, -1, "goodput", "", "0 bit/s", NULL,
		    "The link test carried no data between the gateways.");
		return;
	}
	if (l->loss_pct < 0)
		ADD(c, NM_LINK_007, -1, "loss", "", "not measured", NULL,
		    "The link test carried data but did not measure the loss (its probe failed); packet loss is "
		    "not checked.");
	fmt_rate(rate, sizeof(rate), l->goodput_bps);
	for (i = 0; i < s->nvms; i++) {
		const struct netmap_vm *vm = &s->vms[i];
		mem = vm->memory_mib == NETMAP_UNSET ? NETMAP_UNSET : vm->memory_mib * 1024 * 1024;
		disk = vm_disk_bytes(vm, &known);
		if (vm->power == NETMAP_POWER_OFF && known) {
			/* A cold move copies the disks only. */
			total = sat_add(total, disk);
			netmap_fmt_duration(eta, sizeof(eta), (double)disk * 8 / l->goodput_bps);
			netmap_fmt_bytes(bd, sizeof(bd), disk);
			snprintf(sval, sizeof(sval), "%s disks (powered off)", bd);
			ADD(c, NM_LINK_002, (int)i, "transfer", sval, rate, NULL,
			    "%s: about %s to copy %s at %s (powered off: no memory to copy).", vm->name, eta, sval,
			    rate);
			continue;
		}
		if (mem == NETMAP_UNSET) {
			ADD(c, NM_LINK_000, (int)i, "memory", "not reported", rate, NULL,
			    "%s's memory size is not reported; its transfer time is not estimated.", vm->name);
			continue;
		}
		bytes = sat_add(mem, known ? disk : 0);
		total = sat_add(total, bytes);
		netmap_fmt_duration(eta, sizeof(eta), (double)bytes * 8 / l->goodput_bps);
		netmap_fmt_bytes(bm, sizeof(bm), mem);
		netmap_fmt_bytes(bd, sizeof(bd), disk);
		if (known && disk > 0)
			snprintf(sval, sizeof(sval), "%s memory + %s disks", bm, bd);
		else
			snprintf(sval, sizeof(sval), "%s memory", bm);
		ADD(c, NM_LINK_002, (int)i, "transfer", sval, rate, NULL,
		    "%s: about %s to copy %s at %s (one pass, at the measured goodput).", vm->name, eta, sval, rate);
		if (vm->dirty_bytes_per_s != NETMAP_UNSET && (double)vm->dirty_bytes_per_s * 8 >= l->goodput_bps) {
			fmt_rate(dval, sizeof(dval), (double)vm->dirty_bytes_per_s * 8);
			ADD(c, NM_LINK_005, (int)i, "dirty rate", dval, rate, NULL,
			    "%s dirties memory at %s, as fast as the link copies it (%s); the copy may not converge "
			    "without throttling the guest.", vm->name, dval, rate);
		}
	}
	if (s->nvms > 0) {
		netmap_fmt_duration(eta, sizeof(eta), (double)total * 8 / l->goodput_bps);
		netmap_fmt_bytes(bm, sizeof(bm), total);
		ADD(c, NM_LINK_006, -1, "transfer", bm, rate, NULL,
		    "Altogether, %zu VM%s: about %s to copy %s at %s, one after the other.", s->nvms,
		    s->nvms == 1 ? "" : "s", eta, bm, rate);
	}
}

/* ---- FY-VC-* ---- */

static void
rule_vcenter_checks(struct ctx *c)
{
	size_t i, k;

	for (i = 0; i < c->src->nvms; i++) {
		const struct netmap_vm *vm = &c->src->vms[i];
		if (!vm->has_checks) {
			ADD(c, NM_VC_000, (int)i, "vCenter checks", "", "", NULL,
			    "No vCenter checker results for %s (a %s domain, or not run).", vm->name, c->src->type);
			continue;
		}
		if (!vm->checks.offered) {
			ADD(c, NM_VC_003, (int)i, "vCenter checks", "not offered", "", NULL,
			    "The vCenter does not offer CheckRelocate or QueryVMotionCompatibilityEx for %s; "
			    "only Ferry's checks ran.", vm->name);
			continue;
		}
		for (k = 0; k < vm->checks.nerrors; k++)
			ADD(c, NM_VC_001, (int)i, "vCenter check", "error", "", NULL, "vCenter: %s",
			    vm->checks.errors[k]);
		for (k = 0; k < vm->checks.nwarnings; k++)
			ADD(c, NM_VC_002, (int)i, "vCenter check", "warning", "", NULL, "vCenter: %s",
			    vm->checks.warnings[k]);
	}
}

/* ---- the entry point ---- */

int
netmap_check(const struct netmap_input *in, struct netmap_report **out, char *err, size_t errcap)
{
	struct ctx c;
	int rc;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if (in == NULL || in->src == NULL || in->dst == NULL)
		return netmap_fail(err, errcap, FY_ERR_INVAL, "preflight: both the source and the destination "
		    "facts are needed");
	if (in->opt != NULL)
		c.opt = *in->opt;
	else
		netmap_options_init(&c.opt);
	if (c.opt.margin_pct < 0 || c.opt.margin_pct > 100)
		return netmap_fail(err, errcap, FY_ERR_INVAL, "datastore margin: %d %% is out of range (0 to 100)",
		    c.opt.margin_pct);
	if (c.opt.margin_bytes < 0)
		return netmap_fail(err, errcap, FY_ERR_INVAL, "datastore margin: negative");
	if (!(c.opt.rtt_max_ms > 0) || !(c.opt.loss_max_pct >= 0))
		return netmap_fail(err, errcap, FY_ERR_INVAL, "link limits: the RTT limit must be positive and "
		    "the loss limit not negative");
	if ((in->networks != NULL && netmap_map_kind(in->networks) != NETMAP_MAP_NETWORK) ||
	    (in->datastores != NULL && netmap_map_kind(in->datastores) != NETMAP_MAP_DATASTORE))
		return netmap_fail(err, errcap, FY_ERR_INVAL, "preflight: a network map given as a datastore map "
		    "or the other way round");
	c.src = in->src;
	c.dst = in->dst;
	c.link = in->link;
	c.nmap = in->networks;
	c.dmap = in->datastores;
	if ((c.a = netmap_arena_new()) == NULL || (c.r = netmap_report_new(c.src, c.dst)) == NULL ||
	    (c.nmap_used = netmap_arena_alloc(c.a, netmap_map_count(c.nmap) + 1)) == NULL ||
	    (c.dmap_used = netmap_arena_alloc(c.a, netmap_map_count(c.dmap) + 1)) == NULL) {
		rc = netmap_fail(err, errcap, FY_ERR_NOMEM, "preflight: out of memory");
		goto out;
	}

	/* Site-level first (the report sorts per VM anyway, keeping this order). */
	rule_site(&c);
	rule_hosts(&c);		/* also picks the candidate hosts the rules below use */
	/*
	 * Two kinds of domain: FY-SITE-001 is the answer.  Comparing a QEMU's
	 * versions, hardware, networks and datastores with a vCenter's would
	 * add errors whose fixes fix nothing; what concerns the VM itself, the
	 * names and the link stays.
	 */
	if (strcmp(c.src->type, c.dst->type) == 0)
		rule_versions(&c);
	rule_dns(&c);
	rule_power(&c);
	rule_boot(&c);
	rule_encryption(&c);
	rule_conflicts(&c);
	if (strcmp(c.src->type, c.dst->type) == 0) {
		rule_hw(&c);
		rule_cpu(&c);
		rule_networks(&c);
		rule_datastores(&c);
		rule_unused_maps(&c);
	}
	rule_link(&c);
	rule_vcenter_checks(&c);

	if (c.rc != 0) {
		rc = netmap_fail(err, errcap, c.rc, "preflight: %s", c.rc == FY_ERR_LIMIT ?
		    "more findings than the report holds" : fy_strerror(c.rc));
		goto out;
	}
	netmap_report_finish(c.r);
	*out = c.r;
	c.r = NULL;
	rc = 0;
out:
	netmap_report_free(c.r);
	netmap_arena_free(c.a);
	return rc;
}
