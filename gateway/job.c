/*
 * job.c - migration jobs: a state machine on each side, every transition
 * committed to SQLite (with an event and an audit record) before the
 * external action it announces, so a restarted ferryd knows what it may
 * have done and recovers each phase by rule.
 *
 *   source:       begin -> prepare -> perform -> finish -> confirm -> done
 *   destination:          prepare -> prepared -> finish -> done
 *
 * Begin (source) claims the VM and maps its networks and datastores.
 * Prepare (destination, over the federation API) checks the spec, creates
 * the disks and starts QEMU paused, waiting for the stream.  Perform
 * (source) mirrors the disks over NBD and then pre-copies memory, both
 * through transport channels ("mig/JOB/nbd/N", "mig/JOB/mem/N"), with the
 * convergence policy watching each pass.  Finish (destination) checks the
 * state arrived, optionally compares memory digests, and resumes the
 * guest.  Confirm (source) removes the source's copy.
 *
 * The rule that keeps a VM at exactly one site: the destination resumes
 * only on Finish, and the source gives up its copy only after Finish
 * succeeded.  Until Finish was sent the source may always resume; once
 * sent, the source resumes only when the destination says it did not.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <sqlite3.h>
#include <xxhash.h>
#include "config.h"
#include "gateway.h"
#include "domain.h"
#include "qmp.h"
#include "soapH.h"

#define JOB_ID_LEN	14		/* "m-" + 12 hex */
#define JOB_POLL_MS	250		/* query-migrate period */
#define JOB_QMP_MS	10000		/* one QMP command */
#define JOB_FINISH_MS	60000		/* destination: the stream completes after the source's */
#define JOB_SPEC_MAX	(64 * 1024)
#define JOB_MAX_ACTIVE	64
#define JOB_RETRY_MS	2000		/* recovery: asking an unreachable peer again */

enum { JOB_SOURCE = 0, JOB_DEST = 1 };

struct job {
	struct site *s;
	char id[JOB_ID_LEN + 2];
	int role;
	char vm[VM_NAME_MAX + 1], peer[64];
	char phase[24];
	int cancel;			/* asked by ferryctl job cancel */
	int refs;
	int64_t created_ms;
	json_t *params;			/* what was asked (both sides) */
	json_t *progress;		/* latest numbers (source), under jobs.mtx */
	/* destination */
	struct vm_incoming inc;
	int mem_next;			/* memory channels connect to QEMU in order */
	int tunnels;			/* channels being relayed */
	int64_t idle_since;		/* mono ms: no channel relayed since */
	const char *ended_by;		/* "finish" or "abort": who ends it (under jobs.mtx) */
	int64_t asked_ms;		/* mono ms: the source last asked about this job */
	struct job *next;
};

struct jobs {
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	struct job *head;
	int stopping, workers;
	pthread_t hk;
	int hk_started;
	/* The latest measurement of each peer's link (ferryctl link test). */
	struct link_note {
		char peer[64];
		long long mbit;
		int64_t rtt_us, at_ms;
	} links[8];
	/*
	 * The federation connection of each peer's last job or pre-flight,
	 * kept (within client_max_age) for the next job's Prepare: a token
	 * call on it instead of TCP, TLS and the token (two round trips fewer).
	 */
	struct kept_client {
		char peer[64];
		char from[48];		/* "job m-...", "a pre-flight" */
		struct fed_client *c;
		int64_t at_ms;
	} kept[8];
};

static const char *dest_claim_end(struct job *, const char *by);
static struct fed_client *client_take(struct site *, const char *peer, char *from, size_t cap);
static int client_still_paired(struct site *, const char *peer, struct fed_client *);

static const char *hold_at;		/* FERRYD_TEST_HOLD: fault-injection point (tests only) */

/* ---------------------------------------------------------------- helpers */

static struct job *
job_ref(struct job *j)
{
	j->refs++;
	return j;
}

/* Under jobs.mtx. */
static void
job_unref_locked(struct jobs *js, struct job *j)
{
	struct job **pp;

	if (--j->refs > 0)
		return;
	for (pp = &js->head; *pp != NULL; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	json_decref(j->params);
	json_decref(j->progress);
	free(j);
}

static void
job_unref(struct job *j)
{
	struct jobs *js = j->s->jobs;

	pthread_mutex_lock(&js->mtx);
	job_unref_locked(js, j);
	pthread_cond_broadcast(&js->cv);
	pthread_mutex_unlock(&js->mtx);
}

static struct job *
job_find(struct site *s, const char *id)
{
	struct jobs *js = s->jobs;
	struct job *j;

	if (js == NULL)
		return NULL;
	pthread_mutex_lock(&js->mtx);
	for (j = js->head; j != NULL; j = j->next)
		if (strcmp(j->id, id) == 0) {
			job_ref(j);
			break;
		}
	pthread_mutex_unlock(&js->mtx);
	return j;
}

static int
valid_job_id(const char *id)
{
	size_t i;

	if (id == NULL || strlen(id) != JOB_ID_LEN || id[0] != 'm' || id[1] != '-')
		return 0;
	for (i = 2; i < JOB_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return 1;
}

static void
hold(const char *point)
{
	if (hold_at != NULL && strcmp(hold_at, point) == 0) {
		log_warnx("job: holding 8 s at \"%s\" (FERRYD_TEST_HOLD, a test hook)", point);
		sleep(8);
	}
}

/* A command whose failure changes nothing we would do (cleanup, best effort). */
static void
qmp_quiet(struct qmp *q, const char *cmd, json_t *args, json_t **ret, int timeout_ms, struct fy_error *e)
{
	if (qmp_exec(q, cmd, args, ret, timeout_ms, e) != 0)
		log_debug("QMP %s: %s", cmd, e->msg);
}

static int
xxh_file(const char *path, char *hex, size_t cap)
{
	XXH3_state_t *h = XXH3_createState();
	XXH128_hash_t d;
	uint8_t *buf = malloc(1 << 20);
	ssize_t n;
	int fd = -1, r = FY_ERR_IO;

	if (h == NULL || buf == NULL || XXH3_128bits_reset(h) != XXH_OK)
		goto out;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		goto out;
	while ((n = read(fd, buf, 1 << 20)) > 0)
		(void)XXH3_128bits_update(h, buf, (size_t)n);
	if (n < 0)
		goto out;
	d = XXH3_128bits_digest(h);
	snprintf(hex, cap, "xxh128:%016llx%016llx", (unsigned long long)d.high64, (unsigned long long)d.low64);
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	XXH3_freeState(h);
	return r;
}

/*
 * Digest of the guest's RAM below 3 GiB (where a pc machine maps it
 * contiguously), dumped by QEMU while the guest is stopped.
 */
static int
mem_digest(struct qmp *q, uint64_t mem_mib, const char *dir, char *hex, size_t cap, struct fy_error *err)
{
	char path[VM_PATH_MAX + 32];
	uint64_t size = mem_mib << 20;
	int r;

	if (size > (3ULL << 30))
		size = 3ULL << 30;
	snprintf(path, sizeof(path), "%s/ram.dump", dir);
	(void)unlink(path);
	if ((r = qmp_exec(q, "pmemsave", json_pack("{s:I, s:I, s:s}", "val", (json_int_t)0,
	    "size", (json_int_t)size, "filename", path), NULL, 120000, err)) != 0)
		return r;
	r = xxh_file(path, hex, cap);
	(void)unlink(path);
	if (r != 0)
		return fy_fail(err, r, "cannot read the memory dump %s", path);
	return 0;
}

/* ---------------------------------------------------------------- database */

static int
sql_prep(struct fy_db *db, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(fy_db_handle(db), sql, -1, st, NULL) != SQLITE_OK) {
		log_warnx("sqlite: %s", sqlite3_errmsg(fy_db_handle(db)));
		return FY_ERR_DB;
	}
	return 0;
}

static int
db_event(struct fy_db *db, const char *id, const char *phase, const char *msg)
{
	sqlite3_stmt *st;
	int rc;

	if (sql_prep(db, "INSERT INTO job_events (job, seq, time, phase, message) VALUES (?1, "
	    "(SELECT coalesce(max(seq), 0) + 1 FROM job_events WHERE job = ?1), ?2, ?3, ?4)", &st) != 0)
		return FY_ERR_DB;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, fy_now_ms());
	sqlite3_bind_text(st, 3, phase, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, msg, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : FY_ERR_DB;
}

/*
 * Record the move to phase (and, when outcome is set, the end of the job)
 * with an event and an audit record, in one transaction.  Nothing external
 * happens for a phase before this returned 0.
 */
static int FY_PRINTF(4, 5)
job_record(struct job *j, const char *phase, const char *outcome, const char *fmt, ...)
{
	struct fy_db *db = NULL;
	sqlite3_stmt *st = NULL;
	char msg[600];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((r = site_open_db(j->s, &db)) != 0)
		return r;
	if ((r = fy_db_begin(db)) != 0)
		goto out;
	if ((r = sql_prep(db, "UPDATE jobs SET phase = ?2, outcome = coalesce(?3, outcome), "
	    "error = CASE WHEN ?3 IN ('failed', 'cancelled', 'aborted') THEN ?4 ELSE error END, "
	    "updated = ?5, finished = CASE WHEN ?3 IS NULL THEN finished ELSE ?5 END, "
	    "progress = coalesce(?6, progress) WHERE id = ?1", &st)) != 0)
		goto fail;
	sqlite3_bind_text(st, 1, j->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, phase, -1, SQLITE_STATIC);
	if (outcome != NULL)
		sqlite3_bind_text(st, 3, outcome, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, msg, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, fy_now_ms());
	{
		char *p = NULL;
		pthread_mutex_lock(&j->s->jobs->mtx);
		if (j->progress != NULL)
			p = json_dumps(j->progress, JSON_COMPACT);
		pthread_mutex_unlock(&j->s->jobs->mtx);
		if (p != NULL)
			sqlite3_bind_text(st, 6, p, -1, free);
	}
	if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(fy_db_handle(db)) != 1) {
		r = FY_ERR_DB;
		goto fail;
	}
	if ((r = db_event(db, j->id, phase, msg)) != 0 ||
	    (r = trust_audit(db, "job", j->peer, j->role == JOB_SOURCE ? "migrate-out" : "migrate-in",
	    outcome ? outcome : phase, "job %s vm %s: %s", j->id, j->vm, msg)) != 0)
		goto fail;
	if ((r = fy_db_commit(db)) != 0)
		goto fail;
	pthread_mutex_lock(&j->s->jobs->mtx);
	snprintf(j->phase, sizeof(j->phase), "%s", phase);
	pthread_mutex_unlock(&j->s->jobs->mtx);
	log_info("job %s (%s %s %s): %s%s%s", j->id, j->vm, j->role == JOB_SOURCE ? "to" : "from", j->peer,
	    phase, outcome ? ", " : "", outcome ? outcome : "");
	goto out;
fail:
	fy_db_rollback(db);
	log_warnx("job %s: cannot record phase %s: %s", j->id, phase, fy_strerror(r));
out:
	sqlite3_finalize(st);
	fy_db_close(db);
	return r;
}

static void
job_save_progress(struct job *j)
{
	struct fy_db *db = NULL;
	sqlite3_stmt *st = NULL;
	char *p;

	pthread_mutex_lock(&j->s->jobs->mtx);
	p = j->progress ? json_dumps(j->progress, JSON_COMPACT) : NULL;
	pthread_mutex_unlock(&j->s->jobs->mtx);
	if (p == NULL || site_open_db(j->s, &db) != 0 ||
	    sql_prep(db, "UPDATE jobs SET progress = ?2, updated = ?3 WHERE id = ?1", &st) != 0) {
		free(p);
		fy_db_close(db);
		return;
	}
	sqlite3_bind_text(st, 1, j->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p, -1, free);
	sqlite3_bind_int64(st, 3, fy_now_ms());
	(void)sqlite3_step(st);
	sqlite3_finalize(st);
	fy_db_close(db);
}

static int
job_insert(struct job *j, struct fy_error *err)
{
	struct fy_db *db = NULL;
	sqlite3_stmt *st = NULL;
	char *params = json_dumps(j->params, JSON_COMPACT);
	int r, rc;

	if (params == NULL)
		return fy_fail(err, FY_ERR_NOMEM, "out of memory");
	if ((r = site_open_db(j->s, &db)) != 0) {
		free(params);
		return fy_fail(err, r, "database unavailable");
	}
	if ((r = fy_db_begin(db)) != 0) {
		fy_fail(err, r, "database busy");
		goto out;
	}
	if ((r = sql_prep(db, "INSERT INTO jobs (id, kind, role, vm, peer, phase, params, created, updated) "
	    "VALUES (?, 'migrate', ?, ?, ?, ?, ?, ?, ?)", &st)) != 0)
		goto fail;
	sqlite3_bind_text(st, 1, j->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, j->role == JOB_SOURCE ? "source" : "destination", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, j->vm, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, j->peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, j->phase, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, params, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, j->created_ms);
	sqlite3_bind_int64(st, 8, j->created_ms);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT) {
		r = fy_fail(err, FY_ERR_EXISTS, "job %s already exists here", j->id);
		goto fail;
	}
	if (rc != SQLITE_DONE) {
		r = fy_fail(err, FY_ERR_DB, "cannot record the job: %s", sqlite3_errmsg(fy_db_handle(db)));
		goto fail;
	}
	if ((r = db_event(db, j->id, j->phase, j->role == JOB_SOURCE ? "job created" : "asked to prepare")) != 0 ||
	    (r = trust_audit(db, "job", j->peer, j->role == JOB_SOURCE ? "migrate-out" : "migrate-in", "created",
	    "job %s vm %s %s %s", j->id, j->vm, j->role == JOB_SOURCE ? "to" : "from", j->peer)) != 0 ||
	    (r = fy_db_commit(db)) != 0) {
		fy_fail(err, r, "cannot record the job");
		goto fail;
	}
	goto out;
fail:
	if (err->code == 0)
		fy_fail(err, r, "cannot record the job");
	fy_db_rollback(db);
out:
	sqlite3_finalize(st);
	fy_db_close(db);
	free(params);
	return r;
}

static struct job *
job_new(struct site *s, const char *id, int role, const char *vm, const char *peer, const char *phase,
    json_t *params)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	j->s = s;
	snprintf(j->id, sizeof(j->id), "%s", id);
	j->role = role;
	snprintf(j->vm, sizeof(j->vm), "%s", vm);
	snprintf(j->peer, sizeof(j->peer), "%s", peer);
	snprintf(j->phase, sizeof(j->phase), "%s", phase);
	j->params = params;
	j->created_ms = fy_now_ms();
	j->idle_since = fy_mono_ms();
	j->refs = 1;
	return j;
}

/* Put j on the active list (taking its first reference); refuses too many. */
static int
job_enlist(struct job *j, struct fy_error *err)
{
	struct jobs *js = j->s->jobs;
	struct job *o;
	int n = 0;

	pthread_mutex_lock(&js->mtx);
	for (o = js->head; o != NULL; o = o->next) {
		n++;
		if (strcmp(o->id, j->id) == 0) {
			pthread_mutex_unlock(&js->mtx);
			return fy_fail(err, FY_ERR_EXISTS, "job %s is already running here", j->id);
		}
	}
	if (n >= JOB_MAX_ACTIVE || js->stopping) {
		pthread_mutex_unlock(&js->mtx);
		return fy_fail(err, FY_ERR_LIMIT, js->stopping ? "ferryd is stopping" :
		    "%d jobs are active: wait for one to end", n);
	}
	j->next = js->head;
	js->head = j;
	pthread_mutex_unlock(&js->mtx);
	return 0;
}

static void
progress_set(struct job *j, json_t *p)
{
	pthread_mutex_lock(&j->s->jobs->mtx);
	json_decref(j->progress);
	j->progress = p;
	pthread_mutex_unlock(&j->s->jobs->mtx);
}

/* ---------------------------------------------------------------- peer calls */

static int
peer_client(struct site *s, const char *peer, long long timeout_s, struct fed_client **c, struct fy_error *err)
{
	struct trust_peer p;
	struct fy_db *db = NULL;
	int r;

	memset(&p, 0, sizeof(p));
	if ((r = site_open_db(s, &db)) != 0)
		return fy_fail(err, r, "database unavailable");
	r = fed_connect_peer(s, db, peer, &p, c, err);
	trust_peer_clear(&p);
	fy_db_close(db);
	if (r == 0)
		fed_client_set_timeout(*c, timeout_s);
	return r;
}

/*
 * Query the job's state at the peer; FY_ERR_CONNECT when it cannot be
 * reached.  With keep, the connection in *keep is used (a fresh token on
 * it) or a new one left there for the next query; the caller frees it.
 */
