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

#define PREFLIGHT_USAGE "preflight VM... --to SITE [--network-map SRC=DST]... [--datastore-map SRC=DST]... " \
	"[--mac keep|generate] [--margin PCT] [--link-seconds N] [--strict]"

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
	ctl_unknown_opts(argc, argv, PREFLIGHT_USAGE);
	if (argc < 1 || json_object_get(args, "to") == NULL)
		goto usage;
	for (i = 0; i < argc; i++)
		json_array_append_new(vms, json_string(argv[i]));
	json_object_set_new(args, "vms", vms);
	json_object_set_new(args, "network_map", nm);
	json_object_set_new(args, "datastore_map", dm);
	if (ctl_call("preflight", args, &r) != 0)
		return 1;
	rep = json_object_get(r, "report");
	verdict = ctl_js(rep, "verdict");
	rc = strcmp(verdict, "blocked") == 0 ? 2 : strict && strcmp(verdict, "warnings") == 0 ? 1 : 0;
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
	return 2;
}

const struct ctl_cmd ctl_preflight_cmds[] = {
	{ "preflight", NULL, cmd_preflight, PREFLIGHT_USAGE, "check VMs against a paired site before they move" },
	{ NULL, NULL, NULL, NULL, NULL },
};
