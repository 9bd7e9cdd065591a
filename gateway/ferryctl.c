/*
 * ferryctl - control a local ferryd through its admin socket.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "config.h"
#include "gateway.h"
#include "ctl.h"

#define DEFAULT_CONF FY_SYSCONFDIR "/ferry/ferryd.conf"

int ctl_json_out;
static const char *sock_path;


static void usage_all(FILE *);

int
ctl_call(const char *cmd, json_t *args, json_t **result)
{
	struct sockaddr_un sun;
	struct fy_buf *resp = NULL;
	json_t *req, *j;
	json_error_t je;
	char *s;
	int fd, r;

	*result = NULL;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		fprintf(stderr, "ferryctl: socket: %s\n", strerror(errno));
		json_decref(args);
		return 1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fprintf(stderr, "ferryctl: cannot reach ferryd at %s: %s%s\n", sock_path, strerror(errno),
		    errno == EACCES ? " (only administrators may use ferryctl)" :
		    errno == ENOENT || errno == ECONNREFUSED ? " (is ferryd running?)" : "");
		close(fd);
		json_decref(args);
		return 1;
	}
	req = json_pack("{s:s, s:o}", "cmd", cmd, "args", args ? args : json_object());
	s = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (s == NULL || admin_send(fd, s, strlen(s)) != 0 ||
	    (r = admin_recv(fd, FY_ADMIN_RESP_MAX, &resp)) != 0) {
		/* ferryd may have refused us and closed first: read what it said. */
		free(s);
		s = NULL;
		if (resp == NULL && admin_recv(fd, FY_ADMIN_RESP_MAX, &resp) != 0) {
			fprintf(stderr, "ferryctl: ferryd closed the connection\n");
			close(fd);
			return 1;
		}
	}
	free(s);
	close(fd);
	j = json_loadb((const char *)fy_buf_ptr(resp), fy_buf_len(resp), 0, &je);
	fy_buf_free(resp);
	if (j == NULL) {
		fprintf(stderr, "ferryctl: unreadable reply from ferryd\n");
		return 1;
	}
	if (!json_is_true(json_object_get(j, "ok"))) {
		if (ctl_json_out) {
			char *o = json_dumps(j, JSON_INDENT(2));
			if (o != NULL)
				printf("%s\n", o);
			free(o);
		} else
			fprintf(stderr, "ferryctl: %s: %s\n", cmd,
			    json_string_value(json_object_get(j, "message")) ?: "failed");
		json_decref(j);
		return 1;
	}
	*result = json_incref(json_object_get(j, "result"));
	json_decref(j);
	return 0;
}

/* Print j for scripts and release it. */
int
ctl_print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY);

	if (s != NULL)
		printf("%s\n", s);
	free(s);
	json_decref(j);
	return 0;
}

const char *
ctl_js(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

int
ctl_want_args(int argc, int n, const char *usage)
{
	if (argc != n) {
		fprintf(stderr, "usage: ferryctl %s\n", usage);
		exit(2);
	}
	return 0;
}

/* Strip recognised options from argv; returns remaining argc. */
int
ctl_opt_take(int *argc, char **argv, const char *name, const char **val)
{
	int i, j;

	for (i = 0; i < *argc; i++) {
		size_t nl = strlen(name);
		if (strncmp(argv[i], name, nl) != 0 || (argv[i][nl] != '\0' && argv[i][nl] != '='))
			continue;
		if (val == NULL) {
			if (argv[i][nl] == '=')
				return -1;
			for (j = i; j + 1 < *argc; j++)
				argv[j] = argv[j + 1];
			(*argc)--;
			return 1;
		}
		if (argv[i][nl] == '=') {
			*val = argv[i] + nl + 1;
			for (j = i; j + 1 < *argc; j++)
				argv[j] = argv[j + 1];
			(*argc)--;
			return 1;
		}
		if (i + 1 >= *argc)
			return -1;
		*val = argv[i + 1];
		for (j = i; j + 2 < *argc; j++)
			argv[j] = argv[j + 2];
		*argc -= 2;
		return 1;
	}
	return 0;
}

int
ctl_unknown_opts(int argc, char **argv, const char *usage)
{
	int i;

	for (i = 0; i < argc; i++)
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "ferryctl: unknown option %s\nusage: ferryctl %s\n", argv[i], usage);
			exit(2);
		}
	return 0;
}