static int
peer_query_on(struct job *j, struct fed_client **keep, struct job_outcome *o, struct fy_error *err)
{
	struct fed_client *c = keep != NULL ? *keep : NULL;
	struct fy__MigQueryResponse qr;
	int r;

	memset(o, 0, sizeof(*o));
	if (keep != NULL)
		*keep = NULL;
	if (c != NULL && fed_client_token(c, "fed", NULL, err) != 0) {
		fed_client_free(c);
		c = NULL;
	}
	if (c == NULL && (r = peer_client(j->s, j->peer, 10, &c, err)) != 0)
		return FY_ERR_CONNECT;
	memset(&qr, 0, sizeof(qr));
	if (soap_call_fy__MigQuery(fed_client_soap(c), "http://peer/fed", NULL, j->id, &qr) != SOAP_OK) {
		r = fed_client_error(c, "the job query", err);
		if (r == FY_ERR_TIMEOUT || r == FY_ERR_IO || r == FY_ERR_CONNECT)
			r = FY_ERR_CONNECT;
		fed_client_free(c);
		return r;
	}
	snprintf(o->phase, sizeof(o->phase), "%s", qr.phase ? qr.phase : "");
	snprintf(o->outcome, sizeof(o->outcome), "%s", qr.outcome ? qr.outcome : "");
	snprintf(o->error, sizeof(o->error), "%s", qr.error ? qr.error : "");
	o->first_line_ms = qr.firstLineMs;
	o->resumed_ms = qr.resumedMs;
	soap_end(fed_client_soap(c));
	if (keep != NULL)
		*keep = c;
	else
		fed_client_free(c);
	return 0;
}

static int
peer_query(struct job *j, struct job_outcome *o, struct fy_error *err)
{
	return peer_query_on(j, NULL, o, err);
}

static int
peer_abort(struct job *j, const char *reason, struct fy_error *err)
{
	struct fed_client *c = NULL;
	struct fy__MigAbortResponse ar;
	int r;

	if ((r = peer_client(j->s, j->peer, 60, &c, err)) != 0)
		return FY_ERR_CONNECT;
	memset(&ar, 0, sizeof(ar));
	if (soap_call_fy__MigAbort(fed_client_soap(c), "http://peer/fed", NULL, j->id, (char *)reason, &ar) != SOAP_OK)
		r = fed_client_error(c, "the abort", err);
	fed_client_free(c);
	return r;
}

/* ---------------------------------------------------------------- source: relays */

/*
 * QEMU at the source connects to our UNIX sockets (migration stream and
 * multifd channels on mig.sock, NBD on nbd.sock); each connection becomes a
 * transport channel, opened in the order QEMU connected.
 */
struct relay {
	struct mig *m;
	int fd;
	char name[TP_NAME_MAX];
	struct tp_channel *ch;
};

struct mig {
	struct job *j;
	struct site *s;
	int refs;			/* the worker and each relay thread, under mtx */
	struct vm_spec spec, out;
	struct vm_status st;
	struct tp_session *sess;
	struct qmp *q;
	char dir[VM_PATH_MAX + 1];
	char mig_sock[VM_PATH_MAX + 16], nbd_sock[VM_PATH_MAX + 16];
	int mig_lfd, nbd_lfd;
	pthread_t acc;
	int acc_up, acc_stop;
	int acc_wake[2];		/* written by mig_cleanup: the accept thread stops at once */
	pthread_mutex_t mtx;
	int nmem, nnbd, active, relay_err;
	char relay_msg[200];
	/* numbers for the summary */
	int64_t t_start, t_perform, t_mem, t_done, t_completed, switchover_ms;
	struct fed_client *fin;		/* Prepare's, or opened near the end of pre-copy, for Finish */
	int64_t fin_ms;
	int fin_token;			/* fin holds a token for the Finish */
	int64_t downtime_ms, verify_ms;
	uint64_t bytes;
	int passes, mirrors;
	long long dirty_mbs, link_mbit, bw_mbit;
	int64_t dirty_t0, rtt_us, confirm_ms;
	uint64_t acked0;		/* the session's bytes acknowledged when pre-copy began */
	int dirty_done;
	size_t window;
	int auto_bw;
	int sess_reused;		/* the session was kept from an earlier job */
	char prep_from[48];		/* Prepare's connection was kept from this ("": its own) */
	char digest[80];
	char escalated[64];
};

static void mig_put(struct mig *);

static void *
relay_main(void *arg)
{
	struct relay *rl = arg;
	struct mig *m = rl->m;
	int r;

	r = tp_tunnel(rl->ch, rl->fd);
	if (r != 0) {
		pthread_mutex_lock(&m->mtx);
		if (m->relay_err == 0) {
			m->relay_err = r;
			snprintf(m->relay_msg, sizeof(m->relay_msg), "channel %s: %s", rl->name, fy_strerror(r));
		}
		pthread_mutex_unlock(&m->mtx);
		log_warnx("job %s: channel %s: %s", m->j->id, rl->name, fy_strerror(r));
	}
	tp_channel_free(rl->ch);
	close(rl->fd);
	pthread_mutex_lock(&m->mtx);
	m->active--;
	pthread_mutex_unlock(&m->mtx);
	free(rl);
	mig_put(m);
	return NULL;
}

static void
relay_start(struct mig *m, int fd, int nbd)
{
	struct relay *rl = calloc(1, sizeof(*rl));
	pthread_t t;
	int idx;

	if (rl == NULL) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&m->mtx);
	idx = nbd ? m->nnbd++ : m->nmem++;
	pthread_mutex_unlock(&m->mtx);
	rl->m = m;
	rl->fd = fd;
	snprintf(rl->name, sizeof(rl->name), "mig/%s/%s/%d", m->j->id, nbd ? "nbd" : "mem", idx);
	if (tp_channel_open(m->sess, rl->name, &rl->ch) != 0) {
		log_warnx("job %s: cannot open channel %s", m->j->id, rl->name);
		close(fd);
		free(rl);
		return;
	}
	pthread_mutex_lock(&m->mtx);
	m->active++;
	m->refs++;		/* a relay left behind by mig_cleanup must not outlive m */
	pthread_mutex_unlock(&m->mtx);
	if (pthread_create(&t, NULL, relay_main, rl) != 0) {
		tp_channel_free(rl->ch);
		close(fd);
		pthread_mutex_lock(&m->mtx);
		m->active--;
		m->refs--;
		pthread_mutex_unlock(&m->mtx);
		free(rl);
		return;
	}
	pthread_detach(t);
}

static void *
accept_main(void *arg)
{
	struct mig *m = arg;
	struct pollfd p[3];
	int i, fd;

	while (!m->acc_stop) {
		p[0].fd = m->mig_lfd;
		p[1].fd = m->nbd_lfd;
		p[2].fd = m->acc_wake[0];
		p[0].events = p[1].events = p[2].events = POLLIN;
		p[0].revents = p[1].revents = p[2].revents = 0;
		if (poll(p, 3, 1000) <= 0 || p[2].revents != 0)
			continue;
		for (i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & POLLIN))
				continue;
			/* Accepted in order, opened in order: the destination connects in the same order. */
			if ((fd = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
				relay_start(m, fd, i == 1);
		}
	}
	return NULL;
}

static int
unix_listen(const char *path, int *out, struct fy_error *err)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return fy_fail(err, FY_ERR_LIMIT, "socket path too long: %s", path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	(void)unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 || chmod(path, 0600) != 0 ||
	    listen(fd, 32) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return fy_fail(err, FY_ERR_SYSTEM, "cannot listen on %s: %s", path, strerror(e));
	}
	*out = fd;
	return 0;
}

static int
unix_connect(const char *path, int *out)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return FY_ERR_LIMIT;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return FY_ERR_SYSTEM;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return FY_ERR_CONNECT;
	}
	*out = fd;
	return 0;
}

/* ---------------------------------------------------------------- source: the job */

