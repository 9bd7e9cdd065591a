/*
 * vimprobe - drive the vim25 client library (gateway/vim.h) from the
 * command line and print what it got as JSON lines.  Used by
 * tests/integration/vsphere-client.sh against the vCenter simulator.
 *
 *   vimprobe -u URL -t THUMBPRINT -c CREDFILE [-T SECS] [-p PAGE] [-m MAXOBJ] [-w SECS] COMMAND
 *     about                      RetrieveServiceContent: versions, instance UUID
 *     login                      log in (and out)
 *     keepalive                  log in, wait -w seconds, keep alive
 *     list TYPE PROP...          every TYPE with those properties, one line each
 *     check-relocate VM [HOST]   vCenter's CheckRelocate_Task (VM and HOST by name)
 *
 * -w SECS waits that long after logging in before the command (session
 * expiry tests).  Errors: one line {"error": CODE, "fault": TYPE,
 * "message": ...} and exit 1; bad usage exits 2.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "gateway/gateway.h"
#include "gateway/vim.h"

/*
 * ferryd links the vim25 module next to the federation's generated code
 * (which holds the SOAP Header/Fault serializers and the default namespace
 * table gSOAP's runtime wants): link the federation client here too, so
 * this tool is built the way the daemon is.
 */
void (*volatile vimprobe_fed_link)(struct fed_client *) = fed_client_free;

static void
usage(void)
{
	fprintf(stderr, "usage: vimprobe -u URL -t THUMBPRINT -c CREDFILE [-T SECS] [-p PAGE] [-m MAXOBJ] [-w SECS]\n"
	    "    about | login | keepalive | list TYPE PROP... | check-relocate VM [HOST]\n");
	exit(2);
}

static void
emit(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (s != NULL)
		printf("%s\n", s);
	free(s);
	json_decref(j);
	fflush(stdout);
}

static int
fail(struct vim *c, const struct fy_error *err)
{
	emit(json_pack("{s:s, s:s, s:s}", "error", fy_errname(err->code), "fault", c ? vim_fault(c) : "",
	    "message", err->msg));
	return 1;
}

/* A value as JSON: leaves are text (MoRefs "Type:id"), the rest objects
   by child name (repeated names become arrays). */
static json_t *
val_json(const struct vim_val *v)
{
	const struct vim_val *k;
	json_t *o, *prev, *arr;
	size_t i;

	if (vim_val_count(v) == 0) {
		if (*vim_val_attr_type(v) != '\0')
			return json_sprintf("%s:%s", vim_val_attr_type(v), vim_val_text(v));
		return json_string(vim_val_text(v));
	}
	o = json_object();
	for (i = 0; i < vim_val_count(v); i++) {
		k = vim_val_child(v, i);
		if ((prev = json_object_get(o, vim_val_name(k))) == NULL) {
			json_object_set_new(o, vim_val_name(k), val_json(k));
			continue;
		}
		if (!json_is_array(prev)) {
			arr = json_array();
			json_array_append(arr, prev);
			json_object_set_new(o, vim_val_name(k), arr);
			prev = arr;
		}
		json_array_append_new(prev, val_json(k));
	}
	if (*vim_val_type(v, NULL) != '\0')
		json_object_set_new(o, "_type", json_string(vim_val_type(v, NULL)));
	return o;
}

static json_t *
obj_json(const struct vim_objset *s, size_t i)
{
	const struct vim_val *v;
	const char *name, *ns, *t;
	json_t *props = json_object(), *missing = json_array();
	size_t j;

	for (j = 0; j < vim_obj_nprops(s, i); j++) {
		v = vim_obj_prop_at(s, i, j, &name);
		t = vim_val_type(v, &ns);
		json_object_set_new(props, name, json_pack("{s:s, s:s, s:o}", "xsi_type", t, "xsi_ns", ns,
		    "value", val_json(v)));
	}
	for (j = 0; j < vim_obj_nmissing(s, i); j++)
		json_array_append_new(missing, json_string(vim_obj_missing_at(s, i, j)));
	return json_pack("{s:s, s:s, s:o, s:o}", "type", vim_obj_type(s, i), "id", vim_obj_id(s, i),
	    "props", props, "missing", missing);
}

/* The id of the object of type named name, from a collect of "name". */
static int
by_name(struct vim *c, const char *type, const char *name, char **id, struct fy_error *err)
{
	static const char *const path[] = { "name" };
	struct vim_objset *s = NULL;
	const char *n;
	size_t i;
	int r;

	*id = NULL;
	if ((r = vim_collect(c, type, path, 1, &s, err)) != 0)
		return r;
	for (i = 0; i < vim_objset_count(s); i++)
		if (vim_val_str(vim_obj_prop(s, i, "name"), &n) == 0 && strcmp(n, name) == 0) {
			*id = strdup(vim_obj_id(s, i));
			break;
		}
	vim_objset_free(s);
	if (*id == NULL)
		return fy_fail(err, FY_ERR_NOTFOUND, "no %s named %s", type, name);
	return 0;
}

