/*
 * facts-fuzz.c - libFuzzer harness for netmap_facts_parse(), the facts a
 * domain driver or the paired peer reports for pre-flight (netmap/facts.c),
 * and for the rules that read them.  Oracles:
 *   - a refusal leaves *out NULL, is FY_ERR_FORMAT, _INVAL or _LIMIT, and
 *     its NUL-terminated message starts with "facts: " or with a JSON path
 *     that leads through the document ("vms[3].nics[1].network: ..."; only
 *     a member said to be missing may be absent);
 *   - accepted facts are within every bound of ferry-findings(7);
 *   - netmap_check() of the facts against themselves (with maps, a link
 *     and both MAC policies) succeeds, every finding is in the catalogue
 *     with its severity and names a VM that exists, the verdicts agree with
 *     the findings, and the JSON and text reports are produced.
 * Any violation aborts.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "common.h"
#include "netmap/netmap.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_TEXT_MAX	(256 * 1024)	/* enough for every shape; keeps runs fast */
#define ERR_CAP		1024

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "facts-fuzz: %s: %.1024s\n", what, detail ? detail : "");
	abort();
}

/* The first n bytes of key as an error shows them (control characters as '?'). */
static int
keyeq(const char *p, const char *key, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != key[i] && !(p[i] == '?' && ((unsigned char)key[i] < 0x20 || key[i] == 0x7f)))
			return 0;
	return 1;
}

/*
 * Does path (up to ": ") lead through j?  Keys are matched greedily with
 * backtracking (a key may itself hold '.' or '['); a key longer than 64
 * bytes shows as its first 64 and "...".  The last component may be absent
 * when the message says it is missing.
 */
static int
resolves(const json_t *j, const char *p, int missing_ok)
{
	const char *key, *e;
	json_t *v;
	size_t n, kl;
	char *end;
	long i;

	if (strncmp(p, ": ", 2) == 0)
		return 1;
	if (*p == '[') {
		if (!json_is_array(j))
			return 0;
		i = strtol(p + 1, &end, 10);
		if (*end != ']' || i < 0 || (size_t)i >= json_array_size(j))
			return 0;
		return resolves(json_array_get(j, (size_t)i), end + 1, missing_ok);
	}
	if (*p == '.')
		p++;
	else if (j == NULL)
		return 0;
	if (!json_is_object(j))
		return 0;
	json_object_foreach((json_t *)j, key, v) {
		kl = strlen(key);
		n = kl > 64 ? 64 : kl;
		if (strnlen(p, n) < n || !keyeq(p, key, n))
			continue;
		e = p + n;
		if (kl > 64) {
			if (strncmp(e, "...", 3) != 0)
				continue;
			e += 3;
		}
		if ((*e == '.' || *e == '[' || strncmp(e, ": ", 2) == 0) && resolves(v, e, missing_ok))
			return 1;
	}
	/* An absent last member: only for "missing". */
	n = strcspn(p, ".[:");
	return missing_ok && n > 0 && strncmp(p + n, ": missing", 9) == 0 && p[n + 9] == '\0';
}