static int
has_step(const char *list, const char *step)
{
	size_t n = strlen(step);
	const char *p;

	for (p = list; (p = strstr(p, step)) != NULL; p += n)
		if ((p == list || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
			return 1;
	return 0;
}

static long long
pint(json_t *params, const char *k, long long dflt)
{
	json_t *v = json_object_get(params, k);

	return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

static const char *
pstr(json_t *params, const char *k, const char *dflt)
{
	const char *v = json_string_value(json_object_get(params, k));

	return v ? v : dflt;
}

/* Apply "from=to" maps (JSON array of strings) to name; the result is the destination's name. */
static const char *
map_name(json_t *maps, const char *name, char *buf, size_t cap)
{
	size_t i;
	json_t *v;

	json_array_foreach(maps, i, v) {
		const char *e = json_string_value(v), *eq;
		if (e == NULL || (eq = strchr(e, '=')) == NULL)
			continue;
		if ((size_t)(eq - e) == strlen(name) && strncmp(e, name, (size_t)(eq - e)) == 0) {
			snprintf(buf, cap, "%s", eq + 1);
			return buf;
		}
	}
	return name;
}

static int
qmp_get_int(json_t *o, const char *path, json_int_t *v)
{
	char k[64];
	const char *dot;
	json_t *x = o;

	while ((dot = strchr(path, '.')) != NULL) {
		snprintf(k, sizeof(k), "%.*s", (int)(dot - path), path);
		x = json_object_get(x, k);
		path = dot + 1;
	}
	x = json_object_get(x, path);
	if (!json_is_integer(x))
		return -1;
	*v = json_integer_value(x);
	return 0;
}

/* Disks: drive-mirror each to the destination's NBD export, until all are ready. */
static int
mirror_disks(struct mig *m, struct fy_error *err)
{
	char target[VM_PATH_MAX + 64], jid[32];
	int64_t deadline = fy_mono_ms() + m->s->conf.mig_deadline * 1000;
	int i, r;

	for (i = 0; i < m->spec.ndisks; i++) {
		snprintf(target, sizeof(target), "nbd+unix:///%s?socket=%s", m->spec.disks[i].id, m->nbd_sock);
		snprintf(jid, sizeof(jid), "ferry-%s", m->spec.disks[i].id);
		if ((r = qmp_exec(m->q, "drive-mirror", json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}",
		    "device", m->spec.disks[i].id, "job-id", jid, "target", target, "sync", "full",
		    "mode", "existing", "format", "raw"), NULL, JOB_QMP_MS, err)) != 0)
			return r;
		m->mirrors++;
	}
	if ((r = job_record(m->j, "perform", NULL, "mirroring %d disk%s to %s", m->spec.ndisks,
	    m->spec.ndisks == 1 ? "" : "s", m->j->peer)) != 0)
		return fy_fail(err, r, "cannot record the phase");
	for (;;) {
		json_t *ret = NULL, *bj;
		size_t k;
		int ready = 0, n = 0;
		json_int_t off = 0, len = 0, o, l;

		if (m->j->cancel)
			return fy_fail(err, FY_ERR_CANCELLED, "cancelled while mirroring disks");
		if (fy_mono_ms() > deadline)
			return fy_fail(err, FY_ERR_TIMEOUT, "disks not mirrored within migrate_deadline (%llds)",
			    m->s->conf.mig_deadline);
		if (m->relay_err)
			return fy_fail(err, m->relay_err, "disk mirror: %s", m->relay_msg);
		if ((r = qmp_exec(m->q, "query-block-jobs", NULL, &ret, JOB_QMP_MS, err)) != 0)
			return r;
		json_array_foreach(ret, k, bj) {
			const char *id = json_string_value(json_object_get(bj, "device"));
			if (id == NULL || strncmp(id, "ferry-", 6) != 0)
				continue;
			n++;
			if (json_is_true(json_object_get(bj, "ready")))
				ready++;
			if (qmp_get_int(bj, "offset", &o) == 0 && qmp_get_int(bj, "len", &l) == 0) {
				off += o;
				len += l;
			}
		}
		json_decref(ret);
		progress_set(m->j, json_pack("{s:s, s:I, s:I, s:i, s:i}", "stage", "disk-mirror",
		    "disk_done", (json_int_t)off, "disk_total", (json_int_t)len, "disks", m->mirrors,
		    "disks_ready", ready));
		if (n < m->mirrors)
			return fy_fail(err, FY_ERR_IO, "a disk mirror stopped before it was ready (see the "
			    "VM's qemu.log; the destination's disk may be too small)");
		if (ready == m->mirrors)
			break;
		fy_sleep_ms(JOB_POLL_MS);
	}
	hold("mirror-ready");
	return 0;
}

/*
 * After the memory is across: complete the mirrors, a graceful cancel after
 * READY (QEMU copies what is left, then reports BLOCK_JOB_COMPLETED).  A
 * mirror that was not ready, or that ends with an error or cancelled, fails
 * the job: the destination must not run on a disk that may differ.
 */
static int
mirror_complete(struct mig *m, struct fy_error *err)
{
	char jid[32];
	int64_t deadline = fy_mono_ms() + 60000;
	json_t *ret = NULL, *bj;
	size_t k;
	int i, r, done = 0, ready = 0;

	if ((r = qmp_exec(m->q, "query-block-jobs", NULL, &ret, JOB_QMP_MS, err)) != 0)
		return r;
	json_array_foreach(ret, k, bj) {
		const char *id = json_string_value(json_object_get(bj, "device"));
		if (id != NULL && strncmp(id, "ferry-", 6) == 0 && json_is_true(json_object_get(bj, "ready")))
			ready++;
	}
	json_decref(ret);
	if (ready != m->mirrors)
		return fy_fail(err, FY_ERR_IO, "%d of %d disk mirrors are still in sync at the stun (a mirror "
		    "failed; see the VM's qemu.log)", ready, m->mirrors);
	for (i = 0; i < m->spec.ndisks; i++) {
		snprintf(jid, sizeof(jid), "ferry-%s", m->spec.disks[i].id);
		if ((r = qmp_exec(m->q, "block-job-cancel", json_pack("{s:s}", "device", jid), NULL, JOB_QMP_MS,
		    err)) != 0)
			return r;
	}
	while (done < m->mirrors) {
		json_t *ev = NULL, *data;
		const char *name, *dev;
		int64_t left = deadline - fy_mono_ms();

		if (left <= 0)
			return fy_fail(err, FY_ERR_TIMEOUT, "disk mirrors did not complete within 60 s");
		if ((r = qmp_event(m->q, &ev, (int)left, err)) != 0)
			return r;
		name = json_string_value(json_object_get(ev, "event"));
		data = json_object_get(ev, "data");
		dev = json_string_value(json_object_get(data, "device"));
		if (name == NULL || dev == NULL || strncmp(dev, "ferry-", 6) != 0) {
			json_decref(ev);
			continue;
		}
		if (strcmp(name, "BLOCK_JOB_COMPLETED") == 0 && json_object_get(data, "error") == NULL) {
			done++;
		} else if (strcmp(name, "BLOCK_JOB_COMPLETED") == 0 || strcmp(name, "BLOCK_JOB_CANCELLED") == 0 ||
		    strcmp(name, "BLOCK_JOB_ERROR") == 0) {
			const char *why = json_string_value(json_object_get(data, "error"));
			r = fy_fail(err, FY_ERR_IO, "disk mirror %s ended badly (%s%s%s)", dev, name, why ? ": " : "",
			    why ? why : "");
			json_decref(ev);
			return r;
		}
		json_decref(ev);
	}
	return 0;
}

/*
 * Stop the source's side of a failed perform: cancel QEMU's work, keep the
 * guest running.  1 when it runs here afterwards, 0 when it could not be
 * confirmed.
 */
static int
source_rollback(struct mig *m)
{
	struct fy_error e = { 0, "" };
	json_t *ret = NULL;
	char jid[32];
	int i, own = 0, running = 0;

	/* The relay and our monitor may be gone already (a failure after the copy, a restart). */
	if (m->q == NULL) {
		if (m->st.job_qmp_path[0] == '\0' || qmp_open(m->st.job_qmp_path, JOB_QMP_MS, &m->q, &e) != 0) {
			log_warnx("job %s: cannot reach %s's QEMU to resume it: %s", m->j->id, m->j->vm, e.msg);
			return 0;
		}
		own = 1;
	}
	qmp_quiet(m->q, "migrate_cancel", NULL, NULL, JOB_QMP_MS, &e);
	for (i = 0; i < m->mirrors; i++) {
		snprintf(jid, sizeof(jid), "ferry-%s", m->spec.disks[i].id);
		qmp_quiet(m->q, "block-job-cancel", json_pack("{s:s, s:b}", "device", jid, "force", 1),
		    NULL, JOB_QMP_MS, &e);
	}
	/* A migration that completed left the guest stopped: it runs here again. */
	if (qmp_exec(m->q, "query-status", NULL, &ret, JOB_QMP_MS, &e) == 0) {
		running = json_is_true(json_object_get(ret, "running"));
		json_decref(ret);
		ret = NULL;
		if (!running && qmp_exec(m->q, "cont", NULL, NULL, JOB_QMP_MS, &e) == 0 &&
		    qmp_exec(m->q, "query-status", NULL, &ret, JOB_QMP_MS, &e) == 0)
			running = json_is_true(json_object_get(ret, "running"));
		json_decref(ret);
	}
	if (!running)
		log_warnx("job %s: %s is not running here after the rollback: %s", m->j->id, m->j->vm,
		    e.msg[0] ? e.msg : "QEMU did not resume it");
	if (own) {
		qmp_close(m->q);
		m->q = NULL;
	}
	return running;
}

static void finish_warm(struct mig *, int may_connect);

/*
 * Sleep until QEMU reports a pass or the end of the migration (its
 * MIGRATION and MIGRATION_PASS events), at most ms: the stun's end is seen
 * at once instead of at the next poll.
 */
static void
wait_migration_event(struct qmp *q, int ms)
{
	int64_t until = fy_mono_ms() + ms;
	struct fy_error e = { 0, "" };

	while (fy_mono_ms() < until) {
		json_t *ev = NULL;
		const char *name, *st;
		int wake;

		if (qmp_event(q, &ev, (int)(until - fy_mono_ms()), &e) != 0) {
			if (e.code != FY_ERR_TIMEOUT)
				fy_sleep_ms((int)(until > fy_mono_ms() ? until - fy_mono_ms() : 0));
			return;
		}
		name = json_string_value(json_object_get(ev, "event"));
		st = json_string_value(json_object_get(json_object_get(ev, "data"), "status"));
		wake = name != NULL && (strcmp(name, "MIGRATION_PASS") == 0 || (strcmp(name, "MIGRATION") == 0 &&
		    st != NULL && (strcmp(st, "completed") == 0 || strcmp(st, "failed") == 0 ||
		    strcmp(st, "cancelled") == 0)));
		json_decref(ev);
		if (wake)
			return;
	}
}

/*
 * Before pre-copy: how fast does the guest dirty its memory (QEMU's
 * calc-dirty-rate, page sampling, 1 s), against the rate the migration
 * may use?  Recorded as an event and in the progress; the policy acts on
 * what the passes show, this tells the operator what to expect.
 */
static void
dirty_start(struct mig *m)
{
	struct fy_error e = { 0, "" };

	m->dirty_t0 = fy_mono_ms();
	if (qmp_exec(m->q, "calc-dirty-rate", json_pack("{s:i, s:s}", "calc-time", 1, "mode", "page-sampling"),
	    NULL, JOB_QMP_MS, &e) != 0) {
		log_debug("job %s: no dirty-rate estimate: %s", m->j->id, e.msg);
		m->dirty_t0 = 0;
	}
}

/*
 * The sample started at Begin takes a second: 1 when it has just become
 * available (m->dirty_mbs set), 0 otherwise.  Never waits.
 */
static int
dirty_poll(struct mig *m)
{
	struct fy_error e = { 0, "" };
	json_t *ret = NULL;
	json_int_t rate = -1;
	const char *st;

	if (m->dirty_t0 == 0 || m->dirty_done || fy_mono_ms() - m->dirty_t0 < 1000)
		return 0;
	if (qmp_exec(m->q, "query-dirty-rate", NULL, &ret, JOB_QMP_MS, &e) != 0) {
		m->dirty_done = 1;
		return 0;
	}
	st = json_string_value(json_object_get(ret, "status"));
	if (st != NULL && strcmp(st, "measured") == 0) {
		(void)qmp_get_int(ret, "dirty-rate", &rate);	/* MiB/s */
		m->dirty_done = 1;
		m->dirty_mbs = rate >= 0 ? (rate * 1048576 + 500000) / 1000000 : -1;	/* QEMU: MiB/s; here MB/s */
	} else if (fy_mono_ms() - m->dirty_t0 > 10000)
		m->dirty_done = 1;
	json_decref(ret);
	return rate >= 0;
}

static long long pint(json_t *, const char *, long long);

static void
dirty_record(struct mig *m)
{
	long long cap = pint(m->j->params, "bandwidth_mbit", 0), lim = m->link_mbit;
	char link[48] = "the link's goodput is not measured yet";

	if (m->link_mbit > 0)
		snprintf(link, sizeof(link), "the link gives %lld Mbit/s", m->link_mbit);
	if (cap > 0 && (lim <= 0 || cap < lim))
		lim = cap;
	if (lim <= 0)
		lim = m->bw_mbit;	/* QEMU's cap, transport_link_rate at least */
	(void)job_record(m->j, "perform", NULL, "the guest dirties about %lld MB/s (%lld Mbit/s); %s"
	    "%s%.0lld%s: %s", m->dirty_mbs, m->dirty_mbs * 8, link,
	    cap > 0 ? ", --bandwidth caps the migration at " : "", cap > 0 ? cap : 0, cap > 0 ? " Mbit/s" : "",
	    lim <= 0 ? "no rate to compare with" : m->dirty_mbs * 8 < lim / 2 ?
	    "pre-copy should converge by itself" : m->dirty_mbs * 8 < lim ?
	    "pre-copy should converge, slowly" : "it will not converge without the policy");
}

/* A peer's link measured within this long is taken as it is. */
#define LINK_FRESH_MS	(10 * 60 * 1000)

void
jobs_link_note(struct site *s, const char *peer, long long mbit, int64_t rtt_us)
{
	struct jobs *js = s->jobs;
	struct link_note *n, *old;
	size_t i;

	if (js == NULL || mbit <= 0 || strlen(peer) >= sizeof(js->links[0].peer))
		return;
	pthread_mutex_lock(&js->mtx);
	old = &js->links[0];
	for (i = 0; i < sizeof(js->links) / sizeof(js->links[0]); i++) {
		n = &js->links[i];
		if (strcmp(n->peer, peer) == 0) {
			old = n;
			break;
		}
		if (n->at_ms < old->at_ms)
			old = n;
	}
	snprintf(old->peer, sizeof(old->peer), "%s", peer);
	old->mbit = mbit;
	old->rtt_us = rtt_us;
	old->at_ms = fy_mono_ms();
	pthread_mutex_unlock(&js->mtx);
}

/* The peer's link measured within LINK_FRESH_MS: 1 and its numbers, or 0. */
static int
link_recent(struct site *s, const char *peer, long long *mbit, int64_t *rtt_us, int64_t *age_ms)
{
	struct jobs *js = s->jobs;
	size_t i;
	int found = 0;

	pthread_mutex_lock(&js->mtx);
	for (i = 0; i < sizeof(js->links) / sizeof(js->links[0]); i++) {
		const struct link_note *n = &js->links[i];
		if (n->at_ms > 0 && strcmp(n->peer, peer) == 0 && fy_mono_ms() - n->at_ms < LINK_FRESH_MS &&
		    n->rtt_us > 0) {
			*mbit = n->mbit;
			*rtt_us = n->rtt_us;
			*age_ms = fy_mono_ms() - n->at_ms;
			found = 1;
		}
	}
	pthread_mutex_unlock(&js->mtx);
	return found;
}

/*
 * The transport to the peer, opened while the destination prepares.  No
 * probe delays the migration: the goodput is a recent measurement of this
 * link (a link test) or what the transport carries during the bulk pass
 * (bulk_goodput).  Keeping the new streams busy until Prepare returned,
 * to open their congestion windows, cost more than it gave on these two
 * cores: the traffic slowed the destination's QEMU start.
 */
struct linkup {
	struct mig *m;
	struct tp_config cfg;
	struct fy_error err;
	int r;
	int64_t known_age_ms;		/* >= 0: the link was measured this long ago */
	int64_t t_up;			/* when the session was up (fy_mono_ms) */
};

static void *
linkup_main(void *arg)
{
	struct linkup *lu = arg;
	struct mig *m = lu->m;
	long long mbit = 0;
	int64_t rtt_us = 0;
	struct tp_stats st;

	lu->known_age_ms = -1;
	/* Off the Prepare's path: our monitor and QEMU's dirty-rate sampling (1 s, asynchronous). */
	if ((lu->r = qmp_open(m->st.job_qmp_path, JOB_QMP_MS, &m->q, &lu->err)) != 0)
		return NULL;
	dirty_start(m);
	if (link_recent(m->s, m->j->peer, &mbit, &rtt_us, &lu->known_age_ms))
		m->rtt_us = rtt_us;
	if ((lu->r = data_session_take(m->s, m->j->peer, &lu->cfg, &m->sess, &m->sess_reused, &lu->err)) != 0)
		return NULL;
	if (m->sess_reused)
		tp_session_limit_window(m->sess, lu->cfg.window);	/* as this job would have opened it */
	lu->t_up = fy_mono_ms();
	/*
	 * The channel window bounds what is in flight when QEMU stops the
	 * guest: three bandwidth-delay products (one is not enough to ride
	 * out a loss on a long link), the round trip as the streams' TCP
	 * measured it (the path's: the lowest any stream saw; a kept session's
	 * smoothed one is its last job's under load), or a recent link test's.
	 */
	tp_session_stats(m->sess, &st);
	if (lu->known_age_ms < 0 && (st.min_rtt_ms > 0 || st.rtt_ms > 0))
		m->rtt_us = (int64_t)((st.min_rtt_ms > 0 ? st.min_rtt_ms : st.rtt_ms) * 1000);
	if (m->rtt_us > 0) {
		uint64_t w = (uint64_t)m->s->conf.tp_link_rate * 1000000 / 8 * 3 * (uint64_t)m->rtt_us / 1000000;
		if (w < 2 * lu->cfg.chunk_size)
			w = 2 * lu->cfg.chunk_size;
		if (w < lu->cfg.window) {
			lu->cfg.window = (size_t)w;
			tp_session_limit_window(m->sess, w);
		}
	}
	tp_session_stats(m->sess, &st);
	m->window = st.window > 0 ? (size_t)st.window : lu->cfg.window;	/* a kept session's may be smaller */
	if (lu->known_age_ms >= 0)
		m->link_mbit = mbit;
	return NULL;
}

/*
 * With no recent measurement of the link: the goodput the transport
 * achieves in the first half second of the bulk pass (all memory, whatever
 * the guest dirties), in time for the dirty-rate estimate to be compared.
 */
static void
bulk_goodput(struct mig *m)
{
	struct tp_stats st;
	int64_t dt = fy_mono_ms() - m->t_mem;

	if (m->link_mbit > 0 || m->sess == NULL || dt < 500)
		return;
	tp_session_stats(m->sess, &st);
	if (st.bytes_acked > m->acked0)
		m->link_mbit = (long long)((st.bytes_acked - m->acked0) * 8 / 1000 / (uint64_t)dt);
}

/* Take one step of the convergence policy: "throttle" or "xbzrle". */
static void
escalate(struct mig *m, const char *what, long long throttle_max, const char *why)
{
	struct fy_error e = { 0, "" };
	int r;

	if (strcmp(what, "throttle") == 0) {
		/*
		 * QEMU raises the throttle by the increment every second pass that
		 * still dirties too much: reach the bound in two raises.
		 */
		json_int_t inc = (throttle_max + 1) / 2;
		if (inc < 1)
			inc = 1;
		r = qmp_exec(m->q, "migrate-set-parameters", json_pack("{s:I, s:I, s:I}", "cpu-throttle-initial", inc,
		    "cpu-throttle-increment", inc, "max-cpu-throttle", (json_int_t)throttle_max), NULL, JOB_QMP_MS, &e);
	} else {
		json_int_t cache = 1 << 20;
		while (cache * 2 <= (json_int_t)(m->spec.memory_mib << 20) / 2 && cache < (256 << 20))
			cache *= 2;
		r = qmp_exec(m->q, "migrate-set-parameters", json_pack("{s:I}", "xbzrle-cache-size", cache), NULL,
		    JOB_QMP_MS, &e);
	}
	if (r != 0)
		log_warnx("job %s: cannot escalate to %s: %s", m->j->id, what, e.msg);
	snprintf(m->escalated + strlen(m->escalated), sizeof(m->escalated) - strlen(m->escalated), "%s%s",
	    m->escalated[0] ? "," : "", what);
	(void)job_record(m->j, "perform", NULL, "%s: %s", why, strcmp(what, "throttle") == 0 ?
	    "throttling the guest's CPU" : "xbzrle delta compression on");
}

/*
 * QEMU's rate for a pass counts the pass's fixed costs (the bitmap sync,
 * its waits on a loaded host): with little left per pass, as with a
 * throttled guest, it reads far below the link's, and QEMU's switch-over
 * threshold (that rate times downtime-limit) and our estimate (exp) read
 * a stun that sending what is left would not take.  Seen in CI: 0.5 MB
 * left per 1 s pass at 99% throttle, "1234 ms", never switching over.
 * When what is left (rem) fits the limit at the link's rate (a recent
 * measurement, the bulk pass's, or QEMU's cap) and QEMU's rate reads
 * under half of it, raise QEMU's downtime-limit to what its own rate
 * needs, at most 20 times the limit: it switches over, and the downtime
 * it measures is reported as always.  1 when raised, -1 when QEMU refused
 * (the job tries once), 0 when the rule does not apply.
 */
static int
switch_by_link(struct mig *m, json_int_t pass, json_int_t rem, json_int_t exp, double mbps, long long downtime)
{
	long long lr = m->link_mbit > 0 && m->link_mbit < m->bw_mbit ? m->link_mbit : m->bw_mbit;
	json_int_t lim = exp * 3 / 2 > 20 * downtime ? 20 * downtime : exp * 3 / 2, at_link;
	struct fy_error e = { 0, "" };

	if (lr <= 0 || rem <= 0 || mbps <= 0 || mbps * 2 >= (double)lr || lim <= downtime)
		return 0;
	if ((at_link = (json_int_t)((double)rem * 8 / ((double)lr * 1000))) > downtime)
		return 0;
	if (qmp_exec(m->q, "migrate-set-parameters", json_pack("{s:I}", "downtime-limit", lim), NULL,
	    JOB_QMP_MS, &e) != 0) {
		log_warnx("job %s: cannot raise QEMU's downtime-limit: %s", m->j->id, e.msg);
		return -1;
	}
	(void)job_record(m->j, "perform", NULL, "pass %lld: %lld KiB left, about %lld ms at the link's %lld "
	    "Mbit/s, but QEMU's rate for the pass is %.0f Mbit/s; its downtime-limit raised to %lld ms so it "
	    "switches over", (long long)pass, (long long)(rem >> 10), (long long)at_link, lr, mbps, (long long)lim);
	return 1;
}

/*
 * Memory pre-copy with the convergence policy: when QEMU's expected
 * downtime stays above the limit for stall_passes passes, take the next
 * step of migrate_escalate (CPU throttling up to the bound, then xbzrle);
 * with no step left, give up.  Capabilities cannot change while QEMU
 * migrates, so the ones the policy may need are on from the start at
 * their mildest (throttle capped at 1%, a minimal xbzrle cache).
 */
static int
migrate_memory(struct mig *m, struct fy_error *err)
{
	json_t *params = m->j->params;
	const char *esc = pstr(params, "escalate", m->s->conf.mig_escalate);
	long long downtime = pint(params, "downtime_ms", m->s->conf.mig_downtime_ms);
	long long bw = pint(params, "bandwidth_mbit", 0);
	long long multifd = pint(params, "multifd", m->s->conf.mig_multifd);
	long long throttle_max = m->s->conf.mig_throttle_max;
	int throttle = has_step(esc, "throttle") && throttle_max > 0, xbzrle = has_step(esc, "xbzrle");
	int64_t deadline = fy_mono_ms() + m->s->conf.mig_deadline * 1000, last_save = 0, last_raise = 0;
	json_t *caps, *setp, *ret = NULL;
	json_int_t pass = 0, last_pass = 0, step_pass = 0, last_exp = 0, last_thr = 0, dbg_pass = -1;
	int stalled = 0, step = 0, raised = 0, r;
	const char *steps[2];
	int nsteps = 0;
	char uri[VM_PATH_MAX + 24];

	if (throttle)
		steps[nsteps++] = "throttle";
	if (xbzrle)
		steps[nsteps++] = "xbzrle";
	/*
	 * QEMU's rate cap: --bandwidth when given; else the larger of a
	 * recent link test's goodput (with headroom) and transport_link_rate,
	 * raised while QEMU runs into it.  The transport's backpressure (small
	 * windows) keeps QEMU's own estimate, taken at its socket, true.
	 */
	if (bw <= 0) {
		m->auto_bw = 1;
		bw = m->link_mbit * 5 / 4;
		if (bw < m->s->conf.tp_link_rate)
			bw = m->s->conf.tp_link_rate;
	}
	m->bw_mbit = bw;
	caps = json_pack("[{s:s, s:b}, {s:s, s:b}, {s:s, s:b}, {s:s, s:b}]",
	    "capability", "events", "state", 1, "capability", "auto-converge", "state", throttle,
	    "capability", "xbzrle", "state", xbzrle, "capability", "multifd", "state", multifd > 0);
	if ((r = qmp_exec(m->q, "migrate-set-capabilities", json_pack("{s:o}", "capabilities", caps), NULL,
	    JOB_QMP_MS, err)) != 0)
		return r;
	setp = json_pack("{s:I, s:I}", "downtime-limit", (json_int_t)downtime,
	    "max-bandwidth", (json_int_t)(bw * 1000000 / 8));
	if (throttle) {
		json_object_set_new(setp, "cpu-throttle-initial", json_integer(1));
		json_object_set_new(setp, "cpu-throttle-increment", json_integer(1));
		json_object_set_new(setp, "max-cpu-throttle", json_integer(1));
	}
	if (xbzrle)
		json_object_set_new(setp, "xbzrle-cache-size", json_integer(1 << 16));
	if (multifd > 0)
		json_object_set_new(setp, "multifd-channels", json_integer(multifd));
	if ((r = qmp_exec(m->q, "migrate-set-parameters", setp, NULL, JOB_QMP_MS, err)) != 0)
		return r;
	/*
	 * The estimate says pre-copy cannot converge (the guest dirties faster
	 * than QEMU may send): take the first step now rather than after
	 * passes that cannot succeed.
	 */
	if (nsteps > 0 && m->dirty_mbs > 0 && m->dirty_mbs * 8 > bw) {
		char why[160];
		snprintf(why, sizeof(why), "the guest dirties about %lld Mbit/s, more than the %lld Mbit/s the "
		    "migration may use", m->dirty_mbs * 8, bw);
		escalate(m, steps[step++], throttle_max, why);
	}
	snprintf(uri, sizeof(uri), "unix:%s", m->mig_sock);
	m->t_mem = fy_mono_ms();
	if (m->sess != NULL) {
		struct tp_stats st;
		tp_session_stats(m->sess, &st);
		m->acked0 = st.bytes_acked;
	}
	if ((r = qmp_exec(m->q, "migrate", json_pack("{s:s}", "uri", uri), NULL, JOB_QMP_MS, err)) != 0)
		return r;
	for (;;) {
		const char *status;
		json_int_t v;
		json_t *p;

		if ((r = qmp_exec(m->q, "query-migrate", NULL, &ret, JOB_QMP_MS, err)) != 0)
			return r;
		status = json_string_value(json_object_get(ret, "status"));
		if (status == NULL)
			status = "none";
		p = json_pack("{s:s, s:s}", "stage", "memory", "status", status);
		if (qmp_get_int(ret, "ram.dirty-sync-count", &v) == 0) {
			json_object_set_new(p, "pass", json_integer(pass = v));
			m->passes = (int)v;
		}
		if (qmp_get_int(ret, "ram.transferred", &v) == 0) {
			json_object_set_new(p, "transferred", json_integer(v));
			m->bytes = (uint64_t)v;
		}
		if (qmp_get_int(ret, "ram.remaining", &v) == 0)
			json_object_set_new(p, "remaining", json_integer(v));
		if (qmp_get_int(ret, "ram.total", &v) == 0)
			json_object_set_new(p, "total", json_integer(v));
		if (qmp_get_int(ret, "ram.dirty-pages-rate", &v) == 0) {
			json_int_t ps = 4096;
			(void)qmp_get_int(ret, "ram.page-size", &ps);
			json_object_set_new(p, "dirty_rate", json_integer(v * ps));
		}
		if (qmp_get_int(ret, "expected-downtime", &v) == 0)
			json_object_set_new(p, "expected_downtime_ms", json_integer(v));
		if (qmp_get_int(ret, "cpu-throttle-percentage", &v) == 0)
			json_object_set_new(p, "throttle", json_integer(v));
		{
			json_t *mbps = json_object_get(json_object_get(ret, "ram"), "mbps");
			if (json_is_number(mbps))
				json_object_set_new(p, "mbps", json_real(json_number_value(mbps)));
		}
		json_object_set_new(p, "escalated", json_string(m->escalated));
		json_object_set_new(p, "downtime_limit_ms", json_integer(downtime));
		json_object_set_new(p, "bandwidth_cap_mbit", json_integer(m->bw_mbit));
		if (m->link_mbit > 0)
			json_object_set_new(p, "link_mbit", json_integer(m->link_mbit));
		if (pass != dbg_pass) {
			dbg_pass = pass;
			log_debug("job %s: +%lld ms: pass %lld, %llu bytes sent", m->j->id,
			    (long long)(fy_mono_ms() - m->t_mem), (long long)pass, (unsigned long long)m->bytes);
		}
		if (strcmp(status, "completed") == 0) {
			m->t_completed = fy_mono_ms();
			log_debug("job %s: +%lld ms: pre-copy completed", m->j->id, (long long)(m->t_completed - m->t_mem));
			if (m->sess != NULL) {
				struct tp_stats ts;
				tp_session_stats(m->sess, &ts);
				log_debug("job %s: transport: %d streams, %llu bytes sent, %llu TCP retransmits, "
				    "rtt %.1f ms (path %.1f ms), chunks resent %llu", m->j->id, ts.streams_up,
				    (unsigned long long)ts.bytes_sent, (unsigned long long)ts.retransmits, ts.rtt_ms,
				    ts.min_rtt_ms, (unsigned long long)ts.chunks_resent);
			}
			json_decref(p);
			json_decref(ret);
			ret = NULL;
			break;
		}
		if (pass >= 2)
			finish_warm(m, 1);
		/*
		 * The estimate arrived during the first, bulk, pass (it copies all
		 * memory whatever the guest dirties): act on it before the dirty
		 * passes begin.
		 */
		if (pass <= 1)
			bulk_goodput(m);
		if (dirty_poll(m)) {
			dirty_record(m);
			if (step == 0 && nsteps > 0 && pass <= 1 && m->dirty_mbs * 8 > m->bw_mbit) {
				char why[160];
				snprintf(why, sizeof(why), "the guest dirties about %lld Mbit/s, more than the %lld "
				    "Mbit/s the migration may use", m->dirty_mbs * 8, m->bw_mbit);
				escalate(m, steps[step++], throttle_max, why);
			}
		}
		if (strcmp(status, "failed") == 0 || strcmp(status, "cancelled") == 0) {
			const char *d = json_string_value(json_object_get(ret, "error-desc"));
			json_decref(p);
			r = fy_fail(err, m->j->cancel ? FY_ERR_CANCELLED : FY_ERR_IO, "QEMU: migration %s%s%s%s%s",
			    status, d ? ": " : "", d ? d : "", m->relay_err ? "; " : "", m->relay_err ? m->relay_msg : "");
			json_decref(ret);
			return r;
		}
		progress_set(m->j, p);
		/* The automatic cap is binding: the link may take more, let QEMU try. */
		if (m->auto_bw && fy_mono_ms() - last_raise > 1000) {
			double mb = json_number_value(json_object_get(json_object_get(ret, "ram"), "mbps"));
			last_raise = fy_mono_ms();
			if (mb > 0.9 * (double)m->bw_mbit && m->bw_mbit < 100000) {
				struct fy_error e2 = { 0, "" };
				m->bw_mbit = m->bw_mbit * 3 / 2;
				qmp_quiet(m->q, "migrate-set-parameters", json_pack("{s:I}", "max-bandwidth",
				    (json_int_t)(m->bw_mbit * 1000000 / 8)), NULL, JOB_QMP_MS, &e2);
			}
		}
		if (fy_mono_ms() - last_save > 2000) {
			last_save = fy_mono_ms();
			job_save_progress(m->j);
		}
		/* The policy looks once per pass. */
		if (pass > last_pass && pass > 1) {
			json_int_t exp = 0, rem = 0;
			double mbps = json_number_value(json_object_get(json_object_get(ret, "ram"), "mbps"));
			last_pass = pass;
			/*
			 * What is left to send at the start of a pass, at the rate the
			 * link gives: QEMU's own expected-downtime stops moving once its
			 * dirty-rate sample reads zero, so it is only the fallback.
			 */
			(void)qmp_get_int(ret, "expected-downtime", &exp);
			if (qmp_get_int(ret, "ram.remaining", &rem) == 0 && mbps > 0)
				exp = (json_int_t)((double)rem * 8 / (mbps * 1000));
			/*
			 * A pass is stalled when the stun would still be too long and
			 * the pass did not shrink it by a fifth: a slow but converging
			 * pre-copy is left alone.
			 */
			stalled = exp > downtime && (last_exp <= 0 || exp * 5 > last_exp * 4) ? stalled + 1 : 0;
			last_exp = exp;
			if (exp > downtime && !raised && (raised = switch_by_link(m, pass, rem, exp, mbps, downtime)) > 0)
				stalled = 0;
			{
				/* A throttle QEMU just raised gets its passes before it is judged. */
				json_int_t thr_now = 0;
				(void)qmp_get_int(ret, "cpu-throttle-percentage", &thr_now);
				if (thr_now > last_thr && step > 0)
					stalled = 0;
				last_thr = thr_now;
			}
			if (stalled >= m->s->conf.mig_stall_passes) {
				json_int_t thr = 0;
				(void)qmp_get_int(ret, "cpu-throttle-percentage", &thr);
				stalled = 0;
				if (step > 0 && strcmp(steps[step - 1], "throttle") == 0 && thr < throttle_max &&
				    pass - step_pass < 2 * m->s->conf.mig_stall_passes + 6) {
					/* QEMU raises the throttle once per pass: let it reach the bound. */
				} else if (step < nsteps) {
					char why[160];
					step_pass = pass;
					snprintf(why, sizeof(why), "pass %lld: expected downtime %lld ms above the %lld ms limit "
					    "for %lld passes", (long long)pass, (long long)exp, downtime,
					    m->s->conf.mig_stall_passes);
					escalate(m, steps[step++], throttle_max, why);
				} else {
					json_decref(ret);
					return fy_fail(err, FY_ERR_CONVERGE, "did not converge: expected downtime %lld ms "
					    "stayed above the %lld ms limit for %lld passes%s%s (escalation: %s)",
					    (long long)exp, downtime, m->s->conf.mig_stall_passes,
					    m->escalated[0] ? " after " : "", m->escalated, nsteps ? esc : "none");
				}
			}
		}
		json_decref(ret);
		ret = NULL;
		if (m->j->cancel)
			return fy_fail(err, FY_ERR_CANCELLED, "cancelled during memory pre-copy (pass %lld)",
			    (long long)pass);
		if (fy_mono_ms() > deadline)
			return fy_fail(err, FY_ERR_TIMEOUT, "still in pre-copy after migrate_deadline (%llds)",
			    m->s->conf.mig_deadline);
		wait_migration_event(m->q, JOB_POLL_MS);
	}
	/* total-time and downtime read 0 at the moment of completion: ask again. */
	fy_sleep_ms(2);
	if (qmp_exec(m->q, "query-migrate", NULL, &ret, JOB_QMP_MS, err) == 0) {
		json_int_t v;
		if (qmp_get_int(ret, "downtime", &v) == 0)
			m->downtime_ms = v;
		if (qmp_get_int(ret, "ram.transferred", &v) == 0)
			m->bytes = (uint64_t)v;
		if (qmp_get_int(ret, "ram.dirty-sync-count", &v) == 0)
			m->passes = (int)v;
		if (qmp_get_int(ret, "ram.multifd-bytes", &v) == 0 && (uint64_t)v > m->bytes)
			m->bytes = (uint64_t)v;
		json_decref(ret);
	}
	return 0;
}

static int
send_prepare(struct mig *m, struct fy_error *err)
{
	struct fed_client *c = NULL;
	struct fy__MigPrepareResponse pr;
	json_t *spec = vm_spec_to_json(&m->out), *opts;
	char *sspec = NULL, *sopts = NULL;
	int r;

	opts = json_pack("{s:I, s:s}", "multifd", (json_int_t)pint(m->j->params, "multifd", m->s->conf.mig_multifd),
	    "source_vm", m->spec.name);
	sspec = spec ? json_dumps(spec, JSON_COMPACT) : NULL;
	sopts = opts ? json_dumps(opts, JSON_COMPACT) : NULL;
	json_decref(spec);
	json_decref(opts);
	if (sspec == NULL || sopts == NULL) {
		r = fy_fail(err, FY_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((c = client_take(m->s, m->j->peer, m->prep_from, sizeof(m->prep_from))) != NULL &&
	    !client_still_paired(m->s, m->j->peer, c)) {
		fed_client_free(c);
		c = NULL;
	}
	if (c != NULL && fed_client_token(c, "fed", NULL, err) != 0) {
		log_debug("job %s: the kept connection to %s failed: %s", m->j->id, m->j->peer, err->msg);
		fed_client_free(c);
		c = NULL;
	}
	if (c != NULL) {
		fed_client_set_timeout(c, 120);
		r = 0;
	} else {
		m->prep_from[0] = '\0';
		if ((r = peer_client(m->s, m->j->peer, 120, &c, err)) != 0)
			goto out;
	}
	log_debug("job %s: +%lld ms: connected to %s for Prepare", m->j->id, (long long)(fy_mono_ms() - m->t_start),
	    m->j->peer);
	memset(&pr, 0, sizeof(pr));
	if (soap_call_fy__MigPrepare(fed_client_soap(c), "http://peer/fed", NULL, m->j->id, sspec, sopts, &pr) !=
	    SOAP_OK) {
		struct fy_error e2 = { 0, "" };
		r = fed_client_error(c, "prepare", &e2);
		fy_fail(err, r, "%s refused to prepare: %s", m->j->peer, e2.msg);
	} else {
		/* The connection serves the Finish (finish_warm renews it when it grows old). */
		soap_end(fed_client_soap(c));
		fed_client_free(m->fin);
		m->fin = c;
		m->fin_ms = fy_mono_ms();
		m->fin_token = 0;	/* tokens are single-use: finish_warm gets the next */
		c = NULL;
	}
out:
	fed_client_free(c);
	free(sspec);
	free(sopts);
	return r;
}

/*
 * Finish is on the guest's pause: its connection (TCP, TLS, a token: a few
 * round trips) is opened during the last passes, and renewed well within
 * the token's lifetime and the peer's idle limit.
 */
static int64_t
client_max_age(const struct site *s)
{
	int64_t a = s->conf.token_lifetime * 1000 / 2;

	return a < 20000 ? a : 20000;
}

static int64_t
finish_max_age(const struct mig *m)
{
	return client_max_age(m->s);
}

/*
 * Keep c (the caller's no more: a job's, a pre-flight's) for the next job
 * to peer, in peer's slot, else an empty one, else the oldest (an expired
 * one when there is one); from says where it came from, for the next
 * job's events.
 */
void
jobs_client_keep(struct site *s, const char *peer, struct fed_client *c, const char *from)
{
	struct jobs *js = s->jobs;
	struct fed_client *old = NULL;
	int i, slot = -1, empty = -1, oldest = -1;

	if (c == NULL)
		return;
	if (js == NULL) {
		fed_client_free(c);
		return;
	}
	pthread_mutex_lock(&js->mtx);
	if (js->stopping) {
		/* jobs_fini has taken the slots or is about to. */
		pthread_mutex_unlock(&js->mtx);
		fed_client_free(c);
		return;
	}
	for (i = 0; i < (int)(sizeof(js->kept) / sizeof(js->kept[0])); i++) {
		if (js->kept[i].c == NULL) {
			if (empty < 0)
				empty = i;
		} else if (strcmp(js->kept[i].peer, peer) == 0) {
			slot = i;
			break;
		} else if (oldest < 0 || js->kept[i].at_ms < js->kept[oldest].at_ms)
			oldest = i;
	}
	if (slot < 0)
		slot = empty >= 0 ? empty : oldest;
	old = js->kept[slot].c;
	snprintf(js->kept[slot].peer, sizeof(js->kept[slot].peer), "%s", peer);
	snprintf(js->kept[slot].from, sizeof(js->kept[slot].from), "%s", from != NULL ? from : "an earlier call");
	js->kept[slot].c = c;
	js->kept[slot].at_ms = fy_mono_ms();
	pthread_mutex_unlock(&js->mtx);
	fed_client_free(old);
}

/* 1 when peer is still paired here, with the key c's connection was pinned to. */
static int
client_still_paired(struct site *s, const char *peer, struct fed_client *c)
{
	struct trust_peer p;
	struct fy_db *db = NULL;
	const uint8_t *k = fed_client_peer_spki(c);
	int ok = 0;

	memset(&p, 0, sizeof(p));
	if (k != NULL && site_open_db(s, &db) == 0 && trust_peer_by_name(db, peer, &p) == 0)
		ok = fy_ct_equal(k, p.spki, TRUST_HASH_LEN) || (p.has_next && fy_ct_equal(k, p.spki_next,
		    TRUST_HASH_LEN)) || (p.has_prev && p.prev_until_ms > fy_now_ms() &&
		    fy_ct_equal(k, p.spki_prev, TRUST_HASH_LEN));
	trust_peer_clear(&p);
	fy_db_close(db);
	return ok;
}

/*
 * A kept connection to peer young enough to use, where it came from in
 * from (peer NULL: drop the stale ones); NULL if none.
 */
static struct fed_client *
client_take(struct site *s, const char *peer, char *from, size_t cap)
{
	struct jobs *js = s->jobs;
	struct fed_client *c = NULL, *stale[8];
	int i, n = 0;

	pthread_mutex_lock(&js->mtx);
	for (i = 0; i < 8; i++) {
		if (js->kept[i].c == NULL)
			continue;
		if (fy_mono_ms() - js->kept[i].at_ms >= client_max_age(s))
			stale[n++] = js->kept[i].c;
		else if (peer != NULL && c == NULL && strcmp(js->kept[i].peer, peer) == 0) {
			c = js->kept[i].c;
			if (from != NULL)
				snprintf(from, cap, "%s", js->kept[i].from);
		} else
			continue;
		js->kept[i].c = NULL;
	}
	pthread_mutex_unlock(&js->mtx);
	for (i = 0; i < n; i++)
		fed_client_free(stale[i]);
	return c;
}

/*
 * Have m->fin ready for the Finish: a token on the connection it holds,
 * or, with may_connect, a new connection (and its token) in its place.
 * Without may_connect a connection that failed is dropped, none opened.
 */
static void
finish_warm(struct mig *m, int may_connect)
{
	struct fy_error e = { 0, "" };
	int64_t now = fy_mono_ms();

	if (m->fin != NULL && now - m->fin_ms < finish_max_age(m)) {
		if (m->fin_token)
			return;
		/* Prepare's connection: a token for the Finish on it, off the guest's pause. */
		if (fed_client_token(m->fin, "fed", NULL, &e) == 0) {
			fed_client_set_timeout(m->fin, JOB_FINISH_MS / 1000 + 60);
			m->fin_token = 1;
			return;
		}
		log_debug("job %s: Prepare's connection failed: %s", m->j->id, e.msg);
	}
	fed_client_free(m->fin);
	m->fin = NULL;
	if (!may_connect)
		return;
	if (peer_client(m->s, m->j->peer, JOB_FINISH_MS / 1000 + 60, &m->fin, &e) == 0) {
		m->fin_ms = fy_mono_ms();
		m->fin_token = 1;
	} else
		log_debug("job %s: cannot open the Finish connection yet: %s", m->j->id, e.msg);
}

/*
 * Finish at the destination.  Returns 0 (resumed there), FY_ERR_PEER (it
 * refused: it did not resume) or FY_ERR_CONNECT (no answer: unknown).
 */
static int
send_finish(struct mig *m, int64_t *resumed_ms, struct fed_client **keep, struct fy_error *err)
{
	struct fed_client *c = NULL;
	struct fy__MigFinishResponse fr;
	int r;

	/*
	 * A token on Prepare's connection if pre-copy was too short for it.
	 * On the guest's pause a connection is opened once at most: when the
	 * warm one is gone (its warm-up failed), or fails its token here, the
	 * one connect is the fresh one below, which reports its error.
	 */
	finish_warm(m, 0);
	if (m->fin != NULL && m->fin_token && fy_mono_ms() - m->fin_ms < finish_max_age(m)) {
		c = m->fin;
		m->fin = NULL;
	} else if ((r = peer_client(m->s, m->j->peer, JOB_FINISH_MS / 1000 + 60, &c, err)) != 0)
		return FY_ERR_CONNECT;
	memset(&fr, 0, sizeof(fr));
	if (soap_call_fy__MigFinish(fed_client_soap(c), "http://peer/fed", NULL, m->j->id, m->digest, &fr) != SOAP_OK) {
		struct soap *soap = fed_client_soap(c);
		struct fy_error e2 = { 0, "" };
		/* A fault is an answer ("not resumed"); a broken connection is not. */
		int answered = soap->error == SOAP_FAULT || soap->error == SOAP_CLI_FAULT ||
		    soap->error == SOAP_SVR_FAULT;
		(void)fed_client_error(c, "finish", &e2);
		fed_client_free(c);
		fy_fail(err, answered ? FY_ERR_PEER : FY_ERR_CONNECT, "%s", e2.msg);
		return answered ? FY_ERR_PEER : FY_ERR_CONNECT;
	}
	*resumed_ms = fr.resumedMs;
	soap_end(fed_client_soap(c));
	*keep = c;		/* for the questions that follow */
	return 0;
}

static void
summary_set(struct mig *m, const char *outcome, int64_t resumed_ms, int64_t first_line_ms)
{
	json_t *p = json_pack("{s:s, s:s, s:I, s:I, s:I, s:i, s:i, s:I}", "stage", "done", "outcome", outcome,
	    "total_ms", (json_int_t)(m->t_done - m->t_start), "downtime_ms", (json_int_t)m->downtime_ms,
	    "bytes", (json_int_t)m->bytes, "passes", m->passes, "disks", m->mirrors,
	    "dirty_rate_estimate", (json_int_t)(m->dirty_mbs < 0 ? -1 : m->dirty_mbs * 1000000));
	if (m->t_mem > 0)
		json_object_set_new(p, "memory_ms", json_integer(m->t_done - m->t_mem));
	if (m->switchover_ms > 0)
		json_object_set_new(p, "switchover_ms", json_integer(m->switchover_ms));
	if (m->confirm_ms > 0)
		json_object_set_new(p, "confirm_ms", json_integer(m->confirm_ms));
	if (m->link_mbit > 0)
		json_object_set_new(p, "link_mbit", json_integer(m->link_mbit));
	if (m->escalated[0])
		json_object_set_new(p, "escalated", json_string(m->escalated));
	if (m->digest[0]) {
		json_object_set_new(p, "memory_digest", json_string(m->digest));
		json_object_set_new(p, "verify_ms", json_integer(m->verify_ms));
	}
	json_object_set_new(p, "integrity", json_string(m->digest[0] ? "memory digests equal at both sites" :
	    "not verified (use --verify)"));
	if (resumed_ms > 0 && m->st.serial_last_ms > 0 && first_line_ms > 0)
		json_object_set_new(p, "guest_pause_ms", json_integer(first_line_ms - m->st.serial_last_ms));
	progress_set(m->j, p);
}

static void
mig_cleanup(struct mig *m)
{
	int i;

	if (m->acc_up) {
		m->acc_stop = 1;
		if (write(m->acc_wake[1], "", 1) < 0)
			log_debug("job %s: cannot wake the accept thread: %s", m->j->id, strerror(errno));
		pthread_join(m->acc, NULL);
		m->acc_up = 0;
	}
	for (i = 0; i < 2; i++) {
		if (m->acc_wake[i] >= 0)
			close(m->acc_wake[i]);
		m->acc_wake[i] = -1;
	}
	/* Relays end when QEMU closes its side or the session fails; wait for them, bounded (30 s). */
	for (i = 0; i < 6000; i++) {
		int n;
		pthread_mutex_lock(&m->mtx);
		n = m->active;
		pthread_mutex_unlock(&m->mtx);
		if (n == 0)
			break;
		if (i == 2000 && m->sess != NULL)
			log_warnx("job %s: %d channels still open after 10 s", m->j->id, n);
		fy_sleep_ms(5);
	}
	if (m->active == 0) {
		/* The next job to this peer may take it (data.c), unless a relay saw it fail. */
		data_session_release(m->s, m->sess, m->relay_err == 0);
		m->sess = NULL;
	} else
		log_warnx("job %s: leaving %d channels to the transport's timeouts", m->j->id, m->active);
	if (m->mig_lfd >= 0)
		close(m->mig_lfd);
	if (m->nbd_lfd >= 0)
		close(m->nbd_lfd);
	m->mig_lfd = m->nbd_lfd = -1;
	(void)unlink(m->mig_sock);
	(void)unlink(m->nbd_sock);
	(void)rmdir(m->dir);
	qmp_close(m->q);
	m->q = NULL;
	fed_client_free(m->fin);
	m->fin = NULL;
}

/* Fail a job before Finish: the guest keeps running here; the destination removes its copy. */
static void
source_fail(struct mig *m, const struct fy_error *why, int prepared)
{
	struct fy_error e = { 0, "" };
	const char *outcome = why->code == FY_ERR_CANCELLED ? "cancelled" : "failed";

	int running = source_rollback(m);

	if (prepared && peer_abort(m->j, why->msg, &e) != 0)
		log_warnx("job %s: %s was not told to abort (%s); it removes the incoming VM on its own when "
		    "the stream is gone", m->j->id, m->j->peer, e.msg);
	if (m->s->dom != NULL)
		(void)m->s->dom->ops->claim(m->s->dom, m->spec.name, "", &e);
	m->t_done = fy_mono_ms();
	summary_set(m, outcome, 0, 0);
	(void)job_record(m->j, "done", outcome, running ? "%s; %s keeps running at this site" :
	    "%s; %s is stopped here and could not be resumed: start it by hand", why->msg, m->j->vm);
}

/* Ask the destination until it answers whether it resumed; then confirm or resume here. */
static void source_settle(struct mig *, const char *why);

static void
source_run(struct mig *m)
{
	struct job *j = m->j;
	struct site *s = m->s;
	struct domain *d = s->dom;
	struct fy_error err = { 0, "" };
	struct tp_config cfg;
	struct fed_client *qc = NULL;	/* Finish's connection, kept for the query after it */
	int64_t resumed_ms = 0, t_answer;
	int prepared = 0, r, i;
	json_t *maps_n, *maps_d;
	char buf[80];

	m->t_start = fy_mono_ms();
	/* Begin: the VM is ours for this job, its spec mapped to the destination's names. */
	if (d == NULL) {
		fy_fail(&err, FY_ERR_CONFIG, "no management domain at this site");
		goto fail;
	}
	if ((r = d->ops->lookup(d, j->vm, &m->spec, &m->st, &err)) != 0)
		goto fail;
	if (m->st.state != VM_RUNNING) {
		fy_fail(&err, FY_ERR_STATE, "VM %s is %s: only a running VM migrates live", j->vm,
		    vm_state_name(m->st.state));
		goto fail;
	}
	m->out = m->spec;
	maps_n = json_object_get(j->params, "network_map");
	maps_d = json_object_get(j->params, "datastore_map");
	for (i = 0; i < m->out.nnics; i++)
		snprintf(m->out.nics[i].network, sizeof(m->out.nics[i].network), "%s",
		    map_name(maps_n, m->spec.nics[i].network, buf, sizeof(buf)));
	for (i = 0; i < m->out.ndisks; i++)
		snprintf(m->out.disks[i].datastore, sizeof(m->out.disks[i].datastore), "%s",
		    map_name(maps_d, m->spec.disks[i].datastore, buf, sizeof(buf)));
	/* Prepare: recorded first, so a restart knows the destination may hold a copy. */
	if ((r = job_record(j, "prepare", NULL, "asking %s to prepare %s (%d vCPU, %llu MiB, %d disk%s, %d NIC%s)",
	    j->peer, j->vm, m->spec.vcpus, (unsigned long long)m->spec.memory_mib, m->spec.ndisks,
	    m->spec.ndisks == 1 ? "" : "s", m->spec.nnics, m->spec.nnics == 1 ? "" : "s")) != 0) {
		fy_fail(&err, r, "cannot record the phase");
		goto fail;
	}
	prepared = 1;
	/*
	 * While the destination prepares: our monitor, QEMU's dirty-rate
	 * sampling (1 s, asynchronous), and the transport with a probe of the
	 * link's goodput over it.  Their times overlap instead of adding up.
	 */
	data_config(s, &cfg);
	/*
	 * Small windows keep QEMU's bandwidth estimate honest (it measures at
	 * its socket), yet cover the link's bandwidth-delay product at 150 ms.
	 */
	{
		size_t w = (size_t)(s->conf.tp_link_rate * 1000000 / 8 * 15 / 100);
		if (w < (4u << 20))
			w = 4u << 20;
		if (w < cfg.window)
			cfg.window = w;
		if (cfg.window < 2 * cfg.chunk_size)
			cfg.window = 2 * cfg.chunk_size;
	}
	{
		struct linkup lu;
		pthread_t lt;
		int lstarted;

		memset(&lu, 0, sizeof(lu));
		lu.m = m;
		lu.cfg = cfg;
		lstarted = pthread_create(&lt, NULL, linkup_main, &lu) == 0;
		r = send_prepare(m, &err);
		log_debug("job %s: +%lld ms: Prepare answered", j->id, (long long)(fy_mono_ms() - m->t_start));
		if (lstarted)
			pthread_join(lt, NULL);
		if (lu.t_up > 0)
			log_debug("job %s: +%lld ms: transport up", j->id, (long long)(lu.t_up - m->t_start));
		if (!lstarted)
			fy_fail(&lu.err, lu.r = FY_ERR_SYSTEM, "cannot start the transport");
		if (r != 0) {
			prepared = r != FY_ERR_PEER;	/* refused: nothing there; no answer: maybe */
			goto fail;
		}
		if (lu.r != 0) {
			err = lu.err;
			goto fail;
		}
		if (lu.known_age_ms >= 0)
			snprintf(buf, sizeof(buf), "%lld Mbit/s measured %lld s ago", m->link_mbit,
			    (long long)(lu.known_age_ms / 1000));
		else
			snprintf(buf, sizeof(buf), "goodput measured during the bulk pass");
	}
	hold("prepared");
	/* Perform: our relay sockets, then QEMU. */
	if ((r = job_record(j, "perform", NULL, "%s prepared the incoming VM%s%s%s; the transport is up%s: %s, "
	    "round trip %.1f ms, channel window %zu KiB", j->peer, m->prep_from[0] ? " (asked over the connection "
	    "kept from " : "", m->prep_from, m->prep_from[0] ? ")" : "", m->sess_reused ? " (kept from an earlier job "
	    "or link test)" : "", buf, (double)m->rtt_us / 1000, m->window >> 10)) != 0) {
		fy_fail(&err, r, "cannot record the phase");
		goto fail;
	}
	m->t_perform = fy_mono_ms();
	snprintf(m->dir, sizeof(m->dir), "%s/jobs/%s", s->conf.state_dir, j->id);
	if (fy_mkdir_p(m->dir, 0700) != 0) {
		fy_fail(&err, FY_ERR_SYSTEM, "cannot create %s", m->dir);
		goto fail;
	}
	snprintf(m->mig_sock, sizeof(m->mig_sock), "%s/mig.sock", m->dir);
	snprintf(m->nbd_sock, sizeof(m->nbd_sock), "%s/nbd.sock", m->dir);
	if ((r = unix_listen(m->mig_sock, &m->mig_lfd, &err)) != 0 ||
	    (m->spec.ndisks > 0 && (r = unix_listen(m->nbd_sock, &m->nbd_lfd, &err)) != 0))
		goto fail;
	if (pipe2(m->acc_wake, O_CLOEXEC | O_NONBLOCK) != 0 || pthread_create(&m->acc, NULL, accept_main, m) != 0) {
		fy_fail(&err, FY_ERR_SYSTEM, "cannot start the relay");
		goto fail;
	}
	m->acc_up = 1;
	if (m->spec.ndisks > 0 && (r = mirror_disks(m, &err)) != 0)
		goto fail;
	if ((r = job_record(j, "perform", NULL, "memory pre-copy of %llu MiB", (unsigned long long)m->spec.memory_mib)) != 0) {
		fy_fail(&err, r, "cannot record the phase");
		goto fail;
	}
	/* QEMU's dirty-rate sample (started at Begin) is in by now, or arrives during the bulk pass. */
	if (dirty_poll(m))
		dirty_record(m);
	if ((r = migrate_memory(m, &err)) != 0)
		goto fail;
	/* The guest is stopped here now; the disks settle, then the destination takes over. */
	if (m->mirrors > 0 && (r = mirror_complete(m, &err)) != 0)
		goto fail;
	if (json_is_true(json_object_get(j->params, "verify"))) {
		int64_t t = fy_mono_ms();
		if ((r = mem_digest(m->q, m->spec.memory_mib, m->dir, m->digest, sizeof(m->digest), &err)) != 0)
			goto fail;
		m->verify_ms = fy_mono_ms() - t;
	}
	log_debug("job %s: +%lld ms after completion: mirrors and checks done", j->id, (long long)(fy_mono_ms() - m->t_completed));
	/*
	 * The relays and the session are closed after Finish, not before: the
	 * destination checks that QEMU loaded the whole state, and the guest
	 * is stopped at both sites until it resumes.
	 */
	hold("before-finish");
	if (j->cancel) {
		fy_fail(&err, FY_ERR_CANCELLED, "cancelled before switchover");
		goto fail;
	}
	/* Finish: from here the destination may run the guest. */
	if ((r = job_record(j, "finish", NULL, "%llu MiB of memory%s sent in %d passes, QEMU downtime %lld ms; "
	    "asking %s to resume", (unsigned long long)(m->bytes >> 20), m->mirrors ? " and disks" : "",
	    m->passes, (long long)m->downtime_ms, j->peer)) != 0) {
		fy_fail(&err, r, "cannot record the phase");
		goto fail;
	}
	log_debug("job %s: +%lld ms: finish recorded", j->id, (long long)(fy_mono_ms() - m->t_completed));
	r = send_finish(m, &resumed_ms, &qc, &err);
	t_answer = fy_mono_ms();
	if (qc != NULL)
		fed_client_set_timeout(qc, 10);	/* Finish's was long; a query gets peer_query's */
	log_debug("job %s: +%lld ms: finish answered", j->id, (long long)(t_answer - m->t_completed));
	m->switchover_ms = t_answer - m->t_completed;
	/* The last heartbeat before the stun (the guest is stopped here: asked after the Finish, off its pause). */
	if (r == 0) {
		struct fy_error e2 = { 0, "" };
		(void)d->ops->lookup(d, j->vm, NULL, &m->st, &e2);
	}
	mig_cleanup(m);
	if (r != 0) {
		/*
		 * A refusal or no answer: either way the destination's own record
		 * decides (a refusal is recorded there as failed before it is sent).
		 */
		char why[400];
		snprintf(why, sizeof(why), "%s %s: %s", j->peer, r == FY_ERR_PEER ? "did not resume the VM" :
		    "did not answer the finish", err.msg);
		source_settle(m, why);
		return;
	}
	/* The migration is over for the guest: it runs at the destination (the rest is Confirm). */
	m->t_done = t_answer;
	hold("after-finish");
	/* Confirm: the destination runs it; our copy goes. */
	if ((r = job_record(j, "confirm", NULL, "%s resumed %s; removing the copy here", j->peer, j->vm)) != 0)
		log_warnx("job %s: cannot record confirm; doing it anyway (the destination runs the VM)", j->id);
	if ((r = d->ops->outgoing_confirm(d, j->vm, &err)) != 0)
		log_warnx("job %s: removing the source copy: %s", j->id, err.msg);
	m->confirm_ms = fy_mono_ms() - m->t_done;
	{
		struct job_outcome o;
		struct fy_error e2 = { 0, "" };
		int k;
		/* The guest's first heartbeat at the destination gives the pause it saw. */
		memset(&o, 0, sizeof(o));
		for (k = 0; k < 40; k++) {
			if (peer_query_on(j, &qc, &o, &e2) == 0 && o.first_line_ms > 0)
				break;
			fy_sleep_ms(50);
		}
		snprintf(buf, sizeof(buf), "job %s", j->id);
		jobs_client_keep(s, j->peer, qc, buf);	/* for the next job's Prepare */
		summary_set(m, "succeeded", resumed_ms, o.first_line_ms);
	}
	(void)job_record(j, "done", "succeeded", "%s runs at %s", j->vm, j->peer);
	return;
fail:
	source_rollback(m);
	mig_cleanup(m);
	if (err.code == 0)
		fy_fail(&err, FY_ERR_IO, "failed");
	source_fail(m, &err, prepared);
}

/*
 * The outcome of Finish is unknown (no answer, or a restart after Finish
 * was sent): the guest stays stopped here until the destination says
 * whether it resumed.  Asked every JOB_RETRY_MS while ferryd runs.
 */
static void
source_settle(struct mig *m, const char *why)
{
	struct job *j = m->j;
	struct domain *d = m->s->dom;
	struct job_outcome o;
	struct fy_error e = { 0, "" };
	int r, said = 0, resumed_there;

	/*
	 * Only a final answer decides: "succeeded" (it runs there), "aborted"
	 * or "failed" (it never ran there, and never will), or no such job
	 * there.  While it is still prepared, ask it to abort and ask again;
	 * while it is finishing, or cannot be asked, wait.
	 */
	for (;;) {
		if (m->s->jobs->stopping)
			return;
		memset(&o, 0, sizeof(o));
		r = peer_query(j, &o, &e);
		if (r == FY_ERR_NOTFOUND || (r == 0 && (strcmp(o.outcome, "succeeded") == 0 ||
		    strcmp(o.outcome, "aborted") == 0 || strcmp(o.outcome, "failed") == 0)))
			break;
		if (r == 0 && o.outcome[0] == '\0' && (strcmp(o.phase, "prepare") == 0 ||
		    strcmp(o.phase, "prepared") == 0)) {
			struct fy_error e2 = { 0, "" };
			if (peer_abort(j, why, &e2) == 0) {
				fy_sleep_ms(50);
				continue;	/* and read the outcome it recorded */
			}
		}
		if (!said++)
			(void)job_record(j, j->phase, NULL, "%s; waiting for %s to say whether it resumed %s "
			    "(the VM stays stopped here meanwhile)", why, j->peer, j->vm);
		if (r != 0)
			log_info("job %s: asking %s about the outcome: %s", j->id, j->peer, e.msg);
		fy_sleep_ms(JOB_RETRY_MS);
	}
	resumed_there = r == 0 && strcmp(o.outcome, "succeeded") == 0;
	if (resumed_there) {
		(void)job_record(j, "confirm", NULL, "%s reports it resumed %s; removing the copy here", j->peer, j->vm);
		if (d != NULL && d->ops->outgoing_confirm(d, j->vm, &e) != 0)
			log_warnx("job %s: removing the source copy: %s", j->id, e.msg);
		m->t_done = fy_mono_ms();
		summary_set(m, "succeeded", o.resumed_ms, o.first_line_ms);
		(void)job_record(j, "done", "succeeded", "%s runs at %s", j->vm, j->peer);
		return;
	}
	/* It did not resume and will not: resume here. */
	if (!source_rollback(m)) {
		m->t_done = fy_mono_ms();
		summary_set(m, "failed", 0, 0);
		(void)job_record(j, "done", "failed", "%s; %s did not resume it (%s), but %s could not be resumed here "
		    "either: start it by hand (ferryctl vm start %s)", why, j->peer, r == 0 ? o.outcome : "no such job",
		    j->vm, j->vm);
		return;
	}
	if (d != NULL)
		(void)d->ops->claim(d, j->vm, "", &e);
	m->t_done = fy_mono_ms();
	summary_set(m, "failed", 0, 0);
	(void)job_record(j, "done", "failed", "%s; %s did not resume it (%s%s%s); %s keeps running here", why, j->peer,
	    r == 0 ? o.outcome : "no such job there", r == 0 && o.error[0] ? ": " : "", r == 0 ? o.error : "", j->vm);
}

static void *
source_main(void *arg)
{
	struct mig *m = arg;

	source_run(m);
	pthread_mutex_lock(&m->s->jobs->mtx);
	m->s->jobs->workers--;
	pthread_mutex_unlock(&m->s->jobs->mtx);
	job_save_progress(m->j);
	mig_put(m);
	return NULL;
}

static struct mig *
mig_new(struct job *j)
{
	struct mig *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->j = j;
	m->s = j->s;
	m->refs = 1;
	m->mig_lfd = m->nbd_lfd = -1;
	m->acc_wake[0] = m->acc_wake[1] = -1;
	m->dirty_mbs = -1;
	pthread_mutex_init(&m->mtx, NULL);
	return m;
}

/* Drop a reference to m; the last one releases the job's reference and m. */
static void
mig_put(struct mig *m)
{
	int last;

	pthread_mutex_lock(&m->mtx);
	last = --m->refs == 0;
	pthread_mutex_unlock(&m->mtx);
	if (!last)
		return;
	job_unref(m->j);
	pthread_mutex_destroy(&m->mtx);
	free(m);
}

static int
start_worker(struct job *j, void *(*fn)(void *), struct fy_error *err)
{
	struct mig *m = mig_new(j);
	pthread_t t;

	if (m == NULL)
		return fy_fail(err, FY_ERR_NOMEM, "out of memory");
	pthread_mutex_lock(&j->s->jobs->mtx);
	job_ref(j);
	j->s->jobs->workers++;
	pthread_mutex_unlock(&j->s->jobs->mtx);
	if (pthread_create(&t, NULL, fn, m) != 0) {
		pthread_mutex_lock(&j->s->jobs->mtx);
		j->s->jobs->workers--;
		job_unref_locked(j->s->jobs, j);
		pthread_mutex_unlock(&j->s->jobs->mtx);
		pthread_mutex_destroy(&m->mtx);
		free(m);
		return fy_fail(err, FY_ERR_SYSTEM, "cannot start the job");
	}
	pthread_detach(t);
	return 0;
}

/* ---------------------------------------------------------------- source: recovery */

/*
 * A source job a previous ferryd left unfinished.  Before "finish" the
 * destination cannot have resumed: abort it there and resume here.  From
 * "finish" on, the destination decides (source_settle).
 */
static void *
recover_source_main(void *arg)
{
	struct mig *m = arg;
	struct job *j = m->j;
	struct domain *d = m->s->dom;
	struct fy_error e = { 0, "" };
	char why[200];

	snprintf(why, sizeof(why), "ferryd restarted during %s", j->phase);
	if (strcmp(j->phase, "finish") == 0) {
		/* Only the destination knows whether it resumed: ask, whatever is left here. */
		if (d != NULL)
			(void)d->ops->lookup(d, j->vm, &m->spec, &m->st, &e);
		m->t_start = fy_mono_ms();
		source_settle(m, why);
		goto out;
	}
	if (d == NULL || d->ops->lookup(d, j->vm, &m->spec, &m->st, &e) != 0) {
		if (strcmp(j->phase, "confirm") == 0)
			(void)job_record(j, "done", "succeeded", "%s: the source copy was already removed", why);
		else
			(void)job_record(j, "done", "failed", "%s: VM %s is not here any more (%s)", why, j->vm, e.msg);
		goto out;
	}
	if (strcmp(j->phase, "confirm") == 0) {
		if (d->ops->outgoing_confirm(d, j->vm, &e) != 0)
			log_warnx("job %s: removing the source copy: %s", j->id, e.msg);
		(void)job_record(j, "done", "succeeded", "%s; the source copy is removed", why);
		goto out;
	}
	if (strcmp(j->phase, "finish") == 0) {
		m->t_start = fy_mono_ms();
		source_settle(m, why);
		goto out;
	}
	/* begin, prepare, perform: the destination never got Finish. */
	m->t_start = fy_mono_ms();
	{
		struct fy_error w = { FY_ERR_IO, "" };
		snprintf(w.msg, sizeof(w.msg), "%s", why);
		m->mirrors = m->spec.ndisks;
		source_fail(m, &w, strcmp(j->phase, "begin") != 0);
	}
out:
	pthread_mutex_lock(&m->s->jobs->mtx);
	m->s->jobs->workers--;
	pthread_mutex_unlock(&m->s->jobs->mtx);
	mig_put(m);
	return NULL;
}

/* ---------------------------------------------------------------- destination */

static int
dest_job(struct site *s, const char *peer, const char *id, struct job **out, struct fy_error *err)
{
	struct job *j;

	*out = NULL;
	if (!valid_job_id(id))
		return fy_fail(err, FY_ERR_FORMAT, "job id \"%.20s\" is malformed", id ? id : "");
	if ((j = job_find(s, id)) == NULL)
		return fy_fail(err, FY_ERR_NOTFOUND, "no active job %s here", id);
	if (j->role != JOB_DEST || strcmp(j->peer, peer) != 0) {
		job_unref(j);
		return fy_fail(err, FY_ERR_DENIED, "job %s does not belong to %s", id, peer);
	}
	*out = j;
	return 0;
}

int
job_fed_prepare(struct site *s, const char *peer, const char *id, const char *spec_s, const char *opts_s,
    char *vm, size_t vmcap, char *uuid, size_t uuidcap, struct fy_error *err)
{
	struct domain *d = s->dom;
	struct vm_spec spec;
	json_t *spec_j = NULL, *opts = NULL;
	json_error_t je;
	struct job *j = NULL;
	int64_t t0;
	int r;

	if (!valid_job_id(id))
		return fy_fail(err, FY_ERR_FORMAT, "job id \"%.20s\" is malformed", id ? id : "");
	if (d == NULL || d->ops->incoming_prepare == NULL)
		return fy_fail(err, FY_ERR_CONFIG, "site %s has no domain that takes migrations", s->conf.site_name);
	if (spec_s == NULL || strlen(spec_s) > JOB_SPEC_MAX || opts_s == NULL || strlen(opts_s) > 4096)
		return fy_fail(err, FY_ERR_LIMIT, "VM spec missing or larger than %d bytes", JOB_SPEC_MAX);
	if ((spec_j = json_loads(spec_s, JSON_REJECT_DUPLICATES, &je)) == NULL ||
	    (opts = json_loads(opts_s, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		json_decref(spec_j);
		return fy_fail(err, FY_ERR_FORMAT, "VM spec: %s (line %d)", je.text, je.line);
	}
	memset(&spec, 0, sizeof(spec));
	if ((r = vm_spec_from_json(spec_j, &spec, err)) != 0)
		goto out;
	if (json_is_integer(json_object_get(opts, "multifd")) &&
	    (json_integer_value(json_object_get(opts, "multifd")) < 0 ||
	    json_integer_value(json_object_get(opts, "multifd")) > 16)) {
		r = fy_fail(err, FY_ERR_INVAL, "multifd must be 0 to 16");
		goto out;
	}
	if ((j = job_new(s, id, JOB_DEST, spec.name, peer, "prepare", json_incref(opts))) == NULL) {
		r = fy_fail(err, FY_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = job_enlist(j, err)) != 0) {
		json_decref(j->params);
		free(j);
		j = NULL;
		goto out;
	}
	job_ref(j);		/* ours, while we work on it (the list holds the other) */
	if ((r = job_insert(j, err)) != 0) {
		job_unref(j);
		job_unref(j);
		j = NULL;
		goto out;
	}
	j->inc.multifd = (int)pint(opts, "multifd", 0);
	t0 = fy_mono_ms();
	if ((r = d->ops->incoming_prepare(d, &spec, id, &j->inc, err)) != 0) {
		if (dest_claim_end(j, "abort") == NULL) {
			(void)job_record(j, "done", "failed", "refused: %s", err->msg);
			job_unref(j);	/* the list's */
		}
		goto out;
	}
	if (j->ended_by != NULL) {
		/* The source aborted while we prepared: what we just made goes too. */
		struct fy_error e2 = { 0, "" };
		(void)d->ops->incoming_abort(d, spec.name, &e2);
		r = fy_fail(err, FY_ERR_STATE, "job %s was aborted while it was being prepared", id);
		goto out;
	}
	{
		json_t *p = json_pack("{s:s, s:s}", "mig_path", j->inc.mig_path, "nbd_path", j->inc.nbd_path);
		json_object_set_new(j->params, "incoming", p);
	}
	if ((r = job_record(j, "prepared", NULL, "%s is waiting, paused, for its state from %s", spec.name, peer)) != 0) {
		struct fy_error e2 = { 0, "" };
		fy_fail(err, r, "cannot record the job");
		if (dest_claim_end(j, "abort") == NULL) {
			(void)d->ops->incoming_abort(d, spec.name, &e2);
			job_unref(j);	/* the list's */
		}
		goto out;
	}
	log_debug("job %s: prepared in %lld ms", id, (long long)(fy_mono_ms() - t0));
	snprintf(vm, vmcap, "%s", spec.name);
	snprintf(uuid, uuidcap, "%s", spec.uuid);
	/* The list keeps its reference until the job ends. */
out:
	if (j != NULL)
		job_unref(j);
	json_decref(spec_j);
	json_decref(opts);
	return r;
}

struct dest_relay {
	struct job *j;
	struct tp_channel *ch;
	int nbd, idx;
};

static void *
dest_relay_main(void *arg)
{
	struct dest_relay *dr = arg;
	struct job *j = dr->j;
	struct jobs *js = j->s->jobs;
	int fd = -1, r;

	if (!dr->nbd) {
		/* QEMU takes the first connection as the main stream: keep the source's order. */
		int64_t until = fy_mono_ms() + 30000;
		pthread_mutex_lock(&js->mtx);
		while (j->mem_next != dr->idx && fy_mono_ms() < until) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&js->cv, &js->mtx, &ts);
		}
		r = j->mem_next == dr->idx ? 0 : FY_ERR_TIMEOUT;
		pthread_mutex_unlock(&js->mtx);
		if (r != 0) {
			log_warnx("job %s: memory channel %d came without channel %d", j->id, dr->idx, dr->idx - 1);
			goto out;
		}
	}
	r = unix_connect(dr->nbd ? j->inc.nbd_path : j->inc.mig_path, &fd);
	if (!dr->nbd) {
		pthread_mutex_lock(&js->mtx);
		j->mem_next++;
		pthread_cond_broadcast(&js->cv);
		pthread_mutex_unlock(&js->mtx);
	}
	if (r != 0) {
		log_warnx("job %s: cannot reach the incoming VM's %s socket: %s", j->id, dr->nbd ? "NBD" : "migration",
		    fy_strerror(r));
		goto out;
	}
	if ((r = tp_tunnel(dr->ch, fd)) != 0)
		log_warnx("job %s: %s channel %d: %s", j->id, dr->nbd ? "NBD" : "memory", dr->idx, fy_strerror(r));
out:
	if (fd >= 0)
		close(fd);
	tp_channel_free(dr->ch);
	pthread_mutex_lock(&js->mtx);
	if (--j->tunnels == 0)
		j->idle_since = fy_mono_ms();
	job_unref_locked(js, j);
	pthread_cond_broadcast(&js->cv);
	pthread_mutex_unlock(&js->mtx);
	free(dr);
	return NULL;
}

void
job_channel(struct site *s, struct tp_session *sess, struct tp_channel *c)
{
	const char *name = tp_channel_name(c);
	char id[JOB_ID_LEN + 2], kind[8];
	struct dest_relay *dr = NULL;
	struct job *j = NULL;
	struct fy_error e = { 0, "" };
	pthread_t t;
	int idx = -1, n = 0;

	if (sscanf(name, "mig/%15[^/]/%7[a-z]/%d%n", id, kind, &idx, &n) != 3 || name[n] != '\0' ||
	    (strcmp(kind, "mem") != 0 && strcmp(kind, "nbd") != 0) || idx < 0 || idx > 64) {
		log_warnx("transport: channel \"%s\" from %s is not a migration channel; refused", name,
		    tp_session_peer(sess));
		goto fail;
	}
	if (dest_job(s, tp_session_peer(sess), id, &j, &e) != 0) {
		log_warnx("transport: channel %s from %s refused: %s", name, tp_session_peer(sess), e.msg);
		goto fail;
	}
	if (strcmp(j->phase, "prepared") != 0 || (strcmp(kind, "nbd") == 0 && j->inc.nbd_path[0] == '\0')) {
		log_warnx("job %s: channel %s refused in phase %s", id, name, j->phase);
		goto fail;
	}
	if ((dr = calloc(1, sizeof(*dr))) == NULL)
		goto fail;
	dr->j = j;
	dr->ch = c;
	dr->nbd = strcmp(kind, "nbd") == 0;
	dr->idx = idx;
	pthread_mutex_lock(&s->jobs->mtx);
	j->tunnels++;
	pthread_mutex_unlock(&s->jobs->mtx);
	/* This is already the channel's own thread: relay here. */
	(void)t;
	(void)dest_relay_main(dr);
	return;
fail:
	if (j != NULL)
		job_unref(j);
	free(dr);
	tp_channel_free(c);
}

int
job_fed_finish(struct site *s, const char *peer, const char *id, const char *digest, char *mydigest, size_t cap,
    int64_t *resumed_ms, struct fy_error *err)
{
	struct domain *d = s->dom;
	struct vm_spec spec;
	struct vm_status st;
	struct qmp *q = NULL;
	struct job *j = NULL;
	json_t *ret = NULL;
	int64_t until;
	int r;

	*resumed_ms = 0;
	if ((r = dest_job(s, peer, id, &j, err)) != 0)
		return r;
	if (strcmp(j->phase, "prepared") != 0 || dest_claim_end(j, "finish") != NULL) {
		r = j->ended_by != NULL && strcmp(j->ended_by, "abort") == 0 ?
		    fy_fail(err, FY_ERR_STATE, "job %s was aborted here; nothing to resume", id) :
		    fy_fail(err, FY_ERR_STATE, "job %s is in phase %s, not prepared", id, j->phase);
		goto out;
	}
	if ((r = job_record(j, "finish", NULL, "%s sent everything; checking the state arrived", peer)) != 0) {
		fy_fail(err, r, "cannot record the phase");
		goto abort;
	}
	if ((r = d->ops->lookup(d, j->vm, &spec, &st, err)) != 0)
		goto abort;
	if ((r = qmp_open(st.job_qmp_path, JOB_QMP_MS, &q, err)) != 0)
		goto abort;
	/* The last bytes may still be in our relay: wait for QEMU to have loaded them. */
	until = fy_mono_ms() + JOB_FINISH_MS;
	for (;;) {
		const char *status;
		if ((r = qmp_exec(q, "query-migrate", NULL, &ret, JOB_QMP_MS, err)) != 0)
			goto abort;
		status = json_string_value(json_object_get(ret, "status"));
		if (status != NULL && strcmp(status, "completed") == 0)
			break;
		if (status != NULL && (strcmp(status, "failed") == 0 || strcmp(status, "cancelled") == 0)) {
			r = fy_fail(err, FY_ERR_IO, "the incoming migration %s", status);
			goto abort;
		}
		json_decref(ret);
		ret = NULL;
		if (fy_mono_ms() > until) {
			r = fy_fail(err, FY_ERR_TIMEOUT, "the VM's state did not finish arriving within %d s",
			    JOB_FINISH_MS / 1000);
			goto abort;
		}
		fy_sleep_ms(5);
	}
	json_decref(ret);
	ret = NULL;
	if (spec.ndisks > 0) {
		struct fy_error e2 = { 0, "" };
		qmp_quiet(q, "nbd-server-stop", NULL, NULL, JOB_QMP_MS, &e2);
	}
	if (digest != NULL && digest[0] != '\0') {
		if ((r = mem_digest(q, spec.memory_mib, st.dir, mydigest, cap, err)) != 0)
			goto abort;
		if (strcmp(mydigest, digest) != 0) {
			r = fy_fail(err, FY_ERR_CHECKSUM, "memory differs: %s here, %s at %s", mydigest, digest, peer);
			goto abort;
		}
	}
	qmp_close(q);
	q = NULL;
	if ((r = d->ops->incoming_finish(d, j->vm, err)) != 0)
		goto abort;
	*resumed_ms = fy_now_ms();
	(void)job_record(j, "done", "succeeded", "%s resumed here%s", j->vm, digest && digest[0] ?
	    "; memory digests equal" : "");
	hold("dest-after-finish");
	/* The list's reference goes: the job is over here. */
	job_unref(j);
	goto out;
abort:
	qmp_close(q);
	q = NULL;
	{
		struct fy_error e2 = { 0, "" };
		if (d->ops->incoming_abort(d, j->vm, &e2) != 0)
			log_warnx("job %s: %s", id, e2.msg);
	}
	(void)job_record(j, "done", "failed", "not resumed: %s", err->msg);
	job_unref(j);		/* the list's */
out:
	json_decref(ret);
	qmp_close(q);
	job_unref(j);
	return r;
}

/*
 * A destination job ends once: Finish, an abort from the source, the
 * housekeeping and recovery may all try; the first to claim it does it
 * (and drops the active list's reference), the others are told who won.
 */
static const char *
dest_claim_end(struct job *j, const char *by)
{
	struct jobs *js = j->s->jobs;
	const char *prev;

	pthread_mutex_lock(&js->mtx);
	prev = j->ended_by;
	if (prev == NULL)
		j->ended_by = by;
	pthread_mutex_unlock(&js->mtx);
	return prev;
}

static int
dest_abort_claimed(struct job *j, const char *why)
{
	struct domain *d = j->s->dom;
	struct fy_error e = { 0, "" };
	int r = 0;

	if (d != NULL && (r = d->ops->incoming_abort(d, j->vm, &e)) != 0 && r != FY_ERR_NOTFOUND)
		log_warnx("job %s: removing the incoming VM: %s", j->id, e.msg);
	(void)job_record(j, "done", "aborted", "%s", why);
	return 0;
}

/* 0 when this call aborted the job; FY_ERR_STATE when it had already ended or is finishing. */
static int
dest_abort(struct job *j, const char *why)
{
	if (dest_claim_end(j, "abort") != NULL)
		return FY_ERR_STATE;
	return dest_abort_claimed(j, why);
}

int
job_fed_abort(struct site *s, const char *peer, const char *id, const char *reason, struct fy_error *err)
{
	struct job *j = NULL;
	char why[300];
	int r;

	if ((r = dest_job(s, peer, id, &j, err)) != 0) {
		struct job_outcome o;
		if (r != FY_ERR_NOTFOUND)
			return r;
		/* Not active: over here, or never was.  Resumed here means too late. */
		memset(&o, 0, sizeof(o));
		if (job_fed_query(s, peer, id, &o, err) == 0 && (strcmp(o.outcome, "succeeded") == 0 ||
		    (o.outcome[0] == '\0' && strcmp(o.phase, "finish") == 0)))
			return fy_fail(err, FY_ERR_STATE, "job %s %s here: too late to abort", id,
			    o.outcome[0] ? "succeeded" : "is finishing");
		return 0;
	}
	snprintf(why, sizeof(why), "%s aborted: %.200s", peer, reason ? reason : "");
	if (dest_abort(j, why) == 0) {
		job_unref(j);		/* the list's */
		job_unref(j);
		return 0;
	}
	/* Someone else ended it: an abort is a no-op, a Finish under way makes it too late. */
	r = strcmp(j->ended_by, "finish") == 0 ? fy_fail(err, FY_ERR_STATE, "job %s is finishing: too late "
	    "to abort", id) : 0;
	job_unref(j);
	return r;
}

int
job_fed_query(struct site *s, const char *peer, const char *id, struct job_outcome *o, struct fy_error *err)
{
	struct fy_db *db = NULL;
	sqlite3_stmt *st = NULL;
	char vm[VM_NAME_MAX + 1] = "";
	int r;

	if (!valid_job_id(id))
		return fy_fail(err, FY_ERR_FORMAT, "job id \"%.20s\" is malformed", id ? id : "");
	if ((r = site_open_db(s, &db)) != 0)
		return fy_fail(err, r, "database unavailable");
	if ((r = sql_prep(db, "SELECT phase, coalesce(outcome, ''), coalesce(error, ''), vm, peer, "
	    "CASE WHEN outcome = 'succeeded' THEN finished ELSE 0 END FROM jobs WHERE id = ?", &st)) != 0) {
		fy_db_close(db);
		return fy_fail(err, r, "database error");
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		r = fy_fail(err, FY_ERR_NOTFOUND, "no job %s here", id);
		goto out;
	}
	if (strcmp((const char *)sqlite3_column_text(st, 4), peer) != 0) {
		r = fy_fail(err, FY_ERR_DENIED, "job %s does not belong to %s", id, peer);
		goto out;
	}
	snprintf(o->phase, sizeof(o->phase), "%s", sqlite3_column_text(st, 0));
	snprintf(o->outcome, sizeof(o->outcome), "%s", sqlite3_column_text(st, 1));
	snprintf(o->error, sizeof(o->error), "%s", sqlite3_column_text(st, 2));
	snprintf(vm, sizeof(vm), "%s", sqlite3_column_text(st, 3));
	o->resumed_ms = sqlite3_column_int64(st, 5);
	if (strcmp(o->outcome, "succeeded") == 0 && s->dom != NULL) {
		struct vm_status vs;
		struct fy_error e2 = { 0, "" };
		if (s->dom->ops->lookup(s->dom, vm, NULL, &vs, &e2) == 0)
			o->first_line_ms = vs.serial_first_ms;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	fy_db_close(db);
	return r;
}

/*
 * Destination jobs a previous ferryd left: "prepared" waits for the
 * source (which aborts or finishes it); "finish" is settled by what QEMU
 * says: a guest that runs was resumed, one whose state arrived is resumed
 * now, anything else is removed.
 */
static void
recover_dest(struct job *j)
{
	struct domain *d = j->s->dom;
	struct vm_status st;
	struct fy_error e = { 0, "" };
	json_t *inc = json_object_get(j->params, "incoming");

	snprintf(j->inc.mig_path, sizeof(j->inc.mig_path), "%s", pstr(inc, "mig_path", ""));
	snprintf(j->inc.nbd_path, sizeof(j->inc.nbd_path), "%s", pstr(inc, "nbd_path", ""));
	if (d == NULL || d->ops->lookup(d, j->vm, NULL, &st, &e) != 0) {
		(void)job_record(j, "done", "aborted", "ferryd restarted in phase %s and the incoming VM is gone",
		    j->phase);
		return;
	}
	if (strcmp(j->phase, "prepare") == 0) {
		(void)dest_abort(j, "ferryd restarted while preparing");
		return;
	}
	if (strcmp(j->phase, "finish") == 0) {
		struct qmp *q = NULL;
		json_t *ret = NULL;
		const char *status = NULL;
		if (st.state == VM_RUNNING) {
			(void)d->ops->claim(d, j->vm, "", &e);
			(void)job_record(j, "done", "succeeded", "ferryd restarted during finish; %s was already running",
			    j->vm);
			return;
		}
		if (qmp_open(st.job_qmp_path, JOB_QMP_MS, &q, &e) == 0 &&
		    qmp_exec(q, "query-migrate", NULL, &ret, JOB_QMP_MS, &e) == 0)
			status = json_string_value(json_object_get(ret, "status"));
		if (status != NULL && strcmp(status, "completed") == 0) {
			/* The source is waiting for our word and will not resume: we may. */
			qmp_quiet(q, "nbd-server-stop", NULL, NULL, JOB_QMP_MS, &e);
			qmp_close(q);
			q = NULL;
			json_decref(ret);
			if (d->ops->incoming_finish(d, j->vm, &e) == 0) {
				(void)job_record(j, "done", "succeeded", "ferryd restarted during finish; the state had "
				    "arrived; %s resumed", j->vm);
				return;
			}
		} else
			json_decref(ret);
		qmp_close(q);
		(void)dest_abort(j, "ferryd restarted during finish and the state had not fully arrived");
		return;
	}
	/* "prepared": the stream ran through this ferryd's relay, which died with it. */
	(void)dest_abort(j, "ferryd restarted while the VM's state was arriving; that stream is lost");
}

/* ---------------------------------------------------------------- housekeeping */

/*
 * Destination jobs whose incoming VM died (the stream broke and QEMU gave
 * up) or whose source never came back are removed here.
 */
static void *
hk_main(void *arg)
{
	struct site *s = arg;
	struct jobs *js = s->jobs;

	for (;;) {
		struct job *list[JOB_MAX_ACTIVE], *j;
		int n = 0, i;

		pthread_mutex_lock(&js->mtx);
		if (!js->stopping) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&js->cv, &js->mtx, &ts);
		}
		if (js->stopping) {
			pthread_mutex_unlock(&js->mtx);
			return NULL;
		}
		for (j = js->head; j != NULL && n < JOB_MAX_ACTIVE; j = j->next)
			if (j->role == JOB_DEST && strcmp(j->phase, "prepared") == 0)
				list[n++] = job_ref(j);
		pthread_mutex_unlock(&js->mtx);
		data_pool_expire(s);
		(void)client_take(s, NULL, NULL, 0);	/* kept connections past their age go */
		for (i = 0; i < n; i++) {
			struct vm_status st;
			struct fy_error e = { 0, "" };
			j = list[i];
			if (s->dom != NULL && s->dom->ops->lookup(s->dom, j->vm, NULL, &st, &e) == 0 &&
			    st.state == VM_CRASHED && strcmp(j->phase, "prepared") == 0) {
				if (dest_abort(j, "the incoming VM exited (its stream broke)") == 0)
					job_unref(j);	/* the list's */
			} else if (fy_now_ms() - j->created_ms > (2 * s->conf.mig_deadline + 120) * 1000 &&
			    strcmp(j->phase, "prepared") == 0) {
				if (dest_abort(j, "the source did not finish within migrate_deadline") == 0)
					job_unref(j);
			} else if (j->tunnels == 0 && fy_mono_ms() - j->idle_since > 30000 &&
			    fy_mono_ms() - j->asked_ms > 10000) {
				/* Nothing flows: is the source still at it?  (It aborts us itself when it can.) */
				struct job_outcome o;
				int r;
				j->asked_ms = fy_mono_ms();
				r = peer_query(j, &o, &e);
				if (strcmp(j->phase, "prepared") == 0 && ((r == 0 && o.outcome[0] != '\0') ||
				    r == FY_ERR_NOTFOUND)) {
					char why[200];
					snprintf(why, sizeof(why), "the source's job %s (%s)", r == 0 ? "ended" : "is unknown there",
					    r == 0 ? o.outcome : "not found");
					if (dest_abort(j, why) == 0)
						job_unref(j);
				}
			}
			job_unref(j);
		}
	}
}

/* ---------------------------------------------------------------- admin ops */

static json_t *
op_migrate(struct site *s, const struct admin_caller *who, json_t *args, struct fy_error *err)
{
	const char *vm = json_string_value(json_object_get(args, "vm"));
	const char *to = json_string_value(json_object_get(args, "to"));
	struct trust_peer p;
	struct fy_db *db = NULL;
	struct vm_spec spec;
	struct vm_status st;
	struct job *j;
	json_t *params, *v;
	const char *k;
	uint8_t rnd[6];
	char id[JOB_ID_LEN + 8], hex[13];
	int r;

	(void)who;
	if (vm == NULL || to == NULL)
		return fy_fail(err, FY_ERR_INVAL, "give a VM and --to SITE"), NULL;
	if (s->dom == NULL)
		return fy_fail(err, FY_ERR_CONFIG, "no management domain at this site"), NULL;
	/* Check what can be checked before a job exists. */
	json_object_foreach(args, k, v) {
		if (strcmp(k, "network_map") == 0 || strcmp(k, "datastore_map") == 0) {
			size_t i;
			json_t *e;
			if (!json_is_array(v) || json_array_size(v) > 32)
				return fy_fail(err, FY_ERR_INVAL, "%s: a list of at most 32 FROM=TO", k), NULL;
			json_array_foreach(v, i, e) {
				const char *m = json_string_value(e), *eq = m ? strchr(m, '=') : NULL;
				if (eq == NULL || eq == m || eq[1] == '\0' || eq - m > 63 || strlen(eq + 1) > 63)
					return fy_fail(err, FY_ERR_INVAL, "--%s \"%.80s\": expected FROM=TO, each 1-63 "
					    "characters", strcmp(k, "network_map") == 0 ? "network-map" : "datastore-map",
					    m ? m : ""), NULL;
			}
		} else if (strcmp(k, "downtime_ms") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 10 || json_integer_value(v) > 60000)
				return fy_fail(err, FY_ERR_INVAL, "--downtime-ms: 10 to 60000"), NULL;
		} else if (strcmp(k, "bandwidth_mbit") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000000)
				return fy_fail(err, FY_ERR_INVAL, "--bandwidth: 1 to 1000000 Mbit/s"), NULL;
		} else if (strcmp(k, "multifd") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 16)
				return fy_fail(err, FY_ERR_INVAL, "--multifd: 0 to 16 channels"), NULL;
		} else if (strcmp(k, "escalate") == 0) {
			const char *e = json_string_value(v);
			char tmp[64], *t, *save = NULL;
			if (e == NULL || strlen(e) >= sizeof(tmp))
				return fy_fail(err, FY_ERR_INVAL, "--escalate: throttle, xbzrle or none"), NULL;
			snprintf(tmp, sizeof(tmp), "%s", e);
			for (t = strtok_r(tmp, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
				if (strcmp(t, "throttle") != 0 && strcmp(t, "xbzrle") != 0 && strcmp(t, "none") != 0)
					return fy_fail(err, FY_ERR_INVAL, "--escalate: \"%s\" is not throttle, xbzrle or "
					    "none", t), NULL;
		} else if (strcmp(k, "verify") != 0 && strcmp(k, "vm") != 0 && strcmp(k, "to") != 0)
			return fy_fail(err, FY_ERR_INVAL, "unknown option %s", k), NULL;
	}
	if (s->dom->ops->lookup(s->dom, vm, &spec, &st, err) != 0)
		return NULL;
	if (st.state != VM_RUNNING)
		return fy_fail(err, FY_ERR_STATE, "VM %s is %s: only a running VM migrates live", vm,
		    vm_state_name(st.state)), NULL;
	memset(&p, 0, sizeof(p));
	if ((r = site_open_db(s, &db)) != 0)
		return fy_fail(err, r, "database unavailable"), NULL;
	r = trust_peer_by_name(db, to, &p);
	trust_peer_clear(&p);
	fy_db_close(db);
	if (r != 0)
		return fy_fail(err, FY_ERR_NOTFOUND, "no paired site named \"%s\" (see ferryctl peers)", to), NULL;
	if (fy_random(rnd, sizeof(rnd)) != 0)
		return fy_fail(err, FY_ERR_CRYPTO, "no randomness"), NULL;
	(void)fy_hex_enc(rnd, sizeof(rnd), hex, sizeof(hex));
	snprintf(id, sizeof(id), "m-%s", hex);
	params = json_deep_copy(args);
	if ((j = job_new(s, id, JOB_SOURCE, vm, to, "begin", params)) == NULL)
		return fy_fail(err, FY_ERR_NOMEM, "out of memory"), NULL;
	if (job_enlist(j, err) != 0) {
		json_decref(j->params);
		free(j);
		return NULL;
	}
	/* The claim is the lock: one job per VM. */
	if (s->dom->ops->claim(s->dom, vm, id, err) != 0) {
		job_unref(j);
		return NULL;
	}
	if (job_insert(j, err) != 0) {
		struct fy_error e2 = { 0, "" };
		(void)s->dom->ops->claim(s->dom, vm, "", &e2);
		job_unref(j);
		return NULL;
	}
	if (start_worker(j, source_main, err) != 0) {
		struct fy_error e2 = { 0, "" };
		(void)s->dom->ops->claim(s->dom, vm, "", &e2);
		(void)job_record(j, "done", "failed", "%s", err->msg);
		job_unref(j);
		return NULL;
	}
	job_unref(j);	/* the worker holds it now */
	return json_pack("{s:s, s:s, s:s}", "job", id, "vm", vm, "to", to);
}

static json_t *
row_json(sqlite3_stmt *st)
{
	json_t *o = json_object(), *p;
	json_error_t je;
	char t[40];

	json_object_set_new(o, "id", json_string((const char *)sqlite3_column_text(st, 0)));
	json_object_set_new(o, "role", json_string((const char *)sqlite3_column_text(st, 1)));
	json_object_set_new(o, "vm", json_string((const char *)sqlite3_column_text(st, 2)));
	json_object_set_new(o, "peer", json_string((const char *)sqlite3_column_text(st, 3)));
	json_object_set_new(o, "phase", json_string((const char *)sqlite3_column_text(st, 4)));
	json_object_set_new(o, "outcome", sqlite3_column_type(st, 5) == SQLITE_NULL ? json_string("active") :
	    json_string((const char *)sqlite3_column_text(st, 5)));
	json_object_set_new(o, "error", sqlite3_column_type(st, 6) == SQLITE_NULL ? json_null() :
	    json_string((const char *)sqlite3_column_text(st, 6)));
	fy_fmt_time(sqlite3_column_int64(st, 7), t, sizeof(t));
	json_object_set_new(o, "created", json_string(t));
	json_object_set_new(o, "created_ms", json_integer(sqlite3_column_int64(st, 7)));
	json_object_set_new(o, "updated_ms", json_integer(sqlite3_column_int64(st, 8)));
	json_object_set_new(o, "finished_ms", json_integer(sqlite3_column_int64(st, 9)));
	p = sqlite3_column_type(st, 10) == SQLITE_NULL ? NULL :
	    json_loads((const char *)sqlite3_column_text(st, 10), 0, &je);
	json_object_set_new(o, "progress", p ? p : json_object());
	p = json_loads((const char *)sqlite3_column_text(st, 11), 0, &je);
	json_object_set_new(o, "params", p ? p : json_object());
	return o;
}

#define JOB_COLS "id, role, vm, peer, phase, outcome, error, created, updated, finished, progress, params"

/* Live numbers from memory for an active job, else what the database has. */
static void
overlay_live(struct site *s, json_t *o)
{
	struct job *j = job_find(s, json_string_value(json_object_get(o, "id")));

	if (j == NULL)
		return;
	pthread_mutex_lock(&s->jobs->mtx);
	if (j->progress != NULL)
		json_object_set_new(o, "progress", json_deep_copy(j->progress));
	json_object_set_new(o, "phase", json_string(j->phase));
	json_object_set_new(o, "cancel_requested", json_boolean(j->cancel));
	pthread_mutex_unlock(&s->jobs->mtx);
	job_unref(j);
}

static json_t *
op_jobs(struct site *s, const struct admin_caller *who, json_t *args, struct fy_error *err)
{
	struct fy_db *db = NULL;
	sqlite3_stmt *st = NULL;
	json_t *a;
	int r;

	(void)who;
	(void)args;
	if ((r = site_open_db(s, &db)) != 0)
		return fy_fail(err, r, "database unavailable"), NULL;
	if (sql_prep(db, "SELECT " JOB_COLS " FROM jobs ORDER BY created DESC LIMIT 200", &st) != 0) {
		fy_db_close(db);
		return fy_fail(err, FY_ERR_DB, "database error"), NULL;
	}
	a = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *o = row_json(st);
		overlay_live(s, o);
		json_array_append_new(a, o);
	}
	sqlite3_finalize(st);
	fy_db_close(db);
	return a;
}