int
main(int argc, char **argv)
{
	struct vim_opts o;
	struct vim *c = NULL;
	struct vim_about a;
	struct vim_objset *s = NULL;
	struct fy_error err;
	const struct vim_val *res, *cr, *m;
	char *vm = NULL, *host = NULL;
	long long n;
	int ch, wait_s = 0, r = 1;
	size_t i, j;
	json_t *warn, *errs;

	memset(&o, 0, sizeof(o));
	memset(&err, 0, sizeof(err));
	while ((ch = getopt(argc, argv, "u:t:c:T:p:m:w:")) != -1) {
		switch (ch) {
		case 'u': o.url = optarg; break;
		case 't': o.thumbprint = optarg; break;
		case 'c': o.cred_file = optarg; break;
		case 'T':
		case 'p':
		case 'm':
		case 'w':
			if (fy_parse_int(optarg, 0, 10000000, &n) != 0)
				usage();
			if (ch == 'T')
				o.timeout_s = (int)n;
			else if (ch == 'p')
				o.page_size = (int)n;
			else if (ch == 'm')
				o.max_objects = (size_t)n;
			else
				wait_s = (int)n;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || o.url == NULL || o.thumbprint == NULL || o.cred_file == NULL)
		usage();
	fy_log_init("vimprobe", 1, FY_LOG_WARN);
	if (vim_new(&o, &c, &err) != 0)
		return fail(NULL, &err);

	if (strcmp(argv[0], "about") == 0 && argc == 1) {
		if (vim_about(c, &a, &err) != 0)
			goto fail;
		emit(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "name", a.name, "version", a.version,
		    "build", a.build, "api_type", a.api_type, "api_version", a.api_version,
		    "instance_uuid", a.instance_uuid, "full_name", a.full_name));
		r = 0;
		goto out;
	}
	if (vim_login(c, &err) != 0)
		goto fail;
	if (wait_s > 0)
		sleep((unsigned)wait_s);
	if (strcmp(argv[0], "login") == 0 && argc == 1) {
		emit(json_pack("{s:s}", "login", "ok"));
	} else if (strcmp(argv[0], "keepalive") == 0 && argc == 1) {
		if (vim_keepalive(c, &err) != 0)
			goto fail;
		emit(json_pack("{s:s, s:i}", "keepalive", "ok", "relogins", (int)vim_relogins(c)));
	} else if (strcmp(argv[0], "list") == 0 && argc >= 2) {
		if (vim_collect(c, argv[1], (const char *const *)argv + 2, (size_t)argc - 2, &s, &err) != 0)
			goto fail;
		for (i = 0; i < vim_objset_count(s); i++)
			emit(obj_json(s, i));
		emit(json_pack("{s:i, s:i, s:i}", "count", (int)vim_objset_count(s), "pages",
		    (int)vim_objset_pages(s), "relogins", (int)vim_relogins(c)));
	} else if (strcmp(argv[0], "check-relocate") == 0 && (argc == 2 || argc == 3)) {
		if (by_name(c, "VirtualMachine", argv[1], &vm, &err) != 0 ||
		    (argc == 3 && by_name(c, "HostSystem", argv[2], &host, &err) != 0))
			goto fail;
		if (vim_check_relocate(c, vm, host, 0, &s, &err) != 0)
			goto fail;
		res = vim_val_path(vim_obj_prop(s, 0, "info"), "result");
		for (i = 0; i < vim_val_count(res); i++) {
			cr = vim_val_child(res, i);
			warn = json_array();
			errs = json_array();
			for (j = 0; j < vim_val_count(cr); j++) {
				m = vim_val_child(cr, j);
				if (strcmp(vim_val_name(m), "warning") == 0)
					json_array_append_new(warn, json_string(vim_val_text(vim_val_path(m,
					    "localizedMessage"))));
				else if (strcmp(vim_val_name(m), "error") == 0)
					json_array_append_new(errs, json_string(vim_val_text(vim_val_path(m,
					    "localizedMessage"))));
			}
			emit(json_pack("{s:s, s:s, s:o, s:o}", "vm", vim_val_text(vim_val_path(cr, "vm")),
			    "host", vim_val_text(vim_val_path(cr, "host")), "warnings", warn, "errors", errs));
		}
		emit(json_pack("{s:i}", "results", (int)vim_val_count(res)));
	} else
		usage();
	r = 0;
	goto out;
fail:
	r = fail(c, &err);
out:
	free(vm);
	free(host);
	vim_objset_free(s);
	vim_free(c);
	return r;
}
