/*
 * report-t.c - what ferryctl preflight will show: verdicts per VM and
 * overall, the exit code (0 clear, 2 errors, 1 warnings with --strict),
 * the order of the findings, the JSON's stable keys, the text report
 * grouped by VM; netmap_check's refusals; and the catalogue against
 * ferry-findings(7): every code documented with its severity.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "netmap/netmap.h"
#include "tests/tap.h"
#include "tests/unit/netmap/fixture.h"

#define MAN_MAX		(1 << 20)

/* web01 clear, web02 suspended (warning), web03 encrypted (error). */
static void
three(struct fx *f)
{
	fx_init(f);
	japp(f->src, "vms", J("{'name': 'web02', 'instance_uuid': '50010000-0000-0000-0000-000000000002',"
	    " 'power_state': 'suspended', 'memory_mib': 1024, 'encryption': null, 'min_evc': null,"
	    " 'hw_version': 13, 'vcenter_checks': {'offered': true}}"));
	japp(f->src, "vms", J("{'name': 'web03', 'instance_uuid': '50010000-0000-0000-0000-000000000003',"
	    " 'power_state': 'poweredOn', 'memory_mib': 1024, 'min_evc': null, 'hw_version': 13,"
	    " 'encryption': {'key_id': 'k1', 'key_provider': 'KMS-A'}, 'vcenter_checks': {'offered': true}}"));
}

static void
t_verdicts(void)
{
	struct fx f;
	size_t i;
	int last = -1, sorted = 1;

	three(&f);
	fx_run(&f);
	is_int(netmap_report_nvms(f.r), 3, "three VMs");
	is_int(netmap_report_verdict(f.r, 0), NETMAP_CLEAR, "web01 clear");
	is_int(netmap_report_verdict(f.r, 1), NETMAP_WARNINGS, "web02 warnings");
	is_int(netmap_report_verdict(f.r, 2), NETMAP_BLOCKED, "web03 blocked");
	is_int(netmap_report_verdict(f.r, -1), NETMAP_BLOCKED, "overall blocked");
	is_int(netmap_report_exit_code(f.r, 0), 2, "exit 2 on errors");
	is_int(netmap_report_exit_code(f.r, 1), 2, "exit 2 on errors with --strict");
	for (i = 0; i < netmap_report_count(f.r); i++) {
		const struct netmap_finding *x = netmap_report_get(f.r, i);
		if (x->vm_index < last)
			sorted = 0;
		last = x->vm_index;
		if ((x->vm_index < 0) != (x->vm == NULL))
			sorted = 0;
	}
	ok(sorted, "site-level findings first, then by VM, each with its VM's name");
	ok(netmap_report_get(f.r, netmap_report_count(f.r)) == NULL, "get past the end is NULL");

	jdel(f.src, "vms[2]");
	fx_run(&f);
	is_int(netmap_report_verdict(f.r, -1), NETMAP_WARNINGS, "without web03: warnings");
	is_int(netmap_report_exit_code(f.r, 0), 0, "exit 0 on warnings");
	is_int(netmap_report_exit_code(f.r, 1), 1, "exit 1 on warnings with --strict");

	/* A site-level error blocks every VM. */
	jset(f.dst, "vcenter.version", json_string("5.5.0"));
	fx_run(&f);
	is_int(netmap_report_verdict(f.r, 0), NETMAP_BLOCKED, "a site error blocks web01");
	is_int(netmap_report_verdict(f.r, 1), NETMAP_BLOCKED, "and web02");
	fx_free(&f);
}

/* The members of o are exactly names[] (NULL-terminated). */
static int
exact_keys(json_t *o, const char *const *names)
{
	size_t n = 0;

	if (!json_is_object(o))
		return 0;
	for (; names[n] != NULL; n++)
		if (json_object_get(o, names[n]) == NULL)
			return 0;
	return json_object_size(o) == n;
}