static int
cmd_status(int argc, char **argv)
{
	json_t *r;

	ctl_unknown_opts(argc, argv, "status");
	ctl_want_args(argc, 0, "status");
	if (ctl_call("status", NULL, &r) != 0)
		return 1;
	if (ctl_json_out)
		return ctl_print_json(r);
	printf("site:         %s\n", ctl_js(r, "site"));
	printf("fingerprint:  %s\n", ctl_js(r, "fingerprint"));
	if (json_object_get(r, "previous_fingerprint"))
		printf("previous key: %s (accepted during the rotation overlap)\n", ctl_js(r, "previous_fingerprint"));
	printf("endpoint:     %s\n", ctl_js(r, "endpoint"));
	printf("software:     %s (protocol %lld)\n", ctl_js(r, "software"),
	    (long long)json_integer_value(json_object_get(r, "protocol")));
	printf("peers:        %lld\n", (long long)json_integer_value(json_object_get(r, "peers")));
	printf("live invites: %lld\n", (long long)json_integer_value(json_object_get(r, "live_invites")));
	printf("started:      %s\n", ctl_js(r, "started"));
	printf("state dir:    %s\n", ctl_js(r, "state_dir"));
	json_decref(r);
	return 0;
}

static int
cmd_identity_show(int argc, char **argv)
{
	return cmd_status(argc, argv);
}

static int
cmd_rotate(int argc, char **argv)
{
	json_t *r, *p;
	size_t i;
	int force = ctl_opt_take(&argc, argv, "--force", NULL) == 1;

	ctl_unknown_opts(argc, argv, "identity rotate [--force]");
	ctl_want_args(argc, 0, "identity rotate [--force]");
	if (ctl_call("identity-rotate", json_pack("{s:b}", "force", force), &r) != 0)
		return 1;
	if (ctl_json_out)
		return ctl_print_json(r);
	printf("new fingerprint:      %s\n", ctl_js(r, "fingerprint"));
	printf("previous fingerprint: %s (accepted for %llds more)\n", ctl_js(r, "previous_fingerprint"),
	    (long long)json_integer_value(json_object_get(r, "overlap_s")));
	json_array_foreach(json_object_get(r, "peers"), i, p)
		printf("  peer %-20s %s%s%s\n", ctl_js(p, "peer"), json_is_true(json_object_get(p, "ok")) ?
		    "took the new key" : "NOT told: ", json_is_true(json_object_get(p, "ok")) ? "" : ctl_js(p, "error"), "");
	json_decref(r);
	return 0;
}

static int
cmd_invite(int argc, char **argv)
{
	const char *ttl = NULL;
	json_t *r;

	int64_t secs;

	if (ctl_opt_take(&argc, argv, "--ttl", &ttl) < 0 ||
	    (ttl != NULL && (fy_parse_duration(ttl, &secs) != 0 || secs < 60 || secs > 3600))) {
		fprintf(stderr, "ferryctl: --ttl: give a duration from 1m to 1h (e.g. 10m)\n"
		    "usage: ferryctl pair invite [--ttl DURATION]\n");
		return 2;
	}
	ctl_unknown_opts(argc, argv, "pair invite [--ttl DURATION]");
	ctl_want_args(argc, 0, "pair invite [--ttl DURATION]");
	if (ctl_call("pair-invite", ttl ? json_pack("{s:s}", "ttl", ttl) : NULL, &r) != 0)
		return 1;
	if (ctl_json_out)
		return ctl_print_json(r);
	printf("%s\n", ctl_js(r, "invite"));
	fprintf(stderr, "\nOne-time invite for site %s, valid until %s.\n"
	    "At the other site run:  ferryctl pair join <the line above>\n"
	    "Then compare this site's fingerprint by voice: %s\n",
	    ctl_js(r, "site"), ctl_js(r, "expires"), ctl_js(r, "fingerprint"));
	json_decref(r);
	return 0;
}

