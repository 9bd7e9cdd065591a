/*
 * ctl_preflight.c - ferryctl preflight: check VMs against a paired site
 * before they move.  ferryd gathers this site's facts, the peer's (by the
 * peer's own gateway), measures the link, and runs the rules of netmap/;
 * this prints the report and turns its verdict into the exit status
 * (ferry-findings(7)).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "common.h"
#include "ctl.h"

/* Exit statuses (ferry-findings(7)): the verdict, or that there is none. */
#define PF_EXIT_FAILED	3	/* could not run: ferryd, the peer, a refused argument */
#define PF_EXIT_USAGE	64

#define PREFLIGHT_USAGE "preflight VM... --to SITE [--host NAME] [--cluster NAME] [--network-map SRC=DST]... " \
	"[--datastore-map SRC=DST]... [--mac keep|generate] [--margin PCT] [--link-seconds N] [--strict]"
#define PF_TARGET_MAX	255	/* bytes of a --host or --cluster name (NETMAP_NAME_MAX) */

/* A --host or --cluster name: 1..PF_TARGET_MAX bytes, no control character, given once. */
static int
target_name(const char *opt, const char *v, json_t *args, const char *key)
{
	size_t i, n = strlen(v);
	json_t *j;

	if (json_object_get(args, key) != NULL) {
		fprintf(stderr, "ferryctl: %s given twice: name one target %s\n", opt, key);
		return -1;
	}
	if (n == 0 || n > PF_TARGET_MAX) {
		fprintf(stderr, "ferryctl: %s: give a %s name of 1 to %d bytes (%zu given)\n", opt, key,
		    PF_TARGET_MAX, n);
		return -1;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
			fprintf(stderr, "ferryctl: %s: a control character in the %s name\n", opt, key);
			return -1;
		}
	if ((j = json_string(v)) == NULL) {
		fprintf(stderr, "ferryctl: %s: the %s name is not valid UTF-8\n", opt, key);
		return -1;
	}
	json_object_set_new(args, key, j);
	return 0;
}

