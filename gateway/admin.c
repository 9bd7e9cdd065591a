/*
 * admin.c - the local admin API: a UNIX stream socket (mode 0660, in a
 * directory of its own), the caller's credentials taken from SO_PEERCRED
 * and checked against the policy below, then one JSON request and one JSON
 * reply framed by a 4-byte big-endian length.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "config.h"
#include "gateway.h"

#define ADMIN_MAX_GROUPS 64

int
admin_authorized(unsigned uid, unsigned gid, unsigned self_uid, int group_set, unsigned group,
    const unsigned *groups, int ngroups)
{
	int i;

	if (uid == 0 || uid == self_uid)
		return 1;
	if (!group_set)
		return 0;
	if (gid == group)
		return 1;
	for (i = 0; i < ngroups; i++)
		if (groups[i] == group)
			return 1;
	return 0;
}

static int
lookup_group(const char *name, gid_t *gid)
{
	struct group gr, *res = NULL;
	char buf[4096];

	if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) != 0 || res == NULL)
		return FY_ERR_NOTFOUND;
	*gid = gr.gr_gid;
	return 0;
}

int
admin_listen(struct site *s, int *out)
{
	struct sockaddr_un sun;
	char dir[PATH_MAX];
	gid_t gid = 0;
	int fd, r;

	*out = -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(s->conf.admin_socket) >= sizeof(sun.sun_path))
		return FY_ERR_LIMIT;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", s->conf.admin_socket);
	snprintf(dir, sizeof(dir), "%s", s->conf.admin_socket);
	if ((r = fy_mkdir_p(dirname(dir), 0755)) != 0)
		return r;
	if (s->conf.admin_group[0] != '\0' && lookup_group(s->conf.admin_group, &gid) != 0) {
		log_warnx("admin_group %s: no such group", s->conf.admin_group);
		return FY_ERR_CONFIG;
	}
	(void)unlink(sun.sun_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return FY_ERR_SYSTEM;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 || listen(fd, 16) != 0) {
		log_warn("admin socket %s", sun.sun_path);
		close(fd);
		return FY_ERR_SYSTEM;
	}
	/* Filesystem permission is the first gate; SO_PEERCRED the second. */
	if (chmod(sun.sun_path, s->conf.admin_group[0] ? 0660 : 0600) != 0 ||
	    (s->conf.admin_group[0] && chown(sun.sun_path, (uid_t)-1, gid) != 0)) {
		log_warn("admin socket permissions %s", sun.sun_path);
		close(fd);
		return FY_ERR_SYSTEM;
	}
	*out = fd;
	return 0;
}