static int
cmd_join(int argc, char **argv)
{
	json_t *r;

	ctl_unknown_opts(argc, argv, "pair join INVITE");
	ctl_want_args(argc, 1, "pair join INVITE");
	if (ctl_call("pair-join", json_pack("{s:s}", "invite", argv[0]), &r) != 0)
		return 1;
	if (ctl_json_out)
		return ctl_print_json(r);
	printf("paired with %s at %s in %lld ms\n", ctl_js(r, "peer"), ctl_js(r, "endpoint"),
	    (long long)json_integer_value(json_object_get(r, "elapsed_ms")));
	printf("peer fingerprint: %s\n", ctl_js(r, "fingerprint"));
	json_decref(r);
	return 0;
}

static int
cmd_remove(int argc, char **argv)
{
	json_t *r;
	int force = ctl_opt_take(&argc, argv, "--force", NULL) == 1;

	ctl_unknown_opts(argc, argv, "pair remove SITE [--force]");
	ctl_want_args(argc, 1, "pair remove SITE [--force]");
	if (ctl_call("pair-remove", json_pack("{s:s, s:b}", "site", argv[0], "force", force), &r) != 0)
		return 1;
	if (ctl_json_out)
		return ctl_print_json(r);
	if (json_is_true(json_object_get(r, "peer_notified")))
		printf("unpaired %s on both sides\n", ctl_js(r, "site"));
	else
		printf("unpaired %s here only (%s); remove it at the other site too\n", ctl_js(r, "site"),
		    ctl_js(r, "peer_error"));
	json_decref(r);
	return 0;
}

static int
cmd_peers(int argc, char **argv)
{
	json_t *r, *p;
	size_t i;

	ctl_unknown_opts(argc, argv, "peers");
	ctl_want_args(argc, 0, "peers");
	if (ctl_call("peers", NULL, &r) != 0)
		return 1;
	if (ctl_json_out)
		return ctl_print_json(r);
	if (json_array_size(r) == 0)
		printf("no paired sites (pair with: ferryctl pair invite)\n");
	else
		printf("%-16s %-22s %-21s %-21s %s\n", "NAME", "ENDPOINT", "PAIRED SINCE", "LAST CONTACT",
		    "FINGERPRINT");
	json_array_foreach(r, i, p) {
		printf("%-16s %-22s %-21s %-21s %s\n", ctl_js(p, "name"), ctl_js(p, "endpoint"), ctl_js(p, "paired"),
		    ctl_js(p, "last_contact"), ctl_js(p, "fingerprint"));
		if (json_object_get(p, "previous_fingerprint"))
			printf("%-16s previous key %s accepted until %s\n", "", ctl_js(p, "previous_fingerprint"),
			    ctl_js(p, "previous_until"));
		if (json_object_get(p, "next_fingerprint"))
			printf("%-16s next key %s announced, current once seen in use\n", "",
			    ctl_js(p, "next_fingerprint"));
	}
	json_decref(r);
	return 0;
}

static int
cmd_ping(int argc, char **argv)
{
	const char *cnt = NULL;
	long long n = 3;
	json_t *r;

	if (ctl_opt_take(&argc, argv, "--count", &cnt) < 0 ||
	    (cnt != NULL && fy_parse_int(cnt, 1, 100, &n) != 0)) {
		fprintf(stderr, "usage: ferryctl peer ping SITE [--count 1-100]\n");
		return 2;
	}
	ctl_unknown_opts(argc, argv, "peer ping SITE [--count N]");
	ctl_want_args(argc, 1, "peer ping SITE [--count N]");
	if (ctl_call("peer-ping", json_pack("{s:s, s:I}", "site", argv[0], "count", (json_int_t)n), &r) != 0)
		return 1;
	if (ctl_json_out)
		return ctl_print_json(r);
	printf("%s (%s) at %s: %s, protocol %lld\n", ctl_js(r, "site"), ctl_js(r, "fingerprint"), ctl_js(r, "endpoint"),
	    ctl_js(r, "software"), (long long)json_integer_value(json_object_get(r, "protocol")));
	printf("round trip: min %.2f ms, avg %.2f ms, max %.2f ms over %lld calls "
	    "(connect + TLS 1.3 + token: %.2f ms)\n",
	    json_real_value(json_object_get(r, "rtt_min_ms")),
	    json_real_value(json_object_get(r, "rtt_avg_ms")),
	    json_real_value(json_object_get(r, "rtt_max_ms")),
	    (long long)json_integer_value(json_object_get(r, "count")),
	    json_real_value(json_object_get(r, "connect_ms")));
	printf("clock offset: %+lld ms (peer minus local)\n",
	    (long long)json_integer_value(json_object_get(r, "clock_offset_ms")));
	json_decref(r);
	return 0;
}

