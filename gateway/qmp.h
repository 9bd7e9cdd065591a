/*
 * qmp.h - a small client for QEMU's machine protocol (QMP): one JSON
 * object per line on a UNIX socket, commands tagged with "id", events
 * queued while a command waits for its reply.
 *
 * One struct qmp belongs to one thread at a time.  QEMU runs with two
 * monitors: "qmp.sock" for the domain's supervisor and "job.sock" for the
 * migration engine, so neither has to share a connection.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef FY_QMP_H
#define FY_QMP_H

#include <jansson.h>
#include "gateway.h"

#define QMP_LINE_MAX	(4 << 20)	/* longest reply or event accepted */
#define QMP_QUEUE_MAX	1024		/* events kept while nobody reads them */

struct qmp;

/*
 * Connect to a QMP socket, read the greeting and negotiate capabilities.
 * Each step is bounded by timeout_ms.  err names the socket on failure.
 */
int qmp_open(const char *path, int timeout_ms, struct qmp **, struct fy_error *) FY_WUR;
void qmp_close(struct qmp *);

/*
 * Run cmd with args (the reference is taken; NULL for none) and wait up to
 * timeout_ms for its reply.  On success *ret (if not NULL) holds the
 * "return" member (a new reference).  A QMP error reply gives FY_ERR_PEER
 * with QEMU's class and description in err; a closed monitor FY_ERR_CONNECT;
 * no reply in time FY_ERR_TIMEOUT.
 */
int qmp_exec(struct qmp *, const char *cmd, json_t *args, json_t **ret, int timeout_ms,
    struct fy_error *) FY_WUR;

/* Pass fd to QEMU with SCM_RIGHTS and "getfd" under fdname (fd stays ours). */
int qmp_getfd(struct qmp *, int fd, const char *fdname, int timeout_ms, struct fy_error *) FY_WUR;

/*
 * The next event (queued first, else arriving within timeout_ms; 0 = only
 * what is already buffered): *ev is {"event","data","timestamp"} (a new
 * reference).  FY_ERR_TIMEOUT when none came, FY_ERR_CONNECT when the
 * monitor closed (QEMU exited).
 */
int qmp_event(struct qmp *, json_t **ev, int timeout_ms, struct fy_error *) FY_WUR;

/* The socket, to poll for readability alongside other work. */
int qmp_fd(const struct qmp *);

#endif
