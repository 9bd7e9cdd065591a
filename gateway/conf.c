/*
 * conf.c - ferryd.conf: one table (keyword, type, default, range) drives
 * the parser, the defaults, `ferryd -T` and ferryd.conf(5).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <ctype.h>
#include <sys/stat.h>
#include "config.h"
#include "gateway.h"
#include "domain.h"

#define O(f) offsetof(struct fy_conf, f)
const struct fy_cfg_ent fy_conf_table[] = {
	{ "site_name", FY_CFG_STR, O(site_name), "", 0, 0, "this site's name as peers see it (default: host name)" },
	{ "listen", FY_CFG_STR, O(listen), "127.0.0.1:7443", 0, 0, "federation API address:port" },
	{ "advertise", FY_CFG_STR, O(advertise), "", 0, 0, "endpoint put in invites (default: listen)" },
	{ "state_dir", FY_CFG_STR, O(state_dir), FY_LOCALSTATEDIR "/lib/ferry", 0, 0, "database and keys" },
	{ "admin_socket", FY_CFG_STR, O(admin_socket), FY_RUNSTATEDIR "/ferry/ferryd.sock", 0, 0, "admin API socket" },
	{ "admin_group", FY_CFG_STR, O(admin_group), "", 0, 0, "group also allowed to use the admin API" },
	{ "pidfile", FY_CFG_STR, O(pidfile), FY_RUNSTATEDIR "/ferry/ferryd.pid", 0, 0, "pid file" },
	{ "log_level", FY_CFG_LOGLEVEL, O(log_level), "info", 0, 0, "error, warning, info or debug" },
	{ "token_lifetime", FY_CFG_DURATION, O(token_lifetime), "5m", 1, 600, "lifetime of issued tokens" },
	{ "clock_skew", FY_CFG_DURATION, O(clock_skew), "120s", 0, 600, "clock skew tolerated on tokens" },
	{ "invite_ttl", FY_CFG_DURATION, O(invite_ttl), "1h", 60, 3600, "default lifetime of an invite" },
	{ "pair_max_attempts", FY_CFG_INT, O(pair_max_attempts), "5", 1, 100, "wrong secrets before an invite is burnt" },
	{ "rotate_overlap", FY_CFG_DURATION, O(rotate_overlap), "1h", 60, 7 * 86400, "old key accepted after a rotation" },
	{ "max_message", FY_CFG_INT, O(max_message), "1048576", 4096, 64 << 20, "largest federation message (bytes)" },
	{ "max_depth", FY_CFG_INT, O(max_depth), "32", 8, 1000, "deepest XML nesting accepted" },
	{ "io_timeout", FY_CFG_DURATION, O(io_timeout), "30s", 1, 3600, "idle limit on a federation connection" },
	{ "connect_timeout", FY_CFG_DURATION, O(connect_timeout), "10s", 1, 600, "outgoing connect and handshake limit" },
	{ "max_connections", FY_CFG_INT, O(max_connections), "64", 1, 4096, "concurrent federation connections" },
	{ "transport_streams_min", FY_CFG_INT, O(tp_streams_min), "2", 1, 32, "fewest TLS streams per session" },
	{ "transport_streams_max", FY_CFG_INT, O(tp_streams_max), "8", 1, 32, "most TLS streams per session" },
	{ "transport_chunk_size", FY_CFG_INT, O(tp_chunk_size), "1048576", 65536, 4194304, "largest chunk (bytes)" },
	{ "transport_window", FY_CFG_INT, O(tp_window), "67108864", 1 << 20, 1 << 30, "receive buffer per channel (bytes)" },
	{ "transport_compress", FY_CFG_STR, O(tp_compress), "none", 0, 0, "none, lz4 or zstd, per chunk" },
	{ "transport_rate_limit", FY_CFG_INT, O(tp_rate_limit), "0", 0, 1000000, "Mbit/s per session, 0 = none" },
	{ "transport_stream_timeout", FY_CFG_DURATION, O(tp_stream_timeout), "10s", 1, 600, "silence before a stream is dropped" },
	{ "transport_dead_timeout", FY_CFG_DURATION, O(tp_dead_timeout), "30s", 1, 3600, "no stream this long: session fails" },
	{ "transport_keep_idle", FY_CFG_DURATION, O(tp_keep_idle), "60s", 0, 3600, "keep a job's session this long for the next job (0: close)" },
	{ "transport_link_rate", FY_CFG_INT, O(tp_link_rate), "1000", 1, 1000000, "Mbit/s assumed before measuring: buffers, pacing floor" },
	{ "transport_congestion", FY_CFG_STR, O(tp_congestion), "bbr", 0, 0, "TCP congestion control per stream" },
	{ "domain", FY_CFG_STR, O(domain), "qemu", 0, 0, "management domain: qemu (built in) or vsphere" },
	{ "qemu_binary", FY_CFG_STR, O(qemu_binary), "/usr/bin/qemu-system-x86_64", 0, 0, "QEMU system emulator" },
	{ "qemu_img", FY_CFG_STR, O(qemu_img), "/usr/bin/qemu-img", 0, 0, "qemu-img, to create and inspect disks" },
	{ "qemu_datastores", FY_CFG_STR, O(qemu_datastores), "", 0, 0, "NAME=DIR,... where VM disks live" },
	{ "qemu_networks", FY_CFG_STR, O(qemu_networks), "", 0, 0, "NAME,... networks NICs may join" },
	{ "migrate_downtime", FY_CFG_INT, O(mig_downtime_ms), "300", 10, 60000, "default downtime limit (ms)" },
	{ "migrate_deadline", FY_CFG_DURATION, O(mig_deadline), "10m", 10, 86400, "give up a migration after this long" },
	{ "migrate_stall_passes", FY_CFG_INT, O(mig_stall_passes), "3", 1, 100, "passes over the limit before escalating" },
	{ "migrate_escalate", FY_CFG_STR, O(mig_escalate), "throttle,xbzrle", 0, 0, "convergence steps, in order (or none)" },
	{ "migrate_throttle_max", FY_CFG_INT, O(mig_throttle_max), "80", 0, 99, "highest CPU throttle (%) the policy may set" },
	{ "vcenter_url", FY_CFG_STR, O(vc_url), "", 0, 0, "vsphere: https://HOST[:PORT]/sdk" },
	{ "vcenter_thumbprint", FY_CFG_STR, O(vc_thumbprint), "", 0, 0, "vsphere: vCenter's SHA-1 or SHA-256 fingerprint" },
	{ "vcenter_credentials", FY_CFG_STR, O(vc_credentials), "", 0, 0, "vsphere: file with user and password lines" },
	{ "vcenter_timeout", FY_CFG_DURATION, O(vc_timeout), "30s", 1, 600, "vsphere: limit on one vCenter call" },
	{ "migrate_multifd", FY_CFG_INT, O(mig_multifd), "0", 0, 16, "multifd channels (0 = one stream)" },
};
#undef O
const size_t fy_conf_table_len = sizeof(fy_conf_table) / sizeof(fy_conf_table[0]);

/* "FILE:LINE" of the first line setting keyword kw, or "FILE" when not found. */
static const char *
where(const char *file, const char *kw, char *buf, size_t cap)
{
	FILE *f;
	char line[1024], *p;
	size_t n = strlen(kw);
	int ln = 0;

	snprintf(buf, cap, "%s", file);
	if ((f = fopen(file, "r")) == NULL)
		return buf;
	while (fgets(line, sizeof(line), f) != NULL) {
		ln++;
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (strncmp(p, kw, n) == 0 && (p[n] == ' ' || p[n] == '\t' || p[n] == '\n' || p[n] == '\0')) {
			snprintf(buf, cap, "%s:%d", file, ln);
			break;
		}
	}
	fclose(f);
	return buf;
}