static json_t *
op_job_show(struct site *s, const struct admin_caller *who, json_t *args, struct fy_error *err)
{
	const char *id = json_string_value(json_object_get(args, "id"));
	struct fy_db *db = NULL;
	sqlite3_stmt *st = NULL;
	json_t *o = NULL, *ev;
	int r;

	(void)who;
	if (!valid_job_id(id))
		return fy_fail(err, FY_ERR_INVAL, "job id \"%.20s\": expected m- and 12 hex digits", id ? id : ""), NULL;
	if ((r = site_open_db(s, &db)) != 0)
		return fy_fail(err, r, "database unavailable"), NULL;
	if (sql_prep(db, "SELECT " JOB_COLS " FROM jobs WHERE id = ?", &st) != 0)
		goto out;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		fy_fail(err, FY_ERR_NOTFOUND, "no job %s at this site (see ferryctl jobs)", id);
		goto out;
	}
	o = row_json(st);
	sqlite3_finalize(st);
	st = NULL;
	overlay_live(s, o);
	ev = json_array();
	if (sql_prep(db, "SELECT time, phase, message FROM job_events WHERE job = ? ORDER BY seq", &st) == 0) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			char t[40];
			fy_fmt_time(sqlite3_column_int64(st, 0), t, sizeof(t));
			json_array_append_new(ev, json_pack("{s:s, s:I, s:s, s:s}", "time", t, "time_ms",
			    (json_int_t)sqlite3_column_int64(st, 0), "phase", sqlite3_column_text(st, 1),
			    "message", sqlite3_column_text(st, 2)));
		}
	}
	json_object_set_new(o, "events", ev);