static int
cmd_preflight(int argc, char **argv)
{
	json_t *args = json_object(), *vms = json_array(), *nm = json_array(), *dm = json_array(), *r, *rep;
	const char *v, *verdict;
	long long n;
	int strict = 0, k, i, rc;

	for (;;) {
		if ((k = ctl_opt_take(&argc, argv, "--to", &v)) < 0)
			goto usage;
		if (k > 0) {
			json_object_set_new(args, "to", json_string(v));
			continue;
		}
		if ((k = ctl_opt_take(&argc, argv, "--host", &v)) < 0)
			goto usage;
		if (k > 0) {
			if (target_name("--host", v, args, "host") != 0)
				goto bad;
			continue;
		}
		if ((k = ctl_opt_take(&argc, argv, "--cluster", &v)) < 0)
			goto usage;
		if (k > 0) {
			if (target_name("--cluster", v, args, "cluster") != 0)
				goto bad;
			continue;
		}
		if ((k = ctl_opt_take(&argc, argv, "--network-map", &v)) < 0)
			goto usage;
		if (k > 0) {
			json_array_append_new(nm, json_string(v));
			continue;
		}
		if ((k = ctl_opt_take(&argc, argv, "--datastore-map", &v)) < 0)
			goto usage;
		if (k > 0) {
			json_array_append_new(dm, json_string(v));
			continue;
		}
		if ((k = ctl_opt_take(&argc, argv, "--mac", &v)) < 0)
			goto usage;
		if (k > 0) {
			json_object_set_new(args, "mac", json_string(v));
			continue;
		}
		if ((k = ctl_opt_take(&argc, argv, "--margin", &v)) < 0)
			goto usage;
		if (k > 0) {
			if (fy_parse_int(v, 0, 90, &n) != 0) {
				fprintf(stderr, "ferryctl: --margin: give a percentage of the datastore, 0 to 90\n");
				goto bad;
			}
			json_object_set_new(args, "margin_pct", json_integer(n));
			continue;
		}
		if ((k = ctl_opt_take(&argc, argv, "--link-seconds", &v)) < 0)
			goto usage;
		if (k > 0) {
			if (fy_parse_int(v, 0, 60, &n) != 0) {
				fprintf(stderr, "ferryctl: --link-seconds: give 0 (no link test) to 60\n");
				goto bad;
			}
			json_object_set_new(args, "link_seconds", json_integer(n));
			continue;
		}
		if ((k = ctl_opt_take(&argc, argv, "--strict", NULL)) < 0)
			goto usage;
		if (k > 0) {
			strict = 1;
			continue;
		}
		break;
	}
	/* Not ctl_unknown_opts(): its exit status 2 would read as "blocked". */
	for (i = 0; i < argc; i++)
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "ferryctl: unknown option %s\n", argv[i]);
			goto usage;
		}
	if (argc < 1 || json_object_get(args, "to") == NULL)
		goto usage;
	for (i = 0; i < argc; i++)
		json_array_append_new(vms, json_string(argv[i]));
	json_object_set_new(args, "vms", vms);
	json_object_set_new(args, "network_map", nm);
	json_object_set_new(args, "datastore_map", dm);
	if (ctl_call("preflight", args, &r) != 0)
		return PF_EXIT_FAILED;
	rep = json_object_get(r, "report");
	verdict = ctl_js(rep, "verdict");
	if (strcmp(verdict, "clear") == 0)
		rc = 0;
	else if (strcmp(verdict, "warnings") == 0)
		rc = strict ? 1 : 0;
	else if (strcmp(verdict, "blocked") == 0)
		rc = 2;
	else {
		fprintf(stderr, "ferryctl: preflight: ferryd gave no verdict (\"%s\")\n", verdict);
		json_decref(r);
		return PF_EXIT_FAILED;
	}
	if (ctl_json_out) {
		json_t *o = json_deep_copy(rep);
		if (json_object_get(r, "link") != NULL)
			json_object_set(o, "link", json_object_get(r, "link"));
		if (json_object_get(r, "link_error") != NULL)
			json_object_set(o, "link_error", json_object_get(r, "link_error"));
		json_object_set_new(o, "exit_status", json_integer(rc));
		json_decref(r);
		ctl_print_json(o);
		return rc;
	}
	fputs(ctl_js(r, "text"), stdout);
	if (json_object_get(r, "link_error") != NULL)
		printf("link test: %s\n", ctl_js(r, "link_error"));
	json_decref(r);
	return rc;
usage:
	fprintf(stderr, "usage: ferryctl %s\n", PREFLIGHT_USAGE);
bad:
	json_decref(args);
	json_decref(vms);
	json_decref(nm);
	json_decref(dm);
	return PF_EXIT_USAGE;
}

#define INVENTORY_USAGE "inventory [vms|hosts|datastores|networks] [--site SITE]"

static void
human(json_int_t v, char *buf, size_t cap)
{
	const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double d = (double)v;
	int i = 0;

	if (v < 0) {
		snprintf(buf, cap, "-");
		return;
	}
	while (d >= 1024 && i < 5) {
		d /= 1024;
		i++;
	}
	snprintf(buf, cap, i ? "%.1f %s" : "%.0f %s", d, u[i]);
}

static json_int_t
jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* A network's VLAN as the inventory shows it ("" when not reported). */
static const char *
vlan_text(json_t *net, char *buf, size_t cap)
{
	const char *kind = json_string_value(json_object_get(net, "vlan_kind"));

	if (json_is_integer(json_object_get(net, "vlan")))
		snprintf(buf, cap, "VLAN %lld", (long long)json_integer_value(json_object_get(net, "vlan")));
	else if (kind != NULL && strcmp(kind, "trunk") == 0)
		snprintf(buf, cap, "VLAN trunk");
	else if (kind != NULL && strcmp(kind, "pvlan") == 0)
		snprintf(buf, cap, "private VLAN");
	else if (kind != NULL && strcmp(kind, "per-host") == 0)
		snprintf(buf, cap, "VLAN differs by host");
	else
		snprintf(buf, cap, "%s", "");
	return buf;
}

