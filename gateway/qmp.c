/*
 * qmp.c - a client for QEMU's machine protocol: one JSON object per line
 * on a UNIX socket.  The socket is non-blocking and every wait is a poll()
 * bounded by a deadline on CLOCK_MONOTONIC, so a stuck QEMU costs a caller
 * at most its timeout.  Commands carry an "id"; a reply with another id (a
 * late answer to a command that timed out) is dropped.  Events that arrive
 * while a command waits are queued, at most QMP_QUEUE_MAX of them.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "config.h"
#include "qmp.h"

#define QMP_READ_CHUNK	65536

struct qmp {
	int fd;
	int closed;			/* EOF or a protocol error: no more I/O */
	char path[108];
	long long next_id;
	struct fy_buf *in;		/* bytes read, not yet split into lines */
	json_t *queue[QMP_QUEUE_MAX];	/* events, oldest at head */
	size_t qhead, qlen;
	uint64_t dropped;
};

static int
remaining(int64_t deadline)
{
	int64_t left = deadline - fy_mono_ms();

	return left < 0 ? 0 : left > 60000 ? 60000 : (int)left;
}

static void
queue_push(struct qmp *q, json_t *ev)
{
	if (q->qlen == QMP_QUEUE_MAX) {
		json_t *old = q->queue[q->qhead];
		/* Nobody reads events: keep the newest, say what was lost. */
		log_warnx("%s: event queue full (%d), dropping %s", q->path, QMP_QUEUE_MAX,
		    json_string_value(json_object_get(old, "event")) ?: "an event");
		json_decref(old);
		q->qhead = (q->qhead + 1) % QMP_QUEUE_MAX;
		q->qlen--;
		q->dropped++;
	}
	q->queue[(q->qhead + q->qlen) % QMP_QUEUE_MAX] = ev;
	q->qlen++;
}

static json_t *
queue_pop(struct qmp *q)
{
	json_t *ev;

	if (q->qlen == 0)
		return NULL;
	ev = q->queue[q->qhead];
	q->qhead = (q->qhead + 1) % QMP_QUEUE_MAX;
	q->qlen--;
	return ev;
}

/*
 * Take one complete line from the input buffer: 1 and *line (a new
 * reference to the parsed object, or NULL for a blank line), 0 when no
 * complete line is buffered, or an error.
 */
static int
next_line(struct qmp *q, json_t **line, struct fy_error *err)
{
	const uint8_t *p = fy_buf_ptr(q->in), *nl;
	size_t len = fy_buf_len(q->in), n;
	json_error_t je;
	json_t *j;
	int r;

	*line = NULL;
	if ((nl = memchr(p, '\n', len)) == NULL) {
		if (len > QMP_LINE_MAX) {
			q->closed = 1;
			return fy_fail(err, FY_ERR_LIMIT, "%s: QEMU sent a line longer than %d bytes",
			    q->path, QMP_LINE_MAX);
		}
		return 0;
	}
	n = (size_t)(nl - p);
	if (n > QMP_LINE_MAX) {
		q->closed = 1;
		return fy_fail(err, FY_ERR_LIMIT, "%s: QEMU sent a line longer than %d bytes", q->path,
		    QMP_LINE_MAX);
	}
	j = NULL;
	if (n > 0 && !(n == 1 && p[0] == '\r')) {
		/* QEMU prints unsigned 64-bit counters: beyond int64, read numbers as reals. */
		if ((j = json_loadb((const char *)p, n, 0, &je)) == NULL)
			j = json_loadb((const char *)p, n, JSON_DECODE_INT_AS_REAL, &je);
		if (j == NULL || !json_is_object(j)) {
			log_warnx("%s: unreadable line from QEMU (%s), ignored", q->path,
			    j == NULL ? je.text : "not an object");
			json_decref(j);
			j = NULL;
		}
	}
	if ((r = fy_buf_get(q->in, NULL, n + 1)) != 0)
		return fy_fail(err, r, "%s: internal buffer error", q->path);
	if (fy_buf_len(q->in) == 0)
		fy_buf_reset(q->in);
	*line = j;
	return 1;
}

