/*
 * ops_vm.c - the admin operations on the site's VMs (ferryctl vm ...),
 * through the management domain's ops table.  Changes are audited.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "gateway.h"
#include "domain.h"

#define SHOW_TAIL_DEFAULT	10
#define SHOW_TAIL_MAX		1000
#define SHOW_TAIL_BYTES		(64 * 1024)	/* read at most this much of serial.log */

static const char *
arg_str(json_t *args, const char *k)
{
	return args ? json_string_value(json_object_get(args, k)) : NULL;
}

static struct domain *
domain_of(struct site *s, struct fy_error *err)
{
	if (s->dom == NULL)
		fy_fail(err, FY_ERR_STATE, "the %s domain is not available (ferryd could not start it; see its log)",
		    s->conf.domain ? s->conf.domain : "management");
	return s->dom;
}

/* The "name" argument, or an error. */
static const char *
arg_name(json_t *args, struct fy_error *err)
{
	const char *name = arg_str(args, "name");

	if (name == NULL || name[0] == '\0')
		fy_fail(err, FY_ERR_INVAL, "missing VM name");
	return name && name[0] ? name : NULL;
}

static void
audit(struct site *s, const struct admin_caller *who, const char *action, const char *outcome,
    const char *name, const char *detail)
{
	struct fy_db *db = NULL;

	if (site_open_db(s, &db) != 0 ||
	    trust_audit(db, who->actor, NULL, action, outcome, "VM %s%s%s", name, detail[0] ? ": " : "", detail) != 0)
		log_warnx("cannot audit %s of VM %s", action, name);
	fy_db_close(db);
}

static json_t *
status_json(const struct vm_status *st)
{
	json_t *j;

	j = json_pack("{s:s, s:i, s:o, s:I, s:s, s:s, s:s, s:s, s:I, s:I, s:I}",
	    "state", vm_state_name(st->state), "pid", st->pid, "started", fy_time_json(st->started_ms),
	    "started_ms", (json_int_t)st->started_ms, "job", st->job, "dir", st->dir,
	    "qmp", st->qmp_path, "job_qmp", st->job_qmp_path,
	    "serial_first_ms", (json_int_t)st->serial_first_ms,
	    "serial_last_ms", (json_int_t)st->serial_last_ms,
	    "serial_lines", (json_int_t)st->serial_lines);
	return j;
}

static json_t *
op_vm_define(struct site *s, const struct admin_caller *who, json_t *args, struct fy_error *err)
{
	struct domain *d;
	struct vm_spec sp;
	json_t *spec = args ? json_object_get(args, "spec") : NULL;
	char detail[160];

	if ((d = domain_of(s, err)) == NULL)
		return NULL;
	if (spec == NULL) {
		fy_fail(err, FY_ERR_INVAL, "missing spec");
		return NULL;
	}
	if (vm_spec_from_json(spec, &sp, err) != 0 || d->ops->define(d, &sp, err) != 0)
		return NULL;
	snprintf(detail, sizeof(detail), "defined, uuid %s, %d vCPUs, %llu MiB, %d disks, %d NICs", sp.uuid,
	    sp.vcpus, (unsigned long long)sp.memory_mib, sp.ndisks, sp.nnics);
	audit(s, who, "vm-define", "ok", sp.name, detail);
	return json_pack("{s:s, s:s, s:o}", "name", sp.name, "uuid", sp.uuid, "spec", vm_spec_to_json(&sp));
}

static json_t *
op_vm_start(struct site *s, const struct admin_caller *who, json_t *args, struct fy_error *err)
{
	struct domain *d;
	struct vm_status st;
	const char *name;
	char detail[64];

	if ((d = domain_of(s, err)) == NULL || (name = arg_name(args, err)) == NULL)
		return NULL;
	if (d->ops->start(d, name, err) != 0) {
		if (err->code != FY_ERR_NOTFOUND && err->code != FY_ERR_INVAL)
			audit(s, who, "vm-start", err->code == FY_ERR_STATE ? "refused" : "failed", name, err->msg);
		return NULL;
	}
	if (d->ops->lookup(d, name, NULL, &st, err) != 0)
		return NULL;
	snprintf(detail, sizeof(detail), "QEMU pid %d", st.pid);
	audit(s, who, "vm-start", "ok", name, detail);
	return json_pack("{s:s, s:s, s:i, s:o}", "name", name, "state", vm_state_name(st.state), "pid", st.pid,
	    "started", fy_time_json(st.started_ms));
}

static json_t *
op_vm_stop(struct site *s, const struct admin_caller *who, json_t *args, struct fy_error *err)
{
	struct domain *d;
	struct vm_status st;
	const char *name;
	int force = args ? json_is_true(json_object_get(args, "force")) : 0;
	int64_t t0 = fy_mono_ms();

	if ((d = domain_of(s, err)) == NULL || (name = arg_name(args, err)) == NULL)
		return NULL;
	if (d->ops->stop(d, name, force, err) != 0) {
		if (err->code != FY_ERR_NOTFOUND && err->code != FY_ERR_INVAL)
			audit(s, who, "vm-stop", err->code == FY_ERR_STATE ? "refused" : "failed", name, err->msg);
		return NULL;
	}
	audit(s, who, "vm-stop", "ok", name, force ? "forced" : "");
	if (d->ops->lookup(d, name, NULL, &st, err) != 0)
		return NULL;
	return json_pack("{s:s, s:s, s:b, s:I}", "name", name, "state", vm_state_name(st.state), "forced", force,
	    "elapsed_ms", (json_int_t)(fy_mono_ms() - t0));
}

