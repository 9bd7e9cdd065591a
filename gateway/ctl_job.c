/*
 * ctl_job.c - ferryctl's migration commands: migrate, jobs, job show,
 * job cancel.  `migrate --wait` follows the job with a progress line and
 * ends with a summary.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "config.h"
#include "gateway.h"
#include "ctl.h"

#define MIGRATE_USAGE "migrate VM --to SITE [--network-map A=B]... [--datastore-map A=B]... " \
	"[--downtime-ms N] [--bandwidth MBIT] [--multifd N] [--escalate LIST] [--verify] [--wait]"

static long long
ji(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? (long long)json_integer_value(v) : json_is_real(v) ?
	    (long long)json_real_value(v) : -1;
}

static void
human_bytes(long long b, char *out, size_t cap)
{
	if (b < 0)
		snprintf(out, cap, "-");
	else if (b >= (1LL << 30))
		snprintf(out, cap, "%.2f GiB", (double)b / (1 << 30));
	else if (b >= (1 << 20))
		snprintf(out, cap, "%.1f MiB", (double)b / (1 << 20));
	else if (b >= 1024)
		snprintf(out, cap, "%.1f KiB", (double)b / 1024);
	else
		snprintf(out, cap, "%lld B", b);
}

static int
parse_num(const char *opt, const char *v, long long min, long long max, long long *out)
{
	if (fy_parse_int(v, min, max, out) != 0) {
		fprintf(stderr, "ferryctl: %s \"%s\": expected a number from %lld to %lld\n", opt, v, min, max);
		exit(2);
	}
	return 0;
}

/* One line for a job in progress: stage, bar, numbers, ETA. */
static void
progress_line(json_t *job, char *out, size_t cap)
{
	json_t *p = json_object_get(job, "progress");
	const char *stage = ctl_js(p, "stage");
	char a[32], b[32], c[32];
	long long total = ji(p, "total"), rem = ji(p, "remaining"), done, pct = 0;
	char bar[31];
	int i, fill;

	if (strcmp(stage, "disk-mirror") == 0) {
		done = ji(p, "disk_done");
		total = ji(p, "disk_total");
		pct = total > 0 ? done * 100 / total : 0;
		human_bytes(done, a, sizeof(a));
		human_bytes(total, b, sizeof(b));
		fill = (int)(pct * 30 / 100);
		for (i = 0; i < 30; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[30] = '\0';
		snprintf(out, cap, "%-8s disks  [%s] %3lld%%  %s of %s, %lld/%lld ready", ctl_js(job, "phase"), bar, pct,
		    a, b, ji(p, "disks_ready"), ji(p, "disks"));
		return;
	}
	if (strcmp(stage, "memory") == 0 && total > 0) {
		double mbps = json_number_value(json_object_get(p, "mbps"));
		long long eta = mbps > 0 && rem >= 0 ? (long long)((double)rem * 8 / (mbps * 1e6)) : -1;
		done = total - (rem > 0 ? rem : 0);
		pct = done * 100 / total;
		fill = (int)(pct * 30 / 100);
		for (i = 0; i < 30; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[30] = '\0';
		human_bytes(ji(p, "transferred"), a, sizeof(a));
		human_bytes(rem, b, sizeof(b));
		human_bytes(ji(p, "dirty_rate"), c, sizeof(c));
		snprintf(out, cap, "%-8s memory [%s] pass %lld  sent %s  left %s  %.0f Mbit/s  dirty %s/s  "
		    "downtime ~%lld ms  throttle %lld%%%s%lld s", ctl_js(job, "phase"), bar, ji(p, "pass"), a, b, mbps, c,
		    ji(p, "expected_downtime_ms"), ji(p, "throttle") < 0 ? 0 : ji(p, "throttle"),
		    eta >= 0 ? "  ETA " : "", eta >= 0 ? eta : 0);
		return;
	}
	snprintf(out, cap, "%-8s %s", ctl_js(job, "phase"), strcmp(stage, "-") == 0 ? "" : stage);
}

static void
print_summary(json_t *job)
{
	json_t *p = json_object_get(job, "progress");
	char a[32];
	long long v;

	printf("job %s: %s %s -> %s: %s\n", ctl_js(job, "id"), ctl_js(job, "vm"),
	    strcmp(ctl_js(job, "role"), "source") == 0 ? "here" : ctl_js(job, "peer"),
	    strcmp(ctl_js(job, "role"), "source") == 0 ? ctl_js(job, "peer") : "here", ctl_js(job, "outcome"));
	if (json_is_string(json_object_get(job, "error")))
		printf("  reason          %s\n", ctl_js(job, "error"));
	if ((v = ji(p, "total_ms")) >= 0)
		printf("  total time      %.2f s (until the guest runs at the destination)\n", (double)v / 1000);
	if ((v = ji(p, "downtime_ms")) >= 0 && strcmp(ctl_js(job, "outcome"), "succeeded") == 0)
		printf("  downtime        %lld ms (QEMU)\n", v);
	if ((v = ji(p, "switchover_ms")) >= 0)
		printf("  switchover      %lld ms (from the end of the copy to the resume at the destination%s)\n", v,
		    ji(p, "verify_ms") >= 0 ? ", with the memory check" : "");
	if ((v = ji(p, "guest_pause_ms")) >= 0)
		printf("  guest pause     %lld ms (heartbeat gap on the serial console%s)\n", v,
		    ji(p, "verify_ms") >= 0 ? ", includes the memory check" : "");
	if ((v = ji(p, "link_mbit")) >= 0)
		printf("  link            %lld Mbit/s (the transport's goodput: a recent link test, or the bulk pass)\n", v);
	if ((v = ji(p, "bytes")) >= 0) {
		human_bytes(v, a, sizeof(a));
		printf("  memory sent     %s in %lld passes\n", a, ji(p, "passes"));
	}
	if ((v = ji(p, "disks")) > 0)
		printf("  disks mirrored  %lld\n", v);
	if ((v = ji(p, "confirm_ms")) >= 0)
		printf("  source removed  %lld ms after the resume\n", v);
	if (json_is_string(json_object_get(p, "escalated")))
		printf("  escalated       %s\n", ctl_js(p, "escalated"));
	if (json_is_string(json_object_get(p, "integrity")))
		printf("  integrity       %s\n", ctl_js(p, "integrity"));
	if ((v = ji(p, "verify_ms")) >= 0)
		printf("  memory check    %lld ms (%s)\n", v, ctl_js(p, "memory_digest"));
}

static int
job_get(const char *id, json_t **out)
{
	return ctl_call("job-show", json_pack("{s:s}", "id", id), out);
}

/* Follow a job until it ends: a live line on a terminal, a line per phase otherwise. */
static int
wait_job(const char *id)
{
	json_t *j = NULL;
	char line[400], last_phase[32] = "";
	int tty = isatty(2), ok;

	for (;;) {
		const char *outcome;
		json_decref(j);
		if (job_get(id, &j) != 0)
			return 1;
		outcome = ctl_js(j, "outcome");
		if (!ctl_json_out) {
			progress_line(j, line, sizeof(line));
			if (tty)
				fprintf(stderr, "\r\033[K%.*s", 160, line);
			else if (strcmp(last_phase, ctl_js(j, "phase")) != 0)
				fprintf(stderr, "%s\n", line);
			snprintf(last_phase, sizeof(last_phase), "%s", ctl_js(j, "phase"));
		}
		if (strcmp(outcome, "active") != 0)
			break;
		fy_sleep_ms(tty ? 200 : 500);
	}
	if (!ctl_json_out && tty)
		fprintf(stderr, "\r\033[K");
	ok = strcmp(ctl_js(j, "outcome"), "succeeded") == 0;
	if (ctl_json_out)
		ctl_print_json(j);
	else {
		print_summary(j);
		json_decref(j);
	}
	return ok ? 0 : 1;
}

static int
cmd_migrate(int argc, char **argv)
{
	json_t *args = json_object(), *nm = json_array(), *dm = json_array(), *r;
	const char *v, *to = NULL;
	long long n;
	int wait = 0, k;

	for (;;) {
		if ((k = ctl_opt_take(&argc, argv, "--network-map", &v)) == 1) {
			json_array_append_new(nm, json_string(v));
			continue;
		}
		if (k < 0 || (k = ctl_opt_take(&argc, argv, "--datastore-map", &v)) < 0)
			goto usage;
		if (k == 1) {
			json_array_append_new(dm, json_string(v));
			continue;
		}
		break;
	}
	if ((k = ctl_opt_take(&argc, argv, "--to", &to)) < 0)
		goto usage;
	if ((k = ctl_opt_take(&argc, argv, "--downtime-ms", &v)) < 0)
		goto usage;
	if (k == 1 && parse_num("--downtime-ms", v, 10, 60000, &n) == 0)
		json_object_set_new(args, "downtime_ms", json_integer(n));
	if ((k = ctl_opt_take(&argc, argv, "--bandwidth", &v)) < 0)
		goto usage;
	if (k == 1 && parse_num("--bandwidth (Mbit/s)", v, 1, 1000000, &n) == 0)
		json_object_set_new(args, "bandwidth_mbit", json_integer(n));
	if ((k = ctl_opt_take(&argc, argv, "--multifd", &v)) < 0)
		goto usage;
	if (k == 1 && parse_num("--multifd", v, 0, 16, &n) == 0)
		json_object_set_new(args, "multifd", json_integer(n));
	if ((k = ctl_opt_take(&argc, argv, "--escalate", &v)) < 0)
		goto usage;
	if (k == 1)
		json_object_set_new(args, "escalate", json_string(v));
	if (ctl_opt_take(&argc, argv, "--verify", NULL) == 1)
		json_object_set_new(args, "verify", json_true());
	if (ctl_opt_take(&argc, argv, "--wait", NULL) == 1)
		wait = 1;
	ctl_unknown_opts(argc, argv, MIGRATE_USAGE);
	if (to == NULL || argc != 1)
		goto usage;
	json_object_set_new(args, "vm", json_string(argv[0]));
	json_object_set_new(args, "to", json_string(to));
	if (json_array_size(nm))
		json_object_set(args, "network_map", nm);
	if (json_array_size(dm))
		json_object_set(args, "datastore_map", dm);
	json_decref(nm);
	json_decref(dm);
	if (ctl_call("migrate", args, &r) != 0)
		return 1;
	if (wait) {
		char id[32];
		snprintf(id, sizeof(id), "%s", ctl_js(r, "job"));
		if (!ctl_json_out)
			fprintf(stderr, "job %s: migrating %s to %s\n", id, argv[0], to);
		json_decref(r);
		return wait_job(id);
	}
	if (ctl_json_out)
		return ctl_print_json(r);
	printf("job %s: migrating %s to %s (follow it with: ferryctl job show %s)\n", ctl_js(r, "job"), argv[0], to,
	    ctl_js(r, "job"));
	json_decref(r);
	return 0;
usage:
	json_decref(args);
	json_decref(nm);
	json_decref(dm);
	fprintf(stderr, "usage: ferryctl %s\n", MIGRATE_USAGE);
	return 2;
}

static int
cmd_jobs(int argc, char **argv)
{
	json_t *r, *j;
	size_t i;

	ctl_unknown_opts(argc, argv, "jobs");
	ctl_want_args(argc, 0, "jobs");
	if (ctl_call("jobs", NULL, &r) != 0)
		return 1;
	if (ctl_json_out)
		return ctl_print_json(r);
	if (json_array_size(r) == 0)
		printf("no jobs\n");
	else
		printf("%-15s %-12s %-16s %-12s %-8s %-10s %s\n", "JOB", "ROLE", "VM", "PEER", "PHASE", "OUTCOME",
		    "CREATED");
	json_array_foreach(r, i, j)
		printf("%-15s %-12s %-16s %-12s %-8s %-10s %s\n", ctl_js(j, "id"), ctl_js(j, "role"), ctl_js(j, "vm"),
		    ctl_js(j, "peer"), ctl_js(j, "phase"), ctl_js(j, "outcome"), ctl_js(j, "created"));
	json_decref(r);
	return 0;
}

static int
cmd_job_show(int argc, char **argv)
{
	json_t *r, *e;
	size_t i;
	char line[400];

	ctl_unknown_opts(argc, argv, "job show ID");
	ctl_want_args(argc, 1, "job show ID");
	if (job_get(argv[0], &r) != 0)
		return 1;
	if (ctl_json_out)
		return ctl_print_json(r);
	if (strcmp(ctl_js(r, "outcome"), "active") == 0) {
		printf("job %s: %s %s %s, phase %s%s\n", ctl_js(r, "id"), ctl_js(r, "vm"),
		    strcmp(ctl_js(r, "role"), "source") == 0 ? "to" : "from", ctl_js(r, "peer"), ctl_js(r, "phase"),
		    json_is_true(json_object_get(r, "cancel_requested")) ? " (cancel requested)" : "");
		progress_line(r, line, sizeof(line));
		printf("  %s\n", line);
	} else
		print_summary(r);
	printf("events:\n");
	json_array_foreach(json_object_get(r, "events"), i, e)
		printf("  %s  %-8s %s\n", ctl_js(e, "time"), ctl_js(e, "phase"), ctl_js(e, "message"));
	json_decref(r);
	return 0;
}

static int
cmd_job_cancel(int argc, char **argv)
{
	json_t *r;

	ctl_unknown_opts(argc, argv, "job cancel ID");
	ctl_want_args(argc, 1, "job cancel ID");
	if (ctl_call("job-cancel", json_pack("{s:s}", "id", argv[0]), &r) != 0)
		return 1;
	if (ctl_json_out)
		return ctl_print_json(r);
	printf("job %s: cancel requested in phase %s; the VM stays at this site\n", ctl_js(r, "job"),
	    ctl_js(r, "phase"));
	json_decref(r);
	return 0;
}

const struct ctl_cmd ctl_job_cmds[] = {
	{ "migrate", NULL, cmd_migrate, MIGRATE_USAGE, "live-migrate a VM to a paired site" },
	{ "jobs", NULL, cmd_jobs, "jobs", "migration jobs, newest first" },
	{ "job", "show", cmd_job_show, "job show ID", "a job's progress, summary and events" },
	{ "job", "cancel", cmd_job_cancel, "job cancel ID", "stop a migration before switchover" },
	{ NULL, NULL, NULL, NULL, NULL },
};