static int
names_path(const char *text, size_t len, const char *err, int code)
{
	json_error_t je;
	json_t *j;
	int good;

	if (strncmp(err, "facts: ", 7) == 0)
		return 1;
	if (code == FY_ERR_FORMAT)	/* the text is not JSON: only "facts: " fits */
		return 0;
	if ((j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return 0;
	good = resolves(j, err, 1);
	json_decref(j);
	return good;
}

static int
name_ok(const char *s, size_t max)
{
	size_t i, n;

	if (s == NULL || (n = strlen(s)) == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int
opt_ok(const char *s, size_t max)
{
	return s == NULL || (strlen(s) <= max && (s[0] == '\0' || name_ok(s, max)));
}

static void
check_bounds(const struct netmap_facts *f)
{
	size_t i, k;

	if (!name_ok(f->type, 32) || !opt_ok(f->site, 63) || f->nvms > NETMAP_VMS_MAX ||
	    f->nhosts > NETMAP_HOSTS_MAX || f->nclusters > NETMAP_CLUSTERS_MAX ||
	    f->ndatastores > NETMAP_DATASTORES_MAX || f->nnetworks > NETMAP_NETWORKS_MAX || f->ndns > NETMAP_DNS_MAX ||
	    (f->has_vcenter == 0 && (f->vc_name || f->vc_version)) || !opt_ok(f->vc_name, NETMAP_NAME_MAX))
		die("facts out of bounds", f->type);
	for (i = 0; i < f->nhosts; i++) {
		const struct netmap_host *h = &f->hosts[i];
		if (!name_ok(h->name, NETMAP_NAME_MAX) || h->nhw_versions > NETMAP_HWVERS_MAX ||
		    (unsigned)h->connection > NETMAP_CONN_NOT_RESPONDING || (h->max_evc && !h->has_max_evc))
			die("host out of bounds", h->name);
		for (k = 0; k < h->nhw_versions; k++)
			if (h->hw_versions[k] < 1 || h->hw_versions[k] > 99)
				die("hardware version out of range", h->name);
	}
	for (i = 0; i < f->ndatastores; i++)
		if (!name_ok(f->datastores[i].name, NETMAP_NAME_MAX) || f->datastores[i].free_bytes < -1 ||
		    f->datastores[i].capacity_bytes < -1 ||
		    (f->datastores[i].error && strlen(f->datastores[i].error) > NETMAP_MSG_MAX))
			die("datastore out of bounds", f->datastores[i].name);
	for (i = 0; i < f->nnetworks; i++)
		if (!name_ok(f->networks[i].name, NETMAP_NAME_MAX) || f->networks[i].vlan < -1 ||
		    f->networks[i].vlan > 4095 || (unsigned)f->networks[i].kind > NETMAP_KIND_OPAQUE)
			die("network out of bounds", f->networks[i].name);
	for (i = 0; i < f->ndns; i++)
		if (!name_ok(f->dns[i].name, NETMAP_NAME_MAX) || f->dns[i].nforward > NETMAP_ADDRS_MAX ||
		    f->dns[i].nreverse > NETMAP_ADDRS_MAX)
			die("DNS entry out of bounds", f->dns[i].name);
	for (i = 0; i < f->nvms; i++) {
		const struct netmap_vm *vm = &f->vms[i];
		if (!name_ok(vm->name, NETMAP_NAME_MAX) || vm->nnics > NETMAP_NICS_MAX || vm->ndisks > NETMAP_DISKS_MAX ||
		    vm->nstorage > NETMAP_DISKS_MAX || (vm->hw_version != -1 && (vm->hw_version < 1 || vm->hw_version > 99)) ||
		    vm->memory_mib == 0 || vm->memory_mib < -1 || (vm->min_evc && !vm->has_min_evc) ||
		    (vm->encryption && !vm->has_encryption) || (vm->power_state == NULL) != (vm->power == NETMAP_POWER_ABSENT) ||
		    vm->checks.nerrors > NETMAP_MSGS_MAX || vm->checks.nwarnings > NETMAP_MSGS_MAX ||
		    (!vm->checks.offered && vm->checks.nerrors + vm->checks.nwarnings > 0))
			die("VM out of bounds", vm->name);
		for (k = 0; k < vm->nnics; k++)
			if (!name_ok(vm->nics[k].network, NETMAP_NAME_MAX) ||
			    (vm->nics[k].mac && (strlen(vm->nics[k].mac) != 17 || vm->nics[k].mac[2] != ':')))
				die("NIC out of bounds", vm->name);
		for (k = 0; k < vm->checks.nerrors; k++)
			if (strlen(vm->checks.errors[k]) > NETMAP_MSG_MAX || strchr(vm->checks.errors[k], '\n'))
				die("checker message out of bounds", vm->name);
		for (k = 0; k < vm->nstorage; k++)
			if (vm->storage[k].committed_bytes < 0 || vm->storage[k].uncommitted_bytes < 0)
				die("storage out of bounds", vm->name);
	}
}

static void
check_report(const struct netmap_facts *f, const struct netmap_report *r)
{
	const struct netmap_code *cat;
	size_t ncat, i, k, count[3] = { 0, 0, 0 };
	enum netmap_verdict v;
	json_t *j;
	char *t;

	cat = netmap_catalogue(&ncat);
	if (netmap_report_nvms(r) != f->nvms)
		die("report has another number of VMs", NULL);
	for (i = 0; i < netmap_report_count(r); i++) {
		const struct netmap_finding *x = netmap_report_get(r, i);
		for (k = 0; k < ncat && strcmp(cat[k].code, x->code) != 0; k++)
			;
		if (k == ncat || cat[k].severity != x->severity)
			die("finding not in the catalogue", x->code);
		if (x->vm_index < -1 || (x->vm_index >= 0 && (size_t)x->vm_index >= f->nvms) ||
		    (x->vm_index >= 0 && (x->vm == NULL || strcmp(x->vm, f->vms[x->vm_index].name) != 0)) ||
		    x->message == NULL || x->fix == NULL || x->subject == NULL || x->src_value == NULL ||
		    x->dst_value == NULL || x->message[0] == '\0')
			die("finding malformed", x->code);
		count[x->severity]++;
	}
	v = netmap_report_verdict(r, -1);
	if ((count[NETMAP_ERROR] > 0) != (v == NETMAP_BLOCKED) ||
	    (count[NETMAP_ERROR] == 0 && (count[NETMAP_WARNING] > 0) != (v == NETMAP_WARNINGS)) ||
	    netmap_report_exit_code(r, 1) != (v == NETMAP_BLOCKED ? 2 : v == NETMAP_WARNINGS ? 1 : 0))
		die("verdict disagrees with the findings", NULL);
	for (i = 0; i < f->nvms; i++)
		if (netmap_report_verdict(r, (int)i) > v)
			die("a VM's verdict is worse than the overall one", f->vms[i].name);
	if ((j = netmap_report_json(r)) == NULL)
		die("no JSON report", NULL);
	if (json_array_size(json_object_get(j, "findings")) != netmap_report_count(r))
		die("JSON report lost findings", NULL);
	json_decref(j);
	if ((t = netmap_report_text(r)) == NULL || strncmp(t, "Pre-flight ", 11) != 0)
		die("no text report", NULL);
	free(t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netmap_facts *f = (struct netmap_facts *)&f;
	struct netmap_map *nm, *dm;
	struct netmap_report *r;
	struct netmap_options opt;
	struct netmap_input in;
	struct netmap_link link;
	char err[ERR_CAP];
	int rc, pass;

	if (size > FUZZ_TEXT_MAX)
		return 0;
	memset(err, 'X', sizeof(err));
	rc = netmap_facts_parse((const char *)data, size, &f, err, sizeof(err));
	if (rc != 0) {
		if (f != NULL || (rc != FY_ERR_FORMAT && rc != FY_ERR_INVAL && rc != FY_ERR_LIMIT) ||
		    memchr(err, '\0', sizeof(err)) == NULL)
			die("refusal malformed", memchr(err, '\0', sizeof(err)) ? err : "(not terminated)");
		if (!names_path((const char *)data, size, err, rc))
			die("refusal does not name a JSON path of the input", err);
		return 0;
	}
	check_bounds(f);

	if ((nm = netmap_map_new(NETMAP_MAP_NETWORK)) == NULL || (dm = netmap_map_new(NETMAP_MAP_DATASTORE)) == NULL ||
	    netmap_map_add(nm, "VM Network=Prod-A", err, sizeof(err)) != 0 ||
	    netmap_map_add(dm, "DS-A=DS-B", err, sizeof(err)) != 0)
		die("setup", err);
	netmap_link_init(&link);
	link.rtt_ms = 200;
	link.goodput_bps = 1e9;
	link.loss_pct = 2;
	for (pass = 0; pass < 2; pass++) {
		netmap_options_init(&opt);
		opt.mac = pass ? NETMAP_MAC_GENERATE : NETMAP_MAC_KEEP;
		opt.target_cluster = pass && f->nclusters > 0 ? f->clusters[0].name : NULL;
		memset(&in, 0, sizeof(in));
		in.src = f;
		in.dst = f;
		in.link = pass ? &link : NULL;
		in.networks = nm;
		in.datastores = dm;
		in.opt = &opt;
		if ((rc = netmap_check(&in, &r, err, sizeof(err))) != 0)
			die("netmap_check refused facts the reader accepted", err);
		check_report(f, r);
		netmap_report_free(r);
	}
	netmap_map_free(nm);
	netmap_map_free(dm);
	netmap_facts_free(f);
	return 0;
}