static json_t *
op_vm_undefine(struct site *s, const struct admin_caller *who, json_t *args, struct fy_error *err)
{
	struct domain *d;
	struct vm_spec sp;
	const char *name;

	if ((d = domain_of(s, err)) == NULL || (name = arg_name(args, err)) == NULL)
		return NULL;
	if (d->ops->lookup(d, name, &sp, NULL, err) != 0 || d->ops->undefine(d, name, err) != 0)
		return NULL;
	audit(s, who, "vm-undefine", "ok", name, "disks kept");
	return json_pack("{s:s, s:s, s:i}", "name", name, "uuid", sp.uuid, "disks_kept", sp.ndisks);
}

static json_t *
op_vm_list(struct site *s, const struct admin_caller *who, json_t *args, struct fy_error *err)
{
	struct domain *d;

	if ((d = domain_of(s, err)) == NULL)
		return NULL;
	return d->ops->list(d, err);
}

/* The last n lines of serial.log (its last SHOW_TAIL_BYTES at most). */
static json_t *
serial_tail(const char *dir, int n)
{
	char path[PATH_MAX], *buf = NULL, *p, *e;
	json_t *arr = json_array();
	ssize_t got;
	off_t size;
	int fd, count = 0;

	if (n <= 0 || (size_t)snprintf(path, sizeof(path), "%s/serial.log", dir) >= sizeof(path) ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return arr;
	size = lseek(fd, 0, SEEK_END);
	if (size > SHOW_TAIL_BYTES)
		(void)lseek(fd, size - SHOW_TAIL_BYTES, SEEK_SET);
	else
		(void)lseek(fd, 0, SEEK_SET);
	if ((buf = malloc(SHOW_TAIL_BYTES + 1)) == NULL || (got = read(fd, buf, SHOW_TAIL_BYTES)) <= 0) {
		free(buf);
		close(fd);
		return arr;
	}
	close(fd);
	buf[got] = '\0';
	/* Skip a partial first line when we started mid-file; stop at the last complete line. */
	p = buf;
	if (size > SHOW_TAIL_BYTES && (p = strchr(buf, '\n')) != NULL)
		p++;
	else if (size > SHOW_TAIL_BYTES)
		p = buf + got;
	e = buf + got;
	while (e > p && e[-1] != '\n')
		e--;
	/* Walk back n lines from the end. */
	{
		char *start = e;
		while (start > p && count < n) {
			start--;
			while (start > p && start[-1] != '\n')
				start--;
			count++;
		}
		for (; start < e; start = strchr(start, '\n') + 1) {
			size_t len = strcspn(start, "\n");
			json_t *js = json_stringn(start, len);	/* NULL if not UTF-8: the log is ASCII */
			if (js != NULL)
				json_array_append_new(arr, js);
		}
	}
	free(buf);
	return arr;
}

static json_t *
op_vm_show(struct site *s, const struct admin_caller *who, json_t *args, struct fy_error *err)
{
	struct domain *d;
	struct vm_spec sp;
	struct vm_status st;
	const char *name;
	json_int_t lines = SHOW_TAIL_DEFAULT;
	json_t *l = args ? json_object_get(args, "lines") : NULL, *j;

	if ((d = domain_of(s, err)) == NULL || (name = arg_name(args, err)) == NULL)
		return NULL;
	if (l != NULL) {
		if (!json_is_integer(l) || json_integer_value(l) < 0 || json_integer_value(l) > SHOW_TAIL_MAX) {
			fy_fail(err, FY_ERR_INVAL, "--lines: give 0 to %d", SHOW_TAIL_MAX);
			return NULL;
		}
		lines = json_integer_value(l);
	}
	if (d->ops->lookup(d, name, &sp, &st, err) != 0)
		return NULL;
	j = json_pack("{s:s, s:o, s:o, s:o}", "name", name, "spec", vm_spec_to_json(&sp),
	    "status", status_json(&st), "serial_tail", serial_tail(st.dir, (int)lines));
	if (j == NULL)
		fy_fail(err, FY_ERR_NOMEM, "out of memory");
	return j;
}

static json_t *
op_vm_facts(struct site *s, const struct admin_caller *who, json_t *args, struct fy_error *err)
{
	struct domain *d;

	if ((d = domain_of(s, err)) == NULL)
		return NULL;
	return d->ops->facts(d, err);
}

const struct op_ent fy_vm_ops[] = {
	{ "vm-define", op_vm_define },
	{ "vm-start", op_vm_start },
	{ "vm-stop", op_vm_stop },
	{ "vm-undefine", op_vm_undefine },
	{ "vm-list", op_vm_list },
	{ "vm-show", op_vm_show },
	{ "vm-facts", op_vm_facts },
	{ NULL, NULL },
};
