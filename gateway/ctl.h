/*
 * ctl.h - what ferryctl's command files share: the admin call, option
 * parsing and JSON output.  Each file exports a table of commands.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef FY_CTL_H
#define FY_CTL_H

#include <stdio.h>
#include <jansson.h>

struct ctl_cmd {
	const char *name, *sub;
	int (*fn)(int, char **);
	const char *usage;
	const char *help;
};
extern const struct ctl_cmd ctl_vm_cmds[];	/* ctl_vm.c */
extern const struct ctl_cmd ctl_job_cmds[];	/* ctl_job.c */
extern const struct ctl_cmd ctl_preflight_cmds[];	/* ctl_preflight.c */

extern int ctl_json_out;			/* --json given */
/* Call cmd on ferryd with args (taken); 0 and *result, or 1 with the error printed. */
int ctl_call(const char *cmd, json_t *args, json_t **result);
/* Print j indented for scripts and release it; returns 0. */
int ctl_print_json(json_t *j);
/* A string member or "-". */
const char *ctl_js(json_t *o, const char *k);
/* Exit 2 with the usage when argc != n. */
int ctl_want_args(int argc, int n, const char *usage);
/* Take "--name VALUE" / "--name=VALUE" (val != NULL) or a flag; 1 found, 0 not, -1 malformed. */
int ctl_opt_take(int *argc, char **argv, const char *name, const char **val);
/* Exit 2 naming the first remaining option. */
int ctl_unknown_opts(int argc, char **argv, const char *usage);

#endif