/*
 * domain vsphere: vcenter_url, vcenter_thumbprint and vcenter_credentials
 * are required and checked here (the credential file: a regular file of
 * this user, no access for group or others).  Nothing is read from it and
 * no connection is made.  With domain qemu they are ignored.
 */
static int
check_vsphere(struct fy_conf *c, const char *file, char *err, size_t errcap)
{
	static const char *const req[] = { "vcenter_url", "vcenter_thumbprint", "vcenter_credentials" };
	const char *val[3] = { c->vc_url, c->vc_thumbprint, c->vc_credentials };
	char w[512];
	const char *p, *h;
	struct stat st;
	size_t i, nhex = 0;

	for (i = 0; i < 3; i++)
		if (val[i] == NULL || val[i][0] == '\0') {
			snprintf(err, errcap, "%s: domain vsphere needs %s", where(file, "domain", w, sizeof(w)), req[i]);
			return FY_ERR_CONFIG;
		}
	p = c->vc_url;
	if (strncmp(p, "https://", 8) != 0 || (h = strchr(p + 8, '/')) == NULL || h == p + 8 ||
	    strcmp(h, "/sdk") != 0 || strcspn(p + 8, "@?#") < (size_t)(h - p - 8) || strlen(p) > 255) {
		snprintf(err, errcap, "%s: vcenter_url \"%.80s\": expected https://HOST[:PORT]/sdk",
		    where(file, "vcenter_url", w, sizeof(w)), p);
		return FY_ERR_CONFIG;
	}
	for (p = c->vc_thumbprint; *p != '\0'; p++) {
		if (isxdigit((unsigned char)*p))
			nhex++;
		else if (*p != ':')
			break;
	}
	if (*p != '\0' || (nhex != 40 && nhex != 64)) {
		snprintf(err, errcap, "%s: vcenter_thumbprint: expected a SHA-1 (40 hex digits) or SHA-256 (64) "
		    "fingerprint, ':' optional", where(file, "vcenter_thumbprint", w, sizeof(w)));
		return FY_ERR_CONFIG;
	}
	where(file, "vcenter_credentials", w, sizeof(w));
	if (c->vc_credentials[0] != '/') {
		snprintf(err, errcap, "%s: vcenter_credentials: must be an absolute path", w);
		return FY_ERR_CONFIG;
	}
	if (stat(c->vc_credentials, &st) != 0) {
		snprintf(err, errcap, "%s: vcenter_credentials %.200s: %s", w, c->vc_credentials, strerror(errno));
		return FY_ERR_CONFIG;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errcap, "%s: vcenter_credentials %.200s: not a regular file", w, c->vc_credentials);
		return FY_ERR_CONFIG;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		snprintf(err, errcap, "%s: vcenter_credentials %.200s: mode %04o, owner uid %u: it must be readable "
		    "by ferryd's user only (chmod 600, owned by uid %u)", w, c->vc_credentials,
		    (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, (unsigned)geteuid());
		return FY_ERR_CONFIG;
	}
	return 0;
}