static int
cmd_link_test(int argc, char **argv)
{
	const char *secs = NULL, *streams = NULL, *bytes = NULL;
	long long n = 10, k, nb = 0;
	json_t *r;

	if (ctl_opt_take(&argc, argv, "--seconds", &secs) < 0 || ctl_opt_take(&argc, argv, "--streams", &streams) < 0 ||
	    ctl_opt_take(&argc, argv, "--bytes", &bytes) < 0 ||
	    (secs != NULL && fy_parse_int(secs, 1, 600, &n) != 0) ||
	    (bytes != NULL && fy_parse_size(bytes, &nb) != 0) ||
	    (streams != NULL && strcmp(streams, "auto") != 0 && fy_parse_int(streams, 1, 32, &k) != 0)) {
		fprintf(stderr, "usage: ferryctl link test SITE [--seconds 1-600] [--bytes SIZE] [--streams N|auto]\n");
		return 2;
	}
	ctl_unknown_opts(argc, argv, "link test SITE [--seconds N] [--streams N|auto]");
	ctl_want_args(argc, 1, "link test SITE [--seconds N] [--streams N|auto]");
	if (!ctl_json_out)
		fprintf(stderr, "testing the link to %s for %lld s ...\n", argv[0], n);
	if (ctl_call("link-test", json_pack("{s:s, s:I, s:I, s:s}", "site", argv[0], "seconds", (json_int_t)n,
	    "bytes", (json_int_t)nb, "streams", streams ? streams : "auto"), &r) != 0)
		return 1;
	if (ctl_json_out)
		return ctl_print_json(r);
	printf("%-22s %s\n", "peer", ctl_js(r, "site"));
	printf("%-22s %.1f Mbit/s (%lld bytes in %.2f s, verified by the peer)\n", "goodput",
	    json_real_value(json_object_get(r, "goodput_mbit")),
	    (long long)json_integer_value(json_object_get(r, "bytes")),
	    json_real_value(json_object_get(r, "seconds")));
	printf("%-22s %s (XXH3-128 %s at both ends)\n", "integrity",
	    json_is_true(json_object_get(r, "verified")) ? "verified" : "NOT verified", ctl_js(r, "xxh128"));
	printf("%-22s %.2f ms (%.2f ms under the test's load)\n", "round trip (TCP)",
	    json_real_value(json_object_get(r, "rtt_ms")), json_real_value(json_object_get(r, "rtt_loaded_ms")));
	printf("%-22s %lld segments (under the test's load: they include its own overflow of the bottleneck's "
	    "queue)\n", "retransmits", (long long)json_integer_value(json_object_get(r, "retransmits")));
	if (json_is_number(json_object_get(r, "loss_pct"))) {
		json_t *p = json_object_get(r, "probe");
		printf("%-22s %.2f %% (a paced probe after the test: %lld bytes at %.1f Mbit/s, %lld segments resent)\n",
		    "loss", json_number_value(json_object_get(r, "loss_pct")),
		    (long long)json_integer_value(json_object_get(p, "bytes")),
		    json_number_value(json_object_get(p, "mbit")),
		    (long long)json_integer_value(json_object_get(p, "retransmits")));
	} else if (json_is_string(json_object_get(r, "loss_error")))
		printf("%-22s not measured: %s\n", "loss", ctl_js(r, "loss_error"));
	printf("%-22s %lld (%s; most at once %lld)\n", "streams",
	    (long long)json_integer_value(json_object_get(r, "streams")), ctl_js(r, "mode"),
	    (long long)json_integer_value(json_object_get(r, "streams_max")));
	printf("%-22s %s\n", "congestion control", ctl_js(r, "congestion"));
	printf("%-22s send %lld, receive %lld bytes per stream%s\n", "socket buffers",
	    (long long)json_integer_value(json_object_get(r, "sndbuf")),
	    (long long)json_integer_value(json_object_get(r, "rcvbuf")),
	    json_is_true(json_object_get(r, "buffers_capped")) ? " (capped by net.core.*mem_max)" : "");
	if (json_integer_value(json_object_get(r, "stream_failures")) > 0)
		printf("%-22s %lld streams lost, %lld chunks re-sent\n", "faults",
		    (long long)json_integer_value(json_object_get(r, "stream_failures")),
		    (long long)json_integer_value(json_object_get(r, "chunks_resent")));
	json_decref(r);
	return 0;
}