out:
	sqlite3_finalize(st);
	fy_db_close(db);
	return o;
}

static json_t *
op_job_cancel(struct site *s, const struct admin_caller *who, json_t *args, struct fy_error *err)
{
	const char *id = json_string_value(json_object_get(args, "id"));
	struct job *j;
	json_t *o;

	if (!valid_job_id(id))
		return fy_fail(err, FY_ERR_INVAL, "job id \"%.20s\": expected m- and 12 hex digits", id ? id : ""), NULL;
	if ((j = job_find(s, id)) == NULL)
		return fy_fail(err, FY_ERR_NOTFOUND, "job %s is not active at this site", id), NULL;
	if (j->role != JOB_SOURCE) {
		job_unref(j);
		return fy_fail(err, FY_ERR_STATE, "job %s is driven by %s: cancel it there", id, j->peer), NULL;
	}
	pthread_mutex_lock(&s->jobs->mtx);
	if (strcmp(j->phase, "finish") == 0 || strcmp(j->phase, "confirm") == 0 || strcmp(j->phase, "done") == 0) {
		pthread_mutex_unlock(&s->jobs->mtx);
		fy_fail(err, FY_ERR_STATE, "job %s is in phase %s: too late to cancel (the VM is switching over)",
		    id, j->phase);
		job_unref(j);
		return NULL;
	}
	j->cancel = 1;
	pthread_mutex_unlock(&s->jobs->mtx);
	{
		struct fy_db *db = NULL;
		if (site_open_db(s, &db) == 0)
			(void)trust_audit(db, who->actor, j->peer, "migrate-cancel", "ok", "job %s vm %s", id, j->vm);
		fy_db_close(db);
	}
	o = json_pack("{s:s, s:s}", "job", id, "phase", j->phase);
	job_unref(j);
	return o;
}