static void
t_json(void)
{
	static const char *const top[] = { "version", "verdict", "counts", "source", "destination", "vms",
	    "findings", NULL };
	static const char *const fkeys[] = { "code", "severity", "vm", "vm_index", "subject", "source",
	    "destination", "message", "fix", NULL };
	static const char *const vkeys[] = { "name", "instance_uuid", "verdict", "counts", NULL };
	static const char *const ckeys[] = { "error", "warning", "info", NULL };
	json_t *j, *fs, *x, *enc = NULL;
	json_error_t je;
	struct fx f;
	char *s;
	size_t i;
	int all = 1;

	three(&f);
	fx_run(&f);
	/* The report keeps its own copies: the facts may go first. */
	netmap_facts_free(f.fs);
	netmap_facts_free(f.fd);
	f.fs = f.fd = NULL;
	if ((j = netmap_report_json(f.r)) == NULL)
		bail("netmap_report_json");
	ok(exact_keys(j, top), "top-level keys");
	is_int(json_integer_value(json_object_get(j, "version")), 1, "version 1");
	is_str(json_string_value(json_object_get(j, "verdict")), "blocked", "verdict");
	ok(exact_keys(json_object_get(j, "counts"), ckeys), "counts keys");
	is_str(json_string_value(json_object_get(json_object_get(j, "source"), "site")), "site-a", "source site");
	is_str(json_string_value(json_object_get(json_object_get(j, "destination"), "type")), "vsphere",
	    "destination type");
	x = json_array_get(json_object_get(j, "vms"), 2);
	ok(exact_keys(x, vkeys), "vms[] keys");
	is_str(json_string_value(json_object_get(x, "verdict")), "blocked", "vms[2].verdict");
	is_int(json_integer_value(json_object_get(json_object_get(x, "counts"), "error")), 1, "vms[2] has 1 error");
	fs = json_object_get(j, "findings");
	is_int(json_array_size(fs), netmap_report_count(f.r), "one entry per finding");
	json_array_foreach(fs, i, x) {
		if (!exact_keys(x, fkeys))
			all = 0;
		if (strcmp(json_string_value(json_object_get(x, "code")), "FY-ENC-001") == 0)
			enc = x;
	}
	ok(all, "every finding has exactly the stable keys");
	ok(enc != NULL && strcmp(json_string_value(json_object_get(enc, "severity")), "error") == 0 &&
	    strcmp(json_string_value(json_object_get(enc, "vm")), "web03") == 0 &&
	    json_integer_value(json_object_get(enc, "vm_index")) == 2 &&
	    strcmp(json_string_value(json_object_get(enc, "source")), "KMS-A") == 0 &&
	    strlen(json_string_value(json_object_get(enc, "fix"))) > 10, "FY-ENC-001 in JSON");
	x = json_array_get(fs, 0);
	ok(json_is_null(json_object_get(x, "vm")) && json_is_null(json_object_get(x, "vm_index")),
	    "a site-level finding has vm null");
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	ok(s != NULL && (j = json_loads(s, 0, &je)) != NULL, "the JSON prints and parses");
	json_decref(j);
	free(s);
	fx_free(&f);
}

static void
t_text(void)
{
	static const char head[] = "Pre-flight site-a (vsphere) -> site-b (vsphere): BLOCKED\n";
	struct fx f;
	char *t, *v1, *v2, *v3, *e;

	three(&f);
	f.no_link = 1;
	fx_run(&f);
	if ((t = netmap_report_text(f.r)) == NULL)
		bail("netmap_report_text");
	ok(strncmp(t, head, strlen(head)) == 0, "headline");
	ok(strstr(t, "3 VMs: 1 clear, 1 with warnings, 1 blocked;") != NULL, "VM tally");
	v1 = strstr(t, "\nVM web01 (50010000-0000-0000-0000-000000000001): CLEAR");
	v2 = strstr(t, "\nVM web02 (50010000-0000-0000-0000-000000000002): WARNINGS");
	v3 = strstr(t, "\nVM web03 (50010000-0000-0000-0000-000000000003): BLOCKED");
	ok(v1 != NULL && v2 > v1 && v3 > v2, "one section per VM, in order, with its verdict");
	ok(v1 != NULL && strncmp(strchr(v1 + 1, '\n'), "\n  no findings\n", 15) == 0, "web01: no findings");
	e = strstr(t, "  ERROR    FY-ENC-001   ");
	ok(e != NULL && e > v3, "the encryption error is under web03, fixed-width");
	ok(e != NULL && strstr(e, "fix: Decrypt") != NULL, "with its fix");
	ok(strstr(t, "  WARNING  FY-PWR-003   ") > v2 && strstr(t, "  WARNING  FY-PWR-003   ") < v3,
	    "the suspended warning is under web02");
	ok(strstr(t, "\nSite\n  INFO     FY-LINK-000  ") != NULL, "site-level findings under Site");
	ok(strchr(t, '\033') == NULL, "no colours");
	free(t);
	fx_free(&f);
}