/* Move the unread tail to a fresh buffer, so the cap counts only bytes not yet taken. */
static int
compact(struct qmp *q)
{
	struct fy_buf *nb;

	if (fy_buf_len(q->in) == 0) {
		fy_buf_reset(q->in);
		return 0;
	}
	if ((nb = fy_buf_new(QMP_LINE_MAX + QMP_READ_CHUNK)) == NULL)
		return FY_ERR_NOMEM;
	if (fy_buf_put(nb, fy_buf_ptr(q->in), fy_buf_len(q->in)) != 0) {
		fy_buf_free(nb);
		return FY_ERR_LIMIT;
	}
	fy_buf_free(q->in);
	q->in = nb;
	return 0;
}

/*
 * Read what the socket has, waiting up to the deadline for the first byte.
 * 0 when bytes were added, FY_ERR_TIMEOUT, FY_ERR_CONNECT on EOF.
 */
static int
fill(struct qmp *q, int64_t deadline, struct fy_error *err)
{
	uint8_t chunk[QMP_READ_CHUNK];
	struct pollfd pfd;
	ssize_t n;
	int r;

	if (q->closed)
		return fy_fail(err, FY_ERR_CONNECT, "%s: the QMP connection is closed (QEMU exited?)", q->path);
	for (;;) {
		n = read(q->fd, chunk, sizeof(chunk));
		if (n > 0)
			break;
		if (n == 0) {
			q->closed = 1;
			return fy_fail(err, FY_ERR_CONNECT, "%s: QEMU closed the monitor (QEMU exited?)", q->path);
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			q->closed = 1;
			return fy_fail(err, FY_ERR_CONNECT, "%s: read: %s", q->path, strerror(errno));
		}
		pfd.fd = q->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if ((r = poll(&pfd, 1, remaining(deadline))) < 0 && errno != EINTR)
			return fy_fail(err, FY_ERR_SYSTEM, "%s: poll: %s", q->path, strerror(errno));
		if (r == 0 && fy_mono_ms() >= deadline)
			return fy_fail(err, FY_ERR_TIMEOUT, "%s: no answer from QEMU in time", q->path);
	}
	/* Lines already taken still occupy the buffer: drop them when it fills. */
	if (fy_buf_put(q->in, chunk, (size_t)n) != 0 &&
	    (compact(q) != 0 || fy_buf_put(q->in, chunk, (size_t)n) != 0)) {
		q->closed = 1;
		return fy_fail(err, FY_ERR_LIMIT, "%s: QEMU sent a line longer than %d bytes", q->path,
		    QMP_LINE_MAX);
	}
	return 0;
}

/* Next parsed object, reading until the deadline. */
static int
read_obj(struct qmp *q, json_t **obj, int64_t deadline, struct fy_error *err)
{
	int r;

	*obj = NULL;
	for (;;) {
		while ((r = next_line(q, obj, err)) == 1) {
			if (*obj != NULL)
				return 0;
		}
		if (r < 0)
			return r;
		if ((r = fill(q, deadline, err)) != 0)
			return r;
	}
}

static int
send_all(struct qmp *q, const char *s, size_t len, int64_t deadline, struct fy_error *err)
{
	struct pollfd pfd;
	ssize_t n;
	size_t off = 0;

	while (off < len) {
		n = send(q->fd, s + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			q->closed = 1;
			return fy_fail(err, FY_ERR_CONNECT, "%s: send: %s", q->path, strerror(errno));
		}
		pfd.fd = q->fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		if (poll(&pfd, 1, remaining(deadline)) == 0 && fy_mono_ms() >= deadline)
			return fy_fail(err, FY_ERR_TIMEOUT, "%s: QEMU does not read its monitor", q->path);
	}
	return 0;
}