static int
cmd_inventory(int argc, char **argv)
{
	static const char *const kinds[] = { "vms", "hosts", "datastores", "networks" };
	const char *site = NULL, *kind = NULL;
	json_t *args, *r, *list, *v;
	char a[32], b[32];
	size_t i, k;
	int t;

	if ((t = ctl_opt_take(&argc, argv, "--site", &site)) < 0) {
		fprintf(stderr, "usage: ferryctl %s\n", INVENTORY_USAGE);
		return 2;
	}
	ctl_unknown_opts(argc, argv, INVENTORY_USAGE);
	if (argc > 1) {
		fprintf(stderr, "usage: ferryctl %s\n", INVENTORY_USAGE);
		return 2;
	}
	if (argc == 1) {
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			if (strcmp(argv[0], kinds[k]) == 0)
				kind = kinds[k];
		if (kind == NULL) {
			fprintf(stderr, "ferryctl: inventory: \"%s\": give vms, hosts, datastores or networks\n", argv[0]);
			return 2;
		}
	}
	args = site != NULL ? json_pack("{s:s}", "site", site) : json_object();
	if (ctl_call("inventory", args, &r) != 0)
		return 1;
	if (ctl_json_out) {
		if (kind != NULL) {
			json_t *o = json_incref(json_object_get(r, kind));
			json_decref(r);
			return ctl_print_json(o != NULL ? o : json_array());
		}
		return ctl_print_json(r);
	}
	printf("site %s (%s%s%s)\n", ctl_js(r, "site"), ctl_js(r, "type"),
	    json_object_get(r, "qemu_version") ? ", QEMU " : "", json_object_get(r, "qemu_version") ?
	    ctl_js(r, "qemu_version") : "");
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		if (kind != NULL && strcmp(kind, kinds[k]) != 0)
			continue;
		list = json_object_get(r, kinds[k]);
		printf("\n%s:\n", kinds[k]);
		if (list == NULL) {
			printf("  (not reported by a %s domain)\n", ctl_js(r, "type"));
			continue;
		}
		if (json_array_size(list) == 0)
			printf("  (none)\n");
		json_array_foreach(list, i, v) {
			if (strcmp(kinds[k], "vms") == 0) {
				human(jint(v, "memory_mib") >= 0 ? jint(v, "memory_mib") << 20 : -1, a, sizeof(a));
				printf("  %-24s %-10s %10s  %s\n", ctl_js(v, "name"), ctl_js(v, "power_state"), a,
				    ctl_js(v, "instance_uuid"));
			} else if (strcmp(kinds[k], "datastores") == 0) {
				human(jint(v, "free_bytes"), a, sizeof(a));
				human(jint(v, "capacity_bytes") >= 0 ? jint(v, "capacity_bytes") : jint(v, "total_bytes"),
				    b, sizeof(b));
				if (json_is_string(json_object_get(v, "error")))
					printf("  %-24s %10s free of %s (%s)\n", ctl_js(v, "name"), a, b, ctl_js(v, "error"));
				else
					printf("  %-24s %10s free of %s\n", ctl_js(v, "name"), a, b);
			} else if (json_is_string(v))
				printf("  %s\n", json_string_value(v));
			else if (strcmp(kinds[k], "networks") == 0 && vlan_text(v, a, sizeof(a))[0] != '\0')
				printf("  %-24s %-12s %s\n", ctl_js(v, "name"), ctl_js(v, "kind"), a);
			else
				printf("  %-24s %s\n", ctl_js(v, "name"), json_object_get(v, "kind") ? ctl_js(v, "kind") :
				    json_object_get(v, "version") ? ctl_js(v, "version") : "");
		}
	}
	json_decref(r);
	return 0;
}

const struct ctl_cmd ctl_preflight_cmds[] = {
	{ "inventory", NULL, cmd_inventory, INVENTORY_USAGE, "a site's VMs, hosts, datastores and networks" },
	{ "preflight", NULL, cmd_preflight, PREFLIGHT_USAGE, "check VMs against a paired site before they move" },
	{ NULL, NULL, NULL, NULL, NULL },
};