static int
cmd_audit(int argc, char **argv)
{
	const char *since = NULL;
	json_t *r, *a;
	size_t i;

	int64_t ms;

	if (ctl_opt_take(&argc, argv, "--since", &since) < 0 ||
	    (since != NULL && fy_parse_since(since, fy_now_ms(), &ms) != 0)) {
		fprintf(stderr, "ferryctl: --since: give a duration (1h, 2d) or a date "
		    "(2026-11-21 or 2026-11-21T10:00:00)\nusage: ferryctl audit [--since TIME]\n");
		return 2;
	}
	ctl_unknown_opts(argc, argv, "audit [--since TIME]");
	ctl_want_args(argc, 0, "audit [--since TIME]");
	if (ctl_call("audit", since ? json_pack("{s:s}", "since", since) : NULL, &r) != 0)
		return 1;
	if (ctl_json_out)
		return ctl_print_json(r);
	printf("%-6s %-21s %-22s %-10s %-16s %-8s %s\n", "SEQ", "TIME", "ACTOR", "PEER", "ACTION", "OUTCOME",
	    "DETAIL");
	json_array_foreach(r, i, a)
		printf("%-6lld %-21s %-22.22s %-10.10s %-16s %-8s %s\n",
		    (long long)json_integer_value(json_object_get(a, "seq")), ctl_js(a, "time"), ctl_js(a, "actor"),
		    *ctl_js(a, "peer") ? ctl_js(a, "peer") : "-", ctl_js(a, "action"), ctl_js(a, "outcome"), ctl_js(a, "detail"));
	json_decref(r);
	return 0;
}

static int
cmd_audit_verify(int argc, char **argv)
{
	json_t *r;
	int ok;

	ctl_unknown_opts(argc, argv, "audit verify");
	ctl_want_args(argc, 0, "audit verify");
	if (ctl_call("audit-verify", NULL, &r) != 0)
		return 1;
	ok = json_is_true(json_object_get(r, "intact"));
	if (ctl_json_out) {
		ctl_print_json(r);
		return ok ? 0 : 1;
	}
	if (ok)
		printf("audit trail intact: %lld records\n", (long long)json_integer_value(json_object_get(r, "records")));
	else
		printf("audit trail BROKEN at record %lld: %s\n",
		    (long long)json_integer_value(json_object_get(r, "first_bad")), ctl_js(r, "reason"));
	json_decref(r);
	return ok ? 0 : 1;
}

static const struct ctl_cmd cmds[] = {
	{ "status", NULL, cmd_status, "status", "this site's identity and state" },
	{ "identity", "show", cmd_identity_show, "identity show", "same as status" },
	{ "identity", "rotate", cmd_rotate, "identity rotate [--force]", "new site key, announced to peers" },
	{ "pair", "invite", cmd_invite, "pair invite [--ttl DURATION]", "print a one-time invite" },
	{ "pair", "join", cmd_join, "pair join INVITE", "pair with the site that made INVITE" },
	{ "pair", "remove", cmd_remove, "pair remove SITE [--force]", "unpair, both sides" },
	{ "peers", NULL, cmd_peers, "peers", "list paired sites" },
	{ "peer", "ping", cmd_ping, "peer ping SITE [--count N]", "round trip and clock offset" },
	{ "link", "test", cmd_link_test, "link test SITE [--seconds N] [--bytes SIZE] [--streams N|auto]",
	    "goodput, RTT, retransmits over the transport" },
	{ "audit", "verify", cmd_audit_verify, "audit verify", "check the hash chain" },
	{ "audit", NULL, cmd_audit, "audit [--since TIME]", "show the audit trail" },
	{ NULL, NULL, NULL, NULL, NULL },
};