static int
check(struct fy_conf *c, const char *file, char *err, size_t errcap)
{
	char host[256], port[16], hn[256];

	if (c->site_name == NULL || c->site_name[0] == '\0') {
		if (gethostname(hn, sizeof(hn)) != 0)
			snprintf(hn, sizeof(hn), "ferry");
		hn[sizeof(hn) - 1] = '\0';
		hn[strcspn(hn, ".")] = '\0';
		free(c->site_name);
		if ((c->site_name = strdup(hn)) == NULL)
			return FY_ERR_NOMEM;
	}
	if (!fy_valid_name(c->site_name)) {
		snprintf(err, errcap, "%s: site_name \"%.64s\": use 1-63 letters, digits, '.', '_' or '-'",
		    file, c->site_name);
		return FY_ERR_CONFIG;
	}
	if (fy_split_hostport(c->listen, host, sizeof(host), port, sizeof(port)) != 0) {
		snprintf(err, errcap, "%s: listen \"%.64s\": expected host:port", file, c->listen);
		return FY_ERR_CONFIG;
	}
	if (c->advertise[0] != '\0' &&
	    fy_split_hostport(c->advertise, host, sizeof(host), port, sizeof(port)) != 0) {
		snprintf(err, errcap, "%s: advertise \"%.64s\": expected host:port", file, c->advertise);
		return FY_ERR_CONFIG;
	}
	if (strlen(fy_conf_endpoint(c)) > TRUST_ENDPOINT_MAX) {
		snprintf(err, errcap, "%s: advertised endpoint longer than %d", file, TRUST_ENDPOINT_MAX);
		return FY_ERR_CONFIG;
	}
	if (c->state_dir[0] != '/' || c->admin_socket[0] != '/' || c->pidfile[0] != '/') {
		snprintf(err, errcap, "%s: state_dir, admin_socket and pidfile must be absolute paths", file);
		return FY_ERR_CONFIG;
	}
	if (strcmp(c->tp_compress, "none") != 0 && strcmp(c->tp_compress, "lz4") != 0 &&
	    strcmp(c->tp_compress, "zstd") != 0) {
		snprintf(err, errcap, "%s: transport_compress \"%.32s\": expected none, lz4 or zstd", file,
		    c->tp_compress);
		return FY_ERR_CONFIG;
	}
	if (c->tp_streams_min > c->tp_streams_max) {
		snprintf(err, errcap, "%s: transport_streams_min is above transport_streams_max", file);
		return FY_ERR_CONFIG;
	}
	if (c->tp_window < 2 * c->tp_chunk_size) {
		snprintf(err, errcap, "%s: transport_window must hold at least two chunks", file);
		return FY_ERR_CONFIG;
	}
	if (strlen(c->tp_congestion) == 0 || strlen(c->tp_congestion) > 15) {
		snprintf(err, errcap, "%s: transport_congestion: give an algorithm name (bbr, cubic)", file);
		return FY_ERR_CONFIG;
	}
	if (strcmp(c->domain, "vsphere") == 0) {
		int r;
		if ((r = check_vsphere(c, file, err, errcap)) != 0)
			return r;
	} else if (strcmp(c->domain, "qemu") != 0) {
		char w[512];
		snprintf(err, errcap, "%s: domain \"%.32s\": expected qemu or vsphere", where(file, "domain", w,
		    sizeof(w)), c->domain);
		return FY_ERR_CONFIG;
	} else {
		struct fy_error e = { 0, "" };
		if (dom_qemu_check_conf(c, &e) != 0) {
			snprintf(err, errcap, "%s: %s", file, e.msg);
			return FY_ERR_CONFIG;
		}
	}
	{
		char tmp[64], *t, *save = NULL;
		if (strlen(c->mig_escalate) >= sizeof(tmp)) {
			snprintf(err, errcap, "%s: migrate_escalate: too long", file);
			return FY_ERR_CONFIG;
		}
		snprintf(tmp, sizeof(tmp), "%s", c->mig_escalate);
		for (t = strtok_r(tmp, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
			if (strcmp(t, "throttle") != 0 && strcmp(t, "xbzrle") != 0 && strcmp(t, "none") != 0) {
				snprintf(err, errcap, "%s: migrate_escalate: \"%.32s\" is not throttle, xbzrle or none",
				    file, t);
				return FY_ERR_CONFIG;
			}
	}
	if (strlen(c->admin_socket) >= 100) {
		snprintf(err, errcap, "%s: admin_socket path too long for a UNIX socket", file);
		return FY_ERR_CONFIG;
	}
	return 0;
}

int
fy_conf_load(const char *file, struct fy_conf *c, char *err, size_t errcap)
{
	int r;

	memset(c, 0, sizeof(*c));
	if (file == NULL) {
		if ((r = fy_cfg_defaults(fy_conf_table, fy_conf_table_len, c)) != 0)
			return r;
		file = "(defaults)";
	} else if ((r = fy_cfg_load(fy_conf_table, fy_conf_table_len, c, file, err, errcap)) != 0)
		return r;
	return check(c, file, err, errcap);
}

void
fy_conf_free(struct fy_conf *c)
{
	fy_cfg_free(fy_conf_table, fy_conf_table_len, c);
}

const char *
fy_conf_endpoint(const struct fy_conf *c)
{
	return c->advertise != NULL && c->advertise[0] != '\0' ? c->advertise : c->listen;
}

int
fy_fail(struct fy_error *e, int code, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	fy_sanitize(e->msg);	/* it quotes what peers and files said */
	return code;
}

int
fy_fail_prefix(struct fy_error *e, int code, const char *fmt, ...)
{
	char prefix[256], inner[sizeof(e->msg)];
	size_t n, len;
	va_list ap;

	snprintf(inner, sizeof(inner), "%s", e->msg);
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	e->code = code;
	n = strlen(prefix);
	if (n + 2 < sizeof(e->msg)) {
		memcpy(e->msg, prefix, n);
		memcpy(e->msg + n, ": ", 2);
		len = strlen(inner);
		if (len > sizeof(e->msg) - n - 3)
			len = sizeof(e->msg) - n - 3;
		memcpy(e->msg + n + 2, inner, len);
		e->msg[n + 2 + len] = '\0';
	}
	fy_sanitize(e->msg);
	return code;
}