const struct op_ent fy_job_ops[] = {
	{ "migrate", op_migrate },
	{ "jobs", op_jobs },
	{ "job-show", op_job_show },
	{ "job-cancel", op_job_cancel },
	{ NULL, NULL },
};

/* ---------------------------------------------------------------- life cycle */

int
jobs_init(struct site *s, struct fy_error *err)
{
	struct jobs *js;
	struct fy_db *db = NULL;
	sqlite3_stmt *st = NULL;
	int r;

	hold_at = getenv("FERRYD_TEST_HOLD");
	if ((js = calloc(1, sizeof(*js))) == NULL)
		return fy_fail(err, FY_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&js->mtx, NULL);
	pthread_cond_init(&js->cv, NULL);
	s->jobs = js;
	if ((r = site_open_db(s, &db)) != 0)
		return fy_fail(err, r, "database unavailable");
	if (sql_prep(db, "SELECT id, role, vm, peer, phase, params, created FROM jobs WHERE outcome IS NULL", &st) != 0) {
		fy_db_close(db);
		return fy_fail(err, FY_ERR_DB, "cannot read the jobs");
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_error_t je;
		json_t *params = json_loads((const char *)sqlite3_column_text(st, 5), 0, &je);
		int role = strcmp((const char *)sqlite3_column_text(st, 1), "source") == 0 ? JOB_SOURCE : JOB_DEST;
		struct job *j = job_new(s, (const char *)sqlite3_column_text(st, 0), role,
		    (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3),
		    (const char *)sqlite3_column_text(st, 4), params ? params : json_object());
		struct fy_error e = { 0, "" };

		if (j == NULL)
			continue;
		j->created_ms = sqlite3_column_int64(st, 6);
		if (job_enlist(j, &e) != 0) {
			json_decref(j->params);
			free(j);
			continue;
		}
		log_info("job %s (%s, %s): recovering from phase %s", j->id, j->vm, role == JOB_SOURCE ? "source" :
		    "destination", j->phase);
		if (role == JOB_SOURCE) {
			if (start_worker(j, recover_source_main, &e) != 0)
				log_warnx("job %s: %s", j->id, e.msg);
			job_unref(j);
		} else {
			recover_dest(j);
			if (strcmp(j->phase, "done") == 0)
				job_unref(j);
		}
	}
	sqlite3_finalize(st);
	fy_db_close(db);
	if (pthread_create(&js->hk, NULL, hk_main, s) != 0)
		return fy_fail(err, FY_ERR_SYSTEM, "cannot start the job housekeeping");
	js->hk_started = 1;
	return 0;
}