static void
t_check_refusals(void)
{
	struct netmap_report *r = (struct netmap_report *)&r;
	struct netmap_input in;
	struct netmap_options o;
	char err[512];
	struct fx f;

	fx_init(&f);
	fx_run(&f);
	memset(&in, 0, sizeof(in));
	ok(netmap_check(&in, &r, err, sizeof(err)) == FY_ERR_INVAL && r == NULL && strstr(err, "facts") != NULL,
	    "no facts: %s", err);
	in.src = f.fs;
	in.dst = f.fd;
	netmap_options_init(&o);
	o.margin_pct = 101;
	in.opt = &o;
	ok(netmap_check(&in, &r, err, sizeof(err)) == FY_ERR_INVAL && strstr(err, "101") != NULL,
	    "a 101 %% margin: %s", err);
	o.margin_pct = 5;
	in.networks = f.dmap;
	ok(netmap_check(&in, &r, err, sizeof(err)) == FY_ERR_INVAL, "a datastore map as network map: %s", err);
	in.networks = f.nmap;
	in.datastores = f.dmap;
	ok(netmap_check(&in, &r, err, sizeof(err)) == 0 && r != NULL, "then it runs");
	netmap_report_free(r);
	netmap_report_free(NULL);
	fx_free(&f);
}

/* Every code: FY-AREA-NNN, unique, one not-applicable (000, info) per area, in the man page. */
static void
t_catalogue(void)
{
	const struct netmap_code *c;
	const char *top = getenv("top_srcdir");
	char path[4096], line[256], *man;
	size_t n, i, k, len = 0, missing = 0;
	int shape = 1, unique = 1, na = 1;
	FILE *fp;

	c = netmap_catalogue(&n);
	ok(n >= 50, "%zu codes", n);
	for (i = 0; i < n; i++) {
		const char *a = c[i].code + 3, *d = strrchr(c[i].code, '-');
		if (strncmp(c[i].code, "FY-", 3) != 0 || d == NULL || d == a || strlen(d) != 4 ||
		    !isdigit((unsigned char)d[1]) || !isdigit((unsigned char)d[2]) || !isdigit((unsigned char)d[3]) ||
		    c[i].summary == NULL || c[i].summary[0] == '\0')
			shape = 0;
		for (k = 0; k < i; k++)
			if (strcmp(c[k].code, c[i].code) == 0)
				unique = 0;
		if (strcmp(d, "-000") == 0 && c[i].severity != NETMAP_INFO)
			na = 0;
		/* Each area has its 000 (not applicable), SITE excepted (it always applies). */
		if (strncmp(c[i].code, "FY-SITE-", 8) != 0) {
			char want[32];
			snprintf(want, sizeof(want), "%.*s-000", (int)(d - c[i].code), c[i].code);
			for (k = 0; k < n && strcmp(c[k].code, want) != 0; k++)
				;
			if (k == n)
				na = 0;
		}
	}
	ok(shape, "every code is FY-AREA-NNN with a summary");
	ok(unique, "codes are unique");
	ok(na, "every area has an info FY-AREA-000 'not applicable'");

	snprintf(path, sizeof(path), "%s/man/ferry-findings.7", top && *top ? top : "../..");
	if ((fp = fopen(path, "r")) == NULL || (man = malloc(MAN_MAX)) == NULL) {
		ok(0, "read %s", path);
		if (fp != NULL)
			fclose(fp);
		return;
	}
	len = fread(man, 1, MAN_MAX - 1, fp);
	man[len] = '\0';
	fclose(fp);
	for (i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "\n.It Sy %s Pq %s\n", c[i].code, netmap_severity_name(c[i].severity));
		if (strstr(man, line) == NULL) {
			diag("ferry-findings(7) lacks \"%s\"", line + 1);
			missing++;
		}
	}
	is_int(missing, 0, "ferry-findings(7) lists every code with its severity");
	free(man);
}

int
main(void)
{
	plan_lazy();
	t_verdicts();
	t_json();
	t_text();
	t_check_refusals();
	t_catalogue();
	done_testing();
}
