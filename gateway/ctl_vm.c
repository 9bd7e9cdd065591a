/*
 * ctl_vm.c - ferryctl vm ...: define, start, stop, list, show, undefine
 * and facts of the VMs of the local site's management domain.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "common.h"
#include "ctl.h"

#define SPEC_FILE_MAX	(60 * 1024)	/* the admin request must stay under 64 KiB */

static long long
ji(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

/* Read a spec file ("-" = standard input), bounded. */
static json_t *
read_spec(const char *file)
{
	json_error_t je;
	json_t *j;
	char *buf;
	size_t n = 0, got;
	FILE *f;

	if (strcmp(file, "-") == 0)
		f = stdin;
	else if ((f = fopen(file, "r")) == NULL) {
		fprintf(stderr, "ferryctl: %s: %s\n", file, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(SPEC_FILE_MAX + 1)) == NULL) {
		if (f != stdin)
			fclose(f);
		fprintf(stderr, "ferryctl: out of memory\n");
		return NULL;
	}
	while (n <= SPEC_FILE_MAX && (got = fread(buf + n, 1, SPEC_FILE_MAX + 1 - n, f)) > 0)
		n += got;
	if (f != stdin)
		fclose(f);
	if (n > SPEC_FILE_MAX) {
		free(buf);
		fprintf(stderr, "ferryctl: %s: larger than %d bytes\n", file, SPEC_FILE_MAX);
		return NULL;
	}
	j = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &je);
	free(buf);
	if (j == NULL) {
		fprintf(stderr, "ferryctl: %s:%d:%d: %s\n", strcmp(file, "-") == 0 ? "(stdin)" : file, je.line,
		    je.column, je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		fprintf(stderr, "ferryctl: %s: expected a JSON object (the VM spec; see ferry-vm(5))\n", file);
		json_decref(j);
		return NULL;
	}
	return j;
}

static int
cmd_vm_define(int argc, char **argv)
{
	json_t *spec, *r, *sp, *x;
	size_t i;

	ctl_unknown_opts(argc, argv, "vm define FILE");
	ctl_want_args(argc, 1, "vm define FILE");
	if ((spec = read_spec(argv[0])) == NULL)
		return 1;
	if (ctl_call("vm-define", json_pack("{s:o}", "spec", spec), &r) != 0)
		return 1;
	if (ctl_json_out)
		return ctl_print_json(r);
	sp = json_object_get(r, "spec");
	printf("defined VM %s (uuid %s)\n", ctl_js(r, "name"), ctl_js(r, "uuid"));
	json_array_foreach(json_object_get(sp, "disks"), i, x)
		printf("  %-6s %s:%s (%s, %lld MiB)\n", ctl_js(x, "id"), ctl_js(x, "datastore"), ctl_js(x, "file"),
		    ctl_js(x, "format"), ji(x, "size") >> 20);
	json_array_foreach(json_object_get(sp, "nics"), i, x)
		printf("  nic%-3zu %s on network %s\n", i, ctl_js(x, "mac"), ctl_js(x, "network"));
	json_decref(r);
	return 0;
}

static int
cmd_vm_start(int argc, char **argv)
{
	json_t *r;

	ctl_unknown_opts(argc, argv, "vm start NAME");
	ctl_want_args(argc, 1, "vm start NAME");
	if (ctl_call("vm-start", json_pack("{s:s}", "name", argv[0]), &r) != 0)
		return 1;
	if (ctl_json_out)
		return ctl_print_json(r);
	printf("started VM %s (QEMU pid %lld)\n", ctl_js(r, "name"), ji(r, "pid"));
	json_decref(r);
	return 0;
}

static int
cmd_vm_stop(int argc, char **argv)
{
	int force = ctl_opt_take(&argc, argv, "--force", NULL);
	json_t *r;

	if (force < 0) {
		fprintf(stderr, "usage: ferryctl vm stop NAME [--force]\n");
		return 2;
	}
	ctl_unknown_opts(argc, argv, "vm stop NAME [--force]");
	ctl_want_args(argc, 1, "vm stop NAME [--force]");
	if (!ctl_json_out && !force)
		fprintf(stderr, "stopping %s (power button, then quit) ...\n", argv[0]);
	if (ctl_call("vm-stop", json_pack("{s:s, s:b}", "name", argv[0], "force", force), &r) != 0)
		return 1;
	if (ctl_json_out)
		return ctl_print_json(r);
	printf("stopped VM %s in %lld ms\n", ctl_js(r, "name"), ji(r, "elapsed_ms"));
	json_decref(r);
	return 0;
}

static int
cmd_vm_undefine(int argc, char **argv)
{
	json_t *r;

	ctl_unknown_opts(argc, argv, "vm undefine NAME");
	ctl_want_args(argc, 1, "vm undefine NAME");
	if (ctl_call("vm-undefine", json_pack("{s:s}", "name", argv[0]), &r) != 0)
		return 1;
	if (ctl_json_out)
		return ctl_print_json(r);
	printf("undefined VM %s", ctl_js(r, "name"));
	if (ji(r, "disks_kept") > 0)
		printf(" (its %lld disk file%s in the datastores)", ji(r, "disks_kept"),
		    ji(r, "disks_kept") == 1 ? " stays" : "s stay");
	printf("\n");
	json_decref(r);
	return 0;
}

static int
cmd_vm_list(int argc, char **argv)
{
	json_t *r, *v;
	size_t i;

	ctl_unknown_opts(argc, argv, "vm list");
	ctl_want_args(argc, 0, "vm list");
	if (ctl_call("vm-list", NULL, &r) != 0)
		return 1;
	if (ctl_json_out)
		return ctl_print_json(r);
	if (json_array_size(r) == 0)
		printf("no VMs (define one with: ferryctl vm define FILE)\n");
	else
		printf("%-20s %-9s %5s %8s %5s %4s %8s %s\n", "NAME", "STATE", "VCPUS", "MEMORY", "DISKS", "NICS",
		    "PID", "JOB");
	json_array_foreach(r, i, v) {
		char mem[32], pid[16];
		snprintf(mem, sizeof(mem), "%lldM", ji(v, "memory_mib"));
		if (ji(v, "pid") > 0)
			snprintf(pid, sizeof(pid), "%lld", ji(v, "pid"));
		else
			snprintf(pid, sizeof(pid), "-");
		printf("%-20s %-9s %5lld %8s %5lld %4lld %8s %s\n", ctl_js(v, "name"),
		    json_is_true(json_object_get(v, "stopping")) ? "stopping" : ctl_js(v, "state"),
		    ji(v, "vcpus"), mem, ji(v, "disks"), ji(v, "nics"), pid,
		    *ctl_js(v, "job") ? ctl_js(v, "job") : "-");
	}
	json_decref(r);
	return 0;
}

static void
print_ms(const char *label, long long ms)
{
	char t[40];

	if (ms <= 0) {
		printf("%-14s -\n", label);
		return;
	}
	fy_fmt_time(ms, t, sizeof(t));
	printf("%-14s %s (%lld)\n", label, t, ms);
}

static int
cmd_vm_show(int argc, char **argv)
{
	const char *lines = NULL;
	long long n = 10;
	json_t *r, *sp, *st, *x;
	size_t i;

	if (ctl_opt_take(&argc, argv, "--lines", &lines) < 0 ||
	    (lines != NULL && fy_parse_int(lines, 0, 1000, &n) != 0)) {
		fprintf(stderr, "ferryctl: --lines: give 0 to 1000\nusage: ferryctl vm show NAME [--lines N]\n");
		return 2;
	}
	ctl_unknown_opts(argc, argv, "vm show NAME [--lines N]");
	ctl_want_args(argc, 1, "vm show NAME [--lines N]");
	if (ctl_call("vm-show", json_pack("{s:s, s:I}", "name", argv[0], "lines", (json_int_t)n), &r) != 0)
		return 1;
	if (ctl_json_out)
		return ctl_print_json(r);
	sp = json_object_get(r, "spec");
	st = json_object_get(r, "status");
	printf("%-14s %s\n", "name", ctl_js(sp, "name"));
	printf("%-14s %s\n", "uuid", ctl_js(sp, "uuid"));
	printf("%-14s %s\n", "state", ctl_js(st, "state"));
	if (ji(st, "pid") > 0)
		printf("%-14s %lld, started %s\n", "qemu pid", ji(st, "pid"), ctl_js(st, "started"));
	printf("%-14s %s\n", "job", *ctl_js(st, "job") ? ctl_js(st, "job") : "-");
	printf("%-14s %lld vCPUs, %lld MiB, machine %s, accel %s\n", "hardware", ji(sp, "vcpus"),
	    ji(sp, "memory_mib"), ctl_js(sp, "machine"), ctl_js(sp, "accel"));
	if (json_object_get(sp, "boot"))
		printf("%-14s %s (sha256 %.16s...)\n", "boot image", ctl_js(sp, "boot"), ctl_js(sp, "boot_sha256"));
	json_array_foreach(json_object_get(sp, "disks"), i, x)
		printf("%-14s %s:%s, %s, %lld MiB\n", i == 0 ? "disks" : "", ctl_js(x, "datastore"), ctl_js(x, "file"),
		    ctl_js(x, "format"), ji(x, "size") >> 20);
	json_array_foreach(json_object_get(sp, "nics"), i, x)
		printf("%-14s %s on %s\n", i == 0 ? "nics" : "", ctl_js(x, "mac"), ctl_js(x, "network"));
	printf("%-14s %s\n", "directory", ctl_js(st, "dir"));
	printf("%-14s %lld lines\n", "serial", ji(st, "serial_lines"));
	print_ms("  first line", ji(st, "serial_first_ms"));
	print_ms("  last line", ji(st, "serial_last_ms"));
	if (json_array_size(json_object_get(r, "serial_tail")) > 0) {
		printf("serial console (last %zu lines, ms since the epoch):\n",
		    json_array_size(json_object_get(r, "serial_tail")));
		json_array_foreach(json_object_get(r, "serial_tail"), i, x)
			printf("  %s\n", json_string_value(x));
	}
	json_decref(r);
	return 0;
}

static int
cmd_vm_facts(int argc, char **argv)
{
	json_t *r, *x;
	size_t i;

	ctl_unknown_opts(argc, argv, "vm facts");
	ctl_want_args(argc, 0, "vm facts");
	if (ctl_call("vm-facts", NULL, &r) != 0)
		return 1;
	if (ctl_json_out)
		return ctl_print_json(r);
	printf("%-14s %s\n", "domain", ctl_js(r, "type"));
	printf("%-14s %s (%s)\n", "qemu", *ctl_js(r, "qemu_version") ? ctl_js(r, "qemu_version") : "not found",
	    ctl_js(r, "qemu_binary"));
	printf("%-14s", "accelerators");
	json_array_foreach(json_object_get(r, "accelerators"), i, x)
		printf(" %s", json_string_value(x));
	printf("\n%-14s", "networks");
	if (json_array_size(json_object_get(r, "networks")) == 0)
		printf(" none (qemu_networks)");
	json_array_foreach(json_object_get(r, "networks"), i, x)
		printf(" %s", json_string_value(x));
	printf("\n");
	if (json_array_size(json_object_get(r, "datastores")) == 0)
		printf("%-14s none (qemu_datastores)\n", "datastores");
	json_array_foreach(json_object_get(r, "datastores"), i, x)
		printf("%-14s %s at %s: %lld of %lld MiB free%s%s\n", i == 0 ? "datastores" : "", ctl_js(x, "name"),
		    ctl_js(x, "dir"), ji(x, "free_bytes") >> 20, ji(x, "total_bytes") >> 20,
		    json_object_get(x, "error") ? ": " : "", json_object_get(x, "error") ? ctl_js(x, "error") : "");
	json_decref(r);
	return 0;
}

const struct ctl_cmd ctl_vm_cmds[] = {
	{ "vm", "define", cmd_vm_define, "vm define FILE", "define a VM from a JSON spec (- = stdin)" },
	{ "vm", "start", cmd_vm_start, "vm start NAME", "launch the VM's QEMU" },
	{ "vm", "stop", cmd_vm_stop, "vm stop NAME [--force]", "power off (graceful unless --force)" },
	{ "vm", "list", cmd_vm_list, "vm list", "list the VMs and their state" },
	{ "vm", "show", cmd_vm_show, "vm show NAME [--lines N]", "spec, status and serial console tail" },
	{ "vm", "undefine", cmd_vm_undefine, "vm undefine NAME", "forget a stopped VM (disks stay)" },
	{ "vm", "facts", cmd_vm_facts, "vm facts", "QEMU version, networks, datastores" },
	{ NULL, NULL, NULL, NULL, NULL },
};