/* Build {"execute", "arguments", "id"} and serialise it with a newline. */
static char *
build_cmd(struct qmp *q, const char *cmd, json_t *args, long long *id)
{
	json_t *j;
	char *s;

	*id = ++q->next_id;
	j = json_pack("{s:s, s:I}", "execute", cmd, "id", (json_int_t)*id);
	if (j == NULL) {
		json_decref(args);
		return NULL;
	}
	if (args != NULL && json_object_set_new(j, "arguments", args) != 0) {
		json_decref(j);
		return NULL;
	}
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

/* Wait for the reply to id; events met on the way are queued. */
static int
await_reply(struct qmp *q, const char *cmd, long long id, json_t **ret, int64_t deadline,
    struct fy_error *err)
{
	json_t *o, *e, *rid;
	int r;

	for (;;) {
		if ((r = read_obj(q, &o, deadline, err)) != 0) {
			if (r == FY_ERR_TIMEOUT)
				fy_fail(err, r, "%s: %s: no reply from QEMU in time", q->path, cmd);
			else if (r == FY_ERR_CONNECT)
				fy_fail(err, r, "%s: %s: QEMU closed the monitor before replying (QEMU exited?)",
				    q->path, cmd);
			return r;
		}
		if (json_object_get(o, "event") != NULL) {
			queue_push(q, o);
			continue;
		}
		rid = json_object_get(o, "id");
		if (rid != NULL && (!json_is_integer(rid) || json_integer_value(rid) != id)) {
			log_debug("%s: dropping a late reply (id %lld)", q->path,
			    json_is_integer(rid) ? (long long)json_integer_value(rid) : -1LL);
			json_decref(o);
			continue;
		}
		if ((e = json_object_get(o, "error")) != NULL) {
			/* A reply without an id answers a line QEMU could not parse: ours. */
			fy_fail(err, FY_ERR_PEER, "%s: %s: QEMU error %s: %s", q->path, cmd,
			    json_string_value(json_object_get(e, "class")) ?: "?",
			    json_string_value(json_object_get(e, "desc")) ?: "(no description)");
			json_decref(o);
			return FY_ERR_PEER;
		}
		if (rid == NULL || json_object_get(o, "return") == NULL) {
			log_debug("%s: ignoring an unexpected message", q->path);
			json_decref(o);
			continue;
		}
		if (ret != NULL)
			*ret = json_incref(json_object_get(o, "return"));
		json_decref(o);
		return 0;
	}
}

int
qmp_open(const char *path, int timeout_ms, struct qmp **out, struct fy_error *err)
{
	struct sockaddr_un sun;
	struct qmp *q = NULL;
	int64_t deadline = fy_mono_ms() + timeout_ms;
	json_t *greet = NULL;
	int r;

	*out = NULL;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return fy_fail(err, FY_ERR_LIMIT, "%s: path too long for a UNIX socket", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    (q->in = fy_buf_new(QMP_LINE_MAX + QMP_READ_CHUNK)) == NULL) {
		free(q);
		return fy_fail(err, FY_ERR_NOMEM, "out of memory");
	}
	snprintf(q->path, sizeof(q->path), "%s", path);
	if ((q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		r = fy_fail(err, FY_ERR_SYSTEM, "%s: socket: %s", path, strerror(errno));
		goto out;
	}
	while (connect(q->fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN && fy_mono_ms() < deadline) {
			/* The listen backlog is full: try again shortly. */
			usleep(10 * 1000);
			continue;
		}
		r = fy_fail(err, FY_ERR_CONNECT, "%s: connect: %s", path, strerror(errno));
		goto out;
	}
	/* {"QMP": {"version": ..., "capabilities": [...]}} */
	if ((r = read_obj(q, &greet, deadline, err)) != 0) {
		if (r == FY_ERR_TIMEOUT)
			fy_fail(err, r, "%s: no QMP greeting within %d ms (is another client connected?)",
			    path, timeout_ms);
		goto out;
	}
	if (!json_is_object(json_object_get(greet, "QMP"))) {
		r = fy_fail(err, FY_ERR_PROTO, "%s: not a QMP monitor (unexpected greeting)", path);
		goto out;
	}
	if ((r = qmp_exec(q, "qmp_capabilities", NULL, NULL, remaining(deadline), err)) != 0)
		goto out;
	*out = q;
	q = NULL;
	r = 0;
out:
	json_decref(greet);
	qmp_close(q);
	return r;
}

void
qmp_close(struct qmp *q)
{
	json_t *ev;

	if (q == NULL)
		return;
	while ((ev = queue_pop(q)) != NULL)
		json_decref(ev);
	if (q->fd >= 0)
		close(q->fd);
	fy_buf_free(q->in);
	free(q);
}

int
qmp_exec(struct qmp *q, const char *cmd, json_t *args, json_t **ret, int timeout_ms,
    struct fy_error *err)
{
	int64_t deadline = fy_mono_ms() + timeout_ms;
	long long id;
	char *s;
	int r;

	if (ret != NULL)
		*ret = NULL;
	if (q->closed) {
		json_decref(args);
		return fy_fail(err, FY_ERR_CONNECT, "%s: %s: the QMP connection is closed (QEMU exited?)",
		    q->path, cmd);
	}
	if ((s = build_cmd(q, cmd, args, &id)) == NULL)
		return fy_fail(err, FY_ERR_NOMEM, "%s: %s: cannot build the command", q->path, cmd);
	log_debug("%s: -> %s", q->path, s);
	r = send_all(q, s, strlen(s), deadline, err);
	if (r == 0)
		r = send_all(q, "\n", 1, deadline, err);
	free(s);
	if (r != 0)
		return r;
	return await_reply(q, cmd, id, ret, deadline, err);
}

int
qmp_getfd(struct qmp *q, int fd, const char *fdname, int timeout_ms, struct fy_error *err)
{
	int64_t deadline = fy_mono_ms() + timeout_ms;
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr mh;
	struct cmsghdr *c;
	struct iovec iov;
	struct pollfd pfd;
	long long id;
	ssize_t n;
	size_t len;
	char *s;
	int r;

	if (q->closed)
		return fy_fail(err, FY_ERR_CONNECT, "%s: getfd: the QMP connection is closed", q->path);
	if ((s = build_cmd(q, "getfd", json_pack("{s:s}", "fdname", fdname), &id)) == NULL)
		return fy_fail(err, FY_ERR_NOMEM, "%s: getfd: cannot build the command", q->path);
	len = strlen(s);
	s[len++] = '\n';	/* json_dumps left room: we replace the NUL */
	/* The descriptor rides on the first byte of the command, as QEMU expects. */
	for (;;) {
		memset(&mh, 0, sizeof(mh));
		memset(&ctl, 0, sizeof(ctl));
		iov.iov_base = s;
		iov.iov_len = len;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.b;
		mh.msg_controllen = sizeof(ctl.b);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
		if ((n = sendmsg(q->fd, &mh, MSG_NOSIGNAL)) >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			r = fy_fail(err, FY_ERR_CONNECT, "%s: getfd %s: sendmsg: %s", q->path, fdname,
			    strerror(errno));
			q->closed = 1;
			free(s);
			return r;
		}
		pfd.fd = q->fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		if (poll(&pfd, 1, remaining(deadline)) == 0 && fy_mono_ms() >= deadline) {
			free(s);
			return fy_fail(err, FY_ERR_TIMEOUT, "%s: getfd %s: QEMU does not read its monitor",
			    q->path, fdname);
		}
	}
	r = (size_t)n < len ? send_all(q, s + n, len - (size_t)n, deadline, err) : 0;
	free(s);
	if (r != 0)
		return r;
	return await_reply(q, "getfd", id, NULL, deadline, err);
}

int
qmp_event(struct qmp *q, json_t **ev, int timeout_ms, struct fy_error *err)
{
	int64_t deadline = fy_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	json_t *o;
	int r;

	*ev = NULL;
	for (;;) {
		if ((*ev = queue_pop(q)) != NULL)
			return 0;
		/* Whole lines already read first: they may hold events. */
		while ((r = next_line(q, &o, err)) == 1) {
			if (o == NULL)
				continue;
			if (json_object_get(o, "event") != NULL) {
				*ev = o;
				return 0;
			}
			log_debug("%s: dropping a reply nobody waits for", q->path);
			json_decref(o);
		}
		if (r < 0)
			return r;
		if ((r = fill(q, deadline, err)) != 0)
			return r == FY_ERR_TIMEOUT ? fy_fail(err, r, "%s: no event", q->path) : r;
	}
}

int
qmp_fd(const struct qmp *q)
{
	return q->fd;
}