void
jobs_fini(struct site *s)
{
	struct jobs *js = s->jobs;
	int i;

	if (js == NULL)
		return;
	pthread_mutex_lock(&js->mtx);
	js->stopping = 1;
	pthread_cond_broadcast(&js->cv);
	pthread_mutex_unlock(&js->mtx);
	if (js->hk_started)
		pthread_join(js->hk, NULL);
	/* Workers notice stopping between steps; an unfinished job is recovered at the next start. */
	for (i = 0; i < 100; i++) {
		int n;
		pthread_mutex_lock(&js->mtx);
		n = js->workers;
		pthread_mutex_unlock(&js->mtx);
		if (n == 0)
			break;
		fy_sleep_ms(100);
	}
	/* Taken under the lock (a straggling worker may still keep or take one), freed outside it. */
	{
		struct fed_client *gone[sizeof(js->kept) / sizeof(js->kept[0])];
		int n = (int)(sizeof(js->kept) / sizeof(js->kept[0]));

		pthread_mutex_lock(&js->mtx);
		for (i = 0; i < n; i++) {
			gone[i] = js->kept[i].c;
			js->kept[i].c = NULL;
		}
		pthread_mutex_unlock(&js->mtx);
		for (i = 0; i < n; i++)
			fed_client_free(gone[i]);
	}
}