int
admin_send(int fd, const char *p, size_t n)
{
	uint8_t hdr[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
	ssize_t w;

	if (n > FY_ADMIN_RESP_MAX)
		return FY_ERR_LIMIT;
	if (send(fd, hdr, 4, MSG_NOSIGNAL) != 4)
		return FY_ERR_IO;
	while (n > 0) {
		if ((w = send(fd, p, n, MSG_NOSIGNAL)) <= 0) {
			if (w < 0 && errno == EINTR)
				continue;
			return FY_ERR_IO;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
read_full(int fd, void *p, size_t n)
{
	ssize_t r;
	uint8_t *q = p;

	while (n > 0) {
		if ((r = recv(fd, q, n, 0)) < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? FY_ERR_TIMEOUT : FY_ERR_IO;
		}
		if (r == 0)
			return FY_ERR_IO;
		q += r;
		n -= (size_t)r;
	}
	return 0;
}

int
admin_recv(int fd, size_t max, struct fy_buf **out)
{
	uint8_t hdr[4], chunk[8192];
	struct fy_buf *b;
	size_t n, k;
	int r;

	*out = NULL;
	if ((r = read_full(fd, hdr, 4)) != 0)
		return r;
	n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
	if (n > max)
		return FY_ERR_LIMIT;
	if ((b = fy_buf_new(max)) == NULL)
		return FY_ERR_NOMEM;
	while (n > 0) {
		k = n < sizeof(chunk) ? n : sizeof(chunk);
		if ((r = read_full(fd, chunk, k)) != 0 || (r = fy_buf_put(b, chunk, k)) != 0) {
			fy_buf_free(b);
			return r;
		}
		n -= k;
	}
	*out = b;
	return 0;
}

static void
reply(int fd, json_t *j)
{
	char *s;

	if ((s = json_dumps(j, JSON_COMPACT)) != NULL) {
		if (admin_send(fd, s, strlen(s)) != 0)
			log_debug("admin client went away before the reply");
		free(s);
	}
	json_decref(j);
}

static void
reply_error(int fd, int code, const char *msg)
{
	reply(fd, json_pack("{s:b, s:s, s:s}", "ok", 0, "error", fy_errname(code), "message", msg));
}

void
admin_serve_conn(struct site *s, int fd)
{
	struct admin_caller who;
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct timeval tv = { .tv_sec = 10, .tv_usec = 0 };
	struct fy_buf *req = NULL;
	struct fy_error err;
	const struct op_ent *op;
	json_t *j = NULL, *args, *res;
	json_error_t je;
	const char *cmd;
	gid_t groups[ADMIN_MAX_GROUPS], agid = 0;
	unsigned ug[ADMIN_MAX_GROUPS];
	int ng = 0, i, r;

	memset(&err, 0, sizeof(err));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0) {
		log_warn("SO_PEERCRED");
		goto out;
	}
	memset(&who, 0, sizeof(who));
	who.uid = cred.uid;
	who.gid = cred.gid;
	who.pid = cred.pid;
	snprintf(who.actor, sizeof(who.actor), "admin uid=%u pid=%d", (unsigned)cred.uid, (int)cred.pid);
	if (s->conf.admin_group[0] != '\0' && lookup_group(s->conf.admin_group, &agid) == 0) {
		/* The caller's supplementary groups, from the kernel (Linux 4.13+). */
		socklen_t gl = sizeof(groups);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &gl) == 0)
			ng = (int)(gl / sizeof(gid_t));
		else
			log_warn("SO_PEERGROUPS (only the primary group is checked)");
	}
	for (i = 0; i < ng; i++)
		ug[i] = groups[i];
	if (!admin_authorized(cred.uid, cred.gid, (unsigned)geteuid(), s->conf.admin_group[0] != '\0',
	    agid, ug, ng)) {
		struct fy_db *db = NULL;
		log_warnx("admin connection from uid %u refused", (unsigned)cred.uid);
		if (site_open_db(s, &db) == 0)
			(void)trust_audit(db, who.actor, NULL, "admin", "refused", "uid %u is not an administrator",
			    (unsigned)cred.uid);
		fy_db_close(db);
		reply_error(fd, FY_ERR_DENIED, "permission denied: only root, ferryd's user or admin_group may use the admin API");
		goto out;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if ((r = admin_recv(fd, FY_ADMIN_REQ_MAX, &req)) != 0) {
		if (r == FY_ERR_LIMIT)
			reply_error(fd, r, "request larger than 64 KiB");
		goto out;
	}
	if ((j = json_loadb((const char *)fy_buf_ptr(req), fy_buf_len(req), JSON_REJECT_DUPLICATES, &je)) == NULL ||
	    !json_is_object(j) || (cmd = json_string_value(json_object_get(j, "cmd"))) == NULL) {
		reply_error(fd, FY_ERR_FORMAT, "request is not a JSON object with \"cmd\"");
		goto out;
	}
	if ((op = fy_op_find(cmd)) == NULL) {
		reply_error(fd, FY_ERR_NOTFOUND, "unknown command");
		goto out;
	}
	args = json_object_get(j, "args");
	if (args != NULL && !json_is_object(args)) {
		reply_error(fd, FY_ERR_FORMAT, "\"args\" must be an object");
		goto out;
	}
	if ((res = op->fn(s, &who, args, &err)) == NULL) {
		reply_error(fd, err.code ? err.code : FY_ERR_INVAL, err.msg[0] ? err.msg : "failed");
		goto out;
	}
	reply(fd, json_pack("{s:b, s:o}", "ok", 1, "result", res));
out:
	json_decref(j);
	fy_buf_free(req);
	close(fd);
}