/* Every command: this file's, then the VM and job commands (ctl_vm.c, ctl_job.c). */
static const struct ctl_cmd *const tables[] = { cmds, ctl_vm_cmds, ctl_job_cmds, ctl_preflight_cmds };
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

static void
usage_all(FILE *f)
{
	const struct ctl_cmd *c;
	size_t t;

	fprintf(f, "usage: ferryctl [-hV] [-f ferryd.conf] [-s socket] [--json] COMMAND ...\n\ncommands:\n");
	for (t = 0; t < NTABLES; t++)
		for (c = tables[t]; c->name != NULL; c++)
			fprintf(f, "  %-40s %s\n", c->usage, c->help);
}

static const char *
socket_from_conf(const char *file)
{
	static char path[256];
	struct fy_conf c;
	char err[512];

	if (access(file, R_OK) != 0)
		return NULL;
	if (fy_conf_load(file, &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "ferryctl: %s\n", err);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s", c.admin_socket);
	fy_conf_free(&c);
	return path;
}

int
main(int argc, char *argv[])
{
	const struct ctl_cmd *c;
	const char *conf = NULL;
	size_t t;
	int i, j;

	fy_log_init("ferryctl", 1, FY_LOG_WARN);
	/* Global options may appear anywhere: --json, -f FILE, -s SOCKET. */
	for (i = 1; i < argc; i++) {
		int take = 0;
		if (strcmp(argv[i], "--json") == 0)
			ctl_json_out = take = 1;
		else if ((strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "-s") == 0) && i + 1 < argc) {
			if (argv[i][1] == 'f')
				conf = argv[i + 1];
			else
				sock_path = argv[i + 1];
			take = 2;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage_all(stdout);
			return 0;
		} else if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			printf("ferryctl %s\n", PACKAGE_VERSION);
			return 0;
		}
		if (take) {
			for (j = i; j + take < argc; j++)
				argv[j] = argv[j + take];
			argc -= take;
			i--;
		}
	}
	/* -s, then -f's admin_socket, then $FERRY_SOCKET, then the default config. */
	if (sock_path == NULL && conf != NULL)
		sock_path = socket_from_conf(conf);
	if (sock_path == NULL && conf == NULL)
		sock_path = getenv("FERRY_SOCKET");
	if (sock_path == NULL && conf == NULL)
		sock_path = socket_from_conf(DEFAULT_CONF);
	if (sock_path == NULL) {
		if (conf != NULL) {
			fprintf(stderr, "ferryctl: %s: cannot read\n", conf);
			return 1;
		}
		sock_path = FY_RUNSTATEDIR "/ferry/ferryd.sock";
	}
	if (argc < 2) {
		usage_all(stderr);
		return 2;
	}
	for (t = 0; t < NTABLES; t++)
		for (c = tables[t]; c->name != NULL; c++) {
			if (strcmp(c->name, argv[1]) != 0)
				continue;
			if (c->sub == NULL)
				return c->fn(argc - 2, argv + 2);
			if (argc >= 3 && strcmp(c->sub, argv[2]) == 0)
				return c->fn(argc - 3, argv + 3);
		}
	for (t = 0; t < NTABLES; t++)
		for (c = tables[t]; c->name != NULL; c++)
			if (strcmp(c->name, argv[1]) == 0) {
				fprintf(stderr, "ferryctl: %s: expected one of:", argv[1]);
				for (; c->name != NULL; c++)
					if (strcmp(c->name, argv[1]) == 0 && c->sub)
						fprintf(stderr, " %s", c->sub);
				fprintf(stderr, "\n");
				return 2;
			}
	fprintf(stderr, "ferryctl: unknown command \"%s\"\n", argv[1]);
	usage_all(stderr);
	return 2;
}
